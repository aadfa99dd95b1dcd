//! `select-sources`: lists the DB instances and Aurora clusters to protect this run (configured `SOURCES` or the input's `sources`).

use rdsf_core::live;
use rdsf_lambdas::{at_cold_start, aws_store, init_tracing, serve, LiveConfig, ProcessEnv};

const TASK: &str = "select-sources";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let config = at_cold_start(LiveConfig::from_env(&ProcessEnv));
    let store = aws_store(TASK).await;
    serve(TASK, |input: live::SelectInput| {
        live::select_sources(config, store, input)
    })
    .await
}
