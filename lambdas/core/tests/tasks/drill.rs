//! The restore drill's handlers on the in-memory fake: select, restore, check, end (passed,
//! failed, and the one deletion rule of drills).

use crate::common::*;
use rdsf_core::config::DrillConfig;
use rdsf_core::drill::*;
use rdsf_core::error::ErrorKind;
use rdsf_core::model::{DbInstance, SnapshotKind};
use rdsf_core::policy::drill::DrillScope;
use rdsf_core::policy::tags::{DRILL, RESTORE_TESTED};
use rdsf_core::port::fake::FakeStore;
use serde_json::json;
use std::collections::HashMap;

fn drill_config(extra: &[(&str, &str)]) -> DrillConfig {
    let mut env: HashMap<String, String> = [
        ("REGION", REGION),
        ("DRILL_SUBNET_GROUP", "restore-subnets"),
        ("DRILL_SECURITY_GROUPS", "sg-0123456789abcdef0"),
        (
            "DRILL_RECORDS_LOG_GROUP",
            "/rds-failsafe/rds-failsafe-drill/records",
        ),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    DrillConfig::from_env(&env).unwrap()
}

/// The copies the drills restore: data of 03:00 on 2026-11-20.
const TAKEN: &str = "2026-11-20T03:00:00Z";

const RUN: &str = "2026-11-22T06:00:00Z";

async fn select(cfg: &DrillConfig, store: &FakeStore) -> SelectDrillsOutput {
    select_drills(cfg, store, SelectDrillsInput { now: t(RUN) })
        .await
        .unwrap()
}

fn check_input(item: &rdsf_core::policy::drill::DrillItem, elapsed: u64) -> CheckDrillInput {
    serde_json::from_value(json!({"item": item, "elapsedSeconds": elapsed, "pollSeconds": 60, "maxWaitSeconds": 14400})).unwrap()
}

#[test]
fn drill_config_names_the_field_and_the_fix() {
    let e = DrillConfig::from_env(&HashMap::from([("REGION".to_string(), REGION.to_string())]))
        .unwrap_err();
    assert!(
        e.message.contains("DRILL_SUBNET_GROUP is not set"),
        "{}",
        e.message
    );
    let mut env: HashMap<String, String> = HashMap::from([
        ("REGION".into(), REGION.into()),
        ("DRILL_SUBNET_GROUP".into(), "restore-subnets".into()),
        ("DRILL_SECURITY_GROUPS".into(), "sg-1, nope".into()),
    ]);
    let e = DrillConfig::from_env(&env).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidConfig);
    assert!(e.message.contains("DRILL_SECURITY_GROUPS"), "{}", e.message);
    env.insert("DRILL_SECURITY_GROUPS".into(), "sg-12345678".into());
    env.insert("DRILL_SOURCES".into(), "some".into());
    assert!(DrillConfig::from_env(&env)
        .unwrap_err()
        .message
        .contains("DRILL_SOURCES"));
    env.insert("DRILL_SOURCES".into(), "all".into());
    let e = DrillConfig::from_env(&env).unwrap_err();
    assert!(
        e.message.contains("DRILL_RECORDS_LOG_GROUP is not set"),
        "{}",
        e.message
    );
    env.insert(
        "DRILL_RECORDS_LOG_GROUP".into(),
        "/rds-failsafe/x/records".into(),
    );
    assert_eq!(DrillConfig::from_env(&env).unwrap().scope, DrillScope::All);
}

