//! `rdsf`: the operator's view of the Failsafe account. `rdsf status` says per source how old
//! the newest verified copy is; `rdsf restore` picks a copy and restores it (or, with
//! `--dry-run`, prints the AWS CLI commands that would); `rdsf preflight` checks what every copy
//! depends on, in either account; `rdsf hold` and `rdsf release` place and end legal holds. Glue only: the work is in `rdsf_core::operator` and
//! `rdsf_core::operator::preflight`, the decisions in `rdsf_core::policy`.

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Parser, Subcommand};
use rdsf_core::error::{ErrorKind, FailsafeError};
use rdsf_core::operator::{self, HoldReport, RestoreReport, StatusReport};
use rdsf_core::policy::hold::HoldSelection;
use rdsf_core::policy::restore::RestoreOptions;
use rdsf_core::policy::tags::format_time;
use rdsf_core::port::aws::AwsStore;
use std::process::ExitCode;

mod deployed;
mod table;

/// Exit codes scripts can rely on (clap exits 2 on a usage error of its own).
mod exit {
    /// Everything fresh; the restore was started, or its commands printed.
    pub const OK: u8 = 0;
    /// `status` found a problem (a stale or missing copy, a key or quota warning), or
    /// `preflight` did (copies will fail).
    pub const PROBLEMS: u8 = 1;
    /// Bad input: an unknown source, no copy before `--at`, a missing option, no region.
    pub const USAGE: u8 = 2;
    /// An AWS call failed: credentials, permissions, throttling, a refused restore.
    pub const AWS: u8 = 3;
}

#[derive(Parser)]
#[command(
    name = "rdsf",
    version,
    about = "rds-failsafe for an operator: how old is the newest good copy of each database, restore one, and check that the next run can work",
    after_help = "Exit codes: 0 ok, 1 status or preflight found problems, 2 bad input, 3 an AWS call failed."
)]
struct Cli {
    /// AWS profile (default: AWS_PROFILE or the default chain). The Failsafe account's for
    /// status and restore; either account's for preflight.
    #[arg(long, global = true)]
    profile: Option<String>,
    /// Region of the stack (default: AWS_REGION or the profile's).
    #[arg(long, global = true)]
    region: Option<String>,
    /// JSON on stdout instead of a table, for scripts.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Per source: the newest verified copy and its age against the threshold, how many copies,
    /// the oldest, the key, the last restore drill; the account's snapshot quota use.
    Status {
        /// Judge ages as of this time instead of now (RFC 3339 or a date), e.g. to see what the
        /// recovery point was when an incident began.
        #[arg(long, value_parser = parse_at)]
        now: Option<DateTime<Utc>>,
        /// A source whose newest verified copy is older than this is a problem (exit 1). Use the
        /// deployment's `newestCopyMaxAgeHours`.
        #[arg(long, default_value_t = 30.0, env = "RDSF_MAX_AGE_HOURS")]
        max_age_hours: f64,
        /// Price of DB snapshot storage per GB-month in the stack's region, for the monthly cost
        /// of the copies of DB instances (default: the us-east-1 list price; the Failsafe
        /// account runs no databases, so all of its snapshot storage is billed).
        #[arg(long, default_value_t = rdsf_core::policy::cost::RDS_USD_PER_GB_MONTH)]
        usd_per_gb_month: f64,
        /// The share of a database's blocks written in a day (0 to 1), for what its copies hold
        /// as one incremental chain (the CHAIN column: what incremental mode costs, or would).
        /// RDS reports no changed bytes: set the estate's; the default is an assumption.
        #[arg(long, default_value_t = rdsf_core::policy::cost::DEFAULT_CHANGE_PER_DAY, value_parser = parse_fraction)]
        change_per_day: f64,
        /// The deployed Failsafe task function (name or ARN) whose retention splits the copies
        /// and their cost by tier; default: the one Failsafe configuration among this account's
        /// functions in the region. Without one, status says why and leaves the tiers out.
        #[arg(long)]
        function: Option<String>,
    },
    /// Restore the newest verified copy of a source (or the newest taken at or before --at).
    Restore(RestoreArgs),
    /// Check what every copy depends on, with the configuration the deployed functions run with.
    /// Live account: the share key (enabled, customer-managed, its policy lets each Failsafe
    /// account use it), each Failsafe topic (exists, lets this account publish), the snapshot
    /// quotas against the sources and LIVE_KEEP, sources without automated backups or with TDE
    /// or permanent options. Failsafe account: its key, the quotas against the retention.
    Preflight {
        /// A deployed rds-failsafe task function (name or ARN) whose configuration to check;
        /// default: every rds-failsafe configuration among this account's functions in the region.
        #[arg(long, conflicts_with = "guardrails")]
        function: Option<String>,
        /// With the Organizations management account's profile: check that the guardrails in this
        /// synthesized template (cdk.out/rds-failsafe-guardrails.template.json) are attached to
        /// their targets, exactly as written. Nothing else is checked.
        #[arg(long, value_name = "TEMPLATE")]
        guardrails: Option<std::path::PathBuf>,
    },
    /// Place a legal hold on copies of a source: `prune` keeps them whatever the retention, and
    /// under the guardrails nobody deletes them until break-glass releases the hold. Without
    /// --at or --all: the newest verified copy. Under the guardrails, run it as break-glass.
    Hold(HoldArgs),
    /// The restore drills' records, newest first: what each drill restored (copy, data time,
    /// engine), when, how long it took against its target, how it ended, and what ran it.
    Drills {
        /// Only this source: `<source-id>` or `<live-account>:<source-id>`.
        #[arg(long)]
        source: Option<String>,
        /// The drills' log group (default: the default drill machine's).
        #[arg(long)]
        log_group: Option<String>,
    },
    /// Release a legal hold (break-glass only, under the guardrails): retention applies again at
    /// the next `prune`. Without --at or --all: the newest held copy.
    Release(ReleaseArgs),
}

