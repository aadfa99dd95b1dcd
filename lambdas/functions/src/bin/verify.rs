//! `verify`: checks a finished Failsafe copy (status, key owner, tags, engine, storage) and marks it verified.

use rdsf_core::failsafe;
use rdsf_lambdas::{at_cold_start, aws_store, init_tracing, serve, FailsafeConfig, ProcessEnv};

const TASK: &str = "verify";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let config = at_cold_start(FailsafeConfig::from_env(&ProcessEnv));
    let store = aws_store(TASK).await;
    serve(TASK, |input: failsafe::VerifyInput| {
        failsafe::verify(config, store, input)
    })
    .await
}