#[tokio::test]
async fn a_passed_drill_restores_waits_deletes_and_tags_the_copy() {
    let cfg = drill_config(&[]);
    let copy = failsafe_copy(SnapshotKind::Instance, "orders", TAKEN, true);
    let store = failsafe_store_with(vec![
        copy.clone(),
        failsafe_copy(SnapshotKind::Instance, "billing", TAKEN, false),
    ]);
    let sel = select(&cfg, &store).await;
    assert_eq!(sel.items.len(), 1);
    assert_eq!(sel.skipped, [format!("{LIVE}:billing: no verified copy")]);
    let item = sel.items[0].clone();
    assert_eq!(item.db_id, "rdsf-drill-orders-202611220600");
    // the smallest class RDS offers for the copy's engine
    assert_eq!(item.instance_class, "db.t4g.micro");

    let out = restore_drill(&cfg, &store, RestoreDrillInput { item: item.clone() })
        .await
        .unwrap();
    assert!(out.started);
    let tags = store.world().instances[0].tags.clone();
    assert_eq!(tags.get(DRILL).map(String::as_str), Some("true"));
    // a retried restore finds its own database
    assert!(
        !restore_drill(&cfg, &store, RestoreDrillInput { item: item.clone() })
            .await
            .unwrap()
            .started
    );

    let first = check_drill(&store, check_input(&item, 0)).await.unwrap();
    assert!(!first.available);
    assert_eq!(
        (first.status.as_str(), first.next_wait_seconds),
        ("creating", 60)
    );
    store
        .world()
        .db_status
        .insert(item.db_id.clone(), "available".into());
    assert!(
        check_drill(&store, check_input(&item, 60))
            .await
            .unwrap()
            .available
    );

    let end: EndDrillInput = serde_json::from_value(
        json!({"item": item, "outcome": "passed", "wait": {"available": true, "elapsedSeconds": 60}, "now": RUN}),
    )
    .unwrap();
    let out = end_drill(&drill_config(&[]), &store, end).await.unwrap();
    assert_eq!(out.deleted, vec![item.db_id.clone()]);
    assert!(store.world().instances.is_empty());
    let tagged = store
        .world()
        .snapshots
        .iter()
        .find(|s| s.id == copy.id)
        .unwrap()
        .tags
        .clone();
    assert_eq!(tagged.get(RESTORE_TESTED).map(String::as_str), Some(RUN));
}

#[tokio::test]
async fn a_failed_restore_is_restore_failed_and_the_clean_up_deletes_the_cluster_and_its_instance()
{
    let cfg = drill_config(&[]);
    let store = failsafe_store_with(vec![failsafe_copy(
        SnapshotKind::Cluster,
        "ledger",
        TAKEN,
        true,
    )]);
    let item = select(&cfg, &store).await.items[0].clone();
    // RDS adds the cluster's instance only once the cluster is available: restore-drill leaves it
    // pending, and the restore's Wait loop looks at the cluster (its time counts) until then
    let first = restore_drill(&cfg, &store, RestoreDrillInput { item: item.clone() })
        .await
        .unwrap();
    assert!(first.started && first.instance_pending, "{first:?}");
    assert!(store.world().instances.is_empty());
    let pending = |elapsed: u64| {
        let mut input = check_input(&item, elapsed);
        input.instance_pending = true;
        input
    };
    let look = check_drill(&store, pending(60)).await.unwrap();
    assert!(!look.available && !look.add_instance, "{look:?}");
    assert!(look.status.ends_with("/-"), "{}", look.status);
    store
        .world()
        .db_status
        .insert(item.db_id.clone(), "available".into());
    let look = check_drill(&store, pending(120)).await.unwrap();
    assert!(!look.available && look.add_instance, "{look:?}");
    let again = restore_drill(&cfg, &store, RestoreDrillInput { item: item.clone() })
        .await
        .unwrap();
    assert!(!again.started, "the second call finds its own cluster");
    assert!(!again.instance_pending);
    assert_eq!(
        store.world().instances[0].cluster_id.as_deref(),
        Some(item.db_id.as_str())
    );
    // from then on the loop looks at both, the cluster and its instance (still creating)
    let look = check_drill(&store, check_input(&item, 180)).await.unwrap();
    assert!(!look.available && !look.add_instance, "{look:?}");
    assert_eq!(look.status, "available/creating");
    store
        .world()
        .db_status
        .insert(item.db_id.clone(), "incompatible-restore".into());
    let e = check_drill(&store, check_input(&item, 120))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::RestoreFailed);
    assert!(
        e.message
            .contains("ended in status incompatible-restore/creating"),
        "{}",
        e.message
    );

    let end: EndDrillInput = serde_json::from_value(json!({"item": item, "outcome": "failed", "now": RUN,
        "error": {"Error": "RestoreFailed", "Cause": json!({"errorType": "RestoreFailed", "errorMessage": e.message}).to_string()}})).unwrap();
    let out = end_drill(&drill_config(&[]), &store, end).await.unwrap();
    assert_eq!(
        out.deleted,
        [item.member_id.clone().unwrap(), item.db_id.clone()]
    );
    assert!(out
        .cause
        .unwrap()
        .starts_with("RestoreFailed: the restore of"));
    let w = store.world();
    assert!(w.instances.is_empty() && w.clusters.is_empty());
    assert!(
        !w.snapshots[0].tags.contains_key(RESTORE_TESTED),
        "a failed drill tags nothing"
    );
}

