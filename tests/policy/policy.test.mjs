// The policy proof can fail: a loosened or a broken statement turns it red. (The proof itself,
// on the unedited deployments, is `node tests/policy/prove.mjs`, which `make test-policy` runs
// first; both read what the end-to-end tests recorded.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CASES, loadRun, proveCalls, proveCases, runDirs, THREAT_ACTORS } from './prove.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// RDSF_E2E_DIR: another run's records (e.g. one scenario's --workdir) while working on the proof
const run = loadRun(runDirs(process.env.RDSF_E2E_DIR ?? path.join(ROOT, 'target/e2e')));
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
  const r = await proveCases(run, { mutate: loosen, only: (p) => p.includes('cannot delete a snapshot') });
  assert.ok(r.failures.some((f) => f.includes('cannot delete a snapshot') && f.includes('prune')), r.failures.slice(0, 3).join('\n'));
});

test('a loosened statement turns the promises red: copy-latest allowed any tag key', async () => {
  const loosen = editTask('copy-latest', (s) => {
    if (!actions(s).includes('rds:AddTagsToResource')) return s;
    const { ['ForAllValues:StringEquals']: _, ...rest } = s.Condition;
    return { ...s, Condition: rest };
  });
  const r = await proveCases(run, { mutate: loosen, only: (p) => p.includes('rds-failsafe:verified') });
  assert.ok(r.failures.some((f) => f.includes('rds-failsafe:verified') && f.includes('CopyLatest')), r.failures.slice(0, 3).join('\n'));
});

test('a loosened statement turns the promises red: copy-latest taking snapshots (incremental sources) without the managed tag condition', async () => {
  const loosen = editTask('copy-latest', (s) => (actions(s).includes('rds:CreateDBSnapshot') ? { ...s, Condition: undefined } : s));
  const r = await proveCases(run, { mutate: loosen, only: (p) => p.includes('take a snapshot') });
  assert.ok(r.failures.some((f) => f.includes('take a snapshot') && f.includes('rds:CreateDBSnapshot')), r.failures.slice(0, 3).join('\n'));
});

test('a loosened statement turns the promises red: verify allowed to add the managed tag too', async () => {
  const loosen = editTask('verify', (s) =>
    actions(s).includes('rds:AddTagsToResource')
      ? { ...s, Condition: { ...s.Condition, 'ForAllValues:StringEquals': { 'aws:TagKeys': ['rds-failsafe:verified', 'rds-failsafe:managed'] } } }
      : s);
  const r = await proveCases(run, { mutate: loosen, only: (p) => p.includes('`verify` can add only') });
  assert.ok(r.failures.some((f) => f.includes('`verify` can add only') && f.includes('Verify')), r.failures.slice(0, 3).join('\n'));
});

test('a loosened statement turns the promises red: validate-drill reading secrets without the drill database condition', async () => {
  const loosen = editTask('validate-drill', (s) => (actions(s).includes('secretsmanager:GetSecretValue') ? { ...s, Condition: undefined } : s));
  const r = await proveCases(run, { mutate: loosen, only: (p) => p.includes('`validate-drill` can read only') });
  assert.ok(r.failures.some((f) => f.includes('`validate-drill` can read only') && f.includes('GetSecretValue')), r.failures.slice(0, 3).join('\n'));
});

test('a loosened statement turns the promises red: end-drill deleting without the drill tag condition', async () => {
  const loosen = editTask('end-drill', (s) => (actions(s).includes('rds:DeleteDBInstance') ? { ...s, Condition: undefined } : s));
  const r = await proveCases(run, { mutate: loosen, only: (p) => p.includes('`end-drill` can delete only') });
  assert.ok(r.failures.some((f) => f.includes('`end-drill` can delete only') && f.includes('EndDrill')), r.failures.slice(0, 3).join('\n'));
});

