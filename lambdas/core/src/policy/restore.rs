//! How a copy is restored: the calls (`RestoreDBInstanceFromDBSnapshot`,
//! `RestoreDBClusterFromSnapshot` and a cluster's first `CreateDBInstance`), the same as AWS CLI
//! commands, and what the restored database will not have. Pure: `rdsf restore`
//! ([`crate::operator`]) makes the calls.

use crate::model::{Snapshot, SnapshotKind, Tags};
use crate::policy::naming;
use crate::policy::shell::{cluster_instance_command, restore_command};
use crate::port::{ClusterInstanceRequest, RestoreRequest};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Tag on a database `rdsf restore` made: the ARN of the copy it was restored from.
pub use crate::contract::tag::RESTORED_FROM;

/// What the operator may choose about the restored database; the rest comes from the copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreOptions {
    /// The new instance's or cluster's identifier; default `<source-id>-restored-<stamp>`.
    pub name: Option<String>,
    /// Instance class: optional for an instance (RDS uses the original's), required for a
    /// cluster (its first DB instance).
    pub instance_class: Option<String>,
    pub subnet_group: Option<String>,
    pub security_groups: Vec<String>,
}

/// The calls that restore a copy, and the same as AWS CLI commands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestorePlan {
    pub restore: RestoreRequest,
    /// A restored Aurora cluster has no DB instance: this creates its first.
    pub cluster_instance: Option<ClusterInstanceRequest>,
    pub commands: Vec<String>,
    /// What the restored database will not have that the source had (`restore_notes`).
    pub notes: Vec<String>,
}

/// What a restore in the Failsafe account does not bring back: option groups, parameter groups
/// and security groups belong to an account and region, so the source's stay in the Live
/// account, and a restore that names none gets this account's defaults (RDS API reference,
/// `RestoreDBInstanceFromDBSnapshot`: "the default security group and DB parameter group").
pub fn restore_notes(copy: &Snapshot, opts: &RestoreOptions) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(group) = copy
        .option_group_name
        .as_deref()
        .filter(|g| !g.is_empty() && !g.starts_with("default:"))
    {
        notes.push(format!(
            "the source used option group {group}, which is the Live account's: this restore gets this account's default option group for {}. If the database needs its options (e.g. native backup, TDE, timezone), create an equivalent option group here and add --option-group-name to the command",
            copy.engine
        ));
    }
    notes.push(
        "the restore gets this account's default DB parameter group: apply the source's parameter settings (--db-parameter-group-name) before the application relies on them".into(),
    );
    if opts.security_groups.is_empty() {
        notes.push(
            "no --security-group given: the restore gets the VPC's default security group; give the security groups the application connects through".into(),
        );
    }
    notes
}

