//! The handler of `verify`: checks a finished Failsafe copy (status, key owner, tags, engine, storage) and marks it verified.

use super::SaveItem;
use crate::arn::Arn;
use crate::config::FailsafeConfig;
use crate::contract::metric;
use crate::error::{ErrorKind, FailsafeError, Result};
use crate::live::SnapshotRef;
use crate::model::{Snapshot, SnapshotKind};
use crate::policy::tags::{format_time, tag_mismatches, Provenance, VERIFIED};
use crate::port::{SnapshotWrites, Snapshots};
use crate::store::describe_required;
use crate::wire::{SaveOutcome, VerifyInput, VerifyOutput};
use tracing::{info, warn};

/// A CloudWatch EMF record of one Failsafe copy this run made: the seconds from its first look
/// until it was seen available (an upper bound, by the polling's granularity, that includes any
/// time RDS kept it queued) and, for a DB instance, its size. Every Failsafe copy is a full copy
/// (a copy of a Live share copy: docs/aws-facts.md, "Copy physics"), so the size is what it
/// moved and what it is billed for; an Aurora snapshot does not report its size
/// (`AllocatedStorage` is 1), so a cluster copy has none. Per source and as a roll-up.
pub fn copy_time_metric(
    source_account: &str,
    source_id: &str,
    seconds: u64,
    size_gib: Option<i32>,
    now: chrono::DateTime<chrono::Utc>,
) -> serde_json::Value {
    let mut metrics = vec![serde_json::json!({"Name": metric::COPY_SECONDS, "Unit": "Seconds"})];
    if size_gib.is_some() {
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
        "CopyMode": "full",
        (metric::COPY_SECONDS): seconds
    });
    if let Some(gib) = size_gib {
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
    if let (Some(SaveOutcome::Copying), Some(seconds)) = (input.save_outcome, input.copy_seconds) {
        let item = &input.item;
        info!(action = "copy-time", snapshot = %copy.id, seconds, size_gib = copy.allocated_storage,
            mode = "full", "a copy of a share copy is a full copy");
        println!(
            "{}",
            copy_time_metric(
                &item.source_account,
                &item.source_id,
                seconds,
                (copy.kind == SnapshotKind::Instance).then_some(copy.allocated_storage),
                input.now
            )
        );
    }
    Ok(VerifyOutput {
        verified: true,
        snapshot: SnapshotRef::from(&copy),
        note,
    })
}
