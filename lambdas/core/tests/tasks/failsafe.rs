//! Every Failsafe handler on the in-memory fake, with a hostile Live account in mind.

use crate::common::*;
use rdsf_core::error::ErrorKind;
use rdsf_core::failsafe::*;
use rdsf_core::live::SnapshotRef;
use rdsf_core::model::{Snapshot, SnapshotKind};
use rdsf_core::policy::copy::CopyMode;
use rdsf_core::policy::message::{FailsafeMessage, MessageSnapshot};
use rdsf_core::policy::tags;
use rdsf_core::port::fake::FakeStore;
use serde_json::json;

const OTHER_LIVE: &str = "999999999999";

/// A share copy made by `account`, visible here as shared.
fn shared(
    account: &str,
    region: &str,
    kind: SnapshotKind,
    source: &str,
    created: &str,
) -> Snapshot {
    let id = rdsf_core::policy::naming::share_copy_id(kind, source, t(created)).unwrap();
    let mut s = snapshot(account, region, kind, &id, source, "shared", created);
    // a share copy: its data time is the automated snapshot's, its own time when it was copied
    s.original_create_time = Some(t(created));
    s.create_time = Some(t(created) + chrono::Duration::minutes(20));
    // RDS names a cluster copy's origin (the automated snapshot), not an instance copy's
    s.copied_from = (kind == SnapshotKind::Cluster).then(|| {
        format!("arn:aws:rds:{region}:{account}:cluster-snapshot:rds:{source}-2026-11-20-03-00")
    });
    s.encrypted = true;
    s.kms_key_id = Some(format!("arn:aws:kms:{region}:{account}:key/share"));
    s
}

fn sns_event(body: &str) -> serde_json::Value {
    json!({"Records": [{"EventSource": "aws:sns", "Sns": {"MessageId": "m-1", "Message": body}}]})
}

fn message(account: &str) -> FailsafeMessage {
    FailsafeMessage {
        version: 1,
        source_account: account.into(),
        source_region: REGION.into(),
        snapshots: vec![MessageSnapshot {
            arn: format!("arn:aws:rds:{REGION}:{account}:snapshot:rdsf-orders-202611220300"),
            kind: SnapshotKind::Instance,
            source_id: "orders".into(),
            source_create_time: t("2026-11-22T03:00:00Z"),
        }],
    }
}

#[tokio::test]
async fn trigger_starts_once_and_duplicates_are_no_ops() {
    let cfg = failsafe_config(&[]);
    let store = failsafe_store();
    let event = sns_event(&message(LIVE).to_json());
    let first = start_failsafe(&cfg, &store, event.clone()).await.unwrap();
    assert_eq!(first.started.len(), 1);
    assert!(first.started[0].starts_with(
        "arn:aws:states:eu-west-1:222222222222:execution:rds-failsafe:sns-111111111111-"
    ));
    let second = start_failsafe(&cfg, &store, event).await.unwrap();
    assert!(second.started.is_empty());
    assert_eq!(second.duplicates.len(), 1);
    assert_eq!(store.world().executions.len(), 1);
    let input: serde_json::Value = serde_json::from_str(&store.world().executions[0].1).unwrap();
    assert_eq!(input["trigger"]["sourceAccount"], LIVE);
    // without MAX_CONCURRENCY the state machine's default applies
    assert!(input.get("maxConcurrency").is_none(), "{input}");
}

#[tokio::test]
async fn a_triggered_run_copies_as_many_at_once_as_the_schedule_says() {
    let cfg = failsafe_config(&[("MAX_CONCURRENCY", "20")]);
    let store = failsafe_store();
    start_failsafe(&cfg, &store, sns_event(&message(LIVE).to_json()))
        .await
        .unwrap();
    let input: serde_json::Value = serde_json::from_str(&store.world().executions[0].1).unwrap();
    assert_eq!(input["maxConcurrency"], 20);
    for bad in ["0", "21", "many"] {
        let e =
            rdsf_core::config::FailsafeConfig::from_env(&failsafe_env(&[("MAX_CONCURRENCY", bad)]))
                .unwrap_err();
        assert!(
            e.message.contains(&format!(
                "MAX_CONCURRENCY={bad:?} must be a whole number from 1 to 20"
            )),
            "{}",
            e.message
        );
    }
}

#[tokio::test]
async fn a_triggered_run_sizes_its_waits_at_the_deployments_copy_throughput() {
    let cfg = failsafe_config(&[("COPY_THROUGHPUT_MIBPS", "60")]);
    let store = failsafe_store();
    start_failsafe(&cfg, &store, sns_event(&message(LIVE).to_json()))
        .await
        .unwrap();
    let input: serde_json::Value = serde_json::from_str(&store.world().executions[0].1).unwrap();
    assert_eq!(input["copyThroughputMiBps"], 60);
    for bad in ["0", "100001", "fast"] {
        let e = rdsf_core::config::FailsafeConfig::from_env(&failsafe_env(&[(
            "COPY_THROUGHPUT_MIBPS",
            bad,
        )]))
        .unwrap_err();
        assert!(
            e.message.contains(&format!(
                "COPY_THROUGHPUT_MIBPS={bad:?} must be a whole number from 1 to 100000"
            )),
            "{}",
            e.message
        );
    }
}

#[tokio::test]
async fn forged_and_malformed_messages_are_rejected_and_start_nothing() {
    let cfg = failsafe_config(&[]);
    let store = failsafe_store();
    let cases = vec![
        (
            sns_event(&message(OTHER_LIVE).to_json()),
            "not an allowed Live account",
        ),
        (sns_event("{not json"), "not JSON"),
        (
            sns_event(
                &message(LIVE)
                    .to_json()
                    .replace("\"version\":1", "\"version\":7"),
            ),
            "version 7",
        ),
        (
            json!({"Records": [{"Sns": {"MessageId": "x"}}]}),
            "no Sns.Message",
        ),
        (json!({"hello": "world"}), "not an SNS event"),
    ];
    for (event, why) in cases {
        let out = start_failsafe(&cfg, &store, event.clone()).await.unwrap();
        assert!(out.started.is_empty(), "{event}");
        assert_eq!(out.rejected.len(), 1, "{event}");
        assert!(
            out.rejected[0].reason.contains(why),
            "{}: {}",
            why,
            out.rejected[0].reason
        );
    }
    assert!(store.world().executions.is_empty());
    assert!(store.world().mutations.is_empty());
}

#[tokio::test]
async fn trigger_without_state_machine_is_a_config_error() {
    let mut cfg = failsafe_config(&[]);
    cfg.state_machine_arn = None;
    let e = start_failsafe(&cfg, &failsafe_store(), sns_event("{}"))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidConfig);
}

