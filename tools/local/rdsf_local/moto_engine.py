"""The second ASL engine: runs one execution of a state machine file on moto's Step Functions
interpreter (moto's port of LocalStack's, `mock_aws(config={"stepfunctions":
{"execute_state_machine": True}})`), in a process of its own, with the request and report of
asl_runner.mjs (the first engine, aws-local-stepfunctions), so that the end-to-end cases run
either engine against the same local stack and the same real Lambdas:

    python tools/local/rdsf_local/moto_engine.py < request.json > report.json

Request: as asl_runner.mjs (definition, functions {placeholder: {endpoint, function, arn}}, input,
startTime, name, waitMs, retryMs). Report: {engine, status, output, error, cause,
statesEntered, taskCalls}; a Lambda error arrives as AWS hands it over (Error = its errorType,
Cause = the JSON {"errorMessage", "errorType", "trace"}). Not reported: `history` and
`largestPayload` — AWS's hard limits stay with limits.mjs on the first engine.

moto's interpreter is wrong against AWS where docs/asl-engines.md says; where the state machines
rely on the rule, this module makes it AWS's (each correction names its docs/aws-facts.md row).
RDSF_STOCK_MOTO=1 runs the bare interpreter, as it does for asl_runner.mjs: the rule tests in
tests/e2e/test_asl_runner.py fail on it. The corrections patch moto internals, so moto is pinned
(tools/local/requirements.txt).
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import re
import sys
import threading
import time
import types
import urllib.error
import urllib.request

# moto logs every JSONPath miss its engine catches and each ToleratedFailure* field it ignores
# at WARNING or ERROR: only with RDSF_MOTO_LOG=1.
if not os.environ.get("RDSF_MOTO_LOG"):
    logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.stepfunctions.parser.api import (  # noqa: E402
    HistoryEventType, MapRunFailedEventDetails, TaskFailedEventDetails)
from moto.stepfunctions.parser.asl.component.common.error_name import error_equals_decl  # noqa: E402
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (  # noqa: E402
    CustomErrorName)
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (  # noqa: E402
    FailureEvent, FailureEventException)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (  # noqa: E402
    StatesErrorName)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (  # noqa: E402
    StatesErrorNameType)
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl  # noqa: E402
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import EvalTimeoutError  # noqa: E402
from moto.stepfunctions.parser.asl.component.state import state as state_module  # noqa: E402
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (  # noqa: E402
    distributed_iteration_component as distributed_iteration)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (  # noqa: E402
    iteration_worker)
from moto.stepfunctions.parser.asl.component.state.exec.state_map import (  # noqa: E402
    state_map, tolerated_failure)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (  # noqa: E402
    distributed_item_processor_worker as distributed_worker)
from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branches_decl  # noqa: E402
from moto.stepfunctions.parser.asl.component.state.fail import state_fail  # noqa: E402
from moto.stepfunctions.parser.asl.component.state.exec.state_task import (  # noqa: E402
    lambda_eval_utils, state_task_lambda)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function  # noqa: E402
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails  # noqa: E402
from moto.stepfunctions.parser.asl.eval.program_state import ProgramError, ProgramStopped  # noqa: E402
from moto.stepfunctions.parser.asl.eval.states import ItemData, MapData  # noqa: E402
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str  # noqa: E402
from moto.stepfunctions.parser.asl.utils.json_path import NoSuchJsonPathError  # noqa: E402
from moto.stepfunctions.parser.backend import execution_worker  # noqa: E402

ENGINE = "moto"
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account: where the interpreter's own state machine lives


def aws_time(moment: datetime.datetime) -> str:
    """A timestamp as Step Functions writes $$.Execution.StartTime: UTC, milliseconds, `Z`."""
    utc = moment.astimezone(datetime.timezone.utc)
    # datetime's own isoformat, also for an _AwsClockTime (whose isoformat is this function)
    return datetime.datetime.isoformat(utc, timespec="milliseconds").replace("+00:00", "Z")


class _AwsClockTime(datetime.datetime):
    """A moment whose isoformat() is Step Functions' (`…T05:30:00.123Z`)."""

    def isoformat(self, *args, **kwargs) -> str:
        return aws_time(self)


