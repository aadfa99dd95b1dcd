//! What an operator asks of the Failsafe account first: how old is the newest verified copy of
//! each database, is it readable with a key this account owns, and which copy restores it at a
//! given time. Pure: `rdsf status` ([`crate::operator`]) and the drill list the copies.

use crate::arn::Arn;
use crate::config::Retention;
use crate::model::{Snapshot, SnapshotKind};
use crate::policy::copy::source_time;
use crate::policy::cost::{chain_gib, monthly_usd, stored_gib, tier_costs, TierCost};
use crate::policy::tags::{self, format_time, Provenance, VERIFIED};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// A copy as the operator sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CopyRef {
    pub id: String,
    pub arn: String,
    /// When the data was taken (the source snapshot's creation time).
    pub data_time: DateTime<Utc>,
    pub verified: bool,
}

impl CopyRef {
    pub fn of(s: &Snapshot, data_time: DateTime<Utc>) -> CopyRef {
        CopyRef {
            id: s.id.clone(),
            arn: s.arn.clone(),
            data_time,
            verified: is_verified(s),
        }
    }
}

/// A copy under a legal hold, and the hold's value (when and why).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HeldCopy {
    pub copy: CopyRef,
    pub hold: String,
}

/// How a source stands against the copy-age threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Freshness {
    /// The newest verified copy is at most the threshold old.
    Fresh,
    /// The newest verified copy is older than the threshold.
    Stale,
    /// No verified copy at all.
    Missing,
}

/// One source's copies in this account.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceStatus {
    pub source_account: String,
    pub source_id: String,
    pub kind: SnapshotKind,
    pub freshness: Freshness,
    pub newest_verified: Option<CopyRef>,
    /// Hours from the newest verified copy's data time to now: the recovery point if the source
    /// were lost now.
    pub age_hours: Option<f64>,
    /// Available copies (verified or not), and how many of them are verified.
    pub copies: usize,
    pub verified_copies: usize,
    pub oldest: Option<CopyRef>,
    /// Copies still being made, and copies that ended `failed` (prune deletes those).
    pub in_progress: usize,
    pub failed: usize,
    /// The key the newest verified copy is encrypted with.
    pub kms_key_id: Option<String>,
    /// Why the newest verified copy may not be readable on the day, if there is a reason.
    pub key_warning: Option<String>,
    /// The newest `rds-failsafe:restore-tested` time on any copy of the source.
    pub last_drill: Option<String>,
    /// The copies under a legal hold (`rdsf hold`), oldest first, each with its hold.
    pub holds: Vec<HeldCopy>,
    /// What its copies hold, each a full copy billed whole (`policy::cost`), and a month of it
    /// at the report's prices; none for an Aurora cluster, whose snapshots do not report their
    /// size (`AllocatedStorage` is 1).
    pub stored_gib: Option<i64>,
    pub monthly_usd: Option<f64>,
    /// What the same copies hold as one incremental chain at the report's daily change rate
    /// (`policy::cost::chain_gib`): what incremental mode costs, or would; DB instances only.
    pub chain_gib: Option<i64>,
    pub chain_monthly_usd: Option<f64>,
    /// The copies by the retention tier that keeps them (`policy::cost::tier_costs`), when the
    /// retention is known (the deployed Failsafe configuration's); empty otherwise.
    pub tiers: Vec<TierCost>,
}

/// What `rdsf status` prices copies with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Prices {
    pub usd_per_gb_month: f64,
    /// The assumed share of a database's blocks written a day, for `chain_gib`.
    pub change_per_day: f64,
}

impl Default for Prices {
    /// The us-east-1 list price and the assumed 2 % a day (`policy::cost`).
    fn default() -> Self {
        Prices {
            usd_per_gb_month: crate::policy::cost::RDS_USD_PER_GB_MONTH,
            change_per_day: crate::policy::cost::DEFAULT_CHANGE_PER_DAY,
        }
    }
}

/// A copy passed `verify` and is available.
pub fn is_verified(s: &Snapshot) -> bool {
    s.is_available() && s.tags.contains_key(VERIFIED)
}

