//! The handler of `select-sources`: lists the DB instances and Aurora clusters to protect this run (configured `SOURCES` or the input's `sources`).

use crate::config::LiveConfig;
use crate::error::Result;
use crate::model::SourceMode;
use crate::policy::selection::{
    apply_cadences_and_waits, apply_modes, parse_input_selectors, select,
};
use crate::port::Databases;
use crate::wire::{SelectInput, SelectOutput};
use tracing::info;

pub async fn select_sources<S: Databases>(
    cfg: &LiveConfig,
    store: &S,
    input: SelectInput,
) -> Result<SelectOutput> {
    input.polling.check()?;
    let selectors = match &input.sources {
        Some(raw) => parse_input_selectors(raw)?,
        None => cfg.sources.clone(),
    };
    let instances = store.list_instances().await?;
    let clusters = store.list_clusters().await?;
    let mut sel = select(&instances, &clusters, &selectors);
    let cadence_unmatched = apply_cadences_and_waits(
        &mut sel,
        &instances,
        &clusters,
        &cfg.cadences,
        &cfg.copy_waits,
    );
    let unmatched = if input.take_snapshots {
        // a cadence's run: its own sources; the other selectors may match none of them
        for s in sel.sources.iter_mut() {
            s.mode = SourceMode::Incremental;
        }
        Vec::new()
    } else {
        let mut unmatched = apply_modes(&mut sel, &instances, &clusters, &cfg.incremental_sources);
        unmatched.extend(cadence_unmatched);
        unmatched
    };
    for s in &sel.sources {
        info!(action = "select", kind = %s.kind, source = %s.id, mode = ?s.mode,
            every_hours = s.every_hours.unwrap_or(24), "selected source");
    }
    for s in &unmatched {
        info!(action = "select-mode-unmatched", selector = %s.selector, reason = %s.reason, "a mode or cadence selector changes nothing");
    }
    sel.skipped.extend(unmatched);
    for s in &sel.skipped {
        info!(action = "select-skip", selector = %s.selector, reason = %s.reason, "selector selected nothing");
    }
    Ok(SelectOutput {
        sources: sel.sources,
        skipped: sel.skipped,
    })
}
