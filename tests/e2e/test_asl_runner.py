"""The ASL runner refuses to run what would give a green run that tested nothing."""

import http.server
import json
import shutil
import subprocess
import threading

import pytest
from rdsf_local.stack import ENGINES, ROOT, RUNNER, engine_command, node_binary


def run(node: str, request: dict) -> subprocess.CompletedProcess:
    return subprocess.run([node, str(RUNNER)], input=json.dumps(request), capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def run_on(engine: str, request: dict) -> dict:
    """One execution on `engine` (rdsf_local.stack.ENGINES); its report."""
    res = subprocess.run(engine_command(engine), input=json.dumps(request), capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout)


on_both_engines = pytest.mark.parametrize("engine", ENGINES)


def local_functions(endpoint: str, functions: dict[str, str]) -> dict:
    """A runner request's `functions`: each placeholder's function name served at `endpoint`."""
    return {p: {"endpoint": endpoint, "function": f,
                "arn": f"arn:aws:lambda:us-east-1:111111111111:function:{f}"}
            for p, f in functions.items()}


def work_then_caught(tmp_path, name: str, work: dict, catch: tuple[str, ...] = ("States.ALL",)) -> str:
    """A machine of one Task `Work` (${WorkFunctionArn}, `work` merged in) whose Catch of `catch`
    leads to `Caught`, a Pass state that parses the caught cause."""
    definition = tmp_path / f"{name}.asl.json"
    definition.write_text(json.dumps({
        "StartAt": "Work",
        "States": {
            "Work": {"Type": "Task", "Resource": "${WorkFunctionArn}", **work,
                     "Catch": [{"ErrorEquals": list(catch), "ResultPath": "$.error", "Next": "Caught"}],
                     "End": True},
            # what a summary does with a cause: parse it, read errorMessage
            "Caught": {"Type": "Pass", "Parameters": {"error.$": "$.error.Error",
                                                      "cause.$": "States.StringToJson($.error.Cause)"},
                       "End": True},
        },
    }))
    return str(definition)


def test_a_missing_placeholder_is_refused_by_name():
    res = run(node_binary(), {"definition": "statemachines/live.asl.json", "functions": {}})
    assert res.returncode == 2
    assert "SelectSourcesFunctionArn" in res.stderr


def test_node_older_than_22_is_refused():
    system = shutil.which("node")
    if system is None:
        pytest.fail("the machine's node is expected on PATH (DEVELOPERS: Node 20)")
    version = subprocess.run([system, "--version"], capture_output=True, text=True).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) >= 22:
        pytest.skip(f"the machine's node is {version}; nothing older to refuse here")
    res = run(system, {"definition": "statemachines/live.asl.json", "functions": {}})
    assert res.returncode == 2 and "Node >= 22 required" in res.stderr


def test_the_local_stack_node_is_new_enough():
    version = subprocess.run([node_binary(), "--version"], capture_output=True, text=True).stdout
    assert int(version.strip().lstrip("v").split(".")[0]) >= 22


# --------------------------------------------------------------------------------------------
# A Lambda error reaches the state machine as in Step Functions: Error = the errorType, Cause =
# the JSON string of the function's error. Step Functions Developer Guide, "Handling errors in
# Step Functions workflows" / "Handling Lambda errors": the Cause of a Lambda.Unknown or named
# Lambda error is the function's error object as a JSON string ({"errorMessage", "errorType",
# ...}). A bare runner (RDSF_STOCK_MOTO=1) hands the message alone, and this test fails.


def _json_lambda(answer):
    """A local Lambda endpoint: `answer(request JSON, function name)` gives (HTTP status,
    response JSON)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            req = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            # the Invoke API's path: /2015-03-31/functions/<name>/invocations
            status, answer_body = answer(req, self.path.split("/")[-2])
            body = json.dumps(answer_body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


# Answers every invocation the way `cargo lambda watch` answers a function error.
_FailingLambda = _json_lambda(
    lambda req, _: (500, {"errorType": "CopyFailed", "errorMessage": "copy rdsf-x ended failed"}))


@pytest.fixture
def failing_lambda():
    yield from _serve(_FailingLambda)


def _serve(handler):
    """Serves `handler` on a free local port for one test; yields its URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@on_both_engines
