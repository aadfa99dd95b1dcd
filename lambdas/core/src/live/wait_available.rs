//! The handler of `wait-available` (both accounts): one look at a copy in progress; the state machine's
//! Wait/Choice loop calls it until the copy is `available`, waiting `nextWaitSeconds` between looks
//! (see `policy::polling::next_wait_seconds`). Fails with `CopyFailed` if it failed.

use super::SnapshotRef;
use crate::error::{ErrorKind, FailsafeError, Result};
use crate::model::status;
use crate::policy::copy_time::pace_note;
use crate::policy::polling::{next_wait_seconds, Look};
use crate::port::Snapshots;
use crate::store::describe_required;
use crate::wire::{WaitInput, WaitOutput};
use tracing::info;

/// One look at a copy in progress; the ASL's Wait/Choice loop calls it until `available`.
pub async fn wait_available<S: Snapshots>(store: &S, input: WaitInput) -> Result<WaitOutput> {
    let r = &input.snapshot;
    let s = describe_required(store, r.kind, &r.id, || {
        format!(
            "{} snapshot {} does not exist (deleted while copying?)",
            r.kind, r.id
        )
    })
    .await?;
    let now = Look {
        elapsed: input.elapsed_seconds,
        percent: s.percent_progress,
    };
    let previous = input.previous.map(|p| Look {
        elapsed: p.elapsed_seconds,
        percent: p.percent_progress,
    });
    let next_wait_seconds =
        next_wait_seconds(now, previous, input.poll_seconds, input.max_wait_seconds);
    info!(action = "wait", snapshot = %s.id, status = %s.status, progress = s.percent_progress.unwrap_or(0),
        elapsed = input.elapsed_seconds, next_wait = next_wait_seconds, "copy status");
    if s.status == status::FAILED {
        return Err(FailsafeError::new(
            ErrorKind::CopyFailed,
            format!("{} snapshot {} ended in status failed", r.kind, r.id),
        ));
    }
    Ok(WaitOutput {
        available: s.is_available(),
        status: s.status.clone(),
        percent_progress: s.percent_progress,
        snapshot: SnapshotRef::from(&s),
        elapsed_seconds: input.elapsed_seconds,
        next_wait_seconds,
        pace: pace_note(now, previous, &s.status, input.poll_seconds),
    })
}
