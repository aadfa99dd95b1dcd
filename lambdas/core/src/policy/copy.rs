//! Copy policy: which automated snapshot to copy, whether it can be shared at all, and which
//! key a copy is encrypted with. Pure functions; the handlers apply them.

use crate::model::{KeyInfo, OptionGroup, Snapshot, SnapshotKind, SourceMode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Today's copies in two lanes, each run by a Map of its own: RDS allows at most 5 DB cluster
/// snapshot copies in progress per account and destination region, and 20 DB snapshot copies
/// (docs/aws-facts.md, "RDS"), so the cluster lane runs at most 5 at a time and the instance lane
/// up to `maxConcurrency`. Each lane keeps the order it was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyLanes<T> {
    pub instances: Vec<T>,
    pub clusters: Vec<T>,
}

impl<T> Default for CopyLanes<T> {
    fn default() -> Self {
        CopyLanes {
            instances: Vec::new(),
            clusters: Vec::new(),
        }
    }
}

impl<T> CopyLanes<T> {
    /// Each item into the lane of its kind.
    pub fn by_kind(items: impl IntoIterator<Item = T>, kind: impl Fn(&T) -> SnapshotKind) -> Self {
        let mut lanes = CopyLanes::default();
        for item in items {
            match kind(&item) {
                SnapshotKind::Instance => lanes.instances.push(item),
                SnapshotKind::Cluster => lanes.clusters.push(item),
            }
        }
        lanes
    }
    /// Every item, instances first.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.instances.iter().chain(self.clusters.iter())
    }
    pub fn len(&self) -> usize {
        self.instances.len() + self.clusters.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The newest `available` automated snapshot (by creation time; ties broken by identifier so
/// the choice is deterministic).
pub fn newest_automated(snapshots: &[Snapshot]) -> Option<&Snapshot> {
    snapshots
        .iter()
        .filter(|s| s.is_automated() && s.is_available() && s.create_time.is_some())
        .max_by(|a, b| {
            a.create_time
                .cmp(&b.create_time)
                .then_with(|| a.id.cmp(&b.id))
        })
}

/// Why a snapshot can never be shared with another account, if it cannot.
///
/// RDS refuses to share snapshots of Oracle or SQL Server with Transparent Data Encryption, and
/// snapshots whose option group has a permanent or persistent option (Oracle's `Timezone` and
/// `OLS` excepted).
pub fn not_shareable_reason(engine: &str, option_group: Option<&OptionGroup>) -> Option<String> {
    let group = option_group?;
    let oracle = engine.starts_with("oracle");
    for opt in &group.options {
        if opt.name.to_ascii_uppercase().starts_with("TDE") {
            return Some(format!(
                "option group {:?} has option {} (Transparent Data Encryption); RDS cannot share TDE snapshots",
                group.name, opt.name
            ));
        }
        if oracle && (opt.name == "Timezone" || opt.name == "OLS") {
            continue;
        }
        let flag = match (opt.permanent, opt.persistent) {
            (true, true) => Some("permanent and persistent"),
            (true, false) => Some("permanent"),
            (false, true) => Some("persistent"),
            (false, false) => None,
        };
        if let Some(flag) = flag {
            return Some(format!(
                "option group {:?} has {flag} option {}; RDS cannot share snapshots with permanent or persistent options",
                group.name, opt.name
            ));
        }
    }
    None
}

/// The key a copy is encrypted with, and what the operator should know about the choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyEncryption {
    pub kms_key_id: Option<String>,
    pub note: Option<String>,
}

/// Encrypted sources — whatever their key, the AWS-managed `aws/rds` one included — are always
/// copied with `key`: `aws/rds` snapshots cannot be shared, and a cross-account copy must name
/// a key of its own. Unencrypted DB instance snapshots are encrypted only if `encrypt_unencrypted`;
/// RDS cannot encrypt an unencrypted cluster snapshot by copying it.
pub fn copy_encryption(
    snapshot: &Snapshot,
    key: &str,
    encrypt_unencrypted: bool,
) -> CopyEncryption {
    match (snapshot.encrypted, snapshot.kind, encrypt_unencrypted) {
        (true, _, _) => CopyEncryption {
            kms_key_id: Some(key.to_string()),
            note: None,
        },
        (false, SnapshotKind::Instance, true) => CopyEncryption {
            kms_key_id: Some(key.to_string()),
            note: Some("unencrypted source snapshot; the copy is encrypted".into()),
        },
        (false, SnapshotKind::Instance, false) => CopyEncryption {
            kms_key_id: None,
            note: Some("unencrypted source snapshot; the copy stays unencrypted (ENCRYPT_UNENCRYPTED=false)".into()),
        },
        (false, SnapshotKind::Cluster, _) => CopyEncryption {
            kms_key_id: None,
            note: Some(
                "unencrypted cluster snapshot; RDS cannot encrypt a cluster snapshot by copying it, so the copy stays unencrypted (encrypt the cluster to fix this)"
                    .into(),
            ),
        },
    }
}

/// Whether a copy moves every block of its source or only the blocks written since the copy
/// before it (docs/aws-facts.md, "Copy physics").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CopyMode {
    Full,
    Incremental,
}

