//! The port: every AWS call the task Lambdas make, as one trait per capability (snapshots,
//! snapshot writes, sharing, databases, restores, publishing, executions, policy reads, and the
//! drill checks' master passwords, secrets and SQL queries). A
//! handler's signature names the capabilities it uses (`save<S: Snapshots + SnapshotWrites>`)
//! and is statically dispatched, so each binary links only the calls it makes.
//! [`crate::port::aws::AwsStore`] implements them all with the AWS SDK, [`crate::port::fake::FakeStore`]
//! in memory for tests.

pub mod aws;
pub mod fake;

use crate::error::{ErrorKind, FailsafeError};
use crate::model::{
    Credentials, DbAccess, DbCluster, DbInstance, DbState, KeyInfo, OptionGroup, OrderableClass,
    Snapshot, SnapshotKind, Tags,
};
use crate::policy::checks::{Answer, Dialect};
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

/// One `CreateDBSnapshot` / `CreateDBClusterSnapshot` call: a snapshot of a database of this
/// account and region, taken now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateSnapshotRequest {
    /// `DBInstanceIdentifier` / `DBClusterIdentifier`.
    pub db_id: String,
    pub target_id: String,
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

/// Reads snapshots and the manual snapshot quota (RDS).
#[async_trait]
pub trait Snapshots: Send + Sync {
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
    /// The account's manual snapshot quota for `kind` in the store's region
    /// (`DescribeAccountAttributes`: `ManualSnapshots` / `ManualClusterSnapshots`); `None` if
    /// RDS does not report it.
    async fn snapshot_quota(&self, kind: SnapshotKind) -> StoreResult<Option<SnapshotQuota>>;
}

/// Creates, deletes and tags snapshots (RDS).
#[async_trait]
pub trait SnapshotWrites: Send + Sync {
    async fn copy_snapshot(
        &self,
        kind: SnapshotKind,
        request: &CopyRequest,
    ) -> StoreResult<Snapshot>;
    async fn create_snapshot(
        &self,
        kind: SnapshotKind,
        request: &CreateSnapshotRequest,
    ) -> StoreResult<Snapshot>;
    async fn delete_snapshot(&self, kind: SnapshotKind, id: &str) -> StoreResult<()>;
    async fn add_tags(&self, arn: &str, tags: &Tags) -> StoreResult<()>;
}

/// The restore drills' evidence: one JSON record per drill in a log group the guardrails keep
/// (CloudWatch Logs). `end-drill` appends; `rdsf drills` reads.
#[async_trait]
pub trait DrillRecords: Send + Sync {
    /// Appends one record to `stream` of `group` (the stream is made if it is not there).
    async fn append_record(&self, group: &str, stream: &str, record: &str) -> StoreResult<()>;
    /// Every record of `group`, oldest first.
    async fn read_records(&self, group: &str) -> StoreResult<Vec<String>>;
}

/// Takes tags off a snapshot (RDS). No task does: only `rdsf release`, which under the guardrails
/// only the break-glass role may run.
#[async_trait]
pub trait Untagging: Send + Sync {
    async fn remove_tags(&self, arn: &str, keys: &[String]) -> StoreResult<()>;
}

/// Reads and changes who may restore a snapshot (RDS).
#[async_trait]
pub trait Sharing: Send + Sync {
    /// Accounts in the snapshot's `restore` attribute.
    async fn shared_with(&self, kind: SnapshotKind, id: &str) -> StoreResult<Vec<String>>;
    async fn share_with(
        &self,
        kind: SnapshotKind,
        id: &str,
        accounts: &[String],
    ) -> StoreResult<()>;
}

/// Reads DB instances, clusters, option groups and the classes RDS offers.
#[async_trait]
pub trait Databases: Send + Sync {
    async fn list_instances(&self) -> StoreResult<Vec<DbInstance>>;
    async fn list_clusters(&self) -> StoreResult<Vec<DbCluster>>;
    async fn describe_option_group(&self, name: &str) -> StoreResult<Option<OptionGroup>>;
    /// The DB instance classes RDS offers in the store's region for `engine` at
    /// `engine_version` (every version if `None`), VPC offers only, each class once.
    async fn orderable_classes(
        &self,
        engine: &str,
        engine_version: Option<&str>,
    ) -> StoreResult<Vec<OrderableClass>>;
    /// A DB instance or cluster of this account by identifier; `Ok(None)` if there is none.
    async fn describe_db(&self, kind: SnapshotKind, id: &str) -> StoreResult<Option<DbState>>;
}

