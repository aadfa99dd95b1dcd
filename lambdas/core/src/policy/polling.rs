//! How long one copy may be polled. Every status check writes its history events into the copy's
//! own child execution (CheckCopy, a Task: 5; IsAvailable, a Choice: 2; WaitForCopy: 2; AddWaited,
//! a Pass: 2), and Step Functions fails any execution at 25,000 events. `pollSeconds` and
//! `maxWaitSeconds` are checked together before anything is copied, so a run whose copies could
//! be polled past the quota fails at once with the fix instead of hours later, one child at a time.

use crate::error::{FailsafeError, Result};
use serde::Deserialize;

/// History events one status check writes (see the module comment).
pub const EVENTS_PER_CHECK: u64 = 11;
/// At most this many status checks of one copy: 22,000 events, which leaves room under 25,000 for
/// the child's other states and for about 900 retries of throttled or transient calls (3 each).
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