impl CopyMode {
    pub const fn as_str(self) -> &'static str {
        match self {
            CopyMode::Full => "full",
            CopyMode::Incremental => "incremental",
        }
    }
}

/// How a copy is expected to move its source, decided as the copy starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpectedCopy {
    pub mode: CopyMode,
    /// Why, in words: the RDS rule that decides it.
    pub reason: String,
    /// What a full copy of a DB instance moves: its snapshot's `AllocatedStorage` (GiB). None
    /// for an incremental copy (RDS reports no snapshot's changed bytes) and for an Aurora copy
    /// (its snapshot reports no size).
    #[serde(rename = "movedGiB")]
    pub moved_gib: Option<i32>,
}

/// Whether `shared` was itself copied from another snapshot: RDS says so for a copy across
/// accounts or Regions and for every cluster snapshot (`copied_from`), and a snapshot's
/// `OriginalSnapshotCreateTime` "Doesn't change when the snapshot is copied" while its
/// `SnapshotCreateTime` "Changes for the copy" (RDS API reference, `DBSnapshot`): a Live share
/// copy has two times minutes to hours apart (the automated snapshot's and the copy's), the
/// snapshot a Live run took of its database (incremental mode) one. The reference does not say
/// the two are equal for a snapshot that is not a copy: times within
/// [`SAME_TIME_TOLERANCE_SECONDS`] count as one (an assumption, docs/aws-facts.md), and a
/// snapshot read wrongly as a copy is only reported full, never copied differently.
pub fn is_a_copy(shared: &Snapshot) -> bool {
    shared.copied_from.is_some()
        || matches!((shared.original_create_time, shared.create_time),
            (Some(o), Some(c)) if (c - o).num_seconds().abs() > SAME_TIME_TOLERANCE_SECONDS)
}

/// How far apart a snapshot's two create times may be and still be one (see [`is_a_copy`]).
pub const SAME_TIME_TOLERANCE_SECONDS: i64 = 60;

/// How RDS makes a copy of `shared` under `key` (`None`: unencrypted), beside `here`, the copies
/// of the same DB instance already in the destination (docs/aws-facts.md, "Copy physics", after
/// the RDS and Aurora User Guides): a cluster snapshot copy is always full; a copy of a snapshot
/// that is itself a copy is full ("the new copy isn't incremental"), which every Failsafe copy of
/// a Live share copy is; otherwise the copy is incremental on the most recent copy of the same
/// instance here if that one is older than `shared` and no copy of the instance here is under
/// another key. Figures for the runs' summaries and metrics (a Live share copy's and a Failsafe
/// copy's): RDS decides, and reports nothing.
pub fn copy_mode(
    shared: &Snapshot,
    here: &[Snapshot],
    key: Option<&str>,
    cross_region: bool,
) -> ExpectedCopy {
    let full = |reason: String| ExpectedCopy {
        mode: CopyMode::Full,
        reason,
        moved_gib: (shared.kind == SnapshotKind::Instance).then_some(shared.allocated_storage),
    };
    if shared.kind == SnapshotKind::Cluster {
        return full("a DB cluster snapshot copy is always full".into());
    }
    if is_a_copy(shared) {
        return full(
            "the shared snapshot is itself a copy (a share copy), and a copy of a copy is always full"
                .into(),
        );
    }
    if cross_region {
        return full(
            "a copy across accounts and Regions, which the RDS User Guide does not promise to be incremental: counted full (the upper bound)"
                .into(),
        );
    }
    let here: Vec<&Snapshot> = here
        .iter()
        .filter(|s| s.status != crate::model::status::FAILED && s.arn != shared.arn)
        .collect();
    let made = |s: &Snapshot| s.create_time.or(s.data_time());
    let Some(last) = here.iter().max_by_key(|s| (made(s), s.id.clone())) else {
        return full("no earlier copy of this DB instance here".into());
    };
    let key_of = |s: &Snapshot| s.encrypted.then(|| s.kms_key_id.clone()).flatten();
    if let Some(other) = here.iter().find(|s| key_of(s).as_deref() != key) {
        return full(format!(
            "copy {} of this DB instance is under another KMS key ({})",
            other.id,
            key_of(other).unwrap_or_else(|| "unencrypted".into())
        ));
    }
    match (last.data_time(), shared.data_time()) {
        (Some(before), Some(now)) if before < now => ExpectedCopy {
            mode: CopyMode::Incremental,
            reason: format!(
                "incremental on {}, the most recent copy of this DB instance here",
                last.id
            ),
            moved_gib: None,
        },
        _ => full(format!(
            "this snapshot is not newer than the most recent copy of this DB instance here ({}): counted full",
            last.id
        )),
    }
}

