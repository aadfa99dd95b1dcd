// Validates statemachines/*.asl.json with asl-validator after substituting every ${Placeholder}
// the way the deployment does, and checks the invariants the design relies on.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const validate = require("asl-validator");

/** The names that cross languages (contract/contract.json): which tasks each machine invokes,
 * under which placeholder, and the error types the Lambdas raise. */
const CONTRACT = JSON.parse(readFileSync(new URL("../../contract/contract.json", import.meta.url), "utf8"));
const placeholdersOf = (machine) =>
  Object.values(CONTRACT.tasks).filter((t) => t.machines.includes(machine)).map((t) => t.placeholder);
const MACHINES = { live: placeholdersOf("live"), failsafe: placeholdersOf("failsafe") };

const load = (name) => readFileSync(new URL(`../../statemachines/${name}.asl.json`, import.meta.url), "utf8");

function substitute(text) {
  return text.replace(/\$\{([A-Za-z]+)FunctionArn\}/g, (_, fn) => `arn:aws:lambda:eu-west-1:111111111111:function:rdsf-${fn}`);
}

/** Every state object, nested Map processors and Parallel branches included. */
function allStates(def, out = []) {
  for (const [name, state] of Object.entries(def.States)) {
    out.push([name, state]);
    if (state.ItemProcessor) allStates(state.ItemProcessor, out);
    if (state.Iterator) allStates(state.Iterator, out);
    for (const branch of state.Branches || []) allStates(branch, out);
  }
  return out;
}

/** The cluster lane's name for a state of the instance lane (state names are unique in a machine). */
const CLUSTER_SUFFIX = "Cluster";

/** `processor` with every state renamed `<name>Cluster`, and every transition to it. */
function asClusterLane(processor) {
  const names = new Set(Object.keys(processor.States));
  const rename = (value) => {
    if (Array.isArray(value)) return value.map(rename);
    if (value && typeof value === "object") {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [
          names.has(k) && value === processor.States ? `${k}${CLUSTER_SUFFIX}` : k,
          ["Next", "Default", "StartAt"].includes(k) && names.has(v) ? `${v}${CLUSTER_SUFFIX}` : rename(v),
        ]),
      );
    }
    return value;
  };
  return rename(processor);
}

