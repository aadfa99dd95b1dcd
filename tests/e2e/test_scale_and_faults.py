"""End-to-end at scale and under faults: transient 500s on every call the runs make,
failed copies that must not pile up, the quota checked before copying, and 1,000 sources in one
run under Step Functions' limits (enforced by the ASL runner, tools/local/rdsf_local/limits.mjs):
all saved, every save failing, every copy failing."""

import json
import re
import subprocess
from datetime import date, timedelta

import pytest
from rdsf_local.deployment import Deployment, create_key, create_source
from rdsf_local.stack import ROOT, node_binary

from test_e2e import FAILSAFE_AT, LIVE_AT, failsafe_copies, mixed_estate

# Every AWS operation the Live and Failsafe runs make (RDS, SNS; SFN is called by start-failsafe).
OPERATIONS = ["DescribeDBInstances", "DescribeDBClusters", "DescribeDBSnapshots",
              "DescribeDBClusterSnapshots", "DescribeAccountAttributes", "CopyDBSnapshot",
              "CopyDBClusterSnapshot", "DescribeDBSnapshotAttributes",
              "DescribeDBClusterSnapshotAttributes", "ModifyDBSnapshotAttribute",
              "ModifyDBClusterSnapshotAttribute", "AddTagsToResource", "Publish",
              # the Live preflight's reads
              "DescribeKey", "GetKeyPolicy", "GetTopicAttributes"]


def test_500_on_every_operation_ends_in_success_and_shows_in_the_history(stack, accounts):
    live, failsafe = accounts
    stack.faults(creatingPolls=1)
    mixed_estate(stack, live)
    d = Deployment.create(stack, live, failsafe).start()
    stack.faults(internalFailure={op: 1 for op in OPERATIONS})
    day = d.day(LIVE_AT, FAILSAFE_AT)
    assert day["live"].status == "SUCCEEDED", day["live"].result.get("cause")
    assert [f.status for f in day["failsafe"]] == ["SUCCEEDED"], [f.result.get("cause") for f in day["failsafe"]]
    calls = day["live"].result["taskCalls"] + [c for f in day["failsafe"] for c in f.result["taskCalls"]]
    transient = {c["task"] for c in calls if c.get("errorType") == "Transient"}
    # each injected 500 on a write, and on a KMS or SNS read, reached the state machine as
    # Transient and was retried there; the first caller of an operation takes its fault
    # (GetTopicAttributes, DescribeKey: Preflight). A 500 on an RDS read is retried by the SDK
    # (port::aws::READ_ATTEMPTS): SelectSources, which only reads RDS, never fails.
    assert {"Preflight", "CopyLatest", "Share", "Notify"} <= transient, transient
    assert "SelectSources" not in transient, transient
    log = d.live_host.process.log_path.read_text(errors="replace")
    assert "rds-read-retry" in log and "InternalFailure" in log
    left = stack.faults()["internalFailure"]
    assert set(left.values()) == {0}, f"faults never reached: {left}" 
    assert len(failsafe_copies(d)) == 4


def test_failed_copies_do_not_pile_up_in_either_account(stack, accounts):
    live, failsafe = accounts
    stack.faults(creatingPolls=1, failCopiesOf=["billing"])
    mixed_estate(stack, live)
    d = Deployment.create(stack, live, failsafe, context={"liveKeep": 2}).start()
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


