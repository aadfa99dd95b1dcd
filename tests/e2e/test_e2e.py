"""End-to-end: the real state machines and the real Lambda binaries against the emulated
two-account AWS, with the trigger path Live notify -> SNS -> SQS -> start-failsafe -> Failsafe run.
Cases (a)-(i)."""

import json
from datetime import date, datetime, timedelta

import pytest
from rdsf_local.deployment import Deployment, create_key, create_source

DAY = "2026-11-20"
LIVE_AT = f"{DAY}T05:00:00Z"
FAILSAFE_AT = f"{DAY}T05:30:00Z"

MANAGED_TAGS = {
    "rds-failsafe:managed", "rds-failsafe:source-account", "rds-failsafe:source-region",
    "rds-failsafe:source-id", "rds-failsafe:source-snapshot-arn",
    "rds-failsafe:source-create-time", "rds-failsafe:kind",
}


def mixed_estate(stack, live, **kw) -> Deployment:
    """3 instances and 1 Aurora cluster: unencrypted, aws/rds, customer key; automated snapshots
    taken at 03:00 on DAY."""
    app_key = create_key(live, "app-data")
    create_source(live, "instance", "orders", "none")
    create_source(live, "instance", "billing", "aws-rds")
    create_source(live, "instance", "users", app_key)
    create_source(live, "cluster", "ledger", app_key)
    for kind, sid in (("instance", "orders"), ("instance", "billing"), ("instance", "users"),
                      ("cluster", "ledger")):
        stack.seed_automated(live, kind, sid, f"{DAY}T03:00:00Z")
    return kw


def failsafe_copies(d: Deployment) -> dict[str, dict]:
    return {s["id"]: s for s in d.snapshots(d.failsafe)}


def state(d: Deployment) -> list[tuple]:
    """What must not change: every snapshot of both accounts with status, key, tags, sharing."""
    return [(s["account"], s["id"], s["status"], s["kmsKeyId"], json.dumps(s["tags"], sort_keys=True),
             tuple(s["sharedWith"]), s["createTime"]) for s in d.stack.world()]


@pytest.fixture
def deployed(stack, accounts):
    live, failsafe = accounts
    stack.faults(creatingPolls=2)
    mixed_estate(stack, live)

    def make(**kw) -> Deployment:
        return Deployment.create(stack, live, failsafe, **kw).start()

    return make


def test_mixed_encryption_estate_lands_in_failsafe_encrypted_with_its_key(deployed, engine):
    d = deployed()
    day = d.day(LIVE_AT, FAILSAFE_AT)
    assert day["live"].status == "SUCCEEDED", json.dumps(day["live"].result)[:6000]
    assert sorted(day["live"].result["output"]["summary"]["copied"]) == [
        "cluster:ledger -> rdsf-ledger-202611200300",
        "instance:billing -> rdsf-billing-202611200300",
        "instance:orders -> rdsf-orders-202611200300",
        "instance:users -> rdsf-users-202611200300"]
    # the preflight found the share key, the topic and both quotas in order
    preflight = day["live"].result["output"]["preflight"]
    assert (preflight["problemCount"], preflight["warningCount"], preflight["okCount"]) == (0, 0, 4), preflight
    # the trigger went through SNS and SQS to start-failsafe, which started one execution
    assert [t["ok"] for t in day["triggers"]] == [True]
    assert len(day["triggers"][0]["body"]["started"]) == 1
    assert [f.status for f in day["failsafe"]] == ["SUCCEEDED"]

    copies = failsafe_copies(d)
    assert sorted(copies) == [f"rdsf-{d.live.id}-{s}-202611200300"
                              for s in ("billing", "ledger", "orders", "users")]
    for c in copies.values():
        assert c["status"] == "available"
        assert c["type"] == "manual"
        assert c["encrypted"] and c["kmsKeyId"] == d.failsafe_key_arn, c
        assert MANAGED_TAGS <= set(c["tags"]), c["tags"]
        assert c["tags"]["rds-failsafe:managed"] == "true"
        assert c["tags"]["rds-failsafe:source-account"] == d.live.id
        assert c["tags"]["rds-failsafe:source-create-time"].startswith(f"{DAY}T03:00")
        assert c["tags"].get("rds-failsafe:verified"), "verify tags a checked copy"
    assert copies[f"rdsf-{d.live.id}-ledger-202611200300"]["kind"] == "cluster"
    # Live: the share copies sit on the share key and are shared with the Failsafe account only
    for s in d.snapshots(d.live, type="manual"):
        assert s["sharedWith"] == [d.failsafe.id]
        if s["encrypted"]:
            assert s["kmsKeyId"] == d.share_key_arn


