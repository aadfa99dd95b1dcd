//! Configuration from the environment, parsed once at cold start. Every bad value fails with an
//! `InvalidConfig` error that names the variable and says what is allowed, so a broken deploy
//! fails on its first invocation instead of doing something half-right.

use crate::arn::{is_account_id, is_region, Arn};
use crate::contract::{setting, var, Setting};
use crate::error::{FailsafeError, Result};
use crate::policy::copy_time::WAIT_CEILING_SECONDS;
use crate::policy::selection::{Selector, SELECTOR_HELP};
use std::collections::BTreeSet;

/// Where configuration values come from: the process environment in Lambda, a map in tests.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl<const N: usize> Env for [(&str, &str); N] {
    fn var(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

impl Env for std::collections::HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// The first of `names` that is set to a non-blank value, with the name it was found under.
fn lookup(env: &dyn Env, names: &[&str]) -> Option<(String, String)> {
    names.iter().find_map(|n| {
        env.var(n)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .map(|v| (n.to_string(), v))
    })
}

fn names_text(names: &[&str]) -> String {
    match names {
        [one] => one.to_string(),
        [first, rest @ ..] => format!("{first} (or {})", rest.join(", ")),
        [] => String::new(),
    }
}

fn required(env: &dyn Env, names: &[&str], what: &str) -> Result<(String, String)> {
    lookup(env, names)
        .ok_or_else(|| FailsafeError::config(format!("{} is not set: {what}", names_text(names))))
}

fn account_id(env: &dyn Env) -> Result<String> {
    let (name, v) = required(
        env,
        var::ACCOUNT_ID,
        "set it to this account's 12-digit AWS account id",
    )?;
    if !is_account_id(&v) {
        return Err(FailsafeError::config(format!(
            "{name}={v:?} is not a 12-digit AWS account id"
        )));
    }
    Ok(v)
}

fn region(env: &dyn Env) -> Result<String> {
    let (name, v) = required(
        env,
        var::REGION,
        "set it to the region of the databases, e.g. eu-west-1",
    )?;
    if !is_region(&v) {
        return Err(FailsafeError::config(format!(
            "{name}={v:?} is not an AWS region name such as eu-west-1"
        )));
    }
    Ok(v)
}

/// `SOURCE_REGIONS`: the distinct regions the Live accounts share from; this account's own
/// region if unset.
fn region_list(env: &dyn Env, own: &str) -> Result<Vec<String>> {
    let Some((name, raw)) = lookup(env, var::SOURCE_REGIONS) else {
        return Ok(vec![own.to_string()]);
    };
    let mut out: Vec<String> = Vec::new();
    for part in raw.split(',').map(str::trim) {
        if !is_region(part) {
            return Err(FailsafeError::config(format!(
                "{name}: {part:?} is not an AWS region name; give the comma-separated regions the Live accounts share snapshots from, e.g. us-east-1,eu-west-1"
            )));
        }
        if !out.iter().any(|r| r == part) {
            out.push(part.to_string());
        }
    }
    Ok(out)
}

/// A comma-separated list of distinct 12-digit account ids, 1..=max, none equal to `own`.
fn account_list(
    name: &str,
    raw: &str,
    own: &str,
    max: usize,
    own_role: &str,
) -> Result<Vec<String>> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for part in raw.split(',').map(str::trim) {
        if !is_account_id(part) {
            return Err(FailsafeError::config(format!(
                "{name}: {part:?} is not a 12-digit AWS account id; give a comma-separated list of account ids"
            )));
        }
        if part == own {
            return Err(FailsafeError::config(format!(
                "{name}: {part} is {own_role} itself; list only other accounts"
            )));
        }
        if seen.insert(part.to_string()) {
            out.push(part.to_string());
        }
    }
    if out.len() > max {
        return Err(FailsafeError::config(format!(
            "{name}: {} accounts given, at most {max} are allowed",
            out.len()
        )));
    }
    Ok(out)
}

/// A customer-managed KMS key ARN in `account` and `region` (aliases are refused: the key
/// policy that makes sharing work lives on the key, and an alias can be re-pointed).
fn kms_key_arn(name: &str, raw: &str, account: &str, region: &str, whose: &str) -> Result<String> {
    let arn = Arn::parse(raw)
        .filter(|a| a.service == "kms" && a.resource.starts_with("key/") && a.resource.len() > 4)
        .ok_or_else(|| {
            FailsafeError::config(format!(
                "{name}={raw:?} is not a KMS key ARN; use arn:aws:kms:<region>:<account>:key/<key-id> (not an alias)"
            ))
        })?;
    if arn.account != account {
        return Err(FailsafeError::config(format!(
            "{name}: the key belongs to account {}, but it must be a key of {whose} ({account})",
            arn.account
        )));
    }
    if arn.region != region {
        return Err(FailsafeError::config(format!(
            "{name}: the key is in region {}, but copies are made in {region}; use a key of that region",
            arn.region
        )));
    }
    Ok(raw.to_string())
}

/// A whole-number setting, its range and default from the contract (contract/contract.json
/// `settings`), which the CDK app validates against too.
fn bounded_int(env: &dyn Env, setting: &Setting) -> Result<u32> {
    let Setting {
        env: name,
        default,
        min,
        max,
        ..
    } = *setting;
    match (lookup(env, &[name]), default) {
        (None, Some(default)) => Ok(default),
        (None, None) => Err(FailsafeError::config(format!(
            "{name} is not set: give a whole number from {min} to {max}"
        ))),
        (Some((name, v)), _) => match v.parse::<u32>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(FailsafeError::config(format!(
                "{name}={v:?} must be a whole number from {min} to {max}{}",
                default
                    .map(|d| format!(" (default {d})"))
                    .unwrap_or_default()
            ))),
        },
    }
}

fn boolean(env: &dyn Env, names: &[&str], default: bool) -> Result<bool> {
    match lookup(env, names) {
        None => Ok(default),
        Some((name, v)) => match v.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err(FailsafeError::config(format!(
                "{name}={v:?} must be true or false (default {default})"
            ))),
        },
    }
}

