//! How often and how long one copy is polled. Every status check writes its history events into
//! the copy's own child execution (CheckCopy, a Task: 5; IsAvailable, a Choice: 2; WaitForCopy: 2)
//! and costs three state transitions, and Step Functions fails any execution at 25,000 events.
//!
//! [`next_wait_seconds`] spaces the checks out: from the copy's `PercentProgress` and the time
//! waited so far it estimates when the copy will be done, and without a usable progress it doubles
//! the wait. Every wait is at least `pollSeconds`, so [`check_polling`]'s worst case (a check every
//! `pollSeconds` up to `maxWaitSeconds`) still bounds the history. `pollSeconds` and
//! `maxWaitSeconds` are checked together before anything is copied, so a run whose copies could
//! be polled past the quota fails at once with the fix instead of hours later, one child at a time.

use crate::error::{FailsafeError, Result};
use serde::Deserialize;

/// History events one status check writes (see the module comment).
pub const EVENTS_PER_CHECK: u64 = 9;
/// At most this many status checks of one copy: 18,000 events, which leaves room under 25,000 for
/// the child's other states and for about 2,000 retries of throttled or transient calls (3 each).
pub const MAX_CHECKS: u64 = 2_000;

/// How many times a copy is checked before it times out: at 0, `poll`, 2·`poll`, … up to and
/// including `max_wait`.
pub fn checks(poll_seconds: u64, max_wait_seconds: u64) -> u64 {
    max_wait_seconds.div_ceil(poll_seconds.max(1)) + 1
}

/// `InvalidInput` naming both settings and the fix when a copy could be checked more than
/// [`MAX_CHECKS`] times.
pub fn check_polling(poll_seconds: u64, max_wait_seconds: u64) -> Result<()> {
    let n = checks(poll_seconds, max_wait_seconds);
    if n <= MAX_CHECKS {
        return Ok(());
    }
    let max_wait = (MAX_CHECKS - 1) * poll_seconds;
    let min_poll = max_wait_seconds.div_ceil(MAX_CHECKS - 1);
    Err(FailsafeError::input(format!(
        "pollSeconds {poll_seconds} with maxWaitSeconds {max_wait_seconds} checks one copy up to \
         {n} times; each check adds {EVENTS_PER_CHECK} events to the copy's child execution, which \
         Step Functions fails at 25,000, so at most {MAX_CHECKS} checks are allowed. Raise \
         pollSeconds to at least {min_poll} or lower maxWaitSeconds to at most {max_wait}"
    )))
}

/// One look at a copy: the seconds waited since the first look, and RDS's `PercentProgress`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Look {
    pub elapsed: u64,
    pub percent: Option<i32>,
}

/// The seconds a copy still needs at its pace: the progress between the last two looks when
/// both showed some, else since the first look (a floor of the pace of a copy that started
/// late). None without a figure between 1 and 99 %, or when it did not move.
pub fn remaining_seconds(now: Look, previous: Option<Look>) -> Option<u64> {
    let e = now.elapsed;
    match (now.percent, previous) {
        (
            Some(p @ 1..=99),
            Some(Look {
                elapsed: e0,
                percent: Some(p0),
            }),
        ) if p0 > 0 => {
            (p > p0 && e > e0).then(|| ((e - e0) * (100 - p as u64)).div_ceil((p - p0) as u64))
        }
        (Some(p @ 1..=99), _) if e > 0 => Some((e * (100 - p as u64)).div_ceil(p as u64)),
        _ => None,
    }
}

/// How many seconds to wait before the next look at a copy that is not available yet, seen as
/// `now` after `previous` (none at the first look).
///
/// - The rate is the progress between the last two looks. RDS queues some copies (cross-region
///   ones, several of one source) and shows no progress while they wait, so the progress since
///   the first look would make a copy that started late look slow.
/// - When the copy showed 0 % at the previous look, it started somewhere in between: the rate
///   since the first look is a floor, and the wait is at most the last interval, so the next
///   look measures the real rate.
/// - The estimate of what remains gets a tenth more, so the next look finds the copy done
///   rather than at 99 %, which would cost another look.
/// - Without a usable figure (0 %, none, no progress since the last look) the wait doubles:
///   `poll`, then the time waited so far.
/// - Never more than 4 times the time waited so far: a figure can be coarse or jump, and one
///   early estimate must not decide hours.
/// - At least `poll` (so [`check_polling`] bounds the looks), except that the last wait ends
///   exactly at `max_wait`, so a copy that is late times out on time.
pub fn next_wait_seconds(now: Look, previous: Option<Look>, poll: u64, max_wait: u64) -> u64 {
    let poll = poll.max(1);
    let e = now.elapsed;
    let remaining = remaining_seconds(now, previous).map(|r| match previous {
        // started since the previous look (0 % or no figure then): at most that interval
        Some(Look {
            elapsed: e0,
            percent,
        }) if !matches!(percent, Some(p0) if p0 > 0) && e > e0 => r.min(e - e0),
        _ => r,
    });
    let wait = match remaining {
        Some(r) => r + r.div_ceil(10),
        None => e,
    };
    let capped = wait.min(e.saturating_mul(4)).max(poll);
    let left = max_wait.saturating_sub(e);
    if left == 0 {
        poll // the state machine times the copy out before it waits again
    } else {
        capped.min(left)
    }
}

/// A run's polling settings as the state machine passes them (its checked `config`): absent
/// when a task is invoked without them, which checks nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Polling {
    #[serde(default)]
    pub poll_seconds: Option<u64>,
    #[serde(default)]
    pub max_wait_seconds: Option<u64>,
}

