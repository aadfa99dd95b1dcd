// The policy proof: IAM, KMS and SNS policies of the synthesized templates, evaluated offline by
// @cloud-copilot/iam-simulate (identity and resource policies together, cross-account rules
// included; docs/aws-facts.md).
//
// Input: what an end-to-end run of the local stack leaves under target/e2e/policy/ and
// target/e2e/scenarios/<name>/policy/ —
//   deployments/<id>.json  each deployment as made from the templates (roles and their identity
//                          policies, keys and key policies, topics and topic policies)
//   calls.jsonl            every AWS call a task Lambda made, with the snapshots, tags and keys
//                          it touched as the emulator found them at that moment
//
// Two checks, both of which must hold for every deployment:
//   1. every recorded call, and every KMS call RDS or SNS makes on its behalf, is allowed for the
//      role of the task that made it (`requestsFor` maps a call to the IAM requests AWS evaluates);
//   2. every promise of docs/security.md's "Who may do what" (`CASES`) holds: the forbidden requests are
//      denied, the few allowed ones allowed.
//
//   node tests/policy/prove.mjs [target/e2e]      prints a summary; exit 1 on any failure
//   (reads <dir>/policy and every <dir>/scenarios/<name>/policy)
import { createReadStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { runSimulation } from '@cloud-copilot/iam-simulate';

/** The names that cross languages (contract/contract.json): the Lambdas and the CDK app read it too. */
const CONTRACT = JSON.parse(readFileSync(new URL('../../contract/contract.json', import.meta.url), 'utf8'));
const tasksIn = (machine) => Object.keys(CONTRACT.tasks).filter((t) => CONTRACT.tasks[t].machines.includes(machine));
/** Every task Lambda; each must have made calls in the recorded run. A task no state machine
 * invokes is the Failsafe trigger topic's (`start-failsafe`). */
export const TASKS = {
  live: tasksIn('live'),
  failsafe: [...Object.keys(CONTRACT.tasks).filter((t) => CONTRACT.tasks[t].machines.length === 0), ...tasksIn('failsafe')],
};
/** The restore drill's tasks (Failsafe account), in deployments that opt in to it. */
export const DRILL_TASKS = tasksIn('drill');
const { drill: DRILL, restoreTested: RESTORE_TESTED, managed: MANAGED, verified: VERIFIED, hold: HOLD } = CONTRACT.tags;
/** An account no deployment uses: the stranger of the deny cases. */
export const STRANGER = '999999999999';
/** The tag keys a copy is created with, and no other. */
export const PROVENANCE = CONTRACT.provenanceTags.map((k) => CONTRACT.tags[k]);

/** The record folders of an end-to-end run: the tests' stack (one per parallel worker, under
 * workers/) and each scenario's. */
export function runDirs(root) {
  const under = (folder) => {
    const dir = path.join(root, folder);
    return existsSync(dir) ? readdirSync(dir).sort().map((s) => path.join(dir, s, 'policy')) : [];
  };
  return [path.join(root, 'policy'), ...under('workers'), ...under('scenarios')].filter((d) =>
    existsSync(path.join(d, 'deployments')),
  );
}

/** The deployments and calls recorded in `dirs`; ids are prefixed with the folder's index, as
 * each stack numbers its deployments from 1. */
export function loadRun(dirs) {
  if (dirs.length === 0) {
    throw new Error('no recorded deployment: run the end-to-end tests first (make test-e2e), which record the deployments and calls under target/e2e/');
  }
  const deployments = {};
  for (const [i, dir] of dirs.entries()) {
    const depDir = path.join(dir, 'deployments');
    for (const f of readdirSync(depDir).filter((f) => f.endsWith('.json'))) {
      const d = JSON.parse(readFileSync(path.join(depDir, f), 'utf8'));
      d.id = `${i}/${d.id}`;
      deployments[d.id] = { ...d, recordedIn: dir };
    }
  }
  if (Object.keys(deployments).length === 0) throw new Error(`no deployment recorded in ${dirs.join(', ')}`);
  return { dirs, deployments };
}

export async function* readCalls(run) {
  for (const [i, dir] of run.dirs.entries()) {
    const file = path.join(dir, 'calls.jsonl');
    if (!existsSync(file)) throw new Error(`${file} does not exist: no task Lambda call was recorded there`);
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
    for await (const line of lines) {
      if (!line.trim()) continue;
      const call = JSON.parse(line);
      call.deployment = `${i}/${call.deployment}`;
      yield call;
    }
  }
}

// ------------------------------------------------------------------------------------------
// calls -> IAM requests

const arnParts = (arn) => {
  const p = arn.split(':');
  return { region: p[3], account: p[4] };
};
const rdsArn = (region, account, type, name) => `arn:aws:rds:${region}:${account}:${type}:${name}`;
const resourceTags = (tags) => Object.fromEntries(Object.entries(tags ?? {}).map(([k, v]) => [`aws:ResourceTag/${k}`, v]));

/** Tags a query-protocol request carries (Tags.Tag.N.Key / Tags.member.N.Key). */
export function requestTags(params) {
  const keys = {};
  const values = {};
  for (const [k, v] of Object.entries(params)) {
    const m = /^Tags\.(?:Tag|member)\.(\d+)\.(Key|Value)$/.exec(k);
    if (m) (m[2] === 'Key' ? keys : values)[m[1]] = v;
  }
  return Object.fromEntries(Object.keys(keys).map((n) => [keys[n], values[n] ?? '']));
}
const tagging = (tags) =>
  Object.keys(tags).length === 0
    ? {}
    : { 'aws:TagKeys': Object.keys(tags), ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:RequestTag/${k}`, v])) };

/** The KMS calls a service makes with the caller's permissions (forward access): RDS on the keys
 * of a copy's source and target (CreateGrant and DescribeKey, as the RDS User Guide's "AWS KMS key
 * management" lists; Decrypt of the source), SNS on the topic's key for a publish. */
function viaService(key, actions, service, region, caller, why) {
  if (!key) return [];
  return actions.map((action) => ({
    action,
    resource: key.arn,
    resourcePolicy: key.policy,
    context: {
      'kms:ViaService': `${service}.${region}.amazonaws.com`,
      'kms:CallerAccount': caller,
      ...(action === 'kms:CreateGrant' ? { 'kms:GrantIsForAWSResource': 'true' } : {}),
    },
    why,
  }));
}

const SNAPSHOT_KIND = {
  DBSnapshotIdentifier: 'snapshot',
  DBClusterSnapshotIdentifier: 'cluster-snapshot',
};

/** The IAM requests AWS evaluates for one recorded call. An operation without a rule is an error:
 * a new call must be mapped before the proof can pass. */
export function requestsFor(call) {
  const { account, region, operation: op, params, snapshots = {}, keys = {} } = call;
  const snap = (name) => snapshots[name];
  const onSnapshot = (name, action, extra = {}) => {
    const s = snap(name);
    if (!s) throw new Error(`${op}: no ${name} recorded`);
    return { action, resource: s.arn, context: { ...resourceTags(s.tags), ...extra }, why: name };
  };
  switch (`${call.service}:${op}`) {
    case 'rds:DescribeDBInstances':
      return [{ action: 'rds:DescribeDBInstances', resource: rdsArn(region, account, 'db', params.DBInstanceIdentifier ?? '*') }];
    case 'rds:DescribeDBClusters':
      return [{ action: 'rds:DescribeDBClusters', resource: rdsArn(region, account, 'cluster', params.DBClusterIdentifier ?? '*') }];
    case 'rds:DescribeDBSnapshots':
    case 'rds:DescribeDBClusterSnapshots': {
      const param = op === 'DescribeDBSnapshots' ? 'DBSnapshotIdentifier' : 'DBClusterSnapshotIdentifier';
      if (snap(param)) return [onSnapshot(param, `rds:${op}`)];
      return [{ action: `rds:${op}`, resource: rdsArn(region, account, SNAPSHOT_KIND[param], '*') }];
    }
    case 'rds:DescribeDBSnapshotAttributes':
    case 'rds:ModifyDBSnapshotAttribute':
    case 'rds:DeleteDBSnapshot':
      return [onSnapshot('DBSnapshotIdentifier', `rds:${op}`)];
    case 'rds:DescribeDBClusterSnapshotAttributes':
    case 'rds:ModifyDBClusterSnapshotAttribute':
    case 'rds:DeleteDBClusterSnapshot':
      return [onSnapshot('DBClusterSnapshotIdentifier', `rds:${op}`)];
    case 'rds:DescribeAccountAttributes':
    case 'rds:DescribeOrderableDBInstanceOptions':
      return [{ action: `rds:${op}`, resource: '*' }];
    case 'rds:DescribeOptionGroups':
      return [{ action: 'rds:DescribeOptionGroups', resource: rdsArn(region, account, 'og', params.OptionGroupName ?? '*') }];
    case 'rds:AddTagsToResource':
      return [onSnapshot('ResourceName', 'rds:AddTagsToResource', tagging(requestTags(params)))];
    case 'rds:RemoveTagsFromResource': {
      // `rdsf release` (the operator's, never a task's): TagKeys.member.N
      const keys = Object.entries(params).filter(([k]) => /^TagKeys\.member\.\d+$/.test(k)).map(([, v]) => v);
      return [onSnapshot('ResourceName', 'rds:RemoveTagsFromResource', { 'aws:TagKeys': keys })];
    }
    case 'rds:CopyDBSnapshot':
    case 'rds:CopyDBClusterSnapshot': {
      const [src, dst] = op === 'CopyDBSnapshot'
        ? ['SourceDBSnapshotIdentifier', 'TargetDBSnapshotIdentifier']
        : ['SourceDBClusterSnapshotIdentifier', 'TargetDBClusterSnapshotIdentifier'];
      const requested = requestTags(params);
      const tags = tagging(requested);
      const source = snap(src);
      const out = [
        { action: `rds:${op}`, resource: snap(dst).arn, context: tags, why: 'target' },
        { action: `rds:${op}`, resource: source.arn, context: { ...resourceTags(source.tags), ...tags }, why: 'source' },
      ];
      // RDS needs AddTagsToResource too when a copy is created with tags (docs/aws-facts.md)
      if (Object.keys(requested).length > 0) out.push({ action: 'rds:AddTagsToResource', resource: snap(dst).arn, context: tags, why: 'tags on create' });
      // (across regions RDS checks rds:CrossRegionCommunication on its service-linked role, not on
      // the caller: RDS User Guide, "Authorizing the snapshot copy")
      const sourceRegion = arnParts(source.arn).region;
      out.push(...viaService(keys[src], ['kms:CreateGrant', 'kms:DescribeKey', 'kms:Decrypt'], 'rds', sourceRegion, account, 'source key through RDS'));
      const target = keys.KmsKeyId ?? (sourceRegion === region && arnParts(source.arn).account === account ? keys[src] : undefined);
      out.push(...viaService(target, ['kms:CreateGrant', 'kms:DescribeKey'], 'rds', region, account, 'target key through RDS'));
      return out;
    }
    case 'rds:CreateDBSnapshot':
    case 'rds:CreateDBClusterSnapshot': {
      // incremental mode: a snapshot of a database of the caller's own account. IAM checks the
      // database and the new snapshot (Service Authorization Reference: both resource types are
      // required), and AddTagsToResource for tags on create. No KMS permission of the caller's:
      // RDS takes the snapshot under the database's key with the grant the database holds.
      const cluster = op === 'CreateDBClusterSnapshot';
      const db = call.dbs?.[cluster ? 'DBClusterIdentifier' : 'DBInstanceIdentifier'];
      const target = snap(cluster ? 'DBClusterSnapshotIdentifier' : 'DBSnapshotIdentifier');
      if (!db || !target) throw new Error(`${op}: no database or snapshot recorded`);
      const requested = requestTags(params);
      const tags = tagging(requested);
      const out = [
        { action: `rds:${op}`, resource: target.arn, context: tags, why: 'snapshot' },
        { action: `rds:${op}`, resource: db.arn, context: { ...resourceTags(db.tags), ...tags }, why: 'database' },
      ];
      if (Object.keys(requested).length > 0) out.push({ action: 'rds:AddTagsToResource', resource: target.arn, context: tags, why: 'tags on create' });
      return out;
    }
    case 'rds:RestoreDBInstanceFromDBSnapshot':
    case 'rds:RestoreDBClusterFromSnapshot': {
      const cluster = op === 'RestoreDBClusterFromSnapshot';
      const snapshotParam = cluster ? 'SnapshotIdentifier' : 'DBSnapshotIdentifier';
      const target = call.dbs?.[cluster ? 'DBClusterIdentifier' : 'DBInstanceIdentifier'];
      if (!target) throw new Error(`${op}: no target recorded`);
      const requested = requestTags(params);
      const tags = tagging(requested);
      const source = snap(snapshotParam);
      if (!source) throw new Error(`${op}: no ${snapshotParam} recorded`);
      const out = [
        { action: `rds:${op}`, resource: target.arn, context: tags, why: 'target' },
        { action: `rds:${op}`, resource: source.arn, context: { ...resourceTags(source.tags), ...tags }, why: 'snapshot' },
      ];
      if (params.DBSubnetGroupName) {
        out.push({ action: `rds:${op}`, resource: rdsArn(region, account, 'subgrp', params.DBSubnetGroupName.toLowerCase()), context: tags, why: 'subnet group' });
      }
      if (Object.keys(requested).length > 0) out.push({ action: 'rds:AddTagsToResource', resource: target.arn, context: tags, why: 'tags on create' });
      out.push(...viaService(keys[snapshotParam], ['kms:CreateGrant', 'kms:DescribeKey', 'kms:Decrypt'], 'rds', region, account, 'snapshot key through RDS'));
      return out;
    }
    case 'rds:CreateDBInstance': {
      const db = call.dbs?.DBInstanceIdentifier;
      const requested = requestTags(params);
      const tags = tagging(requested);
      const out = [{ action: 'rds:CreateDBInstance', resource: db.arn, context: tags, why: 'instance' }];
      if (call.dbs?.DBClusterIdentifier) out.push({ action: 'rds:CreateDBInstance', resource: call.dbs.DBClusterIdentifier.arn, context: tags, why: 'its cluster' });
      if (Object.keys(requested).length > 0) out.push({ action: 'rds:AddTagsToResource', resource: db.arn, context: tags, why: 'tags on create' });
      return out;
    }
    case 'rds:DeleteDBInstance':
    case 'rds:DeleteDBCluster': {
      const db = call.dbs?.[op === 'DeleteDBInstance' ? 'DBInstanceIdentifier' : 'DBClusterIdentifier'];
      if (!db) throw new Error(`${op}: no database recorded`);
      return [{ action: `rds:${op}`, resource: db.arn, context: resourceTags(db.tags ?? {}) }];
    }
    case 'rds:ModifyDBInstance':
    case 'rds:ModifyDBCluster': {
      // validate-drill has RDS manage a drill database's master password; RDS creates and tags
      // the secret rds!db-… / rds!cluster-… with the caller's rights (RDS User Guide, "Password
      // management with Amazon RDS and AWS Secrets Manager": secretsmanager:CreateSecret and
      // TagResource; kms:DescribeKey of the account's aws/secretsmanager key is granted by that
      // AWS managed key's own policy, not simulated here)
      const cluster = op === 'ModifyDBCluster';
      const db = call.dbs?.[cluster ? 'DBClusterIdentifier' : 'DBInstanceIdentifier'];
      if (!db) throw new Error(`${op}: no database recorded`);
      const manage = params.ManageMasterUserPassword === undefined ? {} : { 'rds:ManageMasterUserPassword': params.ManageMasterUserPassword };
      const out = [{ action: `rds:${op}`, resource: db.arn, context: { ...resourceTags(db.tags ?? {}), ...manage } }];
      if (params.ManageMasterUserPassword === 'true') {
        const secret = `arn:aws:secretsmanager:${region}:${account}:secret:rds!${cluster ? 'cluster' : 'db'}-00000000-0000-0000-0000-000000000000-AbCdEf`;
        out.push({ action: 'secretsmanager:CreateSecret', resource: secret, why: 'the managed password secret, through RDS' });
        out.push({ action: 'secretsmanager:TagResource', resource: secret, why: 'its tags, through RDS' });
      }
      return out;
    }
    case 'secretsmanager:GetSecretValue': {
      const secret = call.secret;
      if (!secret?.tags) throw new Error(`${op}: no secret recorded for ${params.SecretId}`);
      const tags = Object.entries(secret.tags);
      return [{
        action: 'secretsmanager:GetSecretValue',
        resource: secret.arn,
        context: resourceTags(Object.fromEntries(tags)),
      }];
    }
    case 'sns:Publish':
      return [
        { action: 'sns:Publish', resource: params.TopicArn, resourcePolicy: call.topic?.policy, context: { 'aws:SecureTransport': 'true' } },
        ...viaService(keys.TopicArn, ['kms:GenerateDataKey', 'kms:Decrypt'], 'sns', arnParts(params.TopicArn).region, account, 'topic key through SNS'),
      ];
    case 'sns:GetTopicAttributes':
      // the preflight reads a Failsafe topic's policy: the topic policy must allow it too
      return [{ action: 'sns:GetTopicAttributes', resource: params.TopicArn, resourcePolicy: call.topic?.policy }];
    case 'kms:DescribeKey':
    case 'kms:GetKeyPolicy': {
      // the preflight reads the share key (and an incremental source's own key), copy-latest an
      // incremental source's key, directly (not through RDS): the key policy must allow it
      const key = keys.KeyId;
      if (!key) throw new Error(`${op}: no key recorded for ${params.KeyId}`);
      return [{ action: `kms:${op}`, resource: key.arn, resourcePolicy: key.policy, context: { 'kms:CallerAccount': account } }];
    }
    case 'logs:CreateLogStream':
    case 'logs:PutLogEvents':
      // `end-drill` appends a drill's record to the drills' log group (CloudWatch Logs authorises
      // both against the log stream's ARN, which the group's `…:log-group:<name>:*` covers)
      return [{ action: `logs:${op}`, resource: `arn:aws:logs:${region}:${account}:log-group:${params.logGroupName}:log-stream:${params.logStreamName}` }];
    case 'sfn:StartExecution':
      return [{ action: 'states:StartExecution', resource: params.stateMachineArn }];
    default:
      throw new Error(`no IAM mapping for ${call.service}:${op} (made by ${call.task}); add it to requestsFor in tests/policy/prove.mjs`);
  }
}

// ------------------------------------------------------------------------------------------
// evaluation

/** Which side of a deployment a call or case runs on, and the task's role. */
export function roleOf(deployment, account, task) {
  for (const side of ['live', 'failsafe']) {
    const s = deployment.sides[side];
    if (s.account === account && s.functions[task]) return s.functions[task];
  }
  throw new Error(`deployment ${deployment.id} has no function ${task} in account ${account}`);
}

const cache = new Map();

const FULL_ACCESS = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

/** The deployment's Organizations guardrails (tools/local/rdsf_local/templates.guardrails) that
 * apply to one request: the SCPs to a principal of the Failsafe account (beside FullAWSAccess, at
 * the root and at the account, as Organizations attaches them by default), the RCPs to a resource
 * of it (the simulator adds RCPFullAWSAccess itself). Nothing applies to AWS service principals,
 * and nothing without guardrails. */
function controlPolicies(guardrails, principalAccount, resourceAccount) {
  const scp = guardrails && principalAccount === guardrails.account;
  const rcp = guardrails && resourceAccount === guardrails.account;
  return {
    serviceControlPolicies: scp
      ? [
          { orgIdentifier: 'r-root', policies: [{ name: 'FullAWSAccess', policy: FULL_ACCESS }] },
          { orgIdentifier: guardrails.account, policies: [{ name: 'FullAWSAccess', policy: FULL_ACCESS }, ...guardrails.scp] },
        ]
      : [],
    resourceControlPolicies: rcp ? [{ orgIdentifier: guardrails.account, policies: guardrails.rcp }] : [],
  };
}

/** One request from `principal` (a task's role, another account's role, or a service) →
 * 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied', or throws on a request the simulator
 * cannot evaluate (unknown action, resource of the wrong type, a context key that does not
 * apply to the action: the proof would silently test less than it says). */
export async function evaluate({ principal, identityPolicies, action, resource, resourcePolicy, context = {}, guardrails }) {
  // RDS has no resource policies: a snapshot of another account is reachable when RDS's own
  // sharing (the `restore` attribute, which the emulator enforces) lets it, and IAM then
  // evaluates the caller's identity policy alone. So an RDS resource counts as the caller's.
  // (An S3 ARN names no account: the only bucket the proof names is the Failsafe account's CDK
  // assets bucket, requested by that account's principals.)
  const account = resource === '*' || resource.startsWith('arn:aws:rds:') || resource.startsWith('arn:aws:s3:::') ? principal.split(':')[4] : arnParts(resource).account;
  const iamPrincipal = principal.startsWith('arn:aws:iam::');
  const simulation = {
    request: {
      principal,
      action,
      resource: { resource, accountId: account },
      // what AWS puts in every request of a role's session: the role's ARN (with its path)
      contextVariables: iamPrincipal ? { 'aws:PrincipalArn': principal, ...context } : context,
    },
    identityPolicies,
    ...controlPolicies(guardrails, iamPrincipal ? principal.split(':')[4] : undefined, account),
    ...(resourcePolicy ? { resourcePolicy } : {}),
  };
  const key = JSON.stringify(simulation);
  if (cache.has(key)) return cache.get(key);
  const res = await runSimulation(simulation, {});
  if (res.resultType === 'error') {
    throw new Error(`cannot evaluate ${action} on ${resource}: ${JSON.stringify(res.errors)}`);
  }
  const results = res.resultType === 'single' ? [res.result] : res.results;
  const ignored = [...new Set(results.flatMap((r) => r.ignoredContextKeys ?? []))];
  if (ignored.length > 0) {
    throw new Error(`${action} on ${resource}: context key(s) ${ignored.join(', ')} do not apply to this action; the mapping is wrong`);
  }
  cache.set(key, res.overallResult);
  return res.overallResult;
}

/** JSON with object keys sorted: the recorder writes sorted keys, the deployments do not. */
const canonical = (v) => JSON.stringify(v, (_, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x));

const byArn = new WeakMap();
/** The keys and topics a deployment made, by ARN. */
function resourcesByArn(dep) {
  if (!byArn.has(dep)) {
    const out = {};
    for (const side of Object.values(dep.sides)) for (const r of [...Object.values(side.keys), ...Object.values(side.topics)]) out[r.arn] = r;
    byArn.set(dep, out);
  }
  return byArn.get(dep);
}

/** Check 1: every recorded call of every deployment is allowed. `calls` (a mutation test's)
 * judges only the calls it selects, e.g. one task's: the others' checks then fail as unexercised. */
export async function proveCalls(run, { mutate, calls: selected = () => true } = {}) {
  const failures = [];
  const perTask = {};
  let calls = 0;
  let requests = 0;
  const faulted = {};
  const exercised = new Set();
  const unexercised = [];
  let operatorCalls = 0;
  const deployments = mutate ? Object.fromEntries(Object.entries(run.deployments).map(([id, d]) => [id, mutate(structuredClone(d))])) : run.deployments;
  for await (const call of readCalls(run)) {
    if (!selected(call)) continue;
    const dep = deployments[call.deployment];
    if (!dep) {
      failures.push(`call ${call.task} ${call.operation} names deployment ${call.deployment}, which is not recorded`);
      continue;
    }
    calls += 1;
    const sideKey = `${dep.sides.live.account === call.account ? 'live' : 'failsafe'}:${call.task}`;
    perTask[sideKey] = (perTask[sideKey] ?? 0) + 1;
    if (call.task === 'cli') {
      operatorCalls += 1;
      failures.push(...(await proveOperatorCall(dep, call)));
      continue;
    }
    const role = roleOf(dep, call.account, call.task);
    let reqs;
    try {
      reqs = requestsFor(call);
    } catch (e) {
      failures.push(e.message);
      continue;
    }
    for (const r of reqs) {
      requests += 1;
      if (dep.policyFault && call.account !== dep.sides.live.account && r.resource === dep.sides.live.outputs.ShareKeyArn) {
        exercised.add(dep.id); // a Failsafe call reached the share key the fault is about
      }
      // A resource the deployment made is judged by the deployment's policy (what a mutation
      // edits); unedited, it must equal what the emulator held at the call: one source of truth.
      const own = resourcesByArn(dep)[r.resource];
      if (own && r.resourcePolicy !== undefined) {
        if (!mutate && canonical(own.policy) !== canonical(r.resourcePolicy)) {
          failures.push(`deployment ${dep.id}: the emulator's policy of ${r.resource} differs from the template's`);
        }
        r.resourcePolicy = own.policy;
      }
      let result;
      try {
        result = await evaluate({ principal: role.roleArn, identityPolicies: role.policies, ...r, guardrails: dep.guardrails });
      } catch (e) {
        failures.push(`${call.task} ${call.operation}: ${e.message}`);
        continue;
      }
      if (result === 'Allowed') continue;
      const what = `${call.task} (${call.account}) ${call.operation} -> ${r.action} on ${r.resource}${r.why ? ` [${r.why}]` : ''}: ${result}`;
      if (dep.policyFault) {
        // A deliberately broken deployment (Deployment.create): its denials are the point.
        (faulted[dep.id] ??= { fault: dep.policyFault, denied: [] }).denied.push(what);
      } else {
        failures.push(`deployment ${dep.id}: ${what}`);
      }
    }
  }
  if (calls === 0) failures.push(`no task Lambda call recorded in ${run.dirs.join(', ')}`);
  if (operatorCalls === 0) failures.push('no `rdsf hold` or `rdsf release` call recorded: the run did not exercise break-glass under the guardrails');
  for (const [side, tasks] of [...Object.entries(TASKS), ['failsafe', DRILL_TASKS]]) {
    for (const task of tasks) {
      if (!perTask[`${side}:${task}`]) failures.push(`${side} ${task} made no recorded call: the run did not exercise it`);
    }
  }
  for (const dep of Object.values(run.deployments)) {
    if (dep.policyFault && !faulted[dep.id] && exercised.has(dep.id)) {
      failures.push(`deployment ${dep.id} is deployed with ${dep.policyFault}, yet the simulation allowed every call it made`);
    } else if (dep.policyFault && !exercised.has(dep.id)) {
      // the Live preflight stopped the run before any copy, or the test ran none (rdsf preflight)
      unexercised.push(`deployment ${dep.id} (${dep.policyFault}): no Failsafe call reached the share key, nothing to deny`);
    }
  }
  return { calls, requests, perTask, faulted, unexercised, failures };
}

/**
 * A tag write of the operator's `rdsf` (hold, release), recorded with the role that made it: the
 * break-glass role's must be allowed under the guardrails, as that role signed in with MFA (its own
 * identity policy is the operator's, AdministratorAccess here), and the very same request by the
 * Failsafe account's administrator denied. A release by any other role is itself a failure: the
 * end-to-end case releases as break-glass.
 */
async function proveOperatorCall(dep, call) {
  const failures = [];
  const breakGlass = `arn:aws:iam::${call.account}:role/${dep.context.breakGlassRole ?? CONTRACT.names.breakGlassRole}`;
  if (!dep.guardrails) return [`deployment ${dep.id}: rdsf ${call.operation} recorded without guardrails to judge it by`];
  const as = (principal, r) => evaluate({ principal, identityPolicies: EVERYTHING, ...r, context: { 'aws:MultiFactorAuthPresent': 'true', ...r.context }, guardrails: dep.guardrails });
  for (const r of requestsFor(call)) {
    const what = `rdsf ${call.operation} -> ${r.action} on ${r.resource}`;
    if (call.principal !== breakGlass) {
      if (call.operation === 'RemoveTagsFromResource') failures.push(`deployment ${dep.id}: ${what} was made by ${call.principal}, not break-glass`);
      continue;
    }
    const allowed = await as(call.principal, r);
    if (allowed !== 'Allowed') failures.push(`deployment ${dep.id}: ${what} as break-glass is ${allowed}`);
    const admin = await as(`arn:aws:iam::${call.account}:role/Admin`, r);
    if (admin === 'Allowed') failures.push(`deployment ${dep.id}: ${what} is allowed to the Failsafe administrator too`);
  }
  return failures;
}

// ------------------------------------------------------------------------------------------
// docs/security.md's promises

/** A role in the stranger account allowed everything by its own account: only the resource
 * policies stand between it and the tool's resources. */
const stranger = () => ({
  principal: `arn:aws:iam::${STRANGER}:role/intruder`,
  identityPolicies: [{ name: 'everything', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } }],
});
const asTask = (side, task) => ({ principal: side.functions[task].roleArn, identityPolicies: side.functions[task].policies });
const keyOf = (side, output) => Object.values(side.keys).find((k) => k.arn === side.outputs[output]);
const triggerTopic = (fs) => Object.values(fs.topics).find((t) => t.arn === fs.outputs.TopicArn);
const alertTopics = (side) =>
  Object.values(side.topics).filter((t) => (t.policy?.Statement ?? []).some((s) => s.Principal?.Service === 'cloudwatch.amazonaws.com'));
/** A side's own state machine (the Failsafe side may also have the restore drill's). */
const mainMachine = (side) => Object.entries(side.stateMachines).find(([arn]) => !arn.endsWith('-drill'));
const drillMachine = (side) => Object.entries(side.stateMachines).find(([arn]) => arn.endsWith('-drill'));
/** A Distributed Map child execution of a machine: execution:<machine>/<map run>:<id> (the Map
 * stops its children when it fails). */
const childExecution = (machineArn) => `${machineArn.replace(':stateMachine:', ':execution:')}/map-run:child-1`;
const keyByArn = (side, arn) => Object.values(side.keys).find((k) => k.arn === arn);
const managed = { [`aws:ResourceTag/${MANAGED}`]: 'true' };
const provenance = Object.fromEntries(PROVENANCE.map((k) => [k, k === MANAGED ? 'true' : 'x']));

/**
 * docs/security.md's "Who may do what", one entry per line there: `promise` is the line's text; each
 * request must come out as `expect` ('Allowed' or 'Denied').
 */
export function CASES(dep) {
  const L = dep.sides.live;
  const F = dep.sides.failsafe;
  const lSnap = (type, name) => rdsArn(L.region, L.account, type, name);
  const fSnap = (type, name) => rdsArn(F.region, F.account, type, name);
  const kinds = [
    ['snapshot', 'DBSnapshot'],
    ['cluster-snapshot', 'DBClusterSnapshot'],
  ];
  const deleters = [
    [L, 'delete-old-copies', lSnap],
    [F, 'prune', fSnap],
  ];
  const need = (found, what) => {
    if (!found) throw new Error(`deployment ${dep.id} has no ${what}`);
    return found;
  };
  const shareKey = need(keyOf(L, 'ShareKeyArn'), 'share key');
  const failsafeKey = need(keyOf(F, 'FailsafeKeyArn'), 'Failsafe key');
  const topic = need(triggerTopic(F), 'trigger topic');
  // a KMS request through `service` by `principal` (its account is kms:CallerAccount)
  const kms = (who, key, actions, service, region) =>
    viaService(need(key, 'key'), actions, service, region, who.principal.split(':')[4]).map((r) => ({ ...who, ...r }));
  const rdsKeyUse = ['kms:Decrypt', 'kms:DescribeKey', 'kms:CreateGrant'];
  const cases = [];
  // `who`: the line of the README's threat table this promise proves (THREAT_ACTORS)
  const add = (promise, expect, requests, who) => cases.push({ promise, expect, requests, ...(who ? { who } : {}) });

  add('`delete-old-copies` (Live) and `prune` (Failsafe) cannot delete a snapshot that lacks the tag `rds-failsafe:managed=true`, is tagged `managed=false`, or is automated (`rds:…`, even if tagged managed).', 'Denied',
    deleters.flatMap(([side, task, arn]) =>
      kinds.flatMap(([type, api]) => [
        { ...asTask(side, task), action: `rds:Delete${api}`, resource: arn(type, 'rdsf-untagged-202611200300'), context: {} },
        { ...asTask(side, task), action: `rds:Delete${api}`, resource: arn(type, 'rdsf-unmanaged-202611200300'), context: { [`aws:ResourceTag/${MANAGED}`]: 'false' } },
        { ...asTask(side, task), action: `rds:Delete${api}`, resource: arn(type, 'rds:orders-2026-11-20-03-00'), context: managed },
        { ...asTask(side, task), action: `rds:Delete${api}`, resource: arn(type, 'before-upgrade'), context: managed },
      ]),
    ));
  add('`share` cannot change who may restore a snapshot that lacks `rds-failsafe:managed=true`, is tagged `managed=false`, or is automated.', 'Denied',
    kinds.flatMap(([type, api]) => [
      { ...asTask(L, 'share'), action: `rds:Modify${api}Attribute`, resource: lSnap(type, 'rdsf-untagged-202611200300'), context: {} },
      { ...asTask(L, 'share'), action: `rds:Modify${api}Attribute`, resource: lSnap(type, 'rdsf-unmanaged-202611200300'), context: { [`aws:ResourceTag/${MANAGED}`]: 'false' } },
      { ...asTask(L, 'share'), action: `rds:Modify${api}Attribute`, resource: lSnap(type, 'rds:orders-2026-11-20-03-00'), context: managed },
    ]));
  const creators = [
    [L, 'copy-latest', lSnap, lSnap],
    [F, 'save', fSnap, lSnap],
  ];
  add('`copy-latest` and `save` cannot create a copy (nor `copy-latest` take a snapshot, for an incremental source) without the tag `rds-failsafe:managed=true`, nor with any tag key outside the seven provenance keys, such as `owner`; `copy-latest` cannot take a snapshot under a name other than `rdsf-*`.', 'Denied',
    creators.flatMap(([side, task, arn]) =>
      kinds.flatMap(([type, api]) => [
        ...(task === 'copy-latest' ? ['Copy', 'Create'] : ['Copy']).flatMap((verb) => [
          { ...asTask(side, task), action: `rds:${verb}${api}`, resource: arn(type, 'rdsf-new-202611200300'), context: {} },
          { ...asTask(side, task), action: `rds:${verb}${api}`, resource: arn(type, 'rdsf-new-202611200300'), context: tagging({ ...provenance, [MANAGED]: 'false' }) },
          { ...asTask(side, task), action: `rds:${verb}${api}`, resource: arn(type, 'rdsf-new-202611200300'), context: tagging({ ...provenance, owner: 'x' }) },
        ]),
        ...(task === 'copy-latest' ? [{ ...asTask(side, task), action: `rds:Create${api}`, resource: arn(type, 'before-upgrade'), context: tagging(provenance) }] : []),
        { ...asTask(side, task), action: 'rds:AddTagsToResource', resource: arn(type, 'rdsf-new-202611200300'), context: tagging({ [MANAGED]: 'true', owner: 'x' }) },
      ]),
    ));
  add('`copy-latest` and `save` cannot add `rds-failsafe:verified`, neither when copying nor afterwards.', 'Denied',
    creators.flatMap(([side, task, arn]) =>
      kinds.flatMap(([type, api]) => [
        { ...asTask(side, task), action: `rds:Copy${api}`, resource: arn(type, 'rdsf-new-202611200300'), context: tagging({ ...provenance, [VERIFIED]: 'x' }) },
        { ...asTask(side, task), action: 'rds:AddTagsToResource', resource: arn(type, 'rdsf-new-202611200300'), context: { ...managed, ...tagging({ [MANAGED]: 'true', [VERIFIED]: 'x' }) } },
      ]),
    ));
  add('`verify` can add only `rds-failsafe:verified`, and only to a copy tagged `rds-failsafe:managed=true`.', 'Denied',
    kinds.flatMap(([type]) => [
      // to an untagged copy
      { ...asTask(F, 'verify'), action: 'rds:AddTagsToResource', resource: fSnap(type, 'rdsf-x-202611200300'), context: tagging({ [VERIFIED]: 'x' }) },
      // to a managed copy, any key but verified (each provenance key, and another)
      ...[...PROVENANCE, 'owner'].map((k) => ({ ...asTask(F, 'verify'), action: 'rds:AddTagsToResource', resource: fSnap(type, 'rdsf-x-202611200300'), context: { ...managed, ...tagging({ [k]: 'x' }) } })),
      { ...asTask(F, 'verify'), action: 'rds:AddTagsToResource', resource: fSnap(type, 'rdsf-x-202611200300'), context: { ...managed, ...tagging({ [VERIFIED]: 'x', owner: 'x' }) } },
    ]));
  add('`save` copies only share copies (`rdsf-*`) of the listed Live accounts, never a snapshot of another account or an automated one.', 'Denied',
    kinds.flatMap(([type, api]) => [
      { ...asTask(F, 'save'), action: `rds:Copy${api}`, resource: rdsArn(L.region, STRANGER, type, 'rdsf-orders-202611200300'), context: tagging(provenance) },
      { ...asTask(F, 'save'), action: `rds:Copy${api}`, resource: lSnap(type, 'rds:orders-2026-11-20-03-00'), context: tagging(provenance) },
    ]));
  add('Another account cannot publish to the trigger topic, nor use the share key or the Failsafe key, even through RDS.', 'Denied', [
    { ...stranger(), action: 'sns:Publish', resource: topic.arn, resourcePolicy: topic.policy, context: { 'aws:SecureTransport': 'true' } },
    ...kms(stranger(), shareKey, rdsKeyUse, 'rds', L.region),
    ...kms(stranger(), failsafeKey, rdsKeyUse, 'rds', F.region),
  ]);
  add('No Live role can delete, share, tag or copy a Failsafe copy, use the Failsafe key, or start the Failsafe state machine; the trigger topic is the only Failsafe resource a Live role reaches.', 'Denied',
    TASKS.live.flatMap((task) => [
      ...kinds.flatMap(([type, api]) => [
        { ...asTask(L, task), action: `rds:Delete${api}`, resource: fSnap(type, `rdsf-${L.account}-orders-202611200300`), context: managed },
        { ...asTask(L, task), action: `rds:Modify${api}Attribute`, resource: fSnap(type, `rdsf-${L.account}-orders-202611200300`), context: managed },
        { ...asTask(L, task), action: 'rds:AddTagsToResource', resource: fSnap(type, `rdsf-${L.account}-orders-202611200300`), context: { ...managed, ...tagging(provenance) } },
        { ...asTask(L, task), action: `rds:Copy${api}`, resource: fSnap(type, `rdsf-${L.account}-orders-202611200300`), context: { ...managed, ...tagging(provenance) } },
      ]),
      ...kms(asTask(L, task), failsafeKey, rdsKeyUse, 'rds', F.region),
      { ...asTask(L, task), action: 'states:StartExecution', resource: F.outputs.StateMachineArn },
      // the Failsafe alert topics and their keys, directly or through SNS
      ...alertTopics(F).flatMap((t) => [
        { ...asTask(L, task), action: 'sns:Publish', resource: t.arn, resourcePolicy: t.policy, context: { 'aws:SecureTransport': 'true' } },
        ...(t.kmsKeyId ? kms(asTask(L, task), keyByArn(F, t.kmsKeyId), ['kms:GenerateDataKey', 'kms:Decrypt'], 'sns', F.region) : []),
      ]),
      // the trigger topic's key, other than through SNS
      ...(topic.kmsKeyId ? ['kms:Decrypt', 'kms:GenerateDataKey'].map((action) => ({ ...asTask(L, task), action, resource: topic.kmsKeyId, resourcePolicy: keyByArn(F, topic.kmsKeyId)?.policy, context: {} })) : []),
    ]));
  add('`preflight` (Live) only reads: it cannot delete, copy, share or tag a snapshot, publish to a topic, or change the share key or use it to decrypt (it may describe it and read its policy).', 'Denied', [
    ...kinds.flatMap(([type, api]) => [
      { ...asTask(L, 'preflight'), action: `rds:Delete${api}`, resource: lSnap(type, 'rdsf-orders-202611200300'), context: managed },
      { ...asTask(L, 'preflight'), action: `rds:Modify${api}Attribute`, resource: lSnap(type, 'rdsf-orders-202611200300'), context: managed },
      { ...asTask(L, 'preflight'), action: 'rds:AddTagsToResource', resource: lSnap(type, 'rdsf-orders-202611200300'), context: { ...managed, ...tagging(provenance) } },
      { ...asTask(L, 'preflight'), action: `rds:Copy${api}`, resource: lSnap(type, 'rds:orders-2026-11-20-03-00'), context: tagging(provenance) },
    ]),
    { ...asTask(L, 'preflight'), action: 'sns:Publish', resource: topic.arn, resourcePolicy: topic.policy, context: { 'aws:SecureTransport': 'true' } },
    ...['kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion', 'kms:DisableKey'].map((action) => ({ ...asTask(L, 'preflight'), action, resource: shareKey.arn, resourcePolicy: shareKey.policy, context: {} })),
    // it may describe the key (and read its policy), not use it
    ...kms(asTask(L, 'preflight'), shareKey, rdsKeyUse.filter((a) => a !== 'kms:DescribeKey'), 'rds', L.region),
  ]);
  // The drill's promises are proved on the deployments that opt in to it (proveCases checks that
  // at least one did); elsewhere they have no requests.
  const drillTasks = DRILL_TASKS.filter((t) => F.functions[t]);
  const drill = drillTasks.length > 0;
  const dbArn = (type, name) => rdsArn(F.region, F.account, type, name);
  const dbKinds = [['db', 'DBInstance'], ['cluster', 'DBCluster']];
  const drillTag = { [`aws:ResourceTag/${DRILL}`]: 'true' };
  add('`end-drill` can delete only a DB instance or cluster named `rdsf-drill-*` and tagged `rds-failsafe:drill=true`: never an untagged one, one tagged `drill=false`, or a database of another name.', 'Denied',
    !drill ? [] : dbKinds.flatMap(([type, api]) => [
      { ...asTask(F, 'end-drill'), action: `rds:Delete${api}`, resource: dbArn(type, 'rdsf-drill-orders-202611220600'), context: {} },
      { ...asTask(F, 'end-drill'), action: `rds:Delete${api}`, resource: dbArn(type, 'rdsf-drill-orders-202611220600'), context: { [`aws:ResourceTag/${DRILL}`]: 'false' } },
      { ...asTask(F, 'end-drill'), action: `rds:Delete${api}`, resource: dbArn(type, 'orders'), context: drillTag },
    ]));
  add('`restore-drill` can restore only a copy (`rdsf-*`) into a database named `rdsf-drill-*` that the request tags `rds-failsafe:drill=true`, cannot tag a copy, and cannot delete a database.', 'Denied',
    !drill ? [] : [
      ...[['db', 'RestoreDBInstanceFromDBSnapshot', 'snapshot'], ['cluster', 'RestoreDBClusterFromSnapshot', 'cluster-snapshot']].flatMap(([type, op, snapType]) => [
        { ...asTask(F, 'restore-drill'), action: `rds:${op}`, resource: dbArn(type, 'rdsf-drill-orders-202611220600'), context: {} },
        { ...asTask(F, 'restore-drill'), action: `rds:${op}`, resource: dbArn(type, 'orders'), context: tagging({ [DRILL]: 'true' }) },
        { ...asTask(F, 'restore-drill'), action: `rds:${op}`, resource: fSnap(snapType, 'before-upgrade'), context: tagging({ [DRILL]: 'true' }) },
      ]),
      ...dbKinds.map(([type, api]) => ({ ...asTask(F, 'restore-drill'), action: `rds:Delete${api}`, resource: dbArn(type, 'rdsf-drill-orders-202611220600'), context: drillTag })),
      ...kinds.flatMap(([type]) => [
        { ...asTask(F, 'restore-drill'), action: 'rds:AddTagsToResource', resource: fSnap(type, 'rdsf-x-202611200300'), context: { ...managed, ...tagging({ [DRILL]: 'true', [VERIFIED]: 'x' }) } },
        { ...asTask(F, 'restore-drill'), action: 'rds:AddTagsToResource', resource: fSnap(type, 'rdsf-x-202611200300'), context: { ...managed, ...tagging({ [DRILL]: 'true' }) } },
      ]),
      { ...asTask(F, 'restore-drill'), action: 'rds:AddTagsToResource', resource: dbArn('db', 'rdsf-drill-orders-202611220600'), context: tagging({ [DRILL]: 'true', owner: 'x' }) },
    ]);
  add('`end-drill` can add only `rds-failsafe:restore-tested`, and only to a copy tagged `rds-failsafe:managed=true`.', 'Denied',
    !drill ? [] : kinds.flatMap(([type]) => [
      { ...asTask(F, 'end-drill'), action: 'rds:AddTagsToResource', resource: fSnap(type, 'rdsf-x-202611200300'), context: tagging({ [RESTORE_TESTED]: 'x' }) },
      { ...asTask(F, 'end-drill'), action: 'rds:AddTagsToResource', resource: fSnap(type, 'rdsf-x-202611200300'), context: { ...managed, ...tagging({ [VERIFIED]: 'x' }) } },
      { ...asTask(F, 'end-drill'), action: 'rds:AddTagsToResource', resource: fSnap(type, 'rdsf-x-202611200300'), context: { ...managed, ...tagging({ [MANAGED]: 'false' }) } },
    ]));
  add("`end-drill` can append a drill's record only to the drills' records log group, and cannot delete it or change its retention.", 'Denied',
    !drill ? [] : [
      { ...asTask(F, 'end-drill'), action: 'logs:PutLogEvents', resource: `arn:aws:logs:${F.region}:${F.account}:log-group:/aws/lambda/other:log-stream:x` },
      ...['logs:DeleteLogGroup', 'logs:DeleteLogStream', 'logs:PutRetentionPolicy'].map((action) => ({
        ...asTask(F, 'end-drill'),
        action,
        resource: `arn:aws:logs:${F.region}:${F.account}:log-group:${CONTRACT.names.drillRecordsLogGroup.replace('{drillMachine}', 'rds-failsafe-drill')}:*`,
      })),
    ]);
  add("`validate-drill` can read only the master secrets RDS keeps for `rdsf-drill-*` databases, and can change only databases tagged `rds-failsafe:drill=true`.", 'Denied',
    !drill ? [] : (() => {
      const secret = (name) => `arn:aws:secretsmanager:${F.region}:${F.account}:secret:${name}-AbCdEf`;
      const db = (kind, id) => `arn:aws:rds:${F.region}:${F.account}:${kind}:${id}`;
      const rds = { 'aws:secretsmanager:owningService': 'rds' };
      const v = asTask(F, 'validate-drill');
      return [
        // the master secret of a production database or cluster of the account
        { ...v, action: 'secretsmanager:GetSecretValue', resource: secret('rds!db-1111'), context: resourceTags({ ...rds, 'aws:rds:primaryDBInstanceArn': db('db', 'orders') }) },
        { ...v, action: 'secretsmanager:GetSecretValue', resource: secret('rds!cluster-2222'), context: resourceTags({ ...rds, 'aws:rds:primaryDBClusterArn': db('cluster', 'ledger') }) },
        // a secret named like RDS's that RDS did not make, naming a drill database
        { ...v, action: 'secretsmanager:GetSecretValue', resource: secret('rds!db-3333'), context: resourceTags({ 'aws:rds:primaryDBInstanceArn': db('db', 'rdsf-drill-orders-202611220600') }) },
        // a secret RDS keeps that names no database (neither tag)
        { ...v, action: 'secretsmanager:GetSecretValue', resource: secret('rds!db-4444'), context: resourceTags(rds) },
        // any other secret
        { ...v, action: 'secretsmanager:GetSecretValue', resource: secret('app/db-password'), context: resourceTags(rds) },
        // a drill database changed otherwise than to have RDS manage its password (a password of
        // its own, public access, deletion protection)
        { ...v, action: 'rds:ModifyDBInstance', resource: db('db', 'rdsf-drill-orders-202611220600'), context: resourceTags({ [DRILL]: 'true' }) },
        { ...v, action: 'rds:ModifyDBCluster', resource: db('cluster', 'rdsf-drill-ledger-202611220600'), context: { ...resourceTags({ [DRILL]: 'true' }), 'rds:ManageMasterUserPassword': 'false' } },
        // a new password (or anything else) for a database the drill did not make
        { ...v, action: 'rds:ModifyDBInstance', resource: db('db', 'orders'), context: {} },
        { ...v, action: 'rds:ModifyDBInstance', resource: db('db', 'rdsf-drill-orders-202611220600'), context: resourceTags({ [DRILL]: 'false' }) },
        { ...v, action: 'rds:ModifyDBCluster', resource: db('cluster', 'ledger'), context: {} },
        { ...v, action: 'rds:DeleteDBInstance', resource: db('db', 'rdsf-drill-orders-202611220600'), context: resourceTags({ [DRILL]: 'true' }) },
      ];
    })());
  add('The restore drill state machine may invoke its own task Lambdas and start, describe and stop its own child executions.', 'Allowed',
    !drill ? [] : (() => {
      const [arn, machine] = need(drillMachine(F), 'restore drill state machine');
      const role = { principal: machine.roleArn, identityPolicies: machine.policies };
      const child = childExecution(arn);
      return [
        ...drillTasks.map((t) => ({ ...role, action: 'lambda:InvokeFunction', resource: F.functions[t].functionArn })),
        { ...role, action: 'states:StartExecution', resource: arn },
        ...['states:DescribeExecution', 'states:StopExecution'].map((action) => ({ ...role, action, resource: child })),
      ];
    })());
  add('No Failsafe role can delete, share or tag a snapshot in a Live account.', 'Denied',
    [...TASKS.failsafe, ...drillTasks].flatMap((task) =>
      kinds.flatMap(([type, api]) => [
        { ...asTask(F, task), action: `rds:Delete${api}`, resource: lSnap(type, 'rdsf-orders-202611200300'), context: managed },
        { ...asTask(F, task), action: `rds:Modify${api}Attribute`, resource: lSnap(type, 'rdsf-orders-202611200300'), context: managed },
        { ...asTask(F, task), action: 'rds:AddTagsToResource', resource: lSnap(type, 'rdsf-orders-202611200300'), context: { ...managed, ...tagging({ [VERIFIED]: 'x' }) } },
      ]),
    ));
  add('`start-failsafe` can start the Failsafe state machine and no other.', 'Denied', [
    { ...asTask(F, 'start-failsafe'), action: 'states:StartExecution', resource: `arn:aws:states:${F.region}:${F.account}:stateMachine:another` },
  ]);
  add('Nobody can publish to the trigger topic without TLS.', 'Denied', [
    { ...asTask(L, 'notify'), action: 'sns:Publish', resource: topic.arn, resourcePolicy: topic.policy, context: { 'aws:SecureTransport': 'false' } },
  ]);
  // Step Functions' own calls do not go through the emulator (the ASL runs on the local engine):
  // each machine's role must let it invoke its tasks and start its Distributed Map children.
  add("Each state machine may invoke its own task Lambdas and start, describe and stop its own Distributed Map child executions, under the guardrails too.", 'Allowed',
    [['live', L], ['failsafe', F]].flatMap(([name, side]) => {
      const [arn, machine] = mainMachine(side) ?? [];
      if (!machine) throw new Error(`the ${name} deployment has no state machine`);
      const role = { principal: machine.roleArn, identityPolicies: machine.policies };
      const tasks = TASKS[name].filter((t) => t !== 'start-failsafe');
      const child = childExecution(arn);
      return [
        ...tasks.map((t) => ({ ...role, action: 'lambda:InvokeFunction', resource: side.functions[t].functionArn })),
        { ...role, action: 'states:StartExecution', resource: arn },
        ...['states:DescribeExecution', 'states:StopExecution'].map((action) => ({ ...role, action, resource: child })),
      ];
    }));
  add("A state machine cannot invoke the other account's task Lambdas.", 'Denied',
    [[L, F, 'failsafe'], [F, L, 'live']].flatMap(([side, other, otherName]) =>
      TASKS[otherName].map((t) => {
        const [, machine] = mainMachine(side);
        return { principal: machine.roleArn, identityPolicies: machine.policies, action: 'lambda:InvokeFunction', resource: other.functions[t].functionArn };
      })));
  const alarmPublish = (side, account) =>
    alertTopics(side).flatMap((t) => [
      {
        principal: 'cloudwatch.amazonaws.com', identityPolicies: [], action: 'sns:Publish', resource: t.arn, resourcePolicy: t.policy,
        context: { 'aws:SourceAccount': account, 'aws:SourceArn': `arn:aws:cloudwatch:${side.region}:${account}:alarm:rds-failsafe`, 'aws:SecureTransport': 'true' },
      },
      ...(t.kmsKeyId ? ['kms:GenerateDataKey', 'kms:Decrypt'].map((action) => ({
        principal: 'cloudwatch.amazonaws.com', identityPolicies: [], action, resource: t.kmsKeyId, resourcePolicy: keyByArn(side, t.kmsKeyId)?.policy,
        context: { 'aws:SourceAccount': account, 'aws:SourceArn': `arn:aws:cloudwatch:${side.region}:${account}:alarm:rds-failsafe` },
      })) : []),
    ]);
  add("CloudWatch may publish to each stack's alert topic (and use its key) for that account's alarms.", 'Allowed',
    [L, F].flatMap((side) => {
      const reqs = alarmPublish(side, side.account);
      if (reqs.length === 0) throw new Error(`no alert topic of ${side.account} lets cloudwatch.amazonaws.com publish`);
      return reqs;
    }));
  add("CloudWatch cannot publish to an alert topic for another account's alarms.", 'Denied', [L, F].flatMap((side) => alarmPublish(side, STRANGER)));
  guardrailCases(dep, add);
  return cases;
}

/** Who the README's threat table is about, in its order. */
export const THREAT_ACTORS = ['Live administrator', 'Failsafe administrator', 'Organization administrator', 'break-glass', 'the tool'];

const EVERYTHING = [{ name: 'AdministratorAccess', policy: FULL_ACCESS }];

/**
 * The guardrails on the Failsafe account (cdk/lib/guardrails.ts): what its administrator, break-glass
 * and the tool itself can and cannot do to the last good copy, and the Live administrator's reach.
 * Evaluated with the deployment's SCP and RCP (proveCases passes `dep.guardrails`), except where a
 * request says `guardrails: null`: what the keys' own policies hold without an Organization.
 */
function guardrailCases(dep, add) {
  const L = dep.sides.live;
  const F = dep.sides.failsafe;
  const rails = dep.guardrails;
  const fSnap = (type, name) => rdsArn(F.region, F.account, type, name);
  const copy = (type) => fSnap(type, `rdsf-${L.account}-orders-202611200300`);
  const kinds = [
    ['snapshot', 'DBSnapshot'],
    ['cluster-snapshot', 'DBClusterSnapshot'],
  ];
  const mfa = { 'aws:MultiFactorAuthPresent': 'true' };
  const role = (account, name, context = mfa) => ({ principal: `arn:aws:iam::${account}:role/${name}`, identityPolicies: EVERYTHING, signIn: context });
  const admin = role(F.account, 'Admin');
  const breakGlass = role(F.account, dep.context.breakGlassRole ?? CONTRACT.names.breakGlassRole);
  const breakGlassWithoutMfa = { ...breakGlass, signIn: { 'aws:MultiFactorAuthPresent': 'false' } };
  const as = (who, requests) => requests.map(({ context = {}, ...r }) => ({ principal: who.principal, identityPolicies: who.identityPolicies, ...r, context: { ...who.signIn, ...context } }));
  const held = { ...managed, [`aws:ResourceTag/${HOLD}`]: '2026-12-01 legal' };

  // a copy: deleted, shared, rewritten, its tool tags written or removed (a hold among them)
  const onCopies = [
    ...kinds.flatMap(([type, api]) => [
      { action: `rds:Delete${api}`, resource: copy(type), context: managed },
      { action: `rds:Modify${api}Attribute`, resource: copy(type), context: managed },
      { action: 'rds:AddTagsToResource', resource: copy(type), context: { ...managed, ...tagging({ [VERIFIED]: 'x' }) } },
      { action: 'rds:AddTagsToResource', resource: copy(type), context: { ...managed, ...tagging({ [HOLD]: 'x' }) } },
      { action: 'rds:RemoveTagsFromResource', resource: copy(type), context: { ...held, 'aws:TagKeys': [HOLD] } },
      { action: 'rds:RemoveTagsFromResource', resource: copy(type), context: { ...managed, 'aws:TagKeys': [MANAGED] } },
    ]),
    { action: 'rds:ModifyDBSnapshot', resource: copy('snapshot'), context: managed },
  ];
  // every key of the account: deleted, disabled, re-policied, granted outside AWS services
  const keys = Object.values(F.keys);
  if (keys.length < 2) throw new Error(`deployment ${dep.id}: the Failsafe side records ${keys.length} keys`);
  const onKeys = keys.flatMap((k) =>
    ['kms:ScheduleKeyDeletion', 'kms:DisableKey', 'kms:PutKeyPolicy', 'kms:CreateGrant'].map((action) => ({ action, resource: k.arn, resourcePolicy: k.policy })),
  );
  const arn = (service, rest) => `arn:aws:${service}:${F.region}:${F.account}:${rest}`;
  const iamArn = (rest) => `arn:aws:iam::${F.account}:${rest}`;
  const deployRoles = ['deploy-role', 'cfn-exec-role'].map((r) => iamArn(`role/cdk-hnb659fds-${r}-${F.account}-${F.region}`));
  // the tool: its functions, machines, schedule, topics, alarms, logs, stack and roles
  const onTool = [
    ...Object.values(F.functions).flatMap((f) => [
      ...['UpdateFunctionCode', 'UpdateFunctionConfiguration', 'DeleteFunction'].map((a) => ({ action: `lambda:${a}`, resource: f.functionArn })),
      ...['iam:PutRolePolicy', 'iam:UpdateAssumeRolePolicy', 'iam:AttachRolePolicy', 'iam:DeleteRole', 'iam:PassRole'].map((action) => ({ action, resource: f.roleArn })),
    ]),
    ...Object.keys(F.stateMachines).flatMap((m) => ['states:UpdateStateMachine', 'states:DeleteStateMachine'].map((action) => ({ action, resource: m }))),
    { action: 'states:StopExecution', resource: arn('states', 'execution:rds-failsafe:daily') },
    ...['scheduler:DeleteSchedule', 'scheduler:UpdateSchedule'].map((action) => ({ action, resource: arn('scheduler', 'schedule/default/rds-failsafe') })),
    ...Object.values(F.topics).flatMap((t) =>
      ['sns:DeleteTopic', 'sns:SetTopicAttributes', 'sns:Subscribe'].map((action) => ({ action, resource: t.arn, resourcePolicy: t.policy, context: { 'aws:SecureTransport': 'true' } })),
    ),
    ...['cloudwatch:DeleteAlarms', 'cloudwatch:DisableAlarmActions', 'cloudwatch:PutMetricAlarm'].map((action) => ({ action, resource: arn('cloudwatch', 'alarm:rds-failsafe-copy-age') })),
    ...['logs:DeleteLogGroup', 'logs:PutRetentionPolicy'].map((action) => ({ action, resource: arn('logs', 'log-group:/aws/lambda/rdsf-prune:*') })),
    ...['cloudformation:DeleteStack', 'cloudformation:UpdateStack'].map((action) => ({ action, resource: arn('cloudformation', 'stack/rds-failsafe-failsafe/1') })),
    ...Object.values(F.functions).map((f) => ({ action: 'lambda:InvokeFunction', resource: f.functionArn })),
    ...Object.keys(F.stateMachines).map((m) => ({ action: 'states:StartExecution', resource: m })),
    ...Object.values(F.topics).map((t) => ({ action: 'sns:SetSubscriptionAttributes', resource: t.arn, resourcePolicy: t.policy, context: { 'aws:SecureTransport': 'true' } })),
    { action: 's3:PutObject', resource: `arn:aws:s3:::cdk-hnb659fds-assets-${F.account}-${F.region}/asset.zip` },
    { action: 'iam:CreateRole', resource: iamArn('role/rds-failsafe/lookalike') },
    { action: 'iam:UpdateAssumeRolePolicy', resource: breakGlass.principal },
    ...deployRoles.map((resource) => ({ action: 'sts:AssumeRole', resource })),
  ];
  const live = role(L.account, 'Admin');
  add("The Live account's administrator (AdministratorAccess) cannot use or change a Failsafe account key, start the Failsafe state machine or invoke a Failsafe function.", 'Denied',
    as(live, [
      ...keys.flatMap((k) => ['kms:Decrypt', 'kms:CreateGrant', 'kms:ScheduleKeyDeletion', 'kms:PutKeyPolicy'].map((action) => ({ action, resource: k.arn, resourcePolicy: k.policy }))),
      { action: 'states:StartExecution', resource: F.outputs.StateMachineArn },
      ...Object.values(F.functions).map((f) => ({ action: 'lambda:InvokeFunction', resource: f.functionArn })),
    ]), 'Live administrator');
  add("Without the Organization's guardrails, the Failsafe account's keys refuse their own account's root user and administrators: none can schedule a key's deletion, disable it, change its policy or grant it outside an AWS service.", 'Denied',
    [...as(admin, onKeys), ...as({ ...role(F.account, 'x'), principal: `arn:aws:iam::${F.account}:root` }, onKeys)].map((r) => ({ ...r, guardrails: null })),
    'Failsafe administrator');
  if (!rails) return;
  add("Under the guardrails, the Failsafe account's administrator (AdministratorAccess, with MFA) cannot delete, share or rewrite a copy, nor add or remove an `rds-failsafe:*` tag (a hold included).", 'Denied',
    as(admin, onCopies), 'Failsafe administrator');
  add("Under the guardrails, the Failsafe account's administrator cannot change or delete the tool's functions, state machines, schedules, topics, alarms, log groups or stack, run or stop them, change, pass or imitate its roles, change the break-glass role, assume the deployment's roles or replace its assets.", 'Denied',
    as(admin, onTool), 'Failsafe administrator');
  add("Under the guardrails, even with the keys' own guard taken out, the Failsafe account's administrator cannot schedule a key's deletion, disable it, change its policy or grant it outside an AWS service (the resource control policy).", 'Denied',
    as(admin, onKeys).map((r) => ({ ...r, resourcePolicy: withoutGuard(r.resourcePolicy) })), 'Failsafe administrator');
  const restored = rdsArn(F.region, F.account, 'db', 'orders-restored-202611200300');
  const restoredFrom = tagging({ [CONTRACT.tags.restoredFrom]: copy('snapshot') });
  add("Under the guardrails, the Failsafe account's administrator can still restore a copy (`rdsf restore`): RDS restores it under the Failsafe key into a database tagged `rds-failsafe:restored-from`.", 'Allowed',
    as(admin, [
      { action: 'rds:RestoreDBInstanceFromDBSnapshot', resource: restored, context: restoredFrom },
      { action: 'rds:RestoreDBInstanceFromDBSnapshot', resource: copy('snapshot'), context: { ...managed, ...restoredFrom } },
      { action: 'rds:AddTagsToResource', resource: restored, context: restoredFrom },
      ...viaService(keyOf(F, 'FailsafeKeyArn'), ['kms:CreateGrant', 'kms:DescribeKey', 'kms:Decrypt'], 'rds', F.region, F.account),
    ]), 'Failsafe administrator');
  add('Break-glass, signed in with MFA, can delete a copy that is not held, add or release a hold, correct the tool\'s tags, change the keys and the tool, and assume the deployment\'s roles.', 'Allowed',
    as(breakGlass, [...onCopies, ...onKeys.filter((r) => r.action !== 'kms:CreateGrant'), ...onTool]), 'break-glass');
  add('Break-glass without MFA can do none of it.', 'Denied',
    as(breakGlassWithoutMfa, [...onCopies, ...onKeys, ...onTool]), 'break-glass');
  add('Nobody deletes a held copy: not break-glass (it releases the hold first), not `prune`, not the administrator.', 'Denied',
    [
      ...as(breakGlass, kinds.map(([type, api]) => ({ action: `rds:Delete${api}`, resource: copy(type), context: held }))),
      ...as(admin, kinds.map(([type, api]) => ({ action: `rds:Delete${api}`, resource: copy(type), context: held }))),
      ...kinds.map(([type, api]) => ({ ...asTask(F, 'prune'), action: `rds:Delete${api}`, resource: copy(type), context: held })),
    ], 'break-glass');
  add('Under the guardrails the tool keeps what it needs: `prune` deletes a copy that is not held, `verify` tags one verified, `save` has RDS use the Failsafe key.', 'Allowed',
    [
      ...kinds.map(([type, api]) => ({ ...asTask(F, 'prune'), action: `rds:Delete${api}`, resource: copy(type), context: managed })),
      ...kinds.map(([type]) => ({ ...asTask(F, 'verify'), action: 'rds:AddTagsToResource', resource: copy(type), context: { ...managed, ...tagging({ [VERIFIED]: 'x' }) } })),
      ...viaService(keyOf(F, 'FailsafeKeyArn'), ['kms:CreateGrant', 'kms:DescribeKey'], 'rds', F.region, F.account).map((r) => ({ ...asTask(F, 'save'), ...r })),
    ], 'the tool');
}

/** A key policy without the key's own guard (cdk/lib/guardrails.ts `guardKey`): what the RCP alone must hold. */
const withoutGuard = (policy) => ({ ...policy, Statement: policy.Statement.filter((st) => !['OnlyDeploymentOrBreakGlassChangesThisKey', 'NoGrantsButAwsServices'].includes(st.Sid)) });

/** Check 2: every promise holds for every deployment without a deliberate policy fault. `only`
 * (a mutation test's) evaluates only the promises it selects. */
export async function proveCases(run, { mutate, only = () => true } = {}) {
  const failures = [];
  let requests = 0;
  let promises = 0;
  const evaluated = {};
  for (const dep0 of Object.values(run.deployments)) {
    if (dep0.policyFault) continue;
    const dep = mutate ? mutate(structuredClone(dep0)) : dep0;
    let cases;
    try {
      cases = CASES(dep);
    } catch (e) {
      failures.push(`deployment ${dep.id}: ${e.message}`);
      continue;
    }
    for (const c of cases.filter((c) => only(c.promise))) {
      promises += 1;
      evaluated[c.promise] = (evaluated[c.promise] ?? 0) + c.requests.length;
      for (const r of c.requests) {
        requests += 1;
        let result;
        try {
          result = await evaluate({ guardrails: dep.guardrails, ...r });
        } catch (e) {
          failures.push(`deployment ${dep.id}, "${c.promise}": ${e.message}`);
          continue;
        }
        const ok = c.expect === 'Allowed' ? result === 'Allowed' : result !== 'Allowed';
        if (!ok) failures.push(`deployment ${dep.id}, "${c.promise}": ${r.principal} ${r.action} on ${r.resource} is ${result}`);
      }
    }
  }
  for (const [promise, n] of Object.entries(evaluated)) {
    if (n === 0) failures.push(`"${promise}" was evaluated on no deployment: the run deployed nothing it is about`);
  }
  return { promises, requests, failures };
}

async function main() {
  const run = loadRun(runDirs(process.argv[2] ?? 'target/e2e'));
  const calls = await proveCalls(run);
  const cases = await proveCases(run);
  const deps = Object.keys(run.deployments).length;
  console.log(`policy proof: ${deps} deployments, ${calls.calls} recorded calls -> ${calls.requests} IAM requests; ${cases.promises} promises -> ${cases.requests} requests; ${cache.size} distinct simulations`);
  for (const [task, n] of Object.entries(calls.perTask).sort()) console.log(`  ${task}: ${n} calls`);
  for (const [id, f] of Object.entries(calls.faulted)) console.log(`  deployment ${id} (${f.fault}): ${f.denied.length} requests denied, as its fault means`);
  for (const line of calls.unexercised) console.log(`  ${line}`);
  const failures = [...calls.failures, ...cases.failures];
  for (const f of failures.slice(0, 50)) console.log(`FAIL ${f}`);
  if (failures.length > 50) console.log(`... and ${failures.length - 50} more`);
  console.log(failures.length === 0 ? 'policy proof: OK' : `policy proof: ${failures.length} failures`);
  process.exit(failures.length === 0 ? 0 : 1);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
