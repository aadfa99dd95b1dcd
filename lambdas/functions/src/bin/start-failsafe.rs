//! `start-failsafe` (SNS subscriber): validates the Live account's message and starts the
//! Failsafe state machine under a name derived from it, so a duplicate delivery is a no-op.
//! Malformed or foreign messages are logged and dropped, never retried forever.

use rdsf_core::error::FailsafeError;
use rdsf_core::failsafe;
use rdsf_lambdas::{at_cold_start, aws_store, init_tracing, serve, FailsafeConfig, ProcessEnv};

const TASK: &str = "start-failsafe";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let config = at_cold_start(FailsafeConfig::from_env(&ProcessEnv).and_then(|c| {
        c.require_state_machine_arn()?;
        Ok::<_, FailsafeError>(c)
    }));
    let store = aws_store(TASK).await;
    serve(TASK, |event: serde_json::Value| {
        failsafe::start_failsafe(config, store, event)
    })
    .await
}
