//! The handler of `find-shared`: snapshots shared with this account by allowed Live accounts,
//! in every region they share from, named like rds-failsafe share copies, not saved yet. What
//! is saved is what it finds itself; a trigger message only tells it what to expect.

use crate::arn::Arn;
use crate::config::FailsafeConfig;
use crate::config::RetentionPolicy;
use crate::error::Result;
use crate::model::{snapshot_type, Snapshot, SnapshotKind};
use crate::policy::bounded::Bounded;
use crate::policy::copy::{dated_after_run, CopyLanes};
use crate::policy::naming::{failsafe_copy_id, parse_share_copy_id};
use crate::policy::quota::fit_each_kind;
use crate::policy::retention::{would_keep, CopyFacts};
use crate::policy::status::is_verified;
use crate::policy::tags::{Provenance, SOURCE_SNAPSHOT_ARN};
use crate::port::{SnapshotQuery, Snapshots};
use crate::store::{
    count_by_kind, own_managed_copies, quota_room, quota_shortfall_of, read_snapshot_quotas,
};
use crate::wire::{FindInput, FindOutput, Ignored, SaveItem, SharedItem, Trigger};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use tracing::{info, warn};

impl SharedItem {
    /// The database the shared snapshot is of: named, or read off the share copy's name.
    pub fn source_id(&self) -> Option<String> {
        self.source_id
            .clone()
            .or_else(|| source_id_in_name(&self.source_arn))
    }
}

/// The source identifier a share copy's name (`rdsf-<source-id>-<stamp>`) carries.
pub fn source_id_in_name(snapshot_arn: &str) -> Option<String> {
    let arn = Arn::parse(snapshot_arn)?;
    parse_share_copy_id(arn.rds_snapshot_id()?).map(|(name, _)| name)
}

impl From<&SaveItem> for SharedItem {
    fn from(i: &SaveItem) -> Self {
        let named = source_id_in_name(&i.source_arn).as_deref() == Some(i.source_id.as_str());
        SharedItem {
            kind: i.kind,
            source_arn: i.source_arn.clone(),
            source_id: (!named).then(|| i.source_id.clone()),
        }
    }
}

/// What a shared snapshot would become, or why it is none of ours.
pub fn plan_item(cfg: &FailsafeConfig, s: &Snapshot) -> Result<SaveItem, String> {
    let arn = Arn::parse(&s.arn).ok_or_else(|| "not an ARN".to_string())?;
    if !cfg.source_accounts.contains(&arn.account) {
        return Err(format!(
            "shared by account {}, which is not an allowed Live account",
            arn.account
        ));
    }
    let id = arn
        .rds_snapshot_id()
        .ok_or_else(|| "not an RDS snapshot ARN".to_string())?;
    let (name, stamp_time) = parse_share_copy_id(id)
        .ok_or_else(|| "not named like an rds-failsafe share copy".to_string())?;
    let source_create_time = s.original_create_time.unwrap_or(stamp_time);
    // The full source id (DBInstanceIdentifier / DBClusterIdentifier) names the copy; the share
    // copy's name part may already be cut to fit the Live side's limit.
    let source_id = if s.source_id.is_empty() {
        name
    } else {
        s.source_id.clone()
    };
    let target_id =
        failsafe_copy_id(s.kind, &arn.account, &source_id, stamp_time).map_err(|e| e.message)?;
    Ok(SaveItem {
        kind: s.kind,
        source_arn: s.arn.clone(),
        source_account: arn.account.clone(),
        source_region: arn.region.clone(),
        source_id,
        source_create_time,
        target_id,
        encrypted: s.encrypted,
        engine: s.engine.clone(),
        allocated_storage: s.allocated_storage,
    })
}

/// The times a shared snapshot claims for its data: its name's stamp (chosen by the Live side)
/// and the original creation time RDS reports for a DB snapshot copy. (The share copy's own
/// creation time is when it was copied, which a run that started earlier may well see.)
pub fn claimed_times(s: &Snapshot) -> Vec<DateTime<Utc>> {
    let stamp =
        Arn::parse(&s.arn).and_then(|a| parse_share_copy_id(a.rds_snapshot_id()?).map(|(_, t)| t));
    [stamp, s.original_create_time]
        .into_iter()
        .flatten()
        .collect()
}

/// Why an announced snapshot was not found among those shared with this account: the causes
/// an operator should check, most likely first.
pub fn missing_reason(cfg: &FailsafeConfig, arn: &str) -> String {
    let Some(a) = Arn::parse(arn).filter(|a| a.service == "rds") else {
        return "not an RDS snapshot ARN".into();
    };
    if !cfg.source_regions.contains(&a.region) {
        return format!(
            "it is in region {}, but find-shared looks only in {} (a shared snapshot is visible only in its own region): add {} to SOURCE_REGIONS (CDK: the Failsafe stack's sourceRegions, set from liveRegion)",
            a.region,
            cfg.source_regions.join(", "),
            a.region
        );
    }
    format!(
        "not visible to account {} in {}: not shared with it (the snapshot's restore attribute), deleted since, or shared by another account than {}; if it is encrypted, the Live share key must also grant this account",
        cfg.account_id, a.region, a.account
    )
}

