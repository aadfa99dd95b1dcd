//! The handler of `save`: copies a shared snapshot into the Failsafe account's own, Failsafe-key-encrypted copy.

use super::{claimed_times, plan_item};
use crate::config::FailsafeConfig;
use crate::error::{ErrorKind, FailsafeError, Result};
use crate::live::SnapshotRef;
use crate::model::SnapshotKind;
use crate::policy::copy::{copy_encryption, copy_mode, is_a_copy, ExpectedCopy};
use crate::policy::copy::{dated_after_run, not_from_automated};
use crate::policy::copy_time::wait_bound;
use crate::policy::tags::Provenance;
use crate::port::{CopyRequest, SnapshotWrites, Snapshots, StoreErrorKind};
use crate::store::{describe_required, managed_copies_of, soft};
use crate::wire::{SaveInput, SaveOutcome, SaveOutput};
use chrono::Utc;
use tracing::info;

pub async fn save<S: Snapshots + SnapshotWrites>(
    cfg: &FailsafeConfig,
    store: &S,
    input: SaveInput,
) -> Result<SaveOutput> {
    let item = input.item;
    // The input came through the state machine; re-derive everything that matters from the
    // shared snapshot itself so a crafted input cannot pick the target name or the account.
    let shared = describe_required(store, item.kind, &item.source_arn, || {
        format!("shared snapshot {} is no longer visible", item.source_arn)
    })
    .await?;
    let planned = plan_item(cfg, &shared)
        .map_err(|r| FailsafeError::input(format!("item.sourceArn {}: {r}", item.source_arn)))?;
    if item.source_id().as_deref() != Some(planned.source_id.as_str()) {
        return Err(FailsafeError::input(format!(
            "item.sourceId {} does not match the shared snapshot's database {}",
            item.source_id().unwrap_or_default(),
            planned.source_id
        )));
    }
    if let Some(reason) =
        dated_after_run(&claimed_times(&shared), input.now.unwrap_or_else(Utc::now))
    {
        return Err(FailsafeError::input(format!(
            "item.sourceArn {}: {reason}",
            item.source_arn
        )));
    }
    if let Some(reason) = not_from_automated(&shared) {
        return Err(FailsafeError::new(
            ErrorKind::VerifyFailed,
            format!(
                "shared snapshot {}: {reason}; it is not saved",
                item.source_arn
            ),
        ));
    }
    let cross_region = planned.source_region != cfg.region;
    // a full copy's bytes decide how long the run waits for it (a copy of a copy is always full)
    let size = (planned.kind == SnapshotKind::Instance).then_some(shared.allocated_storage);
    let wait = input
        .wait
        .for_source(cfg.source_copy_wait(&planned.source_account, &planned.source_id));
    let bound = Some(wait_bound(size, &wait));

    if let Some(existing) = store
        .describe_snapshot(planned.kind, &planned.target_id)
        .await?
    {
        // Never deleted and re-copied: an existing copy is kept whatever a message says.
        info!(action = "save-exists", target = %existing.id, status = %existing.status, "Failsafe copy exists already");
        return Ok(SaveOutput {
            outcome: SaveOutcome::Exists,
            snapshot: SnapshotRef::from(&existing),
            item: planned,
            cross_region,
            note: None,
            wait_bound: bound.clone(),
            copy: None,
        });
    }
    let enc = copy_encryption(&shared, &cfg.failsafe_kms_key_arn, cfg.encrypt_unencrypted);
    let provenance = Provenance {
        source_account: planned.source_account.clone(),
        source_region: planned.source_region.clone(),
        source_id: planned.source_id.clone(),
        source_snapshot_arn: planned.source_arn.clone(),
        source_create_time: planned.source_create_time,
        kind: planned.kind,
    };
    // Full or incremental, as RDS will decide it: a copy of an instance's own snapshot may be
    // incremental on the copies of that instance here (listed only then: a share copy's copy,
    // and any cluster snapshot's, is full whatever is here).
    // The listing is by DBInstanceIdentifier, an instance of the Live account: RDS lists the
    // snapshots of an instance that is not here, but its reference says the identifier "must
    // match the identifier of an existing DBInstance", so a refusal only costs the figure.
    let listed = if planned.kind == SnapshotKind::Instance && !is_a_copy(&shared) && !cross_region {
        soft(managed_copies_of(store, planned.kind, &planned.source_id).await)?.map(|all| {
            all.into_iter()
                .filter(|s| {
                    Provenance::from_tags(&s.tags)
                        .is_some_and(|p| p.source_account == planned.source_account)
                })
                .collect::<Vec<_>>()
        })
    } else {
        Ok(Vec::new())
    };
    let expected = match listed {
        Ok(here) => copy_mode(&shared, &here, enc.kms_key_id.as_deref(), cross_region),
        Err(why) => ExpectedCopy {
            mode: crate::policy::copy::CopyMode::Full,
            reason: format!(
                "counted full: this DB instance's copies here could not be listed ({why})"
            ),
            moved_gib: Some(shared.allocated_storage),
        },
    };
    let planned_ref = SnapshotRef {
        kind: planned.kind,
        id: planned.target_id.clone(),
        arn: crate::arn::rds_snapshot_arn(
            planned.kind,
            "aws",
            &cfg.region,
            &cfg.account_id,
            &planned.target_id,
        ),
        status: "planned".into(),
        source_id: planned.source_id.clone(),
        source_create_time: Some(planned.source_create_time),
        encrypted: enc.kms_key_id.is_some(),
        kms_key_id: enc.kms_key_id.clone(),
    };
    if input.dry_run {
        info!(action = "save", dry_run = true, source = %planned.source_arn, target = %planned.target_id, "would save");
        return Ok(SaveOutput {
            outcome: SaveOutcome::Planned,
            item: planned,
            snapshot: planned_ref,
            cross_region,
            note: enc.note,
            wait_bound: bound.clone(),
            copy: Some(expected),
        });
    }
    let request = CopyRequest {
        source: planned.source_arn.clone(),
        target_id: planned.target_id.clone(),
        kms_key_id: enc.kms_key_id.clone(),
        tags: provenance.tags(),
    };
    let copy = match store.copy_snapshot(planned.kind, &request).await {
        Ok(c) => c,
        Err(e) if e.kind == StoreErrorKind::AlreadyExists => {
            let existing = store
                .describe_snapshot(planned.kind, &planned.target_id)
                .await?
                .ok_or_else(|| FailsafeError::from(e))?;
            return Ok(SaveOutput {
                outcome: SaveOutcome::Exists,
                snapshot: SnapshotRef::from(&existing),
                item: planned,
                cross_region,
                note: None,
                wait_bound: bound.clone(),
                copy: None,
            });
        }
        Err(e) => return Err(e.into()),
    };
    info!(
        action = "save",
        source = %planned.source_arn,
        target = %copy.id,
        kms_key = enc.kms_key_id.as_deref().unwrap_or("none"),
        cross_region,
        "Failsafe copy started"
    );
    Ok(SaveOutput {
        outcome: SaveOutcome::Copying,
        snapshot: SnapshotRef::from(&copy),
        item: planned,
        cross_region,
        note: enc.note,
        wait_bound: bound,
        copy: Some(expected),
    })
}
