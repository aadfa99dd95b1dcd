//! Legal holds: a copy that must outlive retention (an investigation, an audit, a dispute) carries
//! the tag `rds-failsafe:hold`, whose value says since when and why. `prune` keeps a held copy
//! whatever the retention says (`policy::retention`), its role cannot delete one (an IAM
//! condition), and under the guardrails nobody can, break-glass included, until break-glass
//! releases the hold (docs/security.md, "Legal holds").

use crate::model::Snapshot;
use crate::policy::tags::format_time;
use chrono::{DateTime, Utc};

pub use crate::contract::tag::HOLD;

/// RDS's limit on a tag value (Amazon RDS User Guide, "Tagging Amazon RDS resources").
pub const TAG_VALUE_MAX_CHARS: usize = 256;

/// The copy's hold, if it has one.
pub fn hold_of(s: &Snapshot) -> Option<&str> {
    s.tags.get(HOLD).map(String::as_str)
}

/// A character RDS accepts in a tag value (`[\p{L}\p{Z}\p{N}_.:/=+\-@]`, RDS API Reference, "Tag"):
/// Unicode letters and digits, separators (a space, not a tab or a line break), and `_ . : / = + - @`.
fn tag_value_char(c: char) -> bool {
    !c.is_control() && (c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
}

/// The hold tag's value: when it was placed and why, e.g. `2026-12-05T10:00:00Z case 4411`. The
/// reason must say something, in the characters RDS accepts, and fit with the time in 256.
pub fn hold_value(reason: &str, now: DateTime<Utc>) -> Result<String, String> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err("--reason is empty: say why the copy is held (a ticket, a case), e.g. --reason \"case 4411\"".into());
    }
    if let Some(bad) = reason.chars().find(|c| !tag_value_char(*c)) {
        return Err(format!(
            "--reason has {bad:?}, which an RDS tag value cannot hold: use letters, digits, spaces and _ . : / = + - @"
        ));
    }
    let value = format!("{} {reason}", format_time(now));
    let chars = value.chars().count();
    if chars > TAG_VALUE_MAX_CHARS {
        return Err(format!(
            "--reason is too long: with the time the tag value would be {chars} characters, RDS allows {TAG_VALUE_MAX_CHARS}"
        ));
    }
    Ok(value)
}

/// Which of a source's copies a hold or release is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldSelection {
    /// The newest verified copy (what `rdsf restore` would restore).
    Newest,
    /// The newest verified copy taken at or before this time (`rdsf restore --at`).
    At(DateTime<Utc>),
    /// Every copy of the source (a release: every held one).
    All,
}

/// The copies of one source (`copies`, as `status::group_by_source` groups them) that a hold
/// places a tag on: verified copies only for one copy (the one a restore would pick); `--all`
/// every available copy, verified or not. An empty choice is an error naming what is there.
pub fn copies_to_hold<'a>(
    copies: &[&'a Snapshot],
    selection: HoldSelection,
) -> Result<Vec<&'a Snapshot>, String> {
    match selection {
        HoldSelection::All => {
            let all: Vec<&Snapshot> = copies
                .iter()
                .copied()
                .filter(|s| s.is_available())
                .collect();
            if all.is_empty() {
                return Err(format!(
                    "no available copy to hold ({} copies, none available): see `rdsf status`",
                    copies.len()
                ));
            }
            Ok(all)
        }
        HoldSelection::Newest => Ok(vec![crate::policy::status::pick_copy(copies, None)?.0]),
        HoldSelection::At(at) => Ok(vec![crate::policy::status::pick_copy(copies, Some(at))?.0]),
    }
}

