import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { readAsl } from '../lib/asl';
import { cadenceSchedule, WAIT_CEILING_SECONDS } from '../lib/live-account';
import {
  actionsOf,
  allowing,
  FAILSAFE,
  LIVE,
  LIVE_TASKS,
  liveStack,
  PROVENANCE,
  REGION,
  SHARE_KEY_ACTIONS,
  taskStatements,
} from './helpers';

describe('LiveAccount', () => {
  const { stack, live, template } = liveStack();
  const f = live.functions;
  const id = (c: any) => stack.getLogicalId(c.node.defaultChild);

  test('one arm64 provided.al2023 function per Live task, with the configuration the Lambdas read', () => {
    template.resourceCountIs('AWS::Lambda::Function', LIVE_TASKS.length);
    template.allResourcesProperties('AWS::Lambda::Function', {
      Runtime: 'provided.al2023',
      Architectures: ['arm64'],
      Handler: 'bootstrap',
      Environment: {
        Variables: {
          ACCOUNT_ID: LIVE,
          REGION,
          FAILSAFE_ACCOUNTS: FAILSAFE,
          FAILSAFE_TOPIC_ARNS: `arn:aws:sns:${REGION}:${FAILSAFE}:rds-failsafe`,
          SHARE_KMS_KEY_ARN: { 'Fn::GetAtt': [id(live.shareKey), 'Arn'] },
          SOURCES: 'orders,cluster:billing',
          LIVE_KEEP: '2',
          ENCRYPT_UNENCRYPTED: 'false',
          AWS_MAX_ATTEMPTS: '1',
        },
      },
    });
  });

  test('each function times out when its ASL Task does, and has a role of its own without managed policies', () => {
    const asl = readAsl('live.asl.json');
    for (const [placeholder, task] of Object.entries(f)) {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Role: { 'Fn::GetAtt': [id(task.role), 'Arn'] },
        Timeout: asl.taskTimeouts[placeholder],
      });
    }
    assert.equal(new Set(Object.values(f).map((t) => id(t.role))).size, LIVE_TASKS.length);
    template.allResourcesProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
  });

  test('the share key: rotated, retained, 30-day window; the Failsafe account gets Decrypt/DescribeKey/CreateGrant through RDS only', () => {
    template.hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'Retain',
      Properties: { EnableKeyRotation: true, PendingWindowInDays: 30 },
    });
    const key = template.findResources('AWS::KMS::Key')[id(live.shareKey)];
    const statements = key.Properties.KeyPolicy.Statement as any[];
    const foreign = statements.filter((s) => JSON.stringify(s.Principal) !== JSON.stringify({ AWS: `arn:aws:iam::${LIVE}:root` }));
    assert.deepEqual(
      foreign.map((s) => s.Principal),
      [{ AWS: `arn:aws:iam::${FAILSAFE}:root` }, { AWS: `arn:aws:iam::${FAILSAFE}:root` }],
    );
    assert.deepEqual(actionsOf(foreign), ['kms:CreateGrant', 'kms:Decrypt', 'kms:DescribeKey']);
    // exactly what the preflight checks the key policy for
    assert.deepEqual(actionsOf(foreign), SHARE_KEY_ACTIONS);
    for (const s of foreign) {
      assert.deepEqual(s.Condition.StringEquals['kms:ViaService'], [`rds.${REGION}.amazonaws.com`]);
    }
    assert.equal(allowing(foreign, 'kms:CreateGrant')[0].Condition!.Bool['kms:GrantIsForAWSResource'], 'true');
  });

  test("preflight only reads: the sources, snapshots and quota, the share key (state and policy), the Failsafe topics' policies", () => {
    const statements = taskStatements(template, f.PreflightFunctionArn);
    const actions = actionsOf(statements).filter((a) => !a.startsWith('logs:'));
    assert.deepEqual(actions, [
      'kms:DescribeKey',
      'kms:GetKeyPolicy',
      'rds:DescribeAccountAttributes',
      'rds:DescribeDBClusterSnapshots',
      'rds:DescribeDBClusters',
      'rds:DescribeDBInstances',
      'rds:DescribeDBSnapshots',
      'rds:DescribeOptionGroups',
      'sns:GetTopicAttributes',
    ]);
    assert.deepEqual(allowing(statements, 'kms:GetKeyPolicy')[0].Resource, { 'Fn::GetAtt': [id(live.shareKey), 'Arn'] });
    assert.deepEqual(allowing(statements, 'sns:GetTopicAttributes')[0].Resource, `arn:aws:sns:${REGION}:${FAILSAFE}:rds-failsafe`);
  });

  test('deletes and share-attribute changes only on rdsf-* snapshots tagged rds-failsafe:managed=true', () => {
    const all = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    const writes = allowing(
      all,
      'rds:DeleteDBSnapshot',
      'rds:DeleteDBClusterSnapshot',
      'rds:ModifyDBSnapshotAttribute',
      'rds:ModifyDBClusterSnapshotAttribute',
    );
    assert.equal(writes.length, 2);
    for (const s of writes) {
      assert.deepEqual(s.Condition, { StringEquals: { 'aws:ResourceTag/rds-failsafe:managed': 'true' } });
      assert.deepEqual((s.Resource as string[]).sort(), [
        `arn:aws:rds:${REGION}:${LIVE}:cluster-snapshot:rdsf-*`,
        `arn:aws:rds:${REGION}:${LIVE}:snapshot:rdsf-*`,
      ]);
    }
    assert.deepEqual(actionsOf(allowing(taskStatements(template, f.DeleteOldCopiesFunctionArn), 'rds:DeleteDBSnapshot')), [
      'rds:DeleteDBClusterSnapshot',
      'rds:DeleteDBSnapshot',
    ]);
    assert.equal(allowing(taskStatements(template, f.ShareFunctionArn), 'rds:ModifyDBSnapshotAttribute').length, 1);
    assert.ok(!all.some((s: any) => actionsOf([s]).some((a) => a === '*' || a.endsWith(':*'))), 'no service-wide action');
  });

  test("the Distributed Map may start, describe and stop only this machine's own child executions", () => {
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    assert.ok(
      policies.includes(
        `{"Action":"states:StartExecution","Effect":"Allow","Resource":"arn:aws:states:${REGION}:${LIVE}:stateMachine:rds-failsafe-live"}`,
      ),
    );
    assert.ok(
      policies.includes(
        `{"Action":["states:DescribeExecution","states:StopExecution"],"Effect":"Allow","Resource":"arn:aws:states:${REGION}:${LIVE}:execution:rds-failsafe-live/*"}`,
      ),
    );
  });

  test('each task gets only its own calls', () => {
    const expected: Record<string, string[]> = {
      SelectSourcesFunctionArn: ['rds:DescribeDBClusters', 'rds:DescribeDBInstances'],
      DeleteOldCopiesFunctionArn: [
        'rds:DeleteDBClusterSnapshot',
        'rds:DeleteDBSnapshot',
        'rds:DescribeAccountAttributes',
        'rds:DescribeDBClusterSnapshots',
        'rds:DescribeDBSnapshots',
      ],
      CopyLatestFunctionArn: [
        'kms:CreateGrant',
        'kms:CreateGrant',
        'kms:Decrypt',
        'kms:Decrypt',
        'kms:DescribeKey',
        'kms:DescribeKey',
        'kms:Encrypt',
        'kms:GenerateDataKey*',
        'kms:ReEncrypt*',
        'rds:AddTagsToResource',
        'rds:CopyDBClusterSnapshot',
        'rds:CopyDBSnapshot',
        'rds:DescribeDBClusterSnapshots',
        'rds:DescribeDBSnapshots',
        'rds:DescribeOptionGroups',
      ],
      WaitAvailableFunctionArn: ['rds:DescribeDBClusterSnapshots', 'rds:DescribeDBSnapshots'],
      ShareFunctionArn: [
        'rds:DescribeDBClusterSnapshotAttributes',
        'rds:DescribeDBClusterSnapshots',
        'rds:DescribeDBSnapshotAttributes',
        'rds:DescribeDBSnapshots',
        'rds:ModifyDBClusterSnapshotAttribute',
        'rds:ModifyDBSnapshotAttribute',
      ],
      NotifyFunctionArn: ['kms:Decrypt', 'kms:GenerateDataKey*', 'sns:Publish'],
    };
    for (const [placeholder, actions] of Object.entries(expected)) {
      const statements = taskStatements(template, f[placeholder]).filter((s) => !actionsOf([s]).includes('logs:PutLogEvents'));
      assert.deepEqual(actionsOf(statements), actions, placeholder);
    }
  });

  test('copies must be created tagged managed, with the provenance tag keys only; the share key only through RDS', () => {
    const copy = taskStatements(template, f.CopyLatestFunctionArn);
    const tagging = allowing(copy, 'rds:CopyDBSnapshot', 'rds:AddTagsToResource');
    assert.equal(tagging.length, 2);
    for (const s of tagging) {
      assert.deepEqual(s.Condition, {
        StringEquals: { 'aws:RequestTag/rds-failsafe:managed': 'true' },
        'ForAllValues:StringEquals': { 'aws:TagKeys': PROVENANCE },
        Null: { 'aws:TagKeys': 'false' },
      });
    }
    for (const s of allowing(copy, 'kms:Decrypt')) {
      assert.deepEqual(s.Condition, { StringEquals: { 'kms:ViaService': `rds.${REGION}.amazonaws.com` } });
    }
  });

  test('incremental sources: copy-latest may take rdsf-* snapshots tagged managed and read keys; none of it without them', () => {
    const inc = liveStack({ incrementalSources: ['orders', 'tag:failsafe-mode=incremental'] });
    inc.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ INCREMENTAL_SOURCES: 'orders,tag:failsafe-mode=incremental' }) },
    });
    const copy = taskStatements(inc.template, inc.live.functions.CopyLatestFunctionArn);
    const create = allowing(copy, 'rds:CreateDBSnapshot');
    assert.equal(create.length, 1);
    assert.deepEqual(actionsOf(create), ['rds:CreateDBClusterSnapshot', 'rds:CreateDBSnapshot']);
    assert.deepEqual(create[0].Condition, {
      StringEquals: { 'aws:RequestTag/rds-failsafe:managed': 'true' },
      'ForAllValues:StringEquals': { 'aws:TagKeys': PROVENANCE },
      Null: { 'aws:TagKeys': 'false' },
    });
    const keyReads = copy.filter((s) => actionsOf([s]).join() === 'kms:DescribeKey');
    assert.equal(keyReads.length, 1, 'a DescribeKey of its own, not through RDS');
    assert.equal(keyReads[0].Condition, undefined);
    const policyReads = allowing(taskStatements(inc.template, inc.live.functions.PreflightFunctionArn), 'kms:GetKeyPolicy');
    assert.ok(
      JSON.stringify(policyReads.map((s) => s.Resource)).includes(`:kms:${REGION}:${LIVE}:key/*`),
      "preflight reads the incremental sources' own keys",
    );
    // the default deployment has neither
    assert.deepEqual(allowing(taskStatements(template, f.CopyLatestFunctionArn), 'rds:CreateDBSnapshot'), []);
    const env = JSON.stringify(template.findResources('AWS::Lambda::Function'));
    assert.ok(!env.includes('INCREMENTAL_SOURCES'));
    assert.throws(() => liveStack({ incrementalSources: ['orders', ' '] }), /incrementalSources\[1\]/);
    assert.throws(() => liveStack({ incrementalSources: 'orders' as unknown as string[] }), /incrementalSources/);
  });

  test('notify publishes only to the Failsafe topic, and uses its key only through SNS', () => {
    const notify = taskStatements(template, f.NotifyFunctionArn);
    assert.deepEqual(
      allowing(notify, 'sns:Publish').map((s) => s.Resource),
      [`arn:aws:sns:${REGION}:${FAILSAFE}:rds-failsafe`],
    );
    const kms = allowing(notify, 'kms:GenerateDataKey*')[0];
    assert.equal(kms.Resource, `arn:aws:kms:${REGION}:${FAILSAFE}:key/*`);
    assert.deepEqual(kms.Condition, { StringEquals: { 'kms:ViaService': `sns.${REGION}.amazonaws.com` } });
  });

  test('the state machine: live.asl.json with every placeholder substituted by its function, logging ALL, traced', () => {
    const asl = readAsl('live.asl.json');
    const machine = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0] as any;
    const subs = machine.Properties.DefinitionSubstitutions;
    assert.deepEqual(Object.keys(subs).sort(), asl.placeholders);
    for (const p of asl.placeholders) assert.deepEqual(subs[p], { 'Fn::GetAtt': [id(f[p].function), 'Arn'] });
    assert.equal(machine.Properties.DefinitionString, asl.text);
    assert.equal(machine.Properties.StateMachineName, 'rds-failsafe-live');
    assert.equal(machine.Properties.LoggingConfiguration.Level, 'ALL');
    assert.equal(machine.Properties.LoggingConfiguration.IncludeExecutionData, true);
    assert.deepEqual(machine.Properties.TracingConfiguration, { Enabled: true });
    const invoke = allowing(
      Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p: any) => p.Properties.PolicyDocument.Statement),
      'lambda:InvokeFunction',
    );
    assert.equal(invoke.length, 1);
    assert.deepEqual(
      (invoke[0].Resource as any[]).map((r) => r['Fn::GetAtt'][0]).sort(),
      Object.values(f)
        .map((t) => id(t.function))
        .sort(),
      'the unqualified function ARNs and nothing else',
    );
  });

  test('a daily EventBridge Scheduler schedule starts it with the configured concurrency', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 5 * * ? *)',
      ScheduleExpressionTimezone: 'UTC',
      State: 'ENABLED',
      Target: { Arn: { Ref: id(live.machine.stateMachine) }, Input: '{"maxConcurrency":5,"copyThroughputMiBps":100}' },
    });
  });

  test('a cadence is a schedule of its own every few hours from the daily run, taking snapshots of its sources', () => {
    const c = liveStack({ cadences: [{ sources: ['orders', 'tag:rpo=4h'], everyHours: 4 }] });
    c.template.resourceCountIs('AWS::Scheduler::Schedule', 2);
    c.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 1,9,13,17,21 * * ? *)',
      Target: {
        Input: '{"maxConcurrency":5,"copyThroughputMiBps":100,"sources":["orders","tag:rpo=4h"],"takeSnapshots":true}',
      },
    });
    // the daily run snapshots its sources too (they are incremental); copy-latest may take snapshots
    c.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ INCREMENTAL_SOURCES: 'orders,tag:rpo=4h' }) },
    });
    // every task knows the cadences (preflight sizes the quota and checks the copies keep up by them)
    c.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ CADENCES: '[{"everyHours":4,"sources":["orders","tag:rpo=4h"]}]' }) },
    });
    assert.equal(allowing(taskStatements(c.template, c.live.functions.CopyLatestFunctionArn), 'rds:CreateDBSnapshot').length, 1);
    assert.equal(cadenceSchedule('c', 'cron(30 23 * * ? *)', 12), 'cron(30 11 * * ? *)');
    assert.equal(cadenceSchedule('c', 'cron(0 5 * * ? *)', 1).split(' ')[1].split(',').length, 23);
    assert.throws(() => liveStack({ cadences: [{ sources: ['orders'], everyHours: 5 }] }), /cadences\[0\]\.everyHours: 5 must be one of/);
    assert.throws(() => liveStack({ cadences: [{ sources: [], everyHours: 4 }] }), /cadences\[0\]\.sources/);
    assert.throws(
      () => liveStack({ schedule: 'rate(1 day)', cadences: [{ sources: ['orders'], everyHours: 4 }] }),
      /cadences\[0\]: a cadence runs every few hours from the daily Live run's time/,
    );
  });

  test('copyWaits reach every task as COPY_WAITS, refused at synth when a wait is more than a run can wait', () => {
    // the most a run waits is what the state machine checks maxWaitSeconds against
    const checks = JSON.parse(readAsl('live.asl.json').text).States.CheckOverrides.Choices.flatMap((c: any) => c.Or ?? []);
    const bounds = checks
      .filter((c: any) => c.Variable === '$.config.maxWaitSeconds' && 'NumericGreaterThan' in c)
      .map((c: any) => c.NumericGreaterThan);
    assert.deepEqual(bounds, [WAIT_CEILING_SECONDS]);
    const c = liveStack({ copyWaits: [{ sources: ['cluster:ledger'], maxWaitSeconds: 43200 }] });
    c.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ COPY_WAITS: '[{"maxWaitSeconds":43200,"sources":["cluster:ledger"]}]' }) },
    });
    assert.throws(
      () => liveStack({ copyWaits: [{ sources: ['ledger'], maxWaitSeconds: 90000 }] }),
      /copyWaits\[0\]\.maxWaitSeconds: 90000 must be a whole number of seconds, 1 to 72000/,
    );
    assert.throws(() => liveStack({ copyWaits: [{ sources: [], maxWaitSeconds: 600 }] }), /copyWaits\[0\]\.sources/);
  });

  test('ExecutionsFailed and ExecutionsTimedOut alarm to an encrypted alert topic with the e-mail subscribed', () => {
    for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/States',
        MetricName: metric,
        Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: id(live.machine.stateMachine) } }],
        Threshold: 1,
        AlarmActions: [{ Ref: id(live.alerts.topics[0]) }],
      });
    }
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
  });

  test("CloudWatch may publish to the alert topic, for this account's alarms only, beside the SSL-only deny", () => {
    const alertTopic = id(live.alerts.topics[0]);
    const policy = Object.values(template.findResources('AWS::SNS::TopicPolicy')).find((p: any) =>
      p.Properties.Topics.some((t: any) => t.Ref === alertTopic),
    ) as any;
    assert.ok(policy, 'the alert topic has a topic policy');
    const statements = policy.Properties.PolicyDocument.Statement;
    assert.deepEqual(
      statements.filter((s: any) => s.Effect === 'Allow'),
      [
        {
          Sid: 'CloudWatchAlarmsPublish',
          Effect: 'Allow',
          Action: 'sns:Publish',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Resource: { Ref: alertTopic },
          Condition: {
            StringEquals: { 'aws:SourceAccount': LIVE },
            ArnLike: { 'aws:SourceArn': `arn:aws:cloudwatch:${REGION}:${LIVE}:alarm:*` },
          },
        },
      ],
    );
    assert.ok(statements.some((s: any) => s.Effect === 'Deny' && s.Condition.Bool['aws:SecureTransport'] === 'false'));
  });

  test('options: another Failsafe region, concurrency, schedule and time zone, an existing alert topic', () => {
    const { template: t } = liveStack({
      failsafe: [{ account: FAILSAFE, region: 'eu-central-1', topicName: 'rdsf-trigger' }],
      maxConcurrency: 12,
      copyThroughputMiBps: 250,
      schedule: 'cron(30 2 * * ? *)',
      scheduleTimeZone: 'Europe/Berlin',
      liveKeep: 4,
      encryptUnencrypted: true,
      alerts: { topicArn: `arn:aws:sns:${REGION}:${LIVE}:pager` },
    });
    t.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(30 2 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      Target: { Input: '{"maxConcurrency":12,"copyThroughputMiBps":250}' },
    });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          FAILSAFE_TOPIC_ARNS: `arn:aws:sns:eu-central-1:${FAILSAFE}:rdsf-trigger`,
          LIVE_KEEP: '4',
          ENCRYPT_UNENCRYPTED: 'true',
        }),
      },
    });
    t.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Condition: { StringEquals: { 'kms:ViaService': [`rds.${REGION}.amazonaws.com`, 'rds.eu-central-1.amazonaws.com'] } },
          }),
        ]),
      },
    });
    t.resourceCountIs('AWS::SNS::Topic', 0);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmActions: [`arn:aws:sns:${REGION}:${LIVE}:pager`] });
  });
});
