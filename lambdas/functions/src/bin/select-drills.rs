//! `select-drills`: per source the newest verified copy to restore-test (DRILL_SOURCES=one: the source drilled least recently).

use rdsf_core::config::DrillConfig;
use rdsf_core::drill;
use rdsf_lambdas::{at_cold_start, aws_store, init_tracing, serve, ProcessEnv};

const TASK: &str = "select-drills";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let config = at_cold_start(DrillConfig::from_env(&ProcessEnv));
    let store = aws_store(TASK).await;
    serve(TASK, |input: drill::SelectDrillsInput| {
        drill::select_drills(config, store, input)
    })
    .await
}
