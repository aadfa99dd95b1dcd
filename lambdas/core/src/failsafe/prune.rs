//! The handler of `prune`: applies Failsafe retention (GFS or RETENTION days, never below MIN_KEEP) and emits the newest-copy-age metric.

use super::source_id_in_name;
use crate::arn::Arn;
use crate::config::FailsafeConfig;
use crate::contract::metric;
use crate::error::{describe_failure, failure_cause, Result};
use crate::model::{Snapshot, SnapshotKind};
use crate::policy::bounded::Bounded;
use crate::policy::copy::{dated_after_run, is_failed_managed_copy};
use crate::policy::hold::hold_of;
use crate::policy::map_results::{ChildResult, FailedChild};
use crate::policy::retention::{plan_retention, CopyFacts, Kept, Tier};
use crate::policy::tags::{is_managed, Provenance};
use crate::port::{SnapshotWrites, Snapshots};
use crate::store::{delete_if_present, own_managed_copies};
use crate::wire::{
    CopyTotals, FailsafeSummary, ItemOutcome, ItemRef, ItemResult, NotSaved, PruneInput,
    PruneOutput, RetentionReport, SourceRetention,
};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use tracing::{info, warn};

impl ItemRef {
    /// The Live account: named, or read off the shared snapshot's ARN.
    pub fn account(&self) -> String {
        self.source_account
            .clone()
            .or_else(|| Some(Arn::parse(self.source_arn.as_deref()?)?.account))
            .unwrap_or_default()
    }
    /// The database: named, or read off the shared snapshot's name.
    pub fn source_id(&self) -> String {
        self.source_id
            .clone()
            .or_else(|| source_id_in_name(self.source_arn.as_deref()?))
            .unwrap_or_default()
    }
    /// What an operator recognises: the shared snapshot, else the database and its account.
    pub fn name(&self) -> String {
        self.source_arn
            .clone()
            .unwrap_or_else(|| format!("{}:{} of {}", self.kind, self.source_id(), self.account()))
    }
}

/// An item whose child execution failed without a record of its own: `failed`, with the
/// child's error; the item is the one the child's input (the Map's `ItemSelector`) names.
impl ChildResult for ItemResult {
    fn from_failed_child(child: &FailedChild) -> std::result::Result<Self, String> {
        Ok(ItemResult {
            outcome: ItemOutcome::Failed,
            item: child.input_field("item")?,
            error: Some(child.error_name()),
            cause: child.cause_with_execution(),
            copy: None,
        })
    }
}

/// `saved`/`planned`: target ids; `failed`: `target (from source): Error: message`, then every
/// announced snapshot that is missing, with its likely cause, and every snapshot the quota left out.
pub fn summarize_items(results: &[ItemResult], not_saved: &NotSaved) -> FailsafeSummary {
    let (mut saved, mut planned, mut failed) = (Bounded::new(), Bounded::new(), Vec::new());
    let copies = CopyTotals::of(results.iter().filter_map(|r| match (r.outcome, &r.copy) {
        (ItemOutcome::Saved, Some(c)) => Some((r.item.name(), c)),
        _ => None,
    }));
    for r in results {
        match r.outcome {
            ItemOutcome::Saved => saved.push(r.item.name()),
            ItemOutcome::Planned => planned.push(r.item.name()),
            ItemOutcome::Failed => failed.push(format!(
                "{} ({}:{} of {}): {}",
                r.item.name(),
                r.item.kind,
                r.item.source_id(),
                r.item.account(),
                describe_failure(r.error.as_deref(), r.cause.as_deref())
            )),
        }
    }
    for m in &not_saved.missing {
        failed.push(format!(
            "{}: AnnouncedSnapshotNotSaved: the trigger message announced it, but this run cannot save it: {}",
            m.arn, m.reason
        ));
    }
    for l in &not_saved.left_out {
        failed.push(format!("{}: SnapshotQuotaExceeded: {}", l.arn, l.reason));
    }
    let unlisted_missing = not_saved
        .missing_count
        .saturating_sub(not_saved.missing.len())
        + not_saved
            .left_out_count
            .saturating_sub(not_saved.left_out.len());
    let failure_cause = failure_cause(&failed, failed.len() + unlisted_missing);
    let failed_all = Bounded::from(failed);
    FailsafeSummary {
        saved_count: saved.count,
        saved: saved.first,
        planned_count: planned.count,
        planned: planned.first,
        failed_count: failed_all.count + unlisted_missing,
        failed: failed_all.first,
        failure_cause,
        copies,
    }
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
                "Namespace": metric::NAMESPACE,
                "Dimensions": [["SourceAccount", "SourceId"], []],
                "Metrics": [{"Name": metric::NEWEST_VERIFIED_COPY_AGE_HOURS, "Unit": "None"}]
            }]
        },
        "SourceAccount": source_account,
        "SourceId": source_id,
        (metric::NEWEST_VERIFIED_COPY_AGE_HOURS): age_hours
    })
}