#[tokio::test]
async fn find_shared_takes_only_allowed_accounts_our_naming_and_unsaved() {
    let cfg = failsafe_config(&[]);
    let store = failsafe_store();
    {
        let mut w = store.world();
        w.shared.push(shared(
            LIVE,
            REGION,
            SnapshotKind::Instance,
            "orders",
            "2026-11-22T03:00:00Z",
        ));
        w.shared.push(shared(
            LIVE,
            REGION,
            SnapshotKind::Cluster,
            "aurora",
            "2026-11-22T03:10:00Z",
        ));
        w.shared.push(shared(
            OTHER_LIVE,
            REGION,
            SnapshotKind::Instance,
            "orders",
            "2026-11-22T03:00:00Z",
        ));
        let mut foreign_name = shared(
            LIVE,
            REGION,
            SnapshotKind::Instance,
            "x",
            "2026-11-22T03:00:00Z",
        );
        foreign_name.arn = format!("arn:aws:rds:{REGION}:{LIVE}:snapshot:manual-dump");
        w.shared.push(foreign_name);
        let mut copying = shared(
            LIVE,
            REGION,
            SnapshotKind::Instance,
            "billing",
            "2026-11-22T03:00:00Z",
        );
        copying.status = "copying".into();
        w.shared.push(copying);
        // saved yesterday already
        let old = shared(
            LIVE,
            REGION,
            SnapshotKind::Instance,
            "orders",
            "2026-11-21T03:00:00Z",
        );
        w.shared.push(old);
        let mut saved = snapshot(
            FAILSAFE,
            REGION,
            SnapshotKind::Instance,
            "rdsf-111111111111-orders-202611210300",
            "orders",
            "manual",
            "2026-11-21T04:00:00Z",
        );
        saved.tags.insert(tags::MANAGED.into(), "true".into());
        saved
            .tags
            .insert(tags::VERIFIED.into(), "2026-11-21T05:00:00Z".into());
        w.snapshots.push(saved);
    }
    let out = find_shared(&cfg, &store, FindInput::default())
        .await
        .unwrap();
    let sources: Vec<String> = out.items.iter().filter_map(|i| i.source_id()).collect();
    assert_eq!(sources, ["orders", "aurora"]);
    assert_eq!(out.already_saved, 1);
    assert_eq!(out.ignored.len(), 3);
    assert!(out.items.instances[0]
        .source_arn
        .ends_with(":snapshot:rdsf-orders-202611220300"));
    // each kind in its lane (policy::copy::CopyLanes)
    assert_eq!(out.items.clusters[0].kind, SnapshotKind::Cluster);
    assert_eq!(
        (out.items.instances.len(), out.items.clusters.len()),
        (1, 1)
    );
}

/// Shares `s` with the Failsafe account, finds it and saves it; the copy is then completed.
async fn save_completed(
    cfg: &rdsf_core::config::FailsafeConfig,
    store: &FakeStore,
    s: Snapshot,
) -> (SaveItem, SaveOutput) {
    let item = share_and_find(cfg, store, s).await;
    let out = save_item(cfg, store, item.clone()).await.unwrap();
    store.complete_copies();
    (item, out)
}

/// A real (not dry-run) save of one item.
async fn save_item(
    cfg: &rdsf_core::config::FailsafeConfig,
    store: &FakeStore,
    item: SaveItem,
) -> rdsf_core::error::Result<SaveOutput> {
    save(
        cfg,
        store,
        SaveInput {
            item: SharedItem::from(&item),
            dry_run: false,
            now: None,
            wait: default_wait(),
        },
    )
    .await
}

/// The commonest shared snapshot of these tests: the Live account's `orders`, taken 03:00.
fn live_orders() -> Snapshot {
    shared(
        LIVE,
        REGION,
        SnapshotKind::Instance,
        "orders",
        "2026-11-22T03:00:00Z",
    )
}

/// Shares `s` with the Failsafe account and returns the one item `find-shared` lists for it,
/// as `save` plans it in full.
async fn share_and_find(
    cfg: &rdsf_core::config::FailsafeConfig,
    store: &FakeStore,
    s: Snapshot,
) -> SaveItem {
    store.world().shared.push(s);
    let found = find_shared(cfg, store, FindInput::default())
        .await
        .unwrap()
        .items
        .iter()
        .next()
        .cloned()
        .expect("one item found");
    let listed = store
        .world()
        .shared
        .iter()
        .find(|x| x.arn == found.source_arn)
        .cloned()
        .unwrap();
    let planned = plan_item(cfg, &listed).unwrap();
    assert_eq!(SharedItem::from(&planned), found);
    // the database is written only when the share copy's name does not say it in full
    let named = source_id_in_name(&found.source_arn).as_deref() == Some(planned.source_id.as_str());
    assert_eq!(found.source_id.is_none(), named, "{found:?}");
    assert_eq!(
        found.source_id().as_deref(),
        Some(planned.source_id.as_str())
    );
    planned
}

#[tokio::test]
async fn save_copies_with_the_failsafe_key_and_explicit_tags_then_verify_marks_it() {
    let cfg = failsafe_config(&[]);
    let store = failsafe_store();
    let item = share_and_find(&cfg, &store, live_orders()).await;
    let out = save_item(&cfg, &store, item.clone()).await.unwrap();
    assert_eq!(out.outcome, SaveOutcome::Copying);
    assert!(!out.cross_region);
    assert_eq!(out.snapshot.kms_key_id.as_deref(), Some(FAILSAFE_KEY));
    let copy = store.world().snapshots[0].clone();
    let p = tags::Provenance::from_tags(&copy.tags).unwrap();
    assert_eq!(
        (p.source_account.as_str(), p.source_id.as_str()),
        (LIVE, "orders")
    );
    assert_eq!(p.source_snapshot_arn, item.source_arn);
    store.complete_copies();
    let v = verify(
        &cfg,
        &store,
        VerifyInput {
            item,
            snapshot: out.snapshot,
            now: t("2026-11-22T05:00:00Z"),
            save_outcome: None,
            copy_seconds: None,
            copy: None,
        },
    )
    .await
    .unwrap();
    assert!(v.verified);
    assert_eq!(
        store.world().snapshots[0].tags.get(tags::VERIFIED).unwrap(),
        "2026-11-22T05:00:00Z"
    );
}

#[tokio::test]
async fn an_existing_failsafe_copy_is_never_replaced() {
    let cfg = failsafe_config(&[]);
    let store = failsafe_store();
    let item = share_and_find(&cfg, &store, live_orders()).await;
    // A good copy exists under the deterministic name (e.g. from the backstop run).
    let mut good = snapshot(
        FAILSAFE,
        REGION,
        SnapshotKind::Instance,
        &item.target_id,
        "orders",
        "manual",
        "2026-11-22T04:00:00Z",
    );
    good.tags.insert("marker".into(), "original".into());
    store.world().snapshots.push(good.clone());
    // A forged or repeated run asks to save it again.
    let out = save_item(&cfg, &store, item).await.unwrap();
    assert_eq!(out.outcome, SaveOutcome::Exists);
    let w = store.world();
    assert!(w.mutations.is_empty(), "{:?}", w.mutations);
    assert_eq!(w.snapshots, vec![good]);
}

