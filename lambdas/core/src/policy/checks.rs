//! What a restore drill checks in the restored data (`restoreDrill.checks`, `DRILL_CHECKS`): row
//! counts against floors and ceilings, the newest row against the copy's snapshot time, tables
//! that must exist; the queries each check runs, and how a check's answer is judged. Pure; the
//! `validate-drill` handler connects and queries.

use crate::policy::drill::is_source_name;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

/// The SQL a database speaks, by RDS engine: the checks run on PostgreSQL and MySQL/MariaDB
/// (and their Aurora editions); other engines are drilled restore-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    Postgres,
    Mysql,
    Mariadb,
}

impl Dialect {
    /// The dialect of an RDS `Engine`, `None` for an engine the checks do not cover.
    pub fn of_engine(engine: &str) -> Option<Dialect> {
        match engine {
            "postgres" | "aurora-postgresql" => Some(Dialect::Postgres),
            "mysql" | "aurora-mysql" | "aurora" => Some(Dialect::Mysql),
            "mariadb" => Some(Dialect::Mariadb),
            _ => None,
        }
    }

    /// The statements that open every check session, after TLS and the login: read-only, each
    /// statement cut off after `timeout_seconds`, times in UTC (a freshness check compares them
    /// with the copy's snapshot time).
    pub fn session_setup(self, timeout_seconds: u32) -> Vec<String> {
        match self {
            Dialect::Postgres => vec![
                "SET default_transaction_read_only = on".into(),
                format!("SET statement_timeout = '{timeout_seconds}s'"),
                "SET TIME ZONE 'UTC'".into(),
            ],
            // MySQL: max_execution_time (milliseconds, SELECT only); MariaDB: max_statement_time
            // (seconds, every statement)
            Dialect::Mysql => vec![
                "SET SESSION TRANSACTION READ ONLY".into(),
                format!(
                    "SET SESSION max_execution_time = {}",
                    timeout_seconds * 1000
                ),
                "SET time_zone = '+00:00'".into(),
            ],
            Dialect::Mariadb => vec![
                "SET SESSION TRANSACTION READ ONLY".into(),
                format!("SET SESSION max_statement_time = {timeout_seconds}"),
                "SET time_zone = '+00:00'".into(),
            ],
        }
    }

    /// The statements around each check: a read-only transaction of its own, rolled back after
    /// it, so that nothing a query does to the session (PostgreSQL's `set_config`) reaches the
    /// next check.
    pub fn check_transaction(self) -> [&'static str; 2] {
        match self {
            Dialect::Postgres => ["BEGIN READ ONLY", "ROLLBACK"],
            Dialect::Mysql | Dialect::Mariadb => ["START TRANSACTION READ ONLY", "ROLLBACK"],
        }
    }

    /// The query that lists the tables a `tables` check looks for: `schema`, `table` rows, in
    /// every schema but the system's (PostgreSQL reserves names starting `pg_`). PostgreSQL's
    /// from the catalog: `information_schema.tables` shows only the tables the current user has
    /// a privilege on (PostgreSQL documentation, "information_schema.tables"), and RDS's master
    /// user is not a superuser, so a table owned by an application role without grants would
    /// read as missing. Tables, partitioned tables, views, materialized views and foreign tables
    /// count, as `information_schema.tables` lists them. MySQL and MariaDB: every schema
    /// (database) of the server, so `schema.table` can name another than the one the checks
    /// connect to.
    pub fn tables_query(self) -> &'static str {
        match self {
            Dialect::Postgres => "SELECT n.nspname::text, c.relname::text FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'",
            Dialect::Mysql | Dialect::Mariadb => "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')",
        }
    }
}

/// One check of the restored data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawCheck", into = "RawCheck")]
pub enum Check {
    /// `{"sql": "select max(updated_at) from orders", "maxAgeHours": 30}`: the query's one value,
    /// a time, is at most `maxAgeHours` older than the copy's snapshot time.
    Fresh { sql: String, max_age_hours: f64 },
    /// `{"sql": "select count(*) from orders", "min": 1000}` (and/or `max`): the query's one
    /// value, a whole number, within the bounds.
    Count {
        sql: String,
        min: Option<i64>,
        max: Option<i64>,
    },
    /// `{"tables": ["orders", "billing.invoices"]}`: each table exists (`schema.table`, or a
    /// table name in any schema of the database).
    Tables { tables: Vec<String> },
}

