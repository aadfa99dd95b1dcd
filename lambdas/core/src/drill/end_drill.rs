//! The handler of `end-drill`: deletes the drill's database (only one tagged
//! `rds-failsafe:drill=true`; a cluster's instance first), then records the result: the copy's
//! `rds-failsafe:restore-tested` tag when it passed, and the drill metric either way, with the
//! restore time against the source's target (`restoreDrill.rtoMinutes`), and the drill's record
//! (`policy::drill::DrillRecord`) in the drills' log group.

use crate::config::DrillConfig;
use crate::contract::metric;
use crate::error::{describe_failure, ErrorKind, FailsafeError, Result};
use crate::model::SnapshotKind;
use crate::policy::drill::{record_stream, DrillItem, DrillRecord};
use crate::policy::tags::{format_time, is_drill, DRILL, RESTORE_TESTED};
use crate::port::{Databases, DrillRecords, Restores, SnapshotWrites, StoreErrorKind};
use crate::wire::{DrillOutcome, EndDrillInput, EndDrillOutput};
use chrono::{DateTime, Utc};
use tracing::{info, warn};

/// A CloudWatch EMF record of one drill, per source and rolled up: `DrillPassed`/`DrillFailed`
/// (1 or 0); `RestoreSeconds` when the restore finished (whether the checks then passed or not);
/// and with a target, once it can be judged, `DrillRtoBreached` (1 when the restore took longer
/// than the source's `rtoMinutes`, else 0; the deployment alarms on it).
pub fn drill_metric(
    item: &DrillItem,
    passed: bool,
    restore_seconds: Option<u64>,
    rto_breached: Option<bool>,
    now: DateTime<Utc>,
) -> serde_json::Value {
    let mut metrics = vec![
        serde_json::json!({"Name": metric::DRILL_PASSED, "Unit": "Count"}),
        serde_json::json!({"Name": metric::DRILL_FAILED, "Unit": "Count"}),
    ];
    let mut record = serde_json::json!({
        "SourceAccount": item.source_account,
        "SourceId": item.source_id,
        (metric::DRILL_PASSED): u8::from(passed),
        (metric::DRILL_FAILED): u8::from(!passed),
    });
    if let Some(s) = restore_seconds {
        metrics.push(serde_json::json!({"Name": metric::RESTORE_SECONDS, "Unit": "Seconds"}));
        record[metric::RESTORE_SECONDS] = s.into();
    }
    if let Some(breached) = rto_breached {
        metrics.push(serde_json::json!({"Name": metric::DRILL_RTO_BREACHED, "Unit": "Count"}));
        record[metric::DRILL_RTO_BREACHED] = u8::from(breached).into();
    }
    record["_aws"] = serde_json::json!({
        "Timestamp": now.timestamp_millis(),
        "CloudWatchMetrics": [{
            "Namespace": metric::NAMESPACE,
            "Dimensions": [["SourceAccount", "SourceId"], []],
            "Metrics": metrics
        }]
    });
    record
}

/// Deletes one database if it is there and a drill made it; `Ok(false)` if it was not there.
async fn delete_drill_db<S: Databases + Restores>(
    store: &S,
    kind: SnapshotKind,
    id: &str,
) -> Result<bool> {
    let Some(db) = store.describe_db(kind, id).await? else {
        return Ok(false);
    };
    if !is_drill(&db.tags) {
        // the one deletion rule of drills: only what a drill made (IAM says the same)
        return Err(FailsafeError::new(
            ErrorKind::InvalidInput,
            format!("{kind} {id} has no {DRILL}=true tag: not deleted"),
        ));
    }
    if db.status == "deleting" {
        return Ok(true);
    }
    match store.delete_db(kind, id).await {
        Ok(()) => Ok(true),
        Err(e) if e.kind == StoreErrorKind::NotFound => Ok(false),
        // a cluster whose instance is still there, a database that is modifying or still creating:
        // the state machine retries
        Err(e) if e.kind == StoreErrorKind::InvalidState => Err(FailsafeError::new(
            ErrorKind::CleanupPending,
            format!("{kind} {id} cannot be deleted yet: {}", e.message),
        )),
        Err(e) => Err(e.into()),
    }
}

