//! The restore drill's task handlers (Failsafe account, opt-in): `select-drills` picks the
//! copies, `restore-drill` restores one into a database tagged `rds-failsafe:drill=true`,
//! `check-drill` reads its status, `validate-drill` runs the source's checks on the restored
//! data, `end-drill` deletes what the drill made and records the result. The waiting and the clean-up on failure are the drill state machine's.

mod check_drill;
mod end_drill;
mod restore_drill;
mod select_drills;
mod validate_drill;

use crate::error::Result;
use crate::model::SnapshotKind;
use crate::policy::drill::{restore_progress, RestoreProgress};
use crate::port::Databases;

/// How a restored DB instance or cluster stands, with its status; `None` if it is not there.
/// `check-drill`, `restore-drill` (a cluster's instance waits for it) and `rdsf restore` read it.
pub async fn db_progress<S: Databases>(
    store: &S,
    kind: SnapshotKind,
    id: &str,
) -> Result<Option<(RestoreProgress, String)>> {
    Ok(store
        .describe_db(kind, id)
        .await?
        .map(|db| (restore_progress(&db.status), db.status)))
}

pub use crate::wire::{CheckDrillInput, CheckDrillOutput};
pub use crate::wire::{DrillOutcome, EndDrillInput, EndDrillOutput};
pub use crate::wire::{RestoreDrillInput, RestoreDrillOutput};
pub use crate::wire::{SelectDrillsInput, SelectDrillsOutput};
pub use crate::wire::{ValidateDrillInput, ValidateDrillOutput};
pub use check_drill::check_drill;
pub use end_drill::{drill_metric, end_drill};
pub use restore_drill::{drill_restore_request, restore_drill};
pub use select_drills::select_drills;
pub use validate_drill::validate_drill;