class Run:
    """One execution's bookkeeping, shared by the interpreter's threads (Distributed Map children
    run in threads of their own)."""

    def __init__(self, request: dict):
        self.request = request
        self.functions = {f["arn"]: f for f in request["functions"].values()}
        self.lock = threading.Lock()
        self.local = threading.local()
        self.states_entered: list[str] = []
        self.task_calls: list[dict] = []
        self.state_names: set[str] = set()

    def lane_task(self, state: str) -> str:
        """The task a state runs as the instance lane names it: `CheckCopyCluster` is `CheckCopy`
        (statemachines/*.asl.json, CopyEach and SaveEach; as asl_runner.mjs reports it)."""
        base = state[: -len("Cluster")] if state.endswith("Cluster") else None
        return base if base and base in self.state_names else state

    # -- the Lambda integration: each Task's function is a cargo-lambda host's -------------
    def invoke(self, parameters: dict, region: str, state_credentials) -> dict:
        """Replaces lambda_eval_utils._invoke_lambda_function: the Lambda Invoke API's answer
        ({StatusCode, FunctionError?, Payload}) from the local function behind the ARN."""
        fn = self.functions.get(parameters["FunctionName"])
        state = getattr(self.local, "state", "?")
        if fn is None:
            raise RuntimeError(f"state {state}: no local function for {parameters['FunctionName']}")
        payload = parameters["Payload"]
        url = f"{fn['endpoint']}/2015-03-31/functions/{fn['function']}/invocations"
        req = urllib.request.Request(url, data=payload if isinstance(payload, bytes) else payload.encode(),
                                     method="POST")
        try:
            with urllib.request.urlopen(req, timeout=900) as res:
                status, body, header = res.status, res.read().decode(), res.headers.get("X-Amz-Function-Error")
        except urllib.error.HTTPError as e:
            status, body, header = e.code, e.read().decode(), e.headers.get("X-Amz-Function-Error")
        try:
            parsed = json.loads(body) if body else None
        except json.JSONDecodeError:
            parsed = {"errorType": "Lambda.Unknown", "errorMessage": body}
        call = {"state": state, "task": self.lane_task(state), "function": fn["function"]}
        answer = {"StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": parsed}
        # cargo-lambda's emulator answers a function error with HTTP 500 and no
        # X-Amz-Function-Error header; real Lambda answers 200 with it (as asl_runner.mjs).
        if header or status >= 400:
            error_type = (parsed or {}).get("errorType") or f"Lambda.Http{status}"
            call["errorType"] = error_type
            answer = {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": {
                "errorMessage": (parsed or {}).get("errorMessage", body), "errorType": error_type, "trace": []}}
        with self.lock:
            self.task_calls.append(call)
        return answer


def install_hooks(run: Run) -> None:
    """What the local stack needs of any engine: Tasks reach the local Lambdas, Waits and retry
    back-off take `waitMs`/`retryMs` of wall clock, every state entered is counted, and the
    execution starts at the requested simulated time."""
    lambda_eval_utils._invoke_lambda_function = run.invoke
    wait_ms, retry_ms = run.request.get("waitMs", 0), run.request.get("retryMs", 5)
    wait_function.WaitFunction._wait_interval = lambda self, env, wait_seconds: time.sleep(wait_ms / 1000)
    retrier_decl.time = types.SimpleNamespace(sleep=lambda seconds: time.sleep(retry_ms / 1000))

    entered = state_module.CommonStateField._eval_body

    def eval_body(self, env):
        with run.lock:
            run.states_entered.append(self.name)
        return entered(self, env)

    state_module.CommonStateField._eval_body = eval_body
    # moto runs a Task's execution in a thread of its own (for TimeoutSeconds): the state's name
    # is kept for the invocation where that thread starts it.
    execution = state_task_lambda.StateTaskLambda._eval_execution

    def eval_execution(self, env):
        run.local.state = self.name
        return execution(self, env)

    state_task_lambda.StateTaskLambda._eval_execution = eval_execution

    environment = execution_worker.ExecutionWorker._get_evaluation_environment
    start = run.request.get("startTime")

    def evaluation_environment(self):
        env = environment(self)
        execution = env.states.context_object.context_object_data["Execution"]
        moment = (datetime.datetime.fromisoformat(start.replace("Z", "+00:00")) if start
                  else execution["StartTime"])
        # moto hands on a datetime (`...+00:00` once serialised); Step Functions a string in
        # `...T05:30:00.000Z`, which the Failsafe machine passes to verify and prune as `now`.
        execution["StartTime"] = aws_time(moment)
        return env

    execution_worker.ExecutionWorker._get_evaluation_environment = evaluation_environment


