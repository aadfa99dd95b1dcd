//! `end-drill`: deletes the drill's database, tags the copy restore-tested when it passed, writes the drill metric.

use rdsf_core::drill;
use rdsf_lambdas::{aws_store, init_tracing, serve};

const TASK: &str = "end-drill";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let store = aws_store(TASK).await;
    serve(TASK, |input: drill::EndDrillInput| {
        drill::end_drill(store, input)
    })
    .await
}
