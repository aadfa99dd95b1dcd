//! Restore drills: which copies a drill restores, as what, and how to read the restored
//! database's status. Pure; the `select-drills`, `restore-drill`, `check-drill` and `end-drill`
//! handlers do the I/O.

use crate::model::{OrderableClass, SnapshotKind};
use crate::policy::naming;
use crate::policy::polling::{next_wait_seconds, Look};
use crate::policy::status::{pick_copy, Grouped};
use crate::policy::tags::RESTORE_TESTED;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

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

/// The restore time each source's drill is held to (`restoreDrill.rtoMinutes`): by
/// `<live-account>:<source-id>`, then `<source-id>`, then `*` (every other source). A source
/// without a target is drilled without one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RtoTargets(pub BTreeMap<String, u32>);

/// The longest target a drill may be given, in minutes (three days: past the drill machine's
/// own restore wait, a target says nothing).
pub const RTO_MAX_MINUTES: u32 = 4320;

impl RtoTargets {
    /// From `DRILL_RTO_MINUTES`' JSON; every key a source name or `*`, every value 1 to
    /// `RTO_MAX_MINUTES`.
    pub fn parse(json: &str) -> Result<RtoTargets, String> {
        let map: BTreeMap<String, serde_json::Value> = serde_json::from_str(json)
            .map_err(|e| format!("is not a JSON object of minutes by source: {e}"))?;
        let mut out = BTreeMap::new();
        for (source, v) in map {
            if !(source == "*" || is_source_name(&source)) {
                return Err(format!(
                    "key {source:?} must be a source as <source-id> or <live-account>:<source-id> (lower case), or *"
                ));
            }
            let minutes = v
                .as_u64()
                .filter(|m| (1..=u64::from(RTO_MAX_MINUTES)).contains(m))
                .ok_or_else(|| {
                    format!("{source}: {v} must be whole minutes from 1 to {RTO_MAX_MINUTES}")
                })?;
            out.insert(source, minutes as u32);
        }
        Ok(RtoTargets(out))
    }

    /// The target of one source, the most specific that names it.
    pub fn for_source(&self, account: &str, id: &str) -> Option<u32> {
        self.0
            .get(&format!("{account}:{id}"))
            .or_else(|| self.0.get(id))
            .or_else(|| self.0.get("*"))
            .copied()
    }
}

/// A source as the drill settings name it (`rtoMinutes`, `checks`): `<source-id>` or
/// `<live-account>:<source-id>`, lower case.
pub fn is_source_name(s: &str) -> bool {
    let (account, id) = s.split_once(':').unwrap_or(("000000000000", s));
    account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The longest wait between two looks at a drill's restoring database. RDS reports no progress
/// for a restore, so the waits double from `pollSeconds` (`polling::next_wait_seconds`), and the
/// look that finds the database available can come as late as the last wait: the restore time,
/// and its verdict against `rtoMinutes`, are known to within this many seconds. Five minutes is
/// 48 looks in the default four hours (`maxWaitSeconds`); unbounded doubling put a restore that
/// took 16 minutes at 32.
pub const RESTORE_LOOK_MAX_SECONDS: u64 = 300;

/// The wait before the next look at a drill's restoring database: doubling from `poll`, at most
/// [`RESTORE_LOOK_MAX_SECONDS`] (or `poll`, if that is longer), the last one ending at `max_wait`.
pub fn restore_wait_seconds(elapsed: u64, previous: Option<u64>, poll: u64, max_wait: u64) -> u64 {
    let look = |elapsed| Look {
        elapsed,
        percent: None,
    };
    next_wait_seconds(look(elapsed), previous.map(look), poll, max_wait)
        .min(RESTORE_LOOK_MAX_SECONDS.max(poll))
}

/// How far a drill's restore got, as the drill machine's clock (`$.wait`, from `check-drill`)
/// last saw it: whether the database became available, and the seconds since the restore began.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreClock {
    #[serde(default)]
    pub available: bool,
    #[serde(default)]
    pub elapsed_seconds: u64,
}

impl RestoreClock {
    /// The restore time: seconds to available, when the restore finished (whatever the checks
    /// found afterwards).
    pub fn restore_seconds(&self) -> Option<u64> {
        self.available.then_some(self.elapsed_seconds)
    }

