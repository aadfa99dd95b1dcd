//! The Failsafe account's task handlers. Safe even if the Live account is hostile: a message
//! only wakes the state machine up; what is saved is what `find-shared` finds itself; nothing
//! here deletes or overwrites a copy because of anything a Live account sent.

use crate::arn::Arn;
use crate::config::FailsafeConfig;
use crate::error::{ErrorKind, FailsafeError, Result};
use crate::live::SnapshotRef;
use crate::message::FailsafeMessage;
use crate::model::{snapshot_type, Snapshot, SnapshotKind};
use crate::naming::{failsafe_copy_id, parse_share_copy_id};
use crate::policy::{copy_encryption, source_time};
use crate::retention::{plan_retention, CopyFacts, Kept};
use crate::store::{
    delete_if_present, describe_required, CopyRequest, SnapshotQuery, SnapshotStore, StartOutcome,
    StoreErrorKind,
};
use crate::tags::{
    format_time, is_managed, tag_mismatches, Provenance, SOURCE_SNAPSHOT_ARN, VERIFIED,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use tracing::{info, warn};

// ---------------------------------------------------------------------------------------------
// start-failsafe (SNS subscriber)

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Rejected {
    pub message_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartOutput {
    pub started: Vec<String>,
    pub duplicates: Vec<String>,
    pub rejected: Vec<Rejected>,
}

/// Handles an SNS event. A malformed or foreign message is logged and rejected without an
/// error, so SNS does not redeliver it forever; only a failure to reach Step Functions is an
/// error (and is retried).
pub async fn start_failsafe(
    cfg: &FailsafeConfig,
    store: &dyn SnapshotStore,
    event: serde_json::Value,
) -> Result<StartOutput> {
    let state_machine = cfg.require_state_machine_arn()?;
    let mut out = StartOutput::default();
    let Some(records) = event.get("Records").and_then(|r| r.as_array()) else {
        let reason = "event has no Records array; not an SNS event".to_string();
        warn!(action = "trigger-reject", reason = %reason, "rejected");
        out.rejected.push(Rejected {
            message_id: String::new(),
            reason,
        });
        return Ok(out);
    };
    for record in records {
        let sns = record.get("Sns");
        let message_id = sns
            .and_then(|s| s.get("MessageId"))
            .and_then(|m| m.as_str())
            .unwrap_or("")
            .to_string();
        let body = sns.and_then(|s| s.get("Message")).and_then(|m| m.as_str());
        let parsed = match body {
            None => Err("record has no Sns.Message string".to_string()),
            Some(b) => FailsafeMessage::parse(b, &cfg.source_accounts),
        };
        let msg = match parsed {
            Ok(m) => m,
            Err(reason) => {
                warn!(action = "trigger-reject", message_id = %message_id, reason = %reason, "rejected message");
                out.rejected.push(Rejected { message_id, reason });
                continue;
            }
        };
        let name = msg.execution_name();
        let input = serde_json::json!({
            "trigger": {
                "messageId": message_id,
                "sourceAccount": msg.source_account,
                "sourceRegion": msg.source_region,
                "snapshots": msg.snapshots.iter().map(|s| s.arn.clone()).collect::<Vec<_>>(),
            }
        });
        match store
            .start_execution(state_machine, &name, &input.to_string())
            .await?
        {
            StartOutcome::Started { execution_arn } => {
                info!(action = "trigger-start", message_id = %message_id, execution = %execution_arn, "started Failsafe execution");
                out.started.push(execution_arn);
            }
            StartOutcome::AlreadyExists => {
                info!(action = "trigger-duplicate", message_id = %message_id, execution = %name, "duplicate delivery; execution exists");
                out.duplicates.push(name);
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// find-shared

/// One shared snapshot to save; recomputed and re-checked by `save`, never trusted blindly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SaveItem {
    pub kind: SnapshotKind,
    pub source_arn: String,
    pub source_account: String,
    pub source_region: String,
    pub source_id: String,
    pub source_create_time: DateTime<Utc>,
    pub target_id: String,
    pub encrypted: bool,
    pub engine: String,
    pub allocated_storage: i32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ignored {
    pub arn: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FindOutput {
    pub items: Vec<SaveItem>,
    pub already_saved: usize,
    pub ignored: Vec<Ignored>,
}

/// What a shared snapshot would become, or why it is none of ours.
pub fn plan_item(cfg: &FailsafeConfig, s: &Snapshot) -> Result<SaveItem, String> {
    let arn = Arn::parse(&s.arn).ok_or_else(|| "not an ARN".to_string())?;
    if !cfg.source_accounts.contains(&arn.account) {
        return Err(format!(
            "shared by account {}, which is not an allowed Live account",
            arn.account
        ));
    }
    let id = arn
        .rds_snapshot_id()
        .ok_or_else(|| "not an RDS snapshot ARN".to_string())?;
    let (name, stamp_time) = parse_share_copy_id(id)
        .ok_or_else(|| "not named like an rds-failsafe share copy".to_string())?;
    let source_create_time = s.original_create_time.unwrap_or(stamp_time);
    let target_id = failsafe_copy_id(&arn.account, &name, stamp_time).map_err(|e| e.message)?;
    Ok(SaveItem {
        kind: s.kind,
        source_arn: s.arn.clone(),
        source_account: arn.account.clone(),
        source_region: arn.region.clone(),
        source_id: if s.source_id.is_empty() {
            name
        } else {
            s.source_id.clone()
        },
        source_create_time,
        target_id,
        encrypted: s.encrypted,
        engine: s.engine.clone(),
        allocated_storage: s.allocated_storage,
    })
}

/// Managed copies this account owns, both kinds.
async fn own_managed(store: &dyn SnapshotStore) -> Result<Vec<Snapshot>> {
    let mut out = Vec::new();
    for kind in [SnapshotKind::Instance, SnapshotKind::Cluster] {
        let q = SnapshotQuery {
            source_id: None,
            snapshot_type: Some(snapshot_type::MANUAL),
        };
        out.extend(
            store
                .list_snapshots(kind, &q)
                .await?
                .into_iter()
                .filter(|s| is_managed(&s.tags)),
        );
    }
    Ok(out)
}

pub async fn find_shared(cfg: &FailsafeConfig, store: &dyn SnapshotStore) -> Result<FindOutput> {
    let own = own_managed(store).await?;
    let saved_ids: BTreeSet<&str> = own.iter().map(|s| s.id.as_str()).collect();
    let saved_arns: BTreeSet<&str> = own
        .iter()
        .filter_map(|s| s.tags.get(SOURCE_SNAPSHOT_ARN))
        .map(String::as_str)
        .collect();
    let mut out = FindOutput::default();
    for kind in [SnapshotKind::Instance, SnapshotKind::Cluster] {
        let q = SnapshotQuery {
            source_id: None,
            snapshot_type: Some(snapshot_type::SHARED),
        };
        for s in store.list_snapshots(kind, &q).await? {
            match plan_item(cfg, &s) {
                Err(reason) => out.ignored.push(Ignored {
                    arn: s.arn.clone(),
                    reason,
                }),
                Ok(_) if !s.is_available() => out.ignored.push(Ignored {
                    arn: s.arn.clone(),
                    reason: format!("status {}; picked up once available", s.status),
                }),
                Ok(item)
                    if saved_ids.contains(item.target_id.as_str())
                        || saved_arns.contains(item.source_arn.as_str()) =>
                {
                    out.already_saved += 1;
                }
                Ok(item) => {
                    info!(action = "find", source = %item.source_arn, target = %item.target_id, "to save");
                    out.items.push(item);
                }
            }
        }
    }
    for i in &out.ignored {
        info!(action = "find-ignore", snapshot = %i.arn, reason = %i.reason, "ignored shared snapshot");
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// save

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SaveInput {
    pub item: SaveItem,
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SaveOutput {
    /// `copying`, `exists` or `planned`.
    pub outcome: String,
    pub item: SaveItem,
    pub snapshot: SnapshotRef,
    pub cross_region: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

pub async fn save(
    cfg: &FailsafeConfig,
    store: &dyn SnapshotStore,
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
    if planned.target_id != item.target_id {
        return Err(FailsafeError::input(format!(
            "item.targetId {} does not match the deterministic name {}",
            item.target_id, planned.target_id
        )));
    }
    let cross_region = planned.source_region != cfg.region;

    if let Some(existing) = store
        .describe_snapshot(planned.kind, &planned.target_id)
        .await?
    {
        // Never deleted and re-copied: an existing copy is kept whatever a message says.
        info!(action = "save-exists", target = %existing.id, status = %existing.status, "Failsafe copy exists already");
        return Ok(SaveOutput {
            outcome: "exists".into(),
            snapshot: SnapshotRef::from(&existing),
            item: planned,
            cross_region,
            note: None,
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
            outcome: "planned".into(),
            item: planned,
            snapshot: planned_ref,
            cross_region,
            note: enc.note,
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
                outcome: "exists".into(),
                snapshot: SnapshotRef::from(&existing),
                item: planned,
                cross_region,
                note: None,
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
        outcome: "copying".into(),
        snapshot: SnapshotRef::from(&copy),
        item: planned,
        cross_region,
        note: enc.note,
    })
}

// ---------------------------------------------------------------------------------------------
// verify

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyInput {
    pub item: SaveItem,
    pub snapshot: SnapshotRef,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyOutput {
    pub verified: bool,
    pub snapshot: SnapshotRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
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

pub async fn verify(
    cfg: &FailsafeConfig,
    store: &dyn SnapshotStore,
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
    Ok(VerifyOutput {
        verified: true,
        snapshot: SnapshotRef::from(&copy),
        note,
    })
}

// ---------------------------------------------------------------------------------------------
// prune

/// One item's result, as the Failsafe Map iteration leaves it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemResult {
    /// `saved`, `planned` or `failed`.
    pub outcome: String,
    pub item: SaveItem,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PruneInput {
    pub now: DateTime<Utc>,
    #[serde(default)]
    pub results: Vec<ItemResult>,
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceRetention {
    pub source_account: String,
    pub source_id: String,
    pub kind: SnapshotKind,
    pub kept: Vec<Kept>,
    pub deleted: Vec<String>,
    pub would_delete: Vec<String>,
    pub newest_verified_age_hours: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_pruned: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailsafeSummary {
    pub saved: Vec<String>,
    pub planned: Vec<String>,
    pub failed: Vec<String>,
    pub failed_count: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PruneOutput {
    pub sources: Vec<SourceRetention>,
    pub summary: FailsafeSummary,
}

pub fn summarize_items(results: &[ItemResult]) -> FailsafeSummary {
    let mut s = FailsafeSummary::default();
    for r in results {
        match r.outcome.as_str() {
            "saved" => s.saved.push(r.item.target_id.clone()),
            "planned" => s.planned.push(r.item.target_id.clone()),
            _ => s.failed.push(format!(
                "{} (from {}): {}: {}",
                r.item.target_id,
                r.item.source_arn,
                r.error.as_deref().unwrap_or("Failed"),
                r.cause.as_deref().unwrap_or("no cause given")
            )),
        }
    }
    s.failed_count = s.failed.len();
    s
}

/// A CloudWatch Embedded Metric Format record: the age of a source's newest verified copy.
/// The deployment alarms when it is too old or missing — a dead-man's switch for the chain.
pub fn newest_copy_age_metric(
    source_account: &str,
    source_id: &str,
    age_hours: f64,
    now: DateTime<Utc>,
) -> serde_json::Value {
    serde_json::json!({
        "_aws": {
            "Timestamp": now.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": "RdsFailsafe",
                "Dimensions": [["SourceAccount", "SourceId"], []],
                "Metrics": [{"Name": "NewestVerifiedCopyAgeHours", "Unit": "None"}]
            }]
        },
        "SourceAccount": source_account,
        "SourceId": source_id,
        "NewestVerifiedCopyAgeHours": age_hours
    })
}

type GroupKey = (String, String, SnapshotKind);

pub async fn prune(
    cfg: &FailsafeConfig,
    store: &dyn SnapshotStore,
    input: PruneInput,
) -> Result<PruneOutput> {
    let now = input.now;
    let failed: BTreeSet<GroupKey> = input
        .results
        .iter()
        .filter(|r| r.outcome == "failed")
        .map(|r| {
            (
                r.item.source_account.clone(),
                r.item.source_id.clone(),
                r.item.kind,
            )
        })
        .collect();
    let mut groups: BTreeMap<GroupKey, Vec<Snapshot>> = BTreeMap::new();
    for s in own_managed(store).await? {
        match Provenance::from_tags(&s.tags) {
            Some(p) => groups
                .entry((p.source_account, p.source_id, p.kind))
                .or_default()
                .push(s),
            None => {
                warn!(action = "prune-skip", snapshot = %s.id, "managed copy with incomplete provenance tags; left alone")
            }
        }
    }
    let mut sources = Vec::new();
    for ((account, source_id, kind), copies) in groups {
        let facts: Vec<CopyFacts> = copies
            .iter()
            .filter_map(|s| {
                Some(CopyFacts {
                    id: s.id.clone(),
                    source_time: source_time(s)?,
                    verified: s.is_available() && s.tags.contains_key(VERIFIED),
                })
            })
            .collect();
        let newest_verified_age_hours = facts
            .iter()
            .filter(|f| f.verified)
            .map(|f| f.source_time)
            .max()
            .map(|t| (now - t).num_seconds() as f64 / 3600.0);
        if let Some(age) = newest_verified_age_hours {
            println!("{}", newest_copy_age_metric(&account, &source_id, age, now));
        }
        let key = (account.clone(), source_id.clone(), kind);
        let mut entry = SourceRetention {
            source_account: account,
            source_id,
            kind,
            kept: vec![],
            deleted: vec![],
            would_delete: vec![],
            newest_verified_age_hours,
            not_pruned: None,
        };
        if failed.contains(&key) {
            entry.not_pruned = Some(
                "a save of this source failed in this run; retention waits for a good run".into(),
            );
            entry.kept = facts
                .iter()
                .map(|f| Kept {
                    id: f.id.clone(),
                    reasons: vec!["not pruned this run".into()],
                })
                .collect();
            sources.push(entry);
            continue;
        }
        let plan = plan_retention(&facts, &cfg.retention, now);
        entry.kept = plan.keep;
        for id in plan.delete {
            let snap = copies
                .iter()
                .find(|s| s.id == id)
                .expect("planned from these copies");
            // the one deletion rule, checked again right before the call
            if !is_managed(&snap.tags) || snap.is_automated() {
                continue;
            }
            if input.dry_run {
                info!(action = "prune", dry_run = true, snapshot = %id, "would delete");
                entry.would_delete.push(id);
                continue;
            }
            delete_if_present(store, kind, &id).await?;
            info!(action = "prune", snapshot = %id, "deleted by retention");
            entry.deleted.push(id);
        }
        sources.push(entry);
    }
    Ok(PruneOutput {
        sources,
        summary: summarize_items(&input.results),
    })
}
