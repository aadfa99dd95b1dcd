//! What the Failsafe account's copies cost to keep. The Failsafe account runs no databases, so
//! none of its snapshot storage is free (RDS gives backup storage free only up to the
//! provisioned storage of the region's databases). A copy of a Live share copy is a full copy,
//! as is every DB cluster snapshot copy; the copies of an incremental source (the Live account
//! shares a snapshot it took, not a copy) are incremental after the first (docs/aws-facts.md,
//! "Copy physics"). RDS reports no snapshot's incremental size, only `AllocatedStorage` (GiB)
//! for a DB instance's: the storage it was given, an upper bound of what it used. So the report
//! gives two figures: `stored_gib`, every copy billed whole (what share copies cost, and an
//! upper bound for an incremental source), and `chain_gib`, what the same copies hold as one
//! incremental chain at an assumed daily change rate (what incremental mode costs, or would).
//! For Aurora, `AllocatedStorage` "always returns 1" (RDS API reference): an Aurora copy's size,
//! billed at the cluster volume's, is not in the API, and `rdsf status` does not price it.

use crate::config::Retention;
use crate::model::{Snapshot, SnapshotKind};
use crate::policy::retention::{plan_retention, CopyFacts, Tier};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::BTreeMap;

/// The list price of RDS snapshot storage per GB-month, us-east-1 (Amazon RDS pricing page;
/// docs/aws-facts.md): set the region's (`rdsf status --usd-per-gb-month`).
pub const RDS_USD_PER_GB_MONTH: f64 = 0.095;

/// GiB the copies hold, each billed whole: the ones that exist and did not fail (a copy in
/// progress is billed as it is written, and will hold all of it).
pub fn stored_gib<'a>(copies: impl IntoIterator<Item = &'a Snapshot>) -> i64 {
    copies
        .into_iter()
        .filter(|s| s.status != crate::model::status::FAILED)
        .map(|s| i64::from(s.allocated_storage.max(0)))
        .sum()
}

/// An assumption, as the local stack's (tools/local/rdsf_local/physics.py): 2 % of the blocks
/// written a day. RDS reports no changed bytes; set the estate's (`rdsf status --change-per-day`).
pub const DEFAULT_CHANGE_PER_DAY: f64 = 0.02;

/// The share of a database's blocks written in `days` when `change_per_day` of them are written
/// a day, spread at random: 1 - (1 - rate)^days.
pub fn changed_fraction(change_per_day: f64, days: f64) -> f64 {
    1.0 - (1.0 - change_per_day.clamp(0.0, 1.0)).powf(days.max(0.0))
}

/// GiB the copies (each `(AllocatedStorage, data time)`) hold as one incremental chain: the
/// oldest whole, each later one the blocks written since the one before, writes spread at random
/// so that d days change 1 - (1 - rate)^d of the blocks.
pub fn chain_gib(copies: &[(i32, DateTime<Utc>)], change_per_day: f64) -> i64 {
    let mut sorted: Vec<(i32, DateTime<Utc>)> = copies.to_vec();
    sorted.sort_by_key(|(_, t)| *t);
    let mut total = 0.0;
    let mut before: Option<DateTime<Utc>> = None;
    for (gib, t) in sorted {
        let gib = f64::from(gib.max(0));
        total += match before {
            None => gib,
            Some(b) => {
                let days = (t - b).num_seconds().max(0) as f64 / 86_400.0;
                gib * changed_fraction(change_per_day, days)
            }
        };
        before = Some(t);
    }
    total.round() as i64
}

/// What one retention tier of a source holds: the copies retention keeps for it (a copy several
/// rules keep counts once, for the longest-lived: `policy::retention::Tier`), or `next-prune`,
/// those the next `prune` deletes. GiB and USD for DB instances only, each copy billed whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TierCost {
    pub tier: Tier,
    pub copies: usize,
    pub stored_gib: Option<i64>,
    pub monthly_usd: Option<f64>,
}

/// A source's copies (failed ones left out) by the retention tier that keeps each, as `prune`
/// would plan them at `now`: longest-lived tier first, `next-prune` last.
pub fn tier_costs(
    copies: &[&Snapshot],
    retention: &Retention,
    now: DateTime<Utc>,
    usd_per_gb_month: f64,
) -> Vec<TierCost> {
    let live: Vec<&Snapshot> = copies
        .iter()
        .copied()
        .filter(|s| s.status != crate::model::status::FAILED)
        .collect();
    let facts: Vec<CopyFacts> = live.iter().filter_map(|s| CopyFacts::of(s)).collect();
    let plan = plan_retention(&facts, retention, now);
    let tiers = plan
        .keep
        .iter()
        .map(|k| (k.tier, k.id.as_str()))
        .chain(plan.delete.iter().map(|id| (Tier::NextPrune, id.as_str())));
    let mut by_tier: BTreeMap<Reverse<Tier>, Vec<&Snapshot>> = BTreeMap::new();
    for (tier, id) in tiers {
        if let Some(s) = live.iter().copied().find(|s| s.id == id) {
            by_tier.entry(Reverse(tier)).or_default().push(s);
        }
    }
    by_tier
        .into_iter()
        .map(|(Reverse(tier), snaps)| {
            let sized = snaps.iter().all(|s| s.kind == SnapshotKind::Instance);
            let gib = sized.then(|| stored_gib(snaps.iter().copied()));
            TierCost {
                tier,
                copies: snaps.len(),
                stored_gib: gib,
                monthly_usd: gib.map(|g| monthly_usd(g, usd_per_gb_month)),
            }
        })
        .collect()
}

