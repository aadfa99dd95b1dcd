//! The provenance tags of docs/contracts.md, written explicitly on every snapshot the tool creates.
//! `rds-failsafe:managed=true` is what the one deletion rule (and the IAM condition) keys on.

use crate::model::{SnapshotKind, Tags};
use chrono::{DateTime, SecondsFormat, Utc};

// The keys (contract/contract.json): `VERIFIED` is written by `verify` on a Failsafe copy that
// passed every check (value: the time it passed); `DRILL` is on every database a restore drill
// creates (value `true`: the drill's roles may delete only what carries it, an IAM
// `aws:ResourceTag` condition, and the drill checks it too); `RESTORE_TESTED` is written by a
// drill on a copy it restored (value: the time the restore was available).
pub use crate::contract::tag::{
    DRILL, KIND, MANAGED, RESTORE_TESTED, SOURCE_ACCOUNT, SOURCE_CREATE_TIME, SOURCE_ID,
    SOURCE_REGION, SOURCE_SNAPSHOT_ARN, VERIFIED,
};

/// Where a copy's data came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    pub source_account: String,
    pub source_region: String,
    pub source_id: String,
    pub source_snapshot_arn: String,
    pub source_create_time: DateTime<Utc>,
    pub kind: SnapshotKind,
}

pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl Provenance {
    pub fn tags(&self) -> Tags {
        [
            (MANAGED, "true".to_string()),
            (SOURCE_ACCOUNT, self.source_account.clone()),
            (SOURCE_REGION, self.source_region.clone()),
            (SOURCE_ID, self.source_id.clone()),
            (SOURCE_SNAPSHOT_ARN, self.source_snapshot_arn.clone()),
            (SOURCE_CREATE_TIME, format_time(self.source_create_time)),
            (KIND, self.kind.as_str().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Reads provenance back from a snapshot's tags; `None` if any tag is missing or malformed.
    pub fn from_tags(tags: &Tags) -> Option<Provenance> {
        Some(Provenance {
            source_account: tags.get(SOURCE_ACCOUNT)?.clone(),
            source_region: tags.get(SOURCE_REGION)?.clone(),
            source_id: tags.get(SOURCE_ID)?.clone(),
            source_snapshot_arn: tags.get(SOURCE_SNAPSHOT_ARN)?.clone(),
            source_create_time: parse_time(tags.get(SOURCE_CREATE_TIME)?)?,
            kind: SnapshotKind::parse(tags.get(KIND)?)?,
        })
    }
}

/// A database a restore drill made: the only kind the drill deletes or reuses.
pub fn is_drill(tags: &Tags) -> bool {
    tags.get(DRILL).map(String::as_str) == Some("true")
}

/// The one deletion rule: only snapshots carrying `rds-failsafe:managed=true`.
pub fn is_managed(tags: &Tags) -> bool {
    tags.get(MANAGED).map(String::as_str) == Some("true")
}

/// Names of expected tags that are missing or carry another value.
pub fn tag_mismatches(actual: &Tags, expected: &Tags) -> Vec<String> {
    expected
        .iter()
        .filter_map(|(k, v)| match actual.get(k) {
            None => Some(format!("{k} missing")),
            Some(a) if a != v => Some(format!("{k} is {a:?}, expected {v:?}")),
            Some(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provenance_round_trips_through_tags() {
        let p = Provenance {
            source_account: "111111111111".into(),
            source_region: "eu-west-1".into(),
            source_id: "orders".into(),
            source_snapshot_arn:
                "arn:aws:rds:eu-west-1:111111111111:snapshot:rds:orders-2026-01-01-03-00".into(),
            source_create_time: parse_time("2026-01-01T03:00:00Z").unwrap(),
            kind: SnapshotKind::Instance,
        };
        let tags = p.tags();
        assert_eq!(tags.len(), 7);
        assert!(is_managed(&tags));
        assert_eq!(Provenance::from_tags(&tags), Some(p));
    }

    #[test]
    fn a_copy_is_created_with_exactly_the_contracts_provenance_tags() {
        // the IAM condition on copy-latest and save allows these keys and no other
        let p = Provenance {
            source_account: "111111111111".into(),
            source_region: "eu-west-1".into(),
            source_id: "orders".into(),
            source_snapshot_arn: "arn".into(),
            source_create_time: parse_time("2026-01-01T03:00:00Z").unwrap(),
            kind: SnapshotKind::Cluster,
        };
        let mut keys: Vec<String> = p.tags().into_keys().collect();
        let mut contract: Vec<&str> = crate::contract::PROVENANCE_TAGS.to_vec();
        keys.sort();
        contract.sort();
        assert_eq!(keys, contract);
    }

    #[test]
    fn managed_means_exactly_true() {
        let mut tags = Tags::new();
        assert!(!is_managed(&tags));
        tags.insert(MANAGED.into(), "TRUE".into());
        assert!(!is_managed(&tags));
        tags.insert(MANAGED.into(), "true".into());
        assert!(is_managed(&tags));
    }

    #[test]
    fn mismatches_name_the_tag() {
        let expected: Tags = [
            ("a".to_string(), "1".to_string()),
            ("b".to_string(), "2".to_string()),
        ]
        .into();
        let actual: Tags = [("a".to_string(), "9".to_string())].into();
        let m = tag_mismatches(&actual, &expected);
        assert_eq!(
            m,
            vec![
                "a is \"9\", expected \"1\"".to_string(),
                "b missing".to_string()
            ]
        );
    }
}
