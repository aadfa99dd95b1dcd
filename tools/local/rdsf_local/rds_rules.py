"""The rules of real RDS and KMS that stock moto 5.2 does not keep, patched into moto's classes in
the emulator process (nothing on disk is edited). docs/aws-facts.md lists the facts; every rule here has a
test in tests/e2e/test_emulator_rules.py that fails on stock moto.

- Copy by ARN from another account and region reads *that* account's snapshot, and only if the
  snapshot's `restore` attribute names the caller (stock moto looks the name up in the caller's own
  account).
- A shared encrypted snapshot can be copied only with the caller's own `KmsKeyId`, and only if the
  source key's policy grants the caller's account Decrypt, DescribeKey and CreateGrant; else
  `KMSKeyNotAccessibleFault`. An unencrypted cluster snapshot cannot be encrypted by a copy.
- Snapshots on the AWS-managed `aws/rds` key, and automated snapshots, cannot be shared; encrypted
  snapshots cannot be made public; automated snapshots cannot be deleted.
- `IncludeShared` and ARN identifiers on DescribeDB(Cluster)Snapshots; `SourceDBSnapshotIdentifier`
  on copies.
- A copy is `creating` (with `PercentProgress`) for a configurable number of describe calls, or
  (`copySeconds`, make bench) for a wall-clock time with its progress growing linearly, then
  `available`, or `failed` when a fault says so.
- The manual-snapshot quota counts manual snapshots only (`failed` copies included), per kind,
  per account and region, 100 by default; `DescribeAccountAttributes` reports `ManualSnapshots`
  and `ManualClusterSnapshots` with `Used` and `Max`.
- Regions: a snapshot shared with an account is listed (`IncludeShared`) and described by ARN only
  in the snapshot's own region; a copy by ARN is made by a client in the destination region.
- SNS `Publish` to a topic of another region than the client's is `InvalidParameter`.
- A DB snapshot names its origin (`SourceDBSnapshotIdentifier`) only when it is a cross-account or
  cross-Region copy; a DB cluster snapshot copy always names it (`SourceDBClusterSnapshotArn`).
- A snapshot of a Multi-AZ DB cluster (engine `mysql` or `postgres`, not Aurora) cannot be copied
  (RDS User Guide, "Limitations of Multi-AZ DB clusters": copying a snapshot of a Multi-AZ DB
  cluster is not supported), nor can an RDS Custom DB snapshot (engine `custom-*`; RDS Custom
  User Guide: CopyDBSnapshot does not apply). The docs name no error code for either: the
  emulator answers `InvalidParameterCombination` naming the limitation, and the tool relies on
  not selecting such sources, not on the code.
- RDS's service-linked role `AWSServiceRoleForRDS` exists in an account once a DB instance or
  cluster was created there (`_ensure_service_linked_role`), not before.
- At most 5 DB cluster snapshot copies in progress per account and destination region: a 6th is
  refused (`MAX_CLUSTER_COPIES_IN_PROGRESS`).
- No automated snapshot of a DB instance is taken while a snapshot copy of it is in progress in
  its region (`copy_in_progress`; RDS User Guide, "Introduction to backups").
- `DescribeOrderableDBInstanceOptions` answers the DB instance classes of `ORDERABLE_CLASSES` for
  RDS for PostgreSQL, MySQL and MariaDB and Aurora (stock moto knows Aurora PostgreSQL and
  Neptune only, at versions the local stack does not create), `MaxRecords` 20-1000 with a
  `Marker`; a DB instance (created, restored, or a cluster's) of one of those engines in a class
  not offered is refused with `InvalidParameterCombination`, as RDS refuses it.
- Snapshot identifiers follow the rules of their kind: a DB snapshot id 1-255 characters, a DB
  cluster snapshot id 1-63; a letter first; letters, digits and hyphens; no `--`, no trailing `-`.
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from moto.kms.models import KmsBackend, kms_backends
from moto.rds import models as rds_models
from moto.rds import responses as rds_responses
from moto.rds.exceptions import (
    DBClusterSnapshotAlreadyExistsError,
    DBClusterSnapshotNotFoundError,
    DBSnapshotAlreadyExistsError,
    DBSnapshotNotFoundFault,
    InvalidParameterCombination,
    InvalidParameterValue,
    KMSKeyNotAccessibleFault,
    RDSClientError,
    SnapshotQuotaExceededFault,
)
from moto.rds.models import DBClusterSnapshot, DBSnapshot, RDSBackend, rds_backends
from moto.sns import models as sns_models
from moto.sns.exceptions import InvalidParameterValue as SnsInvalidParameterValue

from .physics import PHYSICS, db_arn

KMS_GRANT_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant")
# "You can have up to five snapshot copy requests in progress to a single destination Region per
# account" (Aurora User Guide, "DB cluster snapshot copying", limitations). The guide names no
# error; users report `SnapshotQuotaExceeded` ("Cannot copy more than 5 snapshots across
# regions") for RDS's like limit on DB snapshot copies, which the emulator answers. The tool keeps
# under the limit (its cluster lanes run at most 5), it does not rely on the code.
MAX_CLUSTER_COPIES_IN_PROGRESS = 5


@dataclass
class Faults:
    """What the tests inject. Reset with the world."""

    # operation name (e.g. "CopyDBSnapshot") -> how many of the next calls answer Throttling
    throttle: dict[str, int] = field(default_factory=dict)
    # operation name -> how many of the next calls answer HTTP 500 InternalFailure (a transient
    # server fault: the AWS SDKs' standard retry mode and the state machines must ride it out)
    internal_failure: dict[str, int] = field(default_factory=dict)
    # how many describe calls a new copy stays `creating`
    creating_polls: int = 1
    # or, when set (make bench), for how many wall-clock seconds: PercentProgress grows linearly
    copy_seconds: float | None = None
    # copies of these source ids (the DB instance / cluster id) end `failed`
    fail_copies_of: set[str] = field(default_factory=set)
    # (account, region) -> manual snapshots allowed per kind (RDS default 100)
    quota: dict[tuple[str, str], int] = field(default_factory=dict)
    default_quota: int = 100
    # how many describe calls a restored DB instance or cluster stays `creating` (RDS takes
    # minutes; stock moto answers `available` at once)
    restore_polls: int = 0
    # restores of copies of these source ids end `incompatible-restore`
    fail_restores_of: set[str] = field(default_factory=set)
    # RDS's request rate per account and region, as a token bucket: (burst, per second). RDS
    # throttles every caller of an account and region together with a token bucket, 300 requests
    # in a burst and 12 a second sustained (RDS User Guide, "Request throttling for the Amazon RDS
    # API"; docs/aws-facts.md). Its example error is `ThrottlingException`, "Rate exceeded"; RDS's
    # query API is seen answering `Throttling`, which the emulator answers (the tool maps both). Off unless a test sets it: the local stack shortens every Wait, so its
    # request rate per second is not AWS's, and a bucket at AWS's numbers would throttle runs
    # that are well within them on AWS. A test sets the rate it means to exceed.
    rds_rate: tuple[float, float] | None = None


@dataclass
class Pending:
    polls_left: int
    total: int
    outcome: str  # "available" | "failed"
    # the time mode (Faults.copy_seconds): when the copy started and how long it takes
    started: float | None = None
    seconds: float = 0.0


class ExtState:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.faults = Faults()
        self.pending: dict[int, Pending] = {}  # id(snapshot object) -> progress
        self.restoring: dict[int, list] = {}  # id(DB object) -> [describes left, outcome]
        self.buckets: dict[tuple[str, str], list[float]] = {}  # (account, region) -> [tokens, at]

    def reset(self) -> None:
        with self.lock:
            self.faults = Faults()
            self.pending.clear()
            self.restoring.clear()
            self.buckets.clear()
            PHYSICS.reset()

    def take_rds_token(self, account: str, region: str) -> bool:
        """One RDS request of `account` in `region` against the account's request rate: False
        when the bucket is empty (the request is answered `Throttling`). Every RDS operation
        counts, the throttled ones included, as every caller of the account shares the rate."""
        with self.lock:
            if self.faults.rds_rate is None:
                return True
            burst, per_second = self.faults.rds_rate
            now = time.monotonic()
            tokens, at = self.buckets.get((account, region), [burst, now])
            tokens = min(burst, tokens + (now - at) * per_second)
            if tokens < 1:
                self.buckets[(account, region)] = [tokens, now]
                return False
            self.buckets[(account, region)] = [tokens - 1, now]
            return True

    def take_throttle(self, operation: str) -> bool:
        return self._take(self.faults.throttle, operation)

    def take_internal_failure(self, operation: str) -> bool:
        return self._take(self.faults.internal_failure, operation)

    def _take(self, counts: dict[str, int], operation: str) -> bool:
        with self.lock:
            left = counts.get(operation, 0)
            if left <= 0:
                return False
            counts[operation] = left - 1
            return True


STATE = ExtState()


# --------------------------------------------------------------------------------------------
# helpers


def parse_rds_arn(arn: str) -> tuple[str, str, str, str]:
    """arn:aws:rds:<region>:<account>:<snapshot|cluster-snapshot>:<name>"""
    parts = arn.split(":", 6)
    if len(parts) != 7 or parts[2] != "rds":
        raise InvalidParameterValue(f"{arn} is not an RDS snapshot ARN")
    return parts[3], parts[4], parts[5], parts[6]


def _kms_backend(account: str, region: str):
    return kms_backends[account][region]


def default_rds_key_arn(account: str, region: str) -> str:
    """The AWS-managed aws/rds key of an account and region (created on first use, as in AWS)."""
    return _kms_backend(account, region).describe_key("alias/aws/rds").arn


def resolve_key_arn(account: str, region: str, key: str | None) -> str | None:
    if not key:
        return None
    if key.startswith("arn:aws:kms:"):
        k_region, k_account = key.split(":")[3], key.split(":")[4]
        if "alias/" in key:
            return _kms_backend(k_account, k_region).describe_key(key.split(":", 5)[5]).arn
        return key
    return _kms_backend(account, region).describe_key(key).arn


def is_aws_managed_key(key_arn: str | None) -> bool:
    if not key_arn or not key_arn.startswith("arn:aws:kms:"):
        return False
    _, _, _, region, account, _ = key_arn.split(":", 5)
    try:
        return key_arn == default_rds_key_arn(account, region)
    except Exception:  # noqa: BLE001 - a key we cannot resolve is not the managed key
        return False


def key_grants_account(key_arn: str, account: str) -> bool:
    """Does the key's policy allow `account` to use it for a cross-account copy?"""
    _, _, _, region, owner, rest = key_arn.split(":", 5)
    if owner == account:
        return True
    try:
        key = _kms_backend(owner, region).describe_key(rest.split("/", 1)[1])
    except Exception:  # noqa: BLE001 - an unknown key grants nothing
        return False
    if is_aws_managed_key(key.arn):
        return False  # AWS-managed keys are usable only by their own account
    try:
        policy = json.loads(key.policy or "{}")
    except ValueError:
        return False
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    allowed: set[str] = set()
    for st in statements:
        if st.get("Effect") != "Allow":
            continue
        principal = st.get("Principal", {})
        aws = principal.get("AWS", []) if isinstance(principal, dict) else principal
        aws = [aws] if isinstance(aws, str) else aws
        if not any(p in ("*", account, f"arn:aws:iam::{account}:root") for p in aws):
            continue
        actions = st.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        for wanted in KMS_GRANT_ACTIONS:
            if any(fnmatch.fnmatchcase(wanted, a) for a in actions):
                allowed.add(wanted)
    return allowed.issuperset(KMS_GRANT_ACTIONS)


