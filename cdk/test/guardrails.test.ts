// The guardrails on the Failsafe account: the management account's SCP and RCP as synthesized,
// the Failsafe keys' own guard (no Organization needed), the tool's role path, and `prune`'s
// respect for a hold. What the policies allow and deny is proved by tests/policy/prove.mjs on the
// deployments the end-to-end tests record; these check the templates' shape and the validation.
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CONTEXT_KEY, appConfig } from '../lib/app-config';
import { CONTRACT } from '../lib/contract';
import { ORGANIZATIONS_POLICY_MAX_CHARS, resourceControlPolicy, serviceControlPolicy } from '../lib/guardrails';
import { buildApp } from '../lib/stacks';
import { allowing, CDK_DIR, cdkJsonContext, FAILSAFE, failsafeStack, LAMBDA_DIR, Statement, taskStatements } from './helpers';

const base = () => structuredClone(cdkJsonContext()[CONTEXT_KEY]) as Record<string, unknown>;
const fails = (f: () => unknown, message: string) =>
  assert.throws(f, (e: Error) => e.message.includes(message) || assert.fail(`"${e.message}" does not say "${message}"`));

function guardrailsTemplate(guardrails: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  process.env.RDSF_LAMBDA_DIR = LAMBDA_DIR;
  const app = new App({ context: { ...cdkJsonContext(), [CONTEXT_KEY]: { ...base(), ...extra, guardrails } } });
  const built = buildApp(app, CDK_DIR);
  assert.ok(built.guardrails, 'a guardrails stack');
  return { built, template: Template.fromStack(built.guardrails) };
}

describe('the guardrails stack (Organizations management account)', () => {
  test('attaches one SCP and one RCP to the Failsafe account, as written by serviceControlPolicy and resourceControlPolicy', () => {
    const { built, template } = guardrailsTemplate({ managementAccount: '999999999999' });
    assert.equal(built.guardrails!.account, '999999999999');
    assert.equal(built.guardrails!.region, 'us-east-1');
    const policies = Object.values(template.findResources('AWS::Organizations::Policy')).map((r: any) => r.Properties);
    assert.deepEqual(policies.map((p) => p.Type).sort(), ['RESOURCE_CONTROL_POLICY', 'SERVICE_CONTROL_POLICY']);
    for (const p of policies) {
      assert.deepEqual(p.TargetIds, [FAILSAFE]);
      const expected =
        p.Type === 'SERVICE_CONTROL_POLICY'
          ? serviceControlPolicy({ failsafeAccount: FAILSAFE })
          : resourceControlPolicy({ failsafeAccount: FAILSAFE });
      assert.deepEqual(p.Content, expected);
      assert.ok(JSON.stringify(p.Content).length <= ORGANIZATIONS_POLICY_MAX_CHARS, `${p.Type} within Organizations' quota`);
      // an SCP or RCP only denies
      assert.ok(p.Content.Statement.every((s: Statement) => s.Effect === 'Deny'));
    }
    assert.ok(built.failsafe, 'the Failsafe stack is still built beside it');
  });

  test('an OU target and a break-glass role with a path reach the policies', () => {
    const { template } = guardrailsTemplate(
      { managementAccount: '999999999999', targetId: 'ou-ab12-cdefgh34' },
      { breakGlassRole: 'security/vault-break-glass' },
    );
    const scp = Object.values(template.findResources('AWS::Organizations::Policy')).find(
      (r: any) => r.Properties.Type === 'SERVICE_CONTROL_POLICY',
    ) as any;
    assert.deepEqual(scp.Properties.TargetIds, ['ou-ab12-cdefgh34']);
    assert.match(JSON.stringify(scp.Properties.Content), /arn:aws:iam::\*:role\/security\/vault-break-glass/);
  });

  test('bad guardrails configuration fails at synth naming the field', () => {
    fails(
      () => appConfig({ ...base(), guardrails: { managementAccount: FAILSAFE } }, CDK_DIR, {}),
      'rds-failsafe.guardrails.managementAccount: equals failsafeAccount',
    );
    fails(
      () => appConfig({ ...base(), guardrails: { managementAccount: '99' } }, CDK_DIR, {}),
      'rds-failsafe.guardrails.managementAccount',
    );
    fails(
      () => appConfig({ ...base(), guardrails: { managementAccount: '999999999999', target: 'x' } }, CDK_DIR, {}),
      'rds-failsafe.guardrails.target: unknown field',
    );
    fails(() => appConfig({ ...base(), guardrails: [] }, CDK_DIR, {}), 'rds-failsafe.guardrails: [] must be an object');
    fails(
      () => guardrailsTemplate({ managementAccount: '999999999999', targetId: '333333333333' }),
      'rds-failsafe.guardrails.targetId: 333333333333 is an account other than the Failsafe account',
    );
    fails(() => guardrailsTemplate({ managementAccount: '999999999999', targetId: 'everything' }), 'rds-failsafe.guardrails.targetId');
    fails(
      () => appConfig({ ...base(), breakGlassRole: 'rds-failsafe/mine' }, CDK_DIR, {}),
      'rds-failsafe.breakGlassRole: "rds-failsafe/mine" must be an IAM role name (with its path, e.g. "security/break-glass"), outside the tool\'s path',
    );
    fails(() => appConfig({ ...base(), breakGlassRole: 'has space' }, CDK_DIR, {}), 'rds-failsafe.breakGlassRole');
  });

  test('no guardrails configured: no management stack', () => {
    process.env.RDSF_LAMBDA_DIR = LAMBDA_DIR;
    assert.equal(buildApp(new App({ context: { ...cdkJsonContext(), [CONTEXT_KEY]: base() } }), CDK_DIR).guardrails, undefined);
  });
});

