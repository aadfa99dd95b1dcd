import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CONTRACT, Machine, tasksOf } from '../lib/contract';
import { FailsafeAccount, FailsafeAccountProps } from '../lib/failsafe-account';
import { LiveAccount, LiveAccountProps } from '../lib/live-account';
import { TaskFunction } from '../lib/task-function';

// The built-in CloudFormation schema validation costs seconds per synth; the CLI synth in
// app.test.ts keeps it on.
process.env.CDK_VALIDATION = 'false';

export const CDK_DIR = path.resolve(__dirname, '..');
export const LIVE = '111111111111';
export const FAILSAFE = '222222222222';
export const REGION = 'eu-west-1';

/** The tasks each stack deploys, as the contract lists them: a machine's tasks, and in the
 * Failsafe account also the tasks no machine invokes (`start-failsafe`, on the trigger topic). */
const tasksIn = (machine: Machine) => Object.values(tasksOf(machine)).map((t) => t.task);
export const LIVE_TASKS = tasksIn('live');
export const FAILSAFE_TASKS = [
  ...Object.keys(CONTRACT.tasks).filter((t) => CONTRACT.tasks[t].machines.length === 0),
  ...tasksIn('failsafe'),
];
export const DRILL_TASKS = tasksIn('drill');

/** A folder shaped like `make package` output, holding empty zips: the tests need no Rust. */
export function fakeLambdaDir(tasks: string[] = [...new Set([...LIVE_TASKS, ...FAILSAFE_TASKS, ...DRILL_TASKS])]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'rdsf-zips-'));
  // the 22-byte end-of-central-directory record: a valid, empty zip
  const emptyZip = Buffer.from([0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0)]);
  for (const task of tasks) {
    mkdirSync(path.join(dir, task));
    writeFileSync(path.join(dir, task, 'bootstrap.zip'), emptyZip);
  }
  return dir;
}
export const LAMBDA_DIR = fakeLambdaDir();

/** cdk.json's context, so tests run with the same feature flags as `cdk synth`. */
export function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(CDK_DIR, 'cdk.json'), 'utf8')).context;
}

export function newApp(): App {
  return new App({ context: cdkJsonContext() });
}

export function liveProps(overrides: Partial<LiveAccountProps> = {}): LiveAccountProps {
  return {
    sources: ['orders', 'cluster:billing'],
    failsafe: [{ account: FAILSAFE }],
    lambdaDir: LAMBDA_DIR,
    alerts: { emails: ['oncall@example.com'] },
    ...overrides,
  };
}

export function failsafeProps(overrides: Partial<FailsafeAccountProps> = {}): FailsafeAccountProps {
  return {
    sourceAccounts: [LIVE],
    lambdaDir: LAMBDA_DIR,
    alerts: { emails: ['oncall@example.com'] },
    ...overrides,
  };
}

export function liveStack(overrides: Partial<LiveAccountProps> = {}, account = LIVE) {
  const stack = new Stack(newApp(), 'Live', { env: { account, region: REGION } });
  const live = new LiveAccount(stack, 'RdsFailsafe', liveProps(overrides));
  return { stack, live, template: Template.fromStack(stack) };
}

export function failsafeStack(overrides: Partial<FailsafeAccountProps> = {}, account = FAILSAFE) {
  const stack = new Stack(newApp(), 'Failsafe', { env: { account, region: REGION } });
  const failsafe = new FailsafeAccount(stack, 'RdsFailsafe', failsafeProps(overrides));
  return { stack, failsafe, template: Template.fromStack(stack) };
}

export type Statement = {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, any>;
  Principal?: unknown;
  Sid?: string;
};

/** The IAM statements of a task's role, as synthesized. */
export function taskStatements(template: Template, task: TaskFunction): Statement[] {
  const stack = Stack.of(task);
  const roleId = stack.getLogicalId(task.role.node.defaultChild as CfnElement);
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((p: any) => p.Properties.Roles.some((r: any) => r.Ref === roleId))
    .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
}

export function actionsOf(statements: Statement[]): string[] {
  return statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).sort();
}

/** Statements that allow any of `actions`. */
export function allowing(statements: Statement[], ...actions: string[]): Statement[] {
  return statements.filter((s) => s.Effect === 'Allow' && actionsOf([s]).some((a) => actions.includes(a)));
}

/** The tag keys a copy is created with, and the actions each Failsafe account has on the share
 * key: the contract's (contract/contract.json), which the Lambdas read too. */
export { PROVENANCE_TAGS as PROVENANCE } from '../lib/contract';
export const SHARE_KEY_ACTIONS = [...CONTRACT.shareKeyActions].sort();
