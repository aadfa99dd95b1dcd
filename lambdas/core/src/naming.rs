//! Deterministic snapshot identifiers (DESIGN §3): a re-run computes the same name and so finds
//! what an earlier run made instead of making a second copy.

use crate::error::{FailsafeError, Result};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

pub const PREFIX: &str = "rdsf-";
/// RDS limit for snapshot identifiers.
pub const MAX_ID_LEN: usize = 255;
const STAMP_LEN: usize = 12;

/// `yyyymmddhhmm` in UTC.
pub fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%d%H%M").to_string()
}

pub fn parse_stamp(s: &str) -> Option<DateTime<Utc>> {
    if s.len() != STAMP_LEN || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDateTime::parse_from_str(s, "%Y%m%d%H%M")
        .ok()
        .map(|n| Utc.from_utc_datetime(&n))
}

/// Makes `raw` usable inside an RDS identifier: lower case, only letters, digits and single
/// hyphens, no hyphen at either end, at most `max` characters.
pub fn sanitize_part(raw: &str, max: usize) -> String {
    let mut out = String::with_capacity(raw.len().min(max));
    for c in raw.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    out.truncate(max);
    while out.ends_with('-') {
        out.pop();
    }
    out
}

fn build(middle_parts: &[&str], created: DateTime<Utc>) -> Result<String> {
    let fixed: usize = PREFIX.len()
        + middle_parts
            .iter()
            .take(middle_parts.len() - 1)
            .map(|p| p.len() + 1)
            .sum::<usize>()
        + 1
        + STAMP_LEN;
    let last = middle_parts[middle_parts.len() - 1];
    let part = sanitize_part(last, MAX_ID_LEN - fixed);
    if part.is_empty() {
        return Err(FailsafeError::input(format!(
            "source identifier {last:?} has no letter or digit to build a snapshot name from"
        )));
    }
    let mut id = String::from(PREFIX);
    for p in &middle_parts[..middle_parts.len() - 1] {
        id.push_str(p);
        id.push('-');
    }
    id.push_str(&part);
    id.push('-');
    id.push_str(&stamp(created));
    Ok(id)
}

/// Live share copy: `rdsf-<source-id>-<yyyymmddhhmm of the automated snapshot>`.
pub fn share_copy_id(source_id: &str, created: DateTime<Utc>) -> Result<String> {
    build(&[source_id], created)
}

/// Failsafe copy: `rdsf-<source-account>-<source-id>-<yyyymmddhhmm>`.
pub fn failsafe_copy_id(
    source_account: &str,
    source_id: &str,
    created: DateTime<Utc>,
) -> Result<String> {
    if !crate::arn::is_account_id(source_account) {
        return Err(FailsafeError::input(format!(
            "source account {source_account:?} is not a 12-digit AWS account id"
        )));
    }
    build(&[source_account, source_id], created)
}

/// Recognises a share copy made by the Live side: `rdsf-<name>-<12 digits>` where `<name>` is a
/// valid identifier part. Returns the name part and the stamp's time.
pub fn parse_share_copy_id(id: &str) -> Option<(String, DateTime<Utc>)> {
    let rest = id.strip_prefix(PREFIX)?;
    if rest.len() < STAMP_LEN + 2 {
        return None;
    }
    let (name, tail) = rest.split_at(rest.len() - STAMP_LEN - 1);
    let stamp_str = tail.strip_prefix('-')?;
    let created = parse_stamp(stamp_str)?;
    if name.is_empty() || sanitize_part(name, MAX_ID_LEN) != name {
        return None;
    }
    Some((name.to_string(), created))
}

/// RDS identifier rules: 1–255 characters, a letter first, letters/digits/hyphens, no `--`,
/// no trailing hyphen.
pub fn is_valid_snapshot_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id.as_bytes()[0].is_ascii_alphabetic()
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !id.contains("--")
        && !id.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn share_copy_ids() {
        let created = t("2026-11-23T03:07:59Z");
        let cases: &[(&str, &str)] = &[
            ("orders-db", "rdsf-orders-db-202611230307"),
            ("Orders_DB", "rdsf-orders-db-202611230307"),
            ("1st-db", "rdsf-1st-db-202611230307"),
            ("a--b", "rdsf-a-b-202611230307"),
            ("db-", "rdsf-db-202611230307"),
            ("-db", "rdsf-db-202611230307"),
            ("db..prod", "rdsf-db-prod-202611230307"),
        ];
        for (source, want) in cases {
            let got = share_copy_id(source, created).unwrap();
            assert_eq!(&got, want, "{source}");
            assert!(is_valid_snapshot_id(&got), "{got}");
        }
    }

    #[test]
    fn failsafe_copy_ids() {
        let created = t("2026-01-02T00:00:00Z");
        assert_eq!(
            failsafe_copy_id("111111111111", "orders-db", created).unwrap(),
            "rdsf-111111111111-orders-db-202601020000"
        );
        assert!(failsafe_copy_id("1111", "orders-db", created).is_err());
    }

    #[test]
    fn long_names_are_truncated_to_the_rds_limit_without_a_trailing_hyphen() {
        let created = t("2026-01-02T00:00:00Z");
        // 300 characters whose cut point lands on a hyphen
        let long: String = "ab-".repeat(100);
        for id in [
            share_copy_id(&long, created).unwrap(),
            failsafe_copy_id("111111111111", &long, created).unwrap(),
        ] {
            assert!(id.len() <= MAX_ID_LEN, "{}", id.len());
            assert!(is_valid_snapshot_id(&id), "{id}");
            assert!(id.ends_with("-202601020000"));
        }
    }

    #[test]
    fn an_id_with_nothing_usable_is_an_input_error() {
        let e = share_copy_id("---", t("2026-01-02T00:00:00Z")).unwrap_err();
        assert_eq!(e.kind, crate::error::ErrorKind::InvalidInput);
    }

    #[test]
    fn parses_share_copy_ids_back() {
        let (name, created) = parse_share_copy_id("rdsf-orders-db-202611230307").unwrap();
        assert_eq!(name, "orders-db");
        assert_eq!(created, t("2026-11-23T03:07:00Z"));
        for not_ours in [
            "orders-db-202611230307",
            "rdsf-202611230307",
            "rdsf--202611230307",
            "rdsf-orders-db-2026112303",
            "rdsf-orders-db-202613230307",
            "rdsf-Orders-202611230307",
            "rds:orders-db-2026-11-23-03-07",
        ] {
            assert!(parse_share_copy_id(not_ours).is_none(), "{not_ours}");
        }
    }

    #[test]
    fn identifier_rules() {
        for bad in ["", "1abc", "a--b", "a-", "a_b", &"a".repeat(256)] {
            assert!(!is_valid_snapshot_id(bad), "{bad}");
        }
        assert!(is_valid_snapshot_id(&"a".repeat(255)));
    }
}
