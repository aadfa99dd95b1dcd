//! The handler of `wait-available` (both accounts): one look at a copy in progress; the state machine's
//! Wait/Choice loop calls it until the copy is `available`, waiting `nextWaitSeconds` between looks
//! (see `policy::polling::next_wait_seconds`). Fails with `CopyFailed` if it failed.

use super::SnapshotRef;
use crate::error::{ErrorKind, FailsafeError, Result};
use crate::model::status;
use crate::policy::polling::{next_wait_seconds, Look};
use crate::port::Snapshots;
use crate::store::describe_required;
use serde::{Deserialize, Serialize};
use tracing::info;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WaitInput {
    pub snapshot: SnapshotRef,
    /// Seconds the state machine has waited for this copy since its first look (the sum of its
    /// Waits): 0 at the first look.
    pub elapsed_seconds: u64,
    /// The run's `pollSeconds` (the shortest wait) and `maxWaitSeconds` (when the copy times out).
    pub poll_seconds: u64,
    pub max_wait_seconds: u64,
    /// What the previous look saw (at the first look: 0 seconds, no figure).
    #[serde(default)]
    pub previous: Option<PreviousLook>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviousLook {
    pub elapsed_seconds: u64,
    pub percent_progress: Option<i32>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WaitOutput {
    pub available: bool,
    pub status: String,
    pub percent_progress: Option<i32>,
    pub snapshot: SnapshotRef,
    /// As given: the state machine times the copy out when it reaches `maxWaitSeconds`.
    pub elapsed_seconds: u64,
    /// How long the state machine's Wait waits before the next look.
    pub next_wait_seconds: u64,
}

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
    let next_wait_seconds = next_wait_seconds(
        Look {
            elapsed: input.elapsed_seconds,
            percent: s.percent_progress,
        },
        input.previous.map(|p| Look {
            elapsed: p.elapsed_seconds,
            percent: p.percent_progress,
        }),
        input.poll_seconds,
        input.max_wait_seconds,
    );
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
    })
}