#[derive(Args)]
struct HoldChoice {
    /// The source database: `<source-id>`, or `<live-account>:<source-id>`.
    source: String,
    /// The newest verified copy taken at or before this time (RFC 3339 or a date).
    #[arg(long, value_parser = parse_at, conflicts_with = "all")]
    at: Option<DateTime<Utc>>,
    /// Every copy of the source (for a release: every held one).
    #[arg(long)]
    all: bool,
}

impl HoldChoice {
    fn selection(&self) -> HoldSelection {
        match (self.all, self.at) {
            (true, _) => HoldSelection::All,
            (false, Some(at)) => HoldSelection::At(at),
            (false, None) => HoldSelection::Newest,
        }
    }
}

#[derive(Args)]
struct HoldArgs {
    #[command(flatten)]
    choice: HoldChoice,
    /// Why the copy is held (a case, a ticket): kept in the tag with the time, e.g. "case 4411".
    #[arg(long)]
    reason: String,
}

#[derive(Args)]
struct ReleaseArgs {
    #[command(flatten)]
    choice: HoldChoice,
}

#[derive(Args)]
struct RestoreArgs {
    /// The source database: `<source-id>`, or `<live-account>:<source-id>` when several Live
    /// accounts have one of that name (`rdsf status` lists them).
    source: String,
    /// Newest copy taken at or before this time: RFC 3339 (2026-11-20T06:00:00Z) or a date
    /// (2026-11-20, meaning its start, UTC).
    #[arg(long, value_parser = parse_at)]
    at: Option<DateTime<Utc>>,
    /// Print the commands, restore nothing.
    #[arg(long)]
    dry_run: bool,
    /// The new instance's or cluster's identifier (default `<source-id>-restored-<stamp>`).
    #[arg(long)]
    name: Option<String>,
    /// DB instance class: default the original's for an instance; required for a cluster.
    #[arg(long)]
    instance_class: Option<String>,
    /// DB subnet group in the Failsafe account (default: the default VPC's).
    #[arg(long)]
    subnet_group: Option<String>,
    /// VPC security group id; repeat for several.
    #[arg(long = "security-group")]
    security_groups: Vec<String>,
    /// A cluster: seconds between looks while waiting for it to be available, when its first DB
    /// instance is added (RDS adds one only then).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    poll_seconds: u64,
}

