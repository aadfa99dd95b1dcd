//! The handler of `share`: adds every Failsafe account to a finished share copy's `restore` attribute.

use super::SnapshotRef;
use crate::config::LiveConfig;
use crate::error::{FailsafeError, Result};
use crate::policy::tags::is_managed;
use crate::port::{Sharing, Snapshots};
use crate::store::describe_required;
use crate::wire::{CopyFigures, ShareInput, ShareOutput};
use tracing::info;

/// Adds every Failsafe account to the share copy's `restore` attribute (idempotent).
pub async fn share<S: Snapshots + Sharing>(
    cfg: &LiveConfig,
    store: &S,
    input: ShareInput,
) -> Result<ShareOutput> {
    let r = &input.snapshot;
    let s = describe_required(store, r.kind, &r.id, || {
        format!("{} snapshot {} does not exist", r.kind, r.id)
    })
    .await?;
    if !is_managed(&s.tags) || s.is_automated() {
        return Err(FailsafeError::input(format!(
            "{} is not a share copy made by rds-failsafe (no rds-failsafe:managed=true tag); refusing to share it",
            s.id
        )));
    }
    if !s.is_available() {
        return Err(FailsafeError::input(format!(
            "{} is {}, not available; it can be shared once the copy finishes",
            s.id, s.status
        )));
    }
    let current = store.shared_with(r.kind, &r.id).await?;
    let added: Vec<String> = cfg
        .failsafe_accounts
        .iter()
        .filter(|a| !current.contains(a))
        .cloned()
        .collect();
    if !added.is_empty() {
        if input.dry_run {
            info!(action = "share", dry_run = true, snapshot = %s.id, accounts = %added.join(","), "would share");
        } else {
            // a refusal for the aws/rds key arrives as KmsKeyNotAccessible (port::aws)
            store.share_with(r.kind, &r.id, &added).await?;
            info!(action = "share", snapshot = %s.id, accounts = %added.join(","), "shared with Failsafe accounts");
        }
    }
    let mut shared_with = current;
    if !input.dry_run {
        shared_with.extend(added.iter().cloned());
    }
    Ok(ShareOutput {
        snapshot: SnapshotRef::from(&s),
        shared_with,
        added,
        copy: CopyFigures::of(input.copy.as_ref(), input.copy_seconds),
    })
}
