//! The configuration rds-failsafe runs with, read where it lives: the environment of the deployed
//! task functions (CDK writes it there; each Lambda reads it at cold start). `rdsf preflight`
//! checks that configuration, parsed and validated by the same `LiveConfig` / `FailsafeConfig`
//! as a cold start, so the operator checks what the next run will use, not a copy of it.
//!
//! The one AWS call the task Lambdas never make (Lambda's `ListFunctions` /
//! `GetFunctionConfiguration`) is made here, with the CLI's own client, so no task binary links
//! the Lambda SDK.

use rdsf_core::config::{FailsafeConfig, LiveConfig};
use rdsf_core::error::{ErrorKind, FailsafeError};
use std::collections::HashMap;

/// One configuration found, and the functions that carry it.
#[derive(Debug)]
pub struct Deployed {
    pub functions: Vec<String>,
    pub config: Side,
}

#[derive(Debug)]
pub enum Side {
    Live(Box<LiveConfig>),
    Failsafe(Box<FailsafeConfig>),
    /// A function whose configuration a cold start would refuse.
    Invalid(FailsafeError),
}

/// Which side a function's environment configures: the variable only that side's config needs.
fn side_of(env: &HashMap<String, String>) -> Option<Side> {
    if env.contains_key("SHARE_KMS_KEY_ARN") {
        Some(match LiveConfig::from_env(env) {
            Ok(c) => Side::Live(Box::new(c)),
            Err(e) => Side::Invalid(e),
        })
    } else if env.contains_key("FAILSAFE_KMS_KEY_ARN") {
        Some(match FailsafeConfig::from_env(env) {
            // what one task alone reads (start-failsafe) does not make another deployment
            Ok(c) => Side::Failsafe(Box::new(FailsafeConfig {
                state_machine_arn: None,
                max_concurrency: None,
                copy_throughput_mibps: None,
                ..c
            })),
            Err(e) => Side::Invalid(e),
        })
    } else {
        None
    }
}

fn same(a: &Side, b: &Side) -> bool {
    match (a, b) {
        (Side::Live(a), Side::Live(b)) => a == b,
        (Side::Failsafe(a), Side::Failsafe(b)) => a == b,
        (Side::Invalid(a), Side::Invalid(b)) => a == b,
        _ => false,
    }
}

/// A function's environment as Lambda returns it. Variables Lambda could not decrypt for this
/// caller (a customer-managed key the profile may not use) come back as an error instead: that
/// is a deployment the operator cannot check, not "no deployment".
fn environment(
    name: &str,
    env: Option<&aws_sdk_lambda::types::EnvironmentResponse>,
) -> Result<HashMap<String, String>, FailsafeError> {
    if let Some(e) = env.and_then(|e| e.error()) {
        return Err(FailsafeError::new(
            ErrorKind::AwsError,
            format!(
                "function {name}: Lambda did not return its environment ({}: {}); the profile needs kms:Decrypt on the key that encrypts it",
                e.error_code().unwrap_or("Error"),
                e.message().unwrap_or_default()
            ),
        ));
    }
    Ok(env.and_then(|e| e.variables()).cloned().unwrap_or_default())
}

/// Groups functions by the configuration they carry (every task of one deployment carries the
/// same); functions that are not rds-failsafe's are left out.
pub fn group(functions: Vec<(String, HashMap<String, String>)>) -> Vec<Deployed> {
    let mut out: Vec<Deployed> = Vec::new();
    for (name, env) in functions {
        let Some(side) = side_of(&env) else { continue };
        match out.iter_mut().find(|d| same(&d.config, &side)) {
            Some(d) => d.functions.push(name),
            None => out.push(Deployed {
                functions: vec![name],
                config: side,
            }),
        }
    }
    out
}

fn aws_error(op: &str, e: impl std::fmt::Display) -> FailsafeError {
    FailsafeError::new(ErrorKind::AwsError, format!("{op}: {e}"))
}

