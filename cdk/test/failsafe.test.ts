import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { readAsl } from '../lib/asl';
import { MANAGED_TAG } from '../lib/common';
import { COPY_AGE_METRIC, COPY_TIME_METRICS, RUN_OUTCOME_METRICS } from '../lib/failsafe-dashboard';
import { CONTRACT } from '../lib/contract';
import { TASK_TAG } from '../lib/task-function';
import { actionsOf, allowing, FAILSAFE, failsafeStack, LIVE, liveStack, PROVENANCE, REGION, taskStatements } from './helpers';

const OTHER_LIVE = '333333333333';

describe('FailsafeAccount', () => {
  const { stack, failsafe, template } = failsafeStack({ sourceAccounts: [LIVE, OTHER_LIVE] });
  const f = failsafe.functions;
  const id = (c: any) => stack.getLogicalId(c.node.defaultChild);
  const allStatements = () =>
    Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p: any) => p.Properties.PolicyDocument.Statement);

  test('each task function, its role and its log group are tagged with the task (the local stack and operators find them by it)', () => {
    // FindSharedFunctionArn -> find-shared
    const taskOf = (placeholder: string) =>
      placeholder.replace(/FunctionArn$/, '').replace(/[A-Z]/g, (c, i) => (i ? '-' : '') + c.toLowerCase());
    for (const [placeholder, task] of [...Object.entries(f), ['StartFailsafeFunctionArn', failsafe.startFailsafe]] as const) {
      for (const construct of [task.function, task.role, task.logGroup]) {
        const tags = template.toJSON().Resources[id(construct)].Properties.Tags;
        assert.equal(tags.find((t: any) => t.Key === TASK_TAG)?.Value, taskOf(placeholder), JSON.stringify(tags));
      }
    }
    const find = taskStatements(template, f.FindSharedFunctionArn);
    assert.ok(actionsOf(find).includes('rds:DescribeAccountAttributes'), 'find-shared reads the snapshot quota');
  });

  test('the trigger topic is encrypted, and only the Live accounts may publish to it', () => {
    template.hasResourceProperties('AWS::SNS::Topic', {
      TopicName: 'rds-failsafe',
      KmsMasterKeyId: { 'Fn::GetAtt': [id(failsafe.topicKey), 'Arn'] },
    });
    const policy = Object.values(template.findResources('AWS::SNS::TopicPolicy')).find((p: any) =>
      p.Properties.Topics.some((t: any) => t.Ref === id(failsafe.topic)),
    ) as any;
    const allows = policy.Properties.PolicyDocument.Statement.filter((s: any) => s.Effect === 'Allow');
    assert.deepEqual(allows, [
      {
        Sid: 'OnlyLiveAccountsPublish',
        Effect: 'Allow',
        Action: 'sns:Publish',
        Principal: { AWS: [`arn:aws:iam::${LIVE}:root`, `arn:aws:iam::${OTHER_LIVE}:root`] },
        Resource: { Ref: id(failsafe.topic) },
      },
      {
        // the Live preflight checks that its account may publish
        Sid: 'LiveAccountsReadTopicPolicy',
        Effect: 'Allow',
        Action: 'sns:GetTopicAttributes',
        Principal: { AWS: [`arn:aws:iam::${LIVE}:root`, `arn:aws:iam::${OTHER_LIVE}:root`] },
        Resource: { Ref: id(failsafe.topic) },
      },
    ]);
    assert.ok(
      policy.Properties.PolicyDocument.Statement.some(
        (s: any) => s.Effect === 'Deny' && s.Condition.Bool['aws:SecureTransport'] === 'false',
      ),
    );
    const key = template.findResources('AWS::KMS::Key')[id(failsafe.topicKey)];
    const live = key.Properties.KeyPolicy.Statement.filter((s: any) => s.Sid === 'LiveAccountsPublishThroughSns');
    assert.deepEqual(actionsOf(live), ['kms:Decrypt', 'kms:GenerateDataKey*']);
    assert.deepEqual(live[0].Condition, { StringEquals: { 'kms:ViaService': `sns.${REGION}.amazonaws.com` } });
  });

  test('start-failsafe is subscribed and may only start the Failsafe state machine', () => {
    const fn = id(failsafe.startFailsafe.function);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'lambda',
      TopicArn: { Ref: id(failsafe.topic) },
      Endpoint: { 'Fn::GetAtt': [fn, 'Arn'] },
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'sns.amazonaws.com',
      SourceArn: { Ref: id(failsafe.topic) },
      FunctionName: { 'Fn::GetAtt': [fn, 'Arn'] },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ STATE_MACHINE_ARN: { Ref: id(failsafe.machine.stateMachine) } }) },
    });
    // a triggered run copies as many at once as a scheduled one
    const vars = template.findResources('AWS::Lambda::Function')[fn].Properties.Environment.Variables;
    assert.equal(vars.MAX_CONCURRENCY, '5');
    const startFailsafeVars = (built: ReturnType<typeof failsafeStack>) =>
      built.template.findResources('AWS::Lambda::Function')[
        built.stack.getLogicalId(built.failsafe.startFailsafe.function.node.defaultChild as any)
      ].Properties.Environment.Variables;
    assert.equal(startFailsafeVars(failsafeStack({ maxConcurrency: 20 })).MAX_CONCURRENCY, '20');
    // ... and sizes its copies' waits by the same throughput as the backstop's runs
    assert.equal(vars.COPY_THROUGHPUT_MIBPS, '100');
    const slow = failsafeStack({ copyThroughputMiBps: 60 });
    assert.equal(startFailsafeVars(slow).COPY_THROUGHPUT_MIBPS, '60');
    slow.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Target: { Input: '{"maxConcurrency":5,"copyThroughputMiBps":60}' },
    });
    const start = taskStatements(template, failsafe.startFailsafe).filter((s) => !actionsOf([s]).includes('logs:PutLogEvents'));
    assert.deepEqual(
      start.map((s) => [s.Action, s.Resource]),
      [['states:StartExecution', { Ref: id(failsafe.machine.stateMachine) }]],
    );
  });

  test('the Failsafe key: owned by this account alone, rotated, retained, 30-day deletion window', () => {
    const key = template.findResources('AWS::KMS::Key')[id(failsafe.failsafeKey)];
    assert.equal(key.DeletionPolicy, 'Retain');
    assert.equal(key.UpdateReplacePolicy, 'Retain');
    assert.equal(key.Properties.PendingWindowInDays, 30);
    assert.equal(key.Properties.EnableKeyRotation, true);
    // the only Allow is this account's; the two Denies are the key's guard (guardrails.test.ts)
    assert.deepEqual(
      key.Properties.KeyPolicy.Statement.filter((s: any) => s.Effect === 'Allow').map((s: any) => s.Principal),
      [{ AWS: `arn:aws:iam::${FAILSAFE}:root` }],
    );
  });

  test('the functions read the configuration the Lambdas expect, defaults included', () => {
    template.allResourcesProperties('AWS::Lambda::Function', {
      Runtime: 'provided.al2023',
      Architectures: ['arm64'],
      Environment: {
        Variables: Match.objectLike({
          ACCOUNT_ID: FAILSAFE,
          REGION,
          SOURCE_ACCOUNTS: `${LIVE},${OTHER_LIVE}`,
          SOURCE_REGIONS: REGION,
          FAILSAFE_KMS_KEY_ARN: { 'Fn::GetAtt': [id(failsafe.failsafeKey), 'Arn'] },
          KEEP_HOURLY: '0',
          KEEP_DAILY: '7',
          KEEP_WEEKLY: '4',
          KEEP_MONTHLY: '12',
          MIN_KEEP: '3',
          ENCRYPT_UNENCRYPTED: 'true',
          AWS_MAX_ATTEMPTS: '1',
        }),
      },
    });
    const { template: days } = failsafeStack({ retention: { days: 35 }, minKeep: 5 });
    days.allResourcesProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ RETENTION: '35', MIN_KEEP: '5', KEEP_DAILY: Match.absent(), RETIRED_SOURCES: Match.absent() }),
      },
    });
    const { template: hourly } = failsafeStack({ retention: { hourly: 24, daily: 7 } });
    hourly.allResourcesProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ KEEP_HOURLY: '24', KEEP_DAILY: '7', KEEP_WEEKLY: '4' }) },
    });
    assert.throws(() => failsafeStack({ retention: { hourly: 745 } }), /retention\.hourly/);
    assert.throws(() => failsafeStack({ retention: { hourly: 0, daily: 0, weekly: 0, monthly: 0 } }), /all 0/);
    const { template: retired } = failsafeStack({ retiredSources: [`${LIVE}:orders`, `${LIVE}:old-billing`] });
    retired.allResourcesProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ RETIRED_SOURCES: `${LIVE}:orders,${LIVE}:old-billing` }) },
    });
  });

  test('a Failsafe side in another region looks where Live shares from and may copy across regions', () => {
    const { template: t, failsafe: f } = failsafeStack({ sourceRegions: ['us-east-1', 'us-east-1'] });
    t.allResourcesProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ SOURCE_REGIONS: 'us-east-1', REGION }) },
    });
    // the copy grant covers share copies in any region; RDS's service-linked role, not the
    // caller, needs rds:CrossRegionCommunication
    const copy = allowing(taskStatements(t, f.functions.SaveFunctionArn), 'rds:CopyDBSnapshot')[0];
    assert.ok((copy.Resource as string[]).includes(`arn:aws:rds:*:${LIVE}:snapshot:rdsf-*`), JSON.stringify(copy.Resource));
    const all = Object.values(t.findResources('AWS::IAM::Policy')).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    assert.ok(!actionsOf(all).includes('rds:CrossRegionCommunication'));
    assert.throws(() => failsafeStack({ sourceRegions: [] }), /sourceRegions: \[\] must be a non-empty list/);
    assert.throws(() => failsafeStack({ sourceRegions: ['Virginia'] }), /sourceRegions\[0\]: "Virginia" is not an AWS region/);
  });

  test('prune deletes, and verify tags, only rdsf-* copies of this account tagged managed', () => {
    const own = [`arn:aws:rds:${REGION}:${FAILSAFE}:cluster-snapshot:rdsf-*`, `arn:aws:rds:${REGION}:${FAILSAFE}:snapshot:rdsf-*`];
    const deletes = allowing(allStatements(), 'rds:DeleteDBSnapshot', 'rds:DeleteDBClusterSnapshot');
    assert.equal(deletes.length, 1, 'only prune deletes');
    assert.deepEqual(deletes, allowing(taskStatements(template, f.PruneFunctionArn), 'rds:DeleteDBSnapshot'));
    assert.deepEqual(deletes[0].Condition, {
      StringEquals: { [`aws:ResourceTag/${MANAGED_TAG}`]: 'true' },
      Null: { [`aws:ResourceTag/${CONTRACT.tags.hold}`]: 'true' },
    });
    assert.deepEqual((deletes[0].Resource as string[]).sort(), own);
    const tag = allowing(taskStatements(template, f.VerifyFunctionArn), 'rds:AddTagsToResource');
    assert.deepEqual(tag[0].Condition, {
      StringEquals: { [`aws:ResourceTag/${MANAGED_TAG}`]: 'true' },
      'ForAllValues:StringEquals': { 'aws:TagKeys': ['rds-failsafe:verified'] },
      Null: { 'aws:TagKeys': 'false' },
    });
    assert.ok(!allStatements().some((s: any) => actionsOf([s]).some((a) => a === '*' || a.endsWith(':*') || a.startsWith('rds:Modify'))));
  });

  test("save copies only from the allowed Live accounts' rdsf-* share copies, creating managed copies, via RDS keys", () => {
    const save = taskStatements(template, f.SaveFunctionArn);
    const copy = allowing(save, 'rds:CopyDBSnapshot')[0];
    // created managed, with the provenance keys only: save can never add rds-failsafe:verified
    for (const s of allowing(save, 'rds:CopyDBSnapshot', 'rds:AddTagsToResource')) {
      assert.deepEqual(s.Condition, {
        StringEquals: { [`aws:RequestTag/${MANAGED_TAG}`]: 'true' },
        'ForAllValues:StringEquals': { 'aws:TagKeys': PROVENANCE },
        Null: { 'aws:TagKeys': 'false' },
      });
    }
    assert.ok(!PROVENANCE.includes('rds-failsafe:verified'));
    assert.deepEqual((copy.Resource as string[]).sort(), [
      `arn:aws:rds:*:${LIVE}:cluster-snapshot:rdsf-*`,
      `arn:aws:rds:*:${LIVE}:snapshot:rdsf-*`,
      `arn:aws:rds:*:${OTHER_LIVE}:cluster-snapshot:rdsf-*`,
      `arn:aws:rds:*:${OTHER_LIVE}:snapshot:rdsf-*`,
      `arn:aws:rds:${REGION}:${FAILSAFE}:cluster-snapshot:rdsf-*`,
      `arn:aws:rds:${REGION}:${FAILSAFE}:snapshot:rdsf-*`,
    ]);
    const liveKeys = save.find((s) => JSON.stringify(s.Resource).includes(`:${LIVE}:key/*`))!;
    assert.deepEqual(actionsOf([liveKeys]), ['kms:CreateGrant', 'kms:Decrypt', 'kms:DescribeKey']);
    assert.deepEqual(liveKeys.Condition, { StringLike: { 'kms:ViaService': 'rds.*.amazonaws.com' } });
    const own = allowing(save, 'kms:Encrypt')[0];
    assert.deepEqual(own.Resource, { 'Fn::GetAtt': [id(failsafe.failsafeKey), 'Arn'] });
  });

  test('the state machine: failsafe.asl.json with every placeholder substituted, logging ALL, a daily backstop', () => {
    const asl = readAsl('failsafe.asl.json');
    const machine = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0] as any;
    assert.deepEqual(Object.keys(machine.Properties.DefinitionSubstitutions).sort(), asl.placeholders);
    for (const p of asl.placeholders) {
      assert.deepEqual(machine.Properties.DefinitionSubstitutions[p], { 'Fn::GetAtt': [id(f[p].function), 'Arn'] });
    }
    assert.equal(machine.Properties.LoggingConfiguration.Level, 'ALL');
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 11 * * ? *)',
      Target: { Arn: { Ref: id(failsafe.machine.stateMachine) }, Input: '{"maxConcurrency":5,"copyThroughputMiBps":100}' },
    });
  });

  test("alarms: failed and timed-out executions, and the dead-man's switch on the newest copy age", () => {
    for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/States', MetricName: metric });
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: COPY_AGE_METRIC.namespace,
      MetricName: COPY_AGE_METRIC.metricName,
      Dimensions: Match.absent(),
      Statistic: 'Maximum',
      Threshold: 30,
      ComparisonOperator: 'GreaterThanThreshold',
      Period: 3600,
      EvaluationPeriods: 24,
      DatapointsToAlarm: 24,
      TreatMissingData: 'breaching',
      AlarmActions: [{ Ref: id(failsafe.alerts.topics[0]) }],
    });
    const { template: t } = failsafeStack({ newestCopyMaxAgeHours: 36 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: COPY_AGE_METRIC.metricName, Threshold: 36 });
  });

  test("a cadence source's copy age alarms at its cadence: two periods of everyHours over 2 x everyHours + 2 h, or unreported", () => {
    const { template: t, failsafe: f } = failsafeStack({ cadenceSources: [{ sourceAccount: LIVE, sourceId: 'orders', everyHours: 4 }] });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: COPY_AGE_METRIC.metricName,
      Dimensions: [
        { Name: 'SourceAccount', Value: LIVE },
        { Name: 'SourceId', Value: 'orders' },
      ],
      Statistic: 'Maximum',
      Threshold: 10,
      Period: 14400,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      TreatMissingData: 'breaching',
      AlarmActions: [{ Ref: id(f.alerts.topics[0]) }],
    });
    assert.throws(
      () => failsafeStack({ cadenceSources: [{ sourceAccount: '999999999999', sourceId: 'orders', everyHours: 4 }] }),
      /cadenceSources\[0\]/,
    );
    assert.throws(
      () => failsafeStack({ cadenceSources: [{ sourceAccount: LIVE, sourceId: 'orders', everyHours: 5 }] }),
      /cadenceSources\[0\]/,
    );
  });

  test('sourceCopyWaits reach every task as SOURCE_COPY_WAITS, a source of another account refused', () => {
    const { template: t } = failsafeStack({ sourceCopyWaits: [{ sourceAccount: LIVE, sourceId: 'ledger', maxWaitSeconds: 43200 }] });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ SOURCE_COPY_WAITS: `${LIVE}:ledger=43200` }) },
    });
    assert.throws(
      () => failsafeStack({ sourceCopyWaits: [{ sourceAccount: '999999999999', sourceId: 'ledger', maxWaitSeconds: 600 }] }),
      /sourceCopyWaits\[0\]/,
    );
  });

  test("the dashboard shows every source's copy age against the threshold, copy time and GiB copied, copies saved and failed per run, executions and the alarm", () => {
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as any[];
    assert.equal(dashboards.length, 1);
    assert.equal(dashboards[0].Properties.DashboardName, 'rds-failsafe-failsafe');
    // the body is a Fn::Join of text and tokens; its text parts are enough to read the widgets
    const text = JSON.stringify(dashboards[0].Properties.DashboardBody);
    const body = JSON.parse(
      stack
        .resolve(dashboards[0].Properties.DashboardBody)
        ['Fn::Join'][1].map((p: any) => (typeof p === 'string' ? p : 'X'))
        .join(''),
    );
    const widgets = body.widgets.map((w: any) => w.properties);
    const age = widgets.find((w: any) => w.title?.startsWith('Newest verified copy age'));
    assert.ok(age, text);
    assert.deepEqual(
      age.metrics[0][0].expression,
      `SEARCH('{${COPY_AGE_METRIC.namespace},SourceAccount,SourceId} MetricName="${COPY_AGE_METRIC.metricName}"', 'Maximum', 3600)`,
    );
    assert.equal(age.annotations.horizontal[0].value, 30, 'the threshold is newestCopyMaxAgeHours');
    const perRun = widgets.find((w: any) => w.title === 'Copies saved and failed per day');
    assert.deepEqual(
      perRun.metrics.map((m: any) => m.slice(0, 2)),
      [
        [RUN_OUTCOME_METRICS.namespace, 'CopiesSaved'],
        [RUN_OUTCOME_METRICS.namespace, 'CopiesFailed'],
      ],
    );
    // what each copy took and moved, and whether it was incremental, as verify writes it
    const copyTime = widgets.find((w: any) => w.title?.startsWith('Failsafe copy time per source'));
    assert.deepEqual(
      copyTime.metrics[0][0].expression,
      `SEARCH('{${COPY_TIME_METRICS.namespace},SourceAccount,SourceId} MetricName="CopySeconds"', 'Maximum', 86400)`,
    );
    const copied = widgets.find((w: any) => w.title?.startsWith('GiB moved by full copies'));
    assert.deepEqual(copied.metrics[0].slice(0, 2), [COPY_TIME_METRICS.namespace, 'CopySizeGiB']);
    const modes = widgets.find((w: any) => w.title?.startsWith('Failsafe copies per day'));
    assert.deepEqual(
      modes.metrics.map((m: any) => [m[1], m[m.length - 1].stat]),
      [
        ['CopyIncremental', 'SampleCount'],
        ['CopyIncremental', 'Sum'],
      ],
    );
    const runs = widgets.find((w: any) => w.title === 'Failsafe executions per day');
    assert.deepEqual(
      runs.metrics.map((m: any) => m[1]),
      ['ExecutionsSucceeded', 'ExecutionsFailed', 'ExecutionsTimedOut'],
    );
    assert.ok(widgets.some((w: any) => w.title === 'Alarms' && w.alarms.length === 1));
    const { template: t } = failsafeStack({ newestCopyMaxAgeHours: 36, stateMachineName: 'db.backups' });
    const other = Object.values(t.findResources('AWS::CloudWatch::Dashboard'))[0] as any;
    assert.equal(other.Properties.DashboardName, 'db-backups-failsafe', 'only characters a dashboard name may have');
    assert.match(JSON.stringify(other.Properties.DashboardBody), /\\"value\\":36,/);
  });

  test('every variable either stack sets is one the contract lists, which is where the Lambdas read their names (or the SDK: AWS_MAX_ATTEMPTS)', () => {
    const names = new Set<string>();
    for (const t of [template, liveStack().template]) {
      for (const fn of Object.values(t.findResources('AWS::Lambda::Function')) as any[]) {
        for (const name of Object.keys(fn.Properties.Environment.Variables)) names.add(name);
      }
    }
    assert.ok(names.size >= 14);
    for (const name of names) assert.ok(name in CONTRACT.environment, `${name} is not in contract/contract.json environment`);
  });
});