def test_a_backup_window_inside_the_runs_copy_is_a_preflight_warning(deployed):
    """RDS takes no automated backup of a database while a snapshot copy of it runs (RDS User
    Guide, automated backups): users' window opens half an hour into the 05:00 run."""
    d = deployed()
    d.live.client("rds").modify_db_instance(DBInstanceIdentifier="users", PreferredBackupWindow="05:30-06:00",
                                            ApplyImmediately=True)
    run = d.run_live(LIVE_AT)
    assert run.status == "SUCCEEDED", run.result.get("cause")
    preflight = run.result["output"]["preflight"]
    assert preflight["warningCount"] == 1, preflight
    [w] = preflight["warnings"]
    assert (w["check"], w["subject"]) == ("backup-window", "instance users"), w
    assert "05:30-06:00 UTC" in w["message"] and "from 05:00 UTC" in w["message"] and "liveSchedule" in w["message"]


def copy_time_records(d: Deployment, since: int) -> list[dict]:
    """The EMF records `verify` wrote (policy: one per copy the run started) after `since` bytes
    of the Failsafe account's Lambda log."""
    text = d.failsafe_host.process.log_path.read_text(errors="replace")[since:]
    return [json.loads(ln[ln.index('{"_aws"'):]) for ln in text.splitlines()
            if '{"_aws"' in ln and '"CopySeconds"' in ln]


def test_second_run_same_day_changes_nothing(deployed):
    d = deployed()
    start = len(d.failsafe_host.process.log_path.read_text(errors="replace"))
    d.day(LIVE_AT, FAILSAFE_AT)
    # each Failsafe copy the run made: its time and size per source (the dashboard graphs them)
    made = copy_time_records(d, start)
    assert sorted((m["SourceId"], m.get("CopySizeGiB"), m["CopyMode"]) for m in made) == [
        ("billing", 20, "full"), ("ledger", None, "full"), ("orders", 20, "full"), ("users", 20, "full")]
    assert all(m["CopySeconds"] > 0 and m["SourceAccount"] == d.live.id for m in made), made
    before = state(d)
    logged = len(d.failsafe_host.process.log_path.read_text(errors="replace"))
    again = d.day(f"{DAY}T09:00:00Z", f"{DAY}T09:30:00Z")
    assert again["live"].status == "SUCCEEDED", again["live"].result
    assert again["live"].result["output"]["summary"]["failedCount"] == 0
    assert all(f.status == "SUCCEEDED" for f in again["failsafe"])
    backstop = d.run_failsafe(f"{DAY}T23:00:00Z")
    assert backstop.status == "SUCCEEDED", backstop.result
    assert state(d) == before
    # copies found made already are not timed again
    assert copy_time_records(d, logged) == []