/// Configuration of the Live account's Lambdas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveConfig {
    pub account_id: String,
    pub region: String,
    /// Failsafe accounts the share copies are shared with (1–20, RDS's limit per snapshot).
    pub failsafe_accounts: Vec<String>,
    /// Topics in the Failsafe account(s) that `notify` publishes to.
    pub failsafe_topic_arns: Vec<String>,
    /// Customer-managed key in this account whose policy lets the Failsafe account(s) use it.
    pub share_kms_key_arn: String,
    pub sources: Vec<Selector>,
    /// `INCREMENTAL_SOURCES`: the sources (of `sources`) whose own snapshot is shared instead
    /// of a share copy (`SourceMode::Incremental`); none if unset.
    pub incremental_sources: Vec<Selector>,
    /// `CADENCES`: the sources the Live machine also runs for every few hours (CDK `cadences`;
    /// the schedules are EventBridge's): preflight sizes the quota and checks that copies keep
    /// up by them. None if unset.
    pub cadences: Vec<Cadence>,
    /// `COPY_WAITS`: the sources whose copies are waited for longer than their size says; none if
    /// unset.
    pub copy_waits: Vec<CopyWait>,
    /// Managed share copies kept per source by `delete-old-copies`.
    pub live_keep: u32,
    /// Encrypt unencrypted DB instance snapshots with the share key when copying.
    pub encrypt_unencrypted: bool,
}

pub const MAX_SHARE_ACCOUNTS: usize = 20;

/// `[{"<field>": N, "sources": ["orders", "tag:tier=gold"]}]`, as `CADENCES` and `COPY_WAITS`
/// give it: each group's number and selectors, every error naming `name[i]` and the field.
fn selector_groups(name: &str, raw: &str, field: &str) -> Result<Vec<(u64, Vec<Selector>)>> {
    let example = format!("{{\"{field}\": …, \"sources\": [\"orders\"]}}");
    let list: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_str(raw).map_err(|e| {
            FailsafeError::config(format!("{name}: not a JSON list of {example} ({e})"))
        })?;
    list.into_iter()
        .enumerate()
        .map(|(i, group)| {
            if let Some(k) = group.keys().find(|k| *k != field && *k != "sources") {
                return Err(FailsafeError::config(format!(
                    "{name}[{i}]: unknown field {k:?}; each entry is {example}"
                )));
            }
            let n = group.get(field).and_then(serde_json::Value::as_u64).ok_or_else(|| {
                FailsafeError::config(format!("{name}[{i}].{field} must be a whole number"))
            })?;
            let sources: Vec<String> = group
                .get("sources")
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .unwrap_or_default();
            if sources.is_empty() {
                return Err(FailsafeError::config(format!(
                    "{name}[{i}].sources is empty: list the selectors of its sources, e.g. [\"orders\"]"
                )));
            }
            let sources = Selector::parse_list(&sources.join(","))
                .map_err(|e| FailsafeError::config(format!("{name}[{i}].sources: {e}")))?;
            Ok((n, sources))
        })
        .collect()
}

/// A cadence: the sources `sources` selects are snapshotted every `every_hours` hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cadence {
    pub every_hours: u32,
    pub sources: Vec<Selector>,
}

impl Cadence {
    /// Whether a cadence may run every `h` hours: a divisor of 24 below it, so that its runs
    /// fall at the same hours every day (the CDK app's `CADENCE_HOURS`: 1, 2, 3, 4, 6, 8, 12).
    pub fn valid_hours(h: u32) -> bool {
        (1..24).contains(&h) && 24 % h == 0
    }

    /// `CADENCES`: `[{"everyHours": 4, "sources": ["orders", "tag:tier=gold"]}]`.
    pub fn parse_list(name: &str, raw: &str) -> Result<Vec<Cadence>> {
        selector_groups(name, raw, "everyHours")?
            .into_iter()
            .enumerate()
            .map(|(i, (h, sources))| match u32::try_from(h) {
                Ok(h) if Cadence::valid_hours(h) => Ok(Cadence {
                    every_hours: h,
                    sources,
                }),
                _ => Err(FailsafeError::config(format!(
                    "{name}[{i}].everyHours={h} must divide 24 and be below it (1, 2, 3, 4, 6, 8 or 12)"
                ))),
            })
            .collect()
    }
}

/// A wait bound set for some sources (`COPY_WAITS`, CDK `copyWaits`): each copy of a source
/// `sources` selects is waited for at least `max_wait_seconds`, whatever its size says
/// (`policy::copy_time::WaitSettings::for_source`): for an Aurora cluster, whose size RDS does
/// not report, or a source whose copies are slower than `copyThroughputMiBps`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyWait {
    pub max_wait_seconds: u64,
    pub sources: Vec<Selector>,
}

impl CopyWait {
    /// `COPY_WAITS`: `[{"maxWaitSeconds": 43200, "sources": ["ledger"]}]`.
    pub fn parse_list(name: &str, raw: &str) -> Result<Vec<CopyWait>> {
        selector_groups(name, raw, "maxWaitSeconds")?
            .into_iter()
            .enumerate()
            .map(|(i, (seconds, sources))| {
                if !(1..=WAIT_CEILING_SECONDS).contains(&seconds) {
                    return Err(FailsafeError::config(format!(
                        "{name}[{i}].maxWaitSeconds={seconds} must be 1 to {WAIT_CEILING_SECONDS} (20 h: what one run can wait)"
                    )));
                }
                Ok(CopyWait {
                    max_wait_seconds: seconds,
                    sources,
                })
            })
            .collect()
    }
}

