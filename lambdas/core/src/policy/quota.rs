//! Today's copies against the account's manual snapshot quota, decided before copying. When
//! they do not all fit, the run copies what fits — each source's newest snapshot before any
//! source's second — and fails at its end naming what was left out: a quota one copy short
//! must not cost every source its day.

use crate::model::SnapshotKind;
use std::collections::BTreeMap;
use std::hash::Hash;

/// RDS's name for the quota (Service Quotas, `DescribeAccountAttributes`).
pub fn quota_name(kind: SnapshotKind) -> &'static str {
    match kind {
        SnapshotKind::Instance => "ManualSnapshots",
        SnapshotKind::Cluster => "ManualClusterSnapshots",
    }
}

/// How many more manual snapshots of a kind fit: never negative (an account can be over its
/// quota after the quota was lowered).
pub fn quota_room(used: i64, max: i64) -> i64 {
    (max - used).max(0)
}

/// `None` when `needed` more copies fit; else the message naming used, max, needed, how many
/// this run copies and leaves out, and what to change (`settings` names the deployment's
/// configuration fields, as written in cdk.json).
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
    let fit = quota_room(used, max).min(needed);
    Some(format!(
        "{} quota: {used} used of {max}, this run needs {needed} more {kind} snapshot copies \
         ({} too many); {fit} copied, each source's newest snapshot first, {} left out. \
         Lower {settings}, delete manual {kind} snapshots no longer needed, or request a quota \
         increase (Service Quotas, Amazon RDS, \"Manual {} snapshots\")",
        quota_name(kind),
        used + needed - max,
        needed - fit,
        match kind {
            SnapshotKind::Instance => "DB instance",
            SnapshotKind::Cluster => "DB cluster",
        },
    ))
}

/// Splits `items` (all of one kind) into what fits `room` and what is left out: every source's
/// newest item before any source's second, then in the order given. Both parts keep the order
/// given. `source` names an item's source, `newness` orders one source's items (greater is newer).
pub fn fit_newest_first<T, S, N>(
    items: Vec<T>,
    room: usize,
    source: impl Fn(&T) -> S,
    newness: impl Fn(&T) -> N,
) -> (Vec<T>, Vec<T>)
where
    S: Eq + Hash + Ord,
    N: Ord,
{
    if items.len() <= room {
        return (items, Vec::new());
    }
    // rank[i]: how many items of the same source are newer than item i (0 = its newest).
    let mut by_source: BTreeMap<S, Vec<usize>> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        by_source.entry(source(item)).or_default().push(i);
    }
    let mut rank = vec![0usize; items.len()];
    for indexes in by_source.values_mut() {
        indexes.sort_by(|a, b| newness(&items[*b]).cmp(&newness(&items[*a])).then(a.cmp(b)));
        for (r, i) in indexes.iter().enumerate() {
            rank[*i] = r;
        }
    }
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|i| (rank[*i], *i));
    let mut keep = vec![false; items.len()];
    for i in order.into_iter().take(room) {
        keep[i] = true;
    }
    let (mut fit, mut left_out) = (Vec::new(), Vec::new());
    for (item, kept) in items.into_iter().zip(keep) {
        if kept {
            fit.push(item);
        } else {
            left_out.push(item);
        }
    }
    (fit, left_out)
}

