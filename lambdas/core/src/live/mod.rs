//! The Live account's task handlers. Each takes its typed input, calls the port, and returns
//! a typed output for the state machine; control flow (waiting, retrying, fan-out) is the ASL's.

use crate::error::{FailsafeError, Result};
use crate::model::Snapshot;
use crate::policy::copy::source_time;
use crate::policy::tags::SOURCE_ID;
use serde::Deserialize;

mod copy_latest;
mod delete_old_copies;
mod notify;
mod preflight;
mod select_sources;
mod share;
mod wait_available;

pub use crate::wire::{CopyInput, CopyOutcome, CopyOutput};
pub use crate::wire::{DeleteInput, DeleteOutput, DeleteResult, QuotaLeftOut};
pub use crate::wire::{
    NotifyInput, NotifyOutput, Published, RunSummary, SourceOutcome, SourceResult,
};
pub use crate::wire::{PreflightInput, PreflightOutput};
pub use crate::wire::{PreviousLook, WaitInput, WaitOutput};
pub use crate::wire::{SelectInput, SelectOutput};
pub use crate::wire::{ShareInput, ShareOutput};
pub use copy_latest::copy_latest;
pub use delete_old_copies::delete_old_copies;
pub use notify::{notify, summarize};
pub use preflight::preflight;
pub use select_sources::select_sources;
pub use share::share;
pub use wait_available::wait_available;

impl From<&Snapshot> for SnapshotRef {
    fn from(s: &Snapshot) -> Self {
        SnapshotRef {
            kind: s.kind,
            id: s.id.clone(),
            arn: s.arn.clone(),
            status: s.status.clone(),
            source_id: s
                .tags
                .get(SOURCE_ID)
                .cloned()
                .unwrap_or_else(|| s.source_id.clone()),
            source_create_time: source_time(s),
            encrypted: s.encrypted,
            kms_key_id: s.kms_key_id.clone(),
        }
    }
}

/// Parses a Lambda's JSON input into its typed form; the error names the field.
pub fn parse_input<T: for<'de> Deserialize<'de>>(
    task: &str,
    value: serde_json::Value,
) -> Result<T> {
    serde_json::from_value(value)
        .map_err(|e| FailsafeError::input(format!("{task}: input does not match: {e}")))
}

pub use crate::wire::SnapshotRef;
