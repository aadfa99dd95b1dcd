//! Which databases to protect: explicit identifiers, a tag `key=value`, an identifier pattern,
//! or all. Aurora member instances are never selected as instances — their data is protected
//! through the cluster's snapshots.

use crate::config::{Cadence, CopyWait};
use crate::error::{FailsafeError, Result};
use crate::model::{DbCluster, DbInstance, SnapshotKind, Source, SourceMode};
use crate::policy::glob::glob_match;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    All,
    /// A bare identifier: the DB instance or the DB cluster of that name.
    Id(String),
    Exact(SnapshotKind, String),
    Tag {
        key: String,
        value: String,
    },
    Pattern(String),
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selector::All => f.write_str("all"),
            Selector::Id(id) => f.write_str(id),
            Selector::Exact(kind, id) => write!(f, "{kind}:{id}"),
            Selector::Tag { key, value } => write!(f, "tag:{key}={value}"),
            Selector::Pattern(p) => write!(f, "pattern:{p}"),
        }
    }
}

pub const SELECTOR_HELP: &str = "use `all`, `<id>`, `instance:<id>`, `cluster:<id>`, `tag:<key>=<value>` or `pattern:<glob with * and ?>`";

impl Selector {
    pub fn parse(raw: &str) -> Result<Selector, String> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(format!("empty selector; {SELECTOR_HELP}"));
        }
        if s.eq_ignore_ascii_case("all") {
            return Ok(Selector::All);
        }
        let non_empty = |what: &str, v: &str| -> Result<String, String> {
            let v = v.trim();
            if v.is_empty() {
                Err(format!(
                    "selector {s:?} has an empty {what}; {SELECTOR_HELP}"
                ))
            } else {
                Ok(v.to_string())
            }
        };
        if let Some(rest) = s.strip_prefix("instance:") {
            return Ok(Selector::Exact(
                SnapshotKind::Instance,
                non_empty("identifier", rest)?,
            ));
        }
        if let Some(rest) = s.strip_prefix("cluster:") {
            return Ok(Selector::Exact(
                SnapshotKind::Cluster,
                non_empty("identifier", rest)?,
            ));
        }
        if let Some(rest) = s.strip_prefix("pattern:") {
            return Ok(Selector::Pattern(non_empty("pattern", rest)?));
        }
        if let Some(rest) = s.strip_prefix("tag:") {
            let (key, value) = rest
                .split_once('=')
                .ok_or_else(|| format!("selector {s:?} needs `tag:<key>=<value>`"))?;
            return Ok(Selector::Tag {
                key: non_empty("tag key", key)?,
                value: value.trim().to_string(),
            });
        }
        if s.contains(':') || s.contains('=') || s.contains(char::is_whitespace) {
            return Err(format!("selector {s:?} is not understood; {SELECTOR_HELP}"));
        }
        Ok(Selector::Id(s.to_string()))
    }

    /// A comma-separated list, as in `SOURCES=orders,tag:backup=failsafe`.
    pub fn parse_list(raw: &str) -> Result<Vec<Selector>, String> {
        raw.split(',').map(Selector::parse).collect()
    }
}

/// A selector that could not select a database, reported in the run's summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SelectionSkip {
    pub selector: String,
    pub reason: String,
    /// The selector matched a source RDS cannot copy (`not_copyable_reason`): `preflight`
    /// reports it as a problem, since such a database has no protection at all.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_copyable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selection {
    pub sources: Vec<Source>,
    pub skipped: Vec<SelectionSkip>,
}

/// Why RDS cannot copy a source's snapshots, if it cannot: a Multi-AZ DB cluster (engine `mysql`
/// or `postgres`, not Aurora) — "Limitations of Multi-AZ DB clusters" in the RDS User Guide: its
/// snapshots can be shared but not copied, and AWS Backup cannot copy them either — or an RDS
/// Custom instance (engine `custom-*`), to which CopyDBSnapshot does not apply. Selected, such a
/// source would fail every day; it is skipped with this reason instead (docs/aws-facts.md).
pub fn not_copyable_reason(kind: SnapshotKind, engine: &str) -> Option<String> {
    match kind {
        SnapshotKind::Cluster if !engine.starts_with("aurora") => Some(format!(
            "Multi-AZ DB cluster (engine {engine}): RDS cannot copy its snapshots (nor can AWS Backup); \
             protect it another way, e.g. restore it in the Failsafe account and snapshot the restored cluster"
        )),
        SnapshotKind::Instance if engine.starts_with("custom-") => Some(format!(
            "RDS Custom DB instance (engine {engine}): RDS cannot copy its snapshots (CopyDBSnapshot does not apply)"
        )),
        _ => None,
    }
}

