//! Both preflights and the Live `preflight` Lambda on the in-memory fake.

use crate::common::*;
use rdsf_core::error::ErrorKind;
use rdsf_core::live::{preflight, PreflightInput};
use rdsf_core::model::{KeyInfo, OptionGroup, OptionInfo, SnapshotKind, Source};
use rdsf_core::operator::preflight::{failsafe_preflight, live_preflight};
use rdsf_core::policy::preflight::Level;
use rdsf_core::policy::tags;
use rdsf_core::port::fake::FakeStore;

fn key(arn: &str, state: &str) -> KeyInfo {
    KeyInfo {
        arn: arn.into(),
        state: state.into(),
        manager: "CUSTOMER".into(),
    }
}

/// The share key policy the Live stack deploys, granting `accounts`.
fn share_key_policy(accounts: &[&str]) -> String {
    let principals: Vec<String> = accounts
        .iter()
        .map(|a| format!("arn:aws:iam::{a}:root"))
        .collect();
    serde_json::json!({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{LIVE}:root")}, "Action": "kms:*"},
        {"Effect": "Allow", "Principal": {"AWS": principals}, "Action": ["kms:Decrypt", "kms:DescribeKey"],
         "Condition": {"StringEquals": {"kms:ViaService": "rds.eu-west-1.amazonaws.com"}}},
        {"Effect": "Allow", "Principal": {"AWS": principals}, "Action": "kms:CreateGrant",
         "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
    ]})
    .to_string()
}

fn topic_policy() -> String {
    serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{LIVE}:root")},
                                      "Action": "sns:Publish", "Resource": TOPIC}]})
    .to_string()
}

/// A Live account as deployed: two encrypted sources, the share key granting the Failsafe
/// account, the Failsafe topic letting the Live account publish.
fn live_world() -> FakeStore {
    let store = live_store();
    {
        let mut w = store.world();
        w.instances = vec![instance("orders")];
        w.clusters = vec![cluster("ledger")];
        w.keys.insert(
            SHARE_KEY.into(),
            (
                key(SHARE_KEY, "Enabled"),
                Some(share_key_policy(&[FAILSAFE])),
            ),
        );
        w.topics.insert(TOPIC.into(), Some(topic_policy()));
    }
    store
}

fn sources() -> Vec<Source> {
    vec![
        Source::new(SnapshotKind::Instance, "orders"),
        Source::new(SnapshotKind::Cluster, "ledger"),
    ]
}

/// The run's input as the state machine passes it: started at 05:00, copies wait up to 6 hours.
fn input(dry_run: bool) -> PreflightInput {
    serde_json::from_value(serde_json::json!({
        "sources": sources(),
        "skipped": [],
        "now": "2026-11-20T05:00:00Z",
        "maxWaitSeconds": 21600,
        "dryRun": dry_run,
    }))
    .unwrap()
}

/// RDS takes no automated backup while a snapshot copy of the database runs: a backup window
/// that opens while the run may be copying the source is a warning; one before the run is not.
#[tokio::test]
async fn a_backup_window_inside_the_runs_copy_is_a_warning() {
    let (cfg, store) = (live_config(&[]), live_world());
    let out = preflight(&cfg, &store, input(false)).await.unwrap();
    assert!(
        out.warnings.iter().all(|w| w.check != "backup-window"),
        "{:?}",
        out.warnings
    );
    store.world().instances[0].backup_window = Some("05:30-06:00".into());
    let out = preflight(&cfg, &store, input(false)).await.unwrap();
    let w: Vec<_> = out
        .warnings
        .iter()
        .filter(|w| w.check == "backup-window")
        .collect();
    assert_eq!(w.len(), 1, "{:?}", out.warnings);
    assert_eq!(w[0].subject, "instance orders");
    assert!(
        w[0].message.contains("05:30-06:00 UTC") && w[0].message.contains("liveSchedule"),
        "{}",
        w[0].message
    );
    // rdsf preflight has no run to compare with: no such finding
    let report = live_preflight(&cfg, &store, &sources(), None)
        .await
        .unwrap();
    assert!(report.findings.iter().all(|f| f.check != "backup-window"));
}