def test_a_lambda_error_arrives_with_its_json_cause(tmp_path, failing_lambda, engine):
    report = run_on(engine, {
        "definition": work_then_caught(tmp_path, "catch", {"TimeoutSeconds": 10}),
        "functions": local_functions(failing_lambda, {"WorkFunctionArn": "work"}),
    })
    assert report["status"] == "SUCCEEDED", report
    assert report["output"]["error"] == "CopyFailed"
    assert report["output"]["cause"]["errorType"] == "CopyFailed"
    assert report["output"]["cause"]["errorMessage"] == "copy rdsf-x ended failed"


# --------------------------------------------------------------------------------------------
# maxConcurrency, pollSeconds and maxWaitSeconds must be whole numbers: a Map's
# MaxConcurrencyPath and a Wait's SecondsPath take integers (Step Functions Developer Guide,
# "Map state" and "Wait state"); ASL has no integer test, so the machines check the number's text.

NO_LAMBDAS = "http://127.0.0.1:9"  # nothing listens; the checks fail the run before any Task


def overrides_run(side: str, execution_input: dict, engine: str = ENGINES[0]) -> dict:
    from rdsf_local.stack import FAILSAFE_FUNCTIONS, LIVE_FUNCTIONS

    functions = LIVE_FUNCTIONS if side == "live" else FAILSAFE_FUNCTIONS
    return run_on(engine, {
        "definition": f"statemachines/{side}.asl.json",
        "functions": local_functions(NO_LAMBDAS, functions),
        "input": execution_input,
    })


@pytest.mark.parametrize("side", ["live", "failsafe"])
@pytest.mark.parametrize("field,value", [
    ("maxConcurrency", 2.5), ("pollSeconds", 30.5), ("maxWaitSeconds", 600.25),
    ("maxConcurrency", "5"), ("pollSeconds", 0),
])
@on_both_engines
def test_overrides_that_are_not_whole_numbers_are_refused(side, field, value, engine):
    report = overrides_run(side, {field: value}, engine)
    assert report["status"] == "FAILED", report
    assert report["error"] == "InvalidInput"
    assert field in report["cause"] and "whole number" in report["cause"], report["cause"]
    first_task = "SelectSources" if side == "live" else "FindShared"
    assert first_task not in report["statesEntered"]


@pytest.mark.parametrize("side", ["live", "failsafe"])
@pytest.mark.parametrize("value", [0, "100", 100001])
def test_a_copy_throughput_out_of_range_is_refused(side, value):
    report = overrides_run(side, {"copyThroughputMiBps": value})
    assert report["status"] == "FAILED", report
    assert report["error"] == "InvalidInput"
    assert "copyThroughputMiBps must be a number of MiB/s from 1 to 100000" in report["cause"], report["cause"]


@pytest.mark.parametrize("side", ["live", "failsafe"])
@on_both_engines
def test_whole_number_overrides_pass_the_checks(side, engine):
    report = overrides_run(side, {"maxConcurrency": 20, "pollSeconds": 30, "maxWaitSeconds": 3600,
                                  "copyThroughputMiBps": 37.5}, engine)
    first_task = "SelectSources" if side == "live" else "FindShared"
    assert first_task in report["statesEntered"], report


# --------------------------------------------------------------------------------------------
# Step Functions' hard limits (tools/local/rdsf_local/limits.mjs). Step Functions Developer
# Guide, "Step Functions service quotas": 256 KiB for a state's or task's input or output,
# 25,000 events in a Standard execution's history; "Error handling in Step Functions":
# States.DataLimitExceeded is terminal and "can't be caught by the States.ALL error type"; a
# cause has at most 32,768 characters. With RDSF_STOCK_MOTO=1 (a bare engine) these tests fail.


# Answers {"text": <N characters>} where N is the invocation's {"size": N}.
_BigAnswerLambda = _json_lambda(lambda req, _: (200, {"text": "x" * int(req.get("size", 0))}))


@pytest.fixture
def big_answer_lambda():
    for url in _serve(_BigAnswerLambda):
        yield {"WorkFunctionArn": {"endpoint": url, "function": "work",
                                   "arn": "arn:aws:lambda:us-east-1:111111111111:function:work"}}


