//! World-building helpers shared by the handler tests.

use chrono::{DateTime, Utc};
use rdsf_core::config::{FailsafeConfig, LiveConfig};
use rdsf_core::model::{DbCluster, DbInstance, Snapshot, SnapshotKind, Tags};
use rdsf_core::port::fake::FakeStore;

pub const LIVE: &str = "111111111111";
pub const FAILSAFE: &str = "222222222222";
pub const REGION: &str = "eu-west-1";
pub const SHARE_KEY: &str = "arn:aws:kms:eu-west-1:111111111111:key/share";
pub const CUSTOMER_KEY: &str = "arn:aws:kms:eu-west-1:111111111111:key/app";
pub const FAILSAFE_KEY: &str = "arn:aws:kms:eu-west-1:222222222222:key/failsafe";
pub const TOPIC: &str = "arn:aws:sns:eu-west-1:222222222222:rds-failsafe";
/// A cluster id of 60 characters (RDS allows 63): too long for a DB cluster snapshot name,
/// whose limit is 63 with the prefix and stamp included.
pub const SIXTY_CHAR_CLUSTER: &str = "payments-ledger-aurora-cluster-payments-ledger-aurora-clus-a";
pub const STATE_MACHINE: &str = "arn:aws:states:eu-west-1:222222222222:stateMachine:rds-failsafe";

pub fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