/// A selected Multi-AZ DB cluster (or RDS Custom instance) is left out by the selection and is a
/// problem here — it has no protection — but does not stop the other sources' copies.
#[tokio::test]
async fn a_source_rds_cannot_copy_is_a_problem_that_does_not_stop_the_run() {
    let (cfg, store) = (live_config(&[]), live_world());
    let skipped: Vec<rdsf_core::policy::selection::SelectionSkip> = serde_json::from_value(serde_json::json!([
        {"selector": "cluster:maz", "reason": "Multi-AZ DB cluster (engine postgres): RDS cannot copy its snapshots", "notCopyable": true},
        {"selector": "tag:x=y", "reason": "matched no DB instance or cluster not already selected"}
    ]))
    .unwrap();
    let out = preflight(
        &cfg,
        &store,
        PreflightInput {
            skipped,
            ..input(false)
        },
    )
    .await
    .unwrap();
    assert_eq!((out.problem_count, out.ok_count), (1, 4));
    assert_eq!(out.problems[0].subject, "cluster:maz");
    assert!(
        out.problems[0]
            .message
            .contains("not protected by rds-failsafe"),
        "{}",
        out.problems[0].message
    );
    assert!(out.would_stop.is_none());
}

#[tokio::test]
async fn a_deployed_live_account_passes_every_check() {
    let (cfg, store) = (live_config(&[]), live_world());
    let report = live_preflight(&cfg, &store, &sources(), None)
        .await
        .unwrap();
    assert_eq!(report.worst(), Level::Ok, "{:#?}", report.findings);
    let checks: Vec<(&str, &str)> = report
        .findings
        .iter()
        .map(|f| (f.check, f.subject.as_str()))
        .collect();
    assert_eq!(
        checks,
        vec![
            ("share-key", SHARE_KEY),
            ("topic", TOPIC),
            ("quota", "ManualSnapshots"),
            ("quota", "ManualClusterSnapshots"),
        ]
    );
    let out = preflight(&cfg, &store, input(false)).await.unwrap();
    assert_eq!(
        (out.problem_count, out.warning_count, out.ok_count),
        (0, 0, 4)
    );
    assert!(
        store.world().mutations.is_empty(),
        "the preflight changes nothing"
    );
}

#[tokio::test]
async fn a_share_key_no_failsafe_account_may_use_stops_the_run_with_one_message() {
    let (cfg, store) = (live_config(&[]), live_world());
    store.world().keys.get_mut(SHARE_KEY).unwrap().1 = Some(share_key_policy(&[]));
    let e = preflight(&cfg, &store, input(false)).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::PreflightFailed);
    assert!(
        e.message.starts_with(&format!(
            "preflight: no copy of this run could be saved in a Failsafe account, so nothing was copied: share-key {SHARE_KEY}: the share key's policy does not let Failsafe account {FAILSAFE} use it"
        )),
        "{}",
        e.message
    );
    // a dry run says what would have stopped the run, and does not stop
    let out = preflight(&cfg, &store, input(true)).await.unwrap();
    assert_eq!(out.would_stop.as_deref(), Some(e.message.as_str()));
    assert_eq!(out.problem_count, 1);
}

