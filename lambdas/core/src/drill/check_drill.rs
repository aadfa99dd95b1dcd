//! The handler of `check-drill`: how the drill's database stands (a cluster and its instance),
//! and how long to wait before the next look (at most `RESTORE_LOOK_MAX_SECONDS`: the restore
//! time is known to within one wait), or that a cluster is ready for its DB instance.

use super::db_progress;
use crate::error::{ErrorKind, FailsafeError, Result};
use crate::model::SnapshotKind;
use crate::policy::drill::{restore_wait_seconds, RestoreProgress};
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
    // a cluster whose instance restore-drill left for later has no instance to look at yet
    let pending = item.member_id.is_some() && input.instance_pending;
    if let Some(member) = item.member_id.as_ref().filter(|_| !pending) {
        looks.push(
            db_progress(store, SnapshotKind::Instance, member)
                .await?
                .ok_or_else(|| gone(member))?,
        );
    }
    let mut status = looks
        .iter()
        .map(|(_, s)| s.as_str())
        .collect::<Vec<_>>()
        .join("/");
    if pending {
        status.push_str("/-");
    }
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
    let all_available = progress.iter().all(|p| *p == RestoreProgress::Available);
    let add_instance = pending && all_available;
    Ok(CheckDrillOutput {
        available: all_available && !pending,
        status,
        elapsed_seconds: input.elapsed_seconds,
        // the instance is added at once and looked at after the shortest wait
        next_wait_seconds: if add_instance {
            input.poll_seconds.max(1)
        } else {
            restore_wait_seconds(
                input.elapsed_seconds,
                input.previous_elapsed_seconds,
                input.poll_seconds,
                input.max_wait_seconds,
            )
        },
        add_instance,
    })
}
