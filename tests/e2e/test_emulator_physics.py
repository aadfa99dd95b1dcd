"""The emulator's copy physics (tools/local/rdsf_local/physics.py; docs/aws-facts.md, "Copy
physics"), through the real AWS API (boto3) and the control API. Stock moto has none of it: no
size, no full or incremental copy, no clock (its copies are `available` at once), no queue, no
storage (`RDSF_STOCK_MOTO=1` makes every test here fail but the last, which checks the
control API's own settings)."""

import pytest
from rdsf_local.deployment import create_key, create_source

GIB = 1024**3
MIB = 1024**2


def at(day: int, hhmm: str) -> str:
    return f"2026-11-{19 + day:02d}T{hhmm}:00Z"


@pytest.fixture
def big(stack, accounts):
    """A 2 TiB DB instance (1 % written a day) and a 100 GiB Aurora cluster in Live, copies at
    100 MiB/s, the simulated clock on; a share key the Failsafe account may use, a Failsafe key."""
    live, failsafe = accounts
    share_key = create_key(live, "share", grant_to=[failsafe.id])
    fs_key = create_key(failsafe, "fs")
    create_source(live, "instance", "big", "none")
    create_source(live, "cluster", "aurora", "none")
    stack.physics(clock=True, throughputMiBps=100, sources=[
        {"account": live.id, "region": live.region, "kind": "instance", "id": "big", "sizeGiB": 2048,
         "changePerDay": 0.01},
        {"account": live.id, "region": live.region, "kind": "cluster", "id": "aurora", "sizeGiB": 100},
    ])
    return live, failsafe, share_key, fs_key


def physics_of(stack, account, snapshot_id) -> dict:
    [row] = [r for r in stack.world() if r["account"] == account.id and r["id"] == snapshot_id]
    return row["physics"]


def describe(acct, snapshot_id) -> dict:
    return acct.client("rds").describe_db_snapshots(DBSnapshotIdentifier=snapshot_id)["DBSnapshots"][0]


def copy(acct, source, target, key=None) -> dict:
    kw = {"KmsKeyId": key} if key else {}
    return acct.client("rds").copy_db_snapshot(SourceDBSnapshotIdentifier=source,
                                               TargetDBSnapshotIdentifier=target, **kw)["DBSnapshot"]


def share(acct, snapshot_id, with_account):
    acct.client("rds").modify_db_snapshot_attribute(
        DBSnapshotIdentifier=snapshot_id, AttributeName="restore", ValuesToAdd=[with_account])


def daily_share_copy(stack, live, share_key, day: int) -> str:
    """Day `day`'s automated snapshot at 03:00 and its share copy at 05:00, waited for."""
    auto = stack.seed_automated(live, "instance", "big", at(day, "03:00"))
    stack.clock(at(day, "05:00"))
    target = f"share-{day}"
    copy(live, auto["id"], target, share_key)
    stack.clock(physics_of(stack, live, target)["copy"]["end"])
    assert describe(live, target)["Status"] == "available"
    return target


def test_a_copy_takes_its_bytes_over_the_throughput_by_the_simulated_clock(stack, big):
    # Stock moto: available at once, no size. RDS: a full 2 TiB copy at 100 MiB/s takes
    # 2048 * 1024 / 100 = 20,971.52 s, with PercentProgress growing as it goes.
    live, _, share_key, _ = big
    auto = stack.seed_automated(live, "instance", "big", at(1, "03:00"))
    stack.clock(at(1, "05:00"))
    copy(live, auto["id"], "share-1", share_key)
    facts = physics_of(stack, live, "share-1")["copy"]
    assert (facts["mode"], facts["bytes"]) == ("full", 2048 * GIB)
    assert facts["seconds"] == pytest.approx(2048 * 1024 / 100)
    assert describe(live, "share-1")["Status"] == "creating"
    stack.clock(at(1, "08:00"))  # 3 of its 5.8 hours
    s = describe(live, "share-1")
    assert s["Status"] == "creating" and 45 <= s["PercentProgress"] <= 55
    stack.clock(at(1, "10:50"))
    assert describe(live, "share-1")["Status"] == "available"


def test_a_copy_of_the_same_instance_under_the_same_key_is_incremental(stack, big):
    # RDS User Guide, "Incremental snapshot copying": the next copy moves only the blocks written
    # since the snapshot of the most recent copy. 1 % a day over one day of 2 TiB: 20.48 GiB.
    live, _, share_key, _ = big
    daily_share_copy(stack, live, share_key, 1)
    daily_share_copy(stack, live, share_key, 2)
    facts = physics_of(stack, live, "share-2")["copy"]
    assert facts["mode"] == "incremental", facts["why"]
    assert facts["bytes"] == round(2048 * GIB * 0.01)
    # deleting the most recent copy makes the next one full
    live.client("rds").delete_db_snapshot(DBSnapshotIdentifier="share-2")
    daily_share_copy(stack, live, share_key, 3)
    facts = physics_of(stack, live, "share-3")["copy"]
    assert (facts["mode"], facts["why"]) == ("full", "the most recent copy here was deleted")


