//! The handler of `verify`: checks a finished Failsafe copy (status, key owner, tags, engine, storage) and marks it verified.

use super::SaveItem;
use crate::arn::Arn;
use crate::config::FailsafeConfig;
use crate::contract::metric;
use crate::error::{ErrorKind, FailsafeError, Result};
use crate::live::SnapshotRef;
use crate::model::{Snapshot, SnapshotKind};
use crate::policy::copy::CopyMode;
use crate::policy::tags::{format_time, tag_mismatches, Provenance, VERIFIED};
use crate::port::{SnapshotWrites, Snapshots};
use crate::store::describe_required;
use crate::wire::{CopyFigures, SaveOutcome, VerifyInput, VerifyOutput};
use tracing::{info, warn};

/// A CloudWatch EMF record of one Failsafe copy this run made, per source and as a roll-up:
/// the seconds from save's first look until it was seen available (an upper bound, by the
/// polling's granularity, that includes any time RDS kept it queued); `CopyIncremental`, 1 for
/// an incremental copy and 0 for a full one (so its sum counts the incremental copies and its
/// sample count all of them); and, for a full copy of a DB instance, `CopySizeGiB`, the GiB it
/// moved and is billed for. An incremental copy moves the blocks written since the copy before
/// it, which RDS does not report; an Aurora snapshot reports no size (`AllocatedStorage` is 1).
/// The mode is `save`'s reading of RDS's rules as the copy started (`policy::copy::copy_mode`).
pub fn copy_time_metric(
    source_account: &str,
    source_id: &str,
    figures: &CopyFigures,
    now: chrono::DateTime<chrono::Utc>,
) -> serde_json::Value {
    let mut metrics = vec![
        serde_json::json!({"Name": metric::COPY_SECONDS, "Unit": "Seconds"}),
        serde_json::json!({"Name": metric::COPY_INCREMENTAL, "Unit": "Count"}),
    ];
    if figures.moved_gib.is_some() {
        metrics.push(serde_json::json!({"Name": metric::COPY_SIZE_GIB, "Unit": "None"}));
    }
    let mut record = serde_json::json!({
        "_aws": {
            "Timestamp": now.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": metric::NAMESPACE,
                "Dimensions": [["SourceAccount", "SourceId"], []],
                "Metrics": metrics
            }]
        },
        "SourceAccount": source_account,
        "SourceId": source_id,
        "CopyMode": figures.mode.as_str(),
        (metric::COPY_SECONDS): figures.seconds,
        (metric::COPY_INCREMENTAL): u8::from(figures.mode == CopyMode::Incremental)
    });
    if let Some(gib) = figures.moved_gib {
        record[metric::COPY_SIZE_GIB] = gib.into();
    }
    record
}

/// Every reason `copy` is not a good Failsafe copy of `item`; empty when it is.
pub fn verification_problems(
    cfg: &FailsafeConfig,
    item: &SaveItem,
    copy: &Snapshot,
) -> (Vec<String>, Option<String>) {
    let mut problems = Vec::new();
    let mut note = None;
    if !copy.is_available() {
        problems.push(format!("status is {}, not available", copy.status));
    }
    if copy.encrypted {
        let key = copy.kms_key_id.as_deref().unwrap_or("");
        match Arn::parse(key) {
            Some(a) if a.account == cfg.account_id => {}
            Some(a) => problems.push(format!(
                "encrypted with key {key} of account {}, not a key of the Failsafe account {}: deleting that key would make the copy unreadable",
                a.account, cfg.account_id
            )),
            None => problems.push(format!("encrypted with key {key:?}, which is not a key ARN of the Failsafe account")),
        }
    } else {
        let allowed =
            !item.encrypted && (item.kind == SnapshotKind::Cluster || !cfg.encrypt_unencrypted);
        if allowed {
            note = Some(match item.kind {
                SnapshotKind::Cluster => {
                    "unencrypted: RDS cannot encrypt an unencrypted cluster snapshot by copying"
                        .to_string()
                }
                SnapshotKind::Instance => "unencrypted: ENCRYPT_UNENCRYPTED=false".to_string(),
            });
        } else {
            problems.push("not encrypted, but it should be encrypted with the Failsafe key".into());
        }
    }
    if let Some(from) = copy.copied_from.as_deref() {
        if from != item.source_arn {
            problems.push(format!(
                "copied from {from}, not from the shared snapshot {}",
                item.source_arn
            ));
        }
    }
    let expected = Provenance {
        source_account: item.source_account.clone(),
        source_region: item.source_region.clone(),
        source_id: item.source_id.clone(),
        source_snapshot_arn: item.source_arn.clone(),
        source_create_time: item.source_create_time,
        kind: item.kind,
    }
    .tags();
    problems.extend(
        tag_mismatches(&copy.tags, &expected)
            .into_iter()
            .map(|m| format!("tag {m}")),
    );
    // RDS records which database a snapshot holds; the name and tags are only what they say
    if !copy.source_id.is_empty() && copy.source_id != item.source_id {
        problems.push(format!(
            "holds database {:?}, but its name and tags say {:?}",
            copy.source_id, item.source_id
        ));
    }
    if copy.engine != item.engine {
        problems.push(format!(
            "engine is {:?}, source is {:?}",
            copy.engine, item.engine
        ));
    }
    if copy.allocated_storage != item.allocated_storage {
        problems.push(format!(
            "allocated storage is {} GiB, source is {} GiB",
            copy.allocated_storage, item.allocated_storage
        ));
    }
    (problems, note)
}

pub async fn verify<S: Snapshots + SnapshotWrites>(
    cfg: &FailsafeConfig,
    store: &S,
    input: VerifyInput,
) -> Result<VerifyOutput> {
    let r = &input.snapshot;
    let copy = describe_required(store, r.kind, &r.id, || {
        format!("Failsafe copy {} does not exist", r.id)
    })
    .await?;
    let (problems, note) = verification_problems(cfg, &input.item, &copy);
    if !problems.is_empty() {
        warn!(action = "verify-failed", snapshot = %copy.id, problems = %problems.join("; "), "verification failed");
        return Err(FailsafeError::new(
            ErrorKind::VerifyFailed,
            format!("{}: {}", copy.id, problems.join("; ")),
        ));
    }
    if !copy.tags.contains_key(VERIFIED) {
        let tags = [(VERIFIED.to_string(), format_time(input.now))].into();
        store.add_tags(&copy.arn, &tags).await?;
    }
    info!(action = "verify", snapshot = %copy.id, "verified");
    // the figures of a copy this run started (save says how); one a run before it started has none
    let figures = match input.save_outcome {
        Some(SaveOutcome::Copying) => CopyFigures::of(input.copy.as_ref(), input.copy_seconds),
        _ => None,
    };
    if let Some(f) = &figures {
        let item = &input.item;
        info!(action = "copy-time", snapshot = %copy.id, seconds = f.seconds, mode = f.mode.as_str(),
            moved_gib = ?f.moved_gib,
            why = input.copy.as_ref().map_or("", |e| e.reason.as_str()), "Failsafe copy made");
        println!(
            "{}",
            copy_time_metric(&item.source_account, &item.source_id, f, input.now)
        );
    }
    Ok(VerifyOutput {
        verified: true,
        snapshot: SnapshotRef::from(&copy),
        note,
        copy: figures,
    })
}
