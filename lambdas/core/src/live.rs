//! The Live account's task handlers. Each takes its typed input, calls the port, and returns
//! a typed output for the state machine; control flow (waiting, retrying, fan-out) is the ASL's.

use crate::config::LiveConfig;
use crate::error::{ErrorKind, FailsafeError, Result};
use crate::message::{FailsafeMessage, MessageSnapshot, VERSION};
use crate::model::{snapshot_type, status, Snapshot, SnapshotKind, Source};
use crate::naming::share_copy_id;
use crate::policy::{
    copy_encryption, live_deletions, newest_automated, not_shareable_reason, source_time,
};
use crate::selection::{parse_input_selectors, select, SelectionSkip};
use crate::store::{
    delete_if_present, describe_required, CopyRequest, SnapshotQuery, SnapshotStore, StoreErrorKind,
};
use crate::tags::{is_managed, Provenance, KIND, SOURCE_ID};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tracing::info;

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

// ---------------------------------------------------------------------------------------------
// select-sources

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SelectInput {
    /// Overrides the configured `SOURCES` for this run.
    #[serde(default)]
    pub sources: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SelectOutput {
    pub sources: Vec<Source>,
    pub skipped: Vec<SelectionSkip>,
}

pub async fn select_sources(
    cfg: &LiveConfig,
    store: &dyn SnapshotStore,
    input: SelectInput,
) -> Result<SelectOutput> {
    let selectors = match &input.sources {
        Some(raw) => parse_input_selectors(raw)?,
        None => cfg.sources.clone(),
    };
    let instances = store.list_instances().await?;
    let clusters = store.list_clusters().await?;
    let sel = select(&instances, &clusters, &selectors);
    for s in &sel.sources {
        info!(action = "select", kind = %s.kind, source = %s.id, "selected source");
    }
    for s in &sel.skipped {
        info!(action = "select-skip", selector = %s.selector, reason = %s.reason, "selector selected nothing");
    }
    Ok(SelectOutput {
        sources: sel.sources,
        skipped: sel.skipped,
    })
}

// ---------------------------------------------------------------------------------------------
// delete-old-copies

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

// ---------------------------------------------------------------------------------------------
// copy-latest

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CopyInput {
    pub source: Source,
    #[serde(default)]
    pub dry_run: bool,
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
}

pub async fn copy_latest(
    cfg: &LiveConfig,
    store: &dyn SnapshotStore,
    input: CopyInput,
) -> Result<CopyOutput> {
    let source = input.source;
    let query = SnapshotQuery {
        source_id: Some(source.id.clone()),
        snapshot_type: Some(snapshot_type::AUTOMATED),
    };
    let automated = store.list_snapshots(source.kind, &query).await?;
    let Some(latest) = newest_automated(&automated) else {
        let reason = format!(
            "{} {} has no available automated snapshot (are automated backups enabled?)",
            source.kind, source.id
        );
        info!(action = "copy-skip", source = %source.id, reason = %reason, "nothing to copy");
        return Ok(CopyOutput {
            outcome: CopyOutcome::Skipped,
            source,
            snapshot: None,
            automated_snapshot_arn: None,
            kms_key_id: None,
            reason: Some(reason),
        });
    };
    let created = latest
        .create_time
        .expect("newest_automated only returns timed snapshots");
    let target_id = share_copy_id(&source.id, created)?;

    if let Some(existing) = store.describe_snapshot(source.kind, &target_id).await? {
        info!(action = "copy-exists", source = %source.id, snapshot = %existing.id, status = %existing.status, "share copy exists already");
        return Ok(CopyOutput {
            outcome: CopyOutcome::Exists,
            source,
            kms_key_id: existing.kms_key_id.clone(),
            snapshot: Some(SnapshotRef::from(&existing)),
            automated_snapshot_arn: Some(latest.arn.clone()),
            reason: None,
        });
    }

    if let Some(group_name) = &latest.option_group_name {
        let group = store.describe_option_group(group_name).await?;
        if let Some(reason) = not_shareable_reason(latest, group.as_ref()) {
            info!(action = "copy-not-shareable", source = %source.id, snapshot = %latest.id, reason = %reason, "cannot be shared");
            return Err(FailsafeError::new(
                ErrorKind::NotShareable,
                format!("{} {}: {reason}", source.kind, source.id),
            ));
        }
    }

    let enc = copy_encryption(latest, &cfg.share_kms_key_arn, cfg.encrypt_unencrypted);
    let provenance = Provenance {
        source_account: cfg.account_id.clone(),
        source_region: cfg.region.clone(),
        source_id: source.id.clone(),
        source_snapshot_arn: latest.arn.clone(),
        source_create_time: created,
        kind: source.kind,
    };
    if input.dry_run {
        info!(action = "copy", dry_run = true, source = %source.id, from = %latest.id, to = %target_id, "would copy");
        return Ok(CopyOutput {
            outcome: CopyOutcome::Planned,
            source: source.clone(),
            snapshot: Some(SnapshotRef {
                kind: source.kind,
                id: target_id.clone(),
                arn: String::new(),
                status: "planned".into(),
                source_id: source.id.clone(),
                source_create_time: Some(created),
                encrypted: enc.kms_key_id.is_some(),
                kms_key_id: enc.kms_key_id.clone(),
            }),
            automated_snapshot_arn: Some(latest.arn.clone()),
            kms_key_id: enc.kms_key_id,
            reason: enc.note,
        });
    }
    let request = CopyRequest {
        source: latest.id.clone(),
        target_id: target_id.clone(),
        kms_key_id: enc.kms_key_id.clone(),
        tags: provenance.tags(),
    };
    let copy = match store.copy_snapshot(source.kind, &request).await {
        Ok(c) => c,
        // a parallel run won the race: that copy is ours too
        Err(e) if e.kind == StoreErrorKind::AlreadyExists => store
            .describe_snapshot(source.kind, &target_id)
            .await?
            .ok_or_else(|| FailsafeError::from(e))?,
        Err(e) => return Err(e.into()),
    };
    info!(
        action = "copy",
        source = %source.id,
        from = %latest.id,
        to = %copy.id,
        kms_key = enc.kms_key_id.as_deref().unwrap_or("none"),
        "share copy started"
    );
    Ok(CopyOutput {
        outcome: CopyOutcome::Copying,
        source,
        snapshot: Some(SnapshotRef::from(&copy)),
        automated_snapshot_arn: Some(latest.arn.clone()),
        kms_key_id: enc.kms_key_id,
        reason: enc.note,
    })
}

// ---------------------------------------------------------------------------------------------
// wait-available (both accounts)

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WaitInput {
    pub snapshot: SnapshotRef,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WaitOutput {
    pub available: bool,
    pub status: String,
    pub percent_progress: Option<i32>,
    pub snapshot: SnapshotRef,
}

/// One look at a copy in progress; the ASL's Wait/Choice loop calls it until `available`.
pub async fn wait_available(store: &dyn SnapshotStore, input: WaitInput) -> Result<WaitOutput> {
    let r = &input.snapshot;
    let s = describe_required(store, r.kind, &r.id, || {
        format!(
            "{} snapshot {} does not exist (deleted while copying?)",
            r.kind, r.id
        )
    })
    .await?;
    info!(action = "wait", snapshot = %s.id, status = %s.status, progress = s.percent_progress.unwrap_or(0), "copy status");
    if s.status == status::FAILED {
        return Err(FailsafeError::new(
            ErrorKind::CopyFailed,
            format!("{} snapshot {} ended in status failed", r.kind, r.id),
        ));
    }
    Ok(WaitOutput {
        available: s.is_available(),
        status: s.status.clone(),
        percent_progress: s.percent_progress,
        snapshot: SnapshotRef::from(&s),
    })
}

// ---------------------------------------------------------------------------------------------
// share

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShareInput {
    pub snapshot: SnapshotRef,
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShareOutput {
    pub snapshot: SnapshotRef,
    pub shared_with: Vec<String>,
    pub added: Vec<String>,
}

/// Adds every Failsafe account to the share copy's `restore` attribute (idempotent).
pub async fn share(
    cfg: &LiveConfig,
    store: &dyn SnapshotStore,
    input: ShareInput,
) -> Result<ShareOutput> {
    let r = &input.snapshot;
    let s = describe_required(store, r.kind, &r.id, || {
        format!("{} snapshot {} does not exist", r.kind, r.id)
    })
    .await?;
    if !is_managed(&s.tags) || s.is_automated() {
        return Err(FailsafeError::input(format!(
            "{} is not a share copy made by rds-failsafe (no rds-failsafe:managed=true tag); refusing to share it",
            s.id
        )));
    }
    if !s.is_available() {
        return Err(FailsafeError::input(format!(
            "{} is {}, not available; it can be shared once the copy finishes",
            s.id, s.status
        )));
    }
    let current = store.shared_with(r.kind, &r.id).await?;
    let added: Vec<String> = cfg
        .failsafe_accounts
        .iter()
        .filter(|a| !current.contains(a))
        .cloned()
        .collect();
    if !added.is_empty() {
        if input.dry_run {
            info!(action = "share", dry_run = true, snapshot = %s.id, accounts = %added.join(","), "would share");
        } else {
            store
                .share_with(r.kind, &r.id, &added)
                .await
                .map_err(|e| match e.code.as_str() {
                    // RDS answers a share of an aws/rds-encrypted snapshot like this
                    "InvalidParameterValue" if e.message.to_ascii_lowercase().contains("kms") => {
                        FailsafeError::new(ErrorKind::KmsKeyNotAccessible, e.to_string())
                    }
                    _ => e.into(),
                })?;
            info!(action = "share", snapshot = %s.id, accounts = %added.join(","), "shared with Failsafe accounts");
        }
    }
    let mut shared_with = current;
    if !input.dry_run {
        shared_with.extend(added.iter().cloned());
    }
    Ok(ShareOutput {
        snapshot: SnapshotRef::from(&s),
        shared_with,
        added,
    })
}

// ---------------------------------------------------------------------------------------------
// notify: publish to the Failsafe topics and report the run

/// One source's result, as the Live Map iteration leaves it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceResult {
    /// `copied`, `skipped`, `planned` or `failed`.
    pub outcome: String,
    pub source: Source,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotRef>,
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
    pub results: Vec<SourceResult>,
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Published {
    pub topic_arn: String,
    pub message_id: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    pub copied: Vec<String>,
    pub skipped: Vec<String>,
    pub planned: Vec<String>,
    pub failed: Vec<String>,
    pub failed_count: usize,
}

/// `copied: kind:id -> snapshot`, `skipped: kind:id (reason)`, `failed: kind:id: Error: cause`.
pub fn summarize(results: &[SourceResult]) -> RunSummary {
    let mut s = RunSummary::default();
    for r in results {
        let name = format!("{}:{}", r.source.kind, r.source.id);
        match r.outcome.as_str() {
            "copied" => s.copied.push(match &r.snapshot {
                Some(snap) => format!("{name} -> {}", snap.id),
                None => name,
            }),
            "skipped" => s.skipped.push(format!(
                "{name} ({})",
                r.reason.as_deref().unwrap_or("no reason given")
            )),
            "planned" => s.planned.push(match &r.snapshot {
                Some(snap) => format!("{name} -> {}", snap.id),
                None => name,
            }),
            _ => s.failed.push(format!(
                "{name}: {}: {}",
                r.error.as_deref().unwrap_or("Failed"),
                r.cause.as_deref().unwrap_or("no cause given")
            )),
        }
    }
    s.failed_count = s.failed.len();
    s
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyOutput {
    pub published: Vec<Published>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<FailsafeMessage>,
    pub summary: RunSummary,
}

/// Publishes one versioned message naming every snapshot shared in this run to every Failsafe
/// topic, and returns the run's summary.
pub async fn notify(
    cfg: &LiveConfig,
    store: &dyn SnapshotStore,
    input: NotifyInput,
) -> Result<NotifyOutput> {
    let summary = summarize(&input.results);
    let snapshots: Vec<MessageSnapshot> = input
        .results
        .iter()
        .filter(|r| r.outcome == "copied")
        .filter_map(|r| r.snapshot.as_ref())
        .map(|s| {
            Ok(MessageSnapshot {
                arn: s.arn.clone(),
                kind: s.kind,
                source_id: s.source_id.clone(),
                source_create_time: s.source_create_time.ok_or_else(|| {
                    FailsafeError::input(format!(
                        "results: snapshot {} has no sourceCreateTime",
                        s.id
                    ))
                })?,
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
            message: None,
            summary,
        });
    }
    let message = FailsafeMessage {
        version: VERSION,
        source_account: cfg.account_id.clone(),
        source_region: cfg.region.clone(),
        snapshots,
    };
    let body = message.to_json();
    let mut published = Vec::new();
    for topic in &cfg.failsafe_topic_arns {
        if input.dry_run {
            info!(action = "notify", dry_run = true, topic = %topic, snapshots = message.snapshots.len(), "would publish");
            continue;
        }
        let message_id = store.publish(topic, &body).await?;
        info!(action = "notify", topic = %topic, message_id = %message_id, snapshots = message.snapshots.len(), "published");
        published.push(Published {
            topic_arn: topic.clone(),
            message_id,
        });
    }
    Ok(NotifyOutput {
        published,
        message: Some(message),
        summary,
    })
}
