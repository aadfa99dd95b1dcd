// A fleet on the real state machines, fast enough for hours of simulated polling: N sources whose
// copies each take `copyMinutes`, polled every `pollSeconds`, with in-process stand-ins for the
// task Lambdas (the fields the state machines read, shaped as the Rust handlers return them).
// Run under runWithLimits, it shows what AWS would count: the history events of the parent and of
// every child execution, against the 25,000-event quota, and the largest state. The end-to-end
// scale cases run the same machines with the real Lambdas and the emulator; this one adds the
// copy time, which they cannot simulate at 1,000 sources (6 hours is 360 polls per copy).
//
// Request (JSON on stdin): { "side": "live" | "failsafe", "sources": 1000, "copyMinutes": 360,
//   "pollSeconds": 60, "maxConcurrency": 20 }
// Response (JSON on stdout): runWithLimits' report (statesEntered as a count) plus
//   { "calls": { task: count }, "seconds" }.
import { readFileSync } from 'node:fs';
import { runWithLimits } from './limits.mjs';

const req = JSON.parse(readFileSync(0, 'utf8'));
const { side, sources: n, copyMinutes, pollSeconds = 60, maxConcurrency = 20 } = req;
if (!['live', 'failsafe'].includes(side) || !(n > 0) || !(copyMinutes >= 0)) {
  console.error('fleet: needs side (live|failsafe), sources > 0 and copyMinutes >= 0');
  process.exit(2);
}

const LIVE = '111111111111';
const REGION = 'eu-west-1';
const CREATED = '2026-11-20T03:00:00Z';
const STAMP = '202611200300';
// 63 characters, the longest DB instance / cluster identifier: the largest records.
const sourceId = (i) => `payments-db-${String(i).padStart(4, '0')}-`.padEnd(63, 'x');
const kindOf = (i) => (i % 5 === 0 ? 'cluster' : 'instance');
const arnType = (kind) => (kind === 'cluster' ? 'cluster-snapshot' : 'snapshot');
const shareArn = (i) => `arn:aws:rds:${REGION}:${LIVE}:${arnType(kindOf(i))}:rdsf-${sourceId(i)}-${STAMP}`;

// wait-available: a copy is available once `copyMinutes` have passed. The stand-in always asks
// for the shortest wait, `pollSeconds`: the real one waits longer as a copy goes on (never
// shorter), so this is the history's worst case.
const waitAvailable = ({ snapshot, elapsedSeconds }) => ({
  available: elapsedSeconds >= copyMinutes * 60,
  snapshot,
  elapsedSeconds,
  percentProgress: null,
  nextWaitSeconds: pollSeconds,
  pace: `it reported no progress after ${elapsedSeconds} seconds (status creating)`,
});
// copy-latest's and save's wait bound (policy::copy_time) for a copy whose size is not known:
// maxWaitSeconds, as the Rust handlers give an Aurora copy.
const waitBound = (wait) => ({
  sizeGib: null,
  expectedSeconds: null,
  maxWaitSeconds: wait.maxWaitSeconds,
  note: 'size unknown: the run waited maxWaitSeconds',
});
const calls = {};
// Each Task's stand-in, also under the name it has in the cluster lane (the instance lane's state
// name + 'Cluster'), counted under the one name.
const counted = (handlers) =>
  Object.fromEntries(
    Object.entries(handlers).flatMap(([name, fn]) => {
      const handler = async (input) => {
        calls[name] = (calls[name] ?? 0) + 1;
        return fn(input);
      };
      return [[name, handler], [`${name}Cluster`, handler]];
    }),
  );
/** Items into the two lanes of policy::copy::CopyLanes. */
const lanes = (items) => ({
  instances: items.filter((i) => i.kind === 'instance'),
  clusters: items.filter((i) => i.kind === 'cluster'),
});
const allResults = (results) => [...results.instances, ...results.clusters];

