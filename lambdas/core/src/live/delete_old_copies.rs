//! The handler of `delete-old-copies`: keeps the newest `LIVE_KEEP` available managed share
//! copies per source, and older ones a Failsafe copy may still be reading; deletes the others and
//! every managed copy that ended `failed`, then checks
//! that today's copies fit the manual snapshot quota before any is made. The account's managed
//! copies are listed once for all sources.

use crate::config::LiveConfig;
use crate::error::Result;
use crate::model::{Snapshot, SnapshotKind};
use crate::policy::bounded::Bounded;
use crate::policy::copy::{is_failed_managed_copy, live_deletions, CopyLanes};
use crate::policy::quota::fit_each_kind;
use crate::policy::tags::{KIND, SOURCE_ID};
use crate::port::{SnapshotWrites, Snapshots};
use crate::store::{
    count_by_kind, delete_if_present, own_managed_copies, quota_room, quota_shortfall_of,
    read_snapshot_quotas,
};
use crate::wire::{DeleteInput, DeleteOutput, DeleteResult, QuotaLeftOut};
use std::collections::BTreeMap;
use tracing::{info, warn};

impl QuotaLeftOut {
    /// One failure line per listed source: `kind:id: SnapshotQuotaExceeded: ...` with its
    /// kind's numbers and fix.
    pub fn failure_lines(&self) -> Vec<String> {
        self.left_out
            .iter()
            .map(|name| {
                let kind = name.split(':').next().and_then(SnapshotKind::parse);
                let shortfall = kind
                    .and_then(|k| quota_shortfall_of(&self.quota, k))
                    .unwrap_or("the manual snapshot quota is full");
                format!("{name}: SnapshotQuotaExceeded: left out of this run: {shortfall}")
            })
            .collect()
    }
}

/// Cleans up each source's share copies, then reads the quota: if today's copies (one per
/// source) would not all fit, the sources that fit are copied, in the order selected, and the
/// others are left out for `notify` to fail the run with.
pub async fn delete_old_copies<S: Snapshots + SnapshotWrites>(
    cfg: &LiveConfig,
    store: &S,
    input: DeleteInput,
) -> Result<DeleteResult> {
    let (mut deleted, mut deleted_failed, mut would_delete, mut held) = (
        Bounded::new(),
        Bounded::new(),
        Bounded::new(),
        Bounded::new(),
    );
    let mut kept_count = 0;
    // One paginated listing of the account's managed copies (a call per 100), not a call per
    // source: at 1,000 sources that was 1,000 describe calls in this one invocation.
    let mut by_source: BTreeMap<(SnapshotKind, &str), Vec<Snapshot>> = BTreeMap::new();
    let managed = if input.sources.is_empty() {
        Vec::new()
    } else {
        own_managed_copies(store).await?
    };
    for s in &managed {
        let kind = s.tags.get(KIND).and_then(|k| SnapshotKind::parse(k));
        if let (Some(kind), Some(id)) = (kind, s.tags.get(SOURCE_ID)) {
            if kind == s.kind {
                by_source.entry((kind, id)).or_default().push(s.clone());
            }
        }
    }
    for source in &input.sources {
        let copies = by_source
            .remove(&(source.kind, source.id.as_str()))
            .unwrap_or_default();
        // a source with a wait of its own (COPY_WAITS) keeps its shares as much longer
        let wait = input.wait.for_source(source.copy_wait_seconds);
        let plan = live_deletions(&copies, cfg.live_keep as usize, input.now, &wait);
        kept_count += copies.len() - plan.delete.len();
        for h in plan.held {
            info!(action = "delete-old-copy-held", snapshot = %h.id, source = %source.id, "kept beyond LIVE_KEEP: a Failsafe copy may still be reading it");
            held.push(h.id.clone());
        }
        for d in plan.delete {
            let failed = is_failed_managed_copy(d);
            if input.dry_run {
                info!(action = "delete-old-copy", dry_run = true, snapshot = %d.id, source = %source.id, failed, "would delete share copy");
                would_delete.push(d.id.clone());
                continue;
            }
            delete_if_present(store, source.kind, &d.id).await?;
            info!(action = "delete-old-copy", snapshot = %d.id, source = %source.id, failed, "deleted share copy");
            if failed {
                deleted_failed.push(d.id.clone());
            }
            deleted.push(d.id.clone());
        }
    }
    let needed = count_by_kind(input.sources.iter().map(|s| s.kind));
    let quota = read_snapshot_quotas(store, &needed, "liveKeep").await?;
    let (copies, left_out) = fit_each_kind(
        input.sources,
        |kind| quota_room(&quota, kind),
        |s| s.kind,
        |s| (s.kind, s.id.clone()),
        |_| 0,
    );
    let left_out = Bounded::from(
        left_out
            .iter()
            .inspect(|s| warn!(action = "quota-left-out", source = %s.id, kind = %s.kind, "left out of today's copies: the manual snapshot quota is full"))
            .map(|s| format!("{}:{}", s.kind, s.id))
            .collect::<Vec<_>>(),
    );
    Ok(DeleteResult {
        report: DeleteOutput {
            deleted_count: deleted.count,
            deleted: deleted.first,
            deleted_failed_count: deleted_failed.count,
            deleted_failed: deleted_failed.first,
            held_count: held.count,
            held: held.first,
            would_delete_count: would_delete.count,
            would_delete: would_delete.first,
            kept_count,
            quota,
            left_out: left_out.first,
            left_out_count: left_out.count,
        },
        copies: CopyLanes::by_kind(copies, |s| s.kind),
    })
}
