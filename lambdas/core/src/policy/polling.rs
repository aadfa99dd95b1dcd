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

/// How many seconds to wait before the next look at a copy that is not available yet, having
/// waited `elapsed` seconds since the first look, which saw `percent` (RDS's `PercentProgress`).
///
/// - With a progress between 1 and 99 and some time waited, the copy is assumed to go on at the
///   rate seen so far: the estimate of what remains, plus a tenth so that the next look finds it
///   done rather than at 99 %, which would cost another check.
/// - Without one (0 %, no figure, or the first look) the wait doubles: `poll`, then the time
///   waited so far.
/// - Never more than 4 times the time waited so far: a progress figure can be coarse or jump
///   (a cross-region copy may sit at 0 % for long), so one early estimate does not decide hours.
/// - Never less than `poll`, so [`check_polling`] bounds the checks; never past `max_wait`, so
///   the last look is at `max_wait` exactly and a copy that is late times out on time.
pub fn next_wait_seconds(elapsed: u64, percent: Option<i32>, poll: u64, max_wait: u64) -> u64 {
    let poll = poll.max(1);
    let estimate = match percent {
        Some(p @ 1..=99) if elapsed > 0 => {
            let p = p as u64;
            let remaining = (elapsed * (100 - p)).div_ceil(p);
            remaining + remaining.div_ceil(10)
        }
        _ => elapsed,
    };
    let capped = estimate.min(elapsed.saturating_mul(4)).max(poll);
    let left = max_wait.saturating_sub(elapsed);
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

    /// The looks a copy of `duration` seconds gets, its progress linear as the emulator models
    /// it (whole percents, rounded down), until it is seen available or `max_wait` is reached.
    fn looks(duration: u64, poll: u64, max_wait: u64, progress: bool) -> Vec<u64> {
        let mut at = vec![0];
        let mut elapsed = 0;
        while elapsed < duration && elapsed < max_wait {
            let percent = progress.then(|| (100 * elapsed / duration) as i32);
            elapsed += next_wait_seconds(elapsed, percent, poll, max_wait);
            at.push(elapsed);
        }
        at
    }

    #[test]
    fn a_steady_copy_is_found_done_in_few_looks() {
        // 10 minutes, polled at least a minute apart: the first look sees 0 %, the second 10 %
        // at 60 s, which caps the wait at 240 s; at 300 s 50 % gives 330 s more.
        assert_eq!(looks(600, 60, 21_600, true), vec![0, 60, 300, 630]);
        assert_eq!(looks(300, 60, 21_600, true), vec![0, 60, 300]);
        // six hours: 0 % for the first two minutes, then estimates, the last look at max_wait
        assert_eq!(
            looks(21_600, 60, 21_600, true),
            vec![0, 60, 120, 240, 1_200, 6_000, 21_600]
        );
    }

    #[test]
    fn without_progress_the_wait_doubles() {
        assert_eq!(
            looks(600, 60, 21_600, false),
            vec![0, 60, 120, 240, 480, 960]
        );
        let six_hours = looks(21_600, 60, 21_600, false);
        assert_eq!(six_hours.len(), 11, "{six_hours:?}");
        assert_eq!(six_hours.last(), Some(&21_600));
    }

    #[test]
    fn waits_stay_between_poll_and_max_wait() {
        // an estimate below pollSeconds waits pollSeconds
        assert_eq!(next_wait_seconds(600, Some(99), 60, 21_600), 60);
        // an early figure does not decide hours: at most 4 times the time waited
        assert_eq!(next_wait_seconds(60, Some(1), 60, 21_600), 240);
        // the last look is at max_wait exactly
        assert_eq!(next_wait_seconds(21_000, Some(10), 60, 21_600), 600);
        // a figure of 0 or 100 %, or none, is no estimate
        assert_eq!(next_wait_seconds(300, Some(0), 60, 21_600), 300);
        assert_eq!(next_wait_seconds(300, Some(100), 60, 21_600), 300);
        assert_eq!(next_wait_seconds(300, None, 60, 21_600), 300);
        // waited out: the state machine times out before it waits again
        assert_eq!(next_wait_seconds(21_600, None, 60, 21_600), 60);
        // no zero waits, whatever the settings
        assert_eq!(next_wait_seconds(0, None, 0, 10), 1);
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
