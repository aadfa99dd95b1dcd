// The ready app through the real CLI, as an operator runs it: `cdk synth` with CloudFormation
// validation and cdk-nag on, no AWS credentials, then cfn-lint on the templates it wrote.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { FAILSAFE_STACK, GUARDRAILS_STACK, LIVE_STACK } from '../lib/stacks';
import { CDK_DIR, fakeLambdaDir } from './helpers';

const CDK = path.join(CDK_DIR, 'node_modules', '.bin', 'cdk');

/** The environment of a machine with no AWS credentials, profile or region configured. */
function credentialFree(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_') && k !== 'CDK_VALIDATION') env[k] = v;
  return { ...env, HOME: mkdtempSync(path.join(tmpdir(), 'rdsf-home-')), CDK_DISABLE_CLI_TELEMETRY: 'true', ...extra };
}

function synth(env: Record<string, string>, ...args: string[]) {
  const out = mkdtempSync(path.join(tmpdir(), 'rdsf-cdk-out-'));
  const run = spawnSync(CDK, ['synth', '--quiet', '--no-notices', '--output', out, ...args], {
    cwd: CDK_DIR,
    env: credentialFree(env),
    encoding: 'utf8',
    timeout: 240_000,
  });
  return { ...run, out };
}

/** cfn-lint from the project's venv (make venv), or PATH; missing is a failure, not a skip. */
function cfnLint(): string {
  const venv = path.join(CDK_DIR, '..', '.venv', 'bin', 'cfn-lint');
  if (existsSync(venv)) return venv;
  const which = spawnSync('sh', ['-c', 'command -v cfn-lint'], { encoding: 'utf8' });
  assert.equal(which.status, 0, 'cfn-lint is not installed: run `make venv` (it is pinned in tools/local/requirements.txt)');
  return which.stdout.trim();
}

describe('cdk synth of the ready app from cdk.json', () => {
  // cdk.json's configuration with the opt-in restore drill turned on, so that cdk-nag and
  // cfn-lint read the drill's resources too
  const context = JSON.parse(readFileSync(path.join(CDK_DIR, 'cdk.json'), 'utf8')).context['rds-failsafe'];
  const withDrill = {
    ...context,
    restoreDrill: { subnetGroupName: 'restore-subnets', securityGroupIds: ['sg-0123456789abcdef0'] },
    guardrails: { managementAccount: '999999999999' },
  };
  const ok = synth({ RDSF_LAMBDA_DIR: fakeLambdaDir() }, '--context', `rds-failsafe=${JSON.stringify(withDrill)}`);

  test('works offline without AWS credentials and writes the three stacks', () => {
    assert.equal(ok.status, 0, `cdk synth failed:\n${ok.stderr}`);
    for (const stack of [LIVE_STACK, FAILSAFE_STACK, GUARDRAILS_STACK]) {
      assert.ok(existsSync(path.join(ok.out, `${stack}.template.json`)), stack);
    }
    // the outputs docs/security.md and docs/operations.md read
    const outputs = (stack: string) =>
      Object.keys(JSON.parse(readFileSync(path.join(ok.out, `${stack}.template.json`), 'utf8')).Outputs).sort();
    assert.deepEqual(outputs(LIVE_STACK), ['FailsafeTopicArns', 'ShareKeyArn', 'StateMachineArn']);
    assert.deepEqual(outputs(FAILSAFE_STACK), ['FailsafeKeyArn', 'StateMachineArn', 'TopicArn']);
    assert.deepEqual(outputs(GUARDRAILS_STACK), ['ResourceControlPolicyId', 'ServiceControlPolicyId']);
  });

  test('cdk-nag AwsSolutionsChecks: no unacknowledged finding, each acknowledgement with its specific reason', () => {
    const report = JSON.parse(readFileSync(path.join(ok.out, 'validation-report.json'), 'utf8'));
    const nag = report.pluginReports.find((p: any) => p.pluginName === 'AwsSolutions');
    assert.ok(nag, 'the AwsSolutions pack ran');
    assert.deepEqual(nag.violations, []);
    assert.equal(nag.conclusion, 'success');
    assert.ok(nag.suppressedViolations.length > 0);
    for (const s of nag.suppressedViolations) {
      // only wildcard findings are acknowledged, each on the role that holds it, with a reason
      assert.match(s.ruleName, /^AwsSolutions-IAM5\[(Action|Resource)::/, s.ruleName);
      assert.ok(typeof s.reason === 'string' && s.reason.length >= 60, `${s.ruleName} at ${s.acknowledgedAt}: "${s.reason}"`);
      assert.match(s.acknowledgedAt, /\/(Role|StateMachine\/Role)$/, s.acknowledgedAt);
    }
    // A blanket Resource::* is acknowledged only where it is read-only describes or CDK's logging/X-Ray.
    const star = nag.suppressedViolations.filter((s: any) => s.ruleName === 'AwsSolutions-IAM5[Resource::*]');
    for (const s of star) assert.match(s.reason, /^(Read-only Describe calls|Added by CDK for logging ALL and X-Ray)/, s.acknowledgedAt);
  });

  test('cfn-lint finds nothing in any template (W3005 ignored)', () => {
    const lint = spawnSync(
      cfnLint(),
      [
        '--ignore-checks',
        'W3005',
        '--',
        ...[LIVE_STACK, FAILSAFE_STACK, GUARDRAILS_STACK].map((s) => path.join(ok.out, `${s}.template.json`)),
      ],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(lint.status, 0, `cfn-lint:\n${lint.stdout}${lint.stderr}`);
  });
});

describe('cdk synth refuses', () => {
  test('missing Lambda zips, saying to run make package', () => {
    const run = synth({ RDSF_LAMBDA_DIR: mkdtempSync(path.join(tmpdir(), 'rdsf-nozips-')) });
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /Run `make package`/);
  });

  test('a bad context value, naming it, without a stack trace', () => {
    const context = JSON.parse(readFileSync(path.join(CDK_DIR, 'cdk.json'), 'utf8')).context['rds-failsafe'];
    const bad = JSON.stringify({ ...context, maxConcurrency: 50 });
    const run = synth({ RDSF_LAMBDA_DIR: fakeLambdaDir() }, '--context', `rds-failsafe=${bad}`);
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /invalid rds-failsafe configuration: maxConcurrency: 50 must be a whole number from 1 to 20/);
    assert.doesNotMatch(run.stderr, /at buildApp/);
  });
});
