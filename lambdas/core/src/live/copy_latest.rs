//! The handler of `copy-latest`: copies a source's newest automated snapshot to its share copy, re-encrypted with the share key.

use super::SnapshotRef;
use crate::config::LiveConfig;
use crate::error::{ErrorKind, FailsafeError, Result};
use crate::model::{snapshot_type, Snapshot, SnapshotKind, Source};
use crate::policy::copy::{
    copy_encryption, newest_automated, not_copied_from, not_shareable_reason,
};
use crate::policy::copy_time::wait_bound;
use crate::policy::naming::share_copy_id;
use crate::policy::tags::Provenance;
use crate::port::{
    CopyRequest, Databases, SnapshotQuery, SnapshotWrites, Snapshots, StoreErrorKind,
};
use crate::wire::{CopyInput, CopyOutcome, CopyOutput};
use tracing::{info, warn};

/// A snapshot already under the share copy's name is reused only if this tool copied it from
/// exactly `automated_arn`: anyone with access to the account could have made a snapshot under
/// today's name. Otherwise the source fails with VerifyFailed (`found` says how it was found).
fn reusable(existing: &Snapshot, source: &Source, automated_arn: &str, found: &str) -> Result<()> {
    let Some(why) = not_copied_from(existing, &source.id, automated_arn) else {
        return Ok(());
    };
    warn!(action = "copy-exists-foreign", source = %source.id, snapshot = %existing.id, reason = %why, "not reused");
    Err(FailsafeError::new(
        ErrorKind::VerifyFailed,
        format!(
            "{} {}: a snapshot named {} {found} {why}; it is not shared. Delete or rename it, then re-run",
            source.kind, source.id, existing.id
        ),
    ))
}

pub async fn copy_latest<S: Snapshots + SnapshotWrites + Databases>(
    cfg: &LiveConfig,
    store: &S,
    input: CopyInput,
) -> Result<CopyOutput> {
    let source = input.source;
    let query = SnapshotQuery {
        region: None,
        source_id: Some(source.id.clone()),
        snapshot_type: Some(snapshot_type::AUTOMATED),
    };
    let automated = store.list_snapshots(source.kind, &query).await?;
    let Some(latest) = newest_automated(&automated) else {
        let reason = format!(
            "{} {} has no available automated snapshot (are automated backups enabled?)",
            source.kind, source.id
        );
        info!(action = "copy-skip", source = %source.id, reason = %reason, "nothing to copy");
        return Ok(CopyOutput {
            outcome: CopyOutcome::Skipped,
            source,
            snapshot: None,
            automated_snapshot_arn: None,
            kms_key_id: None,
            reason: Some(reason),
            wait_bound: None,
        });
    };
    let created = latest
        .create_time
        .expect("newest_automated only returns timed snapshots");
    // the wait bound assumes a full copy: the first one, or after the one before was deleted
    let size = (source.kind == SnapshotKind::Instance).then_some(latest.allocated_storage);
    let bound = Some(wait_bound(size, &input.wait));
    let target_id = share_copy_id(source.kind, &source.id, created)?;

    if let Some(existing) = store.describe_snapshot(source.kind, &target_id).await? {
        reusable(&existing, &source, &latest.arn, "exists but")?;
        info!(action = "copy-exists", source = %source.id, snapshot = %existing.id, status = %existing.status, "share copy exists already");
        return Ok(CopyOutput {
            outcome: CopyOutcome::Exists,
            source,
            kms_key_id: existing.kms_key_id.clone(),
            snapshot: Some(SnapshotRef::from(&existing)),
            automated_snapshot_arn: Some(latest.arn.clone()),
            reason: None,
            wait_bound: bound,
        });
    }

    if let Some(group_name) = &latest.option_group_name {
        let group = store.describe_option_group(group_name).await?;
        if let Some(reason) = not_shareable_reason(&latest.engine, group.as_ref()) {
            info!(action = "copy-not-shareable", source = %source.id, snapshot = %latest.id, reason = %reason, "cannot be shared");
            return Err(FailsafeError::new(
                ErrorKind::NotShareable,
                format!("{} {}: {reason}", source.kind, source.id),
            ));
        }
    }

    let enc = copy_encryption(latest, &cfg.share_kms_key_arn, cfg.encrypt_unencrypted);
    let provenance = Provenance {
        source_account: cfg.account_id.clone(),
        source_region: cfg.region.clone(),
        source_id: source.id.clone(),
        source_snapshot_arn: latest.arn.clone(),
        source_create_time: created,
        kind: source.kind,
    };
    if input.dry_run {
        info!(action = "copy", dry_run = true, source = %source.id, from = %latest.id, to = %target_id, "would copy");
        return Ok(CopyOutput {
            outcome: CopyOutcome::Planned,
            source: source.clone(),
            snapshot: Some(SnapshotRef {
                kind: source.kind,
                id: target_id.clone(),
                arn: String::new(),
                status: "planned".into(),
                source_id: source.id.clone(),
                source_create_time: Some(created),
                encrypted: enc.kms_key_id.is_some(),
                kms_key_id: enc.kms_key_id.clone(),
            }),
            automated_snapshot_arn: Some(latest.arn.clone()),
            kms_key_id: enc.kms_key_id,
            reason: enc.note,
            wait_bound: bound,
        });
    }
    let request = CopyRequest {
        source: latest.id.clone(),
        target_id: target_id.clone(),
        kms_key_id: enc.kms_key_id.clone(),
        tags: provenance.tags(),
    };
    let copy = match store.copy_snapshot(source.kind, &request).await {
        Ok(c) => c,
        // a parallel run won the race: that copy is ours too, if it says so
        Err(e) if e.kind == StoreErrorKind::AlreadyExists => {
            let existing = store
                .describe_snapshot(source.kind, &target_id)
                .await?
                .ok_or_else(|| FailsafeError::from(e))?;
            reusable(
                &existing,
                &source,
                &latest.arn,
                "appeared while copying, but",
            )?;
            existing
        }
        Err(e) => return Err(e.into()),
    };
    info!(
        action = "copy",
        source = %source.id,
        from = %latest.id,
        to = %copy.id,
        kms_key = enc.kms_key_id.as_deref().unwrap_or("none"),
        "share copy started"
    );
    Ok(CopyOutput {
        outcome: CopyOutcome::Copying,
        source,
        snapshot: Some(SnapshotRef::from(&copy)),
        automated_snapshot_arn: Some(latest.arn.clone()),
        kms_key_id: enc.kms_key_id,
        reason: enc.note,
        wait_bound: bound,
    })
}
