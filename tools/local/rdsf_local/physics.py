"""Copy physics of the emulated RDS: how big a snapshot is, whether a copy is full or incremental,
how many bytes it moves, how long it takes, which copies queue, and what each account stores.
rds_rules calls it; docs/aws-facts.md ("Copy physics") cites the documentation of each rule, and
tests/e2e/test_emulator_physics.py tests each on the emulator.

- A source (DB instance or cluster) has a size (used storage, a cluster's volume) and a daily
  change rate: the fraction of its blocks written each day, spread at random, so that the blocks
  changed over d days are 1 - (1 - rate)^d of them. Defaults: DEFAULT_SIZE_GIB, DEFAULT_CHANGE.
- A DB snapshot copy is incremental only if the destination (account and region) holds the most
  recent copy made there of another snapshot of the same DB instance, and every copy of that
  instance there is under the new copy's KMS key (or all are unencrypted); it then moves the
  blocks changed between the two snapshots. Otherwise it is full: the first copy, a copy under
  another key, a copy after the most recent one was deleted, and always a copy of a snapshot
  that is itself a copy ("When you copy a source snapshot that is a snapshot copy itself, the new
  copy isn't incremental"; RDS User Guide, "Incremental snapshot copying").
- A DB cluster snapshot copy is always full (Aurora User Guide, "DB cluster snapshot copying").
- Copies of one source queue: "When you request multiple snapshot copies for the same source DB
  instance, they're queued internally. The copies requested later won't start until the previous
  snapshot copies are completed" (RDS User Guide, "Copying a DB snapshot", limitations; the
  Aurora User Guide's "DB cluster snapshot copying" says the same). A queued copy shows no
  progress ("No progress information is displayed about copy requests while they are in the
  queue").
- A copy takes bytes / throughput. RDS publishes no copy throughput: THROUGHPUT_MIBPS is an
  assumption, a parameter (EBS's time-based snapshot copies top out at 500 MiB/s per copy, EBS
  User Guide, "Time-based copies": an upper bound, not RDS's figure).
- Storage as RDS bills it: snapshots that share blocks form a lineage (a DB's own backups in its
  account and region; a full copy and the incremental copies after it). A lineage stores its
  oldest snapshot whole and, for each later one, the blocks changed since the one before; deleting
  a snapshot leaves the blocks the others still need to them (a full copy holds all its bytes).
  An Aurora snapshot copy is billed at the cluster's volume size to its owner: each copy is its
  own lineage (a cluster's own automated backups form one lineage, as Aurora's continuous
  backup is incremental).
- With the simulated clock on (`clock`), a copy is `creating` until the clock passes its end;
  the ASL runner moves the clock by the waits each copy's lane has made (`observe`). Without it,
  the copy's status moves by describe calls (rds_rules Faults.creating_polls), and the bytes and
  seconds are still computed and reported.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

GIB = 1024**3
MIB = 1024**2
# RDS's smallest General Purpose (gp2/gp3) allocation is 20 GiB: a source with no size given is
# that big and full.
DEFAULT_SIZE_GIB = 20.0
# An assumption (the modelled estate): 2 % of the blocks written each day.
DEFAULT_CHANGE = 0.02
# An assumption: RDS publishes no snapshot copy throughput (see the top).
THROUGHPUT_MIBPS = 100.0


@dataclass
class Source:
    size: int  # bytes
    change_per_day: float


@dataclass
class Facts:
    """One snapshot's physics."""

    arn: str
    account: str
    region: str
    kind: str  # instance | cluster
    db: str  # the source DB instance or cluster ARN
    size: int  # bytes: the source's size when the data was taken
    taken: datetime  # when its data was taken (a copy's is its source's)
    lineage: str
    key: str | None  # KMS key ARN, None when unencrypted
    copy_of: str | None = None  # the snapshot ARN it was copied from
    source_is_copy: bool = False
    full: bool | None = None  # copies only
    why: str = ""
    bytes_moved: int = 0
    requested: datetime | None = None
    start: datetime | None = None
    end: datetime | None = None
    failed: str | None = None  # why the copy failed

    def log_view(self) -> dict:
        """One line of the copy log: which copy, of what, and its physics."""
        return {"account": self.account, "region": self.region, "id": self.arn.rsplit(":", 1)[1],
                "kind": self.kind, "source": self.db.rsplit(":", 1)[1], **self.view()["copy"]}

    def view(self) -> dict:
        out = {"sizeBytes": self.size, "taken": self.taken.isoformat(), "lineage": self.lineage}
        if self.copy_of is not None:
            out["copy"] = {
                "of": self.copy_of, "mode": "full" if self.full else "incremental", "why": self.why,
                "bytes": self.bytes_moved,
                "seconds": round((self.end - self.start).total_seconds(), 3),
                "queuedSeconds": round((self.start - self.requested).total_seconds(), 3),
                "requested": self.requested.isoformat(), "start": self.start.isoformat(),
                "end": self.end.isoformat(), "failed": self.failed,
            }
        return out


