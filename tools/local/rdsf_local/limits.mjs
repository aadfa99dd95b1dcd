// Step Functions' hard limits, enforced around aws-local-stepfunctions (which has none of them),
// so a run that would fail on AWS fails here too. Used by asl_runner.mjs and by the scale tests.
//
// - Payload: a state's input or output, a Task's effective input (after Parameters) and result,
//   over 256 KiB fail the execution with States.DataLimitExceeded, which no Catch handles
//   (Step Functions Developer Guide, "Error handling": "DataLimitExceeded is a terminal error
//   that can't be caught by the States.ALL error type"; "Step Functions service quotas":
//   "Maximum input or output size for a task, state, or execution: 256 KiB").
// - Cause: an execution's error cause over 32,768 characters is refused ("Step Functions service
//   quotas"; Fail state "Cause ... a string of up to 32,768 characters").
// - History: a Standard execution fails at 25,000 history events ("Step Functions service
//   quotas", "Maximum execution history size: 25,000 events"; "Using Map state in Distributed
//   mode": each child workflow execution has its own history). Counted as AWS writes them:
//   ExecutionStarted and the final event; per state entered and exited 2 (Pass, Choice, Wait,
//   Succeed, Fail, Map); per Task attempt 3 more (scheduled, started, succeeded/failed); per Map
//   iteration 2 (MapIterationStarted/Succeeded) in an INLINE Map. A DISTRIBUTED Map adds 2 to its
//   parent (MapRunStarted/Succeeded) and runs each item as a child execution with a history of
//   its own (2 + its states).
// - Distributed Map failures: a failed or timed-out child execution counts against the Map's
//   tolerated failure threshold, ToleratedFailurePercentage / ToleratedFailureCount, both 0 by
//   default (Step Functions Developer Guide, "Tolerated failure threshold for Distributed Map
//   state": "The default percentage value is zero, which means that the workflow fails if any one
//   of its child workflow executions fails or times out"; with both given, exceeding either
//   fails it). Past the threshold the Map fails with States.ExceedToleratedFailureThreshold and
//   the other children are stopped; within it the Map succeeds, and a failed child's place in the
//   Map's output is its execution record, not a state output ("ResultWriter (Map)": a failed
//   child's result is returned unchanged, as with Transformation NONE: ExecutionArn, Input (a
//   JSON string), InputDetails, Name, Status FAILED, Error, Cause, StartDate, StopDate).
//   aws-local-stepfunctions runs Distributed children like Inline iterations and rethrows the
//   first child's own error; a bare engine (enforce: false) keeps that behaviour.
import { StateMachine } from './engine.mjs';

export const MAX_PAYLOAD_BYTES = 256 * 1024;
export const MAX_CAUSE_CHARS = 32768;
export const MAX_HISTORY_EVENTS = 25000;

export class LimitExceeded extends Error {
  constructor(error, cause) {
    super(cause);
    this.name = error;
    this.limitError = error;
  }
}

/** Marks an event a Parallel branch has counted, before the engine forwards it to the root. */
const COUNTED = Symbol('counted');

const bytes = (value) => Buffer.byteLength(JSON.stringify(value ?? null), 'utf8');

/** Every state's type by name, and each Map's mode (INLINE or DISTRIBUTED), nested ones included;
 * `processors` maps each Distributed Map's ItemProcessor object to its name and state, `branches`
 * holds each Parallel state's branch objects (their states run in the parent's history). */
function describeStates(states, found = { types: {}, modes: {}, processors: new Map(), branches: new Set() }) {
  for (const [name, state] of Object.entries(states)) {
    found.types[name] = state.Type;
    const inner = state.ItemProcessor || state.Iterator;
    if (state.Type === 'Map') {
      found.modes[name] = inner?.ProcessorConfig?.Mode === 'DISTRIBUTED' ? 'DISTRIBUTED' : 'INLINE';
      if (found.modes[name] === 'DISTRIBUTED') found.processors.set(inner, { name, state });
    }
    if (inner) describeStates(inner.States, found);
    for (const branch of state.Branches || []) {
      found.branches.add(branch);
      describeStates(branch.States, found);
    }
  }
  return found;
}

/**
 * Runs `definition` with `handlers` (state name -> async (input) => output) under AWS's limits.
 * `enforce: false` is a bare engine (RDSF_STOCK_MOTO=1), to show the limit tests fail without it.
 * Returns { status, output, error, cause, statesEntered, history, largestPayload }.
 * history = { parent, children, largestChild, largestChildItem }.
 */