# CopyDBSnapshot TargetDBSnapshotIdentifier: "Must contain from 1 to 255 letters, numbers, or
# hyphens"; CopyDBClusterSnapshot TargetDBClusterSnapshotIdentifier and CreateDBClusterSnapshot
# DBClusterSnapshotIdentifier: "from 1 to 63"; both: "First character must be a letter",
# "Can't end with a hyphen or contain two consecutive hyphens" (Amazon RDS API Reference).
MAX_SNAPSHOT_ID = {False: 255, True: 63}
_ID_RE = re.compile(r"[A-Za-z][A-Za-z0-9-]*")


def check_snapshot_id(identifier: str, cluster: bool, parameter: str) -> None:
    limit = MAX_SNAPSHOT_ID[cluster]
    ok = (
        bool(identifier)
        and len(identifier) <= limit
        and _ID_RE.fullmatch(identifier) is not None
        and "--" not in identifier
        and not identifier.endswith("-")
    )
    if not ok:
        raise InvalidParameterValue(
            f"The parameter {parameter} is not a valid identifier ({identifier!r}, "
            f"{len(identifier)} characters). Identifiers must begin with a letter; must contain only "
            f"ASCII letters, digits, and hyphens; must not end with a hyphen or contain two "
            f"consecutive hyphens; and a {'DB cluster snapshot' if cluster else 'DB snapshot'} "
            f"identifier has at most {limit} characters."
        )


