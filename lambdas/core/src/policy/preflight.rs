//! The preflight's judgements: whether the things every copy depends on — the share key, the
//! Failsafe topics, the snapshot quotas, the sources themselves, the Failsafe key — are in a state
//! that lets the tool work, decided on what the port read. No I/O.
//!
//! A finding is `ok`, a `warning` (the tool works, an operator should look) or a `problem`
//! (copies will fail). A problem that would make *every* copy of a run fail `blocks` the run: the
//! Live state machine stops before copying, with one message instead of one failure per source.

use crate::config::{Retention, RetentionPolicy};
use crate::model::{DbCluster, DbInstance, KeyInfo, OptionGroup, SnapshotKind};
use crate::policy::copy::not_shareable_reason;
use crate::policy::copy_time::{copy_seconds, wait_bound, WaitSettings};
use crate::policy::cost::changed_fraction;
use crate::policy::quota::quota_name;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::policy::resource_policy::{resource_policy_grants, Grant};

/// What a Failsafe account does with the share key, always through RDS (the key policy's
/// `FailsafeAccounts…` statements): describe it, decrypt the share copy, and let RDS create the
/// grant its copy needs.
pub use crate::contract::SHARE_KEY_ACTIONS;

/// A quota filled beyond this share in the steady state is a warning: a few more sources or a
/// manual snapshot someone keeps would fill it.
const QUOTA_WARN_PERCENT: i64 = 90;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warning,
    Problem,
}

impl Level {
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warning => "warning",
            Level::Problem => "problem",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// `share-key`, `topic`, `quota`, `source`, `failsafe-key`.
    pub check: &'static str,
    /// What was checked: a key or topic ARN, `instance orders`, `ManualSnapshots`.
    pub subject: String,
    pub level: Level,
    pub message: String,
    /// Every copy of a Live run would fail because of it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub blocks: bool,
}

/// A selected source RDS cannot copy (Multi-AZ DB cluster, RDS Custom) is a problem: it is
/// not protected at all. Not blocking: the other sources are copied.
pub fn not_copyable_findings(skips: &[crate::policy::selection::SelectionSkip]) -> Vec<Finding> {
    skips
        .iter()
        .filter(|s| s.not_copyable)
        .map(|s| {
            Finding::new(
                "source",
                s.selector.clone(),
                Level::Problem,
                format!("{}; it is not protected by rds-failsafe: take it out of `sources` once it is protected otherwise", s.reason),
            )
        })
        .collect()
}

impl Finding {
    fn new(check: &'static str, subject: impl Into<String>, level: Level, message: String) -> Self {
        Finding {
            check,
            subject: subject.into(),
            level,
            message,
            blocks: false,
        }
    }
    fn ok(check: &'static str, subject: impl Into<String>, message: String) -> Self {
        Finding::new(check, subject, Level::Ok, message)
    }
    fn warning(check: &'static str, subject: impl Into<String>, message: String) -> Self {
        Finding::new(check, subject, Level::Warning, message)
    }
    fn problem(check: &'static str, subject: impl Into<String>, message: String) -> Self {
        Finding::new(check, subject, Level::Problem, message)
    }
    fn blocking(mut self, blocks: bool) -> Self {
        self.blocks = blocks;
        self
    }
}

/// The key every share copy is encrypted with (`SHARE_KMS_KEY_ARN`): it exists, is enabled, is a
/// customer-managed key (RDS cannot share a snapshot encrypted with an AWS-managed key), and its
/// policy lets each Failsafe account use it. `used_by_every_copy`: every selected source is
/// copied with it (all encrypted, or `ENCRYPT_UNENCRYPTED`), so a key problem blocks the run.
pub fn share_key_findings(
    key_arn: &str,
    key: Option<&KeyInfo>,
    policy: Result<&str, String>,
    failsafe_accounts: &[String],
    used_by_every_copy: bool,
) -> Vec<Finding> {
    const CHECK: &str = "share-key";
    let Some(key) = key else {
        return vec![Finding::problem(
            CHECK,
            key_arn,
            "the share key does not exist: SHARE_KMS_KEY_ARN must name the key the Live stack created (output ShareKeyArn); redeploy the Live stack".into(),
        )
        .blocking(used_by_every_copy)];
    };
    if key.manager != "CUSTOMER" {
        return vec![Finding::problem(
            CHECK,
            key_arn,
            format!("the share key is {}-managed; RDS cannot share a snapshot encrypted with an AWS-managed key: SHARE_KMS_KEY_ARN must name the Live stack's customer-managed key", key.manager),
        )
        .blocking(used_by_every_copy)];
    }
    if key.state != "Enabled" {
        return vec![Finding::problem(
            CHECK,
            key_arn,
            format!(
                "the share key is {} (not Enabled): no share copy can be made or read until it is enabled again{}",
                key.state,
                if key.state == "PendingDeletion" { " (kms cancel-key-deletion, then kms enable-key)" } else { " (kms enable-key)" },
            ),
        )
        .blocking(used_by_every_copy)];
    }
    let policy = match key_policy_json(CHECK, key_arn, "the share key's policy", policy) {
        Ok(p) => p,
        Err(f) => return vec![f],
    };
    let mut out = Vec::new();
    let mut refused = 0;
    for account in failsafe_accounts {
        let lacking = lacking_grants(&policy, account);
        if lacking.is_empty() {
            continue;
        }
        refused += 1;
        out.push(Finding::problem(
            CHECK,
            key_arn,
            format!(
                "the share key's policy does not let Failsafe account {account} use it ({}): that account cannot copy any encrypted share copy; redeploy the Live stack to restore the key policy",
                lacking.join(", ")
            ),
        ));
    }
    if refused > 0 && refused == failsafe_accounts.len() && used_by_every_copy {
        for f in &mut out {
            f.blocks = true;
        }
    }
    if out.is_empty() {
        out.push(Finding::ok(
            CHECK,
            key_arn,
            format!(
                "enabled, customer-managed; its policy lets {} use it",
                failsafe_accounts.join(", ")
            ),
        ));
    }
    out
}

