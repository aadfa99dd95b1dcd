//! The handler of `check-drill`: how the drill's database stands (a cluster and its instance),
//! and how long to wait before the next look.

use super::db_progress;
use crate::error::{ErrorKind, FailsafeError, Result};
use crate::model::SnapshotKind;
use crate::policy::drill::RestoreProgress;
use crate::policy::polling::{next_wait_seconds, Look};
use crate::port::Databases;
use crate::wire::{CheckDrillInput, CheckDrillOutput};
use tracing::info;

pub async fn check_drill<S: Databases>(
    store: &S,
    input: CheckDrillInput,
) -> Result<CheckDrillOutput> {
    let item = &input.item;
    let gone = |what: &str| {
        FailsafeError::new(
            ErrorKind::RestoreFailed,
            format!(
                "{what} of the drill of {} is gone (deleted while restoring?)",
                item.copy_id
            ),
        )
    };
    let mut looks = vec![db_progress(store, item.kind, &item.db_id)
        .await?
        .ok_or_else(|| gone(&item.db_id))?];
    if let Some(member) = &item.member_id {
        looks.push(
            db_progress(store, SnapshotKind::Instance, member)
                .await?
                .ok_or_else(|| gone(member))?,
        );
    }
    let status = looks
        .iter()
        .map(|(_, s)| s.as_str())
        .collect::<Vec<_>>()
        .join("/");
    let progress: Vec<RestoreProgress> = looks.iter().map(|(p, _)| *p).collect();
    info!(action = "check-drill", db = %item.db_id, status = %status, elapsed = input.elapsed_seconds, "drill status");
    if progress.contains(&RestoreProgress::Failed) {
        return Err(FailsafeError::new(
            ErrorKind::RestoreFailed,
            format!(
                "the restore of {} ({}:{}) into {} ended in status {status}",
                item.copy_id, item.source_account, item.source_id, item.db_id
            ),
        ));
    }
    Ok(CheckDrillOutput {
        available: progress.iter().all(|p| *p == RestoreProgress::Available),
        status,
        elapsed_seconds: input.elapsed_seconds,
        // RDS reports no progress for a restore: the wait doubles, within the bounds
        next_wait_seconds: next_wait_seconds(
            Look {
                elapsed: input.elapsed_seconds,
                percent: None,
            },
            input.previous_elapsed_seconds.map(|e| Look {
                elapsed: e,
                percent: None,
            }),
            input.poll_seconds,
            input.max_wait_seconds,
        ),
    })
}
