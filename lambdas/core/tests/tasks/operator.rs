//! `rdsf status` and `rdsf restore` over the in-memory fake of the Failsafe account.

use crate::common::*;
use rdsf_core::error::ErrorKind;
use rdsf_core::model::SnapshotKind;
use rdsf_core::operator::{add_cluster_instance, cluster_progress, hold, release, restore, status};
use rdsf_core::policy::drill::RestoreProgress;
use rdsf_core::policy::restore::{RestoreOptions, RESTORED_FROM};
use rdsf_core::policy::status::Freshness;

/// `rdsf status` at 2026-11-20T12:00:00Z with a 30-hour threshold and the list price, the
/// deployed retention unknown.
async fn status_at_noon(
    store: &rdsf_core::port::fake::FakeStore,
) -> rdsf_core::operator::StatusReport {
    status(
        store,
        REGION,
        t("2026-11-20T12:00:00Z"),
        30.0,
        rdsf_core::policy::status::Prices::default(),
        Err("no deployed Failsafe configuration".into()),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn status_prices_the_copies_by_the_tier_that_keeps_them_when_the_retention_is_known() {
    let copies = [
        "2026-11-20T03:00:00Z",
        "2026-11-19T03:00:00Z",
        "2026-11-12T03:00:00Z",
    ]
    .iter()
    .map(|at| {
        let mut c = failsafe_copy(SnapshotKind::Instance, "orders", at, true);
        c.allocated_storage = 1_000;
        c
    })
    .collect();
    let store = failsafe_store_with(copies);
    let cfg = failsafe_config(&[
        ("KEEP_DAILY", "7"),
        ("KEEP_WEEKLY", "4"),
        ("KEEP_MONTHLY", "12"),
    ]);
    let report = status(
        &store,
        REGION,
        t("2026-11-20T12:00:00Z"),
        30.0,
        rdsf_core::policy::status::Prices {
            usd_per_gb_month: 0.1,
            change_per_day: 0.02,
        },
        Ok(&cfg.retention),
    )
    .await
    .unwrap();
    let tiers: Vec<(&str, usize, Option<i64>)> = report
        .tiers
        .iter()
        .map(|t| (t.tier.as_str(), t.copies, t.stored_gib))
        .collect();
    // 20 Nov: the month's newest; 19 Nov: a day's; 12 Nov: the newest of the week before
    assert_eq!(
        tiers,
        [
            ("monthly", 1, Some(1_000)),
            ("weekly", 1, Some(1_000)),
            ("daily", 1, Some(1_000))
        ]
    );
    assert_eq!(report.sources[0].tiers.len(), 3);
    assert_eq!(
        report.retention.as_deref(),
        Some("KEEP_HOURLY=0 KEEP_DAILY=7 KEEP_WEEKLY=4 KEEP_MONTHLY=12 MIN_KEEP=3")
    );
    assert_eq!(report.tiers_not_shown, None);
    // unknown retention: no tiers, and the reason
    let report = status_at_noon(&store).await;
    assert!(report.tiers.is_empty() && report.sources[0].tiers.is_empty());
    assert_eq!(
        report.tiers_not_shown.as_deref(),
        Some("no deployed Failsafe configuration")
    );
}

#[tokio::test]
async fn status_lists_each_source_and_names_the_stale_ones() {
    let store = failsafe_store_with(vec![
        failsafe_copy(
            SnapshotKind::Instance,
            "orders",
            "2026-11-19T03:00:00Z",
            true,
        ),
        failsafe_copy(
            SnapshotKind::Instance,
            "orders",
            "2026-11-20T03:00:00Z",
            true,
        ),
        failsafe_copy(
            SnapshotKind::Cluster,
            "ledger",
            "2026-11-18T03:00:00Z",
            true,
        ),
    ]);
    let r = status_at_noon(&store).await;
    let got: Vec<_> = r
        .sources
        .iter()
        .map(|s| (s.source_id.as_str(), s.freshness, s.copies))
        .collect();
    assert_eq!(
        got,
        [
            ("ledger", Freshness::Stale, 1),
            ("orders", Freshness::Fresh, 2)
        ]
    );
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert!(
        r.problems[0].contains("ledger: newest verified copy is 57.0 h old"),
        "{:?}",
        r.problems
    );
    assert_eq!(r.quotas.iter().map(|q| q.used).sum::<i64>(), 3);
    assert!(store.world().mutations.is_empty(), "status changes nothing");
}

#[tokio::test]
async fn status_of_an_account_without_copies_is_a_problem_not_an_empty_success() {
    let r = status_at_noon(&failsafe_store()).await;
    assert!(!r.ok());
    assert!(
        r.problems[0].contains("no rds-failsafe copies in region eu-west-1"),
        "{:?}",
        r.problems
    );
}

#[tokio::test]
async fn status_warns_of_a_nearly_full_quota() {
    let store = failsafe_store_with(vec![failsafe_copy(
        SnapshotKind::Instance,
        "orders",
        "2026-11-20T03:00:00Z",
        true,
    )]);
    store.world().quota = Some(1);
    let r = status_at_noon(&store).await;
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains("instance snapshot quota 1 of 1 used")),
        "{:?}",
        r.problems
    );
}