/// A key policy as JSON, or the warning that it could not be read or parsed (the Failsafe
/// accounts' access then unchecked). `what` names the policy in the message.
fn key_policy_json(
    check: &'static str,
    subject: &str,
    what: &str,
    policy: Result<&str, String>,
) -> Result<Value, Finding> {
    match policy.map(serde_json::from_str::<Value>) {
        Ok(Ok(p)) => Ok(p),
        Ok(Err(e)) => Err(Finding::warning(
            check,
            subject,
            format!("{what} is not JSON ({e}); the Failsafe accounts' access was not checked"),
        )),
        Err(e) => Err(Finding::warning(
            check,
            subject,
            format!("{what} could not be read ({e}); the Failsafe accounts' access was not checked: allow kms:GetKeyPolicy on it"),
        )),
    }
}

/// What a key policy does not let `account` do of what copying a snapshot shared under the key
/// needs (`SHARE_KEY_ACTIONS`), each with the statement that denies it, if one does.
fn lacking_grants(policy: &Value, account: &str) -> Vec<String> {
    SHARE_KEY_ACTIONS
        .iter()
        .filter_map(|a| match resource_policy_grants(policy, account, a) {
            Grant::Allowed => None,
            Grant::Denied(sid) => Some(format!("{a} (denied by {sid})")),
            Grant::Missing => Some(a.to_string()),
        })
        .collect()
}

/// An incremental source (`INCREMENTAL_SOURCES`) is shared under its own key: the key must be
/// customer-managed (else the run falls back to a share copy, whose Failsafe copies are full) and
/// its policy must let each Failsafe account use it, or every Failsafe copy of the source fails.
/// `key_arn`: the database's key, `None` when unencrypted. Never blocking: one source's key
/// stops no other source.
pub fn incremental_key_findings(
    source: &str,
    key_arn: Option<&str>,
    key: Option<&KeyInfo>,
    policy: Result<&str, String>,
    failsafe_accounts: &[String],
    encrypt_unencrypted: bool,
) -> Vec<Finding> {
    const CHECK: &str = "incremental-source";
    let Some(key_arn) = key_arn else {
        return vec![if encrypt_unencrypted {
            Finding::warning(
                CHECK,
                source,
                "unencrypted, and ENCRYPT_UNENCRYPTED=true: it is shared as an encrypted share copy, whose Failsafe copies are full; set ENCRYPT_UNENCRYPTED=false (liveEncryptUnencrypted) to share its own snapshot, or take it out of incrementalSources".into(),
            )
        } else {
            Finding::ok(
                CHECK,
                source,
                "unencrypted: its own snapshot is shared unencrypted".into(),
            )
        }];
    };
    let Some(key) = key else {
        return vec![Finding::warning(
            CHECK,
            source,
            format!(
                "its key {key_arn} could not be found: its snapshots cannot be shared under it"
            ),
        )];
    };
    if key.manager != "CUSTOMER" {
        return vec![Finding::warning(
            CHECK,
            source,
            format!(
                "on the {}-managed key {key_arn} (aws/rds), under which RDS cannot share a snapshot: it gets a share copy, whose Failsafe copies are full; to make them incremental, move the database to a customer-managed key (restore it from a snapshot copy made under one)",
                key.manager
            ),
        )];
    }
    let what = format!("the policy of its key {key_arn}");
    let policy = match key_policy_json(CHECK, source, &what, policy) {
        Ok(p) => p,
        Err(f) => return vec![f],
    };
    let mut out = Vec::new();
    for account in failsafe_accounts {
        let lacking = lacking_grants(&policy, account);
        if lacking.is_empty() {
            continue;
        }
        out.push(Finding::problem(
            CHECK,
            source,
            format!(
                "the policy of its key {key_arn} does not let Failsafe account {account} use it ({}): every Failsafe copy of it will fail; add a statement allowing arn:aws:iam::{account}:root {} (docs/configuration.md, \"Incremental sources\")",
                lacking.join(", "),
                SHARE_KEY_ACTIONS.join(", ")
            ),
        ));
    }
    if out.is_empty() {
        out.push(Finding::ok(
            CHECK,
            source,
            format!(
                "on the customer-managed key {key_arn}, whose policy lets {} use it: its own snapshot is shared",
                failsafe_accounts.join(", ")
            ),
        ));
    }
    out
}

/// A Failsafe topic `notify` publishes to: it exists and its policy lets the Live account publish.
/// Not blocking: without the message the Failsafe account's backstop schedule still finds the
/// share copies (later, and with an alarm if it does not).
pub fn topic_findings(
    topic_arn: &str,
    policy: Result<Option<&str>, String>,
    live_account: &str,
) -> Finding {
    const CHECK: &str = "topic";
    match policy {
        Ok(None) => Finding::problem(
            CHECK,
            topic_arn,
            "the topic does not exist: notify cannot announce the copies (the Failsafe backstop still finds them); check FAILSAFE_TOPIC_ARNS against the Failsafe stack's output TopicArn".into(),
        ),
        Err(e) => Finding::warning(
            CHECK,
            topic_arn,
            format!("the topic's policy could not be read ({e}); whether the Live account may publish was not checked"),
        ),
        Ok(Some("")) => Finding::warning(
            CHECK,
            topic_arn,
            "the topic exists but GetTopicAttributes returned no policy (SNS returns attributes by the caller's authorization); whether the Live account may publish was not checked".into(),
        ),
        Ok(Some(text)) => match serde_json::from_str::<Value>(text) {
            Err(e) => Finding::warning(
                CHECK,
                topic_arn,
                format!("the topic's policy is not JSON ({e}); not checked"),
            ),
            Ok(p) => match resource_policy_grants(&p, live_account, "sns:Publish") {
                Grant::Allowed => Finding::ok(
                    CHECK,
                    topic_arn,
                    format!("exists; its policy lets {live_account} publish (its KMS key's policy is not readable from this account)"),
                ),
                Grant::Denied(sid) => Finding::problem(
                    CHECK,
                    topic_arn,
                    format!("the topic's policy denies {live_account} sns:Publish ({sid}): notify cannot announce the copies; add this account to the Failsafe stack's sourceAccounts and redeploy it"),
                ),
                Grant::Missing => Finding::problem(
                    CHECK,
                    topic_arn,
                    format!("the topic's policy does not let {live_account} publish: notify cannot announce the copies; add this account to the Failsafe stack's sourceAccounts and redeploy it"),
                ),
            },
        },
    }
}

