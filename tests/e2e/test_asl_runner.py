"""The ASL runner refuses to run what would give a green run that tested nothing."""

import json
import shutil
import subprocess

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