describe('the Failsafe stack without an Organization', () => {
  const { failsafe, template } = failsafeStack();

  test("every role has the tool's path, which the guardrails exempt and protect", () => {
    const roles = Object.values(template.findResources('AWS::IAM::Role')) as any[];
    assert.ok(roles.length > 5);
    for (const r of roles) assert.equal(r.Properties.Path, CONTRACT.names.toolRolePath);
  });

  test('every key refuses deletion, disabling, a new policy and grants outside AWS services to all but the deployment and break-glass', () => {
    const keys = Object.values(template.findResources('AWS::KMS::Key')) as any[];
    assert.equal(keys.length, 3); // the Failsafe key, the topic's, the alerts'
    for (const k of keys) {
      const denies = k.Properties.KeyPolicy.Statement.filter((s: Statement) => s.Effect === 'Deny');
      assert.deepEqual(denies.map((s: Statement) => s.Sid).sort(), ['NoGrantsButAwsServices', 'OnlyDeploymentOrBreakGlassChangesThisKey']);
      for (const d of denies) {
        assert.deepEqual(d.Principal, { AWS: '*' });
        assert.deepEqual(d.Condition.ArnNotLike['aws:PrincipalArn'], [
          `arn:aws:iam::${FAILSAFE}:role/cdk-hnb659fds-*`,
          `arn:aws:iam::${FAILSAFE}:role/${CONTRACT.names.breakGlassRole}`,
        ]);
      }
      const change = denies.find((s: Statement) => s.Sid === 'OnlyDeploymentOrBreakGlassChangesThisKey');
      for (const a of ['kms:ScheduleKeyDeletion', 'kms:DisableKey', 'kms:PutKeyPolicy']) assert.ok(change.Action.includes(a), a);
      // the deletion window is the longest KMS allows
    }
    assert.equal(keys.find((k) => k.Properties.PendingWindowInDays)?.Properties.PendingWindowInDays, 30);
  });

  test('prune can delete only a copy without a hold', () => {
    const deletes = allowing(taskStatements(template, failsafe.functions.PruneFunctionArn), 'rds:DeleteDBSnapshot');
    assert.equal(deletes.length, 1);
    assert.deepEqual(deletes[0].Condition!.Null, { [`aws:ResourceTag/${CONTRACT.tags.hold}`]: 'true' });
  });
});