/// A check as written: which kind it is follows from its fields.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawCheck {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sql: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_age_hours: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tables: Option<Vec<String>>,
}

impl TryFrom<RawCheck> for Check {
    type Error = String;
    fn try_from(r: RawCheck) -> Result<Check, String> {
        match r {
            RawCheck { sql: None, min: None, max: None, max_age_hours: None, tables: Some(tables) } => Ok(Check::Tables { tables }),
            RawCheck { sql: Some(sql), min: None, max: None, max_age_hours: Some(h), tables: None } => Ok(Check::Fresh { sql, max_age_hours: h }),
            RawCheck { sql: Some(sql), min, max, max_age_hours: None, tables: None } => Ok(Check::Count { sql, min, max }),
            _ => Err("a check is {\"sql\", \"min\"/\"max\"}, {\"sql\", \"maxAgeHours\"} or {\"tables\": [...]}, not a mix".into()),
        }
    }
}

impl From<Check> for RawCheck {
    fn from(c: Check) -> RawCheck {
        match c {
            Check::Tables { tables } => RawCheck {
                tables: Some(tables),
                ..RawCheck::default()
            },
            Check::Fresh { sql, max_age_hours } => RawCheck {
                sql: Some(sql),
                max_age_hours: Some(max_age_hours),
                ..RawCheck::default()
            },
            Check::Count { sql, min, max } => RawCheck {
                sql: Some(sql),
                min,
                max,
                ..RawCheck::default()
            },
        }
    }
}

/// The checks of one source's restored database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceChecks {
    /// `<source-id>` or `<live-account>:<source-id>`.
    pub source: String,
    /// The database (PostgreSQL) or schema (MySQL, MariaDB) the checks connect to.
    pub database: String,
    pub checks: Vec<Check>,
    /// Each statement's limit, in seconds (default [`DEFAULT_TIMEOUT_SECONDS`]).
    #[serde(default)]
    pub timeout_seconds: Option<u32>,
}

/// Every source's checks (`DRILL_CHECKS`); a source without any is drilled restore-only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DrillChecks(pub Vec<SourceChecks>);

pub const DEFAULT_TIMEOUT_SECONDS: u32 = 30;
/// At most this many checks per source, and their statement limits together at most
/// [`MAX_SESSION_SECONDS`]: `validate-drill` runs them in one invocation, whose limit is 900 s.
pub const MAX_CHECKS: usize = 20;
pub const MAX_SESSION_SECONDS: u32 = 600;
pub const MAX_SQL_CHARS: usize = 2000;

fn is_identifier(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$')
        && s.len() <= 63
}

