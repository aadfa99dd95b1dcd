"""`make bench`: what rds-failsafe costs, measured on this machine and the local two-account stack.

1. Package: the release build's time, and each task Lambda's `bootstrap.zip` (size per function).
2. Cold start and memory: each task Lambda's release binary, started fresh behind a local Lambda
   Runtime API (runtime_api.py), to its first answered invocation against the emulator; beside it
   the Python baseline (baseline.py: boto3 on awslambdaric) making the same calls. Median and
   range over RUNS starts; peak RSS (VmHWM).
3. State transitions per copy, per side, at simulated copy durations (adaptive polling).
4. Scale: N sources in one run at concurrency 20, each copy taking D simulated minutes: wall time
   against ceil(N/20)·D, AWS API calls per run, the largest state, every copy saved; and the
   original tool's serial loop (one copy at a time, polled every 10 s) for the same N and D.
5. Estate (estate.py, also `make bench-estate`): a modelled estate of ten DB instances and three
   Aurora clusters over 60 simulated days, per mode (share-copy, incremental), by the copy
   physics' simulated clock: copy time per day and side, Failsafe storage and its price, the
   worst RPO; beside it the original tool's design and AWS Backup's rules, computed.

Simulated time (3, 4): the emulator's copies take D × m ms of wall clock and each WaitForCopy
waits its seconds × m ms (asl_runner.mjs, msPerSimulatedSecond), so a run's wall time / m ms is
its time in simulated seconds (m: --ms-per-second, 10, at scale; 2 for the transition counts). The Lambdas and the emulator
run at their real speed, so their overhead counts against the ratio, magnified by the time scale.

Writes target/bench/results.json, prints the tables, rewrites the results section of docs/benchmarks.md (between
the bench markers) and docs/bench.svg. Figures are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import zipfile
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "local"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from rdsf_local.deployment import Deployment, create_source  # noqa: E402
from rdsf_local.contract import triggered_tasks  # noqa: E402
from rdsf_local.stack import DRILL_FUNCTIONS, FAILSAFE_FUNCTIONS, LIVE_FUNCTIONS, LocalStack  # noqa: E402
from runtime_api import cold_start, lambda_env  # noqa: E402

import chart  # noqa: E402
# (named apart from estate() below, which makes the other sections' sources)
import estate as estate_bench  # noqa: E402

OUT = ROOT / "target" / "bench"
LIVE_ID, FAILSAFE_ID, REGION = "111111111111", "222222222222", "us-east-1"
# the state machines' tasks as the local stack knows them (one list), and the trigger's
TASKS_LIVE = list(LIVE_FUNCTIONS.values())
TASKS_FAILSAFE = [*triggered_tasks(), *FAILSAFE_FUNCTIONS.values()]
# the restore drill's zips are measured too; their cold starts are not (a day does not run them)
TASKS_DRILL = list(DRILL_FUNCTIONS.values())
TAKEN, LIVE_AT, FAILSAFE_AT = "2026-11-20T03:00:00Z", "2026-11-20T05:00:00Z", "2026-11-20T05:30:00Z"
DURATIONS_MIN = [5, 10, 60, 360]
SCALE_N = [1, 10, 100, 1000]
SCALE_D_MIN = 10
CONCURRENCY = 20
ZIP_LIMIT = 2 * 1024 * 1024
# the packages holding task binaries, each built on its own (Makefile `package`)
PACKAGES = ["rdsf-lambdas", "rdsf-sql"]


def say(msg: str) -> None:
    print(msg, flush=True)


def stats(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": len(values)}


# -- 1. package ---------------------------------------------------------------------------------

def package() -> dict:
    """`make package`'s build for x86_64 (this machine has no aarch64 standard library): the same
    tool (cargo lambda, zig as the linker), profile and zips. Timed. Each zip's bootstrap is
    extracted for the cold starts: what Lambda would run."""
    say("==> cargo lambda build --release --x86-64 --output-format zip (make package, but x86_64)")
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"}
    start = time.perf_counter()
    # one build per package, as `make package`: validate-drill (rdsf-sql) must not change the
    # features, hence the code, of the other binaries' dependencies
    for package in PACKAGES:
        subprocess.run(["cargo", "lambda", "build", "--release", "--x86-64", "--output-format", "zip",
                        "-p", package], cwd=ROOT, env=env, check=True)
    build_s = time.perf_counter() - start
    sizes = {}
    for task in sorted(set(TASKS_LIVE + TASKS_FAILSAFE + TASKS_DRILL)):
        zpath = ROOT / "target" / "lambda" / task / "bootstrap.zip"
        if not zpath.exists():
            raise SystemExit(f"bench: {zpath} was not built: is {task} a bin of {' or '.join(PACKAGES)}?")
        out = OUT / "lambda" / task
        out.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(zpath) as z:
            z.extract("bootstrap", out)
        (out / "bootstrap").chmod(0o755)
        sizes[task] = {"binary": (out / "bootstrap").stat().st_size, "zip": zpath.stat().st_size}
    # the local stack's Lambda hosts run target/release's binaries (a host build) for the bench
    say("==> cargo build --release (the binaries the local stack runs)")
    for package in PACKAGES:
        subprocess.run(["cargo", "build", "--release", "-p", package, "--bins"], cwd=ROOT, check=True)
    installed = subprocess.run(["rustup", "target", "list", "--installed"], capture_output=True,
                               text=True).stdout.split()
    return {
        "buildSeconds": round(build_s, 1),
        "target": "x86_64-unknown-linux-gnu",
        "arm64TargetInstalled": "aarch64-unknown-linux-gnu" in installed,
        "sizes": sizes,
        "zipLimit": ZIP_LIMIT,
    }


# -- the world ----------------------------------------------------------------------------------

def estate(stack: LocalStack, live, n: int) -> list[str]:
    """n sources, every fifth an Aurora cluster, each with last night's automated snapshot."""
    ids = []
    for i in range(n):
        kind = "cluster" if i % 5 == 4 else "instance"
        sid = f"bench-{kind}-{i:04d}"
        create_source(live, kind, sid)
        stack.seed_automated(live, kind, sid, TAKEN)
        ids.append(sid)
    return ids


