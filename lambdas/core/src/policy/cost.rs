//! What the Failsafe account's copies cost to keep. The Failsafe account runs no databases, so
//! none of its snapshot storage is free (RDS gives backup storage free only up to the
//! provisioned storage of the region's databases), and every copy it holds is a full copy: a copy
//! of a Live share copy is never incremental, nor is a DB cluster snapshot copy
//! (docs/aws-facts.md, "Copy physics"). A copy is therefore billed at its snapshot's size, which
//! RDS reports as `AllocatedStorage` (GiB) for a DB instance's: the storage it was given, an
//! upper bound of what it used. For Aurora, `AllocatedStorage` "always returns 1" (RDS API
//! reference): an Aurora copy's size, billed at the cluster volume's, is not in the API, and
//! `rdsf status` does not price it.

use crate::model::Snapshot;

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
    fn every_copy_but_a_failed_one_is_billed_whole() {
        let copies = [
            copy(2_000, status::AVAILABLE),
            copy(2_000, "creating"),
            copy(2_000, status::FAILED),
        ];
        assert_eq!(stored_gib(&copies), 4_000);
    }

    #[test]
    fn a_month_at_the_list_price() {
        // the 2 TB instance: up to 23 full copies under GFS 7/4/12, up to 46 TB
        assert_eq!(monthly_usd(46_000, RDS_USD_PER_GB_MONTH), 4_370.0);
    }
}
