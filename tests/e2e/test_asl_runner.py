"""The ASL runner refuses to run what would give a green run that tested nothing."""

import http.server
import json
import shutil
import subprocess
import threading

import pytest
from rdsf_local.stack import ROOT, RUNNER, node_binary


def run(node: str, request: dict) -> subprocess.CompletedProcess:
    return subprocess.run([node, str(RUNNER)], input=json.dumps(request), capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


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


class _FailingLambda(http.server.BaseHTTPRequestHandler):
    """Answers every invocation the way `cargo lambda watch` answers a function error."""

    def do_POST(self):  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"errorType": "CopyFailed", "errorMessage": "copy rdsf-x ended failed"}).encode()
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def failing_lambda():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FailingLambda)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_a_lambda_error_arrives_with_its_json_cause(tmp_path, failing_lambda):
    definition = tmp_path / "catch.asl.json"
    definition.write_text(json.dumps({
        "StartAt": "Work",
        "States": {
            "Work": {"Type": "Task", "Resource": "${WorkFunctionArn}", "TimeoutSeconds": 10,
                     "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Read"}],
                     "End": True},
            # what a summary does with a cause: parse it, read errorMessage
            "Read": {"Type": "Pass", "Parameters": {"error.$": "$.error.Error",
                                                    "cause.$": "States.StringToJson($.error.Cause)"},
                     "End": True},
        },
    }))
    res = run(node_binary(), {
        "definition": str(definition),
        "functions": {"WorkFunctionArn": {"endpoint": failing_lambda, "function": "work",
                                          "arn": "arn:aws:lambda:us-east-1:111111111111:function:work"}},
    })
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["status"] == "SUCCEEDED", report
    assert report["output"]["error"] == "CopyFailed"
    assert report["output"]["cause"]["errorType"] == "CopyFailed"
    assert report["output"]["cause"]["errorMessage"] == "copy rdsf-x ended failed"


# --------------------------------------------------------------------------------------------
# maxConcurrency, pollSeconds and maxWaitSeconds must be whole numbers: a Map's
# MaxConcurrencyPath and a Wait's SecondsPath take integers (Step Functions Developer Guide,
# "Map state" and "Wait state"); ASL has no integer test, so the machines check the number's text.

NO_LAMBDAS = "http://127.0.0.1:9"  # nothing listens; the checks fail the run before any Task


def overrides_run(side: str, execution_input: dict) -> dict:
    from rdsf_local.stack import FAILSAFE_FUNCTIONS, LIVE_FUNCTIONS

    functions = LIVE_FUNCTIONS if side == "live" else FAILSAFE_FUNCTIONS
    res = run(node_binary(), {
        "definition": f"statemachines/{side}.asl.json",
        "functions": {p: {"endpoint": NO_LAMBDAS, "function": f,
                          "arn": f"arn:aws:lambda:us-east-1:111111111111:function:{f}"}
                      for p, f in functions.items()},
        "input": execution_input,
    })
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


@pytest.mark.parametrize("side", ["live", "failsafe"])
@pytest.mark.parametrize("field,value", [
    ("maxConcurrency", 2.5), ("pollSeconds", 30.5), ("maxWaitSeconds", 600.25),
    ("maxConcurrency", "5"), ("pollSeconds", 0),
])
def test_overrides_that_are_not_whole_numbers_are_refused(side, field, value):
    report = overrides_run(side, {field: value})
    assert report["status"] == "FAILED", report
    assert report["error"] == "InvalidInput"
    assert field in report["cause"] and "whole number" in report["cause"], report["cause"]
    first_task = "SelectSources" if side == "live" else "FindShared"
    assert first_task not in report["statesEntered"]


@pytest.mark.parametrize("side", ["live", "failsafe"])
def test_whole_number_overrides_pass_the_checks(side):
    report = overrides_run(side, {"maxConcurrency": 20, "pollSeconds": 30, "maxWaitSeconds": 3600})
    first_task = "SelectSources" if side == "live" else "FindShared"
    assert first_task in report["statesEntered"], report
