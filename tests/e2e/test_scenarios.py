"""Every scenario file in tests/scenarios runs through the scenario runner's command line, as a
user would run it, and its `expect` block holds. A new file here is a new test, with no code."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "tests" / "scenarios").glob("*.json"))
# Each scenario's stack records its deployment and calls under <workdir>/policy/ for the policy
# proof (make test-policy reads target/e2e/scenarios/*/policy too); make test-e2e empties the
# folder first, and each scenario starts from an empty one of its own (workers run in parallel).
WORKDIRS = ROOT / "target" / "e2e" / "scenarios"


def run(path: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rdsf_local.scenario", str(path), "--quiet", "--workdir", str(tmp_path)],
        cwd=ROOT / "tools" / "local", capture_output=True, text=True, timeout=1800)


def test_there_are_example_scenarios():
    assert len(SCENARIOS) >= 3


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(path):
    shutil.rmtree(WORKDIRS / path.stem, ignore_errors=True)
    res = run(path, WORKDIRS / path.stem)
    assert res.returncode == 0, res.stderr[-3000:]
    report = json.loads(res.stdout)
    assert report["scenario"] == path.stem
    assert report["executions"], "a scenario with days > 0 reports its executions"
    for side in ("live", "failsafe"):
        for s in report["snapshots"][side]:
            assert {"id", "kind", "type", "status", "key", "tags", "source"} <= set(s)


def test_a_bad_scenario_is_refused_naming_the_field(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "bad", "sources": [{"id": "db", "encryption": "key:nope"}]}))
    res = run(bad, tmp_path)
    assert res.returncode == 2
    assert "sources[0].encryption" in res.stderr


def test_a_configuration_cdk_refuses_is_refused_with_cdks_message(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "bad", "sources": [{"id": "db"}], "context": {"liveKeep": 0}}))
    res = run(bad, tmp_path)
    assert res.returncode == 2, res.stderr[-2000:]
    assert "invalid rds-failsafe configuration: liveKeep" in res.stderr, res.stderr[-2000:]


def test_slow_copies_keep_up_once_the_deployment_says_how_fast_they_are(tmp_path):
    """tests/scenarios/slow-copies.json times out, its cause saying to lower copyThroughputMiBps;
    done in the configuration (cdk.json's copyThroughputMiBps at RDS's 60 MiB/s: the Live
    schedule's input, and start-failsafe's for the triggered run), the copy is waited for long
    enough on both sides."""
    scenario = json.loads((ROOT / "tests" / "scenarios" / "slow-copies.json").read_text())
    scenario["context"] = {"copyThroughputMiBps": 60}
    scenario["expect"] = {"executionStatuses": ["live:SUCCEEDED", "failsafe:SUCCEEDED"],
                          "failsafeSnapshots": ["rdsf-111111111111-big-202611010300"]}
    path = tmp_path / "slow-copies-fixed.json"
    path.write_text(json.dumps(scenario))
    res = run(path, tmp_path / "work")
    assert res.returncode == 0, res.stderr[-3000:]


def test_a_big_aurora_cluster_times_out_without_copy_waits(tmp_path):
    """tests/scenarios/big-aurora.json without its copyWaits: RDS reports no Aurora snapshot's
    size, so its 8.5-hour copy is waited for maxWaitSeconds (6 h) and times out, the cause saying
    to set copyWaits and the pace the last look measured; the Live run fails, so nothing is
    announced that day."""
    scenario = json.loads((ROOT / "tests" / "scenarios" / "big-aurora.json").read_text())
    del scenario["context"]
    scenario["days"] = 1
    scenario["expect"] = {
        "executionStatuses": ["live:FAILED"],
        "failureMentions": [
            "CopyTimeout: share copy rdsf-ledger-202611010300 was not available after 21600 seconds: an "
            "Aurora cluster snapshot does not report its size",
            "for a big cluster set copyWaits for it",
            "at 70 % after 21600 seconds it needs about 9000 more at its pace, 30600 in all (8.5 h): a "
            "wait of 45900 seconds would wait for copies like it (this source's copyWaits"]}
    path = tmp_path / "big-aurora-default.json"
    path.write_text(json.dumps(scenario))
    res = run(path, tmp_path / "work")
    assert res.returncode == 0, res.stderr[-3000:]
