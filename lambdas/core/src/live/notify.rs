//! The handler of `notify`: publishes the versioned message to the Failsafe topic(s) and returns the run's summary.

use crate::arn::{rds_snapshot_arn, Arn};
use crate::config::LiveConfig;
use crate::error::{describe_failure, failure_cause, FailsafeError, Result};
use crate::live::QuotaLeftOut;
use crate::policy::bounded::Bounded;
use crate::policy::map_results::{ChildResult, FailedChild};
use crate::policy::message::{FailsafeMessage, MessageSnapshot, VERSION};
use crate::policy::naming::share_copy_id;
use crate::port::Publishing;
use crate::wire::{
    CopyTotals, NotifyInput, NotifyOutput, Published, RunSummary, SourceOutcome, SourceResult,
};
use tracing::info;

impl SourceResult {
    /// The share copy this result is about, named as `copy-latest` named it.
    pub fn share_copy_id(&self) -> Option<Result<String>> {
        let created = self.source_create_time?;
        Some(share_copy_id(self.source.kind, &self.source.id, created))
    }
}

/// A source whose child execution failed without a record of its own: `failed`, with the
/// child's error; the source is the one the child's input (the Map's `ItemSelector`) names.
impl ChildResult for SourceResult {
    fn from_failed_child(child: &FailedChild) -> std::result::Result<Self, String> {
        Ok(SourceResult {
            outcome: SourceOutcome::Failed,
            source: child.input_field("source")?,
            source_create_time: None,
            copy: None,
            reason: None,
            error: Some(child.error_name()),
            cause: child.cause_with_execution(),
        })
    }
}

/// Why a source was skipped: the reason `copy-latest` gave, or the error that means "skip"
/// (`NotShareable`) with the message read from its cause.
fn skip_reason(r: &SourceResult) -> String {
    match &r.reason {
        Some(reason) => reason.clone(),
        None if r.error.is_some() => describe_failure(r.error.as_deref(), r.cause.as_deref()),
        None => "no reason given".into(),
    }
}

/// `copied: kind:id -> snapshot`, `skipped: kind:id (reason)`, `failed: kind:id: Error: cause`,
/// then the sources the quota left out.
pub fn summarize(results: &[SourceResult], left_out: &QuotaLeftOut) -> RunSummary {
    let (mut copied, mut skipped, mut planned) = (Bounded::new(), Bounded::new(), Bounded::new());
    let mut failed = Vec::new();
    for r in results {
        let name = format!("{}:{}", r.source.kind, r.source.id);
        let with_snapshot = |name: String| match r.share_copy_id() {
            Some(Ok(id)) => format!("{name} -> {id}"),
            _ => name,
        };
        match r.outcome {
            SourceOutcome::Copied => copied.push(with_snapshot(name)),
            SourceOutcome::Skipped => skipped.push(format!("{name} ({})", skip_reason(r))),
            SourceOutcome::Planned => planned.push(with_snapshot(name)),
            SourceOutcome::Failed => failed.push(format!(
                "{name}: {}",
                describe_failure(r.error.as_deref(), r.cause.as_deref())
            )),
        }
    }
    failed.extend(left_out.failure_lines());
    let unlisted = left_out
        .left_out_count
        .saturating_sub(left_out.left_out.len());
    let failure_cause = failure_cause(&failed, failed.len() + unlisted);
    let failed = Bounded::from(failed);
    let copies = CopyTotals::of(results.iter().filter_map(|r| match (r.outcome, &r.copy) {
        (SourceOutcome::Copied, Some(c)) => Some((format!("{}:{}", r.source.kind, r.source.id), c)),
        _ => None,
    }));
    RunSummary {
        copied: copied.first,
        copied_count: copied.count,
        skipped: skipped.first,
        skipped_count: skipped.count,
        planned: planned.first,
        planned_count: planned.count,
        failed: failed.first,
        failed_count: failed.count + unlisted,
        failure_cause,
        copies,
    }
}

/// Publishes the versioned message naming every snapshot shared in this run to every Failsafe
/// topic — in several parts when one would pass SNS's size limit — and returns the run's summary.
pub async fn notify<S: Publishing>(
    cfg: &LiveConfig,
    store: &S,
    input: NotifyInput,
) -> Result<NotifyOutput> {
    let summary = summarize(&input.results, &input.deletion);
    let partition = Arn::parse(&cfg.share_kms_key_arn)
        .map(|a| a.partition)
        .unwrap_or_else(|| "aws".into());
    let snapshots: Vec<MessageSnapshot> = input
        .results
        .iter()
        .filter(|r| r.outcome == SourceOutcome::Copied)
        .map(|r| {
            let Some(created) = r.source_create_time else {
                return Err(FailsafeError::input(format!(
                    "results: the copied result of {} {} has no sourceCreateTime",
                    r.source.kind, r.source.id
                )));
            };
            let id = share_copy_id(r.source.kind, &r.source.id, created)?;
            Ok(MessageSnapshot {
                arn: rds_snapshot_arn(r.source.kind, &partition, &cfg.region, &cfg.account_id, &id),
                kind: r.source.kind,
                source_id: r.source.id.clone(),
                source_create_time: created,
            })
        })
        .collect::<Result<_>>()?;
    if snapshots.is_empty() {
        info!(
            action = "notify-skip",
            "no snapshot shared in this run; nothing to publish"
        );
        return Ok(NotifyOutput {
            published: vec![],
            message_snapshots: 0,
            messages: vec![],
            summary,
        });
    }
    let message = FailsafeMessage {
        version: VERSION,
        source_account: cfg.account_id.clone(),
        source_region: cfg.region.clone(),
        snapshots,
    };
    let announced = message.snapshots.len();
    // A retry after a partly published announcement publishes the same parts again: each part's
    // Failsafe execution name comes from its snapshots, so a repeat starts nothing new.
    let messages = message.split();
    let mut published = Vec::new();
    for (part, m) in messages.iter().enumerate() {
        let body = m.to_json();
        for topic in &cfg.failsafe_topic_arns {
            if input.dry_run {
                info!(action = "notify", dry_run = true, topic = %topic, part = part + 1, parts = messages.len(), snapshots = m.snapshots.len(), "would publish");
                continue;
            }
            let message_id = store.publish(topic, &body).await?;
            info!(action = "notify", topic = %topic, message_id = %message_id, part = part + 1, parts = messages.len(), snapshots = m.snapshots.len(), "published");
            published.push(Published {
                topic_arn: topic.clone(),
                message_id,
            });
        }
    }
    Ok(NotifyOutput {
        published,
        message_snapshots: announced,
        messages,
        summary,
    })
}
