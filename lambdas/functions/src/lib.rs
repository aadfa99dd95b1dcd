//! What every task Lambda binary shares: JSON logs, config loaded once at cold start, and the
//! event loop that turns JSON into the typed input and a [`FailsafeError`] into a `Diagnostic`
//! whose `errorType` the state machines match.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use rdsf_core::error::FailsafeError;
use rdsf_core::live::parse_input;
use serde_json::Value;
use std::future::Future;

pub use rdsf_core::config::{FailsafeConfig, LiveConfig, ProcessEnv};
pub use rdsf_core::port::aws::AwsStore;

/// One JSON object per log line (CloudWatch Logs Insights can query the fields), at the level
/// `RUST_LOG` names (`info` when unset): a level, or `target=level` directives, comma-separated.
/// Parsed by `Targets`, not `EnvFilter`, which would link a regex engine into every binary.
pub fn init_tracing() {
    use tracing_subscriber::prelude::*;
    let (filter, bad) = log_filter(std::env::var("RUST_LOG").ok().as_deref());
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_target(false)
                .with_ansi(false)
                .with_filter(filter),
        )
        .init();
    if let Some(bad) = bad {
        tracing::warn!(rust_log = %bad, "RUST_LOG is not a level or target=level list; logging at info");
    }
}

/// `RUST_LOG` as a filter, and the value when it could not be read (then `info`).
pub fn log_filter(rust_log: Option<&str>) -> (tracing_subscriber::filter::Targets, Option<String>) {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    let info = || Targets::new().with_default(LevelFilter::INFO);
    match rust_log.map(str::trim) {
        None | Some("") => (info(), None),
        Some(v) => {
            // Targets' own parser takes any word for a target name ("loud please" would mean
            // "everything from a target of that name"), so each directive is checked first.
            let directive = |d: &str| match d.split_once('=') {
                None => d.parse::<LevelFilter>().is_ok(),
                Some((target, level)) => {
                    !target.is_empty()
                        && target
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                        && level.parse::<LevelFilter>().is_ok()
                }
            };
            match v.parse::<Targets>() {
                Ok(t) if v.split(',').map(str::trim).all(directive) => (t, None),
                _ => (info(), Some(v.to_string())),
            }
        }
    }
}

/// A value that lives for the whole process: config and clients made once at cold start.
/// A bad configuration is logged with its `InvalidConfig` message and ends the process, so
/// the function fails on its first invocation instead of running half-configured.
pub fn at_cold_start<T>(loaded: Result<T, FailsafeError>) -> &'static T {
    match loaded {
        Ok(v) => Box::leak(Box::new(v)),
        Err(e) => {
            tracing::error!(error_type = %e.kind, error_message = %e.message, "cold start failed");
            eprintln!("{e}");
            std::process::exit(1)
        }
    }
}

/// The AWS clients of `task` (its name goes into every request's User-Agent as `app/rdsf-<task>`).
pub async fn aws_store(task: &str) -> &'static AwsStore {
    Box::leak(Box::new(AwsStore::from_env(task).await))
}

/// Runs the Lambda event loop for one task: JSON in, `handler`, JSON out.
pub async fn serve<I, O, F, Fut>(task: &'static str, handler: F) -> Result<(), Error>
where
    I: serde::de::DeserializeOwned,
    O: serde::Serialize,
    F: Fn(I) -> Fut,
    Fut: Future<Output = Result<O, FailsafeError>>,
{
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let call = parse_input::<I>(task, event.payload).map(handler);
        async move {
            let result = match call {
                Ok(fut) => fut.await,
                Err(e) => Err(e),
            };
            if let Err(e) = &result {
                tracing::error!(task, error_type = %e.kind, error_message = %e.message, "task failed");
            }
            result
        }
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::log_filter;
    use tracing::Level;

    #[test]
    fn rust_log_is_a_level_or_directives_else_info() {
        let (f, bad) = log_filter(None);
        assert!(f.would_enable("rdsf", &Level::INFO) && !f.would_enable("rdsf", &Level::DEBUG));
        assert_eq!(bad, None);
        let (f, _) = log_filter(Some("debug"));
        assert!(f.would_enable("rdsf", &Level::DEBUG));
        let (f, _) = log_filter(Some("warn,aws_smithy_runtime=debug"));
        assert!(!f.would_enable("rdsf", &Level::INFO));
        assert!(f.would_enable("aws_smithy_runtime", &Level::DEBUG));
        let (f, bad) = log_filter(Some("loud please"));
        assert!(f.would_enable("rdsf", &Level::INFO) && !f.would_enable("rdsf", &Level::DEBUG));
        assert_eq!(bad.as_deref(), Some("loud please"));
    }
}
