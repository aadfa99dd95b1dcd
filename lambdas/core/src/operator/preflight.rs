//! The preflight: reads what every copy depends on and judges it with the pure functions of
//! [`crate::policy::preflight`]. The Live state machine runs [`live_preflight`] before it changes
//! anything (the `preflight` Lambda, [`crate::live::preflight`]); `rdsf preflight` runs either
//! side's for an operator, over the same port.

use crate::config::{FailsafeConfig, LiveConfig};
use crate::error::{FailsafeError, Result};
use crate::model::{OptionGroup, SnapshotKind, Source, SourceMode};
use crate::policy::copy_time::{share_in_use_seconds, WaitSettings};
use crate::policy::preflight::{
    backup_window_finding, block_if_every_source_fails, blocking_message, cadence_finding,
    cluster_findings, failsafe_copies_per_source, failsafe_key_finding, incremental_key_findings,
    instance_findings, live_snapshots_per_source, quota_finding, share_key_findings,
    topic_findings, CopyWindow, Finding, Level, QuotaNeed,
};
use crate::policy::tags::{KIND, SOURCE_ACCOUNT, SOURCE_ID};
use crate::port::{Databases, PolicyReads, Snapshots};
use crate::store::{own_managed_copies, soft};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PreflightReport {
    /// `live` or `failsafe`.
    pub side: &'static str,
    pub account: String,
    pub region: String,
    /// Sources checked (Live: the selected ones; Failsafe: those with copies).
    pub sources: usize,
    pub findings: Vec<Finding>,
}

impl PreflightReport {
    pub fn worst(&self) -> Level {
        self.findings
            .iter()
            .map(|f| f.level)
            .max()
            .unwrap_or(Level::Ok)
    }
    /// The one message a Live run stops with, if a problem would make every copy fail.
    pub fn blocking_message(&self) -> Option<String> {
        blocking_message(&self.findings)
    }
    /// [`Self::blocking_message`] as the `PreflightFailed` error that stops a Live run.
    pub fn blocking_error(&self) -> Option<FailsafeError> {
        self.blocking_message()
            .map(|m| FailsafeError::new(crate::error::ErrorKind::PreflightFailed, m))
    }
}