#[tokio::test]
async fn a_dry_run_restore_plans_the_newest_verified_copy_and_changes_nothing() {
    let store = failsafe_store_with(vec![
        failsafe_copy(
            SnapshotKind::Instance,
            "orders",
            "2026-11-19T03:00:00Z",
            true,
        ),
        failsafe_copy(
            SnapshotKind::Instance,
            "orders",
            "2026-11-20T03:00:00Z",
            true,
        ),
        failsafe_copy(
            SnapshotKind::Instance,
            "orders",
            "2026-11-20T09:00:00Z",
            false,
        ),
    ]);
    let r = restore(
        &store,
        REGION,
        "orders",
        None,
        &RestoreOptions::default(),
        true,
    )
    .await
    .unwrap();
    assert_eq!(r.copy.data_time, t("2026-11-20T03:00:00Z"));
    assert_eq!(r.plan.restore.target_id, "orders-restored-202611200300");
    assert!(r.created.is_empty());
    assert!(store.world().mutations.is_empty());
    let at = restore(
        &store,
        REGION,
        "orders",
        Some(t("2026-11-19T23:00:00Z")),
        &RestoreOptions::default(),
        true,
    )
    .await
    .unwrap();
    assert_eq!(at.copy.data_time, t("2026-11-19T03:00:00Z"));
}

#[tokio::test]
async fn a_restore_makes_the_instance_tagged_with_its_copy() {
    let copy = failsafe_copy(
        SnapshotKind::Instance,
        "orders",
        "2026-11-20T03:00:00Z",
        true,
    );
    let store = failsafe_store_with(vec![copy.clone()]);
    let r = restore(
        &store,
        REGION,
        &format!("{LIVE}:orders"),
        None,
        &RestoreOptions::default(),
        false,
    )
    .await
    .unwrap();
    assert_eq!(
        r.created,
        [format!(
            "arn:aws:rds:{REGION}:{FAILSAFE}:db:orders-restored-202611200300"
        )]
    );
    let tags = store.world().instances[0].tags.clone();
    assert_eq!(tags.get(RESTORED_FROM), Some(&copy.arn));
    // the same restore again: RDS refuses the taken name, the operator hears it (exit 3)
    let again = restore(
        &store,
        REGION,
        "orders",
        None,
        &RestoreOptions::default(),
        false,
    )
    .await
    .unwrap_err();
    assert_eq!(again.kind, ErrorKind::AwsError);
    assert!(
        again.message.contains("already exists"),
        "{}",
        again.message
    );
}

#[tokio::test]
async fn a_cluster_restore_creates_the_cluster_and_its_first_instance() {
    let store = failsafe_store_with(vec![failsafe_copy(
        SnapshotKind::Cluster,
        "ledger",
        "2026-11-20T03:00:00Z",
        true,
    )]);
    let opts = RestoreOptions {
        instance_class: Some("db.r6g.large".into()),
        ..Default::default()
    };
    let r = restore(&store, REGION, "ledger", None, &opts, false)
        .await
        .unwrap();
    assert_eq!(r.created.len(), 1);
    let ci = r.plan.cluster_instance.clone().unwrap();
    // RDS adds an instance only to an available cluster: rdsf waits for it
    let (progress, status) = cluster_progress(&store, &ci.cluster_id).await.unwrap();
    assert_eq!(
        (progress, status.as_str()),
        (RestoreProgress::Waiting, "creating")
    );
    let early = add_cluster_instance(&store, &ci).await.unwrap_err();
    assert!(
        early.message.contains("run the second command by hand"),
        "{}",
        early.message
    );
    store
        .world()
        .db_status
        .insert(ci.cluster_id.clone(), "available".into());
    assert_eq!(
        cluster_progress(&store, &ci.cluster_id).await.unwrap().0,
        RestoreProgress::Available
    );
    add_cluster_instance(&store, &ci).await.unwrap();
    assert_eq!(
        store.world().mutations,
        [
            "restore rdsf-111111111111-ledger-202611200300 -> ledger-restored-202611200300",
            "create-instance ledger-restored-202611200300-1 in ledger-restored-202611200300"
        ]
    );
}

#[tokio::test]
async fn an_unknown_source_or_a_time_before_every_copy_is_bad_input_naming_what_is_there() {
    let store = failsafe_store_with(vec![failsafe_copy(
        SnapshotKind::Instance,
        "orders",
        "2026-11-20T03:00:00Z",
        true,
    )]);
    let e = restore(
        &store,
        REGION,
        "billing",
        None,
        &RestoreOptions::default(),
        true,
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidInput);
    assert!(
        e.message
            .contains("sources with copies: 111111111111:orders"),
        "{}",
        e.message
    );
    let e = restore(
        &store,
        REGION,
        "orders",
        Some(t("2026-11-01T00:00:00Z")),
        &RestoreOptions::default(),
        true,
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidInput);
    assert!(
        e.message
            .contains("no verified copy taken at or before 2026-11-01T00:00:00Z"),
        "{}",
        e.message
    );
}

