"""The estate bench's own arithmetic (tools/bench/estate.py), without the stack: the scenario it
generates, the per-day sums, the worst RPO, the prices and the designs computed beside the runs."""

import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "bench"))

import estate  # noqa: E402
from estate import GIB, scenario  # noqa: E402

START = date(2026, 11, 1)
H = 3600


def at(day: int, hour: float) -> datetime:
    """Day 1 is START; hour may pass 24."""
    return datetime(2026, 11, 1, tzinfo=timezone.utc) + timedelta(days=day - 1, hours=hour)


def copy(side: str, source: str, day: int, hour: float, seconds: float, nbytes: float,
         mode: str = "full", failed: str | None = None, taken: datetime | None = None) -> dict:
    """One line of the copy log (physics.Facts.log_view), requested and started at once."""
    start = at(day, hour)
    stamp = (taken or at(day, 3)).strftime("%Y%m%d%H%M")
    name = f"rdsf-111111111111-{source}-{stamp}" if side == "failsafe" else f"rdsf-{source}-{stamp}"
    return {"account": side, "region": "us-east-1", "id": name, "kind": "instance", "source": source,
            "mode": mode, "bytes": nbytes, "seconds": seconds, "queuedSeconds": 0,
            "requested": start.isoformat(), "start": start.isoformat(),
            "end": (start + timedelta(seconds=seconds)).isoformat(), "failed": failed}


def test_the_estate_scenario_is_one_the_runner_accepts():
    s = scenario.validate(estate.estate_scenario(60, {"incrementalSources": ["all"]}))
    assert s["days"] == 60 and s["start"] == START
    assert s["context"] == {"incrementalSources": ["all"]}
    assert s["physics"] == {"throughputMiBps": 100.0}
    assert s["keys"] == [{"alias": "db", "grantFailsafe": True}]
    assert "expect" not in s
    instances = [x["sizeGiB"] for x in s["sources"] if x["kind"] == "instance"]
    clusters = [x["sizeGiB"] for x in s["sources"] if x["kind"] == "cluster"]
    assert instances == [50, 100, 200, 300, 500, 750, 1000, 1500, 2500, 4000]
    assert clusters == [200, 1000, 3000]
    assert {x["encryption"] for x in s["sources"]} == {"key:db"}
    assert {x["changePerDay"] for x in s["sources"]} == {0.02}
    assert len({x["id"] for x in s["sources"]}) == 13
    # each mode gets its own context: the share-copy scenario has none
    assert scenario.validate(estate.estate_scenario(3))["context"] == {}


def test_copy_seconds_and_bytes_are_summed_per_side_and_day():
    log = [
        copy("live", "a", 1, 5, 2 * H, 100 * GIB),
        copy("failsafe", "a", 1, 7, 3 * H, 100 * GIB),
        copy("failsafe", "b", 1, 23.5, 1 * H, 50 * GIB),  # requested day 1, ends day 2: day 1's
        copy("live", "a", 2, 5, 0.5 * H, 2 * GIB, mode="incremental"),
        copy("failsafe", "a", 2, 6, 3 * H, 100 * GIB, failed="its source was deleted"),
        copy("failsafe", "a", 4, 1, 4 * H, 100 * GIB),  # after the 3 days: the last day's
    ]
    assert estate.per_day(log, "failsafe", "seconds", START, 3) == [4 * H, 0, 4 * H]
    assert estate.per_day(log, "live", "bytes", START, 3) == [100 * GIB, 2 * GIB, 0]
    fs = estate.side_figures(log, "failsafe", START, 3)
    assert fs["copyHoursPerDay"] == {"mean": pytest.approx(8 / 3), "max": 4}
    assert fs["longestCopy"] == {"hours": 4, "source": "a"}
    assert fs["movedGiBPerDay"] == pytest.approx(250 / 3)
    assert fs["copies"] == {"full": 3, "incremental": 0, "failed": 1}
    live = estate.side_figures(log, "live", START, 3)
    assert live["copies"] == {"full": 1, "incremental": 1, "failed": 0}
    assert live["copyHoursPerDay"]["mean"] == pytest.approx(2.5 / 3)


