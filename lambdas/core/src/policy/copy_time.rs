//! How long a run waits for one copy. A snapshot copy's time grows with the bytes it moves, and
//! RDS publishes no copy throughput (docs/aws-facts.md, "Copy physics"): a run waits for each copy
//! at least `maxWaitSeconds`, and longer for a source whose full copy needs it at
//! `copyThroughputMiBps` (both run settings of the state machines), up to what one run can wait,
//! or as long as a wait set for its source says (`COPY_WAITS`, `SOURCE_COPY_WAITS`).
//! A copy that outlasts the bound goes on in RDS: the next Live run finds its share copy (outcome
//! `exists`) and waits for it again; a Failsafe copy counts as saved while RDS is making it, and
//! the first Failsafe run after it is done lists it again and verifies it (`find-shared`), while
//! the Live account still shares its source.

use super::polling::{remaining_seconds, Look, MAX_CHECKS};
use serde::{Deserialize, Serialize};

/// The most a run waits for one copy: the state machines' own bound on `maxWaitSeconds` (20 h;
/// `BadMaxWaitSeconds` in statemachines/*.asl.json), which leaves 3 of the execution's 23 hours
/// (`TimeoutSeconds` 82,800) for the run's other states.
pub const WAIT_CEILING_SECONDS: u64 = 72_000;

/// Headroom over a full copy's expected time, in percent: a copy's throughput varies, and a
/// bound that is too long only costs waiting for a copy that is stuck.
pub const HEADROOM_PERCENT: u64 = 50;

/// The most one run waits for a copy polled every `poll_seconds`: [`WAIT_CEILING_SECONDS`], and
/// no more than [`MAX_CHECKS`] status checks.
pub fn run_ceiling(poll_seconds: u64) -> u64 {
    WAIT_CEILING_SECONDS.min((MAX_CHECKS - 1) * poll_seconds.max(1))
}

/// `seconds` and [`HEADROOM_PERCENT`] more.
pub fn with_headroom(seconds: u64) -> u64 {
    seconds.saturating_add(seconds.saturating_mul(HEADROOM_PERCENT) / 100)
}

/// The seconds a copy moving `gib` takes at `mibps` (none or nonsense: as good as never).
pub fn copy_seconds(gib: f64, mibps: f64) -> u64 {
    let mibps = if mibps.is_finite() && mibps > 0.0 {
        mibps
    } else {
        f64::MIN_POSITIVE
    };
    (gib.max(0.0) * 1024.0 / mibps).ceil().min(u64::MAX as f64) as u64
}

/// A run's wait settings as the state machine hands them to a copy task.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WaitSettings {
    pub poll_seconds: u64,
    pub max_wait_seconds: u64,
    /// The throughput a full copy is assumed to move at (MiB/s): an assumption, 100 by default.
    #[serde(rename = "copyThroughputMiBps")]
    pub copy_throughput_mibps: f64,
    /// The source's own wait (`for_source`), which `max_wait_seconds` then includes: the notes
    /// name it as the setting to change. Never on the wire.
    #[serde(skip)]
    pub own_wait: Option<u64>,
}

impl WaitSettings {
    /// The settings a copy of a source with a wait of its own (`COPY_WAITS` in the Live account,
    /// `SOURCE_COPY_WAITS` in the Failsafe account) is waited with: `maxWaitSeconds` raised to
    /// it, within what one run can wait and the status checks one copy may take. For an Aurora
    /// cluster, whose size RDS does not report, this is the one way to size its wait.
    pub fn for_source(self, at_least: Option<u64>) -> WaitSettings {
        let Some(wanted) = at_least else { return self };
        WaitSettings {
            max_wait_seconds: self
                .max_wait_seconds
                .max(wanted.min(run_ceiling(self.poll_seconds))),
            own_wait: Some(wanted),
            ..self
        }
    }

    /// The setting that sets how long a copy is waited for, as the notes name it.
    fn wait_knob(&self) -> String {
        match self.own_wait {
            Some(own) => format!("this source's copyWaits ({own} seconds)"),
            None => "maxWaitSeconds".into(),
        }
    }

