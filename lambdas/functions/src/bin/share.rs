//! `share`: adds every Failsafe account to a finished share copy's `restore` attribute.

use rdsf_core::live;
use rdsf_lambdas::{at_cold_start, aws_store, init_tracing, serve, LiveConfig, ProcessEnv};

const TASK: &str = "share";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let config = at_cold_start(LiveConfig::from_env(&ProcessEnv));
    let store = aws_store(TASK).await;
    serve(TASK, |input: live::ShareInput| {
        live::share(config, store, input)
    })
    .await
}