pub fn live_config(extra: &[(&str, &str)]) -> LiveConfig {
    let mut env: std::collections::HashMap<String, String> = [
        ("ACCOUNT_ID", LIVE),
        ("AWS_REGION", REGION),
        ("FAILSAFE_ACCOUNTS", FAILSAFE),
        ("FAILSAFE_TOPIC_ARNS", TOPIC),
        ("SHARE_KMS_KEY_ARN", SHARE_KEY),
        ("SOURCES", "all"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    LiveConfig::from_env(&env).unwrap()
}

pub fn failsafe_config(extra: &[(&str, &str)]) -> FailsafeConfig {
    FailsafeConfig::from_env(&failsafe_env(extra)).unwrap()
}

/// The Failsafe functions' environment, with `extra` set over it.
pub fn failsafe_env(extra: &[(&str, &str)]) -> std::collections::HashMap<String, String> {
    let mut env: std::collections::HashMap<String, String> = [
        ("ACCOUNT_ID", FAILSAFE),
        ("AWS_REGION", REGION),
        ("SOURCE_ACCOUNTS", LIVE),
        ("FAILSAFE_KMS_KEY_ARN", FAILSAFE_KEY),
        ("STATE_MACHINE_ARN", STATE_MACHINE),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    env
}

pub fn instance(id: &str) -> DbInstance {
    DbInstance {
        id: id.into(),
        arn: format!("arn:aws:rds:{REGION}:{LIVE}:db:{id}"),
        cluster_id: None,
        engine: "postgres".into(),
        tags: Tags::new(),
        backup_retention_days: 7,
        encrypted: true,
        kms_key_id: Some(CUSTOMER_KEY.into()),
        option_groups: vec!["default:postgres-16".into()],
        backup_window: Some("03:00-03:30".into()),
        allocated_storage: 100,
    }
}

pub fn cluster(id: &str) -> DbCluster {
    DbCluster {
        id: id.into(),
        arn: format!("arn:aws:rds:{REGION}:{LIVE}:cluster:{id}"),
        engine: "aurora-postgresql".into(),
        tags: Tags::new(),
        backup_retention_days: 7,
        encrypted: true,
        kms_key_id: Some(CUSTOMER_KEY.into()),
    }
}

/// A snapshot owned by `account` in `region`.
pub fn snapshot(
    account: &str,
    region: &str,
    kind: SnapshotKind,
    id: &str,
    source: &str,
    ty: &str,
    created: &str,
) -> Snapshot {
    let resource = match kind {
        SnapshotKind::Instance => "snapshot",
        SnapshotKind::Cluster => "cluster-snapshot",
    };
    Snapshot {
        kind,
        id: id.into(),
        arn: format!("arn:aws:rds:{region}:{account}:{resource}:{id}"),
        source_id: source.into(),
        snapshot_type: ty.into(),
        status: "available".into(),
        create_time: Some(t(created)),
        original_create_time: None,
        copied_from: None,
        encrypted: false,
        kms_key_id: None,
        engine: match kind {
            SnapshotKind::Instance => "postgres".into(),
            SnapshotKind::Cluster => "aurora-postgresql".into(),
        },
        engine_version: None,
        allocated_storage: match kind {
            SnapshotKind::Instance => 100,
            SnapshotKind::Cluster => 1,
        },
        percent_progress: Some(100),
        option_group_name: None,
        tags: Tags::new(),
    }
}

pub fn automated(kind: SnapshotKind, source: &str, created: &str) -> Snapshot {
    let stamp = created.replace([':', 'T'], "-").replace('Z', "");
    snapshot(
        LIVE,
        REGION,
        kind,
        &format!("rds:{source}-{stamp}"),
        source,
        "automated",
        created,
    )
}

pub fn live_store() -> FakeStore {
    FakeStore::new(LIVE, REGION)
}

/// The Failsafe account's fake; RDS offers a few small classes for PostgreSQL and Aurora
/// PostgreSQL there (the drills ask).
pub fn failsafe_store() -> FakeStore {
    let store = FakeStore::new(FAILSAFE, REGION);
    let offer = |class: &str| rdsf_core::model::OrderableClass {
        class: class.into(),
        vpc: true,
        storage_encryption: true,
    };
    store.world().orderable = [
        ("postgres", ["db.m6g.large", "db.t4g.micro", "db.t3.micro"]),
        (
            "aurora-postgresql",
            ["db.r6g.large", "db.t4g.medium", "db.serverless"],
        ),
    ]
    .into_iter()
    .map(|(engine, classes)| (engine.to_string(), classes.map(offer).to_vec()))
    .collect();
    store
}

/// A verified (or not) Failsafe copy of the Live account's `source`, data taken at `taken`, on
/// the Failsafe key, with the provenance tags `save` writes.
pub fn failsafe_copy(kind: SnapshotKind, source: &str, taken: &str, verified: bool) -> Snapshot {
    use rdsf_core::policy::tags::{Provenance, VERIFIED};
    let id = rdsf_core::policy::naming::failsafe_copy_id(kind, LIVE, source, t(taken)).unwrap();
    let mut s = snapshot(FAILSAFE, REGION, kind, &id, source, "manual", taken);
    s.encrypted = true;
    s.kms_key_id = Some(FAILSAFE_KEY.into());
    s.engine_version = Some("16.4".into());
    s.tags = Provenance {
        source_account: LIVE.into(),
        source_region: REGION.into(),
        source_id: source.into(),
        source_snapshot_arn: format!("arn:aws:rds:{REGION}:{LIVE}:snapshot:rdsf-{source}"),
        source_create_time: t(taken),
        kind,
    }
    .tags();
    if verified {
        s.tags
            .insert(VERIFIED.into(), "2026-11-20T12:00:00Z".into());
    }
    s
}

/// The Failsafe account's fake holding `copies`.
pub fn failsafe_store_with(copies: Vec<Snapshot>) -> FakeStore {
    let store = failsafe_store();
    store.world().snapshots = copies;
    store
}

/// A run's wait settings at the state machines' defaults (pollSeconds 60, maxWaitSeconds 6 h,
/// copyThroughputMiBps 100).
pub fn default_wait() -> rdsf_core::policy::copy_time::WaitSettings {
    rdsf_core::policy::copy_time::WaitSettings {
        poll_seconds: 60,
        max_wait_seconds: 21_600,
        copy_throughput_mibps: 100.0,
        own_wait: None,
    }
}
