//! The handler of `select-drills`: per source the newest verified copy, as the smallest DB
//! instance class RDS offers for its engine version (unless the deployment names one); with
//! `DRILL_SOURCES=one` only the source drilled least recently.

use crate::config::DrillConfig;
use crate::error::{ErrorKind, FailsafeError, Result};
use crate::policy::drill::{drill_engines, pick_drills, Offers};
use crate::policy::status::group_by_source;
use crate::port::{Databases, Snapshots};
use crate::store::own_managed_copies;
use crate::wire::{SelectDrillsInput, SelectDrillsOutput};
use tracing::{info, warn};

pub async fn select_drills<S: Snapshots + Databases>(
    cfg: &DrillConfig,
    store: &S,
    input: SelectDrillsInput,
) -> Result<SelectDrillsOutput> {
    let copies = own_managed_copies(store).await?;
    let grouped = group_by_source(&copies);
    let mut offers = Offers::new();
    if cfg.instance_class.is_none() {
        for (engine, version) in drill_engines(&grouped) {
            let offered = store.orderable_classes(&engine, version.as_deref()).await?;
            offers.insert((engine, version), offered);
        }
    }
    // A run that finds nothing to restore must not look like a passed drill.
    let (items, skipped) = pick_drills(
        &grouped,
        cfg.scope,
        cfg.instance_class.as_deref(),
        &offers,
        input.now,
    )
    .map_err(|e| FailsafeError::new(ErrorKind::SnapshotNotFound, e))?;
    for s in &skipped {
        warn!(action = "select-drills", skipped = %s, "source not drilled");
    }
    for i in &items {
        info!(action = "select-drills", source = %i.source_id, copy = %i.copy_id, db = %i.db_id, class = %i.instance_class, "drill planned");
    }
    Ok(SelectDrillsOutput { items, skipped })
}