def _quota(backend: RDSBackend) -> int:
    return STATE.faults.quota.get(
        (backend.account_id, backend.region_name), STATE.faults.default_quota
    )


def _manual_count(snapshots) -> int:
    return sum(1 for s in snapshots.values() if s.snapshot_type == "manual")


def _source_of(snapshot) -> str:
    if isinstance(snapshot, DBClusterSnapshot):
        return snapshot.db_cluster_identifier
    return snapshot.db_instance_identifier


def _start_creating(snapshot) -> None:
    with STATE.lock:
        polls = max(0, STATE.faults.creating_polls)
        seconds = STATE.faults.copy_seconds
        fails = _source_of(snapshot) in STATE.faults.fail_copies_of
        if PHYSICS.clock_on and snapshot.arn in PHYSICS.facts:
            polls, seconds = 1, None  # the simulated clock decides (tick)
        if (polls == 0 if seconds is None else seconds <= 0) and not fails:
            return
        snapshot.status = "creating"
        snapshot.percent_progress = 0
        STATE.pending[id(snapshot)] = Pending(
            polls_left=max(polls, 1), total=max(polls, 1), outcome="failed" if fails else "available",
            started=None if seconds is None else time.monotonic(), seconds=seconds or 0.0,
        )


def tick(snapshot, lane: str | None = None) -> None:
    """One describe call has seen this snapshot: move a copy in progress along. `lane`: the
    snapshot id the caller described it by (its lane's time, with the simulated clock)."""
    with STATE.lock:
        p = STATE.pending.get(id(snapshot))
        if p is None:
            return
        by_clock = PHYSICS.progress(snapshot.arn, snapshot.account_id, lane)
        if by_clock is not None:  # by the simulated clock (physics)
            done = by_clock
        elif p.started is not None:  # by wall clock (copySeconds)
            done = (time.monotonic() - p.started) / p.seconds if p.seconds > 0 else 1.0
        else:  # by describe calls (creatingPolls)
            p.polls_left -= 1
            done = (p.total - p.polls_left) / p.total
        if done < 1:
            snapshot.percent_progress = int(100 * done)
            return
        snapshot.status = p.outcome
        snapshot.percent_progress = 100 if p.outcome == "available" else 0
        del STATE.pending[id(snapshot)]


# --------------------------------------------------------------------------------------------
# copy


def _find_source(backend: RDSBackend, identifier: str, cluster: bool):
    """The snapshot a copy reads: by ARN in any account and region, by name in the caller's own."""
    not_found = DBClusterSnapshotNotFoundError if cluster else DBSnapshotNotFoundFault
    store_name = "cluster_snapshots" if cluster else "database_snapshots"
    if identifier.startswith("arn:"):
        region, account, rtype, name = parse_rds_arn(identifier)
        if rtype != ("cluster-snapshot" if cluster else "snapshot"):
            raise InvalidParameterValue(f"{identifier} is not a {'cluster ' if cluster else ''}snapshot ARN")
        owner = rds_backends[account][region]
        snap = getattr(owner, store_name).get(name)
        if snap is None:
            raise not_found(identifier)
        if account != backend.account_id:
            restore = snap.attributes.get("restore", [])
            if backend.account_id not in restore and "all" not in restore:
                # Not shared with the caller: AWS answers as if it did not exist.
                raise not_found(identifier)
        return snap
    snap = getattr(backend, store_name).get(identifier)
    if snap is None:
        raise not_found(identifier)
    return snap


def refuse_uncopyable(source, cluster: bool) -> None:
    """Multi-AZ DB cluster and RDS Custom snapshots cannot be copied (see the top)."""
    engine = str(getattr(source.cluster if cluster else source.database, "engine", "") or "")
    if cluster and not engine.startswith("aurora"):
        raise InvalidParameterCombination(
            f"Cannot copy a snapshot of a Multi-AZ DB cluster (engine {engine}): copying a snapshot "
            "of a Multi-AZ DB cluster is not supported")
    if not cluster and engine.startswith("custom-"):
        raise InvalidParameterCombination(
            f"Cannot copy an RDS Custom DB snapshot (engine {engine})")


def _refuse_cluster_copy_over_limit(backend: RDSBackend, store) -> None:
    """A 6th DB cluster snapshot copy in progress in this account and region (see the top)."""
    in_progress = sorted(sid for sid, s in store.items() if s.status == "creating")
    if len(in_progress) >= MAX_CLUSTER_COPIES_IN_PROGRESS:
        raise RDSClientError(
            "SnapshotQuotaExceeded",
            f"Cannot have more than {MAX_CLUSTER_COPIES_IN_PROGRESS} DB cluster snapshot copies in "
            f"progress in {backend.region_name}: {', '.join(in_progress)}")


def _copy(backend: RDSBackend, source_id: str, target_id: str, kms_key_id, tags, copy_tags, cluster):
    check_snapshot_id(target_id, cluster,
                      "TargetDBClusterSnapshotIdentifier" if cluster else "TargetDBSnapshotIdentifier")
    # The copy is made in the caller's (destination) region; the source may be in another
    # account and region, named by ARN (CopyDBSnapshot / CopyDBClusterSnapshot API reference).
    source = _find_source(backend, source_id, cluster)
    refuse_uncopyable(source, cluster)
    store = backend.cluster_snapshots if cluster else backend.database_snapshots
    if target_id in store:
        raise (DBClusterSnapshotAlreadyExistsError if cluster else DBSnapshotAlreadyExistsError)(target_id)
    if source.status != "available":
        code = "InvalidDBClusterSnapshotStateFault" if cluster else "InvalidDBSnapshotState"
        raise RDSClientError(code, f"Snapshot {source_id} is {source.status}, not available")
    if _manual_count(store) >= _quota(backend):
        raise SnapshotQuotaExceededFault()
    if cluster:
        _refuse_cluster_copy_over_limit(backend, store)
    cross_account = source.account_id != backend.account_id
    cross_region = source.region != backend.region_name
    encrypted = bool(source.encrypted)
    if cluster and not encrypted and kms_key_id:
        raise InvalidParameterCombination(
            "Cannot encrypt an unencrypted DB cluster snapshot by copying it (KmsKeyId given)"
        )
    if encrypted and (cross_account or cross_region) and not kms_key_id:
        raise KMSKeyNotAccessibleFault(
            "KmsKeyId is required to copy an encrypted snapshot shared from another account or region"
        )
    if encrypted and cross_account and not key_grants_account(source.kms_key_id, backend.account_id):
        raise KMSKeyNotAccessibleFault(source.kms_key_id)
    target_key = backend._validate_kms_key(kms_key_id) if kms_key_id else None
    if copy_tags and not tags:
        tags = list(source.tags or [])
    if cluster:
        target = DBClusterSnapshot(backend, source.cluster, target_id, tags=tags or [], kms_key_id=target_key)
        if target_key is None:
            target.kms_key_id, target.encrypted, target.storage_encrypted = (
                source.kms_key_id,
                source.encrypted,
                source.storage_encrypted,
            )
        target.source_db_cluster_snapshot_arn = source.arn
    else:
        target = DBSnapshot(
            backend,
            source.database,
            target_id,
            tags=tags or [],
            kms_key_id=target_key or source.kms_key_id,
            original_created_at=source.original_snapshot_create_time,
        )
        target.encrypted = target.kms_key_id is not None
        target.storage_encrypted = target.encrypted
        # "It only has a value in the case of a cross-account or cross-Region copy" (API
        # reference, DBSnapshot.SourceDBSnapshotIdentifier); stock moto fills it for every copy
        target.source_db_snapshot_identifier = source.arn if (cross_account or cross_region) else None
        target.source_region = source.region
    # Tags passed as [] must not fall back to the source's (AWS semantics), already handled.
    target.tags = tags or []
    if PHYSICS.clock_on and PHYSICS.clock is not None:
        target.created = PHYSICS.clock  # made now, by the simulated clock
    store[target_id] = target
    PHYSICS.copied(target.arn, backend.account_id, backend.region_name,
                   "cluster" if cluster else "instance", source.arn,
                   target.kms_key_id if target.encrypted else None, _utcnow())
    _start_creating(target)
    return target