def test_quota_too_small_protects_what_fits_and_fails_naming_the_rest(stack, accounts):
    """Room for two of the three instance copies in Live and for one in Failsafe: each side
    copies what fits, each source's newest first, and each run fails naming what it left out,
    the numbers and the cdk.json field to change. (A quota one copy short used to copy nothing.)"""
    live, failsafe = accounts
    stack.faults(creatingPolls=1)
    mixed_estate(stack, live)  # 3 instances and 1 cluster
    d = Deployment.create(stack, live, failsafe).start()
    stack.faults(quota=[{"account": live.id, "region": live.region, "limit": 2},
                        {"account": failsafe.id, "region": failsafe.region, "limit": 1}])
    day = d.day(LIVE_AT, FAILSAFE_AT)
    run = day["live"]
    assert run.status == "FAILED" and run.result["error"] == "SomethingFailed", run.result
    cause = run.result["cause"]
    assert re.match(r"1 failed: instance:(orders|billing|users): SnapshotQuotaExceeded: left out of this run: "
                    r"ManualSnapshots quota: 0 used of 2, this run needs 3 more instance snapshot copies "
                    r"\(1 too many\); 2 copied, each source's newest snapshot first, 1 left out\. Lower liveKeep", cause), cause
    assert "quota increase" in cause
    copies = d.snapshots(live, type="manual")
    assert sorted(s["kind"] for s in copies) == ["cluster", "instance", "instance"], copies
    # the two instance copies and the cluster's reach Failsafe; its quota holds one instance copy
    [fs] = day["failsafe"]
    assert fs.status == "FAILED" and fs.result["error"] == "SomethingFailed", fs.result
    cause = fs.result["cause"]
    assert cause.startswith("1 failed: arn:aws:rds:") and (
        ": SnapshotQuotaExceeded: left out of this run: ManualSnapshots quota: 0 used of 1, this run needs 2 more") in cause, cause
    assert "Lower retention.hourly/daily/weekly/monthly" in cause, cause
    assert sorted(c["kind"] for c in failsafe_copies(d).values()) == ["cluster", "instance"]


# 1,000 sources with 63-character identifiers (the longest RDS allows): the largest per-source
# records either side can write. One in five is an Aurora cluster.
FLEET = 1000


def fleet(stack, live, failsafe, encryption: str = "none", unencrypted: int = 0) -> list[str]:
    """FLEET sources with 63-character ids, one in five a cluster; the first `unencrypted` without
    encryption whatever `encryption` says."""
    ids = []
    for i in range(FLEET):
        kind = "cluster" if i % 5 == 0 else "instance"
        sid = f"payments-{kind}-{i:04d}-".ljust(63, "x")
        create_source(live, kind, sid, "none" if i < unencrypted else encryption)
        stack.seed_automated(live, kind, sid, "2026-11-20T03:00:00Z")
        ids.append(sid)
    stack.faults(creatingPolls=1, quota=[{"account": a.id, "region": a.region, "limit": 2 * FLEET}
                                         for a in (live, failsafe)])
    return ids


def within_limits(run, children: int = FLEET) -> None:
    h, biggest = run.result["history"], run.result["largestPayload"]
    print(f"{run.side}: {run.status}, parent history {h['parent']} events, {h['children']} child "
          f"executions (largest {h['largestChild']}), largest state {biggest['bytes']} bytes at "
          f"{biggest['state']}, cause {len(run.result.get('cause') or '')} characters")
    assert h["children"] == children and h["parent"] < 100
    assert biggest["bytes"] < 256 * 1024
    assert len(run.result.get("cause") or "") <= 32768


def test_seven_aurora_clusters_copy_five_at_a_time_on_both_sides(stack, accounts):
    """RDS allows 5 DB cluster snapshot copies in progress per account and destination region
    (the emulator refuses a 6th). With maxConcurrency 20, the instances' lane copies them all at
    once and the clusters' lane at most 5 at a time, in Live and in Failsafe: every copy is made."""
    live, failsafe = accounts
    stack.faults(creatingPolls=3)
    clusters = [f"aur{i}" for i in range(7)]
    for c in clusters:
        create_source(live, "cluster", c)
        stack.seed_automated(live, "cluster", c, "2026-11-20T03:00:00Z")
    for i in range(6):
        create_source(live, "instance", f"db{i}")
        stack.seed_automated(live, "instance", f"db{i}", "2026-11-20T03:00:00Z")
    d = Deployment.create(stack, live, failsafe).start()
    run = d.run_live(LIVE_AT, {"maxConcurrency": 20})
    assert run.status == "SUCCEEDED", run.result.get("cause")
    assert len(run.result["output"]["summary"]["copied"]) == 13
    lanes = {c["state"] for c in run.result["taskCalls"] if c["task"] == "CopyLatest"}
    assert lanes == {"CopyLatest", "CopyLatestCluster"}, lanes
    saved = d.run_failsafe(FAILSAFE_AT, {"maxConcurrency": 20})
    assert saved.status == "SUCCEEDED", saved.result.get("cause")
    assert sorted(s["kind"] for s in failsafe_copies(d).values()) == ["cluster"] * 7 + ["instance"] * 6