/// Restores (or with `--dry-run` plans) the copy; a cluster then gets its DB instance.
async fn restore(
    store: &AwsStore,
    region: &str,
    a: &RestoreArgs,
    json: bool,
) -> Result<u8, FailsafeError> {
    let opts = RestoreOptions {
        name: a.name.clone(),
        instance_class: a.instance_class.clone(),
        subnet_group: a.subnet_group.clone(),
        security_groups: a.security_groups.clone(),
    };
    let mut report = operator::restore(store, region, &a.source, a.at, &opts, a.dry_run).await?;
    if let Some(ci) = report.plan.cluster_instance.clone().filter(|_| !a.dry_run) {
        report
            .created
            .push(wait_and_add_instance(store, &ci, a.poll_seconds, json).await?);
    }
    Ok(show_restore(&report, json))
}

/// A restored cluster gets its DB instance once it is available (RestoreDBClusterFromSnapshot API
/// reference); until then this waits, saying so on stderr. A status RDS does not leave ends it.
async fn wait_and_add_instance(
    store: &AwsStore,
    ci: &rdsf_core::port::ClusterInstanceRequest,
    poll_seconds: u64,
    json: bool,
) -> Result<String, FailsafeError> {
    use rdsf_core::policy::drill::RestoreProgress;
    loop {
        let (progress, status) = operator::cluster_progress(store, &ci.cluster_id).await?;
        match progress {
            RestoreProgress::Available => return operator::add_cluster_instance(store, ci).await,
            RestoreProgress::Failed => {
                return Err(FailsafeError::new(
                    ErrorKind::RestoreFailed,
                    format!("cluster {} ended in status {status}", ci.cluster_id),
                ))
            }
            RestoreProgress::Waiting => {
                if !json {
                    eprintln!(
                        "rdsf: cluster {} is {status}; its DB instance {} is added once it is available (next look in {poll_seconds} s; Ctrl-C and run the second command later is fine)",
                        ci.cluster_id, ci.instance_id
                    );
                }
                tokio::time::sleep(std::time::Duration::from_secs(poll_seconds)).await;
            }
        }
    }
}

/// Whether RDS's service-linked role exists in this account (IAM GetRole; only `rdsf`, run by an
/// operator, reads IAM: the task roles are not given `iam:GetRole`). `NoSuchEntity` is `false`;
/// any other error is the reason it could not be read.
async fn service_linked_role_exists(iam: &aws_sdk_iam::Client) -> Result<bool, String> {
    use aws_sdk_iam::error::ProvideErrorMetadata;
    match iam
        .get_role()
        .role_name(rdsf_core::policy::preflight::RDS_SERVICE_LINKED_ROLE)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some("NoSuchEntity") => Ok(false),
        Err(e) => Err(format!(
            "{}: {}",
            e.code().unwrap_or("Unknown"),
            e.message().unwrap_or("GetRole failed")
        )),
    }
}