impl LiveConfig {
    pub fn from_env(env: &dyn Env) -> Result<LiveConfig> {
        let account_id = account_id(env)?;
        let region = region(env)?;
        let (name, raw) = required(
            env,
            var::FAILSAFE_ACCOUNTS,
            "set it to the comma-separated 12-digit id(s) of the Failsafe account(s)",
        )?;
        let failsafe_accounts = account_list(
            &name,
            &raw,
            &account_id,
            MAX_SHARE_ACCOUNTS,
            "the Live account",
        )?;

        let (name, raw) = required(
            env,
            var::FAILSAFE_TOPIC_ARNS,
            "set it to the comma-separated ARN(s) of the Failsafe account's SNS topic",
        )?;
        let mut failsafe_topic_arns = Vec::new();
        for part in raw.split(',').map(str::trim) {
            let arn = Arn::parse(part).filter(|a| a.service == "sns" && is_region(&a.region));
            let Some(arn) = arn else {
                return Err(FailsafeError::config(format!(
                    "{name}: {part:?} is not an SNS topic ARN such as arn:aws:sns:eu-west-1:222222222222:rds-failsafe"
                )));
            };
            if !failsafe_accounts.contains(&arn.account) {
                return Err(FailsafeError::config(format!(
                    "{name}: topic {part} is in account {}, which is not a Failsafe account; the topic must belong to one of {}",
                    arn.account,
                    failsafe_accounts.join(", ")
                )));
            }
            failsafe_topic_arns.push(part.to_string());
        }

        let (name, raw) = required(
            env,
            var::SHARE_KMS_KEY_ARN,
            "set it to the ARN of the customer-managed key that share copies are encrypted with",
        )?;
        let share_kms_key_arn = kms_key_arn(&name, &raw, &account_id, &region, "the Live account")?;

        let (name, raw) = required(env, var::SOURCES, SELECTOR_HELP)?;
        let sources = Selector::parse_list(&raw)
            .map_err(|e| FailsafeError::config(format!("{name}: {e}")))?;
        let incremental_sources = match lookup(env, var::INCREMENTAL_SOURCES) {
            Some((name, raw)) if !raw.trim().is_empty() => Selector::parse_list(&raw)
                .map_err(|e| FailsafeError::config(format!("{name}: {e}")))?,
            _ => Vec::new(),
        };

        let cadences = match lookup(env, var::CADENCES) {
            Some((name, raw)) if !raw.trim().is_empty() => Cadence::parse_list(&name, &raw)?,
            _ => Vec::new(),
        };
        let copy_waits = match lookup(env, var::COPY_WAITS) {
            Some((name, raw)) if !raw.trim().is_empty() => CopyWait::parse_list(&name, &raw)?,
            _ => Vec::new(),
        };

        Ok(LiveConfig {
            account_id,
            region,
            failsafe_accounts,
            failsafe_topic_arns,
            share_kms_key_arn,
            sources,
            incremental_sources,
            cadences,
            copy_waits,
            live_keep: bounded_int(env, &setting::LIVE_KEEP)?,
            encrypt_unencrypted: boolean(env, var::ENCRYPT_UNENCRYPTED, false)?,
        })
    }
}

/// How many Failsafe copies to keep per source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionPolicy {
    /// Grandfather-father-son: the newest copy of each of the last `hourly` hours (UTC clock
    /// hours, for sources snapshotted more than once a day), `daily` days, `weekly` ISO weeks and
    /// `monthly` calendar months.
    Gfs {
        hourly: u32,
        daily: u32,
        weekly: u32,
        monthly: u32,
    },
    /// The original tool's `RETENTION`: every copy whose source is at most this many days old.
    Days(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub policy: RetentionPolicy,
    /// The newest `min_keep` verified copies are always kept, whatever the policy says.
    pub min_keep: u32,
}

impl std::fmt::Display for Retention {
    /// As the settings read: `KEEP_HOURLY=0 KEEP_DAILY=7 … MIN_KEEP=3`, or `RETENTION=35 MIN_KEEP=3`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.policy {
            RetentionPolicy::Gfs {
                hourly,
                daily,
                weekly,
                monthly,
            } => write!(
                f,
                "KEEP_HOURLY={hourly} KEEP_DAILY={daily} KEEP_WEEKLY={weekly} KEEP_MONTHLY={monthly}"
            )?,
            RetentionPolicy::Days(days) => write!(f, "RETENTION={days}")?,
        }
        write!(f, " MIN_KEEP={}", self.min_keep)
    }
}

/// Configuration of the Failsafe account's Lambdas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailsafeConfig {
    pub account_id: String,
    pub region: String,
    /// Live accounts whose shared snapshots are saved; everything else is ignored.
    pub source_accounts: Vec<String>,
    /// Regions the Live accounts share from. A snapshot shared with this account is visible
    /// only in its own region, so `find-shared` looks in each (default: this account's region).
    pub source_regions: Vec<String>,
    pub failsafe_kms_key_arn: String,
    pub retention: Retention,
    /// Only `start-failsafe` needs it; [`FailsafeConfig::require_state_machine_arn`] checks it.
    pub state_machine_arn: Option<String>,
    /// `start-failsafe` only (`MAX_CONCURRENCY`, 1-20): how many items a triggered run copies at
    /// once, as the backstop schedule's runs do; unset, the state machine's default (5).
    pub max_concurrency: Option<u32>,
    /// `start-failsafe` only (`COPY_THROUGHPUT_MIBPS`, 1-100,000): the throughput a triggered run
    /// sizes its copies' waits by (`policy::copy_time`), as the schedules' runs; unset, the state
    /// machine's default (100).
    pub copy_throughput_mibps: Option<u32>,
    /// Encrypt unencrypted DB instance snapshots with the Failsafe key when saving.
    pub encrypt_unencrypted: bool,
    /// Sources retired on purpose, `(live account, source id)`: their copies stay under retention
    /// and the floor, but `prune` writes no copy age for them, so the dead-man's switch stops
    /// watching them.
    pub retired_sources: std::collections::BTreeSet<(String, String)>,
    /// `SOURCE_COPY_WAITS`: `(live account, source id)` whose Failsafe copies are waited for at
    /// least so many seconds (the Live side's `COPY_WAITS` for sources it names by identifier).
    pub source_copy_waits: std::collections::BTreeMap<(String, String), u64>,
}