    /// What a run waits with when its input sets nothing: the `Defaults` state of
    /// statemachines/live.asl.json and failsafe.asl.json (a test holds them equal). `rdsf
    /// preflight`, which runs outside a run, judges copies by these.
    pub const STATE_MACHINE_DEFAULTS: WaitSettings = WaitSettings {
        poll_seconds: 60,
        max_wait_seconds: 21_600,
        copy_throughput_mibps: 100.0,
        own_wait: None,
    };
}

/// How long this copy is waited for, and the figures behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WaitBound {
    /// The snapshot's allocated storage (GiB), which a full copy moves at most; none for an
    /// Aurora cluster, whose snapshots report 1 whatever the volume holds.
    pub size_gib: Option<i32>,
    /// A full copy of `size_gib` at the settings' throughput.
    pub expected_seconds: Option<u64>,
    /// What the state machine waits for this copy before it times out.
    pub max_wait_seconds: u64,
    /// The figures in words, for a timeout's cause: what was expected and what to change.
    pub note: String,
}

/// The wait bound of a copy of a snapshot of `size_gib` (`None`: an Aurora cluster's, whose
/// size RDS does not report): `maxWaitSeconds`, raised to the expected time of a full copy plus
/// [`HEADROOM_PERCENT`], but never above [`WAIT_CEILING_SECONDS`] nor past the status checks one
/// copy may take ([`MAX_CHECKS`] at `pollSeconds`). A copy expected to take longer than that
/// is waited for `maxWaitSeconds` only: waiting for it holds up the run's other sources (the
/// Live run notifies the Failsafe account when all its copies are done), and it goes on in RDS
/// for a later run to take up. `tests/scenarios/big-databases.json` measured the other choice:
/// a Live run that waited 20 h for an 8,000 GiB copy delayed a 2,400 GiB source's Failsafe copy
/// into its next backup window, which cost that source a day's backup and copy. The price:
/// `AllocatedStorage` is what an instance was given, at least what a copy moves, so a copy
/// that could have ended within the ceiling may be left to a later run.
pub fn wait_bound(size_gib: Option<i32>, s: &WaitSettings) -> WaitBound {
    let Some(size_gib) = size_gib else {
        return WaitBound {
            size_gib: None,
            expected_seconds: None,
            max_wait_seconds: s.max_wait_seconds,
            note: match s.own_wait {
                None => format!(
                    "an Aurora cluster snapshot does not report its size (AllocatedStorage is 1), so \
                     the run waited maxWaitSeconds ({} seconds); its copies are full copies of the \
                     cluster volume: for a big cluster set copyWaits for it (or raise maxWaitSeconds)",
                    s.max_wait_seconds
                ),
                Some(_) => format!(
                    "an Aurora cluster snapshot does not report its size (AllocatedStorage is 1), so \
                     the run waited {} seconds, {}; its copies are full copies of the cluster \
                     volume: if they take longer, raise it",
                    s.max_wait_seconds,
                    s.wait_knob()
                ),
            },
        };
    };
    let size = size_gib.max(0) as u64;
    let expected = copy_seconds(size as f64, s.copy_throughput_mibps);
    let wanted = with_headroom(expected);
    let ceiling = run_ceiling(s.poll_seconds);
    let max_wait = if expected > ceiling {
        s.max_wait_seconds
    } else {
        s.max_wait_seconds.max(wanted.min(ceiling))
    };
    let full = format!(
        "a full copy of {size} GiB at {} MiB/s (copyThroughputMiBps) takes about {expected} seconds ({:.1} h)",
        s.copy_throughput_mibps,
        expected as f64 / 3600.0
    );
    let note = if expected > max_wait {
        format!(
            "{full}, longer than one run can wait ({ceiling} seconds), so the run waited \
             {max_wait} ({}) and did not hold up its other sources: the copy goes on \
             in RDS and a later run takes it up once it is available, so this source's newest \
             copy is more than a day old; RDS takes no automated backup of an instance while a \
             copy of it runs",
            s.wait_knob()
        )
    } else {
        format!(
            "{full}, and the run waited {max_wait} seconds: if copies of this source are slower, \
             lower copyThroughputMiBps (or raise {})",
            s.wait_knob()
        )
    };
    WaitBound {
        size_gib: Some(size_gib),
        expected_seconds: Some(expected),
        max_wait_seconds: max_wait,
        note,
    }
}

