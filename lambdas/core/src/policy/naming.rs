//! Deterministic snapshot identifiers (docs/contracts.md): a re-run computes the same name and so finds
//! what an earlier run made instead of making a second copy.

use crate::error::{FailsafeError, Result};
use crate::model::SnapshotKind;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use sha2::{Digest, Sha256};

/// Every copy this tool makes is named with it (contract/contract.json `names.copyPrefix`).
pub use crate::contract::name::COPY_PREFIX as PREFIX;
/// RDS limit for DB snapshot identifiers (CopyDBSnapshot `TargetDBSnapshotIdentifier`).
pub const MAX_INSTANCE_SNAPSHOT_ID_LEN: usize = 255;
/// RDS limit for DB *cluster* snapshot identifiers (CopyDBClusterSnapshot
/// `TargetDBClusterSnapshotIdentifier`, CreateDBClusterSnapshot).
pub const MAX_CLUSTER_SNAPSHOT_ID_LEN: usize = 63;
const STAMP_LEN: usize = 12;
/// Hex digits of the hash a cut source id ends with: 32 bits keep two long ids that share
/// their first characters apart.
const HASH_LEN: usize = 8;

/// The identifier length limit of a snapshot of this kind.
pub const fn max_id_len(kind: SnapshotKind) -> usize {
    match kind {
        SnapshotKind::Instance => MAX_INSTANCE_SNAPSHOT_ID_LEN,
        SnapshotKind::Cluster => MAX_CLUSTER_SNAPSHOT_ID_LEN,
    }
}

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

/// The first [`HASH_LEN`] hex digits of the SHA-256 of `raw`.
fn short_hash(raw: &str) -> String {
    let digest = Sha256::digest(raw.as_bytes());
    digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()[..HASH_LEN]
        .to_string()
}

/// The source id as it appears in a name: sanitized, and if longer than `room`, cut and ended
/// with a short hash of the full id, so the name stays deterministic, unique and within the
/// limit (the full id is kept in the `rds-failsafe:source-id` tag).
fn fit_source_id(raw: &str, room: usize) -> Result<String> {
    let full = sanitize_part(raw, usize::MAX);
    if full.is_empty() {
        return Err(FailsafeError::input(format!(
            "source identifier {raw:?} has no letter or digit to build a snapshot name from"
        )));
    }
    if full.len() <= room {
        return Ok(full);
    }
    let cut = sanitize_part(&full, room - HASH_LEN - 1);
    Ok(format!("{cut}-{}", short_hash(raw)))
}

fn build(
    kind: SnapshotKind,
    account: Option<&str>,
    source_id: &str,
    created: DateTime<Utc>,
) -> Result<String> {
    let head = match account {
        Some(a) => format!("{PREFIX}{a}-"),
        None => PREFIX.to_string(),
    };
    let room = max_id_len(kind) - head.len() - 1 - STAMP_LEN;
    let part = fit_source_id(source_id, room)?;
    let id = format!("{head}{part}-{}", stamp(created));
    debug_assert!(is_valid_snapshot_id(kind, &id), "{id}");
    Ok(id)
}

/// Live share copy: `rdsf-<source-id>-<yyyymmddhhmm of the automated snapshot>`, within the
/// identifier limit of `kind` (a cluster snapshot id has at most 63 characters).
pub fn share_copy_id(
    kind: SnapshotKind,
    source_id: &str,
    created: DateTime<Utc>,
) -> Result<String> {
    build(kind, None, source_id, created)
}

/// Failsafe copy: `rdsf-<source-account>-<source-id>-<yyyymmddhhmm>`, within the identifier
/// limit of `kind`.
pub fn failsafe_copy_id(
    kind: SnapshotKind,
    source_account: &str,
    source_id: &str,
    created: DateTime<Utc>,
) -> Result<String> {
    if !crate::arn::is_account_id(source_account) {
        return Err(FailsafeError::input(format!(
            "source account {source_account:?} is not a 12-digit AWS account id"
        )));
    }
    build(kind, Some(source_account), source_id, created)
}

/// RDS limit for DB instance and DB cluster identifiers.
pub const MAX_DB_ID_LEN: usize = 63;
const RESTORED: &str = "-restored-";