def test_a_copy_s_data_time_is_the_stamp_its_name_ends_with():
    assert estate.data_time("rdsf-111111111111-db-0050-202611020300") == at(2, 3)
    assert estate.data_time("rdsf-db-2024-202611020515") == at(2, 5.25)
    with pytest.raises(ValueError, match="no yyyymmddhhmm stamp"):
        estate.data_time("rdsf-111111111111-db-0050")


def test_the_worst_rpo_is_checked_before_each_completion_and_at_the_end():
    end = at(4, 0)
    log = [
        copy("failsafe", "a", 1, 10, 1 * H, GIB),  # day 1's data, saved day 1 11:00
        copy("failsafe", "a", 2, 10, 10 * H, GIB),  # day 2's, saved day 2 20:00: 41 h after day 1's data
        copy("failsafe", "a", 3, 10, 1 * H, GIB, failed="deleted"),  # never counts
        copy("live", "a", 3, 5, 1 * H, GIB),  # Live copies do not either
        copy("failsafe", "b", 1, 10, 1 * H, GIB),
        copy("failsafe", "b", 2, 5, 0.5 * H, GIB),
        copy("failsafe", "b", 3, 5, 0.5 * H, GIB),  # b: at most 26.5 h before a completion, 45 at the end
        copy("failsafe", "c", 3, 20, 5 * H, GIB),  # c: its only copy ends after the period
    ]
    rpo = estate.worst_rpo(log, ["a", "b", "c", "d"], end)
    # a: at the end its newest saved data is day 2's 03:00, 45 h before; b's is day 3's (21 h)
    assert rpo["hours"] == pytest.approx(45)
    assert rpo["source"] == "a" and rpo["at"] == end.isoformat()
    assert rpo["neverSaved"] == ["c", "d"]
    # with day 3's copy of a saved at day 3 06:00, a's worst is the 41 h before day 2's was done
    log[2]["failed"] = None
    log[2]["end"] = at(3, 6).isoformat()
    rpo = estate.worst_rpo(log, ["a", "b"], end)
    assert rpo["hours"] == pytest.approx(41) and rpo["source"] == "a"
    assert rpo["at"] == at(2, 20).isoformat()
    # the check just before a completion does not count that copy (27 h: day 2 06:00 - day 1 03:00)
    one = [copy("failsafe", "x", 1, 4, 1 * H, GIB), copy("failsafe", "x", 2, 5, 1 * H, GIB)]
    assert estate.worst_rpo(one, ["x"], at(2, 6))["hours"] == pytest.approx(27)


def test_runs_that_failed_are_counted_with_the_first_words_of_their_causes():
    executions = [
        {"side": "live", "status": "SUCCEEDED", "cause": None},
        {"side": "live", "status": "FAILED", "error": "States.TaskFailed",
         "cause": "1 failed: cluster:aurora-3000: CopyTimeout: share copy rdsf-aurora-3000-202611010300 "
                  "was not available after 21600 seconds: an Aurora cluster snapshot"},
        {"side": "live", "status": "FAILED", "error": "States.TaskFailed",
         "cause": "1 failed: cluster:aurora-3000: CopyTimeout: share copy rdsf-aurora-3000-202611020300 "
                  "was not available after 21600 seconds: an Aurora cluster snapshot"},
        {"side": "live", "status": "TIMED_OUT", "error": None, "cause": None},
        {"side": "failsafe", "status": "FAILED", "error": "X",
         "cause": "2 failed: arn:aws:rds:us-east-1:222222222222:snapshot:rdsf-111111111111-db-0050-"
                  "202611230300: SnapshotQuotaExceeded: left out"},
    ]
    live = estate.run_failures(executions, "live")
    assert live["runs"] == 4 and live["failed"] == 3
    assert live["causes"] == {
        "N failed: cluster:aurora-3000: CopyTimeout: share copy {snapshot} was not available": 2,
        "TIMED_OUT": 1,
    }
    assert estate.run_failures(executions, "failsafe")["causes"] == {
        "N failed: {arn}: SnapshotQuotaExceeded: left out": 1}