/// Restores snapshots into new databases and deletes them (RDS).
#[async_trait]
pub trait Restores: Send + Sync {
    /// Restores a snapshot of this account into a new DB instance or cluster; returns its ARN.
    async fn restore_snapshot(&self, request: &RestoreRequest) -> StoreResult<String>;
    /// Adds a DB instance to a cluster (a restored cluster has none); returns its ARN.
    async fn create_cluster_instance(
        &self,
        request: &ClusterInstanceRequest,
    ) -> StoreResult<String>;
    /// Deletes a DB instance or cluster without a final snapshot and with its automated backups.
    async fn delete_db(&self, kind: SnapshotKind, id: &str) -> StoreResult<()>;
}

/// Turns on RDS's management of a drill database's master password (`ModifyDBInstance` /
/// `ModifyDBCluster` with `ManageMasterUserPassword`): RDS sets a new password and keeps it in a
/// Secrets Manager secret, which it deletes with the database. And reads where and as whom to
/// log in (`validate-drill` alone).
#[async_trait]
pub trait MasterPasswords: Send + Sync {
    async fn manage_master_password(&self, kind: SnapshotKind, id: &str) -> StoreResult<()>;
    /// A database as [`Databases::describe_db`] gives it, with where and as whom to log in to it
    /// (one Describe call); `None` when it is not there.
    async fn describe_db_login(
        &self,
        kind: SnapshotKind,
        id: &str,
    ) -> StoreResult<Option<(DbState, DbAccess)>>;
}

/// Reads a database's login from the master secret RDS keeps (Secrets Manager).
#[async_trait]
pub trait SecretReads: Send + Sync {
    async fn master_credentials(&self, secret_arn: &str) -> StoreResult<Credentials>;
}

/// Where a drill's checks connect: the restored database's endpoint, the database in it, and the
/// SQL it speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlTarget {
    pub dialect: Dialect,
    pub host: String,
    pub port: u16,
    pub database: String,
    /// Each statement's bound (the server's statement timeout, set by the session setup); the
    /// client gives up on an answer a few seconds after it (a session that stalled).
    pub timeout_seconds: u32,
}

/// Queries a drill's database over TLS (the server's certificate verified, its name included).
#[async_trait]
pub trait SqlQueries: Send + Sync {
    /// Opens one session as `login`, runs `setup` (every statement must succeed), then each of
    /// `queries` in turn, each in a read-only transaction rolled back after it (so no check can
    /// change the session for the next): one answer per query, a failed query's error as its
    /// answer. `Err` when no session could be opened, or it stalled.
    async fn run_queries(
        &self,
        target: &SqlTarget,
        login: &Credentials,
        setup: &[String],
        queries: &[String],
    ) -> StoreResult<Vec<Answer>>;
}

/// Publishes to SNS topics.
#[async_trait]
pub trait Publishing: Send + Sync {
    /// Publishes with a client in the topic's region (SNS refuses a topic of another region).
    /// Returns the message id.
    async fn publish(&self, topic_arn: &str, message: &str) -> StoreResult<String>;
}

/// Starts Step Functions executions.
#[async_trait]
pub trait Executions: Send + Sync {
    async fn start_execution(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &str,
    ) -> StoreResult<StartOutcome>;
}

/// Reads the KMS keys and SNS topic policies the preflight judges.
#[async_trait]
pub trait PolicyReads: Send + Sync {
    /// A KMS key by ARN (`DescribeKey`, in the ARN's region); `Ok(None)` if there is none.
    async fn describe_key(&self, key_arn: &str) -> StoreResult<Option<KeyInfo>>;
    /// A KMS key's policy (`GetKeyPolicy`, the `default` policy) as JSON text.
    async fn key_policy(&self, key_arn: &str) -> StoreResult<String>;
    /// An SNS topic's access policy (`GetTopicAttributes` `Policy`, in the topic's region) as
    /// JSON text, empty if SNS did not return one; `Ok(None)` if the topic does not exist.
    async fn topic_policy(&self, topic_arn: &str) -> StoreResult<Option<String>>;
}
