//! In-memory implementation of every capability of the port, for unit tests: one account's view
//! of RDS, SNS and Step Functions, with the AWS rules the handlers rely on and fault injection.

use crate::arn::{rds_snapshot_arn, Arn};
use crate::model::{
    status, Credentials, DbAccess, DbCluster, DbInstance, DbState, KeyInfo, OptionGroup,
    OrderableClass, Password, Snapshot, SnapshotKind, Tags,
};
use crate::policy::checks::Answer;
use crate::port::{
    ClusterInstanceRequest, CopyRequest, CreateSnapshotRequest, Databases, DrillRecords,
    Executions, MasterPasswords, PolicyReads, Publishing, RestoreRequest, Restores, SecretReads,
    Sharing, SnapshotQuery, SnapshotQuota, SnapshotWrites, Snapshots, SqlQueries, SqlTarget,
    StartOutcome, StoreError, StoreErrorKind, StoreResult, Untagging,
};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

#[derive(Debug, Clone, Default)]
pub struct FakeWorld {
    pub account: String,
    pub region: String,
    pub instances: Vec<DbInstance>,
    pub clusters: Vec<DbCluster>,
    /// Snapshots owned by this account.
    pub snapshots: Vec<Snapshot>,
    /// Snapshots of other accounts shared with this one (as `IncludeShared` shows them).
    pub shared: Vec<Snapshot>,
    pub option_groups: Vec<OptionGroup>,
    /// DB instance classes RDS offers per engine (any version), in the region.
    pub orderable: BTreeMap<String, Vec<OrderableClass>>,
    /// `restore` attribute per own snapshot id.
    pub restore: BTreeMap<String, Vec<String>>,
    /// The AWS-managed `aws/rds` key of this account: snapshots encrypted with it cannot be shared.
    pub default_kms_key: String,
    pub published: Vec<(String, String)>,
    pub executions: Vec<(String, String)>,
    /// Operation name → how many more calls fail with throttling.
    pub throttle: BTreeMap<String, u32>,
    /// Manual snapshot quota (own manual snapshots), if limited.
    pub quota: Option<usize>,
    /// Every mutating call, in order, e.g. `copy rdsf-orders-…`.
    pub mutations: Vec<String>,
    /// Status of each DB instance or cluster by id (a restored one starts `creating`); absent
    /// means `available`.
    pub db_status: BTreeMap<String, String>,
    /// KMS keys by ARN, with their key policy (`None`: reading it is denied).
    pub keys: BTreeMap<String, (KeyInfo, Option<String>)>,
    /// SNS topics by ARN, with their access policy (`None`: reading it is denied).
    pub topics: BTreeMap<String, Option<String>>,
    /// The drills' evidence: (group, stream, record), in the order appended.
    pub records: Vec<(String, String, String)>,
    /// Endpoint, master user and master secret of a DB instance or cluster by id.
    pub db_access: BTreeMap<String, DbAccess>,
    /// Secrets Manager: master secrets by ARN, `{"username", "password"}`.
    pub secrets: BTreeMap<String, String>,
    /// A drill database's answers by query text; a query not listed fails `relation does not exist`.
    pub sql_answers: BTreeMap<String, Answer>,
    /// When set, every session is refused with this error.
    pub sql_refused: Option<String>,
    /// Every session: where, as whom, with which password, and each statement sent.
    pub sql_sessions: Vec<(SqlTarget, String, String, Vec<String>)>,
}

pub struct FakeStore {
    world: Mutex<FakeWorld>,
}

impl FakeStore {
    pub fn new(account: &str, region: &str) -> Self {
        FakeStore {
            world: Mutex::new(FakeWorld {
                account: account.into(),
                region: region.into(),
                default_kms_key: format!("arn:aws:kms:{region}:{account}:key/aws-rds-default"),
                ..FakeWorld::default()
            }),
        }
    }

    pub fn world(&self) -> MutexGuard<'_, FakeWorld> {
        self.world.lock().expect("fake world lock")
    }

    /// Finishes every copy in progress: `available`, 100 %.
    pub fn complete_copies(&self) {
        for s in self.world().snapshots.iter_mut() {
            if s.status != status::AVAILABLE && s.status != status::FAILED {
                s.status = status::AVAILABLE.into();
                s.percent_progress = Some(100);
            }
        }
    }

    fn check_throttle(&self, op: &str) -> StoreResult<()> {
        let mut w = self.world();
        if let Some(n) = w.throttle.get_mut(op) {
            if *n > 0 {
                *n -= 1;
                return Err(StoreError::new(
                    StoreErrorKind::Throttled,
                    "Throttling",
                    format!("Rate exceeded ({op})"),
                ));
            }
        }
        Ok(())
    }
}

