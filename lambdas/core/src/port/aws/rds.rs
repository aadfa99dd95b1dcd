//! RDS with the AWS SDK: the port's snapshots, snapshot writes, sharing, databases and restores,
//! SDK types mapped to the model, every listing paginated to its end. Reads retry in the SDK
//! ([`READ_ATTEMPTS`]); writes make one attempt, and the state machines retry them.

use super::error::{aws_error_code, classify, map_err};
use super::AwsStore;
use crate::model::{
    DbAccess, DbCluster, DbInstance, DbState, OptionGroup, OptionInfo, OrderableClass, Snapshot,
    SnapshotKind, Tags,
};
use crate::port::{
    ClusterInstanceRequest, CopyRequest, CreateSnapshotRequest, Databases, MasterPasswords,
    RestoreRequest, Restores, Sharing, SnapshotQuery, SnapshotQuota, SnapshotWrites, Snapshots,
    StoreError, StoreErrorKind, StoreResult, Untagging,
};
use async_trait::async_trait;
use aws_sdk_rds::config::interceptors::FinalizerInterceptorContextRef;
use aws_sdk_rds::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_rds::types::Tag;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use chrono::{DateTime, Utc};

/// How many times the SDK tries one RDS read (a describe call, one page of a listing) that is
/// throttled or meets a transient fault, with the standard mode's exponential backoff and jitter.
/// RDS's request rate is shared by everything in the account and region (docs/aws-facts.md), so
/// a busy account throttles some pages of a 1,000-source listing: retried here, the listing goes
/// on from that page; failed to the state machine, the whole task would start over. Writes keep
/// one attempt and the state machines' Retry, where each shows in the execution history.
pub const READ_ATTEMPTS: u32 = 5;

/// The read client made from the write client's configuration: standard retries, and every
/// failed attempt logged ([`FailedReadAttempts`]).
pub(super) fn read_client(rds: &aws_sdk_rds::Client) -> aws_sdk_rds::Client {
    aws_sdk_rds::Client::from_conf(
        rds.config()
            .to_builder()
            .retry_config(
                aws_sdk_rds::config::retry::RetryConfig::standard()
                    .with_max_attempts(READ_ATTEMPTS),
            )
            .interceptor(FailedReadAttempts)
            .build(),
    )
}

/// Makes a retried read visible: every attempt that failed with what the SDK retries
/// (throttling, a 5xx, no answer) is a warning (`action = "rds-read-retry"`; the last of
/// [`READ_ATTEMPTS`] is not retried but reaches the task as its error) and a CloudWatch EMF record
/// (`RdsReadAttemptsFailed`, by operation and error code), so an account that throttles the
/// tool shows on a graph even when every run succeeds.
#[derive(Debug)]
struct FailedReadAttempts;

impl Intercept for FailedReadAttempts {
    fn name(&self) -> &'static str {
        "rdsf-failed-read-attempts"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !matches!(context.output_or_error(), Some(Err(_))) {
            return Ok(());
        }
        let status = context.response().map(|r| r.status().as_u16());
        let code = match (status, context.response().and_then(|r| r.body().bytes())) {
            (Some(_), Some(body)) => aws_error_code(body).unwrap_or("Unknown").to_string(),
            (Some(s), None) => format!("HTTP{s}"),
            (None, _) => "NoResponse".to_string(),
        };
        // What the standard mode retries: throttling, a 5xx, no answer. A describe of what does
        // not exist (404 ...NotFound) is an answer, not a fault.
        let retried = status.is_none_or(|s| s >= 500)
            || matches!(
                classify(&code),
                StoreErrorKind::Throttled | StoreErrorKind::Transient
            );
        if !retried {
            return Ok(());
        }
        let operation = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_string())
            .unwrap_or_else(|| "RDS".into());
        let attempt = cfg.load::<RequestAttempts>().map_or(0, |a| a.attempts());
        tracing::warn!(
            action = "rds-read-retry",
            operation = %operation,
            attempt,
            max_attempts = READ_ATTEMPTS,
            code = %code,
            status = status.unwrap_or(0),
            "RDS read attempt failed; the SDK retries it until {READ_ATTEMPTS} attempts"
        );
        println!(
            "{}",
            serde_json::json!({
                "_aws": {
                    "Timestamp": Utc::now().timestamp_millis(),
                    "CloudWatchMetrics": [{
                        "Namespace": "RdsFailsafe",
                        "Dimensions": [["Operation", "Code"]],
                        "Metrics": [{"Name": "RdsReadAttemptsFailed", "Unit": "Count"}]
                    }]
                },
                "Operation": operation,
                "Code": code,
                "RdsReadAttemptsFailed": 1
            })
        );
        Ok(())
    }
}