/// What the last look at a copy says of its pace, for the cause of a copy that timed out: the
/// percent RDS reported, the time it still needs at that pace (`polling::remaining_seconds`),
/// and the `maxWaitSeconds` that would have waited for it (with [`HEADROOM_PERCENT`]), or that
/// no run can wait that long. RDS publishes no copy throughput; this is the one measured here.
pub fn pace_note(now: Look, previous: Option<Look>, status: &str, poll_seconds: u64) -> String {
    let e = now.elapsed;
    match (now.percent, remaining_seconds(now, previous)) {
        (Some(p), Some(left)) => {
            let total = e.saturating_add(left);
            let wanted = with_headroom(total);
            let ceiling = run_ceiling(poll_seconds);
            let advice = if wanted > ceiling {
                format!(
                    "more than one run can wait ({ceiling} seconds at pollSeconds {poll_seconds}): it goes on in RDS and a later run takes it up"
                )
            } else {
                format!("a wait of {wanted} seconds would wait for copies like it (this source's copyWaits, or maxWaitSeconds for all)")
            };
            format!(
                "at {p} % after {e} seconds it needs about {left} more at its pace, {total} in all ({:.1} h): {advice}",
                total as f64 / 3600.0
            )
        }
        (Some(100), _) => format!("it reported 100 % after {e} seconds (status {status})"),
        (p, _) => format!(
            "it reported {} after {e} seconds (status {status}): a copy queued behind another copy of the same source shows no progress",
            p.map_or("no progress".into(), |p| format!("{p} %"))
        ),
    }
}

/// Margin for the Failsafe run a share's message triggers to start its copy.
pub const TRIGGER_MARGIN_SECONDS: u64 = 3_600;