def test_duplicate_and_forged_messages_overwrite_and_delete_nothing(deployed):
    d = deployed()
    sqs = d.failsafe.client("sqs")
    d.run_live(LIVE_AT)
    # Keep the real notification to replay it later.
    [msg] = sqs.receive_message(QueueUrl=d.queue_url, MaxNumberOfMessages=10)["Messages"]
    envelope = json.loads(msg["Body"])
    sqs.delete_message(QueueUrl=d.queue_url, ReceiptHandle=msg["ReceiptHandle"])
    from rdsf_local.deployment import sns_event

    first = d.invoke_trigger(sns_event(envelope))
    assert first["ok"] and len(first["body"]["started"]) == 1
    d.run_started(FAILSAFE_AT)
    before = state(d)

    # the same message delivered again: the execution name is taken -> no-op
    dup = d.invoke_trigger(sns_event(envelope))
    assert dup["ok"] and dup["body"]["started"] == [] and len(dup["body"]["duplicates"]) == 1

    payload = json.loads(envelope["Message"])
    forged = [
        dict(payload, sourceAccount="999999999999"),  # not an allowed Live account
        dict(payload, version=99),  # unknown schema version
        {"hello": "world"},  # not our message at all
    ]
    for f in forged:
        out = d.invoke_trigger(sns_event(dict(envelope, Message=json.dumps(f))))
        assert out["ok"] and out["body"]["started"] == [] and len(out["body"]["rejected"]) == 1, out
    garbage = d.invoke_trigger(sns_event(dict(envelope, Message="{not json")))
    assert garbage["ok"] and len(garbage["body"]["rejected"]) == 1
    not_sns = d.invoke_trigger({"detail": "an EventBridge event"})
    assert not_sns["ok"] and len(not_sns["body"]["rejected"]) == 1

    # A message from the allowed account that names a Failsafe copy as its snapshot is rejected.
    aimed = dict(payload, snapshots=[{
        "arn": f"arn:aws:rds:{d.failsafe.region}:{d.failsafe.id}:snapshot:rdsf-{d.live.id}-users-202611200300",
        "kind": "instance", "sourceId": "users", "sourceCreateTime": f"{DAY}T03:00:00Z"}])
    out = d.invoke_trigger(sns_event(dict(envelope, Message=json.dumps(aimed))))
    assert out["ok"] and out["body"]["started"] == [] and len(out["body"]["rejected"]) == 1, out
    # A well-formed, different message is only a wake-up hint: it starts a run, which finds
    # everything saved already.
    hint = dict(payload, snapshots=payload["snapshots"][:1])
    started = d.invoke_trigger(sns_event(dict(envelope, Message=json.dumps(hint), MessageId="forged-1")))
    assert started["ok"] and len(started["body"]["started"]) == 1, started
    [run] = d.run_started(f"{DAY}T06:00:00Z")
    assert run.status == "SUCCEEDED", run.result
    assert state(d) == before


def test_throttled_copy_succeeds_through_the_state_machine_retry(deployed, stack, engine):
    d = deployed()
    stack.faults(throttle={"CopyDBSnapshot": 2})
    live = d.run_live(LIVE_AT)
    assert live.status == "SUCCEEDED", live.result
    copy_calls = [c for c in live.result["taskCalls"] if c["task"] == "CopyLatest"]  # either lane
    assert [c.get("errorType") for c in copy_calls].count("Throttled") == 2
    assert sum(1 for c in copy_calls if "errorType" not in c) == 4
    assert len(live.result["output"]["summary"]["copied"]) == 4