impl Polling {
    pub fn check(&self) -> Result<()> {
        match (self.poll_seconds, self.max_wait_seconds) {
            (Some(poll), Some(max_wait)) => check_polling(poll, max_wait),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_and_a_day_at_one_minute_fit() {
        assert_eq!(checks(60, 21_600), 361);
        assert!(check_polling(60, 21_600).is_ok());
        assert!(check_polling(60, 86_400).is_ok()); // 1,441 checks
        assert!(check_polling(1, 1_999).is_ok()); // exactly MAX_CHECKS
    }

    /// The looks a copy gets that waits `queued` seconds before it starts, then takes
    /// `duration` seconds, its progress linear as the emulator models it (whole percents, rounded
    /// down), until it is seen available or `max_wait` is reached.
    fn looks(queued: u64, duration: u64, poll: u64, max_wait: u64, progress: bool) -> Vec<u64> {
        let done = queued + duration;
        let mut at = vec![0];
        let mut previous = None;
        let mut elapsed = 0;
        while elapsed < done && elapsed < max_wait {
            let percent =
                progress.then(|| (100 * elapsed.saturating_sub(queued) / duration) as i32);
            let now = Look { elapsed, percent };
            elapsed += next_wait_seconds(now, previous, poll, max_wait);
            previous = Some(now);
            at.push(elapsed);
        }
        at
    }

    #[test]
    fn a_steady_copy_is_found_done_in_few_looks() {
        // 10 minutes: 10 % at 60 s (started since the first look, so at most 60 s more), then
        // the rate between the last two looks
        assert_eq!(looks(0, 600, 60, 21_600, true), vec![0, 60, 126, 630]);
        assert_eq!(looks(0, 300, 60, 21_600, true), vec![0, 60, 126, 318]);
        // six hours: 0 % for the first two minutes, the last look at max_wait
        let six_hours = looks(0, 21_600, 60, 21_600, true);
        assert_eq!(six_hours.len(), 9, "{six_hours:?}");
        assert_eq!(six_hours.last(), Some(&21_600));
    }

    #[test]
    fn a_copy_queued_before_it_starts_is_not_seen_hours_late() {
        // RDS queues some copies with no progress shown. 30 minutes queued, then 10 minutes:
        // done at 2,400 s. The progress since the first look would say 20 % in 1,920 s and wait
        // over two hours; the last interval bounds the wait instead.
        let at = looks(1_800, 600, 60, 21_600, true);
        let seen = *at.last().unwrap();
        assert!((2_400..=3_000).contains(&seen), "{at:?}");
        // an hour queued, then 30 minutes: done at 5,400 s
        let at = looks(3_600, 1_800, 60, 21_600, true);
        let seen = *at.last().unwrap();
        assert!((5_400..=7_000).contains(&seen), "{at:?}");
    }

    #[test]
    fn without_progress_the_wait_doubles() {
        assert_eq!(
            looks(0, 600, 60, 21_600, false),
            vec![0, 60, 120, 240, 480, 960]
        );
        let six_hours = looks(0, 21_600, 60, 21_600, false);
        assert_eq!(six_hours.len(), 11, "{six_hours:?}");
        assert_eq!(six_hours.last(), Some(&21_600));
    }

    #[test]
    fn waits_stay_between_poll_and_max_wait() {
        let look = |elapsed, percent| Look { elapsed, percent };
        // an estimate below pollSeconds waits pollSeconds
        assert_eq!(
            next_wait_seconds(look(600, Some(99)), Some(look(300, Some(50))), 60, 21_600),
            60
        );
        // an early figure does not decide hours: at most 4 times the time waited
        assert_eq!(next_wait_seconds(look(60, Some(1)), None, 60, 21_600), 240);
        // the last look is at max_wait exactly, even if that wait is shorter than pollSeconds
        assert_eq!(
            next_wait_seconds(look(21_000, Some(10)), None, 60, 21_600),
            600
        );
        assert_eq!(next_wait_seconds(look(60, None), None, 60, 100), 40);
        // a figure of 0 or 100 %, none, or no progress since the last look, is no estimate
        assert_eq!(next_wait_seconds(look(300, Some(0)), None, 60, 21_600), 300);
        assert_eq!(
            next_wait_seconds(look(300, Some(100)), None, 60, 21_600),
            300
        );
        assert_eq!(next_wait_seconds(look(300, None), None, 60, 21_600), 300);
        assert_eq!(
            next_wait_seconds(look(300, Some(40)), Some(look(150, Some(40))), 60, 21_600),
            300
        );
        // the rate between the last two looks: 20 % in 100 s, 40 % left: 200 s and a tenth
        assert_eq!(
            next_wait_seconds(look(300, Some(60)), Some(look(200, Some(40))), 60, 21_600),
            220
        );
        // waited out: the state machine times out before it waits again
        assert_eq!(next_wait_seconds(look(21_600, None), None, 60, 21_600), 60);
        // no zero waits, whatever the settings
        assert_eq!(next_wait_seconds(look(0, None), None, 0, 10), 1);
    }

    #[test]
    fn too_many_checks_name_both_settings_and_the_fix() {
        let e = check_polling(1, 3_600).unwrap_err();
        assert_eq!(e.kind, crate::error::ErrorKind::InvalidInput);
        assert!(
            e.message.contains("pollSeconds 1 with maxWaitSeconds 3600"),
            "{}",
            e.message
        );
        assert!(e.message.contains("up to 3601 times"), "{}", e.message);
        // both fixes really fit
        assert!(e.message.contains("at least 2 ") && checks(2, 3_600) <= MAX_CHECKS);
        assert!(e.message.ends_with("at most 1999") && checks(1, 1_999) <= MAX_CHECKS);
    }
}
