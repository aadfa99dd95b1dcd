// The policy proof can fail: a loosened or a broken statement turns it red. (The proof itself,
// on the unedited deployments, is `node tests/policy/prove.mjs`, which `make test-policy` runs
// first; both read what the end-to-end tests recorded.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CASES, loadRun, proveCalls, proveCases, runDirs } from './prove.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = loadRun(runDirs(path.join(ROOT, 'target/e2e')));
const anyDeployment = Object.values(run.deployments).find((d) => !d.policyFault);

/** Each statement of `task`'s identity policies in every deployment, through `edit` (which returns
 * the statement to keep, or null to drop it). */
const editTask = (task, edit) => (dep) => {
  for (const side of Object.values(dep.sides)) {
    for (const p of side.functions[task]?.policies ?? []) {
      p.policy.Statement = p.policy.Statement.map(edit).filter(Boolean);
    }
  }
  return dep;
};
const actions = (s) => [s.Action].flat();

test('a loosened statement turns the promises red: prune deleting without the managed tag condition', async () => {
  const loosen = editTask('prune', (s) => (actions(s).includes('rds:DeleteDBSnapshot') ? { ...s, Condition: undefined } : s));
  const r = await proveCases(run, { mutate: loosen });
  assert.ok(r.failures.some((f) => f.includes('cannot delete a snapshot') && f.includes('prune')), r.failures.slice(0, 3).join('\n'));
});

test('a loosened statement turns the promises red: copy-latest allowed any tag key', async () => {
  const loosen = editTask('copy-latest', (s) => {
    if (!actions(s).includes('rds:AddTagsToResource')) return s;
    const { ['ForAllValues:StringEquals']: _, ...rest } = s.Condition;
    return { ...s, Condition: rest };
  });
  const r = await proveCases(run, { mutate: loosen });
  assert.ok(r.failures.some((f) => f.includes('rds-failsafe:verified') && f.includes('CopyLatest')), r.failures.slice(0, 3).join('\n'));
});

test('a loosened statement turns the promises red: copy-latest taking snapshots (incremental sources) without the managed tag condition', async () => {
  const loosen = editTask('copy-latest', (s) => (actions(s).includes('rds:CreateDBSnapshot') ? { ...s, Condition: undefined } : s));
  const r = await proveCases(run, { mutate: loosen });
  assert.ok(r.failures.some((f) => f.includes('take a snapshot') && f.includes('rds:CreateDBSnapshot')), r.failures.slice(0, 3).join('\n'));
});

test('a loosened statement turns the promises red: verify allowed to add the managed tag too', async () => {
  const loosen = editTask('verify', (s) =>
    actions(s).includes('rds:AddTagsToResource')
      ? { ...s, Condition: { ...s.Condition, 'ForAllValues:StringEquals': { 'aws:TagKeys': ['rds-failsafe:verified', 'rds-failsafe:managed'] } } }
      : s);
  const r = await proveCases(run, { mutate: loosen });
  assert.ok(r.failures.some((f) => f.includes('`verify` can add only') && f.includes('Verify')), r.failures.slice(0, 3).join('\n'));
});

test('a loosened statement turns the promises red: end-drill deleting without the drill tag condition', async () => {
  const loosen = editTask('end-drill', (s) => (actions(s).includes('rds:DeleteDBInstance') ? { ...s, Condition: undefined } : s));
  const r = await proveCases(run, { mutate: loosen });
  assert.ok(r.failures.some((f) => f.includes('`end-drill` can delete only') && f.includes('EndDrill')), r.failures.slice(0, 3).join('\n'));
});

test('a broken statement turns the recorded calls red: restore-drill without rds:RestoreDBInstanceFromDBSnapshot', async () => {
  const broken = editTask('restore-drill', (s) => {
    const kept = actions(s).filter((a) => a !== 'rds:RestoreDBInstanceFromDBSnapshot');
    return kept.length === 0 ? null : { ...s, Action: kept };
  });
  const r = await proveCalls(run, { mutate: broken });
  assert.ok(r.failures.some((f) => f.includes('restore-drill') && f.includes('rds:RestoreDBInstanceFromDBSnapshot') && f.includes('ImplicitlyDenied')), r.failures.slice(0, 3).join('\n'));
});

test('a broken statement turns the recorded calls red: save without rds:CopyDBSnapshot', async () => {
  const broken = editTask('save', (s) => {
    const kept = actions(s).filter((a) => a !== 'rds:CopyDBSnapshot');
    return kept.length === 0 ? null : { ...s, Action: kept };
  });
  const r = await proveCalls(run, { mutate: broken });
  assert.ok(r.failures.some((f) => f.includes('save') && f.includes('rds:CopyDBSnapshot') && f.includes('ImplicitlyDenied')), r.failures.slice(0, 3).join('\n'));
});

test("a broken key policy turns the recorded calls red: the share key without its statements for the Failsafe account", async () => {
  const broken = (dep) => {
    const live = dep.sides.live;
    const key = Object.values(live.keys).find((k) => k.arn === live.outputs.ShareKeyArn);
    key.policy.Statement = key.policy.Statement.filter((st) => !JSON.stringify(st.Principal).includes(dep.sides.failsafe.account));
    return dep;
  };
  const r = await proveCalls(run, { mutate: broken });
  assert.ok(r.failures.some((f) => f.includes('save') && f.includes('kms:') && f.includes('source key')), r.failures.slice(0, 3).join('\n'));
});

test("docs/security.md's 'Who may do what' lists exactly the promises the simulation proves", () => {
  const readme = readFileSync(path.join(ROOT, 'docs', 'security.md'), 'utf8');
  const start = readme.indexOf('## Who may do what');
  assert.ok(start >= 0, "docs/security.md has no '## Who may do what' section");
  const section = readme.slice(start).split('\n').slice(1);
  const end = section.findIndex((l) => /^#{1,4} /.test(l));
  const bullets = section.slice(0, end < 0 ? undefined : end).filter((l) => l.startsWith('- ')).map((l) => l.slice(2));
  assert.deepEqual(bullets, CASES(anyDeployment).map((c) => c.promise));
});