/// What the Live account shares for a source this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SharePlan {
    /// Take a snapshot of the database and share it as it is: its Failsafe copy can be
    /// incremental (not being a copy itself).
    OwnSnapshot { note: String },
    /// Copy the newest automated snapshot under the share key; `fallback` says why a source
    /// in incremental mode gets one.
    ShareCopy { fallback: Option<String> },
}

/// The plan for a source, from its mode and its newest automated snapshot's encryption (`key`:
/// that snapshot's key as `DescribeKey` reports it, when it is encrypted).
///
/// RDS cannot share a snapshot encrypted with the AWS-managed `aws/rds` key, so such a source
/// keeps the share copy. An unencrypted DB instance with `ENCRYPT_UNENCRYPTED` keeps it too: its
/// share copy is how it is encrypted before it leaves the account.
pub fn share_plan(
    mode: SourceMode,
    snapshot: &Snapshot,
    key: Option<&KeyInfo>,
    encrypt_unencrypted: bool,
) -> SharePlan {
    if mode == SourceMode::ShareCopy {
        return SharePlan::ShareCopy { fallback: None };
    }
    let share_copy = |why: String| {
        SharePlan::ShareCopy {
        fallback: Some(format!(
            "incremental mode: {why}; a share copy is shared instead, so its Failsafe copies are full"
        )),
    }
    };
    if !snapshot.encrypted {
        if encrypt_unencrypted && snapshot.kind == SnapshotKind::Instance {
            return share_copy(
                "the database is unencrypted and ENCRYPT_UNENCRYPTED=true (the share copy encrypts it)".into(),
            );
        }
        return SharePlan::OwnSnapshot {
            note: "incremental mode: own snapshot, shared unencrypted".into(),
        };
    }
    let key_arn = snapshot.kms_key_id.as_deref().unwrap_or("?");
    match key {
        None => share_copy(format!("its key {key_arn} could not be found")),
        Some(k) if k.manager != "CUSTOMER" => share_copy(format!(
            "its key {key_arn} is {}-managed (aws/rds), and RDS cannot share a snapshot under it; move the database to a customer-managed key to make its copies incremental",
            k.manager
        )),
        Some(_) => SharePlan::OwnSnapshot {
            note: format!(
                "incremental mode: own snapshot, shared under the database's key {key_arn}, whose policy must let the Failsafe account(s) use it"
            ),
        },
    }
}

/// The time a copy's data was taken, as recorded by the tool (the `source-create-time` tag),
/// falling back to what RDS reports.
pub fn source_time(snapshot: &Snapshot) -> Option<DateTime<Utc>> {
    snapshot
        .tags
        .get(crate::policy::tags::SOURCE_CREATE_TIME)
        .and_then(|v| crate::policy::tags::parse_time(v))
        .or_else(|| snapshot.data_time())
}

/// How far a snapshot's time may run ahead of the run's start: clock differences between
/// services, never days.
pub const FUTURE_TOLERANCE_MINUTES: i64 = 10;

/// Why a snapshot dated after the run started (its name's stamp or original creation time, beyond
/// [`FUTURE_TOLERANCE_MINUTES`]) cannot be a copy of this run's or an earlier backup. The Live
/// account chooses a share copy's name, and a cluster snapshot has no `OriginalSnapshotCreateTime`:
/// a copy named `…-209912312359` would otherwise take a retention slot for ever and make its
/// source's age negative, so that the dead-man's switch could never fire.
pub fn dated_after_run(times: &[DateTime<Utc>], now: DateTime<Utc>) -> Option<String> {
    let limit = now + chrono::Duration::minutes(FUTURE_TOLERANCE_MINUTES);
    let latest = times.iter().copied().max()?;
    (latest > limit).then(|| {
        format!(
            "dated {} (its name or original creation time), after this run started at {}: not a backup that \
             can exist yet; never saved, counted toward retention or the copy age",
            crate::policy::tags::format_time(latest),
            crate::policy::tags::format_time(now)
        )
    })
}

