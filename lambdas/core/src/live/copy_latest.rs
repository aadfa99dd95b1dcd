//! The handler of `copy-latest`: copies a source's newest automated snapshot to its share copy, re-encrypted with the share key; for a source in incremental mode, takes the snapshot the run shares instead.

use super::SnapshotRef;
use crate::arn::{rds_db_arn, Arn};
use crate::config::LiveConfig;
use crate::error::{ErrorKind, FailsafeError, Result};
use crate::model::{snapshot_type, Snapshot, SnapshotKind, Source, SourceMode};
use crate::policy::copy::{
    copy_encryption, copy_mode, newest_automated, not_copied_from, not_shareable_reason,
    share_plan, SharePlan,
};
use crate::policy::copy_time::wait_bound;
use crate::policy::naming::share_copy_id;
use crate::policy::tags::{Provenance, SOURCE_ID};
use crate::port::{
    CopyRequest, CreateSnapshotRequest, Databases, PolicyReads, SnapshotQuery, SnapshotWrites,
    Snapshots, StoreErrorKind,
};
use crate::store::managed_copies_of;
use crate::wire::{CopyInput, CopyOutcome, CopyOutput};
use tracing::{info, warn};

/// A snapshot already under the share copy's name is reused only if this tool made it from
/// exactly `from_arn` (the automated snapshot it copied, or the database it took a snapshot of):
/// anyone with access to the account could have made a snapshot under today's name. Otherwise
/// the source fails with VerifyFailed (`found` says how it was found).
fn reusable(existing: &Snapshot, source: &Source, from_arn: &str, found: &str) -> Result<()> {
    let Some(why) = not_copied_from(existing, &source.id, from_arn) else {
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

/// `NotShareable` if RDS can never share a snapshot of the source: its option group (as its
/// newest automated snapshot names it) has TDE or a permanent or persistent option. A snapshot
/// the run takes has the same options as one RDS took.
async fn refuse_unshareable<S: Databases>(
    store: &S,
    source: &Source,
    latest: &Snapshot,
) -> Result<()> {
    let Some(group_name) = &latest.option_group_name else {
        return Ok(());
    };
    let group = store.describe_option_group(group_name).await?;
    match not_shareable_reason(&latest.engine, group.as_ref()) {
        None => Ok(()),
        Some(reason) => {
            info!(action = "copy-not-shareable", source = %source.id, snapshot = %latest.id, reason = %reason, "cannot be shared");
            Err(FailsafeError::new(
                ErrorKind::NotShareable,
                format!("{} {}: {reason}", source.kind, source.id),
            ))
        }
    }
}

/// A create that found its target taken (`AlreadyExists`): a parallel run won the race, and
/// that snapshot is ours too if `reusable` says so.
async fn won_by_parallel_run<S: Snapshots>(
    store: &S,
    source: &Source,
    target_id: &str,
    from_arn: &str,
    found: &str,
    e: crate::port::StoreError,
) -> Result<Snapshot> {
    let existing = store
        .describe_snapshot(source.kind, target_id)
        .await?
        .ok_or_else(|| FailsafeError::from(e))?;
    reusable(&existing, source, from_arn, found)?;
    Ok(existing)
}

pub async fn copy_latest<S: Snapshots + SnapshotWrites + Databases + PolicyReads>(
    cfg: &LiveConfig,
    store: &S,
    input: CopyInput,
) -> Result<CopyOutput> {
    let source = input.source.clone();
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
        return Ok(skipped(source, reason));
    };
    let created = latest
        .create_time
        .expect("newest_automated only returns timed snapshots");
    // the wait bound assumes a full copy: the first one, or after the one before was deleted
    let size = (source.kind == SnapshotKind::Instance).then_some(latest.allocated_storage);
    let bound = Some(wait_bound(
        size,
        &input.wait.for_source(source.copy_wait_seconds),
    ));

    // an incremental source's key decides whether RDS can share a snapshot under it
    let key = match (source.mode, &latest.kms_key_id) {
        (SourceMode::Incremental, Some(key_arn)) if latest.encrypted => {
            store.describe_key(key_arn).await?
        }
        _ => None,
    };
    let fallback = match share_plan(source.mode, latest, key.as_ref(), cfg.encrypt_unencrypted) {
        SharePlan::OwnSnapshot { note } => {
            return own_snapshot(cfg, store, &input, latest, note, bound).await;
        }
        SharePlan::ShareCopy { fallback } => fallback,
    };
    if let Some(why) = &fallback {
        info!(action = "copy-mode-fallback", source = %source.id, reason = %why, "share copy instead");
    }
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
            copy: None,
        });
    }

    refuse_unshareable(store, &source, latest).await?;

    let enc = copy_encryption(latest, &cfg.share_kms_key_arn, cfg.encrypt_unencrypted);
    // full or incremental, beside this source's share copies here (LIVE_KEEP keeps some)
    let here: Vec<Snapshot> = managed_copies_of(store, source.kind, &source.id)
        .await?
        .into_iter()
        .filter(|s| s.tags.get(SOURCE_ID) == Some(&source.id))
        .collect();
    let expected = copy_mode(latest, &here, enc.kms_key_id.as_deref(), false);
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
            reason: notes(enc.note, fallback),
            wait_bound: bound,
            copy: Some(expected),
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
        Err(e) if e.kind == StoreErrorKind::AlreadyExists => {
            let found = "appeared while copying, but";
            won_by_parallel_run(store, &source, &target_id, &latest.arn, found, e).await?
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
        reason: notes(enc.note, fallback),
        wait_bound: bound,
        copy: Some(expected),
    })
}

