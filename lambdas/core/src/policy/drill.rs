//! Restore drills: which copies a drill restores, as what, and how to read the restored
//! database's status. Pure; the `select-drills`, `restore-drill`, `check-drill` and `end-drill`
//! handlers do the I/O.

use crate::model::SnapshotKind;
use crate::policy::naming;
use crate::policy::restore::{pick_copy, Grouped};
use crate::policy::tags::RESTORE_TESTED;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::policy::naming::{drill_db_id, DRILL_PREFIX};

/// How many sources one drill run restores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DrillScope {
    /// The source whose last drill is oldest (never drilled first): every source in turn,
    /// one a run.
    One,
    /// Every source, one after the other.
    All,
}

/// One restore a drill makes: the copy, and the database it becomes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DrillItem {
    pub kind: SnapshotKind,
    pub source_account: String,
    pub source_id: String,
    pub copy_id: String,
    pub copy_arn: String,
    pub data_time: DateTime<Utc>,
    pub engine: String,
    #[serde(default)]
    pub engine_version: Option<String>,
    /// The restored instance's or cluster's identifier.
    pub db_id: String,
    /// A cluster's one DB instance; `None` for an instance.
    #[serde(default)]
    pub member_id: Option<String>,
    pub instance_class: String,
    #[serde(default)]
    pub last_drill: Option<String>,
}

/// The smallest class a drill restores an engine's snapshot as: the drill proves the data
/// restores, not that it serves load. `None` for an engine without a known class (the
/// deployment's `instanceClass` then decides).
pub fn smallest_class(kind: SnapshotKind, engine: &str) -> Option<&'static str> {
    match (kind, engine) {
        (SnapshotKind::Cluster, "aurora-postgresql" | "aurora-mysql") => Some("db.t4g.medium"),
        (SnapshotKind::Instance, "postgres" | "mysql" | "mariadb") => Some("db.t4g.micro"),
        (SnapshotKind::Instance, e) if e.starts_with("oracle-se2") => Some("db.t3.small"),
        (SnapshotKind::Instance, "sqlserver-ex" | "sqlserver-web") => Some("db.t3.small"),
        (SnapshotKind::Instance, "sqlserver-se" | "sqlserver-ee") => Some("db.t3.xlarge"),
        _ => None,
    }
}

/// What a run drills: per source the newest verified copy; with [`DrillScope::One`] only the
/// source drilled least recently. Sources without a verified copy are listed by name in the
/// second value. An account with nothing to drill is an error naming why.
pub fn pick_drills(
    grouped: &Grouped<'_>,
    scope: DrillScope,
    class_override: Option<&str>,
    run: DateTime<Utc>,
) -> std::result::Result<(Vec<DrillItem>, Vec<String>), String> {
    let mut items = Vec::new();
    let mut skipped = Vec::new();
    for ((account, source_id, kind), copies) in &grouped.sources {
        let name = format!("{account}:{source_id}");
        let Ok((copy, data_time)) = pick_copy(copies, None) else {
            skipped.push(format!("{name}: no verified copy"));
            continue;
        };
        let Some(class) = class_override.or_else(|| smallest_class(*kind, &copy.engine)) else {
            skipped.push(format!(
                "{name}: no drill class known for engine {}; set restoreDrill.instanceClass",
                copy.engine
            ));
            continue;
        };
        let db_id = drill_db_id(source_id, run).map_err(|e| e.message)?;
        items.push(DrillItem {
            kind: *kind,
            source_account: account.clone(),
            source_id: source_id.clone(),
            copy_id: copy.id.clone(),
            copy_arn: copy.arn.clone(),
            data_time,
            engine: copy.engine.clone(),
            engine_version: copy.engine_version.clone(),
            member_id: (*kind == SnapshotKind::Cluster).then(|| naming::cluster_member_id(&db_id)),
            db_id,
            instance_class: class.to_string(),
            last_drill: copies
                .iter()
                .filter_map(|s| s.tags.get(RESTORE_TESTED))
                .max()
                .cloned(),
        });
    }
    if items.is_empty() {
        return Err(if skipped.is_empty() {
            "no rds-failsafe copies in this account and region: nothing to drill".into()
        } else {
            format!("nothing to drill: {}", skipped.join("; "))
        });
    }
    if scope == DrillScope::One {
        // never drilled first, then the oldest drill; ties by account and source
        let pick = items
            .iter()
            .min_by(|a, b| {
                (
                    a.last_drill.is_some(),
                    &a.last_drill,
                    &a.source_account,
                    &a.source_id,
                )
                    .cmp(&(
                        b.last_drill.is_some(),
                        &b.last_drill,
                        &b.source_account,
                        &b.source_id,
                    ))
            })
            .cloned()
            .expect("not empty");
        items = vec![pick];
    }
    Ok((items, skipped))
}

/// Where a restore stands, read off the DB instance's or cluster's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RestoreProgress {
    Available,
    Waiting,
    /// A status RDS does not leave on its own: the restore failed.
    Failed,
}

