//! Step Functions with the AWS SDK: the port's executions (the trigger starts the Failsafe run).

use super::error::map_err;
use super::AwsStore;
use crate::port::{Executions, StartOutcome, StoreErrorKind, StoreResult};
use async_trait::async_trait;

#[async_trait]
impl Executions for AwsStore {
    async fn start_execution(
        &self,
        sm: &str,
        name: &str,
        input: &str,
    ) -> StoreResult<StartOutcome> {
        match self
            .clients_for_arn(sm)
            .sfn
            .start_execution()
            .state_machine_arn(sm)
            .name(name)
            .input(input)
            .send()
            .await
        {
            Ok(out) => Ok(StartOutcome::Started {
                execution_arn: out.execution_arn().to_string(),
            }),
            Err(e) => {
                let e = map_err("StartExecution", e);
                if e.kind == StoreErrorKind::AlreadyExists {
                    Ok(StartOutcome::AlreadyExists)
                } else {
                    Err(e)
                }
            }
        }
    }
}