#[tokio::test]
async fn save_rejects_crafted_items() {
    let cfg = failsafe_config(&[]);
    let store = failsafe_store();
    store.world().shared.push(shared(
        LIVE,
        REGION,
        SnapshotKind::Instance,
        "orders",
        "2026-11-22T03:00:00Z",
    ));
    let item = share_and_find(
        &cfg,
        &store,
        shared(
            OTHER_LIVE,
            REGION,
            SnapshotKind::Instance,
            "orders",
            "2026-11-22T03:00:00Z",
        ),
    )
    .await;
    let mut renamed = item.clone();
    renamed.source_id = "billing".into();
    let e = save_item(&cfg, &store, renamed).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidInput);
    assert!(e.message.contains("item.sourceId"), "{}", e.message);
    let mut foreign = item.clone();
    foreign.source_arn = foreign.source_arn.replace(LIVE, OTHER_LIVE);
    let e = save_item(&cfg, &store, foreign).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidInput);
    assert!(e.message.contains("not an allowed Live account"));
    assert!(store.world().mutations.is_empty());
}

#[tokio::test]
async fn cross_region_source_is_copied_by_arn_in_one_call() {
    let cfg = failsafe_config(&[("SOURCE_REGIONS", "us-east-1")]);
    let store = failsafe_store();
    let item = share_and_find(
        &cfg,
        &store,
        shared(
            LIVE,
            "us-east-1",
            SnapshotKind::Cluster,
            "aurora",
            "2026-11-22T03:00:00Z",
        ),
    )
    .await;
    assert_eq!(item.source_region, "us-east-1");
    assert_eq!(item.target_id, "rdsf-111111111111-aurora-202611220300");
    let out = save_item(&cfg, &store, item.clone()).await.unwrap();
    assert!(out.cross_region);
    assert!(out
        .snapshot
        .arn
        .starts_with("arn:aws:rds:eu-west-1:222222222222:cluster-snapshot:"));
    assert_eq!(
        store.world().mutations,
        vec![format!("copy {} -> {}", item.source_arn, item.target_id)]
    );
    let copy = store.world().snapshots[0].clone();
    assert_eq!(copy.tags.get(tags::SOURCE_REGION).unwrap(), "us-east-1");
}

