//! The versioned Live → Failsafe SNS message (docs/contracts.md). The Failsafe side treats it only as a
//! wake-up hint: it is validated, and at most it starts an execution that looks for itself.

use crate::arn::{is_account_id, is_region, Arn};
use crate::model::SnapshotKind;
use crate::policy::naming::parse_share_copy_id;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const VERSION: u32 = 1;
/// A message names at most this many snapshots; a run that shared more sends several messages.
pub const MAX_SNAPSHOTS: usize = 500;
/// A message body is at most this many bytes. SNS refuses a message over 262,144 bytes (a topic's
/// default `MaximumMessageSize`, `InvalidParameter: Message too long`), and its delivery to
/// `start-failsafe` wraps the body in the SNS event's JSON, which escapes every quote: 192 KiB
/// leaves room. (500 snapshots of 63-character ids come to about 130 KB, so the count splits first.)
pub const MAX_MESSAGE_BYTES: usize = 192 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageSnapshot {
    pub arn: String,
    pub kind: SnapshotKind,
    pub source_id: String,
    pub source_create_time: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailsafeMessage {
    pub version: u32,
    pub source_account: String,
    pub source_region: String,
    pub snapshots: Vec<MessageSnapshot>,
}

impl FailsafeMessage {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("message serializes")
    }

    /// The same announcement as messages of at most [`MAX_SNAPSHOTS`] snapshots and
    /// [`MAX_MESSAGE_BYTES`] bytes each, in order: 1,000 sources with long identifiers do not fit
    /// one SNS message. Each part is a complete message of this version (the Failsafe side needs
    /// no change): each starts its own Failsafe execution, and `save` is safe when two executions
    /// save the same snapshot.
    pub fn split(self) -> Vec<FailsafeMessage> {
        let header = FailsafeMessage {
            snapshots: vec![],
            ..self.clone()
        };
        let empty = header.to_json().len();
        let mut parts = vec![];
        let mut part = header.clone();
        let mut bytes = empty;
        for s in self.snapshots {
            let size = serde_json::to_string(&s)
                .expect("snapshot serializes")
                .len()
                + 1;
            if !part.snapshots.is_empty()
                && (part.snapshots.len() == MAX_SNAPSHOTS || bytes + size > MAX_MESSAGE_BYTES)
            {
                parts.push(std::mem::replace(&mut part, header.clone()));
                bytes = empty;
            }
            part.snapshots.push(s);
            bytes += size;
        }
        if !part.snapshots.is_empty() {
            parts.push(part);
        }
        parts
    }

    /// Parses and validates a message body. `Err` carries the reason it was rejected.
    pub fn parse(body: &str, allowed_accounts: &[String]) -> Result<FailsafeMessage, String> {
        let value: serde_json::Value =
            serde_json::from_str(body).map_err(|e| format!("message is not JSON: {e}"))?;
        match value.get("version") {
            Some(v) if v.as_u64() == Some(u64::from(VERSION)) => {}
            Some(v) => {
                return Err(format!(
                    "unsupported message version {v}; this Failsafe side reads version {VERSION}"
                ))
            }
            None => return Err("message has no `version` field".into()),
        }
        let msg: FailsafeMessage = serde_json::from_value(value)
            .map_err(|e| format!("message does not match schema version {VERSION}: {e}"))?;
        msg.validate(allowed_accounts)?;
        Ok(msg)
    }

    pub fn validate(&self, allowed_accounts: &[String]) -> Result<(), String> {
        if !is_account_id(&self.source_account) {
            return Err(format!(
                "sourceAccount {:?} is not a 12-digit account id",
                self.source_account
            ));
        }
        if !allowed_accounts.contains(&self.source_account) {
            return Err(format!(
                "sourceAccount {} is not an allowed Live account",
                self.source_account
            ));
        }
        if !is_region(&self.source_region) {
            return Err(format!(
                "sourceRegion {:?} is not a region name",
                self.source_region
            ));
        }
        if self.snapshots.is_empty() || self.snapshots.len() > MAX_SNAPSHOTS {
            return Err(format!(
                "snapshots must list 1 to {MAX_SNAPSHOTS} snapshots, got {}",
                self.snapshots.len()
            ));
        }
        for (i, s) in self.snapshots.iter().enumerate() {
            let arn = Arn::parse(&s.arn)
                .ok_or_else(|| format!("snapshots[{i}].arn {:?} is not an ARN", s.arn))?;
            if arn.account != self.source_account || arn.region != self.source_region {
                return Err(format!(
                    "snapshots[{i}].arn is in account {} region {}, but the message says account {} region {}",
                    arn.account, arn.region, self.source_account, self.source_region
                ));
            }
            let prefix = match s.kind {
                SnapshotKind::Instance => "snapshot:",
                SnapshotKind::Cluster => "cluster-snapshot:",
            };
            if arn.service != "rds" || !arn.resource.starts_with(prefix) {
                return Err(format!(
                    "snapshots[{i}].arn is not an RDS {} snapshot ARN",
                    s.kind
                ));
            }
            let id = arn.rds_snapshot_id().unwrap_or_default();
            if parse_share_copy_id(id).is_none() {
                return Err(format!(
                    "snapshots[{i}].arn names {id:?}, which is not an rds-failsafe share copy"
                ));
            }
        }
        Ok(())
    }

    /// Step Functions execution name derived from the message's content: a duplicate delivery
    /// yields the same name and so cannot start a second execution. At most 80 characters of
    /// `[A-Za-z0-9-]`.
    pub fn execution_name(&self) -> String {
        let mut arns: Vec<&str> = self.snapshots.iter().map(|s| s.arn.as_str()).collect();
        arns.sort_unstable();
        let mut h = Sha256::new();
        h.update(self.source_account.as_bytes());
        h.update(b"\n");
        h.update(self.source_region.as_bytes());
        for a in arns {
            h.update(b"\n");
            h.update(a.as_bytes());
        }
        let digest = h.finalize();
        let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
        format!("sns-{}-{}", self.source_account, hex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg() -> FailsafeMessage {
        FailsafeMessage {
            version: 1,
            source_account: "111111111111".into(),
            source_region: "eu-west-1".into(),
            snapshots: vec![MessageSnapshot {
                arn: "arn:aws:rds:eu-west-1:111111111111:snapshot:rdsf-orders-202601010300".into(),
                kind: SnapshotKind::Instance,
                source_id: "orders".into(),
                source_create_time: crate::policy::tags::parse_time("2026-01-01T03:00:00Z")
                    .unwrap(),
            }],
        }
    }
    fn allowed() -> Vec<String> {
        vec!["111111111111".to_string()]
    }

    fn snapshot(i: usize, id_len: usize) -> MessageSnapshot {
        let id = format!("db-{i:04}-")
            .chars()
            .chain(std::iter::repeat('x'))
            .take(id_len)
            .collect::<String>();
        MessageSnapshot {
            arn: format!("arn:aws:rds:eu-west-1:111111111111:snapshot:rdsf-{id}-202601010300"),
            source_id: id,
            ..msg().snapshots[0].clone()
        }
    }

    #[test]
    fn a_large_announcement_is_split_into_valid_messages_under_the_limits() {
        // 1,000 snapshots of 63-character ids: about 260 KB in one body, over SNS's 262,144
        let mut all = msg();
        all.snapshots = (0..1000).map(|i| snapshot(i, 63)).collect();
        assert!(all.to_json().len() > 256 * 1024);
        let parts = all.clone().split();
        assert_eq!(parts.len(), 2);
        for p in &parts {
            assert!(
                p.to_json().len() <= MAX_MESSAGE_BYTES,
                "{}",
                p.to_json().len()
            );
            assert!(p.validate(&allowed()).is_ok());
        }
        // nothing lost, nothing repeated, order kept; distinct execution names
        let joined: Vec<_> = parts.iter().flat_map(|p| p.snapshots.clone()).collect();
        assert_eq!(joined, all.snapshots);
        assert_ne!(parts[0].execution_name(), parts[1].execution_name());
        // short ids: the count limit splits first
        let mut many = msg();
        many.snapshots = (0..1001).map(|i| snapshot(i, 10)).collect();
        let sizes: Vec<usize> = many.split().iter().map(|p| p.snapshots.len()).collect();
        assert_eq!(sizes, vec![MAX_SNAPSHOTS, MAX_SNAPSHOTS, 1]);
        // one small announcement stays one message
        assert_eq!(msg().split(), vec![msg()]);
    }

    #[test]
    fn round_trips_and_has_the_documented_shape() {
        let m = msg();
        let v: serde_json::Value = serde_json::from_str(&m.to_json()).unwrap();
        assert_eq!(v["version"], 1);
        assert_eq!(v["sourceAccount"], "111111111111");
        assert_eq!(
            v["snapshots"][0]["sourceCreateTime"],
            "2026-01-01T03:00:00Z"
        );
        assert_eq!(v["snapshots"][0]["kind"], "instance");
        assert_eq!(FailsafeMessage::parse(&m.to_json(), &allowed()).unwrap(), m);
    }

    #[test]
    fn rejections_say_why() {
        let forged = {
            let mut m = msg();
            m.source_account = "999999999999".into();
            m.snapshots[0].arn = m.snapshots[0].arn.replace("111111111111", "999999999999");
            m.to_json()
        };
        let mismatched = {
            let mut m = msg();
            m.snapshots[0].arn = m.snapshots[0].arn.replace("111111111111", "333333333333");
            m.to_json()
        };
        let wrong_region = msg().to_json().replace("\"eu-west-1\"", "\"us-east-1\"");
        let wrong_kind = msg().to_json().replace("\"instance\"", "\"cluster\"");
        let foreign_name = msg()
            .to_json()
            .replace("rdsf-orders-202601010300", "prod-dump");
        let cases: Vec<(String, &str)> = vec![
            ("not json".into(), "not JSON"),
            ("{}".into(), "no `version`"),
            (
                msg().to_json().replace("\"version\":1", "\"version\":2"),
                "unsupported message version 2",
            ),
            (
                r#"{"version":1,"sourceAccount":"111111111111"}"#.into(),
                "does not match schema",
            ),
            (forged, "not an allowed Live account"),
            (mismatched, "in account 333333333333"),
            (wrong_region, "region eu-west-1"),
            (wrong_kind, "not an RDS cluster snapshot ARN"),
            (foreign_name, "not an rds-failsafe share copy"),
            (
                msg()
                    .to_json()
                    .replace(r#""snapshots":[{"#, r#""snapshots":[],"x":[{"#),
                "1 to 500",
            ),
        ];
        for (body, why) in cases {
            let e = FailsafeMessage::parse(&body, &allowed()).unwrap_err();
            assert!(e.contains(why), "{body}: {e}");
        }
    }

    #[test]
    fn execution_name_is_stable_and_valid() {
        let a = msg();
        let mut b = msg();
        b.snapshots[0].source_id = "other".into(); // only ARNs, account and region count
        assert_eq!(a.execution_name(), b.execution_name());
        let mut c = msg();
        c.snapshots[0].arn = c.snapshots[0].arn.replace("0300", "0400");
        assert_ne!(a.execution_name(), c.execution_name());
        let n = a.execution_name();
        assert!(
            n.len() <= 80 && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
            "{n}"
        );
    }
}
