import { App, CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { AppConfig, appConfig, CONTEXT_KEY } from './app-config';
import { FailsafeAccount, FailsafeAccountProps } from './failsafe-account';
import { FailsafeGuardrails, FailsafeGuardrailsProps } from './guardrails';
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

/** The Organizations management account's stack: the Failsafe account's SCP and RCP. */
export class GuardrailsStack extends Stack {
  readonly guardrails: FailsafeGuardrails;
  constructor(scope: Construct, id: string, props: StackProps & { guardrails: FailsafeGuardrailsProps }) {
    super(scope, id, props);
    this.guardrails = new FailsafeGuardrails(this, 'RdsFailsafe', props.guardrails, `${CONTEXT_KEY}.guardrails`);
    // What `rdsf preflight` and the runbook compare with what is attached
    new CfnOutput(this, 'ServiceControlPolicyId', { value: this.guardrails.serviceControlPolicy.attrId });
    new CfnOutput(this, 'ResourceControlPolicyId', { value: this.guardrails.resourceControlPolicy.attrId });
  }
}

export const LIVE_STACK = 'rds-failsafe-live';
export const FAILSAFE_STACK = 'rds-failsafe-failsafe';
export const GUARDRAILS_STACK = 'rds-failsafe-guardrails';

/** The ready app: both stacks from the `rds-failsafe` context object. */
export function buildApp(
  app: App,
  cdkDir: string,
): { config: AppConfig; live: LiveStack; failsafe: FailsafeStack; guardrails?: GuardrailsStack } {
  const config = appConfig(
    app.node.tryGetContext(CONTEXT_KEY),
    cdkDir,
    process.env,
    app.node.tryGetContext('@aws-cdk/core:bootstrapQualifier'),
  );
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
  const guardrails =
    config.guardrails &&
    new GuardrailsStack(app, GUARDRAILS_STACK, {
      env: { account: config.guardrails.account, region: config.guardrails.region },
      description: 'rds-failsafe, Organizations management account: the guardrails (SCP and RCP) on the Failsafe account',
      guardrails: config.guardrails.props,
    });
  return { config, live, failsafe, guardrails };
}
