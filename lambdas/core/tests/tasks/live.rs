//! Every Live handler on the in-memory fake.

use crate::common::*;
use rdsf_core::error::ErrorKind;
use rdsf_core::live::*;
use rdsf_core::model::{KeyInfo, OptionGroup, OptionInfo, SnapshotKind, Source, SourceMode};
use rdsf_core::policy::tags;
use rdsf_core::port::fake::FakeStore;

fn src(kind: SnapshotKind, id: &str) -> Source {
    Source::new(kind, id)
}

/// The Live run's start, as the state machine passes it to copy-latest.
const RUN_START: &str = "2026-11-22T05:00:00Z";

async fn copy(
    cfg: &rdsf_core::config::LiveConfig,
    store: &rdsf_core::port::fake::FakeStore,
    s: Source,
    dry_run: bool,
) -> rdsf_core::error::Result<CopyOutput> {
    copy_latest(
        cfg,
        store,
        CopyInput {
            source: s,
            dry_run,
            run_start: t(RUN_START),
            wait: default_wait(),
            take_snapshots: false,
        },
    )
    .await
}

#[tokio::test]
async fn select_uses_config_or_input_override() {
    let cfg = live_config(&[("SOURCES", "orders,cluster:aurora,ghost")]);
    let store = live_store();
    {
        let mut w = store.world();
        w.instances = vec![instance("orders"), instance("billing")];
        w.clusters = vec![cluster("aurora")];
    }
    let out = select_sources(&cfg, &store, SelectInput::default())
        .await
        .unwrap();
    assert_eq!(
        out.sources,
        vec![
            src(SnapshotKind::Instance, "orders"),
            src(SnapshotKind::Cluster, "aurora")
        ]
    );
    assert_eq!(out.skipped.len(), 1);
    assert_eq!(out.skipped[0].selector, "ghost");
    let out = select_sources(
        &cfg,
        &store,
        SelectInput {
            sources: Some(vec!["billing".into()]),
            ..SelectInput::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(out.sources, vec![src(SnapshotKind::Instance, "billing")]);
    let e = select_sources(
        &cfg,
        &store,
        SelectInput {
            sources: Some(vec!["tag:x".into()]),
            ..SelectInput::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidInput);
    assert!(e.message.contains("`sources`"));
}

/// A cadence's run takes a snapshot of every source it selects; the daily run only of the
/// incremental ones.
#[tokio::test]
async fn a_cadence_run_takes_snapshots_of_what_it_selects() {
    let cfg = live_config(&[
        ("SOURCES", "orders,billing"),
        ("INCREMENTAL_SOURCES", "orders"),
    ]);
    let store = live_store();
    store.world().instances = vec![instance("orders"), instance("billing")];
    let modes = |out: SelectOutput| -> Vec<(String, SourceMode)> {
        out.sources.into_iter().map(|s| (s.id, s.mode)).collect()
    };
    let daily = select_sources(&cfg, &store, SelectInput::default())
        .await
        .unwrap();
    assert_eq!(
        modes(daily),
        vec![
            ("billing".to_string(), SourceMode::ShareCopy),
            ("orders".to_string(), SourceMode::Incremental)
        ]
    );
    let input: SelectInput =
        serde_json::from_value(serde_json::json!({"sources": ["billing"], "takeSnapshots": true}))
            .unwrap();
    let cadence = select_sources(&cfg, &store, input).await.unwrap();
    assert_eq!(
        modes(cadence),
        vec![("billing".to_string(), SourceMode::Incremental)]
    );
}

/// Every run's sources carry their shortest cadence (`CADENCES`), so that preflight judges them
/// by it; a cadence selector that selects no protected source is reported by the daily run.
#[tokio::test]
async fn sources_carry_their_shortest_cadence() {
    let cfg = live_config(&[
        ("SOURCES", "orders,billing,users"),
        (
            "CADENCES",
            r#"[{"everyHours": 4, "sources": ["orders", "billing"]}, {"everyHours": 2, "sources": ["billing", "gone"]}]"#,
        ),
        (
            "COPY_WAITS",
            r#"[{"maxWaitSeconds": 36000, "sources": ["users"]}, {"maxWaitSeconds": 43200, "sources": ["users"]}]"#,
        ),
    ]);
    let store = live_store();
    store.world().instances = vec![instance("orders"), instance("billing"), instance("users")];
    let daily = select_sources(&cfg, &store, SelectInput::default())
        .await
        .unwrap();
    let hours: Vec<(&str, Option<u32>)> = daily
        .sources
        .iter()
        .map(|s| (s.id.as_str(), s.every_hours))
        .collect();
    assert_eq!(
        hours,
        [("billing", Some(2)), ("orders", Some(4)), ("users", None)]
    );
    // and their longest wait of their own
    let waits: Vec<Option<u64>> = daily.sources.iter().map(|s| s.copy_wait_seconds).collect();
    assert_eq!(waits, [None, None, Some(43_200)]);
    assert!(
        daily
            .skipped
            .iter()
            .any(|s| s.selector == "gone" && s.reason.starts_with("CADENCES: selects none")),
        "{:?}",
        daily.skipped
    );
    // on the wire only when set
    let wire = serde_json::to_value(&daily.sources).unwrap();
    assert_eq!(wire[0]["everyHours"], 2);
    assert!(wire[2].get("everyHours").is_none());
    assert_eq!(wire[2]["copyWaitSeconds"], 43_200);
    assert!(wire[0].get("copyWaitSeconds").is_none());
    // a cadence's run: its sources, with their hours, and no noise about the other cadences
    let input: SelectInput =
        serde_json::from_value(serde_json::json!({"sources": ["orders"], "takeSnapshots": true}))
            .unwrap();
    let run = select_sources(&cfg, &store, input).await.unwrap();
    assert_eq!(run.sources[0].every_hours, Some(4));
    assert!(run.skipped.is_empty(), "{:?}", run.skipped);
}

/// The state machine hands select-sources its whole checked config; polling that would pass the
/// history quota of a copy's child execution fails the run before anything is listed or copied.
#[tokio::test]
async fn select_sources_refuses_polling_that_would_pass_the_history_quota() {
    let cfg = live_config(&[]);
    let store = live_store();
    let config = |poll: u64, max_wait: u64| {
        rdsf_core::live::parse_input::<SelectInput>(
            "select-sources",
            serde_json::json!({"dryRun": false, "maxConcurrency": 5, "pollSeconds": poll,
                               "maxWaitSeconds": max_wait}),
        )
        .unwrap()
    };
    let e = select_sources(&cfg, &store, config(1, 21_600))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidInput);
    assert!(
        e.message
            .contains("pollSeconds 1 with maxWaitSeconds 21600"),
        "{}",
        e.message
    );
    assert!(store.world().mutations.is_empty());
    assert!(select_sources(&cfg, &store, config(60, 21_600))
        .await
        .is_ok());
}

/// The Live fake with one instance, `orders`, whose automated snapshot is on the account's
/// aws/rds key; and that key.
fn store_with_an_aws_rds_source() -> (FakeStore, String) {
    let store = live_store();
    let default_key = store.world().default_kms_key.clone();
    let mut a = automated(SnapshotKind::Instance, "orders", "2026-11-22T03:05:00Z");
    a.encrypted = true;
    a.kms_key_id = Some(default_key.clone());
    store.world().snapshots.push(a);
    (store, default_key)
}

#[tokio::test]
async fn aws_rds_encrypted_source_is_copied_with_the_share_key_and_then_shares() {
    let cfg = live_config(&[]);
    let (store, _) = store_with_an_aws_rds_source();
    let out = copy(&cfg, &store, src(SnapshotKind::Instance, "orders"), false)
        .await
        .unwrap();
    assert_eq!(out.outcome, CopyOutcome::Copying);
    let snap = out.snapshot.unwrap();
    assert_eq!(snap.id, "rdsf-orders-202611220305");
    assert_eq!(snap.kms_key_id.as_deref(), Some(SHARE_KEY));
    assert_eq!(out.kms_key_id.as_deref(), Some(SHARE_KEY));
    let copy = store
        .world()
        .snapshots
        .iter()
        .find(|s| s.id == snap.id)
        .cloned()
        .unwrap();
    assert!(tags::is_managed(&copy.tags));
    let p = tags::Provenance::from_tags(&copy.tags).unwrap();
    assert_eq!(p.source_account, LIVE);
    assert_eq!(p.source_id, "orders");
    assert_eq!(p.source_create_time, t("2026-11-22T03:05:00Z"));
    assert!(p
        .source_snapshot_arn
        .ends_with(":snapshot:rds:orders-2026-11-22-03-05-00"));
    // a copy in progress cannot be shared yet
    let e = share(
        &cfg,
        &store,
        ShareInput {
            snapshot: snap.clone(),
            dry_run: false,
            copy: None,
            copy_seconds: None,
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidInput);
    store.complete_copies();
    let shared = share(
        &cfg,
        &store,
        ShareInput {
            snapshot: snap.clone(),
            dry_run: false,
            copy: None,
            copy_seconds: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(shared.added, vec![FAILSAFE.to_string()]);
    // idempotent
    let again = share(
        &cfg,
        &store,
        ShareInput {
            snapshot: snap,
            dry_run: false,
            copy: None,
            copy_seconds: None,
        },
    )
    .await
    .unwrap();
    assert!(again.added.is_empty());
    assert_eq!(again.shared_with, vec![FAILSAFE.to_string()]);
}

#[tokio::test]
async fn customer_key_and_unencrypted_sources() {
    let store = live_store();
    {
        let mut w = store.world();
        let mut a = automated(SnapshotKind::Instance, "app", "2026-11-22T03:00:00Z");
        a.encrypted = true;
        a.kms_key_id = Some(CUSTOMER_KEY.into());
        w.snapshots.push(a);
        w.snapshots.push(automated(
            SnapshotKind::Instance,
            "plain",
            "2026-11-22T03:00:00Z",
        ));
        w.snapshots.push(automated(
            SnapshotKind::Cluster,
            "aurora",
            "2026-11-22T03:00:00Z",
        ));
    }
    let cfg = live_config(&[]);
    let app = copy(&cfg, &store, src(SnapshotKind::Instance, "app"), false)
        .await
        .unwrap();
    assert_eq!(app.kms_key_id.as_deref(), Some(SHARE_KEY));
    let plain = copy(&cfg, &store, src(SnapshotKind::Instance, "plain"), false)
        .await
        .unwrap();
    assert_eq!(plain.kms_key_id, None);
    assert!(plain.reason.unwrap().contains("stays unencrypted"));
    let cfg_enc = live_config(&[("ENCRYPT_UNENCRYPTED", "true")]);
    let aurora = copy(
        &cfg_enc,
        &store,
        src(SnapshotKind::Cluster, "aurora"),
        false,
    )
    .await
    .unwrap();
    assert_eq!(aurora.kms_key_id, None);
    assert!(aurora
        .reason
        .unwrap()
        .contains("cannot encrypt a cluster snapshot"));
}

#[tokio::test]
async fn tde_source_is_not_shareable_with_the_option_named() {
    let cfg = live_config(&[]);
    let store = live_store();
    {
        let mut w = store.world();
        let mut a = automated(SnapshotKind::Instance, "ledger", "2026-11-22T03:00:00Z");
        a.engine = "oracle-ee".into();
        a.option_group_name = Some("ledger-og".into());
        w.snapshots.push(a);
        w.option_groups.push(OptionGroup {
            name: "ledger-og".into(),
            options: vec![OptionInfo {
                name: "TDE".into(),
                permanent: true,
                persistent: true,
            }],
        });
    }
    // a snapshot the run would take has the same options: no share copy, no own snapshot
    for s in [
        src(SnapshotKind::Instance, "ledger"),
        incremental(SnapshotKind::Instance, "ledger"),
    ] {
        let e = copy(&cfg, &store, s, false).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotShareable);
        assert!(
            e.message.contains("TDE") && e.message.contains("ledger-og"),
            "{}",
            e.message
        );
        assert!(store.world().mutations.is_empty());
    }
}

#[tokio::test]
async fn rerun_returns_the_existing_copy_and_picks_the_newest_automated() {
    let cfg = live_config(&[]);
    let store = live_store();
    {
        let mut w = store.world();
        w.snapshots.push(automated(
            SnapshotKind::Instance,
            "orders",
            "2026-11-21T03:00:00Z",
        ));
        w.snapshots.push(automated(
            SnapshotKind::Instance,
            "orders",
            "2026-11-22T03:00:00Z",
        ));
        let mut creating = automated(SnapshotKind::Instance, "orders", "2026-11-23T03:00:00Z");
        creating.status = "creating".into();
        w.snapshots.push(creating);
    }
    let first = copy(&cfg, &store, src(SnapshotKind::Instance, "orders"), false)
        .await
        .unwrap();
    assert_eq!(
        first.snapshot.as_ref().unwrap().id,
        "rdsf-orders-202611220300"
    );
    let second = copy(&cfg, &store, src(SnapshotKind::Instance, "orders"), false)
        .await
        .unwrap();
    assert_eq!(second.outcome, CopyOutcome::Exists);
    assert_eq!(second.snapshot.unwrap().id, "rdsf-orders-202611220300");
    assert_eq!(
        store.world().mutations.len(),
        1,
        "{:?}",
        store.world().mutations
    );
}

/// Someone made a snapshot under today's share copy name: it is not this tool's copy of today's
/// automated snapshot, so it is neither reused nor shared, and the item fails naming it.
#[tokio::test]
async fn a_snapshot_under_todays_name_that_this_tool_did_not_copy_is_not_reused() {
    let cfg = live_config(&[]);
    let store = live_store();
    {
        let mut w = store.world();
        w.snapshots.push(automated(
            SnapshotKind::Instance,
            "orders",
            "2026-11-22T03:00:00Z",
        ));
        // a manual snapshot of another database, named like today's copy, tagged as if managed
        let mut planted = automated(SnapshotKind::Instance, "billing", "2026-11-22T03:05:00Z");
        planted.id = "rdsf-orders-202611220300".into();
        planted.arn = format!("arn:aws:rds:{REGION}:{LIVE}:snapshot:rdsf-orders-202611220300");
        planted.snapshot_type = "manual".into();
        planted
            .tags
            .insert(rdsf_core::policy::tags::MANAGED.into(), "true".into());
        w.snapshots.push(planted);
    }
    let e = copy(&cfg, &store, src(SnapshotKind::Instance, "orders"), false)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::VerifyFailed);
    assert!(
        e.message.contains("rdsf-orders-202611220300") && e.message.contains("database billing"),
        "{}",
        e.message
    );
    assert!(
        store.world().mutations.is_empty(),
        "{:?}",
        store.world().mutations
    );
}

#[tokio::test]
async fn no_automated_snapshot_is_a_reported_skip() {
    let cfg = live_config(&[]);
    let store = live_store();
    let out = copy(&cfg, &store, src(SnapshotKind::Cluster, "aurora"), false)
        .await
        .unwrap();
    assert_eq!(out.outcome, CopyOutcome::Skipped);
    assert!(out
        .reason
        .unwrap()
        .contains("no available automated snapshot"));
}

#[tokio::test]
async fn aws_errors_keep_their_stable_names() {
    let cfg = live_config(&[]);
    let store = live_store();
    store.world().snapshots.push(automated(
        SnapshotKind::Instance,
        "orders",
        "2026-11-22T03:00:00Z",
    ));
    store.world().throttle.insert("CopyDBSnapshot".into(), 1);
    let e = copy(&cfg, &store, src(SnapshotKind::Instance, "orders"), false)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Throttled);
    let d: lambda_runtime::Diagnostic = e.into();
    assert_eq!(d.error_type, "Throttled");
    store.world().quota = Some(0);
    let e = copy(&cfg, &store, src(SnapshotKind::Instance, "orders"), false)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::SnapshotQuotaExceeded);
    // each thing once: the errorType names the kind, the message starts with the operation
    assert!(
        !e.message.contains("SnapshotQuotaExceeded"),
        "{}",
        e.message
    );
}

/// A DB cluster snapshot id has at most 63 characters (CopyDBClusterSnapshot): a 60-character
/// cluster id is cut and ended with a hash; an instance id of the same length fits whole.
#[tokio::test]
async fn share_copy_names_stay_within_the_limit_of_their_kind() {
    let cfg = live_config(&[]);
    let store = live_store();
    let long = SIXTY_CHAR_CLUSTER.to_string();
    store.world().snapshots.push(automated(
        SnapshotKind::Cluster,
        &long,
        "2026-11-22T03:00:00Z",
    ));
    store.world().snapshots.push(automated(
        SnapshotKind::Instance,
        &long,
        "2026-11-22T03:00:00Z",
    ));
    let c = copy(&cfg, &store, src(SnapshotKind::Cluster, &long), false)
        .await
        .unwrap()
        .snapshot
        .unwrap();
    assert!(c.id.len() <= 63, "{}", c.id);
    assert!(rdsf_core::policy::naming::is_valid_snapshot_id(
        SnapshotKind::Cluster,
        &c.id
    ));
    assert!(c.id.ends_with("-202611220300"));
    assert_eq!(
        c.source_id, long,
        "the full id is kept in the source-id tag"
    );
    let i = copy(&cfg, &store, src(SnapshotKind::Instance, &long), false)
        .await
        .unwrap()
        .snapshot
        .unwrap();
    assert_eq!(i.id, format!("rdsf-{long}-202611220300"));
}

#[tokio::test]
async fn wait_available_reports_progress_failure_and_absence() {
    let cfg = live_config(&[]);
    let store = live_store();
    store.world().snapshots.push(automated(
        SnapshotKind::Instance,
        "orders",
        "2026-11-22T03:00:00Z",
    ));
    let out = copy(&cfg, &store, src(SnapshotKind::Instance, "orders"), false)
        .await
        .unwrap();
    let snap = out.snapshot.unwrap();
    let look = |elapsed_seconds| WaitInput {
        snapshot: snap.clone(),
        elapsed_seconds,
        poll_seconds: 60,
        max_wait_seconds: 21_600,
        previous: None,
    };
    // The first look: 0 %, wait pollSeconds. The state machine's Wait takes nextWaitSeconds.
    let w = wait_available(&store, look(0)).await.unwrap();
    assert!(!w.available);
    assert_eq!(w.status, "creating");
    assert_eq!((w.elapsed_seconds, w.next_wait_seconds), (0, 60));
    // Halfway after 10 minutes: about 10 more minutes, plus a tenth.
    store
        .world()
        .snapshots
        .iter_mut()
        .find(|s| s.id == snap.id)
        .unwrap()
        .percent_progress = Some(50);
    let w = wait_available(&store, look(600)).await.unwrap();
    assert_eq!((w.elapsed_seconds, w.next_wait_seconds), (600, 660));
    // 25 % five minutes ago: the rate between the two looks, 25 % in 300 s, 50 % left
    let since = WaitInput {
        previous: Some(PreviousLook {
            elapsed_seconds: 300,
            percent_progress: Some(25),
        }),
        ..look(600)
    };
    let w = wait_available(&store, since).await.unwrap();
    assert_eq!(w.next_wait_seconds, 660);
    let stalled = WaitInput {
        previous: Some(PreviousLook {
            elapsed_seconds: 300,
            percent_progress: Some(50),
        }),
        ..look(600)
    };
    assert_eq!(
        wait_available(&store, stalled)
            .await
            .unwrap()
            .next_wait_seconds,
        600
    );
    store.complete_copies();
    assert!(wait_available(&store, look(1_260)).await.unwrap().available);
    store
        .world()
        .snapshots
        .iter_mut()
        .find(|s| s.id == snap.id)
        .unwrap()
        .status = "failed".into();
    assert_eq!(
        wait_available(&store, look(1_320)).await.unwrap_err().kind,
        ErrorKind::CopyFailed
    );
    store.world().snapshots.retain(|s| s.id != snap.id);
    assert_eq!(
        wait_available(&store, look(1_380)).await.unwrap_err().kind,
        ErrorKind::SnapshotNotFound
    );
}

fn managed_copy(source: &str, created: &str, status: &str) -> rdsf_core::model::Snapshot {
    let created_t = t(created);
    let id = rdsf_core::policy::naming::share_copy_id(SnapshotKind::Instance, source, created_t)
        .unwrap();
    let mut s = snapshot(
        LIVE,
        REGION,
        SnapshotKind::Instance,
        &id,
        source,
        "manual",
        created,
    );
    s.status = status.into();
    s.tags = tags::Provenance {
        source_account: LIVE.into(),
        source_region: REGION.into(),
        source_id: source.into(),
        source_snapshot_arn: "arn:aws:rds:eu-west-1:111111111111:snapshot:rds:x".into(),
        source_create_time: created_t,
        kind: SnapshotKind::Instance,
    }
    .tags();
    s
}

#[tokio::test]
async fn delete_old_copies_never_touches_unmanaged_automated_or_in_progress() {
    let cfg = live_config(&[]);
    let store = live_store();
    {
        let mut w = store.world();
        w.snapshots
            .push(managed_copy("orders", "2026-11-18T03:00:00Z", "available"));
        w.snapshots
            .push(managed_copy("orders", "2026-11-19T03:00:00Z", "copying"));
        w.snapshots
            .push(managed_copy("orders", "2026-11-20T03:00:00Z", "available"));
        w.snapshots
            .push(managed_copy("orders", "2026-11-21T03:00:00Z", "available"));
        w.snapshots
            .push(managed_copy("orders", "2026-11-22T03:00:00Z", "available"));
        w.snapshots
            .push(managed_copy("billing", "2026-11-01T03:00:00Z", "available"));
        // looks like ours but lacks the managed tag
        let mut unmanaged = managed_copy("orders", "2026-11-01T03:00:00Z", "available");
        unmanaged.tags.remove(tags::MANAGED);
        w.snapshots.push(unmanaged);
        // managed=false is not managed
        let mut not_true = managed_copy("orders", "2026-11-02T03:00:00Z", "available");
        not_true.tags.insert(tags::MANAGED.into(), "false".into());
        w.snapshots.push(not_true);
        w.snapshots.push(automated(
            SnapshotKind::Instance,
            "orders",
            "2026-11-01T03:00:00Z",
        ));
    }
    let input = |dry_run| DeleteInput {
        sources: vec![src(SnapshotKind::Instance, "orders")],
        dry_run,
        now: t(RUN_START),
        wait: default_wait(),
    };
    let dry = delete_old_copies(&cfg, &store, input(true)).await.unwrap();
    assert_eq!(
        dry.report.would_delete,
        vec!["rdsf-orders-202611200300", "rdsf-orders-202611180300"]
    );
    assert!(dry.report.deleted.is_empty());
    assert!(
        store.world().mutations.is_empty(),
        "dry run changed something"
    );
    let out = delete_old_copies(&cfg, &store, input(false)).await.unwrap();
    assert_eq!(
        out.report.deleted,
        vec!["rdsf-orders-202611200300", "rdsf-orders-202611180300"]
    );
    let left: Vec<String> = store
        .world()
        .snapshots
        .iter()
        .map(|s| s.id.clone())
        .collect();
    for must_stay in [
        "rdsf-orders-202611190300",
        "rdsf-orders-202611210300",
        "rdsf-orders-202611220300",
        "rdsf-billing-202611010300",
        "rdsf-orders-202611010300",
        "rdsf-orders-202611020300",
        "rds:orders-2026-11-01-03-00-00",
    ] {
        assert!(
            left.iter().any(|l| l == must_stay),
            "{must_stay} was deleted"
        );
    }
}

fn result(outcome: &str, s: Source, snap: Option<SnapshotRef>) -> SourceResult {
    SourceResult {
        outcome: serde_json::from_value(serde_json::json!(outcome)).unwrap(),
        source: s,
        source_create_time: snap.and_then(|r| r.source_create_time),
        copy: None,
        reason: None,
        error: None,
        cause: None,
    }
}

/// A Live account holding the available share copy of `orders` from 2026-11-22 03:00.
fn store_with_orders_share_copy() -> (rdsf_core::port::fake::FakeStore, SnapshotRef) {
    let store = live_store();
    store
        .world()
        .snapshots
        .push(managed_copy("orders", "2026-11-22T03:00:00Z", "available"));
    let snap = SnapshotRef::from(&store.world().snapshots[0]);
    (store, snap)
}

#[tokio::test]
async fn notify_publishes_the_versioned_message_to_every_topic_and_summarizes() {
    let cfg = live_config(&[
        ("FAILSAFE_ACCOUNTS", "222222222222,333333333333"),
        (
            "FAILSAFE_TOPIC_ARNS",
            "arn:aws:sns:eu-west-1:222222222222:a,arn:aws:sns:eu-west-1:333333333333:b",
        ),
    ]);
    let (store, snap) = store_with_orders_share_copy();
    // A Lambda error reaches the state machine with Cause = the JSON of the error.
    let mut failed = result("failed", src(SnapshotKind::Instance, "ledger"), None);
    failed.error = Some("SnapshotQuotaExceeded".into());
    failed.cause = Some(
        r#"{"errorMessage":"CopyDBSnapshot: quota reached","errorType":"SnapshotQuotaExceeded"}"#
            .into(),
    );
    let mut skipped = result("skipped", src(SnapshotKind::Cluster, "empty"), None);
    skipped.reason = Some("no automated snapshot".into());
    let mut not_shareable = result("skipped", src(SnapshotKind::Instance, "tde"), None);
    not_shareable.error = Some("NotShareable".into());
    not_shareable.cause = Some(
        r#"{"errorMessage":"instance tde: option TDE is permanent","errorType":"NotShareable"}"#
            .into(),
    );
    let results = vec![
        result("copied", src(SnapshotKind::Instance, "orders"), Some(snap)),
        failed,
        skipped,
        not_shareable,
    ];

    let dry = notify(
        &cfg,
        &store,
        NotifyInput {
            results: results.clone(),
            deletion: QuotaLeftOut::default(),
            dry_run: true,
        },
    )
    .await
    .unwrap();
    assert!(dry.published.is_empty());
    assert!(store.world().published.is_empty());

    let out = notify(
        &cfg,
        &store,
        NotifyInput {
            results,
            deletion: QuotaLeftOut::default(),
            dry_run: false,
        },
    )
    .await
    .unwrap();
    assert_eq!(out.published.len(), 2);
    let (topic, body) = store.world().published[0].clone();
    assert_eq!(topic, "arn:aws:sns:eu-west-1:222222222222:a");
    let msg =
        rdsf_core::policy::message::FailsafeMessage::parse(&body, &[LIVE.to_string()]).unwrap();
    assert_eq!(msg.snapshots.len(), 1);
    assert_eq!(msg.snapshots[0].source_id, "orders");
    assert_eq!(
        msg.snapshots[0].source_create_time,
        t("2026-11-22T03:00:00Z")
    );
    assert_eq!(
        out.summary.copied,
        vec!["instance:orders -> rdsf-orders-202611220300"]
    );
    assert_eq!(
        out.summary.failed,
        vec!["instance:ledger: SnapshotQuotaExceeded: CopyDBSnapshot: quota reached"]
    );
    assert_eq!(
        out.summary.skipped,
        vec![
            "cluster:empty (no automated snapshot)",
            "instance:tde (NotShareable: instance tde: option TDE is permanent)"
        ]
    );
    assert_eq!(out.summary.failed_count, 1);
}

#[tokio::test]
async fn notify_with_nothing_shared_publishes_nothing() {
    let cfg = live_config(&[]);
    let store = live_store();
    let out = notify(
        &cfg,
        &store,
        NotifyInput {
            results: vec![],
            deletion: QuotaLeftOut::default(),
            dry_run: false,
        },
    )
    .await
    .unwrap();
    assert!(out.published.is_empty() && out.messages.is_empty());
}

#[tokio::test]
async fn a_dry_run_changes_nothing() {
    let cfg = live_config(&[]);
    let store = live_store();
    store.world().snapshots.push(automated(
        SnapshotKind::Instance,
        "orders",
        "2026-11-22T03:00:00Z",
    ));
    store
        .world()
        .snapshots
        .push(managed_copy("orders", "2026-11-10T03:00:00Z", "available"));
    store
        .world()
        .snapshots
        .push(managed_copy("orders", "2026-11-11T03:00:00Z", "available"));
    store
        .world()
        .snapshots
        .push(managed_copy("orders", "2026-11-12T03:00:00Z", "available"));
    let before = store.world().snapshots.clone();
    let del = delete_old_copies(
        &cfg,
        &store,
        DeleteInput {
            sources: vec![src(SnapshotKind::Instance, "orders")],
            dry_run: true,
            now: t(RUN_START),
            wait: default_wait(),
        },
    )
    .await
    .unwrap();
    assert_eq!(del.report.would_delete.len(), 1);
    let out = copy(&cfg, &store, src(SnapshotKind::Instance, "orders"), true)
        .await
        .unwrap();
    assert_eq!(out.outcome, CopyOutcome::Planned);
    assert_eq!(
        out.snapshot.as_ref().unwrap().id,
        "rdsf-orders-202611220300"
    );
    let existing = SnapshotRef::from(&before[1]);
    let sh = share(
        &cfg,
        &store,
        ShareInput {
            snapshot: existing.clone(),
            dry_run: true,
            copy: None,
            copy_seconds: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(sh.added, vec![FAILSAFE.to_string()]);
    let results = vec![result(
        "copied",
        src(SnapshotKind::Instance, "orders"),
        Some(existing),
    )];
    notify(
        &cfg,
        &store,
        NotifyInput {
            results,
            deletion: QuotaLeftOut::default(),
            dry_run: true,
        },
    )
    .await
    .unwrap();
    let w = store.world();
    assert!(w.mutations.is_empty(), "{:?}", w.mutations);
    assert_eq!(w.snapshots, before);
    assert!(w.restore.is_empty() && w.published.is_empty());
}

/// A source whose child execution failed uncaught (States.Runtime, stopped by hand) has only its
/// execution record in the Map's output; notify still publishes the others and counts it failed.
#[tokio::test]
async fn notify_counts_a_failed_child_execution_and_publishes_the_rest() {
    let cfg = live_config(&[]);
    let (store, snap) = store_with_orders_share_copy();
    let copied = result("copied", src(SnapshotKind::Instance, "orders"), Some(snap));
    let child_input = serde_json::json!({
        "source": src(SnapshotKind::Cluster, "ledger"), "index": 1, "dryRun": false,
        "pollSeconds": 60, "maxWaitSeconds": 21600
    });
    let input: NotifyInput = serde_json::from_value(serde_json::json!({
        "results": {"instances": [copied], "clusters": [{
            "ExecutionArn": "arn:aws:states:eu-west-1:111111111111:execution:rds-failsafe/CopyClusters:1",
            "Input": child_input.to_string(), "InputDetails": {"Included": true}, "Name": "1",
            "Status": "FAILED", "Error": "States.Runtime",
            "Cause": "The JSONPath '$.copy.snapshot' could not be found in the input",
            "StartDate": "2026-11-22T05:00:00Z", "StopDate": "2026-11-22T05:01:00Z"
        }]},
        "dryRun": false
    }))
    .unwrap();
    let out = notify(&cfg, &store, input).await.unwrap();
    assert_eq!(out.message_snapshots, 1);
    assert_eq!(out.summary.copied_count, 1);
    assert_eq!(out.summary.failed_count, 1);
    assert!(
        out.summary.failed[0].starts_with("cluster:ledger: States.Runtime: The JSONPath")
            && out.summary.failed[0].contains("CopyClusters:1"),
        "{}",
        out.summary.failed[0]
    );
    // what is neither a result nor a failed child's record is refused, naming its place
    let err = serde_json::from_value::<NotifyInput>(
        serde_json::json!({"results": {"instances": [{"nope": 1}], "clusters": []}}),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("results.instances[0] is neither"), "{err}");
}

/// Room for two of three sources' copies: the first two selected are copied, the third is left
/// out and fails the run at `notify`, with the numbers and the cdk.json field to change.
#[tokio::test]
async fn a_quota_too_small_for_every_source_copies_what_fits_and_fails_naming_the_rest() {
    let cfg = live_config(&[]);
    let store = live_store();
    store.world().quota = Some(2);
    let sources = vec![
        src(SnapshotKind::Instance, "orders"),
        src(SnapshotKind::Cluster, "billing"),
        src(SnapshotKind::Instance, "users"),
        src(SnapshotKind::Instance, "ledger"),
    ];
    let out = delete_old_copies(
        &cfg,
        &store,
        DeleteInput {
            sources: sources.clone(),
            dry_run: false,
            now: t(RUN_START),
            wait: default_wait(),
        },
    )
    .await
    .unwrap();
    // instances: room for two of three; the cluster quota has its own room; each in its lane
    assert_eq!(
        out.copies.instances,
        vec![sources[0].clone(), sources[2].clone()]
    );
    assert_eq!(out.copies.clusters, vec![sources[1].clone()]);
    assert_eq!(out.report.left_out, vec!["instance:ledger"]);
    assert_eq!(out.report.left_out_count, 1);
    let deletion: QuotaLeftOut =
        serde_json::from_value(serde_json::to_value(&out.report).unwrap()).unwrap();
    let summary = summarize(&[], &deletion);
    assert_eq!(summary.failed_count, 1);
    assert!(
        summary.failure_cause.contains(
            "instance:ledger: SnapshotQuotaExceeded: left out of this run: ManualSnapshots quota: 0 used of 2, this run needs 3 more"
        ) && summary.failure_cause.contains("Lower liveKeep"),
        "{}",
        summary.failure_cause
    );
    // a clean-up that failed leaves its error in the state: notify reads no left-out sources
    let failed_cleanup: QuotaLeftOut =
        serde_json::from_value(serde_json::json!({"Error": "Transient", "Cause": "..."})).unwrap();
    assert_eq!(summarize(&[], &failed_cleanup).failed_count, 0);
}

#[tokio::test]
async fn a_share_rds_refuses_for_the_aws_rds_key_is_a_key_error_naming_it() {
    // a managed copy left on the aws/rds key (made by hand, or by an older release): RDS refuses
    // to share it (contract/rds-rules.json), and the run says it is the key
    let cfg = live_config(&[]);
    let (store, default_key) = store_with_an_aws_rds_source();
    let snap = copy(&cfg, &store, src(SnapshotKind::Instance, "orders"), false)
        .await
        .unwrap()
        .snapshot
        .unwrap();
    store.complete_copies();
    for s in store
        .world()
        .snapshots
        .iter_mut()
        .filter(|s| s.id == snap.id)
    {
        s.kms_key_id = Some(default_key.clone());
    }
    let e = share(
        &cfg,
        &store,
        ShareInput {
            snapshot: snap,
            dry_run: false,
            copy: None,
            copy_seconds: None,
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::KmsKeyNotAccessible, "{e}");
    assert!(e.to_string().contains("aws/rds"), "{e}");
}

#[tokio::test]
async fn a_copy_is_waited_for_as_long_as_its_full_copy_takes_at_the_runs_throughput() {
    let cfg = live_config(&[]);
    let (store, _) = store_with_an_aws_rds_source();
    store.world().snapshots[0].allocated_storage = 2_000;
    let input = || CopyInput {
        source: src(SnapshotKind::Instance, "orders"),
        dry_run: false,
        run_start: t(RUN_START),
        wait: default_wait(),
        take_snapshots: false,
    };
    let out = copy_latest(&cfg, &store, input()).await.unwrap();
    let bound = out.wait_bound.expect("a copy to wait for has a bound");
    // 2,000 GiB at 100 MiB/s: 20,480 s, and half as long again
    assert_eq!(
        (bound.size_gib, bound.expected_seconds),
        (Some(2_000), Some(20_480))
    );
    assert_eq!(bound.max_wait_seconds, 30_720);
    // the same copy found on a re-run (outcome exists) is waited for as long
    let again = copy_latest(&cfg, &store, input()).await.unwrap();
    assert_eq!(again.outcome, CopyOutcome::Exists);
    assert_eq!(again.wait_bound, Some(bound));
}

#[tokio::test]
async fn an_aurora_copy_is_waited_for_max_wait_seconds_its_size_unknown() {
    let cfg = live_config(&[]);
    let store = live_store();
    store.world().snapshots.push(automated(
        SnapshotKind::Cluster,
        "ledger",
        "2026-11-22T03:05:00Z",
    ));
    let out = copy(&cfg, &store, src(SnapshotKind::Cluster, "ledger"), false)
        .await
        .unwrap();
    let bound = out.wait_bound.unwrap();
    assert_eq!((bound.size_gib, bound.max_wait_seconds), (None, 21_600));
    // with a wait of its own (COPY_WAITS, marked by select-sources) it is waited for that long
    let mut ledger = src(SnapshotKind::Cluster, "ledger");
    ledger.copy_wait_seconds = Some(43_200);
    let out = copy(&cfg, &store, ledger, false).await.unwrap();
    assert_eq!(out.outcome, CopyOutcome::Exists);
    assert_eq!(out.wait_bound.unwrap().max_wait_seconds, 43_200);
}

fn key(arn: &str, manager: &str) -> (KeyInfo, Option<String>) {
    let info = KeyInfo {
        arn: arn.into(),
        state: "Enabled".into(),
        manager: manager.into(),
    };
    (info, Some("{}".into()))
}

fn incremental(kind: SnapshotKind, id: &str) -> Source {
    let mut s = src(kind, id);
    s.mode = SourceMode::Incremental;
    s
}

/// A Live account whose instance `app` is on a customer-managed key, with an automated snapshot
/// of 03:00 on 22 November.
fn app_on_a_customer_key() -> rdsf_core::port::fake::FakeStore {
    let store = live_store();
    {
        let mut w = store.world();
        let mut a = automated(SnapshotKind::Instance, "app", "2026-11-22T03:00:00Z");
        a.encrypted = true;
        a.kms_key_id = Some(CUSTOMER_KEY.into());
        w.snapshots.push(a);
        w.keys
            .insert(CUSTOMER_KEY.into(), key(CUSTOMER_KEY, "CUSTOMER"));
    }
    store
}

/// RDS snapshots only an available database: a cadence's run that meets the backup window
/// skips the source, naming why; the daily run fails for it (the dead-man's switch and the
/// run's alarm are for the day's copy).
#[tokio::test]
async fn a_busy_database_is_skipped_by_a_cadence_run_and_fails_the_daily_one() {
    let store = app_on_a_customer_key();
    store
        .world()
        .db_status
        .insert("app".into(), "backing-up".into());
    let cfg = live_config(&[]);
    let input = |take_snapshots| CopyInput {
        source: incremental(SnapshotKind::Instance, "app"),
        dry_run: false,
        run_start: t(RUN_START),
        wait: default_wait(),
        take_snapshots,
    };
    let out = copy_latest(&cfg, &store, input(true)).await.unwrap();
    assert_eq!(out.outcome, CopyOutcome::Skipped);
    let reason = out.reason.unwrap();
    assert!(
        reason.contains("instance app cannot be snapshotted now (InvalidDBInstanceState")
            && reason.contains("backing-up")
            && reason.contains("the next one takes its snapshot"),
        "{reason}"
    );
    let e = copy_latest(&cfg, &store, input(false)).await.unwrap_err();
    assert!(e.message.contains("backing-up"), "{}", e.message);
}

#[tokio::test]
async fn an_incremental_source_on_a_customer_key_shares_a_snapshot_the_run_takes() {
    let store = app_on_a_customer_key();
    let cfg = live_config(&[]);
    let out = copy(
        &cfg,
        &store,
        incremental(SnapshotKind::Instance, "app"),
        false,
    )
    .await
    .unwrap();
    assert_eq!(out.outcome, CopyOutcome::Copying);
    let snap = out.snapshot.clone().unwrap();
    // named for the run's start, under the database's own key, not the share key
    assert_eq!(snap.id, "rdsf-app-202611220500");
    assert_eq!(out.kms_key_id.as_deref(), Some(CUSTOMER_KEY));
    assert_eq!(out.automated_snapshot_arn, None);
    assert!(
        out.reason.as_deref().unwrap().contains("own snapshot"),
        "{:?}",
        out.reason
    );
    assert!(out.wait_bound.is_some());
    assert_eq!(
        store.world().mutations,
        vec!["snapshot app -> rdsf-app-202611220500"]
    );
    let taken = store
        .world()
        .snapshots
        .iter()
        .find(|s| s.id == snap.id)
        .cloned()
        .unwrap();
    assert!(tags::is_managed(&taken.tags));
    assert_eq!(
        taken
            .tags
            .get(tags::SOURCE_SNAPSHOT_ARN)
            .map(String::as_str),
        Some("arn:aws:rds:eu-west-1:111111111111:db:app"),
        "its provenance is the database it was taken of"
    );
    // a retried task finds the run's snapshot instead of taking a second one
    let again = copy(
        &cfg,
        &store,
        incremental(SnapshotKind::Instance, "app"),
        false,
    )
    .await
    .unwrap();
    assert_eq!(again.outcome, CopyOutcome::Exists);
    assert_eq!(store.world().mutations.len(), 1);
    // and shares it as it is
    store.complete_copies();
    let shared = share(
        &cfg,
        &store,
        ShareInput {
            snapshot: snap,
            dry_run: false,
            copy: None,
            copy_seconds: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(shared.added, vec![FAILSAFE]);
}

#[tokio::test]
async fn an_incremental_source_on_aws_rds_keeps_the_share_copy_and_says_why() {
    let (store, default_key) = store_with_an_aws_rds_source();
    store
        .world()
        .keys
        .insert(default_key.clone(), key(&default_key, "AWS"));
    let cfg = live_config(&[]);
    let out = copy(
        &cfg,
        &store,
        incremental(SnapshotKind::Instance, "orders"),
        false,
    )
    .await
    .unwrap();
    assert_eq!(out.outcome, CopyOutcome::Copying);
    assert_eq!(out.kms_key_id.as_deref(), Some(SHARE_KEY));
    let why = out.reason.unwrap();
    assert!(why.contains("AWS-managed") && why.contains("full"), "{why}");
    assert!(store.world().mutations[0].starts_with("copy rds:orders"));
}

#[tokio::test]
async fn a_snapshot_under_the_runs_name_taken_by_someone_else_is_not_shared() {
    let store = live_store();
    {
        let mut w = store.world();
        w.snapshots.push(automated(
            SnapshotKind::Cluster,
            "ledger",
            "2026-11-22T03:00:00Z",
        ));
        // someone took a snapshot under the run's name, without the tool's tags
        let mut planted = snapshot(
            LIVE,
            REGION,
            SnapshotKind::Cluster,
            "rdsf-ledger-202611220500",
            "ledger",
            "manual",
            "2026-11-22T04:59:00Z",
        );
        planted.tags.insert(tags::MANAGED.into(), "true".into());
        w.snapshots.push(planted);
    }
    let cfg = live_config(&[]);
    let e = copy(
        &cfg,
        &store,
        incremental(SnapshotKind::Cluster, "ledger"),
        false,
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::VerifyFailed);
    assert!(
        e.message
            .contains("no rds-failsafe:source-snapshot-arn tag"),
        "{}",
        e.message
    );
    assert!(store.world().mutations.is_empty());
}

/// Snapshots the runs took a few hours apart (a cadence): one beyond LIVE_KEEP that a Failsafe
/// copy may still be reading is held, and reported; an older one is deleted. A share copy of an
/// automated snapshot is held a day longer: it was made up to a day after its data.
#[tokio::test]
async fn delete_old_copies_holds_a_share_a_failsafe_copy_may_still_read() {
    let cfg = live_config(&[]);
    let store = live_store();
    for made in [
        "2026-11-21T13:00:00Z",
        "2026-11-21T17:00:00Z",
        "2026-11-21T21:00:00Z",
        "2026-11-22T01:00:00Z",
    ] {
        let mut own = managed_copy("orders", made, "available");
        own.tags.insert(
            tags::SOURCE_SNAPSHOT_ARN.into(),
            format!("arn:aws:rds:{REGION}:{LIVE}:db:orders"),
        );
        store.world().snapshots.push(own);
    }
    let out = delete_old_copies(
        &cfg,
        &store,
        DeleteInput {
            sources: vec![src(SnapshotKind::Instance, "orders")],
            dry_run: false,
            now: t(RUN_START),
            wait: default_wait(),
        },
    )
    .await
    .unwrap();
    // 05:00: 17:00 is 12 hours old, within two 6-hour waits and an hour; 13:00 is 16
    assert_eq!(out.report.held, vec!["rdsf-orders-202611211700"]);
    assert_eq!(out.report.deleted, vec!["rdsf-orders-202611211300"]);
    assert_eq!(out.report.kept_count, 3);
    // share copies of automated snapshots of the same times: both held
    let store = live_store();
    for made in [
        "2026-11-21T13:00:00Z",
        "2026-11-21T17:00:00Z",
        "2026-11-21T21:00:00Z",
        "2026-11-22T01:00:00Z",
    ] {
        store
            .world()
            .snapshots
            .push(managed_copy("orders", made, "available"));
    }
    let input = DeleteInput {
        sources: vec![src(SnapshotKind::Instance, "orders")],
        dry_run: false,
        now: t(RUN_START),
        wait: default_wait(),
    };
    let out = delete_old_copies(&cfg, &store, input).await.unwrap();
    assert_eq!(out.report.held_count, 2);
    assert!(out.report.deleted.is_empty());
}

/// A share copy is full the first time and incremental beside the one before (LIVE_KEEP keeps
/// it, under the same key); `share` returns each one's figures and the run's summary counts them.
#[tokio::test]
async fn the_runs_summary_says_what_its_share_copies_moved() {
    let cfg = live_config(&[]);
    let store = live_store();
    let mut results = Vec::new();
    for (day, seconds) in [
        ("2026-11-21T03:00:00Z", 1_024),
        ("2026-11-22T03:00:00Z", 60),
    ] {
        let mut a = automated(SnapshotKind::Instance, "orders", day);
        a.allocated_storage = 100;
        store.world().snapshots.push(a);
        let out = copy(&cfg, &store, src(SnapshotKind::Instance, "orders"), false)
            .await
            .unwrap();
        assert_eq!(out.outcome, CopyOutcome::Copying);
        store.complete_copies();
        let shared = share(
            &cfg,
            &store,
            ShareInput {
                snapshot: out.snapshot.clone().unwrap(),
                dry_run: false,
                copy: out.copy.clone(),
                copy_seconds: Some(seconds),
            },
        )
        .await
        .unwrap();
        let mut r = result(
            "copied",
            src(SnapshotKind::Instance, "orders"),
            out.snapshot,
        );
        r.copy = shared.copy;
        results.push(r);
    }
    let modes: Vec<_> = results
        .iter()
        .map(|r| r.copy.as_ref().map(|c| (c.mode, c.moved_gib, c.seconds)))
        .collect();
    assert_eq!(
        modes,
        [
            Some((rdsf_core::policy::copy::CopyMode::Full, Some(100), 1_024)),
            Some((rdsf_core::policy::copy::CopyMode::Incremental, None, 60))
        ]
    );
    let summary = summarize(&results, &Default::default());
    assert_eq!(
        summary.copies.first,
        [
            "instance:orders: full, 100 GiB, 1024 s",
            "instance:orders: incremental, 60 s"
        ]
    );
    assert_eq!(
        (summary.copies.full_gib, summary.copies.total_seconds),
        (100, 1_084)
    );
}