/// Why an existing snapshot under a share copy's name is not this tool's copy of `automated_arn`
/// (of database `source_id`), if it is not: anyone with access to the account can make a snapshot
/// under tomorrow's name, and a reused copy is shared and saved as that database's backup.
pub fn not_copied_from(
    existing: &Snapshot,
    source_id: &str,
    automated_arn: &str,
) -> Option<String> {
    use crate::policy::tags::{is_managed, SOURCE_SNAPSHOT_ARN};
    if !existing.source_id.is_empty() && existing.source_id != source_id {
        return Some(format!(
            "it holds database {}, not {source_id}",
            existing.source_id
        ));
    }
    if !is_managed(&existing.tags) {
        return Some(
            "it is not tagged rds-failsafe:managed=true (this tool did not make it)".into(),
        );
    }
    match existing.tags.get(SOURCE_SNAPSHOT_ARN) {
        Some(from) if from == automated_arn => None,
        Some(from) => Some(format!(
            "it was copied from {from}, not from {automated_arn}"
        )),
        None => Some("it has no rds-failsafe:source-snapshot-arn tag".into()),
    }
}

/// A copy the tool made that ended `failed`: it can never become usable, and it counts against
/// the manual snapshot quota, so the next run deletes it (the run that saw it fail reported it).
pub fn is_failed_managed_copy(s: &Snapshot) -> bool {
    s.status == crate::model::status::FAILED
        && crate::policy::tags::is_managed(&s.tags)
        && !s.is_automated()
}

/// What `delete-old-copies` does with one source's managed share copies.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LiveDeletions<'a> {
    pub delete: Vec<&'a Snapshot>,
    /// Beyond the newest `keep`, but a Failsafe copy may still be reading them
    /// (`copy_time::share_in_use_seconds`): kept until a later run.
    pub held: Vec<&'a Snapshot>,
}

/// At most how long after its data was taken a share copy of an automated snapshot was made: the
/// daily Live run copies the newest backup, taken at most a day before.
pub const SHARE_COPY_LAG_HOURS: i64 = 24;

/// Which managed share copies of one source to delete: every one that ended `failed`, and the
/// available ones beyond the newest `keep` that no Failsafe copy may still be reading (made less
/// than `share_in_use_seconds` before `now`; those are held). When it was made is read off its
/// data time (the `source-create-time` tag), which a run sets and every account's clock agrees
/// on: a snapshot the run took was made then; a share copy within [`SHARE_COPY_LAG_HOURS`] of
/// its automated snapshot. A copy still being made is left alone.
pub fn live_deletions<'a>(
    copies: &'a [Snapshot],
    keep: usize,
    now: DateTime<Utc>,
    wait: &crate::policy::copy_time::WaitSettings,
) -> LiveDeletions<'a> {
    let in_use = |s: &Snapshot| {
        let size = (s.kind == SnapshotKind::Instance).then_some(s.allocated_storage);
        let seconds = crate::policy::copy_time::share_in_use_seconds(size, wait);
        let window = chrono::Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX / 2));
        // a snapshot the run took names its database as its source; a share copy, a snapshot
        let copied = s
            .tags
            .get(crate::policy::tags::SOURCE_SNAPSHOT_ARN)
            .is_none_or(|a| {
                crate::arn::Arn::parse(a).is_none_or(|a| a.rds_snapshot_id().is_some())
            });
        let lag = chrono::Duration::hours(if copied { SHARE_COPY_LAG_HOURS } else { 0 });
        source_time(s).is_none_or(|data| data + lag + window > now)
    };
    let (held, old): (Vec<&Snapshot>, Vec<&Snapshot>) = live_beyond_keep(copies, keep)
        .into_iter()
        .partition(|s| in_use(s));
    LiveDeletions {
        delete: copies
            .iter()
            .filter(|s| is_failed_managed_copy(s))
            .chain(old)
            .collect(),
        held,
    }
}

/// The available managed share copies beyond the newest `keep`.
fn live_beyond_keep(copies: &[Snapshot], keep: usize) -> Vec<&Snapshot> {
    let mut available: Vec<&Snapshot> = copies
        .iter()
        .filter(|s| {
            s.is_available() && crate::policy::tags::is_managed(&s.tags) && !s.is_automated()
        })
        .collect();
    available.sort_by(|a, b| {
        source_time(b)
            .cmp(&source_time(a))
            .then_with(|| b.id.cmp(&a.id))
    });
    available.into_iter().skip(keep).collect()
}

