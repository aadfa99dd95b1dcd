//! The wire types of the state machines, in one place: what each task Lambda takes from its
//! state (`…Input`) and returns to it (`…Output`), and the records they carry, by machine and task.
//! Their JSON is the contract with `statemachines/*.asl.json` (the paths the states read and
//! write) and between the tasks of one run; the handlers (`crate::live`, `crate::failsafe`,
//! `crate::drill`) hold the behaviour, this module only the shapes.

use crate::model::{SnapshotKind, Source};
use crate::policy::copy::{CopyLanes, CopyMode, ExpectedCopy};
use crate::policy::copy_time::{WaitBound, WaitSettings};
use crate::policy::drill::DrillItem;
use crate::policy::map_results;
use crate::policy::message::FailsafeMessage;
use crate::policy::polling::Polling;
use crate::policy::preflight::Finding;
use crate::policy::retention::Kept;
use crate::policy::selection::SelectionSkip;
use crate::store::QuotaUse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

// -- both Live lanes: one snapshot the tool made (live/mod.rs) --------------------------------

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

// -- select-sources, the live machine (live/select_sources.rs) --------------------------------

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SelectInput {
    /// Overrides the configured `SOURCES` for this run.
    #[serde(default)]
    pub sources: Option<Vec<String>>,
    /// A cadence's run (CDK `cadences`): every selected source gets a snapshot taken for the run
    /// (`SourceMode::Incremental`), whatever `INCREMENTAL_SOURCES` says: its newest automated
    /// snapshot is the one the daily run already copied.
    #[serde(default)]
    pub take_snapshots: bool,
    #[serde(flatten)]
    pub polling: Polling,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SelectOutput {
    pub sources: Vec<Source>,
    pub skipped: Vec<SelectionSkip>,
}

// -- preflight, the live machine (live/preflight.rs) ------------------------------------------

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreflightInput {
    /// The run's selection (`select-sources`).
    pub sources: Vec<Source>,
    /// What the selection left out (`select-sources`' `skipped`): sources RDS cannot copy are
    /// problems here.
    #[serde(default)]
    pub skipped: Vec<SelectionSkip>,
    /// When the run started (`$$.Execution.StartTime`) and how long a copy may take
    /// (`maxWaitSeconds`): an instance's backup window inside that time is a warning.
    #[serde(default)]
    pub now: Option<DateTime<Utc>>,
    #[serde(default)]
    pub max_wait_seconds: Option<i64>,
    /// The run's wait settings: with them, each instance's copy lasts its own wait bound
    /// (`policy::copy_time`) rather than `maxWaitSeconds`.
    #[serde(default)]
    pub wait: Option<WaitSettings>,
    #[serde(default)]
    pub dry_run: bool,
}

/// Bounded however many sources: the first findings of each level in full, and the counts.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreflightOutput {
    pub problems: Vec<Finding>,
    pub problem_count: usize,
    pub warnings: Vec<Finding>,
    pub warning_count: usize,
    pub ok_count: usize,
    /// In a dry run: the message the run would have stopped with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_stop: Option<String>,
}

// -- delete-old-copies, the live machine (live/delete_old_copies.rs) --------------------------

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteInput {
    pub sources: Vec<Source>,
    #[serde(default)]
    pub dry_run: bool,
    /// When the run started: a share copy made less than `share_in_use_seconds` before it is
    /// kept beyond `LIVE_KEEP` (a Failsafe copy may still be reading it).
    pub now: DateTime<Utc>,
    /// The run's wait settings, which size that time.
    pub wait: WaitSettings,
}