/// Applies the selectors to what exists in the region. Sources come out sorted and unique;
/// a source RDS cannot copy (`not_copyable_reason`) is left out and reported as a skip.
pub fn select(
    instances: &[DbInstance],
    clusters: &[DbCluster],
    selectors: &[Selector],
) -> Selection {
    let mut chosen: BTreeSet<Source> = BTreeSet::new();
    let mut skipped = Vec::new();
    let standalone = || instances.iter().filter(|i| i.cluster_id.is_none());
    let inst = |id: &str| Source::new(SnapshotKind::Instance, id);
    let clus = |id: &str| Source::new(SnapshotKind::Cluster, id);
    for sel in selectors {
        let before = chosen.len();
        let mut member_of: Option<String> = None;
        match sel {
            Selector::All => {
                chosen.extend(standalone().map(|i| inst(&i.id)));
                chosen.extend(clusters.iter().map(|c| clus(&c.id)));
            }
            Selector::Id(id) | Selector::Exact(_, id) => {
                let kind = match sel {
                    Selector::Exact(k, _) => Some(*k),
                    _ => None,
                };
                if kind != Some(SnapshotKind::Cluster) {
                    if let Some(i) = instances.iter().find(|i| &i.id == id) {
                        match &i.cluster_id {
                            None => {
                                chosen.insert(inst(id));
                            }
                            Some(c) => member_of = Some(c.clone()),
                        }
                    }
                }
                if kind != Some(SnapshotKind::Instance) && clusters.iter().any(|c| &c.id == id) {
                    chosen.insert(clus(id));
                }
            }
            Selector::Tag { key, value } => {
                let has = |t: &crate::model::Tags| t.get(key) == Some(value);
                chosen.extend(standalone().filter(|i| has(&i.tags)).map(|i| inst(&i.id)));
                chosen.extend(
                    clusters
                        .iter()
                        .filter(|c| has(&c.tags))
                        .map(|c| clus(&c.id)),
                );
            }
            Selector::Pattern(p) => {
                chosen.extend(
                    standalone()
                        .filter(|i| glob_match(p, &i.id))
                        .map(|i| inst(&i.id)),
                );
                chosen.extend(
                    clusters
                        .iter()
                        .filter(|c| glob_match(p, &c.id))
                        .map(|c| clus(&c.id)),
                );
            }
        }
        if chosen.len() == before {
            let reason = match member_of {
                Some(c) => format!(
                    "DB instance is a member of Aurora cluster {c:?}; select the cluster instead"
                ),
                None => match sel {
                    Selector::All => "no DB instance or cluster in this region".to_string(),
                    Selector::Id(_) | Selector::Exact(..) => {
                        "no such DB instance or cluster in this region".to_string()
                    }
                    _ => "matched no DB instance or cluster not already selected".to_string(),
                },
            };
            skipped.push(SelectionSkip {
                selector: sel.to_string(),
                reason,
                not_copyable: false,
            });
        }
    }
    let engine_of = |s: &Source| match s.kind {
        SnapshotKind::Instance => instances
            .iter()
            .find(|i| i.id == s.id)
            .map(|i| i.engine.as_str()),
        SnapshotKind::Cluster => clusters
            .iter()
            .find(|c| c.id == s.id)
            .map(|c| c.engine.as_str()),
    };
    let mut sources = Vec::new();
    for s in chosen {
        match engine_of(&s).and_then(|e| not_copyable_reason(s.kind, e)) {
            Some(reason) => skipped.push(SelectionSkip {
                selector: format!("{}:{}", s.kind, s.id),
                reason,
                not_copyable: true,
            }),
            None => sources.push(s),
        }
    }
    Selection { sources, skipped }
}

