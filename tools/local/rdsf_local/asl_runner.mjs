// Runs one execution of a state machine file with aws-local-stepfunctions (needs Node >= 22).
//
// Request (JSON on stdin):
//   { "definition": "statemachines/live.asl.json",
//     "functions": { "SelectSourcesFunctionArn": { "endpoint": "http://127.0.0.1:9001",
//                                                  "function": "select-sources",
//                                                  "arn": "arn:aws:lambda:...:function:select-sources" } },
//     "input": {}, "startTime": "2026-11-23T05:00:00Z", "name": "run-1",
//     "waitMs": 0, "retryMs": 5,
//     "msPerSimulatedSecond": 5,   (make bench: see below)
//     "clock": { "url": "http://127.0.0.1:PORT/_rdsf/clock", "account": "111111111111" },
//                                  (the emulator's simulated clock: see observeClock)
//     "captureInputs": true }      (report each function's first input, under "inputs")
// Response (JSON on stdout):
//   { "engine": "aws-local-stepfunctions", "status": "SUCCEEDED" | "FAILED", "output", "error",
//     "cause" (a Lambda error's cause is the JSON {"errorMessage", "errorType", "trace"}, as in
//     Step Functions),
//     "statesEntered": ["Defaults", ...], "taskCalls": [{ "state", "function", "errorType"? }],
//     "history": { "parent", "children", "largestChild", "largestChildItem" },
//     "largestPayload": { "bytes", "state" } }
// AWS's hard limits (256 KiB payloads, 32,768-character causes, 25,000 history events per
// execution) are enforced by limits.mjs.
//
// Every `${Placeholder}` in the file must have an entry in `functions`, or the run is refused:
// a missing one would otherwise surface as an opaque engine error halfway through.
import { readFileSync } from 'node:fs';
import { runWithLimits } from './limits.mjs';

const request = JSON.parse(readFileSync(0, 'utf8'));
const bareErrors = process.env.RDSF_STOCK_MOTO === '1';

// Simulated days: the engine sets $$.Execution.StartTime from `new Date()` whatever context is
// passed, so the clock of this process is shifted to the requested start time (timers are not
// affected). The Failsafe machine hands $$.Execution.StartTime to `verify` and `prune` as `now`.
if (request.startTime) {
  const RealDate = Date;
  const offset = RealDate.parse(request.startTime) - RealDate.now();
  if (Number.isNaN(offset)) throw new Error(`startTime ${request.startTime} is not a timestamp`);
  globalThis.Date = class SimulatedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(RealDate.now() + offset);
      else super(...args);
    }
    static now() {
      return RealDate.now() + offset;
    }
  };
}
let text = readFileSync(request.definition, 'utf8');
const missing = [];
text = text.replace(/\$\{([A-Za-z0-9]+)\}/g, (_, name) => {
  const fn = request.functions[name];
  if (!fn) {
    missing.push(name);
    return name;
  }
  return fn.arn;
});
if (missing.length) {
  console.error(`asl_runner: no function for placeholder(s) ${[...new Set(missing)].join(', ')}`);
  process.exit(2);
}
const definition = JSON.parse(text);

// An intrinsic function's literal argument with a backslash escape ('it\'s', '\{'): AWS
// unescapes it; the engine, corrected so that results keep their backslashes (engine.mjs), would
// not. No machine has one; one that does is refused rather than run differently from AWS.
const literalEscapes = [];
(function scan(value, where) {
  if (Array.isArray(value)) value.forEach((v, i) => scan(v, `${where}[${i}]`));
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key.endsWith('.$') && typeof v === 'string' && v.startsWith('States.') && v.includes('\\')) {
        literalEscapes.push(`${where}.${key}`);
      }
      scan(v, `${where}.${key}`);
    }
  }
})(definition, '');
if (literalEscapes.length) {
  console.error(
    `asl_runner: an intrinsic function's literal argument with a backslash escape at ${literalEscapes.join(', ')}: ` +
      'not supported locally (see engine.mjs); write the literal without escapes',
  );
  process.exit(2);
}
const byArn = new Map(Object.values(request.functions).map((f) => [f.arn, f]));

const taskCalls = [];
const inputs = {};
const handlers = {};
const waits = {};
const retries = {};

// make bench: simulated time. A copy's WaitForCopy of S seconds (its SecondsPath) takes
// S × msPerSimulatedSecond ms of wall clock, as the emulator's copies do (its copySeconds), so
// wall time / msPerSimulatedSecond is the run's time as AWS would spend it. The wait is served at
// the next CheckCopy, whose input carries the seconds waited so far (elapsedSeconds), since the
// engine's Wait override is one fixed figure per state.
const msPerSecond = request.msPerSimulatedSecond;
const waitedMs = new Map();
async function simulatedWait(input) {
  const key = input?.snapshot?.id;
  if (!msPerSecond || key === undefined || typeof input.elapsedSeconds !== 'number') return;
  const due = input.elapsedSeconds * msPerSecond;
  const ms = due - (waitedMs.get(key) ?? 0);
  waitedMs.set(key, due);
  if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
}

