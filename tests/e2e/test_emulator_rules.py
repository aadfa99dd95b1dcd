"""Each rule the emulator adds to stock moto (docs/development.md, docs/aws-facts.md), through the real AWS API (boto3).
Every test here fails on stock moto 5.2; the comment on each says how."""

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from rdsf_local.deployment import aws_rds_key, create_key, create_source

T0 = "2026-11-20T03:00:00Z"


def code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def manual_copy(acct, source_id, target_id, key=None):
    kw = {"KmsKeyId": key} if key else {}
    return acct.client("rds").copy_db_snapshot(
        SourceDBSnapshotIdentifier=source_id, TargetDBSnapshotIdentifier=target_id, **kw
    )["DBSnapshot"]


def share(acct, snapshot_id, with_account):
    acct.client("rds").modify_db_snapshot_attribute(
        DBSnapshotIdentifier=snapshot_id, AttributeName="restore", ValuesToAdd=[with_account])


def available(acct, snapshot_id):
    rds = acct.client("rds")
    for _ in range(10):
        s = rds.describe_db_snapshots(DBSnapshotIdentifier=snapshot_id)["DBSnapshots"][0]
        if s["Status"] != "creating":
            return s
    raise AssertionError(f"{snapshot_id} still creating")


@pytest.fixture
def world(stack, accounts):
    live, failsafe = accounts
    stack.faults(creatingPolls=0)
    key = create_key(live, "share", grant_to=[failsafe.id])
    create_source(live, "instance", "db1", key)
    auto = stack.seed_automated(live, "instance", "db1", T0)
    manual_copy(live, auto["id"], "db1-copy")
    return live, failsafe, key, auto


def test_cross_account_copy_reads_the_owner_account_and_honours_restore(stack, world):
    # Stock moto looks the ARN's name up in the caller's account, and ignores `restore`.
    live, failsafe, _, _ = world
    fs_key = create_key(failsafe, "fs")
    # A same-named snapshot in the Failsafe account must not be what gets copied.
    create_source(failsafe, "instance", "db1", "none", engine="mysql")
    failsafe.client("rds").create_db_snapshot(DBInstanceIdentifier="db1", DBSnapshotIdentifier="db1-copy")
    arn = f"arn:aws:rds:{live.region}:{live.id}:snapshot:db1-copy"
    with pytest.raises(ClientError) as e:
        manual_copy(failsafe, arn, "saved", fs_key)
    assert code(e) == "DBSnapshotNotFound"
    share(live, "db1-copy", failsafe.id)
    copy = manual_copy(failsafe, arn, "saved", fs_key)
    assert copy["Engine"] == "postgres"
    assert copy["SourceDBSnapshotIdentifier"] == arn
    assert copy["KmsKeyId"] == fs_key


def test_a_copy_names_its_origin_as_rds_reports_it(stack, world):
    # Stock moto names the origin of every DB snapshot copy, and copies across accounts from the
    # caller's own account (see the first test); RDS names it only for cross-account or
    # cross-Region copies, and always for cluster snapshot copies.
    live, failsafe, _, auto = world
    assert "SourceDBSnapshotIdentifier" not in available(live, "db1-copy")
    share(live, "db1-copy", failsafe.id)
    arn = f"arn:aws:rds:{live.region}:{live.id}:snapshot:db1-copy"
    manual_copy(failsafe, arn, "saved", create_key(failsafe, "fs"))
    assert available(failsafe, "saved")["SourceDBSnapshotIdentifier"] == arn
    create_source(live, "cluster", "c1")
    cluster_auto = stack.seed_automated(live, "cluster", "c1", T0)
    rds = live.client("rds")
    rds.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier=cluster_auto["id"],
                                 TargetDBClusterSnapshotIdentifier="c1-copy")
    got = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier="c1-copy")["DBClusterSnapshots"][0]
    assert got["SourceDBClusterSnapshotArn"] == cluster_auto["arn"]


def test_default_key_snapshots_cannot_be_shared(stack, accounts):
    # Stock moto shares anything.
    live, failsafe = accounts
    create_source(live, "instance", "db2", "aws-rds")
    auto = stack.seed_automated(live, "instance", "db2", T0)
    stack.faults(creatingPolls=0)
    copy = manual_copy(live, auto["id"], "db2-copy")
    assert copy["KmsKeyId"] == aws_rds_key(live)
    with pytest.raises(ClientError) as e:
        share(live, "db2-copy", failsafe.id)
    assert code(e) == "InvalidDBSnapshotState"
    assert "aws/rds" in e.value.response["Error"]["Message"]