/// Why a shared snapshot is not a copy of an automated snapshot of its own account, if RDS says
/// so. A share copy is this tool's copy of the source's newest automated snapshot; one copied
/// from anything else — a manual snapshot of a tampered database, a snapshot of another account
/// — must not be saved as that database's backup. RDS names the origin of every copied cluster
/// snapshot, but of an instance snapshot only for cross-account or cross-Region copies (API
/// reference, `DBSnapshot.SourceDBSnapshotIdentifier`), so a share copy of an instance says
/// nothing here; `copy-latest` checks its own copies' origin in the Live account.
pub fn not_from_automated(shared: &Snapshot) -> Option<String> {
    let from = shared.copied_from.as_deref()?;
    let own = crate::arn::Arn::parse(&shared.arn);
    match (crate::arn::Arn::parse(from), own) {
        (Some(origin), Some(own)) => {
            let automated = origin
                .rds_snapshot_id()
                .is_some_and(|id| id.starts_with("rds:"));
            if !automated {
                Some(format!(
                    "it was copied from {from}, which is not an automated snapshot"
                ))
            } else if origin.account != own.account {
                Some(format!(
                    "it was copied from {from}, a snapshot of account {}, not of {}",
                    origin.account, own.account
                ))
            } else {
                None
            }
        }
        _ => Some(format!(
            "it was copied from {from:?}, which is not a snapshot ARN"
        )),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{OptionInfo, Tags};

    #[test]
    fn copy_lanes_split_by_kind_and_keep_the_order() {
        let items = [
            ("a", SnapshotKind::Cluster),
            ("b", SnapshotKind::Instance),
            ("c", SnapshotKind::Cluster),
            ("d", SnapshotKind::Instance),
        ];
        let lanes = CopyLanes::by_kind(items, |i| i.1);
        fn names<'a>(v: &[(&'a str, SnapshotKind)]) -> Vec<&'a str> {
            v.iter().map(|i| i.0).collect()
        }
        assert_eq!(names(&lanes.instances), ["b", "d"]);
        assert_eq!(names(&lanes.clusters), ["a", "c"]);
        assert_eq!(lanes.iter().map(|i| i.0).collect::<String>(), "bdac");
        assert_eq!(lanes.len(), 4);
        assert_eq!(
            serde_json::to_value(CopyLanes::by_kind([1u8], |_| SnapshotKind::Cluster)).unwrap(),
            serde_json::json!({"instances": [], "clusters": [1]})
        );
    }

    #[test]
    fn only_this_tools_copy_of_this_automated_snapshot_is_reused() {
        let auto = "arn:aws:rds:eu-west-1:111111111111:snapshot:rds:orders-2026-11-22-03-00";
        let mut s = snap(
            "rdsf-orders-202611220300",
            SnapshotKind::Instance,
            "manual",
            "available",
            "2026-11-22T03:10:00Z",
        );
        s.source_id = "orders".into();
        s.tags = crate::policy::tags::Provenance {
            source_account: "111111111111".into(),
            source_region: "eu-west-1".into(),
            source_id: "orders".into(),
            source_snapshot_arn: auto.into(),
            source_create_time: crate::policy::tags::parse_time("2026-11-22T03:00:00Z").unwrap(),
            kind: SnapshotKind::Instance,
        }
        .tags();
        assert_eq!(not_copied_from(&s, "orders", auto), None);
        assert!(not_copied_from(
            &s,
            "orders",
            "arn:aws:rds:eu-west-1:111111111111:snapshot:rds:x"
        )
        .unwrap()
        .contains("copied from"));
        let mut other_db = s.clone();
        other_db.source_id = "billing".into();
        assert!(not_copied_from(&other_db, "orders", auto)
            .unwrap()
            .contains("database billing"));
        let mut untagged = s.clone();
        untagged.tags.clear();
        assert!(not_copied_from(&untagged, "orders", auto)
            .unwrap()
            .contains("managed"));
    }

    #[test]
    fn a_snapshot_dated_after_the_run_started_is_named_with_both_times() {
        let t = |v: &str| crate::policy::tags::parse_time(v).unwrap();
        let now = t("2026-11-22T05:30:00Z");
        assert_eq!(dated_after_run(&[t("2026-11-22T03:00:00Z")], now), None);
        // clock differences between services are tolerated
        assert_eq!(dated_after_run(&[t("2026-11-22T05:39:00Z")], now), None);
        let why =
            dated_after_run(&[t("2026-11-22T03:00:00Z"), t("2099-12-31T23:59:00Z")], now).unwrap();
        assert!(
            why.contains("2099-12-31T23:59:00Z") && why.contains("2026-11-22T05:30:00Z"),
            "{why}"
        );
        assert_eq!(dated_after_run(&[], now), None);
    }

    #[test]
    fn not_from_automated_reads_the_origin_rds_reports() {
        let mut s = snap(
            "rdsf-db-202611200300",
            SnapshotKind::Cluster,
            "shared",
            "available",
            "2026-11-20T03:00:00Z",
        );
        s.arn = "arn:aws:rds:eu-west-1:111111111111:cluster-snapshot:rdsf-db-202611200300".into();
        assert_eq!(
            not_from_automated(&s),
            None,
            "no origin reported: nothing to check"
        );
        let from = |f: &str| {
            let mut c = s.clone();
            c.copied_from = Some(f.into());
            not_from_automated(&c)
        };
        assert_eq!(
            from("arn:aws:rds:eu-west-1:111111111111:cluster-snapshot:rds:db-2026-11-20-03-00"),
            None
        );
        let manual = from("arn:aws:rds:eu-west-1:111111111111:cluster-snapshot:tampered").unwrap();
        assert!(manual.contains("not an automated snapshot"), "{manual}");
        let foreign =
            from("arn:aws:rds:eu-west-1:999999999999:cluster-snapshot:rds:db-2026-11-20-03-00")
                .unwrap();
        assert!(
            foreign.contains("of account 999999999999, not of 111111111111"),
            "{foreign}"
        );
        assert!(from("rds:db").unwrap().contains("not a snapshot ARN"));
    }

    pub fn snap(
        id: &str,
        kind: SnapshotKind,
        kind_type: &str,
        status: &str,
        created: &str,
    ) -> Snapshot {
        Snapshot {
            kind,
            id: id.into(),
            arn: format!("arn:aws:rds:eu-west-1:111111111111:snapshot:{id}"),
            source_id: "db".into(),
            snapshot_type: kind_type.into(),
            status: status.into(),
            create_time: Some(crate::policy::tags::parse_time(created).unwrap()),
            original_create_time: None,
            encrypted: false,
            kms_key_id: None,
            engine: "postgres".into(),
            engine_version: None,
            allocated_storage: 20,
            percent_progress: None,
            option_group_name: None,
            copied_from: None,
            tags: Tags::new(),
        }
    }

    #[test]
    fn a_failsafe_copy_is_incremental_only_on_an_older_copy_under_the_same_key() {
        let key = "arn:aws:kms:eu-west-1:222222222222:key/failsafe";
        let at = |t: &str| Some(crate::policy::tags::parse_time(t).unwrap());
        // the snapshot a Live run took (incremental mode): one time
        let mut own = snap(
            "rdsf-db-202611230300",
            SnapshotKind::Instance,
            "shared",
            "available",
            "2026-11-23T03:00:00Z",
        );
        own.original_create_time = own.create_time;
        own.allocated_storage = 2400;
        own.encrypted = true;
        let mut before = snap(
            "rdsf-db-202611220300-x",
            SnapshotKind::Instance,
            "manual",
            "available",
            "2026-11-22T03:40:00Z",
        );
        before.original_create_time = at("2026-11-22T03:00:00Z");
        before.encrypted = true;
        before.kms_key_id = Some(key.into());
        let e = copy_mode(&own, std::slice::from_ref(&before), Some(key), false);
        assert_eq!(e.mode, CopyMode::Incremental, "{e:?}");
        assert!(e.reason.contains("rdsf-db-202611220300-x"));
        assert_eq!(e.moved_gib, None);
        // the first copy here
        let e = copy_mode(&own, &[], Some(key), false);
        assert_eq!((e.mode, e.moved_gib), (CopyMode::Full, Some(2400)));
        assert!(e.reason.contains("no earlier copy"), "{}", e.reason);
        // a failed copy does not count
        let mut failed = before.clone();
        failed.status = "failed".into();
        assert_eq!(
            copy_mode(&own, &[failed], Some(key), false).mode,
            CopyMode::Full
        );
        // a copy here under another key
        let mut other = before.clone();
        other.kms_key_id = Some("arn:aws:kms:eu-west-1:222222222222:key/old".into());
        let e = copy_mode(&own, &[before.clone(), other], Some(key), false);
        assert!(e.reason.contains("another KMS key"), "{}", e.reason);
        // the most recent copy here holds newer data
        let mut newer = before.clone();
        newer.original_create_time = at("2026-11-24T03:00:00Z");
        let e = copy_mode(&own, &[newer], Some(key), false);
        assert!(e.reason.contains("not newer"), "{}", e.reason);
        // across Regions: counted full, the guide promising nothing
        let e = copy_mode(&own, std::slice::from_ref(&before), Some(key), true);
        assert_eq!(e.mode, CopyMode::Full);
        assert!(
            e.reason.contains("across accounts and Regions"),
            "{}",
            e.reason
        );
        // times a few seconds apart are one snapshot's
        let mut close = own.clone();
        close.create_time = own.create_time.map(|t| t + chrono::Duration::seconds(3));
        assert!(!is_a_copy(&close));
        // a share copy: two times, so a copy of a copy
        let mut share = own.clone();
        share.original_create_time = at("2026-11-23T02:10:00Z");
        let e = copy_mode(&share, std::slice::from_ref(&before), Some(key), false);
        assert_eq!((e.mode, e.moved_gib), (CopyMode::Full, Some(2400)));
        assert!(e.reason.contains("itself a copy"), "{}", e.reason);
        // a cluster snapshot copy: full, with no size RDS reports
        let mut cluster = own.clone();
        cluster.kind = SnapshotKind::Cluster;
        let e = copy_mode(&cluster, &[], Some(key), false);
        assert_eq!((e.mode, e.moved_gib), (CopyMode::Full, None));
    }

    #[test]
    fn incremental_mode_shares_an_own_snapshot_only_where_rds_can_share_it() {
        let plain = snap(
            "a",
            SnapshotKind::Instance,
            "automated",
            "available",
            "2026-01-01T03:00:00Z",
        );
        let mut encrypted = plain.clone();
        encrypted.encrypted = true;
        encrypted.kms_key_id = Some("arn:aws:kms:eu-west-1:111111111111:key/db".into());
        let key = |manager: &str| KeyInfo {
            arn: "arn:aws:kms:eu-west-1:111111111111:key/db".into(),
            state: "Enabled".into(),
            manager: manager.into(),
        };
        let own = |p: &SharePlan| matches!(p, SharePlan::OwnSnapshot { .. });
        let fallback = |p: SharePlan| match p {
            SharePlan::ShareCopy { fallback } => fallback.unwrap_or_default(),
            SharePlan::OwnSnapshot { note } => panic!("own snapshot: {note}"),
        };
        // the default mode never asks for a key
        assert_eq!(
            share_plan(SourceMode::ShareCopy, &encrypted, None, false),
            SharePlan::ShareCopy { fallback: None }
        );
        let inc = SourceMode::Incremental;
        assert!(own(&share_plan(
            inc,
            &encrypted,
            Some(&key("CUSTOMER")),
            false
        )));
        let aws = fallback(share_plan(inc, &encrypted, Some(&key("AWS")), false));
        assert!(
            aws.contains("AWS-managed (aws/rds)") && aws.contains("customer-managed key"),
            "{aws}"
        );
        assert!(fallback(share_plan(inc, &encrypted, None, false)).contains("could not be found"));
        // unencrypted: shared as it is, unless the share copy is what encrypts it
        assert!(own(&share_plan(inc, &plain, None, false)));
        assert!(fallback(share_plan(inc, &plain, None, true)).contains("ENCRYPT_UNENCRYPTED"));
        let mut cluster = plain.clone();
        cluster.kind = SnapshotKind::Cluster;
        assert!(
            own(&share_plan(inc, &cluster, None, true)),
            "a cluster copy cannot encrypt anyway"
        );
    }

    #[test]
    fn newest_automated_ignores_manual_unavailable_and_older() {
        let k = SnapshotKind::Instance;
        let snaps = vec![
            snap("a1", k, "automated", "available", "2026-01-01T03:00:00Z"),
            snap("a2", k, "automated", "available", "2026-01-02T03:00:00Z"),
            snap("a3", k, "automated", "creating", "2026-01-03T03:00:00Z"),
            snap("m1", k, "manual", "available", "2026-01-04T03:00:00Z"),
        ];
        assert_eq!(newest_automated(&snaps).unwrap().id, "a2");
        assert!(newest_automated(&snaps[2..]).is_none());
    }

    /// (name, permanent, persistent) of each option
    type OptionSpec<'a> = &'a [(&'a str, bool, bool)];

    fn group(opts: &[(&str, bool, bool)]) -> OptionGroup {
        OptionGroup {
            name: "og".into(),
            options: opts
                .iter()
                .map(|(n, p, s)| OptionInfo {
                    name: n.to_string(),
                    permanent: *p,
                    persistent: *s,
                })
                .collect(),
        }
    }

    #[test]
    fn shareability_table() {
        let mut s = snap(
            "a",
            SnapshotKind::Instance,
            "automated",
            "available",
            "2026-01-01T00:00:00Z",
        );
        s.engine = "oracle-ee".into();
        let cases: &[(OptionSpec, Option<&str>)] = &[
            (&[], None),
            (
                &[("TDE", true, true)],
                Some("option TDE (Transparent Data Encryption)"),
            ),
            (
                &[("TDE_SQLServer", false, true)],
                Some("option TDE_SQLServer"),
            ),
            (&[("APEX", false, false)], None),
            (&[("Timezone", true, true)], None),
            (&[("OLS", true, true)], None),
            (
                &[("SOME_OPT", true, false)],
                Some("permanent option SOME_OPT"),
            ),
            (
                &[("SOME_OPT", false, true)],
                Some("persistent option SOME_OPT"),
            ),
        ];
        for (opts, want) in cases {
            let got = not_shareable_reason(&s.engine, Some(&group(opts)));
            match want {
                None => assert_eq!(got, None, "{opts:?}"),
                Some(w) => assert!(
                    got.as_deref().unwrap_or("").contains(w),
                    "{opts:?}: {got:?}"
                ),
            }
        }
        assert_eq!(not_shareable_reason(&s.engine, None), None);
        // Timezone is only exempt for Oracle.
        s.engine = "sqlserver-se".into();
        assert!(
            not_shareable_reason(&s.engine, Some(&group(&[("Timezone", true, true)]))).is_some()
        );
    }

    #[test]
    fn encryption_table() {
        let key = "arn:aws:kms:eu-west-1:111111111111:key/share";
        let mut inst = snap(
            "a",
            SnapshotKind::Instance,
            "automated",
            "available",
            "2026-01-01T00:00:00Z",
        );
        let mut clus = inst.clone();
        clus.kind = SnapshotKind::Cluster;
        // unencrypted
        assert_eq!(copy_encryption(&inst, key, false).kms_key_id, None);
        assert_eq!(
            copy_encryption(&inst, key, true).kms_key_id.as_deref(),
            Some(key)
        );
        let c = copy_encryption(&clus, key, true);
        assert_eq!(c.kms_key_id, None);
        assert!(c
            .note
            .unwrap()
            .contains("cannot encrypt a cluster snapshot"));
        // encrypted with the AWS-managed key or a customer key: always re-encrypted with ours
        for source_key in [
            "arn:aws:kms:eu-west-1:111111111111:key/aws-rds-default",
            "arn:aws:kms:eu-west-1:111111111111:key/cmk",
        ] {
            inst.encrypted = true;
            inst.kms_key_id = Some(source_key.into());
            clus.encrypted = true;
            for s in [&inst, &clus] {
                for enc in [true, false] {
                    assert_eq!(
                        copy_encryption(s, key, enc).kms_key_id.as_deref(),
                        Some(key)
                    );
                }
            }
        }
    }

    fn managed(id: &str, status: &str, created: &str) -> Snapshot {
        let mut s = snap(id, SnapshotKind::Instance, "manual", status, created);
        s.tags
            .insert(crate::policy::tags::MANAGED.into(), "true".into());
        s.tags.insert(
            crate::policy::tags::SOURCE_CREATE_TIME.into(),
            created.into(),
        );
        s
    }

    #[test]
    fn live_deletions_keep_newest_and_never_touch_in_progress_or_unmanaged() {
        let copies = vec![
            managed("c1", "available", "2026-01-01T03:00:00Z"),
            managed("c2", "copying", "2026-01-02T03:00:00Z"),
            managed("c3", "available", "2026-01-03T03:00:00Z"),
            managed("c4", "available", "2026-01-04T03:00:00Z"),
            managed("c5", "available", "2026-01-05T03:00:00Z"),
            snap(
                "u1",
                SnapshotKind::Instance,
                "manual",
                "available",
                "2025-01-01T00:00:00Z",
            ),
            snap(
                "auto",
                SnapshotKind::Instance,
                "automated",
                "available",
                "2025-01-01T00:00:00Z",
            ),
        ];
        let wait = crate::policy::copy_time::WaitSettings {
            poll_seconds: 60,
            max_wait_seconds: 21_600,
            copy_throughput_mibps: 100.0,
            own_wait: None,
        };
        let ids = |v: &[&Snapshot]| v.iter().map(|s| s.id.clone()).collect::<Vec<_>>();
        let later = crate::policy::tags::parse_time("2026-02-01T00:00:00Z").unwrap();
        let d = live_deletions(&copies, 2, later, &wait);
        assert_eq!(ids(&d.delete), vec!["c3", "c1"]);
        assert!(d.held.is_empty());
        assert!(live_deletions(&copies, 10, later, &wait).delete.is_empty());
        // 13 hours after c3 was made (20 GiB: twice maxWaitSeconds and an hour) a Failsafe copy
        // may still be reading it: held; c1, older, goes
        let soon = crate::policy::tags::parse_time("2026-01-03T15:59:00Z").unwrap();
        let d = live_deletions(&copies, 2, soon, &wait);
        assert_eq!(ids(&d.delete), vec!["c1"]);
        assert_eq!(ids(&d.held), vec!["c3"]);
    }
}
