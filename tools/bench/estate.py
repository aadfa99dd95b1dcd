"""`make bench-estate` (and the estate section of `make bench`): a modelled estate over simulated
days on the local two-account stack, per mode, and beside it the same estate under the original
tool's design and under AWS Backup's documented rules, computed. Figures, never assertions.

The estate (`estate_scenario`): ten DB instances from 50 to 4,000 GiB and three Aurora clusters
(200, 1,000 and 3,000 GiB), each writing 2 % of its blocks a day (physics.DEFAULT_CHANGE, an
assumption), all on one customer-managed key that grants the Failsafe account; copies at
physics.THROUGHPUT_MIBPS (100 MiB/s, an assumption: RDS publishes no copy throughput); the
tool's defaults otherwise (GFS retention 7/4/12, the daily schedule of scenario.py).

Modes, each one scenario run (tools/local/rdsf_local/scenario.py, in-process, in a workdir under
target/bench/estate/), one at a time:
- share-copy: today's default, the Live account shares a copy of the automated snapshot, so every
  Failsafe copy is full (a copy of a copy; docs/aws-facts.md, "Copy physics").
- incremental: cdk context `incrementalSources: ["all"]`, the Live account shares a snapshot it
  took, so Failsafe copies of DB instances can be incremental. A mode that fails to run (a
  deployment that refuses the field) is reported as failed with its error.

Per mode, from the run's report: copy time per simulated day and side, the longest copy, bytes
moved, full and incremental copies, what the Failsafe account stores at the end and its price,
the worst RPO, and the runs that failed. Writes target/bench/estate.json, prints the table and
rewrites the estate section of docs/benchmarks.md (between the bench-estate markers).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "local"))

from rdsf_local import scenario  # noqa: E402
from rdsf_local.physics import GIB, MIB, THROUGHPUT_MIBPS, changed_bytes  # noqa: E402

OUT = ROOT / "target" / "bench"
README = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench-estate:begin -->", "<!-- bench-estate:end -->"

INSTANCES_GIB = [50, 100, 200, 300, 500, 750, 1000, 1500, 2500, 4000]
CLUSTERS_GIB = [200, 1000, 3000]
CHANGE_PER_DAY = 0.02  # the estate; physics.DEFAULT_CHANGE, an assumption
DAYS = 60
START = "2026-11-01"
KEY = "db"
# cdk context per mode, on top of the tool's defaults
MODES: dict[str, dict[str, Any]] = {
    "share-copy": {},
    "incremental": {"incrementalSources": ["all"]},
    # the biggest Aurora cluster's copies waited for as long as a full copy of it needs and half
    # again (RDS reports no cluster's size: its CopyTimeout cause gives the pace), as a user
    # would set after reading it: 3,000 GiB at 100 MiB/s is 30,720 s
    "incremental-waits": {"incrementalSources": ["all"],
                          "copyWaits": [{"sources": ["cluster:aurora-3000"], "maxWaitSeconds": 46080}]},
}
# scenario.py's default schedule (`daily`): the automated backup, then the Live run
AUTOMATED_AT, LIVE_AT = timedelta(hours=3), timedelta(hours=5)

# List prices per GB-month, us-east-1 (../shared/DESIGN.md §4c; docs/aws-facts.md, "Copy
# physics": Amazon RDS and Aurora pricing pages; to check per region). The Failsafe account runs
# no database, so none of its backup storage is free. Billed per GiB stored, as
# policy::cost::monthly_usd does (AWS meters storage in GB of 2^30 bytes).
USD_PER_GB_MONTH_INSTANCE = 0.095  # RDS backup storage (DB instance snapshots)
USD_PER_GB_MONTH_AURORA = 0.021  # Aurora backup storage (DB cluster snapshots)
TIB = 1024**4

# The original tool (../shared/DESIGN.md §1): two Python Lambdas that copy one snapshot at a time
# and wait for each in a `sleep(10)` loop, all inside one invocation: Lambda's 15-minute limit
# (Lambda Developer Guide, "Configure Lambda function timeout": at most 900 seconds).
LAMBDA_LIMIT_SECONDS = 900
POLL_SECONDS = 10

# GFS retention, the tool's default (docs/configuration.md, `retention`: daily 7, weekly 4,
# monthly 12), as policy::retention plans it: the newest copy of each of the last N days, weeks
# (from Monday) and months.
GFS = (7, 4, 12)

# a Failsafe copy's name ends with its data time (docs/contracts.md, Names:
# rdsf-<source-account>-<source-id>-<yyyymmddhhmm>, the source snapshot's creation time, UTC)
STAMP = re.compile(r"-(\d{12})$")
CAUSE_WORDS = 10  # of a failed run's cause, in the table


@dataclass(frozen=True)
class Source:
    id: str
    kind: str  # instance | cluster
    gib: float


def estate(instances: list[int] = INSTANCES_GIB, clusters: list[int] = CLUSTERS_GIB) -> list[Source]:
    return ([Source(f"db-{g:04d}", "instance", g) for g in instances]
            + [Source(f"aurora-{g:04d}", "cluster", g) for g in clusters])


def estate_scenario(days: int = DAYS, context: dict[str, Any] | None = None,
                    throughput_mibps: float = THROUGHPUT_MIBPS) -> dict:
    """The estate as a scenario file (the format scenario.validate reads); no `expect` block:
    its point is the figures."""
    return {
        "name": "estate",
        "description": (f"make bench-estate: {len(INSTANCES_GIB)} DB instances of "
                        f"{min(INSTANCES_GIB)}-{max(INSTANCES_GIB)} GiB and {len(CLUSTERS_GIB)} Aurora "
                        f"clusters, {CHANGE_PER_DAY * 100:g} % written a day, on a customer-managed key "
                        f"granted to the Failsafe account, copies at {throughput_mibps:g} MiB/s"),
        "physics": {"throughputMiBps": throughput_mibps},
        "keys": [{"alias": KEY, "grantFailsafe": True}],
        "context": dict(context or {}),
        "sources": [{"kind": s.kind, "id": s.id,
                     "engine": "aurora-postgresql" if s.kind == "cluster" else "postgres",
                     "encryption": f"key:{KEY}", "sizeGiB": s.gib, "changePerDay": CHANGE_PER_DAY}
                    for s in estate()],
        "start": START,
        "days": days,
    }


# -- figures from a copy log (the report's `copies`, physics.Facts.log_view) ----------------------

def parse_time(text: str) -> datetime:
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def data_time(snapshot_id: str) -> datetime:
    """When a copy's data was taken, from the stamp its name ends with (docs/contracts.md)."""
    m = STAMP.search(snapshot_id)
    if m is None:
        raise ValueError(f"{snapshot_id}: no yyyymmddhhmm stamp at the end of the name")
    return datetime.strptime(m.group(1), "%Y%m%d%H%M").replace(tzinfo=timezone.utc)


