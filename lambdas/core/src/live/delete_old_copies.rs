//! The handler of `delete-old-copies`: keeps the newest `LIVE_KEEP` managed share copies per source and deletes older ones.

use crate::config::LiveConfig;
use crate::error::Result;
use crate::model::{snapshot_type, Snapshot, Source};
use crate::policy::copy::live_deletions;
use crate::policy::tags::{is_managed, KIND, SOURCE_ID};
use crate::port::{delete_if_present, SnapshotQuery, SnapshotStore};
use serde::{Deserialize, Serialize};
use tracing::info;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteInput {
    pub sources: Vec<Source>,
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteOutput {
    pub deleted: Vec<String>,
    /// In a dry run: what would have been deleted.
    pub would_delete: Vec<String>,
    pub kept: Vec<String>,
}

/// Keeps the newest `LIVE_KEEP` managed share copies of each source and deletes the rest; never
/// one still being copied, never an unmanaged or automated snapshot.
pub async fn delete_old_copies(
    cfg: &LiveConfig,
    store: &dyn SnapshotStore,
    input: DeleteInput,
) -> Result<DeleteOutput> {
    let mut out = DeleteOutput::default();
    for source in &input.sources {
        let query = SnapshotQuery {
            region: None,
            source_id: Some(source.id.clone()),
            snapshot_type: Some(snapshot_type::MANUAL),
        };
        let copies: Vec<Snapshot> = store
            .list_snapshots(source.kind, &query)
            .await?
            .into_iter()
            .filter(|s| is_managed(&s.tags))
            .filter(|s| {
                s.tags.get(SOURCE_ID) == Some(&source.id)
                    && s.tags.get(KIND).map(String::as_str) == Some(source.kind.as_str())
            })
            .collect();
        let doomed = live_deletions(&copies, cfg.live_keep as usize);
        for c in &copies {
            if !doomed.iter().any(|d| d.id == c.id) {
                out.kept.push(c.id.clone());
            }
        }
        for d in doomed {
            if input.dry_run {
                info!(action = "delete-old-copy", dry_run = true, snapshot = %d.id, source = %source.id, "would delete old share copy");
                out.would_delete.push(d.id.clone());
                continue;
            }
            delete_if_present(store, source.kind, &d.id).await?;
            info!(action = "delete-old-copy", snapshot = %d.id, source = %source.id, "deleted old share copy");
            out.deleted.push(d.id.clone());
        }
    }
    Ok(out)
}