def test_shared_encrypted_copy_needs_the_callers_own_key(stack, world):
    # Stock moto copies without a KmsKeyId and keeps the Live key.
    live, failsafe, _, _ = world
    share(live, "db1-copy", failsafe.id)
    arn = f"arn:aws:rds:{live.region}:{live.id}:snapshot:db1-copy"
    with pytest.raises(ClientError) as e:
        manual_copy(failsafe, arn, "saved")
    assert code(e) == "KMSKeyNotAccessibleFault"


def test_source_key_policy_must_grant_the_target_account(stack, accounts):
    # Stock moto never reads key policies.
    live, failsafe = accounts
    stack.faults(creatingPolls=0)
    key = create_key(live, "no-grant", grant_to=[])
    create_source(live, "instance", "db3", key)
    auto = stack.seed_automated(live, "instance", "db3", T0)
    manual_copy(live, auto["id"], "db3-copy")
    share(live, "db3-copy", failsafe.id)
    fs_key = create_key(failsafe, "fs")
    with pytest.raises(ClientError) as e:
        manual_copy(failsafe, f"arn:aws:rds:{live.region}:{live.id}:snapshot:db3-copy", "saved", fs_key)
    assert code(e) == "KMSKeyNotAccessibleFault"
    assert key in e.value.response["Error"]["Message"]


def test_automated_snapshots_cannot_be_deleted_or_shared(stack, world):
    # Stock moto deletes and shares automated snapshots.
    live, failsafe, _, auto = world
    rds = live.client("rds")
    with pytest.raises(ClientError) as e:
        rds.delete_db_snapshot(DBSnapshotIdentifier=auto["id"])
    assert code(e) == "InvalidDBSnapshotState"
    with pytest.raises(ClientError) as e:
        share(live, auto["id"], failsafe.id)
    assert code(e) == "InvalidDBSnapshotState"
    assert rds.describe_db_snapshots(DBSnapshotIdentifier=auto["id"])["DBSnapshots"][0]["SnapshotType"] == "automated"


def test_seeded_automated_snapshots_carry_the_chosen_time(stack, accounts):
    # Stock moto has no way to take an automated snapshot at a chosen time.
    live, _ = accounts
    create_source(live, "instance", "db4", "none")
    create_source(live, "cluster", "c4", "aws-rds")
    stack.seed_automated(live, "instance", "db4", "2026-01-02T03:04:00Z")
    stack.seed_automated(live, "cluster", "c4", "2026-01-02T03:05:00Z")
    rds = live.client("rds")
    snaps = rds.describe_db_snapshots(DBInstanceIdentifier="db4", SnapshotType="automated")["DBSnapshots"]
    assert [s["DBSnapshotIdentifier"] for s in snaps] == ["rds:db4-2026-01-02-03-04"]
    assert snaps[0]["SnapshotCreateTime"].isoformat() == "2026-01-02T03:04:00+00:00"
    assert snaps[0]["OriginalSnapshotCreateTime"].isoformat() == "2026-01-02T03:04:00+00:00"
    cs = rds.describe_db_cluster_snapshots(DBClusterIdentifier="c4", SnapshotType="automated")["DBClusterSnapshots"]
    assert cs[0]["SnapshotCreateTime"].isoformat() == "2026-01-02T03:05:00+00:00"


def test_include_shared_and_arn_identifiers(stack, world):
    # Stock moto ignores IncludeShared and does not resolve another account's ARN.
    live, failsafe, _, _ = world
    share(live, "db1-copy", failsafe.id)
    rds = failsafe.client("rds")
    arn = f"arn:aws:rds:{live.region}:{live.id}:snapshot:db1-copy"
    with pytest.raises(ClientError):
        rds.describe_db_snapshots(DBSnapshotIdentifier=arn)
    got = rds.describe_db_snapshots(DBSnapshotIdentifier=arn, IncludeShared=True)["DBSnapshots"]
    assert [s["DBSnapshotArn"] for s in got] == [arn]
    listed = rds.describe_db_snapshots(IncludeShared=True)["DBSnapshots"]
    assert arn in [s["DBSnapshotArn"] for s in listed]


def test_copies_go_through_creating_with_progress_and_can_fail(stack, accounts):
    # Stock moto copies are `available` at once and never fail.
    live, _ = accounts
    key = create_key(live, "k")
    create_source(live, "instance", "db5", key)
    create_source(live, "instance", "db6", key)
    a5 = stack.seed_automated(live, "instance", "db5", T0)
    a6 = stack.seed_automated(live, "instance", "db6", T0)
    stack.faults(creatingPolls=3, failCopiesOf=["db6"])
    first = manual_copy(live, a5["id"], "c5")
    assert first["Status"] == "creating" and first["PercentProgress"] == 0
    rds = live.client("rds")
    seen = [rds.describe_db_snapshots(DBSnapshotIdentifier="c5")["DBSnapshots"][0] for _ in range(3)]
    assert [(s["Status"], s["PercentProgress"]) for s in seen] == [
        ("creating", 33), ("creating", 66), ("available", 100)]
    manual_copy(live, a6["id"], "c6")
    assert available(live, "c6")["Status"] == "failed"