def test_throttled_listing_is_retried_by_the_sdk_not_restarted_by_the_state_machine(deployed, stack):
    # RDS's request rate is per account and region (docs/aws-facts.md): a busy account throttles
    # some page of a listing. The SDK retries a read (port::aws::READ_ATTEMPTS) and says so in the
    # function's log and an EMF metric; no task fails, so nothing is listed twice.
    d = deployed()
    log = d.live_host.process.log_path
    before = len(log.read_text(errors="replace")) if log.exists() else 0
    stack.faults(throttle={"DescribeDBInstances": 2, "DescribeDBSnapshots": 1})
    live = d.run_live(LIVE_AT)
    assert live.status == "SUCCEEDED", live.result
    assert [c for c in live.result["taskCalls"] if "errorType" in c] == []
    assert len(live.result["output"]["summary"]["copied"]) == 4
    assert set(stack.faults()["throttle"].values()) == {0}
    lines = log.read_text(errors="replace")[before:].splitlines()
    retried = [ln for ln in lines if "rds-read-retry" in ln]
    assert sum("DescribeDBInstances" in ln for ln in retried) == 2, retried
    assert sum("DescribeDBSnapshots" in ln for ln in retried) == 1, retried
    assert all("Throttling" in ln for ln in retried), retried
    records = [json.loads(ln) for ln in lines if ln.startswith("{")]
    metrics = [r for r in records if "_aws" in r and "RdsReadAttemptsFailed" in r]
    assert sorted(m["Operation"] for m in metrics) == ["DescribeDBInstances"] * 2 + ["DescribeDBSnapshots"]
    assert {m["Code"] for m in metrics} == {"Throttling"}


def test_failed_copy_fails_the_run_naming_the_source_after_the_others_are_saved(deployed, stack, engine):
    d = deployed()
    stack.faults(failCopiesOf=["billing"])
    day = d.day(LIVE_AT, FAILSAFE_AT)
    live = day["live"]
    assert live.status == "FAILED"
    assert "billing" in live.result["cause"], live.result
    summary = json.loads(live.result["cause"]) if live.result["cause"].startswith("{") else None
    if summary:
        assert summary.get("failedCount", 1) >= 1
    saved = sorted(failsafe_copies(d))
    assert saved == [f"rdsf-{d.live.id}-{s}-202611200300" for s in ("ledger", "orders", "users")]
    assert [f.status for f in day["failsafe"]] == ["SUCCEEDED"]


def test_share_key_without_failsafe_grant_is_a_clear_kms_error(deployed):
    d = deployed(share_key_grants_failsafe=False)
    day = d.day(LIVE_AT, FAILSAFE_AT)
    assert day["live"].status == "SUCCEEDED"
    # The Live preflight saw it first: a problem in the summary, but not one that stops the run,
    # since the unencrypted source is copied without the key.
    preflight = day["live"].result["output"]["preflight"]
    assert preflight["problemCount"] == 1, preflight
    [problem] = preflight["problems"]
    assert (problem["check"], problem["subject"]) == ("share-key", d.share_key_arn)
    assert f"does not let Failsafe account {d.failsafe.id} use it" in problem["message"]
    assert "kms:CreateGrant" in problem["message"] and not problem.get("blocks")
    [run] = day["failsafe"]
    assert run.status == "FAILED"
    assert "KmsKeyNotAccessible" in run.result["cause"], run.result
    assert d.share_key_arn in run.result["cause"]
    # The unencrypted share copy needs no key and is still saved.
    assert sorted(failsafe_copies(d)) == [f"rdsf-{d.live.id}-orders-202611200300"]


def test_share_key_no_failsafe_account_may_use_stops_the_live_run_before_copying(stack, accounts):
    """Every source encrypted, so every copy is made with the share key, and its policy grants no
    Failsafe account: the preflight stops the run with one message and nothing is copied."""
    live, failsafe = accounts
    app_key = create_key(live, "app-data")
    for kind, sid, enc in (("instance", "billing", "aws-rds"), ("instance", "users", app_key),
                           ("cluster", "ledger", app_key)):
        create_source(live, kind, sid, enc)
        stack.seed_automated(live, kind, sid, f"{DAY}T03:00:00Z")
    d = Deployment.create(stack, live, failsafe, share_key_grants_failsafe=False).start()
    before = state(d)
    run = d.run_live(LIVE_AT)
    assert run.status == "FAILED" and run.result["error"] == "PreflightFailed", run.result
    cause = json.loads(run.result["cause"])
    assert cause["errorType"] == "PreflightFailed"
    message = cause["errorMessage"]
    assert message.startswith("preflight: no copy of this run could be saved in a Failsafe account, so nothing was copied: "
                              f"share-key {d.share_key_arn}: the share key's policy does not let "
                              f"Failsafe account {d.failsafe.id} use it"), message
    assert "redeploy the Live stack" in message and "rdsf preflight" in message
    assert state(d) == before and d.deliver() == []
    # A dry run reports what would stop the run, and still changes nothing.
    dry = d.run_live(LIVE_AT, {"dryRun": True})
    assert dry.status == "SUCCEEDED", dry.result
    assert dry.result["output"]["preflight"]["wouldStop"] == message
    assert state(d) == before