def test_storage_is_priced_per_kind():
    # 1,000 GiB of instance copies at 0.095 and 1,000 GiB of Aurora copies at 0.021 a month
    assert estate.monthly_usd(1000 * GIB, 1000 * GIB) == pytest.approx(95 + 21)
    s = estate.stored(2000 * GIB, 500 * GIB, 7)
    assert s["totalBytes"] == 2500 * GIB and s["copiesKept"] == 7
    assert s["usdPerMonth"] == pytest.approx(2000 * 0.095 + 500 * 0.021)


def test_gfs_keeps_the_newest_copy_of_each_recent_day_week_and_month():
    kept = estate.gfs_kept(estate.daily_taken(START, 60), estate.period_end(START, 60))
    # now is 2026-12-31 00:00, a Thursday: days Dec 25-31 (no copy on the 31st), weeks from
    # Mondays Dec 28, 21, 14 and 7 (newest Dec 30, 27, 20, 13), months Dec and Nov (Dec 30, Nov 30)
    assert [t.strftime("%m-%d") for t in kept] == [
        "11-30", "12-13", "12-20", "12-25", "12-26", "12-27", "12-28", "12-29", "12-30"]


def test_an_incremental_chain_stores_the_oldest_whole_and_the_changes_after_it():
    kept = [at(1, 3), at(2, 3), at(4, 3)]
    size = 100 * GIB
    # 2 % a day: a day changes 2 GiB, two days 1 - 0.98^2 of it
    expected = size + 0.02 * size + (1 - 0.98**2) * size
    assert estate.chain_bytes(size, 0.02, kept) == pytest.approx(expected, abs=2)
    assert estate.chain_bytes(size, 0.02, []) == 0


def test_aws_backup_copies_an_instance_incrementally_after_the_first_and_aurora_in_full():
    sources = [estate.Source("db", "instance", 1000), estate.Source("au", "cluster", 3000)]
    log = estate.aws_backup_copies(sources, START, 3, 100)
    db = [c for c in log if c["source"] == "db"]
    au = [c for c in log if c["source"] == "au"]
    assert [c["mode"] for c in db] == ["full", "incremental", "incremental"]
    assert [c["mode"] for c in au] == ["full", "full", "full"]
    assert db[0]["seconds"] == pytest.approx(1000 * 1024 / 100)
    assert db[1]["bytes"] == pytest.approx(20 * GIB, abs=1)
    assert au[1]["seconds"] == pytest.approx(3000 * 1024 / 100)
    # the 3,000 GiB copy takes 8.5 h from 03:00; the next one is saved 24 + 8.5 h after the data
    assert estate.worst_rpo(log, ["db", "au"], estate.period_end(START, 3))["hours"] == pytest.approx(
        24 + 3000 * 1024 / 100 / H)


def test_the_computed_columns_over_the_estate():
    backup = estate.aws_backup(START, 60)
    # day 1: every source in full (15,100 GiB); after: 3 Aurora clusters in full, 10 instances incremental
    assert backup["failsafe"]["copies"] == {"full": 13 + 3 * 59, "incremental": 10 * 59, "failed": 0}
    assert backup["failsafe"]["copyHoursPerDay"]["max"] == pytest.approx(15100 * 1024 / 100 / H)
    assert backup["live"]["copyHoursPerDay"]["max"] == 0
    assert backup["stored"]["clusterBytes"] == 9 * 4200 * GIB  # nine kept, each full
    original = estate.original_tool(START, 60)
    # at 100 MiB/s 15 minutes copy 87.9 GiB: only the 50 GiB instance fits, and is saved
    assert original["fitsIn15Minutes"] == ["db-0050"]
    assert original["saved"] == ["db-0050"]
    assert len(original["rpo"]["neverSaved"]) == 12
    assert original["stored"]["instanceBytes"] == 9 * 50 * GIB  # full copies of copies, nine kept
    # a Failsafe day is every source in full, one after another, each rounded up to 10 s
    serial = sum(estate.polled(g * 1024 / 100) for g in [*estate.INSTANCES_GIB, *estate.CLUSTERS_GIB])
    assert original["failsafe"]["copyHoursPerDay"]["mean"] == pytest.approx(serial / H)
    # day + 2 h to the Live run + 1 GiB Live copy (10.24 s: 20 s) + 50 GiB Failsafe copy (512 s: 520 s)
    assert original["rpo"]["hours"] == pytest.approx(26 + (20 + 520) / H)


