"""End-to-end at scale and under faults (issue 11): transient 500s on every call the runs make,
failed copies that must not pile up, the quota checked before copying, and 500 sources in one
run under Step Functions' limits (enforced by the ASL runner, tests/local/rdsf_local/limits.mjs)."""

from datetime import date, timedelta

from rdsf_local.deployment import Deployment, create_source

from test_e2e import FAILSAFE_AT, LIVE_AT, failsafe_copies, mixed_estate

# Every AWS operation the Live and Failsafe runs make (RDS, SNS; SFN is called by start-failsafe).
OPERATIONS = ["DescribeDBInstances", "DescribeDBClusters", "DescribeDBSnapshots",
              "DescribeDBClusterSnapshots", "DescribeAccountAttributes", "CopyDBSnapshot",
              "CopyDBClusterSnapshot", "DescribeDBSnapshotAttributes",
              "DescribeDBClusterSnapshotAttributes", "ModifyDBSnapshotAttribute",
              "ModifyDBClusterSnapshotAttribute", "AddTagsToResource", "Publish"]


def test_j_a_500_on_every_operation_ends_in_success_and_shows_in_the_history(stack, accounts):
    live, failsafe = accounts
    stack.faults(creatingPolls=1)
    mixed_estate(stack, live)
    d = Deployment.create(stack, live, failsafe).start()
    stack.faults(internalFailure={op: 1 for op in OPERATIONS})
    day = d.day(LIVE_AT, FAILSAFE_AT)
    assert day["live"].status == "SUCCEEDED", day["live"].result.get("cause")
    assert [f.status for f in day["failsafe"]] == ["SUCCEEDED"], [f.result.get("cause") for f in day["failsafe"]]
    calls = day["live"].result["taskCalls"] + [c for f in day["failsafe"] for c in f.result["taskCalls"]]
    transient = {c["state"] for c in calls if c.get("errorType") == "Transient"}
    # each injected 500 reached the state machine as Transient and was retried there; the first
    # caller of an operation takes its fault (DescribeDBSnapshots: DeleteOldCopies, ...)
    assert {"SelectSources", "DeleteOldCopies", "CopyLatest", "Share", "Notify"} <= transient, transient
    left = stack.faults()["internalFailure"]
    assert set(left.values()) == {0}, f"faults never reached: {left}" 
    assert len(failsafe_copies(d)) == 4


def test_k_failed_copies_do_not_pile_up_in_either_account(stack, accounts):
    live, failsafe = accounts
    stack.faults(creatingPolls=1, failCopiesOf=["billing"])
    mixed_estate(stack, live)
    d = Deployment.create(stack, live, failsafe, live_keep=2).start()
    start = date(2026, 11, 20)
    for n in range(5):
        day = (start + timedelta(days=n)).isoformat()
        if n:  # mixed_estate seeded the first day
            stack.seed_automated(live, "instance", "billing", f"{day}T03:00:00Z")
        run = d.run_live(f"{day}T05:00:00Z")
        assert run.status == "FAILED" and "billing" in run.result["cause"]
        billing = [s for s in d.snapshots(live) if s["tags"].get("rds-failsafe:source-id") == "billing"]
        # today's failed copy stays until the next run reports... and deletes it
        assert len(billing) <= 2 + 1, [(s["id"], s["status"]) for s in billing]
        assert [s["status"] for s in billing] == ["failed"], billing
    # Failsafe: a copy that ends failed there is reported by the run and deleted by its prune
    stack.faults(clearFailCopies=True, failCopiesOf=["orders"])
    run = d.run_failsafe("2026-11-24T05:30:00Z")
    assert run.status == "FAILED" and "orders" in run.result["cause"], run.result.get("cause")
    left = [s for s in d.snapshots(failsafe) if s["tags"].get("rds-failsafe:source-id") == "orders"]
    assert left == [], [(s["id"], s["status"]) for s in left]
    assert {s["tags"]["rds-failsafe:source-id"] for s in d.snapshots(failsafe)} == {"users", "ledger"}


def test_l_a_full_quota_stops_the_run_before_any_copy_with_the_numbers(stack, accounts):
    live, failsafe = accounts
    stack.faults(creatingPolls=1)
    mixed_estate(stack, live)  # 3 instances and 1 cluster
    d = Deployment.create(stack, live, failsafe).start()
    stack.faults(quota=[{"account": live.id, "region": live.region, "limit": 2}])
    run = d.run_live(LIVE_AT)
    assert run.status == "FAILED" and run.result["error"] == "SnapshotQuotaExceeded", run.result
    cause = run.result["cause"]
    assert "ManualSnapshots quota: 0 used of 2, this run needs 3 more" in cause, cause
    assert "LIVE_KEEP" in cause and "quota increase" in cause
    assert "CopyLatest" not in run.result["statesEntered"]
    assert d.snapshots(live, type="manual") == []


def test_m_500_sources_in_one_run_stay_under_the_limits(stack, accounts):
    live, failsafe = accounts
    n = 500
    stack.faults(creatingPolls=1, quota=[{"account": a.id, "region": a.region, "limit": 2000}
                                         for a in (live, failsafe)])
    for i in range(n):
        kind = "cluster" if i % 5 == 0 else "instance"
        sid = f"payments-{kind}-{i:04d}"
        create_source(live, kind, sid, "none")
        stack.seed_automated(live, kind, sid, "2026-11-20T03:00:00Z")
    d = Deployment.create(stack, live, failsafe).start()
    day = d.day(LIVE_AT, FAILSAFE_AT, live_input={"maxConcurrency": 20})
    live_run, fs_runs = day["live"], day["failsafe"]
    assert live_run.status == "SUCCEEDED", live_run.result.get("cause")
    assert [f.status for f in fs_runs] == ["SUCCEEDED"], [f.result.get("cause") for f in fs_runs]
    summary = live_run.result["output"]["summary"]
    assert summary["copiedCount"] == n and len(summary["copied"]) == 25
    assert fs_runs[0].result["output"]["summary"]["savedCount"] == n
    assert len(failsafe_copies(d)) == n
    for r in (live_run, fs_runs[0]):
        h, biggest = r.result["history"], r.result["largestPayload"]
        print(f"{r.side}: parent history {h['parent']} events, {h['children']} child executions "
              f"(largest {h['largestChild']}), largest state {biggest['bytes']} bytes at {biggest['state']}")
        assert h["children"] == n and h["parent"] < 100
        assert biggest["bytes"] < 256 * 1024