#[tokio::test]
async fn a_drill_never_deletes_a_database_it_did_not_make() {
    let cfg = drill_config(&[]);
    let store = failsafe_store_with(vec![failsafe_copy(
        SnapshotKind::Instance,
        "orders",
        TAKEN,
        true,
    )]);
    let item = select(&cfg, &store).await.items[0].clone();
    // someone's database under the drill's name, without the drill tag
    store.world().instances.push(DbInstance {
        id: item.db_id.clone(),
        arn: format!("arn:aws:rds:{REGION}:{FAILSAFE}:db:{}", item.db_id),
        cluster_id: None,
        engine: "postgres".into(),
        ..Default::default()
    });
    let e = restore_drill(&cfg, &store, RestoreDrillInput { item: item.clone() })
        .await
        .unwrap_err();
    assert!(
        e.message.contains("was not made by a restore drill"),
        "{}",
        e.message
    );
    let end: EndDrillInput =
        serde_json::from_value(json!({"item": item, "outcome": "failed", "now": RUN})).unwrap();
    let e = end_drill(&drill_config(&[]), &store, end)
        .await
        .unwrap_err();
    assert!(e.message.contains("not deleted"), "{}", e.message);
    assert_eq!(store.world().instances.len(), 1);
    assert!(store
        .world()
        .mutations
        .iter()
        .all(|m| !m.starts_with("delete-db")));
}

#[tokio::test]
async fn a_source_rds_offers_no_class_for_is_skipped_naming_the_fix() {
    let mut mysql = failsafe_copy(SnapshotKind::Instance, "billing", TAKEN, true);
    mysql.engine = "mysql".into();
    let store = failsafe_store_with(vec![
        failsafe_copy(SnapshotKind::Instance, "orders", TAKEN, true),
        mysql,
    ]);
    let sel = select(&drill_config(&[("DRILL_SOURCES", "all")]), &store).await;
    assert_eq!(sel.items.len(), 1);
    assert_eq!(sel.items[0].source_id, "orders");
    assert_eq!(sel.skipped.len(), 1);
    assert!(
        sel.skipped[0].starts_with(&format!(
            "{LIVE}:billing: RDS offers no DB instance class for mysql 16.4"
        )) && sel.skipped[0].ends_with("set restoreDrill.instanceClass"),
        "{:?}",
        sel.skipped
    );
    // the deployment's class is taken as it is, and RDS is not asked
    store
        .world()
        .throttle
        .insert("DescribeOrderableDBInstanceOptions".into(), 99);
    let named = select(
        &drill_config(&[
            ("DRILL_SOURCES", "all"),
            ("DRILL_INSTANCE_CLASS", "db.m6i.large"),
        ]),
        &store,
    )
    .await;
    assert_eq!(named.items.len(), 2);
    assert!(named
        .items
        .iter()
        .all(|i| i.instance_class == "db.m6i.large"));
}

#[tokio::test]
async fn nothing_to_drill_is_an_error_not_a_passed_drill() {
    let cfg = drill_config(&[]);
    let store = failsafe_store_with(vec![failsafe_copy(
        SnapshotKind::Instance,
        "orders",
        TAKEN,
        false,
    )]);
    let e = select_drills(&cfg, &store, SelectDrillsInput { now: t(RUN) })
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::SnapshotNotFound);
    assert!(e.message.contains("nothing to drill"), "{}", e.message);
}

