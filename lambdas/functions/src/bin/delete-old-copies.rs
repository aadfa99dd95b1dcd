//! `delete-old-copies`: keeps the newest `LIVE_KEEP` managed share copies per source and deletes older ones.

use rdsf_core::live;
use rdsf_lambdas::{at_cold_start, aws_store, init_tracing, serve, LiveConfig, ProcessEnv};

const TASK: &str = "delete-old-copies";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let config = at_cold_start(LiveConfig::from_env(&ProcessEnv));
    let store = aws_store(TASK).await;
    serve(TASK, |input: live::DeleteInput| {
        live::delete_old_copies(config, store, input)
    })
    .await
}