/// A selected source's own state: automated backups on (else there is no automated snapshot to
/// copy) and snapshots that RDS can share (no TDE, no permanent or persistent option).
pub fn instance_findings(db: &DbInstance, groups: &[OptionGroup]) -> Vec<Finding> {
    let subject = format!("instance {}", db.id);
    let mut out = Vec::new();
    if db.backup_retention_days <= 0 {
        out.push(no_backups(&subject));
    }
    for g in groups {
        if let Some(reason) = not_shareable_reason(&db.engine, Some(g)) {
            out.push(Finding::problem(
                "source",
                subject.clone(),
                format!("{reason}: its copies cannot be shared with the Failsafe account; take it out of SOURCES, or protect it another way"),
            ));
        }
    }
    out
}

/// When a Live run copies: from its start, for at most `seconds` (its `maxWaitSeconds`), or
/// with the run's wait settings for as long as each instance's copy is waited for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CopyWindow {
    pub start: DateTime<Utc>,
    pub seconds: i64,
    pub wait: Option<WaitSettings>,
}

impl CopyWindow {
    /// The window of a copy of an instance of `allocated_gib` (with a wait of its own, if
    /// `COPY_WAITS` sets one): its wait bound (`policy::copy_time`) when the run's settings are
    /// known.
    pub fn for_instance(&self, allocated_gib: i32, copy_wait: Option<u64>) -> CopyWindow {
        let seconds = self.wait.map_or(self.seconds, |w| {
            wait_bound(Some(allocated_gib), &w.for_source(copy_wait)).max_wait_seconds as i64
        });
        CopyWindow { seconds, ..*self }
    }
}

/// `hh24:mi-hh24:mi` (UTC, `PreferredBackupWindow`) as minutes after midnight, start and end.
fn backup_window_minutes(window: &str) -> Option<(i64, i64)> {
    let minutes = |hm: &str| -> Option<i64> {
        let (h, m) = hm.trim().split_once(':')?;
        let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
        ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 60 + m)
    };
    let (start, end) = window.split_once('-')?;
    Some((minutes(start)?, minutes(end)?))
}

/// RDS takes no automated backup of a database while a snapshot copy of it runs in the same
/// region (docs/aws-facts.md): a backup window that opens while the Live run may still be
/// copying the source costs that day's automated snapshot, silently. A warning naming both
/// times and what to move; `None` when they do not meet or the window is unreadable.
pub fn backup_window_finding(db_id: &str, window: &str, run: &CopyWindow) -> Option<Finding> {
    let (start, end) = backup_window_minutes(window)?;
    let length = (end - start).rem_euclid(24 * 60).max(1);
    let run_end = run.start + chrono::Duration::seconds(run.seconds);
    let midnight = run.start.date_naive().and_hms_opt(0, 0, 0)?.and_utc();
    // the windows of the day before the run to the day after its longest copy
    let days = run.seconds / 86_400 + 2;
    let overlaps = (-1..=days).any(|day| {
        let opens = midnight + chrono::Duration::minutes(day * 24 * 60 + start);
        let closes = opens + chrono::Duration::minutes(length);
        opens < run_end && closes > run.start
    });
    overlaps.then(|| {
        Finding::warning(
            "backup-window",
            format!("instance {db_id}"),
            format!(
                "its backup window {window} UTC falls inside the Live run's copy of it (from {} UTC, for up to {} s, the copy's wait bound): RDS takes no automated backup of a database while a snapshot copy of it runs, so that day's automated snapshot may not be taken. Start the Live run (liveSchedule) after the window ends, or move the window (PreferredBackupWindow) before the run",
                run.start.format("%H:%M"),
                run.seconds
            ),
        )
    })
}

pub fn cluster_findings(db: &DbCluster) -> Vec<Finding> {
    let subject = format!("cluster {}", db.id);
    if db.backup_retention_days <= 0 {
        vec![no_backups(&subject)]
    } else {
        Vec::new()
    }
}

fn no_backups(subject: &str) -> Finding {
    Finding::problem(
        "source",
        subject,
        "automated backups are off (BackupRetentionPeriod 0): there is no automated snapshot to copy; set a backup retention period of at least 1 day".into(),
    )
}

/// The copies an account holds per source in the steady state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaNeed {
    pub kind: SnapshotKind,
    /// `DescribeAccountAttributes` used and max.
    pub used: i64,
    pub max: i64,
    /// Of `used`, the tool's own copies in the account now.
    pub managed: i64,
    /// Sources of this kind the tool keeps copies of.
    pub sources: i64,
    /// Copies per source at most, the one being made included.
    pub per_source: i64,
    /// Beyond `per_source`: the snapshots (of sources with a cadence, or big ones) that `delete-old-copies`
    /// holds while a Failsafe copy may read them ([`live_snapshots_per_source`]).
    pub extra: i64,
}