def copy_db_snapshot(self, source_db_snapshot_identifier, target_db_snapshot_identifier,
                     kms_key_id=None, tags=None, copy_tags=False, **_: Any):
    return _copy(self, source_db_snapshot_identifier, target_db_snapshot_identifier,
                 kms_key_id, tags, copy_tags, cluster=False)


def copy_db_cluster_snapshot(self, source_db_cluster_snapshot_identifier,
                             target_db_cluster_snapshot_identifier, kms_key_id=None,
                             copy_tags=False, tags=None, **_: Any):
    return _copy(self, source_db_cluster_snapshot_identifier, target_db_cluster_snapshot_identifier,
                 kms_key_id, tags, copy_tags, cluster=True)


# --------------------------------------------------------------------------------------------
# delete, share


_stock = {
    "delete_db_snapshot": RDSBackend.delete_db_snapshot,
    "delete_db_cluster_snapshot": RDSBackend.delete_db_cluster_snapshot,
    "modify_db_snapshot_attribute": RDSBackend.modify_db_snapshot_attribute,
    "modify_db_cluster_snapshot_attribute": RDSBackend.modify_db_cluster_snapshot_attribute,
    "create_db_snapshot": RDSBackend.create_db_snapshot,
    "create_db_cluster_snapshot": RDSBackend.create_db_cluster_snapshot,
    "describe_db_snapshots": RDSBackend.describe_db_snapshots,
    "describe_db_cluster_snapshots": RDSBackend.describe_db_cluster_snapshots,
    "create_db_instance": RDSBackend.create_db_instance,
    "create_db_cluster": RDSBackend.create_db_cluster,
}


def _refuse_automated(snapshot, what: str, cluster: bool) -> None:
    if snapshot.snapshot_type == "automated":
        code = "InvalidDBClusterSnapshotStateFault" if cluster else "InvalidDBSnapshotState"
        raise RDSClientError(code, f"Automated snapshot {snapshot.resource_id} cannot be {what}")


def delete_db_snapshot(self, db_snapshot_identifier):
    snap = self.database_snapshots.get(db_snapshot_identifier)
    if snap is not None:
        _refuse_automated(snap, "deleted; it expires with the instance's backup retention", False)
    gone = _stock["delete_db_snapshot"](self, db_snapshot_identifier)
    _fail_copies_reading(gone)
    return gone


def delete_db_cluster_snapshot(self, db_snapshot_identifier):
    snap = self.cluster_snapshots.get(db_snapshot_identifier)
    if snap is not None:
        _refuse_automated(snap, "deleted; it expires with the cluster's backup retention", True)
    gone = _stock["delete_db_cluster_snapshot"](self, db_snapshot_identifier)
    _fail_copies_reading(gone)
    return gone


def _fail_copies_reading(gone) -> None:
    """A deleted snapshot's copies still in progress, in any account, end `failed` (physics)."""
    with STATE.lock:
        for f in PHYSICS.deleted(gone.arn):
            backend = rds_backends[f.account][f.region]
            store = backend.cluster_snapshots if f.kind == "cluster" else backend.database_snapshots
            snap = store.get(f.arn.rsplit(":", 1)[1])
            if snap is None:
                continue
            # still in progress: by the simulated clock when it is on (a status is only brought
            # up to date by a describe), else by its status
            if not (PHYSICS.unfinished(f) if PHYSICS.clock_on else snap.status == "creating"):
                continue
            f.failed = f"its source {gone.arn} was deleted before the copy was available"
            PHYSICS.requeue(f.db)
            snap.status, snap.percent_progress = "failed", 0
            STATE.pending.pop(id(snap), None)
            print(f"rdsf: copy {snap.arn} failed: {f.failed}", flush=True)


def _all_snapshots():
    for by_region in rds_backends.values():
        for backend in by_region.values():
            yield from backend.database_snapshots.values()
            yield from backend.cluster_snapshots.values()


def _check_share(snapshot, values_to_add, cluster: bool) -> None:
    if not values_to_add:
        return
    _refuse_automated(snapshot, "shared; copy it to a manual snapshot first", cluster)
    code = "InvalidDBClusterSnapshotStateFault" if cluster else "InvalidDBSnapshotState"
    if snapshot.status != "available":
        raise RDSClientError(code, f"Snapshot {snapshot.resource_id} is {snapshot.status}, not available")
    if snapshot.encrypted and is_aws_managed_key(snapshot.kms_key_id):
        raise RDSClientError(
            code,
            f"Snapshot {snapshot.resource_id} is encrypted with the AWS managed key aws/rds and "
            "cannot be shared; copy it with a customer managed key first",
        )
    if snapshot.encrypted and "all" in values_to_add:
        raise InvalidParameterValue("An encrypted snapshot cannot be made public ('all')")