def test_dry_run_changes_nothing_in_either_account(deployed, engine):
    d = deployed()
    before = state(d)
    live = d.run_live(LIVE_AT, {"dryRun": True})
    assert live.status == "SUCCEEDED", live.result
    assert len(live.result["output"]["summary"]["planned"]) == 4
    assert d.deliver() == []  # a dry run notifies nobody
    assert state(d) == before
    # With real share copies in place, a Failsafe dry run plans them and still changes nothing.
    d.run_live(f"{DAY}T06:00:00Z")
    after_live = state(d)
    fs = d.run_failsafe(f"{DAY}T06:30:00Z", {"dryRun": True})
    assert fs.status == "SUCCEEDED", fs.result
    assert len(fs.result["output"]["summary"]["planned"]) == 4
    assert state(d) == after_live


def expected_gfs(days: list[date], today: date, daily: int, weekly: int, monthly: int,
                 floor: int) -> set[date]:
    """The retention rule of docs/configuration.md, written independently of the Rust code: keep the newest copy
    of each of the last `daily` days, `weekly` ISO weeks and `monthly` months, and the newest
    `floor` copies whatever their age."""
    def newest(key, wanted):
        out = {}
        for d in sorted(days, reverse=True):
            k = key(d)
            if k in wanted and k not in out:
                out[k] = d
        return set(out.values())

    week = lambda d: d - timedelta(days=d.weekday())  # noqa: E731
    month = lambda d: (d.year, d.month)  # noqa: E731
    keep = set(sorted(days)[-floor:])
    keep |= newest(lambda d: d, {today - timedelta(days=i) for i in range(daily)})
    keep |= newest(week, {week(today) - timedelta(weeks=i) for i in range(weekly)})
    months, y, m = set(), today.year, today.month
    for _ in range(monthly):
        months.add((y, m))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    keep |= newest(month, months)
    return keep


@pytest.mark.long
def test_forty_days_leave_exactly_the_retention_set(stack, accounts):
    live, failsafe = accounts
    stack.faults(creatingPolls=1)
    create_source(live, "instance", "orders", "aws-rds")
    d = Deployment.create(stack, live, failsafe, context={
        "sources": ["orders"], "liveKeep": 2,
        "retention": {"daily": 7, "weekly": 4, "monthly": 3}, "minKeep": 3}).start()
    first = date(2026, 9, 1)
    days = [first + timedelta(days=i) for i in range(40)]
    for day in days:
        stack.seed_automated(live, "instance", "orders", f"{day}T03:00:00Z")
        # RDS drops automated snapshots past the backup retention (7 days here)
        stack.control("expire-automated", {"before": f"{day - timedelta(days=7)}T00:00:00Z"})
        out = d.day(f"{day}T05:00:00Z", f"{day}T05:30:00Z")
        assert out["live"].status == "SUCCEEDED", (day, out["live"].result)
        assert [f.status for f in out["failsafe"]] == ["SUCCEEDED"], (day, out["failsafe"][0].result)

    kept = {datetime.strptime(c["id"].rsplit("-", 1)[1], "%Y%m%d%H%M").date()
            for c in d.snapshots(failsafe)}
    want = expected_gfs(days, days[-1], daily=7, weekly=4, monthly=3, floor=3)
    assert kept == want, (sorted(kept), sorted(want))
    assert len(want) == 10  # Oct 4-10 daily, Sep 20 and 27 weekly, Sep 30 monthly
    # Live keeps LIVE_KEEP older share copies plus today's.
    live_copies = sorted(s["id"] for s in d.snapshots(live, type="manual"))
    assert live_copies == ["rdsf-orders-202610080300", "rdsf-orders-202610090300",
                           "rdsf-orders-202610100300"]
    # Automated snapshots were never touched by the tool: only RDS's own expiry removed them.
    assert len(d.snapshots(live, type="automated")) == 8


