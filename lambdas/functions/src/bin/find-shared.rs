//! `find-shared`: snapshots shared with this account by allowed Live accounts, named like
//! rds-failsafe share copies, not saved yet. Needs no input: the Failsafe side finds work itself.

use rdsf_core::failsafe;
use rdsf_lambdas::{at_cold_start, aws_store, init_tracing, serve, FailsafeConfig, ProcessEnv};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let config = at_cold_start(FailsafeConfig::from_env(&ProcessEnv));
    let store = aws_store().await;
    serve("find-shared", |_input: serde_json::Value| {
        failsafe::find_shared(config, store)
    })
    .await
}
