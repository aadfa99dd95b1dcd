//! KMS with the AWS SDK: the key reads of [`crate::port::PolicyReads`]: `DescribeKey` and
//! `GetKeyPolicy`, in the key's region.

use super::error::map_err;
use crate::arn::Arn;
use crate::model::KeyInfo;
use crate::port::{StoreErrorKind, StoreResult};

pub struct KmsKeys {
    home: aws_sdk_kms::Client,
}

impl KmsKeys {
    pub fn new(home: aws_sdk_kms::Client) -> Self {
        KmsKeys { home }
    }

    /// A client in the key ARN's region (KMS keys are regional), else the home one.
    fn client(&self, key_arn: &str) -> aws_sdk_kms::Client {
        match Arn::parse(key_arn) {
            Some(a)
                if self.home.config().region().map(|r| r.as_ref()) != Some(a.region.as_str()) =>
            {
                aws_sdk_kms::Client::from_conf(
                    self.home
                        .config()
                        .to_builder()
                        .region(aws_config::Region::new(a.region))
                        .build(),
                )
            }
            _ => self.home.clone(),
        }
    }

    pub async fn describe_key(&self, key_arn: &str) -> StoreResult<Option<KeyInfo>> {
        match self
            .client(key_arn)
            .describe_key()
            .key_id(key_arn)
            .send()
            .await
        {
            Ok(out) => Ok(out.key_metadata().map(|k| KeyInfo {
                arn: k.arn().unwrap_or(key_arn).to_string(),
                state: k
                    .key_state()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                manager: k
                    .key_manager()
                    .map(|m| m.as_str().to_string())
                    .unwrap_or_default(),
            })),
            Err(e) => match map_err("DescribeKey", e) {
                e if e.kind == StoreErrorKind::NotFound => Ok(None),
                e => Err(e),
            },
        }
    }

    pub async fn key_policy(&self, key_arn: &str) -> StoreResult<String> {
        let out = self
            .client(key_arn)
            .get_key_policy()
            .key_id(key_arn)
            // the only policy name there is; older API versions require it
            .policy_name("default")
            .send()
            .await
            .map_err(|e| map_err("GetKeyPolicy", e))?;
        Ok(out.policy().unwrap_or_default().to_string())
    }
}