def test_restores_go_through_creating_and_can_end_incompatible_restore(stack, accounts):
    # Stock moto restores are `available` at once and never fail: a drill that never waited, or
    # never looked at the status, would pass. RDS takes minutes, and a restore can end in a status
    # it does not leave (RDS User Guide, "Viewing Amazon RDS DB instance status").
    live, _ = accounts
    create_source(live, "instance", "db7")
    create_source(live, "cluster", "cl7")
    a7 = stack.seed_automated(live, "instance", "db7", T0)
    c7 = stack.seed_automated(live, "cluster", "cl7", T0)
    manual_copy(live, a7["id"], "c7")
    rds = live.client("rds")
    rds.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier=c7["id"], TargetDBClusterSnapshotIdentifier="cc7")
    stack.faults(restorePolls=2, failRestoresOf=["cl7"])
    rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="r7", DBSnapshotIdentifier="c7")
    seen = [rds.describe_db_instances(DBInstanceIdentifier="r7")["DBInstances"][0]["DBInstanceStatus"]
            for _ in range(3)]
    assert seen == ["creating", "available", "available"]
    rds.restore_db_cluster_from_snapshot(DBClusterIdentifier="rc7", SnapshotIdentifier="cc7",
                                         Engine="aurora-postgresql")
    seen = [rds.describe_db_clusters(DBClusterIdentifier="rc7")["DBClusters"][0]["Status"] for _ in range(3)]
    assert seen == ["creating", "incompatible-restore", "incompatible-restore"]
    # as RDS: a cluster identifier is taken once (stock moto replaces the cluster)
    with pytest.raises(ClientError) as e:
        rds.restore_db_cluster_from_snapshot(DBClusterIdentifier="rc7", SnapshotIdentifier="cc7",
                                             Engine="aurora-postgresql")
    assert code(e) == "DBClusterAlreadyExistsFault"
    # as RDS: a cluster with DB instances cannot be deleted
    rds.create_db_instance(DBInstanceIdentifier="rc7-1", DBClusterIdentifier="rc7", Engine="aurora-postgresql",
                           DBInstanceClass="db.t4g.medium")
    with pytest.raises(ClientError) as e:
        rds.delete_db_cluster(DBClusterIdentifier="rc7", SkipFinalSnapshot=True)
    assert code(e) == "InvalidDBClusterStateFault"


def test_the_aws_rds_key_is_aws_managed_and_a_snapshot_needs_an_available_database(stack, accounts):
    # Stock moto makes aws/rds a CUSTOMER key (incremental mode would share under it, which RDS
    # refuses), and takes a snapshot of a database in any state. KMS API reference,
    # KeyMetadata.KeyManager; RDS API reference, CreateDBSnapshot: "The source DB instance must be
    # in the available or storage-optimization state".
    live, _ = accounts
    kms = live.client("kms")
    assert kms.describe_key(KeyId=aws_rds_key(live))["KeyMetadata"]["KeyManager"] == "AWS"
    assert kms.describe_key(KeyId=create_key(live, "own"))["KeyMetadata"]["KeyManager"] == "CUSTOMER"
    create_source(live, "instance", "db8")
    a8 = stack.seed_automated(live, "instance", "db8", T0)
    manual_copy(live, a8["id"], "c8")
    rds = live.client("rds")
    stack.faults(restorePolls=2, creatingPolls=1)
    rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="r8", DBSnapshotIdentifier="c8")
    with pytest.raises(ClientError) as e:
        rds.create_db_snapshot(DBInstanceIdentifier="r8", DBSnapshotIdentifier="r8-now")
    assert code(e) == "InvalidDBInstanceState"
    for _ in range(2):  # the restore ends
        rds.describe_db_instances(DBInstanceIdentifier="r8")
    made = rds.create_db_snapshot(DBInstanceIdentifier="r8", DBSnapshotIdentifier="r8-now")["DBSnapshot"]
    # a snapshot takes a while, as a copy does
    assert made["Status"] == "creating"
    assert available(live, "r8-now")["Status"] == "available"


def test_throttling_is_injected_per_operation(stack, world):
    # Stock moto never throttles.
    live, _, _, auto = world
    stack.faults(throttle={"CopyDBSnapshot": 2})
    rds = live.client("rds")
    rds.describe_db_snapshots()  # other operations are not affected
    for _ in range(2):
        with pytest.raises(ClientError) as e:
            manual_copy(live, auto["id"], "t1")
        assert code(e) == "Throttling"
    assert manual_copy(live, auto["id"], "t1")["DBSnapshotIdentifier"] == "t1"


