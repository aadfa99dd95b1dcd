// What is deployed, read from the synthesized templates rather than from the props: the limits
// AWS checks only at deploy or run time, where CDK says nothing at synth.
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { DEPLOY_TIME_VALUE_BYTES, LAMBDA_ENVIRONMENT_MAX_BYTES } from '../lib/task-function';
import { CDK_DIR, failsafeStack, liveStack } from './helpers';

const DRILL = { subnetGroupName: 'Restore-Subnets', securityGroupIds: ['sg-0123456789abcdef0'] };
/** IAM: "The size of all inline policies attached to a role cannot exceed 10,240 characters"
 * (IAM User Guide, "IAM and AWS STS quotas"; whitespace is not counted). */
const ROLE_INLINE_POLICY_MAX_CHARS = 10240;
const DAY = 86400;

/** The longest value each pseudo parameter takes (aws-us-gov, ap-southeast-5 ...). */
const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws-us-gov',
  'AWS::Region': 'ap-southeast-5',
  'AWS::AccountId': '123456789012',
  'AWS::URLSuffix': 'amazonaws.com.cn',
};

/** A template value as CloudFormation will deploy it: pseudo parameters at their longest, any
 * other Ref or Fn::GetAtt as DEPLOY_TIME_VALUE_BYTES characters, Fn::Join and Fn::Sub applied. */
function deployed(value: any): any {
  if (Array.isArray(value)) return value.map(deployed);
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (keys.length === 1) {
    const [k] = keys;
    const v = value[k];
    if (k === 'Ref') return PSEUDO[v] ?? 'x'.repeat(DEPLOY_TIME_VALUE_BYTES);
    if (k === 'Fn::GetAtt' || k === 'Fn::ImportValue' || k === 'Fn::Select' || k === 'Fn::GetAZs')
      return 'x'.repeat(DEPLOY_TIME_VALUE_BYTES);
    if (k === 'Fn::Join') return (deployed(v[1]) as string[]).join(v[0]);
    if (k === 'Fn::Sub') {
      const text = typeof v === 'string' ? v : v[0];
      return text.replace(/\$\{([^}]+)\}/g, (_: string, name: string) => PSEUDO[name] ?? 'x'.repeat(DEPLOY_TIME_VALUE_BYTES));
    }
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, deployed(v)]));
}

function resources(template: Template, type: string): [string, any][] {
  return Object.entries(template.toJSON().Resources as Record<string, any>).filter(([, r]) => r.Type === type);
}

/** Big but valid configurations: 100 Live accounts sending to one Failsafe account, 20 Failsafe
 * accounts for one Live account, and the drill on. */
function bigStacks() {
  const liveAccounts = Array.from({ length: 100 }, (_, i) => String(300000000000 + i));
  const failsafeAccounts = Array.from({ length: 20 }, (_, i) => ({ account: String(400000000000 + i) }));
  return {
    live: liveStack({ failsafe: failsafeAccounts, sources: ['all'] }).template,
    failsafe: failsafeStack({
      sourceAccounts: liveAccounts,
      sourceRegions: ['eu-west-1', 'us-east-1', 'ap-southeast-2'],
      restoreDrill: DRILL,
    }).template,
  };
}