/// Runs the preflight of each deployed configuration found (usually one: this account's side).
async fn preflight(
    store: &AwsStore,
    lambda: &aws_sdk_lambda::Client,
    iam: &aws_sdk_iam::Client,
    function: Option<&str>,
    json: bool,
) -> Result<u8, FailsafeError> {
    use deployed::Side;
    let mut reports = Vec::new();
    for d in deployed::find(lambda, function).await? {
        let report = match &d.config {
            Side::Live(cfg) => {
                let selection =
                    rdsf_core::live::select_sources(cfg, store, Default::default()).await?;
                rdsf_core::operator::preflight::live_preflight(cfg, store, &selection.sources, None)
                    .await?
            }
            Side::Failsafe(cfg) => {
                let mut report =
                    rdsf_core::operator::preflight::failsafe_preflight(cfg, store).await?;
                let exists = service_linked_role_exists(iam).await;
                report
                    .findings
                    .push(rdsf_core::policy::preflight::service_linked_role_finding(
                        &cfg.account_id,
                        exists,
                    ));
                report
            }
            Side::Invalid(e) => rdsf_core::operator::preflight::invalid_config(e),
        };
        reports.push((d.functions, report));
    }
    Ok(show_preflight(&reports, json))
}

/// Preflight reports, each with what it checked (functions, or the guardrails' template): JSON or
/// tables; exit 1 when any has a problem.
fn show_preflight(
    reports: &[(Vec<String>, rdsf_core::operator::preflight::PreflightReport)],
    json: bool,
) -> u8 {
    use rdsf_core::policy::preflight::Level;
    if json {
        let out: Vec<_> = reports
            .iter()
            .map(|(functions, r)| serde_json::json!({"functions": functions, "report": r}))
            .collect();
        print_json(&out);
    } else {
        for (functions, r) in reports {
            print!("{}", table::preflight(r, functions));
        }
    }
    if reports.iter().any(|(_, r)| r.worst() == Level::Problem) {
        exit::PROBLEMS
    } else {
        exit::OK
    }
}

/// The policies of type `kind` attached to `target`, with their documents (Organizations
/// ListPoliciesForTarget and DescribePolicy: the management account's, or a delegated
/// administrator's, calls).
async fn attached_policies(
    org: &aws_sdk_organizations::Client,
    target: &str,
    kind: &str,
) -> Result<Vec<rdsf_core::policy::guardrails::AttachedPolicy>, FailsafeError> {
    use aws_sdk_organizations::error::ProvideErrorMetadata;
    use aws_sdk_organizations::types::PolicyType;
    let refused = |op: &str, code: Option<&str>, message: Option<&str>| {
        FailsafeError::new(
            ErrorKind::AwsError,
            format!(
                "Organizations {op} for {target}: {}: {}; run --guardrails with the management account's profile (or a delegated administrator's)",
                code.unwrap_or("Unknown"),
                message.unwrap_or("refused")
            ),
        )
    };
    let mut out = Vec::new();
    let mut pages = org
        .list_policies_for_target()
        .target_id(target)
        .filter(PolicyType::from(kind))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| refused("ListPoliciesForTarget", e.code(), e.message()))?;
        for summary in page.policies() {
            let id = summary.id().unwrap_or_default().to_string();
            let described = org
                .describe_policy()
                .policy_id(&id)
                .send()
                .await
                .map_err(|e| refused("DescribePolicy", e.code(), e.message()))?;
            let content = described
                .policy()
                .and_then(|p| p.content())
                .unwrap_or_default();
            out.push(rdsf_core::policy::guardrails::AttachedPolicy {
                id,
                name: summary.name().unwrap_or_default().to_string(),
                content: serde_json::from_str(content)
                    .unwrap_or_else(|_| serde_json::Value::String(content.to_string())),
            });
        }
    }
    Ok(out)
}

