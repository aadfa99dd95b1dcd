"""The restore drill (Failsafe account, opt-in) on the local stack, deployed from the synthesized
template with `restoreDrill` set: the real drill.asl.json and the drill Lambdas restore the
newest verified copies after a real day, wait while the emulator's RDS keeps the database
`creating`, delete it, and tag the copy, and the deployed alarms judge the metrics they logged; a
restore that ends `incompatible-restore` fails the run after the clean-up; a database the drill
did not make is never deleted; with checks, `validate-drill` queries real PostgreSQL and MariaDB
servers over TLS."""

import pytest
from rdsf_local.deployment import Deployment, create_source
from rdsf_local.stack import rdsf
from test_e2e import FAILSAFE_AT, LIVE_AT, mixed_estate

DRILL_AT = "2026-11-22T06:00:00Z"


def restore_network(failsafe) -> tuple[str, str]:
    """What an operator provides before opting in: a VPC with a DB subnet group and a security
    group in the Failsafe account."""
    ec2 = failsafe.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24",
                                 AvailabilityZone=f"{failsafe.region}{az}")["Subnet"]["SubnetId"]
               for i, az in enumerate("ab")]
    failsafe.client("rds").create_db_subnet_group(
        DBSubnetGroupName="restore-subnets", DBSubnetGroupDescription="drills", SubnetIds=subnets)
    sg = ec2.create_security_group(GroupName="rdsf-drill", Description="drills", VpcId=vpc)["GroupId"]
    return "restore-subnets", sg


@pytest.fixture
def drilled(stack, accounts) -> Deployment:
    live, failsafe = accounts
    stack.faults(creatingPolls=2, restorePolls=3)
    mixed_estate(stack, live)
    subnet_group, sg = restore_network(failsafe)
    d = Deployment.create(stack, live, failsafe, context={
        "restoreDrill": {"subnetGroupName": subnet_group, "securityGroupIds": [sg],
                         # billing's restore is held to a minute, which its three looks exceed
                         "rtoMinutes": {"billing": 1, "*": 600}}}).start()
    day = d.day(LIVE_AT, FAILSAFE_AT)
    assert [f.status for f in day["failsafe"]] == ["SUCCEEDED"], day
    return d


def drill_dbs(d: Deployment) -> list[str]:
    rds = d.failsafe.client("rds")
    return ([i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]]
            + [c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]])


def copy_tags(d: Deployment, source: str) -> dict:
    [copy] = [s for s in d.snapshots(d.failsafe) if s["tags"].get("rds-failsafe:source-id") == source]
    return copy["tags"]


def drill_alarms(d: Deployment, since: int) -> dict[str, list[int]]:
    """For the deployed drill alarms (the Failsafe template's), the periods in ALARM on the
    metrics the Failsafe Lambdas logged after `since` bytes of their log. (A metric is stamped
    with the drill's end, `$$.State.EnteredTime`: the simulated day's on aws-local-stepfunctions,
    today's on moto's engine, which does not shift its clock; so the tests count periods.)"""
    from rdsf_local.alarms import emf_datapoints, in_alarm, metric_alarm
    lines = d.failsafe_host.process.log_path.read_text(errors="replace")[since:].splitlines()
    points = emf_datapoints(lines)
    return {m: in_alarm(metric_alarm(d.templates["failsafe"], m)[1], points)
            for m in ("DrillRtoBreached", "DrillFailed")}


