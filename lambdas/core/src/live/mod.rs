//! The Live account's task handlers. Each takes its typed input, calls the port, and returns
//! a typed output for the state machine; control flow (waiting, retrying, fan-out) is the ASL's.

use crate::error::{FailsafeError, Result};
use crate::model::{Snapshot, SnapshotKind};
use crate::policy::copy::source_time;
use crate::policy::tags::SOURCE_ID;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod copy_latest;
mod delete_old_copies;
mod notify;
mod preflight;
mod select_sources;
mod share;
mod wait_available;

pub use copy_latest::{copy_latest, CopyInput, CopyOutcome, CopyOutput};
pub use delete_old_copies::{
    delete_old_copies, DeleteInput, DeleteOutput, DeleteResult, QuotaLeftOut,
};
pub use notify::{
    notify, summarize, NotifyInput, NotifyOutput, Published, RunSummary, SourceOutcome,
    SourceResult,
};
pub use preflight::{preflight, PreflightInput, PreflightOutput};
pub use select_sources::{select_sources, SelectInput, SelectOutput};
pub use share::{share, ShareInput, ShareOutput};
pub use wait_available::{wait_available, PreviousLook, WaitInput, WaitOutput};

/// What the state machine passes around about one snapshot the tool made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotRef {
    pub kind: SnapshotKind,
    pub id: String,
    pub arn: String,
    pub status: String,
    #[serde(default)]
    pub source_id: String,
    #[serde(default)]
    pub source_create_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub encrypted: bool,
    #[serde(default)]
    pub kms_key_id: Option<String>,
}

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