LONG_CLUSTER = "payments-ledger-aurora-cluster-payments-ledger-aurora-clus-a"  # 60 characters


def test_cross_region_failsafe_saves_instances_and_clusters_and_cannot_succeed_silently(stack, accounts):
    """Live us-east-1, Failsafe eu-west-1: an instance on aws/rds, an unencrypted instance, a
    cluster on a customer key whose id is 60 characters long, an unencrypted cluster; two days.
    First with the Failsafe side looking only in its own region (a mistake a deployment can make): the
    triggered run fails naming what it could not see. Then as CDK configures it."""
    assert len(LONG_CLUSTER) == 60
    live_east, _ = accounts
    failsafe_west = stack.account(accounts[1].id, "eu-west-1")
    stack.faults(creatingPolls=2)
    app_key = create_key(live_east, "app-data")
    create_source(live_east, "instance", "orders", "aws-rds")
    create_source(live_east, "instance", "plain", "none")
    create_source(live_east, "cluster", LONG_CLUSTER, app_key)
    create_source(live_east, "cluster", "reports", "none")
    sources = [("instance", "orders"), ("instance", "plain"), ("cluster", LONG_CLUSTER),
               ("cluster", "reports")]

    def seed(day: str) -> None:
        for kind, sid in sources:
            stack.seed_automated(live_east, kind, sid, f"{day}T03:00:00Z")

    # the mistake: Failsafe looks only in eu-west-1, where nothing is ever shared
    d = Deployment.create(stack, live_east, failsafe_west,
                          env_overrides={"failsafe": {"SOURCE_REGIONS": "eu-west-1"}}).start()
    seed(DAY)
    day1 = d.day(LIVE_AT, FAILSAFE_AT)
    assert day1["live"].status == "SUCCEEDED", day1["live"].result
    [run] = day1["failsafe"]
    assert run.status == "FAILED", run.result
    cause = run.result["cause"]
    shared_arns = [s["arn"] for s in d.snapshots(live_east, type="manual")]
    assert len(shared_arns) == 4
    for arn in shared_arns:
        assert arn in cause, (arn, cause)
    assert "SOURCE_REGIONS" in cause and "us-east-1" in cause
    assert failsafe_copies(d) == {}

    # as deployed by CDK: SOURCE_REGIONS from liveRegion; a re-run the same day saves all four
    d.failsafe_config["SOURCE_REGIONS"] = "us-east-1"
    d.start()
    rerun = d.run_failsafe(f"{DAY}T07:00:00Z")
    assert rerun.status == "SUCCEEDED", rerun.result
    seed("2026-11-21")
    day2 = d.day("2026-11-21T05:00:00Z", "2026-11-21T05:30:00Z")
    assert day2["live"].status == "SUCCEEDED", day2["live"].result
    assert [f.status for f in day2["failsafe"]] == ["SUCCEEDED"], day2["failsafe"][0].result

    copies = failsafe_copies(d)
    assert len(copies) == 8, sorted(copies)
    for c in copies.values():
        assert c["region"] == "eu-west-1" and c["status"] == "available", c
        assert c["tags"]["rds-failsafe:source-region"] == "us-east-1"
        assert c["tags"].get("rds-failsafe:verified"), c
        if c["kind"] == "cluster":
            assert len(c["id"]) <= 63, c["id"]
        if c["source"] == "reports":
            assert not c["encrypted"], "RDS cannot encrypt an unencrypted cluster snapshot by copying"
        else:
            assert c["encrypted"] and c["kmsKeyId"] == d.failsafe_key_arn, c
    long_copies = [c for c in copies.values() if c["tags"]["rds-failsafe:source-id"] == LONG_CLUSTER]
    assert len(long_copies) == 2
    for c in long_copies:
        assert len(c["id"]) <= 63 and c["id"].startswith(f"rdsf-{d.live.id}-payments-ledger"), c["id"]
    live_long = [s for s in d.snapshots(live_east, type="manual", kind="cluster")
                 if s["tags"].get("rds-failsafe:source-id") == LONG_CLUSTER]
    assert live_long and all(len(s["id"]) <= 63 for s in live_long)
    # nothing was copied into the Failsafe account's us-east-1, and the message went to the
    # topic in eu-west-1 through a client of that region
    assert not [s for s in d.snapshots(failsafe_west) if s["region"] != "eu-west-1"]
    assert all(t["ok"] and t["body"]["started"] for t in day2["triggers"])