/// Why the copy's encryption may fail the operator: not encrypted, or encrypted with a key of
/// another account (whoever controls that account can disable the key and so the copy).
pub fn key_warning(copy: &Snapshot) -> Option<String> {
    if !copy.encrypted {
        return Some("not encrypted".into());
    }
    let own = Arn::parse(&copy.arn)?.account;
    match copy.kms_key_id.as_deref().and_then(Arn::parse) {
        Some(key) if key.account != own => Some(format!(
            "encrypted with a key of account {}, not this account's: that account can make it unreadable",
            key.account
        )),
        Some(_) => None,
        None => Some("encrypted, but RDS reports no key ARN".into()),
    }
}

/// A source as the provenance tags name it: Live account, database id, kind.
pub type SourceKey = (String, String, SnapshotKind);

/// The tool's copies in an account, by source.
#[derive(Debug, Default)]
pub struct Grouped<'a> {
    pub sources: BTreeMap<SourceKey, Vec<&'a Snapshot>>,
    /// Managed copies whose provenance tags are incomplete: counted, never guessed.
    pub unattributed: usize,
    /// Share copies of a Live account (their source is in the account that owns them): what an
    /// operator sees who ran `rdsf` with the Live account's profile.
    pub live_share_copies: usize,
}

/// Groups the tool's Failsafe copies by source.
pub fn group_by_source(copies: &[Snapshot]) -> Grouped<'_> {
    let mut out = Grouped::default();
    for s in copies.iter().filter(|s| tags::is_managed(&s.tags)) {
        match Provenance::from_tags(&s.tags) {
            Some(p) if Arn::parse(&s.arn).is_some_and(|a| a.account == p.source_account) => {
                out.live_share_copies += 1
            }
            Some(p) => out
                .sources
                .entry((p.source_account, p.source_id, p.kind))
                .or_default()
                .push(s),
            None => out.unattributed += 1,
        }
    }
    out
}

/// Every source's standing, ordered by account and source id.
pub fn source_statuses(
    grouped: &Grouped<'_>,
    now: DateTime<Utc>,
    max_age_hours: f64,
    prices: Prices,
    retention: Option<&Retention>,
) -> Vec<SourceStatus> {
    grouped
        .sources
        .iter()
        .map(|((source_account, source_id, kind), snaps)| {
            let (source_account, source_id, kind) =
                (source_account.clone(), source_id.clone(), *kind);
            let dated: Vec<(&Snapshot, DateTime<Utc>)> = snaps
                .iter()
                .filter(|s| s.is_available())
                .filter_map(|s| Some((*s, source_time(s)?)))
                .collect();
            let newest = dated
                .iter()
                .filter(|(s, _)| is_verified(s))
                .max_by_key(|(_, t)| *t);
            let oldest = dated.iter().min_by_key(|(_, t)| *t);
            let age_hours = newest.map(|(_, t)| (now - *t).num_seconds() as f64 / 3600.0);
            let freshness = match age_hours {
                None => Freshness::Missing,
                Some(a) if a > max_age_hours => Freshness::Stale,
                Some(_) => Freshness::Fresh,
            };
            // each copy billed whole (an upper bound for an incremental source's: RDS reports no
            // changed bytes); an Aurora snapshot reports no size
            let stored =
                (kind == SnapshotKind::Instance).then(|| stored_gib(snaps.iter().copied()));
            let chain = (kind == SnapshotKind::Instance).then(|| {
                let sized: Vec<(i32, DateTime<Utc>)> = snaps
                    .iter()
                    .filter(|s| s.status != crate::model::status::FAILED)
                    .filter_map(|s| Some((s.allocated_storage, source_time(s)?)))
                    .collect();
                chain_gib(&sized, prices.change_per_day)
            });
            SourceStatus {
                source_account,
                source_id,
                kind,
                freshness,
                newest_verified: newest.map(|(s, t)| CopyRef::of(s, *t)),
                age_hours,
                copies: dated.len(),
                verified_copies: dated.iter().filter(|(s, _)| is_verified(s)).count(),
                oldest: oldest.map(|(s, t)| CopyRef::of(s, *t)),
                in_progress: snaps
                    .iter()
                    .filter(|s| !s.is_available() && s.status != crate::model::status::FAILED)
                    .count(),
                failed: snaps
                    .iter()
                    .filter(|s| s.status == crate::model::status::FAILED)
                    .count(),
                kms_key_id: newest.and_then(|(s, _)| s.kms_key_id.clone()),
                key_warning: newest.and_then(|(s, _)| key_warning(s)),
                last_drill: snaps
                    .iter()
                    .filter_map(|s| s.tags.get(tags::RESTORE_TESTED))
                    .max()
                    .cloned(),
                holds: {
                    let mut held: Vec<HeldCopy> = dated
                        .iter()
                        .filter_map(|(s, t)| {
                            Some(HeldCopy {
                                copy: CopyRef::of(s, *t),
                                hold: crate::policy::hold::hold_of(s)?.to_string(),
                            })
                        })
                        .collect();
                    held.sort_by_key(|h| h.copy.data_time);
                    held
                },
                stored_gib: stored,
                monthly_usd: stored.map(|gib| monthly_usd(gib, prices.usd_per_gb_month)),
                chain_gib: chain,
                chain_monthly_usd: chain.map(|gib| monthly_usd(gib, prices.usd_per_gb_month)),
                tiers: retention.map_or_else(Vec::new, |r| {
                    tier_costs(snaps, r, now, prices.usd_per_gb_month)
                }),
            }
        })
        .collect()
}