def test_a_copy_under_another_key_is_full(stack, big):
    live, _, share_key, _ = big
    daily_share_copy(stack, live, share_key, 1)
    auto = stack.seed_automated(live, "instance", "big", at(2, "03:00"))
    copy(live, auto["id"], "other-key", create_key(live, "other"))
    facts = physics_of(stack, live, "other-key")["copy"]
    assert (facts["mode"], facts["bytes"]) == ("full", 2048 * GIB)
    assert facts["why"] == "a copy of this DB instance here is under another KMS key"


def test_a_copy_of_a_snapshot_copy_is_full_every_day(stack, big):
    # "When you copy a source snapshot that is a snapshot copy itself, the new copy isn't
    # incremental": the Failsafe copy of a Live share copy moves the whole 2 TiB every day.
    live, failsafe, share_key, fs_key = big
    for day in (1, 2):
        shared = daily_share_copy(stack, live, share_key, day)
        share(live, shared, failsafe.id)
        arn = f"arn:aws:rds:{live.region}:{live.id}:snapshot:{shared}"
        copy(failsafe, arn, f"saved-{day}", fs_key)
        facts = physics_of(stack, failsafe, f"saved-{day}")["copy"]
        assert (facts["mode"], facts["bytes"]) == ("full", 2048 * GIB), facts
        assert facts["why"] == "its source is itself a snapshot copy"
        stack.clock(facts["end"])


def test_cluster_snapshot_copies_are_always_full(stack, big):
    # Aurora User Guide: DB cluster snapshot copies are not incremental.
    live = big[0]
    rds = live.client("rds")
    for day in (1, 2):
        auto = stack.seed_automated(live, "cluster", "aurora", at(day, "03:00"))
        stack.clock(at(day, "05:00"))
        got = rds.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier=auto["id"],
                                           TargetDBClusterSnapshotIdentifier=f"c-{day}")
        assert got["DBClusterSnapshot"]["Status"] == "creating"
        facts = physics_of(stack, live, f"c-{day}")["copy"]
        assert (facts["mode"], facts["bytes"]) == ("full", 100 * GIB)
        stack.clock(facts["end"])


def test_copies_of_one_source_queue_behind_each_other(stack, big):
    # RDS User Guide, "Copying a DB snapshot": copies requested later for the same source DB
    # instance don't start until the earlier ones are complete; a queued copy shows no progress.
    live, _, share_key, _ = big
    auto = stack.seed_automated(live, "instance", "big", at(1, "03:00"))
    stack.clock(at(1, "05:00"))
    copy(live, auto["id"], "first", share_key)
    copy(live, auto["id"], "second", create_key(live, "second"))
    first = physics_of(stack, live, "first")["copy"]
    second = physics_of(stack, live, "second")["copy"]
    assert second["start"] == first["end"]
    assert second["queuedSeconds"] == pytest.approx(first["seconds"])
    stack.clock(at(1, "08:00"))
    assert describe(live, "second")["PercentProgress"] == 0


def test_no_automated_backup_while_a_copy_of_the_instance_runs(stack, big):
    # RDS User Guide, "Introduction to backups": automated backups don't occur while a DB
    # snapshot copy is running in the same Region for the same database. A copy of 5.8 hours
    # started at 23:00 is still running at the next day's 03:00 backup.
    live, _, share_key, _ = big
    auto = stack.seed_automated(live, "instance", "big", at(1, "03:00"))
    stack.clock(at(1, "23:00"))
    copy(live, auto["id"], "late", share_key)
    taken = stack.seed_automated(live, "instance", "big", at(2, "03:00"))
    assert "skipped" in taken and "late" in taken["skipped"]
    stack.clock(physics_of(stack, live, "late")["copy"]["end"])
    assert "id" in stack.seed_automated(live, "instance", "big", at(3, "03:00"))