@pytest.mark.long
def test_1000_sources_in_one_run_stay_under_the_limits(stack, accounts):
    live, failsafe = accounts
    fleet(stack, live, failsafe)
    d = Deployment.create(stack, live, failsafe).start()
    day = d.day(LIVE_AT, FAILSAFE_AT, live_input={"maxConcurrency": 20})
    live_run, fs_runs = day["live"], day["failsafe"]
    assert live_run.status == "SUCCEEDED", live_run.result.get("cause")
    summary = live_run.result["output"]["summary"]
    assert summary["copiedCount"] == FLEET and len(summary["copied"]) == 25
    # 1,000 ARNs of 63-character ids pass SNS's 262,144 bytes: two messages, two Failsafe runs; the
    # first saves everything shared, the second finds it saved
    assert len(live_run.result["output"]["published"]) == 2 and len(fs_runs) == 2
    assert [f.status for f in fs_runs] == ["SUCCEEDED"] * 2, [f.result.get("cause") for f in fs_runs]
    saved = [f.result["output"]["summary"]["savedCount"] for f in fs_runs]
    assert saved == [FLEET, 0], saved
    assert fs_runs[1].result["output"]["alreadySaved"] == FLEET
    assert len(failsafe_copies(d)) == FLEET
    within_limits(live_run)
    within_limits(fs_runs[0])
    within_limits(fs_runs[1], children=0)


@pytest.mark.long
def test_1000_failed_saves_fail_the_run_with_a_bounded_cause(stack, accounts):
    """The likeliest way for every save to fail at once: the share key does not grant the Failsafe
    account. Each failure is recorded; the first 25 keep their cause (the key). One source is
    unencrypted, so its copy needs no key: the Live preflight reports the key without stopping
    the run (when every copy needs the key it stops it: test_share_key_no_failsafe_...)."""
    live, failsafe = accounts
    ids = fleet(stack, live, failsafe, "aws-rds", unencrypted=1)
    d = Deployment.create(stack, live, failsafe, share_key_grants_failsafe=False).start()
    day = d.day(LIVE_AT, FAILSAFE_AT, live_input={"maxConcurrency": 20})
    assert day["live"].status == "SUCCEEDED", day["live"].result.get("cause")
    preflight = day["live"].result["output"]["preflight"]
    # the key, and the quota: 800 instances x (LIVE_KEEP 2 + 1) copies will not fit 2,000 for long
    assert sorted((p["check"], p["subject"]) for p in preflight["problems"]) == [
        ("quota", "ManualSnapshots"), ("share-key", d.share_key_arn)], preflight
    assert len(day["failsafe"]) == 2  # two messages (see test_1000_sources_in_one_run_stay_under_the_limits); each run tries every snapshot
    failing = FLEET - 1
    for i, run in enumerate(day["failsafe"]):
        within_limits(run, children=FLEET if i == 0 else failing)  # the first saved the unencrypted one
        assert run.status == "FAILED" and run.result["error"] == "SomethingFailed", run.result.get("error")
        cause = run.result["cause"]
        assert cause.startswith(f"{failing} failed: ") and f"and {failing - 10} more" in cause, cause[-300:]
        assert "KmsKeyNotAccessible" in cause and d.share_key_arn in cause
    assert [c["tags"]["rds-failsafe:source-id"] for c in failsafe_copies(d).values()] == [ids[0]]


