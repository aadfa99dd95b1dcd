//! `find-shared`: snapshots shared with this account by allowed Live accounts (in each of
//! `SOURCE_REGIONS`), named like rds-failsafe share copies, not saved yet. The Failsafe side finds
//! work itself; a trigger in the input is only checked against what it found.

use rdsf_core::failsafe;
use rdsf_lambdas::{at_cold_start, aws_store, init_tracing, serve, FailsafeConfig, ProcessEnv};

const TASK: &str = "find-shared";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let config = at_cold_start(FailsafeConfig::from_env(&ProcessEnv));
    let store = aws_store(TASK).await;
    serve(TASK, |input: failsafe::FindInput| {
        failsafe::find_shared(config, store, input)
    })
    .await
}
