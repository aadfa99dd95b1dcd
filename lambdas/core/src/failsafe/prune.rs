//! The handler of `prune`: applies Failsafe retention (GFS or RETENTION days, never below MIN_KEEP) and emits the newest-copy-age metric.

use super::{Ignored, SaveItem};
use crate::config::FailsafeConfig;
use crate::error::{describe_failure, failure_cause, Result};
use crate::model::{Snapshot, SnapshotKind};
use crate::policy::copy::source_time;
use crate::policy::retention::{plan_retention, CopyFacts, Kept};
use crate::policy::tags::{is_managed, Provenance, VERIFIED};
use crate::port::{delete_if_present, SnapshotStore};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use tracing::{info, warn};

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
    /// Announced snapshots `find-shared` could not find (runs a message started): failures.
    #[serde(default)]
    pub missing: Vec<Ignored>,
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
    /// The execution's error cause when something failed (see [`failure_cause`]).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub failure_cause: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PruneOutput {
    pub sources: Vec<SourceRetention>,
    pub summary: FailsafeSummary,
}

/// `saved`/`planned`: target ids; `failed`: `target (from source): Error: message`, then every
/// announced snapshot that is missing, with its likely cause.
pub fn summarize_items(results: &[ItemResult], missing: &[Ignored]) -> FailsafeSummary {
    let mut s = FailsafeSummary::default();
    for r in results {
        match r.outcome.as_str() {
            "saved" => s.saved.push(r.item.target_id.clone()),
            "planned" => s.planned.push(r.item.target_id.clone()),
            _ => s.failed.push(format!(
                "{} (from {}): {}",
                r.item.target_id,
                r.item.source_arn,
                describe_failure(r.error.as_deref(), r.cause.as_deref())
            )),
        }
    }
    for m in missing {
        s.failed.push(format!(
            "{}: AnnouncedSnapshotNotSaved: the trigger message announced it, but this run cannot save it: {}",
            m.arn, m.reason
        ));
    }
    s.failed_count = s.failed.len();
    s.failure_cause = failure_cause(&s.failed);
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
    for s in super::find_shared::own_managed(store).await? {
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
        summary: summarize_items(&input.results, &input.missing),
    })
}