test('a broken statement turns the recorded calls red: restore-drill without rds:RestoreDBInstanceFromDBSnapshot', async () => {
  const broken = editTask('restore-drill', (s) => {
    const kept = actions(s).filter((a) => a !== 'rds:RestoreDBInstanceFromDBSnapshot');
    return kept.length === 0 ? null : { ...s, Action: kept };
  });
  const r = await proveCalls(run, { mutate: broken, calls: (c) => c.task === 'restore-drill' });
  assert.ok(r.failures.some((f) => f.includes('restore-drill') && f.includes('rds:RestoreDBInstanceFromDBSnapshot') && f.includes('ImplicitlyDenied')), r.failures.slice(0, 3).join('\n'));
});

test('a broken statement turns the recorded calls red: save without rds:CopyDBSnapshot', async () => {
  const broken = editTask('save', (s) => {
    const kept = actions(s).filter((a) => a !== 'rds:CopyDBSnapshot');
    return kept.length === 0 ? null : { ...s, Action: kept };
  });
  const r = await proveCalls(run, { mutate: broken, calls: (c) => c.task === 'save' && c.operation === 'CopyDBSnapshot' });
  assert.ok(r.failures.some((f) => f.includes('save') && f.includes('rds:CopyDBSnapshot') && f.includes('ImplicitlyDenied')), r.failures.slice(0, 3).join('\n'));
});

test("a broken key policy turns the recorded calls red: the share key without its statements for the Failsafe account", async () => {
  const broken = (dep) => {
    const live = dep.sides.live;
    const key = Object.values(live.keys).find((k) => k.arn === live.outputs.ShareKeyArn);
    key.policy.Statement = key.policy.Statement.filter((st) => !JSON.stringify(st.Principal).includes(dep.sides.failsafe.account));
    return dep;
  };
  const r = await proveCalls(run, { mutate: broken, calls: (c) => c.task === 'save' });
  assert.ok(r.failures.some((f) => f.includes('save') && f.includes('kms:') && f.includes('source key')), r.failures.slice(0, 3).join('\n'));
});

/** Each deployment's guardrails through `edit` (of {scp, rcp}, the policy documents). */
const editGuardrails = (edit) => (dep) => {
  if (dep.guardrails) edit({ scp: dep.guardrails.scp.map((p) => p.policy), rcp: dep.guardrails.rcp.map((p) => p.policy) });
  return dep;
};
const dropStatement = (sid) => (docs) => {
  for (const doc of [...docs.scp, ...docs.rcp]) doc.Statement = doc.Statement.filter((st) => st.Sid !== sid);
};
const redPromise = async (mutate, promiseStart) => {
  const r = await proveCases(run, { mutate, only: (p) => p.startsWith(promiseStart) });
  assert.ok(r.failures.some((f) => f.includes(`"${promiseStart}`)), `no failure of "${promiseStart}…":\n${r.failures.slice(0, 3).join('\n')}`);
};

test('a loosened guardrail turns the promises red: the SCP without CopiesStay lets the Failsafe administrator delete a copy', () =>
  redPromise(editGuardrails(dropStatement('CopiesStay')), "Under the guardrails, the Failsafe account's administrator (AdministratorAccess, with MFA) cannot delete"));

test('a loosened guardrail turns the promises red: ToolTagsStay exempting every role lets the administrator remove a hold', () =>
  redPromise(
    editGuardrails((docs) => {
      const st = docs.scp[0].Statement.find((x) => x.Sid === 'ToolTagsStay');
      st.Condition.ArnNotLike['aws:PrincipalArn'].push('arn:aws:iam::*:role/*');
    }),
    "Under the guardrails, the Failsafe account's administrator (AdministratorAccess, with MFA) cannot delete",
  ));

test('a loosened guardrail turns the promises red: without BreakGlassOnlyWithMfa, break-glass works without MFA', () =>
  redPromise(editGuardrails(dropStatement('BreakGlassOnlyWithMfa')), 'Break-glass without MFA can do none of it.'));

test('a loosened guardrail turns the promises red: without HeldCopiesStay, break-glass deletes a held copy', () =>
  redPromise(editGuardrails(dropStatement('HeldCopiesStay')), 'Nobody deletes a held copy'));

