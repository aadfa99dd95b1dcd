//! The Failsafe account's task handlers. Safe even if the Live account is hostile: a message
//! only wakes the state machine up; what is saved is what `find-shared` finds itself; nothing
//! here deletes or overwrites a copy because of anything a Live account sent.

mod find_shared;
mod prune;
mod save;
mod start_failsafe;
mod verify;

pub use crate::wire::{CopyFigures, VerifyInput, VerifyOutput};
pub use crate::wire::{
    CopyTotals, FailsafeSummary, ItemOutcome, ItemRef, ItemResult, NotSaved, PruneInput,
    PruneOutput, RetentionReport, SourceRetention,
};
pub use crate::wire::{
    ExecutionInput, FindInput, FindOutput, Ignored, SaveItem, SharedItem, Trigger,
};
pub use crate::wire::{Rejected, StartOutput};
pub use crate::wire::{SaveInput, SaveOutcome, SaveOutput};
pub use find_shared::{claimed_times, find_shared, missing_reason, plan_item, source_id_in_name};
pub use prune::{
    copy_age_record, newest_copy_age_metric, prune, run_outcome_metric, summarize_items,
    COPY_TIMEOUT,
};
pub use save::save;
pub use start_failsafe::start_failsafe;
pub use verify::{copy_time_metric, verification_problems, verify};