/// The rds-failsafe configurations among this account's functions in the client's region, or
/// the one `function` (name or ARN) carries.
pub async fn find(
    lambda: &aws_sdk_lambda::Client,
    function: Option<&str>,
) -> Result<Vec<Deployed>, FailsafeError> {
    use aws_sdk_lambda::error::DisplayErrorContext;
    let functions = match function {
        Some(name) => {
            let c = lambda
                .get_function_configuration()
                .function_name(name)
                .send()
                .await
                .map_err(|e| aws_error("GetFunctionConfiguration", DisplayErrorContext(e)))?;
            let found = group(vec![(
                name.to_string(),
                environment(name, c.environment())?,
            )]);
            if found.is_empty() {
                return Err(FailsafeError::input(format!(
                    "--function {name}: its environment has neither SHARE_KMS_KEY_ARN (Live) nor FAILSAFE_KMS_KEY_ARN (Failsafe); name one of rds-failsafe's task functions (tag rds-failsafe:task)"
                )));
            }
            return Ok(found);
        }
        None => lambda
            .list_functions()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| aws_error("ListFunctions", DisplayErrorContext(e)))?,
    };
    let (mut named, mut unreadable) = (Vec::new(), Vec::new());
    for c in &functions {
        let name = c.function_name().unwrap_or_default();
        match environment(name, c.environment()) {
            Ok(env) => named.push((name.to_string(), env)),
            Err(e) => unreadable.push(e),
        }
    }
    let found = group(named);
    if found.is_empty() {
        // any function may be rds-failsafe's when its environment cannot be read
        if let Some(e) = unreadable.into_iter().next() {
            return Err(e);
        }
        return Err(FailsafeError::input(
            "no rds-failsafe function in this account and region (none has SHARE_KMS_KEY_ARN or FAILSAFE_KMS_KEY_ARN in its environment): deploy the stack, pick the profile and --region it is deployed with, or name a function with --function",
        ));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const LIVE: &[(&str, &str)] = &[
        ("ACCOUNT_ID", "111111111111"),
        ("REGION", "eu-west-1"),
        ("FAILSAFE_ACCOUNTS", "222222222222"),
        (
            "FAILSAFE_TOPIC_ARNS",
            "arn:aws:sns:eu-west-1:222222222222:rds-failsafe",
        ),
        (
            "SHARE_KMS_KEY_ARN",
            "arn:aws:kms:eu-west-1:111111111111:key/share",
        ),
        ("SOURCES", "all"),
    ];
    const FAILSAFE: &[(&str, &str)] = &[
        ("ACCOUNT_ID", "222222222222"),
        ("REGION", "eu-west-1"),
        ("SOURCE_ACCOUNTS", "111111111111"),
        (
            "FAILSAFE_KMS_KEY_ARN",
            "arn:aws:kms:eu-west-1:222222222222:key/failsafe",
        ),
    ];

    #[test]
    fn one_deployment_per_configuration_whatever_one_task_adds() {
        let mut start = env(FAILSAFE);
        start.insert(
            "STATE_MACHINE_ARN".into(),
            "arn:aws:states:eu-west-1:222222222222:stateMachine:rds-failsafe".into(),
        );
        start.insert("MAX_CONCURRENCY".into(), "5".into());
        let mut broken = env(LIVE);
        broken.insert("LIVE_KEEP".into(), "many".into());
        let found = group(vec![
            ("live-copy".into(), env(LIVE)),
            ("live-share".into(), env(LIVE)),
            ("fs-save".into(), env(FAILSAFE)),
            ("fs-start".into(), start),
            ("someone-elses".into(), env(&[("TABLE", "orders")])),
            ("broken-1".into(), broken.clone()),
            ("broken-2".into(), broken),
        ]);
        let summary: Vec<(&str, Vec<&str>)> = found
            .iter()
            .map(|d| {
                let side = match &d.config {
                    Side::Live(_) => "live",
                    Side::Failsafe(_) => "failsafe",
                    Side::Invalid(_) => "invalid",
                };
                (side, d.functions.iter().map(String::as_str).collect())
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("live", vec!["live-copy", "live-share"]),
                ("failsafe", vec!["fs-save", "fs-start"]),
                ("invalid", vec!["broken-1", "broken-2"]),
            ]
        );
    }
}