/// How many of one source's managed snapshots the Live account holds at once, the one being
/// made included: the `live_keep` newest, or more if more were made within `in_use_seconds`
/// (`copy_time::share_in_use_seconds`: `delete-old-copies` keeps those while a Failsafe copy
/// may read them) — every `every_hours` for a source with a cadence, else one a day.
pub fn live_snapshots_per_source(
    live_keep: u32,
    every_hours: Option<u32>,
    in_use_seconds: u64,
) -> i64 {
    let every = u64::from(every_hours.unwrap_or(24).max(1)) * 3600;
    let held = in_use_seconds / every + 1;
    i64::from(live_keep).max(held as i64) + 1
}

/// Whether a source's copies keep up with its cadence of `every_hours`. RDS queues the copies
/// of one source behind each other (docs/aws-facts.md, "Copy physics"): a copy that takes longer
/// than the cadence makes every later one wait longer, and the newest copy falls further behind.
/// `size_gib`: the instance's `AllocatedStorage` (none for an Aurora cluster, whose size RDS does
/// not report, and whose copies are always full); `full_every_time`: why each of its copies is
/// full, if it is (it keeps the share copy: `aws/rds`, or unencrypted with `ENCRYPT_UNENCRYPTED`);
/// else the first copy is full and each later one moves the blocks written since the one before,
/// at `change_per_day` (an assumption: RDS reports no changed bytes).
pub fn cadence_finding(
    subject: &str,
    every_hours: u32,
    size_gib: Option<i32>,
    full_every_time: Option<&str>,
    wait: &WaitSettings,
    change_per_day: f64,
) -> Finding {
    let h = every_hours;
    let budget = u64::from(h) * 3600;
    let seconds = |gib: f64| copy_seconds(gib, wait.copy_throughput_mibps);
    let Some(size) = size_gib else {
        return Finding::warning(
            "cadence",
            subject.to_string(),
            format!(
                "every {h} h: a DB cluster snapshot copy is always full and RDS reports no Aurora snapshot's size, so each run copies the whole cluster volume into the Failsafe account and keeps it whole; if a copy takes longer than {budget} s (CopySeconds on the Failsafe dashboard), copies queue behind each other and the newest copy falls further behind: then lengthen the cadence"
            ),
        );
    };
    let size = f64::from(size.max(0));
    let full = seconds(size);
    if let Some(why) = full_every_time {
        return Finding::problem(
            "cadence",
            subject.to_string(),
            format!(
                "every {h} h adds nothing: {why}, so each run shares a copy of the newest automated snapshot, which the daily run copied already; move the database to a customer-managed key whose policy lets the Failsafe accounts use it, or take it out of the cadence"
            ),
        );
    }
    let rate = change_per_day.clamp(0.0, 1.0);
    let changed = size * changed_fraction(rate, f64::from(h) / 24.0);
    let next = seconds(changed);
    let figures = format!(
        "a full copy of {size} GiB at {} MiB/s (copyThroughputMiBps) takes about {full} s ({:.1} h); each later copy moves the blocks written in {h} h, about {changed:.1} GiB at {rate} of them a day (an assumption: RDS reports no changed bytes), {next} s",
        wait.copy_throughput_mibps,
        full as f64 / 3600.0
    );
    if next > budget {
        Finding::problem(
            "cadence",
            subject.to_string(),
            format!(
                "cannot keep up with every {h} h: {figures}, longer than {budget} s: its blocks change faster than its copies move them, so copies queue behind each other and the newest copy falls further behind (a longer cadence moves about as much an hour); take it out of the cadence (its daily copy stays), or check copyThroughputMiBps against its copies' CopySeconds"
            ),
        )
    } else if full > budget {
        Finding::warning(
            "cadence",
            subject.to_string(),
            format!(
                "every {h} h: {figures}; the first copy (and any after the chain breaks: a copy under another key, the newest copy deleted) takes longer than {budget} s, and the runs' copies queue behind it until it is done"
            ),
        )
    } else {
        Finding::ok(
            "cadence",
            subject.to_string(),
            format!("keeps up with every {h} h: {figures}"),
        )
    }
}

/// Whether the steady state fits the quota: every other manual snapshot, plus `per_source` copies
/// of each source. `settings` names the knob that sets `per_source`.
pub fn quota_finding(need: &QuotaNeed, settings: &str) -> Finding {
    let name = quota_name(need.kind);
    let others = (need.used - need.managed).max(0);
    let steady = others + need.sources * need.per_source + need.extra;
    let extra = if need.extra > 0 {
        format!(
            " + {} more held while a Failsafe copy may still read them (a cadence's, a big database's)",
            need.extra
        )
    } else {
        String::new()
    };
    let detail = format!(
        "{} used of {} now; steady state {steady} = {others} other manual snapshots + {} {} source(s) x {} copies ({settings}){extra}",
        need.used, need.max, need.sources, need.kind, need.per_source
    );
    if steady > need.max {
        Finding::problem(
            "quota",
            name,
            format!("{detail}: {} over; copies will fail when it fills. Lower {settings}, delete manual snapshots no longer needed, or request a quota increase (Service Quotas, Amazon RDS)", steady - need.max),
        )
    } else if steady * 100 > need.max * QUOTA_WARN_PERCENT {
        Finding::warning(
            "quota",
            name,
            format!("{detail}: above {QUOTA_WARN_PERCENT} % of the quota"),
        )
    } else {
        Finding::ok("quota", name, detail)
    }
}

/// At most how many copies of one source the Failsafe account keeps: what the retention policy
/// keeps (every daily, weekly and monthly slot distinct; a copy a day for `RETENTION_DAYS`),
/// never fewer than the floor, plus the copy being saved.
pub fn failsafe_copies_per_source(retention: &Retention) -> i64 {
    let policy = match retention.policy {
        RetentionPolicy::Gfs {
            hourly,
            daily,
            weekly,
            monthly,
        } => hourly + daily + weekly + monthly,
        RetentionPolicy::Days(days) => days + 1,
    };
    i64::from(policy.max(retention.min_keep)) + 1
}