/// The restore of `copy` (of `source_id`, data taken at `data_time`) in `region`.
pub fn plan_restore(
    copy: &Snapshot,
    source_id: &str,
    data_time: DateTime<Utc>,
    region: &str,
    opts: &RestoreOptions,
) -> Result<RestorePlan, String> {
    let target_id = match &opts.name {
        Some(n) if naming::is_valid_db_id(n) => n.clone(),
        Some(n) => {
            return Err(format!(
                "--name {n:?} is not a valid DB identifier: 1-63 letters, digits and single hyphens, a letter first, no hyphen last"
            ))
        }
        None => naming::restored_db_id(source_id, data_time).map_err(|e| e.message)?,
    };
    if copy.kind == SnapshotKind::Cluster && opts.instance_class.is_none() {
        return Err(format!(
            "{source_id} is an Aurora cluster: a restored cluster needs a first DB instance, so give --instance-class (e.g. db.r6g.large; the class must support engine {})",
            copy.engine
        ));
    }
    let tags: Tags = [(RESTORED_FROM.to_string(), copy.arn.clone())].into();
    let restore = RestoreRequest {
        kind: copy.kind,
        target_id: target_id.clone(),
        snapshot_id: copy.id.clone(),
        engine: copy.engine.clone(),
        engine_version: copy.engine_version.clone(),
        instance_class: match copy.kind {
            SnapshotKind::Instance => opts.instance_class.clone(),
            SnapshotKind::Cluster => None,
        },
        subnet_group: opts.subnet_group.clone(),
        security_groups: opts.security_groups.clone(),
        tags,
    };
    let cluster_instance = match copy.kind {
        SnapshotKind::Instance => None,
        SnapshotKind::Cluster => Some(ClusterInstanceRequest {
            cluster_id: target_id.clone(),
            instance_id: naming::cluster_member_id(&target_id),
            engine: copy.engine.clone(),
            instance_class: opts.instance_class.clone().unwrap_or_default(),
            tags: restore.tags.clone(),
        }),
    };
    let mut commands = vec![restore_command(&restore, region)];
    if let Some(ci) = &cluster_instance {
        commands.push(cluster_instance_command(ci, region));
    }
    Ok(RestorePlan {
        restore,
        cluster_instance,
        commands,
        notes: restore_notes(copy, opts),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::status::tests::{copy, t};

    #[test]
    fn an_instance_restore_is_one_call_with_the_copy_and_no_public_access() {
        let c = copy(
            "orders",
            SnapshotKind::Instance,
            "2026-11-20T03:00:00Z",
            "available",
            true,
        );
        let opts = RestoreOptions {
            subnet_group: Some("private".into()),
            security_groups: vec!["sg-1".into(), "sg-2".into()],
            ..Default::default()
        };
        let p = plan_restore(&c, "orders", t("2026-11-20T03:00:00Z"), "eu-west-1", &opts).unwrap();
        assert_eq!(p.restore.target_id, "orders-restored-202611200300");
        assert_eq!(p.restore.snapshot_id, c.id);
        assert_eq!(p.cluster_instance, None);
        assert_eq!(
            p.commands,
            [format!(
                "aws rds restore-db-instance-from-db-snapshot --region eu-west-1 \
                 --db-instance-identifier orders-restored-202611200300 --db-snapshot-identifier {} \
                 --db-subnet-group-name private --no-publicly-accessible \
                 --vpc-security-group-ids sg-1 sg-2 --tags Key=rds-failsafe:restored-from,Value={}",
                c.id, c.arn
            )]
        );
    }

    #[test]
    fn a_cluster_restore_needs_an_instance_class_and_creates_the_first_instance() {
        let mut c = copy(
            "ledger",
            SnapshotKind::Cluster,
            "2026-11-20T03:00:00Z",
            "available",
            true,
        );
        c.engine = "aurora-postgresql".into();
        c.engine_version = Some("16.4".into());
        let e = plan_restore(
            &c,
            "ledger",
            t("2026-11-20T03:00:00Z"),
            "eu-west-1",
            &RestoreOptions::default(),
        )
        .unwrap_err();
        assert!(e.contains("--instance-class"), "{e}");
        let opts = RestoreOptions {
            instance_class: Some("db.r6g.large".into()),
            name: Some("ledger-drill".into()),
            ..Default::default()
        };
        let p = plan_restore(&c, "ledger", t("2026-11-20T03:00:00Z"), "eu-west-1", &opts).unwrap();
        assert_eq!(p.restore.instance_class, None);
        let ci = p.cluster_instance.as_ref().unwrap();
        assert_eq!(
            (ci.cluster_id.as_str(), ci.instance_id.as_str()),
            ("ledger-drill", "ledger-drill-1")
        );
        assert!(p.commands[0].starts_with(
            "aws rds restore-db-cluster-from-snapshot --region eu-west-1 --db-cluster-identifier ledger-drill \
             --snapshot-identifier rdsf-111111111111-ledger-202611200300 --engine aurora-postgresql --engine-version 16.4 --tags"
        ), "{}", p.commands[0]);
        assert!(p.commands[1].contains("create-db-instance --region eu-west-1 --db-instance-identifier ledger-drill-1 --db-cluster-identifier ledger-drill --engine aurora-postgresql --db-instance-class db.r6g.large --no-publicly-accessible"), "{}", p.commands[1]);
        let bad = RestoreOptions {
            name: Some("1bad--name".into()),
            ..opts
        };
        assert!(
            plan_restore(&c, "ledger", t("2026-11-20T03:00:00Z"), "eu-west-1", &bad)
                .unwrap_err()
                .contains("--name")
        );
    }

    #[test]
    fn a_restore_says_what_the_source_had_that_it_will_not() {
        let mut c = copy(
            "orders",
            SnapshotKind::Instance,
            "2026-11-20T03:00:00Z",
            "available",
            true,
        );
        c.engine = "sqlserver-se".into();
        c.option_group_name = Some("orders-native-backup".into());
        let opts = RestoreOptions::default();
        let plan =
            plan_restore(&c, "orders", t("2026-11-20T03:00:00Z"), "eu-west-1", &opts).unwrap();
        assert_eq!(plan.notes.len(), 3, "{:?}", plan.notes);
        assert!(
            plan.notes[0]
                .contains("option group orders-native-backup, which is the Live account's")
                && plan.notes[0].contains("--option-group-name"),
            "{}",
            plan.notes[0]
        );
        assert!(plan.notes[1].contains("default DB parameter group"));
        assert!(plan.notes[2].contains("default security group"));
        // a default option group, and security groups given: only the parameter group remains
        c.option_group_name = Some("default:sqlserver-se-15-00".into());
        let opts = RestoreOptions {
            security_groups: vec!["sg-0123".into()],
            ..opts
        };
        let notes = restore_notes(&c, &opts);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("parameter group"));
    }
}