def test_rds_request_rate_is_a_token_bucket_per_account_and_region(stack, world):
    # Stock moto never throttles. RDS User Guide, "Request throttling for the Amazon RDS API": one
    # token bucket per account and region, shared by every caller; past it, "Rate exceeded".
    live, failsafe, _, _ = world
    state = stack.faults(rdsRate={"burst": 3, "perSecond": 0.001})
    assert state["rdsRate"] == {"burst": 3.0, "perSecond": 0.001}
    rds = live.client("rds")
    for _ in range(3):
        rds.describe_db_snapshots()
    with pytest.raises(ClientError) as e:
        rds.describe_db_instances()  # any operation: the rate is the account's
    assert code(e) == "Throttling"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    failsafe.client("rds").describe_db_snapshots()  # another account has its own bucket
    live.client("rds", region="eu-central-1").describe_db_snapshots()  # and another region
    live.client("kms").list_keys()  # other services are not RDS's rate
    stack.faults(rdsRate={"burst": 2, "perSecond": 1e6})  # refills at once
    for _ in range(5):
        rds.describe_db_snapshots()
    stack.faults(rdsRate=None)
    for _ in range(5):
        rds.describe_db_snapshots()


def test_no_automated_backup_of_an_instance_while_a_copy_of_it_is_in_progress(stack, world):
    # Stock moto takes every snapshot it is asked for. RDS User Guide, "Introduction to backups":
    # automated backups don't occur while a DB snapshot copy is running in the same Region for
    # the same database.
    live, failsafe, key, auto = world
    create_source(live, "instance", "db2", key)
    stack.faults(creatingPolls=3)
    manual_copy(live, auto["id"], "db1-slow")  # a copy of db1, in progress
    skipped = stack.seed_automated(live, "instance", "db1", "2026-11-21T03:00:00Z")
    assert "db1-slow" in skipped["skipped"] and "id" not in skipped
    assert "id" in stack.seed_automated(live, "instance", "db2", "2026-11-21T03:00:00Z")  # another DB
    # the same DB in another account's copy, in the same region, holds it too
    share(live, "db1-copy", failsafe.id)
    available(live, "db1-slow")
    fs_key = create_key(failsafe, "fs-auto")
    manual_copy(failsafe, f"arn:aws:rds:{live.region}:{live.id}:snapshot:db1-copy", "fs-db1", fs_key)
    skipped = stack.seed_automated(live, "instance", "db1", "2026-11-21T04:00:00Z")
    assert "fs-db1" in skipped["skipped"] and failsafe.id in skipped["skipped"]
    available(failsafe, "fs-db1")
    taken = stack.seed_automated(live, "instance", "db1", "2026-11-21T05:00:00Z")
    assert taken["id"] == "rds:db1-2026-11-21-05-00"


def test_at_most_five_cluster_snapshot_copies_in_progress_per_account_and_region(stack, world):
    # Stock moto copies any number at once. Aurora User Guide, "DB cluster snapshot copying": "up to
    # five snapshot copy requests in progress to a single destination Region per account". The
    # guide names no error: the emulator answers SnapshotQuotaExceeded (rds_rules.py says why).
    live, failsafe, _, _ = world
    create_source(live, "cluster", "aur")
    auto = stack.seed_automated(live, "cluster", "aur", T0)
    rds = live.client("rds")
    stack.faults(creatingPolls=2)
    copy = lambda acct, target: acct.client("rds").copy_db_cluster_snapshot(  # noqa: E731
        SourceDBClusterSnapshotIdentifier=auto["id"] if acct is live else auto["arn"],
        TargetDBClusterSnapshotIdentifier=target)
    for i in range(5):
        copy(live, f"c{i}")
    with pytest.raises(ClientError) as e:
        copy(live, "c5")
    assert code(e) == "SnapshotQuotaExceeded"
    assert "5 DB cluster snapshot copies in progress" in str(e.value)
    # an instance snapshot copy is not held by the cluster limit
    assert manual_copy(live, world[3]["id"], "i-1")["DBSnapshotIdentifier"] == "i-1"
    for _ in range(2):  # two looks: the five copies become available
        rds.describe_db_cluster_snapshots(SnapshotType="manual")
    assert copy(live, "c5")["DBClusterSnapshot"]["DBClusterSnapshotIdentifier"] == "c5"