test('a loosened guardrail turns the promises red: without ToolStays the administrator changes the functions', () =>
  redPromise(editGuardrails(dropStatement('ToolStays')), "Under the guardrails, the Failsafe account's administrator cannot change or delete the tool's"));

test('a loosened guardrail turns the promises red: RolesStay without PassRole lets the administrator hand a tool role to a function of their own', () =>
  redPromise(
    editGuardrails((docs) => {
      const st = docs.scp[0].Statement.find((x) => x.Sid === 'RolesStay');
      st.Action = st.Action.filter((a) => a !== 'iam:PassRole');
    }),
    "Under the guardrails, the Failsafe account's administrator cannot change or delete the tool's",
  ));

test('a loosened guardrail turns the promises red: the RCP without KeysStay lets the administrator delete a key', () =>
  redPromise(editGuardrails(dropStatement('KeysStay')), "Under the guardrails, even with the keys' own guard taken out"));

test("a loosened key policy turns the promises red: a Failsafe key without its own guard is deletable without the Organization", () =>
  redPromise((dep) => {
    for (const key of Object.values(dep.sides.failsafe.keys)) {
      key.policy.Statement = key.policy.Statement.filter((st) => st.Sid !== 'OnlyDeploymentOrBreakGlassChangesThisKey');
    }
    return dep;
  }, "Without the Organization's guardrails"));

test("a guardrail that forgets the tool turns the recorded calls red: ToolTagsStay without the tool's role path denies verify", async () => {
  const mutate = editGuardrails((docs) => {
    const st = docs.scp[0].Statement.find((x) => x.Sid === 'ToolTagsStay');
    st.Condition.ArnNotLike['aws:PrincipalArn'] = st.Condition.ArnNotLike['aws:PrincipalArn'].filter((a) => !a.includes(':role/rds-failsafe/'));
  });
  const r = await proveCalls(run, { mutate, calls: (c) => c.task === 'verify' });
  assert.ok(r.failures.some((f) => f.includes('verify') && f.includes('rds:AddTagsToResource') && f.includes('ExplicitlyDenied')), r.failures.slice(0, 3).join('\n'));
});

test('a guardrail that forgets break-glass turns the recorded release red: ToolTagsStay without the break-glass role', async () => {
  const mutate = editGuardrails((docs) => {
    const st = docs.scp[0].Statement.find((x) => x.Sid === 'ToolTagsStay');
    st.Condition.ArnNotLike['aws:PrincipalArn'] = st.Condition.ArnNotLike['aws:PrincipalArn'].filter((a) => !a.endsWith('break-glass'));
  });
  const r = await proveCalls(run, { mutate, calls: (c) => c.task === 'cli' });
  assert.ok(r.failures.some((f) => f.includes('rdsf RemoveTagsFromResource') && f.includes('as break-glass is ExplicitlyDenied')), r.failures.slice(0, 3).join('\n'));
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

test("the README's threat table matches the proven cases line for line", () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Who can do what to the last good copy');
  assert.ok(start >= 0, "README.md has no '## Who can do what to the last good copy' section");
  const rows = readme
    .slice(start)
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| Who ') && !l.startsWith('|---'))
    .map((l) => l.slice(2, -2).split(' | '));
  const end = rows.findIndex((r) => r.length !== 3);
  const table = end < 0 ? rows : rows.slice(0, end);
  for (const [who, , how] of table) {
    assert.ok(THREAT_ACTORS.includes(who), `"${who}" is not one of ${THREAT_ACTORS.join(', ')}`);
    assert.match(how, /^(proven|proven: .+|tested|process: .+)$/, how);
  }
  assert.deepEqual([...new Set(table.map(([who]) => who))], THREAT_ACTORS, 'every actor, in order');
  const proven = table.filter(([, , how]) => how === 'proven').map(([who, what]) => [who, what]);
  const cases = CASES(anyDeployment).filter((c) => c.who).map((c) => [c.who, c.promise]);
  assert.deepEqual(proven, cases);
});