/// The default name of a database `rdsf restore` makes: `<source-id>-restored-<yyyymmddhhmm of
/// the copy's data>`, the source id cut with a hash if the whole would pass 63 characters.
pub fn restored_db_id(source_id: &str, data_time: DateTime<Utc>) -> Result<String> {
    let room = MAX_DB_ID_LEN - RESTORED.len() - STAMP_LEN;
    let mut part = fit_source_id(source_id, room)?;
    if !part.as_bytes()[0].is_ascii_alphabetic() {
        // a DB identifier starts with a letter; a snapshot's source id always does, but a
        // hand-made tag need not
        part = format!("db-{part}");
        part = fit_source_id(&part, room)?;
    }
    let id = format!("{part}{RESTORED}{}", stamp(data_time));
    debug_assert!(is_valid_db_id(&id), "{id}");
    Ok(id)
}

/// Every identifier a restore drill gives a database starts with this; with the drill tag it
/// tells anyone looking at the account what may be deleted.
pub use crate::contract::name::DRILL_PREFIX;

/// `rdsf-drill-<source-id>-<yyyymmddhhmm of the run>`: deterministic within a run, so a retried
/// restore finds what the first attempt made.
pub fn drill_db_id(source_id: &str, run: DateTime<Utc>) -> Result<String> {
    let room = MAX_DB_ID_LEN - DRILL_PREFIX.len() - 1 - STAMP_LEN;
    let id = format!(
        "{DRILL_PREFIX}{}-{}",
        fit_source_id(source_id, room)?,
        stamp(run)
    );
    debug_assert!(is_valid_db_id(&id), "{id}");
    Ok(id)
}

/// The first DB instance of a restored cluster: `<cluster-id>-1`, the cluster id cut if needed.
pub fn cluster_member_id(cluster_id: &str) -> String {
    format!("{}-1", sanitize_part(cluster_id, MAX_DB_ID_LEN - 2))
}

/// RDS identifier rules for a DB instance or cluster: 1-63 letters, digits and hyphens, a letter
/// first, no `--`, no trailing hyphen.
pub fn is_valid_db_id(id: &str) -> bool {
    is_valid_snapshot_id(SnapshotKind::Cluster, id) && id.len() <= MAX_DB_ID_LEN
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
    if name.is_empty() || sanitize_part(name, MAX_INSTANCE_SNAPSHOT_ID_LEN) != name {
        return None;
    }
    Some((name.to_string(), created))
}