pub async fn end_drill<S: SnapshotWrites + Databases + Restores + DrillRecords>(
    cfg: &DrillConfig,
    store: &S,
    input: EndDrillInput,
) -> Result<EndDrillOutput> {
    let item = &input.item;
    let passed = input.outcome == DrillOutcome::Passed;
    let rto_minutes = cfg.rto.for_source(&item.source_account, &item.source_id);
    // the restore is judged on its own: a restore that finished late breached its target even
    // when the checks then failed, and one still restoring when the target passed did too
    let restore_seconds = input.wait.restore_seconds();
    let breached = input.wait.rto_breached(rto_minutes);
    let mut deleted = Vec::new();
    if let Some(member) = &item.member_id {
        if delete_drill_db(store, SnapshotKind::Instance, member).await? {
            deleted.push(member.clone());
        }
    }
    if delete_drill_db(store, item.kind, &item.db_id).await? {
        deleted.push(item.db_id.clone());
    }
    let cause = input.error.as_ref().map(|e| {
        describe_failure(
            e.get("Error").and_then(|v| v.as_str()),
            e.get("Cause").and_then(|v| v.as_str()),
        )
    });
    if passed {
        let tags = [(RESTORE_TESTED.to_string(), format_time(input.now))].into();
        store.add_tags(&item.copy_arn, &tags).await?;
        info!(action = "end-drill", copy = %item.copy_id, restore_seconds = ?restore_seconds, "drill passed");
    } else {
        warn!(action = "end-drill", copy = %item.copy_id, cause = ?cause, "drill failed");
    }
    if breached == Some(true) {
        warn!(action = "end-drill-rto", copy = %item.copy_id, restore_seconds = ?restore_seconds, elapsed_seconds = input.wait.elapsed_seconds, rto_minutes = ?rto_minutes, "restore took longer than the source's target");
    }
    println!(
        "{}",
        drill_metric(
            item,
            passed,
            restore_seconds,
            breached,
            input.ended_at.unwrap_or(input.now)
        )
    );
    let ended = input.ended_at.unwrap_or(input.now);
    let validation = input.validation.clone().unwrap_or_default();
    let output = EndDrillOutput {
        outcome: input.outcome,
        source: format!("{}:{}", item.source_account, item.source_id),
        copy_id: item.copy_id.clone(),
        restore_seconds,
        rto_minutes,
        rto_breached: breached,
        validate_seconds: validation.validate_seconds,
        total_seconds: input
            .drill_started
            .and_then(|s| u64::try_from((ended - s).num_seconds()).ok()),
        data_checked: validation.checked,
        checks_run: validation.checks.len(),
        checks_failed: validation.checks.iter().filter(|c| !c.passed).count(),
        deleted,
        cause,
    };
    // the evidence: one record per drill, passed or failed, where nobody but break-glass can
    // delete it (the guardrails); a record that cannot be written fails this task (retried)
    let record = DrillRecord {
        source: output.source.clone(),
        kind: item.kind,
        copy_id: item.copy_id.clone(),
        copy_arn: item.copy_arn.clone(),
        snapshot_time: item.data_time,
        engine: item.engine.clone(),
        engine_version: item.engine_version.clone(),
        instance_class: item.instance_class.clone(),
        db_id: item.db_id.clone(),
        outcome: if passed { "passed" } else { "failed" }.into(),
        started: input.now,
        ended,
        restore_seconds,
        rto_minutes,
        rto_breached: breached,
        validate_seconds: output.validate_seconds,
        total_seconds: output.total_seconds,
        data_checked: output.data_checked,
        database: validation.database.clone(),
        checks: validation.checks.clone(),
        cause: output.cause.clone(),
        deleted: output.deleted.clone(),
        ran_by: input
            .execution
            .clone()
            .unwrap_or_else(|| "end-drill".into()),
    };
    let line = serde_json::to_string(&record).expect("a record serializes");
    store
        .append_record(&cfg.records_log_group, &record_stream(ended), &line)
        .await?;
    Ok(output)
}