#[tokio::test]
async fn verify_rejects_a_copy_on_a_live_owned_key_and_missing_tags() {
    let cfg = failsafe_config(&[]);
    let store = failsafe_store();
    let item = share_and_find(&cfg, &store, live_orders()).await;
    save_item(&cfg, &store, item.clone()).await.unwrap();
    store.complete_copies();
    {
        let mut w = store.world();
        w.snapshots[0].kms_key_id = Some("arn:aws:kms:eu-west-1:111111111111:key/share".into());
        w.snapshots[0].tags.remove(tags::SOURCE_ID);
        w.snapshots[0].allocated_storage = 5;
        // what RDS records the copy holds, against what its name and tags say
        w.snapshots[0].source_id = "billing".into();
        // and what RDS records it was copied from
        w.snapshots[0].copied_from =
            Some("arn:aws:rds:eu-west-1:111111111111:snapshot:rdsf-billing-202611220300".into());
    }
    let snap = SnapshotRef::from(&store.world().snapshots[0]);
    let e = verify(
        &cfg,
        &store,
        VerifyInput {
            item,
            snapshot: snap,
            now: t("2026-11-22T05:00:00Z"),
            save_outcome: None,
            copy_seconds: None,
            copy: None,
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::VerifyFailed);
    assert!(
        e.message
            .contains("of account 111111111111, not a key of the Failsafe account"),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("rds-failsafe:source-id missing"),
        "{}",
        e.message
    );
    assert!(
        e.message
            .contains("holds database \"billing\", but its name and tags say \"orders\""),
        "{}",
        e.message
    );
    assert!(
        e.message
            .contains("allocated storage is 5 GiB, source is 100 GiB"),
        "{}",
        e.message
    );
    assert!(
        e.message.contains(
            "copied from arn:aws:rds:eu-west-1:111111111111:snapshot:rdsf-billing-202611220300, not from the shared snapshot"
        ),
        "{}",
        e.message
    );
    assert!(!store.world().snapshots[0].tags.contains_key(tags::VERIFIED));
}

/// `save` of a shared cluster snapshot, asked directly, by a run started at 05:30 on the 22nd.
async fn save_cluster_at_0530(
    cfg: &rdsf_core::config::FailsafeConfig,
    store: &FakeStore,
    arn: String,
) -> rdsf_core::error::Result<SaveOutput> {
    let item = SharedItem {
        kind: SnapshotKind::Cluster,
        source_arn: arn,
        source_id: None,
    };
    let now = Some(t("2026-11-22T05:30:00Z"));
    save(
        cfg,
        store,
        SaveInput {
            item,
            dry_run: false,
            now,
            wait: default_wait(),
        },
    )
    .await
}

/// A cluster share copy whose origin RDS names as anything but an automated snapshot of its own
/// account (a manual snapshot of a tampered database, another account's snapshot) is refused by
/// `save` with VerifyFailed — the run fails and alarms, nothing is copied — while one copied from
/// the automated snapshot is saved.
#[tokio::test]
async fn save_refuses_a_share_copy_not_copied_from_an_automated_snapshot() {
    let cfg = failsafe_config(&[]);
    for (from, refused) in [
        (
            format!("arn:aws:rds:{REGION}:{LIVE}:cluster-snapshot:rds:ledger-2026-11-22-03-00"),
            None,
        ),
        (
            format!("arn:aws:rds:{REGION}:{LIVE}:cluster-snapshot:before-tampering"),
            Some("which is not an automated snapshot"),
        ),
        (
            format!(
                "arn:aws:rds:{REGION}:999999999999:cluster-snapshot:rds:ledger-2026-11-22-03-00"
            ),
            Some("a snapshot of account 999999999999"),
        ),
    ] {
        let store = failsafe_store();
        let mut s = shared(
            LIVE,
            REGION,
            SnapshotKind::Cluster,
            "ledger",
            "2026-11-22T03:00:00Z",
        );
        s.copied_from = Some(from.clone());
        let arn = s.arn.clone();
        store.world().shared.push(s);
        let got = save_cluster_at_0530(&cfg, &store, arn).await;
        match refused {
            None => assert_eq!(got.unwrap().outcome, SaveOutcome::Copying, "{from}"),
            Some(why) => {
                let e = got.unwrap_err();
                assert_eq!(e.kind, ErrorKind::VerifyFailed, "{from}");
                assert!(
                    e.message.contains(why) && e.message.contains(&from),
                    "{}",
                    e.message
                );
                assert!(store.world().mutations.is_empty());
            }
        }
    }
}

#[tokio::test]
async fn unencrypted_cluster_copy_verifies_with_a_note_but_unencrypted_instance_does_not() {
    let cfg = failsafe_config(&[]);
    let unencrypted = |kind, source| {
        let mut s = shared(LIVE, REGION, kind, source, "2026-11-22T03:00:00Z");
        s.encrypted = false;
        s.kms_key_id = None;
        s
    };
    let now = t("2026-11-22T05:00:00Z");

    let store = failsafe_store();
    let (item, out) =
        save_completed(&cfg, &store, unencrypted(SnapshotKind::Cluster, "aurora")).await;
    assert_eq!(out.snapshot.kms_key_id, None);
    let snapshot = out.snapshot;
    let v = verify(
        &cfg,
        &store,
        VerifyInput {
            item,
            snapshot,
            now,
            save_outcome: None,
            copy_seconds: None,
            copy: None,
        },
    )
    .await
    .unwrap();
    assert!(v.note.unwrap().contains("cannot encrypt"));

    let store = failsafe_store();
    let (item, out) =
        save_completed(&cfg, &store, unencrypted(SnapshotKind::Instance, "plain")).await;
    assert_eq!(
        out.snapshot.kms_key_id.as_deref(),
        Some(FAILSAFE_KEY),
        "unencrypted instance snapshots get encrypted"
    );
    // a copy that somehow ended up unencrypted does not pass
    store.world().snapshots[0].encrypted = false;
    let snapshot = SnapshotRef::from(&store.world().snapshots[0]);
    let e = verify(
        &cfg,
        &store,
        VerifyInput {
            item,
            snapshot,
            now,
            save_outcome: None,
            copy_seconds: None,
            copy: None,
        },
    )
    .await
    .unwrap_err();
    assert!(e.message.contains("not encrypted"));
}

/// One prune run with no missing announced snapshots.
async fn prune_run(
    cfg: &rdsf_core::config::FailsafeConfig,
    store: &FakeStore,
    now: chrono::DateTime<chrono::Utc>,
    results: Vec<ItemResult>,
    dry_run: bool,
) -> rdsf_core::error::Result<PruneOutput> {
    let input = PruneInput {
        now,
        results,
        not_saved: NotSaved::default(),
        dry_run,
    };
    prune(cfg, store, input).await
}

/// A Failsafe copy dated after the run (saved before find-shared refused such copies) is kept but
/// never counted: it holds no MIN_KEEP slot, so old copies are pruned as if it were not there,
/// and the copy age is the newest real copy's.
#[tokio::test]
async fn prune_does_not_count_a_copy_dated_after_the_run() {
    let cfg = failsafe_config(&[("RETENTION", "3"), ("MIN_KEEP", "1")]);
    let store = failsafe_store();
    {
        let mut w = store.world();
        w.snapshots.push(failsafe_copy(
            SnapshotKind::Instance,
            "ledger",
            "2099-12-31T23:59:00Z",
            true,
        ));
        w.snapshots.push(failsafe_copy(
            SnapshotKind::Instance,
            "ledger",
            "2026-11-10T03:00:00Z",
            true,
        ));
        w.snapshots.push(failsafe_copy(
            SnapshotKind::Instance,
            "ledger",
            "2026-11-21T03:00:00Z",
            true,
        ));
    }
    let out = prune_run(&cfg, &store, t("2026-11-22T06:00:00Z"), vec![], false)
        .await
        .unwrap();
    let ledger = &out.retention.sources[0];
    assert_eq!(
        ledger.deleted,
        vec!["rdsf-111111111111-ledger-202611100300".to_string()]
    );
    let future = ledger
        .kept
        .iter()
        .find(|k| k.id.contains("2099"))
        .expect("the future copy is kept");
    assert!(
        future.reasons[0].contains("after this run started"),
        "{:?}",
        future.reasons
    );
    // 27 hours: the copy of the 21st, not a negative age from 2099
    assert_eq!(ledger.newest_verified_age_hours, Some(27.0));
}

/// A source retired on purpose keeps its copies under retention and the floor, but no copy age is
/// written for it, so the dead-man's switch stops watching it.
#[tokio::test]
async fn a_retired_source_keeps_its_copies_but_writes_no_copy_age() {
    let cfg = failsafe_config(&[
        ("RETENTION", "3"),
        ("MIN_KEEP", "1"),
        ("RETIRED_SOURCES", &format!("{LIVE}:ledger")),
    ]);
    let now = t("2026-11-22T06:00:00Z");
    assert!(copy_age_record(&cfg, LIVE, "ledger", Some(500.0), now).is_none());
    assert!(copy_age_record(&cfg, LIVE, "orders", Some(27.0), now).is_some());
    assert!(copy_age_record(&cfg, LIVE, "orders", None, now).is_none());
    let store = failsafe_store();
    {
        let mut w = store.world();
        w.snapshots.push(failsafe_copy(
            SnapshotKind::Instance,
            "ledger",
            "2026-10-01T03:00:00Z",
            true,
        ));
        w.snapshots.push(failsafe_copy(
            SnapshotKind::Instance,
            "ledger",
            "2026-10-02T03:00:00Z",
            true,
        ));
    }
    let out = prune_run(&cfg, &store, now, vec![], false).await.unwrap();
    let ledger = &out.retention.sources[0];
    assert!(ledger.retired);
    // retention and the floor still apply: the newest copy stays
    assert_eq!(
        ledger.deleted,
        vec!["rdsf-111111111111-ledger-202610010300".to_string()]
    );
    assert_eq!(ledger.kept.len(), 1);
}

/// A failed item as the Failsafe machine records it: the item `find-shared` listed.
fn item_for(source: &str) -> ItemRef {
    ItemRef {
        kind: SnapshotKind::Instance,
        source_id: None,
        source_account: None,
        source_arn: Some(format!(
            "arn:aws:rds:{REGION}:{LIVE}:snapshot:rdsf-{source}-202611220300"
        )),
    }
}

#[tokio::test]
async fn prune_applies_retention_to_managed_copies_only_and_skips_failed_sources() {
    let cfg = failsafe_config(&[("RETENTION", "3"), ("MIN_KEEP", "2")]);
    let store = failsafe_store();
    {
        let mut w = store.world();
        for d in 10..=22 {
            w.snapshots.push(failsafe_copy(
                SnapshotKind::Instance,
                "orders",
                &format!("2026-11-{d}T03:00:00Z"),
                true,
            ));
            w.snapshots.push(failsafe_copy(
                SnapshotKind::Instance,
                "billing",
                &format!("2026-11-{d}T03:00:00Z"),
                true,
            ));
        }
        w.snapshots.push(failsafe_copy(
            SnapshotKind::Instance,
            "orders",
            "2026-11-01T03:00:00Z",
            false,
        )); // unverified: kept
        let mut unmanaged = failsafe_copy(
            SnapshotKind::Instance,
            "orders",
            "2026-10-01T03:00:00Z",
            true,
        );
        unmanaged.tags.remove(tags::MANAGED);
        w.snapshots.push(unmanaged);
        let mut hand_made = snapshot(
            FAILSAFE,
            REGION,
            SnapshotKind::Instance,
            "before-migration",
            "orders",
            "manual",
            "2025-01-01T00:00:00Z",
        );
        hand_made.tags.insert("team".into(), "dba".into());
        w.snapshots.push(hand_made);
    }
    let results = vec![ItemResult {
        outcome: ItemOutcome::Failed,
        item: item_for("billing"),
        error: Some("CopyFailed".into()),
        cause: Some("status failed".into()),
        copy: None,
    }];
    let now = t("2026-11-22T06:00:00Z");
    let dry = prune_run(&cfg, &store, now, results.clone(), true)
        .await
        .unwrap();
    assert!(store.world().mutations.is_empty());
    let orders = dry
        .retention
        .sources
        .iter()
        .find(|s| s.source_id == "orders")
        .unwrap();
    assert_eq!(orders.would_delete.len(), 10); // 13 verified; 20..22 are at most 3 days old at 06:00 on the 22nd
    let out = prune_run(&cfg, &store, now, results, false).await.unwrap();
    let orders = out
        .retention
        .sources
        .iter()
        .find(|s| s.source_id == "orders")
        .unwrap();
    assert_eq!(orders.deleted.len(), 10);
    assert_eq!(orders.newest_verified_age_hours, Some(3.0));
    let billing = out
        .retention
        .sources
        .iter()
        .find(|s| s.source_id == "billing")
        .unwrap();
    assert!(billing.deleted.is_empty() && billing.not_pruned.is_some());
    assert_eq!(out.summary.failed_count, 1);
    let left: Vec<String> = store
        .world()
        .snapshots
        .iter()
        .map(|s| s.id.clone())
        .collect();
    assert!(left.contains(&"before-migration".to_string()));
    assert!(
        left.contains(&"rdsf-111111111111-orders-202610010300".to_string()),
        "unmanaged kept"
    );
    assert!(
        left.contains(&"rdsf-111111111111-orders-202611010300".to_string()),
        "unverified kept"
    );
    assert_eq!(left.iter().filter(|l| l.contains("-billing-")).count(), 13);
}

#[test]
fn age_metric_is_embedded_metric_format() {
    let m = newest_copy_age_metric(LIVE, "orders", 26.5, t("2026-11-22T06:00:00Z"));
    assert_eq!(
        m["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "RdsFailsafe"
    );
    assert_eq!(
        m["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
        "NewestVerifiedCopyAgeHours"
    );
    assert_eq!(m["NewestVerifiedCopyAgeHours"], 26.5);
    assert_eq!(m["SourceId"], "orders");
    assert_eq!(m["_aws"]["Timestamp"], 1795327200000i64);
}

#[test]
fn run_outcome_metric_counts_saved_and_failed_copies_without_dimensions() {
    let m = run_outcome_metric(3, 1, t("2026-11-22T06:00:00Z"));
    let spec = &m["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(spec["Namespace"], "RdsFailsafe");
    assert_eq!(spec["Dimensions"], json!([[]]));
    let names: Vec<&str> = spec["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["CopiesSaved", "CopiesFailed"]);
    assert_eq!(
        (m["CopiesSaved"].as_u64(), m["CopiesFailed"].as_u64()),
        (Some(3), Some(1))
    );
}

#[tokio::test]
async fn save_dry_run_changes_nothing() {
    let cfg = failsafe_config(&[]);
    let store = failsafe_store();
    let item = share_and_find(&cfg, &store, live_orders()).await;
    let out = save(
        &cfg,
        &store,
        SaveInput {
            item: SharedItem::from(&item),
            dry_run: true,
            now: None,
            wait: default_wait(),
        },
    )
    .await
    .unwrap();
    assert_eq!(out.outcome, SaveOutcome::Planned);
    assert!(store.world().mutations.is_empty() && store.world().snapshots.is_empty());
}

/// The Live account names its share copies, and a cluster snapshot has no original creation time:
/// a cluster share copy named for 2099 is ignored (never saved, never a retention slot, never a
/// negative copy age), and `save` refuses it if asked directly.
#[tokio::test]
async fn a_share_copy_dated_after_the_run_is_never_saved() {
    let cfg = failsafe_config(&[]);
    let store = failsafe_store();
    let mut future = shared(
        LIVE,
        REGION,
        SnapshotKind::Cluster,
        "ledger",
        "2099-12-31T23:59:00Z",
    );
    // RDS's own creation time is real; the name (and with it the claimed time) is the Live side's
    future.create_time = Some(t("2026-11-22T03:10:00Z"));
    future.original_create_time = None;
    let arn = future.arn.clone();
    store.world().shared.push(future);
    store.world().shared.push(live_orders());
    let input = FindInput {
        now: Some(t("2026-11-22T05:30:00Z")),
        ..FindInput::default()
    };
    let out = find_shared(&cfg, &store, input).await.unwrap();
    let found: Vec<&str> = out.items.iter().map(|i| i.source_arn.as_str()).collect();
    assert!(!found.contains(&arn.as_str()), "{found:?}");
    assert_eq!(found.len(), 1);
    let ignored = out
        .ignored
        .iter()
        .find(|i| i.arn == arn)
        .expect("reported as ignored");
    assert!(
        ignored.reason.contains("2099-12-31T23:59:00Z"),
        "{}",
        ignored.reason
    );
    let e = save_cluster_at_0530(&cfg, &store, arn).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidInput);
    assert!(store.world().mutations.is_empty());
}

/// find-shared gets the run's polling settings too: the same check as Live, before anything is
/// listed or copied.
#[tokio::test]
async fn find_shared_refuses_polling_that_would_pass_the_history_quota() {
    let cfg = failsafe_config(&[]);
    let store = failsafe_store();
    let input = |poll: u64| FindInput {
        polling: rdsf_core::policy::polling::Polling {
            poll_seconds: Some(poll),
            max_wait_seconds: Some(86_400),
        },
        ..FindInput::default()
    };
    let e = find_shared(&cfg, &store, input(30)).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidInput);
    assert!(
        e.message.contains("Raise pollSeconds to at least 44"),
        "{}",
        e.message
    );
    assert!(find_shared(&cfg, &store, input(44)).await.is_ok());
}

fn trigger(arns: &[&str]) -> FindInput {
    FindInput {
        execution_input: ExecutionInput {
            trigger: Some(Trigger {
                message_id: "m-1".into(),
                source_account: LIVE.into(),
                source_region: "us-east-1".into(),
                snapshots: arns.iter().map(|a| a.to_string()).collect(),
            }),
        },
        ..FindInput::default()
    }
}

/// A snapshot shared from another region is visible only there: find-shared looks in each
/// region of SOURCE_REGIONS, and a run a message started fails naming what it could not see.
#[tokio::test]
async fn shared_snapshots_are_found_only_in_the_configured_source_regions() {
    let store = failsafe_store();
    let east = shared(
        LIVE,
        "us-east-1",
        SnapshotKind::Instance,
        "orders",
        "2026-11-22T03:00:00Z",
    );
    let arn = east.arn.clone();
    store.world().shared.push(east);

    // Failsafe in eu-west-1 that looks only at home: nothing found, and the message says so
    let home_only = failsafe_config(&[]);
    let out = find_shared(&home_only, &store, FindInput::default())
        .await
        .unwrap();
    assert!(out.items.is_empty() && out.missing.is_empty(), "{out:?}");
    let out = find_shared(&home_only, &store, trigger(&[&arn]))
        .await
        .unwrap();
    assert!(out.items.is_empty());
    assert_eq!(out.missing.len(), 1);
    assert_eq!(out.missing[0].arn, arn);
    let reason = &out.missing[0].reason;
    assert!(reason.contains("region us-east-1"), "{reason}");
    assert!(reason.contains("SOURCE_REGIONS"), "{reason}");

    // looking in us-east-1 finds it; the announced snapshot is accounted for
    let both = failsafe_config(&[("SOURCE_REGIONS", "us-east-1,eu-west-1")]);
    let out = find_shared(&both, &store, trigger(&[&arn])).await.unwrap();
    assert_eq!(out.regions, ["us-east-1", "eu-west-1"]);
    assert_eq!(out.items.len(), 1);
    assert_eq!(out.items.iter().next().unwrap().source_arn, arn);
    assert!(out.missing.is_empty(), "{:?}", out.missing);
}

#[tokio::test]
async fn an_announced_snapshot_that_is_not_shared_or_ignored_is_missing_with_its_cause() {
    let cfg = failsafe_config(&[]);
    let store = failsafe_store();
    let mut creating = live_orders();
    creating.status = "creating".into();
    let creating_arn = creating.arn.clone();
    store.world().shared.push(creating);
    let unshared = format!("arn:aws:rds:{REGION}:{LIVE}:cluster-snapshot:rdsf-ledger-202611220300");
    let out = find_shared(&cfg, &store, trigger(&[&creating_arn, &unshared]))
        .await
        .unwrap();
    let reasons: Vec<(&str, &str)> = out
        .missing
        .iter()
        .map(|m| (m.arn.as_str(), m.reason.as_str()))
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert_eq!(reasons[0].0, creating_arn);
    assert!(reasons[0].1.contains("status creating"), "{reasons:?}");
    assert_eq!(reasons[1].0, unshared);
    assert!(reasons[1].1.contains("not shared with it"), "{reasons:?}");
    assert!(reasons[1].1.contains("share key"), "{reasons:?}");
    // prune turns them into failures, so the run fails after saving the rest
    let summary = summarize_items(
        &[],
        &NotSaved {
            missing: out.missing.clone(),
            missing_count: out.missing_count,
            ..NotSaved::default()
        },
    );
    assert_eq!(summary.failed_count, 2);
    assert!(summary.failed[1].starts_with(&format!("{unshared}: AnnouncedSnapshotNotSaved: ")));
    // the execution's cause: plain text, one entry per failure
    assert!(
        summary.failure_cause.starts_with("2 failed: "),
        "{}",
        summary.failure_cause
    );
    assert!(summary.failure_cause.contains(&unshared));
}

#[tokio::test]
async fn an_announced_snapshot_saved_earlier_is_not_missing() {
    let cfg = failsafe_config(&[]);
    let store = failsafe_store();
    let s = live_orders();
    let arn = s.arn.clone();
    let item = share_and_find(&cfg, &store, s.clone()).await;
    save_item(&cfg, &store, item).await.unwrap();
    // still being made (a run may still be waiting for it): counted as saved, not waited for
    // by a second run
    let out = find_shared(&cfg, &store, trigger(&[&arn])).await.unwrap();
    assert_eq!((out.items.len(), out.already_saved), (0, 1));
    assert!(out.missing.is_empty());
    // made but not verified (its run stopped waiting for it): listed again, to be verified, not
    // copied twice, and with no room in the quota needed: it exists already
    store.complete_copies();
    store.world().quota = Some(1);
    let out = find_shared(&cfg, &store, trigger(&[&arn])).await.unwrap();
    assert_eq!((out.items.len(), out.already_saved), (1, 0));
    assert_eq!(out.left_out_count, 0);
    let again = save(
        &cfg,
        &store,
        SaveInput {
            item: out.items.instances[0].clone(),
            dry_run: false,
            now: None,
            wait: default_wait(),
        },
    )
    .await
    .unwrap();
    assert_eq!(again.outcome, SaveOutcome::Exists);
    assert_eq!(store.world().snapshots.len(), 1);
    store.world().snapshots[0]
        .tags
        .insert(tags::VERIFIED.into(), "2026-11-22T06:00:00Z".into());
    // verified and still shared: counted as already saved
    let out = find_shared(&cfg, &store, trigger(&[&arn])).await.unwrap();
    assert_eq!((out.items.len(), out.already_saved), (0, 1));
    assert!(out.missing.is_empty());
    // the Live side deleted its share copy since: the saved copy's tag still accounts for it
    store.world().shared.clear();
    let out = find_shared(&cfg, &store, trigger(&[&arn])).await.unwrap();
    assert!(out.missing.is_empty(), "{:?}", out.missing);
}

/// DB cluster snapshot ids have at most 63 characters: a 60-character cluster id is cut and
/// hashed on both sides, and the full id stays in the source-id tag.
#[tokio::test]
async fn a_sixty_character_cluster_id_gives_names_within_63_characters() {
    let cfg = failsafe_config(&[]);
    let store = failsafe_store();
    let long = SIXTY_CHAR_CLUSTER.to_string();
    assert_eq!(long.len(), 60);
    let s = shared(
        LIVE,
        REGION,
        SnapshotKind::Cluster,
        &long,
        "2026-11-22T03:00:00Z",
    );
    assert!(s.id.len() <= 63, "{}", s.id);
    let item = share_and_find(&cfg, &store, s).await;
    assert!(item.target_id.len() <= 63, "{}", item.target_id);
    assert!(rdsf_core::policy::naming::is_valid_snapshot_id(
        SnapshotKind::Cluster,
        &item.target_id
    ));
    assert_eq!(item.source_id, long);
    // the cut name cannot say the database, so the item carries it
    assert_eq!(
        SharedItem::from(&item).source_id.as_deref(),
        Some(long.as_str())
    );
    let out = save_item(&cfg, &store, item.clone()).await.unwrap();
    assert_eq!(out.snapshot.id, item.target_id);
    let copy = store.world().snapshots[0].clone();
    assert_eq!(copy.tags.get(tags::SOURCE_ID).unwrap(), &long);
}

#[tokio::test]
async fn failure_causes_are_read_from_the_lambda_error_json() {
    let item = share_item_for_summary();
    let results = vec![ItemResult {
        outcome: ItemOutcome::Failed,
        item,
        error: Some("KmsKeyNotAccessible".into()),
        cause: Some(
            r#"{"errorMessage":"CopyDBSnapshot: key not accessible","errorType":"KmsKeyNotAccessible"}"#
                .into(),
        ),
        copy: None,
    }];
    let s = summarize_items(&results, &NotSaved::default());
    assert_eq!(s.failed.len(), 1);
    assert!(
        s.failed[0].ends_with(": KmsKeyNotAccessible: CopyDBSnapshot: key not accessible"),
        "{}",
        s.failed[0]
    );
}

fn share_item_for_summary() -> ItemRef {
    let planned = plan_item(&failsafe_config(&[]), &live_orders()).unwrap();
    ItemRef {
        kind: planned.kind,
        source_id: Some(planned.source_id),
        source_account: Some(planned.source_account),
        source_arn: None,
    }
}

/// An item whose child execution failed uncaught has only its execution record in the Map's
/// output; prune reads the item from the child's input and counts it failed.
#[tokio::test]
async fn prune_counts_a_failed_child_execution_as_a_failure_of_its_item() {
    let item = share_item_for_summary();
    let child_input = serde_json::json!({"item": item, "index": 0, "dryRun": false});
    let input: PruneInput = serde_json::from_value(serde_json::json!({
        "now": "2026-11-22T06:00:00Z",
        "results": {"instances": [{
            "ExecutionArn": "arn:aws:states:eu-west-1:222222222222:execution:rds-failsafe/SaveInstances:0",
            "Input": child_input.to_string(), "InputDetails": {"Included": true}, "Name": "0",
            "Status": "FAILED", "Error": "States.DataLimitExceeded", "Cause": "too big"
        }], "clusters": []}
    }))
    .unwrap();
    let s = summarize_items(&input.results, &NotSaved::default());
    assert_eq!(s.failed_count, 1);
    assert!(
        s.failed[0]
            .contains(": States.DataLimitExceeded: too big (child execution arn:aws:states:"),
        "{}",
        s.failed[0]
    );
    assert_eq!(input.results[0].item, item);
}

/// A quota one copy short saves what fits, each source's newest snapshot before any source's
/// second, and the run fails naming what was left out with the numbers and the cdk.json fields.
#[tokio::test]
async fn a_quota_too_small_for_the_run_saves_each_sources_newest_first() {
    let cfg = failsafe_config(&[]);
    let store = failsafe_store();
    let instance = SnapshotKind::Instance;
    {
        let mut w = store.world();
        // orders has two days waiting (the Failsafe run missed a day), users and ledger one
        for (source, day) in [
            ("orders", "2026-11-21T03:00:00Z"),
            ("orders", "2026-11-22T03:00:00Z"),
            ("users", "2026-11-22T03:00:00Z"),
            ("ledger", "2026-11-22T03:00:00Z"),
        ] {
            w.shared.push(shared(LIVE, REGION, instance, source, day));
        }
        w.quota = Some(3);
    }
    let out = find_shared(&cfg, &store, FindInput::default())
        .await
        .unwrap();
    let mut saved: Vec<(String, String)> = out
        .items
        .iter()
        .map(|i| (i.source_id().unwrap(), i.source_arn.clone()))
        .collect();
    saved.sort();
    let newest = |source: &str| shared(LIVE, REGION, instance, source, "2026-11-22T03:00:00Z").arn;
    assert_eq!(
        saved,
        ["ledger", "orders", "users"]
            .map(|s| (s.to_string(), newest(s)))
            .to_vec()
    );
    assert_eq!(out.left_out_count, 1);
    let left = &out.left_out[0];
    assert!(left.arn.contains("rdsf-orders-202611210300"), "{left:?}");
    assert!(
        left.reason
            .contains("ManualSnapshots quota: 0 used of 3, this run needs 4 more")
            && left
                .reason
                .contains("3 copied, each source's newest snapshot first, 1 left out")
            && left
                .reason
                .contains("retention.hourly/daily/weekly/monthly"),
        "{}",
        left.reason
    );
    assert_eq!(out.quota[0].needed, 4);
    // the run's summary fails it, naming the snapshot left out and why
    let summary = summarize_items(
        &[],
        &NotSaved {
            left_out: out.left_out.clone(),
            left_out_count: out.left_out_count,
            ..NotSaved::default()
        },
    );
    assert_eq!(summary.failed_count, 1);
    assert!(
        summary.failure_cause.starts_with("1 failed: ")
            && summary.failure_cause.contains("rdsf-orders-202611210300: SnapshotQuotaExceeded: left out of this run: ManualSnapshots quota"),
        "{}",
        summary.failure_cause
    );

    // no room at all: nothing to save, everything left out, so the run cannot look like success
    store.world().quota = Some(0);
    let out = find_shared(&cfg, &store, FindInput::default())
        .await
        .unwrap();
    assert!(out.items.is_empty());
    assert_eq!(out.left_out_count, 4);
}

#[tokio::test]
async fn a_failsafe_copy_is_full_and_waited_for_as_its_size_needs() {
    let cfg = failsafe_config(&[]);
    let store = failsafe_store();
    let mut big = live_orders();
    big.allocated_storage = 8_000;
    let item = share_and_find(&cfg, &store, big).await;
    let out = save_item(&cfg, &store, item).await.unwrap();
    let bound = out.wait_bound.expect("bound");
    // 8,000 GiB at 100 MiB/s is 81,920 s: more than one run may wait, and the note says so
    assert_eq!(bound.expected_seconds, Some(81_920));
    assert_eq!(bound.max_wait_seconds, 21_600);
    assert!(
        bound.note.contains("longer than one run can wait"),
        "{}",
        bound.note
    );
}

/// SOURCE_COPY_WAITS: a source's Failsafe copies are waited for as long as it says, an Aurora
/// cluster's (no size) included.
#[tokio::test]
async fn a_source_with_a_wait_of_its_own_is_waited_for_that_long() {
    let cfg = failsafe_config(&[("SOURCE_COPY_WAITS", "111111111111:orders=43200")]);
    let store = failsafe_store();
    let item = share_and_find(&cfg, &store, live_orders()).await;
    let out = save_item(&cfg, &store, item).await.unwrap();
    assert_eq!(out.wait_bound.unwrap().max_wait_seconds, 43_200);
}

#[test]
fn a_failsafe_copy_writes_its_time_mode_and_size_per_source() {
    let full = CopyFigures {
        mode: CopyMode::Full,
        moved_gib: Some(2_400),
        seconds: 24_600,
    };
    let m = copy_time_metric(LIVE, "orders", &full, t("2026-11-22T12:00:00Z"));
    assert_eq!(m["CopySeconds"], 24_600);
    assert_eq!(m["CopySizeGiB"], 2_400);
    assert_eq!(m["CopyMode"], "full");
    assert_eq!(m["CopyIncremental"], 0);
    assert_eq!(m["SourceId"], "orders");
    let cw = &m["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(cw["Namespace"], "RdsFailsafe");
    assert_eq!(cw["Dimensions"], json!([["SourceAccount", "SourceId"], []]));
    let names = |m: &serde_json::Value| -> Vec<String> {
        m["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["Name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&m), ["CopySeconds", "CopyIncremental", "CopySizeGiB"]);
    // an incremental copy moves what RDS does not report, an Aurora copy has no size: no GiB
    let incremental = CopyFigures {
        mode: CopyMode::Incremental,
        moved_gib: None,
        seconds: 480,
    };
    let m = copy_time_metric(LIVE, "orders", &incremental, t("2026-11-23T12:00:00Z"));
    assert_eq!(
        (m["CopyMode"].as_str(), m["CopyIncremental"].as_u64()),
        (Some("incremental"), Some(1))
    );
    assert!(m.get("CopySizeGiB").is_none());
    assert_eq!(names(&m), ["CopySeconds", "CopyIncremental"]);
}

/// A Failsafe run at 11:00 on 3 November.
fn find_on_day_3() -> FindInput {
    FindInput {
        now: Some(t("2026-11-03T11:00:00Z")),
        ..FindInput::default()
    }
}

/// Retention that keeps one daily copy (and the newest, the floor).
fn one_daily_copy() -> rdsf_core::config::FailsafeConfig {
    failsafe_config(&[
        ("KEEP_DAILY", "1"),
        ("KEEP_WEEKLY", "0"),
        ("KEEP_MONTHLY", "0"),
        ("MIN_KEEP", "1"),
    ])
}

/// A Live account still sharing a snapshot whose Failsafe copy retention has pruned (its
/// LIVE_KEEP outlasts one daily copy) does not get it saved again: that copy would be pruned by
/// the same run, and would break an incremental chain.
#[tokio::test]
async fn a_shared_snapshot_retention_would_not_keep_is_not_saved_again() {
    let store = failsafe_store_with(vec![failsafe_copy(
        SnapshotKind::Instance,
        "orders",
        "2026-11-03T05:00:00Z",
        true,
    )]);
    {
        let mut w = store.world();
        for day in ["2026-11-01T05:00:00Z", "2026-11-03T05:00:00Z"] {
            w.shared
                .push(shared(LIVE, REGION, SnapshotKind::Instance, "orders", day));
        }
    }
    let (input, one_daily) = (find_on_day_3, one_daily_copy());
    let out = find_shared(&one_daily, &store, input()).await.unwrap();
    assert!(out.items.is_empty(), "{:?}", out.items);
    assert_eq!(out.already_saved, 1);
    let old = out
        .ignored
        .iter()
        .find(|i| i.arn.ends_with("rdsf-orders-202611010500"))
        .expect("the old one is reported as ignored");
    assert!(old.reason.contains("retention keeps"), "{}", old.reason);
    // a retention that keeps a copy of that day saves it
    let seven = failsafe_config(&[("KEEP_DAILY", "7"), ("MIN_KEEP", "1")]);
    let out = find_shared(&seven, &store, input()).await.unwrap();
    let sources: Vec<String> = out.items.iter().map(|i| i.source_arn.clone()).collect();
    assert_eq!(sources.len(), 1);
    assert!(sources[0].ends_with("rdsf-orders-202611010500"));
}

/// Several unsaved snapshots of one source in one run (a missed run, a cadence): each is judged
/// beside the newer ones the run saves, so one this run's prune would delete is not copied.
#[tokio::test]
async fn of_several_shared_snapshots_of_a_source_only_those_retention_keeps_are_saved() {
    let store = failsafe_store();
    for day in [
        "2026-11-01T05:00:00Z",
        "2026-11-02T05:00:00Z",
        "2026-11-03T05:00:00Z",
    ] {
        store
            .world()
            .shared
            .push(shared(LIVE, REGION, SnapshotKind::Instance, "orders", day));
    }
    let (input, one_daily) = (find_on_day_3, one_daily_copy());
    let out = find_shared(&one_daily, &store, input()).await.unwrap();
    let saving: Vec<String> = out.items.iter().map(|i| i.source_arn.clone()).collect();
    assert_eq!(saving.len(), 1, "{saving:?}");
    assert!(saving[0].ends_with("rdsf-orders-202611030500"));
    assert_eq!(out.ignored_count, 2);
    let three_days = failsafe_config(&[("KEEP_DAILY", "3"), ("MIN_KEEP", "1")]);
    let out = find_shared(&three_days, &store, input()).await.unwrap();
    assert_eq!(out.items.iter().count(), 3);
}

/// A copy the run stopped waiting for (CopyTimeout) goes on in RDS and a later run verifies it:
/// retention does not wait on it, or a source whose copies outlast every run is never pruned.
/// Any other failure still makes it wait.
#[tokio::test]
async fn a_copy_timeout_does_not_hold_retention_back() {
    let cfg = failsafe_config(&[("RETENTION", "3"), ("MIN_KEEP", "2")]);
    let store = failsafe_store();
    for d in 10..=22 {
        store.world().snapshots.push(failsafe_copy(
            SnapshotKind::Instance,
            "billing",
            &format!("2026-11-{d}T03:00:00Z"),
            true,
        ));
    }
    let failed = |error: &str| {
        vec![ItemResult {
            outcome: ItemOutcome::Failed,
            item: item_for("billing"),
            error: Some(error.into()),
            cause: Some("…".into()),
            copy: None,
        }]
    };
    let now = t("2026-11-22T06:00:00Z");
    let held = prune_run(&cfg, &store, now, failed("CopyFailed"), true)
        .await
        .unwrap();
    assert!(held.retention.sources[0].not_pruned.is_some());
    let timed_out = prune_run(
        &cfg,
        &store,
        now,
        failed(rdsf_core::failsafe::COPY_TIMEOUT),
        false,
    )
    .await
    .unwrap();
    let billing = &timed_out.retention.sources[0];
    assert!(billing.not_pruned.is_none());
    assert_eq!(billing.deleted.len(), 10);
    assert_eq!(
        timed_out.summary.failed_count, 1,
        "still a failed item of the run"
    );
    // the state machine records exactly this error
    let asl = include_str!("../../../../statemachines/failsafe.asl.json");
    assert!(asl.contains(&format!(
        "\"Error\": \"{}\"",
        rdsf_core::failsafe::COPY_TIMEOUT
    )));
}

/// An incremental source's Live run shares the snapshot it took (one time, not a copy): its
/// first Failsafe copy is full, the next one incremental on it; verify and the run's summary
/// say so with the figures.
#[tokio::test]
async fn an_own_snapshots_copies_are_full_then_incremental_in_the_metrics_and_the_summary() {
    let cfg = failsafe_config(&[]);
    let store = failsafe_store();
    let own = |day: &str| {
        let mut s = live_orders();
        let at = t(&format!("2026-11-{day}T03:00:00Z"));
        s.id = format!("arn:aws:rds:{REGION}:{LIVE}:snapshot:rdsf-orders-202611{day}0300");
        s.arn = s.id.clone();
        s.create_time = Some(at);
        s.original_create_time = Some(at);
        s.allocated_storage = 2_400;
        s
    };
    let mut results = Vec::new();
    for (day, seconds) in [("22", 24_576), ("23", 492)] {
        let item = share_and_find(&cfg, &store, own(day)).await;
        let out = save_item(&cfg, &store, item.clone()).await.unwrap();
        let expected = out.copy.clone().expect("save says how RDS copies it");
        store.complete_copies();
        let v = verify(
            &cfg,
            &store,
            VerifyInput {
                item,
                snapshot: out.snapshot.clone(),
                now: t(&format!("2026-11-{day}T12:00:00Z")),
                save_outcome: Some(SaveOutcome::Copying),
                copy_seconds: Some(seconds),
                copy: Some(expected),
            },
        )
        .await
        .unwrap();
        results.push(ItemResult {
            outcome: ItemOutcome::Saved,
            item: ItemRef {
                kind: SnapshotKind::Instance,
                source_id: Some("orders".into()),
                source_account: Some(LIVE.into()),
                source_arn: None,
            },
            error: None,
            cause: None,
            copy: v.copy,
        });
    }
    let first = results[0].copy.clone().unwrap();
    assert_eq!((first.mode, first.moved_gib), (CopyMode::Full, Some(2_400)));
    let second = results[1].copy.clone().unwrap();
    assert_eq!(
        (second.mode, second.moved_gib, second.seconds),
        (CopyMode::Incremental, None, 492)
    );
    let out = prune_run(&cfg, &store, t("2026-11-23T12:00:00Z"), results, true)
        .await
        .unwrap();
    let c = &out.summary.copies;
    assert_eq!(
        (
            c.full_count,
            c.incremental_count,
            c.full_gib,
            c.longest_seconds,
            c.total_seconds
        ),
        (1, 1, 2_400, 24_576, 25_068)
    );
    assert_eq!(
        c.first,
        [
            "instance:orders of 111111111111: full, 2400 GiB, 24576 s",
            "instance:orders of 111111111111: incremental, 492 s"
        ]
    );
}
