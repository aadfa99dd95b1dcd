//! The SDK adapter over mocked RDS responses: the real SDK paginators and error parsing, no network.

use aws_sdk_rds::operation::describe_db_cluster_snapshots::DescribeDbClusterSnapshotsOutput;
use aws_sdk_rds::operation::describe_db_snapshots::DescribeDbSnapshotsOutput;
use aws_sdk_rds::types::{DbClusterSnapshot, DbSnapshot, Tag};
use aws_sdk_rds::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use rdsf_core::model::SnapshotKind;
use rdsf_core::port::aws::AwsStore;
use rdsf_core::port::{
    Databases, Sharing, SnapshotQuery, SnapshotWrites, Snapshots, StoreErrorKind,
};

fn store(rds: Client) -> AwsStore {
    let region = aws_config::Region::new("eu-west-1");
    AwsStore::new(
        rds,
        aws_sdk_sns::Client::from_conf(
            aws_sdk_sns::Config::builder()
                .behavior_version_latest()
                .region(region.clone())
                .build(),
        ),
        aws_sdk_sfn::Client::from_conf(
            aws_sdk_sfn::Config::builder()
                .behavior_version_latest()
                .region(region.clone())
                .build(),
        ),
        aws_sdk_kms::Client::from_conf(
            aws_sdk_kms::Config::builder()
                .behavior_version_latest()
                .region(region.clone())
                .build(),
        ),
        aws_sdk_cloudwatchlogs::Client::from_conf(
            aws_sdk_cloudwatchlogs::Config::builder()
                .behavior_version_latest()
                .region(region)
                .build(),
        ),
    )
}

fn db_snapshot(i: usize) -> DbSnapshot {
    DbSnapshot::builder()
        .db_snapshot_identifier(format!("rds:orders-{i:04}"))
        .db_snapshot_arn(format!(
            "arn:aws:rds:eu-west-1:111111111111:snapshot:rds:orders-{i:04}"
        ))
        .db_instance_identifier("orders")
        .snapshot_type("automated")
        .status("available")
        .snapshot_create_time(aws_smithy_types::DateTime::from_secs(
            1_767_236_400 + 86_400 * i as i64,
        ))
        .encrypted(true)
        .kms_key_id("arn:aws:kms:eu-west-1:111111111111:key/k")
        .engine("postgres")
        .allocated_storage(100)
        .tag_list(Tag::builder().key("team").value("payments").build())
        .build()
}

/// 250 snapshots served 100 a page, the page chosen by the request's marker.
#[tokio::test]
async fn instance_snapshots_are_read_past_100_results() {
    let pages = mock!(Client::describe_db_snapshots).then_compute_output(|req| {
        let start: usize = req.marker().map(|m| m.parse().unwrap()).unwrap_or(0);
        let end = (start + 100).min(250);
        let mut out = DescribeDbSnapshotsOutput::builder()
            .set_db_snapshots(Some((start..end).map(db_snapshot).collect()));
        if end < 250 {
            out = out.marker(end.to_string());
        }
        out.build()
    });
    let rds = mock_client!(aws_sdk_rds, RuleMode::MatchAny, [&pages]);
    let q = SnapshotQuery {
        region: None,
        source_id: Some("orders".into()),
        snapshot_type: Some("automated"),
    };
    let all = store(rds)
        .list_snapshots(SnapshotKind::Instance, &q)
        .await
        .unwrap();
    assert_eq!(all.len(), 250);
    assert_eq!(pages.num_calls(), 3);
    assert_eq!(all[249].id, "rds:orders-0249");
    // the policy on top picks the newest of all pages
    assert_eq!(
        rdsf_core::policy::copy::newest_automated(&all).unwrap().id,
        "rds:orders-0249"
    );
    assert_eq!(
        all[0].tags.get("team").map(String::as_str),
        Some("payments")
    );
    assert!(all[0].encrypted);
    assert_eq!(
        all[0].create_time.unwrap().to_rfc3339(),
        "2026-01-01T03:00:00+00:00"
    );
}