def test_drills_restore_each_source_in_turn_wait_delete_and_tag_the_copy(engine, drilled):
    d = drilled
    log = d.failsafe_host.process.log_path
    since = len(log.read_text(errors="replace")) if log.exists() else 0
    first = d.run_drill(DRILL_AT)
    assert first.status == "SUCCEEDED", first.result
    [result] = first.result["output"]["drills"]
    # never drilled, first by name: billing (an instance on the Failsafe key)
    assert result["source"] == f"{d.live.id}:billing" and result["outcome"] == "passed", result
    # the database was `creating` for three looks: the Wait loop ran, and timed it
    assert result["restoreSeconds"] >= 120, result
    # over its target of one minute: the drill passed, and says the restore was too slow (end-drill
    # writes DrillRtoBreached=1, which the deployment alarms on)
    assert (result["rtoMinutes"], result["rtoBreached"]) == (1, True), result
    # and the deployed alarm goes off: the template's DrillRtoBreached alarm, evaluated on the
    # metric end-drill logged, is in ALARM for the hour the drill ended; DrillFailed is not
    alarms = drill_alarms(d, since)
    assert (len(alarms["DrillRtoBreached"]), alarms["DrillFailed"]) == (1, []), alarms
    since = len(log.read_text(errors="replace"))
    assert result["deleted"] == ["rdsf-drill-billing-202611220600"]
    assert drill_dbs(d) == []
    assert copy_tags(d, "billing")["rds-failsafe:restore-tested"] == DRILL_AT
    assert "rds-failsafe:restore-tested" not in copy_tags(d, "ledger")

    # the next run drills the next source never drilled: ledger, an Aurora cluster with one
    # DB instance, both deleted (the instance first)
    second = d.run_drill("2026-11-29T06:00:00Z")
    assert second.status == "SUCCEEDED", second.result
    [result] = second.result["output"]["drills"]
    assert result["source"] == f"{d.live.id}:ledger"
    assert result["deleted"] == ["rdsf-drill-ledger-202611290600-1", "rdsf-drill-ledger-202611290600"]
    assert (result["rtoMinutes"], result["rtoBreached"]) == (600, False), result
    # within its target: the metric says 0, and the alarm stays quiet
    assert drill_alarms(d, since) == {"DrillRtoBreached": [], "DrillFailed": []}
    assert drill_dbs(d) == []

    # the operator sees it
    status = rdsf(d.failsafe, "status", "--now", "2026-11-29T07:00:00Z", "--max-age-hours", "720", "--json")
    drills = {s["sourceId"]: s["lastDrill"] for s in __import__("json").loads(status.stdout)["sources"]}
    assert drills == {"billing": DRILL_AT, "ledger": "2026-11-29T06:00:00Z", "orders": None, "users": None}

    # and the auditor: each drill's record, newest first, from the drills' log group
    listed = rdsf(d.failsafe, "drills", "--json")
    assert listed.returncode == 0, listed.stderr
    records = __import__("json").loads(listed.stdout)["records"]
    assert [(r["source"], r["outcome"], r["kind"]) for r in records] == [
        (f"{d.live.id}:ledger", "passed", "cluster"), (f"{d.live.id}:billing", "passed", "instance")]
    billing = records[1]
    assert billing["snapshotTime"] == "2026-11-20T03:00:00Z" and billing["engine"] == "postgres", billing
    assert (billing["rtoMinutes"], billing["rtoBreached"], billing["dataChecked"]) == (1, True, False), billing
    assert billing["restoreSeconds"] >= 120 and billing["deleted"] == ["rdsf-drill-billing-202611220600"]
    # what ran it: the drill's execution (the local ASL engines name their own region and account)
    assert billing["ranBy"].startswith("arn:aws:states:") and ":execution:" in billing["ranBy"], billing
    table = rdsf(d.failsafe, "drills", "--source", "billing")
    assert table.returncode == 0 and "OVER 1 min" in table.stdout and "ledger" not in table.stdout, table.stdout
    none = rdsf(d.failsafe, "drills", "--source", "users")
    assert none.returncode == 2 and "no drill record of users" in none.stderr, none.stderr


def test_a_restore_that_fails_is_cleaned_up_and_fails_the_run_naming_the_status(engine, drilled, stack):
    d = drilled
    stack.faults(failRestoresOf=["billing"])
    since = len(d.failsafe_host.process.log_path.read_text(errors="replace"))
    run = d.run_drill(DRILL_AT)
    assert run.status == "FAILED", run.result
    text = str(run.result)
    assert "incompatible-restore" in text and "rdsf-drill-billing-202611220600" in text, text[:3000]
    # the deployed DrillFailed alarm goes off on what end-drill logged
    assert len(drill_alarms(d, since)["DrillFailed"]) == 1
    # the Catch led to the clean-up: nothing left, and the copy is not marked tested
    assert drill_dbs(d) == []
    assert "rds-failsafe:restore-tested" not in copy_tags(d, "billing")


def test_a_database_the_drill_did_not_make_is_never_deleted(drilled):
    d = drilled
    # someone's database under the name the drill will use, without the drill tag
    create_source(d.failsafe, "instance", "rdsf-drill-billing-202611220600")
    run = d.run_drill(DRILL_AT)
    assert run.status == "FAILED", run.result
    # restore-drill refused to use it, and the clean-up refused to delete it (DrillCleanupFailed)
    text = str(run.result)
    assert "has no rds-failsafe:drill=true tag: not deleted" in text, text[:3000]
    assert run.result["error"] == "DrillCleanupFailed"
    assert {"state": "RestoreDrill", "task": "RestoreDrill", "function": "restore-drill",
            "errorType": "InvalidInput"} in run.result["taskCalls"]
    assert drill_dbs(d) == ["rdsf-drill-billing-202611220600"]