/// Why a check's SQL is refused, if it is: one read query (`SELECT` or `WITH`), no second
/// statement, within [`MAX_SQL_CHARS`]. The session is read-only as well; this catches the
/// mistake at synth.
fn sql_problem(sql: &str) -> Option<String> {
    let body = sql.trim().trim_end_matches(';').trim();
    let first = body
        .split(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("");
    if body.is_empty() {
        Some("is empty".into())
    } else if body.chars().count() > MAX_SQL_CHARS {
        Some(format!("is longer than {MAX_SQL_CHARS} characters"))
    } else if !first.eq_ignore_ascii_case("select") && !first.eq_ignore_ascii_case("with") {
        Some("must be one read query starting SELECT or WITH".into())
    } else if body.contains(';') {
        Some("must be one statement (no ; inside)".into())
    } else {
        None
    }
}

impl DrillChecks {
    /// From `DRILL_CHECKS`' JSON; `Err` names the entry and field, and the fix.
    pub fn parse(json: &str) -> Result<DrillChecks, String> {
        let checks: DrillChecks = serde_json::from_str(json).map_err(|e| {
            format!("is not a list of {{\"source\", \"database\", \"checks\": [...]}} ({e}); each check is {{\"sql\", \"min\"/\"max\"}}, {{\"sql\", \"maxAgeHours\"}} or {{\"tables\": [...]}}")
        })?;
        let mut seen = std::collections::BTreeSet::new();
        for (i, s) in checks.0.iter().enumerate() {
            let at = format!("[{i}]");
            if !is_source_name(&s.source) {
                return Err(format!("{at}.source {:?} must be <source-id> or <live-account>:<source-id> (lower case)", s.source));
            }
            if !seen.insert(s.source.as_str()) {
                return Err(format!(
                    "{at}.source {:?} has checks twice: one entry per source",
                    s.source
                ));
            }
            if !is_identifier(&s.database) {
                return Err(format!("{at}.database {:?} must name the database to connect to (letters, digits, _; at most 63)", s.database));
            }
            if s.checks.is_empty() || s.checks.len() > MAX_CHECKS {
                return Err(format!(
                    "{at}.checks must hold 1 to {MAX_CHECKS} checks, it holds {}",
                    s.checks.len()
                ));
            }
            let timeout = s.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS);
            if timeout == 0 || timeout * s.checks.len() as u32 > MAX_SESSION_SECONDS {
                return Err(format!("{at}.timeoutSeconds {timeout}: each check may take that long, and {} checks together at most {MAX_SESSION_SECONDS} s", s.checks.len()));
            }
            for (j, c) in s.checks.iter().enumerate() {
                let at = format!("{at}.checks[{j}]");
                match c {
                    Check::Count { sql, min, max } => {
                        if let Some(p) = sql_problem(sql) {
                            return Err(format!("{at}.sql {p}"));
                        }
                        match (min, max) {
                            (None, None) => {
                                return Err(format!(
                                "{at} needs \"min\" or \"max\": the bounds of the query's count"
                            ))
                            }
                            (Some(lo), Some(hi)) if lo > hi => {
                                return Err(format!("{at}: min {lo} is above max {hi}"))
                            }
                            _ => {}
                        }
                    }
                    Check::Fresh { sql, max_age_hours } => {
                        if let Some(p) = sql_problem(sql) {
                            return Err(format!("{at}.sql {p}"));
                        }
                        if !(max_age_hours.is_finite()
                            && *max_age_hours > 0.0
                            && *max_age_hours <= 8760.0)
                        {
                            return Err(format!("{at}.maxAgeHours {max_age_hours} must be hours from above 0 to 8760"));
                        }
                    }
                    Check::Tables { tables } => {
                        if tables.is_empty() {
                            return Err(format!(
                                "{at}.tables is empty: name the tables that must exist"
                            ));
                        }
                        if let Some(t) = tables.iter().find(|t| {
                            let mut parts = t.split('.');
                            !(parts.all(is_identifier) && t.split('.').count() <= 2)
                        }) {
                            return Err(format!("{at}.tables: {t:?} must be a table or schema.table (letters, digits, _, $)"));
                        }
                    }
                }
            }
        }
        Ok(checks)
    }

    /// The checks of one source: `<live-account>:<source-id>` first, then `<source-id>`.
    pub fn for_source(&self, account: &str, id: &str) -> Option<&SourceChecks> {
        let full = format!("{account}:{id}");
        self.0
            .iter()
            .find(|s| s.source == full)
            .or_else(|| self.0.iter().find(|s| s.source == id))
    }
}

impl SourceChecks {
    pub fn timeout(&self) -> u32 {
        self.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS)
    }

    /// The queries the checks run, in order, one per check.
    pub fn queries(&self, dialect: Dialect) -> Vec<String> {
        self.checks
            .iter()
            .map(|c| match c {
                Check::Count { sql, .. } | Check::Fresh { sql, .. } => {
                    sql.trim().trim_end_matches(';').trim().to_string()
                }
                Check::Tables { .. } => dialect.tables_query().to_string(),
            })
            .collect()
    }
}