export async function runWithLimits({
  definition,
  input,
  handlers,
  waits = {},
  retries = {},
  context,
  enforce = true,
}) {
  const { types, modes, processors, branches } = describeStates(definition.States);
  const nested = Object.values(modes).filter((m) => m === 'DISTRIBUTED').length;
  if (Object.keys(modes).length > nested && nested) {
    // An INLINE iteration's events carry only their index and count in the history of whichever
    // execution runs it: beside DISTRIBUTED Maps (each child an execution of its own) that owner
    // is not known.
    throw new Error('limits: a machine with a DISTRIBUTED Map may have no INLINE Map');
  }
  const distributed = nested > 0;

  let violation = null;
  let execution = null;
  const largest = { bytes: 0, state: null };
  const violate = (error, cause) => {
    if (!enforce) return null; // a bare engine: counts, refuses nothing (rule tests only)
    if (!violation) {
      violation = new LimitExceeded(error, cause);
      execution?.abort();
    }
    return violation;
  };
  const checkPayload = (state, what, value) => {
    const size = bytes(value);
    if (size > largest.bytes) Object.assign(largest, { bytes: size, state: `${state} (${what})` });
    if (size > MAX_PAYLOAD_BYTES) {
      violate(
        'States.DataLimitExceeded',
        `The state/task '${state}' ${what} has a size of ${size} bytes, which exceeds the ` +
          `maximum of ${MAX_PAYLOAD_BYTES} bytes`,
      );
    }
  };

  const guarded = {};
  for (const [name, handler] of Object.entries(handlers)) {
    guarded[name] = async (taskInput) => {
      if (violation) throw violation;
      checkPayload(name, 'input after Parameters', taskInput);
      if (violation) throw violation;
      const result = await handler(taskInput);
      checkPayload(name, 'result', result);
      if (violation) throw violation;
      return result;
    };
  }

  const history = { parent: 2, children: new Map() };
  const count = (child, n) => {
    if (child !== undefined) {
      const total = (history.children.get(child) ?? 0) + n;
      history.children.set(child, total);
      if (total > MAX_HISTORY_EVENTS) {
        violate(
          'States.Runtime',
          `child execution ${child} of the Distributed Map reached ${total} history events; ` +
            `a Standard execution fails at ${MAX_HISTORY_EVENTS}`,
        );
      }
      return;
    }
    history.parent += n;
    if (history.parent > MAX_HISTORY_EVENTS) {
      violate(
        'States.Runtime',
        `the execution reached ${history.parent} history events; a Standard execution fails ` +
          `at ${MAX_HISTORY_EVENTS}`,
      );
    }
  };

  // Events are observed as the engine dispatches them, on every execution's own logger: the
  // engine forwards a Map iteration's events to the root logger asynchronously and drops those
  // still in flight when the run ends, so the root's log alone under-counts.
  const statesEntered = [];
  // $$.State (Name, EnteredTime), which aws-local-stepfunctions does not fill: one object that
  // every execution's context shares (the engine copies the run's context by reference), set as
  // each state is entered. With concurrent children it may describe another child's state entered
  // a moment later; the machines read only EnteredTime, as a timestamp.
  const stateContext = {};
  let root = null;
  let nextChild = 0;
  const forwarded = (event) =>
    event.index !== undefined || /^(MapIteration|ParallelBranch)/.test(event.type) || event[COUNTED];
  // owner: 'root'; 'branch', a Parallel state's branch, whose states are the parent's history
  // (its events are counted as it runs, marked, and not again when forwarded to the root); or the
  // number of a Map iteration (a Distributed Map's child execution).
  const observe = (owner, event) => {
    const isParent = owner === 'root' || owner === 'branch';
    if (isParent && forwarded(event)) return; // counted where it happened
    const child = isParent || !distributed ? undefined : owner;
    switch (event.type) {
      case 'ExecutionStarted':
        if (owner !== 'root') {
          if (distributed) count(child, 2); // the child's ExecutionStarted and final event
          else count(undefined, 2); // MapIterationStarted, MapIterationSucceeded
        }
        break;
      case 'StateEntered':
        stateContext.Name = event.state.name;
        stateContext.EnteredTime = new Date().toISOString();
        statesEntered.push(event.state.name);
        checkPayload(event.state.name, 'input', event.state.input);
        // entered + exited (or failed); a Task's first attempt: scheduled, started, done
        count(child, types[event.state.name] === 'Task' ? 5 : 2);
        if (types[event.state.name] === 'Map' && modes[event.state.name] === 'DISTRIBUTED') {
          count(undefined, 2); // MapRunStarted, MapRunSucceeded
          if (isParent) startMapRun(event.state.name, event.state.input);
        }
        break;
      case 'StateExited':
        checkPayload(event.state.name, 'output', event.state.output);
        break;
      case 'StateRetried':
        count(child, 3);
        break;
      default:
        break;
    }
  };
  // A Distributed Map's children, judged against its tolerated failure threshold (see the top).
  const mapRuns = new Map();
  const distributedState = (name) => [...processors.values()].find((p) => p.name === name)?.state;
  function startMapRun(name, input) {
    const state = distributedState(name);
    let items = input;
    for (const key of (state?.ItemsPath ?? '$').replace(/^\$\.?/, '').split('.').filter(Boolean)) {
      items = items?.[key];
    }
    mapRuns.set(name, { total: Array.isArray(items) ? items.length : 0, failed: 0, started: 0 });
  }
  const exceedsThreshold = (state, run) => {
    const pct = state.ToleratedFailurePercentage;
    const cnt = state.ToleratedFailureCount;
    if (pct === undefined && cnt === undefined) return run.failed > 0;
    return (pct !== undefined && (run.failed * 100) / Math.max(run.total, 1) > pct) ||
      (cnt !== undefined && run.failed > cnt);
  };
  const originalRun = StateMachine.prototype.run;
  StateMachine.prototype.run = function run(childInput, options) {
    const execution = originalRun.call(this, childInput, options);
    const map = enforce ? processors.get(this.definition) : undefined;
    if (!map) return execution;
    if (!mapRuns.has(map.name)) mapRuns.set(map.name, { total: 0, failed: 0, started: 0 });
    const mapRun = mapRuns.get(map.name);
    const index = mapRun.started++;
    const startDate = new Date().toISOString();
    const label = map.state.Label ?? map.name;
    execution.result = execution.result.catch((e) => {
      const inner = e?.name === 'ExecutionError' && e.cause instanceof Error ? e.cause : e;
      if (inner instanceof LimitExceeded || mapRun.exceeded) throw e; // the execution's own limits, or already over
      mapRun.failed += 1;
      if (exceedsThreshold(map.state, mapRun)) {
        mapRun.exceeded = true;
        const err = new Error(
          `Map Run of ${map.name}: ${mapRun.failed} of ${mapRun.total} child executions failed ` +
            `(ToleratedFailurePercentage ${map.state.ToleratedFailurePercentage ?? 0}, ` +
            `ToleratedFailureCount ${map.state.ToleratedFailureCount ?? 0}); the first: ` +
            `${inner?.name}: ${typeof inner?.cause === 'string' ? inner.cause : inner?.message}`,
        );
        err.name = 'States.ExceedToleratedFailureThreshold';
        throw err;
      }
      return {
        ExecutionArn: `${context?.Execution?.Id ?? 'arn:aws:states:local:000000000000:execution:local:run'}/${label}:${index}`,
        Input: JSON.stringify(childInput),
        InputDetails: { Included: true },
        Name: String(index),
        Status: 'FAILED',
        Error: inner?.name ?? 'States.Runtime',
        Cause: typeof inner?.cause === 'string' ? inner.cause : (inner?.message ?? ''),
        StartDate: startDate,
        StopDate: new Date().toISOString(),
      };
    });
    return execution;
  };

  const originalExecute = StateMachine.prototype.execute;
  StateMachine.prototype.execute = function execute(input, options, cleanup) {
    const logger = options.eventLogger;
    const owner = root === null ? 'root' : branches.has(this.definition) ? 'branch' : nextChild++;
    if (root === null) root = logger;
    const dispatch = logger.dispatch.bind(logger);
    logger.dispatch = (event) => {
      observe(owner, event);
      if (owner === 'branch' && event && typeof event === 'object') event[COUNTED] = true;
      // The root's queue would hold every iteration's events (millions at 1,000 sources with
      // 6-hour copies) and the engine takes them with Array.shift(): quadratic. Nothing reads
      // forwarded events but the drain below (and, for a Parallel branch's, the engine passing
      // them on to the root, which ignores them), so they are not queued.
      if ((owner === 'root' || owner === 'branch') && forwarded(event)) return;
      dispatch(event);
    };
    return originalExecute.call(this, input, options, cleanup);
  };

  const machine = new StateMachine(definition, { validationOptions: { checkPaths: true } });
  execution = machine.run(input, {
    overrides: { taskResourceLocalHandlers: guarded, waitTimeOverrides: waits, retryIntervalOverrides: retries },
    context: { ...context, State: stateContext },
  });
  const draining = (async () => {
    for await (const event of execution.eventLogs) void event; // keep the root log flowing
  })();

  const report = { statesEntered };
  try {
    report.output = await execution.result;
    report.status = 'SUCCEEDED';
  } catch (e) {
    // The engine wraps what failed the run in an ExecutionError; report the inner error.
    const inner = e.name === 'ExecutionError' && e.cause instanceof Error ? e.cause : e;
    report.status = 'FAILED';
    report.error = inner.name;
    report.cause = typeof inner.cause === 'string' ? inner.cause : inner.message;
  }
  await draining.catch(() => {});
  StateMachine.prototype.execute = originalExecute;
  StateMachine.prototype.run = originalRun;
  if (report.status === 'SUCCEEDED' && !violation) checkPayload('(execution)', 'output', report.output);
  if (violation) {
    delete report.output;
    report.status = 'FAILED';
    report.error = violation.limitError;
    report.cause = violation.message;
  } else if (enforce && report.status === 'FAILED' && (report.cause ?? '').length > MAX_CAUSE_CHARS) {
    report.error = 'States.Runtime';
    report.cause =
      `the execution's error cause has ${report.cause.length} characters; Step Functions ` +
      `allows ${MAX_CAUSE_CHARS}`;
  }
  const children = [...history.children.entries()];
  const largestChild = children.reduce((a, b) => (b[1] > a[1] ? b : a), [null, 0]);
  report.history = {
    parent: history.parent,
    children: children.length,
    largestChild: largestChild[1],
    largestChildItem: largestChild[0],
  };
  report.largestPayload = { ...largest };
  return report;
}
