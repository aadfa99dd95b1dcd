"""The bench's own tools, without the stack: the Runtime API serves one event and times the answer,
and the Python baseline turns the emulator's flat query parameters back into boto3's shape."""

import json
import os
import sys
import textwrap
from pathlib import Path

import boto3
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "bench"))
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # baseline makes its client at import

from baseline import params_for  # noqa: E402
from runtime_api import cold_start, lambda_env  # noqa: E402

FUNCTION = textwrap.dedent("""
    import json, os, urllib.request
    api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
    with urllib.request.urlopen(api + "next") as r:
        rid, event = r.headers["Lambda-Runtime-Aws-Request-Id"], json.loads(r.read())
    ballast = bytearray(32 * 1024 * 1024)  # touched, so it is resident
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    outcome = "response" if event.get("ok") else "error"
    body = json.dumps({"echo": event}).encode()
    urllib.request.urlopen(urllib.request.Request(api + rid + "/" + outcome, data=body)).read()
    urllib.request.urlopen(api + "next").read()  # waits for the next event, as a runtime does
""")


def test_cold_start_times_the_first_answer_and_reads_the_peak_memory(tmp_path):
    script = tmp_path / "function.py"
    script.write_text(FUNCTION)
    env = lambda_env("fn")
    c = cold_start([sys.executable, str(script)], env, {"ok": True}, "fn", tmp_path / "log")
    assert c.ok and c.body == {"echo": {"ok": True}}
    assert c.peak_rss_kib >= 32 * 1024, c.peak_rss_kib
    assert c.seconds > 0
    failed = cold_start([sys.executable, str(script)], env, {"ok": False}, "fn", tmp_path / "log")
    assert not failed.ok


def test_cold_start_names_a_process_that_never_answers(tmp_path):
    with pytest.raises(RuntimeError, match="no answer within 2 s"):
        cold_start([sys.executable, "-c", "import time; time.sleep(30)"], lambda_env("fn"), {},
                   "fn", tmp_path / "log", timeout=2)


@pytest.fixture
def rds():
    return boto3.client("rds", region_name="us-east-1", aws_access_key_id="x",
                        aws_secret_access_key="x")


def test_flat_query_parameters_become_boto3_parameters(rds):
    flat = {"DBSnapshotIdentifier": "rdsf-orders", "SnapshotType": "manual", "MaxRecords": "100",
            "IncludeShared": "true",
            "Filters.Filter.1.Name": "db-instance-id", "Filters.Filter.1.Values.Value.1": "orders",
            "Filters.Filter.1.Values.Value.2": "billing"}
    assert params_for(rds, "DescribeDBSnapshots", flat) == {
        "DBSnapshotIdentifier": "rdsf-orders", "SnapshotType": "manual", "MaxRecords": 100,
        "IncludeShared": True,
        "Filters": [{"Name": "db-instance-id", "Values": ["orders", "billing"]}],
    }
    flat = {"SourceDBSnapshotIdentifier": "arn:aws:rds:us-east-1:111111111111:snapshot:rds:orders",
            "TargetDBSnapshotIdentifier": "rdsf-orders", "CopyTags": "false",
            "Tags.Tag.1.Key": "rds-failsafe:managed", "Tags.Tag.1.Value": "true",
            "Tags.Tag.2.Key": "rds-failsafe:source-id", "Tags.Tag.2.Value": "orders"}
    out = params_for(rds, "CopyDBSnapshot", flat)
    assert out["CopyTags"] is False
    assert out["Tags"] == [{"Key": "rds-failsafe:managed", "Value": "true"},
                           {"Key": "rds-failsafe:source-id", "Value": "orders"}]
    assert params_for(rds, "ModifyDBSnapshotAttribute", {
        "DBSnapshotIdentifier": "s", "AttributeName": "restore",
        "ValuesToAdd.AttributeValue.1": "222222222222"})["ValuesToAdd"] == ["222222222222"]


def test_json_protocol_parameters_pass_as_sent():
    sfn = boto3.client("stepfunctions", region_name="us-east-1", aws_access_key_id="x",
                       aws_secret_access_key="x")
    params = {"stateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:x", "input": json.dumps({})}
    assert params_for(sfn, "StartExecution", params) == params


def test_the_transition_count_finds_each_machines_copy_states():
    """bench.py counts a copy's transitions as the states of the machines' Maps, wherever they sit
    (the Live and Failsafe machines run theirs, instances and clusters, in a Parallel's branches)."""
    from bench import item_states
    for side, first in (("live", "CopyLatest"), ("failsafe", "Save")):
        states = item_states(side)
        assert {first, f"{first}Cluster", "CheckCopy", "WaitForCopy", "WaitForCopyCluster"} <= states, side