/// `rdsf preflight --guardrails TEMPLATE`: each guardrail of the template, on each of its targets,
/// attached as CDK wrote it (`policy::guardrails`).
async fn guardrails_preflight(
    org: &aws_sdk_organizations::Client,
    template: &std::path::Path,
    region: &str,
    json: bool,
) -> Result<u8, FailsafeError> {
    use rdsf_core::policy::guardrails::{expected_policies, guardrail_findings};
    let text = std::fs::read_to_string(template)
        .map_err(|e| FailsafeError::input(format!("--guardrails {}: {e}", template.display())))?;
    let parsed: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        FailsafeError::input(format!(
            "--guardrails {}: not JSON: {e}",
            template.display()
        ))
    })?;
    let expected = expected_policies(&parsed)
        .map_err(|e| FailsafeError::input(format!("--guardrails {}: {e}", template.display())))?;
    let mut attached = std::collections::BTreeMap::new();
    for p in &expected {
        for target in &p.targets {
            if let std::collections::btree_map::Entry::Vacant(slot) =
                attached.entry((target.clone(), p.kind.clone()))
            {
                slot.insert(attached_policies(org, target, &p.kind).await?);
            }
        }
    }
    let findings = guardrail_findings(&expected, |target, kind| {
        attached
            .get(&(target.to_string(), kind.to_string()))
            .cloned()
            .unwrap_or_default()
    });
    let report = rdsf_core::operator::preflight::PreflightReport {
        side: "management",
        account: String::new(),
        region: region.to_string(),
        sources: 0,
        findings,
    };
    Ok(show_preflight(
        &[(vec![template.display().to_string()], report)],
        json,
    ))
}

/// The retention the deployed Failsafe functions run with, or why it is not known: none found,
/// several that differ, or Lambda not readable with this profile.
async fn deployed_retention(
    lambda: &aws_sdk_lambda::Client,
    function: Option<&str>,
) -> Result<rdsf_core::config::Retention, String> {
    let found = deployed::find(lambda, function).await.map_err(|e| {
        format!(
            "the deployed configuration could not be read: {}",
            e.message
        )
    })?;
    let retentions: Vec<_> = found
        .iter()
        .filter_map(|d| match &d.config {
            deployed::Side::Failsafe(cfg) => Some(cfg.retention),
            _ => None,
        })
        .collect();
    match retentions.as_slice() {
        [] => Err(match function {
            Some(f) => format!("--function {f} is not a Failsafe task function: name one of the Failsafe stack's"),
            None => "no deployed Failsafe configuration among this account's functions in the region (name one with --function)".into(),
        }),
        [first, rest @ ..] if rest.iter().all(|r| r == first) => Ok(*first),
        _ => Err("several deployed Failsafe configurations with different retention: name one with --function".into()),
    }
}

fn parse_fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "{s:?} is not a fraction from 0 to 1 (e.g. 0.02 for 2 % of the blocks a day)"
        )),
    }
}

fn parse_at(s: &str) -> Result<DateTime<Utc>, String> {
    if let Some(t) = rdsf_core::policy::tags::parse_time(s) {
        return Ok(t);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            format!(
                "{s:?} is not a time: give RFC 3339 (2026-11-20T06:00:00Z) or a date (2026-11-20)"
            )
        })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(p) = &cli.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = &cli.region {
        loader = loader.region(aws_config::Region::new(r.clone()));
    }
    let conf = AwsStore::load(loader, "cli").await;
    let store = AwsStore::from_conf(&conf);
    let Some(region) = store.region().filter(|r| !r.is_empty()) else {
        eprintln!("rdsf: no region: give --region, set AWS_REGION, or use a profile with a region");
        return ExitCode::from(exit::USAGE);
    };
    let outcome = match &cli.command {
        Command::Status {
            now,
            max_age_hours,
            usd_per_gb_month,
            change_per_day,
            function,
        } => {
            let lambda = aws_sdk_lambda::Client::new(&conf);
            let retention = deployed_retention(&lambda, function.as_deref()).await;
            operator::status(
                &store,
                &region,
                now.unwrap_or_else(Utc::now),
                *max_age_hours,
                rdsf_core::policy::status::Prices {
                    usd_per_gb_month: *usd_per_gb_month,
                    change_per_day: *change_per_day,
                },
                retention.as_ref().map_err(Clone::clone),
            )
            .await
            .map(|report| show_status(&report, cli.json))
        }
        Command::Restore(a) => restore(&store, &region, a, cli.json).await,
        Command::Drills { source, log_group } => {
            let group = log_group
                .clone()
                .unwrap_or_else(operator::default_drill_records_log_group);
            operator::drills(&store, &group, source.as_deref())
                .await
                .map(|r| show_drills(&r, cli.json))
        }
        Command::Hold(a) => operator::hold(
            &store,
            &a.choice.source,
            a.choice.selection(),
            &a.reason,
            Utc::now(),
        )
        .await
        .map(|r| show_hold(&r, cli.json)),
        Command::Release(a) => operator::release(&store, &a.choice.source, a.choice.selection())
            .await
            .map(|r| show_hold(&r, cli.json)),
        Command::Preflight {
            guardrails: Some(template),
            ..
        } => {
            let org = aws_sdk_organizations::Client::new(&conf);
            guardrails_preflight(&org, template, &region, cli.json).await
        }
        Command::Preflight { function, .. } => {
            let lambda = aws_sdk_lambda::Client::new(&conf);
            let iam = aws_sdk_iam::Client::new(&conf);
            preflight(&store, &lambda, &iam, function.as_deref(), cli.json).await
        }
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(e) => fail(&e, cli.json),
    }
}