def day_index(c: dict, start: date, days: int) -> int:
    """The simulated day a copy belongs to: the day it was requested (UTC), within the period
    (a copy requested after the last day, by a run that waited past midnight, counts to it)."""
    return min(max((parse_time(c["requested"]).date() - start).days, 0), days - 1)


def ran(copies: list[dict], side: str) -> list[dict]:
    """A side's copies that did not fail (a failed copy's seconds are the ones it was due)."""
    return [c for c in copies if c["account"] == side and not c.get("failed")]


def per_day(copies: list[dict], side: str, field: str, start: date, days: int) -> list[float]:
    """The sum of `field` (seconds, bytes) of a side's copies per simulated day."""
    sums = [0.0] * days
    for c in ran(copies, side):
        sums[day_index(c, start, days)] += c[field]
    return sums


def side_figures(copies: list[dict], side: str, start: date, days: int) -> dict:
    seconds = per_day(copies, side, "seconds", start, days)
    moved = per_day(copies, side, "bytes", start, days)
    done = ran(copies, side)
    longest = max(done, key=lambda c: c["seconds"], default=None)
    modes = Counter(c["mode"] for c in done)
    return {
        "copyHoursPerDay": {"mean": sum(seconds) / days / 3600, "max": max(seconds) / 3600},
        "longestCopy": ({"hours": longest["seconds"] / 3600, "source": longest["source"]}
                        if longest else None),
        "movedGiBPerDay": sum(moved) / days / GIB,
        "copies": {"full": modes["full"], "incremental": modes["incremental"],
                   "failed": sum(1 for c in copies if c["account"] == side and c.get("failed"))},
    }


