//! `copy-latest`: copies a source's newest automated snapshot to its share copy, re-encrypted with the share key.

use rdsf_core::live;
use rdsf_lambdas::{at_cold_start, aws_store, init_tracing, serve, LiveConfig, ProcessEnv};

const TASK: &str = "copy-latest";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let config = at_cold_start(LiveConfig::from_env(&ProcessEnv));
    let store = aws_store(TASK).await;
    serve(TASK, |input: live::CopyInput| {
        live::copy_latest(config, store, input)
    })
    .await
}