fn not_found(kind: SnapshotKind, id: &str) -> StoreError {
    let code = match kind {
        SnapshotKind::Instance => "DBSnapshotNotFound",
        SnapshotKind::Cluster => "DBClusterSnapshotNotFoundFault",
    };
    StoreError::new(StoreErrorKind::NotFound, code, format!("{id} not found"))
}

/// The state error of each kind's API (contract/rds-rules.json).
fn invalid_state(kind: SnapshotKind, message: &str) -> StoreError {
    let code = match kind {
        SnapshotKind::Instance => "InvalidDBSnapshotState",
        SnapshotKind::Cluster => "InvalidDBClusterSnapshotStateFault",
    };
    StoreError::new(StoreErrorKind::InvalidState, code, message)
}

impl FakeWorld {
    /// Room for one more manual snapshot in the quota, if one is set: of `kind`, or of any kind.
    fn admit_manual(&self, kind: Option<SnapshotKind>) -> StoreResult<()> {
        let used = self
            .snapshots
            .iter()
            .filter(|s| kind.is_none_or(|k| s.kind == k) && s.snapshot_type == "manual")
            .count();
        match self.quota {
            Some(limit) if used >= limit => Err(StoreError::new(
                StoreErrorKind::QuotaExceeded,
                "SnapshotQuotaExceeded",
                "quota",
            )),
            _ => Ok(()),
        }
    }

    /// A snapshot to tag or untag, by ARN (RDS's `ResourceName`).
    fn by_arn(&mut self, arn: &str) -> StoreResult<&mut Snapshot> {
        self.snapshots
            .iter_mut()
            .find(|s| s.arn == arn)
            .ok_or_else(|| {
                StoreError::new(
                    StoreErrorKind::NotFound,
                    "DBSnapshotNotFound",
                    arn.to_string(),
                )
            })
    }

    fn own_index(&self, kind: SnapshotKind, id: &str) -> Option<usize> {
        self.snapshots
            .iter()
            .position(|s| s.kind == kind && (s.id == id || s.arn == id))
    }
    /// By ARN: own or shared (the adapter asks the ARN's region); by plain identifier: own only,
    /// as RDS resolves a plain identifier in the caller's account and region.
    fn find(&self, kind: SnapshotKind, id: &str) -> Option<&Snapshot> {
        if id.starts_with("arn:") {
            self.snapshots
                .iter()
                .chain(self.shared.iter())
                .find(|s| s.kind == kind && s.arn == id)
        } else {
            self.snapshots.iter().find(|s| s.kind == kind && s.id == id)
        }
    }
}

#[async_trait]
impl Snapshots for FakeStore {
    async fn list_snapshots(
        &self,
        kind: SnapshotKind,
        q: &SnapshotQuery,
    ) -> StoreResult<Vec<Snapshot>> {
        self.check_throttle("DescribeDBSnapshots")?;
        let w = self.world();
        // A listing sees one region: the own snapshots of this account's region (the only one
        // the fake holds), and the snapshots shared with it from that region alone.
        let region = q.region.clone().unwrap_or_else(|| w.region.clone());
        let in_region = |s: &&Snapshot| Arn::parse(&s.arn).is_none_or(|a| a.region == region);
        let pool: Vec<&Snapshot> = match q.snapshot_type {
            Some("shared") => w.shared.iter().filter(in_region).collect(),
            _ if region != w.region => vec![],
            _ => w.snapshots.iter().collect(),
        };
        Ok(pool
            .into_iter()
            .filter(|s| s.kind == kind)
            .filter(|s| q.source_id.as_ref().is_none_or(|id| &s.source_id == id))
            .filter(|s| q.snapshot_type.is_none_or(|t| s.snapshot_type == t))
            .cloned()
            .collect())
    }

    async fn describe_snapshot(
        &self,
        kind: SnapshotKind,
        id: &str,
    ) -> StoreResult<Option<Snapshot>> {
        self.check_throttle("DescribeDBSnapshots")?;
        Ok(self.world().find(kind, id).cloned())
    }