for (const [name, functions] of Object.entries(MACHINES)) {
  test(`${name}.asl.json is valid ASL once placeholders are substituted`, () => {
    const def = JSON.parse(substitute(load(name)));
    const { isValid, errors } = validate(def, { checkPaths: true, checkArn: true });
    assert.ok(isValid, JSON.stringify(errors, null, 2));
  });

  test(`${name}.asl.json uses exactly the expected placeholders, all substitutable`, () => {
    const text = load(name);
    const found = new Set([...text.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]));
    assert.deepEqual([...found].sort(), [...functions].sort());
    assert.doesNotMatch(substitute(text), /\$\{/);
  });

  test(`${name}.asl.json: every Task has a timeout and retries throttling and Lambda service errors with jitter`, () => {
    const def = JSON.parse(load(name));
    const tasks = allStates(def).filter(([, s]) => s.Type === "Task");
    assert.ok(tasks.length >= functions.length);
    for (const [stateName, s] of tasks) {
      assert.ok(Number.isInteger(s.TimeoutSeconds), `${stateName} has no TimeoutSeconds`);
      const retry = (s.Retry || []).find((r) => r.ErrorEquals.includes("Throttled"));
      assert.ok(retry, `${stateName} does not retry Throttled`);
      assert.ok(retry.ErrorEquals.includes("Lambda.ServiceException"), `${stateName} does not retry Lambda errors`);
      assert.equal(retry.JitterStrategy, "FULL", `${stateName} retries without jitter`);
      assert.ok(retry.BackoffRate > 1, `${stateName} does not back off`);
    }
  });

  test(`${name}.asl.json: per-item failures are caught so the other items finish`, () => {
    const def = JSON.parse(load(name));
    const maps = allStates(def).filter(([, s]) => s.Type === "Map");
    assert.equal(maps.length, 2);
    for (const [, map] of maps) {
      assert.equal(map.ItemProcessor.ProcessorConfig.Mode, "DISTRIBUTED");
      assert.equal(map.ToleratedFailurePercentage, 100);
      for (const [stateName, s] of allStates(map.ItemProcessor)) {
        if (s.Type !== "Task") continue;
        const catchAll = (s.Catch || []).find((c) => c.ErrorEquals.includes("States.ALL"));
        assert.ok(catchAll, `${stateName} inside the Map has no States.ALL catcher`);
      }
    }
    const states = Object.fromEntries(allStates(def));
    assert.equal(states.Defaults.Result.maxConcurrency, 5);
    assert.equal(states.Defaults.Result.pollSeconds, 60);
    assert.equal(states.Defaults.Result.maxWaitSeconds, 6 * 3600);
    assert.equal(states.Defaults.Result.copyThroughputMiBps, 100);
    assert.equal(states.Defaults.Result.dryRun, false);
    assert.equal(states.SomethingFailed.Type, "Fail");
  });

  test(`${name}.asl.json: two lanes of one workflow: instances up to maxConcurrency, clusters at most 5 at a time`, () => {
    // RDS allows at most 5 DB cluster snapshot copies in progress per account and destination
    // region (docs/aws-facts.md): the cluster lane's Map runs at most min(5, maxConcurrency).
    const def = JSON.parse(load(name));
    const parallel = Object.values(def.States).find((s) => s.Type === "Parallel");
    const [instances, clusters] = parallel.Branches.map((b) => b.States[b.StartAt]);
    assert.deepEqual(parallel.ResultSelector, { "instances.$": "$[0]", "clusters.$": "$[1]" });
    assert.match(instances.ItemsPath, /\.instances$/);
    assert.match(clusters.ItemsPath, /\.clusters$/);
    assert.equal(instances.MaxConcurrencyPath, "$.config.maxConcurrency");
    assert.equal(clusters.MaxConcurrencyPath, "$.config.clusterConcurrency");
    // the same per-item workflow, its states renamed: one lane cannot drift from the other
    assert.deepEqual(clusters.ItemProcessor, asClusterLane(instances.ItemProcessor));
    const { Label: _a, ItemsPath: _b, MaxConcurrencyPath: _c, ItemProcessor: _d, ...instRest } = instances;
    const { Label: _e, ItemsPath: _f, MaxConcurrencyPath: _g, ItemProcessor: _h, ...clusRest } = clusters;
    assert.deepEqual(clusRest, instRest);
    const states = Object.fromEntries(allStates(def));
    const limit = states.ClusterCopyLimit;
    assert.deepEqual(limit.Choices, [{ Variable: "$.config.maxConcurrency", NumericGreaterThan: 5, Next: "FiveClusterCopiesAtOnce" }]);
    assert.equal(states.FiveClusterCopiesAtOnce.Result, 5);
    assert.equal(states.FiveClusterCopiesAtOnce.ResultPath, "$.config.clusterConcurrency");
    assert.equal(states.ClusterCopiesAsInstances.InputPath, "$.config.maxConcurrency");
    assert.equal(states.ClusterCopiesAsInstances.ResultPath, "$.config.clusterConcurrency");
  });

  test(`${name}.asl.json: the poll loop waits what wait-available says, three states a look`, () => {
    const states = Object.fromEntries(allStates(JSON.parse(load(name))));
    // each copy is waited for as long as its copy task's bound says (policy::copy_time)
    const [copyTask, bound] = name === "live" ? ["CopyLatest", "$.copy.waitBound"] : ["Save", "$.save.waitBound"];
    assert.deepEqual(states[copyTask].Parameters.wait, {
      "pollSeconds.$": "$.pollSeconds",
      "maxWaitSeconds.$": "$.maxWaitSeconds",
      "copyThroughputMiBps.$": "$.copyThroughputMiBps",
    });
    const check = states.CheckCopy;
    assert.equal(check.ResultPath, "$.wait");
    assert.equal(check.Parameters["elapsedSeconds.$"], "States.MathAdd($.wait.elapsedSeconds, $.wait.nextWaitSeconds)");
    assert.equal(check.Parameters["pollSeconds.$"], "$.pollSeconds");
    assert.equal(check.Parameters["maxWaitSeconds.$"], `${bound}.maxWaitSeconds`);
    assert.deepEqual(check.Parameters.previous, { "elapsedSeconds.$": "$.wait.elapsedSeconds", "percentProgress.$": "$.wait.percentProgress" });
    assert.deepEqual(states.StartWaitClock.Result, { elapsedSeconds: 0, nextWaitSeconds: 0, percentProgress: null });
    assert.equal(states.StartWaitClock.ResultPath, "$.wait");
    assert.equal(check.Next, "IsAvailable");
    const timeout = states.IsAvailable.Choices.find((c) => c.Next === "TimedOut");
    assert.equal(timeout.Variable, "$.wait.elapsedSeconds");
    assert.equal(timeout.NumericGreaterThanEqualsPath, `${bound}.maxWaitSeconds`);
    // the cause names the bound's figures and the pace the last look measured (wait-available's `pace`)
    assert.ok(states.TimedOut.Parameters["Cause.$"].endsWith(`, $.wait.elapsedSeconds, ${bound}.note, $.wait.pace)`));
    assert.equal(states.IsAvailable.Default, "WaitForCopy");
    assert.deepEqual(states.WaitForCopy, { Type: "Wait", SecondsPath: "$.wait.nextWaitSeconds", Next: "CheckCopy" });
  });
}

