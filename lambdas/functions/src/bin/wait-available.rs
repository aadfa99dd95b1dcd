//! `wait-available` (both accounts): one look at a copy in progress; the state machine's
//! Wait/Choice loop calls it until the copy is `available`. Fails with `CopyFailed` if it failed.

use rdsf_core::live;
use rdsf_lambdas::{aws_store, init_tracing, serve};

const TASK: &str = "wait-available";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let store = aws_store(TASK).await;
    serve(TASK, |input: live::WaitInput| {
        live::wait_available(store, input)
    })
    .await
}
