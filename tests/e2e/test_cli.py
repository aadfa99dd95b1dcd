"""The operator's `rdsf` against the local stack, after a real day of Live -> trigger -> Failsafe:
`status` (table and --json, exit codes), `restore --dry-run` (prints, changes nothing) and
`restore` (the emulator's RDS restores the Failsafe copy into a new instance or cluster).

The cases that use `saved` share one day: they read, and the one that restores runs last of them
(it adds databases, no snapshot). Their group keeps them on one parallel worker, in order."""

import json

import pytest
from conftest import FAILSAFE_ID, LIVE_ID, REGION
from test_e2e import FAILSAFE_AT, LIVE_AT, mixed_estate, state
from rdsf_local.deployment import Deployment
from rdsf_local.stack import rdsf

pytestmark = pytest.mark.xdist_group("cli-day")

# The day's copies are of 03:00 on 2026-11-20; the operator looks at 09:00 that day.
NOW = "2026-11-20T09:00:00Z"


@pytest.fixture(scope="module")
def saved(stack) -> Deployment:
    stack.reset()
    live, failsafe = stack.account(LIVE_ID, REGION), stack.account(FAILSAFE_ID, REGION)
    stack.faults(creatingPolls=2)
    mixed_estate(stack, live)
    d = Deployment.create(stack, live, failsafe).start()
    day = d.day(LIVE_AT, FAILSAFE_AT)
    assert [f.status for f in day["failsafe"]] == ["SUCCEEDED"], day
    yield d
    stack.stop_lambdas()


def rds_of(account):
    return account.client("rds")


def test_status_shows_every_source_fresh_and_exits_0(saved):
    d = saved
    out = rdsf(d.failsafe, "status", "--now", NOW, "--json")
    assert out.returncode == 0, out.stderr + out.stdout
    report = json.loads(out.stdout)
    assert [(s["sourceAccount"], s["sourceId"], s["kind"], s["freshness"]) for s in report["sources"]] == [
        (d.live.id, "billing", "instance", "fresh"), (d.live.id, "ledger", "cluster", "fresh"),
        (d.live.id, "orders", "instance", "fresh"), (d.live.id, "users", "instance", "fresh")]
    for s in report["sources"]:
        assert s["ageHours"] == 6.0
        assert (s["copies"], s["verifiedCopies"]) == (1, 1)
        assert s["kmsKeyId"] == d.failsafe_key_arn and s["keyWarning"] is None
        assert s["lastDrill"] is None
    assert report["problems"] == []
    assert {q["kind"]: q["used"] for q in report["quotas"]} == {"instance": 3, "cluster": 1}
    # every Failsafe copy is full, billed at its snapshot's AllocatedStorage (the emulator's DB
    # instances have 20 GiB), at the list price unless told; an Aurora snapshot does not report
    # its size (AllocatedStorage 1), so the cluster is not priced
    assert {s["sourceId"]: (s["storedGib"], s["monthlyUsd"]) for s in report["sources"]} == {
        "billing": (20, 20 * 0.095), "ledger": (None, None), "orders": (20, 20 * 0.095),
        "users": (20, 20 * 0.095)}
    assert report["storedGib"] == 60
    assert abs(report["monthlyUsd"] - 60 * 0.095) < 1e-9, report["monthlyUsd"]
    # one copy each: as a chain, the same (the chain's arithmetic: policy::cost's tests)
    assert {s["sourceId"]: s["chainGib"] for s in report["sources"]} == {
        "billing": 20, "ledger": None, "orders": 20, "users": 20}
    assert (report["chainGib"], report["changePerDay"]) == (60, 0.02)
    # by retention tier, with the retention the deployed Failsafe functions run with (read from
    # their environment): each source's one copy is the month's newest
    assert report["retention"] == "KEEP_HOURLY=0 KEEP_DAILY=7 KEEP_WEEKLY=4 KEEP_MONTHLY=12 MIN_KEEP=3"
    assert report["tiers"] == [{"tier": "monthly", "copies": 4, "storedGib": 60,
                                "monthlyUsd": report["monthlyUsd"]}], report["tiers"]
    assert {s["sourceId"]: [t["tier"] for t in s["tiers"]] for s in report["sources"]} == {
        "billing": ["monthly"], "ledger": ["monthly"], "orders": ["monthly"], "users": ["monthly"]}

    table = rdsf(d.failsafe, "status", "--now", NOW, "--usd-per-gb-month", "0.2")
    assert table.returncode == 0, table.stderr
    assert f"{d.live.id}:orders" in table.stdout and "6.0 h" in table.stdout and "fresh" in table.stdout
    assert "ok: every source has a verified copy within the threshold" in table.stdout
    assert "stored: 60 GiB in full copies of DB instances, about 12.00 USD a month at 0.2 USD per GB-month" in table.stdout
    assert "chain: 60 GiB, about 12.00 USD a month, if each source's copies are one incremental chain" in table.stdout
    assert "by retention tier (KEEP_HOURLY=0 KEEP_DAILY=7 KEEP_WEEKLY=4 KEEP_MONTHLY=12 MIN_KEEP=3" in table.stdout
    assert any(line.split()[:5] == ["all", "sources", "monthly", "4", "60"] for line in table.stdout.splitlines()), table.stdout
    # a function that is not rds-failsafe's: status still answers, and says why there are no tiers
    other = rdsf(d.failsafe, "status", "--now", NOW, "--function", "no-such-function")
    assert other.returncode == 0, other.stderr
    assert "by retention tier: not shown: the deployed configuration could not be read" in other.stdout, other.stdout
    bad = rdsf(d.failsafe, "status", "--change-per-day", "2")
    assert bad.returncode == 2 and "not a fraction from 0 to 1" in bad.stderr, bad.stderr


