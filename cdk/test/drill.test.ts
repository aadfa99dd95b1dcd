// The opt-in restore drill of FailsafeAccount: off by default; when on, a third state machine on a
// weekly schedule, four task functions with narrow roles, its alarms and dashboard widgets.
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { Stack } from 'aws-cdk-lib';
import { DRILL_METRICS, DRILL_TAG, RESTORE_TESTED_TAG, RestoreDrillProps } from '../lib/restore-drill';
import { actionsOf, allowing, failsafeStack, taskStatements } from './helpers';

const DRILL: RestoreDrillProps = { subnetGroupName: 'Restore-Subnets', securityGroupIds: ['sg-0123456789abcdef0'] };

function fails(build: () => unknown, ...parts: string[]) {
  assert.throws(build, (e: Error) => {
    for (const part of parts) assert.ok(e.message.includes(part), `"${e.message}" should mention "${part}"`);
    return true;
  });
}

describe('FailsafeAccount restoreDrill', () => {
  test('is off by default: one state machine, no drill function', () => {
    const { failsafe, template } = failsafeStack();
    assert.equal(failsafe.drill, undefined);
    assert.equal(Object.keys(template.findResources('AWS::StepFunctions::StateMachine')).length, 1);
  });

  const { stack, failsafe, template } = failsafeStack({ restoreDrill: DRILL });
  const drill = failsafe.drill!;
  const f = drill.functions;
  const id = (c: any) => stack.getLogicalId(c.node.defaultChild);

  test('adds the drill machine on a weekly schedule, and the drill functions their settings', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: 'rds-failsafe-drill' });
    template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'cron(0 6 ? * SUN *)' });
    const env = template.toJSON().Resources[id(f.SelectDrillsFunctionArn.function)].Properties.Environment.Variables;
    assert.deepEqual(Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('DRILL_'))), {
      DRILL_SUBNET_GROUP: 'Restore-Subnets',
      DRILL_SECURITY_GROUPS: 'sg-0123456789abcdef0',
      DRILL_SOURCES: 'one',
      DRILL_RECORDS_LOG_GROUP: '/rds-failsafe/rds-failsafe-drill/records',
    });
    // the drills' evidence: kept ten years, retained with the stack; end-drill may only append to it
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { LogGroupName: '/rds-failsafe/rds-failsafe-drill/records', RetentionInDays: 3653 },
      DeletionPolicy: 'Retain',
    });
    const appends = allowing(taskStatements(template, f.EndDrillFunctionArn), 'logs:PutLogEvents');
    assert.deepEqual(actionsOf(appends), ['logs:CreateLogStream', 'logs:PutLogEvents']);
  });

  test("restore-drill creates only rdsf-drill-* databases that the request tags drill=true, from the tool's copies, in the drill's subnet group", () => {
    const st = taskStatements(template, f.RestoreDrillFunctionArn);
    const [restore] = allowing(st, 'rds:RestoreDBInstanceFromDBSnapshot');
    assert.deepEqual(restore.Condition, { StringEquals: { [`aws:RequestTag/${DRILL_TAG}`]: 'true' } });
    const resources = JSON.stringify(Stack.of(stack).resolve(restore.Resource));
    for (const r of [
      ':db:rdsf-drill-*',
      ':cluster:rdsf-drill-*',
      ':snapshot:rdsf-*',
      ':cluster-snapshot:rdsf-*',
      ':subgrp:restore-subnets',
    ]) {
      assert.ok(resources.includes(r), `${r} not in ${resources}`);
    }
    assert.equal(allowing(st, 'rds:DeleteDBInstance', 'rds:DeleteDBCluster').length, 0, 'restore-drill deletes nothing');
    // tags on create: only on the drill's databases and only its own two keys, never on a copy
    const [tag] = allowing(st, 'rds:AddTagsToResource');
    assert.deepEqual(actionsOf([tag]), ['rds:AddTagsToResource']);
    assert.ok(!JSON.stringify(Stack.of(stack).resolve(tag.Resource)).includes('snapshot'), 'never a copy');
    assert.deepEqual(tag.Condition?.['ForAllValues:StringEquals'], { 'aws:TagKeys': [DRILL_TAG, 'rds-failsafe:restored-from'] });
    const [kms] = allowing(st, 'kms:CreateGrant');
    assert.deepEqual(actionsOf([kms]), ['kms:CreateGrant', 'kms:Decrypt', 'kms:DescribeKey']);
  });

  test('end-drill deletes only what carries the drill tag, and adds only restore-tested to managed copies', () => {
    const st = taskStatements(template, f.EndDrillFunctionArn);
    const [del] = allowing(st, 'rds:DeleteDBInstance');
    assert.deepEqual(actionsOf([del]), ['rds:DeleteDBCluster', 'rds:DeleteDBInstance']);
    assert.deepEqual(del.Condition, { StringEquals: { [`aws:ResourceTag/${DRILL_TAG}`]: 'true' } });
    assert.ok(!JSON.stringify(del.Resource).includes('snapshot'), 'never a snapshot');
    const [tag] = allowing(st, 'rds:AddTagsToResource');
    assert.deepEqual(tag.Condition?.['ForAllValues:StringEquals'], { 'aws:TagKeys': [RESTORE_TESTED_TAG] });
    assert.equal(allowing(st, 'rds:DeleteDBSnapshot', 'rds:DeleteDBClusterSnapshot').length, 0);
    for (const t of [f.SelectDrillsFunctionArn, f.CheckDrillFunctionArn]) {
      const acts = actionsOf(taskStatements(template, t)).filter((a) => !a.startsWith('logs:'));
      assert.ok(
        acts.every((a) => a.startsWith('rds:Describe')),
        `${acts}`,
      );
    }
  });

  test('a failed drill alarms, the drill executions are watched, and the dashboard shows drills', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: DRILL_METRICS.failed,
      Namespace: DRILL_METRICS.namespace,
      Threshold: 1,
    });
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as any[];
    assert.ok(
      alarms.some(
        (a) => a.Properties.MetricName === 'ExecutionsFailed' && JSON.stringify(a.Properties.Dimensions).includes('DrillMachine'),
      ),
    );
    const body = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]);
    for (const m of [DRILL_METRICS.passed, DRILL_METRICS.failed, DRILL_METRICS.seconds])
      assert.ok(body.includes(`MetricName=\\\\\\"${m}\\\\\\"`), m);
  });

  test('validate-drill: without checks, restore-only and outside the VPC; its secrets are only those of drill databases', () => {
    const v = f.ValidateDrillFunctionArn;
    const props = template.toJSON().Resources[id(v.function)].Properties;
    assert.equal(props.VpcConfig, undefined);
    assert.equal(props.Environment.Variables.DRILL_CHECKS, undefined);
    const st = taskStatements(template, v);
    const [modify] = allowing(st, 'rds:ModifyDBInstance');
    assert.deepEqual(actionsOf([modify]), ['rds:ModifyDBCluster', 'rds:ModifyDBInstance']);
    assert.deepEqual(modify.Condition, {
      StringEquals: { [`aws:ResourceTag/${DRILL_TAG}`]: 'true' },
      Bool: { 'rds:ManageMasterUserPassword': 'true' },
    });
    // one statement per tag, each required (an RDS secret naming no drill database is not read)
    const reads = allowing(st, 'secretsmanager:GetSecretValue');
    assert.equal(reads.length, 2);
    for (const [read, tag, kind] of [
      [reads[0], 'primaryDBInstanceArn', 'db'],
      [reads[1], 'primaryDBClusterArn', 'cluster'],
    ] as const) {
      assert.ok(JSON.stringify(Stack.of(stack).resolve(read.Resource)).includes(':secret:rds!*'));
      assert.deepEqual(read.Condition!.StringEquals, { 'aws:ResourceTag/aws:secretsmanager:owningService': 'rds' });
      const like = Stack.of(stack).resolve(read.Condition!.StringLike);
      assert.deepEqual(Object.keys(like), [`aws:ResourceTag/aws:rds:${tag}`]);
      assert.match(JSON.stringify(like), new RegExp(`:${kind}:rdsf-drill-\\*`));
    }
    // no other task reads a secret or changes a database
    for (const t of [f.SelectDrillsFunctionArn, f.RestoreDrillFunctionArn, f.CheckDrillFunctionArn, f.EndDrillFunctionArn]) {
      assert.equal(allowing(taskStatements(template, t), 'secretsmanager:GetSecretValue', 'rds:ModifyDBInstance').length, 0);
    }
  });

  test('with checks, validate-drill alone reads them, and runs in the VPC with the drill security groups', () => {
    const checks = [
      {
        source: 'orders',
        database: 'app',
        checks: [{ sql: 'select count(*) from orders', min: 1000 }, { tables: ['orders', 'public.customers'] }],
      },
    ];
    const w = failsafeStack({
      restoreDrill: { ...DRILL, checks, checkSubnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'] },
    });
    const res = (t: any) => w.template.toJSON().Resources[w.stack.getLogicalId(t.function.node.defaultChild)].Properties;
    const v = res(w.failsafe.drill!.functions.ValidateDrillFunctionArn);
    assert.deepEqual(JSON.parse(v.Environment.Variables.DRILL_CHECKS), checks);
    assert.deepEqual(v.VpcConfig, {
      SubnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
      SecurityGroupIds: ['sg-0123456789abcdef0'],
    });
    assert.equal(res(w.failsafe.drill!.functions.EndDrillFunctionArn).Environment.Variables.DRILL_CHECKS, undefined);
    assert.equal(res(w.failsafe.drill!.functions.EndDrillFunctionArn).VpcConfig, undefined);
    const eni = allowing(taskStatements(w.template, w.failsafe.drill!.functions.ValidateDrillFunctionArn), 'ec2:CreateNetworkInterface');
    assert.equal(eni.length, 1);
  });

  test('bad checks fail at synth, naming the field', () => {
    const net = { checkSubnetIds: ['subnet-0123456789abcdef0'] };
    const one = (check: any) => ({ restoreDrill: { ...DRILL, ...net, checks: [{ source: 'orders', database: 'app', checks: [check] }] } });
    fails(() => failsafeStack(one({ sql: 'delete from orders', min: 1 })), 'restoreDrill.checks[0].checks[0].sql', 'SELECT or WITH');
    fails(() => failsafeStack(one({ sql: 'select count(*) from orders' })), 'restoreDrill.checks[0].checks[0]', '"min"/"max"');
    fails(() => failsafeStack(one({ sql: 'select now()', maxAgeHours: 0 })), 'maxAgeHours', 'above 0');
    fails(() => failsafeStack(one({ tables: ['a.b.c'] })), 'restoreDrill.checks[0].checks[0].tables', 'schema.table');
    fails(() => failsafeStack(one({ sql: 'select 1', min: 3, max: 1 })), 'min 3 is above max 1');
    fails(
      () =>
        failsafeStack({ restoreDrill: { ...DRILL, ...net, checks: [{ source: 'Orders', database: 'app', checks: [{ tables: ['a'] }] }] } }),
      'restoreDrill.checks[0].source',
    );
    fails(
      () => failsafeStack({ restoreDrill: { ...DRILL, checks: [{ source: 'orders', database: 'app', checks: [{ tables: ['a'] }] }] } }),
      'restoreDrill.checkSubnetIds',
      'subnet-',
    );
    fails(() => failsafeStack({ restoreDrill: { ...DRILL, ...net } }), 'restoreDrill.checkSubnetIds', 'only for restoreDrill.checks');
  });

  test('bad drill settings fail at synth, naming the field and the fix', () => {
    fails(() => failsafeStack({ restoreDrill: { ...DRILL, subnetGroupName: 'default' } }), 'restoreDrill.subnetGroupName', 'not "default"');
    fails(() => failsafeStack({ restoreDrill: { ...DRILL, securityGroupIds: [] } }), 'restoreDrill.securityGroupIds', '1-5');
    fails(() => failsafeStack({ restoreDrill: { ...DRILL, securityGroupIds: ['default'] } }), 'restoreDrill.securityGroupIds', 'sg-');
    fails(() => failsafeStack({ restoreDrill: { ...DRILL, sources: 'some' as any } }), 'restoreDrill.sources', '"one"');
    fails(() => failsafeStack({ restoreDrill: { ...DRILL, instanceClass: 'm5.large' } }), 'restoreDrill.instanceClass', 'db.t4g.medium');
    fails(() => failsafeStack({ restoreDrill: { ...DRILL, schedule: 'weekly' } }), 'schedule');
    fails(() => failsafeStack({ restoreDrill: { ...DRILL, rtoMinutes: 0 } }), 'restoreDrill.rtoMinutes', 'from 1 to 4320');
    fails(() => failsafeStack({ restoreDrill: { ...DRILL, rtoMinutes: { Orders: 30 } } }), 'restoreDrill.rtoMinutes.Orders', 'lower case');
    fails(
      () => failsafeStack({ restoreDrill: { ...DRILL, rtoMinutes: { orders: 30.5 } } }),
      'restoreDrill.rtoMinutes.orders',
      'whole minutes',
    );
    fails(() => failsafeStack({ restoreDrill: { ...DRILL, rtoMinutes: {} } }), 'restoreDrill.rtoMinutes', 'minutes by source');
  });

  test('no restore time target: no RTO alarm; with targets, every drill function reads them and a slow restore alarms', () => {
    assert.equal(drill.rtoAlarm, undefined);
    const one = failsafeStack({ restoreDrill: { ...DRILL, rtoMinutes: 90 } });
    const env = (t: typeof one) =>
      t.template.toJSON().Resources[t.stack.getLogicalId(t.failsafe.drill!.functions.EndDrillFunctionArn.function.node.defaultChild as any)]
        .Properties.Environment.Variables;
    assert.equal(env(one).DRILL_RTO_MINUTES, '{"*":90}');
    const by = failsafeStack({ restoreDrill: { ...DRILL, rtoMinutes: { orders: 30, '111111111111:ledger': 120, '*': 240 } } });
    assert.deepEqual(JSON.parse(env(by).DRILL_RTO_MINUTES), { orders: 30, '111111111111:ledger': 120, '*': 240 });
    by.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: DRILL_METRICS.rtoBreached,
      Namespace: DRILL_METRICS.namespace,
      Statistic: 'Maximum',
      Threshold: 1,
    });
    const body = JSON.stringify(Object.values(by.template.findResources('AWS::CloudWatch::Dashboard'))[0]);
    assert.ok(body.includes(`MetricName=\\\\\\"${DRILL_METRICS.rtoBreached}\\\\\\"`));
  });
});