/// The Failsafe key (`FAILSAFE_KMS_KEY_ARN`): every saved copy is encrypted with it.
pub fn failsafe_key_finding(key_arn: &str, key: Option<&KeyInfo>, account: &str) -> Finding {
    const CHECK: &str = "failsafe-key";
    match key {
        None => Finding::problem(
            CHECK,
            key_arn,
            "the Failsafe key does not exist: no copy can be saved; FAILSAFE_KMS_KEY_ARN must name the Failsafe stack's key (output FailsafeKeyArn)".into(),
        ),
        Some(k) if k.manager != "CUSTOMER" || k.arn.split(':').nth(4) != Some(account) => {
            Finding::problem(
                CHECK,
                key_arn,
                format!("the Failsafe key must be a customer-managed key of this account ({account}); it is {}-managed in account {}", k.manager, k.arn.split(':').nth(4).unwrap_or("?")),
            )
        }
        Some(k) if k.state != "Enabled" => Finding::problem(
            CHECK,
            key_arn,
            format!("the Failsafe key is {} (not Enabled): no copy can be saved, and no saved copy can be restored, until it is enabled again", k.state),
        ),
        Some(_) => Finding::ok(CHECK, key_arn, "enabled, customer-managed, this account's".into()),
    }
}

/// RDS's service-linked role, which RDS creates with an account's first DB instance: a Failsafe
/// account that never ran a database has none. A restore needs it (RDS User Guide, "Using
/// service-linked roles for Amazon RDS"); RDS creates it then, for a caller allowed
/// `iam:CreateServiceLinkedRole` for `rds.amazonaws.com` — the `save` and `restore-drill` roles
/// are, an operator's role on the worst day may not be. `exists`: what IAM's GetRole said, or
/// why it could not be read.
pub fn service_linked_role_finding(account: &str, exists: Result<bool, String>) -> Finding {
    const CHECK: &str = "service-linked-role";
    let arn = format!(
        "arn:aws:iam::{account}:role/aws-service-role/rds.amazonaws.com/{RDS_SERVICE_LINKED_ROLE}"
    );
    match exists {
        Ok(true) => Finding::ok(CHECK, arn, "exists: RDS can restore and copy in this account".into()),
        Ok(false) => Finding::warning(
            CHECK,
            arn,
            format!(
                "{RDS_SERVICE_LINKED_ROLE} does not exist in this account (it never had a DB instance): a restore needs it, and RDS creates it only for a caller allowed iam:CreateServiceLinkedRole for rds.amazonaws.com. The save and restore-drill roles are; to restore on the worst day with any other role, create it now: aws iam create-service-linked-role --aws-service-name rds.amazonaws.com"
            ),
        ),
        Err(e) => Finding::warning(
            CHECK,
            arn,
            format!("could not be read ({e}); not checked: allow iam:GetRole on it"),
        ),
    }
}

/// The name of RDS's service-linked role (IAM path `/aws-service-role/rds.amazonaws.com/`).
pub const RDS_SERVICE_LINKED_ROLE: &str = "AWSServiceRoleForRDS";

/// Marks each source's problems as blocking when every source has one: then no copy of the run
/// can succeed. Returns whether that is so.
pub fn block_if_every_source_fails(findings: &mut [Finding], sources: usize) -> bool {
    let failing: std::collections::BTreeSet<&str> = findings
        .iter()
        .filter(|f| f.check == "source" && f.level == Level::Problem)
        .map(|f| f.subject.as_str())
        .collect();
    let all = sources > 0 && failing.len() == sources;
    if all {
        for f in findings
            .iter_mut()
            .filter(|f| f.check == "source" && f.level == Level::Problem)
        {
            f.blocks = true;
        }
    }
    all
}