def test_rds_creates_its_service_linked_role_with_the_first_db_instance(stack, world):
    # Stock moto never creates it. RDS User Guide, "Using service-linked roles for Amazon RDS":
    # RDS creates AWSServiceRoleForRDS when the account's first DB instance is created.
    live, failsafe, _, _ = world
    role = live.client("iam").get_role(RoleName="AWSServiceRoleForRDS")["Role"]  # the world made db1
    assert role["Path"] == "/aws-service-role/rds.amazonaws.com/"
    with pytest.raises(ClientError) as e:
        failsafe.client("iam").get_role(RoleName="AWSServiceRoleForRDS")
    assert code(e) == "NoSuchEntity"
    create_source(failsafe, "cluster", "first-db")
    assert failsafe.client("iam").get_role(RoleName="AWSServiceRoleForRDS")["Role"]["RoleName"] == "AWSServiceRoleForRDS"


def test_internal_failure_is_injected_per_operation(stack, world):
    # Stock moto never answers 500 on purpose. AWS API references, "Common Errors":
    # InternalFailure, HTTP 500, "The request processing has failed because of an unknown error".
    live, _, _, auto = world
    state = stack.faults(internalFailure={"CopyDBSnapshot": 2})
    assert state["internalFailure"] == {"CopyDBSnapshot": 2}
    live.client("rds").describe_db_snapshots()  # other operations are not affected
    for _ in range(2):
        with pytest.raises(ClientError) as e:
            manual_copy(live, auto["id"], "f1")
        assert code(e) == "InternalFailure"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert manual_copy(live, auto["id"], "f1")["DBSnapshotIdentifier"] == "f1"


def test_twenty_parallel_callers_get_no_fault_nobody_injected(stack, world):
    # Stock moto's backends are unlocked: 20 parallel copy-and-describe loops made it answer
    # HTTP 500 "OrderedDict mutated during iteration". Faults come only from injection.
    from concurrent.futures import ThreadPoolExecutor

    live, _, _, auto = world
    stack.faults(creatingPolls=0, quota=[{"account": live.id, "region": live.region, "limit": 1000}])
    stack.control("concurrency", {"reset": True})

    def work(i: int) -> int:
        rds = live.client("rds")
        for j in range(3):
            manual_copy(live, auto["id"], f"p{i}-{j}")
            rds.describe_db_snapshots(SnapshotType="manual")
        for _ in range(5):
            rds.describe_db_snapshots(SnapshotType="manual")
            rds.describe_db_snapshots(DBSnapshotIdentifier=f"p{i}-0")
        rds.add_tags_to_resource(ResourceName=f"arn:aws:rds:{live.region}:{live.id}:snapshot:p{i}-0",
                                 Tags=[{"Key": "n", "Value": str(i)}])
        rds.delete_db_snapshot(DBSnapshotIdentifier=f"p{i}-1")
        return i

    with ThreadPoolExecutor(max_workers=20) as pool:
        done = list(pool.map(work, range(20)))
    assert done == list(range(20))
    # the failure itself is rare; what prevents it is observable: one request in moto at a time
    assert stack.control("concurrency")["maxInMoto"] == 1


def test_manual_snapshot_quota_counts_manual_snapshots_only(stack, world):
    # Stock moto's limit counts automated snapshots too and is not per account.
    live, _, _, auto = world
    stack.faults(quota=[{"account": live.id, "region": live.region, "limit": 2}])
    stack.seed_automated(live, "instance", "db1", "2026-11-21T03:00:00Z")  # automated: not counted
    manual_copy(live, auto["id"], "q2")
    with pytest.raises(ClientError) as e:
        manual_copy(live, auto["id"], "q3")
    assert code(e) == "SnapshotQuotaExceeded"


def test_unencrypted_cluster_snapshot_cannot_be_encrypted_by_copy(stack, accounts):
    # Stock moto encrypts it.
    live, _ = accounts
    key = create_key(live, "k")
    create_source(live, "cluster", "plain", "none")
    auto = stack.seed_automated(live, "cluster", "plain", T0)
    with pytest.raises(ClientError) as e:
        live.client("rds").copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier=auto["id"], TargetDBClusterSnapshotIdentifier="enc",
            KmsKeyId=key)
    assert code(e) == "InvalidParameterCombination"


@pytest.mark.parametrize("kind,engine", [("cluster", "postgres"), ("cluster", "mysql"),
                                          ("instance", "custom-oracle-ee")])