describe('what the templates deploy', () => {
  const stacks = {
    ...bigStacks(),
    'live (defaults)': liveStack().template,
    'failsafe (defaults)': failsafeStack({ restoreDrill: DRILL }).template,
  };

  test('every state machine has an execution timeout in its DefinitionString, as the ASL file says', () => {
    const seen: Record<string, number> = {};
    for (const [stackName, template] of Object.entries(stacks)) {
      for (const [id, r] of resources(template, 'AWS::StepFunctions::StateMachine')) {
        assert.equal(typeof r.Properties.DefinitionString, 'string', `${stackName} ${id}`);
        const definition = JSON.parse(r.Properties.DefinitionString);
        assert.ok(Number.isInteger(definition.TimeoutSeconds), `${stackName} ${id}: no top-level TimeoutSeconds is deployed`);
        seen[r.Properties.StateMachineName] = definition.TimeoutSeconds;
      }
    }
    // the daily runs end before the next day's run starts; the weekly drill before next week's
    assert.ok(seen['rds-failsafe'] < DAY, JSON.stringify(seen));
    assert.ok(seen['rds-failsafe-drill'] < 7 * DAY, JSON.stringify(seen));
    for (const name of ['live', 'failsafe', 'drill']) {
      const file = JSON.parse(readFileSync(path.join(CDK_DIR, '..', 'statemachines', `${name}.asl.json`), 'utf8'));
      const longestWait = file.States.CheckOverrides.Choices.flatMap((c: any) => c.Or ?? []).find(
        (o: any) => o.Variable === '$.config.maxWaitSeconds' && 'NumericGreaterThan' in o,
      ).NumericGreaterThan;
      assert.ok(
        longestWait < file.TimeoutSeconds,
        `${name}: maxWaitSeconds may be ${longestWait}, the execution times out at ${file.TimeoutSeconds}`,
      );
    }
  });

  test('each state machine logs to a group under /aws/vendedlogs/', () => {
    for (const template of Object.values(stacks)) {
      for (const [, r] of resources(template, 'AWS::StepFunctions::StateMachine')) {
        const destination = r.Properties.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn;
        const groupId = destination['Fn::GetAtt'][0];
        const group = template.toJSON().Resources[groupId];
        assert.match(group.Properties.LogGroupName, /^\/aws\/vendedlogs\/states\//);
      }
    }
  });

  test(`each function's environment fits Lambda's ${LAMBDA_ENVIRONMENT_MAX_BYTES} bytes`, () => {
    let largest = 0;
    for (const [stackName, template] of Object.entries(stacks)) {
      for (const [id, r] of resources(template, 'AWS::Lambda::Function')) {
        const vars = deployed(r.Properties.Environment?.Variables ?? {}) as Record<string, string>;
        const bytes = Object.entries(vars).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(String(v)), 0);
        assert.ok(bytes <= LAMBDA_ENVIRONMENT_MAX_BYTES, `${stackName} ${id}: ${bytes} bytes`);
        largest = Math.max(largest, bytes);
      }
    }
    assert.ok(largest > 1500, `the big configurations should come near the limit (largest ${largest})`);
  });

  test(`each role's inline policies stay under IAM's ${ROLE_INLINE_POLICY_MAX_CHARS} characters with 100 Live accounts`, () => {
    let largest = 0;
    for (const [stackName, template] of Object.entries(stacks)) {
      const byRole: Record<string, number> = {};
      for (const [, r] of resources(template, 'AWS::IAM::Policy')) {
        const chars = JSON.stringify(deployed(r.Properties.PolicyDocument)).replace(/\s/g, '').length;
        for (const role of r.Properties.Roles) byRole[role.Ref] = (byRole[role.Ref] ?? 0) + chars;
      }
      for (const [, r] of resources(template, 'AWS::IAM::Role')) {
        for (const p of r.Properties.Policies ?? [])
          assert.fail(`${stackName}: inline Policies on a role are not counted here: ${p.PolicyName}`);
      }
      for (const [role, chars] of Object.entries(byRole)) {
        assert.ok(chars < ROLE_INLINE_POLICY_MAX_CHARS, `${stackName} ${role}: ${chars} characters`);
        largest = Math.max(largest, chars);
      }
    }
    assert.ok(largest > 4000, `100 Live accounts should show in the save role's policy (largest ${largest})`);
  });
});

describe("a configuration Lambda's environment cannot hold is refused at synth", () => {
  test('150 sources of 40 characters: names sources and the fix', () => {
    const sources = Array.from({ length: 150 }, (_, i) => `orders-eu-west-1-production-db-${String(i).padStart(9, '0')}`);
    assert.equal(sources[0].length, 40);
    assert.throws(
      () => liveStack({ sources }),
      (e: Error) => {
        for (const part of ['sources', 'environment would be', 'allows 4096', 'tag:backup=failsafe', 'orders-*']) {
          assert.ok(e.message.includes(part), `"${e.message}" should mention "${part}"`);
        }
        return true;
      },
    );
  });
  test('80 sources of 40 characters fit', () => {
    const sources = Array.from({ length: 80 }, (_, i) => `orders-eu-west-1-production-db-${String(i).padStart(9, '0')}`);
    const { template } = liveStack({ sources });
    for (const [, r] of resources(template, 'AWS::Lambda::Function')) {
      const vars = deployed(r.Properties.Environment.Variables) as Record<string, string>;
      const bytes = Object.entries(vars).reduce((n, [k, v]) => n + k.length + String(v).length, 0);
      assert.ok(bytes > 3000 && bytes <= LAMBDA_ENVIRONMENT_MAX_BYTES, String(bytes));
    }
  });
});

describe("RDS's service-linked role", () => {
  test('save and restore-drill may create exactly AWSServiceRoleForRDS; no other role may create any', () => {
    const { stack, failsafe, template } = failsafeStack({ restoreDrill: DRILL });
    const creators: string[] = [];
    for (const [, r] of resources(template, 'AWS::IAM::Policy')) {
      for (const s of r.Properties.PolicyDocument.Statement) {
        const actions = [s.Action].flat();
        if (!actions.some((a: string) => a.startsWith('iam:'))) continue;
        assert.deepEqual(actions, ['iam:CreateServiceLinkedRole']);
        assert.deepEqual(s.Condition, { StringEquals: { 'iam:AWSServiceName': 'rds.amazonaws.com' } });
        assert.match(
          deployed(s.Resource),
          /^arn:[a-z-]+:iam::222222222222:role\/aws-service-role\/rds\.amazonaws\.com\/AWSServiceRoleForRDS$/,
        );
        creators.push(...r.Properties.Roles.map((role: any) => role.Ref));
      }
    }
    const roleId = (t: any) => stack.getLogicalId(t.role.node.defaultChild);
    const expected = [roleId(failsafe.functions.SaveFunctionArn), roleId(failsafe.drill!.functions.RestoreDrillFunctionArn)];
    assert.deepEqual(creators.sort(), expected.sort());
  });
});