/// Bounded however many sources: the first identifiers of each list and the counts.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteOutput {
    pub deleted: Vec<String>,
    pub deleted_count: usize,
    /// Of the deleted: copies that had ended `failed` (a run before reported each).
    pub deleted_failed: Vec<String>,
    pub deleted_failed_count: usize,
    /// Share copies beyond `LIVE_KEEP` kept because a Failsafe copy may still be reading them.
    pub held: Vec<String>,
    pub held_count: usize,
    /// In a dry run: what would have been deleted.
    pub would_delete: Vec<String>,
    pub would_delete_count: usize,
    pub kept_count: usize,
    /// The quota of each kind this run copies, read after the deletions.
    pub quota: Vec<QuotaUse>,
    /// The first sources (`kind:id`) left out of today's copies because the manual snapshot
    /// quota cannot hold one copy of every source; `notify` fails the run naming them.
    pub left_out: Vec<String>,
    pub left_out_count: usize,
}

/// What `notify` reads of this task's report, to fail the run naming the sources the quota
/// left out. Empty when the clean-up itself failed (the state then holds its error instead).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaLeftOut {
    #[serde(default)]
    pub left_out: Vec<String>,
    #[serde(default)]
    pub left_out_count: usize,
    #[serde(default)]
    pub quota: Vec<QuotaUse>,
}

/// The report, and the sources to copy today (every source, or those the quota holds), in the
/// lanes the state machine copies them in.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteResult {
    pub report: DeleteOutput,
    pub copies: CopyLanes<Source>,
}