def deploy(stack: LocalStack, n: int, release: bool = True):
    stack.reset()
    live, failsafe = stack.account(LIVE_ID, REGION), stack.account(FAILSAFE_ID, REGION)
    ids = estate(stack, live, n)
    stack.faults(quota=[{"account": a.id, "region": a.region, "limit": 2 * n + 10}
                        for a in (live, failsafe)])
    # maxConcurrency 20 in both accounts: the Live run's input and the triggered Failsafe run's
    # (start-failsafe passes the deployment's setting)
    d = Deployment.create(stack, live, failsafe, context={"maxConcurrency": CONCURRENCY}).start(
        release=release)
    # A function instance's first event pays for its cold start (the SDK's clients, the first
    # connection), which would count as run time: each gets one first, an event that is not an
    # input (a bare string), which it refuses (start-failsafe: rejects as not an SNS event)
    # without calling AWS.
    for host, functions in ((d.live_host, LIVE_FUNCTIONS), (d.failsafe_host, FAILSAFE_FUNCTIONS)):
        for fn in [*functions.values(), *(["start-failsafe"] if host is d.failsafe_host else [])]:
            ok, body = host.invoke(fn, "warm-up")
            refused = (not ok and "errorType" in (body or {})) or (ok and (body or {}).get("rejected"))
            if not refused:
                raise SystemExit(f"bench: {fn} took a bare string for an input: {body}")
    return d, ids


def record_to(stack: LocalStack, d: Deployment, path: Path | None) -> None:
    if path is not None and path.exists():
        path.unlink()
    stack.control("record", {"file": str(path) if path else None, "deployment": d.deployment_id})