/// The source a name means: `<source-id>` or `<live-account>:<source-id>`. A bare id that
/// several Live accounts use is ambiguous: the error lists the qualified names.
pub fn match_source<'a, K: Clone + 'a>(
    sources: impl IntoIterator<Item = &'a (String, String, K)>,
    name: &str,
) -> Result<(String, String, K), String> {
    let (account, id) = match name.split_once(':') {
        Some((a, i)) => (Some(a), i),
        None => (None, name),
    };
    let all: Vec<&(String, String, K)> = sources.into_iter().collect();
    let hits: Vec<&&(String, String, K)> = all
        .iter()
        .filter(|(a, i, _)| i == id && account.is_none_or(|want| want == a))
        .collect();
    match hits.as_slice() {
        [one] => Ok((**one).clone()),
        [] => {
            let known: Vec<String> = all.iter().map(|(a, i, _)| format!("{a}:{i}")).collect();
            Err(if known.is_empty() {
                "this account and region hold no rds-failsafe copies at all: is the profile the Failsafe account's, and the region the Failsafe stack's?".into()
            } else {
                format!(
                    "no copies of {name:?} here; sources with copies: {}",
                    known.join(", ")
                )
            })
        }
        many => Err(format!(
            "{id:?} is a source of several Live accounts; name one: {}",
            many.iter()
                .map(|(a, i, _)| format!("{a}:{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The copy to restore: the newest verified one, or the newest verified one taken at or before
/// `at`. Unverified copies are never picked: `verify` found something wrong with them, or has
/// not looked yet.
pub fn pick_copy<'a>(
    copies: &[&'a Snapshot],
    at: Option<DateTime<Utc>>,
) -> Result<(&'a Snapshot, DateTime<Utc>), String> {
    let verified: Vec<(&Snapshot, DateTime<Utc>)> = copies
        .iter()
        .filter(|s| is_verified(s))
        .filter_map(|s| Some((*s, source_time(s)?)))
        .collect();
    let pick = verified
        .iter()
        .filter(|(_, t)| at.is_none_or(|at| *t <= at))
        .max_by_key(|(_, t)| *t)
        .copied();
    pick.ok_or_else(|| match (at, verified.iter().map(|(_, t)| *t).min()) {
        (_, None) => format!(
            "no verified copy ({} copies, none verified and available): see `rdsf status`",
            copies.len()
        ),
        (Some(at), Some(first)) => format!(
            "no verified copy taken at or before {}; the oldest verified copy is from {}",
            format_time(at),
            format_time(first)
        ),
        (None, Some(_)) => unreachable!("a verified copy is picked when no time is given"),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::policy::copy::tests::snap;
    use crate::policy::tags::parse_time;

    pub(crate) fn t(s: &str) -> DateTime<Utc> {
        parse_time(s).unwrap()
    }

    const OWN: &str = "999999999999";

    /// A Failsafe copy of `source` (account 111111111111), data taken at `taken`.
    pub(crate) fn copy(
        source: &str,
        kind: SnapshotKind,
        taken: &str,
        status: &str,
        verified: bool,
    ) -> Snapshot {
        let id = format!(
            "rdsf-111111111111-{source}-{}",
            crate::policy::naming::stamp(t(taken))
        );
        let mut s = snap(&id, kind, "manual", status, taken);
        s.arn = format!("arn:aws:rds:eu-west-1:{OWN}:snapshot:{id}");
        s.encrypted = true;
        s.kms_key_id = Some(format!("arn:aws:kms:eu-west-1:{OWN}:key/failsafe"));
        s.tags = Provenance {
            source_account: "111111111111".into(),
            source_region: "eu-west-1".into(),
            source_id: source.into(),
            source_snapshot_arn: format!(
                "arn:aws:rds:eu-west-1:111111111111:snapshot:rdsf-{source}"
            ),
            source_create_time: t(taken),
            kind,
        }
        .tags();
        if verified {
            s.tags
                .insert(VERIFIED.into(), "2026-11-20T12:00:00Z".into());
        }
        s
    }

    #[test]
    fn status_reports_the_newest_verified_copy_and_its_age_against_the_threshold() {
        let k = SnapshotKind::Instance;
        let mut drilled = copy("orders", k, "2026-11-18T03:00:00Z", "available", true);
        drilled
            .tags
            .insert(tags::RESTORE_TESTED.into(), "2026-11-19T05:00:00Z".into());
        let copies = vec![
            drilled,
            copy("orders", k, "2026-11-20T03:00:00Z", "available", true),
            // newer, but not verified: not the recovery point
            copy("orders", k, "2026-11-21T03:00:00Z", "available", false),
            copy("orders", k, "2026-11-21T04:00:00Z", "copying", false),
            copy("orders", k, "2026-11-17T03:00:00Z", "failed", false),
            copy("billing", k, "2026-11-19T03:00:00Z", "available", true),
            copy("ledger", k, "2026-11-21T03:00:00Z", "available", false),
        ];
        let grouped = group_by_source(&copies);
        assert_eq!((grouped.unattributed, grouped.live_share_copies), (0, 0));
        let st = source_statuses(
            &grouped,
            t("2026-11-21T09:00:00Z"),
            30.0,
            Prices::default(),
            None,
        );
        let names: Vec<_> = st
            .iter()
            .map(|s| (s.source_id.as_str(), s.freshness))
            .collect();
        assert_eq!(
            names,
            [
                ("billing", Freshness::Stale),
                ("ledger", Freshness::Missing),
                ("orders", Freshness::Fresh)
            ]
        );
        let orders = &st[2];
        assert_eq!(orders.age_hours, Some(30.0));
        assert_eq!(
            orders.newest_verified.as_ref().unwrap().data_time,
            t("2026-11-20T03:00:00Z")
        );
        assert_eq!(
            orders.oldest.as_ref().unwrap().data_time,
            t("2026-11-18T03:00:00Z")
        );
        assert_eq!((orders.copies, orders.verified_copies), (3, 2));
        assert_eq!((orders.in_progress, orders.failed), (1, 1));
        assert_eq!(orders.last_drill.as_deref(), Some("2026-11-19T05:00:00Z"));
        assert_eq!(orders.key_warning, None);
        assert_eq!(st[0].age_hours, Some(54.0));
        assert_eq!(st[1].newest_verified, None);
    }

    #[test]
    fn copies_without_provenance_and_live_share_copies_are_counted_not_listed() {
        let mut c = copy(
            "orders",
            SnapshotKind::Instance,
            "2026-11-20T03:00:00Z",
            "available",
            true,
        );
        c.tags.remove(tags::SOURCE_ID);
        let mut unmanaged = copy(
            "orders",
            SnapshotKind::Instance,
            "2026-11-20T03:00:00Z",
            "available",
            true,
        );
        unmanaged.tags.remove(tags::MANAGED);
        // a Live account's own share copy: its source is in the account that owns it
        let mut share = copy(
            "orders",
            SnapshotKind::Instance,
            "2026-11-20T03:00:00Z",
            "available",
            false,
        );
        share.arn = "arn:aws:rds:eu-west-1:111111111111:snapshot:rdsf-orders-202611200300".into();
        let all = [c, unmanaged, share];
        let grouped = group_by_source(&all);
        assert!(source_statuses(
            &grouped,
            t("2026-11-21T00:00:00Z"),
            30.0,
            Prices::default(),
            None
        )
        .is_empty());
        assert_eq!((grouped.unattributed, grouped.live_share_copies), (1, 1));
    }

    #[test]
    fn a_key_of_another_account_or_no_encryption_is_a_warning() {
        let mut c = copy(
            "orders",
            SnapshotKind::Instance,
            "2026-11-20T03:00:00Z",
            "available",
            true,
        );
        assert_eq!(key_warning(&c), None);
        c.kms_key_id = Some("arn:aws:kms:eu-west-1:111111111111:key/share".into());
        assert!(key_warning(&c).unwrap().contains("account 111111111111"));
        c.encrypted = false;
        assert_eq!(key_warning(&c).as_deref(), Some("not encrypted"));
    }

    #[test]
    fn a_source_is_named_by_id_or_account_and_id() {
        let k = SnapshotKind::Instance;
        let sources = vec![
            ("111111111111".to_string(), "orders".to_string(), k),
            ("222222222222".to_string(), "orders".to_string(), k),
            ("111111111111".to_string(), "billing".to_string(), k),
        ];
        assert_eq!(match_source(&sources, "billing").unwrap().1, "billing");
        assert_eq!(
            match_source(&sources, "222222222222:orders").unwrap().0,
            "222222222222"
        );
        let e = match_source(&sources, "orders").unwrap_err();
        assert!(
            e.contains("111111111111:orders, 222222222222:orders"),
            "{e}"
        );
        let e = match_source(&sources, "ledger").unwrap_err();
        assert!(
            e.contains("sources with copies: 111111111111:orders"),
            "{e}"
        );
        let none: Vec<(String, String, SnapshotKind)> = vec![];
        assert!(match_source(&none, "orders")
            .unwrap_err()
            .contains("no rds-failsafe copies at all"));
    }

    #[test]
    fn the_copy_picked_is_the_newest_verified_one_at_or_before_the_time() {
        let k = SnapshotKind::Instance;
        let all = [
            copy("orders", k, "2026-11-18T03:00:00Z", "available", true),
            copy("orders", k, "2026-11-20T03:00:00Z", "available", true),
            copy("orders", k, "2026-11-21T03:00:00Z", "available", false),
        ];
        let refs: Vec<&Snapshot> = all.iter().collect();
        assert_eq!(pick_copy(&refs, None).unwrap().1, t("2026-11-20T03:00:00Z"));
        assert_eq!(
            pick_copy(&refs, Some(t("2026-11-19T00:00:00Z"))).unwrap().1,
            t("2026-11-18T03:00:00Z")
        );
        assert_eq!(
            pick_copy(&refs, Some(t("2026-11-20T03:00:00Z"))).unwrap().1,
            t("2026-11-20T03:00:00Z")
        );
        let e = pick_copy(&refs, Some(t("2026-11-01T00:00:00Z"))).unwrap_err();
        assert!(
            e.contains("oldest verified copy is from 2026-11-18T03:00:00Z"),
            "{e}"
        );
        let e = pick_copy(&refs[2..], None).unwrap_err();
        assert!(e.contains("none verified"), "{e}");
    }
}