// -- copy-latest, the live machine (live/copy_latest.rs) --------------------------------------

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CopyInput {
    pub source: Source,
    #[serde(default)]
    pub dry_run: bool,
    /// When the run started (`$$.Execution.StartTime` of the Live run): the time in the name of
    /// the snapshot an incremental source's run takes, so that a retried task finds it.
    pub run_start: DateTime<Utc>,
    /// The run's wait settings, from which the output's `waitBound` is computed. Required: a
    /// state machine that reads a `waitBound` the task did not give would fail with
    /// `States.Runtime`, which no Catch takes; a missing field is an `InvalidInput` it does.
    pub wait: WaitSettings,
    /// A cadence's run (`SelectInput::take_snapshots`): a database RDS cannot snapshot now (its
    /// backup window, maintenance) is skipped, naming why, as the next run will take it; the
    /// daily run fails for it instead.
    #[serde(default)]
    pub take_snapshots: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CopyOutcome {
    /// A copy was started in this run.
    Copying,
    /// The share copy of the newest automated snapshot exists already (any status).
    Exists,
    /// Dry run: what would be copied.
    Planned,
    /// Nothing to copy (no available automated snapshot).
    Skipped,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CopyOutput {
    pub outcome: CopyOutcome,
    pub source: Source,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automated_snapshot_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    /// Why it was skipped, or a note on encryption; always present (null if none) because the
    /// state machine reads it.
    pub reason: Option<String>,
    /// How long the state machine waits for this copy (`policy::copy_time`), when there is a
    /// copy to wait for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_bound: Option<WaitBound>,
    /// Full or incremental, for a share copy this run starts (`policy::copy::copy_mode`); null
    /// otherwise (an existing copy, a snapshot the run takes). Always written: `share` reads it.
    pub copy: Option<ExpectedCopy>,
}

// -- wait-available, the live machine (live/wait_available.rs) --------------------------------

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WaitInput {
    pub snapshot: SnapshotRef,
    /// Seconds the state machine has waited for this copy since its first look (the sum of its
    /// Waits): 0 at the first look.
    pub elapsed_seconds: u64,
    /// The run's `pollSeconds` (the shortest wait) and `maxWaitSeconds` (when the copy times out).
    pub poll_seconds: u64,
    pub max_wait_seconds: u64,
    /// What the previous look saw (at the first look: 0 seconds, no figure).
    #[serde(default)]
    pub previous: Option<PreviousLook>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviousLook {
    pub elapsed_seconds: u64,
    pub percent_progress: Option<i32>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WaitOutput {
    pub available: bool,
    pub status: String,
    pub percent_progress: Option<i32>,
    pub snapshot: SnapshotRef,
    /// As given: the state machine times the copy out when it reaches `maxWaitSeconds`.
    pub elapsed_seconds: u64,
    /// How long the state machine's Wait waits before the next look.
    pub next_wait_seconds: u64,
    /// The copy's pace as this look saw it (`policy::copy_time::pace_note`): the cause of a copy
    /// that times out quotes it.
    pub pace: String,
}

// -- share, the live machine (live/share.rs) --------------------------------------------------

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShareInput {
    pub snapshot: SnapshotRef,
    #[serde(default)]
    pub dry_run: bool,
    /// The share copy this run started (`CopyOutput::copy`) and the seconds it was waited for:
    /// `share` returns its figures for the run's summary.
    #[serde(default)]
    pub copy: Option<ExpectedCopy>,
    #[serde(default)]
    pub copy_seconds: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShareOutput {
    pub snapshot: SnapshotRef,
    pub shared_with: Vec<String>,
    pub added: Vec<String>,
    /// The share copy's figures, when this run made it; null otherwise. Always written: the
    /// item's result reads it (`RecordCopied`).
    pub copy: Option<CopyFigures>,
}

// -- notify, the live machine (live/notify.rs) ------------------------------------------------

/// One source's result, as the Live Map iteration leaves it. Small, so 1,000 results with
/// 63-character identifiers fit in a state: the share copy's name is not repeated, it follows
/// from the source and `sourceCreateTime` by the naming rule `copy-latest` used.
/// How a source of the Live Map ended (its `Result*` states in live.asl.json).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceOutcome {
    Copied,
    Skipped,
    Planned,
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceResult {
    pub outcome: SourceOutcome,
    pub source: Source,
    /// When the automated snapshot the share copy was made from was taken (copied, planned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_create_time: Option<DateTime<Utc>>,
    /// A share copy this run made: what it moved and how long it took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy: Option<CopyFigures>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyInput {
    /// Each source's result, or its failed child execution's record (`map_results`), from the
    /// two copy lanes (`policy::copy::CopyLanes`), read as one list.
    #[serde(deserialize_with = "map_results::deserialize")]
    pub results: Vec<SourceResult>,
    /// `delete-old-copies`' report (or its error): the sources the quota left out fail the run.
    #[serde(default)]
    pub deletion: QuotaLeftOut,
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Published {
    pub topic_arn: String,
    pub message_id: String,
}

/// Bounded whatever the number of sources: each list holds its first entries, the counts are
/// complete (each source's detail is in its child execution).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    pub copied: Vec<String>,
    pub copied_count: usize,
    pub skipped: Vec<String>,
    pub skipped_count: usize,
    pub planned: Vec<String>,
    pub planned_count: usize,
    pub failed: Vec<String>,
    pub failed_count: usize,
    /// The execution's error cause when something failed (the `Fail` state's `CausePath`): plain
    /// text, one line per failure, made here so the state machine needs no intrinsic to build it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub failure_cause: String,
    /// What the share copies this run made moved and took.
    #[serde(default)]
    pub copies: CopyTotals,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyOutput {
    pub published: Vec<Published>,
    /// How many snapshots the published messages name (the messages are not kept in the state).
    pub message_snapshots: usize,
    /// The announcement, in as many messages as SNS's size limit needs (each to every topic).
    #[serde(skip)]
    pub messages: Vec<FailsafeMessage>,
    pub summary: RunSummary,
}

// -- start-failsafe, the failsafe machine (failsafe/start_failsafe.rs) ------------------------

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Rejected {
    pub message_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartOutput {
    pub started: Vec<String>,
    pub duplicates: Vec<String>,
    pub rejected: Vec<Rejected>,
}

// -- find-shared, the failsafe machine (failsafe/find_shared.rs) ------------------------------

/// One shared snapshot to save; recomputed and re-checked by `save`, never trusted blindly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SaveItem {
    pub kind: SnapshotKind,
    pub source_arn: String,
    pub source_account: String,
    pub source_region: String,
    pub source_id: String,
    pub source_create_time: DateTime<Utc>,
    pub target_id: String,
    pub encrypted: bool,
    pub engine: String,
    pub allocated_storage: i32,
}

/// What the state machine carries for one shared snapshot to save: enough to name it, nothing
/// `save` would have to trust (it re-reads the snapshot and re-plans). Small, so 1,000 of them
/// with 63-character identifiers stay under the 256 KiB state limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SharedItem {
    pub kind: SnapshotKind,
    pub source_arn: String,
    /// The database, written only when the share copy's name does not say it in full (a long
    /// cluster identifier is cut to fit the name): every byte counts 1,000 times in the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
}

/// A snapshot that was looked at and is not saved, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ignored {
    pub arn: String,
    pub reason: String,
}

/// What started this run, as `start-failsafe` passes it on: the snapshots a Live account's
/// message announced. Only an expectation to check against; never a list of what to copy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trigger {
    #[serde(default)]
    pub message_id: String,
    #[serde(default)]
    pub source_account: String,
    #[serde(default)]
    pub source_region: String,
    #[serde(default)]
    pub snapshots: Vec<String>,
}

/// The parts of the execution's input `find-shared` reads. The state machine hands the input
/// over as it came (`$$.Execution.Input`) so the trigger, which lists up to 500 snapshots,
/// never sits in the state beside the items found.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionInput {
    /// Set on a run a message started; absent (or null) on the backstop schedule and re-runs.
    #[serde(default)]
    pub trigger: Option<Trigger>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FindInput {
    #[serde(default)]
    pub execution_input: ExecutionInput,
    /// When the run started (`$$.Execution.StartTime`): a share copy dated after it is ignored.
    #[serde(default)]
    pub now: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub polling: Polling,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FindOutput {
    /// What to save, in the lanes the state machine copies them in.
    pub items: CopyLanes<SharedItem>,
    pub already_saved: usize,
    /// The first snapshots ignored, with the reason (every one is logged).
    pub ignored: Vec<Ignored>,
    pub ignored_count: usize,
    /// The first snapshots the trigger message announced that this run cannot save, with the
    /// likely cause (every one is logged); the run fails after saving everything else.
    pub missing: Vec<Ignored>,
    pub missing_count: usize,
    /// The first snapshots left out because the manual snapshot quota cannot hold every copy
    /// this run needs (`policy::quota`: each source's newest first), with the numbers; the run
    /// saves the rest and then fails naming these.
    pub left_out: Vec<Ignored>,
    pub left_out_count: usize,
    /// The quota of each kind this run copies, read before the first copy.
    pub quota: Vec<QuotaUse>,
    /// The regions looked in.
    pub regions: Vec<String>,
}

// -- save, the failsafe machine (failsafe/save.rs) --------------------------------------------

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SaveInput {
    pub item: SharedItem,
    #[serde(default)]
    pub dry_run: bool,
    /// The run's wait settings, from which the output's `waitBound` is computed. Required: a
    /// state machine that reads a `waitBound` the task did not give would fail with
    /// `States.Runtime`, which no Catch takes; a missing field is an `InvalidInput` it does.
    pub wait: WaitSettings,
    /// When the run started (`$$.Execution.StartTime`).
    #[serde(default)]
    pub now: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SaveOutcome {
    /// A copy was started in this run.
    Copying,
    /// The Failsafe copy exists already (any status).
    Exists,
    /// Dry run: what would be copied.
    Planned,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SaveOutput {
    pub outcome: SaveOutcome,
    pub item: SaveItem,
    pub snapshot: SnapshotRef,
    pub cross_region: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// How long the state machine waits for this copy (`policy::copy_time`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_bound: Option<WaitBound>,
    /// Full or incremental, for a copy this run starts (or would): null when the copy exists
    /// already. Always written, as `verify`'s input reads it (`policy::copy::failsafe_copy_mode`).
    pub copy: Option<ExpectedCopy>,
}

// -- verify, the failsafe machine (failsafe/verify.rs) ----------------------------------------

/// What one Failsafe copy this run made moved and how long it took: its run's summary and its
/// metrics (`verify`) say it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CopyFigures {
    pub mode: CopyMode,
    /// GiB a full copy of a DB instance moved; none for an incremental or an Aurora copy
    /// (`policy::copy::ExpectedCopy`).
    #[serde(rename = "movedGiB", default, skip_serializing_if = "Option::is_none")]
    pub moved_gib: Option<i32>,
    /// From save's first look until the copy was seen available (an upper bound, by the polls).
    pub seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyInput {
    pub item: SaveItem,
    pub snapshot: SnapshotRef,
    pub now: DateTime<Utc>,
    /// How this run's save found the copy (`copying`: it started it) and the seconds from its
    /// first look until it was seen available: the copy's time, written as a metric when this
    /// run started the copy.
    #[serde(default)]
    pub save_outcome: Option<SaveOutcome>,
    #[serde(default)]
    pub copy_seconds: Option<u64>,
    /// `save`'s expectation of the copy (`SaveOutput::copy`).
    #[serde(default)]
    pub copy: Option<ExpectedCopy>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyOutput {
    pub verified: bool,
    pub snapshot: SnapshotRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The copy's figures when this run made it; null otherwise. Always written: the item's
    /// result reads it (`RecordSaved`).
    pub copy: Option<CopyFigures>,
}

// -- prune, the failsafe machine (failsafe/prune.rs) ------------------------------------------

/// Which source an item result is about: a saved or planned copy names its source account and
/// database; a failure carries the item as `find-shared` listed it (the shared snapshot's ARN,
/// with the database only when the name does not say it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemRef {
    pub kind: SnapshotKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_arn: Option<String>,
}

/// How an item of the Failsafe Map ended (its `Result*` states in failsafe.asl.json).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemOutcome {
    Saved,
    Planned,
    Failed,
}

/// One item's result, as the Failsafe Map iteration leaves it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemResult {
    pub outcome: ItemOutcome,
    pub item: ItemRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// A saved copy this run made: what it moved and how long it took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy: Option<CopyFigures>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PruneInput {
    pub now: DateTime<Utc>,
    /// Each item's result, or its failed child execution's record (`map_results`), from the
    /// two copy lanes (`policy::copy::CopyLanes`), read as one list.
    #[serde(default, deserialize_with = "map_results::deserialize")]
    pub results: Vec<ItemResult>,
    /// What `find-shared` found and this run cannot save (announced snapshots it could not
    /// find, snapshots the quota left out): failures.
    #[serde(flatten)]
    pub not_saved: NotSaved,
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceRetention {
    pub source_account: String,
    pub source_id: String,
    pub kind: SnapshotKind,
    pub kept: Vec<Kept>,
    pub deleted: Vec<String>,
    pub would_delete: Vec<String>,
    pub newest_verified_age_hours: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_pruned: Option<String>,
    /// Retired on purpose (RETIRED_SOURCES): no copy age is written, so no alarm watches it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub retired: bool,
}

/// Bounded whatever the number of sources: each list holds its first entries, the counts are
/// complete (the per-source detail is in the log and in each child execution).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailsafeSummary {
    pub saved: Vec<String>,
    pub saved_count: usize,
    pub planned: Vec<String>,
    pub planned_count: usize,
    pub failed: Vec<String>,
    pub failed_count: usize,
    /// The execution's error cause when something failed (see [`crate::error::failure_cause`]).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub failure_cause: String,
    /// What the copies this run made moved and took.
    pub copies: CopyTotals,
}

/// The copies a Failsafe run made, by mode: how many, the GiB the full copies of DB instances
/// moved, the longest and the summed copy seconds, and the first copies one by one
/// (`target: mode, GiB, seconds`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CopyTotals {
    pub full_count: usize,
    pub incremental_count: usize,
    #[serde(rename = "fullGiB")]
    pub full_gib: i64,
    pub longest_seconds: u64,
    pub total_seconds: u64,
    pub first: Vec<String>,
}

impl CopyFigures {
    /// A copy's figures: what its task read of it as it started, and the seconds it was waited
    /// for; none unless this run started it (`expected`) and waited for it (`seconds`).
    pub fn of(expected: Option<&ExpectedCopy>, seconds: Option<u64>) -> Option<CopyFigures> {
        Some(CopyFigures {
            mode: expected?.mode,
            moved_gib: expected?.moved_gib,
            seconds: seconds?,
        })
    }
}

impl CopyTotals {
    /// The totals of a run's copies, each named (`<name>: <mode>, <GiB>, <seconds> s`, the first
    /// of them listed).
    pub fn of<'a>(copies: impl IntoIterator<Item = (String, &'a CopyFigures)>) -> CopyTotals {
        let mut totals = CopyTotals::default();
        let mut lines = crate::policy::bounded::Bounded::new();
        for (name, c) in copies {
            match c.mode {
                CopyMode::Full => totals.full_count += 1,
                CopyMode::Incremental => totals.incremental_count += 1,
            }
            totals.full_gib += i64::from(c.moved_gib.unwrap_or(0).max(0));
            totals.longest_seconds = totals.longest_seconds.max(c.seconds);
            totals.total_seconds = totals.total_seconds.saturating_add(c.seconds);
            lines.push(format!(
                "{name}: {}{}, {} s",
                c.mode.as_str(),
                c.moved_gib.map_or(String::new(), |g| format!(", {g} GiB")),
                c.seconds
            ));
        }
        CopyTotals {
            first: lines.first,
            ..totals
        }
    }
}

/// Retention over every source, bounded: counts, and the first sources in full.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetentionReport {
    pub source_count: usize,
    pub deleted_count: usize,
    pub would_delete_count: usize,
    pub not_pruned_count: usize,
    /// The first sources (every source is logged with `action = "retention"`).
    pub sources: Vec<SourceRetention>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PruneOutput {
    pub retention: RetentionReport,
    pub summary: FailsafeSummary,
}

/// What the run could not save although it found it: announced snapshots that are missing
/// (with their likely cause) and snapshots the quota left out (with its numbers), the first of
/// each listed and both counted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotSaved {
    #[serde(default)]
    pub missing: Vec<Ignored>,
    #[serde(default)]
    pub missing_count: usize,
    #[serde(default)]
    pub left_out: Vec<Ignored>,
    #[serde(default)]
    pub left_out_count: usize,
}