// The restore drill (Failsafe account, opt-in): its own invariants, chiefly that no way out of a
// drill skips the clean-up that deletes what it restored.
const DRILL_FUNCTIONS = placeholdersOf("drill");

test("live.asl.json: the preflight runs before anything is changed; a blocking finding stops the run, a failed preflight fails it at the end", () => {
  const s = JSON.parse(load("live"), null).States;
  assert.equal(s.SelectSources.Next, "Preflight");
  assert.equal(s.Preflight.Next, "DeleteOldCopies");
  assert.deepEqual(s.Preflight.Parameters, { "sources.$": "$.selection.sources", "skipped.$": "$.selection.skipped", "dryRun.$": "$.config.dryRun", "now.$": "$$.Execution.StartTime", "maxWaitSeconds.$": "$.config.maxWaitSeconds", wait: { "pollSeconds.$": "$.config.pollSeconds", "maxWaitSeconds.$": "$.config.maxWaitSeconds", "copyThroughputMiBps.$": "$.config.copyThroughputMiBps" } });
  const [blocked, other] = s.Preflight.Catch;
  assert.deepEqual([blocked.ErrorEquals, blocked.Next], [["PreflightFailed"], "PreflightFailed"]);
  assert.deepEqual([s.PreflightFailed.Type, s.PreflightFailed.CausePath], ["Fail", "$.preflight.Cause"]);
  assert.deepEqual([other.ErrorEquals, other.Next, other.ResultPath], [["States.ALL"], "DeleteOldCopies", "$.preflight"]);
  // the findings reach the summary, and a preflight error fails the run once the copies are done
  assert.equal(s.ListCopies.Parameters["preflight.$"], "$.preflight");
  assert.equal(s.Summary.Parameters["preflight.$"], "$.preflight");
  assert.ok(s.CleanUpOutcome.Choices.some((c) => c.Variable === "$.preflight.Error" && c.IsPresent === true && s[c.Next].Type === "Fail"));
});

test("drill.asl.json is valid ASL and uses exactly its four placeholders", () => {
  const text = load("drill");
  const def = JSON.parse(substitute(text));
  const { isValid, errors } = validate(def, { checkPaths: true, checkArn: true });
  assert.ok(isValid, JSON.stringify(errors, null, 2));
  const found = new Set([...text.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]));
  assert.deepEqual([...found].sort(), [...DRILL_FUNCTIONS].sort());
});