/// The held copies of one source a release takes the tag off: `--all` every one; otherwise the
/// newest held copy (taken at or before `--at`), verified or not: a hold may be on any copy.
pub fn copies_to_release<'a>(
    copies: &[&'a Snapshot],
    selection: HoldSelection,
) -> Result<Vec<&'a Snapshot>, String> {
    let held: Vec<(&Snapshot, Option<DateTime<Utc>>)> = copies
        .iter()
        .filter(|s| hold_of(s).is_some())
        .map(|s| (*s, crate::policy::copy::source_time(s)))
        .collect();
    if held.is_empty() {
        return Err(format!(
            "no copy of this source is held ({} copies): nothing to release",
            copies.len()
        ));
    }
    let at = match selection {
        HoldSelection::All => return Ok(held.into_iter().map(|(s, _)| s).collect()),
        HoldSelection::Newest => None,
        HoldSelection::At(at) => Some(at),
    };
    held.iter()
        .filter(|(_, t)| at.is_none_or(|at| t.is_some_and(|t| t <= at)))
        .max_by_key(|(_, t)| *t)
        .map(|(s, _)| vec![*s])
        .ok_or_else(|| {
            let ids: Vec<&str> = held.iter().map(|(s, _)| s.id.as_str()).collect();
            format!(
                "no held copy taken at or before {}; the held copies are {}: use a later --at, or --all",
                at.map(format_time).unwrap_or_default(),
                ids.join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SnapshotKind;
    use crate::policy::status::tests::copy;
    use crate::policy::tags::parse_time;

    /// A copy of `orders` taken at `taken`, its id `id`.
    fn copy_at(id: &str, taken: &str, verified: bool) -> Snapshot {
        let mut s = copy(
            "orders",
            SnapshotKind::Instance,
            taken,
            "available",
            verified,
        );
        s.id = id.into();
        s
    }

    fn at(s: &str) -> DateTime<Utc> {
        parse_time(s).unwrap()
    }

    #[test]
    fn a_hold_says_when_and_why_in_what_rds_accepts() {
        let now = at("2026-12-05T10:00:00Z");
        assert_eq!(
            hold_value("  case 4411 / legal@example.com ", now).unwrap(),
            "2026-12-05T10:00:00Z case 4411 / legal@example.com"
        );
        assert!(hold_value("", now)
            .unwrap_err()
            .contains("--reason is empty"));
        let bad = hold_value("case #4411", now).unwrap_err();
        assert!(
            bad.contains("'#'") && bad.contains("_ . : / = + - @"),
            "{bad}"
        );
        let long = hold_value(&"x".repeat(240), now).unwrap_err();
        assert!(long.contains("261 characters, RDS allows 256"), "{long}");
        // letters of any script are letters; a tab or a line break is not a separator
        assert!(hold_value("Prüfung Überweisung", now).is_ok());
        assert!(hold_value("case\t4411", now).unwrap_err().contains("'\\t'"));
    }

    #[test]
    fn a_hold_picks_what_a_restore_would_or_every_copy() {
        let (c1, c2) = (
            copy_at("a", "2026-12-01T03:00:00Z", true),
            copy_at("b", "2026-12-02T03:00:00Z", true),
        );
        let unverified = copy_at("c", "2026-12-03T03:00:00Z", false);
        let copies = vec![&c1, &c2, &unverified];
        let ids = |v: Vec<&Snapshot>| v.iter().map(|s| s.id.clone()).collect::<Vec<_>>();
        assert_eq!(
            ids(copies_to_hold(&copies, HoldSelection::Newest).unwrap()),
            ["b"]
        );
        assert_eq!(
            ids(copies_to_hold(&copies, HoldSelection::At(at("2026-12-01T12:00:00Z"))).unwrap()),
            ["a"]
        );
        assert_eq!(
            ids(copies_to_hold(&copies, HoldSelection::All).unwrap()),
            ["a", "b", "c"]
        );
        assert!(
            copies_to_hold(&copies, HoldSelection::At(at("2026-11-01T00:00:00Z")))
                .unwrap_err()
                .contains("no verified copy taken at or before")
        );
    }

    #[test]
    fn a_release_takes_only_held_copies_verified_or_not_and_says_which_are() {
        let mut c1 = copy_at("a", "2026-12-01T03:00:00Z", true);
        c1.tags
            .insert(HOLD.into(), "2026-12-05T10:00:00Z case".into());
        let mut unverified = copy_at("c", "2026-12-03T03:00:00Z", false);
        unverified
            .tags
            .insert(HOLD.into(), "2026-12-05T10:00:00Z case".into());
        let c2 = copy_at("b", "2026-12-02T03:00:00Z", true);
        let copies = vec![&c1, &c2, &unverified];
        let release = |s| copies_to_release(&copies, s);
        assert_eq!(release(HoldSelection::All).unwrap().len(), 2);
        assert_eq!(release(HoldSelection::Newest).unwrap()[0].id, "c");
        let at = |t| HoldSelection::At(super::tests::at(t));
        assert_eq!(release(at("2026-12-02T12:00:00Z")).unwrap()[0].id, "a");
        let e = release(at("2026-11-30T00:00:00Z")).unwrap_err();
        assert!(
            e.contains(
                "no held copy taken at or before 2026-11-30T00:00:00Z; the held copies are a, c"
            ),
            "{e}"
        );
        assert!(copies_to_release(&[&c2], HoldSelection::All)
            .unwrap_err()
            .contains("no copy of this source is held"));
    }
}