/// A CloudWatch EMF record of one run's outcome: copies saved and copies that failed (failed
/// saves and announced snapshots never found), without dimensions, for the dashboard.
pub fn run_outcome_metric(saved: usize, failed: usize, now: DateTime<Utc>) -> serde_json::Value {
    serde_json::json!({
        "_aws": {
            "Timestamp": now.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": metric::NAMESPACE,
                "Dimensions": [[]],
                "Metrics": [{"Name": metric::COPIES_SAVED, "Unit": "Count"}, {"Name": metric::COPIES_FAILED, "Unit": "Count"}]
            }]
        },
        (metric::COPIES_SAVED): saved,
        (metric::COPIES_FAILED): failed
    })
}

/// The copy-age record `prune` writes for a source: none for a source without a verified copy
/// (the roll-up alarm treats missing data as breaching) or one retired on purpose.
pub fn copy_age_record(
    cfg: &FailsafeConfig,
    source_account: &str,
    source_id: &str,
    age_hours: Option<f64>,
    now: DateTime<Utc>,
) -> Option<serde_json::Value> {
    if cfg.is_retired(source_account, source_id) {
        return None;
    }
    Some(newest_copy_age_metric(
        source_account,
        source_id,
        age_hours?,
        now,
    ))
}

type GroupKey = (String, String, SnapshotKind);

/// The error the Failsafe machine's `TimedOut` state records when it stops waiting for a copy
/// (statemachines/failsafe.asl.json). RDS goes on making that copy and a later run verifies it:
/// the run did not fail to save it, so retention does not wait on it. Waiting, a source whose
/// copies outlast every run (a 3,000 GiB Aurora cluster at `maxWaitSeconds`) was never pruned:
/// `make bench-estate` kept 59 of its copies, 187.5 TiB, by day 60.
pub const COPY_TIMEOUT: &str = "CopyTimeout";

