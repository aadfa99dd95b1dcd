//! `prune`: applies Failsafe retention (GFS or RETENTION days, never below MIN_KEEP) and emits the newest-copy-age metric.

use rdsf_core::failsafe;
use rdsf_lambdas::{at_cold_start, aws_store, init_tracing, serve, FailsafeConfig, ProcessEnv};

const TASK: &str = "prune";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let config = at_cold_start(FailsafeConfig::from_env(&ProcessEnv));
    let store = aws_store(TASK).await;
    serve(TASK, |input: failsafe::PruneInput| {
        failsafe::prune(config, store, input)
    })
    .await
}