def modify_db_snapshot_attribute(self, db_snapshot_identifier, attribute_name,
                                 values_to_add=None, values_to_remove=None):
    snap = self.get_db_snapshot(db_snapshot_identifier)
    _check_share(snap, values_to_add, False)
    return _stock["modify_db_snapshot_attribute"](
        self, db_snapshot_identifier, attribute_name, values_to_add, values_to_remove
    )


def modify_db_cluster_snapshot_attribute(self, db_cluster_snapshot_identifier, attribute_name,
                                         values_to_add=None, values_to_remove=None):
    snap = self.get_db_cluster_snapshot(db_cluster_snapshot_identifier)
    _check_share(snap, values_to_add, True)
    return _stock["modify_db_cluster_snapshot_attribute"](
        self, db_cluster_snapshot_identifier, attribute_name, values_to_add, values_to_remove
    )


# --------------------------------------------------------------------------------------------
# manual snapshot quota on create; KMS key ids as ARNs on create


def _admit_manual(backend: RDSBackend, identifier: str, cluster: bool) -> None:
    """A new manual snapshot: a valid identifier of its kind, and room in the quota."""
    check_snapshot_id(identifier, cluster, "DBClusterSnapshotIdentifier" if cluster else "DBSnapshotIdentifier")
    store = backend.cluster_snapshots if cluster else backend.database_snapshots
    if _manual_count(store) >= _quota(backend):
        raise SnapshotQuotaExceededFault()


def _refuse_busy(db, identifier: str, cluster: bool) -> None:
    """CreateDBSnapshot: "The source DB instance must be in the available or storage-optimization
    state"; CreateDBClusterSnapshot's InvalidDBClusterStateFault: "The requested operation can't
    be performed while the cluster is in this state" (RDS API reference). Stock moto takes a
    snapshot of a database in any state."""
    status = getattr(db, "status", "available") if db is not None else "available"
    if status in ("available", "storage-optimization"):
        return
    if cluster:
        raise RDSClientError("InvalidDBClusterStateFault", f"DB cluster {identifier} is {status}, not available")
    raise RDSClientError("InvalidDBInstanceState", f"DB instance {identifier} is {status}, not available")


def create_db_snapshot(self, db_instance_identifier, db_snapshot_identifier, snapshot_type="manual",
                       *args, **kwargs):
    if snapshot_type == "manual":
        _admit_manual(self, db_snapshot_identifier, cluster=False)
        _refuse_busy(self.databases.get(db_instance_identifier), db_instance_identifier, cluster=False)
    snap = _stock["create_db_snapshot"](
        self, db_instance_identifier, db_snapshot_identifier, snapshot_type, *args, **kwargs
    )
    _taken_now(snap)
    if snapshot_type == "manual":  # a snapshot takes a while, like a copy (Faults.creating_polls)
        _start_creating(snap)
    return snap


def create_db_cluster_snapshot(self, db_cluster_identifier, db_cluster_snapshot_identifier,
                               snapshot_type="manual", tags=None):
    if snapshot_type == "manual":
        _admit_manual(self, db_cluster_snapshot_identifier, cluster=True)
        _refuse_busy(self.clusters.get(db_cluster_identifier), db_cluster_identifier, cluster=True)
    snap = _stock["create_db_cluster_snapshot"](
        self, db_cluster_identifier, db_cluster_snapshot_identifier, snapshot_type, tags
    )
    _taken_now(snap)
    if snapshot_type == "manual":
        _start_creating(snap)
    return snap


def _taken(snap, at: datetime) -> None:
    """The physics of a snapshot taken of a DB in its own account (automated or manual)."""
    cluster = isinstance(snap, DBClusterSnapshot)
    kind = "cluster" if cluster else "instance"
    PHYSICS.taken(snap.arn, snap.account_id, snap.region, kind,
                  db_arn(snap.account_id, snap.region, kind, _source_of(snap)), at,
                  snap.kms_key_id if snap.encrypted else None)


def _taken_now(snap) -> None:
    """A snapshot taken now: by the simulated clock when it is on (also its create time)."""
    if PHYSICS.clock_on and PHYSICS.clock is not None:
        snap.created = PHYSICS.clock
        if not isinstance(snap, DBClusterSnapshot):
            snap.original_snapshot_create_time = PHYSICS.clock
    _taken(snap, snap.created)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _with_key_arn(backend: RDSBackend, kwargs: dict) -> dict:
    """AWS encrypts with aws/rds when StorageEncrypted is set without a key, and reports key ARNs."""
    if kwargs.get("storage_encrypted"):
        key = kwargs.get("kms_key_id")
        kwargs["kms_key_id"] = (
            resolve_key_arn(backend.account_id, backend.region_name, key)
            if key
            else default_rds_key_arn(backend.account_id, backend.region_name)
        )
    return kwargs


RDS_SERVICE_LINKED_ROLE = "AWSServiceRoleForRDS"


def _ensure_service_linked_role(account: str) -> None:
    """RDS creates its service-linked role when an account's first DB instance or cluster is
    created (RDS User Guide, "Using service-linked roles for Amazon RDS"); stock moto never does.
    An account that never had one — a new Failsafe account — has none."""
    from moto.iam.models import iam_backends

    iam = iam_backends[account]["aws"]
    if any(r.name == RDS_SERVICE_LINKED_ROLE for r in iam.roles.values()):
        return
    iam.create_role(
        RDS_SERVICE_LINKED_ROLE,
        json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": ["rds.amazonaws.com"]},
            "Action": ["sts:AssumeRole"]}]}),
        "/aws-service-role/rds.amazonaws.com/", permissions_boundary=None,
        description="Allows Amazon RDS to manage AWS resources on your behalf", tags=[],
        max_session_duration="3600", linked_service="rds.amazonaws.com")


# --------------------------------------------------------------------------------------------
# DB instance classes. RDS offers each engine a set of classes that varies by engine version and
# region (RDS User Guide and Aurora User Guide, "Supported DB engines for DB instance classes"),
# answered by DescribeOrderableDBInstanceOptions (API reference: Engine required; EngineVersion,
# DBInstanceClass, LicenseModel, Vpc filters; MaxRecords 20-1000, default 100, with a Marker).
# A DB instance in a class RDS does not offer is refused: "InvalidParameterCombination: RDS does
# not support creating a DB instance with the following combination: DBInstanceClass=…, Engine=…,
# EngineVersion=…, LicenseModel=…" (as users report it). The table holds a few small and
# mid-size classes each engine's guide lists; assumption: the local offer does not vary by
# engine version or region (AWS's does), so the tool must ask with the copy's engine version,
# and what it relies on - ask, then use what was offered - is held to here.

