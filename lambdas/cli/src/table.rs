//! The human-readable form of `rdsf status`: one line per source, then quotas and problems.

use rdsf_core::operator::preflight::PreflightReport;
use rdsf_core::operator::StatusReport;
use rdsf_core::policy::status::SourceStatus;

/// Columns padded to their widest cell.
fn render(head: &[&str], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..head.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([head[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(head.iter().map(|h| h.to_string()).collect());
    for r in rows {
        out += &line(r.clone());
    }
    out
}

/// `key/<id>` of a key ARN: enough to tell keys apart in a table.
fn short_key(key: &str) -> String {
    key.rsplit(':').next().unwrap_or(key).to_string()
}

fn row(s: &SourceStatus) -> Vec<String> {
    let newest = s.newest_verified.as_ref();
    vec![
        format!("{}:{}", s.source_account, s.source_id),
        s.kind.to_string(),
        newest.map_or("-".into(), |c| {
            rdsf_core::policy::tags::format_time(c.data_time)
        }),
        s.age_hours.map_or("-".into(), |a| format!("{a:.1} h")),
        format!("{:?}", s.freshness).to_lowercase(),
        format!("{}/{}", s.verified_copies, s.copies),
        s.oldest.as_ref().map_or("-".into(), |c| {
            rdsf_core::policy::tags::format_time(c.data_time)
        }),
        match (&s.key_warning, &s.kms_key_id) {
            (Some(_), _) => "WARNING".into(),
            (None, Some(k)) => short_key(k),
            (None, None) => "-".into(),
        },
        s.last_drill.clone().unwrap_or_else(|| "never".into()),
        s.stored_gib.map_or("-".into(), |g| format!("{g} GiB")),
        s.monthly_usd.map_or("-".into(), |u| format!("{u:.2}")),
        s.chain_gib.map_or("-".into(), |g| format!("{g} GiB")),
        s.chain_monthly_usd
            .map_or("-".into(), |u| format!("{u:.2}")),
    ]
}

pub fn status(r: &StatusReport) -> String {
    let mut out = format!(
        "rds-failsafe copies in {} at {} (a verified copy older than {} h is stale)\n\n",
        r.region,
        rdsf_core::policy::tags::format_time(r.now),
        r.max_age_hours
    );
    let rows: Vec<Vec<String>> = r.sources.iter().map(row).collect();
    out += &render(
        &[
            "SOURCE",
            "KIND",
            "NEWEST VERIFIED",
            "AGE",
            "STATE",
            "VERIFIED/COPIES",
            "OLDEST",
            "KEY",
            "LAST DRILL",
            "STORED",
            "USD/MONTH",
            "CHAIN",
            "USD/MONTH",
        ],
        &rows,
    );
    out += &format!(
        "\nstored: {} GiB in full copies of DB instances, about {:.2} USD a month at {} USD per GB-month (Aurora copies are not counted: their snapshots do not report their size)\n",
        r.stored_gib,
        r.monthly_usd,
        r.usd_per_gb_month,
    );
    out += &format!(
        "chain: {} GiB, about {:.2} USD a month, if each source's copies are one incremental chain at {} of the blocks written a day (incremental sources: docs/configuration.md; RDS reports no snapshot's changed bytes, so STORED counts every copy whole)\n",
        r.chain_gib,
        r.chain_monthly_usd,
        r.change_per_day,
    );
    match (&r.retention, &r.tiers_not_shown) {
        (Some(retention), _) => {
            out += &format!(
                "\nby retention tier ({retention}, as the deployed Failsafe functions run; each copy counted once, for the longest-lived tier that keeps it; STORED bills each copy of a DB instance whole, Aurora copies are counted, not sized):\n"
            );
            let gib = |g: Option<i64>| g.map_or("-".into(), |g| format!("{g} GiB"));
            let usd = |u: Option<f64>| u.map_or("-".into(), |u| format!("{u:.2}"));
            let mut rows: Vec<Vec<String>> = Vec::new();
            for s in &r.sources {
                for t in &s.tiers {
                    rows.push(vec![
                        format!("{}:{}", s.source_account, s.source_id),
                        t.tier.as_str().into(),
                        t.copies.to_string(),
                        gib(t.stored_gib),
                        usd(t.monthly_usd),
                    ]);
                }
            }
            for t in &r.tiers {
                rows.push(vec![
                    "all sources".into(),
                    t.tier.as_str().into(),
                    t.copies.to_string(),
                    gib(t.stored_gib),
                    usd(t.monthly_usd),
                ]);
            }
            out += &render(&["SOURCE", "TIER", "COPIES", "STORED", "USD/MONTH"], &rows);
        }
        (None, Some(why)) => out += &format!("\nby retention tier: not shown: {why}\n"),
        (None, None) => {}
    }
    let holds: Vec<Vec<String>> = r
        .sources
        .iter()
        .flat_map(|s| {
            s.holds.iter().map(move |h| {
                vec![
                    format!("{}:{}", s.source_account, s.source_id),
                    h.copy.id.clone(),
                    rdsf_core::policy::tags::format_time(h.copy.data_time),
                    h.hold.clone(),
                ]
            })
        })
        .collect();
    if !holds.is_empty() {
        out += "
legal holds (kept whatever the retention; released only by break-glass: rdsf release):
";
        out += &render(&["SOURCE", "COPY", "DATA TIME", "HELD SINCE, WHY"], &holds);
    }
    if r.unattributed_copies > 0 {
        out += &format!(
            "\n{} managed copies without complete provenance tags (not counted)\n",
            r.unattributed_copies
        );
    }
    if !r.quotas.is_empty() {
        let q: Vec<String> = r
            .quotas
            .iter()
            .map(|q| format!("{} {} of {}", q.kind, q.used, q.max))
            .collect();
        out += &format!("\nmanual snapshot quota: {}\n", q.join(", "));
    }
    if r.problems.is_empty() {
        out += "\nok: every source has a verified copy within the threshold\n";
    } else {
        out += "\nproblems:\n";
        for p in &r.problems {
            out += &format!("  - {p}\n");
        }
    }
    out
}

/// `rdsf preflight`: one line per finding, worst first, then the verdict.
pub fn preflight(r: &PreflightReport, functions: &[String]) -> String {
    use rdsf_core::policy::preflight::Level;
    let mut out = format!(
        "{} account {} ({}), {} source(s); configuration of {}\n",
        r.side,
        r.account,
        r.region,
        r.sources,
        functions.join(", ")
    );
    let mut findings: Vec<_> = r.findings.iter().collect();
    findings.sort_by_key(|f| std::cmp::Reverse(f.level));
    let rows: Vec<Vec<String>> = findings
        .iter()
        .map(|f| {
            vec![
                f.level.as_str().to_string() + if f.blocks { " (stops runs)" } else { "" },
                f.check.to_string(),
                f.subject.clone(),
                f.message.clone(),
            ]
        })
        .collect();
    out += &render(&["LEVEL", "CHECK", "SUBJECT", "FINDING"], &rows);
    let count = |l: Level| r.findings.iter().filter(|f| f.level == l).count();
    out += &match r.worst() {
        Level::Problem => format!(
            "{} problem(s), {} warning(s): copies will fail until the problems are fixed\n",
            count(Level::Problem),
            count(Level::Warning)
        ),
        Level::Warning => format!("ready, {} warning(s)\n", count(Level::Warning)),
        Level::Ok => "ready\n".to_string(),
    };
    out
}

/// `rdsf drills`: one line per drill, newest first, then whether the data was checked.
pub fn drills(r: &rdsf_core::operator::DrillsReport) -> String {
    use rdsf_core::policy::tags::format_time;
    let rows: Vec<Vec<String>> = r
        .records
        .iter()
        .map(|d| {
            vec![
                format_time(d.ended),
                d.source.clone(),
                d.copy_id.clone(),
                format_time(d.snapshot_time),
                format!("{} {}", d.engine, d.engine_version.as_deref().unwrap_or(""))
                    .trim()
                    .to_string(),
                d.outcome.clone(),
                d.restore_seconds.map_or("-".into(), |s| format!("{s} s")),
                match (d.rto_minutes, d.rto_breached) {
                    (Some(m), Some(true)) => format!("OVER {m} min"),
                    (Some(m), _) => format!("{m} min"),
                    (None, _) => "-".into(),
                },
                d.cause.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let mut out = format!("restore drills recorded in {}\n\n", r.log_group);
    out += &render(
        &[
            "ENDED",
            "SOURCE",
            "COPY",
            "DATA TIME",
            "ENGINE",
            "OUTCOME",
            "RESTORE",
            "TARGET",
            "CAUSE",
        ],
        &rows,
    );
    out += "\nthe drills restore each copy and delete it again; they do not yet query the restored data\n";
    if r.foreign_lines > 0 {
        out += &format!(
            "{} line(s) of the log group are not drill records: someone else wrote there\n",
            r.foreign_lines
        );
    }
    out
}
