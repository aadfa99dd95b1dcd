//! The I/O the `rdsf` command line and the task Lambdas share, over the same port: what an
//! operator runs in the Failsafe account — read the tool's copies and the quota (`status`), restore
//! a copy (`restore`) — and the [`preflight`], which the Live state machine runs before it changes
//! anything and `rdsf preflight` runs for either side. The decisions are the pure functions of
//! [`crate::policy::status`], [`crate::policy::restore`] and [`crate::policy::preflight`].

pub mod preflight;

use crate::config::Retention;
use crate::error::{ErrorKind, FailsafeError, Result};
use crate::model::SnapshotKind;
use crate::policy::copy::source_time;
use crate::policy::cost::{tier_totals, TierCost};
use crate::policy::drill::{records_of, DrillRecord, RestoreProgress};
use crate::policy::hold::{
    copies_to_hold, copies_to_release, hold_of, hold_value, HoldSelection, HOLD,
};
use crate::policy::restore::{plan_restore, RestoreOptions, RestorePlan};
use crate::policy::status::{
    group_by_source, match_source, pick_copy, source_statuses, CopyRef, Freshness, Prices,
    SourceKey, SourceStatus,
};
use crate::port::{
    ClusterInstanceRequest, Databases, DrillRecords, Restores, SnapshotWrites, Snapshots, Untagging,
};
use crate::store::own_managed_copies;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One kind's manual snapshot quota in the account and region.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct QuotaView {
    pub kind: SnapshotKind,
    pub used: i64,
    pub max: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    pub now: DateTime<Utc>,
    pub region: String,
    pub max_age_hours: f64,
    pub sources: Vec<SourceStatus>,
    /// What every DB instance source's copies hold, and a month of it at `prices`
    /// (`policy::cost`); Aurora clusters' copies are not counted, their size being unknown.
    pub stored_gib: i64,
    pub monthly_usd: f64,
    /// The same copies as incremental chains (`policy::cost::chain_gib`), and a month of it.
    pub chain_gib: i64,
    pub chain_monthly_usd: f64,
    pub usd_per_gb_month: f64,
    pub change_per_day: f64,
    /// Every source's copies by retention tier, summed (`SourceStatus::tiers`), with the
    /// retention they follow; or why copies are not split by tier.
    pub tiers: Vec<TierCost>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tiers_not_shown: Option<String>,
    /// `rds-failsafe:managed` copies whose provenance tags are incomplete.
    pub unattributed_copies: usize,
    pub quotas: Vec<QuotaView>,
    /// What the operator must look at; empty when every source is fresh.
    pub problems: Vec<String>,
}

impl StatusReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Per source, the newest verified copy against `max_age_hours`; the account's quota use; with
/// the deployment's `retention` (`Err`: why it is not known), the copies and their cost by the
/// tier that keeps them. An account with no copies at all is a problem, not an empty success:
/// the profile or region is likely wrong, or nothing was ever saved.
pub async fn status<S: Snapshots>(
    store: &S,
    region: &str,
    now: DateTime<Utc>,
    max_age_hours: f64,
    prices: Prices,
    retention: std::result::Result<&Retention, String>,
) -> Result<StatusReport> {
    let snapshots = own_managed_copies(store).await?;
    let grouped = group_by_source(&snapshots);
    let sources = source_statuses(
        &grouped,
        now,
        max_age_hours,
        prices,
        retention.as_ref().ok().copied(),
    );
    let tiers = tier_totals(sources.iter().flat_map(|s| &s.tiers));
    let mut quotas = Vec::new();
    for kind in [SnapshotKind::Instance, SnapshotKind::Cluster] {
        if let Some(q) = store.snapshot_quota(kind).await? {
            quotas.push(QuotaView {
                kind,
                used: q.used,
                max: q.max,
            });
        }
    }
    let mut problems = Vec::new();
    if grouped.live_share_copies > 0 {
        problems.push(format!(
            "{} share copies of a Live account are here: this is a Live account; run rdsf with the Failsafe account's profile",
            grouped.live_share_copies
        ));
    }
    if sources.is_empty() {
        problems.push(format!(
            "no rds-failsafe copies in region {region}: is the profile the Failsafe account's and the region the Failsafe stack's? Has a Failsafe run saved anything yet?"
        ));
    }
    for s in &sources {
        let name = format!("{}:{}", s.source_account, s.source_id);
        match (s.freshness, s.age_hours) {
            (Freshness::Missing, _) => {
                problems.push(format!("{name}: no verified copy ({} copies)", s.copies))
            }
            (Freshness::Stale, Some(age)) => problems.push(format!(
                "{name}: newest verified copy is {age:.1} h old, over {max_age_hours} h"
            )),
            _ => {}
        }
        if let Some(w) = &s.key_warning {
            problems.push(format!("{name}: newest verified copy {w}"));
        }
    }
    for q in &quotas {
        if q.max > 0 && q.used * 10 >= q.max * 9 {
            problems.push(format!(
                "{} snapshot quota {} of {} used: copies fail when it is full (raise it in Service Quotas or lower retention)",
                q.kind, q.used, q.max
            ));
        }
    }
    Ok(StatusReport {
        now,
        region: region.to_string(),
        max_age_hours,
        stored_gib: sources.iter().filter_map(|s| s.stored_gib).sum(),
        monthly_usd: sources.iter().filter_map(|s| s.monthly_usd).sum(),
        chain_gib: sources.iter().filter_map(|s| s.chain_gib).sum(),
        chain_monthly_usd: sources.iter().filter_map(|s| s.chain_monthly_usd).sum(),
        usd_per_gb_month: prices.usd_per_gb_month,
        change_per_day: prices.change_per_day,
        sources,
        tiers,
        retention: retention.as_ref().ok().map(|r| r.to_string()),
        tiers_not_shown: retention.err(),
        unattributed_copies: grouped.unattributed,
        quotas,
        problems,
    })
}

