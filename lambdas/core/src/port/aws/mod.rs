//! The AWS SDK adapter of the port's capability traits, one file per service: `rds.rs`
//! (snapshots, snapshot writes, sharing, databases, restores), `sns.rs` (publishing, the topic's
//! policy), `sfn.rs` (executions), `kms.rs` (the key reads of the preflight), `logs.rs` (the drills'
//! evidence); `error.rs` maps AWS
//! error codes to [`crate::port::StoreErrorKind`]. Complete pagination, SDK types mapped to the
//! model. No policy lives here. This file: [`AwsStore`] and its clients, per region.

mod error;
mod kms;
mod logs;
mod rds;
mod sfn;
mod sns;

pub use error::classify;
pub use rds::{cluster_snapshot, instance_snapshot, READ_ATTEMPTS};

use crate::arn::Arn;
use crate::model::KeyInfo;
use crate::port::{DrillRecords, PolicyReads, StoreResult};
use async_trait::async_trait;
use rds::read_client;
use std::collections::HashMap;
use std::sync::Mutex;

/// The clients of one region. AWS APIs are regional: a shared snapshot is listed only in its
/// own region, SNS publishes only to topics of the client's region, Step Functions starts only
/// state machines of its region.
#[derive(Clone)]
struct Regional {
    /// RDS writes: one attempt each (`AWS_MAX_ATTEMPTS=1`); the state machines retry them.
    rds: aws_sdk_rds::Client,
    /// RDS reads: the SDK's standard retries ([`read_client`]).
    rds_read: aws_sdk_rds::Client,
    sns: aws_sdk_sns::Client,
    sfn: aws_sdk_sfn::Client,
}

pub struct AwsStore {
    home: Regional,
    /// Clients of other regions, made on first use from the home clients' configuration.
    others: Mutex<HashMap<String, Regional>>,
    /// KMS is read by the preflight only; with static dispatch, only the binaries that call
    /// [`PolicyReads`] link its operations.
    kms: kms::KmsKeys,
    /// CloudWatch Logs, for the drills' evidence: only `end-drill` and `rdsf` link its operations.
    logs: logs::LogRecords,
}

impl AwsStore {
    /// The home region's clients; clients of other regions are derived from them on demand
    /// (same credentials, retry and endpoint settings, another region).
    pub fn new(
        rds: aws_sdk_rds::Client,
        sns: aws_sdk_sns::Client,
        sfn: aws_sdk_sfn::Client,
        kms: aws_sdk_kms::Client,
        logs: aws_sdk_cloudwatchlogs::Client,
    ) -> Self {
        AwsStore {
            home: Regional {
                rds_read: read_client(&rds),
                rds,
                sns,
                sfn,
            },
            others: Mutex::new(HashMap::new()),
            kms: kms::KmsKeys::new(kms),
            logs: logs::LogRecords::new(logs),
        }
    }

    /// Clients from the standard chain: region, credentials and `AWS_ENDPOINT_URL` from the
    /// environment (the local stack sets the latter; production code has no emulator branch).
    /// Every request's User-Agent carries `app/rdsf-<task>`, so CloudTrail's `userAgent` says
    /// which task made a call (and the local stack attributes each recorded call to its task
    /// for the policy simulation).
    pub async fn from_env(task: &str) -> AwsStore {
        AwsStore::from_loader(
            aws_config::defaults(aws_config::BehaviorVersion::latest()),
            task,
        )
        .await
    }

    /// Clients from `loader` (the `rdsf` command line sets a profile or region on it), with
    /// the User-Agent's `app/rdsf-<task>` and the one HTTP client.
    pub async fn from_loader(loader: aws_config::ConfigLoader, task: &str) -> AwsStore {
        AwsStore::from_conf(&AwsStore::load(loader, task).await)
    }