def worst_rpo(copies: list[dict], sources: list[str], end: datetime) -> dict:
    """For each source, the largest gap between a moment and the data time of its newest Failsafe
    copy completed by then, checked just before each completion (the gap only grows between
    them) and at `end`; the worst over sources. Completed is RDS's: a copy a run stopped waiting
    for is done when RDS is, and a later run verifies it. A source is measured from its first
    saved copy on; one with none by `end` is listed as never saved."""
    saved: dict[str, list[tuple[datetime, datetime]]] = {s: [] for s in sources}
    for c in ran(copies, "failsafe"):
        saved.setdefault(c["source"], []).append((parse_time(c["end"]), data_time(c["id"])))
    worst: dict[str, Any] = {"hours": None, "source": None, "at": None}
    never = []
    for source, done in sorted(saved.items()):
        if not any(t <= end for t, _ in done):
            never.append(source)
            continue
        checks = [(t, False) for t, _ in done if t <= end] + [(end, True)]
        for at, inclusive in checks:
            newest = max((taken for t, taken in done if t < at or (inclusive and t <= at)), default=None)
            if newest is None:
                continue
            gap = (at - newest).total_seconds() / 3600
            if worst["hours"] is None or gap > worst["hours"]:
                worst = {"hours": gap, "source": source, "at": at.isoformat()}
    return {**worst, "neverSaved": never}


def run_failures(executions: list[dict], side: str) -> dict:
    """How many of a side's runs failed, and why: the first words of each cause (ARNs, snapshot
    names and numbers masked, so that one day's failure and the next count as one)."""
    runs = [e for e in executions if e["side"] == side]
    causes: Counter = Counter()
    for e in runs:
        if e["status"] == "SUCCEEDED":
            continue
        text = e.get("cause") or e.get("error") or e["status"]
        text = re.sub(r"arn:aws:\S*?(?=:?(\s|$))", "{arn}", str(text))
        text = re.sub(r"\brdsf-[a-z0-9-]+", "{snapshot}", text)
        text = re.sub(r"(?<![\w.-])\d+(\.\d+)?(?![\w.-])", "N", text)
        causes[" ".join(text.split()[:CAUSE_WORDS])] += 1
    return {"runs": len(runs), "failed": sum(causes.values()), "causes": dict(causes.most_common())}


def monthly_usd(instance_bytes: float, cluster_bytes: float) -> float:
    """A month of the Failsafe account's snapshot storage, each kind at its price."""
    return (instance_bytes / GIB * USD_PER_GB_MONTH_INSTANCE
            + cluster_bytes / GIB * USD_PER_GB_MONTH_AURORA)


def stored(instance_bytes: float, cluster_bytes: float, kept: int | None) -> dict:
    return {"instanceBytes": instance_bytes, "clusterBytes": cluster_bytes,
            "totalBytes": instance_bytes + cluster_bytes, "copiesKept": kept,
            "usdPerMonth": monthly_usd(instance_bytes, cluster_bytes)}


def period_end(start: date, days: int) -> datetime:
    """The end of the last simulated day."""
    return datetime.combine(start + timedelta(days=days), datetime.min.time(), timezone.utc)


