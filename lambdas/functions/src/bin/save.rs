//! `save`: copies a shared snapshot into the Failsafe account's own, Failsafe-key-encrypted copy.

use rdsf_core::failsafe;
use rdsf_lambdas::{at_cold_start, aws_store, init_tracing, serve, FailsafeConfig, ProcessEnv};

const TASK: &str = "save";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let config = at_cold_start(FailsafeConfig::from_env(&ProcessEnv));
    let store = aws_store(TASK).await;
    serve(TASK, |input: failsafe::SaveInput| {
        failsafe::save(config, store, input)
    })
    .await
}