_RDS_CLASSES = ("db.t3.micro", "db.t3.small", "db.t3.medium", "db.t4g.micro", "db.t4g.small",
                "db.t4g.medium", "db.m5.large", "db.m6g.large", "db.m6i.large", "db.r5.large",
                "db.r6g.large")
_AURORA_CLASSES = ("db.t3.medium", "db.t4g.medium", "db.r5.large", "db.r6g.large", "db.r6i.large",
                   "db.serverless")
ORDERABLE_CLASSES: dict[str, tuple[str, ...]] = {
    "postgres": _RDS_CLASSES, "mysql": _RDS_CLASSES, "mariadb": _RDS_CLASSES,
    "aurora-postgresql": _AURORA_CLASSES, "aurora-mysql": _AURORA_CLASSES,
}
_LICENSE = {"postgres": "postgresql-license", "aurora-postgresql": "postgresql-license"}


def orderable_options(region: str, engine: str, engine_version: str | None,
                      instance_class: str | None, vpc: bool | None) -> list[dict[str, Any]]:
    """One option per class and storage type, as RDS lists them."""
    aurora = engine.startswith("aurora")
    version = engine_version or {"postgres": "16.4", "mysql": "8.0.39", "mariadb": "10.11.9",
                                 "aurora-postgresql": "16.4",
                                 "aurora-mysql": "8.0.mysql_aurora.3.08.0"}.get(engine, "")
    out = []
    for cls in ORDERABLE_CLASSES.get(engine, ()):
        if instance_class and cls != instance_class:
            continue
        for storage in (("aurora", "aurora-iopt1") if aurora else ("gp2", "gp3")):
            if vpc is False:
                continue  # every offer is a VPC offer (EC2-Classic is gone)
            out.append({
                "Engine": engine, "EngineVersion": version, "DBInstanceClass": cls,
                "LicenseModel": _LICENSE.get(engine, "general-public-license"),
                "AvailabilityZones": [{"Name": f"{region}{z}"} for z in "abc"],
                "MultiAZCapable": True, "ReadReplicaCapable": True, "Vpc": True,
                "SupportsStorageEncryption": True, "StorageType": storage,
                "SupportsIops": storage != "gp2",
            })
    return out


def resp_describe_orderable_db_instance_options(self):
    engine = self.params.get("Engine")
    if not engine:
        raise InvalidParameterValue("The parameter Engine must be provided.")
    max_records = int(self.params.get("MaxRecords") or 100)
    if not 20 <= max_records <= 1000:
        raise InvalidParameterValue(
            f"Invalid value {max_records} for MaxRecords. Must be between 20 and 1000")
    vpc = self.params.get("Vpc")
    options = orderable_options(self.region, engine, self.params.get("EngineVersion"),
                                self.params.get("DBInstanceClass"),
                                None if vpc is None else _bool(vpc))
    start = int(self.params.get("Marker") or 0)
    page = options[start:start + max_records]
    result: dict[str, Any] = {"OrderableDBInstanceOptions": page}
    if start + max_records < len(options):
        result["Marker"] = str(start + max_records)
    return rds_responses.ActionResult(result)


def refuse_unoffered_class(db_kwargs: dict) -> None:
    engine = db_kwargs.get("engine")
    cls = db_kwargs.get("db_instance_class")
    if engine in ORDERABLE_CLASSES and cls not in ORDERABLE_CLASSES[engine]:
        version = db_kwargs.get("engine_version") or ""
        raise InvalidParameterCombination(
            "RDS does not support creating a DB instance with the following combination: "
            f"DBInstanceClass={cls}, Engine={engine}, EngineVersion={version}, "
            f"LicenseModel={_LICENSE.get(engine, 'general-public-license')}. For supported "
            "combinations of instance class and database engine version, see the documentation.")


def create_db_instance(self, db_kwargs):
    refuse_unoffered_class(db_kwargs)
    _ensure_service_linked_role(self.account_id)
    db = _stock["create_db_instance"](self, _with_key_arn(self, db_kwargs))
    _drop_automated(self.database_snapshots, db.db_instance_identifier)
    return db


def create_db_cluster(self, kwargs):
    # CreateDBCluster / RestoreDBClusterFromSnapshot API reference: DBClusterAlreadyExistsFault,
    # "The user already has a DB cluster with the given identifier." Stock moto replaces the
    # cluster, so a retried restore would silently start over.
    identifier = kwargs.get("db_cluster_identifier")
    if identifier in self.clusters:
        raise RDSClientError("DBClusterAlreadyExistsFault", f"DB cluster {identifier} already exists")
    _ensure_service_linked_role(self.account_id)
    cluster = _stock["create_db_cluster"](self, _with_key_arn(self, kwargs))
    _drop_automated(self.cluster_snapshots, cluster.db_cluster_identifier)
    return cluster


def _drop_automated(store, source_id: str) -> None:
    """Stock moto takes an automated snapshot at creation, stamped with the wall clock; the
    tests seed automated snapshots at chosen (simulated) times instead."""
    for sid in [k for k, s in store.items()
                if s.snapshot_type == "automated" and _source_of(s) == source_id]:
        del store[sid]


# --------------------------------------------------------------------------------------------
# describe: IncludeShared, ARN identifiers, progress


def _describe(self, stock_name, cluster, source_id, snapshot_id, snapshot_type, filters, include_shared):
    shared_type = snapshot_type == "shared"
    if snapshot_id and snapshot_id.startswith("arn:"):
        region, account, _rtype, name = parse_rds_arn(snapshot_id)
        if account == self.account_id and region == self.region_name:
            snapshot_id = name
        else:
            # A shared snapshot is visible only in its own region: describing another region's
            # ARN from here finds nothing (Amazon RDS User Guide, "Sharing a DB snapshot": shared
            # snapshots are listed in the AWS Region of the snapshot).
            if region != self.region_name or not (include_shared or shared_type):
                raise (DBClusterSnapshotNotFoundError if cluster else DBSnapshotNotFoundFault)(snapshot_id)
            found = [_find_source(self, snapshot_id, cluster)]
            for s in found:
                tick(s)
            return found
    if shared_type:
        found = self.get_shared_db_cluster_snapshots() if cluster else self.get_shared_db_snapshots()
    else:
        found = _stock[stock_name](self, source_id, snapshot_id, snapshot_type, filters)
        if include_shared and not snapshot_type and not snapshot_id:
            shared = self.get_shared_db_cluster_snapshots() if cluster else self.get_shared_db_snapshots()
            found = list(found) + [s for s in shared if s not in found]
    for s in found:
        tick(s, snapshot_id)
    return list(found)