def _answer_machine(tmp_path, size: int, then: dict) -> str:
    definition = tmp_path / "big.asl.json"
    definition.write_text(json.dumps({
        "StartAt": "Work",
        "States": {
            "Work": {"Type": "Task", "Resource": "${WorkFunctionArn}", "TimeoutSeconds": 10,
                     "Parameters": {"size": size}, "ResultPath": "$.answer",
                     "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
                     "Next": "Then"},
            "Then": then,
            "Caught": {"Type": "Succeed"},
        },
    }))
    return str(definition)


def test_a_result_over_256_kib_fails_the_execution_and_no_catch_handles_it(tmp_path, big_answer_lambda):
    definition = _answer_machine(tmp_path, 256 * 1024, {"Type": "Succeed"})
    report = json.loads(run(node_binary(), {"definition": definition, "functions": big_answer_lambda}).stdout)
    assert report["status"] == "FAILED", report["status"]
    assert report["error"] == "States.DataLimitExceeded"
    assert "Work" in report["cause"] and "262144" in report["cause"]
    assert "Caught" not in report["statesEntered"]


def test_a_result_under_256_kib_passes(tmp_path, big_answer_lambda):
    definition = _answer_machine(tmp_path, 200 * 1024, {"Type": "Succeed"})
    report = json.loads(run(node_binary(), {"definition": definition, "functions": big_answer_lambda}).stdout)
    assert report["status"] == "SUCCEEDED", report.get("cause")
    assert 200 * 1024 < report["largestPayload"]["bytes"] <= 256 * 1024


def test_a_cause_over_32768_characters_is_refused(tmp_path, big_answer_lambda):
    fail = {"Type": "Fail", "Error": "SomethingFailed", "CausePath": "$.answer.text"}
    report = json.loads(run(node_binary(), {"definition": _answer_machine(tmp_path, 32769, fail),
                                            "functions": big_answer_lambda}).stdout)
    assert report["status"] == "FAILED" and report["error"] == "States.Runtime", report.get("error")
    assert "32769 characters" in report["cause"] and "allows 32768" in report["cause"]
    report = json.loads(run(node_binary(), {"definition": _answer_machine(tmp_path, 32768, fail),
                                            "functions": big_answer_lambda}).stdout)
    assert report["error"] == "SomethingFailed" and len(report["cause"]) == 32768


def _loop_machine(tmp_path, items: int, loops: int, mode: str) -> str:
    """A Map over `items` items, each looping a Pass and a Choice `loops` times (4 events a loop)."""
    definition = tmp_path / f"loop-{mode}.asl.json"
    processor = {
        "ProcessorConfig": {"Mode": mode, **({"ExecutionType": "STANDARD"} if mode == "DISTRIBUTED" else {})},
        "StartAt": "Count",
        "States": {
            "Count": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "Again"},
            "Again": {"Type": "Choice", "Choices": [
                {"Variable": "$.n", "NumericLessThan": loops, "Next": "Count"}], "Default": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }
    definition.write_text(json.dumps({
        "StartAt": "Each",
        "States": {"Each": {"Type": "Map", "ItemsPath": "$.items", "ItemSelector": {"n": 0},
                            "ItemProcessor": processor, "End": True}},
    }))
    return str(definition)


def test_history_over_25000_events_fails_an_inline_map(tmp_path):
    # 3 items x 2,500 loops x 4 events = 30,000 events in one history.
    report = json.loads(run(node_binary(), {"definition": _loop_machine(tmp_path, 3, 2500, "INLINE"),
                                            "functions": {}, "input": {"items": [1, 2, 3]}}).stdout)
    assert report["status"] == "FAILED", report["history"]
    assert report["error"] == "States.Runtime" and "25000" in report["cause"]


def test_a_distributed_map_gives_each_item_a_history_of_its_own(tmp_path):
    report = json.loads(run(node_binary(), {"definition": _loop_machine(tmp_path, 3, 2500, "DISTRIBUTED"),
                                            "functions": {}, "input": {"items": [1, 2, 3]}}).stdout)
    assert report["status"] == "SUCCEEDED", report.get("cause")
    assert report["history"]["children"] == 3
    assert 10000 < report["history"]["largestChild"] < 25000
    assert report["history"]["parent"] < 20
    # one child alone over the quota still fails the run
    report = json.loads(run(node_binary(), {"definition": _loop_machine(tmp_path, 1, 6500, "DISTRIBUTED"),
                                            "functions": {}, "input": {"items": [1]}}).stdout)
    assert report["status"] == "FAILED" and "child execution 0 of the Distributed Map" in report["cause"]


# --------------------------------------------------------------------------------------------
# A Distributed Map's failed children (limits.mjs). Step Functions Developer Guide, "Tolerated
# failure threshold for Distributed Map state": the default tolerance is 0, so one failed child
# fails the Map with States.ExceedToleratedFailureThreshold; ToleratedFailurePercentage /
# ToleratedFailureCount raise it, and a tolerated failed child's result is its execution record
# ("ResultWriter (Map)": Status FAILED, Error, Cause, Input). aws-local-stepfunctions alone
# (RDSF_STOCK_MOTO=1) rethrows the child's own error and ignores the tolerance: these tests fail.


def _failing_items_machine(tmp_path, **tolerance) -> str:
    """A Distributed Map over $.items; an item {"fail": "<Error>"} fails its child with that error."""
    definition = tmp_path / "tolerance.asl.json"
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "Fails",
        "States": {
            "Fails": {"Type": "Choice", "Choices": [
                {"Variable": "$.fail", "IsPresent": True, "Next": "Failed"}], "Default": "Ok"},
            "Failed": {"Type": "Fail", "ErrorPath": "$.fail", "Cause": "this item failed"},
            "Ok": {"Type": "Pass", "Parameters": {"done.$": "$.n"}, "End": True},
        },
    }
    definition.write_text(json.dumps({
        "StartAt": "Each",
        "States": {"Each": {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": processor,
                            "MaxConcurrency": 1, "ResultPath": "$.results", "Next": "After",
                            **tolerance},
                   "After": {"Type": "Pass", "End": True}},
    }))
    return str(definition)


