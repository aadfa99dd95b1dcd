"""The restore drill (Failsafe account, opt-in) on the local stack, deployed from the synthesized
template with `restoreDrill` set: the real drill.asl.json and the four drill Lambdas restore the
newest verified copies after a real day, wait while the emulator's RDS keeps the database
`creating`, delete it, and tag the copy; a restore that ends `incompatible-restore` fails the run
after the clean-up; a database the drill did not make is never deleted."""

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


def test_drills_restore_each_source_in_turn_wait_delete_and_tag_the_copy(engine, drilled):
    d = drilled
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
    run = d.run_drill(DRILL_AT)
    assert run.status == "FAILED", run.result
    text = str(run.result)
    assert "incompatible-restore" in text and "rdsf-drill-billing-202611220600" in text, text[:3000]
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