/// The Live account's preflight for `sources` (the run's selection): the share key and its
/// policy, each Failsafe topic, the manual snapshot quotas against the sources and `LIVE_KEEP`,
/// and each source's automated backups and option groups; with `run` (the Live run's own
/// preflight), whether an instance's backup window opens while the run may be copying it.
pub async fn live_preflight<S: Snapshots + Databases + PolicyReads>(
    cfg: &LiveConfig,
    store: &S,
    sources: &[Source],
    run: Option<&CopyWindow>,
) -> Result<PreflightReport> {
    let mut findings = Vec::new();
    let instances = store.list_instances().await?;
    let clusters = store.list_clusters().await?;
    let mut groups: BTreeMap<String, Option<OptionGroup>> = BTreeMap::new();
    // a source is copied with the share key if it is encrypted (or ENCRYPT_UNENCRYPTED, for
    // instances) and not an incremental source (shared under its own key, unless that is
    // aws/rds); a key problem blocks the run only if that is every source
    let mut every_copy_uses_key =
        !sources.is_empty() && sources.iter().all(|s| s.mode == SourceMode::ShareCopy);
    // each incremental source (`kind:id`), its own key (none when unencrypted), and whether
    // ENCRYPT_UNENCRYPTED would give it a share copy when unencrypted (instances only)
    let mut own_keys: Vec<(String, Option<String>, bool)> = Vec::new();
    // the run's wait settings; `rdsf preflight` has none and judges by the state machine's defaults
    let wait = run
        .and_then(|r| r.wait)
        .unwrap_or(WaitSettings::STATE_MACHINE_DEFAULTS);
    // per kind, the snapshots beyond LIVE_KEEP + 1 a source holds (a cadence's, a big copy's)
    let mut extra: BTreeMap<SnapshotKind, i64> = BTreeMap::new();
    // each source with a cadence: subject, hours, size (none for a cluster)
    let mut cadenced: Vec<(String, u32, Option<i32>)> = Vec::new();
    let mut hold = |source: &Source, size: Option<i32>| {
        let need = live_snapshots_per_source(
            cfg.live_keep,
            source.every_hours,
            share_in_use_seconds(size, &wait.for_source(source.copy_wait_seconds)),
        );
        *extra.entry(source.kind).or_default() += need - (i64::from(cfg.live_keep) + 1);
        if let Some(h) = source.every_hours {
            cadenced.push((format!("{}:{}", source.kind, source.id), h, size));
        }
    };
    let mut own_key = |source: &Source, encrypted: bool, key: &Option<String>| {
        if source.mode == SourceMode::Incremental {
            let subject = format!("{}:{}", source.kind, source.id);
            let encrypts = cfg.encrypt_unencrypted && source.kind == SnapshotKind::Instance;
            own_keys.push((subject, key.clone().filter(|_| encrypted), encrypts));
        }
    };
    for source in sources {
        match source.kind {
            SnapshotKind::Instance => {
                let Some(db) = instances.iter().find(|d| d.id == source.id) else {
                    continue;
                };
                own_key(source, db.encrypted, &db.kms_key_id);
                hold(source, Some(db.allocated_storage));
                every_copy_uses_key &= db.encrypted || cfg.encrypt_unencrypted;
                let mut found = Vec::new();
                for name in &db.option_groups {
                    if !groups.contains_key(name) {
                        groups.insert(name.clone(), store.describe_option_group(name).await?);
                    }
                    found.extend(groups[name].clone());
                }
                findings.extend(instance_findings(db, &found));
                if let (Some(run), Some(window)) = (run, &db.backup_window) {
                    let copy = run.for_instance(db.allocated_storage, source.copy_wait_seconds);
                    findings.extend(backup_window_finding(&db.id, window, &copy));
                }
            }
            SnapshotKind::Cluster => {
                let Some(db) = clusters.iter().find(|d| d.id == source.id) else {
                    continue;
                };
                own_key(source, db.encrypted, &db.kms_key_id);
                hold(source, None);
                every_copy_uses_key &= db.encrypted;
                findings.extend(cluster_findings(db));
            }
        }
    }
    let key_arn = &cfg.share_kms_key_arn;
    match soft(store.describe_key(key_arn).await)? {
        Ok(key) => {
            let policy = match &key {
                Some(_) => soft(store.key_policy(key_arn).await)?,
                None => Ok(String::new()),
            };
            findings.extend(share_key_findings(
                key_arn,
                key.as_ref(),
                policy.as_deref().map_err(Clone::clone),
                &cfg.failsafe_accounts,
                every_copy_uses_key,
            ));
        }
        Err(e) => findings.push(unreadable("share-key", key_arn, &e, "kms:DescribeKey")),
    }
    // why an incremental source keeps the share copy (so that a cadence adds nothing to it)
    let mut keeps_share_copy: BTreeMap<String, String> = BTreeMap::new();
    for (subject, key_arn, unencrypted_kind_encrypts) in own_keys {
        if key_arn.is_none() && unencrypted_kind_encrypts {
            keeps_share_copy.insert(
                subject.clone(),
                "it is unencrypted and ENCRYPT_UNENCRYPTED=true, so its share copy is how it is encrypted".into(),
            );
        }
        let (key, policy) = match &key_arn {
            None => (None, Ok(String::new())),
            Some(arn) => match soft(store.describe_key(arn).await)? {
                Ok(Some(key)) => {
                    if key.manager == "AWS" {
                        keeps_share_copy.insert(
                            subject.clone(),
                            format!("it is on the AWS-managed key {arn} (aws/rds), under which RDS cannot share a snapshot"),
                        );
                    }
                    let policy = if key.manager == "CUSTOMER" {
                        soft(store.key_policy(arn).await)?
                    } else {
                        Ok(String::new())
                    };
                    (Some(key), policy)
                }
                Ok(None) => (None, Ok(String::new())),
                Err(e) => {
                    findings.push(unreadable("incremental-source", arn, &e, "kms:DescribeKey"));
                    continue;
                }
            },
        };
        findings.extend(incremental_key_findings(
            &subject,
            key_arn.as_deref(),
            key.as_ref(),
            policy.as_deref().map_err(Clone::clone),
            &cfg.failsafe_accounts,
            unencrypted_kind_encrypts,
        ));
    }
    for (subject, h, size) in &cadenced {
        findings.push(cadence_finding(
            subject,
            *h,
            *size,
            keeps_share_copy.get(subject).map(String::as_str),
            &wait,
            crate::policy::cost::DEFAULT_CHANGE_PER_DAY,
        ));
    }
    for topic in &cfg.failsafe_topic_arns {
        let policy = soft(store.topic_policy(topic).await)?;
        findings.push(topic_findings(
            topic,
            policy.as_ref().map(|p| p.as_deref()).map_err(Clone::clone),
            &cfg.account_id,
        ));
    }
    // Only the selected sources' copies are kept to LIVE_KEEP (delete-old-copies); a managed copy
    // of a source no longer selected stays, like any other manual snapshot.
    let selected: BTreeSet<(&str, &str)> = sources
        .iter()
        .map(|s| (s.kind.as_str(), s.id.as_str()))
        .collect();
    let managed = own_managed_copies(store).await?;
    for kind in [SnapshotKind::Instance, SnapshotKind::Cluster] {
        let n = sources.iter().filter(|s| s.kind == kind).count() as i64;
        if n == 0 {
            continue;
        }
        let kept_to_live_keep = managed
            .iter()
            .filter(|s| s.kind == kind)
            .filter(|s| match (s.tags.get(KIND), s.tags.get(SOURCE_ID)) {
                (Some(k), Some(id)) => selected.contains(&(k.as_str(), id.as_str())),
                _ => false,
            })
            .count() as i64;
        findings.extend(
            quota(
                store,
                kind,
                n,
                kept_to_live_keep,
                i64::from(cfg.live_keep) + 1,
                extra.get(&kind).copied().unwrap_or(0),
                "liveKeep",
            )
            .await?,
        );
    }
    block_if_every_source_fails(&mut findings, sources.len());
    Ok(PreflightReport {
        side: "live",
        account: cfg.account_id.clone(),
        region: cfg.region.clone(),
        sources: sources.len(),
        findings,
    })
}

