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

/// One JSON object per log line (CloudWatch Logs Insights can query the fields).
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_target(false)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
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
