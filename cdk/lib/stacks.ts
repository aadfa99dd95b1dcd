import { App, CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { AppConfig, appConfig, CONTEXT_KEY } from './app-config';
import { FailsafeAccount, FailsafeAccountProps } from './failsafe-account';
import { LiveAccount, LiveAccountProps } from './live-account';

export class LiveStack extends Stack {
  readonly live: LiveAccount;
  constructor(scope: Construct, id: string, props: StackProps & { live: LiveAccountProps }) {
    super(scope, id, props);
    this.live = new LiveAccount(this, 'RdsFailsafe', props.live);
    // What an operator looks up: `aws cloudformation describe-stacks --stack-name rds-failsafe-live`
    new CfnOutput(this, 'StateMachineArn', { value: this.live.machine.stateMachine.stateMachineArn });
    new CfnOutput(this, 'ShareKeyArn', { value: this.live.shareKey.keyArn });
    new CfnOutput(this, 'FailsafeTopicArns', { value: this.live.failsafeTopicArns.join(',') });
  }
}

export class FailsafeStack extends Stack {
  readonly failsafe: FailsafeAccount;
  constructor(scope: Construct, id: string, props: StackProps & { failsafe: FailsafeAccountProps }) {
    super(scope, id, props);
    this.failsafe = new FailsafeAccount(this, 'RdsFailsafe', props.failsafe);
    new CfnOutput(this, 'StateMachineArn', { value: this.failsafe.machine.stateMachine.stateMachineArn });
    new CfnOutput(this, 'FailsafeKeyArn', { value: this.failsafe.failsafeKey.keyArn });
    new CfnOutput(this, 'TopicArn', { value: this.failsafe.topic.topicArn });
  }
}

export const LIVE_STACK = 'rds-failsafe-live';
export const FAILSAFE_STACK = 'rds-failsafe-failsafe';

/** The ready app: both stacks from the `rds-failsafe` context object. */
export function buildApp(app: App, cdkDir: string): { config: AppConfig; live: LiveStack; failsafe: FailsafeStack } {
  const config = appConfig(app.node.tryGetContext(CONTEXT_KEY), cdkDir);
  const failsafe = new FailsafeStack(app, FAILSAFE_STACK, {
    env: { account: config.failsafe.account, region: config.failsafe.region },
    description: 'rds-failsafe, Failsafe account: saves the Live share copies under a key of this account',
    failsafe: config.failsafe.props,
  });
  const live = new LiveStack(app, LIVE_STACK, {
    env: { account: config.live.account, region: config.live.region },
    description: 'rds-failsafe, Live account: daily share copies of the newest automated snapshots',
    live: config.live.props,
  });
  return { config, live, failsafe };
}