def _bool(v) -> bool:
    return str(v).lower() == "true"


def resp_describe_db_snapshots(self):
    filters = {f["Name"]: f["Values"] for f in self.params.get("Filters", [])}
    snaps = _describe(self.backend, "describe_db_snapshots", False,
                      self.params.get("DBInstanceIdentifier"), self.params.get("DBSnapshotIdentifier"),
                      self.params.get("SnapshotType"), filters, _bool(self.params.get("IncludeShared")))
    return rds_responses.ActionResult({"DBSnapshots": snaps})


def resp_describe_db_cluster_snapshots(self):
    filters = {f["Name"]: f["Values"] for f in self.params.get("Filters", [])}
    snaps = _describe(self.backend, "describe_db_cluster_snapshots", True,
                      self.params.get("DBClusterIdentifier"),
                      self.params.get("DBClusterSnapshotIdentifier"),
                      self.params.get("SnapshotType"), filters, _bool(self.params.get("IncludeShared")))
    return rds_responses.ActionResult({"DBClusterSnapshots": snaps})


# --------------------------------------------------------------------------------------------
# SNS: a client publishes only to topics of its own region (SNS Publish API reference, Errors:
# InvalidParameter; a TopicArn of another region is not a valid parameter for this endpoint).
# Stock moto answers NotFound instead.

_stock_sns_publish = sns_models.SNSBackend.publish


def sns_publish(self, message, arn, *args, **kwargs):
    parts = (arn or "").split(":")
    if len(parts) >= 6 and parts[2] == "sns" and parts[3] != self.region_name:
        raise SnsInvalidParameterValue(
            f"Invalid parameter: TopicArn (the topic is in {parts[3]}; this endpoint is {self.region_name})"
        )
    return _stock_sns_publish(self, message, arn, *args, **kwargs)


# --------------------------------------------------------------------------------------------
# DescribeAccountAttributes: the manual snapshot quotas, used and max (RDS API reference,
# AccountQuota: ManualSnapshots, ManualClusterSnapshots). Stock moto does not implement it.


def account_quotas(backend: RDSBackend) -> list[dict[str, Any]]:
    limit = _quota(backend)
    return [
        {"AccountQuotaName": "ManualSnapshots", "Used": _manual_count(backend.database_snapshots),
         "Max": limit},
        {"AccountQuotaName": "ManualClusterSnapshots",
         "Used": _manual_count(backend.cluster_snapshots), "Max": limit},
    ]


def resp_describe_account_attributes(self):
    return rds_responses.ActionResult({"AccountQuotas": account_quotas(self.backend)})


# --------------------------------------------------------------------------------------------
# seeding (control API)


def copy_in_progress(account: str, region: str, source_id: str, at: datetime) -> str | None:
    """The snapshot copy of DB instance `source_id` (of `account`) still being made in `region`,
    in any account, if there is one. "Automated backups don't occur while a DB snapshot copy is
    running in the same AWS Region for the same database" (RDS User Guide, "Introduction to
    backups"; docs/aws-facts.md): a share copy in the Live account, or a copy of it that another
    account makes in the same region. Aurora's backups are continuous: the rule is the
    instances'."""
    db = rds_backends[account][region].databases.get(source_id)
    if db is None:
        return None
    if PHYSICS.clock_on:  # by the simulated clock: requested before `at` and not finished by then
        f = PHYSICS.copy_running(db.db_instance_arn, region, at)
        return None if f is None else f"{f.arn.rsplit(':', 1)[1]} (account {f.account})"
    for by_region in rds_backends.values():
        backend = by_region.get(region)
        if backend is None:
            continue
        for sid, snap in backend.database_snapshots.items():
            # moto gives each snapshot a copy of its DB instance: match by the instance's ARN;
            # a snapshot being taken (CreateDBSnapshot) is not a copy
            facts = PHYSICS.facts.get(snap.arn)
            if (snap.status == "creating" and snap.database.db_instance_arn == db.db_instance_arn
                    and facts is not None and facts.copy_of is not None):
                return f"{sid} (account {backend.account_id})"
    return None


def seed_automated(account: str, region: str, kind: str, source_id: str, created: datetime,
                   snapshot_id: str | None = None):
    """An automated snapshot as RDS takes it: `rds:<source>-YYYY-MM-DD-HH-MM`, at `created`; or,
    for a DB instance with a snapshot copy in progress in its region, none: the reason, a str."""
    if PHYSICS.clock_on:
        PHYSICS.set_clock(created)
    if kind != "cluster":
        copying = copy_in_progress(account, region, source_id, created)
        if copying:
            return (f"no automated backup of {source_id} at {created:%Y-%m-%d %H:%M}: the snapshot copy "
                    f"{copying} was in progress")
    backend = rds_backends[account][region]
    sid = snapshot_id or f"rds:{source_id}-{created:%Y-%m-%d-%H-%M}"
    if kind == "cluster":
        snap = backend.create_db_cluster_snapshot(source_id, sid, snapshot_type="automated")
    else:
        snap = backend.create_db_snapshot(source_id, sid, snapshot_type="automated")
        snap.original_snapshot_create_time = created
    snap.created = created
    _taken(snap, created)
    return snap


def describe_world() -> list[dict[str, Any]]:
    """Every snapshot in every account and region, for reports and assertions."""
    out = []
    for account, by_region in rds_backends.items():
        for region, backend in by_region.items():
            for cluster, store in ((False, backend.database_snapshots), (True, backend.cluster_snapshots)):
                for sid, s in store.items():
                    out.append({
                        "account": account,
                        "region": region,
                        "kind": "cluster" if cluster else "instance",
                        "id": sid,
                        "arn": s.arn,
                        "type": s.snapshot_type,
                        "status": s.status,
                        "encrypted": bool(s.encrypted),
                        "kmsKeyId": s.kms_key_id if s.encrypted else None,
                        "source": _source_of(s),
                        "createTime": s.created.isoformat(),
                        "sharedWith": list(s.attributes.get("restore", [])),
                        "tags": {t["Key"]: t["Value"] for t in s.tags or []},
                        "physics": facts.view() if (facts := PHYSICS.facts.get(s.arn)) else None,
                    })
    return sorted(out, key=lambda r: (r["account"], r["region"], r["kind"], r["id"]))