    /// The restore time against the source's target: `Some(true)` when the restore finished
    /// later than the target, or had not finished when the target had passed (a restore that
    /// timed out or failed late); `Some(false)` when it finished within the target; `None`
    /// without a target, or when the restore failed before its target came (nothing to judge).
    pub fn rto_breached(&self, target_minutes: Option<u32>) -> Option<bool> {
        let late = self.elapsed_seconds > u64::from(target_minutes?) * 60;
        (late || self.available).then_some(late)
    }
}

/// The evidence of one drill, as `end-drill` appends it to the drills' log group (one JSON line)
/// and `rdsf drills` lists it: what was restored, from when, by whom, how long it took against its
/// target, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DrillRecord {
    /// `<live-account>:<source-id>`.
    pub source: String,
    pub kind: SnapshotKind,
    pub copy_id: String,
    pub copy_arn: String,
    /// When the copy's data was taken.
    pub snapshot_time: DateTime<Utc>,
    pub engine: String,
    #[serde(default)]
    pub engine_version: Option<String>,
    pub instance_class: String,
    /// The database the drill restored (and deleted).
    pub db_id: String,
    /// `passed` or `failed`.
    pub outcome: String,
    /// When the drill run started, and when this drill ended.
    pub started: DateTime<Utc>,
    pub ended: DateTime<Utc>,
    #[serde(default)]
    pub restore_seconds: Option<u64>,
    #[serde(default)]
    pub rto_minutes: Option<u32>,
    #[serde(default)]
    pub rto_breached: Option<bool>,
    /// Seconds the checks took, and the drill's time from its start to its clean-up (restore
    /// and checks; the deletion that follows is not counted).
    #[serde(default)]
    pub validate_seconds: Option<u64>,
    #[serde(default)]
    pub total_seconds: Option<u64>,
    /// Whether queries checked the restored data (`restoreDrill.checks`); false: restore-only.
    pub data_checked: bool,
    /// The database (or schema) the checks ran in, and each check's result.
    #[serde(default)]
    pub database: Option<String>,
    #[serde(default)]
    pub checks: Vec<crate::policy::checks::CheckResult>,
    #[serde(default)]
    pub cause: Option<String>,
    pub deleted: Vec<String>,
    /// What ran it: the drill's execution (`$$.Execution.Id`), else the task.
    pub ran_by: String,
}

/// The log stream a drill's record goes to: the day it ended (UTC), e.g. `2026-11-22`.
pub fn record_stream(ended: DateTime<Utc>) -> String {
    ended.format("%Y-%m-%d").to_string()
}