/// What `rdsf hold` or `rdsf release` did to one source's copies.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HoldReport {
    pub source_account: String,
    pub source_id: String,
    /// `held` or `released`.
    pub action: &'static str,
    /// The copies the tag was placed on or taken off.
    pub copies: Vec<CopyRef>,
    /// The hold's value (`policy::hold::hold_value`), for a hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold: Option<String>,
}

/// The copies of `source` (`<source-id>` or `<account>:<source-id>`), grouped as `status` groups
/// them; an unknown or ambiguous name is `InvalidInput` naming the sources there are.
async fn source_copies<S: Snapshots>(
    store: &S,
    source: &str,
) -> Result<(SourceKey, Vec<crate::model::Snapshot>)> {
    let snapshots = own_managed_copies(store).await?;
    let grouped = group_by_source(&snapshots);
    let keys: Vec<SourceKey> = grouped.sources.keys().cloned().collect();
    let key = match_source(&keys, source).map_err(FailsafeError::input)?;
    let copies = grouped.sources[&key].iter().map(|s| (*s).clone()).collect();
    Ok((key, copies))
}

/// The copies named (a grouped copy has its provenance, hence its data time).
fn copy_refs(copies: &[&crate::model::Snapshot]) -> Vec<CopyRef> {
    copies
        .iter()
        .filter_map(|s| Some(CopyRef::of(s, source_time(s)?)))
        .collect()
}

/// Places a legal hold on copies of `source` (`policy::hold`): the tag's value says when and why.
/// A copy already held keeps its first hold's value. Under the guardrails only break-glass may.
pub async fn hold<S: Snapshots + SnapshotWrites>(
    store: &S,
    source: &str,
    selection: HoldSelection,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<HoldReport> {
    let value = hold_value(reason, now).map_err(FailsafeError::input)?;
    let (key, all) = source_copies(store, source).await?;
    let refs: Vec<&crate::model::Snapshot> = all.iter().collect();
    let chosen = copies_to_hold(&refs, selection)
        .map_err(|e| FailsafeError::input(format!("{}:{}: {e}", key.0, key.1)))?;
    for s in chosen.iter().filter(|s| hold_of(s).is_none()) {
        let tags = [(HOLD.to_string(), value.clone())].into_iter().collect();
        store
            .add_tags(&s.arn, &tags)
            .await
            .map_err(|e| guarded("hold", e))?;
    }
    Ok(HoldReport {
        source_account: key.0.clone(),
        source_id: key.1.clone(),
        action: "held",
        copies: copy_refs(&chosen),
        hold: Some(value),
    })
}

/// Releases the legal hold of copies of `source`; `prune` then applies retention to them again.
/// Under the guardrails only break-glass may.
pub async fn release<S: Snapshots + Untagging>(
    store: &S,
    source: &str,
    selection: HoldSelection,
) -> Result<HoldReport> {
    let (key, all) = source_copies(store, source).await?;
    let refs: Vec<&crate::model::Snapshot> = all.iter().collect();
    let chosen = copies_to_release(&refs, selection)
        .map_err(|e| FailsafeError::input(format!("{}:{}: {e}", key.0, key.1)))?;
    for s in &chosen {
        store
            .remove_tags(&s.arn, &[HOLD.to_string()])
            .await
            .map_err(|e| guarded("release", e))?;
    }
    Ok(HoldReport {
        source_account: key.0.clone(),
        source_id: key.1.clone(),
        action: "released",
        copies: copy_refs(&chosen),
        hold: None,
    })
}

/// A refused hold or release most likely met the guardrails: say who may.
fn guarded(what: &str, e: crate::port::StoreError) -> FailsafeError {
    let denied = e.code.contains("AccessDenied") || e.code.contains("UnauthorizedOperation");
    let err = FailsafeError::from(e);
    if !denied {
        return err;
    }
    err.hinted(format_args!(
        "under the guardrails only the break-glass role, signed in with MFA, may {what} a copy (docs/security.md, \"Break-glass runbook\")"
    ))
}

/// `rdsf drills`: the drills' records (`policy::drill::DrillRecord`), newest first.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DrillsReport {
    pub log_group: String,
    pub records: Vec<DrillRecord>,
    /// Lines of the log group that are not a drill's record (someone else wrote there).
    pub foreign_lines: usize,
}