def read_calls(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# -- 2. cold start ------------------------------------------------------------------------------

def capture_inputs(stack: LocalStack, d: Deployment) -> dict[str, tuple[str, object]]:
    """Each task's first input in a real day (Live run, trigger, Failsafe run): task -> (side, event)."""
    got: dict[str, tuple[str, object]] = {}
    live = d.run_live(LIVE_AT, runner={"captureInputs": True})
    if live.status != "SUCCEEDED":
        raise SystemExit(f"bench: the Live run failed: {live.result.get('cause')}")
    for fn, payload in live.result["inputs"].items():
        got[fn] = ("live", payload)
    events = []
    original = d.invoke_trigger

    def capture(event):
        events.append(event)
        return original(event)

    d.invoke_trigger = capture
    d.deliver()
    d.invoke_trigger = original
    if not events:
        raise SystemExit("bench: the Live run published no message for the trigger")
    got["start-failsafe"] = ("failsafe", events[0])
    runs = d.run_started(FAILSAFE_AT, runner={"captureInputs": True})
    if [r.status for r in runs] != ["SUCCEEDED"]:
        raise SystemExit(f"bench: the Failsafe run did not succeed: {[r.result.get('cause') for r in runs]}")
    for fn, payload in runs[0].result["inputs"].items():
        got.setdefault(fn, ("failsafe", payload))
    missing = sorted(set(TASKS_LIVE + TASKS_FAILSAFE) - set(got))
    if missing:
        raise SystemExit(f"bench: a day invoked no {', '.join(missing)}: nothing to start them with")
    return got


def cold_starts(stack: LocalStack, runs: int) -> dict:
    say(f"==> cold start and peak memory, {runs} starts per task and language")
    d, _ = deploy(stack, 5)
    inputs = capture_inputs(stack, d)
    d.stop()  # the ASL runs are done; the cold starts run the binaries directly
    logs = OUT / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    python = str(ROOT / ".venv" / "bin" / "python")
    results = {}
    for task in sorted(inputs):
        side, event = inputs[task]
        account = d.live if side == "live" else d.failsafe
        config = d.live_config if side == "live" else d.failsafe_config
        env = {**lambda_env(f"rdsf-{task}"), **account.env(), **config, "RUST_LOG": "info"}
        calls_file = OUT / "calls" / f"{side}-{task}.jsonl"
        calls_file.parent.mkdir(parents=True, exist_ok=True)
        rust, rss = [], []
        for i in range(runs):
            record_to(stack, d, calls_file if i == 0 else None)
            c = cold_start([str(OUT / "lambda" / task / "bootstrap")], env, event, f"rdsf-{task}",
                           logs / f"rust-{side}-{task}.log")
            if not c.ok:
                raise SystemExit(f"bench: {task} answered an error: {c.body}")
            rust.append(c.seconds)
            rss.append(c.peak_rss_kib)
        record_to(stack, d, None)
        calls = [{k: c[k] for k in ("service", "region", "operation", "params")}
                 for c in read_calls(calls_file)]
        py, py_rss = [], []
        for _ in range(runs):
            c = cold_start([python, "-m", "awslambdaric", "baseline.handler"], env,
                           {"calls": calls}, f"rdsf-{task}-python", logs / f"python-{side}-{task}.log",
                           cwd=Path(__file__).resolve().parent)
            if not c.ok or c.body.get("calls") != len(calls):
                raise SystemExit(f"bench: the Python baseline of {task} failed: {c.body}")
            py.append(c.seconds)
            py_rss.append(c.peak_rss_kib)
        results[f"{side}/{task}"] = {
            "calls": len(calls), "operations": sorted({c["operation"] for c in calls}),
            "rust": {"seconds": stats(rust), "peakRssKiB": stats(rss)},
            "python": {"seconds": stats(py), "peakRssKiB": stats(py_rss)},
        }
        r, p = results[f"{side}/{task}"]["rust"], results[f"{side}/{task}"]["python"]
        say(f"  {side:8} {task:18} {len(calls):2} calls  rust {r['seconds']['median'] * 1000:6.1f} ms "
            f"{r['peakRssKiB']['median'] / 1024:5.1f} MiB   python {p['seconds']['median'] * 1000:6.1f} ms "
            f"{p['peakRssKiB']['median'] / 1024:5.1f} MiB")
    d.stop()
    return results


# -- 3. state transitions -----------------------------------------------------------------------

def item_states(side: str) -> set[str]:
    """The states of the machine's Maps' item processors (a copy's states), wherever the Maps sit:
    the Live machine runs two, instances and clusters, in the branches of a Parallel."""
    definition = json.loads((ROOT / "statemachines" / f"{side}.asl.json").read_text())
    outer: set[str] = set()
    child: set[str] = set()

    def walk(states: dict) -> None:
        for name, state in states.items():
            outer.add(name)
            for branch in state.get("Branches", []):
                walk(branch["States"])
            if "ItemProcessor" in state:
                child.update(state["ItemProcessor"]["States"])

    walk(definition["States"])
    if not child:
        raise SystemExit(f"bench: {side}.asl.json has no Map")
    if child & outer:
        raise SystemExit(f"bench: {side} has states both in and outside its Maps: "
                         f"{sorted(child & outer)}; counts per copy would be wrong")
    return child


def transitions(stack: LocalStack, d_min: int, ms_per_second: float) -> dict:
    """One source whose copies (Live and Failsafe) each take d_min simulated minutes."""
    d, _ = deploy(stack, 1)
    stack.faults(copySeconds=d_min * 60 * ms_per_second / 1000)
    runner = {"msPerSimulatedSecond": ms_per_second}
    out = {}
    live = d.run_live(LIVE_AT, runner=runner)
    d.deliver()
    failsafe = d.run_started(FAILSAFE_AT, runner=runner)
    for side, ex in (("live", live), ("failsafe", failsafe[0] if failsafe else None)):
        if ex is None or ex.status != "SUCCEEDED":
            raise SystemExit(f"bench: {side} run with {d_min}-minute copies did not succeed: "
                             f"{ex and ex.result.get('cause')}")
        entered = ex.result["statesEntered"]
        child = item_states(side)
        per_copy = sum(1 for s in entered if s in child)
        checks = sum(1 for c in ex.result["taskCalls"] if c["state"] in ("CheckCopy", "CheckCopyCluster"))
        out[side] = {"perCopy": per_copy, "run": len(entered), "checks": checks}
    d.stop()
    return out


def fixed_poll_transitions(d_min: int, poll: int = 60) -> int:
    """The same copy under the previous loop (CheckCopy, IsAvailable, WaitForCopy, AddWaited every
    `poll` seconds), from its definition: what adaptive polling is measured against."""
    # copy (save), its outcome, the clock; share (verify) and the record; 4 a look but the last.
    # The Live and Failsafe loops had the same shape.
    checks = math.ceil(d_min * 60 / poll) + 1
    return 5 + 4 * checks - 2


# -- 4. scale -----------------------------------------------------------------------------------

def scale(stack: LocalStack, n: int, d_min: int, ms_per_second: float) -> dict:
    d, ids = deploy(stack, n)
    stack.faults(copySeconds=d_min * 60 * ms_per_second / 1000)
    runner = {"msPerSimulatedSecond": ms_per_second}
    out: dict = {"n": n}
    for side in ("live", "failsafe"):
        calls_file = OUT / "calls" / f"scale-{n}-{side}.jsonl"
        record_to(stack, d, calls_file)
        start = time.perf_counter()
        if side == "live":
            ex = d.run_live(LIVE_AT, {"maxConcurrency": CONCURRENCY}, runner=runner)
        else:
            # One run that saves all N: the backstop's. The trigger starts one run per message
            # (500 snapshots each), which AWS runs side by side and the local runner one by one.
            ex = d.run_failsafe(FAILSAFE_AT, {"maxConcurrency": CONCURRENCY}, runner=runner)
        wall = time.perf_counter() - start
        record_to(stack, d, None)
        if ex.status != "SUCCEEDED":
            raise SystemExit(f"bench: N={n} {side} run failed: {ex.result.get('cause')}")
        calls = read_calls(calls_file)
        sim = wall * 1000 / ms_per_second
        ideal = math.ceil(n / CONCURRENCY) * d_min * 60
        ops = Counter(c["operation"] for c in calls if c["task"] != "start-failsafe")
        out[side] = {
            "wallSeconds": round(wall, 2), "simulatedSeconds": round(sim),
            "idealSeconds": ideal, "ratio": round(sim / ideal, 3),
            "apiCalls": sum(ops.values()), "apiCallsPerSource": round(sum(ops.values()) / n, 2),
            "operations": dict(sorted(ops.items())),
            "largestStateBytes": ex.result["largestPayload"]["bytes"],
            "largestState": ex.result["largestPayload"]["state"],
            "history": ex.result["history"],
        }
    saved = [s for s in d.snapshots(d.failsafe, type="manual")
             if s["status"] == "available" and s["tags"].get("rds-failsafe:managed") == "true"]
    out["saved"] = len(saved)
    if len(saved) != n:
        missing = sorted(set(ids) - {s["tags"].get("rds-failsafe:source-id") for s in saved})
        raise SystemExit(f"bench: N={n}: {len(saved)} copies saved, expected {n}; missing {missing[:10]}")
    # the original tool: one copy at a time, each polled every 10 s until done
    out["serialSeconds"] = n * math.ceil(d_min * 60 / 10) * 10
    d.stop()
    return out


# -- report -------------------------------------------------------------------------------------

def fmt_ms(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s >= 0.1 else f"{s * 1000:.1f} ms"


def fmt_dur(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min"


def report(results: dict) -> str:
    """The results section of docs/benchmarks.md (Markdown), from results.json."""
    lines = []
    pkg = results["package"]
    lines.append(f"Measured {results['date']} on {results['machine']} by `make bench` "
                 f"(`target/bench/results.json`; chart `docs/bench.svg`).")
    lines.append("")
    lines.append("| Target | Measured | Met |")
    lines.append("|---|---|---|")
    for target, measured, met in targets(results):
        lines.append(f"| {target} | {measured} | {'yes' if met else '**no**'} |")
    lines.append("")
    cs = results["coldStart"]
    rust_med = statistics.median(v["rust"]["seconds"]["median"] for v in cs.values())
    py_med = statistics.median(v["python"]["seconds"]["median"] for v in cs.values())
    rust_rss = statistics.median(v["rust"]["peakRssKiB"]["median"] for v in cs.values())
    py_rss = statistics.median(v["python"]["peakRssKiB"]["median"] for v in cs.values())
    lines.append(f"**Cold start and memory** ({next(iter(cs.values()))['rust']['seconds']['runs']} "
                 f"starts each; median, min–max): across the tasks, Rust {fmt_ms(rust_med)} against "
                 f"Python {fmt_ms(py_med)} (1/{py_med / rust_med:.0f}); peak RSS "
                 f"{rust_rss / 1024:.1f} MiB against {py_rss / 1024:.1f} MiB (1/{py_rss / rust_rss:.1f}).")
    lines.append("")
    lines.append("| Task | Calls | Rust cold start | Python cold start | Ratio | Rust peak RSS | Python peak RSS | Ratio | zip |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for key, v in cs.items():
        side, task = key.split("/")
        r, p = v["rust"], v["python"]
        zipped = pkg["sizes"][task]["zip"]
        lines.append(
            f"| {side} `{task}` | {v['calls']} | {fmt_ms(r['seconds']['median'])} "
            f"({fmt_ms(r['seconds']['min'])}–{fmt_ms(r['seconds']['max'])}) | "
            f"{fmt_ms(p['seconds']['median'])} ({fmt_ms(p['seconds']['min'])}–{fmt_ms(p['seconds']['max'])}) | "
            f"1/{p['seconds']['median'] / r['seconds']['median']:.0f} | "
            f"{r['peakRssKiB']['median'] / 1024:.1f} MiB | {p['peakRssKiB']['median'] / 1024:.1f} MiB | "
            f"1/{p['peakRssKiB']['median'] / r['peakRssKiB']['median']:.1f} | "
            f"{zipped / 1024 / 1024:.2f} MB |")
    lines.append("")
    zips = [v["zip"] for v in pkg["sizes"].values()]
    lines.append(f"**Package.** {len(zips)} `bootstrap.zip`, {min(zips) / 1024 / 1024:.2f}–"
                 f"{max(zips) / 1024 / 1024:.2f} MB each (`cargo lambda build --release --x86-64 "
                 f"--output-format zip`, {pkg['target']}); that build took {pkg['buildSeconds']:.0f} s "
                 f"on this machine (with whatever `target/` already held).")
    lines.append("")
    checks = pkg["sizes"].get("validate-drill")
    if checks:
        # the drill checks' drivers, Secrets Manager and the RDS CA bundle live in lambdas/sql,
        # which only validate-drill links (issue 26): what it adds, against the largest other zip
        name, biggest = max(((t, v["zip"]) for t, v in pkg["sizes"].items() if t != "validate-drill"),
                            key=lambda tv: tv[1])
        lines.append(f"**What the drill checks add.** `validate-drill`'s zip is {checks['zip'] / 1024 / 1024:.2f} MB, "
                     f"{(checks['zip'] - biggest) / 1024:.0f} KiB more than the largest other (`{name}`, "
                     f"{biggest / 1024 / 1024:.2f} MB): the PostgreSQL and MySQL/MariaDB drivers on rustls, "
                     f"Secrets Manager and the RDS certificate bundle (`lambdas/sql`), which no other binary links.")
        lines.append("")
    tr = results["transitions"]
    lines.append(f"**State transitions per copy** (the copy's child execution; adaptive polling, "
                 f"`pollSeconds` 60) against the previous fixed 60-second loop:")
    lines.append("")
    lines.append("| Copy takes | Live | Failsafe | Looks (Live) | Fixed 60 s loop |")
    lines.append("|---|---|---|---|---|")
    for d_min, v in tr.items():
        lines.append(f"| {d_min} min | {v['live']['perCopy']} | {v['failsafe']['perCopy']} | "
                     f"{v['live']['checks']} | {v['fixedLoop']} |")
    lines.append("")
    sc = results["scale"]
    lines.append(f"**Scale** (concurrency {CONCURRENCY}, copies of {results['scaleMinutes']} simulated "
                 f"minutes, time scale {results['msPerSecond']} ms per simulated second):")
    lines.append("")
    lines.append("| N | Live wall | Ideal ceil(N/20)·D | Ratio | Failsafe wall | Ratio | API calls (Live + Failsafe) | per source | Largest state | Saved | Original tool, serial |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for v in sc:
        lv, fs = v["live"], v["failsafe"]
        calls = lv["apiCalls"] + fs["apiCalls"]
        biggest = max(lv["largestStateBytes"], fs["largestStateBytes"])
        lines.append(f"| {v['n']} | {fmt_dur(lv['simulatedSeconds'])} | {fmt_dur(lv['idealSeconds'])} | "
                     f"{lv['ratio']:.2f} | {fmt_dur(fs['simulatedSeconds'])} | {fs['ratio']:.2f} | "
                     f"{calls} | {calls / v['n']:.1f} | {biggest:,} bytes | {v['saved']}/{v['n']} | "
                     f"{fmt_dur(v['serialSeconds'])} |")
    big, small = sc[-1], sc[0]
    lines.append("")
    lines.append(f"API calls by operation (the emulator's record of every task call; `start-failsafe`'s "
                 f"one StartExecution per message not counted), N = {small['n']} and N = {big['n']}:")
    lines.append("")
    lines.append(f"| Side | Operation | N = {small['n']} | N = {big['n']} | per source at N = {big['n']} |")
    lines.append("|---|---|---|---|---|")
    for side in ("live", "failsafe"):
        ops = sorted(set(big[side]["operations"]) | set(small[side]["operations"]))
        for op in ops:
            a, b = small[side]["operations"].get(op, 0), big[side]["operations"].get(op, 0)
            lines.append(f"| {side} | {op} | {a} | {b} | {b / big['n']:.2f} |")
    if "estate" in results:
        # between its own markers too, so that `make bench-estate` can rewrite it alone
        lines += ["", estate_bench.section(results["estate"])]
    return "\n".join(lines)


def targets(results: dict) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for each of the bench's targets."""
    cs = results["coldStart"]
    cold = statistics.median(v["python"]["seconds"]["median"] / v["rust"]["seconds"]["median"]
                             for v in cs.values())
    rss = statistics.median(v["python"]["peakRssKiB"]["median"] / v["rust"]["peakRssKiB"]["median"]
                            for v in cs.values())
    biggest_zip = max(v["zip"] for v in results["package"]["sizes"].values())
    tr = results["transitions"]
    at10 = max(tr[10]["live"]["perCopy"], tr[10]["failsafe"]["perCopy"])
    at360 = max(tr[360]["live"]["perCopy"], tr[360]["failsafe"]["perCopy"])
    worst = max(max(v["live"]["ratio"], v["failsafe"]["ratio"]) for v in results["scale"])
    state = max(max(v["live"]["largestStateBytes"], v["failsafe"]["largestStateBytes"])
                for v in results["scale"])
    return [
        ("Rust cold start at most 1/15 of Python's (median over tasks)", f"1/{cold:.1f}", cold >= 15),
        ("Peak RSS at most 1/6 of Python's (median over tasks)", f"1/{rss:.1f}", rss >= 6),
        ("Every bootstrap.zip at most 2 MB", f"largest {biggest_zip / 1024 / 1024:.2f} MB "
         f"({results['package']['target']})", biggest_zip <= ZIP_LIMIT),
        ("At most 25 transitions per copy per side at 10 minutes", str(at10), at10 <= 25),
        ("At most 40 transitions per copy per side at 6 hours", str(at360), at360 <= 40),
        ("Wall time at most 1.25 × ceil(N/20)·D", f"worst {worst:.2f}", worst <= 1.25),
        ("Largest state under 256 KiB", f"{state:,} bytes", state < 256 * 1024),
    ]


def update_readme(section: str) -> None:
    readme = ROOT / "docs" / "benchmarks.md"
    text = readme.read_text()
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    if begin not in text or end not in text:
        raise SystemExit("bench: docs/benchmarks.md has no bench markers (<!-- bench:begin --> ... end)")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{begin}\n{section}\n{end}{tail}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="cold starts per task and language")
    ap.add_argument("--ms-per-second", type=float, default=10.0,
                    help="wall-clock ms per simulated second at scale")
    ap.add_argument("--transitions-ms-per-second", type=float, default=2.0,
                    help="wall-clock ms per simulated second for the transition counts (6-hour copies)")
    ap.add_argument("--scale", default=",".join(map(str, SCALE_N)), help="N values, comma-separated")
    ap.add_argument("--estate-days", type=int, default=estate_bench.DAYS, help="simulated days of the estate")
    ap.add_argument("--estate-modes", default=",".join(estate_bench.MODES),
                    help="the estate's modes, comma-separated (" + ", ".join(estate_bench.MODES) + ")")
    ap.add_argument("--no-readme", action="store_true", help="do not rewrite docs/benchmarks.md and docs/bench.svg")
    args = ap.parse_args()
    # The simulated wait is slept inside CheckCopy (asl_runner.mjs), under its 60-second
    # TimeoutSeconds: the longest wait, a 6-hour copy's last, must fit with room for the call.
    longest = max(DURATIONS_MIN) * 60 * args.transitions_ms_per_second / 1000
    if longest > 45:
        raise SystemExit(f"bench: --transitions-ms-per-second {args.transitions_ms_per_second} makes "
                         f"a wait of up to {longest:.0f} s inside CheckCopy's 60 s timeout; use at most "
                         f"{45_000 / (max(DURATIONS_MIN) * 60):.2f}")
    modes = [m.strip() for m in args.estate_modes.split(",") if m.strip()]
    if set(modes) - set(estate_bench.MODES) or not 1 <= args.estate_days <= 400:
        raise SystemExit(f"bench: --estate-modes takes {', '.join(estate_bench.MODES)}; --estate-days 1 to 400")
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Linux {platform.release().split('-')[0]}",
        "msPerSecond": args.ms_per_second, "scaleMinutes": SCALE_D_MIN,
        "transitionsMsPerSecond": args.transitions_ms_per_second,
    }
    results["package"] = package()
    with LocalStack(OUT / "stack", quiet=True) as stack:
        results["coldStart"] = cold_starts(stack, args.runs)
        say("==> state transitions per copy (simulated copy durations)")
        results["transitions"] = {}
        for d_min in DURATIONS_MIN:
            t = transitions(stack, d_min, args.transitions_ms_per_second)
            t["fixedLoop"] = fixed_poll_transitions(d_min)
            results["transitions"][d_min] = t
            say(f"  {d_min:4} min: live {t['live']['perCopy']} transitions ({t['live']['checks']} looks), "
                f"failsafe {t['failsafe']['perCopy']} ({t['failsafe']['checks']} looks); fixed 60 s loop {t['fixedLoop']}")
        say(f"==> scale: N sources, concurrency {CONCURRENCY}, {SCALE_D_MIN}-minute copies")
        results["scale"] = []
        for n in (int(x) for x in args.scale.split(",")):
            v = scale(stack, n, SCALE_D_MIN, args.ms_per_second)
            results["scale"].append(v)
            say(f"  N={n:5}: live {v['live']['ratio']:.2f} x ideal, failsafe {v['failsafe']['ratio']:.2f} x; "
                f"{v['live']['apiCalls']} + {v['failsafe']['apiCalls']} API calls; largest state "
                f"{max(v['live']['largestStateBytes'], v['failsafe']['largestStateBytes'])} bytes; "
                f"{v['saved']} saved; serial {fmt_dur(v['serialSeconds'])}")
    # its own stacks, one mode at a time, after the one above has stopped (2 cores), on the
    # release binaries package() built
    results["estate"] = estate_bench.run_estate(args.estate_days, modes, say=say, release=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    section = report(results)
    print("\n" + section)
    if not args.no_readme:
        update_readme(section)
        (ROOT / "docs").mkdir(exist_ok=True)
        (ROOT / "docs" / "bench.svg").write_text(chart.svg(results))
        say("\ndocs/benchmarks.md and docs/bench.svg updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
