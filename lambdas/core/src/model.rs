//! Plain data the policy functions work on: what the port returns, stripped of SDK types.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

pub type Tags = BTreeMap<String, String>;

/// RDS keeps DB instance snapshots and DB cluster (Aurora) snapshots behind separate APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotKind {
    Instance,
    Cluster,
}

impl SnapshotKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            SnapshotKind::Instance => "instance",
            SnapshotKind::Cluster => "cluster",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "instance" => Some(SnapshotKind::Instance),
            "cluster" => Some(SnapshotKind::Cluster),
            _ => None,
        }
    }
}

impl fmt::Display for SnapshotKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A DB instance or Aurora DB cluster whose snapshots we protect.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    pub kind: SnapshotKind,
    pub id: String,
    /// What the Live account shares of it (`INCREMENTAL_SOURCES`); absent on the wire when it
    /// is the default, so that a 1,000-source state stays small.
    #[serde(default, skip_serializing_if = "SourceMode::is_share_copy")]
    pub mode: SourceMode,
    /// The shortest cadence that selects it (`CADENCES`), in hours; absent for a source
    /// snapshotted by the daily run only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every_hours: Option<u32>,
    /// The longest wait `COPY_WAITS` sets for it, in seconds; absent when none does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_wait_seconds: Option<u64>,
}

impl Source {
    pub fn new(kind: SnapshotKind, id: impl Into<String>) -> Source {
        Source {
            kind,
            id: id.into(),
            mode: SourceMode::ShareCopy,
            every_hours: None,
            copy_wait_seconds: None,
        }
    }
}

/// What the Live account shares with the Failsafe account(s) for a source.
///
/// RDS: "When you copy a source snapshot that is a snapshot copy itself, the new copy isn't
/// incremental" (docs/aws-facts.md, "Copy physics"), so a Failsafe copy of a share copy is a
/// full copy every day. A snapshot the Live account takes itself is not a copy: the Failsafe copy
/// of it can be incremental on the one before.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum SourceMode {
    /// A copy of the newest automated snapshot under the share key (works for every key,
    /// `aws/rds` included).
    #[default]
    ShareCopy,
    /// A snapshot taken for the run (`CreateDBSnapshot` / `CreateDBClusterSnapshot`), shared as
    /// it is: for sources on a customer-managed key whose policy lets the Failsafe account(s)
    /// use it, or unencrypted. An `aws/rds` source falls back to a share copy.
    Incremental,
}

impl SourceMode {
    pub fn is_share_copy(&self) -> bool {
        *self == SourceMode::ShareCopy
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DbInstance {
    pub id: String,
    pub arn: String,
    /// Set when the instance is a member of an Aurora cluster: such instances are protected
    /// through their cluster's snapshots, never selected on their own.
    pub cluster_id: Option<String>,
    pub engine: String,
    pub tags: Tags,
    /// `BackupRetentionPeriod`: 0 means no automated backups, so no automated snapshot to copy.
    pub backup_retention_days: i32,
    /// `StorageEncrypted`.
    pub encrypted: bool,
    /// `KmsKeyId` (an ARN) when encrypted.
    pub kms_key_id: Option<String>,
    /// The option groups the instance is a member of (`OptionGroupMemberships`).
    pub option_groups: Vec<String>,
    /// `PreferredBackupWindow`: `hh24:mi-hh24:mi`, UTC.
    pub backup_window: Option<String>,
    /// `AllocatedStorage` (GiB): what a full copy of its snapshot moves at most.
    pub allocated_storage: i32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DbCluster {
    pub id: String,
    pub arn: String,
    pub engine: String,
    pub tags: Tags,
    /// `BackupRetentionPeriod` (at least 1 for Aurora).
    pub backup_retention_days: i32,
    /// `StorageEncrypted`.
    pub encrypted: bool,
    /// `KmsKeyId` (an ARN) when encrypted.
    pub kms_key_id: Option<String>,
}

/// A KMS key as `DescribeKey` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyInfo {
    pub arn: String,
    /// `KeyState`: `Enabled`, `Disabled`, `PendingDeletion`, ...
    pub state: String,
    /// `KeyManager`: `CUSTOMER` or `AWS`.
    pub manager: String,
}

/// A DB instance or cluster as a restore drill watches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbState {
    pub kind: SnapshotKind,
    pub id: String,
    pub arn: String,
    /// `DBInstanceStatus` / cluster `Status`.
    pub status: String,
    pub tags: Tags,
    /// A cluster's DB instances (`DBClusterMembers`); empty for an instance.
    pub members: Vec<String>,
}

/// Where and as whom a drill's checks connect: a database's endpoint, master user and
/// RDS-managed master password (`MasterUserSecret`), once RDS reports them. Read only by
/// `validate-drill` (`port::MasterPasswords::describe_db_login`), so that no other binary carries
/// the code that reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DbAccess {
    /// The endpoint's address (a cluster's writer endpoint) and port.
    pub endpoint: Option<(String, u16)>,
    pub master_username: Option<String>,
    /// The Secrets Manager secret RDS keeps the master password in, and its `SecretStatus`
    /// (`creating`, `active`, `rotating`, `impaired`).
    pub master_secret: Option<(String, String)>,
}

