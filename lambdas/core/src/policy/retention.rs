//! Failsafe retention: which of one source's copies `prune` keeps.
//!
//! Ages are measured from the source snapshot's creation time against the execution's `now`,
//! so a run is deterministic and days can be simulated. Whatever the policy, the newest
//! `min_keep` verified copies survive: a Live account that stops sending can never make
//! retention delete the last good copies.

use crate::config::{Retention, RetentionPolicy};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// What retention needs to know about one copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyFacts {
    pub id: String,
    pub source_time: DateTime<Utc>,
    /// `available` and carrying the `verified` tag: only such copies count toward the policy
    /// and the floor, and only such copies are ever deleted.
    pub verified: bool,
    /// The copy's legal hold (`rds-failsafe:hold`, `policy::hold`): kept whatever the policy says,
    /// and counted like any other copy (a held copy is there, not gone).
    pub held: Option<String>,
}

impl CopyFacts {
    /// A copy's facts, if its data time is known (`policy::copy::source_time`).
    pub fn of(s: &crate::model::Snapshot) -> Option<CopyFacts> {
        Some(CopyFacts {
            id: s.id.clone(),
            source_time: crate::policy::copy::source_time(s)?,
            verified: crate::policy::status::is_verified(s),
            held: crate::policy::hold::hold_of(s).map(str::to_string),
        })
    }
}

/// What keeps a copy, longest-lived last: a copy several rules keep belongs to the last of
/// them (a daily copy that is also the week's newest is kept as the week's). `Other`: a copy
/// kept for a reason that is not a retention rule (not verified, dated after the run, or its
/// source not pruned this run). `NextPrune`: kept by nothing, the next `prune` deletes it
/// (`rdsf status` lists such copies; a `Kept` never has it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    NextPrune,
    #[default]
    Other,
    /// The `MIN_KEEP` newest verified copies, whatever the policy.
    Floor,
    Hourly,
    Daily,
    /// `RETENTION=<days>`.
    Days,
    Weekly,
    Monthly,
    /// A legal hold (`rdsf hold`): kept until break-glass releases it.
    Held,
}

