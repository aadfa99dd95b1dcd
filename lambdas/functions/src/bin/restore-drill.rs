//! `restore-drill`: restores a Failsafe copy into a database tagged rds-failsafe:drill=true.

use rdsf_core::config::DrillConfig;
use rdsf_core::drill;
use rdsf_lambdas::{at_cold_start, aws_store, init_tracing, serve, ProcessEnv};

const TASK: &str = "restore-drill";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let config = at_cold_start(DrillConfig::from_env(&ProcessEnv));
    let store = aws_store(TASK).await;
    serve(TASK, |input: drill::RestoreDrillInput| {
        drill::restore_drill(config, store, input)
    })
    .await
}