def test_multi_az_cluster_and_rds_custom_snapshots_cannot_be_copied(stack, accounts, kind, engine):
    # RDS User Guide, "Limitations of Multi-AZ DB clusters" (copying a snapshot of a Multi-AZ DB
    # cluster is not supported); RDS Custom: CopyDBSnapshot does not apply. Stock moto copies both.
    live, _ = accounts
    if engine.startswith("custom-"):
        # stock moto knows no default port or version for RDS Custom engines: give them
        live.client("rds").create_db_instance(
            DBInstanceIdentifier=f"src-{engine}", Engine=engine, DBInstanceClass="db.m5.xlarge",
            AllocatedStorage=40, MasterUsername="admin", MasterUserPassword="not-a-secret-1", Port=1521,
            EngineVersion="19.c.ee.002")
    else:
        create_source(live, kind, f"src-{engine}", engine=engine)
    auto = stack.seed_automated(live, kind, f"src-{engine}", T0)
    with pytest.raises(ClientError) as e:
        if kind == "cluster":
            live.client("rds").copy_db_cluster_snapshot(
                SourceDBClusterSnapshotIdentifier=auto["id"], TargetDBClusterSnapshotIdentifier="c1")
        else:
            manual_copy(live, auto["id"], "c1")
    assert code(e) == "InvalidParameterCombination"
    assert "Multi-AZ DB cluster" in str(e.value) or "RDS Custom" in str(e.value)


def test_an_aurora_cluster_snapshot_is_still_copied(stack, accounts):
    live, _ = accounts
    create_source(live, "cluster", "aurora1", engine="aurora-mysql")
    auto = stack.seed_automated(live, "cluster", "aurora1", T0)
    live.client("rds").copy_db_cluster_snapshot(
        SourceDBClusterSnapshotIdentifier=auto["id"], TargetDBClusterSnapshotIdentifier="c1")


def test_world_report_names_key_tags_and_sharing(stack, world):
    live, failsafe, key, _ = world
    share(live, "db1-copy", failsafe.id)
    [row] = [s for s in stack.world() if s["id"] == "db1-copy"]
    assert row["kmsKeyId"] == key and row["sharedWith"] == [failsafe.id] and row["type"] == "manual"
    assert json.dumps(row)


# --------------------------------------------------------------------------------------------
# Regions, identifiers, SNS and quotas. Each cites the AWS documentation it follows.

EAST, WEST = "us-east-1", "eu-west-1"


def test_a_shared_snapshot_is_seen_only_in_its_region_and_copied_by_a_destination_client(stack, world):
    # Amazon RDS User Guide, "Sharing a DB snapshot": a shared snapshot is listed in its own
    # AWS Region; CopyDBSnapshot API reference: "the AWS Region where you call the CopyDBSnapshot
    # operation is the destination AWS Region", and the source may be "an ARN of a snapshot that
    # is in a different account and a different AWS Region". Stock moto resolves no ARN of
    # another account, so the describe and the copy below fail there.
    live, failsafe, _, _ = world
    assert live.region == EAST
    share(live, "db1-copy", failsafe.id)
    arn = f"arn:aws:rds:{EAST}:{live.id}:snapshot:db1-copy"
    east = failsafe.client("rds", EAST)
    west = failsafe.client("rds", WEST)
    listed = lambda rds: [s["DBSnapshotArn"] for s in rds.describe_db_snapshots(  # noqa: E731
        IncludeShared=True, SnapshotType="shared")["DBSnapshots"]]
    assert listed(east) == [arn]
    assert listed(west) == []
    assert east.describe_db_snapshots(DBSnapshotIdentifier=arn, IncludeShared=True)["DBSnapshots"]
    with pytest.raises(ClientError) as e:
        west.describe_db_snapshots(DBSnapshotIdentifier=arn, IncludeShared=True)
    assert code(e) == "DBSnapshotNotFound"
    fs_key_west = create_key(failsafe, "fs-west", region=WEST)
    copy = west.copy_db_snapshot(SourceDBSnapshotIdentifier=arn, TargetDBSnapshotIdentifier="saved",
                                 KmsKeyId=fs_key_west)["DBSnapshot"]
    assert copy["DBSnapshotArn"] == f"arn:aws:rds:{WEST}:{failsafe.id}:snapshot:saved"
    assert copy["SourceDBSnapshotIdentifier"] == arn
    assert [s["id"] for s in stack.world() if s["account"] == failsafe.id and s["region"] == WEST] == ["saved"]
    assert not [s for s in stack.world() if s["account"] == failsafe.id and s["region"] == EAST]


def test_sns_publish_to_a_topic_of_another_region_is_invalid_parameter(stack, accounts):
    # SNS Publish API reference, Errors: InvalidParameter. A client publishes to the topics of its
    # own region; a TopicArn of another region is refused. Stock moto answers NotFound.
    live, failsafe = accounts
    topic = failsafe.client("sns", WEST).create_topic(Name="rds-failsafe")["TopicArn"]
    with pytest.raises(ClientError) as e:
        live.client("sns", EAST).publish(TopicArn=topic, Message="{}")
    assert code(e) == "InvalidParameter"
    assert "TopicArn" in e.value.response["Error"]["Message"]
    # from the topic's region it goes through (the topic policy is CDK's business, not moto's)
    assert live.client("sns", WEST).publish(TopicArn=topic, Message="{}")["MessageId"]


