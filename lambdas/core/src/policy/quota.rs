//! Whether today's copies fit the account's manual snapshot quota, decided before copying so a
//! full quota fails the run at the start with one clear message instead of halfway.

use crate::model::SnapshotKind;

/// RDS's name for the quota (Service Quotas, `DescribeAccountAttributes`).
pub fn quota_name(kind: SnapshotKind) -> &'static str {
    match kind {
        SnapshotKind::Instance => "ManualSnapshots",
        SnapshotKind::Cluster => "ManualClusterSnapshots",
    }
}

/// `None` when `needed` more copies fit; else the `SnapshotQuotaExceeded` message naming used,
/// max, needed and what to change (`settings` names the account's own knobs).
pub fn quota_shortfall(
    kind: SnapshotKind,
    used: i64,
    max: i64,
    needed: i64,
    settings: &str,
) -> Option<String> {
    if needed <= 0 || used + needed <= max {
        return None;
    }
    Some(format!(
        "{} quota: {used} used of {max}, this run needs {needed} more {kind} snapshot copies \
         ({} too many); nothing was copied. Lower {settings}, delete manual {kind} snapshots \
         no longer needed, or request a quota increase (Service Quotas, Amazon RDS, \
         \"Manual {} snapshots\")",
        quota_name(kind),
        used + needed - max,
        match kind {
            SnapshotKind::Instance => "DB instance",
            SnapshotKind::Cluster => "DB cluster",
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_that_fit_pass() {
        assert_eq!(
            quota_shortfall(SnapshotKind::Instance, 90, 100, 10, "LIVE_KEEP"),
            None
        );
        assert_eq!(
            quota_shortfall(SnapshotKind::Cluster, 100, 100, 0, "LIVE_KEEP"),
            None
        );
    }

    #[test]
    fn a_shortfall_names_used_max_needed_and_the_fixes() {
        let m = quota_shortfall(SnapshotKind::Cluster, 97, 100, 5, "LIVE_KEEP").unwrap();
        assert!(
            m.starts_with("ManualClusterSnapshots quota: 97 used of 100, this run needs 5 more"),
            "{m}"
        );
        assert!(
            m.contains("(2 too many)") && m.contains("LIVE_KEEP") && m.contains("quota increase"),
            "{m}"
        );
    }
}
