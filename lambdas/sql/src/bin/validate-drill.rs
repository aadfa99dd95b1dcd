//! `validate-drill`: runs the source's checks (`restoreDrill.checks`) on the drill's restored database, as its RDS-managed master user, read-only over TLS, and reports each check.

use rdsf_core::config::ValidateConfig;
use rdsf_core::drill;
use rdsf_core::port::aws::AwsStore;
use rdsf_lambdas::{at_cold_start, init_tracing, serve, ProcessEnv};
use rdsf_sql::SqlStore;

const TASK: &str = "validate-drill";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let config = at_cold_start(ValidateConfig::from_env(&ProcessEnv));
    let conf = AwsStore::load(
        aws_config::defaults(aws_config::BehaviorVersion::latest()),
        TASK,
    )
    .await;
    let rds: &'static AwsStore = Box::leak(Box::new(AwsStore::from_conf(&conf)));
    let data: &'static SqlStore = Box::leak(Box::new(SqlStore::new(
        &conf,
        config.extra_ca_pem.as_deref(),
    )));
    serve(TASK, |input: drill::ValidateDrillInput| {
        drill::validate_drill(config, rds, data, input)
    })
    .await
}
