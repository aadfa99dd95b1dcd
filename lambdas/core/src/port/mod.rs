//! The port: every AWS call the task Lambdas make. [`crate::port::aws::AwsStore`] implements it with
//! the AWS SDK; [`crate::port::fake::FakeStore`] in memory for tests.

pub mod aws;
pub mod aws_kms;
pub mod fake;

use crate::error::{ErrorKind, FailsafeError};
use crate::model::{
    DbCluster, DbInstance, DbState, KeyInfo, OptionGroup, OrderableClass, Snapshot, SnapshotKind,
    Tags,
};
use async_trait::async_trait;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreErrorKind {
    NotFound,
    AlreadyExists,
    Throttled,
    /// HTTP 5xx, a timeout or a dropped connection: a new attempt may succeed.
    Transient,
    KmsKeyNotAccessible,
    QuotaExceeded,
    InvalidState,
    InvalidParameter,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    pub kind: StoreErrorKind,
    /// The AWS error code (or the fake's stand-in), kept for the operator.
    pub code: String,
    pub message: String,
}

impl StoreError {
    pub fn new(kind: StoreErrorKind, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind,
            code: code.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for StoreError {}

impl From<StoreError> for FailsafeError {
    fn from(e: StoreError) -> Self {
        let kind = match e.kind {
            StoreErrorKind::NotFound => ErrorKind::SnapshotNotFound,
            StoreErrorKind::Throttled => ErrorKind::Throttled,
            StoreErrorKind::Transient => ErrorKind::Transient,
            StoreErrorKind::KmsKeyNotAccessible => ErrorKind::KmsKeyNotAccessible,
            StoreErrorKind::QuotaExceeded => ErrorKind::SnapshotQuotaExceeded,
            StoreErrorKind::AlreadyExists
            | StoreErrorKind::InvalidState
            | StoreErrorKind::InvalidParameter
            | StoreErrorKind::Other => ErrorKind::AwsError,
        };
        // Say each thing once: the errorType names the kind and the message starts with the
        // operation; the AWS code is added only where it says more than the kind.
        let message = if crate::error::code_names_kind(&e.code, kind) {
            e.message
        } else {
            format!("{} ({})", e.message, e.code)
        };
        FailsafeError::new(kind, message)
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Filters for listing snapshots; every listing is complete (all pages).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotQuery {
    /// The region to list in; `None` is the store's own. Snapshots shared with an account are
    /// listed only in their own region, so the Failsafe side asks each region Live shares from.
    pub region: Option<String>,
    /// `DBInstanceIdentifier` / `DBClusterIdentifier`.
    pub source_id: Option<String>,
    /// `automated`, `manual` or `shared`.
    pub snapshot_type: Option<&'static str>,
}

/// One `CopyDBSnapshot` / `CopyDBClusterSnapshot` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyRequest {
    /// Identifier or ARN (another account's or region's) of the snapshot to copy.
    pub source: String,
    pub target_id: String,
    pub kms_key_id: Option<String>,
    /// Written explicitly; source tags are never copied (`CopyTags=false`).
    pub tags: Tags,
}

/// One `RestoreDBInstanceFromDBSnapshot` / `RestoreDBClusterFromSnapshot` call. The restored
/// database is never publicly accessible.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreRequest {
    pub kind: SnapshotKind,
    /// The new DB instance's or cluster's identifier.
    pub target_id: String,
    /// A snapshot of this account, in the store's region.
    pub snapshot_id: String,
    pub engine: String,
    /// Clusters only: the snapshot's version, so RDS does not pick its default.
    pub engine_version: Option<String>,
    /// Instances only; `None` is the original instance's class.
    pub instance_class: Option<String>,
    pub subnet_group: Option<String>,
    pub security_groups: Vec<String>,
    pub tags: Tags,
}

/// One `CreateDBInstance` call that adds a DB instance to a (restored) Aurora cluster.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterInstanceRequest {
    pub cluster_id: String,
    pub instance_id: String,
    pub engine: String,
    pub instance_class: String,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOutcome {
    Started {
        execution_arn: String,
    },
    /// An execution of that name exists already: the duplicate-delivery no-op.
    AlreadyExists,
}

/// A quota as RDS reports it: how many are used and the most allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotQuota {
    pub used: i64,
    pub max: i64,
}

#[async_trait]
pub trait SnapshotStore: Send + Sync {
    async fn list_instances(&self) -> StoreResult<Vec<DbInstance>>;
    async fn list_clusters(&self) -> StoreResult<Vec<DbCluster>>;
    async fn list_snapshots(
        &self,
        kind: SnapshotKind,
        query: &SnapshotQuery,
    ) -> StoreResult<Vec<Snapshot>>;
    /// By identifier (in the store's own region) or ARN (in the ARN's region, shared snapshots
    /// included); `Ok(None)` if there is none.
    async fn describe_snapshot(
        &self,
        kind: SnapshotKind,
        id: &str,
    ) -> StoreResult<Option<Snapshot>>;
    async fn describe_option_group(&self, name: &str) -> StoreResult<Option<OptionGroup>>;
    /// The DB instance classes RDS offers in the store's region for `engine` at
    /// `engine_version` (every version if `None`), VPC offers only, each class once.
    async fn orderable_classes(
        &self,
        engine: &str,
        engine_version: Option<&str>,
    ) -> StoreResult<Vec<OrderableClass>>;
    async fn copy_snapshot(
        &self,
        kind: SnapshotKind,
        request: &CopyRequest,
    ) -> StoreResult<Snapshot>;
    async fn delete_snapshot(&self, kind: SnapshotKind, id: &str) -> StoreResult<()>;
    async fn add_tags(&self, arn: &str, tags: &Tags) -> StoreResult<()>;
    /// Accounts in the snapshot's `restore` attribute.
    async fn shared_with(&self, kind: SnapshotKind, id: &str) -> StoreResult<Vec<String>>;
    async fn share_with(
        &self,
        kind: SnapshotKind,
        id: &str,
        accounts: &[String],
    ) -> StoreResult<()>;
    /// Publishes with a client in the topic's region (SNS refuses a topic of another region).
    /// Returns the message id.
    async fn publish(&self, topic_arn: &str, message: &str) -> StoreResult<String>;
    /// The account's manual snapshot quota for `kind` in the store's region
    /// (`DescribeAccountAttributes`: `ManualSnapshots` / `ManualClusterSnapshots`); `None` if
    /// RDS does not report it.
    async fn snapshot_quota(&self, kind: SnapshotKind) -> StoreResult<Option<SnapshotQuota>>;
    async fn start_execution(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &str,
    ) -> StoreResult<StartOutcome>;
    /// Restores a snapshot of this account into a new DB instance or cluster; returns its ARN.
    async fn restore_snapshot(&self, request: &RestoreRequest) -> StoreResult<String>;
    /// Adds a DB instance to a cluster (a restored cluster has none); returns its ARN.
    async fn create_cluster_instance(
        &self,
        request: &ClusterInstanceRequest,
    ) -> StoreResult<String>;
    /// A DB instance or cluster of this account by identifier; `Ok(None)` if there is none.
    async fn describe_db(&self, kind: SnapshotKind, id: &str) -> StoreResult<Option<DbState>>;
    /// Deletes a DB instance or cluster without a final snapshot and with its automated backups.
    async fn delete_db(&self, kind: SnapshotKind, id: &str) -> StoreResult<()>;
    /// A KMS key by ARN (`DescribeKey`, in the ARN's region); `Ok(None)` if there is none.
    async fn describe_key(&self, key_arn: &str) -> StoreResult<Option<KeyInfo>>;
    /// A KMS key's policy (`GetKeyPolicy`, the `default` policy) as JSON text.
    async fn key_policy(&self, key_arn: &str) -> StoreResult<String>;
    /// An SNS topic's access policy (`GetTopicAttributes` `Policy`, in the topic's region) as
    /// JSON text, empty if SNS did not return one; `Ok(None)` if the topic does not exist.
    async fn topic_policy(&self, topic_arn: &str) -> StoreResult<Option<String>>;
}

/// Describes a snapshot the caller needs to exist; absence is `SnapshotNotFound` with the
/// caller's message.
pub async fn describe_required(
    store: &dyn SnapshotStore,
    kind: SnapshotKind,
    id: &str,
    missing: impl FnOnce() -> String,
) -> Result<Snapshot, FailsafeError> {
    store
        .describe_snapshot(kind, id)
        .await?
        .ok_or_else(|| FailsafeError::new(ErrorKind::SnapshotNotFound, missing()))
}

/// The `rds-failsafe:managed` copies this account owns in the store's region, both kinds (every
/// page): what `find-shared`, `prune`, the drill and `rdsf` read.
pub async fn own_managed_copies(store: &dyn SnapshotStore) -> StoreResult<Vec<Snapshot>> {
    let mut out = Vec::new();
    for kind in [SnapshotKind::Instance, SnapshotKind::Cluster] {
        let q = SnapshotQuery {
            snapshot_type: Some(crate::model::snapshot_type::MANUAL),
            ..SnapshotQuery::default()
        };
        out.extend(
            store
                .list_snapshots(kind, &q)
                .await?
                .into_iter()
                .filter(|s| crate::policy::tags::is_managed(&s.tags)),
        );
    }
    Ok(out)
}

/// Deletes a snapshot; one that is gone already (a parallel run, an operator) counts as deleted.
pub async fn delete_if_present(
    store: &dyn SnapshotStore,
    kind: SnapshotKind,
    id: &str,
) -> StoreResult<()> {
    match store.delete_snapshot(kind, id).await {
        Err(e) if e.kind == StoreErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// One kind's manual snapshot quota against what a run will copy.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct QuotaUse {
    pub kind: SnapshotKind,
    pub used: i64,
    pub max: i64,
    pub needed: i64,
    /// Set when the run's copies do not all fit: the numbers and the fix (`policy::quota`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortfall: Option<String>,
}

/// How many copies of `kind` fit, by the quotas read (`read_snapshot_quotas`); a kind without a
/// reading is not limited here (RDS reported no quota for it, or the run needs none).
pub fn quota_room(quotas: &[QuotaUse], kind: SnapshotKind) -> usize {
    quotas
        .iter()
        .find(|q| q.kind == kind)
        .map_or(usize::MAX, |q| {
            crate::policy::quota::quota_room(q.used, q.max) as usize
        })
}

/// The shortfall message of `kind` in the quotas read, when its copies did not all fit.
pub fn quota_shortfall_of(quotas: &[QuotaUse], kind: SnapshotKind) -> Option<&str> {
    quotas
        .iter()
        .find(|q| q.kind == kind)
        .and_then(|q| q.shortfall.as_deref())
}

/// Reads the quota of each kind that `needed` names, before the first copy. A kind whose
/// copies would not all fit carries the shortfall (used, max, needed, what is left out and
/// `settings`, the deployment's own fields), logged as a warning; the caller copies what fits
/// (`policy::quota::fit_each_kind`) and fails the run at its end.
pub async fn read_snapshot_quotas(
    store: &dyn SnapshotStore,
    needed: &[(SnapshotKind, i64)],
    settings: &str,
) -> Result<Vec<QuotaUse>, FailsafeError> {
    let mut uses = Vec::new();
    for &(kind, needed) in needed.iter().filter(|(_, n)| *n > 0) {
        let Some(q) = store.snapshot_quota(kind).await? else {
            tracing::warn!(action = "quota", kind = %kind, "RDS reports no manual snapshot quota; not checked");
            continue;
        };
        tracing::info!(action = "quota", kind = %kind, used = q.used, max = q.max, needed, "manual snapshot quota");
        let shortfall =
            crate::policy::quota::quota_shortfall(kind, q.used, q.max, needed, settings);
        if let Some(message) = &shortfall {
            tracing::warn!(action = "quota", kind = %kind, "{message}");
        }
        uses.push(QuotaUse {
            kind,
            used: q.used,
            max: q.max,
            needed,
            shortfall,
        });
    }
    Ok(uses)
}

/// How many new copies of each kind `kinds` asks for (one per entry).
pub fn count_by_kind(kinds: impl Iterator<Item = SnapshotKind>) -> Vec<(SnapshotKind, i64)> {
    let all: Vec<SnapshotKind> = kinds.collect();
    [SnapshotKind::Instance, SnapshotKind::Cluster]
        .into_iter()
        .map(|k| (k, all.iter().filter(|x| **x == k).count() as i64))
        .collect()
}