def mode_figures(report: dict, sources: list[str], start: date, days: int) -> dict:
    copies = report["copies"]
    # (KeyError without the emulator's split: no price rather than a wrong one)
    by_kind = report["storageByKind"]["failsafe"]
    fs = report["snapshots"]["failsafe"]
    return {
        "live": side_figures(copies, "live", start, days),
        "failsafe": side_figures(copies, "failsafe", start, days),
        "stored": stored(by_kind["instance"], by_kind["cluster"], len(fs)),
        "rpo": worst_rpo(copies, sources, period_end(start, days)),
        "runs": {side: run_failures(report["executions"], side) for side in ("live", "failsafe")},
        "automatedBackupsSkipped": len(report.get("automatedBackupsSkipped", [])),
    }


# -- running a mode -------------------------------------------------------------------------------

def run_mode(mode: str, days: int, say=lambda m: None, release: bool = False) -> dict:
    """One scenario run of the estate in `mode`; a run that fails is reported, not raised."""
    s = scenario.validate(estate_scenario(days, MODES[mode]))
    (OUT / "estate").mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f"{mode}-", dir=OUT / "estate"))
    say(f"==> estate, {mode}: {days} simulated days (logs in {workdir})")
    began = time.perf_counter()
    try:
        report = scenario.run(s, workdir, quiet=True, release=release)
        (workdir / "report.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
        figures = mode_figures(report, [x.id for x in estate()], s["start"], days)
    # any error: the other modes still run, and the error is this mode's figure
    except Exception as e:  # noqa: BLE001
        wall = time.perf_counter() - began
        say(f"    {mode} failed after {wall:.0f} s: {type(e).__name__}: {e}")
        return {"mode": mode, "status": "failed", "error": f"{type(e).__name__}: {e}",
                "wallSeconds": round(wall, 1), "days": days}
    wall = time.perf_counter() - began
    out = {"mode": mode, "status": "ran", "wallSeconds": round(wall, 1), "days": days, **figures}
    if mode == "incremental" and out["failsafe"]["copies"]["incremental"] == 0:
        out["note"] = ("no Failsafe copy was incremental: the deployment may have ignored "
                       "incrementalSources")
    say(f"    {mode}: {wall:.0f} s wall")
    return out


# -- the designs beside it, computed --------------------------------------------------------------

def copy_seconds(nbytes: float, throughput_mibps: float) -> float:
    return nbytes / (throughput_mibps * MIB)


def polled(seconds: float) -> float:
    """A copy waited for in a `sleep(10)` loop is seen done at the next look."""
    return math.ceil(seconds / POLL_SECONDS) * POLL_SECONDS


def gfs_kept(taken: list[datetime], now: datetime, daily: int = GFS[0], weekly: int = GFS[1],
             monthly: int = GFS[2]) -> list[datetime]:
    """The data times GFS retention keeps at `now` (policy::retention::plan_retention: the newest
    copy of each of the last `daily` days, `weekly` weeks from Monday, `monthly` months)."""
    today = now.date()
    day_key = lambda d: d.toordinal()  # noqa: E731
    week_key = lambda d: d.toordinal() - d.weekday()  # noqa: E731
    month_key = lambda d: d.year * 12 + d.month - 1  # noqa: E731
    kept: set[datetime] = set()
    for key, n, step in ((day_key, daily, 1), (week_key, weekly, 7), (month_key, monthly, 1)):
        wanted = {key(today) - step * i for i in range(n)}
        seen: set[int] = set()
        for t in sorted((t for t in taken if t <= now), reverse=True):
            k = key(t.date())
            if k in wanted and k not in seen:
                seen.add(k)
                kept.add(t)
    return sorted(kept)


def chain_bytes(size: float, change: float, kept: list[datetime]) -> float:
    """What copies of one DB instance that form an incremental chain store: the oldest whole,
    each later one the blocks written since the one before (physics.Physics.storage)."""
    kept = sorted(kept)
    return (size if kept else 0) + sum(changed_bytes(round(size), change, a, b)
                                       for a, b in zip(kept, kept[1:]))


def daily_taken(start: date, days: int) -> list[datetime]:
    return [datetime.combine(start + timedelta(days=n), datetime.min.time(), timezone.utc)
            + AUTOMATED_AT for n in range(days)]


def aws_backup_copies(sources: list[Source], start: date, days: int, throughput_mibps: float) -> list[dict]:
    """The Failsafe-side copies AWS Backup would make of the estate: a daily backup in the Live
    account (a snapshot AWS Backup takes, not a copy, at the automated backup's time: an
    assumption) copied at once to a vault in the Failsafe account.
    - A DB instance's copy is full the first time, then incremental: "When you copy a backup to
      a new AWS Region for the first time, AWS Backup copies the backup in full. In general, if a
      service supports incremental backups, subsequent copies of that backup in the same AWS
      Region will be incremental" (AWS Backup Developer Guide, "Creating backup copies across AWS
      Regions"). For copies across accounts the guide says only "Depending on the resource type,
      the snapshots may be an incremental copy or a full copy" ("Copy a backup"): that they follow
      RDS's rule (incremental: the source is a snapshot, not a copy, on the same key) is an
      assumption.
    - An Aurora copy is full every time: "DB cluster snapshot copies are always full" (Aurora User
      Guide; that AWS Backup copies RDS and Aurora snapshots with those services' own copy is an
      assumption).
    - Storage is priced as RDS and Aurora snapshots (`monthly_usd`): an assumption ("Metering,
      costs, and billing" bills as AWS Backup's only the resource types under "full AWS Backup
      management", a table not checked here).
    - Copies of one database queue (RDS User Guide, "Copying a DB snapshot")."""
    out = []
    for s in sources:
        size = s.gib * GIB
        queue = None
        previous = None
        for taken in daily_taken(start, days):
            full = s.kind == "cluster" or previous is None
            moved = size if full else changed_bytes(round(size), CHANGE_PER_DAY, previous, taken)
            begin = max(taken, queue) if queue else taken
            end = begin + timedelta(seconds=copy_seconds(moved, throughput_mibps))
            out.append({"account": "failsafe", "source": s.id, "kind": s.kind,
                        "id": f"awsbackup-{s.id}-{taken:%Y%m%d%H%M}",
                        "mode": "full" if full else "incremental", "bytes": moved,
                        "seconds": (end - begin).total_seconds(),
                        "requested": taken.isoformat(), "start": begin.isoformat(),
                        "end": end.isoformat(), "failed": None})
            queue, previous = end, taken
    return out


def kept_storage(sources: list[Source], start: date, days: int, full_copies: bool) -> dict:
    """What GFS retention leaves in the Failsafe account at the end of the period, one copy a
    day of each source: DB instance copies whole (`full_copies`) or as an incremental chain;
    Aurora copies always whole."""
    kept = gfs_kept(daily_taken(start, days), period_end(start, days))
    instance = cluster = 0.0
    for s in sources:
        size = s.gib * GIB
        if s.kind == "cluster":
            cluster += size * len(kept)
        else:
            instance += size * len(kept) if full_copies else chain_bytes(size, CHANGE_PER_DAY, kept)
    return stored(instance, cluster, len(kept) * len(sources))


def aws_backup(start: date, days: int, throughput_mibps: float = THROUGHPUT_MIBPS) -> dict:
    sources = estate()
    copies = aws_backup_copies(sources, start, days, throughput_mibps)
    return {
        "mode": "aws-backup", "status": "computed", "days": days,
        "live": side_figures(copies, "live", start, days),
        "failsafe": side_figures(copies, "failsafe", start, days),
        "stored": kept_storage(sources, start, days, full_copies=False),
        "rpo": worst_rpo(copies, [s.id for s in sources], period_end(start, days)),
        "note": ("a daily AWS Backup backup copied across accounts at once; DB instance copies "
                 "incremental after the first (an assumption), Aurora copies full; GFS 7/4/12 "
                 "retention; its Live-side backup is a snapshot, not a copy"),
    }


def serial_fit(durations: list[tuple[str, float]], limit: float = LAMBDA_LIMIT_SECONDS) -> list[str]:
    """The copies one invocation finishes within `limit`, taking them one at a time in the
    order given: the first that does not fit ends the invocation."""
    done, used = [], 0.0
    for name, seconds in durations:
        if used + seconds > limit:
            break
        done.append(name)
        used += seconds
    return done


def day_of_change(s: Source) -> float:
    """The bytes a DB instance writes in a day (physics.changed_bytes over one day)."""
    t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    return changed_bytes(round(s.gib * GIB), CHANGE_PER_DAY, t, t + timedelta(days=1))


def original_tool(start: date, days: int, throughput_mibps: float = THROUGHPUT_MIBPS) -> dict:
    """The original design (../shared/DESIGN.md §1) for the same estate, computed: one Lambda
    invocation per side copies the sources one at a time, smallest first (its best case), each
    waited for in a `sleep(10)` loop, within 15 minutes. The Live copy is a share copy, its
    Failsafe copy a copy of a copy and so full every day (RDS User Guide, "Incremental snapshot
    copying"); the Live copy is full the first day, then incremental for a DB instance (an
    assumption: the earlier share copy is kept) and always full for Aurora. Copy time and bytes
    are what its loops would need for every source; storage and RPO are those of the sources it
    can save."""
    sources = sorted(estate(), key=lambda s: s.gib)
    full_bytes = {s.id: s.gib * GIB for s in sources}
    daily_bytes = {s.id: full_bytes[s.id] if s.kind == "cluster" else day_of_change(s) for s in sources}
    full = {k: polled(copy_seconds(v, throughput_mibps)) for k, v in full_bytes.items()}
    daily = {k: polled(copy_seconds(v, throughput_mibps)) for k, v in daily_bytes.items()}
    # a source is saved only if its Live copy (after the first day) and its Failsafe copy both
    # finish within their invocations
    live_done = serial_fit([(s.id, daily[s.id]) for s in sources])
    fs_done = serial_fit([(s.id, full[s.id]) for s in sources])
    saved = [s for s in sources if s.id in live_done and s.id in fs_done]
    live_day = [sum(full.values())] + [sum(daily.values())] * (days - 1)
    fs_day = [sum(full.values())] * days
    live_moved = (sum(full_bytes.values()) + (days - 1) * sum(daily_bytes.values())) / days
    biggest = sources[-1].id
    # worst RPO among the saved, the last of them in the loops: a day, the wait for the Live run,
    # the Live loop, then the Failsafe loop up to it (it starts on the Live loop's message)
    rpo: dict[str, Any] = {"hours": None, "source": None}
    if saved:
        loops = sum(daily[s.id] for s in saved) + sum(full[s.id] for s in saved)
        rpo = {"hours": 24 + (LIVE_AT - AUTOMATED_AT).total_seconds() / 3600 + loops / 3600,
               "source": saved[-1].id}

    def side(per_day: list[float], moved: float, longest: float) -> dict:
        return {"copyHoursPerDay": {"mean": sum(per_day) / days / 3600, "max": max(per_day) / 3600},
                "longestCopy": {"hours": longest / 3600, "source": biggest},
                "movedGiBPerDay": moved / GIB}

    return {
        "mode": "original", "status": "computed", "days": days,
        "live": side(live_day, live_moved, full[biggest]),
        "failsafe": side(fs_day, sum(full_bytes.values()), full[biggest]),
        "fitsIn15Minutes": [s.id for s in sources if full[s.id] <= LAMBDA_LIMIT_SECONDS],
        "saved": [s.id for s in saved],
        "stored": kept_storage(saved, start, days, full_copies=True) if saved else stored(0, 0, 0),
        "rpo": {**rpo, "neverSaved": [s.id for s in sources if s not in saved]},
        "note": (f"copy time and bytes are what one day's serial loops need for all "
                 f"{len(sources)} sources; an invocation has {LAMBDA_LIMIT_SECONDS // 60} minutes, "
                 f"so only {', '.join(s.id for s in saved) or 'none'} can be saved, and storage "
                 f"and RPO are theirs"),
    }


# -- the table ------------------------------------------------------------------------------------

COLUMNS = [("share-copy", "share-copy (run)"), ("incremental", "incremental (run)"),
           ("incremental-waits", "incremental + copyWaits (run)"),
           ("original", "original tool (computed)"), ("aws-backup", "AWS Backup (computed)")]


def _h(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f} h"


def _get(col: dict, *path: str) -> Any:
    for p in path:
        if not isinstance(col, dict) or col.get(p) is None:
            return None
        col = col[p]
    return col


def _per_day(col: dict, side: str) -> str:
    d = _get(col, side, "copyHoursPerDay")
    return "—" if d is None else f"{d['mean']:.1f} h / {d['max']:.1f} h"


def _longest(col: dict, side: str) -> str:
    d = _get(col, side, "longestCopy")
    return "—" if d is None else f"{d['hours']:.1f} h ({d['source']})"


def _moved(col: dict) -> str:
    live, fs = _get(col, "live", "movedGiBPerDay"), _get(col, "failsafe", "movedGiBPerDay")
    return "—" if fs is None else f"{live or 0:,.0f} / {fs:,.0f} GiB"


def _copies(col: dict, side: str) -> str:
    d = _get(col, side, "copies")
    return "—" if d is None else f"{d['full']} / {d['incremental']}" + (
        f" ({d['failed']} failed)" if d["failed"] else "")


def _stored(col: dict) -> str:
    d = _get(col, "stored")
    return "—" if d is None else (f"{d['instanceBytes'] / TIB:,.1f} + {d['clusterBytes'] / TIB:,.1f} "
                                  f"= {d['totalBytes'] / TIB:,.1f} TiB")


def _usd(col: dict) -> str:
    v = _get(col, "stored", "usdPerMonth")
    return "—" if v is None else f"{v:,.0f} USD"


def _rpo(col: dict) -> str:
    d = _get(col, "rpo")
    if d is None:
        return "—"
    out = "—" if d["hours"] is None else f"{d['hours']:.1f} h ({d['source']})"
    if d["neverSaved"]:
        out += f"; never saved: {len(d['neverSaved'])}"
    return out


def _runs(col: dict, side: str) -> str:
    d = _get(col, "runs", side)
    if d is None:
        return "—"
    why = "; ".join(f"{cause} ({n})" for cause, n in d["causes"].items())
    return f"{d['failed']}/{d['runs']}" + (f": {why}" if why else "")


def _status(col: dict) -> str:
    if col["status"] == "failed":
        return f"**failed**: {col['error']}"
    if col["status"] == "computed":
        return "computed"
    wall = col["wallSeconds"]
    return f"ran {col['days']} days, " + (f"{wall:.0f} s" if wall < 120 else f"{wall / 60:.1f} min") + " wall"


ROWS = [
    ("Status", _status),
    ("Live copy time per day, mean / max", lambda c: _per_day(c, "live")),
    ("Failsafe copy time per day, mean / max", lambda c: _per_day(c, "failsafe")),
    ("Longest copy, Live", lambda c: _longest(c, "live")),
    ("Longest copy, Failsafe", lambda c: _longest(c, "failsafe")),
    ("Moved per day, Live / Failsafe (mean)", _moved),
    ("Live copies, full / incremental", lambda c: _copies(c, "live")),
    ("Failsafe copies, full / incremental", lambda c: _copies(c, "failsafe")),
    ("Failsafe stores at the end, instances + Aurora", _stored),
    ("Failsafe copies kept at the end", lambda c: str(_get(c, "stored", "copiesKept") or "—")),
    ("Failsafe storage per month", _usd),
    ("Worst RPO (source)", _rpo),
    ("Failsafe runs failed", lambda c: _runs(c, "failsafe")),
    ("Live runs failed", lambda c: _runs(c, "live")),
    ("Automated backups skipped", lambda c: str(c.get("automatedBackupsSkipped", "—"))),
]


def table(results: dict) -> str:
    cols = [(key, title) for key, title in COLUMNS if key in results["columns"]]
    lines = ["| Figure | " + " | ".join(title for _, title in cols) + " |",
             "|---|" + "---|" * len(cols)]
    for label, cell in ROWS:
        lines.append(f"| {label} | " + " | ".join(
            cell(results["columns"][key]).replace("|", "\\|") for key, _ in cols) + " |")
    return "\n".join(lines)


def section(results: dict) -> str:
    """The estate's part of docs/benchmarks.md (Markdown), between the bench-estate markers."""
    notes = [f"- {title}: {results['columns'][key]['note']}" for key, title in COLUMNS
             if results["columns"].get(key, {}).get("note")]
    e = results["estate"]
    return "\n".join([
        BEGIN,
        f"**Estate** ({results['date']}, {results['machine']}; `make bench-estate`, "
        f"`target/bench/estate.json`): {len(e['instancesGiB'])} DB instances of "
        f"{', '.join(f'{g:,}' for g in e['instancesGiB'])} GiB and Aurora clusters of "
        f"{', '.join(f'{g:,}' for g in e['clustersGiB'])} GiB, {e['changePerDay'] * 100:g} % written a "
        f"day, copies at "
        f"{e['throughputMiBps']:g} MiB/s, over {e['days']} simulated days; storage in TiB "
        f"(2^40 bytes) priced at {USD_PER_GB_MONTH_INSTANCE} USD per GiB-month for instances and "
        f"{USD_PER_GB_MONTH_AURORA} for Aurora.",
        "",
        table(results),
        "",
        *notes,
        END,
    ])


def update_readme(text: str, readme: Path = README) -> bool:
    """Replaces the estate section of docs/benchmarks.md, if it has the markers."""
    doc = readme.read_text()
    if BEGIN not in doc or END not in doc:
        return False
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{text}{tail}")
    return True


def run_estate(days: int = DAYS, modes: list[str] | None = None, say=print,
               release: bool = False) -> dict:
    """Every mode in turn (one stack at a time), then the designs beside them; writes
    target/bench/estate.json. `release`: the Lambdas of target/release (make bench)."""
    start = date.fromisoformat(START)
    columns: dict[str, dict] = {}
    for mode in modes or list(MODES):
        columns[mode] = run_mode(mode, days, say, release)
    columns["original"] = original_tool(start, days)
    columns["aws-backup"] = aws_backup(start, days)
    results = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}",
        "estate": {"instancesGiB": INSTANCES_GIB, "clustersGiB": CLUSTERS_GIB,
                   "changePerDay": CHANGE_PER_DAY, "throughputMiBps": THROUGHPUT_MIBPS,
                   "days": days, "start": START},
        "columns": columns,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "estate.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--days", type=int, default=DAYS, help="simulated days (default %(default)s)")
    ap.add_argument("--modes", default=",".join(MODES),
                    help="comma-separated, of: " + ", ".join(MODES) + " (default all)")
    ap.add_argument("--no-readme", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = ap.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = sorted(set(modes) - set(MODES))
    if unknown or not 1 <= args.days <= 400:
        ap.error(f"unknown mode(s) {unknown}" if unknown else "--days must be from 1 to 400")
    results = run_estate(args.days, modes)
    text = section(results)
    print("\n" + text)
    if not args.no_readme:
        print("\ndocs/benchmarks.md updated" if update_readme(text)
              else "\ndocs/benchmarks.md has no bench-estate markers: not updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