/// A database password: never printed, logged or serialized (its `Debug` says so).
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(p: impl Into<String>) -> Password {
        Password(p.into())
    }
    /// The password itself, for the driver's login only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A database login from the master secret (`{"username", "password"}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: Password,
}

/// `SnapshotType` as RDS reports it.
pub mod snapshot_type {
    pub const AUTOMATED: &str = "automated";
    pub const MANUAL: &str = "manual";
    pub const SHARED: &str = "shared";
}

/// `Status` values that matter to the tool.
pub mod status {
    pub const AVAILABLE: &str = "available";
    pub const CREATING: &str = "creating";
    pub const COPYING: &str = "copying";
    pub const FAILED: &str = "failed";
}

/// One DB snapshot or DB cluster snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub kind: SnapshotKind,
    /// `DBSnapshotIdentifier` / `DBClusterSnapshotIdentifier` (an ARN for snapshots shared with us).
    pub id: String,
    pub arn: String,
    /// `DBInstanceIdentifier` / `DBClusterIdentifier` of the database the snapshot was taken of.
    pub source_id: String,
    pub snapshot_type: String,
    pub status: String,
    pub create_time: Option<DateTime<Utc>>,
    /// For copies, the creation time of the snapshot that was copied (instances only; RDS does
    /// not report it for cluster snapshots).
    pub original_create_time: Option<DateTime<Utc>>,
    pub encrypted: bool,
    pub kms_key_id: Option<String>,
    pub engine: String,
    /// `EngineVersion`: a restore of a cluster snapshot names it, or RDS picks the default.
    #[serde(default)]
    pub engine_version: Option<String>,
    pub allocated_storage: i32,
    pub percent_progress: Option<i32>,
    pub option_group_name: Option<String>,
    /// The snapshot this one was copied from, as RDS reports it: `SourceDBSnapshotIdentifier`
    /// for instances (RDS fills it only for cross-account or cross-Region copies) and
    /// `SourceDBClusterSnapshotArn` for clusters.
    pub copied_from: Option<String>,
    pub tags: Tags,
}

impl Snapshot {
    pub fn is_available(&self) -> bool {
        self.status == status::AVAILABLE
    }
    pub fn is_automated(&self) -> bool {
        self.snapshot_type == snapshot_type::AUTOMATED
    }
    /// The time the data was taken: the original time for copies, else the snapshot's own.
    pub fn data_time(&self) -> Option<DateTime<Utc>> {
        self.original_create_time.or(self.create_time)
    }
}

/// An option of an option group, with the flags that make snapshots unshareable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionInfo {
    pub name: String,
    pub permanent: bool,
    pub persistent: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionGroup {
    pub name: String,
    pub options: Vec<OptionInfo>,
}

/// A DB instance class RDS offers for an engine version in a region
/// (`DescribeOrderableDBInstanceOptions`; one entry per class, whatever its storage types).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderableClass {
    pub class: String,
    /// Offered inside a VPC (a drill restores into the deployment's subnet group).
    pub vpc: bool,
    /// Can hold encrypted storage (every Failsafe copy is encrypted).
    pub storage_encryption: bool,
}