def test_one_invocation_stops_at_the_first_copy_that_does_not_fit():
    assert estate.serial_fit([("a", 500), ("b", 400), ("c", 1)]) == ["a", "b"]
    assert estate.serial_fit([("a", 500), ("b", 401), ("c", 1)]) == ["a"]
    assert estate.polled(10.24) == 20 and estate.polled(520) == 520


def test_a_mode_that_cannot_run_is_reported_failed_and_the_table_says_why(monkeypatch, tmp_path):
    def refuse(s, workdir, quiet=False, release=False):
        assert s["context"] == {"incrementalSources": ["all"]}
        raise scenario.ConfigRejected("context.incrementalSources: unknown field")

    monkeypatch.setattr(estate, "OUT", tmp_path)
    monkeypatch.setattr(scenario, "run", refuse)
    out = estate.run_mode("incremental", 2)
    assert out["status"] == "failed"
    assert out["error"] == "ConfigRejected: context.incrementalSources: unknown field"
    results = {"columns": {"incremental": out, "aws-backup": estate.aws_backup(START, 2)}}
    rows = {line.split(" | ")[0].lstrip("| "): line for line in estate.table(results).splitlines()}
    assert "**failed**: ConfigRejected: context.incrementalSources: unknown field" in rows["Status"]
    assert rows["Worst RPO (source)"].split(" | ")[1] == "—"


def test_only_the_estate_section_of_the_doc_is_rewritten(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"head\n{estate.BEGIN}\nold\n{estate.END}\ntail\n")
    assert estate.update_readme(f"{estate.BEGIN}\nnew\n{estate.END}", doc)
    assert doc.read_text() == f"head\n{estate.BEGIN}\nnew\n{estate.END}\ntail\n"
    plain = tmp_path / "plain.md"
    plain.write_text("no markers\n")
    assert not estate.update_readme("x", plain) and plain.read_text() == "no markers\n"


def test_a_run_s_report_becomes_the_mode_s_figures():
    report = {
        "copies": [copy("live", "a", 1, 5, H, 10 * GIB), copy("failsafe", "a", 1, 6, 2 * H, 10 * GIB)],
        "storageByKind": {"live": {"instance": 1, "cluster": 0},
                          "failsafe": {"instance": 100 * GIB, "cluster": 300 * GIB}},
        "snapshots": {"failsafe": [{"id": "x"}, {"id": "y"}]},
        "executions": [{"side": "live", "status": "SUCCEEDED"}, {"side": "failsafe", "status": "SUCCEEDED"}],
        "automatedBackupsSkipped": ["one"],
    }
    f = estate.mode_figures(report, ["a"], START, 2)
    assert f["stored"]["usdPerMonth"] == pytest.approx(100 * 0.095 + 300 * 0.021)
    assert f["stored"]["copiesKept"] == 2
    assert f["failsafe"]["copyHoursPerDay"] == {"mean": 1, "max": 2}
    assert f["rpo"]["hours"] == pytest.approx(45)  # day 1's 03:00 data at the end of day 2
    assert f["runs"]["failsafe"] == {"runs": 1, "failed": 0, "causes": {}}
    assert f["automatedBackupsSkipped"] == 1
    del report["storageByKind"]
    with pytest.raises(KeyError):  # no split, no price: not a wrong one
        estate.mode_figures(report, ["a"], START, 2)
