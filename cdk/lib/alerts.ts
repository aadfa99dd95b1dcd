import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ConfigError, email, snsTopicArn } from './validation';

/** Who hears about a failed run: e-mail addresses, an existing topic of this account, or both. */
export interface AlertProps {
  /** Subscribed to a new encrypted alert topic (each address must confirm the subscription). */
  readonly emails?: string[];
  /** An existing topic in this account (e.g. wired to a pager) that alarms also notify. */
  readonly topicArn?: string;
}

/** The alert topic(s) every alarm of a construct notifies. */
export class AlertChannel extends Construct {
  readonly topics: sns.ITopic[] = [];

  constructor(scope: Construct, id: string, props: AlertProps | undefined, field: string) {
    super(scope, id);
    const emails = (props?.emails ?? []).map((e, i) => email(`${field}.emails[${i}]`, e));
    if (emails.length === 0 && !props?.topicArn) {
      throw new ConfigError(field, 'give emails and/or topicArn: without either, a failed backup or a missing copy alarms to nobody');
    }
    if (emails.length > 0) {
      const key = new kms.Key(this, 'Key', {
        description: 'rds-failsafe: encrypts the alert topic',
        enableKeyRotation: true,
      });
      const topic = new sns.Topic(this, 'Topic', {
        displayName: 'rds-failsafe alerts',
        masterKey: key,
        enforceSSL: true,
      });
      for (const address of emails) topic.addSubscription(new subs.EmailSubscription(address));
      // A topic policy replaces SNS's default one, which lets the owner account's services publish;
      // CDK's only statement here would be the SSL-only deny, and every alarm would fail to notify.
      // CloudWatch may publish, for this account's alarms only (confused-deputy conditions).
      const { account, region, partition } = Stack.of(this);
      topic.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'CloudWatchAlarmsPublish',
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['sns:Publish'],
          resources: [topic.topicArn],
          conditions: {
            StringEquals: { 'aws:SourceAccount': account },
            ArnLike: { 'aws:SourceArn': `arn:${partition}:cloudwatch:${region}:${account}:alarm:*` },
          },
        }),
      );
      // CloudWatch publishes to an encrypted topic only with the key policy's leave.
      key.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
        }),
      );
      this.topics.push(topic);
    }
    if (props?.topicArn) {
      const arn = snsTopicArn(`${field}.topicArn`, props.topicArn, Stack.of(this).account);
      this.topics.push(sns.Topic.fromTopicArn(this, 'Existing', arn));
    }
  }

  notify(alarm: cloudwatch.Alarm): void {
    for (const topic of this.topics) alarm.addAlarmAction(new actions.SnsAction(topic));
  }

  /** ExecutionsFailed and ExecutionsTimedOut of a state machine: any one in 5 minutes alarms. */
  watchExecutions(machine: sfn.StateMachine, what: string, idPrefix = ''): cloudwatch.Alarm[] {
    const alarms = [
      ['Failed', machine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }), 'failed'],
      ['TimedOut', machine.metricTimedOut({ period: Duration.minutes(5), statistic: 'Sum' }), 'timed out'],
    ] as const;
    return alarms.map(([id, metric, verb]) => {
      const alarm = new cloudwatch.Alarm(this, `${idPrefix}Executions${id}`, {
        alarmDescription: `rds-failsafe: a ${what} state machine execution ${verb}. Open the execution in the Step Functions console; its output lists every source with its cause.`,
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      this.notify(alarm);
      return alarm;
    });
  }
}