/// A source this run skips, and why: reported, not a failure.
fn skipped(source: Source, reason: String) -> CopyOutput {
    CopyOutput {
        outcome: CopyOutcome::Skipped,
        source,
        snapshot: None,
        automated_snapshot_arn: None,
        kms_key_id: None,
        reason: Some(reason),
        wait_bound: None,
        copy: None,
    }
}

/// Both notes, either, or none.
fn notes(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(format!("{a}; {b}")),
        (a, b) => a.or(b),
    }
}

/// Incremental mode: the snapshot the run shares is one it takes of the database
/// (`CreateDBSnapshot` / `CreateDBClusterSnapshot`), named for the run's start so that a retried
/// task finds it rather than taking a second one. `latest` (the newest automated snapshot) only
/// told the key and the size.
async fn own_snapshot<S: Snapshots + SnapshotWrites + Databases>(
    cfg: &LiveConfig,
    store: &S,
    input: &CopyInput,
    latest: &Snapshot,
    note: String,
    bound: Option<crate::policy::copy_time::WaitBound>,
) -> Result<CopyOutput> {
    let source = &input.source;
    let taken = input.run_start;
    let target_id = share_copy_id(source.kind, &source.id, taken)?;
    let partition = Arn::parse(&latest.arn).map_or_else(|| "aws".to_string(), |a| a.partition);
    let db_arn = rds_db_arn(
        source.kind,
        &partition,
        &cfg.region,
        &cfg.account_id,
        &source.id,
    );
    let output = |outcome: CopyOutcome, snapshot: SnapshotRef| CopyOutput {
        outcome,
        source: source.clone(),
        kms_key_id: snapshot.kms_key_id.clone(),
        snapshot: Some(snapshot),
        automated_snapshot_arn: None,
        reason: Some(note.clone()),
        wait_bound: bound.clone(),
        copy: None,
    };

    if let Some(existing) = store.describe_snapshot(source.kind, &target_id).await? {
        reusable(&existing, source, &db_arn, "exists but")?;
        info!(action = "snapshot-exists", source = %source.id, snapshot = %existing.id, status = %existing.status, "the run's snapshot exists already");
        return Ok(output(CopyOutcome::Exists, SnapshotRef::from(&existing)));
    }
    refuse_unshareable(store, source, latest).await?;
    if input.dry_run {
        info!(action = "snapshot", dry_run = true, source = %source.id, to = %target_id, "would take a snapshot");
        return Ok(output(
            CopyOutcome::Planned,
            SnapshotRef {
                kind: source.kind,
                id: target_id,
                arn: String::new(),
                status: "planned".into(),
                source_id: source.id.clone(),
                source_create_time: Some(taken),
                encrypted: latest.encrypted,
                kms_key_id: latest.kms_key_id.clone(),
            },
        ));
    }
    let provenance = Provenance {
        source_account: cfg.account_id.clone(),
        source_region: cfg.region.clone(),
        source_id: source.id.clone(),
        source_snapshot_arn: db_arn.clone(),
        source_create_time: taken,
        kind: source.kind,
    };
    let request = CreateSnapshotRequest {
        db_id: source.id.clone(),
        target_id: target_id.clone(),
        tags: provenance.tags(),
    };
    let snapshot = match store.create_snapshot(source.kind, &request).await {
        Ok(s) => s,
        Err(e) if e.kind == StoreErrorKind::AlreadyExists => {
            let found = "appeared while taking it, but";
            won_by_parallel_run(store, source, &target_id, &db_arn, found, e).await?
        }
        // "The source DB instance must be in the available or storage-optimization state" (RDS
        // API reference, CreateDBSnapshot): a cadence's run meets the daily backup window (the
        // database is backing-up) or maintenance now and then; the next run takes the snapshot
        Err(e) if e.kind == StoreErrorKind::InvalidState && input.take_snapshots => {
            let reason = format!(
                "{} {} cannot be snapshotted now ({}: {}): this cadence run skips it, the next one takes its snapshot",
                source.kind, source.id, e.code, e.message
            );
            info!(action = "snapshot-skip", source = %source.id, reason = %reason, "database busy");
            return Ok(skipped(source.clone(), reason));
        }
        Err(e) => return Err(e.into()),
    };
    info!(action = "snapshot", source = %source.id, to = %snapshot.id, "own snapshot started (incremental mode)");
    Ok(output(CopyOutcome::Copying, SnapshotRef::from(&snapshot)))
}
