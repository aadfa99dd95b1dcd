//! `preflight`: the Live run's first step: checks the share key, the Failsafe topics, the quotas and the selected sources, and stops the run if every copy would fail.

use rdsf_core::live;
use rdsf_lambdas::{at_cold_start, aws_store, init_tracing, serve, LiveConfig, ProcessEnv};

const TASK: &str = "preflight";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let config = at_cold_start(LiveConfig::from_env(&ProcessEnv));
    let store = aws_store(TASK).await;
    serve(TASK, |input: live::PreflightInput| {
        live::preflight(config, store, input)
    })
    .await
}