def test_status_exits_1_naming_stale_sources_and_an_account_without_copies(saved):
    d = saved
    late = rdsf(d.failsafe, "status", "--now", "2026-11-22T09:00:00Z", "--max-age-hours", "30")
    assert late.returncode == 1, late.stderr + late.stdout
    assert f"{d.live.id}:orders: newest verified copy is 54.0 h old, over 30 h" in late.stdout
    # the Live account's profile by mistake: no copies there, which is a problem, not "all fine"
    wrong = rdsf(d.live, "status", "--json")
    assert wrong.returncode == 1
    problems = json.loads(wrong.stdout)["problems"]
    assert "share copies of a Live account are here: this is a Live account" in problems[0], problems
    assert "no rds-failsafe copies in region" in problems[1], problems


def test_restore_dry_run_prints_the_command_and_changes_nothing(saved):
    d = saved
    before = state(d)
    out = rdsf(d.failsafe, "restore", "orders", "--dry-run")
    assert out.returncode == 0, out.stderr + out.stdout
    copy = f"rdsf-{d.live.id}-orders-202611200300"
    assert (f"aws rds restore-db-instance-from-db-snapshot --region {d.failsafe.region} "
            f"--db-instance-identifier orders-restored-202611200300 --db-snapshot-identifier {copy} "
            "--no-publicly-accessible") in out.stdout
    assert "dry run: nothing restored" in out.stdout
    # what the restore will not have that the source had: this account's defaults
    assert "note: the restore gets this account's default DB parameter group" in out.stdout, out.stdout
    assert "note: no --security-group given: the restore gets the VPC's default security group" in out.stdout
    assert state(d) == before
    assert rds_of(d.failsafe).describe_db_instances()["DBInstances"] == []


def test_restore_of_an_unknown_source_or_time_exits_2_naming_what_is_there(saved):
    d = saved
    out = rdsf(d.failsafe, "restore", "nosuch", "--dry-run")
    assert out.returncode == 2
    assert f"sources with copies: {d.live.id}:billing, {d.live.id}:ledger" in out.stderr, out.stderr
    early = rdsf(d.failsafe, "restore", "orders", "--at", "2026-11-19", "--dry-run")
    assert early.returncode == 2
    assert "no verified copy taken at or before 2026-11-19T00:00:00Z" in early.stderr, early.stderr