/// The selected sources `selector` also selects, or a skip naming it (`setting`: the variable
/// it comes from) when it selects none of them: a setting for a source that is not protected
/// changes nothing.
fn selected_by(
    selection: &Selection,
    instances: &[DbInstance],
    clusters: &[DbCluster],
    selector: &Selector,
    setting: &str,
) -> std::result::Result<Vec<(SnapshotKind, String)>, SelectionSkip> {
    let protected: Vec<(SnapshotKind, String)> =
        select(instances, clusters, std::slice::from_ref(selector))
            .sources
            .into_iter()
            .filter(|m| {
                selection
                    .sources
                    .iter()
                    .any(|s| s.kind == m.kind && s.id == m.id)
            })
            .map(|m| (m.kind, m.id))
            .collect();
    if protected.is_empty() {
        return Err(SelectionSkip {
            selector: selector.to_string(),
            reason: format!(
                "{setting}: selects none of the sources being protected (SOURCES); it changes nothing"
            ),
            not_copyable: false,
        });
    }
    Ok(protected)
}

/// Marks the selected sources that `incremental` (`INCREMENTAL_SOURCES`) also selects as
/// [`SourceMode::Incremental`]. Returns the incremental selectors that matched none of the
/// selected sources, with why.
pub fn apply_modes(
    selection: &mut Selection,
    instances: &[DbInstance],
    clusters: &[DbCluster],
    incremental: &[Selector],
) -> Vec<SelectionSkip> {
    let mut unmatched = Vec::new();
    let mut marked: BTreeSet<(SnapshotKind, String)> = BTreeSet::new();
    for sel in incremental {
        match selected_by(selection, instances, clusters, sel, "INCREMENTAL_SOURCES") {
            Ok(found) => marked.extend(found),
            Err(skip) => unmatched.push(skip),
        }
    }
    for s in selection.sources.iter_mut() {
        if marked.contains(&(s.kind, s.id.clone())) {
            s.mode = SourceMode::Incremental;
        }
    }
    unmatched
}

/// For each selected source that a group's selectors select, the groups' numbers combined with
/// `keep` (the shortest cadence, the longest wait); and the selectors (of `setting`) that select
/// none of the selected sources.
fn by_groups<'a>(
    selection: &Selection,
    instances: &[DbInstance],
    clusters: &[DbCluster],
    groups: impl IntoIterator<Item = (u64, &'a [Selector])>,
    setting: &str,
    keep: fn(u64, u64) -> u64,
) -> (BTreeMap<(SnapshotKind, String), u64>, Vec<SelectionSkip>) {
    let mut unmatched = Vec::new();
    let mut values: BTreeMap<(SnapshotKind, String), u64> = BTreeMap::new();
    for (n, selectors) in groups {
        for sel in selectors {
            match selected_by(selection, instances, clusters, sel, setting) {
                Ok(found) => {
                    for key in found {
                        let v = values.entry(key).or_insert(n);
                        *v = keep(*v, n);
                    }
                }
                Err(skip) => unmatched.push(skip),
            }
        }
    }
    (values, unmatched)
}

/// Gives each selected source that a cadence (`CADENCES`) selects its shortest cadence
/// (`Source::every_hours`), and each one a `COPY_WAITS` entry selects its longest wait
/// (`Source::copy_wait_seconds`). Returns the selectors of either that matched none of the
/// selected sources, with why.
pub fn apply_cadences_and_waits(
    selection: &mut Selection,
    instances: &[DbInstance],
    clusters: &[DbCluster],
    cadences: &[Cadence],
    waits: &[CopyWait],
) -> Vec<SelectionSkip> {
    let cadence_groups = cadences
        .iter()
        .map(|c| (u64::from(c.every_hours), c.sources.as_slice()));
    let (hours, mut unmatched) = by_groups(
        selection,
        instances,
        clusters,
        cadence_groups,
        "CADENCES",
        u64::min,
    );
    let wait_groups = waits
        .iter()
        .map(|w| (w.max_wait_seconds, w.sources.as_slice()));
    let (seconds, more) = by_groups(
        selection,
        instances,
        clusters,
        wait_groups,
        "COPY_WAITS",
        u64::max,
    );
    unmatched.extend(more);
    for s in selection.sources.iter_mut() {
        let key = (s.kind, s.id.clone());
        s.every_hours = hours.get(&key).map(|h| *h as u32);
        s.copy_wait_seconds = seconds.get(&key).copied();
    }
    unmatched
}