pub async fn prune<S: Snapshots + SnapshotWrites>(
    cfg: &FailsafeConfig,
    store: &S,
    input: PruneInput,
) -> Result<PruneOutput> {
    let now = input.now;
    let failed: BTreeSet<GroupKey> = input
        .results
        .iter()
        .filter(|r| r.outcome == ItemOutcome::Failed && r.error.as_deref() != Some(COPY_TIMEOUT))
        .map(|r| (r.item.account(), r.item.source_id(), r.item.kind))
        .collect();
    let mut groups: BTreeMap<GroupKey, Vec<Snapshot>> = BTreeMap::new();
    for s in own_managed_copies(store).await? {
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
    let mut report = RetentionReport::default();
    let mut sources = Bounded::new();
    for ((account, source_id, kind), all_copies) in groups {
        // A copy that ended `failed` can never be restored and counts against the quota: deleted
        // whatever retention says (the run that saw it fail reported it).
        let (failed_copies, copies): (Vec<Snapshot>, Vec<Snapshot>) =
            all_copies.into_iter().partition(is_failed_managed_copy);
        let mut failed_deleted = Vec::new();
        let mut held_failed = Vec::new();
        for f in &failed_copies {
            // a hold is kept even on a copy that cannot be restored: only break-glass ends it
            if let Some(hold) = hold_of(f) {
                warn!(action = "prune-held", snapshot = %f.id, "failed copy under a legal hold; kept");
                held_failed.push(Kept {
                    id: f.id.clone(),
                    reasons: vec![format!("failed, but under a legal hold: {hold}")],
                    tier: Tier::Held,
                });
                continue;
            }
            if input.dry_run {
                info!(action = "prune", dry_run = true, snapshot = %f.id, "would delete failed copy");
                failed_deleted.push(f.id.clone());
                continue;
            }
            delete_if_present(store, kind, &f.id).await?;
            info!(action = "prune", snapshot = %f.id, "deleted failed copy");
            failed_deleted.push(f.id.clone());
        }
        // A copy dated after this run started (saved before find-shared refused such copies)
        // is kept, but never counted toward retention, the MIN_KEEP floor or the copy age.
        let mut facts: Vec<CopyFacts> = Vec::new();
        let mut future: Vec<Kept> = Vec::new();
        for f in copies.iter().filter_map(CopyFacts::of) {
            match dated_after_run(&[f.source_time], now) {
                Some(reason) => future.push(Kept {
                    id: f.id,
                    reasons: vec![reason],
                    tier: Tier::Other,
                }),
                None => facts.push(f),
            }
        }
        let newest_verified_age_hours = facts
            .iter()
            .filter(|f| f.verified)
            .map(|f| f.source_time)
            .max()
            .map(|t| (now - t).num_seconds() as f64 / 3600.0);
        let retired = cfg.is_retired(&account, &source_id);
        if retired {
            info!(action = "prune-retired", source_account = %account, source_id = %source_id, "retired source: no copy age written");
        }
        if let Some(record) =
            copy_age_record(cfg, &account, &source_id, newest_verified_age_hours, now)
        {
            println!("{record}");
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
            retired,
        };
        if input.dry_run {
            entry.would_delete = failed_deleted;
        } else {
            entry.deleted = failed_deleted;
        }
        if failed.contains(&key) {
            entry.not_pruned = Some(
                "a save of this source failed in this run; retention waits for a good run".into(),
            );
            entry.kept = facts
                .iter()
                .map(|f| Kept {
                    id: f.id.clone(),
                    reasons: vec!["not pruned this run".into()],
                    tier: Tier::Other,
                })
                .chain(held_failed)
                .collect();
            report.not_pruned_count += 1;
            report.deleted_count += entry.deleted.len();
            report.would_delete_count += entry.would_delete.len();
            log_retention(&entry);
            sources.push(entry);
            continue;
        }
        let plan = plan_retention(&facts, &cfg.retention, now);
        entry.kept = plan.keep;
        entry.kept.extend(held_failed);
        for kept in future {
            warn!(action = "prune-future", snapshot = %kept.id, "copy dated after this run; kept, not counted");
            entry.kept.push(kept);
        }
        for id in plan.delete {
            let snap = copies
                .iter()
                .find(|s| s.id == id)
                .expect("planned from these copies");
            // the one deletion rule, checked again right before the call; a held copy is never
            // planned for deletion (`plan_retention`), and its role could not delete it
            if !is_managed(&snap.tags) || snap.is_automated() || hold_of(snap).is_some() {
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
        report.deleted_count += entry.deleted.len();
        report.would_delete_count += entry.would_delete.len();
        log_retention(&entry);
        sources.push(entry);
    }
    report.source_count = sources.count;
    report.sources = sources.first;
    let summary = summarize_items(&input.results, &input.not_saved);
    if !input.dry_run {
        println!(
            "{}",
            run_outcome_metric(summary.saved_count, summary.failed_count, now)
        );
    }
    Ok(PruneOutput {
        retention: report,
        summary,
    })
}

fn log_retention(e: &SourceRetention) {
    info!(
        action = "retention",
        source_account = %e.source_account,
        source_id = %e.source_id,
        kind = %e.kind,
        kept = e.kept.len(),
        deleted = ?e.deleted,
        would_delete = ?e.would_delete,
        not_pruned = ?e.not_pruned,
        "retention applied"
    );
}