#[tokio::test]
async fn a_key_problem_does_not_stop_a_run_with_a_source_copied_without_the_key() {
    let (cfg, store) = (live_config(&[]), live_world());
    store.world().instances[0].encrypted = false;
    store.world().keys.get_mut(SHARE_KEY).unwrap().0.state = "Disabled".into();
    let out = preflight(&cfg, &store, input(false)).await.unwrap();
    assert_eq!(out.problem_count, 1);
    assert!(out.problems[0].message.contains("Disabled") && !out.problems[0].blocks);
    // with ENCRYPT_UNENCRYPTED the instance is copied with the key too: nothing could be saved
    let cfg = live_config(&[("ENCRYPT_UNENCRYPTED", "true")]);
    let e = preflight(&cfg, &store, input(false)).await.unwrap_err();
    assert!(
        e.message.contains("the share key is Disabled"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn sources_that_cannot_give_a_copy_are_problems_and_stop_the_run_when_all_are() {
    let (cfg, store) = (live_config(&[]), live_world());
    {
        let mut w = store.world();
        w.instances[0].option_groups = vec!["orders-og".into()];
        w.option_groups = vec![OptionGroup {
            name: "orders-og".into(),
            options: vec![OptionInfo {
                name: "TDE".into(),
                permanent: true,
                persistent: true,
            }],
        }];
    }
    let out = preflight(&cfg, &store, input(false)).await.unwrap();
    assert_eq!(out.problem_count, 1);
    assert_eq!(out.problems[0].subject, "instance orders");
    store.world().clusters[0].backup_retention_days = 0;
    let e = preflight(&cfg, &store, input(false)).await.unwrap_err();
    assert!(
        e.message.contains("(and 1 more like it)") && e.message.contains("2 problem(s)"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn a_missing_topic_is_a_problem_and_unreadable_policies_are_warnings() {
    let (cfg, store) = (live_config(&[]), live_world());
    store.world().topics.clear();
    let out = preflight(&cfg, &store, input(false)).await.unwrap();
    assert_eq!(out.problem_count, 1);
    assert!(out.problems[0].message.contains("does not exist") && !out.problems[0].blocks);

    store.world().topics.insert(TOPIC.into(), None);
    store.world().keys.get_mut(SHARE_KEY).unwrap().1 = None;
    let out = preflight(&cfg, &store, input(false)).await.unwrap();
    assert_eq!((out.problem_count, out.warning_count), (0, 2));
    assert!(out.warnings[0].message.contains("kms:GetKeyPolicy"));
}

#[tokio::test]
async fn throttling_is_an_error_the_state_machine_retries_not_a_finding() {
    let (cfg, store) = (live_config(&[]), live_world());
    store
        .world()
        .throttle
        .insert("GetTopicAttributes".into(), 1);
    let e = preflight(&cfg, &store, input(false)).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Throttled);
}

/// The Live preflight's finding on the DB instance snapshot quota.
async fn instance_quota(
    cfg: &rdsf_core::config::LiveConfig,
    store: &FakeStore,
) -> rdsf_core::policy::preflight::Finding {
    let report = live_preflight(cfg, store, &sources(), None).await.unwrap();
    report
        .findings
        .into_iter()
        .find(|f| f.subject == "ManualSnapshots")
        .unwrap()
}

#[tokio::test]
async fn the_live_quota_counts_other_snapshots_and_live_keep_plus_one_per_source() {
    let (cfg, store) = (live_config(&[("LIVE_KEEP", "2")]), live_world());
    {
        let mut w = store.world();
        w.quota = Some(5);
        // two manual snapshots that are not the tool's
        for id in ["manual-1", "manual-2"] {
            w.snapshots.push(snapshot(
                LIVE,
                REGION,
                SnapshotKind::Instance,
                id,
                "orders",
                "manual",
                "2026-11-01T00:00:00Z",
            ));
        }
    }
    let quota = instance_quota(&cfg, &store).await;
    // 2 others + 1 instance source x 3 = 5 of 5: fits, above 90 %
    assert_eq!(quota.level, Level::Warning, "{}", quota.message);
    // a share copy of a source no longer selected is never deleted by the tool: it counts as one
    // of the others, and the steady state no longer fits
    let mut old = snapshot(
        LIVE,
        REGION,
        SnapshotKind::Instance,
        "rdsf-gone-202611010300",
        "gone",
        "manual",
        "2026-11-01T03:00:00Z",
    );
    old.tags = [
        (tags::MANAGED, "true"),
        (tags::SOURCE_ID, "gone"),
        (tags::KIND, "instance"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    store.world().snapshots.push(old);
    let quota = instance_quota(&cfg, &store).await;
    assert!(
        quota
            .message
            .contains("steady state 6 = 3 other manual snapshots"),
        "{}",
        quota.message
    );
    store.world().snapshots.pop();
    let cfg = live_config(&[("LIVE_KEEP", "3")]);
    let quota = instance_quota(&cfg, &store).await;
    assert_eq!(quota.level, Level::Problem, "{}", quota.message);
    assert!(quota.message.contains("1 over"), "{}", quota.message);
}

#[tokio::test]
async fn the_failsafe_preflight_checks_its_key_and_the_quota_against_the_retention() {
    let cfg = failsafe_config(&[("RETENTION", "3"), ("MIN_KEEP", "1")]);
    let copies = vec![
        failsafe_copy(
            SnapshotKind::Instance,
            "orders",
            "2026-11-20T03:00:00Z",
            true,
        ),
        failsafe_copy(
            SnapshotKind::Instance,
            "orders",
            "2026-11-21T03:00:00Z",
            true,
        ),
        failsafe_copy(
            SnapshotKind::Cluster,
            "ledger",
            "2026-11-21T03:00:00Z",
            true,
        ),
    ];
    let store = failsafe_store_with(copies);
    store
        .world()
        .keys
        .insert(FAILSAFE_KEY.into(), (key(FAILSAFE_KEY, "Enabled"), None));
    let report = failsafe_preflight(&cfg, &store).await.unwrap();
    assert_eq!(report.sources, 2);
    assert_eq!(report.worst(), Level::Ok, "{:#?}", report.findings);
    let quota = &report.findings[1];
    // 0 others + 1 source x (3 days + 1, then the copy being saved)
    assert!(
        quota.message.contains(
            "steady state 5 = 0 other manual snapshots + 1 instance source(s) x 5 copies"
        ),
        "{}",
        quota.message
    );
    store.world().keys.clear();
    let report = failsafe_preflight(&cfg, &store).await.unwrap();
    assert_eq!(report.findings[0].level, Level::Problem);
    assert!(report.findings[0].message.contains("does not exist"));
    // an account without copies is not "fine": the quota could not be judged
    let empty = failsafe_store();
    let report = failsafe_preflight(&cfg, &empty).await.unwrap();
    assert!(report
        .findings
        .iter()
        .any(|f| f.level == Level::Warning && f.message.contains("no copies in this account yet")));
}

/// Incremental sources are shared under their own key: preflight reads each one's key and says
/// whether every Failsafe account can copy under it, and what a source on aws/rds gets instead.
#[tokio::test]
async fn an_incremental_sources_key_is_checked_for_every_failsafe_account() {
    let (cfg, store) = (live_config(&[]), live_world());
    {
        let mut w = store.world();
        // orders and ledger are on CUSTOMER_KEY (common::instance, common::cluster); its policy
        // lets the Live account alone use it
        w.keys.insert(
            CUSTOMER_KEY.into(),
            (key(CUSTOMER_KEY, "Enabled"), Some(share_key_policy(&[]))),
        );
    }
    let mut sources = sources();
    for s in sources.iter_mut() {
        s.mode = rdsf_core::model::SourceMode::Incremental;
    }
    let report = live_preflight(&cfg, &store, &sources, None).await.unwrap();
    let found: Vec<(&str, Level)> = report
        .findings
        .iter()
        .filter(|f| f.check == "incremental-source")
        .map(|f| (f.subject.as_str(), f.level))
        .collect();
    assert_eq!(
        found,
        vec![
            ("instance:orders", Level::Problem),
            ("cluster:ledger", Level::Problem)
        ]
    );
    assert!(
        report.blocking_error().is_none(),
        "a source's key stops no other source"
    );
    // granted: both pass; the share-copy sources were never asked about
    store.world().keys.insert(
        CUSTOMER_KEY.into(),
        (
            key(CUSTOMER_KEY, "Enabled"),
            Some(share_key_policy(&[FAILSAFE])),
        ),
    );
    let report = live_preflight(&cfg, &store, &sources, None).await.unwrap();
    assert_eq!(report.worst(), Level::Ok, "{:#?}", report.findings);
    let plain = live_preflight(&cfg, &store, &self::sources(), None)
        .await
        .unwrap();
    assert!(plain
        .findings
        .iter()
        .all(|f| f.check != "incremental-source"));
    // no copy uses the share key: its loss is a problem, not a reason to stop the run
    store.world().keys.remove(SHARE_KEY);
    let report = live_preflight(&cfg, &store, &sources, None).await.unwrap();
    assert_eq!(report.worst(), Level::Problem);
    assert!(report.blocking_error().is_none());
    assert!(live_preflight(&cfg, &store, &self::sources(), None)
        .await
        .unwrap()
        .blocking_error()
        .is_some());
}

/// A source with a cadence: its copies are judged against it, and the snapshots
/// `delete-old-copies` holds while a Failsafe copy may read them count in the quota.
#[tokio::test]
async fn a_cadence_is_checked_for_keeping_up_and_counted_in_the_quota() {
    let (cfg, store) = (live_config(&[("LIVE_KEEP", "2")]), live_world());
    {
        let mut w = store.world();
        w.quota = Some(100);
        w.instances[0].allocated_storage = 4_000;
        w.keys.insert(
            CUSTOMER_KEY.into(),
            (
                key(CUSTOMER_KEY, "Enabled"),
                Some(share_key_policy(&[FAILSAFE])),
            ),
        );
    }
    let mut sources = sources();
    for s in sources.iter_mut() {
        s.mode = rdsf_core::model::SourceMode::Incremental;
        s.every_hours = Some(4);
    }
    let report = live_preflight(&cfg, &store, &sources, None).await.unwrap();
    let cadence: Vec<(&str, Level)> = report
        .findings
        .iter()
        .filter(|f| f.check == "cadence")
        .map(|f| (f.subject.as_str(), f.level))
        .collect();
    // 4,000 GiB: the first copy, full, takes 11.4 h at the default 100 MiB/s; the cluster's size
    // is unknown
    assert_eq!(
        cadence,
        [
            ("instance:orders", Level::Warning),
            ("cluster:ledger", Level::Warning)
        ]
    );
    let quota = report
        .findings
        .iter()
        .find(|f| f.subject == "ManualSnapshots")
        .unwrap();
    // a full copy of 4,000 GiB is waited for 61,440 s (40,960 s and half again), so a share is
    // in use for 2 x 61,440 s + 1 h (policy::copy_time): the snapshots of the last 35 h, one
    // every 4 h, 9, and the one being made: 10 where LIVE_KEEP + 1 says 3
    assert!(
        quota.message.contains(
            "1 instance source(s) x 3 copies (liveKeep) + 7 more held while a Failsafe copy may still read them"
        ),
        "{}",
        quota.message
    );
    // on aws/rds a cadence adds nothing
    store.world().keys.insert(
        CUSTOMER_KEY.into(),
        (
            rdsf_core::model::KeyInfo {
                manager: "AWS".into(),
                ..key(CUSTOMER_KEY, "Enabled")
            },
            None,
        ),
    );
    let report = live_preflight(&cfg, &store, &sources, None).await.unwrap();
    let orders = report
        .findings
        .iter()
        .find(|f| f.check == "cadence" && f.subject == "instance:orders")
        .unwrap();
    assert_eq!(orders.level, Level::Problem);
    assert!(
        orders
            .message
            .contains("adds nothing: it is on the AWS-managed key"),
        "{}",
        orders.message
    );
}