/// A query's answer as text, row by row (`None`: SQL NULL); `Err` the database's error.
pub type Answer = Result<Vec<Vec<Option<String>>>, String>;

/// One check's result, as the drill's output and record show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    /// The check's query, or `tables orders, customers`.
    pub check: String,
    /// What the query answered (`null` for SQL NULL or an error).
    pub value: Option<String>,
    /// What the value had to be.
    pub bound: String,
    pub passed: bool,
    /// The database's error, if the query failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl CheckResult {
    /// The check's failure in one line: the check, the value and the bound.
    pub fn failure(&self) -> String {
        match &self.error {
            Some(e) => format!("check `{}` failed: {e}", self.check),
            None => format!(
                "check `{}` returned {}, expected {}",
                self.check,
                self.value.as_deref().unwrap_or("NULL"),
                self.bound
            ),
        }
    }
}

/// The one value of a one-row, one-column answer.
fn single(rows: &[Vec<Option<String>>]) -> Result<Option<String>, String> {
    match rows {
        [row] if row.len() == 1 => Ok(row[0].clone()),
        _ => Err(format!(
            "must return one row of one value, it returned {} row(s){}",
            rows.len(),
            rows.first()
                .map(|r| format!(" of {} value(s)", r.len()))
                .unwrap_or_default()
        )),
    }
}

/// A time as PostgreSQL (`2026-11-20 02:59:00+00`, fractions optional) or MySQL
/// (`2026-11-20 02:59:00`) print it; a time without offset is UTC (the session's time zone).
pub fn parse_db_time(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    for f in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z"] {
        if let Ok(d) = DateTime::parse_from_str(t, f) {
            return Some(d.with_timezone(&Utc));
        }
    }
    for f in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(t, f) {
            return Some(d.and_utc());
        }
    }
    chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

/// Judges each check's answer; `snapshot_time` is when the copy's data was taken.
pub fn judge(
    checks: &[Check],
    answers: Vec<Answer>,
    snapshot_time: DateTime<Utc>,
) -> Vec<CheckResult> {
    checks
        .iter()
        .zip(answers.into_iter().map(Some).chain(std::iter::repeat(None)))
        .map(|(check, answer)| judge_one(check, answer, snapshot_time))
        .collect()
}

/// The most of a value or an error a check's result keeps, in characters: a query's answer or a
/// driver's message can be any length, and the results travel in the drill's state (256 KiB)
/// and its record (one log event).
pub const MAX_RESULT_CHARS: usize = 300;

/// `text` within [`MAX_RESULT_CHARS`], saying how much was left out.
fn clip(text: String) -> String {
    let n = text.chars().count();
    if n <= MAX_RESULT_CHARS {
        return text;
    }
    let kept: String = text.chars().take(MAX_RESULT_CHARS).collect();
    format!("{kept}… ({} more characters)", n - MAX_RESULT_CHARS)
}

