//! What several tasks (and `rdsf`) do over the port: describe a snapshot that must exist, list
//! this account's managed copies, delete a snapshot that may be gone already, read the manual
//! snapshot quotas before copying.

use crate::error::{ErrorKind, FailsafeError};
use crate::model::{Snapshot, SnapshotKind};
use crate::port::{SnapshotQuery, SnapshotWrites, Snapshots, StoreErrorKind, StoreResult};

/// Describes a snapshot the caller needs to exist; absence is `SnapshotNotFound` with the
/// caller's message.
pub async fn describe_required<S: Snapshots + ?Sized>(
    store: &S,
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
pub async fn own_managed_copies<S: Snapshots + ?Sized>(store: &S) -> StoreResult<Vec<Snapshot>> {
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

/// The `rds-failsafe:managed` snapshots this account owns of database `db_id` (`kind`), as RDS
/// lists them by `DBInstanceIdentifier` / `DBClusterIdentifier`: the copies a new copy of it may
/// be incremental on (`policy::copy::copy_mode`).
pub async fn managed_copies_of<S: Snapshots + ?Sized>(
    store: &S,
    kind: SnapshotKind,
    db_id: &str,
) -> StoreResult<Vec<Snapshot>> {
    let q = SnapshotQuery {
        source_id: Some(db_id.to_string()),
        snapshot_type: Some(crate::model::snapshot_type::MANUAL),
        ..SnapshotQuery::default()
    };
    Ok(store
        .list_snapshots(kind, &q)
        .await?
        .into_iter()
        .filter(|s| crate::policy::tags::is_managed(&s.tags))
        .collect())
}

/// A read a task can do without (the preflight's checks, save's copy figures): AWS refusing it
/// (access denied, a malformed ARN) becomes the reason, so the task goes on. Throttling and
/// transient faults are errors, which the state machine retries.
pub fn soft<T>(r: StoreResult<T>) -> crate::error::Result<std::result::Result<T, String>> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(e)
            if matches!(
                e.kind,
                StoreErrorKind::Throttled | StoreErrorKind::Transient
            ) =>
        {
            Err(e.into())
        }
        Err(e) => Ok(Err(e.to_string())),
    }
}

/// Deletes a snapshot; one that is gone already (a parallel run, an operator) counts as deleted.
pub async fn delete_if_present<S: SnapshotWrites + ?Sized>(
    store: &S,
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
pub async fn read_snapshot_quotas<S: Snapshots + ?Sized>(
    store: &S,
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
