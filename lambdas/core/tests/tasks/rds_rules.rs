//! The shared rule list (contract/rds-rules.json) on the in-memory fake: every rule answers the
//! error code RDS does. tests/e2e/test_emulator_rules.py runs the same list on the emulator, so
//! the two test doubles cannot drift apart.

use crate::common::{automated, CUSTOMER_KEY, FAILSAFE, LIVE, REGION};
use rdsf_core::model::{SnapshotKind, Tags};
use rdsf_core::port::fake::FakeStore;
use rdsf_core::port::{CopyRequest, Sharing, SnapshotWrites, StoreResult};
use serde::Deserialize;

const RULES: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../contract/rds-rules.json"
));

#[derive(Deserialize)]
struct RuleList {
    rules: Vec<Rule>,
}

#[derive(Deserialize)]
struct Rule {
    rule: String,
    kind: SnapshotKind,
    encryption: String,
    quota: Option<usize>,
    action: String,
    error: String,
}

fn copy_request(source: &str, kms_key_id: Option<&str>) -> CopyRequest {
    CopyRequest {
        source: source.into(),
        target_id: "rule-copy".into(),
        kms_key_id: kms_key_id.map(str::to_string),
        tags: Tags::new(),
    }
}

/// The rule's world: one source's automated snapshot, encrypted as the rule says; its action.
async fn apply(rule: &Rule) -> StoreResult<()> {
    let store = FakeStore::new(LIVE, REGION);
    let mut auto = automated(rule.kind, "orders", "2026-11-20T03:00:00Z");
    {
        let mut w = store.world();
        (auto.encrypted, auto.kms_key_id) = match rule.encryption.as_str() {
            "none" => (false, None),
            "aws-rds" => (true, Some(w.default_kms_key.clone())),
            "cmk" => (true, Some(CUSTOMER_KEY.to_string())),
            other => panic!(
                "{}: encryption {other} is not none, aws-rds or cmk",
                rule.rule
            ),
        };
        w.snapshots.push(auto.clone());
        w.quota = rule.quota;
    }
    let kind = rule.kind;
    let failsafe = [FAILSAFE.to_string()];
    match rule.action.as_str() {
        "delete-automated" => store.delete_snapshot(kind, &auto.id).await,
        "share-automated" => store.share_with(kind, &auto.id, &failsafe).await,
        "share-copy" => {
            store
                .copy_snapshot(kind, &copy_request(&auto.id, None))
                .await?;
            store.complete_copies();
            store.share_with(kind, "rule-copy", &failsafe).await
        }
        "copy" => store
            .copy_snapshot(kind, &copy_request(&auto.id, None))
            .await
            .map(drop),
        "copy-with-key" => store
            .copy_snapshot(kind, &copy_request(&auto.id, Some(CUSTOMER_KEY)))
            .await
            .map(drop),
        "copy-twice" => {
            store
                .copy_snapshot(kind, &copy_request(&auto.id, None))
                .await?;
            store
                .copy_snapshot(kind, &copy_request(&auto.id, None))
                .await
                .map(drop)
        }
        "delete-missing" => store.delete_snapshot(kind, "no-such-snapshot").await,
        other => panic!("{}: unknown action {other}", rule.rule),
    }
}

#[tokio::test]
async fn the_fake_keeps_every_rule_of_the_shared_list() {
    let list: RuleList = serde_json::from_str(RULES).expect("contract/rds-rules.json");
    assert!(!list.rules.is_empty());
    let mut broken = Vec::new();
    for rule in &list.rules {
        match apply(rule).await {
            Err(e) if e.code == rule.error => {}
            Err(e) => broken.push(format!(
                "{}: {} ({}), not {}",
                rule.rule, e.code, e.message, rule.error
            )),
            Ok(()) => broken.push(format!("{}: succeeded, not {}", rule.rule, rule.error)),
        }
    }
    assert!(
        broken.is_empty(),
        "the fake breaks the shared rules:\n{}",
        broken.join("\n")
    );
}
