//! The handler of `wait-available` (both accounts): one look at a copy in progress; the state machine's
//! Wait/Choice loop calls it until the copy is `available`. Fails with `CopyFailed` if it failed.

use super::SnapshotRef;
use crate::error::{ErrorKind, FailsafeError, Result};
use crate::model::status;
use crate::port::{describe_required, SnapshotStore};
use serde::{Deserialize, Serialize};
use tracing::info;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WaitInput {
    pub snapshot: SnapshotRef,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WaitOutput {
    pub available: bool,
    pub status: String,
    pub percent_progress: Option<i32>,
    pub snapshot: SnapshotRef,
}

/// One look at a copy in progress; the ASL's Wait/Choice loop calls it until `available`.
pub async fn wait_available(store: &dyn SnapshotStore, input: WaitInput) -> Result<WaitOutput> {
    let r = &input.snapshot;
    let s = describe_required(store, r.kind, &r.id, || {
        format!(
            "{} snapshot {} does not exist (deleted while copying?)",
            r.kind, r.id
        )
    })
    .await?;
    info!(action = "wait", snapshot = %s.id, status = %s.status, progress = s.percent_progress.unwrap_or(0), "copy status");
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
    })
}