/// One `<live-account>:<source-id>` of a `name` list, the account one of `source_accounts`.
fn source_ref(name: &str, entry: &str, source_accounts: &[String]) -> Result<(String, String)> {
    let (account, source) = entry.split_once(':').unwrap_or(("", entry));
    let valid_id = !source.is_empty()
        && source
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !source_accounts.iter().any(|a| a == account) || !valid_id {
        return Err(FailsafeError::config(format!(
            "{name} entry {entry:?} must be <live-account>:<source-id>, the account one of SOURCE_ACCOUNTS ({}) and the id the database's lower-case identifier, e.g. {}:orders",
            source_accounts.join(", "),
            source_accounts.first().map(String::as_str).unwrap_or("111111111111")
        )));
    }
    Ok((account.to_string(), source.to_string()))
}

/// The entries of a comma-separated list variable.
fn entries(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(',').map(str::trim).filter(|e| !e.is_empty())
}

/// `RETIRED_SOURCES`: comma-separated `<live-account>:<source-id>`, each of an allowed Live account.
fn retired_sources(
    env: &dyn Env,
    source_accounts: &[String],
) -> Result<std::collections::BTreeSet<(String, String)>> {
    let Some((name, raw)) = lookup(env, var::RETIRED_SOURCES) else {
        return Ok(Default::default());
    };
    entries(&raw)
        .map(|entry| source_ref(&name, entry, source_accounts))
        .collect()
}

/// `SOURCE_COPY_WAITS`: comma-separated `<live-account>:<source-id>=<seconds>`.
fn source_copy_waits(
    env: &dyn Env,
    source_accounts: &[String],
) -> Result<std::collections::BTreeMap<(String, String), u64>> {
    let Some((name, raw)) = lookup(env, var::SOURCE_COPY_WAITS) else {
        return Ok(Default::default());
    };
    let mut waits = std::collections::BTreeMap::new();
    for entry in entries(&raw) {
        let (source, seconds) = entry.split_once('=').unwrap_or((entry, ""));
        let key = source_ref(&name, source, source_accounts)?;
        match seconds.parse::<u64>() {
            Ok(s) if (1..=WAIT_CEILING_SECONDS).contains(&s) => {
                // a source named twice waits the longest, as the Live side's does
                let w = waits.entry(key).or_insert(s);
                *w = (*w).max(s);
            }
            _ => {
                return Err(FailsafeError::config(format!(
                    "{name} entry {entry:?} must end =<seconds>, 1 to {WAIT_CEILING_SECONDS}, e.g. {}:ledger=43200",
                    key.0
                )))
            }
        }
    }
    Ok(waits)
}

impl FailsafeConfig {
    /// The wait set for the Failsafe copies of `source_id` of `source_account`
    /// (`SOURCE_COPY_WAITS`), if any.
    pub fn source_copy_wait(&self, source_account: &str, source_id: &str) -> Option<u64> {
        self.source_copy_waits
            .get(&(source_account.to_string(), source_id.to_string()))
            .copied()
    }

    /// Whether `source_id` of `source_account` was retired on purpose (`RETIRED_SOURCES`).
    pub fn is_retired(&self, source_account: &str, source_id: &str) -> bool {
        self.retired_sources
            .contains(&(source_account.to_string(), source_id.to_string()))
    }

    pub fn from_env(env: &dyn Env) -> Result<FailsafeConfig> {
        let account_id = account_id(env)?;
        let region = region(env)?;
        let (name, raw) = required(
            env,
            var::SOURCE_ACCOUNTS,
            "set it to the comma-separated 12-digit id(s) of the Live account(s) allowed to send snapshots",
        )?;
        let source_accounts = account_list(&name, &raw, &account_id, 100, "the Failsafe account")?;
        let source_regions = region_list(env, &region)?;
        let (name, raw) = required(
            env,
            var::FAILSAFE_KMS_KEY_ARN,
            "set it to the ARN of the Failsafe account's own KMS key that copies are encrypted with",
        )?;
        let failsafe_kms_key_arn =
            kms_key_arn(&name, &raw, &account_id, &region, "the Failsafe account")?;

        let min_keep = bounded_int(env, &setting::MIN_KEEP)?;
        let gfs_set: Vec<&str> = [
            setting::KEEP_HOURLY,
            setting::KEEP_DAILY,
            setting::KEEP_WEEKLY,
            setting::KEEP_MONTHLY,
        ]
        .into_iter()
        .map(|s| s.env)
        .filter(|n| lookup(env, &[n]).is_some())
        .collect();
        let policy = match lookup(env, var::RETENTION) {
            Some(_) if !gfs_set.is_empty() => {
                return Err(FailsafeError::config(format!(
                    "RETENTION and {} are both set; use either RETENTION (keep every copy up to that many days old) or the KEEP_HOURLY/KEEP_DAILY/KEEP_WEEKLY/KEEP_MONTHLY policy",
                    gfs_set.join(", ")
                )))
            }
            Some(_) => RetentionPolicy::Days(bounded_int(env, &setting::RETENTION_DAYS)?),
            None => RetentionPolicy::Gfs {
                hourly: bounded_int(env, &setting::KEEP_HOURLY)?,
                daily: bounded_int(env, &setting::KEEP_DAILY)?,
                weekly: bounded_int(env, &setting::KEEP_WEEKLY)?,
                monthly: bounded_int(env, &setting::KEEP_MONTHLY)?,
            },
        };

        let state_machine_arn = match lookup(env, var::STATE_MACHINE_ARN) {
            None => None,
            Some((name, v)) => {
                let ok = Arn::parse(&v)
                    .filter(|a| a.service == "states" && a.resource.starts_with("stateMachine:"))
                    .filter(|a| a.account == account_id);
                if ok.is_none() {
                    return Err(FailsafeError::config(format!(
                        "{name}={v:?} must be the ARN of this account's Failsafe state machine (arn:aws:states:<region>:{account_id}:stateMachine:<name>)"
                    )));
                }
                Some(v)
            }
        };

        let retired_sources = retired_sources(env, &source_accounts)?;
        let source_copy_waits = source_copy_waits(env, &source_accounts)?;
        let max_concurrency = match lookup(env, var::MAX_CONCURRENCY) {
            None => None,
            // Step Functions' Map and RDS's 20 copies in flight per region bound it.
            Some(_) => Some(bounded_int(env, &setting::MAX_CONCURRENCY)?),
        };
        let copy_throughput_mibps = match lookup(env, var::COPY_THROUGHPUT_MIBPS) {
            None => None,
            Some(_) => Some(bounded_int(env, &setting::COPY_THROUGHPUT_MI_BPS)?),
        };
        Ok(FailsafeConfig {
            account_id,
            region,
            source_accounts,
            source_regions,
            failsafe_kms_key_arn,
            retention: Retention { policy, min_keep },
            state_machine_arn,
            max_concurrency,
            copy_throughput_mibps,
            encrypt_unencrypted: boolean(env, var::ENCRYPT_UNENCRYPTED, true)?,
            retired_sources,
            source_copy_waits,
        })
    }