ITEMS = {"items": [{"n": 0}, {"n": 1, "fail": "States.Runtime"}, {"n": 2}, {"n": 3, "fail": "Boom"}]}


@on_both_engines
def test_a_failed_child_fails_a_distributed_map_without_tolerance(tmp_path, engine):
    report = run_on(engine, {"definition": _failing_items_machine(tmp_path), "functions": {}, "input": ITEMS})
    assert report["status"] == "FAILED", report
    assert report["error"] == "States.ExceedToleratedFailureThreshold", report
    assert "States.Runtime" in report["cause"]
    assert "After" not in report["statesEntered"]


@on_both_engines
def test_tolerated_children_leave_their_execution_record_in_the_maps_output(tmp_path, engine):
    report = run_on(engine, {"definition": _failing_items_machine(tmp_path, ToleratedFailurePercentage=100),
                             "functions": {}, "input": ITEMS})
    assert report["status"] == "SUCCEEDED", report
    results = report["output"]["results"]
    assert results[0] == {"done": 0} and results[2] == {"done": 2}
    for i, error in ((1, "States.Runtime"), (3, "Boom")):
        record = results[i]
        assert record["Status"] == "FAILED" and record["Error"] == error, record
        # moto prefixes a States.Runtime cause with the state that failed, as AWS does for the
        # runtime errors it raises itself; nothing reads a child's cause past its end
        assert record["Cause"].endswith("this item failed"), record
        assert json.loads(record["Input"])["n"] == i


@pytest.mark.parametrize("tolerance,status", [
    ({"ToleratedFailureCount": 1}, "FAILED"),      # 2 failed > 1
    ({"ToleratedFailureCount": 2}, "SUCCEEDED"),
    ({"ToleratedFailurePercentage": 25}, "FAILED"),  # 50 % > 25 %
    ({"ToleratedFailurePercentage": 50}, "SUCCEEDED"),
    ({"ToleratedFailurePercentage": 100, "ToleratedFailureCount": 1}, "FAILED"),  # either one
    ({"ToleratedFailurePercentage": 100, "ToleratedFailureCount": 0}, "FAILED"),  # a declared 0 too
    ({"ToleratedFailureCount": 0}, "FAILED"),
    ({"ToleratedFailurePercentage": 0}, "FAILED"),
])
@on_both_engines
def test_the_tolerated_failure_threshold_counts_and_percentages(tmp_path, tolerance, status, engine):
    report = run_on(engine, {"definition": _failing_items_machine(tmp_path, **tolerance),
                             "functions": {}, "input": ITEMS})
    assert report["status"] == status, report
    if status == "FAILED":
        assert report["error"] == "States.ExceedToleratedFailureThreshold"