#[test]
fn the_drill_metric_is_per_source_and_rolled_up() {
    let item: rdsf_core::policy::drill::DrillItem = serde_json::from_value(json!({
        "kind": "instance", "sourceAccount": LIVE, "sourceId": "orders", "copyId": "c", "copyArn": "a",
        "dataTime": "2026-11-20T03:00:00Z", "engine": "postgres", "dbId": "rdsf-drill-orders-202611220600",
        "instanceClass": "db.t4g.micro"})).unwrap();
    let m = drill_metric(&item, true, Some(600), None, t(RUN));
    assert_eq!(
        m["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["SourceAccount", "SourceId"], []])
    );
    assert_eq!(
        (
            m["DrillPassed"].as_u64(),
            m["DrillFailed"].as_u64(),
            m["RestoreSeconds"].as_u64()
        ),
        (Some(1), Some(0), Some(600))
    );
    // a failed drill whose restore finished (its checks failed) still has its restore time; one
    // whose restore did not finish has none
    let f = drill_metric(&item, false, Some(600), Some(false), t(RUN));
    assert_eq!(
        (
            f["DrillFailed"].as_u64(),
            f["RestoreSeconds"].as_u64(),
            f["DrillRtoBreached"].as_u64()
        ),
        (Some(1), Some(600), Some(0))
    );
    let f = drill_metric(&item, false, None, None, t(RUN));
    assert_eq!(
        (
            f["DrillFailed"].as_u64(),
            f.get("RestoreSeconds"),
            f.get("DrillRtoBreached")
        ),
        (Some(1), None, None)
    );
}

/// A drill's restore against its source's restore time target: over it, the output and the
/// metric say so (the deployment alarms on `DrillRtoBreached`); within it, 0; without one, nothing.
/// The restore is judged on its own, passed drill or failed.
#[tokio::test]
async fn a_drill_s_restore_is_measured_against_its_restore_time_target() {
    let copy = failsafe_copy(SnapshotKind::Instance, "orders", TAKEN, true);
    let store = failsafe_store_with(vec![copy.clone()]);
    let cfg = drill_config(&[("DRILL_RTO_MINUTES", r#"{"orders": 30, "*": 240}"#)]);
    let item = json!({
        "kind": "instance", "sourceAccount": LIVE, "sourceId": "orders", "copyId": copy.id,
        "copyArn": copy.arn, "dataTime": TAKEN, "engine": "postgres", "engineVersion": "16.3",
        "dbId": "rdsf-drill-orders-202611200300", "instanceClass": "db.t4g.micro"
    });
    let end = |seconds: u64| -> EndDrillInput {
        serde_json::from_value(
            json!({"item": item, "outcome": "passed", "wait": {"available": true, "elapsedSeconds": seconds}, "now": RUN}),
        )
        .unwrap()
    };
    let over = end_drill(&cfg, &store, end(1900)).await.unwrap();
    assert_eq!(
        (over.rto_minutes, over.rto_breached),
        (Some(30), Some(true))
    );
    let within = end_drill(&cfg, &store, end(1800)).await.unwrap();
    assert_eq!(
        (within.rto_minutes, within.rto_breached),
        (Some(30), Some(false))
    );
    let none = end_drill(&drill_config(&[]), &store, end(1900))
        .await
        .unwrap();
    assert_eq!((none.rto_minutes, none.rto_breached), (None, None));
    // a drill that failed before its restore finished, and before the target passed: nothing to
    // judge; one whose restore finished late, or was still restoring after the target, breached
    // it whatever the checks then found
    let failed = |wait: serde_json::Value| -> EndDrillInput {
        serde_json::from_value(json!({"item": item, "outcome": "failed", "wait": wait, "now": RUN}))
            .unwrap()
    };
    let early = end_drill(
        &cfg,
        &store,
        failed(json!({"available": false, "elapsedSeconds": 600})),
    )
    .await
    .unwrap();
    assert_eq!(
        (early.restore_seconds, early.rto_minutes, early.rto_breached),
        (None, Some(30), None)
    );
    let not_started: EndDrillInput =
        serde_json::from_value(json!({"item": item, "outcome": "failed", "now": RUN})).unwrap();
    let not_started = end_drill(&cfg, &store, not_started).await.unwrap();
    assert_eq!(
        (not_started.restore_seconds, not_started.rto_breached),
        (None, None)
    );
    let checks_failed = end_drill(
        &cfg,
        &store,
        failed(json!({"available": true, "elapsedSeconds": 1900})),
    )
    .await
    .unwrap();
    assert_eq!(
        (checks_failed.restore_seconds, checks_failed.rto_breached),
        (Some(1900), Some(true))
    );
    let timed_out = end_drill(
        &cfg,
        &store,
        failed(json!({"available": false, "elapsedSeconds": 7200, "status": "creating"})),
    )
    .await
    .unwrap();
    assert_eq!(
        (timed_out.restore_seconds, timed_out.rto_breached),
        (None, Some(true))
    );

    let parsed = |breached: Option<bool>| {
        let item: rdsf_core::policy::drill::DrillItem =
            serde_json::from_value(item.clone()).unwrap();
        drill_metric(&item, true, Some(1900), breached, t(RUN))
    };
    assert_eq!(parsed(Some(true))["DrillRtoBreached"], 1);
    assert_eq!(parsed(Some(false))["DrillRtoBreached"], 0);
    assert!(parsed(None).get("DrillRtoBreached").is_none());
    let bad = DrillConfig::from_env(
        &[
            ("REGION", REGION),
            ("DRILL_SUBNET_GROUP", "s"),
            ("DRILL_SECURITY_GROUPS", "sg-0123456789abcdef0"),
            ("DRILL_RTO_MINUTES", r#"{"orders": 0}"#),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect::<HashMap<_, _>>(),
    )
    .unwrap_err();
    assert!(
        bad.message.contains("DRILL_RTO_MINUTES") && bad.message.contains("from 1 to 4320"),
        "{}",
        bad.message
    );
}

#[tokio::test]
async fn a_drill_whose_checks_failed_records_every_check_its_times_and_no_restore_tested_tag() {
    let copy = failsafe_copy(SnapshotKind::Instance, "orders", TAKEN, true);
    let store = failsafe_store_with(vec![copy.clone()]);
    let item = json!({
        "kind": "instance", "sourceAccount": LIVE, "sourceId": "orders", "copyId": copy.id,
        "copyArn": copy.arn, "dataTime": TAKEN, "engine": "postgres", "engineVersion": "16.3",
        "dbId": "rdsf-drill-orders-202611220600", "instanceClass": "db.t4g.micro"
    });
    // as drill.asl.json's ChecksFailed hands it to the clean-up
    let validation = json!({"checked": true, "passed": false, "database": "app", "validateSeconds": 2,
        "checks": [{"check": "select count(*) from orders", "value": "12", "bound": "at least 1000", "passed": false}],
        "failure": "check `select count(*) from orders` returned 12, expected at least 1000"});
    let end: EndDrillInput = serde_json::from_value(json!({"item": item, "outcome": "failed", "now": RUN,
        "drillStarted": "2026-11-22T06:00:30Z", "endedAt": "2026-11-22T06:10:30Z", "validation": validation,
        "error": {"Error": "ChecksFailed", "Cause": "check `select count(*) from orders` returned 12, expected at least 1000"}}))
    .unwrap();
    let out = end_drill(&drill_config(&[]), &store, end).await.unwrap();
    assert!(out.data_checked);
    assert_eq!(
        (out.validate_seconds, out.total_seconds),
        (Some(2), Some(600))
    );
    assert!(
        out.cause
            .as_deref()
            .unwrap()
            .contains("returned 12, expected at least 1000"),
        "{:?}",
        out.cause
    );
    let w = store.world();
    let [(_, _, line)] = w.records.as_slice() else {
        panic!("{:?}", w.records)
    };
    let record: rdsf_core::policy::drill::DrillRecord = serde_json::from_str(line).unwrap();
    assert_eq!(
        (
            record.outcome.as_str(),
            record.data_checked,
            record.database.as_deref()
        ),
        ("failed", true, Some("app"))
    );
    assert_eq!(record.checks.len(), 1);
    assert_eq!(record.checks[0].value.as_deref(), Some("12"));
    let tags = &w.snapshots.iter().find(|s| s.id == copy.id).unwrap().tags;
    assert!(
        !tags.contains_key(RESTORE_TESTED),
        "a copy whose data failed its checks is not restore-tested"
    );
}