def utc(t: datetime) -> datetime:
    """moto stamps snapshots with naive UTC times; the physics compares aware ones."""
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def db_arn(account: str, region: str, kind: str, source_id: str) -> str:
    return f"arn:aws:rds:{region}:{account}:{'cluster' if kind == 'cluster' else 'db'}:{source_id}"


def changed_bytes(size: int, change_per_day: float, since: datetime, until: datetime) -> int:
    """The blocks written between two points in time, each day's writes spread at random."""
    days = max(0.0, (until - since).total_seconds() / 86400)
    return round(size * (1 - (1 - change_per_day) ** days))


@dataclass
class Physics:
    lock: threading.RLock = field(default_factory=threading.RLock)
    clock_on: bool = False
    clock: datetime | None = None
    throughput_mibps: float = THROUGHPUT_MIBPS
    sources: dict[str, Source] = field(default_factory=dict)
    facts: dict[str, Facts] = field(default_factory=dict)
    # (account, region, DB ARN) -> ARN of the most recent copy of that DB made there
    last_copy: dict[tuple[str, str, str], str] = field(default_factory=dict)
    queue_end: dict[str, datetime] = field(default_factory=dict)  # DB ARN -> end of its last copy
    # (account, snapshot id) -> the time the copy's own lane has reached (asl_runner, observe)
    seen: dict[tuple[str, str], datetime] = field(default_factory=dict)
    # (account, snapshot id) -> when that lane's waiting began: its first look (see observe)
    lane_start: dict[tuple[str, str], datetime] = field(default_factory=dict)
    copies: list[Facts] = field(default_factory=list)  # every copy made, deleted ones included
    by_id: dict[tuple[str, str], str] = field(default_factory=dict)  # (account, id) -> ARN
    # indexes over `copies` (a 1,000-source day makes thousands): by destination and DB, by source
    here: dict[tuple[str, str, str], list[Facts]] = field(default_factory=dict)
    readers: dict[str, list[Facts]] = field(default_factory=dict)

    def reset(self) -> None:
        with self.lock:
            self.__init__()

    # -- configuration and the clock ----------------------------------------------------------

    def source(self, db: str) -> Source:
        return self.sources.get(db) or Source(round(DEFAULT_SIZE_GIB * GIB), DEFAULT_CHANGE)

    def set_source(self, account: str, region: str, kind: str, source_id: str,
                   size_gib: float | None, change_per_day: float | None) -> None:
        if kind not in ("instance", "cluster"):
            raise ValueError(f"kind must be instance or cluster, got {kind!r}")
        size_gib = DEFAULT_SIZE_GIB if size_gib is None else float(size_gib)
        change = DEFAULT_CHANGE if change_per_day is None else float(change_per_day)
        if not size_gib > 0:
            raise ValueError(f"sizeGiB of {source_id} must be above 0, got {size_gib}")
        if not 0 <= change <= 1:
            raise ValueError(f"changePerDay of {source_id} must be a fraction from 0 to 1, got {change}")
        with self.lock:
            self.sources[db_arn(account, region, kind, source_id)] = Source(round(size_gib * GIB), change)

    def set_clock(self, at: datetime) -> datetime:
        """Moves the clock to `at` unless it is already later (time does not go back)."""
        at = utc(at)
        with self.lock:
            if self.clock is None or at > self.clock:
                self.clock = at
            return self.clock

    def observe(self, account: str, snapshot_id: str, elapsed_seconds: float,
                run_start: datetime) -> datetime:
        """A copy's lane has waited `elapsed_seconds` since its first look: its next look sees
        the copy as of then. The first look of a copy this run requested is when it was
        requested (lanes run at once locally, so the clock may be ahead, moved by another lane);
        of one an earlier run left (outcome `exists`), the clock then."""
        run_start = utc(run_start)
        key = (account, snapshot_id)
        with self.lock:
            start = self.lane_start.get(key) if elapsed_seconds > 0 else None
            if start is None:
                own = self.facts.get(self.by_id.get(key, ""))
                start = (own.requested if own is not None and own.requested is not None
                         and own.requested >= run_start else self.clock or run_start)
                self.lane_start[key] = start
            at = start + timedelta(seconds=elapsed_seconds)
            self.seen[key] = at
            return self.set_clock(at)

    def now(self, fallback: datetime) -> datetime:
        return self.clock if self.clock_on and self.clock is not None else utc(fallback)

    # -- snapshots ------------------------------------------------------------------------------

    def taken(self, arn: str, account: str, region: str, kind: str, db: str, taken: datetime,
              key: str | None) -> Facts:
        """A snapshot of a DB in its own account and region (automated, or CreateDB*Snapshot):
        part of the DB's own backup lineage there (Aurora's continuous backup is incremental
        too; only its copies are full)."""
        taken = utc(taken)
        with self.lock:
            lineage = f"backups:{db}@{account}/{region}"
            f = Facts(arn, account, region, kind, db, self.source(db).size, taken, lineage, key)
            self.facts[arn] = f
            return f

    def copied(self, arn: str, account: str, region: str, kind: str, source_arn: str,
               key: str | None, fallback_now: datetime) -> Facts | None:
        """A copy of `source_arn` requested now in (account, region) under `key`: full or
        incremental, its bytes, its place in the source DB's queue, its start and end."""
        with self.lock:
            src = self.facts.get(source_arn)
            if src is None:  # a snapshot the emulator has no physics for (seeded by stock moto)
                return None
            now = self.now(fallback_now)
            full, why, lineage, moved = True, "", arn, src.size
            if kind == "cluster":
                why = "a DB cluster snapshot copy is always full"
            elif src.copy_of is not None:
                why = "its source is itself a snapshot copy"
            else:
                last = self.facts.get(self.last_copy.get((account, region, src.db), ""))
                others = [f for f in self.here.get((account, region, src.db), [])
                          if self.facts.get(f.arn) is f and f.failed is None]
                if last is None:
                    why = ("no earlier copy of this DB instance here" if (account, region, src.db)
                           not in self.last_copy else "the most recent copy here was deleted")
                elif last.failed is not None:
                    why = "the most recent copy here failed"
                elif any(f.key != key for f in others):
                    why = "a copy of this DB instance here is under another KMS key"
                elif last.taken >= src.taken:
                    why = "the most recent copy here is not older than this snapshot"
                else:
                    full, lineage = False, last.lineage
                    moved = changed_bytes(src.size, self.source(src.db).change_per_day, last.taken, src.taken)
                    why = f"incremental on {last.arn}"
            start = max(now, self.queue_end.get(src.db, now))
            end = start + timedelta(seconds=moved / (self.throughput_mibps * MIB))
            self.queue_end[src.db] = max(end, self.queue_end.get(src.db, end))
            f = Facts(arn, account, region, kind, src.db, src.size, src.taken, lineage, key,
                      copy_of=source_arn, source_is_copy=src.copy_of is not None, full=full, why=why,
                      bytes_moved=moved, requested=now, start=start, end=end)
            self.facts[arn] = f
            self.copies.append(f)
            self.by_id[(account, arn.rsplit(":", 1)[1])] = arn
            self.here.setdefault((account, region, src.db), []).append(f)
            self.readers.setdefault(source_arn, []).append(f)
            if kind != "cluster":
                self.last_copy[(account, region, src.db)] = arn
            return f

    def progress(self, arn: str, account: str, snapshot_id: str | None) -> float | None:
        """How far a copy is (0..1) as its lane sees it, by the simulated clock; None without."""
        with self.lock:
            f = self.facts.get(arn)
            if not self.clock_on or f is None or f.end is None or self.clock is None:
                return None
            at = self.seen.get((account, snapshot_id), self.clock) if snapshot_id else self.clock
            if at >= f.end:
                return 1.0
            if at <= f.start:
                return 0.0
            return (at - f.start) / (f.end - f.start)

    def requeue(self, db: str) -> None:
        """A copy of `db` failed or was deleted: the queue ends with the last copy still to run."""
        with self.lock:
            ends = [f.end for made in (m for (_, _, d), m in self.here.items() if d == db)
                    for f in made if self.facts.get(f.arn) is f and f.failed is None]
            if ends:
                self.queue_end[db] = max(ends)
            else:
                self.queue_end.pop(db, None)

    def unfinished(self, f: Facts) -> bool:
        """A copy still in progress by the simulated clock (with the clock on)."""
        return self.clock is not None and f.end is not None and f.end > self.clock

    def deleted(self, arn: str) -> list[Facts]:
        """A snapshot is gone: its facts go, and the copies still reading it fail ("If you delete
        a source snapshot before the target snapshot becomes available, the snapshot copy might
        fail": the emulator makes it fail). Returns those copies."""
        with self.lock:
            gone = self.facts.pop(arn, None)
            if gone is not None and gone.copy_of is not None:
                self.requeue(gone.db)
            return [f for f in self.readers.pop(arn, []) if self.facts.get(f.arn) is f and f.failed is None]

    def copy_running(self, db: str, region: str, at: datetime) -> Facts | None:
        """A copy of a snapshot of `db` requested in `region` (any account) and not finished at `at`."""
        at = utc(at)
        with self.lock:
            for (_, copy_region, copy_db), made in self.here.items():
                if copy_db != db or copy_region != region:
                    continue
                for f in made:
                    if self.facts.get(f.arn) is f and f.failed is None and f.requested <= at < f.end:
                        return f
            return None

    # -- storage ---------------------------------------------------------------------------------

    def storage(self, live: set[str]) -> list[dict]:
        """Per account and region: the bytes its snapshots store (`live`: the ARNs that exist),
        and the same split by kind (`byKind`: instance and cluster), which RDS prices apart
        (backup storage for DB instances, Aurora's for clusters: tools/bench/estate.py)."""
        with self.lock:
            lineages: dict[tuple[str, str, str], list[Facts]] = {}
            for f in self.facts.values():
                if f.arn in live and f.failed is None:
                    lineages.setdefault((f.account, f.region, f.lineage), []).append(f)
            totals: dict[tuple[str, str], dict] = {}
            for (account, region, _), members in lineages.items():
                members.sort(key=lambda f: f.taken)
                stored = members[0].size
                for before, after in zip(members, members[1:]):
                    stored += changed_bytes(after.size, self.source(after.db).change_per_day,
                                            before.taken, after.taken)
                t = totals.setdefault((account, region), {"account": account, "region": region,
                                                          "storedBytes": 0, "snapshots": 0, "lineages": 0,
                                                          "byKind": {"instance": 0, "cluster": 0}})
                t["storedBytes"] += stored
                t["byKind"][members[0].kind] += stored  # a lineage is one DB's: one kind
                t["snapshots"] += len(members)
                t["lineages"] += 1
            return sorted(totals.values(), key=lambda t: (t["account"], t["region"]))


PHYSICS = Physics()