    pub fn require_state_machine_arn(&self) -> Result<&str> {
        self.state_machine_arn.as_deref().ok_or_else(|| {
            FailsafeError::config("STATE_MACHINE_ARN is not set: start-failsafe needs the ARN of the Failsafe state machine it starts")
        })
    }
}

/// Configuration of the restore drill's Lambdas (Failsafe account, opt-in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrillConfig {
    pub region: String,
    /// `DRILL_SUBNET_GROUP`: the DB subnet group the drill restores into.
    pub subnet_group: String,
    /// `DRILL_SECURITY_GROUPS`: 1-5 VPC security group ids, comma-separated.
    pub security_groups: Vec<String>,
    /// `DRILL_SOURCES`: `one` (default) or `all` sources a run.
    pub scope: crate::policy::drill::DrillScope,
    /// `DRILL_INSTANCE_CLASS`: one class for every drill instead of the smallest RDS offers for
    /// each copy's engine version.
    pub instance_class: Option<String>,
    /// `DRILL_RTO_MINUTES`: each source's restore time target (none: drills without targets).
    pub rto: crate::policy::drill::RtoTargets,
    /// `DRILL_RECORDS_LOG_GROUP`: the log group each drill's record is appended to.
    pub records_log_group: String,
}

impl DrillConfig {
    pub fn from_env(env: &dyn Env) -> Result<DrillConfig> {
        use crate::policy::drill::DrillScope;
        let region = region(env)?;
        let (name, subnet_group) = required(
            env,
            var::DRILL_SUBNET_GROUP,
            "set it to the name of a DB subnet group in this account that drills restore into",
        )?;
        let valid_name = !subnet_group.is_empty()
            && subnet_group.len() <= 255
            && subnet_group
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b" ._-".contains(&b));
        if !valid_name || subnet_group == "default" {
            return Err(FailsafeError::config(format!(
                "{name}={subnet_group:?} must name a DB subnet group of this account (letters, digits, spaces, periods, underscores, hyphens; not \"default\")"
            )));
        }
        let (name, raw) = required(
            env,
            var::DRILL_SECURITY_GROUPS,
            "set it to 1-5 comma-separated VPC security group ids (sg-...) for the restored databases",
        )?;
        let security_groups: Vec<String> = raw
            .split(',')
            .map(|g| g.trim().to_string())
            .filter(|g| !g.is_empty())
            .collect();
        let is_sg = |g: &str| {
            g.strip_prefix("sg-").is_some_and(|h| {
                (h.len() == 8 || h.len() == 17) && h.bytes().all(|b| b.is_ascii_hexdigit())
            })
        };
        if security_groups.is_empty()
            || security_groups.len() > 5
            || !security_groups.iter().all(|g| is_sg(g))
        {
            return Err(FailsafeError::config(format!(
                "{name}={raw:?} must be 1-5 comma-separated security group ids such as sg-0123456789abcdef0"
            )));
        }
        let scope = match lookup(env, var::DRILL_SOURCES) {
            None => DrillScope::One,
            Some((_, v)) if v == "one" => DrillScope::One,
            Some((_, v)) if v == "all" => DrillScope::All,
            Some((name, v)) => {
                return Err(FailsafeError::config(format!(
                    "{name}={v:?} must be one (the source drilled least recently, each run) or all"
                )))
            }
        };
        let instance_class = match lookup(env, var::DRILL_INSTANCE_CLASS) {
            None => None,
            Some((name, v)) => {
                let parts: Vec<&str> = v.split('.').collect();
                let ok = parts.len() == 3
                    && parts[0] == "db"
                    && parts[1..].iter().all(|p| {
                        !p.is_empty()
                            && p.bytes()
                                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    });
                if !ok {
                    return Err(FailsafeError::config(format!(
                        "{name}={v:?} must be a DB instance class such as db.t4g.medium"
                    )));
                }
                Some(v)
            }
        };
        let rto = match lookup(env, var::DRILL_RTO_MINUTES) {
            None => Default::default(),
            Some((name, v)) => crate::policy::drill::RtoTargets::parse(&v)
                .map_err(|e| FailsafeError::config(format!("{name}={v:?} {e}")))?,
        };
        let (_, records_log_group) = required(
            env,
            var::DRILL_RECORDS_LOG_GROUP,
            "set it to the log group the drills' records go to (the stack's DrillRecords)",
        )?;
        Ok(DrillConfig {
            region,
            subnet_group,
            security_groups,
            scope,
            instance_class,
            rto,
            records_log_group,
        })
    }
}

/// What `validate-drill` reads: the checks per source (`DRILL_CHECKS`; none: every drill is
/// restore-only) and any certificate authority trusted besides RDS's (`DRILL_EXTRA_CA`).
#[derive(Debug, Clone, Default)]
pub struct ValidateConfig {
    pub checks: crate::policy::checks::DrillChecks,
    pub extra_ca_pem: Option<String>,
}