/// The records of `source` (`<source-id>` or `<live-account>:<source-id>`; all when `None`) among
/// `lines`, newest first. A line that is not a record is skipped and counted: the log group is
/// the drills' own, so one means someone wrote to it.
pub fn records_of(lines: &[String], source: Option<&str>) -> (Vec<DrillRecord>, usize) {
    let mut bad = 0;
    let mut out: Vec<DrillRecord> = lines
        .iter()
        .filter_map(|l| match serde_json::from_str::<DrillRecord>(l) {
            Ok(r) => Some(r),
            Err(_) => {
                bad += 1;
                None
            }
        })
        .filter(|r| {
            source.is_none_or(|s| {
                r.source == s || r.source.split_once(':').is_some_and(|(_, id)| id == s)
            })
        })
        .collect();
    out.sort_by(|a, b| b.ended.cmp(&a.ended).then_with(|| a.source.cmp(&b.source)));
    (out, bad)
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

/// The DB instance classes RDS offers per engine and engine version in the region
/// (`DescribeOrderableDBInstanceOptions`), as `select-drills` asked for them.
pub type Offers = BTreeMap<(String, Option<String>), Vec<OrderableClass>>;

/// The engine and engine version of each source's copy a drill would restore: what
/// `select-drills` asks RDS about.
pub fn drill_engines(grouped: &Grouped<'_>) -> BTreeSet<(String, Option<String>)> {
    grouped
        .sources
        .values()
        .filter_map(|copies| pick_copy(copies, None).ok())
        .map(|(copy, _)| (copy.engine.clone(), copy.engine_version.clone()))
        .collect()
}

/// The class a drill restores a copy as: the smallest RDS offers for its engine version in the
/// region, inside a VPC, with encrypted storage (every Failsafe copy is encrypted) — the drill
/// proves the data restores, not that it serves load. Offers vary by engine, version and
/// region (RDS User Guide and Aurora User Guide, "Supported DB engines for DB instance
/// classes"), so they are asked for, not assumed. `db.serverless` needs a scaling
/// configuration on the cluster: not a drill's. `Err` names what is missing and the fix.
pub fn drill_class(
    engine: &str,
    engine_version: Option<&str>,
    offered: &[OrderableClass],
) -> std::result::Result<String, String> {
    offered
        .iter()
        .filter(|o| o.vpc && o.storage_encryption && o.class != "db.serverless")
        .map(|o| o.class.as_str())
        .min_by_key(|class| class_rank(class))
        .map(str::to_string)
        .ok_or_else(|| {
            let version = engine_version.map(|v| format!(" {v}")).unwrap_or_default();
            format!(
                "RDS offers no DB instance class for {engine}{version} in a VPC with encrypted \
                 storage here (DescribeOrderableDBInstanceOptions); set restoreDrill.instanceClass"
            )
        })
}

/// Smallest first: by size (`micro` < `small` < … < `xlarge` < `2xlarge` …), then burstable
/// (`t`) before general purpose (`m`) before memory optimised (`r`) before the rest, then the
/// newest generation, then the shortest name (Oracle's `.tpc2.mem4x` variants after the base
/// class).
fn class_rank(class: &str) -> (u32, u8, std::cmp::Reverse<u32>, usize, String) {
    let parts: Vec<&str> = class.split('.').collect();
    let family = parts.get(1).copied().unwrap_or_default();
    let size = match parts.get(2).copied().unwrap_or_default() {
        "nano" => 0,
        "micro" => 1,
        "small" => 2,
        "medium" => 3,
        "large" => 4,
        "xlarge" => 5,
        s => s
            .strip_suffix("xlarge")
            .and_then(|n| n.parse::<u32>().ok())
            .map_or(u32::MAX, |n| 5 + n),
    };
    let family_rank = match family.chars().next() {
        Some('t') => 0,
        Some('m') => 1,
        Some('r') => 2,
        _ => 3,
    };
    let generation: u32 = family
        .chars()
        .skip(1)
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(0);
    (
        size,
        family_rank,
        std::cmp::Reverse(generation),
        parts.len(),
        class.to_string(),
    )
}

/// What a run drills: per source the newest verified copy, as the deployment's class or the
/// smallest `offers` has for its engine version ([`drill_class`]); with [`DrillScope::One`]
/// only the source drilled least recently. Sources without a verified copy or a class are
/// listed with the reason in the second value. An account with nothing to drill is an error
/// naming why.
pub fn pick_drills(
    grouped: &Grouped<'_>,
    scope: DrillScope,
    class_override: Option<&str>,
    offers: &Offers,
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
        let class = match class_override {
            Some(class) => class.to_string(),
            None => {
                let key = (copy.engine.clone(), copy.engine_version.clone());
                let offered = offers.get(&key).map(Vec::as_slice).unwrap_or_default();
                match drill_class(&copy.engine, copy.engine_version.as_deref(), offered) {
                    Ok(class) => class,
                    Err(why) => {
                        skipped.push(format!("{name}: {why}"));
                        continue;
                    }
                }
            }
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
            instance_class: class,
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
    use crate::policy::status::group_by_source;
    use crate::policy::tags::parse_time;

    fn t(s: &str) -> DateTime<Utc> {
        parse_time(s).unwrap()
    }

    /// A verified Failsafe copy of `source` (data of 03:00 on 2026-11-20) on `engine`, last
    /// drilled at `drilled`.
    fn copy(source: &str, kind: SnapshotKind, engine: &str, drilled: Option<&str>) -> Snapshot {
        let mut s = crate::policy::status::tests::copy(
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

    fn offer(class: &str) -> OrderableClass {
        OrderableClass {
            class: class.into(),
            vpc: true,
            storage_encryption: true,
        }
    }

    /// What RDS offers the test copies' engines (no engine version on them).
    fn offers() -> Offers {
        let of = |engine: &str, classes: &[&str]| {
            (
                (engine.to_string(), None),
                classes.iter().map(|c| offer(c)).collect::<Vec<_>>(),
            )
        };
        Offers::from([
            of(
                "postgres",
                &[
                    "db.m6g.large",
                    "db.t4g.micro",
                    "db.t3.micro",
                    "db.r6g.large",
                ],
            ),
            of("mysql", &["db.t3.small", "db.t4g.small", "db.m5.large"]),
            of(
                "aurora-postgresql",
                &[
                    "db.r6g.large",
                    "db.serverless",
                    "db.t4g.medium",
                    "db.t3.medium",
                ],
            ),
        ])
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
        let (one, skipped) = pick_drills(&g, DrillScope::One, None, &offers(), run).unwrap();
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
            pick_drills(&g, DrillScope::One, None, &offers(), run)
                .unwrap()
                .0[0]
                .source_id,
            "orders"
        );
        let (all, _) = pick_drills(
            &group_by_source(&copies),
            DrillScope::All,
            None,
            &offers(),
            run,
        )
        .unwrap();
        assert_eq!(
            all.iter().map(|i| i.source_id.as_str()).collect::<Vec<_>>(),
            ["billing", "ledger", "orders"]
        );
        assert_eq!(all[0].instance_class, "db.t4g.micro");
        assert_eq!(all[0].member_id, None);
        assert_eq!(all[2].instance_class, "db.t4g.small");
    }

    #[test]
    fn an_engine_rds_offers_no_class_for_is_skipped_unless_the_deployment_names_one() {
        let run = t("2026-11-22T06:00:00Z");
        let copies = [copy("legacy", SnapshotKind::Instance, "db2-se", None)];
        let e = pick_drills(
            &group_by_source(&copies),
            DrillScope::All,
            None,
            &offers(),
            run,
        )
        .unwrap_err();
        assert!(
            e.contains(
                "RDS offers no DB instance class for db2-se in a VPC with encrypted storage"
            ) && e.contains("set restoreDrill.instanceClass"),
            "{e}"
        );
        let (items, _) = pick_drills(
            &group_by_source(&copies),
            DrillScope::All,
            Some("db.m6i.large"),
            &Offers::new(),
            run,
        )
        .unwrap();
        assert_eq!(items[0].instance_class, "db.m6i.large");
        let none: [Snapshot; 0] = [];
        assert!(pick_drills(
            &group_by_source(&none),
            DrillScope::One,
            None,
            &offers(),
            run
        )
        .unwrap_err()
        .contains("nothing to drill"));
    }

    #[test]
    fn the_drill_class_is_the_smallest_offered_in_a_vpc_with_encrypted_storage() {
        let pick = |classes: &[OrderableClass]| drill_class("postgres", Some("16.4"), classes);
        assert_eq!(
            pick(&[
                offer("db.m5.large"),
                offer("db.t3.small"),
                offer("db.t3.micro")
            ])
            .unwrap(),
            "db.t3.micro"
        );
        // same size: burstable first, then the newest generation
        assert_eq!(
            pick(&[
                offer("db.m6g.large"),
                offer("db.t3.large"),
                offer("db.t4g.large")
            ])
            .unwrap(),
            "db.t4g.large"
        );
        assert_eq!(
            pick(&[
                offer("db.r5.2xlarge"),
                offer("db.r5.xlarge"),
                offer("db.r5.12xlarge")
            ])
            .unwrap(),
            "db.r5.xlarge"
        );
        assert_eq!(
            pick(&[offer("db.r5.large.tpc2.mem4x"), offer("db.r5.large")]).unwrap(),
            "db.r5.large"
        );
        let outside_vpc = OrderableClass {
            vpc: false,
            ..offer("db.t3.micro")
        };
        let unencrypted = OrderableClass {
            storage_encryption: false,
            ..offer("db.t4g.micro")
        };
        assert_eq!(
            pick(&[outside_vpc, unencrypted, offer("db.t3.medium")]).unwrap(),
            "db.t3.medium"
        );
        let e = pick(&[offer("db.serverless")]).unwrap_err();
        assert!(
            e.starts_with("RDS offers no DB instance class for postgres 16.4 in a VPC"),
            "{e}"
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

    #[test]
    fn the_looks_at_a_restore_double_up_to_five_minutes_and_the_last_ends_at_max_wait() {
        let mut looks = vec![0];
        let mut previous = None;
        while *looks.last().unwrap() < 3600 {
            let e = *looks.last().unwrap();
            let wait = restore_wait_seconds(e, previous, 60, 3600);
            previous = Some(e);
            looks.push(e + wait);
        }
        // a restore that took 16 minutes is seen at 18, not at 32
        assert_eq!(&looks[..7], &[0, 60, 120, 240, 480, 780, 1080]);
        assert!(looks
            .windows(2)
            .all(|w| w[1] - w[0] <= RESTORE_LOOK_MAX_SECONDS));
        assert_eq!(*looks.last().unwrap(), 3600);
        // a poll longer than the bound is kept
        assert_eq!(restore_wait_seconds(1200, Some(600), 900, 14400), 900);
    }

    #[test]
    fn a_restore_time_target_is_the_most_specific_that_names_the_source() {
        let t =
            RtoTargets::parse(r#"{"*": 120, "orders": 60, "111111111111:orders": 30}"#).unwrap();
        assert_eq!(t.for_source("111111111111", "orders"), Some(30));
        assert_eq!(t.for_source("333333333333", "orders"), Some(60));
        assert_eq!(t.for_source("111111111111", "ledger"), Some(120));
        assert_eq!(
            RtoTargets::default().for_source("111111111111", "ledger"),
            None
        );
        let clock = |available, elapsed_seconds| RestoreClock {
            available,
            elapsed_seconds,
        };
        // finished: late or in time; the restore time is known
        assert_eq!(clock(true, 1801).rto_breached(Some(30)), Some(true));
        assert_eq!(clock(true, 1800).rto_breached(Some(30)), Some(false));
        assert_eq!(clock(true, 1800).restore_seconds(), Some(1800));
        // not finished: a breach once the target has passed, else nothing to judge
        assert_eq!(clock(false, 1801).rto_breached(Some(30)), Some(true));
        assert_eq!(clock(false, 600).rto_breached(Some(30)), None);
        assert_eq!(clock(false, 1801).restore_seconds(), None);
        // no target
        assert_eq!(clock(true, 5).rto_breached(None), None);
        assert_eq!(RestoreClock::default().rto_breached(Some(30)), None);
        for (bad, says) in [
            (r#"{"orders": 0}"#, "from 1 to 4320"),
            (r#"{"orders": 1.5}"#, "from 1 to 4320"),
            (r#"{"Orders": 5}"#, "lower case"),
            (r#"{"12:orders": 5}"#, "<live-account>:<source-id>"),
            ("[60]", "JSON object"),
        ] {
            let e = RtoTargets::parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn records_are_listed_newest_first_by_source_and_a_foreign_line_is_counted() {
        let record = |source: &str, ended: &str| DrillRecord {
            source: source.into(),
            kind: SnapshotKind::Instance,
            copy_id: "rdsf-x".into(),
            copy_arn: "arn:aws:rds:eu-west-1:222222222222:snapshot:rdsf-x".into(),
            snapshot_time: ended.parse().unwrap(),
            engine: "postgres".into(),
            engine_version: None,
            instance_class: "db.t4g.micro".into(),
            db_id: "rdsf-drill-x".into(),
            outcome: "passed".into(),
            started: ended.parse().unwrap(),
            ended: ended.parse().unwrap(),
            restore_seconds: Some(60),
            rto_minutes: None,
            rto_breached: None,
            validate_seconds: None,
            total_seconds: None,
            data_checked: false,
            database: None,
            checks: vec![],
            cause: None,
            deleted: vec![],
            ran_by: "end-drill".into(),
        };
        let lines: Vec<String> = [
            record("111111111111:orders", "2026-11-01T06:00:00Z"),
            record("111111111111:ledger", "2026-11-08T06:00:00Z"),
            record("111111111111:orders", "2026-11-15T06:00:00Z"),
        ]
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .chain(["not a record".to_string()])
        .collect();
        let (all, foreign) = records_of(&lines, None);
        assert_eq!(foreign, 1);
        assert_eq!(
            all.iter().map(|r| r.ended.to_rfc3339()).collect::<Vec<_>>()[0],
            "2026-11-15T06:00:00+00:00"
        );
        assert_eq!(records_of(&lines, Some("orders")).0.len(), 2);
        assert_eq!(records_of(&lines, Some("111111111111:ledger")).0.len(), 1);
        assert_eq!(records_of(&lines, Some("users")).0.len(), 0);
        assert_eq!(
            record_stream("2026-11-15T23:59:00Z".parse().unwrap()),
            "2026-11-15"
        );
    }
}