/// RDS identifier rules of the kind: 1–255 characters for a DB snapshot, 1–63 for a DB cluster
/// snapshot; a letter first, letters/digits/hyphens, no `--`, no trailing hyphen.
pub fn is_valid_snapshot_id(kind: SnapshotKind, id: &str) -> bool {
    !id.is_empty()
        && id.len() <= max_id_len(kind)
        && id.as_bytes()[0].is_ascii_alphabetic()
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !id.contains("--")
        && !id.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use SnapshotKind::{Cluster, Instance};

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
        for kind in [Instance, Cluster] {
            for (source, want) in cases {
                let got = share_copy_id(kind, source, created).unwrap();
                assert_eq!(&got, want, "{source}");
                assert!(is_valid_snapshot_id(kind, &got), "{got}");
            }
        }
    }

    #[test]
    fn failsafe_copy_ids() {
        let created = t("2026-01-02T00:00:00Z");
        assert_eq!(
            failsafe_copy_id(Instance, "111111111111", "orders-db", created).unwrap(),
            "rdsf-111111111111-orders-db-202601020000"
        );
        assert!(failsafe_copy_id(Instance, "1111", "orders-db", created).is_err());
    }

    /// The longest source id that still fits whole, and one character more, for each kind and
    /// side: the first keeps its id, the second is cut and ends with a hash; both are exactly
    /// at or under the kind's limit and valid.
    #[test]
    fn names_at_the_limit_of_their_kind() {
        let created = t("2026-01-02T00:00:00Z");
        // room for the source id = limit - "rdsf-" - ["<account>-"] - "-" - stamp
        let cases: [(SnapshotKind, Option<&str>, usize); 4] = [
            (Instance, None, 255 - 5 - 1 - 12),
            (Cluster, None, 63 - 5 - 1 - 12),
            (Instance, Some("111111111111"), 255 - 5 - 13 - 1 - 12),
            (Cluster, Some("111111111111"), 63 - 5 - 13 - 1 - 12),
        ];
        for (kind, account, room) in cases {
            let make = |source: &str| match account {
                Some(a) => failsafe_copy_id(kind, a, source, created).unwrap(),
                None => share_copy_id(kind, source, created).unwrap(),
            };
            let fits = format!("c{}", "x".repeat(room - 1));
            let id = make(&fits);
            assert_eq!(id.len(), max_id_len(kind), "{kind:?} {account:?}");
            assert!(id.contains(&fits), "kept whole: {id}");
            let long = format!("c{}", "x".repeat(room));
            let id = make(&long);
            assert!(
                id.len() <= max_id_len(kind),
                "{kind:?} {account:?}: {}",
                id.len()
            );
            assert!(is_valid_snapshot_id(kind, &id), "{id}");
            assert!(!id.contains(&long), "cut: {id}");
            assert!(
                id.ends_with(&format!("-{}-202601020000", short_hash(&long))),
                "{id}"
            );
            assert_eq!(make(&long), id, "deterministic");
        }
    }

    #[test]
    fn long_cluster_ids_that_share_a_prefix_get_different_names() {
        let created = t("2026-01-02T00:00:00Z");
        // 60 characters, the case of the end-to-end test; they differ only at the end
        let a = format!("{}-a", &"payments-ledger-aurora-cluster-".repeat(2)[..58]);
        let b = format!("{}-b", &a[..58]);
        assert_eq!(a.len(), 60);
        let (na, nb) = (
            share_copy_id(Cluster, &a, created).unwrap(),
            share_copy_id(Cluster, &b, created).unwrap(),
        );
        assert_ne!(na, nb);
        assert!(na.len() <= 63 && nb.len() <= 63, "{na} {nb}");
        let (fa, fb) = (
            failsafe_copy_id(Cluster, "111111111111", &a, created).unwrap(),
            failsafe_copy_id(Cluster, "111111111111", &b, created).unwrap(),
        );
        assert_ne!(fa, fb);
        assert!(is_valid_snapshot_id(Cluster, &fa) && is_valid_snapshot_id(Cluster, &fb));
        // a 60-character id fits a DB snapshot name whole
        assert!(share_copy_id(Instance, &a, created).unwrap().contains(&a));
    }

    #[test]
    fn a_cut_that_lands_on_a_hyphen_leaves_no_double_or_trailing_hyphen() {
        let created = t("2026-01-02T00:00:00Z");
        for kind in [Instance, Cluster] {
            let long: String = "ab-".repeat(100);
            for id in [
                share_copy_id(kind, &long, created).unwrap(),
                failsafe_copy_id(kind, "111111111111", &long, created).unwrap(),
            ] {
                assert!(id.len() <= max_id_len(kind), "{}", id.len());
                assert!(is_valid_snapshot_id(kind, &id), "{id}");
                assert!(id.ends_with("-202601020000"));
            }
        }
    }

    #[test]
    fn an_id_with_nothing_usable_is_an_input_error() {
        let e = share_copy_id(Instance, "---", t("2026-01-02T00:00:00Z")).unwrap_err();
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
    fn identifier_rules_per_kind() {
        for kind in [Instance, Cluster] {
            for bad in ["", "1abc", "a--b", "a-", "a_b", "a.b"] {
                assert!(!is_valid_snapshot_id(kind, bad), "{bad}");
            }
        }
        assert!(is_valid_snapshot_id(Instance, &"a".repeat(255)));
        assert!(!is_valid_snapshot_id(Instance, &"a".repeat(256)));
        assert!(is_valid_snapshot_id(Cluster, &"a".repeat(63)));
        assert!(!is_valid_snapshot_id(Cluster, &"a".repeat(64)));
    }

    #[test]
    fn restored_database_names_fit_the_db_identifier_rules() {
        let at = t("2026-11-20T03:00:00Z");
        assert_eq!(
            restored_db_id("orders", at).unwrap(),
            "orders-restored-202611200300"
        );
        let long = "a".repeat(63);
        let id = restored_db_id(&long, at).unwrap();
        assert_eq!(id.len(), 63);
        assert!(is_valid_db_id(&id), "{id}");
        assert_ne!(
            id,
            restored_db_id(&format!("{}b", "a".repeat(62)), at).unwrap()
        );
        assert!(restored_db_id("9lives", at)
            .unwrap()
            .starts_with("db-9lives-"));
        assert_eq!(cluster_member_id(&id).len(), 63);
        assert!(is_valid_db_id(&cluster_member_id(&id)));
        assert!(
            !is_valid_db_id("1abc") && !is_valid_db_id("a--b") && !is_valid_db_id(&"a".repeat(64))
        );
    }
}