/// The one message a blocked run fails with: what blocks it, and how many problems in all.
pub fn blocking_message(findings: &[Finding]) -> Option<String> {
    let blocking: Vec<&Finding> = findings.iter().filter(|f| f.blocks).collect();
    let first = blocking.first()?;
    let problems = findings
        .iter()
        .filter(|f| f.level == Level::Problem)
        .count();
    let mut m = format!(
        "preflight: no copy of this run could be saved in a Failsafe account, so nothing was copied: {} {}: {}",
        first.check, first.subject, first.message
    );
    if blocking.len() > 1 {
        m.push_str(&format!(" (and {} more like it)", blocking.len() - 1));
    }
    m.push_str(&format!(
        "; {problems} problem(s) in all, `rdsf preflight` lists them"
    ));
    Some(m)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_missing_service_linked_role_is_a_warning_saying_how_to_create_it() {
        let f = service_linked_role_finding("222222222222", Ok(false));
        assert_eq!((f.check, f.level), ("service-linked-role", Level::Warning));
        assert!(f
            .subject
            .ends_with(":role/aws-service-role/rds.amazonaws.com/AWSServiceRoleForRDS"));
        assert!(f
            .message
            .contains("aws iam create-service-linked-role --aws-service-name rds.amazonaws.com"));
        assert_eq!(service_linked_role_finding("2", Ok(true)).level, Level::Ok);
        let denied = service_linked_role_finding("2", Err("AccessDenied".into()));
        assert_eq!(denied.level, Level::Warning);
        assert!(denied.message.contains("iam:GetRole"));
    }

    use super::*;
    use serde_json::json;

    const LIVE: &str = "111111111111";
    const FS: &str = "222222222222";
    const FS2: &str = "333333333333";
    const KEY: &str = "arn:aws:kms:eu-west-1:111111111111:key/share";

    /// The share key policy the Live stack deploys (cdk/lib/live-account.ts), two accounts.
    fn share_key_policy(accounts: &[&str]) -> String {
        let principals: Vec<String> = accounts
            .iter()
            .map(|a| format!("arn:aws:iam::{a}:root"))
            .collect();
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{LIVE}:root")}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "FailsafeAccountsReadShareCopiesThroughRds", "Effect": "Allow",
             "Principal": {"AWS": principals}, "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": "*",
             "Condition": {"StringEquals": {"kms:ViaService": ["rds.eu-west-1.amazonaws.com"]}}},
            {"Sid": "FailsafeAccountsLetRdsCopyShareCopies", "Effect": "Allow",
             "Principal": {"AWS": principals}, "Action": "kms:CreateGrant", "Resource": "*",
             "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
        ]})
        .to_string()
    }

    fn key(state: &str, manager: &str) -> KeyInfo {
        KeyInfo {
            arn: KEY.into(),
            state: state.into(),
            manager: manager.into(),
        }
    }

    fn accounts() -> Vec<String> {
        vec![FS.into(), FS2.into()]
    }

    #[test]
    fn the_deployed_share_key_passes() {
        let f = share_key_findings(
            KEY,
            Some(&key("Enabled", "CUSTOMER")),
            Ok(&share_key_policy(&[FS, FS2])),
            &accounts(),
            true,
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].level, Level::Ok, "{f:?}");
        assert!(f[0].message.contains(FS2));
    }

    #[test]
    fn a_key_policy_without_one_account_is_a_problem_that_blocks_only_when_no_account_can_use_it() {
        let f = share_key_findings(
            KEY,
            Some(&key("Enabled", "CUSTOMER")),
            Ok(&share_key_policy(&[FS])),
            &accounts(),
            true,
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].level, Level::Problem);
        assert!(!f[0].blocks, "the other account still gets its copies");
        assert!(
            f[0].message.contains(FS2) && f[0].message.contains("kms:CreateGrant"),
            "{}",
            f[0].message
        );

        let f = share_key_findings(
            KEY,
            Some(&key("Enabled", "CUSTOMER")),
            Ok(&share_key_policy(&[])),
            &accounts(),
            true,
        );
        assert_eq!(f.len(), 2);
        assert!(f.iter().all(|f| f.blocks && f.level == Level::Problem));
        // unencrypted sources, copied without the key: the run can still save those
        let f = share_key_findings(
            KEY,
            Some(&key("Enabled", "CUSTOMER")),
            Ok(&share_key_policy(&[])),
            &accounts(),
            false,
        );
        assert!(f.iter().all(|f| !f.blocks));
    }

    #[test]
    fn a_missing_disabled_or_aws_managed_key_blocks() {
        for (k, words) in [
            (None, "does not exist"),
            (Some(key("Disabled", "CUSTOMER")), "Disabled"),
            (
                Some(key("PendingDeletion", "CUSTOMER")),
                "cancel-key-deletion",
            ),
            (Some(key("Enabled", "AWS")), "AWS-managed"),
        ] {
            let f = share_key_findings(KEY, k.as_ref(), Ok("{}"), &accounts(), true);
            assert_eq!(f.len(), 1);
            assert!(f[0].blocks && f[0].level == Level::Problem);
            assert!(f[0].message.contains(words), "{}", f[0].message);
        }
    }

    #[test]
    fn an_unreadable_key_policy_is_a_warning_not_a_pass() {
        let f = share_key_findings(
            KEY,
            Some(&key("Enabled", "CUSTOMER")),
            Err("AccessDeniedException: no".into()),
            &accounts(),
            true,
        );
        assert_eq!(f[0].level, Level::Warning);
        assert!(f[0].message.contains("kms:GetKeyPolicy"));
    }

    #[test]
    fn an_incremental_sources_key_must_be_a_customer_key_that_grants_each_failsafe_account() {
        let arn = "arn:aws:kms:eu-west-1:111111111111:key/app";
        let granted = share_key_policy(&[FS, FS2]);
        let only_one = share_key_policy(&[FS]);
        let run = |k: Option<&KeyInfo>, policy: &str| {
            incremental_key_findings("instance:app", Some(arn), k, Ok(policy), &accounts(), false)
        };
        let ok = run(Some(&key("Enabled", "CUSTOMER")), &granted);
        assert_eq!(ok.len(), 1);
        assert_eq!(ok[0].level, Level::Ok);
        let f = run(Some(&key("Enabled", "CUSTOMER")), &only_one);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].level, Level::Problem);
        assert!(!f[0].blocks, "one source's key stops no other source");
        assert!(
            f[0].message.contains(FS2) && f[0].message.contains("kms:CreateGrant"),
            "{}",
            f[0].message
        );
        let aws = run(Some(&key("Enabled", "AWS")), &granted);
        assert_eq!(aws[0].level, Level::Warning);
        assert!(aws[0].message.contains("full"), "{}", aws[0].message);
        assert_eq!(run(None, &granted)[0].level, Level::Warning);
        let unreadable = incremental_key_findings(
            "instance:app",
            Some(arn),
            Some(&key("Enabled", "CUSTOMER")),
            Err("AccessDenied".into()),
            &accounts(),
            false,
        );
        assert_eq!(unreadable[0].level, Level::Warning);
        // unencrypted: shared as it is, unless ENCRYPT_UNENCRYPTED makes it a share copy
        let plain =
            incremental_key_findings("instance:plain", None, None, Ok(""), &accounts(), false);
        assert_eq!(plain[0].level, Level::Ok);
        let encrypting =
            incremental_key_findings("instance:plain", None, None, Ok(""), &accounts(), true);
        assert_eq!(encrypting[0].level, Level::Warning);
    }

    #[test]
    fn topics_exist_and_accept_the_live_account() {
        const TOPIC: &str = "arn:aws:sns:eu-west-1:222222222222:rds-failsafe";
        let policy = json!({"Statement": [
            {"Sid": "OnlyLiveAccountsPublish", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{LIVE}:root")},
             "Action": "sns:Publish", "Resource": TOPIC},
            {"Effect": "Deny", "Principal": "*", "Action": "sns:Publish", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})
        .to_string();
        assert_eq!(
            topic_findings(TOPIC, Ok(Some(&policy)), LIVE).level,
            Level::Ok
        );
        let other = topic_findings(TOPIC, Ok(Some(&policy)), "444444444444");
        assert_eq!(other.level, Level::Problem);
        assert!(other.message.contains("sourceAccounts"));
        let gone = topic_findings(TOPIC, Ok(None), LIVE);
        assert!(gone.level == Level::Problem && !gone.blocks);
        assert_eq!(
            topic_findings(TOPIC, Err("AuthorizationError".into()), LIVE).level,
            Level::Warning
        );
        let unreturned = topic_findings(TOPIC, Ok(Some("")), LIVE);
        assert_eq!(unreturned.level, Level::Warning);
        assert!(unreturned.message.contains("returned no policy"));
    }

    #[test]
    fn sources_without_backups_or_with_unshareable_options_are_problems() {
        let db = DbInstance {
            id: "ledger".into(),
            engine: "oracle-ee".into(),
            backup_retention_days: 0,
            option_groups: vec!["ledger-og".into()],
            ..DbInstance::default()
        };
        let tde = OptionGroup {
            name: "ledger-og".into(),
            options: vec![crate::model::OptionInfo {
                name: "TDE".into(),
                permanent: true,
                persistent: true,
            }],
        };
        let f = instance_findings(&db, &[tde]);
        assert_eq!(f.len(), 2);
        assert!(f[0].message.contains("BackupRetentionPeriod 0"));
        assert!(f[1].message.contains("Transparent Data Encryption"));
        let fine = DbInstance {
            backup_retention_days: 7,
            ..db
        };
        assert!(instance_findings(&fine, &[]).is_empty());
        let cluster = DbCluster {
            id: "c".into(),
            backup_retention_days: 1,
            ..DbCluster::default()
        };
        assert!(cluster_findings(&cluster).is_empty());
    }

    #[test]
    fn every_source_failing_blocks_and_the_message_says_it_once() {
        let mut f = [
            instance_findings(
                &DbInstance {
                    id: "a".into(),
                    ..DbInstance::default()
                },
                &[],
            ),
            instance_findings(
                &DbInstance {
                    id: "b".into(),
                    ..DbInstance::default()
                },
                &[],
            ),
        ]
        .concat();
        assert!(!block_if_every_source_fails(&mut f, 3));
        assert_eq!(blocking_message(&f), None);
        assert!(block_if_every_source_fails(&mut f, 2));
        let m = blocking_message(&f).unwrap();
        assert!(
            m.starts_with("preflight: no copy of this run could be saved in a Failsafe account, so nothing was copied: source instance a: automated backups are off"),
            "{m}"
        );
        assert!(
            m.contains("(and 1 more like it)") && m.contains("2 problem(s) in all"),
            "{m}"
        );
    }

    #[test]
    fn a_backup_window_inside_the_copy_is_a_warning() {
        let run = CopyWindow {
            start: "2026-11-20T05:00:00Z".parse().unwrap(),
            seconds: 6 * 3600,
            wait: None,
        };
        // before the run, after the longest copy: nothing
        assert_eq!(backup_window_finding("orders", "03:00-03:30", &run), None);
        assert_eq!(backup_window_finding("orders", "11:00-11:30", &run), None);
        // opens during the copy, or is still open when it starts
        let f = backup_window_finding("orders", "05:10-05:40", &run).unwrap();
        assert_eq!(
            (f.level, f.check, f.subject.as_str()),
            (Level::Warning, "backup-window", "instance orders")
        );
        assert!(
            f.message.contains("05:10-05:40 UTC")
                && f.message.contains("from 05:00 UTC")
                && f.message.contains("liveSchedule"),
            "{}",
            f.message
        );
        assert!(backup_window_finding("orders", "04:45-05:15", &run).is_some());
        assert!(backup_window_finding("orders", "10:59-11:29", &run).is_some());
        // a window across midnight, and a run that crosses it
        let late = CopyWindow {
            start: "2026-11-20T23:00:00Z".parse().unwrap(),
            seconds: 3 * 3600,
            wait: None,
        };
        assert!(backup_window_finding("orders", "23:50-00:20", &late).is_some());
        assert!(backup_window_finding("orders", "01:00-01:30", &late).is_some());
        assert_eq!(backup_window_finding("orders", "03:00-03:30", &late), None);
        // unreadable: no finding rather than a wrong one
        assert_eq!(backup_window_finding("orders", "soon", &run), None);
        // with the run's wait settings, a big instance's copy is waited for longer: a 2,000 GiB
        // one up to 30,720 s (8.5 h), so a 13:00 window is inside it
        let sized = CopyWindow {
            wait: Some(WaitSettings {
                poll_seconds: 60,
                max_wait_seconds: 6 * 3600,
                copy_throughput_mibps: 100.0,
                own_wait: None,
            }),
            ..run
        };
        assert_eq!(sized.for_instance(20, None).seconds, 6 * 3600);
        assert_eq!(sized.for_instance(2_000, None).seconds, 30_720);
        // a wait of its own (COPY_WAITS) widens the window
        assert_eq!(sized.for_instance(20, Some(36_000)).seconds, 36_000);
        assert_eq!(backup_window_finding("orders", "13:00-13:30", &run), None);
        assert!(
            backup_window_finding("orders", "13:00-13:30", &sized.for_instance(2_000, None))
                .is_some()
        );
    }

    #[test]
    fn quota_steady_state_counts_other_snapshots_and_copies_per_source() {
        let need = QuotaNeed {
            kind: SnapshotKind::Instance,
            used: 40,
            max: 100,
            managed: 10,
            sources: 10,
            extra: 0,
            per_source: 3,
        };
        let f = quota_finding(&need, "liveKeep");
        assert_eq!(f.level, Level::Ok, "{}", f.message);
        assert!(
            f.message.contains("steady state 60 = 30 other"),
            "{}",
            f.message
        );
        let f = quota_finding(
            &QuotaNeed {
                sources: 22,
                ..need
            },
            "liveKeep",
        );
        assert_eq!(f.level, Level::Warning, "{}", f.message); // 96 of 100
        let f = quota_finding(
            &QuotaNeed {
                sources: 30,
                ..need
            },
            "liveKeep",
        );
        assert_eq!(f.level, Level::Problem);
        assert!(f.message.contains("20 over") && f.message.contains("liveKeep"));
    }

    #[test]
    fn a_cadence_holds_the_snapshots_made_while_a_failsafe_copy_may_read_one() {
        // daily, 13 h in use: LIVE_KEEP 2 and the one being made
        assert_eq!(live_snapshots_per_source(2, None, 46_800), 3);
        // every 4 h, 13 h in use: the ones of the last 13 h (4) and the one being made
        assert_eq!(live_snapshots_per_source(2, Some(4), 46_800), 5);
        assert_eq!(live_snapshots_per_source(2, Some(1), 46_800), 15);
        let f = quota_finding(
            &QuotaNeed {
                kind: SnapshotKind::Instance,
                used: 10,
                max: 100,
                managed: 10,
                sources: 10,
                per_source: 3,
                extra: 2,
            },
            "liveKeep",
        );
        assert!(
            f.message.contains("steady state 32 = 0 other manual snapshots + 10 instance source(s) x 3 copies (liveKeep) + 2 more held while a Failsafe copy may still read them"),
            "{}",
            f.message
        );
    }

    #[test]
    fn a_sources_copies_must_keep_up_with_its_cadence() {
        let wait = WaitSettings {
            poll_seconds: 60,
            max_wait_seconds: 21_600,
            copy_throughput_mibps: 100.0,
            own_wait: None,
        };
        // 200 GiB every 4 h: 2,048 s full, then about 0.7 GiB
        let f = cadence_finding("instance:orders", 4, Some(200), None, &wait, 0.02);
        assert_eq!(f.level, Level::Ok, "{}", f.message);
        assert!(f.message.contains("keeps up with every 4 h: a full copy of 200 GiB at 100 MiB/s (copyThroughputMiBps) takes about 2048 s (0.6 h)"), "{}", f.message);
        // 4,000 GiB every 4 h: the first copy (11.4 h) does not, the next ones (13.5 GiB) do
        let f = cadence_finding("instance:big", 4, Some(4_000), None, &wait, 0.02);
        assert_eq!(f.level, Level::Warning, "{}", f.message);
        assert!(
            f.message.contains("takes about 40960 s (11.4 h)")
                && f.message.contains("the first copy"),
            "{}",
            f.message
        );
        // 8,000 GiB every hour at 1 MiB/s: even the changed blocks take longer than the cadence
        let slow = WaitSettings {
            copy_throughput_mibps: 1.0,
            ..wait
        };
        let f = cadence_finding("instance:big", 1, Some(8_000), None, &slow, 0.02);
        assert_eq!(f.level, Level::Problem, "{}", f.message);
        assert!(
            f.message.contains("cannot keep up with every 1 h")
                && f.message.contains("about 6.7 GiB")
                && f.message.contains("take it out of the cadence"),
            "{}",
            f.message
        );
        // aws/rds: a cadence adds nothing
        let f = cadence_finding(
            "instance:legacy",
            4,
            Some(100),
            Some("it is on aws/rds"),
            &wait,
            0.02,
        );
        assert_eq!(f.level, Level::Problem);
        assert!(
            f.message
                .contains("every 4 h adds nothing: it is on aws/rds"),
            "{}",
            f.message
        );
        // Aurora: full copies of a size RDS does not report
        let f = cadence_finding("cluster:ledger", 4, None, None, &wait, 0.02);
        assert_eq!(f.level, Level::Warning);
        assert!(
            f.message.contains("always full") && f.message.contains("14400 s"),
            "{}",
            f.message
        );
    }

    #[test]
    fn failsafe_copies_per_source_follow_the_retention_and_the_floor() {
        let gfs = Retention {
            policy: RetentionPolicy::Gfs {
                hourly: 0,
                daily: 7,
                weekly: 4,
                monthly: 12,
            },
            min_keep: 3,
        };
        assert_eq!(failsafe_copies_per_source(&gfs), 24);
        let hourly = Retention {
            policy: RetentionPolicy::Gfs {
                hourly: 24,
                daily: 7,
                weekly: 0,
                monthly: 0,
            },
            min_keep: 3,
        };
        assert_eq!(failsafe_copies_per_source(&hourly), 32);
        let days = Retention {
            policy: RetentionPolicy::Days(2),
            min_keep: 5,
        };
        assert_eq!(failsafe_copies_per_source(&days), 6);
    }

    #[test]
    fn the_failsafe_key_must_be_this_accounts_enabled_customer_key() {
        let fs_key = |state: &str, manager: &str, account: &str| KeyInfo {
            arn: format!("arn:aws:kms:eu-west-1:{account}:key/k"),
            state: state.into(),
            manager: manager.into(),
        };
        let arn = "arn:aws:kms:eu-west-1:222222222222:key/k";
        assert_eq!(
            failsafe_key_finding(arn, Some(&fs_key("Enabled", "CUSTOMER", FS)), FS).level,
            Level::Ok
        );
        for k in [
            None,
            Some(fs_key("Disabled", "CUSTOMER", FS)),
            Some(fs_key("Enabled", "AWS", FS)),
            Some(fs_key("Enabled", "CUSTOMER", LIVE)),
        ] {
            assert_eq!(
                failsafe_key_finding(arn, k.as_ref(), FS).level,
                Level::Problem
            );
        }
    }
}