    async fn snapshot_quota(&self, kind: SnapshotKind) -> StoreResult<Option<SnapshotQuota>> {
        let w = self.world();
        let used = w
            .snapshots
            .iter()
            .filter(|s| s.kind == kind && s.snapshot_type == "manual")
            .count() as i64;
        Ok(Some(SnapshotQuota {
            used,
            max: w.quota.map_or(100, |q| q as i64),
        }))
    }
}

#[async_trait]
impl SnapshotWrites for FakeStore {
    async fn copy_snapshot(&self, kind: SnapshotKind, req: &CopyRequest) -> StoreResult<Snapshot> {
        self.check_throttle("CopyDBSnapshot")?;
        let mut w = self.world();
        let source = w
            .find(kind, &req.source)
            .cloned()
            .ok_or_else(|| not_found(kind, &req.source))?;
        if w.own_index(kind, &req.target_id).is_some() {
            return Err(StoreError::new(
                StoreErrorKind::AlreadyExists,
                "DBSnapshotAlreadyExists",
                format!("{} already exists", req.target_id),
            ));
        }
        w.admit_manual(None)?;
        let cross_account = Arn::parse(&source.arn).is_some_and(|a| a.account != w.account);
        if source.encrypted && req.kms_key_id.is_none() && cross_account {
            return Err(StoreError::new(
                StoreErrorKind::InvalidParameter,
                "InvalidParameterValue",
                "KmsKeyId is required to copy an encrypted snapshot from another account",
            ));
        }
        if !source.encrypted && req.kms_key_id.is_some() && kind == SnapshotKind::Cluster {
            return Err(StoreError::new(
                StoreErrorKind::InvalidParameter,
                "InvalidParameterCombination",
                "cannot encrypt an unencrypted cluster snapshot by copying",
            ));
        }
        let mut copy = source.clone();
        copy.id = req.target_id.clone();
        copy.arn = rds_snapshot_arn(kind, "aws", &w.region, &w.account, &req.target_id);
        copy.snapshot_type = "manual".into();
        copy.status = status::CREATING.into();
        copy.percent_progress = Some(0);
        copy.original_create_time = source.data_time();
        // as RDS reports it: always for clusters, for instances only across accounts or regions
        let cross_region = Arn::parse(&source.arn).is_some_and(|a| a.region != w.region);
        copy.copied_from = (kind == SnapshotKind::Cluster || cross_account || cross_region)
            .then(|| source.arn.clone());
        copy.encrypted = source.encrypted || req.kms_key_id.is_some();
        copy.kms_key_id = if copy.encrypted {
            req.kms_key_id.clone().or(source.kms_key_id.clone())
        } else {
            None
        };
        copy.tags = req.tags.clone();
        w.mutations
            .push(format!("copy {} -> {}", req.source, req.target_id));
        w.snapshots.push(copy.clone());
        Ok(copy)
    }

    async fn create_snapshot(
        &self,
        kind: SnapshotKind,
        req: &CreateSnapshotRequest,
    ) -> StoreResult<Snapshot> {
        self.check_throttle("CreateDBSnapshot")?;
        let mut w = self.world();
        if w.own_index(kind, &req.target_id).is_some() {
            return Err(StoreError::new(
                StoreErrorKind::AlreadyExists,
                "DBSnapshotAlreadyExists",
                format!("{} already exists", req.target_id),
            ));
        }
        w.admit_manual(Some(kind))?;
        // "The source DB instance must be in the available or storage-optimization state"
        if let Some(busy) = w.db_status.get(&req.db_id).filter(|s| *s != "available") {
            let (code, what) = match kind {
                SnapshotKind::Instance => ("InvalidDBInstanceState", "DB instance"),
                SnapshotKind::Cluster => ("InvalidDBClusterStateFault", "DB cluster"),
            };
            return Err(StoreError::new(
                StoreErrorKind::InvalidState,
                code,
                format!("{what} {} is {busy}, not available", req.db_id),
            ));
        }
        // the database's encryption and engine, as its newest snapshot (any) shows them: the
        // fake keeps databases without keys, so a test seeds an automated snapshot first
        let like = w
            .snapshots
            .iter()
            .filter(|s| s.kind == kind && s.source_id == req.db_id)
            .max_by_key(|s| s.create_time)
            .cloned()
            .ok_or_else(|| {
                StoreError::new(
                    StoreErrorKind::NotFound,
                    match kind {
                        SnapshotKind::Instance => "DBInstanceNotFound",
                        SnapshotKind::Cluster => "DBClusterNotFoundFault",
                    },
                    format!("{} not found", req.db_id),
                )
            })?;
        let mut snap = like;
        snap.id = req.target_id.clone();
        snap.arn = rds_snapshot_arn(kind, "aws", &w.region, &w.account, &req.target_id);
        snap.snapshot_type = "manual".into();
        snap.status = status::CREATING.into();
        snap.percent_progress = Some(0);
        snap.create_time = Some(chrono::Utc::now());
        snap.original_create_time = None;
        snap.copied_from = None;
        snap.tags = req.tags.clone();
        w.mutations
            .push(format!("snapshot {} -> {}", req.db_id, req.target_id));
        w.snapshots.push(snap.clone());
        Ok(snap)
    }