test("every machine has an execution timeout, and every Task retries all of Lambda's transient errors", () => {
  // Step Functions Developer Guide, "Handle transient Lambda service exceptions"
  const transient = ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.ClientExecutionTimeoutException"];
  for (const name of ["live", "failsafe", "drill"]) {
    const def = JSON.parse(load(name));
    assert.ok(Number.isInteger(def.TimeoutSeconds) && def.TimeoutSeconds > 0, `${name}: no top-level TimeoutSeconds`);
    for (const [stateName, s] of allStates(def).filter(([, s]) => s.Type === "Task")) {
      const retry = s.Retry.find((r) => r.ErrorEquals.includes("Lambda.ServiceException"));
      for (const error of transient) assert.ok(retry.ErrorEquals.includes(error), `${name} ${stateName} does not retry ${error}`);
    }
  }
});

test("drill.asl.json: every Task has a timeout and retries throttling and Lambda errors with jitter", () => {
  const tasks = allStates(JSON.parse(load("drill"))).filter(([, s]) => s.Type === "Task");
  assert.equal(tasks.length, 7);
  for (const [stateName, s] of tasks) {
    assert.ok(Number.isInteger(s.TimeoutSeconds), `${stateName} has no TimeoutSeconds`);
    const retry = (s.Retry || []).find((r) => r.ErrorEquals.includes("Throttled"));
    assert.ok(retry && retry.ErrorEquals.includes("Lambda.ServiceException") && retry.JitterStrategy === "FULL", stateName);
  }
});

test("drill.asl.json: one drill at a time, and every way out of a drill goes through the clean-up", () => {
  const def = JSON.parse(load("drill"));
  const map = allStates(def).find(([, s]) => s.Type === "Map")[1];
  assert.equal(map.MaxConcurrency, 1);
  assert.equal(map.ItemProcessor.ProcessorConfig.Mode, "DISTRIBUTED");
  const states = map.ItemProcessor.States;
  const cleanUps = Object.keys(states).filter((n) => states[n].Resource === "${EndDrillFunctionArn}");
  assert.deepEqual(cleanUps.sort(), ["CleanUpFailed", "CleanUpPassed"]);
  // every successor of every state, with the Catch targets
  const next = (s) => [s.Next, s.Default, ...(s.Choices || []).map((c) => c.Next), ...(s.Catch || []).map((c) => c.Next)].filter(Boolean);
  // walk from the start without entering a clean-up: no end, no Fail may be reachable
  const seen = new Set();
  const stack = [map.ItemProcessor.StartAt];
  while (stack.length) {
    const name = stack.pop();
    if (seen.has(name) || cleanUps.includes(name)) continue;
    seen.add(name);
    const s = states[name];
    assert.ok(!s.End && s.Type !== "Fail" && s.Type !== "Succeed", `${name} ends a drill without the clean-up`);
    stack.push(...next(s));
  }
  for (const name of ["RestoreDrill", "CheckDrill", "ValidateDrill"]) {
    assert.equal(states[name].Catch.find((c) => c.ErrorEquals.includes("States.ALL")).Next, "CleanUpFailed", name);
  }
  assert.equal(states.RestoreTimedOut.Next, "CleanUpFailed");
  // a restored database is checked before it passes: available leads to validate-drill, and a
  // failed check to the failed clean-up, naming the check
  assert.equal(states.IsRestored.Choices.find((c) => c.Variable === "$.wait.available").Next, "ValidateDrill");
  assert.equal(states.ValidateDrill.Next, "IsValid");
  assert.deepEqual(states.IsValid.Choices, [{ Variable: "$.validation.passed", BooleanEquals: false, Next: "ChecksFailed" }]);
  assert.equal(states.IsValid.Default, "CleanUpPassed");
  assert.equal(states.ChecksFailed.Next, "CleanUpFailed");
  assert.equal(states.ChecksFailed.Parameters["Cause.$"], "$.validation.failure");
  // the managed password's secret takes minutes: retried, not looped in the Lambda
  const creds = states.ValidateDrill.Retry.find((r) => r.ErrorEquals.includes("CredentialsPending"));
  assert.ok(creds && creds.MaxAttempts * creds.MaxDelaySeconds >= 3600, "RDS may take an hour to reset credentials");
  // every clean-up says what the checks found: $.validation exists from the start of the drill
  assert.deepEqual(map.ItemSelector.validation, { checked: false, passed: true });
  for (const name of cleanUps) assert.equal(states[name].Parameters["validation.$"], "$.validation", name);
  assert.equal(states.CleanUpFailed.Next, "RecordRestoreFailed");
  // a drill ends with its record, never a Fail: the Map tolerates failed children anyway, and
  // the run reads every drill's outcome once all were tried
  for (const [name, s] of Object.entries(states)) {
    assert.notEqual(s.Type, "Fail", `${name}: a drill reports its outcome in its record`);
  }
  for (const name of cleanUps) {
    assert.equal(states[name].Catch.find((c) => c.ErrorEquals.includes("States.ALL")).Next, "RecordCleanupFailed", name);
  }
  assert.equal(states.RecordCleanupFailed.Parameters.outcome, "cleanup-failed");
  assert.equal(states.RecordCleanupFailed.Parameters["database.$"], "$.item.dbId");
  assert.equal(map.ToleratedFailurePercentage, 100);
  // the run fails after every drill, worst first: a database left behind, a child that failed, a copy that did not restore
  const top = def.States;
  assert.deepEqual(top.DrillOutcome.Choices.map((c) => top[top[c.Next].Next].Error),
    ["DrillCleanupFailed", "DrillChildFailed", "RestoreDrillFailed"]);
  // the clean-up waits for a cluster's instance to go, by Retry, not by a loop in the Lambda
  for (const name of cleanUps) {
    assert.ok(states[name].Retry.some((r) => r.ErrorEquals.includes("CleanupPending") && r.IntervalSeconds >= 30), name);
  }
  assert.equal(states.WaitForRestore.SecondsPath, "$.wait.nextWaitSeconds");
  // a restored cluster's instance waits for the cluster in the restore's Wait loop, whose clock
  // measures the restore: check-drill says when, and restore-drill (AddDrillInstance) adds it
  assert.equal(states.CheckDrill.Parameters["instancePending.$"], "$.restore.instancePending");
  const add = states.IsRestored.Choices.find((c) => c.Variable === "$.wait.addInstance");
  assert.equal(add && add.Next, "AddDrillInstance");
  assert.ok(states.IsRestored.Choices.indexOf(add) > states.IsRestored.Choices.findIndex((c) => c.Next === "RestoreTimedOut"), "past maxWaitSeconds the restore times out first");
  assert.equal(states.AddDrillInstance.Resource, states.RestoreDrill.Resource);
  assert.equal(states.AddDrillInstance.ResultPath, "$.restore");
  assert.equal(states.AddDrillInstance.Next, "WaitForRestore");
  assert.equal(states.AddDrillInstance.Catch[0].Next, "CleanUpFailed");
});