def test_a_held_copy_survives_retention_until_break_glass_releases_it(stack, accounts):
    """A legal hold on the local stack: break-glass (the role the guardrails reserve holds for)
    holds the first day's copy with `rdsf hold`; with RETENTION=1 and MIN_KEEP=1 the next days'
    prunes would delete it, and keep it, saying why; `rdsf status` lists it; `rdsf release` by
    break-glass ends the hold and the next prune deletes it. The recorder keeps both tag writes
    with the role that made them: the policy proof checks them against the guardrails (allowed to
    break-glass, denied to the Failsafe administrator)."""
    from rdsf_local.stack import rdsf

    live, failsafe = accounts
    stack.faults(creatingPolls=1)
    create_source(live, "instance", "orders", "aws-rds")
    d = Deployment.create(stack, live, failsafe, context={
        "sources": ["orders"], "retention": {"days": 1}, "minKeep": 1}).start()
    break_glass = stack.account(failsafe.id, failsafe.region, role="rds-failsafe-break-glass")

    def day(n: int) -> dict:
        when = date(2026, 11, n)
        stack.seed_automated(live, "instance", "orders", f"{when}T03:00:00Z")
        out = d.day(f"{when}T05:00:00Z", f"{when}T05:30:00Z")
        assert out["live"].status == "SUCCEEDED", out["live"].result
        [run] = out["failsafe"]
        assert run.status == "SUCCEEDED", run.result
        return run.result["output"]["retention"]

    def copies() -> list[str]:
        return sorted(s["id"] for s in d.snapshots(failsafe))

    first = f"rdsf-{live.id}-orders-202611010300"
    day(1)
    held = rdsf(break_glass, "hold", "orders", "--reason", "case 4411", "--json")
    assert held.returncode == 0, held.stderr
    report = json.loads(held.stdout)
    assert [c["id"] for c in report["copies"]] == [first] and report["hold"].endswith(" case 4411")
    retention = day(2)
    retention = day(3)
    assert copies() == [first, f"rdsf-{live.id}-orders-202611030300"], copies()
    [orders] = retention["sources"]
    kept = {k["id"]: k["reasons"] for k in orders["kept"]}
    assert kept[first] == [f"legal hold: {report['hold']}"], kept
    assert orders["deleted"] == [f"rdsf-{live.id}-orders-202611020300"], orders

    status = rdsf(break_glass, "status", "--json", "--now", "2026-11-03T06:00:00Z")
    [source] = json.loads(status.stdout)["sources"]
    assert [(h["copy"]["id"], h["hold"]) for h in source["holds"]] == [(first, report["hold"])]
    table = rdsf(break_glass, "status", "--now", "2026-11-03T06:00:00Z")
    assert "legal holds" in table.stdout and "case 4411" in table.stdout, table.stdout

    # a release before every held copy says which are held, and changes nothing
    wrong = rdsf(break_glass, "release", "orders", "--at", "2026-10-01")
    assert wrong.returncode == 2 and "the held copies are " + first in wrong.stderr, wrong.stderr
    released = rdsf(break_glass, "release", "orders", "--all")
    assert released.returncode == 0, released.stderr
    assert f"released {first}" in released.stdout, released.stdout
    retention = day(4)
    assert copies() == [f"rdsf-{live.id}-orders-202611040300"], copies()
    assert first in retention["sources"][0]["deleted"], retention


