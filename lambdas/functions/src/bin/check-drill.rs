//! `check-drill`: reads a drill database's status and says when to look next.

use rdsf_core::drill;
use rdsf_lambdas::{aws_store, init_tracing, serve};

const TASK: &str = "check-drill";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let store = aws_store(TASK).await;
    serve(TASK, |input: drill::CheckDrillInput| {
        drill::check_drill(store, input)
    })
    .await
}