/// The Failsafe account's preflight: its key, and the manual snapshot quotas against the
/// retention policy for every source it holds copies of.
pub async fn failsafe_preflight<S: Snapshots + PolicyReads>(
    cfg: &FailsafeConfig,
    store: &S,
) -> Result<PreflightReport> {
    let mut findings = Vec::new();
    let key_arn = &cfg.failsafe_kms_key_arn;
    match soft(store.describe_key(key_arn).await)? {
        Ok(key) => findings.push(failsafe_key_finding(key_arn, key.as_ref(), &cfg.account_id)),
        Err(e) => findings.push(unreadable("failsafe-key", key_arn, &e, "kms:DescribeKey")),
    }
    let managed = own_managed_copies(store).await?;
    let per_source = failsafe_copies_per_source(&cfg.retention);
    let mut all_sources = 0;
    for kind in [SnapshotKind::Instance, SnapshotKind::Cluster] {
        let copies: Vec<_> = managed.iter().filter(|s| s.kind == kind).collect();
        let sources: BTreeSet<(Option<&String>, Option<&String>)> = copies
            .iter()
            .filter(|s| s.tags.get(KIND).map(String::as_str) == Some(kind.as_str()))
            .map(|s| (s.tags.get(SOURCE_ACCOUNT), s.tags.get(SOURCE_ID)))
            .collect();
        all_sources += sources.len();
        if sources.is_empty() {
            continue;
        }
        findings.extend(
            quota(
                store,
                kind,
                sources.len() as i64,
                copies.len() as i64,
                per_source,
                0,
                "retention (daily/weekly/monthly or days) or minKeep",
            )
            .await?,
        );
    }
    if all_sources == 0 {
        findings.push(Finding {
            check: "quota",
            subject: "copies".into(),
            level: Level::Warning,
            message: "no copies in this account yet, so the quota was not checked against the sources: run `rdsf preflight` again after the first Failsafe run".into(),
            blocks: false,
        });
    }
    Ok(PreflightReport {
        side: "failsafe",
        account: cfg.account_id.clone(),
        region: cfg.region.clone(),
        sources: all_sources,
        findings,
    })
}

async fn quota<S: Snapshots>(
    store: &S,
    kind: SnapshotKind,
    sources: i64,
    managed: i64,
    per_source: i64,
    extra: i64,
    settings: &str,
) -> Result<Option<Finding>> {
    let Some(q) = store.snapshot_quota(kind).await? else {
        return Ok(Some(Finding {
            check: "quota",
            subject: crate::policy::quota::quota_name(kind).into(),
            level: Level::Warning,
            message: "RDS reports no manual snapshot quota for this kind; not checked".into(),
            blocks: false,
        }));
    };
    Ok(Some(quota_finding(
        &QuotaNeed {
            kind,
            used: q.used,
            max: q.max,
            managed,
            sources,
            per_source,
            extra,
        },
        settings,
    )))
}

/// The report on a deployed configuration a cold start would refuse: nothing else is checked.
pub fn invalid_config(e: &FailsafeError) -> PreflightReport {
    PreflightReport {
        side: "unknown",
        account: String::new(),
        region: String::new(),
        sources: 0,
        findings: vec![Finding {
            check: "config",
            subject: e.kind.to_string(),
            level: Level::Problem,
            message: format!(
                "the deployed configuration is refused at cold start, so every run fails: {}",
                e.message
            ),
            blocks: true,
        }],
    }
}

fn unreadable(check: &'static str, arn: &str, error: &str, permission: &str) -> Finding {
    Finding {
        check,
        subject: arn.into(),
        level: Level::Warning,
        message: format!("could not be read ({error}); not checked: allow {permission} on it"),
        blocks: false,
    }
}