/// Parses selectors given in a state machine input (`{"sources": [...]}`).
pub fn parse_input_selectors(raw: &[String]) -> Result<Vec<Selector>> {
    if raw.is_empty() {
        return Err(FailsafeError::input(format!(
            "input field `sources` is an empty list; omit it to use the configured SOURCES, or {SELECTOR_HELP}"
        )));
    }
    raw.iter()
        .map(|s| {
            Selector::parse(s)
                .map_err(|e| FailsafeError::input(format!("input field `sources`: {e}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Tags;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
    fn instance(id: &str, cluster: Option<&str>, t: &[(&str, &str)]) -> DbInstance {
        DbInstance {
            id: id.into(),
            arn: format!("arn:aws:rds:eu-west-1:111111111111:db:{id}"),
            cluster_id: cluster.map(String::from),
            engine: "postgres".into(),
            tags: tags(t),
            ..DbInstance::default()
        }
    }
    fn cluster(id: &str, t: &[(&str, &str)]) -> DbCluster {
        DbCluster {
            id: id.into(),
            arn: format!("arn:aws:rds:eu-west-1:111111111111:cluster:{id}"),
            engine: "aurora-postgresql".into(),
            tags: tags(t),
            ..DbCluster::default()
        }
    }
    #[test]
    fn incremental_selectors_mark_only_protected_sources_and_report_the_rest() {
        let instances = vec![
            instance("orders", None, &[("failsafe-mode", "incremental")]),
            instance("billing", None, &[]),
        ];
        let clusters = vec![cluster("ledger", &[("failsafe-mode", "incremental")])];
        let mut sel = select(
            &instances,
            &clusters,
            &[
                Selector::Id("orders".into()),
                Selector::Id("billing".into()),
            ],
        );
        let unmatched = apply_modes(
            &mut sel,
            &instances,
            &clusters,
            &[
                Selector::parse("tag:failsafe-mode=incremental").unwrap(),
                Selector::parse("cluster:nowhere").unwrap(),
            ],
        );
        let modes: Vec<(&str, SourceMode)> = sel
            .sources
            .iter()
            .map(|s| (s.id.as_str(), s.mode))
            .collect();
        // ledger matches the tag but is not protected: it is not added
        assert_eq!(
            modes,
            vec![
                ("billing", SourceMode::ShareCopy),
                ("orders", SourceMode::Incremental)
            ]
        );
        assert_eq!(unmatched.len(), 1, "{unmatched:?}");
        assert_eq!(unmatched[0].selector, "cluster:nowhere");
        assert!(unmatched[0].reason.contains("INCREMENTAL_SOURCES"));
        // no incremental selectors: nothing changes
        let mut plain = select(&instances, &clusters, &[Selector::All]);
        assert!(apply_modes(&mut plain, &instances, &clusters, &[]).is_empty());
        assert!(plain
            .sources
            .iter()
            .all(|s| s.mode == SourceMode::ShareCopy));
    }

    #[test]
    fn a_source_mode_is_on_the_wire_only_when_it_is_not_the_default() {
        let mut s = Source::new(SnapshotKind::Instance, "orders");
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"kind":"instance","id":"orders"}"#
        );
        s.mode = SourceMode::Incremental;
        let wire = serde_json::to_string(&s).unwrap();
        assert_eq!(
            wire,
            r#"{"kind":"instance","id":"orders","mode":"incremental"}"#
        );
        assert_eq!(serde_json::from_str::<Source>(&wire).unwrap(), s);
    }

    fn world() -> (Vec<DbInstance>, Vec<DbCluster>) {
        (
            vec![
                instance("orders", None, &[("backup", "failsafe")]),
                instance("billing", None, &[]),
                instance("aurora-1", Some("aurora"), &[("backup", "failsafe")]),
                instance("orders-replica", None, &[]),
            ],
            vec![cluster("aurora", &[("backup", "failsafe")])],
        )
    }
    fn ids(sel: &Selection) -> Vec<String> {
        sel.sources
            .iter()
            .map(|s| format!("{}:{}", s.kind, s.id))
            .collect()
    }

    #[test]
    fn selector_table() {
        let (i, c) = world();
        let cases: &[(&str, &[&str])] = &[
            (
                "all",
                &[
                    "instance:billing",
                    "instance:orders",
                    "instance:orders-replica",
                    "cluster:aurora",
                ],
            ),
            ("orders", &["instance:orders"]),
            ("aurora", &["cluster:aurora"]),
            ("instance:orders", &["instance:orders"]),
            ("cluster:aurora", &["cluster:aurora"]),
            (
                "tag:backup=failsafe",
                &["instance:orders", "cluster:aurora"],
            ),
            (
                "pattern:orders*",
                &["instance:orders", "instance:orders-replica"],
            ),
            ("pattern:?urora*", &["cluster:aurora"]),
            (
                "orders, billing ,orders",
                &["instance:billing", "instance:orders"],
            ),
            ("aurora-1", &[]),
            ("instance:aurora", &[]),
            ("missing", &[]),
        ];
        for (raw, want) in cases {
            let sels = Selector::parse_list(raw).unwrap();
            let got = select(&i, &c, &sels);
            assert_eq!(ids(&got), *want, "{raw}");
        }
    }

    #[test]
    fn cluster_members_and_missing_ids_are_reported_skips() {
        let (i, c) = world();
        let got = select(&i, &c, &Selector::parse_list("aurora-1,missing").unwrap());
        assert!(got.sources.is_empty());
        assert_eq!(got.skipped.len(), 2);
        assert!(got.skipped[0]
            .reason
            .contains("member of Aurora cluster \"aurora\""));
        assert!(got.skipped[1].reason.contains("no such DB instance"));
    }

    #[test]
    fn bad_selectors_say_what_is_allowed() {
        for bad in [
            "",
            "tag:backup",
            "tag:=x",
            "instance:",
            "pattern:",
            "foo:bar",
            "a b",
        ] {
            let e = Selector::parse(bad).unwrap_err();
            assert!(e.contains("selector") || e.contains("empty"), "{bad}: {e}");
        }
        assert!(Selector::parse_list("orders,,billing").is_err());
        assert_eq!(
            parse_input_selectors(&[]).unwrap_err().kind,
            crate::error::ErrorKind::InvalidInput
        );
    }

    #[test]
    fn sources_rds_cannot_copy_are_skipped_with_the_reason() {
        let (mut instances, mut clusters) = world();
        let mut multi_az = cluster("maz", &[]);
        multi_az.engine = "postgres".into();
        clusters.push(multi_az);
        let mut custom = instance("custom1", None, &[]);
        custom.engine = "custom-oracle-ee".into();
        instances.push(custom);
        let sel = select(&instances, &clusters, &[Selector::All]);
        assert!(!sel
            .sources
            .iter()
            .any(|s| s.id == "maz" || s.id == "custom1"));
        let reasons: Vec<_> = sel
            .skipped
            .iter()
            .map(|s| (s.selector.as_str(), s.reason.as_str()))
            .collect();
        assert!(
            reasons.iter().any(|(sel, r)| *sel == "cluster:maz"
                && r.starts_with("Multi-AZ DB cluster (engine postgres)")),
            "{reasons:?}"
        );
        assert!(
            reasons
                .iter()
                .any(|(sel, r)| *sel == "instance:custom1"
                    && r.starts_with("RDS Custom DB instance")),
            "{reasons:?}"
        );
        // named explicitly, the same
        let sel = select(
            &instances,
            &clusters,
            &[Selector::parse("cluster:maz").unwrap()],
        );
        assert!(sel.sources.is_empty() && sel.skipped.len() == 1);
        assert_eq!(
            not_copyable_reason(SnapshotKind::Cluster, "aurora-mysql"),
            None
        );
        assert_eq!(
            not_copyable_reason(SnapshotKind::Instance, "sqlserver-ee"),
            None
        );
    }
}
