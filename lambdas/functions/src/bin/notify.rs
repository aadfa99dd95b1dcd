//! `notify`: publishes the versioned message to the Failsafe topic(s) and returns the run's summary.

use rdsf_core::live;
use rdsf_lambdas::{at_cold_start, aws_store, init_tracing, serve, LiveConfig, ProcessEnv};

const TASK: &str = "notify";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let config = at_cold_start(LiveConfig::from_env(&ProcessEnv));
    let store = aws_store(TASK).await;
    serve(TASK, |input: live::NotifyInput| {
        live::notify(config, store, input)
    })
    .await
}
