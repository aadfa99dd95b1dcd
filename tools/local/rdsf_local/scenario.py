"""Scenario runner: a declarative JSON file seeds the emulated world, injects faults, performs
daily runs over simulated days, and prints a JSON report of both accounts' snapshots and every
execution's outcome. The schema is in docs/development.md (Scenario files); a new scenario needs no code.

    python -m rdsf_local.scenario tests/scenarios/mixed-estate.json [--out report.json]

Exit status: 0 when the scenario ran and its optional `expect` block held, 1 when an expectation
failed, 2 when the file is invalid (the message names the field).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from .deployment import Deployment, create_key, create_source
from .stack import LocalStack
from .templates import ConfigRejected

TOP_KEYS = {"name", "description", "accounts", "keys", "shareKey", "sources", "automatedSnapshots",
            "preexisting", "context", "faults", "start", "days", "daily", "runs", "expect", "physics"}


class ScenarioError(ValueError):
    pass


def _need(obj: dict, key: str, where: str, kind: type | tuple = object) -> Any:
    if key not in obj:
        raise ScenarioError(f"{where}.{key} is required")
    if not isinstance(obj[key], kind):
        raise ScenarioError(f"{where}.{key} must be {getattr(kind, '__name__', kind)}")
    return obj[key]


def validate(s: dict) -> dict:
    if not isinstance(s, dict):
        raise ScenarioError("the scenario must be a JSON object")
    unknown = set(s) - TOP_KEYS
    if unknown:
        raise ScenarioError(f"unknown top-level field(s) {sorted(unknown)}; allowed: {sorted(TOP_KEYS)}")
    _need(s, "name", "scenario", str)
    accounts = s.setdefault("accounts", {})
    for side, default in (("live", "111111111111"), ("failsafe", "222222222222")):
        a = accounts.setdefault(side, {})
        a.setdefault("id", default)
        a.setdefault("region", "us-east-1")
        if not (isinstance(a["id"], str) and a["id"].isdigit() and len(a["id"]) == 12):
            raise ScenarioError(f"accounts.{side}.id must be a 12-digit account id, got {a['id']!r}")
    if accounts["live"]["id"] == accounts["failsafe"]["id"]:
        raise ScenarioError("accounts.failsafe.id must differ from accounts.live.id")
    # Further Live accounts sending to the Failsafe account(s), each with its region and sources,
    # and further Failsafe accounts of the Live accounts: each deployed from its own copy of the
    # app (cdk.json additionalLiveAccounts/Regions, additionalFailsafeAccounts, set from these).
    ids = [accounts["live"]["id"], accounts["failsafe"]["id"]]
    for group in ("moreLive", "moreFailsafe"):
        entries = accounts.setdefault(group, [])
        if not isinstance(entries, list):
            raise ScenarioError(f"accounts.{group} must be a list of {{id, region}}")
        for i, a in enumerate(entries):
            where = f"accounts.{group}[{i}]"
            if not isinstance(a, dict):
                raise ScenarioError(f"{where} must be an object {{id, region}}")
            a.setdefault("region", "us-east-1")
            if not (isinstance(a.get("id"), str) and a["id"].isdigit() and len(a["id"]) == 12):
                raise ScenarioError(f"{where}.id must be a 12-digit account id, got {a.get('id')!r}")
            if a["id"] in ids:
                raise ScenarioError(f"{where}.id {a['id']} is already another account of the scenario")
            ids.append(a["id"])
            if group == "moreLive":
                srcs = _need(a, "sources", where, list)
                for j, src in enumerate(srcs):
                    _need(src, "id", f"{where}.sources[{j}]", str)
                    if src.setdefault("kind", "instance") not in ("instance", "cluster"):
                        raise ScenarioError(f"{where}.sources[{j}].kind must be instance or cluster")
                    if src.setdefault("encryption", "none") not in ("none", "aws-rds"):
                        raise ScenarioError(f"{where}.sources[{j}].encryption must be none or aws-rds")
    sources = _need(s, "sources", "scenario", list)
    if not sources:
        raise ScenarioError("sources must list at least one instance or cluster")
    key_aliases = {k.get("alias") for k in s.get("keys", [])}
    for i, src in enumerate(sources):
        where = f"sources[{i}]"
        _need(src, "id", where, str)
        if src.setdefault("kind", "instance") not in ("instance", "cluster"):
            raise ScenarioError(f"{where}.kind must be instance or cluster")
        enc = src.setdefault("encryption", "none")
        if enc not in ("none", "aws-rds") and not (enc.startswith("key:") and enc[4:] in key_aliases):
            raise ScenarioError(
                f"{where}.encryption must be none, aws-rds or key:<alias of an entry in keys>, got {enc!r}")
        # Physics (tools/local/rdsf_local/physics.py): used storage and the share of it written a day
        size, change = src.get("sizeGiB"), src.get("changePerDay")
        if size is not None and not (isinstance(size, (int, float)) and size > 0):
            raise ScenarioError(f"{where}.sizeGiB must be a number of GiB above 0, got {size!r}")
        if change is not None and not (isinstance(change, (int, float)) and 0 <= change <= 1):
            raise ScenarioError(f"{where}.changePerDay must be a fraction from 0 to 1, got {change!r}")
    physics = s.get("physics")
    if physics is not None:
        if not isinstance(physics, dict) or set(physics) - {"throughputMiBps"}:
            raise ScenarioError("physics must be an object {\"throughputMiBps\": n} (copies then take "
                                "their bytes over that throughput, by the simulated clock)")
        t = physics.get("throughputMiBps", 100)
        if not (isinstance(t, (int, float)) and t > 0):
            raise ScenarioError(f"physics.throughputMiBps must be a number above 0, got {t!r}")
    context = s.setdefault("context", {})
    if not isinstance(context, dict):
        raise ScenarioError("context must be an object of cdk.json's rds-failsafe fields, e.g. {\"liveKeep\": 1}")
    placed = sorted({"liveAccount", "liveRegion", "failsafeAccount", "failsafeRegion", "additionalLiveAccounts",
                     "additionalLiveRegions", "additionalFailsafeAccounts"} & set(context))
    if placed:
        raise ScenarioError(f"context.{placed[0]}: the accounts and regions come from accounts; set them there")
    for i, a in enumerate(s.get("automatedSnapshots", [])):
        _need(a, "source", f"automatedSnapshots[{i}]", str)
        _need(a, "ageHours", f"automatedSnapshots[{i}]", (int, float))
    for i, p in enumerate(s.get("preexisting", [])):
        _need(p, "id", f"preexisting[{i}]", str)
        _need(p, "source", f"preexisting[{i}]", str)
    try:
        s["start"] = date.fromisoformat(s.get("start", "2026-11-01"))
    except ValueError:
        raise ScenarioError(f"start must be a date YYYY-MM-DD, got {s.get('start')!r}") from None
    if not isinstance(s.setdefault("days", 1), int) or not 0 <= s["days"] <= 400:
        raise ScenarioError("days must be a whole number from 0 to 400")
    daily = s.setdefault("daily", {})
    for k, default in (("automatedAt", "03:00"), ("liveAt", "05:00"), ("failsafeAt", "05:30")):
        daily.setdefault(k, default)
    daily.setdefault("backstopAt", None)
    daily.setdefault("backupRetentionDays", 7)
    daily.setdefault("automated", True)
    return s


def _at(day: date, hhmm: str) -> str:
    return f"{day.isoformat()}T{hhmm}:00Z"


def run(s: dict, workdir: Path, quiet: bool = False, release: bool = False) -> dict:
    """Runs a validated scenario on a local stack in `workdir` and returns its report; the task
    Lambdas are the debug binaries, or with `release` those of `cargo build --release`."""
    say = (lambda *_: None) if quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    with LocalStack(workdir, quiet=quiet) as stack:
        live = stack.account(s["accounts"]["live"]["id"], s["accounts"]["live"]["region"])
        failsafe = stack.account(s["accounts"]["failsafe"]["id"], s["accounts"]["failsafe"]["region"])
        faults = s.get("faults", {})
        stack.faults(**{k: v for k, v in faults.items() if k != "throttleOnDay"})
        keys = {k["alias"]: create_key(live, k["alias"], [failsafe.id] if k.get("grantFailsafe") else [])
                for k in s.get("keys", [])}
        for src in s["sources"]:
            enc = src["encryption"]
            create_source(live, src["kind"], src["id"], keys[enc[4:]] if enc.startswith("key:") else enc,
                          engine=src.get("engine"), tags=src.get("tags"))
        physics = s.get("physics")
        stack.physics(
            clock=physics is not None,
            **({"throughputMiBps": physics.get("throughputMiBps", 100)} if physics is not None else {}),
            sources=[{"account": live.id, "region": live.region, "kind": src["kind"], "id": src["id"],
                      "sizeGiB": src.get("sizeGiB"), "changePerDay": src.get("changePerDay")}
                     for src in s["sources"]])
        more_live = [(stack.account(a["id"], a["region"]), a["sources"]) for a in s["accounts"]["moreLive"]]
        more_failsafe = [stack.account(a["id"], a["region"]) for a in s["accounts"]["moreFailsafe"]]
        for acct, srcs in more_live:
            for src in srcs:
                create_source(acct, src["kind"], src["id"], src["encryption"], engine=src.get("engine"),
                              region=acct.region)
        context = dict(s.get("context", {}))
        if more_live:
            context["additionalLiveAccounts"] = [a.id for a, _ in more_live]
            context["additionalLiveRegions"] = sorted({a.region for a, _ in more_live} - {live.region})
        if more_failsafe:
            context["additionalFailsafeAccounts"] = [{"account": a.id, "region": a.region} for a in more_failsafe]
        d = Deployment.create(
            stack, live, failsafe, context=context,
            share_key_grants_failsafe=s.get("shareKey", {}).get("grantFailsafe", True),
        )
        first_live = datetime.fromisoformat(_at(s["start"], s["daily"]["liveAt"]).replace("Z", "+00:00"))
        kinds = {src["id"]: src["kind"] for src in s["sources"]}
        for a in s.get("automatedSnapshots", []):
            if a["source"] not in kinds:
                raise ScenarioError(f"automatedSnapshots: {a['source']} is not in sources")
            t = first_live - timedelta(hours=a["ageHours"])
            stack.seed_automated(live, kinds[a["source"]], a["source"], t.strftime("%Y-%m-%dT%H:%M:00Z"))
        rds = live.client("rds")
        for p in s.get("preexisting", []):
            tags = [{"Key": k, "Value": v} for k, v in p.get("tags", {}).items()]
            if kinds.get(p["source"]) == "cluster":
                rds.create_db_cluster_snapshot(DBClusterIdentifier=p["source"],
                                               DBClusterSnapshotIdentifier=p["id"], Tags=tags)
            else:
                rds.create_db_snapshot(DBInstanceIdentifier=p["source"], DBSnapshotIdentifier=p["id"],
                                       Tags=tags)
        d.start(release=release)
        failsafes = [d] + [d.add_failsafe(a) for a in more_failsafe]
        lives = [(d, live, s["sources"])] + [(d.add_live(a), a, srcs) for a, srcs in more_live]
        runs = s.get("runs", {})
        skipped_backups: list[str] = []  # automated backups RDS did not take (a copy was running)
        daily = s["daily"]
        # the Failsafe side's triggered run starts this long after each Live run
        trigger_delay = (datetime.strptime(daily["failsafeAt"], "%H:%M")
                         - datetime.strptime(daily["liveAt"], "%H:%M"))
        for n in range(s["days"]):
            day = s["start"] + timedelta(days=n)
            say(f"day {n + 1}/{s['days']}: {day}")
            keep = daily["backupRetentionDays"]
            stack.control("expire-automated", {"before": _at(day - timedelta(days=keep), "00:00")})
            for op, count in (faults.get("throttleOnDay", {}).get(str(n + 1), {}) or {}).items():
                stack.faults(throttle={op: count})
            # the day's events in time order (the simulated clock only moves forward): the
            # automated backups, the daily Live run, each cadence's runs as deployed
            # (Deployment.live_cadences), the backstop; each Live run followed by the Failsafe
            # run its message triggers
            events = [(daily["automatedAt"], "automated", None)] if daily["automated"] else []
            events.append((daily["liveAt"], "live", runs.get("liveInput")))
            # (the cadences are the first Live account's, as its template deploys them)
            events += [(hhmm, "cadence", input) for times, input in d.live_cadences for hhmm in times]
            if daily["backstopAt"]:
                events.append((daily["backstopAt"], "backstop", runs.get("failsafeInput")))
            for hhmm, what, input in sorted(events, key=lambda e: e[0]):
                at = _at(day, hhmm)
                if what == "automated":
                    for _, acct, srcs in lives:
                        for src in srcs:
                            taken = stack.seed_automated(acct, src["kind"], src["id"], at, region=acct.region)
                            if "skipped" in taken:
                                say(f"  {taken['skipped']}")
                                skipped_backups.append(taken["skipped"])
                elif what in ("live", "cadence"):
                    for runner, _, _ in (lives if what == "live" else lives[:1]):
                        runner.run_live(at, input)
                    triggered = (datetime.fromisoformat(at.replace("Z", "+00:00")) + trigger_delay)
                    for f in failsafes:
                        f.deliver()
                        f.run_started(triggered.strftime("%Y-%m-%dT%H:%M:00Z"))
                else:
                    for f in failsafes:
                        f.run_failsafe(at, input)
        report = build_report(s, d)
        report["automatedBackupsSkipped"] = skipped_backups
        d.stop()
        return report


def build_report(s: dict, d: Deployment) -> dict:
    aliases: dict[str, str] = {}
    others = [o.account for o in d.other_lives] + [f.failsafe for f in d.other_failsafes]
    for acct in (d.live, d.failsafe, *others):
        for a in acct.client("kms").list_aliases()["Aliases"]:
            if a.get("TargetKeyId"):
                arn = f"arn:aws:kms:{acct.region}:{acct.id}:key/{a['TargetKeyId']}"
                aliases[arn] = a["AliasName"].removeprefix("alias/")

    def snap(r: dict) -> dict:
        return {
            "id": r["id"], "kind": r["kind"], "type": r["type"], "status": r["status"],
            "key": aliases.get(r["kmsKeyId"], r["kmsKeyId"]) if r["encrypted"] else None,
            "source": r["tags"].get("rds-failsafe:source-id", r["source"]),
            "sourceCreateTime": r["tags"].get("rds-failsafe:source-create-time"),
            "sharedWith": r["sharedWith"], "tags": r["tags"],
        }

    world = d.stack.world()
    sides = {d.live.id: "live", d.failsafe.id: "failsafe"}
    stored = d.stack.storage()
    storage = {sides.get(r["account"], r["account"]): r["storedBytes"] for r in stored}
    return {
        "scenario": s["name"],
        "accounts": {"live": d.live.id, "failsafe": d.failsafe.id,
                     "moreLive": [o.account.id for o in d.other_lives],
                     "moreFailsafe": [f.failsafe.id for f in d.other_failsafes]},
        "executions": [e.summary() for e in d.executions],
        "triggers": [t["body"] for t in d.triggers],
        # physics: every copy made (full or incremental, bytes, seconds), what each account stores
        "copies": [dict(c, account=sides.get(c["account"], c["account"])) for c in d.stack.copies()],
        "storedBytes": storage,
        # the same split by kind (instance and Aurora storage are priced apart)
        "storageByKind": {sides.get(r["account"], r["account"]): r.get("byKind") for r in stored},
        "snapshots": {
            "live": [snap(r) for r in world if r["account"] == d.live.id],
            "failsafe": [snap(r) for r in world if r["account"] == d.failsafe.id],
            **{acct.id: [snap(r) for r in world if r["account"] == acct.id] for acct in others},
        },
    }


def check(expect: dict, report: dict) -> list[str]:
    """The optional `expect` block: exact sets, so a scenario states what must be true."""
    problems = []
    fs = report["snapshots"]["failsafe"]
    if "failsafeSnapshots" in expect:
        got = sorted(x["id"] for x in fs)
        if got != sorted(expect["failsafeSnapshots"]):
            problems.append(f"failsafeSnapshots: expected {sorted(expect['failsafeSnapshots'])}, got {got}")
    for acct, want in (expect.get("snapshotsOf") or {}).items():
        got = sorted(x["id"] for x in report["snapshots"].get(acct, []) if x["type"] == "manual")
        if got != sorted(want):
            problems.append(f"snapshotsOf.{acct}: expected {sorted(want)}, got {got}")
    if "failsafeKey" in expect:
        wrong = [x["id"] for x in fs if x["key"] != expect["failsafeKey"]]
        if wrong:
            problems.append(f"failsafeKey: not on {expect['failsafeKey']}: {wrong}")
    if "liveManualSnapshots" in expect:
        got = sorted(x["id"] for x in report["snapshots"]["live"] if x["type"] == "manual")
        if got != sorted(expect["liveManualSnapshots"]):
            problems.append(f"liveManualSnapshots: expected {sorted(expect['liveManualSnapshots'])}, got {got}")
    if "executionStatuses" in expect:
        got = [f"{e['side']}:{e['status']}" for e in report["executions"]]
        if got != expect["executionStatuses"]:
            problems.append(f"executionStatuses: expected {expect['executionStatuses']}, got {got}")
    if "failsafeUnverified" in expect:  # Failsafe copies verify never passed (exact)
        got = sorted(x["id"] for x in fs if "rds-failsafe:verified" not in x["tags"])
        if got != sorted(expect["failsafeUnverified"]):
            problems.append(f"failsafeUnverified: expected {sorted(expect['failsafeUnverified'])}, got {got}")
    for side_source, want in (expect.get("copyModes") or {}).items():
        side, _, source = side_source.partition(":")
        got = [c["mode"] for c in report["copies"] if c["account"] == side and c["source"] == source]
        if got != want:
            problems.append(f"copyModes.{side_source}: expected {want}, got {got}")
    # what the runs' summaries say of each copy they made (copy-latest's and save's reading of
    # RDS's rules), per side and source in run order: a scenario sets it to the emulator's
    # `copyModes` to prove they agree
    reported: dict[str, list[str]] = {}
    for e in report["executions"]:
        for line in ((e.get("summary") or {}).get("copies") or {}).get("first", []):
            item, figures = line.split(": ", 1)
            source = item.split(":", 1)[1].split(" of ")[0]
            reported.setdefault(f"{e['side']}:{source}", []).append(figures.split(",")[0])
    for source, want in (expect.get("reportedCopyModes") or {}).items():
        if reported.get(source, []) != want:
            problems.append(f"reportedCopyModes.{source}: expected {want}, got {reported.get(source, [])}")
    if "automatedBackupsSkipped" in expect:
        got = len(report.get("automatedBackupsSkipped", []))
        if got != expect["automatedBackupsSkipped"]:
            problems.append(f"automatedBackupsSkipped: expected {expect['automatedBackupsSkipped']}, got {got}")
    for needle in expect.get("failureMentions", []):
        causes = " ".join(e["cause"] or "" for e in report["executions"])
        if needle not in causes:
            problems.append(f"failureMentions: no execution's cause mentions {needle!r}")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Run an rds-failsafe scenario on the local stack.")
    ap.add_argument("scenario", type=Path)
    ap.add_argument("--out", type=Path, help="write the report here as well as to stdout")
    ap.add_argument("--workdir", type=Path, help="logs and state (default: a temporary directory)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    try:
        s = validate(json.loads(args.scenario.read_text()))
    except (OSError, json.JSONDecodeError, ScenarioError) as e:
        print(f"scenario {args.scenario}: {e}", file=sys.stderr)
        return 2
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="rdsf-scenario-"))
    try:
        report = run(s, workdir, quiet=args.quiet)
    except (ScenarioError, ConfigRejected) as e:
        print(f"scenario {args.scenario}: {e}", file=sys.stderr)
        return 2
    text = json.dumps(report, indent=2, default=str)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    problems = check(s.get("expect", {}), report)
    for p in problems:
        print(f"EXPECTATION FAILED: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