# -- corrections: where moto's interpreter is wrong against AWS and the machines rely on it ------

# moto's grammar takes only a decimal for ToleratedFailurePercentage (its lexer makes `100` an
# INT, refused as "no viable alternative at input"); AWS takes an integer 0-100. The definition
# is rewritten to the same number as a decimal.
TOLERANCE_AS_INTEGER = re.compile(r'("ToleratedFailurePercentage"\s*:\s*)(\d+)(?![.\d])')
# The Developer Guide, "Error handling in Step Functions" (docs/aws-facts.md): States.ALL does not
# catch States.DataLimitExceeded (only an ErrorEquals naming it does), and "a States.Runtime error
# is not retriable, and will always cause the execution to fail": no Retry or Catch takes it.
# moto's ErrorEqualsDecl lets States.ALL match every error, and a name match anything named.


_ERROR_EQUALS = error_equals_decl.ErrorEqualsDecl._eval_body


def _error_equals(self, env) -> None:
    """ErrorEqualsDecl._eval_body (used by Retry and Catch) with AWS's terminal errors; moto's
    own matching for every other error."""
    error_name = env.stack[-1]
    typ = error_name.typ if isinstance(error_name, StatesErrorName) else None
    if typ == StatesErrorNameType.StatesRuntime:
        env.stack.pop()
        env.stack.append(False)
    elif typ == StatesErrorNameType.StatesStatesDataLimitExceeded:
        env.stack.pop()
        env.stack.append(error_name in self.error_names)
    else:
        _ERROR_EQUALS(self, env)


def _error_name(error_name):
    """A States.* error leaving a Parallel branch or an inline Map iteration, or named by a Fail
    state, keeps its name:
    moto wraps every name in CustomErrorName, whose constructor refuses the `States.` prefix, so
    the execution failed with States.Runtime ("Custom Error Names MUST NOT begin with the prefix
    'States.'") instead of the branch's error."""
    if isinstance(error_name, str) and error_name.startswith("States."):
        return StatesErrorName.from_name(error_name)
    return CustomErrorName(error_name=error_name)


_TASK_FROM_ERROR = state_task_lambda.StateTaskLambda._from_error


def _task_from_error(self, env, ex):
    """StateTaskLambda._from_error with a path missing from a Task's Parameters being what AWS
    makes it, States.Runtime (which States.ALL does not catch): moto calls it `Exception`, a
    custom error any Catch takes."""
    if isinstance(ex, NoSuchJsonPathError):
        cause = (f"The JSONPath '{ex.json_path}' specified for the field '{env.next_field_name}' "
                 f"could not be found in the input '{to_json_str(ex.data)}'")
        runtime = StatesErrorNameType.StatesRuntime
        return FailureEvent(env=env, error_name=StatesErrorName(typ=runtime),
                            event_type=HistoryEventType.TaskFailed,
                            event_details=EventDetails(taskFailedEventDetails=TaskFailedEventDetails(
                                error=runtime.to_name(), cause=cause)))
    return _TASK_FROM_ERROR(self, env, ex)


