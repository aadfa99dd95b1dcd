//! The handler of `validate-drill`: runs the source's checks (`restoreDrill.checks`) on the
//! drill's restored database, as its master user, read-only over TLS. The password is RDS's:
//! the first call turns on RDS's management of the master password (RDS sets a new one and keeps
//! it in a Secrets Manager secret that it deletes with the database); until the secret is active
//! and the database available again the task answers `CredentialsPending`, which the state
//! machine retries. No password is logged, returned or put in an error.

use crate::config::ValidateConfig;
use crate::error::{ErrorKind, FailsafeError, Result};
use crate::model::{DbAccess, SnapshotKind};
use crate::policy::checks::{judge, Dialect};
use crate::policy::tags::{is_drill, DRILL};
use crate::port::{Databases, MasterPasswords, SecretReads, SqlQueries, SqlTarget, StoreErrorKind};
use crate::wire::{ValidateDrillInput, ValidateDrillOutput};
use tracing::{info, warn};

fn pending(message: String) -> FailsafeError {
    FailsafeError::new(ErrorKind::CredentialsPending, message)
}

/// Where and as whom the checks connect, and the master secret, once RDS manages the database's
/// master password and reports it ready; else what is still pending (and, the first time, asks
/// RDS to manage the password).
async fn ready_database<R: Databases + MasterPasswords>(
    rds: &R,
    kind: SnapshotKind,
    id: &str,
    member: Option<&str>,
) -> Result<(DbAccess, String)> {
    let (db, access) = rds.describe_db_login(kind, id).await?.ok_or_else(|| {
        FailsafeError::new(
            ErrorKind::RestoreFailed,
            format!("{kind} {id} is gone before its checks ran"),
        )
    })?;
    if !is_drill(&db.tags) {
        // only a database a drill made is given a new password (IAM says the same)
        return Err(FailsafeError::new(
            ErrorKind::InvalidInput,
            format!("{kind} {id} has no {DRILL}=true tag: its password is not changed"),
        ));
    }
    let Some((secret, secret_status)) = access.master_secret.clone() else {
        return match rds.manage_master_password(kind, id).await {
            Ok(()) => {
                info!(
                    action = "validate-drill",
                    db = id,
                    "RDS now manages the master password"
                );
                Err(pending(format!(
                    "{kind} {id}: RDS is setting a new master password in Secrets Manager"
                )))
            }
            // still modifying (or restoring): ask again on the next attempt
            Err(e) if e.kind == StoreErrorKind::InvalidState => Err(pending(format!(
                "{kind} {id} cannot take a managed master password yet: {}",
                e.message
            ))),
            Err(e) => Err(e.into()),
        };
    };
    let mut statuses = vec![db.status.clone()];
    if let Some(m) = member {
        let instance = rds.describe_db(SnapshotKind::Instance, m).await?;
        statuses.push(instance.map(|i| i.status).unwrap_or_else(|| "gone".into()));
    }
    if secret_status != "active" || statuses.iter().any(|s| s != "available") {
        return Err(pending(format!(
            "{kind} {id} is {} and its master secret {secret_status}",
            statuses.join("/")
        )));
    }
    Ok((access, secret))
}

