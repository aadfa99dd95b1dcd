//! SNS with the AWS SDK: the port's publishing, and the topic's policy the preflight reads.

use super::error::map_err;
use super::AwsStore;
use crate::port::{Publishing, StoreErrorKind, StoreResult};
use async_trait::async_trait;

#[async_trait]
impl Publishing for AwsStore {
    async fn publish(&self, topic_arn: &str, message: &str) -> StoreResult<String> {
        let out = self
            .clients_for_arn(topic_arn)
            .sns
            .publish()
            .topic_arn(topic_arn)
            .message(message)
            .send()
            .await
            .map_err(|e| map_err("Publish", e))?;
        Ok(out.message_id().unwrap_or_default().to_string())
    }
}

/// The topic's access policy (`GetTopicAttributes`' `Policy`), `None` when there is no such topic.
pub(super) async fn topic_policy(
    sns: &aws_sdk_sns::Client,
    topic_arn: &str,
) -> StoreResult<Option<String>> {
    match sns.get_topic_attributes().topic_arn(topic_arn).send().await {
        Ok(out) => Ok(Some(
            out.attributes()
                .and_then(|a| a.get("Policy"))
                .cloned()
                .unwrap_or_default(),
        )),
        Err(e) => match map_err("GetTopicAttributes", e) {
            e if e.kind == StoreErrorKind::NotFound => Ok(None),
            e => Err(e),
        },
    }
}