fn time(t: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
}

fn tags(list: &[Tag]) -> Tags {
    list.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

fn sdk_tags(t: &Tags) -> Vec<Tag> {
    t.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// Engines that share the RDS API but are not RDS/Aurora databases.
fn foreign_engine(engine: &str) -> bool {
    engine == "neptune" || engine == "docdb"
}

pub fn instance_snapshot(s: &aws_sdk_rds::types::DbSnapshot) -> Snapshot {
    Snapshot {
        kind: SnapshotKind::Instance,
        id: s.db_snapshot_identifier().unwrap_or_default().to_string(),
        arn: s.db_snapshot_arn().unwrap_or_default().to_string(),
        source_id: s.db_instance_identifier().unwrap_or_default().to_string(),
        snapshot_type: s.snapshot_type().unwrap_or_default().to_string(),
        status: s.status().unwrap_or_default().to_string(),
        create_time: time(s.snapshot_create_time()),
        original_create_time: time(s.original_snapshot_create_time()),
        encrypted: s.encrypted().unwrap_or(false),
        kms_key_id: s.kms_key_id().map(str::to_string),
        engine: s.engine().unwrap_or_default().to_string(),
        engine_version: s.engine_version().map(str::to_string),
        allocated_storage: s.allocated_storage().unwrap_or(0),
        percent_progress: s.percent_progress(),
        option_group_name: s.option_group_name().map(str::to_string),
        copied_from: s
            .source_db_snapshot_identifier()
            .filter(|v| !v.is_empty())
            .map(str::to_string),
        tags: tags(s.tag_list()),
    }
}

pub fn cluster_snapshot(s: &aws_sdk_rds::types::DbClusterSnapshot) -> Snapshot {
    Snapshot {
        kind: SnapshotKind::Cluster,
        id: s
            .db_cluster_snapshot_identifier()
            .unwrap_or_default()
            .to_string(),
        arn: s.db_cluster_snapshot_arn().unwrap_or_default().to_string(),
        source_id: s.db_cluster_identifier().unwrap_or_default().to_string(),
        snapshot_type: s.snapshot_type().unwrap_or_default().to_string(),
        status: s.status().unwrap_or_default().to_string(),
        create_time: time(s.snapshot_create_time()),
        original_create_time: None,
        encrypted: s.storage_encrypted().unwrap_or(false),
        kms_key_id: s.kms_key_id().map(str::to_string),
        engine: s.engine().unwrap_or_default().to_string(),
        engine_version: s.engine_version().map(str::to_string),
        allocated_storage: s.allocated_storage().unwrap_or(0),
        percent_progress: s.percent_progress(),
        option_group_name: None,
        copied_from: s
            .source_db_cluster_snapshot_arn()
            .filter(|v| !v.is_empty())
            .map(str::to_string),
        tags: tags(s.tag_list()),
    }
}

#[async_trait]
impl Snapshots for AwsStore {
    async fn list_snapshots(
        &self,
        kind: SnapshotKind,
        q: &SnapshotQuery,
    ) -> StoreResult<Vec<Snapshot>> {
        let shared = q.snapshot_type == Some("shared");
        match kind {
            SnapshotKind::Instance => {
                let all: Vec<_> = self
                    .clients(q.region.as_deref())
                    .rds_read
                    .describe_db_snapshots()
                    .set_db_instance_identifier(q.source_id.clone())
                    .set_snapshot_type(q.snapshot_type.map(str::to_string))
                    .include_shared(shared)
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect()
                    .await
                    .map_err(|e| map_err("DescribeDBSnapshots", e))?;
                Ok(all.iter().map(instance_snapshot).collect())
            }
            SnapshotKind::Cluster => {
                let all: Vec<_> = self
                    .clients(q.region.as_deref())
                    .rds_read
                    .describe_db_cluster_snapshots()
                    .set_db_cluster_identifier(q.source_id.clone())
                    .set_snapshot_type(q.snapshot_type.map(str::to_string))
                    .include_shared(shared)
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect()
                    .await
                    .map_err(|e| map_err("DescribeDBClusterSnapshots", e))?;
                Ok(all.iter().map(cluster_snapshot).collect())
            }
        }
    }

    async fn describe_snapshot(
        &self,
        kind: SnapshotKind,
        id: &str,
    ) -> StoreResult<Option<Snapshot>> {
        // An ARN names another account's snapshot shared with us (or our own), in the ARN's
        // region: a shared snapshot is visible only there.
        let by_arn = id.starts_with("arn:");
        let found = match kind {
            SnapshotKind::Instance => self
                .clients_for_arn(id)
                .rds_read
                .describe_db_snapshots()
                .db_snapshot_identifier(id)
                .include_shared(by_arn)
                .send()
                .await
                .map(|o| o.db_snapshots().first().map(instance_snapshot))
                .map_err(|e| map_err("DescribeDBSnapshots", e)),
            SnapshotKind::Cluster => self
                .clients_for_arn(id)
                .rds_read
                .describe_db_cluster_snapshots()
                .db_cluster_snapshot_identifier(id)
                .include_shared(by_arn)
                .send()
                .await
                .map(|o| o.db_cluster_snapshots().first().map(cluster_snapshot))
                .map_err(|e| map_err("DescribeDBClusterSnapshots", e)),
        };
        match found {
            Err(e) if e.kind == StoreErrorKind::NotFound => Ok(None),
            other => other,
        }
    }

    async fn snapshot_quota(&self, kind: SnapshotKind) -> StoreResult<Option<SnapshotQuota>> {
        let name = crate::policy::quota::quota_name(kind);
        let out = self
            .home
            .rds_read
            .describe_account_attributes()
            .send()
            .await
            .map_err(|e| map_err("DescribeAccountAttributes", e))?;
        Ok(out
            .account_quotas()
            .iter()
            .find(|q| q.account_quota_name() == Some(name))
            .map(|q| SnapshotQuota {
                used: q.used().unwrap_or_default(),
                max: q.max().unwrap_or_default(),
            }))
    }
}

#[async_trait]
impl SnapshotWrites for AwsStore {
    async fn copy_snapshot(&self, kind: SnapshotKind, r: &CopyRequest) -> StoreResult<Snapshot> {
        match kind {
            SnapshotKind::Instance => {
                let out = self
                    .home
                    .rds
                    .copy_db_snapshot()
                    .source_db_snapshot_identifier(&r.source)
                    .target_db_snapshot_identifier(&r.target_id)
                    .set_kms_key_id(r.kms_key_id.clone())
                    .set_tags(Some(sdk_tags(&r.tags)))
                    .copy_tags(false)
                    .send()
                    .await
                    .map_err(|e| map_err("CopyDBSnapshot", e))?;
                out.db_snapshot().map(instance_snapshot).ok_or_else(|| {
                    StoreError::new(
                        StoreErrorKind::Other,
                        "EmptyResponse",
                        "CopyDBSnapshot returned no snapshot",
                    )
                })
            }
            SnapshotKind::Cluster => {
                let out = self
                    .home
                    .rds
                    .copy_db_cluster_snapshot()
                    .source_db_cluster_snapshot_identifier(&r.source)
                    .target_db_cluster_snapshot_identifier(&r.target_id)
                    .set_kms_key_id(r.kms_key_id.clone())
                    .set_tags(Some(sdk_tags(&r.tags)))
                    .copy_tags(false)
                    .send()
                    .await
                    .map_err(|e| map_err("CopyDBClusterSnapshot", e))?;
                out.db_cluster_snapshot()
                    .map(cluster_snapshot)
                    .ok_or_else(|| {
                        StoreError::new(
                            StoreErrorKind::Other,
                            "EmptyResponse",
                            "CopyDBClusterSnapshot returned no snapshot",
                        )
                    })
            }
        }
    }

    async fn create_snapshot(
        &self,
        kind: SnapshotKind,
        r: &CreateSnapshotRequest,
    ) -> StoreResult<Snapshot> {
        let empty = |op: &str| {
            StoreError::new(
                StoreErrorKind::Other,
                "EmptyResponse",
                format!("{op} returned no snapshot"),
            )
        };
        match kind {
            SnapshotKind::Instance => self
                .home
                .rds
                .create_db_snapshot()
                .db_instance_identifier(&r.db_id)
                .db_snapshot_identifier(&r.target_id)
                .set_tags(Some(sdk_tags(&r.tags)))
                .send()
                .await
                .map_err(|e| map_err("CreateDBSnapshot", e))?
                .db_snapshot()
                .map(instance_snapshot)
                .ok_or_else(|| empty("CreateDBSnapshot")),
            SnapshotKind::Cluster => self
                .home
                .rds
                .create_db_cluster_snapshot()
                .db_cluster_identifier(&r.db_id)
                .db_cluster_snapshot_identifier(&r.target_id)
                .set_tags(Some(sdk_tags(&r.tags)))
                .send()
                .await
                .map_err(|e| map_err("CreateDBClusterSnapshot", e))?
                .db_cluster_snapshot()
                .map(cluster_snapshot)
                .ok_or_else(|| empty("CreateDBClusterSnapshot")),
        }
    }

    async fn delete_snapshot(&self, kind: SnapshotKind, id: &str) -> StoreResult<()> {
        match kind {
            SnapshotKind::Instance => self
                .home
                .rds
                .delete_db_snapshot()
                .db_snapshot_identifier(id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| map_err("DeleteDBSnapshot", e)),
            SnapshotKind::Cluster => self
                .home
                .rds
                .delete_db_cluster_snapshot()
                .db_cluster_snapshot_identifier(id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| map_err("DeleteDBClusterSnapshot", e)),
        }
    }

    async fn add_tags(&self, arn: &str, t: &Tags) -> StoreResult<()> {
        self.home
            .rds
            .add_tags_to_resource()
            .resource_name(arn)
            .set_tags(Some(sdk_tags(t)))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| map_err("AddTagsToResource", e))
    }
}

#[async_trait]
impl Untagging for AwsStore {
    async fn remove_tags(&self, arn: &str, keys: &[String]) -> StoreResult<()> {
        self.home
            .rds
            .remove_tags_from_resource()
            .resource_name(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| map_err("RemoveTagsFromResource", e))
    }
}

#[async_trait]
impl Sharing for AwsStore {
    async fn shared_with(&self, kind: SnapshotKind, id: &str) -> StoreResult<Vec<String>> {
        let attrs: Vec<(String, Vec<String>)> = match kind {
            SnapshotKind::Instance => {
                let out = self
                    .home
                    .rds_read
                    .describe_db_snapshot_attributes()
                    .db_snapshot_identifier(id)
                    .send()
                    .await
                    .map_err(|e| map_err("DescribeDBSnapshotAttributes", e))?;
                out.db_snapshot_attributes_result()
                    .map(|r| {
                        r.db_snapshot_attributes()
                            .iter()
                            .map(|a| {
                                (
                                    a.attribute_name().unwrap_or_default().to_string(),
                                    a.attribute_values().to_vec(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            }
            SnapshotKind::Cluster => {
                let out = self
                    .home
                    .rds_read
                    .describe_db_cluster_snapshot_attributes()
                    .db_cluster_snapshot_identifier(id)
                    .send()
                    .await
                    .map_err(|e| map_err("DescribeDBClusterSnapshotAttributes", e))?;
                out.db_cluster_snapshot_attributes_result()
                    .map(|r| {
                        r.db_cluster_snapshot_attributes()
                            .iter()
                            .map(|a| {
                                (
                                    a.attribute_name().unwrap_or_default().to_string(),
                                    a.attribute_values().to_vec(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            }
        };
        Ok(attrs
            .into_iter()
            .filter(|(n, _)| n == "restore")
            .flat_map(|(_, v)| v)
            .collect())
    }

    async fn share_with(
        &self,
        kind: SnapshotKind,
        id: &str,
        accounts: &[String],
    ) -> StoreResult<()> {
        let shared = match kind {
            SnapshotKind::Instance => self
                .home
                .rds
                .modify_db_snapshot_attribute()
                .db_snapshot_identifier(id)
                .attribute_name("restore")
                .set_values_to_add(Some(accounts.to_vec()))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| map_err("ModifyDBSnapshotAttribute", e)),
            SnapshotKind::Cluster => self
                .home
                .rds
                .modify_db_cluster_snapshot_attribute()
                .db_cluster_snapshot_identifier(id)
                .attribute_name("restore")
                .set_values_to_add(Some(accounts.to_vec()))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| map_err("ModifyDBClusterSnapshotAttribute", e)),
        };
        shared.map_err(refused_for_its_key)
    }
}

/// RDS refuses to share a snapshot on the AWS managed key `aws/rds`, and the User Guide names no
/// code for it (contract/rds-rules.json): a refusal (invalid state or parameter) that names the
/// key is the key's.
fn refused_for_its_key(mut e: StoreError) -> StoreError {
    let message = e.message.to_ascii_lowercase();
    let refused = matches!(
        e.kind,
        StoreErrorKind::InvalidParameter | StoreErrorKind::InvalidState
    );
    if refused && (message.contains("kms") || message.contains("aws/rds")) {
        e.kind = StoreErrorKind::KmsKeyNotAccessible;
    }
    e
}

#[async_trait]
impl Databases for AwsStore {
    async fn list_instances(&self) -> StoreResult<Vec<DbInstance>> {
        let all: Vec<_> = self
            .home
            .rds_read
            .describe_db_instances()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| map_err("DescribeDBInstances", e))?;
        Ok(all
            .iter()
            .filter(|i| !foreign_engine(i.engine().unwrap_or_default()))
            .map(|i| DbInstance {
                id: i.db_instance_identifier().unwrap_or_default().to_string(),
                arn: i.db_instance_arn().unwrap_or_default().to_string(),
                cluster_id: i.db_cluster_identifier().map(str::to_string),
                engine: i.engine().unwrap_or_default().to_string(),
                tags: tags(i.tag_list()),
                backup_retention_days: i.backup_retention_period().unwrap_or_default(),
                encrypted: i.storage_encrypted().unwrap_or(false),
                kms_key_id: i.kms_key_id().map(str::to_string),
                option_groups: i
                    .option_group_memberships()
                    .iter()
                    .filter_map(|m| m.option_group_name().map(str::to_string))
                    .collect(),
                backup_window: i.preferred_backup_window().map(str::to_string),
                allocated_storage: i.allocated_storage().unwrap_or(0),
            })
            .collect())
    }

    async fn list_clusters(&self) -> StoreResult<Vec<DbCluster>> {
        let all: Vec<_> = self
            .home
            .rds_read
            .describe_db_clusters()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| map_err("DescribeDBClusters", e))?;
        Ok(all
            .iter()
            .filter(|c| !foreign_engine(c.engine().unwrap_or_default()))
            .map(|c| DbCluster {
                id: c.db_cluster_identifier().unwrap_or_default().to_string(),
                arn: c.db_cluster_arn().unwrap_or_default().to_string(),
                engine: c.engine().unwrap_or_default().to_string(),
                tags: tags(c.tag_list()),
                backup_retention_days: c.backup_retention_period().unwrap_or_default(),
                encrypted: c.storage_encrypted().unwrap_or(false),
                kms_key_id: c.kms_key_id().map(str::to_string),
            })
            .collect())
    }

    async fn describe_option_group(&self, name: &str) -> StoreResult<Option<OptionGroup>> {
        let out = self
            .home
            .rds_read
            .describe_option_groups()
            .option_group_name(name)
            .send()
            .await;
        let out = match out.map_err(|e| map_err("DescribeOptionGroups", e)) {
            Err(e) if e.kind == StoreErrorKind::NotFound => return Ok(None),
            other => other?,
        };
        Ok(out.option_groups_list().first().map(|g| OptionGroup {
            name: g.option_group_name().unwrap_or(name).to_string(),
            options: g
                .options()
                .iter()
                .map(|o| OptionInfo {
                    name: o.option_name().unwrap_or_default().to_string(),
                    permanent: o.permanent().unwrap_or(false),
                    persistent: o.persistent().unwrap_or(false),
                })
                .collect(),
        }))
    }

    async fn orderable_classes(
        &self,
        engine: &str,
        engine_version: Option<&str>,
    ) -> StoreResult<Vec<OrderableClass>> {
        // One entry per class and storage type and more, 100 a page (RDS allows 20 to 1,000).
        let all: Vec<_> = self
            .home
            .rds_read
            .describe_orderable_db_instance_options()
            .engine(engine)
            .set_engine_version(engine_version.map(str::to_string))
            .vpc(true)
            .max_records(100)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| map_err("DescribeOrderableDBInstanceOptions", e))?;
        let mut classes: Vec<OrderableClass> = Vec::new();
        for o in &all {
            let class = o.db_instance_class().unwrap_or_default();
            let offer = OrderableClass {
                class: class.to_string(),
                vpc: o.vpc().unwrap_or(false),
                storage_encryption: o.supports_storage_encryption().unwrap_or(false),
            };
            match classes.iter_mut().find(|c| c.class == class) {
                // a class counts as offered as its best storage type offers it
                Some(c) => {
                    c.vpc |= offer.vpc;
                    c.storage_encryption |= offer.storage_encryption;
                }
                None if !class.is_empty() => classes.push(offer),
                None => {}
            }
        }
        Ok(classes)
    }

    async fn describe_db(&self, kind: SnapshotKind, id: &str) -> StoreResult<Option<DbState>> {
        Ok(self
            .describe(kind, id, |_| (), |_| ())
            .await?
            .map(|(db, ())| db))
    }
}

#[async_trait]
impl Restores for AwsStore {
    async fn restore_snapshot(&self, r: &RestoreRequest) -> StoreResult<String> {
        let arn = match r.kind {
            SnapshotKind::Instance => self
                .home
                .rds
                .restore_db_instance_from_db_snapshot()
                .db_instance_identifier(&r.target_id)
                .db_snapshot_identifier(&r.snapshot_id)
                .set_db_instance_class(r.instance_class.clone())
                .set_db_subnet_group_name(r.subnet_group.clone())
                .set_vpc_security_group_ids(
                    Some(r.security_groups.clone()).filter(|v| !v.is_empty()),
                )
                .publicly_accessible(false)
                .set_tags(Some(sdk_tags(&r.tags)))
                .send()
                .await
                .map_err(|e| map_err("RestoreDBInstanceFromDBSnapshot", e))?
                .db_instance()
                .and_then(|d| d.db_instance_arn().map(str::to_string)),
            SnapshotKind::Cluster => self
                .home
                .rds
                .restore_db_cluster_from_snapshot()
                .db_cluster_identifier(&r.target_id)
                .snapshot_identifier(&r.snapshot_id)
                .engine(&r.engine)
                .set_engine_version(r.engine_version.clone())
                .set_db_subnet_group_name(r.subnet_group.clone())
                .set_vpc_security_group_ids(
                    Some(r.security_groups.clone()).filter(|v| !v.is_empty()),
                )
                .set_tags(Some(sdk_tags(&r.tags)))
                .send()
                .await
                .map_err(|e| map_err("RestoreDBClusterFromSnapshot", e))?
                .db_cluster()
                .and_then(|d| d.db_cluster_arn().map(str::to_string)),
        };
        arn.ok_or_else(|| {
            StoreError::new(
                StoreErrorKind::Other,
                "EmptyResponse",
                format!("the restore of {} returned no ARN", r.target_id),
            )
        })
    }

    async fn create_cluster_instance(&self, r: &ClusterInstanceRequest) -> StoreResult<String> {
        self.home
            .rds
            .create_db_instance()
            .db_instance_identifier(&r.instance_id)
            .db_cluster_identifier(&r.cluster_id)
            .engine(&r.engine)
            .db_instance_class(&r.instance_class)
            .publicly_accessible(false)
            .set_tags(Some(sdk_tags(&r.tags)))
            .send()
            .await
            .map_err(|e| map_err("CreateDBInstance", e))?
            .db_instance()
            .and_then(|d| d.db_instance_arn().map(str::to_string))
            .ok_or_else(|| {
                StoreError::new(
                    StoreErrorKind::Other,
                    "EmptyResponse",
                    format!("CreateDBInstance of {} returned no ARN", r.instance_id),
                )
            })
    }

    async fn delete_db(&self, kind: SnapshotKind, id: &str) -> StoreResult<()> {
        match kind {
            SnapshotKind::Instance => self
                .home
                .rds
                .delete_db_instance()
                .db_instance_identifier(id)
                .skip_final_snapshot(true)
                .delete_automated_backups(true)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| map_err("DeleteDBInstance", e)),
            SnapshotKind::Cluster => self
                .home
                .rds
                .delete_db_cluster()
                .db_cluster_identifier(id)
                .skip_final_snapshot(true)
                .delete_automated_backups(true)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| map_err("DeleteDBCluster", e)),
        }
    }
}

impl AwsStore {
    /// DescribeDBInstances / DescribeDBClusters of one database, and what `instance_extra` or
    /// `cluster_extra` reads of it besides. Generic, so that the binaries that read nothing more
    /// (`()`: all but validate-drill, which reads the login) carry none of that code.
    async fn describe<A, I, C>(
        &self,
        kind: SnapshotKind,
        id: &str,
        instance_extra: I,
        cluster_extra: C,
    ) -> StoreResult<Option<(DbState, A)>>
    where
        I: Fn(&aws_sdk_rds::types::DbInstance) -> A + Send,
        C: Fn(&aws_sdk_rds::types::DbCluster) -> A + Send,
    {
        let found = match kind {
            SnapshotKind::Instance => self
                .home
                .rds_read
                .describe_db_instances()
                .db_instance_identifier(id)
                .send()
                .await
                .map_err(|e| map_err("DescribeDBInstances", e))
                .map(|out| {
                    out.db_instances().first().map(|d| {
                        let db = DbState {
                            kind,
                            id: d.db_instance_identifier().unwrap_or_default().to_string(),
                            arn: d.db_instance_arn().unwrap_or_default().to_string(),
                            status: d.db_instance_status().unwrap_or_default().to_string(),
                            tags: tags(d.tag_list()),
                            members: vec![],
                        };
                        (db, instance_extra(d))
                    })
                }),
            SnapshotKind::Cluster => self
                .home
                .rds_read
                .describe_db_clusters()
                .db_cluster_identifier(id)
                .send()
                .await
                .map_err(|e| map_err("DescribeDBClusters", e))
                .map(|out| {
                    out.db_clusters().first().map(|d| {
                        let db = DbState {
                            kind,
                            id: d.db_cluster_identifier().unwrap_or_default().to_string(),
                            arn: d.db_cluster_arn().unwrap_or_default().to_string(),
                            status: d.status().unwrap_or_default().to_string(),
                            tags: tags(d.tag_list()),
                            members: d
                                .db_cluster_members()
                                .iter()
                                .filter_map(|m| m.db_instance_identifier().map(str::to_string))
                                .collect(),
                        };
                        (db, cluster_extra(d))
                    })
                }),
        };
        match found {
            Err(e) if e.kind == StoreErrorKind::NotFound => Ok(None),
            other => other,
        }
    }
}

#[async_trait]
impl MasterPasswords for AwsStore {
    async fn describe_db_login(
        &self,
        kind: SnapshotKind,
        id: &str,
    ) -> StoreResult<Option<(DbState, DbAccess)>> {
        fn secret(s: &aws_sdk_rds::types::MasterUserSecret) -> Option<(String, String)> {
            Some((
                s.secret_arn()?.to_string(),
                s.secret_status().unwrap_or_default().to_string(),
            ))
        }
        self.describe(
            kind,
            id,
            |d| DbAccess {
                endpoint: d
                    .endpoint()
                    .and_then(|e| Some((e.address()?.to_string(), u16::try_from(e.port()?).ok()?))),
                master_username: d.master_username().map(str::to_string),
                master_secret: d.master_user_secret().and_then(secret),
            },
            // a cluster's endpoint is its writer's address, its port the cluster's
            |d| DbAccess {
                endpoint: d
                    .endpoint()
                    .and_then(|a| Some((a.to_string(), u16::try_from(d.port()?).ok()?))),
                master_username: d.master_username().map(str::to_string),
                master_secret: d.master_user_secret().and_then(secret),
            },
        )
        .await
    }

    /// ModifyDBInstance / ModifyDBCluster API reference: `ManageMasterUserPassword` turns on
    /// RDS's management of the master password (RDS generates it and keeps it in a secret,
    /// encrypted with the account's `aws/secretsmanager` key); `ApplyImmediately`, or it waits
    /// for the maintenance window.
    async fn manage_master_password(&self, kind: SnapshotKind, id: &str) -> StoreResult<()> {
        match kind {
            SnapshotKind::Instance => self
                .home
                .rds
                .modify_db_instance()
                .db_instance_identifier(id)
                .manage_master_user_password(true)
                .apply_immediately(true)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| map_err("ModifyDBInstance", e)),
            SnapshotKind::Cluster => self
                .home
                .rds
                .modify_db_cluster()
                .db_cluster_identifier(id)
                .manage_master_user_password(true)
                .apply_immediately(true)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| map_err("ModifyDBCluster", e)),
        }
    }
}