fn fail(e: &FailsafeError, json: bool) -> ExitCode {
    let code = match e.kind {
        ErrorKind::InvalidInput | ErrorKind::InvalidConfig => exit::USAGE,
        _ => exit::AWS,
    };
    if json {
        println!(
            "{}",
            serde_json::json!({"error": e.kind.to_string(), "message": e.message})
        );
    }
    eprintln!("rdsf: {}: {}", e.kind, e.message);
    ExitCode::from(code)
}

fn show_status(r: &StatusReport, json: bool) -> u8 {
    if json {
        print_json(r);
    } else {
        print!("{}", table::status(r));
    }
    if r.ok() {
        exit::OK
    } else {
        exit::PROBLEMS
    }
}

/// A report as pretty JSON on stdout (`--json`), for scripts.
fn print_json<T: serde::Serialize>(report: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(report).expect("report serializes")
    );
}

fn show_drills(r: &operator::DrillsReport, json: bool) -> u8 {
    if json {
        print_json(r);
    } else {
        print!("{}", table::drills(r));
    }
    exit::OK
}

fn show_hold(r: &HoldReport, json: bool) -> u8 {
    if json {
        print_json(r);
        return exit::OK;
    }
    for c in &r.copies {
        println!(
            "{}:{}: {} {} (data taken {})",
            r.source_account,
            r.source_id,
            r.action,
            c.id,
            format_time(c.data_time)
        );
    }
    match &r.hold {
        Some(h) => println!(
            "hold: {h}; `rdsf status` lists the holds, `rdsf release` (break-glass) ends one"
        ),
        None => println!("released: the next prune applies retention to these copies again"),
    }
    exit::OK
}

fn show_restore(r: &RestoreReport, json: bool) -> u8 {
    if json {
        print_json(r);
        return exit::OK;
    }
    println!(
        "{}:{}: copy {} (data taken {}, verified)",
        r.source_account,
        r.source_id,
        r.copy.id,
        format_time(r.copy.data_time)
    );
    for c in &r.plan.commands {
        println!("  {c}");
    }
    for n in &r.plan.notes {
        println!("note: {n}");
    }
    if r.dry_run {
        println!("dry run: nothing restored. Run the command(s) above, or this rdsf restore without --dry-run.");
    } else {
        for arn in &r.created {
            println!("started: {arn}");
        }
        println!(
            "RDS is restoring {}; it is usable when `aws rds describe-db-{}s` shows it available.",
            r.plan.restore.target_id,
            match r.plan.restore.kind {
                rdsf_core::model::SnapshotKind::Instance => "instance",
                rdsf_core::model::SnapshotKind::Cluster => "cluster",
            }
        );
    }
    exit::OK
}