/// `fit_newest_first` for items of both kinds, each kind against its own room (`room(kind)`);
/// both parts keep the order given.
pub fn fit_each_kind<T, S, N>(
    items: Vec<T>,
    room: impl Fn(SnapshotKind) -> usize,
    kind: impl Fn(&T) -> SnapshotKind,
    source: impl Fn(&T) -> S,
    newness: impl Fn(&T) -> N,
) -> (Vec<T>, Vec<T>)
where
    S: Eq + Hash + Ord,
    N: Ord,
{
    let (mut fit, mut left_out) = (Vec::new(), Vec::new());
    let mut numbered: Vec<(usize, T)> = items.into_iter().enumerate().collect();
    for k in [SnapshotKind::Instance, SnapshotKind::Cluster] {
        let (of_kind, rest): (Vec<_>, Vec<_>) =
            numbered.into_iter().partition(|(_, t)| kind(t) == k);
        numbered = rest;
        let (f, l) = fit_newest_first(of_kind, room(k), |(_, t)| source(t), |(_, t)| newness(t));
        fit.extend(f);
        left_out.extend(l);
    }
    fit.extend(numbered);
    fit.sort_by_key(|(i, _)| *i);
    left_out.sort_by_key(|(i, _)| *i);
    (
        fit.into_iter().map(|(_, t)| t).collect(),
        left_out.into_iter().map(|(_, t)| t).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_that_fit_pass() {
        assert_eq!(
            quota_shortfall(SnapshotKind::Instance, 90, 100, 10, "liveKeep"),
            None
        );
        assert_eq!(
            quota_shortfall(SnapshotKind::Cluster, 100, 100, 0, "liveKeep"),
            None
        );
    }

    #[test]
    fn a_shortfall_names_used_max_needed_what_fits_and_the_fixes() {
        let m = quota_shortfall(SnapshotKind::Cluster, 97, 100, 5, "liveKeep").unwrap();
        assert!(
            m.starts_with("ManualClusterSnapshots quota: 97 used of 100, this run needs 5 more"),
            "{m}"
        );
        assert!(
            m.contains("(2 too many); 3 copied, each source's newest snapshot first, 2 left out"),
            "{m}"
        );
        assert!(
            m.contains("liveKeep") && m.contains("quota increase"),
            "{m}"
        );
    }

    #[test]
    fn an_account_over_its_quota_has_no_room() {
        assert_eq!(quota_room(105, 100), 0);
        let m = quota_shortfall(SnapshotKind::Instance, 105, 100, 2, "liveKeep").unwrap();
        assert!(m.contains("0 copied") && m.contains("2 left out"), "{m}");
    }

    /// (source, day)
    type Item = (&'static str, u32);

    fn fit(items: &[Item], room: usize) -> (Vec<Item>, Vec<Item>) {
        fit_newest_first(items.to_vec(), room, |i| i.0, |i| i.1)
    }

    #[test]
    fn each_sources_newest_goes_before_any_sources_second() {
        // orders has three days waiting, users two, ledger one: room for four takes the three
        // newest, then the first second-newest in the order given (users' day 2)
        let items = [
            ("orders", 1),
            ("orders", 3),
            ("users", 2),
            ("orders", 2),
            ("ledger", 3),
            ("users", 3),
        ];
        let (kept, left) = fit(&items, 4);
        assert_eq!(
            kept,
            vec![("orders", 3), ("users", 2), ("ledger", 3), ("users", 3)]
        );
        assert_eq!(left, vec![("orders", 1), ("orders", 2)]);
        // room for two: the first two newest items in the order given
        let (kept, left) = fit(&items, 2);
        assert_eq!(kept, vec![("orders", 3), ("ledger", 3)]);
        assert_eq!(left.len(), 4);
    }

    #[test]
    fn no_room_leaves_everything_out_and_enough_room_keeps_everything() {
        let items = [("orders", 1), ("users", 1)];
        assert_eq!(fit(&items, 0), (vec![], items.to_vec()));
        assert_eq!(fit(&items, 2), (items.to_vec(), vec![]));
        assert_eq!(fit(&items, 9), (items.to_vec(), vec![]));
    }

    #[test]
    fn each_kind_fits_its_own_room_and_the_order_given_is_kept() {
        use SnapshotKind::{Cluster, Instance};
        let items = [
            (Cluster, "billing"),
            (Instance, "orders"),
            (Instance, "users"),
            (Cluster, "ledger"),
        ];
        let room = |k| if k == Instance { 1 } else { 5 };
        let (kept, left) = fit_each_kind(items.to_vec(), room, |i| i.0, |i| i.1, |_| 0);
        assert_eq!(
            kept,
            vec![
                (Cluster, "billing"),
                (Instance, "orders"),
                (Cluster, "ledger")
            ]
        );
        assert_eq!(left, vec![(Instance, "users")]);
    }
}