@pytest.mark.parametrize("kind,limit", [("instance", 255), ("cluster", 63)])
def test_snapshot_identifiers_follow_the_rules_of_their_kind(stack, accounts, kind, limit):
    # CopyDBSnapshot TargetDBSnapshotIdentifier: 1 to 255 letters, numbers, or hyphens;
    # CopyDBClusterSnapshot TargetDBClusterSnapshotIdentifier: 1 to 63; both: first character a
    # letter, no trailing hyphen, no two consecutive hyphens (Amazon RDS API Reference).
    # Stock moto refuses bad DB snapshot ids already, but takes a 64-character DB cluster
    # snapshot id (the cluster case fails on it).
    live, _ = accounts
    stack.faults(creatingPolls=0)
    create_source(live, kind, "src", "none")
    auto = stack.seed_automated(live, kind, "src", T0)
    rds = live.client("rds")

    def copy(target):
        if kind == "cluster":
            return rds.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier=auto["id"],
                                                TargetDBClusterSnapshotIdentifier=target)
        return rds.copy_db_snapshot(SourceDBSnapshotIdentifier=auto["id"], TargetDBSnapshotIdentifier=target)

    copy("a" * limit)
    for bad in ("b" * (limit + 1), "1abc", "a--b", "ab-", "a_b"):
        with pytest.raises(ClientError) as e:
            copy(bad)
        assert code(e) == "InvalidParameterValue", bad
        assert "identifier" in e.value.response["Error"]["Message"].lower()
    with pytest.raises(ClientError) as e:
        if kind == "cluster":
            rds.create_db_cluster_snapshot(DBClusterIdentifier="src", DBClusterSnapshotIdentifier="c" * 64)
        else:
            rds.create_db_snapshot(DBInstanceIdentifier="src", DBSnapshotIdentifier="c" * 256)
    assert code(e) == "InvalidParameterValue"


def test_manual_snapshot_quotas_default_to_100_per_kind_failed_copies_included(stack, accounts):
    # Amazon RDS User Guide, "Quotas in Amazon RDS": 100 manual DB snapshots and 100 manual DB
    # cluster snapshots per Region; DescribeAccountAttributes reports ManualSnapshots and
    # ManualClusterSnapshots with Used and Max (API reference, AccountQuota). Stock moto does not
    # implement DescribeAccountAttributes.
    live, _ = accounts
    create_source(live, "instance", "q", "none")
    auto = stack.seed_automated(live, "instance", "q", T0)
    stack.faults(creatingPolls=1, failCopiesOf=["q"])
    rds = live.client("rds")
    rds.copy_db_snapshot(SourceDBSnapshotIdentifier=auto["id"], TargetDBSnapshotIdentifier="failing")
    assert available(live, "failing")["Status"] == "failed"
    stack.faults(creatingPolls=0)
    for i in range(99):
        rds.copy_db_snapshot(SourceDBSnapshotIdentifier=auto["id"], TargetDBSnapshotIdentifier=f"m{i}")
    quotas = {q["AccountQuotaName"]: q for q in rds.describe_account_attributes()["AccountQuotas"]}
    assert (quotas["ManualSnapshots"]["Used"], quotas["ManualSnapshots"]["Max"]) == (100, 100)
    assert (quotas["ManualClusterSnapshots"]["Used"], quotas["ManualClusterSnapshots"]["Max"]) == (0, 100)
    with pytest.raises(ClientError) as e:
        rds.copy_db_snapshot(SourceDBSnapshotIdentifier=auto["id"], TargetDBSnapshotIdentifier="m100")
    assert code(e) == "SnapshotQuotaExceeded"
    # the failed copy counts until it is deleted
    rds.delete_db_snapshot(DBSnapshotIdentifier="failing")
    rds.copy_db_snapshot(SourceDBSnapshotIdentifier=auto["id"], TargetDBSnapshotIdentifier="m100")
    # another region has its own quota
    west = {q["AccountQuotaName"]: q for q in live.client("rds", WEST).describe_account_attributes()["AccountQuotas"]}
    assert west["ManualSnapshots"]["Used"] == 0