# -- checks of the restored data, on a real PostgreSQL server (issue 26) ------------------------

SEED = """
CREATE DATABASE billing; CREATE DATABASE orders; CREATE DATABASE users; CREATE DATABASE refused;
\\c billing
CREATE TABLE invoices (id int PRIMARY KEY, updated_at timestamptz NOT NULL);
INSERT INTO invoices SELECT g, timestamptz '2026-11-20 02:30:00+00' - g * interval '1 minute' FROM generate_series(1, 1500) g;
CREATE TABLE customers (id int PRIMARY KEY);
\\c orders
CREATE TABLE orders (id int PRIMARY KEY);
INSERT INTO orders SELECT g FROM generate_series(1, 12) g;
\\c users
CREATE TABLE accounts (id int PRIMARY KEY, updated_at timestamp NOT NULL);
INSERT INTO accounts VALUES (1, '2026-11-15 09:00:00');
"""

CHECKS = [
    # passes: enough rows, fresh up to half an hour before the copy's data time, both tables there
    {"source": "billing", "database": "billing", "checks": [
        {"sql": "select count(*) from invoices", "min": 1000},
        {"sql": "select max(updated_at) from invoices", "maxAgeHours": 30},
        {"tables": ["invoices", "public.customers"]}]},
    # too few rows
    {"source": "orders", "database": "orders", "checks": [{"sql": "select count(*) from orders", "min": 1000}]},
    # stale data, and a table that is not there
    {"source": "users", "database": "users", "checks": [
        {"sql": "select max(updated_at) from accounts", "maxAgeHours": 30},
        {"tables": ["accounts", "sessions"]}]},
    # the database refuses the login (pg_hba reject): an Aurora PostgreSQL cluster
    {"source": "ledger", "database": "refused", "checks": [{"tables": ["entries"]}]},
    # MariaDB: passes, over TLS with require_secure_transport on
    {"source": "shop", "database": "shop", "checks": [
        {"sql": "select count(*) from products", "min": 10},
        {"sql": "select max(updated_at) from products", "maxAgeHours": 30},
        {"tables": ["products"]}]},
]

SEED_MARIADB = """
CREATE DATABASE shop;
CREATE TABLE shop.products (id int PRIMARY KEY, updated_at datetime NOT NULL);
USE shop;
INSERT INTO products SELECT seq, TIMESTAMP '2026-11-20 01:00:00' FROM seq_1_to_50;
"""


@pytest.fixture(scope="module")
def mariadb(stack):
    from rdsf_local.real_servers import MariaDBServer
    server = MariaDBServer(stack.workdir)
    server.sql(SEED_MARIADB)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def postgres(stack):
    from rdsf_local.real_servers import PostgresServer
    server = PostgresServer(stack.workdir)
    server.sql(SEED)
    yield server
    server.stop()


