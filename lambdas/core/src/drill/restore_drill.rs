//! The handler of `restore-drill`: restores the copy into `rdsf-drill-…` (a cluster with one DB
//! instance), tagged `rds-failsafe:drill=true` and with the copy it came from.

use super::db_progress;
use crate::config::DrillConfig;
use crate::error::{ErrorKind, FailsafeError, Result};
use crate::model::SnapshotKind;
use crate::policy::drill::{DrillItem, RestoreProgress};
use crate::policy::restore::RESTORED_FROM;
use crate::policy::tags::{is_drill, DRILL};
use crate::port::{ClusterInstanceRequest, Databases, RestoreRequest, Restores, StoreErrorKind};
use crate::wire::{RestoreDrillInput, RestoreDrillOutput};
use tracing::info;

/// The restore request of a drill item, in the drill's subnet group and security groups.
pub fn drill_restore_request(cfg: &DrillConfig, item: &DrillItem) -> RestoreRequest {
    RestoreRequest {
        kind: item.kind,
        target_id: item.db_id.clone(),
        snapshot_id: item.copy_id.clone(),
        engine: item.engine.clone(),
        engine_version: match item.kind {
            SnapshotKind::Cluster => item.engine_version.clone(),
            SnapshotKind::Instance => None,
        },
        instance_class: match item.kind {
            SnapshotKind::Instance => Some(item.instance_class.clone()),
            SnapshotKind::Cluster => None,
        },
        subnet_group: Some(cfg.subnet_group.clone()),
        security_groups: cfg.security_groups.clone(),
        tags: [
            (DRILL.to_string(), "true".to_string()),
            (RESTORED_FROM.to_string(), item.copy_arn.clone()),
        ]
        .into(),
    }
}

/// A database of that name that a drill made (tagged) is this run's earlier attempt; any other is
/// not the drill's to use, and the drill stops rather than touch it.
async fn ours<S: Databases>(store: &S, kind: SnapshotKind, id: &str) -> Result<()> {
    let db = store.describe_db(kind, id).await?;
    match db {
        Some(d) if is_drill(&d.tags) => Ok(()),
        _ => Err(FailsafeError::new(
            ErrorKind::InvalidInput,
            format!("{kind} {id} exists and was not made by a restore drill (no {DRILL}=true tag); rename or delete it"),
        )),
    }
}

pub async fn restore_drill<S: Databases + Restores>(
    cfg: &DrillConfig,
    store: &S,
    input: RestoreDrillInput,
) -> Result<RestoreDrillOutput> {
    let item = &input.item;
    let request = drill_restore_request(cfg, item);
    let started = match store.restore_snapshot(&request).await {
        Ok(arn) => {
            info!(action = "restore-drill", copy = %item.copy_id, db = %arn, "restore started");
            true
        }
        Err(e) if e.kind == StoreErrorKind::AlreadyExists => {
            ours(store, item.kind, &item.db_id).await?;
            false
        }
        Err(e) => return Err(e.into()),
    };
    let mut instance_pending = false;
    if let Some(member) = &item.member_id {
        // RestoreDBClusterFromSnapshot API reference: DB instances can be created only once the
        // restore has completed and the cluster is available. Until then the instance is left
        // pending: check-drill looks at the cluster in the restore's Wait loop (its time counts
        // as the restore's) and the machine calls this task again once it is available.
        let (progress, status) = db_progress(store, SnapshotKind::Cluster, &item.db_id)
            .await?
            .ok_or_else(|| {
                FailsafeError::new(
                    ErrorKind::RestoreFailed,
                    format!("cluster {} is gone right after its restore", item.db_id),
                )
            })?;
        match progress {
            RestoreProgress::Available => {
                let request = ClusterInstanceRequest {
                    cluster_id: item.db_id.clone(),
                    instance_id: member.clone(),
                    engine: item.engine.clone(),
                    instance_class: item.instance_class.clone(),
                    tags: request.tags.clone(),
                };
                match store.create_cluster_instance(&request).await {
                    Ok(_) => {
                        info!(action = "restore-drill", db = %item.db_id, instance = %member, "cluster instance added")
                    }
                    Err(e) if e.kind == StoreErrorKind::AlreadyExists => {
                        ours(store, SnapshotKind::Instance, member).await?
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            RestoreProgress::Failed => {
                return Err(FailsafeError::new(
                    ErrorKind::RestoreFailed,
                    format!(
                        "the restore of {} into cluster {} ended in status {}",
                        item.copy_id, item.db_id, status
                    ),
                ))
            }
            RestoreProgress::Waiting => {
                info!(action = "restore-drill", db = %item.db_id, status = %status, "cluster not available yet: its instance is added later");
                instance_pending = true;
            }
        }
    }
    Ok(RestoreDrillOutput {
        db_id: item.db_id.clone(),
        started,
        instance_pending,
    })
}