/// The log group the default drill machine's records go to (`names.drillRecordsLogGroup`).
pub fn default_drill_records_log_group() -> String {
    crate::contract::name::DRILL_RECORDS_LOG_GROUP.replace("{drillMachine}", "rds-failsafe-drill")
}

/// The drills' records in `log_group`, of `source` if given. None at all is an error naming what
/// to check: an auditor's empty report must not read as "nothing failed".
pub async fn drills<S: DrillRecords>(
    store: &S,
    log_group: &str,
    source: Option<&str>,
) -> Result<DrillsReport> {
    let lines = store.read_records(log_group).await.map_err(|e| {
        FailsafeError::from(e).hinted(format_args!(
            "is {log_group} the drills' log group (restoreDrill in cdk.json; --log-group names another) and the profile the Failsafe account's?"
        ))
    })?;
    let (records, foreign_lines) = records_of(&lines, source);
    if records.is_empty() {
        return Err(FailsafeError::input(match source {
            Some(s) => format!("no drill record of {s} in {log_group} ({} records of other sources): has a drill restored it yet?", lines.len() - foreign_lines),
            None => format!("no drill record in {log_group}: is the restore drill on (restoreDrill in cdk.json), and has it run?"),
        }));
    }
    Ok(DrillsReport {
        log_group: log_group.to_string(),
        records,
        foreign_lines,
    })
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RestoreReport {
    pub source_account: String,
    pub source_id: String,
    pub copy: CopyRef,
    pub plan: RestorePlan,
    pub dry_run: bool,
    /// What RDS returned: the new instance's or cluster's ARN, then the cluster member's.
    pub created: Vec<String>,
}

/// Picks the copy of `source` (newest verified, or newest verified at or before `at`), plans
/// its restore and, unless `dry_run`, makes the calls. A source or copy that cannot be found is
/// `InvalidInput` naming what is there instead.
pub async fn restore<S: Snapshots + Restores>(
    store: &S,
    region: &str,
    source: &str,
    at: Option<DateTime<Utc>>,
    opts: &RestoreOptions,
    dry_run: bool,
) -> Result<RestoreReport> {
    let (key, all) = source_copies(store, source).await?;
    let copies: Vec<&crate::model::Snapshot> = all.iter().collect();
    let (copy, data_time) = pick_copy(&copies, at)
        .map_err(|e| FailsafeError::input(format!("{}:{}: {e}", key.0, key.1)))?;
    let plan = plan_restore(copy, &key.1, data_time, region, opts).map_err(FailsafeError::input)?;
    let mut created = Vec::new();
    if !dry_run {
        // a cluster's DB instance is added once the cluster is available (`add_cluster_instance`)
        created.push(store.restore_snapshot(&plan.restore).await?);
    }
    Ok(RestoreReport {
        source_account: key.0.clone(),
        source_id: key.1.clone(),
        copy: CopyRef::of(copy, data_time),
        plan,
        dry_run,
        created,
    })
}

/// Where a restored cluster stands: RDS adds a DB instance to it only once it is available.
pub async fn cluster_progress<S: Databases>(
    store: &S,
    cluster_id: &str,
) -> Result<(RestoreProgress, String)> {
    crate::drill::db_progress(store, SnapshotKind::Cluster, cluster_id)
        .await?
        .ok_or_else(|| {
            FailsafeError::new(
                ErrorKind::RestoreFailed,
                format!("cluster {cluster_id} is gone"),
            )
        })
}

/// Creates a restored cluster's first DB instance (the plan's second command).
pub async fn add_cluster_instance<S: Restores>(
    store: &S,
    request: &ClusterInstanceRequest,
) -> Result<String> {
    store.create_cluster_instance(request).await.map_err(|e| {
        FailsafeError::new(
            ErrorKind::AwsError,
            format!(
                "cluster {} was restored, but its first DB instance was not created: {e}; run the second command by hand",
                request.cluster_id
            ),
        )
    })
}