def _eval_job(self, env, job) -> None:
    """DistributedItemProcessorWorker._eval_job with a failed child's place in the Map's output
    being its execution record, as AWS leaves it (docs/aws-facts.md, "ResultWriter (Map)"):
    ExecutionArn, Input (a JSON string), InputDetails, Name, Status, Error, Cause, StartDate,
    StopDate. moto puts `null` there."""
    record = self._map_run_record
    record.item_counter.total.count()
    record.item_counter.running.count()
    record.execution_counter.total.count()
    record.execution_counter.running.count()
    output, failure, child_input, started = None, None, job.job_input, aws_time(datetime.datetime.now())
    try:
        env.states.context_object.context_object_data["Map"] = MapData(
            Item=ItemData(Index=job.job_index, Value=job.job_input))
        env.states.reset(job.job_input)
        env.stack.append(env.states.get_input())
        self._eval_input(env_frame=env)
        child_input = env.states.get_input()  # after the ItemSelector: what the child received
        job.job_program.eval(env)
        program = env.program_state()
        if isinstance(program, ProgramError):
            error = program.error or {}
            failure = ("FAILED", error.get("error"), error.get("cause"))
        elif isinstance(program, ProgramStopped):
            failure = ("ABORTED", program.error, program.cause)
        else:
            output = env.states.get_input()
    except EvalTimeoutError as ex:
        failure = ("TIMED_OUT", "States.Timeout", str(ex))
    except FailureEventException as ex:
        failure = ("FAILED", *(ex.extract_error_cause_pair() or (None, None)))
    except Exception as ex:  # noqa: BLE001 - what moto itself counts as a failed item
        failure = ("FAILED", "States.Runtime", f"{type(ex).__name__}: {ex}")
    finally:
        record.item_counter.running.offset(-1)
        record.execution_counter.running.offset(-1)
        if failure is None:
            for counter in (record.item_counter, record.execution_counter):
                counter.succeeded.count()
                counter.results_written.count()
        else:
            status, error, cause = failure
            counted = {"FAILED": "failed", "ABORTED": "aborted", "TIMED_OUT": "timed_out"}[status]
            getattr(record.item_counter, counted).count()
            getattr(record.execution_counter, counted).count()
            label = record.map_run_arn.split(":")[-2].split("/")[-1]
            output = {
                "ExecutionArn": f"{record.execution_arn}/{label}:{job.job_index}",
                "Input": to_json_str(child_input, separators=(",", ":")),
                "InputDetails": {"Included": True},
                "Name": str(job.job_index),
                "Status": status,
                "StartDate": started,
                "StopDate": aws_time(datetime.datetime.now()),
            }
            if error is not None:
                output["Error"] = error
            if cause is not None:
                output["Cause"] = cause
        job.job_output = output


_MAP_RUN = distributed_iteration.DistributedIterationComponent._map_run


def _map_run(self, env, eval_input) -> None:
    """DistributedIterationComponent._map_run with the tolerated failure threshold enforced
    (docs/aws-facts.md: default 0; over the count or the percentage, the Map fails with
    States.ExceedToleratedFailureThreshold). moto parses both fields and ignores them."""
    _MAP_RUN(self, env, eval_input)
    outputs = env.stack[-1]
    children = eval_input.map_run_record.execution_counter  # as _eval_job counted them
    failed = children.failed.get() + children.aborted.get() + children.timed_out.get()
    if not failed:
        return
    percentage = eval_input.tolerated_failure_percentage  # None: not declared (_Undeclared)
    count = eval_input.tolerated_failure_count
    # each declared threshold applies; with neither, the tolerance is 0
    exceeded = []
    if percentage is not None:
        exceeded.append(failed * 100.0 / max(len(outputs), 1) > percentage)
    if count is not None:
        exceeded.append(failed > count)
    if exceeded and not any(exceeded):
        return
    first = next(o for o in outputs if isinstance(o, dict) and o.get("Status") in ("FAILED", "ABORTED", "TIMED_OUT"))
    env.stack.pop()
    name = StatesErrorNameType.StatesExceedToleratedFailureThreshold
    cause = (f"The specified tolerated failure threshold was exceeded: {failed} of {len(outputs)} "
             f"child executions failed (first: {first.get('Error')}: {first.get('Cause')})")
    raise FailureEventException(FailureEvent(
        env=env, error_name=StatesErrorName(typ=name), event_type=HistoryEventType.MapRunFailed,
        event_details=EventDetails(mapRunFailedEventDetails=MapRunFailedEventDetails(
            error=name.to_name(), cause=cause))))


class _Undeclared:
    """A Map's tolerance field the state does not declare: evaluates to None, so that _map_run
    tells it from a declared 0 (moto puts its default, 0, in both places)."""

    def __init__(self, default_decl):
        self.default_decl = default_decl

    def eval(self, env) -> None:
        self.default_decl.eval(env)
        env.stack.pop()
        env.stack.append(None)