/// How long after a share snapshot was made a Failsafe copy may still be reading it, so that
/// `delete-old-copies` keeps it that long whatever `LIVE_KEEP` says: "If you delete a source
/// snapshot before the target snapshot becomes available, the snapshot copy might fail" (RDS
/// User Guide, "Copying a DB snapshot"; the local stack makes it fail). The snapshot took up to
/// its wait bound to be made (or a full copy's time and half again, when that is longer: a copy
/// no run can wait for goes on, and a later run takes it up); the Failsafe copy of it as long
/// again, started by the run its message triggers within [`TRIGGER_MARGIN_SECONDS`].
pub fn share_in_use_seconds(size_gib: Option<i32>, s: &WaitSettings) -> u64 {
    let bound = wait_bound(size_gib, s);
    let one = bound.expected_seconds.map_or(bound.max_wait_seconds, |e| {
        bound.max_wait_seconds.max(with_headroom(e))
    });
    one.saturating_mul(2).saturating_add(TRIGGER_MARGIN_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_with_a_wait_of_its_own_is_waited_for_that_long_within_a_run() {
        let s = WaitSettings::STATE_MACHINE_DEFAULTS;
        assert_eq!(s.for_source(None), s);
        // an Aurora cluster: no size, so the wait is its own, and the note names it
        let own = wait_bound(None, &s.for_source(Some(43_200)));
        assert_eq!(own.max_wait_seconds, 43_200);
        assert!(
            own.note
                .contains("the run waited 43200 seconds, this source's copyWaits (43200 seconds)"),
            "{}",
            own.note
        );
        assert!(wait_bound(None, &s).note.contains("set copyWaits for it"));
        // never less than maxWaitSeconds, never more than a run or the checks allow
        assert_eq!(s.for_source(Some(60)).max_wait_seconds, 21_600);
        assert_eq!(s.for_source(Some(90_000)).max_wait_seconds, 72_000);
        let quick = WaitSettings {
            poll_seconds: 10,
            ..s
        };
        assert_eq!(quick.for_source(Some(43_200)).max_wait_seconds, 21_600);
        // an instance whose full copy outlasts any run: its own wait, not maxWaitSeconds alone
        assert_eq!(
            wait_bound(Some(8_000), &s.for_source(Some(72_000))).max_wait_seconds,
            72_000
        );
    }

    #[test]
    fn the_state_machine_defaults_are_the_asl_files() {
        for asl in [
            include_str!("../../../../statemachines/live.asl.json"),
            include_str!("../../../../statemachines/failsafe.asl.json"),
        ] {
            let d: serde_json::Value = serde_json::from_str(asl).unwrap();
            let r = &d["States"]["Defaults"]["Result"];
            let s = WaitSettings::STATE_MACHINE_DEFAULTS;
            assert_eq!(r["pollSeconds"], s.poll_seconds);
            assert_eq!(r["maxWaitSeconds"], s.max_wait_seconds);
            assert_eq!(
                r["copyThroughputMiBps"].as_f64(),
                Some(s.copy_throughput_mibps)
            );
            // and the most a run may wait is the bound the machine checks maxWaitSeconds against
            let bounds: Vec<&serde_json::Value> = d["States"]["CheckOverrides"]["Choices"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|c| c["Or"].as_array().into_iter().flatten())
                .filter(|c| c["Variable"] == "$.config.maxWaitSeconds")
                .filter_map(|c| c.get("NumericGreaterThan"))
                .collect();
            assert_eq!(bounds, [&serde_json::json!(WAIT_CEILING_SECONDS)]);
        }
    }

    #[test]
    fn a_timed_out_copy_says_how_long_it_needs_at_its_pace() {
        let look = |elapsed, percent| Look { elapsed, percent };
        // 60 % at 6 h, 50 % an hour before: 10 % an hour, 4 h more, 10 h in all
        let n = pace_note(
            look(21_600, Some(60)),
            Some(look(18_000, Some(50))),
            "creating",
            60,
        );
        assert!(
            n.contains("at 60 % after 21600 seconds it needs about 14400 more at its pace, 36000 in all (10.0 h)"),
            "{n}"
        );
        assert!(n.contains("a wait of 54000 seconds would wait"), "{n}");
        // at 10-second polls a run checks a copy for 19,990 seconds at most
        let n = pace_note(
            look(21_600, Some(60)),
            Some(look(18_000, Some(50))),
            "creating",
            10,
        );
        assert!(
            n.contains("more than one run can wait (19990 seconds at pollSeconds 10)"),
            "{n}"
        );
        // 20 % at 6 h, measured from the first look: 30 h in all, more than a run can wait
        let n = pace_note(look(21_600, Some(20)), None, "creating", 60);
        assert!(n.contains("108000 in all (30.0 h)"), "{n}");
        assert!(
            n.contains("more than one run can wait (72000 seconds at pollSeconds 60)"),
            "{n}"
        );
        // queued: no figure
        let n = pace_note(
            look(21_600, Some(0)),
            Some(look(18_000, Some(0))),
            "pending",
            60,
        );
        assert!(
            n.contains("reported 0 % after 21600 seconds (status pending): a copy queued"),
            "{n}"
        );
        let n = pace_note(look(60, None), None, "creating", 60);
        assert!(n.contains("reported no progress after 60 seconds"), "{n}");
    }

    #[test]
    fn a_share_is_in_use_for_two_copies_and_the_trigger() {
        let s = WaitSettings {
            poll_seconds: 60,
            max_wait_seconds: 21_600,
            copy_throughput_mibps: 100.0,
            own_wait: None,
        };
        // small: twice maxWaitSeconds and an hour
        assert_eq!(share_in_use_seconds(Some(100), &s), 2 * 21_600 + 3_600);
        assert_eq!(share_in_use_seconds(None, &s), 2 * 21_600 + 3_600);
        // 8,000 GiB: 81,920 s a full copy, half again, twice: longer than any wait
        assert_eq!(share_in_use_seconds(Some(8_000), &s), 2 * 122_880 + 3_600);
    }

    fn settings(max_wait: u64, throughput: f64) -> WaitSettings {
        WaitSettings {
            poll_seconds: 60,
            max_wait_seconds: max_wait,
            copy_throughput_mibps: throughput,
            own_wait: None,
        }
    }

    #[test]
    fn a_small_source_is_waited_for_max_wait_seconds() {
        let b = wait_bound(Some(20), &settings(21_600, 100.0));
        assert_eq!(b.expected_seconds, Some(205)); // 20 GiB = 20,480 MiB at 100 MiB/s
        assert_eq!(b.max_wait_seconds, 21_600);
        assert!(b.note.contains("lower copyThroughputMiBps"), "{}", b.note);
    }

    #[test]
    fn a_big_source_is_waited_for_its_full_copy_and_half_as_long_again() {
        // 2,000 GiB at 100 MiB/s: 20,480 s (5.7 h), over the default 6 h with its headroom
        let b = wait_bound(Some(2_000), &settings(21_600, 100.0));
        assert_eq!(b.expected_seconds, Some(20_480));
        assert_eq!(b.max_wait_seconds, 30_720);
    }

    #[test]
    fn no_run_waits_past_the_ceiling_and_the_note_says_what_follows() {
        // 8,000 GiB at 100 MiB/s: 81,920 s (22.8 h), more than a run can wait
        let b = wait_bound(Some(8_000), &settings(21_600, 100.0));
        assert_eq!(b.expected_seconds, Some(81_920));
        assert_eq!(b.max_wait_seconds, 21_600);
        assert!(
            b.note.starts_with("a full copy of 8000 GiB at 100 MiB/s (copyThroughputMiBps) takes about 81920 seconds (22.8 h), longer than one run can wait (72000 seconds), so the run waited 21600 (maxWaitSeconds)"),
            "{}",
            b.note
        );
        // one that fits under the ceiling, but not with all its headroom, gets the ceiling
        let b = wait_bound(Some(6_000), &settings(21_600, 100.0));
        assert_eq!(b.expected_seconds, Some(61_440));
        assert_eq!(b.max_wait_seconds, WAIT_CEILING_SECONDS);
    }

    #[test]
    fn the_bound_keeps_to_the_status_checks_a_copy_may_take() {
        // at pollSeconds 10, 1,999 waits of 10 s: 19,990 s (1,600 GiB expects 16,384 s)
        let s = WaitSettings {
            poll_seconds: 10,
            ..settings(600, 100.0)
        };
        assert_eq!(wait_bound(Some(1_600), &s).max_wait_seconds, 19_990);
        // a configured maxWaitSeconds is never lowered (the state machine checked it already)
        assert_eq!(
            wait_bound(Some(1), &settings(72_000, 100.0)).max_wait_seconds,
            72_000
        );
    }

    #[test]
    fn a_throughput_of_nothing_waits_max_wait_seconds() {
        let b = wait_bound(Some(20), &settings(600, 0.0));
        assert_eq!(b.max_wait_seconds, 600);
        assert_eq!(
            wait_bound(Some(0), &settings(600, 100.0)).max_wait_seconds,
            600
        );
    }

    #[test]
    fn an_aurora_copy_is_waited_for_max_wait_seconds_and_the_note_says_why() {
        let b = wait_bound(None, &settings(21_600, 100.0));
        assert_eq!((b.size_gib, b.expected_seconds), (None, None));
        assert_eq!(b.max_wait_seconds, 21_600);
        assert!(
            b.note.contains("AllocatedStorage is 1") && b.note.contains("raise maxWaitSeconds"),
            "{}",
            b.note
        );
    }

    #[test]
    fn the_ceiling_is_the_state_machines_bound_on_max_wait_seconds() {
        for (name, text) in [
            (
                "live",
                include_str!("../../../../statemachines/live.asl.json"),
            ),
            (
                "failsafe",
                include_str!("../../../../statemachines/failsafe.asl.json"),
            ),
        ] {
            let asl: serde_json::Value = serde_json::from_str(text).unwrap();
            let timeout = asl["TimeoutSeconds"].as_u64().unwrap();
            assert!(
                WAIT_CEILING_SECONDS + 3 * 3600 <= timeout,
                "{name}: {timeout}"
            );
            let cause = asl["States"]["BadMaxWaitSeconds"]["Cause"]
                .as_str()
                .unwrap();
            assert!(
                cause.contains(&format!("from 1 to {WAIT_CEILING_SECONDS}")),
                "{name}: {cause}"
            );
        }
    }
}