pub async fn validate_drill<R, D>(
    cfg: &ValidateConfig,
    rds: &R,
    data: &D,
    input: ValidateDrillInput,
) -> Result<ValidateDrillOutput>
where
    R: Databases + MasterPasswords,
    D: SecretReads + SqlQueries,
{
    let item = &input.item;
    let Some(source) = cfg.checks.for_source(&item.source_account, &item.source_id) else {
        return Ok(ValidateDrillOutput {
            checked: false,
            passed: true,
            ..Default::default()
        });
    };
    let Some(dialect) = Dialect::of_engine(&item.engine) else {
        // checks were asked for, and cannot run: the drill must not look checked
        return Ok(ValidateDrillOutput {
            checked: false,
            passed: false,
            database: Some(source.database.clone()),
            failure: Some(format!(
                "restoreDrill.checks has checks for {}, whose engine {} they cannot run on (PostgreSQL, MySQL and MariaDB, and their Aurora editions, only): remove them, and the source is drilled restore-only",
                source.source, item.engine
            )),
            ..Default::default()
        });
    };
    let (access, secret) =
        ready_database(rds, item.kind, &item.db_id, item.member_id.as_deref()).await?;
    let (host, port) = access
        .endpoint
        .clone()
        .ok_or_else(|| pending(format!("{} {} has no endpoint yet", item.kind, item.db_id)))?;
    let login = data.master_credentials(&secret).await?;
    let target = SqlTarget {
        dialect,
        host,
        port,
        database: source.database.clone(),
        timeout_seconds: source.timeout(),
    };
    let started = std::time::Instant::now();
    let answers = data
        .run_queries(
            &target,
            &login,
            &dialect.session_setup(source.timeout()),
            &source.queries(dialect),
        )
        .await;
    let validate_seconds = Some(started.elapsed().as_secs());
    let answers = match answers {
        Ok(a) => a,
        Err(e) => {
            let failure = format!(
                "could not query database {} on {} ({}:{}) as {}: {}",
                target.database, item.db_id, target.host, target.port, login.username, e.message
            );
            warn!(action = "validate-drill", db = %item.db_id, failure = %failure, "checks could not run");
            return Ok(ValidateDrillOutput {
                checked: true,
                passed: false,
                database: Some(target.database),
                validate_seconds,
                failure: Some(failure),
                ..Default::default()
            });
        }
    };
    let checks = judge(&source.checks, answers, item.data_time);
    let failure = checks.iter().find(|c| !c.passed).map(|c| c.failure());
    info!(action = "validate-drill", db = %item.db_id, checks = checks.len(), failed = checks.iter().filter(|c| !c.passed).count(), "checks ran");
    Ok(ValidateDrillOutput {
        checked: true,
        passed: failure.is_none(),
        database: Some(target.database),
        checks,
        validate_seconds,
        failure,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DbInstance, Tags};
    use crate::policy::checks::DrillChecks;
    use crate::policy::drill::DrillItem;
    use crate::port::fake::FakeStore;

    fn item() -> DrillItem {
        DrillItem {
            kind: SnapshotKind::Instance,
            source_account: "111111111111".into(),
            source_id: "orders".into(),
            copy_id: "rdsf-111111111111-orders-202611200300".into(),
            copy_arn:
                "arn:aws:rds:eu-west-1:222222222222:snapshot:rdsf-111111111111-orders-202611200300"
                    .into(),
            data_time: "2026-11-20T03:00:00Z".parse().unwrap(),
            engine: "postgres".into(),
            engine_version: Some("16.4".into()),
            db_id: "rdsf-drill-orders-202611220600".into(),
            member_id: None,
            instance_class: "db.t4g.micro".into(),
            last_drill: None,
        }
    }

    fn cfg() -> ValidateConfig {
        ValidateConfig {
            checks: DrillChecks::parse(
                r#"[{"source": "orders", "database": "app", "checks": [
                {"sql": "select count(*) from orders", "min": 1000},
                {"tables": ["orders"]}]}]"#,
            )
            .unwrap(),
            extra_ca_pem: None,
        }
    }

    fn world(drill_tag: bool) -> FakeStore {
        let store = FakeStore::new("222222222222", "eu-west-1");
        {
            let mut w = store.world();
            let mut tags = Tags::new();
            if drill_tag {
                tags.insert(DRILL.into(), "true".into());
            }
            w.instances.push(DbInstance {
                id: item().db_id,
                arn: format!("arn:aws:rds:eu-west-1:222222222222:db:{}", item().db_id),
                engine: "postgres".into(),
                tags,
                ..DbInstance::default()
            });
            w.db_access.insert(
                item().db_id,
                crate::model::DbAccess {
                    endpoint: Some(("drill.example".into(), 5432)),
                    master_username: Some("admin".into()),
                    master_secret: None,
                },
            );
        }
        store
    }

    fn activate(store: &FakeStore) {
        let mut w = store.world();
        let access = w.db_access.get_mut(&item().db_id).unwrap();
        access.master_secret.as_mut().unwrap().1 = "active".into();
    }

    async fn run(store: &FakeStore) -> Result<ValidateDrillOutput> {
        validate_drill(&cfg(), store, store, ValidateDrillInput { item: item() }).await
    }

    #[tokio::test]
    async fn turns_on_the_managed_password_waits_for_it_then_runs_the_checks_read_only() {
        let store = world(true);
        let first = run(&store).await.unwrap_err();
        assert_eq!(first.kind, ErrorKind::CredentialsPending);
        assert_eq!(
            store.world().mutations,
            ["manage-password rdsf-drill-orders-202611220600"]
        );
        // the secret is still being created
        assert_eq!(
            run(&store).await.unwrap_err().kind,
            ErrorKind::CredentialsPending
        );
        activate(&store);
        store.world().sql_answers.insert(
            "select count(*) from orders".into(),
            Ok(vec![vec![Some("1500".into())]]),
        );
        let tables = Dialect::Postgres.tables_query().to_string();
        store.world().sql_answers.insert(
            tables,
            Ok(vec![vec![Some("public".into()), Some("orders".into())]]),
        );
        let out = run(&store).await.unwrap();
        assert!(out.checked && out.passed, "{out:?}");
        assert_eq!(out.checks.len(), 2);
        assert_eq!(out.database.as_deref(), Some("app"));
        let w = store.world();
        let [(target, user, password, sent)] = w.sql_sessions.as_slice() else {
            panic!("{:?}", w.sql_sessions)
        };
        assert_eq!(
            (
                target.host.as_str(),
                target.port,
                target.database.as_str(),
                user.as_str()
            ),
            ("drill.example", 5432, "app", "admin")
        );
        // read-only with a statement limit, before any check
        assert_eq!(sent[0], "SET default_transaction_read_only = on");
        assert_eq!(sent[1], "SET statement_timeout = '30s'");
        // the password reached the driver, and nothing else
        assert_eq!(password, "pw-rdsf-drill-orders-202611220600-S3cret");
        assert!(!serde_json::to_string(&out).unwrap().contains("S3cret"));
        // one modify only
        assert_eq!(w.mutations.len(), 1);
    }

    #[tokio::test]
    async fn a_failed_check_names_the_check_the_value_and_the_bound() {
        let store = world(true);
        let _ = run(&store).await;
        activate(&store);
        store.world().sql_answers.insert(
            "select count(*) from orders".into(),
            Ok(vec![vec![Some("12".into())]]),
        );
        let out = run(&store).await.unwrap();
        assert!(out.checked && !out.passed);
        assert_eq!(
            out.failure.as_deref(),
            Some("check `select count(*) from orders` returned 12, expected at least 1000")
        );
        // the tables query had no answer in the fake: a failed check with the database's error
        assert!(!out.checks[1].passed && out.checks[1].error.is_some());
    }

    #[tokio::test]
    async fn a_database_that_refuses_the_session_fails_the_drill_without_the_password() {
        let store = world(true);
        let _ = run(&store).await;
        activate(&store);
        store.world().sql_refused = Some("connection refused".into());
        let out = run(&store).await.unwrap();
        assert!(out.checked && !out.passed);
        let failure = out.failure.unwrap();
        assert!(failure.starts_with("could not query database app on rdsf-drill-orders-202611220600 (drill.example:5432) as admin:"), "{failure}");
        assert!(!failure.contains("S3cret"));
    }

    #[tokio::test]
    async fn sources_without_checks_and_engines_without_sql_are_said_so() {
        let store = world(true);
        let mut other = item();
        other.source_id = "billing".into();
        let out = validate_drill(&cfg(), &store, &store, ValidateDrillInput { item: other })
            .await
            .unwrap();
        assert_eq!((out.checked, out.passed), (false, true));
        assert!(
            store.world().mutations.is_empty(),
            "no password is set for a restore-only drill"
        );
        let mut oracle = item();
        oracle.engine = "oracle-ee".into();
        let out = validate_drill(&cfg(), &store, &store, ValidateDrillInput { item: oracle })
            .await
            .unwrap();
        assert_eq!((out.checked, out.passed), (false, false));
        assert!(out
            .failure
            .unwrap()
            .contains("engine oracle-ee they cannot run on"));
    }

    #[tokio::test]
    async fn a_database_the_drill_did_not_make_keeps_its_password() {
        let store = world(false);
        let e = run(&store).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidInput);
        assert!(store.world().mutations.is_empty());
    }
}