    async fn delete_snapshot(&self, kind: SnapshotKind, id: &str) -> StoreResult<()> {
        self.check_throttle("DeleteDBSnapshot")?;
        let mut w = self.world();
        let i = w.own_index(kind, id).ok_or_else(|| not_found(kind, id))?;
        if w.snapshots[i].is_automated() {
            return Err(invalid_state(kind, "automated snapshots cannot be deleted"));
        }
        w.mutations.push(format!("delete {id}"));
        w.snapshots.remove(i);
        Ok(())
    }

    async fn add_tags(&self, arn: &str, tags: &Tags) -> StoreResult<()> {
        let mut w = self.world();
        w.mutations.push(format!("tag {arn}"));
        let s = w.by_arn(arn)?;
        s.tags.extend(tags.clone());
        Ok(())
    }
}

#[async_trait]
impl MasterPasswords for FakeStore {
    async fn describe_db_login(
        &self,
        kind: SnapshotKind,
        id: &str,
    ) -> StoreResult<Option<(DbState, DbAccess)>> {
        let db = self.describe_db(kind, id).await?;
        let access = self.world().db_access.get(id).cloned().unwrap_or_default();
        Ok(db.map(|db| (db, access)))
    }

    /// As RDS: the database must be available; a new secret `creating` (a test sets it
    /// `active`), with a new password.
    async fn manage_master_password(&self, kind: SnapshotKind, id: &str) -> StoreResult<()> {
        let mut w = self.world();
        let status = w
            .db_status
            .get(id)
            .cloned()
            .unwrap_or_else(|| "available".into());
        if status != "available" {
            return Err(StoreError::new(
                StoreErrorKind::InvalidState,
                "InvalidDBInstanceState",
                format!("{kind} {id} is {status}"),
            ));
        }
        let arn = format!(
            "arn:aws:secretsmanager:{}:{}:secret:rds!{}-{id}",
            w.region,
            w.account,
            if kind == SnapshotKind::Cluster {
                "cluster"
            } else {
                "db"
            }
        );
        let value = serde_json::json!({"username": "admin", "password": format!("pw-{id}-S3cret")})
            .to_string();
        w.secrets.insert(arn.clone(), value);
        w.db_access.entry(id.to_string()).or_default().master_secret =
            Some((arn, "creating".into()));
        w.mutations.push(format!("manage-password {id}"));
        Ok(())
    }
}

#[async_trait]
impl SecretReads for FakeStore {
    async fn master_credentials(&self, secret_arn: &str) -> StoreResult<Credentials> {
        let w = self.world();
        let value = w.secrets.get(secret_arn).ok_or_else(|| {
            StoreError::new(
                StoreErrorKind::NotFound,
                "ResourceNotFoundException",
                secret_arn,
            )
        })?;
        let v: serde_json::Value = serde_json::from_str(value).expect("fake secrets are JSON");
        Ok(Credentials {
            username: v["username"].as_str().unwrap_or_default().into(),
            password: Password::new(v["password"].as_str().unwrap_or_default()),
        })
    }
}