impl ValidateConfig {
    pub fn from_env(env: &dyn Env) -> Result<ValidateConfig> {
        let checks = match lookup(env, var::DRILL_CHECKS) {
            None => Default::default(),
            Some((name, v)) => crate::policy::checks::DrillChecks::parse(&v)
                .map_err(|e| FailsafeError::config(format!("{name} {e} (restoreDrill.checks)")))?,
        };
        let extra_ca_pem = match lookup(env, var::DRILL_EXTRA_CA) {
            Some((name, v)) if !v.contains("-----BEGIN CERTIFICATE-----") => {
                return Err(FailsafeError::config(format!(
                    "{name} must hold PEM certificates (-----BEGIN CERTIFICATE-----), or be unset"
                )))
            }
            other => other.map(|(_, v)| v),
        };
        Ok(ValidateConfig {
            checks,
            extra_ca_pem,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const LIVE: [(&str, &str); 6] = [
        ("ACCOUNT_ID", "111111111111"),
        ("AWS_REGION", "eu-west-1"),
        ("FAILSAFE_ACCOUNTS", "222222222222"),
        (
            "FAILSAFE_TOPIC_ARNS",
            "arn:aws:sns:eu-west-1:222222222222:rds-failsafe",
        ),
        (
            "SHARE_KMS_KEY_ARN",
            "arn:aws:kms:eu-west-1:111111111111:key/1234abcd",
        ),
        ("SOURCES", "orders,cluster:aurora"),
    ];
    const FAILSAFE: [(&str, &str); 4] = [
        ("ACCOUNT_ID", "222222222222"),
        ("AWS_REGION", "eu-west-1"),
        ("SOURCE_ACCOUNTS", "111111111111"),
        (
            "FAILSAFE_KMS_KEY_ARN",
            "arn:aws:kms:eu-west-1:222222222222:key/feed",
        ),
    ];

    /// (variables changed, text naming them, text saying what is allowed)
    type ConfigCase<'a> = (Vec<(&'a str, Option<&'a str>)>, &'a str, &'a str);

    fn with(base: &[(&str, &str)], changes: &[(&str, Option<&str>)]) -> HashMap<String, String> {
        let mut m: HashMap<String, String> = base
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for (k, v) in changes {
            match v {
                Some(v) => m.insert(k.to_string(), v.to_string()),
                None => m.remove(*k),
            };
        }
        m
    }

    #[test]
    fn live_defaults() {
        let c = LiveConfig::from_env(&LIVE).unwrap();
        assert_eq!(c.live_keep, 2);
        assert!(!c.encrypt_unencrypted);
        assert_eq!(c.failsafe_accounts, vec!["222222222222"]);
        assert_eq!(c.sources.len(), 2);
        assert!(c.incremental_sources.is_empty());
    }

    #[test]
    fn cadences_are_json_and_a_bad_one_names_the_field() {
        let c = LiveConfig::from_env(&with(
            &LIVE,
            &[(
                "CADENCES",
                Some(r#"[{"everyHours": 4, "sources": ["orders", "tag:rpo=4h"]}]"#),
            )],
        ))
        .unwrap();
        assert_eq!(c.cadences.len(), 1);
        assert_eq!(
            (c.cadences[0].every_hours, c.cadences[0].sources.len()),
            (4, 2)
        );
        for (raw, needle) in [
            (
                r#"[{"everyHours": 5, "sources": ["orders"]}]"#,
                "CADENCES[0].everyHours=5 must divide 24",
            ),
            (
                r#"[{"everyHours": 4, "sources": []}]"#,
                "CADENCES[0].sources is empty",
            ),
            (
                r#"[{"everyHours": 4, "sources": ["tag:"]}]"#,
                "CADENCES[0].sources",
            ),
            (r#"{"everyHours": 4}"#, "CADENCES: not a JSON list"),
            (
                r#"[{"everyHours": 4, "sources": ["a"], "every": 1}]"#,
                "CADENCES[0]: unknown field \"every\"",
            ),
        ] {
            let e = LiveConfig::from_env(&with(&LIVE, &[("CADENCES", Some(raw))])).unwrap_err();
            assert!(e.message.contains(needle), "{raw}: {}", e.message);
        }
        assert!((1..24)
            .filter(|h| Cadence::valid_hours(*h))
            .eq([1, 2, 3, 4, 6, 8, 12]));
    }

    #[test]
    fn incremental_sources_are_selectors_and_a_bad_one_names_the_variable() {
        let c = LiveConfig::from_env(&with(
            &LIVE,
            &[(
                "INCREMENTAL_SOURCES",
                Some("orders, tag:failsafe-mode=incremental"),
            )],
        ))
        .unwrap();
        assert_eq!(c.incremental_sources.len(), 2);
        let e = LiveConfig::from_env(&with(&LIVE, &[("INCREMENTAL_SOURCES", Some("tag:"))]))
            .unwrap_err();
        assert!(e.message.contains("INCREMENTAL_SOURCES"), "{}", e.message);
    }

    #[test]
    fn live_accepts_the_original_tools_names() {
        let env = with(
            &LIVE,
            &[
                ("FAILSAFE_ACCOUNTS", None),
                ("SHAREWITH", Some("222222222222, 333333333333")),
                ("FAILSAFE_TOPIC_ARNS", None),
                ("SNSARN", Some("arn:aws:sns:eu-west-1:333333333333:t")),
                ("SOURCES", None),
                ("INSTANCES", Some("a,b")),
                ("AWS_REGION", None),
                ("REGION", Some("us-east-1")),
                (
                    "SHARE_KMS_KEY_ARN",
                    Some("arn:aws:kms:us-east-1:111111111111:key/x"),
                ),
            ],
        );
        let c = LiveConfig::from_env(&env).unwrap();
        assert_eq!(c.failsafe_accounts.len(), 2);
        assert_eq!(c.region, "us-east-1");
        assert_eq!(c.sources.len(), 2);
    }

    /// Every bad variable gives a message naming it and what is allowed.
    #[test]
    fn live_bad_values_name_the_variable() {
        let many: String = (0..21)
            .map(|i| format!("{:012}", 300000000000u64 + i))
            .collect::<Vec<_>>()
            .join(",");
        let cases: Vec<ConfigCase> = vec![
            (
                vec![("ACCOUNT_ID", None)],
                "ACCOUNT_ID is not set",
                "12-digit",
            ),
            (
                vec![("ACCOUNT_ID", Some("abc"))],
                "ACCOUNT_ID=\"abc\"",
                "12-digit",
            ),
            (
                vec![("AWS_REGION", None)],
                "REGION (or AWS_REGION) is not set",
                "eu-west-1",
            ),
            (
                vec![("AWS_REGION", Some("Europe"))],
                "AWS_REGION=\"Europe\"",
                "region name",
            ),
            (
                vec![("FAILSAFE_ACCOUNTS", None)],
                "FAILSAFE_ACCOUNTS (or SHAREWITH) is not set",
                "12-digit",
            ),
            (
                vec![("FAILSAFE_ACCOUNTS", Some("2222"))],
                "FAILSAFE_ACCOUNTS: \"2222\"",
                "12-digit",
            ),
            (
                vec![("FAILSAFE_ACCOUNTS", Some("111111111111"))],
                "FAILSAFE_ACCOUNTS: 111111111111",
                "Live account itself",
            ),
            (
                vec![("FAILSAFE_ACCOUNTS", Some(many.as_str()))],
                "FAILSAFE_ACCOUNTS: 21 accounts",
                "at most 20",
            ),
            (
                vec![("FAILSAFE_TOPIC_ARNS", None)],
                "FAILSAFE_TOPIC_ARNS (or SNSARN) is not set",
                "SNS topic",
            ),
            (
                vec![("FAILSAFE_TOPIC_ARNS", Some("topic"))],
                "FAILSAFE_TOPIC_ARNS: \"topic\"",
                "SNS topic ARN",
            ),
            (
                vec![(
                    "FAILSAFE_TOPIC_ARNS",
                    Some("arn:aws:sns:eu-west-1:999999999999:t"),
                )],
                "FAILSAFE_TOPIC_ARNS: topic",
                "not a Failsafe account",
            ),
            (
                vec![("SHARE_KMS_KEY_ARN", None)],
                "SHARE_KMS_KEY_ARN is not set",
                "customer-managed key",
            ),
            (
                vec![("SHARE_KMS_KEY_ARN", Some("alias/aws/rds"))],
                "SHARE_KMS_KEY_ARN=\"alias/aws/rds\"",
                "not an alias",
            ),
            (
                vec![(
                    "SHARE_KMS_KEY_ARN",
                    Some("arn:aws:kms:eu-west-1:111111111111:alias/x"),
                )],
                "SHARE_KMS_KEY_ARN",
                "not an alias",
            ),
            (
                vec![(
                    "SHARE_KMS_KEY_ARN",
                    Some("arn:aws:kms:eu-west-1:222222222222:key/x"),
                )],
                "SHARE_KMS_KEY_ARN",
                "Live account",
            ),
            (
                vec![(
                    "SHARE_KMS_KEY_ARN",
                    Some("arn:aws:kms:us-east-1:111111111111:key/x"),
                )],
                "SHARE_KMS_KEY_ARN",
                "region us-east-1",
            ),
            (
                vec![("SOURCES", None)],
                "SOURCES (or INSTANCES) is not set",
                "tag:<key>=<value>",
            ),
            (
                vec![("SOURCES", Some("tag:nokey"))],
                "SOURCES: selector",
                "tag:<key>=<value>",
            ),
            (
                vec![("LIVE_KEEP", Some("0"))],
                "LIVE_KEEP=\"0\"",
                "from 1 to 50",
            ),
            (
                vec![("LIVE_KEEP", Some("two"))],
                "LIVE_KEEP=\"two\"",
                "whole number",
            ),
            (
                vec![("ENCRYPT_UNENCRYPTED", Some("maybe"))],
                "ENCRYPT_UNENCRYPTED=\"maybe\"",
                "true or false",
            ),
        ];
        for (changes, names, allowed) in cases {
            let e = LiveConfig::from_env(&with(&LIVE, &changes)).unwrap_err();
            assert_eq!(e.kind, crate::error::ErrorKind::InvalidConfig);
            assert!(e.message.contains(names), "{changes:?}: {}", e.message);
            assert!(e.message.contains(allowed), "{changes:?}: {}", e.message);
        }
    }

    #[test]
    fn failsafe_defaults_and_retention_choices() {
        let c = FailsafeConfig::from_env(&FAILSAFE).unwrap();
        assert_eq!(
            c.retention,
            Retention {
                policy: RetentionPolicy::Gfs {
                    hourly: 0,
                    daily: 7,
                    weekly: 4,
                    monthly: 12
                },
                min_keep: 3
            }
        );
        assert!(c.encrypt_unencrypted);
        assert_eq!(
            c.source_regions,
            vec!["eu-west-1"],
            "default: its own region"
        );
        assert!(c.require_state_machine_arn().is_err());
        let c = FailsafeConfig::from_env(&with(
            &FAILSAFE,
            &[("SOURCE_REGIONS", Some("us-east-1, eu-west-1,us-east-1"))],
        ))
        .unwrap();
        assert_eq!(c.source_regions, vec!["us-east-1", "eu-west-1"]);
        let c = FailsafeConfig::from_env(&with(
            &FAILSAFE,
            &[("RETENTION", Some("30")), ("MIN_KEEP", Some("5"))],
        ))
        .unwrap();
        assert_eq!(
            c.retention,
            Retention {
                policy: RetentionPolicy::Days(30),
                min_keep: 5
            }
        );
        let c = FailsafeConfig::from_env(&with(
            &FAILSAFE,
            &[(
                "STATE_MACHINE_ARN",
                Some("arn:aws:states:eu-west-1:222222222222:stateMachine:rdsf"),
            )],
        ))
        .unwrap();
        assert!(c.require_state_machine_arn().is_ok());
    }

    #[test]
    fn failsafe_bad_values_name_the_variable() {
        let cases: Vec<ConfigCase> = vec![
            (
                vec![("SOURCE_ACCOUNTS", None)],
                "SOURCE_ACCOUNTS is not set",
                "Live account",
            ),
            (
                vec![("SOURCE_ACCOUNTS", Some("222222222222"))],
                "SOURCE_ACCOUNTS: 222222222222",
                "Failsafe account itself",
            ),
            (
                vec![("SOURCE_ACCOUNTS", Some("x"))],
                "SOURCE_ACCOUNTS: \"x\"",
                "12-digit",
            ),
            (
                vec![("FAILSAFE_KMS_KEY_ARN", None)],
                "FAILSAFE_KMS_KEY_ARN is not set",
                "own KMS key",
            ),
            (
                vec![(
                    "FAILSAFE_KMS_KEY_ARN",
                    Some("arn:aws:kms:eu-west-1:111111111111:key/x"),
                )],
                "FAILSAFE_KMS_KEY_ARN",
                "Failsafe account",
            ),
            (
                vec![("RETENTION", Some("30")), ("KEEP_DAILY", Some("7"))],
                "RETENTION and KEEP_DAILY",
                "either",
            ),
            (vec![("RETENTION", Some("0"))], "RETENTION=\"0\"", "from 1"),
            (
                vec![("KEEP_WEEKLY", Some("-1"))],
                "KEEP_WEEKLY=\"-1\"",
                "whole number",
            ),
            (vec![("MIN_KEEP", Some("0"))], "MIN_KEEP=\"0\"", "from 1"),
            (
                vec![("SOURCE_REGIONS", Some("us-east-1,Virginia"))],
                "SOURCE_REGIONS: \"Virginia\"",
                "region name",
            ),
            (
                vec![(
                    "STATE_MACHINE_ARN",
                    Some("arn:aws:states:eu-west-1:111111111111:stateMachine:x"),
                )],
                "STATE_MACHINE_ARN",
                "this account",
            ),
            (
                vec![("ENCRYPT_UNENCRYPTED", Some("x"))],
                "ENCRYPT_UNENCRYPTED",
                "true or false",
            ),
        ];
        for (changes, names, allowed) in cases {
            let e = FailsafeConfig::from_env(&with(&FAILSAFE, &changes)).unwrap_err();
            assert_eq!(e.kind, crate::error::ErrorKind::InvalidConfig);
            assert!(e.message.contains(names), "{changes:?}: {}", e.message);
            assert!(e.message.contains(allowed), "{changes:?}: {}", e.message);
        }
    }

    #[test]
    fn copy_waits_name_their_sources_and_a_wait_one_run_can_make() {
        let live = LiveConfig::from_env(&with(
            &LIVE,
            &[(
                "COPY_WAITS",
                Some(r#"[{"maxWaitSeconds": 43200, "sources": ["ledger", "tag:size=big"]}]"#),
            )],
        ))
        .unwrap();
        assert_eq!(
            (
                live.copy_waits[0].max_wait_seconds,
                live.copy_waits[0].sources.len()
            ),
            (43_200, 2)
        );
        for (raw, needle) in [
            (
                r#"[{"maxWaitSeconds": 90000, "sources": ["ledger"]}]"#,
                "COPY_WAITS[0].maxWaitSeconds=90000 must be 1 to 72000",
            ),
            (
                r#"[{"maxWaitSeconds": "long", "sources": ["ledger"]}]"#,
                "COPY_WAITS[0].maxWaitSeconds must be a whole number",
            ),
            (
                r#"[{"maxWaitSeconds": 600}]"#,
                "COPY_WAITS[0].sources is empty",
            ),
        ] {
            let e = LiveConfig::from_env(&with(&LIVE, &[("COPY_WAITS", Some(raw))])).unwrap_err();
            assert!(e.message.contains(needle), "{raw}: {}", e.message);
        }
        let with_waits =
            |v: &str| FailsafeConfig::from_env(&with(&FAILSAFE, &[("SOURCE_COPY_WAITS", Some(v))]));
        let ok = with_waits("111111111111:ledger=43200, 111111111111:ledger=600").unwrap();
        assert_eq!(ok.source_copy_wait("111111111111", "ledger"), Some(43_200));
        assert_eq!(ok.source_copy_wait("111111111111", "orders"), None);
        for (bad, needle) in [
            ("111111111111:ledger", "must end =<seconds>"),
            ("111111111111:ledger=0", "must end =<seconds>"),
            ("333333333333:ledger=600", "<live-account>:<source-id>"),
        ] {
            let e = with_waits(bad).unwrap_err();
            assert!(
                e.message.contains("SOURCE_COPY_WAITS") && e.message.contains(needle),
                "{bad}: {}",
                e.message
            );
        }
    }

    #[test]
    fn retired_sources_must_name_an_allowed_live_account_and_an_id() {
        let with_retired =
            |v: &str| FailsafeConfig::from_env(&with(&FAILSAFE, &[("RETIRED_SOURCES", Some(v))]));
        let ok = with_retired("111111111111:orders, 111111111111:old-billing").unwrap();
        assert!(ok
            .retired_sources
            .contains(&("111111111111".into(), "old-billing".into())));
        assert!(FailsafeConfig::from_env(&FAILSAFE)
            .unwrap()
            .retired_sources
            .is_empty());
        for bad in [
            "orders",
            "333333333333:orders",
            "111111111111:Orders",
            "111111111111:",
        ] {
            let e = with_retired(bad).unwrap_err();
            assert!(
                e.message.contains("RETIRED_SOURCES")
                    && e.message.contains("<live-account>:<source-id>"),
                "{bad}: {}",
                e.message
            );
        }
    }
}