/// Statuses a restored database does not recover from (RDS User Guide, "Viewing Amazon RDS DB
/// instance status"; Aurora User Guide, "Viewing DB cluster status"). `insufficient-capacity`:
/// RDS asks to delete the instance and try again hours later.
pub const FAILED_STATUSES: &[&str] = &[
    "cloning-failed",
    "failed",
    "incompatible-network",
    "incompatible-option-group",
    "incompatible-parameters",
    "incompatible-restore",
    "inaccessible-encryption-credentials",
    "inaccessible-encryption-credentials-recoverable",
    "insufficient-capacity",
    "migration-failed",
    "restore-error",
    "storage-full",
];

pub fn restore_progress(status: &str) -> RestoreProgress {
    match status {
        "available" => RestoreProgress::Available,
        s if FAILED_STATUSES.contains(&s) => RestoreProgress::Failed,
        _ => RestoreProgress::Waiting,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Snapshot;
    use crate::policy::restore::group_by_source;
    use crate::policy::tags::parse_time;

    fn t(s: &str) -> DateTime<Utc> {
        parse_time(s).unwrap()
    }

    /// A verified Failsafe copy of `source` (data of 03:00 on 2026-11-20) on `engine`, last
    /// drilled at `drilled`.
    fn copy(source: &str, kind: SnapshotKind, engine: &str, drilled: Option<&str>) -> Snapshot {
        let mut s = crate::policy::restore::tests::copy(
            source,
            kind,
            "2026-11-20T03:00:00Z",
            "available",
            true,
        );
        s.engine = engine.into();
        if let Some(d) = drilled {
            s.tags.insert(RESTORE_TESTED.into(), d.into());
        }
        s
    }

    #[test]
    fn one_a_run_drills_the_source_never_drilled_then_the_least_recently_drilled() {
        let run = t("2026-11-22T06:00:00Z");
        let copies = [
            copy(
                "billing",
                SnapshotKind::Instance,
                "postgres",
                Some("2026-11-15T06:00:00Z"),
            ),
            copy(
                "orders",
                SnapshotKind::Instance,
                "mysql",
                Some("2026-11-08T06:00:00Z"),
            ),
            copy("ledger", SnapshotKind::Cluster, "aurora-postgresql", None),
        ];
        let g = group_by_source(&copies);
        let (one, skipped) = pick_drills(&g, DrillScope::One, None, run).unwrap();
        assert!(skipped.is_empty());
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].source_id, "ledger");
        assert_eq!(one[0].db_id, "rdsf-drill-ledger-202611220600");
        assert_eq!(
            one[0].member_id.as_deref(),
            Some("rdsf-drill-ledger-202611220600-1")
        );
        assert_eq!(one[0].instance_class, "db.t4g.medium");
        let g = group_by_source(&copies[..2]);
        assert_eq!(
            pick_drills(&g, DrillScope::One, None, run).unwrap().0[0].source_id,
            "orders"
        );
        let (all, _) = pick_drills(&group_by_source(&copies), DrillScope::All, None, run).unwrap();
        assert_eq!(
            all.iter().map(|i| i.source_id.as_str()).collect::<Vec<_>>(),
            ["billing", "ledger", "orders"]
        );
        assert_eq!(all[0].instance_class, "db.t4g.micro");
        assert_eq!(all[0].member_id, None);
    }

    #[test]
    fn an_engine_without_a_known_class_is_skipped_unless_the_deployment_names_one() {
        let run = t("2026-11-22T06:00:00Z");
        let copies = [copy("legacy", SnapshotKind::Instance, "db2-se", None)];
        let e = pick_drills(&group_by_source(&copies), DrillScope::All, None, run).unwrap_err();
        assert!(
            e.contains("no drill class known for engine db2-se; set restoreDrill.instanceClass"),
            "{e}"
        );
        let (items, _) = pick_drills(
            &group_by_source(&copies),
            DrillScope::All,
            Some("db.m6i.large"),
            run,
        )
        .unwrap();
        assert_eq!(items[0].instance_class, "db.m6i.large");
        let none: [Snapshot; 0] = [];
        assert!(
            pick_drills(&group_by_source(&none), DrillScope::One, None, run)
                .unwrap_err()
                .contains("nothing to drill")
        );
    }

    #[test]
    fn drill_names_fit_63_characters_and_start_with_the_prefix() {
        let run = t("2026-11-22T06:00:00Z");
        let id = drill_db_id(&"a".repeat(63), run).unwrap();
        assert!(
            id.len() <= 63 && id.starts_with(DRILL_PREFIX) && naming::is_valid_db_id(&id),
            "{id}"
        );
        assert!(naming::is_valid_db_id(&naming::cluster_member_id(&id)));
        assert_ne!(
            id,
            drill_db_id(&format!("{}b", "a".repeat(62)), run).unwrap()
        );
    }

    #[test]
    fn statuses_a_restore_cannot_leave_are_failures() {
        assert_eq!(restore_progress("available"), RestoreProgress::Available);
        assert_eq!(restore_progress("creating"), RestoreProgress::Waiting);
        assert_eq!(restore_progress("backing-up"), RestoreProgress::Waiting);
        assert_eq!(
            restore_progress("incompatible-restore"),
            RestoreProgress::Failed
        );
        assert_eq!(
            restore_progress("inaccessible-encryption-credentials"),
            RestoreProgress::Failed
        );
    }
}
