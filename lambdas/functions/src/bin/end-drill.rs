//! `end-drill`: deletes the drill's database, tags the copy restore-tested when it passed, writes the drill metric (with the restore time against its target).

use rdsf_core::config::DrillConfig;
use rdsf_core::drill;
use rdsf_lambdas::{at_cold_start, aws_store, init_tracing, serve, ProcessEnv};

const TASK: &str = "end-drill";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let config = at_cold_start(DrillConfig::from_env(&ProcessEnv));
    let store = aws_store(TASK).await;
    serve(TASK, |input: drill::EndDrillInput| {
        drill::end_drill(config, store, input)
    })
    .await
}