// The local stack's physics (physics.py): the emulator's simulated clock decides when a copy
// is done. Before each look at a copy, its lane tells the emulator how long it has waited since
// its first look (elapsedSeconds); the emulator sees the copy as of that lane's time (from when
// the copy was requested), not as of another lane's, which may be hours ahead.
async function observeClock(input) {
  const id = input?.snapshot?.id;
  if (!request.clock || id === undefined || typeof input.elapsedSeconds !== 'number') return;
  const observe = {
    account: request.clock.account,
    snapshotId: id,
    elapsedSeconds: input.elapsedSeconds,
    runStart: request.startTime,
  };
  const res = await fetch(request.clock.url, { method: 'POST', body: JSON.stringify({ observe }) });
  if (!res.ok) throw new Error(`emulator clock: ${res.status} ${await res.text()}`);
}

async function invoke(stateName, fn, payload) {
  const task = laneTask(stateName);
  if (request.captureInputs && !(fn.function in inputs)) inputs[fn.function] = payload;
  if (task === 'CheckCopy') {
    await simulatedWait(payload);
    await observeClock(payload);
  }
  const url = `${fn.endpoint}/2015-03-31/functions/${fn.function}/invocations`;
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(payload) });
  const body = await res.text();
  let parsed = null;
  try {
    parsed = body ? JSON.parse(body) : null;
  } catch {
    parsed = { errorType: 'Lambda.Unknown', errorMessage: body };
  }
  // cargo-lambda's emulator answers a function error with HTTP 500 and no X-Amz-Function-Error
  // header; real Lambda answers 200 with the header. Both carry {errorType, errorMessage}.
  const functionError = res.headers.get('x-amz-function-error') || res.status >= 400;
  if (functionError) {
    const errorType = parsed?.errorType || `Lambda.Http${res.status}`;
    const errorMessage = parsed?.errorMessage ?? body;
    taskCalls.push({ state: stateName, task, function: fn.function, errorType });
    // As Step Functions hands a Lambda error to the state machine: Error = the errorType, Cause =
    // the JSON string of the function's error (Step Functions Developer Guide, "Handling errors
    // in Lambda"; what a Catch's ResultPath receives). Whatever reads a cause must parse it.
    // RDSF_STOCK_MOTO=1 shows what a bare runner does (the bare message), for the rule tests.
    const cause = bareErrors ? errorMessage : JSON.stringify({ errorMessage, errorType, trace: [] });
    const err = new Error(cause);
    err.name = errorType;
    throw err;
  }
  taskCalls.push({ state: stateName, task, function: fn.function });
  return parsed;
}

// Every state name of the machine, to tell the cluster lane's states (the instance lane's, with
// the suffix 'Cluster'; statemachines/*.asl.json CopyEach, SaveEach) from the others.
const stateNames = new Set();
(function collect(states) {
  for (const [name, state] of Object.entries(states)) {
    stateNames.add(name);
    const inner = state.ItemProcessor || state.Iterator;
    if (inner) collect(inner.States);
    for (const branch of state.Branches || []) collect(branch.States);
  }
})(definition.States);

/** The task a state runs as the instance lane names it: `CheckCopyCluster` is `CheckCopy`. */
function laneTask(stateName) {
  const base = stateName.endsWith('Cluster') ? stateName.slice(0, -'Cluster'.length) : null;
  return base && stateNames.has(base) ? base : stateName;
}

function visit(states) {
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Task') {
      const fn = byArn.get(state.Resource);
      if (!fn) throw new Error(`state ${name}: no local function for ${state.Resource}`);
      handlers[name] = (input) => invoke(name, fn, input);
      if (state.Retry) retries[name] = request.retryMs ?? 5;
    }
    if (state.Type === 'Wait') waits[name] = msPerSecond ? 0 : (request.waitMs ?? 0);
    const inner = state.ItemProcessor || state.Iterator;
    if (inner) visit(inner.States);
    for (const branch of state.Branches || []) visit(branch.States);
  }
}
visit(definition.States);

const report = await runWithLimits({
  definition,
  input: request.input ?? {},
  handlers,
  waits,
  retries,
  enforce: !bareErrors,
  context: {
    Execution: {
      Id: `arn:aws:states:local:000000000000:execution:local:${request.name || 'run'}`,
      Name: request.name || 'run',
      Input: request.input ?? {},
    },
  },
});
report.engine = 'aws-local-stepfunctions';
report.taskCalls = taskCalls;
if (request.captureInputs) report.inputs = inputs;
process.stdout.write(JSON.stringify(report));