#[tokio::test]
async fn cluster_snapshots_are_read_past_100_results() {
    let pages = mock!(Client::describe_db_cluster_snapshots).then_compute_output(|req| {
        let start: usize = req.marker().map(|m| m.parse().unwrap()).unwrap_or(0);
        let end = (start + 100).min(130);
        let snaps = (start..end)
            .map(|i| {
                DbClusterSnapshot::builder()
                    .db_cluster_snapshot_identifier(format!("c-{i}"))
                    .db_cluster_identifier("aurora")
                    .snapshot_type("automated")
                    .status("available")
                    .storage_encrypted(false)
                    .build()
            })
            .collect();
        let mut out =
            DescribeDbClusterSnapshotsOutput::builder().set_db_cluster_snapshots(Some(snaps));
        if end < 130 {
            out = out.marker(end.to_string());
        }
        out.build()
    });
    let rds = mock_client!(aws_sdk_rds, RuleMode::MatchAny, [&pages]);
    let all = store(rds)
        .list_snapshots(SnapshotKind::Cluster, &SnapshotQuery::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 130);
    assert_eq!(pages.num_calls(), 2);
    assert!(all
        .iter()
        .all(|s| s.kind == SnapshotKind::Cluster && !s.encrypted));
}

fn xml_error(status: u16, code: &str) -> HttpResponse {
    let body = format!(
        "<ErrorResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{code} happened</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
    );
    HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
}

#[tokio::test]
async fn aws_error_codes_map_to_stable_kinds() {
    for (code, status, kind) in [
        ("Throttling", 400, StoreErrorKind::Throttled),
        (
            "KMSKeyNotAccessibleFault",
            400,
            StoreErrorKind::KmsKeyNotAccessible,
        ),
        ("SnapshotQuotaExceeded", 400, StoreErrorKind::QuotaExceeded),
        (
            "DBSnapshotAlreadyExists",
            400,
            StoreErrorKind::AlreadyExists,
        ),
        (
            "InvalidParameterCombination",
            400,
            StoreErrorKind::InvalidParameter,
        ),
    ] {
        let rule =
            mock!(Client::copy_db_snapshot).then_http_response(move || xml_error(status, code));
        let rds = mock_client!(aws_sdk_rds, RuleMode::MatchAny, [&rule], |c| c
            .retry_config(aws_sdk_rds::config::retry::RetryConfig::disabled()));
        let req = rdsf_core::port::CopyRequest {
            source: "rds:orders-1".into(),
            target_id: "rdsf-orders-202601010300".into(),
            kms_key_id: None,
            tags: Default::default(),
        };
        let e = store(rds)
            .copy_snapshot(SnapshotKind::Instance, &req)
            .await
            .unwrap_err();
        assert_eq!(e.kind, kind, "{code}: {e}");
        assert_eq!(e.code, code);
        let f: rdsf_core::error::FailsafeError = e.into();
        if code == "Throttling" {
            assert_eq!(f.kind, rdsf_core::error::ErrorKind::Throttled);
        }
    }
}

/// A share RDS refuses for the snapshot's aws/rds key is the key's; other refusals stay what
/// they are (contract/rds-rules.json: RDS answers a state error for both).
#[tokio::test]
async fn a_share_refused_for_the_aws_rds_key_is_a_key_error() {
    for (message, kind) in [
        (
            "Snapshot rdsf-orders is encrypted with the AWS managed key aws/rds and cannot be shared",
            StoreErrorKind::KmsKeyNotAccessible,
        ),
        (
            "Automated snapshots cannot be shared",
            StoreErrorKind::InvalidState,
        ),
    ] {
        let rule = mock!(Client::modify_db_snapshot_attribute).then_http_response(move || {
            HttpResponse::new(
                StatusCode::try_from(400).unwrap(),
                SdkBody::from(format!(
                    "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidDBSnapshotState</Code><Message>{message}</Message></Error></ErrorResponse>"
                )),
            )
        });
        let rds = mock_client!(aws_sdk_rds, RuleMode::MatchAny, [&rule]);
        let e = store(rds)
            .share_with(SnapshotKind::Instance, "rdsf-orders", &["222222222222".into()])
            .await
            .unwrap_err();
        assert_eq!((e.kind, e.code.as_str()), (kind, "InvalidDBSnapshotState"), "{e}");
    }
}

#[tokio::test]
async fn describe_of_a_missing_snapshot_is_none() {
    let rule = mock!(Client::describe_db_snapshots)
        .then_http_response(|| xml_error(404, "DBSnapshotNotFound"));
    let rds = mock_client!(aws_sdk_rds, RuleMode::MatchAny, [&rule]);
    assert_eq!(
        store(rds)
            .describe_snapshot(SnapshotKind::Instance, "rdsf-x-202601010300")
            .await
            .unwrap(),
        None
    );
}

