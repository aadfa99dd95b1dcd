//! ARN parsing and the account / region checks built on it.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn {
    pub partition: String,
    pub service: String,
    pub region: String,
    pub account: String,
    pub resource: String,
}

impl Arn {
    /// Parses `arn:partition:service:region:account:resource`; `None` if it is not of that shape.
    pub fn parse(s: &str) -> Option<Arn> {
        let mut parts = s.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        let partition = parts.next()?;
        let service = parts.next()?;
        let region = parts.next()?;
        let account = parts.next()?;
        let resource = parts.next()?;
        if partition.is_empty() || service.is_empty() || resource.is_empty() {
            return None;
        }
        Some(Arn {
            partition: partition.into(),
            service: service.into(),
            region: region.into(),
            account: account.into(),
            resource: resource.into(),
        })
    }

    /// For RDS snapshot ARNs (`snapshot:<id>` / `cluster-snapshot:<id>`), the identifier.
    pub fn rds_snapshot_id(&self) -> Option<&str> {
        if self.service != "rds" {
            return None;
        }
        self.resource
            .strip_prefix("snapshot:")
            .or_else(|| self.resource.strip_prefix("cluster-snapshot:"))
            .filter(|id| !id.is_empty())
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

/// The ARN of an RDS snapshot given its kind, partition, region, account and identifier.
pub fn rds_snapshot_arn(
    kind: crate::model::SnapshotKind,
    partition: &str,
    region: &str,
    account: &str,
    id: &str,
) -> String {
    rds_arn(
        ["snapshot", "cluster-snapshot"],
        kind,
        partition,
        region,
        account,
        id,
    )
}

/// The ARN of an RDS DB instance (`db:`) or DB cluster (`cluster:`).
pub fn rds_db_arn(
    kind: crate::model::SnapshotKind,
    partition: &str,
    region: &str,
    account: &str,
    id: &str,
) -> String {
    rds_arn(["db", "cluster"], kind, partition, region, account, id)
}

/// `arn:<partition>:rds:<region>:<account>:<resource type>:<id>`, the resource type by kind
/// (instance, cluster).
fn rds_arn(
    [instance, cluster]: [&str; 2],
    kind: crate::model::SnapshotKind,
    partition: &str,
    region: &str,
    account: &str,
    id: &str,
) -> String {
    let resource = match kind {
        crate::model::SnapshotKind::Instance => instance,
        crate::model::SnapshotKind::Cluster => cluster,
    };
    format!("arn:{partition}:rds:{region}:{account}:{resource}:{id}")
}

/// Twelve ASCII digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A region name such as `eu-west-1` or `us-gov-west-1`.
pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| !p.is_empty())
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rds_snapshot_arns() {
        let a =
            Arn::parse("arn:aws:rds:eu-west-1:111111111111:snapshot:rdsf-db-202601010300").unwrap();
        assert_eq!(a.account, "111111111111");
        assert_eq!(a.region, "eu-west-1");
        assert_eq!(a.rds_snapshot_id(), Some("rdsf-db-202601010300"));
        let c = Arn::parse("arn:aws:rds:eu-west-1:111111111111:cluster-snapshot:x").unwrap();
        assert_eq!(c.rds_snapshot_id(), Some("x"));
        assert_eq!(
            c.to_string(),
            "arn:aws:rds:eu-west-1:111111111111:cluster-snapshot:x"
        );
    }

    #[test]
    fn rejects_malformed_arns() {
        for bad in [
            "",
            "arn:aws",
            "notarn:aws:rds:r:a:x",
            "arn:aws:rds:r:a:",
            "arn::rds:r:a:x",
        ] {
            assert!(Arn::parse(bad).is_none(), "{bad}");
        }
        let kms = Arn::parse("arn:aws:kms:eu-west-1:111111111111:key/abc").unwrap();
        assert_eq!(kms.rds_snapshot_id(), None);
    }

    #[test]
    fn account_and_region_shapes() {
        assert!(is_account_id("123456789012"));
        for bad in ["12345678901", "1234567890123", "12345678901a", ""] {
            assert!(!is_account_id(bad), "{bad}");
        }
        for good in ["eu-west-1", "us-gov-west-1", "ap-southeast-3"] {
            assert!(is_region(good), "{good}");
        }
        for bad in ["", "eu-west", "EU-west-1", "eu--1", "eu-west-x"] {
            assert!(!is_region(bad), "{bad}");
        }
    }
}