impl Tier {
    pub const fn as_str(self) -> &'static str {
        match self {
            Tier::NextPrune => "next-prune",
            Tier::Other => "other",
            Tier::Floor => "floor",
            Tier::Hourly => "hourly",
            Tier::Daily => "daily",
            Tier::Days => "days",
            Tier::Weekly => "weekly",
            Tier::Monthly => "monthly",
            Tier::Held => "held",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Kept {
    pub id: String,
    pub reasons: Vec<String>,
    /// The longest-lived rule among the reasons (`rdsf status` prices copies by it).
    #[serde(skip)]
    pub tier: Tier,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetentionPlan {
    pub keep: Vec<Kept>,
    pub delete: Vec<String>,
}

fn week_start(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

fn month_index(d: NaiveDate) -> i32 {
    d.year() * 12 + d.month0() as i32
}

/// Whether retention would keep a copy of data taken at `source_time` beside the source's
/// `existing` copies, were it saved and verified now. A shared snapshot it would not keep (older
/// than what the policy keeps, the source's floor already met) is not worth saving: a full copy,
/// hours for a big database, that this run's prune deletes again, and that would become the
/// newest copy made here, so that the next day's copy could no longer be incremental.
pub fn would_keep(
    existing: &[CopyFacts],
    source_time: DateTime<Utc>,
    retention: &Retention,
    now: DateTime<Utc>,
) -> bool {
    // an id no copy can have (RDS identifiers are letters, digits and hyphens)
    const CANDIDATE: &str = " candidate";
    let mut all = existing.to_vec();
    all.push(CopyFacts {
        id: CANDIDATE.into(),
        source_time,
        verified: true,
        held: None,
    });
    plan_retention(&all, retention, now)
        .keep
        .iter()
        .any(|k| k.id == CANDIDATE)
}

/// Plans retention for one source's copies.
pub fn plan_retention(
    copies: &[CopyFacts],
    retention: &Retention,
    now: DateTime<Utc>,
) -> RetentionPlan {
    let mut reasons: BTreeMap<&str, Vec<(Tier, String)>> = BTreeMap::new();
    let mut verified: Vec<&CopyFacts> = copies.iter().filter(|c| c.verified).collect();
    // newest first; ties broken by id so the choice is deterministic
    verified.sort_by(|a, b| {
        b.source_time
            .cmp(&a.source_time)
            .then_with(|| b.id.cmp(&a.id))
    });

    for c in copies.iter() {
        if let Some(hold) = &c.held {
            reasons
                .entry(c.id.as_str())
                .or_default()
                .push((Tier::Held, format!("legal hold: {hold}")));
        }
    }
    for c in copies.iter().filter(|c| !c.verified) {
        reasons.entry(c.id.as_str()).or_default().push((
            Tier::Other,
            "not verified (never deleted by retention)".into(),
        ));
    }
    for (i, c) in verified
        .iter()
        .take(retention.min_keep as usize)
        .enumerate()
    {
        reasons.entry(c.id.as_str()).or_default().push((
            Tier::Floor,
            format!(
                "floor: newest verified #{} of MIN_KEEP={}",
                i + 1,
                retention.min_keep
            ),
        ));
    }
    for c in verified.iter().filter(|c| c.source_time > now) {
        reasons
            .entry(c.id.as_str())
            .or_default()
            .push((Tier::Other, "source time is after the run's now".into()));
    }

    match retention.policy {
        RetentionPolicy::Days(days) => {
            let limit = Duration::days(i64::from(days));
            for c in &verified {
                if c.source_time <= now && now - c.source_time <= limit {
                    reasons.entry(c.id.as_str()).or_default().push((
                        Tier::Days,
                        format!("RETENTION={days}: at most {days} days old"),
                    ));
                }
            }
        }
        RetentionPolicy::Gfs {
            hourly,
            daily,
            weekly,
            monthly,
        } => {
            // `verified` is newest first, so the first copy seen in a period is that period's newest.
            let mut newest_in =
                |tier: Tier, key_of: &dyn Fn(DateTime<Utc>) -> i64, wanted: &BTreeSet<i64>| {
                    let period = tier.as_str();
                    let mut taken = BTreeSet::new();
                    for c in verified.iter().filter(|c| c.source_time <= now) {
                        let key = key_of(c.source_time);
                        if wanted.contains(&key) && taken.insert(key) {
                            reasons.entry(c.id.as_str()).or_default().push((
                                tier,
                                format!("{period}: newest of {}", describe(period, key)),
                            ));
                        }
                    }
                };
            // hours of the UTC clock: a copy's hour is its source time's, truncated
            let hour_key = |t: DateTime<Utc>| t.timestamp().div_euclid(3600);
            let day_key = |t: DateTime<Utc>| i64::from(t.date_naive().num_days_from_ce());
            let week_key =
                |t: DateTime<Utc>| i64::from(week_start(t.date_naive()).num_days_from_ce());
            let month_key = |t: DateTime<Utc>| i64::from(month_index(t.date_naive()));
            let hours: BTreeSet<i64> = (0..hourly).map(|i| hour_key(now) - i64::from(i)).collect();
            newest_in(Tier::Hourly, &hour_key, &hours);
            let days: BTreeSet<i64> = (0..daily).map(|i| day_key(now) - i64::from(i)).collect();
            let weeks: BTreeSet<i64> = (0..weekly)
                .map(|i| week_key(now) - 7 * i64::from(i))
                .collect();
            let months: BTreeSet<i64> = (0..monthly)
                .map(|i| month_key(now) - i64::from(i))
                .collect();
            newest_in(Tier::Daily, &day_key, &days);
            newest_in(Tier::Weekly, &week_key, &weeks);
            newest_in(Tier::Monthly, &month_key, &months);
        }
    }

    let mut plan = RetentionPlan::default();
    let mut ordered: Vec<&CopyFacts> = copies.iter().collect();
    ordered.sort_by(|a, b| {
        b.source_time
            .cmp(&a.source_time)
            .then_with(|| b.id.cmp(&a.id))
    });
    for c in ordered {
        match reasons.remove(c.id.as_str()) {
            Some(r) => plan.keep.push(Kept {
                id: c.id.clone(),
                tier: r.iter().map(|(t, _)| *t).max().unwrap_or_default(),
                reasons: r.into_iter().map(|(_, why)| why).collect(),
            }),
            None => plan.delete.push(c.id.clone()),
        }
    }
    plan
}

fn describe(period: &str, key: i64) -> String {
    match period {
        "hourly" => DateTime::from_timestamp(key * 3600, 0)
            .map(|t| t.format("%Y-%m-%d %H:00 UTC").to_string())
            .unwrap_or_default(),
        "monthly" => format!("{:04}-{:02}", key.div_euclid(12), key.rem_euclid(12) + 1),
        "weekly" => format!(
            "week of {}",
            NaiveDate::from_num_days_from_ce_opt(key as i32)
                .map(|d| d.to_string())
                .unwrap_or_default()
        ),
        _ => NaiveDate::from_num_days_from_ce_opt(key as i32)
            .map(|d| d.to_string())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        crate::policy::tags::parse_time(s).unwrap()
    }
    fn gfs(daily: u32, weekly: u32, monthly: u32, min_keep: u32) -> Retention {
        Retention {
            policy: RetentionPolicy::Gfs {
                hourly: 0,
                daily,
                weekly,
                monthly,
            },
            min_keep,
        }
    }
    fn day_copy(d: NaiveDate) -> CopyFacts {
        CopyFacts {
            id: d.format("%Y-%m-%d").to_string(),
            source_time: d.and_hms_opt(3, 0, 0).unwrap().and_utc(),
            verified: true,
            held: None,
        }
    }

    #[test]
    fn the_hourly_tier_keeps_the_newest_copy_of_each_recent_hour() {
        // a snapshot every 4 hours for two days, pruned at the end of day 2
        let copies: Vec<CopyFacts> = (0..12)
            .map(|i| {
                let t = at("2026-11-01T01:00:00Z") + Duration::hours(4 * i);
                CopyFacts {
                    id: t.format("%d-%H").to_string(),
                    source_time: t,
                    verified: true,
                    held: None,
                }
            })
            .collect();
        let now = at("2026-11-02T22:00:00Z");
        let r = Retention {
            policy: RetentionPolicy::Gfs {
                hourly: 24,
                daily: 2,
                weekly: 0,
                monthly: 0,
            },
            min_keep: 1,
        };
        let plan = plan_retention(&copies, &r, now);
        let kept: Vec<&str> = plan.keep.iter().map(|k| k.id.as_str()).collect();
        // the last 24 hours (from 23:00 the day before): 01, 05, 09, 13, 17, 21 of day 2; and
        // day 1's newest (21:00) as its daily
        assert_eq!(
            kept,
            ["02-21", "02-17", "02-13", "02-09", "02-05", "02-01", "01-21"]
        );
        assert!(plan.keep[1].reasons[0].starts_with("hourly: newest of 2026-11-02 17:00"));
        assert_eq!(plan.delete.len(), 5);
    }

    #[test]
    fn an_older_snapshot_is_worth_saving_only_where_retention_would_keep_it() {
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let now = at("2026-11-03T11:00:00Z");
        let today = day_copy(day(3));
        let nov1 = day_copy(day(1)).source_time;
        // one daily copy kept, the floor (1) met by today's: the day before last is not kept
        assert!(!would_keep(
            std::slice::from_ref(&today),
            nov1,
            &gfs(1, 0, 0, 1),
            now
        ));
        // seven daily copies: it fills its day
        assert!(would_keep(
            std::slice::from_ref(&today),
            nov1,
            &gfs(7, 0, 0, 1),
            now
        ));
        // the floor not yet met: kept whatever its age
        assert!(would_keep(&[], nov1, &gfs(1, 0, 0, 1), now));
        let unverified = CopyFacts {
            verified: false,
            ..today.clone()
        };
        assert!(would_keep(&[unverified], nov1, &gfs(1, 0, 0, 1), now));
        // the newest data is always kept
        assert!(would_keep(
            &[day_copy(day(2))],
            today.source_time,
            &gfs(1, 0, 0, 1),
            now
        ));
        let days = Retention {
            policy: RetentionPolicy::Days(1),
            min_keep: 1,
        };
        assert!(!would_keep(std::slice::from_ref(&today), nov1, &days, now));
    }

    /// Runs `days` daily copies from `start`, pruning after each day, then `idle` more days of
    /// pruning with no new copies (a Live account that stopped sending). Returns the kept ids.
    fn simulate(start: &str, days: i64, idle: i64, r: &Retention) -> Vec<String> {
        let start = NaiveDate::parse_from_str(start, "%Y-%m-%d").unwrap();
        let mut copies: Vec<CopyFacts> = Vec::new();
        for day in 0..days + idle {
            let date = start + Duration::days(day);
            if day < days {
                copies.push(day_copy(date));
            }
            let now = date.and_hms_opt(4, 0, 0).unwrap().and_utc();
            let plan = plan_retention(&copies, r, now);
            assert_eq!(plan.keep.len() + plan.delete.len(), copies.len());
            copies.retain(|c| !plan.delete.contains(&c.id));
        }
        let mut ids: Vec<String> = copies.into_iter().map(|c| c.id).collect();
        ids.sort();
        ids
    }

    #[test]
    fn four_hundred_days_of_daily_copies_keep_exactly_the_gfs_set() {
        // 2025-01-01 .. 2026-02-04 (a Wednesday); defaults 7 / 4 / 12, floor 3.
        let kept = simulate("2025-01-01", 400, 0, &gfs(7, 4, 12, 3));
        let want = [
            "2025-03-31",
            "2025-04-30",
            "2025-05-31",
            "2025-06-30",
            "2025-07-31",
            "2025-08-31",
            "2025-09-30",
            "2025-10-31",
            "2025-11-30",
            "2025-12-31", // monthly
            "2026-01-18",
            "2026-01-25", // weekly (weeks of Jan 12 and Jan 19; later weeks' newest are daily)
            "2026-01-29",
            "2026-01-30",
            "2026-01-31",
            "2026-02-01",
            "2026-02-02",
            "2026-02-03",
            "2026-02-04", // daily
        ];
        assert_eq!(kept, want);
    }

    #[test]
    fn floor_holds_when_live_stops_sending_for_60_days() {
        // With monthly copies the monthly ones survive, plus the floor's three newest.
        let kept = simulate("2025-01-01", 400, 60, &gfs(7, 4, 12, 3));
        let want = [
            "2025-05-31",
            "2025-06-30",
            "2025-07-31",
            "2025-08-31",
            "2025-09-30",
            "2025-10-31",
            "2025-11-30",
            "2025-12-31",
            "2026-01-31",
            "2026-02-02",
            "2026-02-03",
            "2026-02-04",
        ];
        assert_eq!(kept, want);
        // A daily-only policy would delete everything after a week; the floor keeps three.
        let kept = simulate("2025-01-01", 30, 60, &gfs(7, 0, 0, 3));
        assert_eq!(kept, ["2025-01-28", "2025-01-29", "2025-01-30"]);
        let kept = simulate(
            "2025-01-01",
            30,
            60,
            &Retention {
                policy: RetentionPolicy::Days(5),
                min_keep: 1,
            },
        );
        assert_eq!(kept, ["2025-01-30"]);
    }

    #[test]
    fn retention_days_policy_table() {
        let now = at("2026-01-10T04:00:00Z");
        let copies: Vec<CopyFacts> = (1..=10)
            .map(|d| day_copy(NaiveDate::from_ymd_opt(2026, 1, d).unwrap()))
            .collect();
        // (days, min_keep, expected number kept)
        for (days, min_keep, want) in [(1, 1, 1), (3, 1, 3), (3, 5, 5), (30, 1, 10), (2, 3, 3)] {
            let plan = plan_retention(
                &copies,
                &Retention {
                    policy: RetentionPolicy::Days(days),
                    min_keep,
                },
                now,
            );
            assert_eq!(plan.keep.len(), want, "days={days} min_keep={min_keep}");
            // what is kept is always the newest
            assert_eq!(plan.keep[0].id, "2026-01-10");
        }
    }

    #[test]
    fn unverified_copies_are_never_deleted_and_do_not_count() {
        let now = at("2026-03-01T04:00:00Z");
        let mut copies: Vec<CopyFacts> = (1..=5)
            .map(|d| day_copy(NaiveDate::from_ymd_opt(2026, 1, d).unwrap()))
            .collect();
        copies[4].verified = false; // newest is unverified: the floor reaches past it
        let plan = plan_retention(&copies, &gfs(0, 0, 0, 2), now);
        let kept: Vec<&str> = plan.keep.iter().map(|k| k.id.as_str()).collect();
        assert_eq!(kept, ["2026-01-05", "2026-01-04", "2026-01-03"]);
        assert_eq!(plan.delete, ["2026-01-02", "2026-01-01"]);
        assert!(plan.keep[0].reasons[0].contains("not verified"));
    }

    #[test]
    fn copies_newer_than_now_are_kept() {
        let now = at("2026-01-01T00:00:00Z");
        let copies = vec![
            day_copy(NaiveDate::from_ymd_opt(2026, 1, 5).unwrap()),
            day_copy(NaiveDate::from_ymd_opt(2025, 1, 5).unwrap()),
            day_copy(NaiveDate::from_ymd_opt(2025, 1, 4).unwrap()),
        ];
        let plan = plan_retention(&copies, &gfs(1, 0, 0, 1), now);
        assert_eq!(plan.delete, ["2025-01-05", "2025-01-04"]);
        assert!(plan.keep[0]
            .reasons
            .iter()
            .any(|r| r.contains("after the run's now")));
    }

    #[test]
    fn reasons_name_the_period() {
        let now = at("2026-02-04T04:00:00Z");
        let copies = vec![day_copy(NaiveDate::from_ymd_opt(2026, 1, 31).unwrap())];
        let plan = plan_retention(&copies, &gfs(7, 4, 12, 0), now);
        let r = &plan.keep[0].reasons;
        assert!(
            r.contains(&"daily: newest of 2026-01-31".to_string()),
            "{r:?}"
        );
        assert!(
            r.contains(&"weekly: newest of week of 2026-01-26".to_string()),
            "{r:?}"
        );
        assert!(
            r.contains(&"monthly: newest of 2026-01".to_string()),
            "{r:?}"
        );
    }

    #[test]
    fn a_held_copy_is_kept_whatever_the_retention_and_counted_like_any_other() {
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let mut old = day_copy(day(1));
        old.held = Some("2026-11-02T10:00:00Z case 4411".into());
        let copies = vec![old, day_copy(day(9)), day_copy(day(10))];
        let now = at("2026-11-10T11:00:00Z");
        let plan = plan_retention(&copies, &gfs(1, 0, 0, 1), now);
        // one daily copy and a floor of one: without the hold, the 1st and the 9th would go
        assert_eq!(plan.delete, vec!["2026-11-09".to_string()]);
        let held = plan.keep.iter().find(|k| k.id == "2026-11-01").unwrap();
        assert_eq!(held.tier, Tier::Held);
        assert_eq!(
            held.reasons,
            vec!["legal hold: 2026-11-02T10:00:00Z case 4411".to_string()]
        );
        // the newest held copy still fills its slots: the floor is met by it, nothing else kept
        let mut newest = day_copy(day(10));
        newest.held = Some("x".into());
        let plan = plan_retention(&[day_copy(day(9)), newest], &gfs(0, 0, 0, 1), now);
        assert_eq!(plan.delete, vec!["2026-11-09".to_string()]);
        assert_eq!(plan.keep[0].reasons.len(), 2, "{:?}", plan.keep[0].reasons);
    }
}