/// Real sockets, the SDK's real HTTP client, one attempt (a write's): a connection closed without an answer,
/// an answer that never comes and an answer that is not HTTP all reach the handlers as
/// `Transient`, which every Task of the state machines retries.
#[tokio::test]
async fn timeouts_and_dropped_connections_are_transient() {
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    async fn serve(behaviour: &'static str) -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                match behaviour {
                    "drop" => drop(socket),
                    "garbage" => {
                        let _ = socket.write_all(b"\x00\x01 not http at all\r\n\r\n").await;
                        drop(socket)
                    }
                    _ => held.push(socket), // silent: never answers
                }
            }
        });
        addr
    }

    for (behaviour, codes) in [
        ("drop", &["DispatchFailure", "ResponseError"][..]),
        ("silent", &["Timeout"][..]),
        ("garbage", &["DispatchFailure", "ResponseError"][..]),
    ] {
        let addr = serve(behaviour).await;
        let conf = aws_sdk_rds::Config::builder()
            .behavior_version_latest()
            .region(aws_config::Region::new("eu-west-1"))
            .endpoint_url(format!("http://{addr}"))
            .credentials_provider(aws_sdk_rds::config::Credentials::new(
                "AKIDTEST", "secret", None, None, "test",
            ))
            .http_client(AwsStore::https_client())
            .retry_config(aws_sdk_rds::config::retry::RetryConfig::disabled())
            .timeout_config(
                aws_sdk_rds::config::timeout::TimeoutConfig::builder()
                    .operation_attempt_timeout(Duration::from_millis(500))
                    .build(),
            )
            .build();
        // A write: one attempt, as every write makes (a read would retry the fault first).
        let req = rdsf_core::port::CopyRequest {
            source: "rds:orders-1".into(),
            target_id: "rdsf-orders-202601010300".into(),
            kms_key_id: None,
            tags: Default::default(),
        };
        let e = store(Client::from_conf(conf))
            .copy_snapshot(SnapshotKind::Instance, &req)
            .await
            .unwrap_err();
        assert_eq!(e.kind, StoreErrorKind::Transient, "{behaviour}: {e}");
        assert!(
            codes.contains(&e.code.as_str()),
            "{behaviour}: {} {e}",
            e.code
        );
        let f: rdsf_core::error::FailsafeError = e.into();
        assert_eq!(f.kind.name(), "Transient", "{behaviour}");
    }
}

/// The SDK's backoff without the wait (the retried calls are what these tests count).
#[derive(Debug)]
struct NoSleep;

impl aws_sdk_rds::config::AsyncSleep for NoSleep {
    fn sleep(&self, _: std::time::Duration) -> aws_sdk_rds::config::Sleep {
        aws_sdk_rds::config::Sleep::new(async {})
    }
}

/// RDS's request rate is per account and region, shared with every other caller: a listing of
/// many pages meets throttling on some page. The SDK retries that page (standard mode, up to
/// `READ_ATTEMPTS`) and the listing goes on from it; a write is tried once, and its throttling
/// reaches the state machine, whose Retry shows it in the execution history.
#[tokio::test]
async fn a_throttled_page_is_retried_by_the_sdk_and_a_throttled_write_is_not() {
    let page = |start: usize, end: usize, more: bool| {
        let mut out = DescribeDbSnapshotsOutput::builder()
            .set_db_snapshots(Some((start..end).map(db_snapshot).collect()));
        if more {
            out = out.marker(end.to_string());
        }
        out.build()
    };
    let pages = mock!(Client::describe_db_snapshots)
        .sequence()
        .output(move || page(0, 100, true))
        .http_response(|| xml_error(400, "Throttling"))
        .times(2)
        .http_response(|| xml_error(500, "InternalFailure"))
        .output(move || page(100, 150, false))
        .build();
    let copy = mock!(Client::copy_db_snapshot).then_http_response(|| xml_error(400, "Throttling"));
    // The client as the Lambdas' environment makes it: one attempt (AWS_MAX_ATTEMPTS=1).
    let rds = mock_client!(aws_sdk_rds, RuleMode::MatchAny, [&pages, &copy], |c| c
        .retry_config(aws_sdk_rds::config::retry::RetryConfig::standard().with_max_attempts(1))
        .sleep_impl(aws_sdk_rds::config::SharedAsyncSleep::new(NoSleep)));
    let store = store(rds);
    let q = SnapshotQuery {
        region: None,
        source_id: Some("orders".into()),
        snapshot_type: Some("automated"),
    };
    let all = store
        .list_snapshots(SnapshotKind::Instance, &q)
        .await
        .unwrap();
    assert_eq!(all.len(), 150);
    // the first page once, the second page four times: two throttles, a 500, then its answer
    assert_eq!(pages.num_calls(), 5);
    const { assert!(rdsf_core::port::aws::READ_ATTEMPTS >= 4) };

    let req = rdsf_core::port::CopyRequest {
        source: "rds:orders-1".into(),
        target_id: "rdsf-orders-202601010300".into(),
        kms_key_id: None,
        tags: Default::default(),
    };
    let e = store
        .copy_snapshot(SnapshotKind::Instance, &req)
        .await
        .unwrap_err();
    assert_eq!((e.kind, copy.num_calls()), (StoreErrorKind::Throttled, 1));
}

