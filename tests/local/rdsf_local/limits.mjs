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
import { StateMachine } from 'aws-local-stepfunctions';

/** Exits with 2 on Node < 22: there every Task throws a TypeError (Promise.withResolvers) that a
 * States.ALL catcher swallows, a green run that tested nothing. */
export function requireNode22(tool) {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 22) {
    console.error(`${tool}: Node >= 22 required, this is ${process.versions.node}`);
    process.exit(2);
  }
}

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

const bytes = (value) => Buffer.byteLength(JSON.stringify(value ?? null), 'utf8');

/** Every state's type by name, and each Map's mode (INLINE or DISTRIBUTED), nested ones included. */
function describeStates(states, found = { types: {}, modes: {} }) {
  for (const [name, state] of Object.entries(states)) {
    found.types[name] = state.Type;
    const inner = state.ItemProcessor || state.Iterator;
    if (state.Type === 'Map') {
      found.modes[name] = inner?.ProcessorConfig?.Mode === 'DISTRIBUTED' ? 'DISTRIBUTED' : 'INLINE';
    }
    if (inner) describeStates(inner.States, found);
    for (const branch of state.Branches || []) describeStates(branch.States, found);
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
  const { types, modes } = describeStates(definition.States);
  const nested = Object.values(modes).filter((m) => m === 'DISTRIBUTED').length;
  if (Object.keys(modes).length > 1 && nested) {
    // Iteration events carry only their index; with one Map per machine the owner is known.
    throw new Error('limits: a machine with a DISTRIBUTED Map may have no other Map');
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
  let root = null;
  let nextChild = 0;
  const forwarded = (event) =>
    event.index !== undefined || /^(MapIteration|ParallelBranch)/.test(event.type);
  const observe = (owner, event) => {
    const isRoot = owner === 'root';
    if (isRoot && forwarded(event)) return; // counted where it happened
    const child = isRoot || !distributed ? undefined : owner;
    switch (event.type) {
      case 'ExecutionStarted':
        if (!isRoot) {
          if (distributed) count(child, 2); // the child's ExecutionStarted and final event
          else count(undefined, 2); // MapIterationStarted, MapIterationSucceeded
        }
        break;
      case 'StateEntered':
        statesEntered.push(event.state.name);
        checkPayload(event.state.name, 'input', event.state.input);
        // entered + exited (or failed); a Task's first attempt: scheduled, started, done
        count(child, types[event.state.name] === 'Task' ? 5 : 2);
        if (types[event.state.name] === 'Map' && modes[event.state.name] === 'DISTRIBUTED') {
          count(undefined, 2); // MapRunStarted, MapRunSucceeded
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
  const originalExecute = StateMachine.prototype.execute;
  StateMachine.prototype.execute = function execute(input, options, cleanup) {
    const logger = options.eventLogger;
    const owner = root === null ? 'root' : nextChild++;
    if (root === null) root = logger;
    const dispatch = logger.dispatch.bind(logger);
    logger.dispatch = (event) => {
      observe(owner, event);
      // The root's queue would hold every iteration's events (millions at 1,000 sources with
      // 6-hour copies) and the engine takes them with Array.shift(): quadratic. Nothing reads
      // forwarded events but the drain below, so they are not queued.
      if (owner === 'root' && forwarded(event)) return;
      dispatch(event);
    };
    return originalExecute.call(this, input, options, cleanup);
  };

  const machine = new StateMachine(definition, { validationOptions: { checkPaths: true } });
  execution = machine.run(input, {
    overrides: { taskResourceLocalHandlers: guarded, waitTimeOverrides: waits, retryIntervalOverrides: retries },
    context,
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