def test_checks_run_on_the_restored_data_read_only_over_tls_and_a_failed_check_fails_the_drill(accounts, stack, postgres, mariadb):
    live, failsafe = accounts
    stack.faults(creatingPolls=1, restorePolls=1)
    mixed_estate(stack, live)
    create_source(live, "instance", "shop", engine="mariadb", engine_version="10.11.9")
    stack.seed_automated(live, "instance", "shop", "2026-11-20T03:00:00Z")
    subnet_group, sg = restore_network(failsafe)
    subnets = [s["SubnetId"] for s in failsafe.client("ec2").describe_subnets()["Subnets"]
               if s["VpcId"] == failsafe.client("ec2").describe_security_groups(GroupIds=[sg])["SecurityGroups"][0]["VpcId"]]
    stack.control("databases", {"servers": {"postgres": postgres.registration(), "mysql": mariadb.registration()}})
    d = Deployment.create(stack, live, failsafe, context={
        "restoreDrill": {"subnetGroupName": subnet_group, "securityGroupIds": [sg], "sources": "all",
                         "checks": CHECKS, "checkSubnetIds": subnets, "rtoMinutes": {"orders": 1}}},
        # the local servers' certificates come from the test's CA, not RDS's
        env_overrides={"failsafe": {"DRILL_EXTRA_CA": postgres.ca.read_text() + mariadb.ca.read_text()}}).start()
    day = d.day(LIVE_AT, FAILSAFE_AT)
    assert [f.status for f in day["failsafe"]] == ["SUCCEEDED"], day

    run = d.run_drill(DRILL_AT)
    assert run.status == "FAILED" and run.result["error"] == "RestoreDrillFailed", run.result
    # the cause names the failed drills; every drill's record is in the drills' log group
    for name in ("orders", "users", "ledger"):
        assert f"rdsf-drill-{name}-202611220600" in run.result["cause"], name
    # the cause is JSON (States.JsonToString), PostgreSQL's quotes in ledger's cause escaped
    failed = __import__("json").loads(run.result["cause"])
    assert sorted(f["source"].split(":")[1] for f in failed) == ["ledger", "orders", "users"], failed
    assert drill_dbs(d) == [], "every drill database deleted, the failed ones too"
    listed = rdsf(d.failsafe, "drills", "--json")
    drills = records = {r["source"].split(":")[1]: r for r in __import__("json").loads(listed.stdout)["records"]}
    assert sorted(records) == ["billing", "ledger", "orders", "shop", "users"], listed.stdout
    shop = records["shop"]
    assert shop["outcome"] == "passed" and shop["engine"] == "mariadb", shop
    assert [(c["value"], c["passed"]) for c in shop["checks"]] == [
        ("50", True), ("2026-11-20T01:00:00Z", True), ("all present", True)], shop

    billing = drills["billing"]
    assert billing["outcome"] == "passed" and billing["dataChecked"] is True, billing
    assert [(c["check"], c["value"], c["passed"]) for c in billing["checks"]] == [
        ("select count(*) from invoices", "1500", True),
        ("select max(updated_at) from invoices", "2026-11-20T02:29:00Z", True),
        ("tables invoices, public.customers", "all present", True)]
    assert copy_tags(d, "billing")["rds-failsafe:restore-tested"] == DRILL_AT

    orders = drills["orders"]
    assert orders["outcome"] == "failed", orders
    assert "check `select count(*) from orders` returned 12, expected at least 1000" in orders["cause"], orders
    users = drills["users"]
    assert ("check `select max(updated_at) from accounts` returned 2026-11-15T09:00:00Z, expected a time at most "
            "30 h before the copy's snapshot time 2026-11-20T03:00:00Z") in users["cause"], users
    assert [c["value"] for c in users["checks"]] == ["2026-11-15T09:00:00Z", "missing sessions"], users
    ledger = drills["ledger"]
    assert "could not query database refused on rdsf-drill-ledger-202611220600 (localhost:" in ledger["cause"], ledger
    assert "pg_hba.conf rejects connection" in ledger["cause"], ledger
    for name in ("orders", "users", "ledger"):
        assert "rds-failsafe:restore-tested" not in copy_tags(d, name), name

    # the evidence: every check's result in each record
    assert records["billing"]["dataChecked"] and records["billing"]["database"] == "billing"
    assert records["billing"]["checks"] == billing["checks"]
    assert records["orders"]["outcome"] == "failed" and records["orders"]["checks"][0]["value"] == "12"
    assert records["billing"]["totalSeconds"] >= records["billing"]["restoreSeconds"], records["billing"]
    # a drill whose checks failed had a restore that finished: its time is recorded and judged
    # against the source's target like a passed drill's
    for name in ("orders", "users", "ledger"):
        assert isinstance(records[name]["restoreSeconds"], int), records[name]
    assert records["orders"]["rtoMinutes"] == 1, records["orders"]
    assert records["orders"]["rtoBreached"] is (records["orders"]["restoreSeconds"] > 60), records["orders"]
    assert "rtoBreached" not in records["users"] or records["users"]["rtoBreached"] is None, records["users"]

    # the password RDS set for each drill database is nowhere: not in the states and outputs, the
    # records, the Lambdas' logs; and it no longer logs in (the database is gone)
    passwords = stack.control("databases", {})["passwords"]
    assert len(passwords) == 5, passwords
    places = {"execution": __import__("json").dumps(run.result), "records": listed.stdout,
              "lambda logs": "".join(p.read_text(errors="replace") for p in stack.workdir.glob("lambdas-*.log"))}
    for where, text in places.items():
        for pw in passwords:
            assert pw not in text, f"a drill's password is in the {where}"
    refused = __import__("subprocess").run(
        ["psql", f"host=localhost port={postgres.port} dbname=billing user=admin password={passwords[0]} sslmode=require",
         "-tAc", "select 1"], capture_output=True, text=True)
    assert refused.returncode != 0 and "password authentication failed" in refused.stderr, refused.stderr