def test_rds_offers_db_instance_classes_per_engine_and_refuses_the_others(stack, accounts):
    # RDS User Guide, "Supported DB engines for DB instance classes"; API reference,
    # DescribeOrderableDBInstanceOptions (MaxRecords 20-1000, Marker). Stock moto answers nothing
    # for RDS for PostgreSQL and creates a DB instance in any class.
    live, _ = accounts
    rds = live.client("rds")
    pages = list(rds.get_paginator("describe_orderable_db_instance_options").paginate(
        Engine="postgres", EngineVersion="16.4", Vpc=True, PaginationConfig={"PageSize": 20}))
    assert len(pages) > 1 and all(len(p["OrderableDBInstanceOptions"]) <= 20 for p in pages)
    offered = {o["DBInstanceClass"] for p in pages for o in p["OrderableDBInstanceOptions"]}
    assert {"db.t4g.micro", "db.t3.micro", "db.m6g.large"} <= offered
    assert all(o["Vpc"] and o["SupportsStorageEncryption"] for p in pages
               for o in p["OrderableDBInstanceOptions"])
    aurora = {o["DBInstanceClass"] for o in rds.describe_orderable_db_instance_options(
        Engine="aurora-mysql")["OrderableDBInstanceOptions"]}
    assert "db.t4g.medium" in aurora and "db.t4g.micro" not in aurora
    with pytest.raises(ClientError) as e:
        rds.describe_orderable_db_instance_options(Engine="postgres", MaxRecords=10)
    assert code(e) == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        rds.create_db_instance(DBInstanceIdentifier="old", Engine="postgres", DBInstanceClass="db.t2.micro",
                               AllocatedStorage=20, MasterUsername="admin", MasterUserPassword="not-a-secret-1")
    assert code(e) == "InvalidParameterCombination"
    assert "DBInstanceClass=db.t2.micro, Engine=postgres" in str(e.value)
    # a restore, too: the class must be one RDS offers the snapshot's engine
    create_source(live, "instance", "db1")
    auto = stack.seed_automated(live, "instance", "db1", T0)
    with pytest.raises(ClientError) as e:
        rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="r1", DBSnapshotIdentifier=auto["id"],
                                                 DBInstanceClass="db.t4g.medium.huge")
    assert code(e) == "InvalidParameterCombination"
    rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="r1", DBSnapshotIdentifier=auto["id"],
                                             DBInstanceClass="db.t4g.micro")


# The shared rule list: the same rules on the fake of the Rust tests
# (lambdas/core/tests/tasks/rds_rules.rs), so the two test doubles cannot drift apart.
RULES = json.loads((Path(__file__).resolve().parents[2] / "contract" / "rds-rules.json").read_text())["rules"]


def apply_rule(stack, live, failsafe, rule) -> None:
    kind = rule["kind"]
    enc = {"none": "none", "aws-rds": "aws-rds", "cmk": None}[rule["encryption"]]
    create_source(live, kind, "orders", enc or create_key(live, "rule-cmk"))
    auto = stack.seed_automated(live, kind, "orders", T0)["id"]
    stack.faults(creatingPolls=0)
    if "quota" in rule:
        stack.faults(quota=[{"account": live.id, "region": live.region, "limit": rule["quota"]}])
    rds = live.client("rds")
    cluster = kind == "cluster"

    def copy(key=None):
        kw = {"KmsKeyId": key} if key else {}
        if cluster:
            rds.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier=auto,
                                         TargetDBClusterSnapshotIdentifier="rule-copy", **kw)
        else:
            rds.copy_db_snapshot(SourceDBSnapshotIdentifier=auto, TargetDBSnapshotIdentifier="rule-copy", **kw)

    def delete(sid):
        if cluster:
            rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=sid)
        else:
            rds.delete_db_snapshot(DBSnapshotIdentifier=sid)

    def share_with_failsafe(sid):
        if cluster:
            rds.modify_db_cluster_snapshot_attribute(DBClusterSnapshotIdentifier=sid, AttributeName="restore",
                                                     ValuesToAdd=[failsafe.id])
        else:
            share(live, sid, failsafe.id)

    action = rule["action"]
    if action == "delete-automated":
        delete(auto)
    elif action == "share-automated":
        share_with_failsafe(auto)
    elif action == "share-copy":
        copy()
        share_with_failsafe("rule-copy")
    elif action == "copy":
        copy()
    elif action == "copy-with-key":
        copy(create_key(live, "rule-copy-key"))
    elif action == "copy-twice":
        copy()
        copy()
    elif action == "delete-missing":
        delete("no-such-snapshot")
    else:
        raise AssertionError(f"{rule['rule']}: unknown action {action}")


@pytest.mark.parametrize("rule", RULES, ids=[r["rule"] for r in RULES])
def test_the_emulator_keeps_every_rule_of_the_shared_list(stack, accounts, rule):
    # Stock moto deletes and shares automated snapshots, shares aws/rds ones, counts no quota and
    # encrypts an unencrypted cluster snapshot by copying (the tests above, one rule each).
    live, failsafe = accounts
    with pytest.raises(ClientError) as e:
        apply_rule(stack, live, failsafe, rule)
    assert code(e) == rule["error"], (rule["rule"], e.value.response["Error"])