    /// The SDK configuration `loader` gives, with the User-Agent's `app/rdsf-<task>` and the one
    /// HTTP client (`rdsf` makes a client of another service from it too).
    pub async fn load(mut loader: aws_config::ConfigLoader, task: &str) -> aws_config::SdkConfig {
        match aws_config::AppName::new(format!("rdsf-{task}")) {
            Ok(app) => loader = loader.app_name(app),
            Err(_) => tracing::warn!(
                task,
                "task name is not a valid SDK app name; User-Agent without it"
            ),
        }
        loader.http_client(Self::https_client()).load().await
    }

    pub fn from_conf(conf: &aws_config::SdkConfig) -> AwsStore {
        AwsStore::new(
            aws_sdk_rds::Client::new(conf),
            aws_sdk_sns::Client::new(conf),
            aws_sdk_sfn::Client::new(conf),
            aws_sdk_kms::Client::new(conf),
            aws_sdk_cloudwatchlogs::Client::new(conf),
        )
    }

    /// The home region (from the environment, the profile or the loader), if there is one.
    pub fn region(&self) -> Option<String> {
        self.home.rds.config().region().map(|r| r.to_string())
    }

    /// The one HTTP client every SDK client uses: hyper 1 with rustls and the `ring` provider.
    /// The SDK crates' default features would link a second stack and aws-lc as well (see the
    /// workspace Cargo.toml); with them off, a client without this one has no way to send.
    pub fn https_client() -> aws_sdk_rds::config::SharedHttpClient {
        use aws_smithy_http_client::{tls, Builder};
        Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https()
    }

    /// The clients for `region` (`None` or the home region: the home clients).
    fn clients(&self, region: Option<&str>) -> Regional {
        let home = self.home.rds.config().region().map(|r| r.as_ref());
        let region = match region {
            Some(r) if !r.is_empty() && Some(r) != home => r,
            _ => return self.home.clone(),
        };
        let mut others = self.others.lock().expect("regional clients lock");
        others
            .entry(region.to_string())
            .or_insert_with(|| {
                let r = aws_config::Region::new(region.to_string());
                Regional {
                    rds: aws_sdk_rds::Client::from_conf(
                        self.home
                            .rds
                            .config()
                            .to_builder()
                            .region(r.clone())
                            .build(),
                    ),
                    rds_read: aws_sdk_rds::Client::from_conf(
                        self.home
                            .rds_read
                            .config()
                            .to_builder()
                            .region(r.clone())
                            .build(),
                    ),
                    sns: aws_sdk_sns::Client::from_conf(
                        self.home
                            .sns
                            .config()
                            .to_builder()
                            .region(r.clone())
                            .build(),
                    ),
                    sfn: aws_sdk_sfn::Client::from_conf(
                        self.home.sfn.config().to_builder().region(r).build(),
                    ),
                }
            })
            .clone()
    }

    /// The clients for the region an ARN names (the home clients for a plain identifier).
    fn clients_for_arn(&self, id: &str) -> Regional {
        self.clients(Arn::parse(id).as_ref().map(|a| a.region.as_str()))
    }
}

#[async_trait]
impl PolicyReads for AwsStore {
    async fn describe_key(&self, key_arn: &str) -> StoreResult<Option<KeyInfo>> {
        self.kms.describe_key(key_arn).await
    }

    async fn key_policy(&self, key_arn: &str) -> StoreResult<String> {
        self.kms.key_policy(key_arn).await
    }

    async fn topic_policy(&self, topic_arn: &str) -> StoreResult<Option<String>> {
        sns::topic_policy(&self.clients_for_arn(topic_arn).sns, topic_arn).await
    }
}

#[async_trait]
impl DrillRecords for AwsStore {
    async fn append_record(&self, group: &str, stream: &str, record: &str) -> StoreResult<()> {
        self.logs.append(group, stream, record).await
    }

    async fn read_records(&self, group: &str) -> StoreResult<Vec<String>> {
        self.logs.read(group).await
    }
}