const live = {
  SelectSources: () => ({
    sources: Array.from({ length: n }, (_, i) => ({ kind: kindOf(i), id: sourceId(i) })),
    skipped: [],
  }),
  Preflight: () => ({ problems: [], problemCount: 0, warnings: [], warningCount: 0, okCount: 4 }),
  DeleteOldCopies: ({ sources }) => ({
    report: { deleted: [], deletedCount: 0, keptCount: 0, quota: [], leftOut: [], leftOutCount: 0 },
    copies: lanes(sources),
  }),
  CopyLatest: ({ source, wait }) => ({
    outcome: 'copied',
    source,
    waitBound: waitBound(wait),
    // copy-latest's reading of RDS's rules (policy::copy::copy_mode): the first share copy
    copy: { mode: 'full', reason: 'no earlier copy of this DB instance here', movedGiB: source.kind === 'cluster' ? null : 20 },
    snapshot: {
      kind: source.kind,
      id: `rdsf-${source.id}-${STAMP}`.slice(0, 255),
      arn: '',
      status: 'creating',
      sourceId: source.id,
      sourceCreateTime: CREATED,
      encrypted: true,
    },
  }),
  CheckCopy: waitAvailable,
  // the figures share returns for a copy its run made (wire::CopyFigures)
  Share: ({ copy, copySeconds }) => ({
    shared: true,
    copy: { mode: copy.mode, ...(copy.movedGiB === null ? {} : { movedGiB: copy.movedGiB }), seconds: copySeconds },
  }),
  Notify: ({ results: laneResults }) => {
    const results = allResults(laneResults);
    const copied = results.filter((r) => r.outcome === 'copied').length;
    return {
      summary: { copiedCount: copied, failedCount: results.length - copied, failureCause: '' },
      published: [],
      messageSnapshots: copied,
    };
  },
};

const failsafe = {
  FindShared: () => ({
    items: lanes(Array.from({ length: n }, (_, i) => ({ kind: kindOf(i), sourceArn: shareArn(i) }))),
    alreadySaved: 0,
    ignored: [],
    ignoredCount: 0,
    missing: [],
    missingCount: 0,
    leftOut: [],
    leftOutCount: 0,
    quota: [],
    regions: [REGION],
  }),
  Save: ({ item, wait }) => {
    const name = item.sourceArn.split(':').pop(); // rdsf-<source-id>-<stamp>
    const id = name.slice('rdsf-'.length, -(STAMP.length + 1));
    return {
      outcome: 'copying',
      item: { kind: item.kind, sourceAccount: LIVE, sourceId: id },
      snapshot: { kind: item.kind, id: `rdsf-${LIVE}-${id}-${STAMP}`, status: 'creating' },
      waitBound: waitBound(wait),
      // save's reading of RDS's rules (policy::copy::failsafe_copy_mode): a copy of a share copy
      copy: {
        mode: 'full',
        reason: 'the shared snapshot is itself a copy (a share copy), and a copy of a copy is always full',
        movedGiB: item.kind === 'cluster' ? null : 20,
      },
    };
  },
  CheckCopy: waitAvailable,
  // the figures verify returns for a copy its run made (wire::CopyFigures)
  Verify: ({ item, copySeconds }) => ({
    verified: true,
    copy: { mode: 'full', ...(item.kind === 'cluster' ? {} : { movedGiB: 20 }), seconds: copySeconds },
  }),
  Prune: ({ results: laneResults }) => {
    const results = allResults(laneResults);
    const saved = results.filter((r) => r.outcome === 'saved').length;
    return {
      summary: { savedCount: saved, failedCount: results.length - saved, failureCause: '' },
      retention: { sourceCount: saved, sources: [] },
    };
  },
};

const definition = JSON.parse(
  readFileSync(new URL(`../../../statemachines/${side}.asl.json`, import.meta.url), 'utf8').replace(
    /\$\{([A-Za-z0-9]+)\}/g,
    (_, name) => `arn:aws:lambda:${REGION}:${LIVE}:function:${name}`,
  ),
);
const input = { maxConcurrency, pollSeconds };
const started = Date.now();
const report = await runWithLimits({
  definition,
  input,
  handlers: counted(side === 'live' ? live : failsafe),
  // no real waiting or retry back-off: the simulated time is in the poll count
  waits: { WaitForCopy: 0, WaitForCopyCluster: 0 },
  retries: {},
  context: { Execution: { Id: `fleet-${side}`, Name: `fleet-${side}`, Input: input } },
});
report.statesEntered = report.statesEntered.length; // a count, not 1.4 million names
report.calls = calls;
report.seconds = (Date.now() - started) / 1000;
process.stdout.write(JSON.stringify(report));