fn judge_one(check: &Check, answer: Option<Answer>, snapshot_time: DateTime<Utc>) -> CheckResult {
    let (name, bound) = match check {
        Check::Count { sql, min, max } => (
            sql.trim().to_string(),
            match (min, max) {
                (Some(lo), Some(hi)) => format!("from {lo} to {hi}"),
                (Some(lo), None) => format!("at least {lo}"),
                (None, Some(hi)) => format!("at most {hi}"),
                (None, None) => "any count".into(),
            },
        ),
        Check::Fresh { sql, max_age_hours } => (
            sql.trim().to_string(),
            format!(
                "a time at most {max_age_hours} h before the copy's snapshot time {}",
                snapshot_time.format("%Y-%m-%dT%H:%M:%SZ")
            ),
        ),
        Check::Tables { tables } => (
            format!("tables {}", tables.join(", ")),
            "every table present".to_string(),
        ),
    };
    let result = |value: Option<String>, passed: bool, error: Option<String>| CheckResult {
        check: name.clone(),
        value: value.map(clip),
        bound: bound.clone(),
        passed,
        error: error.map(clip),
    };
    let rows = match answer {
        None => return result(None, false, Some("was not run".into())),
        Some(Err(e)) => return result(None, false, Some(e)),
        Some(Ok(rows)) => rows,
    };
    match check {
        Check::Count { min, max, .. } => match single(&rows) {
            Err(e) => result(None, false, Some(e)),
            Ok(None) => result(None, false, None),
            Ok(Some(v)) => match v.trim().parse::<i64>() {
                Ok(n) => result(
                    Some(n.to_string()),
                    min.is_none_or(|lo| n >= lo) && max.is_none_or(|hi| n <= hi),
                    None,
                ),
                Err(_) => result(
                    Some(v.clone()),
                    false,
                    Some(format!("{v:?} is not a whole number")),
                ),
            },
        },
        Check::Fresh { max_age_hours, .. } => match single(&rows) {
            Err(e) => result(None, false, Some(e)),
            Ok(None) => result(None, false, None),
            Ok(Some(v)) => match parse_db_time(&v) {
                Some(t) => {
                    let age_hours = (snapshot_time - t).num_seconds() as f64 / 3600.0;
                    result(
                        Some(t.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
                        age_hours <= *max_age_hours,
                        None,
                    )
                }
                None => result(Some(v.clone()), false, Some(format!("{v:?} is not a time"))),
            },
        },
        Check::Tables { tables } => {
            let present: Vec<(String, String)> = rows
                .iter()
                .filter_map(|r| match r.as_slice() {
                    [Some(schema), Some(table)] => Some((schema.clone(), table.clone())),
                    _ => None,
                })
                .collect();
            let missing: Vec<&String> = tables
                .iter()
                .filter(|t| {
                    !present
                        .iter()
                        .any(|(schema, table)| match t.split_once('.') {
                            Some((s, n)) => s == schema && n == table,
                            None => t.as_str() == table,
                        })
                })
                .collect();
            if missing.is_empty() {
                result(Some("all present".into()), true, None)
            } else {
                result(
                    Some(format!(
                        "missing {}",
                        missing
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                    false,
                    None,
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    const GOOD: &str = r#"[{"source": "orders", "database": "app", "checks": [
        {"sql": "select count(*) from orders", "min": 1000},
        {"sql": "select max(updated_at) from orders", "maxAgeHours": 30},
        {"tables": ["orders", "public.customers"]}]},
        {"source": "111111111111:ledger", "database": "ledger", "timeoutSeconds": 60,
         "checks": [{"sql": "select count(*) from entries", "max": 5}]}]"#;

    #[test]
    fn parses_the_three_kinds_of_check_and_finds_a_sources_checks() {
        let c = DrillChecks::parse(GOOD).unwrap();
        let orders = c.for_source("222222222222", "orders").unwrap();
        assert_eq!(orders.database, "app");
        assert_eq!(orders.timeout(), DEFAULT_TIMEOUT_SECONDS);
        assert!(matches!(
            orders.checks[0],
            Check::Count {
                min: Some(1000),
                max: None,
                ..
            }
        ));
        assert!(
            matches!(orders.checks[1], Check::Fresh { max_age_hours, .. } if max_age_hours == 30.0)
        );
        assert!(matches!(&orders.checks[2], Check::Tables { tables } if tables.len() == 2));
        assert_eq!(
            c.for_source("111111111111", "ledger").unwrap().timeout(),
            60
        );
        assert!(c.for_source("222222222222", "ledger").is_none());
        assert!(c.for_source("111111111111", "users").is_none());
    }

    #[test]
    fn refuses_bad_checks_naming_the_entry_and_field() {
        let bad = |json: &str, says: &str| {
            let e = DrillChecks::parse(json).unwrap_err();
            assert!(e.contains(says), "{json}: {e}");
        };
        let one = |check: &str| {
            format!(r#"[{{"source": "orders", "database": "app", "checks": [{check}]}}]"#)
        };
        bad(
            &one(r#"{"sql": "delete from orders", "min": 1}"#),
            "[0].checks[0].sql must be one read query",
        );
        bad(
            &one(r#"{"sql": "select 1; drop table orders", "min": 1}"#),
            "one statement",
        );
        bad(
            &one(r#"{"sql": "select count(*) from orders"}"#),
            "needs \"min\" or \"max\"",
        );
        bad(
            &one(r#"{"sql": "select 1", "min": 5, "max": 1}"#),
            "min 5 is above max 1",
        );
        bad(
            &one(r#"{"sql": "select now()", "maxAgeHours": 0}"#),
            "maxAgeHours 0",
        );
        bad(&one(r#"{"tables": []}"#), "tables is empty");
        bad(
            &one(r#"{"tables": ["a.b.c"]}"#),
            "\"a.b.c\" must be a table or schema.table",
        );
        bad(&one(r#"{"tables": ["orders; drop"]}"#), "must be a table");
        bad(
            &one(r#"{"sql": "select 1", "min": 1, "typo": 2}"#),
            "is not a list",
        );
        bad(
            r#"[{"source": "Orders", "database": "app", "checks": [{"tables": ["a"]}]}]"#,
            "[0].source \"Orders\"",
        );
        bad(
            r#"[{"source": "orders", "database": "app db", "checks": [{"tables": ["a"]}]}]"#,
            "[0].database",
        );
        bad(
            r#"[{"source": "orders", "database": "app", "checks": []}]"#,
            "1 to 20 checks",
        );
        bad(
            r#"[{"source": "orders", "database": "app", "timeoutSeconds": 301, "checks": [{"tables": ["a"]}, {"tables": ["b"]}]}]"#,
            "timeoutSeconds 301",
        );
        bad(
            r#"[{"source": "orders", "database": "a", "checks": [{"tables": ["a"]}]}, {"source": "orders", "database": "b", "checks": [{"tables": ["a"]}]}]"#,
            "[1].source \"orders\" has checks twice",
        );
        bad(r#"{"orders": []}"#, "is not a list");
    }

    #[test]
    fn a_long_answer_or_error_is_clipped_saying_how_much_was_left_out() {
        let check = Check::Count {
            sql: "select count(*) from t".into(),
            min: Some(1),
            max: None,
        };
        let long = "x".repeat(MAX_RESULT_CHARS + 5);
        let r = judge(
            std::slice::from_ref(&check),
            vec![Err(long.clone())],
            at("2026-11-20T03:00:00Z"),
        );
        let e = r[0].error.as_deref().unwrap();
        assert!(e.ends_with("… (5 more characters)"), "{e}");
        assert_eq!(e.chars().filter(|c| *c == 'x').count(), MAX_RESULT_CHARS);
        let r = judge(
            &[check],
            vec![Ok(vec![vec![Some(long)]])],
            at("2026-11-20T03:00:00Z"),
        );
        assert!(r[0]
            .value
            .as_deref()
            .unwrap()
            .ends_with("… (5 more characters)"));
        assert!(!r[0].passed);
    }

    #[test]
    fn judges_counts_freshness_and_tables_against_their_bounds() {
        let c = DrillChecks::parse(GOOD).unwrap();
        let orders = c.for_source("1", "orders").unwrap();
        let snap = at("2026-11-20T03:00:00Z");
        let text = |v: &str| Ok(vec![vec![Some(v.to_string())]]);
        let tables = Ok(vec![
            vec![Some("public".into()), Some("orders".into())],
            vec![Some("public".into()), Some("customers".into())],
        ]);
        let passing = judge(
            &orders.checks,
            vec![
                text("1200"),
                text("2026-11-20 02:59:00.123+00"),
                tables.clone(),
            ],
            snap,
        );
        assert!(passing.iter().all(|r| r.passed), "{passing:?}");
        assert_eq!(passing[1].value.as_deref(), Some("2026-11-20T02:59:00Z"));

        let failing = judge(
            &orders.checks,
            vec![
                text("12"),
                text("2026-11-18 20:00:00"),
                Ok(vec![vec![Some("public".into()), Some("orders".into())]]),
            ],
            snap,
        );
        assert_eq!(
            failing.iter().map(|r| r.passed).collect::<Vec<_>>(),
            [false, false, false]
        );
        assert_eq!(
            failing[0].failure(),
            "check `select count(*) from orders` returned 12, expected at least 1000"
        );
        assert!(failing[1].failure().contains("returned 2026-11-18T20:00:00Z, expected a time at most 30 h before the copy's snapshot time 2026-11-20T03:00:00Z"), "{}", failing[1].failure());
        assert_eq!(
            failing[2].value.as_deref(),
            Some("missing public.customers")
        );

        // an error, a NULL, two rows, text where a number belongs, a check never run
        let odd = judge(
            &orders.checks,
            vec![
                Err("relation \"orders\" does not exist".into()),
                Ok(vec![vec![None]]),
            ],
            snap,
        );
        assert_eq!(
            odd[0].failure(),
            "check `select count(*) from orders` failed: relation \"orders\" does not exist"
        );
        assert_eq!(
            odd[1]
                .failure()
                .split(" returned ")
                .nth(1)
                .unwrap()
                .split(',')
                .next()
                .unwrap(),
            "NULL"
        );
        assert_eq!(odd[2].error.as_deref(), Some("was not run"));
        let two = judge(
            &orders.checks[..1],
            vec![Ok(vec![vec![Some("1".into())], vec![Some("2".into())]])],
            snap,
        );
        assert!(two[0]
            .error
            .as_deref()
            .unwrap()
            .contains("returned 2 row(s)"));
        let word = judge(&orders.checks[..1], vec![text("lots")], snap);
        assert!(
            !word[0].passed && word[0].error.as_deref() == Some("\"lots\" is not a whole number")
        );
        // a table name alone matches it in any schema
        let ledger = judge(
            &[Check::Tables {
                tables: vec!["entries".into()],
            }],
            vec![Ok(vec![vec![Some("books".into()), Some("entries".into())]])],
            snap,
        );
        assert!(ledger[0].passed);
    }

    #[test]
    fn sessions_are_read_only_with_a_statement_limit_in_each_dialect() {
        assert_eq!(
            Dialect::of_engine("aurora-postgresql"),
            Some(Dialect::Postgres)
        );
        assert_eq!(Dialect::of_engine("aurora-mysql"), Some(Dialect::Mysql));
        assert_eq!(Dialect::of_engine("mariadb"), Some(Dialect::Mariadb));
        assert_eq!(Dialect::of_engine("oracle-ee"), None);
        assert_eq!(Dialect::of_engine("sqlserver-se"), None);
        let pg = Dialect::Postgres.session_setup(30);
        assert!(
            pg.contains(&"SET default_transaction_read_only = on".to_string())
                && pg.contains(&"SET statement_timeout = '30s'".to_string())
        );
        assert!(Dialect::Mysql
            .session_setup(30)
            .contains(&"SET SESSION max_execution_time = 30000".to_string()));
        assert!(Dialect::Mariadb
            .session_setup(30)
            .contains(&"SET SESSION max_statement_time = 30".to_string()));
        for d in [Dialect::Postgres, Dialect::Mysql, Dialect::Mariadb] {
            assert!(d
                .session_setup(1)
                .iter()
                .any(|s| s.contains("READ ONLY") || s.contains("read_only = on")));
        }
    }

    #[test]
    fn reads_the_times_databases_print() {
        assert_eq!(
            parse_db_time("2026-11-20 02:59:00+00"),
            Some(at("2026-11-20T02:59:00Z"))
        );
        assert_eq!(
            parse_db_time("2026-11-20 04:59:00+02:00"),
            Some(at("2026-11-20T02:59:00Z"))
        );
        assert_eq!(
            parse_db_time("2026-11-20 02:59:00.5"),
            Some(at("2026-11-20T02:59:00.5Z"))
        );
        assert_eq!(
            parse_db_time("2026-11-20"),
            Some(at("2026-11-20T00:00:00Z"))
        );
        assert_eq!(parse_db_time("yesterday"), None);
    }
}