pub async fn find_shared<S: Snapshots>(
    cfg: &FailsafeConfig,
    store: &S,
    input: FindInput,
) -> Result<FindOutput> {
    input.polling.check()?;
    let now = input.now.unwrap_or_else(Utc::now);
    let own = own_managed_copies(store).await?;
    // Saved: a copy verify passed, one that failed (prune deletes it; the next run copies
    // again), or one still being made (by a run that may still be waiting for it). A copy made
    // but never verified (its run stopped waiting: policy::copy_time) is not: it is listed
    // again, and save finds it (`exists`), so this run verifies it instead of leaving it
    // unverified for good. It needs no room in the quota: it exists.
    let (saved, unverified): (Vec<_>, Vec<_>) = own
        .iter()
        .partition(|s| is_verified(s) || !s.is_available());
    let unverified: BTreeSet<&str> = unverified.iter().map(|s| s.id.as_str()).collect();
    let saved_ids: BTreeSet<&str> = saved.iter().map(|s| s.id.as_str()).collect();
    let saved_arns: BTreeSet<&str> = saved
        .iter()
        .filter_map(|s| s.tags.get(SOURCE_SNAPSHOT_ARN))
        .map(String::as_str)
        .collect();
    let mut out = FindOutput {
        regions: cfg.source_regions.clone(),
        ..FindOutput::default()
    };
    let mut seen_saved: BTreeSet<String> = BTreeSet::new();
    let mut to_save: Vec<SaveItem> = Vec::new();
    for region in &cfg.source_regions {
        for kind in [SnapshotKind::Instance, SnapshotKind::Cluster] {
            let q = SnapshotQuery {
                region: Some(region.clone()),
                source_id: None,
                snapshot_type: Some(snapshot_type::SHARED),
            };
            for s in store.list_snapshots(kind, &q).await? {
                let planned = plan_item(cfg, &s).and_then(|item| {
                    match dated_after_run(&claimed_times(&s), now) {
                        Some(reason) => Err(reason),
                        None => Ok(item),
                    }
                });
                match planned {
                    Err(reason) => out.ignored.push(Ignored {
                        arn: s.arn.clone(),
                        reason,
                    }),
                    Ok(_) if !s.is_available() => out.ignored.push(Ignored {
                        arn: s.arn.clone(),
                        reason: format!("status {}; picked up once available", s.status),
                    }),
                    Ok(item)
                        if saved_ids.contains(item.target_id.as_str())
                            || saved_arns.contains(item.source_arn.as_str()) =>
                    {
                        seen_saved.insert(item.source_arn);
                    }
                    Ok(item) => to_save.push(item),
                }
            }
        }
    }
    // (a copy made but not verified is verified whatever its age: prune deletes only verified
    // copies)
    let (existing, new): (Vec<SaveItem>, Vec<SaveItem>) = to_save
        .into_iter()
        .partition(|i| unverified.contains(i.target_id.as_str()));
    let (new, pruned_at_once) = worth_saving(cfg, &own, new, now);
    out.ignored.extend(pruned_at_once);
    for item in new.iter().chain(&existing) {
        info!(action = "find", source = %item.source_arn, target = %item.target_id, "to save");
    }
    let to_save: Vec<SaveItem> = new.iter().chain(&existing).cloned().collect();
    out.already_saved = seen_saved.len();
    for i in &out.ignored {
        info!(action = "find-ignore", snapshot = %i.arn, reason = %i.reason, "ignored shared snapshot");
    }
    if let Some(trigger) = &input.execution_input.trigger {
        let missing = check_announced(cfg, trigger, &to_save, &out, &seen_saved, &saved_arns);
        for m in &missing {
            warn!(action = "find-missing", snapshot = %m.arn, reason = %m.reason, "announced snapshot cannot be saved");
        }
        let missing = Bounded::from(missing);
        out.missing = missing.first;
        out.missing_count = missing.count;
    }
    let (mut fit, left_out) = cut_to_quota(cfg, store, new, &mut out).await?;
    fit.extend(existing);
    out.items = CopyLanes::by_kind(fit.iter().map(SharedItem::from), |i| i.kind);
    let left_out = Bounded::from(left_out);
    out.left_out = left_out.first;
    out.left_out_count = left_out.count;
    let ignored = Bounded::from(std::mem::take(&mut out.ignored));
    out.ignored = ignored.first;
    out.ignored_count = ignored.count;
    Ok(out)
}