/// A legal hold end to end over the fake: `rdsf hold` tags the copy, `prune` keeps it past its
/// retention (saying why), `rdsf status` lists it, `rdsf release` takes the tag off and the next
/// `prune` deletes it.
#[tokio::test]
async fn a_held_copy_outlives_retention_until_it_is_released() {
    use rdsf_core::failsafe::prune;
    use rdsf_core::policy::hold::{HoldSelection, HOLD};
    use rdsf_core::wire::{NotSaved, PruneInput};
    let store = failsafe_store_with(
        (1..=5)
            .map(|d| {
                failsafe_copy(
                    SnapshotKind::Instance,
                    "orders",
                    &format!("2026-11-{d:02}T03:00:00Z"),
                    true,
                )
            })
            .collect(),
    );
    let first = "rdsf-111111111111-orders-202611010300";
    let held = hold(
        &store,
        "orders",
        HoldSelection::At(t("2026-11-01T12:00:00Z")),
        "case 4411",
        t("2026-11-05T10:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(held.copies.len(), 1);
    assert_eq!(held.copies[0].id, first);
    assert_eq!(held.hold.as_deref(), Some("2026-11-05T10:00:00Z case 4411"));
    // a second hold on the same copy keeps the first one's value
    hold(
        &store,
        "orders",
        HoldSelection::At(t("2026-11-01T12:00:00Z")),
        "again",
        t("2026-11-06T10:00:00Z"),
    )
    .await
    .unwrap();
    let tag = |id: &str| {
        store
            .world()
            .snapshots
            .iter()
            .find(|s| s.id == id)
            .and_then(|s| s.tags.get(HOLD).cloned())
    };
    assert_eq!(
        tag(first).as_deref(),
        Some("2026-11-05T10:00:00Z case 4411")
    );

    let cfg = failsafe_config(&[("RETENTION", "2"), ("MIN_KEEP", "1")]);
    let run = |now: &str| PruneInput {
        now: t(now),
        results: vec![],
        not_saved: NotSaved::default(),
        dry_run: false,
    };
    let out = prune(&cfg, &store, run("2026-11-05T12:00:00Z"))
        .await
        .unwrap();
    let orders = &out.retention.sources[0];
    assert!(
        !orders.deleted.contains(&first.to_string()),
        "{:?}",
        orders.deleted
    );
    assert_eq!(
        orders.deleted.len(),
        2,
        "the 2nd and 3rd are past 2 days: {:?}",
        orders.deleted
    );
    let kept = orders.kept.iter().find(|k| k.id == first).unwrap();
    assert_eq!(
        kept.reasons,
        vec!["legal hold: 2026-11-05T10:00:00Z case 4411".to_string()]
    );

    let s = status_at_noon(&store).await;
    assert_eq!(s.sources[0].holds.len(), 1);
    assert_eq!(s.sources[0].holds[0].copy.id, first);

    // a release before every held copy is bad input naming the held ones
    let e = release(
        &store,
        "orders",
        HoldSelection::At(t("2026-10-01T00:00:00Z")),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidInput);
    assert!(
        e.message
            .contains("the held copies are rdsf-111111111111-orders-202611010300"),
        "{}",
        e.message
    );
    let released = release(&store, "orders", HoldSelection::All).await.unwrap();
    assert_eq!(released.action, "released");
    assert_eq!(tag(first), None);
    let out = prune(&cfg, &store, run("2026-11-05T13:00:00Z"))
        .await
        .unwrap();
    assert_eq!(out.retention.sources[0].deleted, vec![first.to_string()]);
}

#[tokio::test]
async fn a_hold_without_a_reason_or_of_an_unknown_source_is_bad_input_and_changes_nothing() {
    use rdsf_core::policy::hold::HoldSelection;
    let store = failsafe_store_with(vec![failsafe_copy(
        SnapshotKind::Instance,
        "orders",
        "2026-11-20T03:00:00Z",
        true,
    )]);
    let now = t("2026-11-20T12:00:00Z");
    let e = hold(&store, "orders", HoldSelection::Newest, " ", now)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidInput);
    assert!(e.message.contains("--reason is empty"), "{}", e.message);
    let e = hold(&store, "orders", HoldSelection::Newest, "case #1", now)
        .await
        .unwrap_err();
    assert!(e.message.contains("'#'"), "{}", e.message);
    let e = hold(&store, "ledger", HoldSelection::All, "case 1", now)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidInput);
    let e = release(&store, "orders", HoldSelection::All)
        .await
        .unwrap_err();
    assert!(
        e.message.contains("no copy of this source is held"),
        "{}",
        e.message
    );
    assert!(store.world().mutations.is_empty());
}