#[async_trait]
impl SqlQueries for FakeStore {
    async fn run_queries(
        &self,
        target: &SqlTarget,
        login: &Credentials,
        setup: &[String],
        queries: &[String],
    ) -> StoreResult<Vec<Answer>> {
        let mut w = self.world();
        let sent = setup.iter().chain(queries).cloned().collect();
        w.sql_sessions.push((
            target.clone(),
            login.username.clone(),
            login.password.expose().into(),
            sent,
        ));
        if let Some(e) = &w.sql_refused {
            return Err(StoreError::new(
                StoreErrorKind::Other,
                "ConnectionRefused",
                e.clone(),
            ));
        }
        Ok(queries
            .iter()
            .map(|q| {
                w.sql_answers
                    .get(q)
                    .cloned()
                    .unwrap_or_else(|| Err(format!("relation in {q:?} does not exist")))
            })
            .collect())
    }
}

#[async_trait]
impl DrillRecords for FakeStore {
    async fn append_record(&self, group: &str, stream: &str, record: &str) -> StoreResult<()> {
        let mut w = self.world();
        if let Some(n) = w.throttle.get_mut("PutLogEvents").filter(|n| **n > 0) {
            *n -= 1;
            return Err(StoreError::new(
                StoreErrorKind::Throttled,
                "ThrottlingException",
                "PutLogEvents",
            ));
        }
        w.records.push((group.into(), stream.into(), record.into()));
        Ok(())
    }

    async fn read_records(&self, group: &str) -> StoreResult<Vec<String>> {
        Ok(self
            .world()
            .records
            .iter()
            .filter(|(g, _, _)| g == group)
            .map(|(_, _, r)| r.clone())
            .collect())
    }
}

#[async_trait]
impl Untagging for FakeStore {
    async fn remove_tags(&self, arn: &str, keys: &[String]) -> StoreResult<()> {
        let mut w = self.world();
        w.mutations.push(format!("untag {arn}"));
        let s = w.by_arn(arn)?;
        for k in keys {
            s.tags.remove(k);
        }
        Ok(())
    }
}

#[async_trait]
impl Sharing for FakeStore {
    async fn shared_with(&self, kind: SnapshotKind, id: &str) -> StoreResult<Vec<String>> {
        let w = self.world();
        w.own_index(kind, id).ok_or_else(|| not_found(kind, id))?;
        Ok(w.restore.get(id).cloned().unwrap_or_default())
    }

    async fn share_with(
        &self,
        kind: SnapshotKind,
        id: &str,
        accounts: &[String],
    ) -> StoreResult<()> {
        self.check_throttle("ModifyDBSnapshotAttribute")?;
        let mut w = self.world();
        let i = w.own_index(kind, id).ok_or_else(|| not_found(kind, id))?;
        let s = &w.snapshots[i];
        if s.is_automated() {
            return Err(invalid_state(kind, "automated snapshots cannot be shared"));
        }
        if s.kms_key_id.as_deref() == Some(w.default_kms_key.as_str()) {
            // RDS's state error, which the SDK adapter reads as the key's (port::aws::rds)
            let refused = invalid_state(
                kind,
                "snapshots encrypted with the AWS managed KMS key aws/rds cannot be shared",
            );
            return Err(StoreError {
                kind: StoreErrorKind::KmsKeyNotAccessible,
                ..refused
            });
        }
        w.mutations
            .push(format!("share {id} with {}", accounts.join(",")));
        let list = w.restore.entry(id.to_string()).or_default();
        for a in accounts {
            if !list.contains(a) {
                list.push(a.clone());
            }
        }
        if list.len() > 20 {
            return Err(StoreError::new(
                StoreErrorKind::QuotaExceeded,
                "SharedSnapshotQuotaExceeded",
                "more than 20 accounts",
            ));
        }
        Ok(())
    }
}

#[async_trait]
impl Databases for FakeStore {
    async fn list_instances(&self) -> StoreResult<Vec<DbInstance>> {
        self.check_throttle("DescribeDBInstances")?;
        Ok(self.world().instances.clone())
    }

    async fn list_clusters(&self) -> StoreResult<Vec<DbCluster>> {
        self.check_throttle("DescribeDBClusters")?;
        Ok(self.world().clusters.clone())
    }

    async fn describe_option_group(&self, name: &str) -> StoreResult<Option<OptionGroup>> {
        Ok(self
            .world()
            .option_groups
            .iter()
            .find(|g| g.name == name)
            .cloned())
    }