/// The items retention would keep beside the copies of their source this account has and the
/// newer items of it this run saves (`policy::retention::would_keep`), and the others, ignored
/// with the reason. A Live account keeps its share copies (`LIVE_KEEP`) after the Failsafe side
/// has pruned their copies, and a missed run leaves several of one source: one that this run's
/// prune would delete again is not copied (a full copy, for nothing; and a deleted most recent
/// copy makes the next copy full).
fn worth_saving(
    cfg: &FailsafeConfig,
    own: &[Snapshot],
    items: Vec<SaveItem>,
    now: DateTime<Utc>,
) -> (Vec<SaveItem>, Vec<Ignored>) {
    // newest first, so that each is judged beside the newer ones this run saves
    let mut items: Vec<(usize, SaveItem)> = items.into_iter().enumerate().collect();
    items.sort_by_key(|(_, i)| std::cmp::Reverse(i.source_create_time));
    let mut facts: BTreeMap<(SnapshotKind, String, String), Vec<CopyFacts>> = BTreeMap::new();
    for s in own {
        if let (Some(p), Some(f)) = (Provenance::from_tags(&s.tags), CopyFacts::of(s)) {
            facts
                .entry((p.kind, p.source_account, p.source_id))
                .or_default()
                .push(f);
        }
    }
    let (mut keep, mut ignored) = (Vec::new(), Vec::new());
    for (order, item) in items {
        let key = (
            item.kind,
            item.source_account.clone(),
            item.source_id.clone(),
        );
        let existing = facts.entry(key).or_default();
        if would_keep(existing, item.source_create_time, &cfg.retention, now) {
            existing.push(CopyFacts {
                id: item.target_id.clone(),
                source_time: item.source_create_time,
                verified: true,
                held: None,
            });
            keep.push((order, item));
        } else {
            ignored.push(Ignored {
                reason: format!(
                    "older than what retention keeps of {} beside its newer copies: saving it would be pruned by this run",
                    item.source_id
                ),
                arn: item.source_arn,
            });
        }
    }
    // in the order the listing gave
    keep.sort_by_key(|(order, _)| *order);
    (keep.into_iter().map(|(_, item)| item).collect(), ignored)
}

/// Reads the Failsafe account's manual snapshot quotas before anything is copied (retention
/// deletes only after saving) and keeps what fits: each source's newest snapshot before any
/// source's second. Every item left out is logged and returned with the quota's message.
async fn cut_to_quota<S: Snapshots>(
    cfg: &FailsafeConfig,
    store: &S,
    to_save: Vec<SaveItem>,
    out: &mut FindOutput,
) -> Result<(Vec<SaveItem>, Vec<Ignored>)> {
    let settings = match cfg.retention.policy {
        RetentionPolicy::Days(_) => "retention.days",
        RetentionPolicy::Gfs { .. } => "retention.hourly/daily/weekly/monthly",
    };
    let needed = count_by_kind(to_save.iter().map(|i| i.kind));
    out.quota = read_snapshot_quotas(store, &needed, settings).await?;
    let (fit, left_out) = fit_each_kind(
        to_save,
        |kind| quota_room(&out.quota, kind),
        |i| i.kind,
        |i| {
            (
                i.source_account.clone(),
                i.source_region.clone(),
                i.source_id.clone(),
            )
        },
        |i| i.source_create_time,
    );
    let left_out = left_out
        .into_iter()
        .map(|item| {
            let shortfall = quota_shortfall_of(&out.quota, item.kind).unwrap_or_default();
            warn!(action = "find-left-out", source = %item.source_arn, "left out: the manual snapshot quota is full");
            Ignored {
                arn: item.source_arn,
                reason: format!("left out of this run: {shortfall}"),
            }
        })
        .collect();
    Ok((fit, left_out))
}

/// Every snapshot the message announced must be saved now or earlier. One that is neither to
/// be saved in this run nor saved before is missing, with the reason it was ignored or the
/// likely reason it is not visible.
fn check_announced(
    cfg: &FailsafeConfig,
    trigger: &Trigger,
    to_save: &[SaveItem],
    found: &FindOutput,
    seen_saved: &BTreeSet<String>,
    saved_arns: &BTreeSet<&str>,
) -> Vec<Ignored> {
    let mut missing = Vec::new();
    for arn in &trigger.snapshots {
        let saving = to_save.iter().any(|i| &i.source_arn == arn);
        if saving || seen_saved.contains(arn) || saved_arns.contains(arn.as_str()) {
            continue;
        }
        let reason = match found.ignored.iter().find(|i| &i.arn == arn) {
            Some(i) => format!("shared, but ignored: {}", i.reason),
            None => missing_reason(cfg, arn),
        };
        missing.push(Ignored {
            arn: arn.clone(),
            reason,
        });
    }
    missing
}