def test_deleting_the_source_before_the_copy_is_available_fails_the_copy(stack, big):
    # RDS User Guide: "If you delete a source snapshot before the target snapshot becomes
    # available, the snapshot copy might fail" (the emulator: it fails).
    live, failsafe, share_key, fs_key = big
    shared = daily_share_copy(stack, live, share_key, 1)
    share(live, shared, failsafe.id)
    copy(failsafe, f"arn:aws:rds:{live.region}:{live.id}:snapshot:{shared}", "saved", fs_key)
    live.client("rds").delete_db_snapshot(DBSnapshotIdentifier=shared)
    stack.clock(at(3, "00:00"))
    assert describe(failsafe, "saved")["Status"] == "failed"
    assert "was deleted" in physics_of(stack, failsafe, "saved")["copy"]["failed"]


def test_storage_is_counted_as_rds_bills_it(stack, big):
    # A full copy stores all its bytes, an incremental one the blocks it changed; deleting a
    # snapshot leaves what the later ones still need with them.
    live, failsafe, share_key, _ = big
    for day in (1, 2, 3):
        daily_share_copy(stack, live, share_key, day)
    rds = live.client("rds")

    def share_copies_bytes():
        # the automated snapshots' own lineage is counted apart: take it out
        [row] = [s for s in stack.storage() if s["account"] == live.id]
        autos = [r for r in stack.world() if r["account"] == live.id and r["type"] == "automated"
                 and r["source"] == "big"]
        return row["storedBytes"], len(autos)

    size, day = 2048 * GIB, round(2048 * GIB * 0.01)
    two_days = round(2048 * GIB * (1 - 0.99**2))
    stored, autos = share_copies_bytes()
    # automated lineage: 2 TiB + 2 days of changes; copies: 2 TiB + 2 days of changes
    assert (autos, stored) == (3, 2 * (size + 2 * day))
    rds.delete_db_snapshot(DBSnapshotIdentifier="share-2")  # the middle one: frees what only it held
    assert share_copies_bytes()[0] == (size + 2 * day) + (size + two_days)
    rds.delete_db_snapshot(DBSnapshotIdentifier="share-1")  # the oldest: share-3 keeps all it needs
    assert share_copies_bytes()[0] == (size + 2 * day) + size


def test_a_copy_of_an_unseen_size_is_a_20_gib_source(stack, accounts):
    # A source with no size given: RDS's smallest General Purpose allocation, 20 GiB.
    live, _ = accounts
    create_source(live, "instance", "small", "none")
    stack.physics(clock=True)
    auto = stack.seed_automated(live, "instance", "small", at(1, "03:00"))
    copy(live, auto["id"], "small-copy")
    assert physics_of(stack, live, "small-copy")["copy"]["bytes"] == 20 * GIB


def test_physics_settings_are_checked(stack, accounts):
    live, _ = accounts
    from rdsf_local.stack import StackError

    with pytest.raises(StackError, match="sizeGiB of db must be above 0"):
        stack.physics(sources=[{"account": live.id, "region": live.region, "id": "db", "sizeGiB": 0}])
    with pytest.raises(StackError, match="changePerDay of db must be a fraction"):
        stack.physics(sources=[{"account": live.id, "region": live.region, "id": "db", "changePerDay": 2}])
    with pytest.raises(StackError, match="throughputMiBps must be above 0"):
        stack.physics(throughputMiBps=0)


def test_each_copy_is_seen_as_of_its_own_lanes_time(stack, big):
    # The ASL runner's lanes run at once locally, so one lane can move the clock hours ahead of
    # another. A copy is seen as of its own lane: from when it was requested plus the seconds its
    # lane waited (asl_runner.mjs observeClock), not as of the clock another lane moved.
    live, _, share_key, _ = big
    auto = stack.seed_automated(live, "instance", "big", at(1, "03:00"))
    stack.clock(at(1, "05:00"))
    copy(live, auto["id"], "first", share_key)  # 5.8 h, then the second queues behind it
    rds = live.client("rds")
    cluster_auto = stack.seed_automated(live, "cluster", "aurora", at(1, "03:00"))
    rds.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier=cluster_auto["id"],
                                 TargetDBClusterSnapshotIdentifier="other-lane")  # 17 min
    run_start = at(1, "05:00")

    def observe(snapshot_id, elapsed):
        stack.control("clock", {"observe": {"account": live.id, "snapshotId": snapshot_id,
                                            "elapsedSeconds": elapsed, "runStart": run_start}})

    observe("first", 0)
    observe("first", 15 * 3600)  # the first lane has waited 15 h: the clock is at 20:00
    assert stack.clock() == "2026-11-20T20:00:00+00:00"
    observe("other-lane", 0)
    observe("other-lane", 60)  # its own lane: a minute after its request
    got = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier="other-lane")["DBClusterSnapshots"][0]
    assert got["Status"] == "creating", got["Status"]
    observe("other-lane", 1800)
    got = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier="other-lane")["DBClusterSnapshots"][0]
    assert got["Status"] == "available"