def test_preflight_says_whether_the_guardrails_are_attached_as_cdk_wrote_them(stack, accounts, tmp_path):
    """`rdsf preflight --guardrails` with the management account's credentials: the guardrails
    stack "deployed" into the emulator's Organizations (an OU holding the Failsafe account) is
    attached as CDK wrote it; an SCP someone loosened outside the stack is a problem naming the
    statement; one detached is a problem saying so."""
    from rdsf_local.deployment import MANAGEMENT_ACCOUNT, deploy_guardrails
    from rdsf_local.stack import rdsf
    from rdsf_local.templates import synthesize

    live, failsafe = accounts
    management = stack.account(MANAGEMENT_ACCOUNT, failsafe.region)
    org = management.client("organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    ou = org.create_organizational_unit(ParentId=root, Name="failsafe")["OrganizationalUnit"]["Id"]
    context = {"liveAccount": live.id, "liveRegion": live.region, "failsafeAccount": failsafe.id,
               "sources": ["all"], "alertEmails": ["oncall@example.com"],
               "guardrails": {"managementAccount": MANAGEMENT_ACCOUNT, "targetId": ou}}
    template = synthesize(context)["guardrails"]
    path = tmp_path / "rds-failsafe-guardrails.template.json"
    path.write_text(json.dumps(template))
    ids = deploy_guardrails(management, template)
    assert sorted(ids) == [f"rds-failsafe-guardrails-{failsafe.id}", f"rds-failsafe-key-guardrails-{failsafe.id}"]

    ok = rdsf(management, "preflight", "--guardrails", str(path), "--json")
    assert ok.returncode == 0, ok.stderr + ok.stdout
    [found] = json.loads(ok.stdout)
    assert [(f["level"], f["subject"]) for f in found["report"]["findings"]] == [
        ("ok", f"rds-failsafe-guardrails-{failsafe.id} on {ou}"),
        ("ok", f"rds-failsafe-key-guardrails-{failsafe.id} on {ou}")], found

    # loosened outside the stack: the copies' statement gone
    scp_id = ids[f"rds-failsafe-guardrails-{failsafe.id}"]
    doc = json.loads(org.describe_policy(PolicyId=scp_id)["Policy"]["Content"])
    doc["Statement"] = [st for st in doc["Statement"] if st["Sid"] != "CopiesStay"]
    org.update_policy(PolicyId=scp_id, Content=json.dumps(doc))
    # and the RCP detached
    org.detach_policy(PolicyId=ids[f"rds-failsafe-key-guardrails-{failsafe.id}"], TargetId=ou)
    bad = rdsf(management, "preflight", "--guardrails", str(path))
    assert bad.returncode == 1, bad.stderr + bad.stdout
    assert "but not as CDK wrote it: statement CopiesStay is missing" in bad.stdout, bad.stdout
    assert f"rds-failsafe-key-guardrails-{failsafe.id} is not attached to {ou}" in bad.stdout, bad.stdout

    # a template that is not the guardrails stack's is bad input
    other = tmp_path / "live.template.json"
    other.write_text(json.dumps(synthesize(context)["live"]))
    wrong = rdsf(management, "preflight", "--guardrails", str(other))
    assert wrong.returncode == 2 and "has no AWS::Organizations::Policy" in wrong.stderr, wrong.stderr