def test_preflight_reads_the_deployed_configuration_in_each_account_and_passes(saved):
    d = saved
    live = rdsf(d.live, "preflight", "--json")
    assert live.returncode == 0, live.stderr + live.stdout
    [entry] = json.loads(live.stdout)
    report = entry["report"]
    assert (report["side"], report["account"], report["sources"]) == ("live", d.live.id, 4)
    assert len(entry["functions"]) == 7  # every Live task carries the one configuration
    assert sorted((f["check"], f["subject"], f["level"]) for f in report["findings"]) == [
        ("quota", "ManualClusterSnapshots", "ok"), ("quota", "ManualSnapshots", "ok"),
        ("share-key", d.share_key_arn, "ok"), ("topic", d.topic_arn, "ok")]

    failsafe = rdsf(d.failsafe, "preflight")
    assert failsafe.returncode == 0, failsafe.stderr + failsafe.stdout
    assert f"failsafe account {d.failsafe.id}" in failsafe.stdout
    assert "failsafe-key" in failsafe.stdout and "4 source(s)" in failsafe.stdout
    # This Failsafe account never had a DB instance: no RDS service-linked role, which a restore
    # needs and only a role allowed iam:CreateServiceLinkedRole gets created. A warning, with the fix.
    assert "service-linked-role" in failsafe.stdout and "AWSServiceRoleForRDS does not exist" in failsafe.stdout
    assert "aws iam create-service-linked-role --aws-service-name rds.amazonaws.com" in failsafe.stdout
    assert failsafe.stdout.rstrip().endswith("ready, 1 warning(s)")
    restored = rdsf(d.failsafe, "restore", "orders", "--name", "orders-dr")  # RDS creates the role
    assert restored.returncode == 0, restored.stderr
    again = rdsf(d.failsafe, "preflight", "--json")
    [entry] = json.loads(again.stdout)
    assert [f["level"] for f in entry["report"]["findings"] if f["check"] == "service-linked-role"] == ["ok"]
    assert again.returncode == 0


def test_restore_makes_the_instance_and_the_cluster_from_the_failsafe_copies(saved):
    d = saved
    out = rdsf(d.failsafe, "restore", "users", "--json")
    assert out.returncode == 0, out.stderr + out.stdout
    report = json.loads(out.stdout)
    copy_arn = report["copy"]["arn"]
    assert copy_arn.endswith(f":snapshot:rdsf-{d.live.id}-users-202611200300")
    rds = rds_of(d.failsafe)
    db = rds.describe_db_instances(DBInstanceIdentifier="users-restored-202611200300")["DBInstances"][0]
    # restored from the Failsafe copy: readable with the key the Failsafe account owns
    assert db["StorageEncrypted"] and db["KmsKeyId"] == d.failsafe_key_arn, db
    tags = {t["Key"]: t["Value"] for t in rds.list_tags_for_resource(ResourceName=db["DBInstanceArn"])["TagList"]}
    assert tags["rds-failsafe:restored-from"] == copy_arn

    # a cluster needs its first instance's class; without it, exit 2 naming the option
    no_class = rdsf(d.failsafe, "restore", "ledger")
    assert no_class.returncode == 2 and "--instance-class" in no_class.stderr, no_class.stderr
    out = rdsf(d.failsafe, "restore", "ledger", "--instance-class", "db.r6g.large", "--name", "ledger-dr")
    assert out.returncode == 0, out.stderr + out.stdout
    cluster = rds.describe_db_clusters(DBClusterIdentifier="ledger-dr")["DBClusters"][0]
    assert cluster["Engine"] == "aurora-postgresql"
    assert [m["DBInstanceIdentifier"] for m in cluster["DBClusterMembers"]] == ["ledger-dr-1"]

    # the same name again: RDS refuses, the operator sees why (exit 3)
    again = rdsf(d.failsafe, "restore", "users")
    assert again.returncode == 3, again.stderr
    assert "AlreadyExists" in again.stderr


def test_preflight_exits_1_naming_a_source_without_backups_and_a_share_key_closed_to_failsafe(
        stack, accounts):
    live, failsafe = accounts
    mixed_estate(stack, live)
    rds_of(live).create_db_instance(
        DBInstanceIdentifier="scratch", Engine="postgres", DBInstanceClass="db.t4g.micro",
        AllocatedStorage=20, MasterUsername="admin", MasterUserPassword="not-a-secret-1",
        BackupRetentionPeriod=0)
    d = Deployment.create(stack, live, failsafe, share_key_grants_failsafe=False)
    out = rdsf(d.live, "preflight")
    assert out.returncode == 1, out.stderr + out.stdout
    assert "instance scratch" in out.stdout and "BackupRetentionPeriod 0" in out.stdout
    assert f"does not let Failsafe account {failsafe.id} use it" in out.stdout
    assert "2 problem(s), 0 warning(s): copies will fail until the problems are fixed" in out.stdout
    # where no rds-failsafe function is deployed: bad input, saying what to do
    elsewhere = rdsf(d.live, "preflight", "--region", "ap-southeast-2")
    assert elsewhere.returncode == 2, elsewhere.stderr + elsewhere.stdout
    assert "no rds-failsafe function in this account and region" in elsewhere.stderr