    async fn orderable_classes(
        &self,
        engine: &str,
        _engine_version: Option<&str>,
    ) -> StoreResult<Vec<OrderableClass>> {
        self.check_throttle("DescribeOrderableDBInstanceOptions")?;
        Ok(self
            .world()
            .orderable
            .get(engine)
            .cloned()
            .unwrap_or_default())
    }

    async fn describe_db(&self, kind: SnapshotKind, id: &str) -> StoreResult<Option<DbState>> {
        self.check_throttle("DescribeDB")?;
        let w = self.world();
        let status = |id: &str| {
            w.db_status
                .get(id)
                .cloned()
                .unwrap_or_else(|| "available".into())
        };
        Ok(match kind {
            SnapshotKind::Instance => w.instances.iter().find(|d| d.id == id).map(|d| DbState {
                kind,
                id: d.id.clone(),
                arn: d.arn.clone(),
                status: status(&d.id),
                tags: d.tags.clone(),
                members: vec![],
            }),
            SnapshotKind::Cluster => w.clusters.iter().find(|d| d.id == id).map(|d| DbState {
                kind,
                id: d.id.clone(),
                arn: d.arn.clone(),
                status: status(&d.id),
                tags: d.tags.clone(),
                members: w
                    .instances
                    .iter()
                    .filter(|i| i.cluster_id.as_deref() == Some(id))
                    .map(|i| i.id.clone())
                    .collect(),
            }),
        })
    }
}

#[async_trait]
impl Restores for FakeStore {
    async fn restore_snapshot(&self, r: &RestoreRequest) -> StoreResult<String> {
        self.check_throttle("RestoreFromSnapshot")?;
        let mut w = self.world();
        let i = w
            .own_index(r.kind, &r.snapshot_id)
            .ok_or_else(|| not_found(r.kind, &r.snapshot_id))?;
        if !w.snapshots[i].is_available() {
            return Err(StoreError::new(
                StoreErrorKind::InvalidState,
                "InvalidDBSnapshotState",
                format!(
                    "{} is {}, not available",
                    r.snapshot_id, w.snapshots[i].status
                ),
            ));
        }
        let taken = match r.kind {
            SnapshotKind::Instance => w.instances.iter().any(|d| d.id == r.target_id),
            SnapshotKind::Cluster => w.clusters.iter().any(|d| d.id == r.target_id),
        };
        if taken {
            return Err(StoreError::new(
                StoreErrorKind::AlreadyExists,
                "DBInstanceAlreadyExists",
                format!("{} already exists", r.target_id),
            ));
        }
        let (region, account) = (w.region.clone(), w.account.clone());
        let engine = r.engine.clone();
        w.mutations
            .push(format!("restore {} -> {}", r.snapshot_id, r.target_id));
        // a restore takes a while: `creating` until a test says otherwise
        w.db_status.insert(r.target_id.clone(), "creating".into());
        Ok(match r.kind {
            SnapshotKind::Instance => {
                let arn = format!("arn:aws:rds:{region}:{account}:db:{}", r.target_id);
                w.instances.push(DbInstance {
                    id: r.target_id.clone(),
                    arn: arn.clone(),
                    cluster_id: None,
                    engine,
                    tags: r.tags.clone(),
                    ..Default::default()
                });
                arn
            }
            SnapshotKind::Cluster => {
                let arn = format!("arn:aws:rds:{region}:{account}:cluster:{}", r.target_id);
                w.clusters.push(DbCluster {
                    id: r.target_id.clone(),
                    arn: arn.clone(),
                    engine,
                    tags: r.tags.clone(),
                    ..Default::default()
                });
                arn
            }
        })
    }

    async fn create_cluster_instance(&self, r: &ClusterInstanceRequest) -> StoreResult<String> {
        self.check_throttle("CreateDBInstance")?;
        let mut w = self.world();
        if !w.clusters.iter().any(|c| c.id == r.cluster_id) {
            return Err(StoreError::new(
                StoreErrorKind::NotFound,
                "DBClusterNotFoundFault",
                format!("DBCluster {} not found", r.cluster_id),
            ));
        }
        // as RDS: an instance is added only to an available cluster
        if let Some(s) = w.db_status.get(&r.cluster_id).filter(|s| *s != "available") {
            return Err(StoreError::new(
                StoreErrorKind::InvalidState,
                "InvalidDBClusterStateFault",
                format!("DBCluster {} is {s}", r.cluster_id),
            ));
        }
        let arn = format!(
            "arn:aws:rds:{}:{}:db:{}",
            w.region, w.account, r.instance_id
        );
        w.mutations.push(format!(
            "create-instance {} in {}",
            r.instance_id, r.cluster_id
        ));
        w.db_status.insert(r.instance_id.clone(), "creating".into());
        w.instances.push(DbInstance {
            id: r.instance_id.clone(),
            arn: arn.clone(),
            cluster_id: Some(r.cluster_id.clone()),
            engine: r.engine.clone(),
            tags: r.tags.clone(),
            ..Default::default()
        });
        Ok(arn)
    }