test("every error a Retry or Catch names is a Lambda error type of the contract, one the machine raises itself, or AWS's", () => {
  // A misspelt or renamed errorType matches nothing: the retry or the catch silently stops working.
  for (const name of ["live", "failsafe", "drill"]) {
    const states = allStates(JSON.parse(load(name)));
    const raised = new Set(states.filter(([, s]) => s.Type === "Fail" && s.Error).map(([, s]) => s.Error));
    for (const [stateName, s] of states) {
      for (const rule of [...(s.Retry || []), ...(s.Catch || [])]) {
        for (const error of rule.ErrorEquals) {
          const known = error.startsWith("States.") || error.startsWith("Lambda.") || CONTRACT.errorTypes.includes(error) || raised.has(error);
          assert.ok(known, `${name}.asl.json ${stateName}: ${error} is not in contract/contract.json errorTypes nor raised by a Fail state`);
        }
      }
    }
  }
});

test("every outcome a machine records is one of the contract's outcomes for it, and each is recorded", () => {
  // notify and prune read the Map's results by these names (SourceOutcome, ItemOutcome): one
  // misspelt in the ASL would fail the run's last task.
  for (const name of ["live", "failsafe", "drill"]) {
    const used = new Set([...load(name).matchAll(/"outcome": "([^"]*)"/g)].map((m) => m[1]));
    assert.deepEqual([...used].sort(), [...CONTRACT.outcomes[name]].sort(), `${name}.asl.json`);
  }
});