def test_the_state_machines_tolerate_every_failed_child_so_the_other_sources_finish():
    for side, lanes in (("live", 2), ("failsafe", 2), ("drill", 1)):
        definition = json.loads((ROOT / "statemachines" / f"{side}.asl.json").read_text())
        top = list(definition["States"].values())
        # the copy machines' Maps are the two lanes of one Parallel state (instances, clusters)
        branches = [b["States"][b["StartAt"]] for s in top if s["Type"] == "Parallel" for b in s["Branches"]]
        maps = [s for s in top + branches if s["Type"] == "Map"]
        assert len(maps) == lanes, side
        for m in maps:
            assert m["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED", side
            assert m.get("ToleratedFailurePercentage") == 100, side


# --------------------------------------------------------------------------------------------
# States.ALL catches neither States.Runtime nor States.DataLimitExceeded (Developer Guide,
# "Error handling in Step Functions"; docs/aws-facts.md): a Task whose Parameters name a path
# the input lacks fails the execution even under a States.ALL Catch. moto's bare interpreter
# calls it `Exception` and catches it (docs/asl-engines.md): with RDSF_STOCK_MOTO=1 this test
# fails on moto.


@on_both_engines
@pytest.mark.parametrize("catch", [("States.ALL",), ("States.Runtime",), ("States.Runtime", "States.TaskFailed")])
def test_no_catch_takes_a_missing_path_in_a_tasks_parameters(tmp_path, failing_lambda, engine, catch):
    # "A States.Runtime error is not retriable, and will always cause the execution to fail":
    # not even a Catch that names it takes it
    report = run_on(engine, {
        "definition": work_then_caught(tmp_path, "runtime", {"Parameters": {"x.$": "$.missing"}}, catch),
        "functions": local_functions(failing_lambda, {"WorkFunctionArn": "work"}),
        "input": {"present": 1},
    })
    assert report["status"] == "FAILED", report
    assert report["error"] == "States.Runtime", report
    assert "Caught" not in report["statesEntered"], report
    assert report["taskCalls"] == [], report


# --------------------------------------------------------------------------------------------
# One source's uncatchable failure costs the others nothing: in the real
# live machine, a copy-latest answer without `sourceCreateTime` fails that source's child in
# the Pass state RecordCopied (States.Runtime: a Pass state has no Catch, and States.ALL would
# not catch it). The Map tolerates it (ToleratedFailurePercentage 100), its place in the
# results is the child's execution record, Notify runs with every source, and the run fails
# naming the source. Stand-in Lambdas, shaped as the Rust handlers answer.


def _live_fleet(seen: dict):
    sources = [{"kind": "instance", "id": "db-good"}, {"kind": "instance", "id": "db-bad"},
               {"kind": "cluster", "id": "aurora-c"}]

    def lanes(items):
        return {"instances": [i for i in items if i["kind"] == "instance"],
                "clusters": [i for i in items if i["kind"] == "cluster"]}

    def copy_latest(p):
        source = p["source"]
        snapshot = {"kind": source["kind"], "id": f"rdsf-{source['id']}-202611200300", "arn": "",
                    "status": "creating", "sourceId": source["id"], "encrypted": True}
        if source["id"] != "db-bad":
            snapshot["sourceCreateTime"] = "2026-11-20T03:00:00Z"
        bound = {"sizeGib": None, "expectedSeconds": None, "maxWaitSeconds": p["wait"]["maxWaitSeconds"],
                 "note": "size unknown"}
        return {"outcome": "copied", "source": source, "snapshot": snapshot, "waitBound": bound, "copy": None}

    def notify(p):
        results = p["results"]["instances"] + p["results"]["clusters"]
        failed = [r for r in results if r.get("Status") == "FAILED"]
        named = [json.loads(r["Input"])["source"]["id"] for r in failed]
        return {"summary": {"copiedCount": len(results) - len(failed), "failedCount": len(failed),
                            "failureCause": f"{len(failed)} failed: {', '.join(named)}"},
                "published": [], "messageSnapshots": len(results) - len(failed)}

    handlers = {
        "select-sources": lambda p: {"sources": sources, "skipped": []},
        "preflight": lambda p: {"problems": [], "problemCount": 0, "warnings": [], "warningCount": 0,
                                "okCount": 4},
        "delete-old-copies": lambda p: {"report": {"deleted": [], "deletedCount": 0, "keptCount": 0,
                                                   "quota": [], "leftOut": [], "leftOutCount": 0},
                                        "copies": lanes(p["sources"])},
        "copy-latest": copy_latest,
        "wait-available": lambda p: {"available": True, "snapshot": p["snapshot"],
                                     "elapsedSeconds": p["elapsedSeconds"], "percentProgress": 100,
                                     "nextWaitSeconds": 60},
        "share": lambda p: {"shared": True, "copy": None},
        "notify": notify,
    }

    def answer(payload, name):
        seen.setdefault(name, []).append(payload)
        return 200, handlers[name](payload)

    return _json_lambda(answer)


@on_both_engines
def test_a_sources_uncatchable_failure_leaves_the_others_copied_and_notified(engine):
    from rdsf_local.stack import LIVE_FUNCTIONS

    seen: dict = {}
    for endpoint in _serve(_live_fleet(seen)):
        report = run_on(engine, {"definition": "statemachines/live.asl.json",
                                 "functions": local_functions(endpoint, LIVE_FUNCTIONS), "input": {}})
    assert report["status"] == "FAILED", report
    assert report["error"] == "SomethingFailed" and report["cause"] == "1 failed: db-bad", report
    assert len(seen["share"]) == 3 and len(seen["notify"]) == 1
    results = seen["notify"][0]["results"]
    good, bad = results["instances"]
    assert good == {"outcome": "copied", "source": {"kind": "instance", "id": "db-good"},
                    "sourceCreateTime": "2026-11-20T03:00:00Z", "copy": None}, good
    assert bad["Status"] == "FAILED" and bad["Error"] == "States.Runtime", bad
    assert json.loads(bad["Input"])["source"]["id"] == "db-bad"
    assert results["clusters"][0]["outcome"] == "copied"


# --------------------------------------------------------------------------------------------
# States.JsonToString returns the JSON text of its argument (Step Functions Developer Guide,
# "Intrinsic functions": it "takes a JSON object and returns its escaped string value"): a string
# holding a quote, a newline or a backslash stays JSON, and States.StringToJson reads it back. The
# drill machine's causes are such texts (a PostgreSQL refusal quotes `host "127.0.0.1"`). The bare
# aws-local-stepfunctions (RDSF_STOCK_MOTO=1) deletes every backslash of an intrinsic's result and
# this test fails on it; engine.mjs corrects it.

TEXTS = [{"outcome": "failed", "cause": 'pg_hba.conf rejects connection for host "127.0.0.1", user "admin"'},
         {"cause": "two\nlines, a back\\slash and a tab\t"}]


@on_both_engines
def test_json_to_string_gives_json_that_reads_back_as_what_it_was_given(tmp_path, engine):
    definition = tmp_path / "json_to_string.asl.json"
    definition.write_text(json.dumps({
        "StartAt": "Text",
        "States": {
            "Text": {"Type": "Pass", "Parameters": {"text.$": "States.JsonToString($.results)"},
                     "Next": "Back"},
            "Back": {"Type": "Pass", "Parameters": {"text.$": "$.text",
                                                    "back.$": "States.StringToJson($.text)"},
                     "Next": "Cause"},
            "Cause": {"Type": "Fail", "Error": "Failed", "CausePath": "$.text"},
        },
    }))
    report = run_on(engine, {"definition": str(definition), "functions": {}, "input": {"results": TEXTS}})
    assert report["status"] == "FAILED" and report["error"] == "Failed", report
    assert json.loads(report["cause"]) == TEXTS, report["cause"]
    assert report["cause"] == json.dumps(TEXTS, separators=(",", ":"), ensure_ascii=False)


def test_an_escaped_literal_argument_is_refused_by_where_it_is(tmp_path):
    # the one case engine.mjs's correction would run differently from AWS (AWS unescapes it)
    definition = tmp_path / "escaped.asl.json"
    definition.write_text(json.dumps({
        "StartAt": "Say",
        "States": {"Say": {"Type": "Pass", "Parameters": {"text.$": "States.Format('it\\'s {}', $.who)"},
                           "End": True}},
    }))
    res = run(node_binary(), {"definition": str(definition), "functions": {}, "input": {"who": "me"}})
    assert res.returncode == 2, res.stdout
    assert "backslash escape at .States.Say.Parameters.text.$" in res.stderr, res.stderr