@pytest.mark.long
def test_1000_failed_copies_fail_the_live_run_with_a_bounded_cause(stack, accounts):
    live, failsafe = accounts
    ids = fleet(stack, live, failsafe)
    stack.faults(failCopiesOf=ids)
    d = Deployment.create(stack, live, failsafe).start()
    run = d.run_live(LIVE_AT, {"maxConcurrency": 20})
    within_limits(run)
    assert run.status == "FAILED", run.result.get("cause")
    cause = run.result["cause"]
    assert cause.startswith(f"{FLEET} failed: ") and f"and {FLEET - 10} more" in cause, cause[-300:]
    # the first failures with their cause (select-sources lists instances, then clusters)
    assert f"instance:{ids[1]}: CopyFailed: instance snapshot rdsf-{ids[1]}-202611200300 ended in status failed" in cause


FLEET_SIM = ROOT / "tools" / "local" / "rdsf_local" / "fleet.mjs"


def simulate(side: str, copy_minutes: int, poll_seconds: int = 60) -> dict:
    request = {"side": side, "sources": FLEET, "copyMinutes": copy_minutes,
               "pollSeconds": poll_seconds, "maxConcurrency": 20}
    res = subprocess.run([node_binary(), str(FLEET_SIM)], input=json.dumps(request),
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    h = report["history"]
    print(f"{side}: {FLEET} sources, {copy_minutes}-minute copies polled every {poll_seconds} s: "
          f"{report['status']}, parent history {h['parent']} events, {h['children']} child "
          f"executions (largest {h['largestChild']}), largest state "
          f"{report['largestPayload']['bytes']} bytes, {report['statesEntered']} states entered")
    return report


@pytest.mark.long
@pytest.mark.parametrize("side", ["live", "failsafe"])
def test_1000_sources_with_6_hour_copies_stay_within_the_history_quota(side):
    """The real state machines with stand-in handlers (fleet.mjs): 360 polls per copy, 1,000
    copies. Every poll is in the copy's own child execution; the parent does not grow with either."""
    report = simulate(side, copy_minutes=360)
    assert report["status"] == "SUCCEEDED", (report.get("error"), report.get("cause"))
    h = report["history"]
    assert h["children"] == FLEET and h["parent"] < 100
    assert 360 * 9 <= h["largestChild"] < 25000  # 9 events a poll: CheckCopy, IsAvailable, WaitForCopy
    assert report["calls"]["CheckCopy"] == FLEET * 361
    assert report["largestPayload"]["bytes"] < 256 * 1024


def test_one_copy_polled_past_the_quota_fails_the_run():
    # 1-second polls of a 1-hour copy: 3,601 polls, about 32,400 events in one child execution.
    # What select-sources and find-shared refuse up front (policy::polling, at most 2,000 checks);
    # the stand-ins here do not check, so the run shows what AWS would do.
    report = simulate("live", copy_minutes=60, poll_seconds=1)
    assert report["status"] == "FAILED" and report["error"] == "States.Runtime"
    reached = re.search(r"of the Distributed Map reached (\d+) history events", report["cause"])
    assert reached and 25000 < int(reached.group(1)) <= 25000 + 9, report["cause"]  # one look's events


def test_copy_not_done_by_max_wait_times_out_after_a_last_look_at_the_limit(stack, accounts, engine):
    """Adaptive polling (policy::polling::next_wait_seconds) with the real wait-available: a copy
    that shows no progress is looked at after 0, 60, 120, 240 s and once more at maxWaitSeconds
    exactly, then the item fails with CopyTimeout naming the seconds waited and the figures."""
    live, failsafe = accounts
    stack.faults(creatingPolls=1000)  # 0 % for the first ten looks
    create_source(live, "instance", "orders")
    stack.seed_automated(live, "instance", "orders", "2026-11-20T03:00:00Z")
    d = Deployment.create(stack, live, failsafe).start()
    # at this throughput a full copy of the source's 20 GiB is expected in 1 s: the bound stays
    # maxWaitSeconds (policy::copy_time raises it for a copy that needs longer)
    run = d.run_live(LIVE_AT, {"pollSeconds": 60, "maxWaitSeconds": 300, "copyThroughputMiBps": 100000})
    assert run.status == "FAILED", run.result.get("output")
    cause = run.result["cause"]
    assert "instance:orders: CopyTimeout: share copy rdsf-orders-202611200300 was not available " \
           "after 300 seconds: a full copy of 20 GiB at 100000 MiB/s (copyThroughputMiBps) takes about " \
           "1 seconds (0.0 h), and the run waited 300 seconds" in cause, cause
    # and what the last look saw: no progress, so no pace to size a wait by
    assert "; it reported 0 % after 300 seconds (status creating): a copy queued behind another " \
           "copy of the same source shows no progress" in cause, cause
    looks = [c for c in run.result["taskCalls"] if c["task"] == "CheckCopy"]
    assert len(looks) == 5, looks
    assert "Share" not in run.result["statesEntered"]


def test_two_live_accounts_in_two_regions_send_to_one_failsafe_account_two_days(stack, accounts):
    """Several Live accounts into one Failsafe account (docs/configuration.md: `additionalLiveAccounts`), each
    deployed from its own copy of the app: Live 111… in us-east-1 and Live 333… in eu-west-1, with
    an instance on aws/rds, a customer-key cluster and an unencrypted instance between them. Two
    days: every source of both accounts is saved in the Failsafe account each day, on its key,
    each under its own account's name, and nothing of one is taken for the other's."""
    live, failsafe = accounts
    other = stack.account("333333333333", "eu-west-1")
    stack.faults(creatingPolls=1)
    create_source(live, "instance", "orders", "aws-rds")
    create_source(live, "cluster", "ledger", create_key(live, "app-data"))
    create_source(other, "instance", "orders", "none", region="eu-west-1")  # the same id, elsewhere
    create_source(other, "cluster", "stock", create_key(other, "stock-data", region="eu-west-1"),
                  region="eu-west-1")
    d = Deployment.create(stack, live, failsafe, context={
        "additionalLiveAccounts": [other.id], "additionalLiveRegions": ["eu-west-1"]}).start()
    second = d.add_live(other)
    days = ["2026-11-20", "2026-11-21"]
    for day in days:
        for acct, kind, sid in ((live, "instance", "orders"), (live, "cluster", "ledger"),
                                (other, "instance", "orders"), (other, "cluster", "stock")):
            stack.seed_automated(acct, kind, sid, f"{day}T03:00:00Z", region=acct.region)
        first_run = d.run_live(f"{day}T05:00:00Z")
        second_run = second.run_live(f"{day}T05:30:00Z")
        assert first_run.status == second_run.status == "SUCCEEDED", (first_run.result.get("cause"),
                                                                      second_run.result.get("cause"))
        triggers = d.deliver()
        assert len(triggers) == 2 and all(t["ok"] and len(t["body"]["started"]) == 1 for t in triggers), triggers
        runs = d.run_started(f"{day}T06:00:00Z")
        assert [r.status for r in runs] == ["SUCCEEDED", "SUCCEEDED"], [r.result.get("cause") for r in runs]
    saved = failsafe_copies(d)
    stamps = [day.replace("-", "") + "0300" for day in days]
    expected = sorted(f"rdsf-{acct.id}-{sid}-{stamp}" for stamp in stamps for acct, sid in (
        (live, "orders"), (live, "ledger"), (other, "orders"), (other, "stock")))
    assert sorted(saved) == expected, sorted(saved)
    for sid, s in saved.items():
        assert s["region"] == failsafe.region and s["kmsKeyId"] == d.failsafe_key_arn, s
        owner = live.id if sid.startswith(f"rdsf-{live.id}-") else other.id
        assert s["tags"]["rds-failsafe:source-account"] == owner, s["tags"]
        assert s["tags"]["rds-failsafe:verified"][:10] in days, s["tags"]  # verified on its day


def test_one_live_account_sends_to_two_failsafe_accounts_two_days(stack, accounts):
    """One Live account with two Failsafe accounts (docs/configuration.md: `additionalFailsafeAccounts`), the
    second in another region and deployed from its own copy of the app: each day every source is
    shared with both, both topics get the message, and each Failsafe account saves every source
    on its own key, in its own region."""
    live, failsafe = accounts
    second = stack.account("444444444444", "eu-west-1")
    stack.faults(creatingPolls=1)
    mixed_estate(stack, live)  # 3 instances and 1 cluster, automated snapshots on 2026-11-20
    d = Deployment.create(stack, live, failsafe, context={
        "additionalFailsafeAccounts": [{"account": second.id, "region": second.region}]}).start()
    other = d.add_failsafe(second)
    days = ["2026-11-20", "2026-11-21"]
    for n, day in enumerate(days):
        if n:
            for kind, sid in (("instance", "orders"), ("instance", "billing"), ("instance", "users"),
                              ("cluster", "ledger")):
                stack.seed_automated(live, kind, sid, f"{day}T03:00:00Z")
        run = d.run_live(f"{day}T05:00:00Z")
        assert run.status == "SUCCEEDED", run.result.get("cause")
        for side in (d, other):
            triggers = side.deliver()
            assert len(triggers) == 1 and triggers[0]["ok"] and len(triggers[0]["body"]["started"]) == 1, triggers
            runs = side.run_started(f"{day}T06:00:00Z")
            assert [r.status for r in runs] == ["SUCCEEDED"], [r.result.get("cause") for r in runs]
    stamps = [day.replace("-", "") + "0300" for day in days]
    expected = sorted(f"rdsf-{live.id}-{sid}-{stamp}" for stamp in stamps
                      for sid in ("orders", "billing", "users", "ledger"))
    for side, acct in ((d, failsafe), (other, second)):
        saved = {s["id"]: s for s in side.snapshots(acct)}
        assert sorted(saved) == expected, (acct.id, sorted(saved))
        assert {(s["region"], s["kmsKeyId"]) for s in saved.values()} == {(acct.region, side.failsafe_key_arn)}
    # each share copy was shared with both Failsafe accounts
    shared = [s for s in d.snapshots(live, type="manual")]
    assert shared and all(sorted(s["sharedWith"]) == sorted([failsafe.id, second.id]) for s in shared), shared


def test_a_cadence_run_skips_a_database_rds_cannot_snapshot_now_and_the_daily_run_fails_for_it(stack, accounts):
    """CreateDBSnapshot: "The source DB instance must be in the available or storage-optimization
    state" (RDS API reference; the emulator refuses any other). A cadence's run meets the backup
    window or maintenance now and then: it skips the source naming why, and the next run takes the
    snapshot; the daily run fails for it, as its copy is the day's."""
    live, failsafe = accounts
    stack.faults(creatingPolls=1)
    create_source(live, "instance", "orders", create_key(live, "app-data"))
    create_source(live, "instance", "billing", create_key(live, "billing-data"))
    for sid in ("orders", "billing"):
        stack.seed_automated(live, "instance", sid, "2026-11-20T03:00:00Z")
    d = Deployment.create(stack, live, failsafe, context={"incrementalSources": ["all"]}).start()
    live.client("rds").stop_db_instance(DBInstanceIdentifier="orders")
    cadence = d.run_live("2026-11-20T09:00:00Z", {"sources": ["orders", "billing"], "takeSnapshots": True})
    assert cadence.status == "SUCCEEDED", cadence.result.get("cause")
    summary = cadence.result["output"]["summary"]
    assert summary["copied"] and summary["copiedCount"] == 1, summary
    assert summary["skippedCount"] == 1, summary
    assert "orders" in summary["skipped"][0] and "cannot be snapshotted now (InvalidDBInstanceState" in summary["skipped"][0] \
        and "the next one takes its snapshot" in summary["skipped"][0], summary["skipped"]
    daily = d.run_live(LIVE_AT)
    assert daily.status == "FAILED", daily.result.get("output")
    assert "instance:orders" in daily.result["cause"] and "InvalidDBInstanceState" in daily.result["cause"], \
        daily.result["cause"]