    async fn delete_db(&self, kind: SnapshotKind, id: &str) -> StoreResult<()> {
        self.check_throttle("DeleteDB")?;
        let mut w = self.world();
        let missing = || {
            StoreError::new(
                StoreErrorKind::NotFound,
                "DBInstanceNotFound",
                format!("{id} not found"),
            )
        };
        match kind {
            SnapshotKind::Instance => {
                let i = w
                    .instances
                    .iter()
                    .position(|d| d.id == id)
                    .ok_or_else(missing)?;
                w.instances.remove(i);
            }
            SnapshotKind::Cluster => {
                // as RDS: a cluster with DB instances cannot be deleted
                if w.instances
                    .iter()
                    .any(|d| d.cluster_id.as_deref() == Some(id))
                {
                    return Err(StoreError::new(
                        StoreErrorKind::InvalidState,
                        "InvalidDBClusterStateFault",
                        format!("cluster {id} still has DB instances"),
                    ));
                }
                let i = w
                    .clusters
                    .iter()
                    .position(|d| d.id == id)
                    .ok_or_else(missing)?;
                w.clusters.remove(i);
            }
        }
        w.db_status.remove(id);
        w.mutations.push(format!("delete-db {id}"));
        Ok(())
    }
}

#[async_trait]
impl Publishing for FakeStore {
    async fn publish(&self, topic_arn: &str, message: &str) -> StoreResult<String> {
        self.check_throttle("Publish")?;
        let mut w = self.world();
        w.mutations.push(format!("publish {topic_arn}"));
        w.published.push((topic_arn.into(), message.into()));
        Ok(format!("msg-{}", w.published.len()))
    }
}

#[async_trait]
impl Executions for FakeStore {
    async fn start_execution(
        &self,
        sm: &str,
        name: &str,
        input: &str,
    ) -> StoreResult<StartOutcome> {
        self.check_throttle("StartExecution")?;
        let mut w = self.world();
        if w.executions.iter().any(|(n, _)| n == name) {
            return Ok(StartOutcome::AlreadyExists);
        }
        w.mutations.push(format!("start {name}"));
        w.executions.push((name.into(), input.into()));
        Ok(StartOutcome::Started {
            execution_arn: format!("{}:{name}", sm.replace(":stateMachine:", ":execution:")),
        })
    }
}

#[async_trait]
impl PolicyReads for FakeStore {
    async fn describe_key(&self, key_arn: &str) -> StoreResult<Option<KeyInfo>> {
        self.check_throttle("DescribeKey")?;
        Ok(self.world().keys.get(key_arn).map(|(k, _)| k.clone()))
    }

    async fn key_policy(&self, key_arn: &str) -> StoreResult<String> {
        match self.world().keys.get(key_arn) {
            Some((_, Some(policy))) => Ok(policy.clone()),
            Some((_, None)) => Err(denied("GetKeyPolicy", key_arn)),
            None => Err(StoreError::new(
                StoreErrorKind::NotFound,
                "NotFoundException",
                format!("GetKeyPolicy: key {key_arn} does not exist"),
            )),
        }
    }

    async fn topic_policy(&self, topic_arn: &str) -> StoreResult<Option<String>> {
        self.check_throttle("GetTopicAttributes")?;
        match self.world().topics.get(topic_arn) {
            Some(Some(policy)) => Ok(Some(policy.clone())),
            Some(None) => Err(denied("GetTopicAttributes", topic_arn)),
            None => Ok(None),
        }
    }
}

fn denied(op: &str, arn: &str) -> StoreError {
    StoreError::new(
        StoreErrorKind::Other,
        "AccessDeniedException",
        format!("{op}: not authorized to read {arn}"),
    )
}