// A changed logical ID makes CloudFormation replace the resource, and a resource with a fixed name
// (the state machines, the dashboard, the schedules) or with state (the keys, the topics) cannot be
// replaced in place: the drill and the dashboard became constructs of their own
// (lib/restore-drill.ts, lib/failsafe-dashboard.ts) with the IDs they had inside FailsafeAccount.
describe('FailsafeAccount logical IDs', () => {
  test('of its named and stateful resources stay what deployed stacks hold', () => {
    const { template } = failsafeStack({ restoreDrill: DRILL });
    const kinds = [
      'AWS::KMS::Key',
      'AWS::SNS::Topic',
      'AWS::StepFunctions::StateMachine',
      'AWS::Scheduler::Schedule',
      'AWS::CloudWatch::Dashboard',
      'AWS::CloudWatch::Alarm',
    ];
    const ids = Object.entries(template.toJSON().Resources as Record<string, { Type: string }>)
      .filter(([, r]) => kinds.includes(r.Type))
      .map(([logicalId, r]) => `${r.Type} ${logicalId}`)
      .sort();
    assert.deepEqual(ids, [
      'AWS::CloudWatch::Alarm RdsFailsafeAlertsDrillExecutionsFailedF3E76C1A',
      'AWS::CloudWatch::Alarm RdsFailsafeAlertsDrillExecutionsTimedOut0959C3F5',
      'AWS::CloudWatch::Alarm RdsFailsafeAlertsDrillFailed41186FF9',
      'AWS::CloudWatch::Alarm RdsFailsafeAlertsExecutionsFailedAA94D457',
      'AWS::CloudWatch::Alarm RdsFailsafeAlertsExecutionsTimedOut5A338772',
      'AWS::CloudWatch::Alarm RdsFailsafeAlertsNewestCopyAge1DCAACE7',
      'AWS::CloudWatch::Dashboard RdsFailsafeDashboardC41A8714',
      'AWS::KMS::Key RdsFailsafeAlertsKeyF24E9F5F',
      'AWS::KMS::Key RdsFailsafeFailsafeKeyDE58C7D3',
      'AWS::KMS::Key RdsFailsafeTopicKey0DE865A6',
      'AWS::SNS::Topic RdsFailsafeAlertsTopicB4E888D5',
      'AWS::SNS::Topic RdsFailsafeTopic6CC9CABC',
      'AWS::Scheduler::Schedule RdsFailsafeDrillMachineSchedule92EF8C60',
      'AWS::Scheduler::Schedule RdsFailsafeMachineSchedule6B61F9BA',
      'AWS::StepFunctions::StateMachine RdsFailsafeDrillMachineStateMachine82B93E3C',
      'AWS::StepFunctions::StateMachine RdsFailsafeMachineStateMachine14872B0C',
    ]);
  });
});