def set_source_size(account: str, region: str, kind: str, source_id: str, size_gib, change_per_day) -> None:
    """A source's physics (size, daily change), and a DB instance's allocated storage to match:
    RDS reports a DB snapshot's AllocatedStorage (GiB), which the copy tasks size their wait by.
    An Aurora cluster's stays 1: "For Aurora, AllocatedStorage always returns 1, because Aurora
    DB cluster storage size isn't fixed" (RDS API reference), so nothing can size a cluster
    copy from its snapshot. (The local stack makes a DB instance's allocated storage its used
    size; on AWS the allocation is at least what is used, so a wait sized by it is longer.)"""
    PHYSICS.set_source(account, region, kind, source_id, size_gib, change_per_day)
    db = rds_backends[account][region].databases.get(source_id) if kind != "cluster" else None
    if db is not None and size_gib is not None:
        db.allocated_storage = max(1, math.ceil(float(size_gib)))


def storage() -> list[dict[str, Any]]:
    """What each account and region stores in snapshots, as RDS bills it (physics)."""
    return PHYSICS.storage({s.arn for s in _all_snapshots()})


# --------------------------------------------------------------------------------------------
# restores: a creating phase and an injectable failure


_STOCK_RESTORE_INSTANCE = RDSBackend.restore_db_instance_from_db_snapshot
_STOCK_RESTORE_CLUSTER = RDSBackend.restore_db_cluster_from_snapshot
_STOCK_DESCRIBE_INSTANCES = RDSBackend.describe_db_instances
_STOCK_DESCRIBE_CLUSTERS = RDSBackend.describe_db_clusters


def _start_restoring(db, snapshot) -> None:
    """A restored database is `creating` for `restorePolls` describes, then `available`, or
    `incompatible-restore` if its copy's source is in `failRestoresOf` (a status RDS does not
    leave: RDS User Guide, DB instance status)."""
    f = STATE.faults
    tags = {t["Key"]: t["Value"] for t in (snapshot.tags or [])}
    source = tags.get("rds-failsafe:source-id") or _source_of(snapshot)
    outcome = "incompatible-restore" if source in f.fail_restores_of else "available"
    if f.restore_polls <= 0 and outcome == "available":
        return
    with STATE.lock:
        db.status = "creating"
        STATE.restoring[id(db)] = [max(f.restore_polls, 1), outcome]


def _tick_restoring(dbs) -> None:
    with STATE.lock:
        for db in dbs:
            p = STATE.restoring.get(id(db))
            if p is None:
                continue
            p[0] -= 1
            if p[0] <= 0:
                db.status = p[1]
                del STATE.restoring[id(db)]
            else:
                db.status = "creating"  # stock moto marks a cluster available at its first describe


def restore_db_instance_from_db_snapshot(self, from_snapshot_id, overrides):
    db = _STOCK_RESTORE_INSTANCE(self, from_snapshot_id, overrides)
    name = from_snapshot_id.split(":")[-1] if from_snapshot_id.startswith("arn:") else from_snapshot_id
    _start_restoring(db, self.database_snapshots[name])
    return db


def restore_db_cluster_from_snapshot(self, from_snapshot_id, overrides):
    cluster = _STOCK_RESTORE_CLUSTER(self, from_snapshot_id, overrides)
    name = from_snapshot_id.split(":")[-1] if from_snapshot_id.startswith("arn:") else from_snapshot_id
    _start_restoring(cluster, self.cluster_snapshots[name])
    return cluster


def describe_db_instances(self, db_instance_identifier=None, filters=None):
    dbs = _STOCK_DESCRIBE_INSTANCES(self, db_instance_identifier, filters)
    _tick_restoring(dbs)
    return dbs


def describe_db_clusters(self, db_cluster_identifier=None, filters=None):
    clusters = _STOCK_DESCRIBE_CLUSTERS(self, db_cluster_identifier, filters)
    _tick_restoring(clusters)
    return clusters


_stock_default_keys = KmsBackend._generate_default_keys


def _generate_default_keys(self, alias_name: str):
    """An AWS-managed key (aws/rds, created on first use) as DescribeKey reports it: KeyManager
    AWS (KMS API reference, KeyMetadata.KeyManager). Stock moto makes it a CUSTOMER key, so a
    task that asks whether a database's key can be shared would be told yes."""
    key_id = _stock_default_keys(self, alias_name)
    if key_id is not None:
        self.keys[key_id].key_manager = "AWS"
    return key_id


def install() -> None:
    KmsBackend._generate_default_keys = _generate_default_keys
    RDSBackend.copy_db_snapshot = copy_db_snapshot
    RDSBackend.copy_db_cluster_snapshot = copy_db_cluster_snapshot
    RDSBackend.delete_db_snapshot = delete_db_snapshot
    RDSBackend.delete_db_cluster_snapshot = delete_db_cluster_snapshot
    RDSBackend.modify_db_snapshot_attribute = modify_db_snapshot_attribute
    RDSBackend.modify_db_cluster_snapshot_attribute = modify_db_cluster_snapshot_attribute
    RDSBackend.create_db_snapshot = create_db_snapshot
    RDSBackend.create_db_cluster_snapshot = create_db_cluster_snapshot
    RDSBackend.create_db_instance = create_db_instance
    RDSBackend.create_db_cluster = create_db_cluster
    RDSBackend.restore_db_instance_from_db_snapshot = restore_db_instance_from_db_snapshot
    RDSBackend.restore_db_cluster_from_snapshot = restore_db_cluster_from_snapshot
    RDSBackend.describe_db_instances = describe_db_instances
    RDSBackend.describe_db_clusters = describe_db_clusters
    rds_responses.RDSResponse.describe_db_snapshots = resp_describe_db_snapshots
    rds_responses.RDSResponse.describe_db_cluster_snapshots = resp_describe_db_cluster_snapshots
    sns_models.SNSBackend.publish = sns_publish
    rds_responses.RDSResponse.describe_account_attributes = resp_describe_account_attributes
    rds_responses.RDSResponse.describe_orderable_db_instance_options = (
        resp_describe_orderable_db_instance_options)
    # The serializer reads these off the model; give every snapshot a value.
    DBSnapshot.percent_progress = 100
    DBSnapshot.source_db_snapshot_identifier = None
    DBSnapshot.source_region = None
    DBClusterSnapshot.source_db_cluster_snapshot_arn = None
    assert rds_models.RDSBackend is RDSBackend


def expire_automated(before: datetime) -> int:
    """Drops automated snapshots taken before `before`, as RDS does past the backup retention."""
    removed = 0
    for by_region in rds_backends.values():
        for backend in by_region.values():
            for store in (backend.database_snapshots, backend.cluster_snapshots):
                for sid in [k for k, s in store.items()
                            if s.snapshot_type == "automated" and s.created < before]:
                    _fail_copies_reading(store.pop(sid))
                    removed += 1
    return removed