// -- select-drills, the drill machine (drill/select_drills.rs) --------------------------------

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SelectDrillsInput {
    /// The run's start: the drill databases are named after it.
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SelectDrillsOutput {
    pub items: Vec<DrillItem>,
    /// Sources not drilled, with the reason.
    pub skipped: Vec<String>,
}

// -- restore-drill, the drill machine (drill/restore_drill.rs) --------------------------------

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreDrillInput {
    pub item: DrillItem,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreDrillOutput {
    pub db_id: String,
    /// False when an earlier attempt of this run had already started it.
    pub started: bool,
    /// A restored cluster that is not available yet, so its DB instance is not made yet (RDS adds
    /// one only to an available cluster): `check-drill` says when, and the machine calls
    /// `restore-drill` again (`AddDrillInstance`) with the restore clock running.
    pub instance_pending: bool,
}

// -- check-drill, the drill machine (drill/check_drill.rs) ------------------------------------

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckDrillInput {
    pub item: DrillItem,
    /// Seconds since the restore started (the state machine's clock).
    pub elapsed_seconds: u64,
    pub poll_seconds: u64,
    pub max_wait_seconds: u64,
    /// The elapsed seconds of the previous look, if any.
    #[serde(default)]
    pub previous_elapsed_seconds: Option<u64>,
    /// `restore-drill` left the cluster's DB instance to be made once the cluster is available.
    #[serde(default)]
    pub instance_pending: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckDrillOutput {
    pub available: bool,
    /// The instance's status (a cluster's: `<cluster status>/<instance status>`).
    pub status: String,
    pub elapsed_seconds: u64,
    pub next_wait_seconds: u64,
    /// The cluster is available and its DB instance is still to be made: the machine calls
    /// `restore-drill` to add it, then looks again.
    pub add_instance: bool,
}

// -- validate-drill, the drill machine (drill/validate_drill.rs) ------------------------------

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidateDrillInput {
    pub item: DrillItem,
}

/// What the checks of a drill's restored database found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidateDrillOutput {
    /// Whether queries checked the data (false: the source has no checks; restore-only).
    pub checked: bool,
    /// Every check passed (true when nothing was checked).
    pub passed: bool,
    /// The database (or schema) the checks connected to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(default)]
    pub checks: Vec<crate::policy::checks::CheckResult>,
    /// Seconds from the first query to the last answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validate_seconds: Option<u64>,
    /// Why the drill fails: the first failed check (with its value and bound), or why no check
    /// could run. Never a credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

// -- end-drill, the drill machine (drill/end_drill.rs) ----------------------------------------

/// How a drill's restore ended, as drill.asl.json tells `end-drill`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DrillOutcome {
    Passed,
    Failed,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndDrillInput {
    pub item: DrillItem,
    pub outcome: DrillOutcome,
    /// How far the restore got (`$.wait`: available, and seconds since it began); the restore
    /// time and the target are judged from it, whether the drill passed or not. Not started: the
    /// item's initial clock (not available, 0 s).
    #[serde(default)]
    pub wait: crate::policy::drill::RestoreClock,
    /// The error a failed drill caught (`{"Error", "Cause"}`).
    #[serde(default)]
    pub error: Option<serde_json::Value>,
    pub now: DateTime<Utc>,
    /// When this task was entered (`$$.State.EnteredTime`): the drill metric's timestamp. A drill
    /// ends hours after the run's start (`now`), and a metric stamped with the start would fall
    /// before the period the `DrillFailed` alarm is looking at. `now` when not given.
    #[serde(default)]
    pub ended_at: Option<DateTime<Utc>>,
    /// The drill's execution (`$$.Execution.Id`): who ran it, in its record.
    #[serde(default)]
    pub execution: Option<String>,
    /// When this drill's own execution started (`$$.Execution.StartTime` of the child): its
    /// total time runs from there to `ended_at`.
    #[serde(default)]
    pub drill_started: Option<DateTime<Utc>>,
    /// What validate-drill found, when it ran.
    #[serde(default)]
    pub validation: Option<ValidateDrillOutput>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndDrillOutput {
    pub outcome: DrillOutcome,
    pub source: String,
    pub copy_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_seconds: Option<u64>,
    /// The source's restore time target (`restoreDrill.rtoMinutes`), if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rto_minutes: Option<u32>,
    /// Whether the restore took longer than the target: it finished late, or had not finished
    /// when the target passed (`policy::drill::RestoreClock::rto_breached`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rto_breached: Option<bool>,
    /// Seconds validate-drill's checks took, and the drill's time from its start to its
    /// clean-up (restore and checks; the deletion that follows is not counted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validate_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_seconds: Option<u64>,
    /// Whether queries checked the restored data, and how many checks ran and failed. Each
    /// check's result is in the drill's record (the drills' log group), not here: a run's
    /// output gathers every drill's, within Step Functions' 256 KiB.
    pub data_checked: bool,
    pub checks_run: usize,
    pub checks_failed: usize,
    pub deleted: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}