/// A read that stays throttled past `READ_ATTEMPTS` still reaches the handler as `Throttled`
/// (and the state machine retries the task), after exactly that many attempts.
#[tokio::test]
async fn a_read_throttled_on_every_attempt_fails_as_throttled_after_the_bounded_attempts() {
    let rule =
        mock!(Client::describe_db_snapshots).then_http_response(|| xml_error(400, "Throttling"));
    let rds = mock_client!(aws_sdk_rds, RuleMode::MatchAny, [&rule], |c| c
        .retry_config(aws_sdk_rds::config::retry::RetryConfig::standard().with_max_attempts(1))
        .sleep_impl(aws_sdk_rds::config::SharedAsyncSleep::new(NoSleep)));
    let e = store(rds)
        .describe_snapshot(SnapshotKind::Instance, "rdsf-x-202601010300")
        .await
        .unwrap_err();
    assert_eq!(e.kind, StoreErrorKind::Throttled);
    assert_eq!(
        rule.num_calls(),
        rdsf_core::port::aws::READ_ATTEMPTS as usize
    );
}

/// RDS lists an offer per class and storage type, 100 a page: the adapter reads every page, asks
/// for VPC offers of the engine version, and gives each class once, as its best offer has it.
#[tokio::test]
async fn orderable_classes_are_read_past_a_page_and_listed_once_per_class() {
    use aws_sdk_rds::operation::describe_orderable_db_instance_options::DescribeOrderableDbInstanceOptionsOutput;
    use aws_sdk_rds::types::OrderableDbInstanceOption;
    // 60 classes x 2 storage types; the gp2 offer of db.c0.large cannot be encrypted
    let option = |i: usize| {
        let class = format!("db.c{}.large", i / 2);
        OrderableDbInstanceOption::builder()
            .engine("postgres")
            .engine_version("16.4")
            .db_instance_class(class)
            .vpc(true)
            .supports_storage_encryption(i != 0)
            .storage_type(if i.is_multiple_of(2) { "gp2" } else { "gp3" })
            .build()
    };
    let pages = mock!(Client::describe_orderable_db_instance_options)
        .match_requests(|req| {
            req.engine() == Some("postgres")
                && req.engine_version() == Some("16.4")
                && req.vpc() == Some(true)
                && req.max_records() == Some(100)
        })
        .then_compute_output(move |req| {
            let start: usize = req.marker().map(|m| m.parse().unwrap()).unwrap_or(0);
            let end = (start + 100).min(120);
            let mut out = DescribeOrderableDbInstanceOptionsOutput::builder()
                .set_orderable_db_instance_options(Some((start..end).map(option).collect()));
            if end < 120 {
                out = out.marker(end.to_string());
            }
            out.build()
        });
    let rds = mock_client!(aws_sdk_rds, RuleMode::MatchAny, [&pages]);
    let classes = store(rds)
        .orderable_classes("postgres", Some("16.4"))
        .await
        .unwrap();
    assert_eq!(pages.num_calls(), 2);
    assert_eq!(classes.len(), 60);
    assert_eq!(classes[0].class, "db.c0.large");
    assert!(classes.iter().all(|c| c.vpc && c.storage_encryption));
}