_MAP_FROM_STATE_PROPS = state_map.StateMap.from_state_props


def _map_from_state_props(self, state_props) -> None:
    _MAP_FROM_STATE_PROPS(self, state_props)
    if state_props.get(tolerated_failure.ToleratedFailureCountDecl) is None:
        self.tolerated_failure_count_decl = _Undeclared(self.tolerated_failure_count_decl)
    if state_props.get(tolerated_failure.ToleratedFailurePercentageDecl) is None:
        self.tolerated_failure_percentage_decl = _Undeclared(self.tolerated_failure_percentage_decl)


def correct_to_aws() -> None:
    error_equals_decl.ErrorEqualsDecl._eval_body = _error_equals
    state_task_lambda.StateTaskLambda._from_error = _task_from_error
    branches_decl.CustomErrorName = _error_name
    iteration_worker.CustomErrorName = _error_name
    state_fail.CustomErrorName = _error_name
    distributed_worker.DistributedItemProcessorWorker._eval_job = _eval_job
    distributed_iteration.DistributedIterationComponent._map_run = _map_run
    state_map.StateMap.from_state_props = _map_from_state_props
    # $$.State.EnteredTime as Step Functions writes it (the drill machine hands it on as
    # `endedAt`); moto's CommonStateField writes datetime.now(...).isoformat()
    state_module.datetime = types.SimpleNamespace(
        datetime=types.SimpleNamespace(now=lambda tz=None: _AwsClockTime.fromtimestamp(time.time(), tz)),
        timezone=datetime.timezone)


PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9]+)\}")


def definition_text(request: dict) -> str:
    with open(request["definition"], encoding="utf-8") as f:
        text = f.read()
    missing = sorted({m for m in PLACEHOLDER.findall(text) if m not in request["functions"]})
    if missing:
        raise SystemExit(f"moto_engine: no function for placeholder(s) {', '.join(missing)}")
    text = PLACEHOLDER.sub(lambda m: request["functions"][m.group(1)]["arn"], text)
    return TOLERANCE_AS_INTEGER.sub(r"\g<1>\2.0", text)


def collect_state_names(states: dict, into: set[str]) -> None:
    for name, state in states.items():
        into.add(name)
        inner = state.get("ItemProcessor") or state.get("Iterator")
        if inner:
            collect_state_names(inner["States"], into)
        for branch in state.get("Branches", []):
            collect_state_names(branch["States"], into)


def run_execution(request: dict, timeout_seconds: float = 1500) -> dict:
    text = definition_text(request)
    run = Run(request)
    collect_state_names(json.loads(text)["States"], run.state_names)
    install_hooks(run)
    if os.environ.get("RDSF_STOCK_MOTO") != "1":
        correct_to_aws()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name=REGION, aws_access_key_id="testing",
                           aws_secret_access_key="testing")
        machine = sfn.create_state_machine(name="rdsf-local", definition=text,
                                           roleArn=f"arn:aws:iam::{ACCOUNT}:role/rdsf-local")["stateMachineArn"]
        name = request.get("name") or "run"
        arn = sfn.start_execution(stateMachineArn=machine, name=name[:80],
                                  input=json.dumps(request.get("input") or {}))["executionArn"]
        deadline = time.monotonic() + timeout_seconds
        while True:
            described = sfn.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                break
            if time.monotonic() > deadline:
                sfn.stop_execution(executionArn=arn)
                raise SystemExit(f"moto_engine: the execution was still RUNNING after {timeout_seconds} s "
                                 f"(states entered last: {run.states_entered[-5:]})")
            time.sleep(0.02)
    return {
        "engine": ENGINE,
        "status": described["status"],
        "output": json.loads(described["output"]) if described.get("output") is not None else None,
        "error": described.get("error"),
        "cause": described.get("cause"),
        "statesEntered": run.states_entered,
        "taskCalls": run.task_calls,
    }


def main() -> None:
    request = json.load(sys.stdin)
    report = run_execution(request)
    sys.stdout.write(json.dumps(report))


if __name__ == "__main__":
    main()