/// The sources' tiers summed per tier, longest-lived first: GiB and USD of the DB instances'
/// copies, none while only Aurora copies (not sized) are in a tier.
pub fn tier_totals<'a>(tiers: impl IntoIterator<Item = &'a TierCost>) -> Vec<TierCost> {
    let mut totals: BTreeMap<Reverse<Tier>, TierCost> = BTreeMap::new();
    for t in tiers {
        let sum = totals.entry(Reverse(t.tier)).or_insert(TierCost {
            tier: t.tier,
            copies: 0,
            stored_gib: None,
            monthly_usd: None,
        });
        sum.copies += t.copies;
        if let Some(g) = t.stored_gib {
            sum.stored_gib = Some(sum.stored_gib.unwrap_or(0) + g);
        }
        if let Some(u) = t.monthly_usd {
            sum.monthly_usd = Some(sum.monthly_usd.unwrap_or(0.0) + u);
        }
    }
    totals.into_values().collect()
}

/// A month of `gib` of snapshot storage at `usd_per_gb_month`.
pub fn monthly_usd(gib: i64, usd_per_gb_month: f64) -> f64 {
    gib as f64 * usd_per_gb_month
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{status, SnapshotKind};

    fn copy(gib: i32, st: &str) -> Snapshot {
        let mut s = crate::policy::status::tests::copy(
            "orders",
            SnapshotKind::Instance,
            "2026-11-20T03:00:00Z",
            st,
            true,
        );
        s.allocated_storage = gib;
        s
    }

    #[test]
    fn copies_are_priced_by_the_longest_lived_tier_that_keeps_them() {
        use crate::config::RetentionPolicy;
        let at = |taken: &str, verified: bool| {
            let mut s = crate::policy::status::tests::copy(
                "orders",
                SnapshotKind::Instance,
                taken,
                status::AVAILABLE,
                verified,
            );
            s.allocated_storage = 100;
            s
        };
        let copies = [
            at("2026-11-20T03:00:00Z", true), // the day's, the week's and the month's: monthly
            at("2026-11-19T03:00:00Z", true), // daily
            at("2026-11-18T03:00:00Z", false), // not verified: kept, other
            at("2026-11-14T03:00:00Z", true), // last week's newest: weekly
            at("2026-10-31T03:00:00Z", true), // October's newest: monthly
            at("2026-10-15T03:00:00Z", true), // kept by nothing
        ];
        let refs: Vec<&Snapshot> = copies.iter().collect();
        let retention = Retention {
            policy: RetentionPolicy::Gfs {
                hourly: 0,
                daily: 2,
                weekly: 2,
                monthly: 2,
            },
            min_keep: 1,
        };
        let now = crate::policy::tags::parse_time("2026-11-20T12:00:00Z").unwrap();
        let got: Vec<(&str, usize, Option<i64>, Option<f64>)> =
            tier_costs(&refs, &retention, now, 0.1)
                .iter()
                .map(|t| (t.tier.as_str(), t.copies, t.stored_gib, t.monthly_usd))
                .collect();
        assert_eq!(
            got,
            [
                ("monthly", 2, Some(200), Some(20.0)),
                ("weekly", 1, Some(100), Some(10.0)),
                ("daily", 1, Some(100), Some(10.0)),
                ("other", 1, Some(100), Some(10.0)),
                ("next-prune", 1, Some(100), Some(10.0)),
            ]
        );
        // an Aurora cluster's copies are counted, not sized
        let mut cluster = at("2026-11-20T03:00:00Z", true);
        cluster.kind = SnapshotKind::Cluster;
        let t = tier_costs(&[&cluster], &retention, now, 0.1);
        assert_eq!(
            (t[0].copies, t[0].stored_gib, t[0].monthly_usd),
            (1, None, None)
        );
    }

    #[test]
    fn every_copy_but_a_failed_one_is_billed_whole() {
        let copies = [
            copy(2_000, status::AVAILABLE),
            copy(2_000, "creating"),
            copy(2_000, status::FAILED),
        ];
        assert_eq!(stored_gib(&copies), 4_000);
    }

    #[test]
    fn a_chain_holds_the_oldest_whole_and_what_changed_since() {
        let t = |s: &str| crate::policy::tags::parse_time(s).unwrap();
        // seven daily 2,000 GiB copies at 2 % a day: 2,000 + 6 x 40
        let week: Vec<(i32, DateTime<Utc>)> = (1..=7)
            .map(|d| (2_000, t(&format!("2026-11-0{d}T03:00:00Z"))))
            .collect();
        assert_eq!(chain_gib(&week, 0.02), 2_240);
        // order does not matter; a week apart is 1 - 0.98^7 of it, not 7 x 2 %
        let apart = [
            (2_000, t("2026-11-08T03:00:00Z")),
            (2_000, t("2026-11-01T03:00:00Z")),
        ];
        assert_eq!(chain_gib(&apart, 0.02), 2_000 + 264);
        assert_eq!(chain_gib(&[], 0.02), 0);
    }

    #[test]
    fn a_month_at_the_list_price() {
        // the 2 TB instance: up to 23 full copies under GFS 7/4/12, up to 46 TB
        assert_eq!(monthly_usd(46_000, RDS_USD_PER_GB_MONTH), 4_370.0);
    }
}
