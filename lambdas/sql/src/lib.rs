//! The adapters only `validate-drill` needs, kept out of `rdsf-core` so that no other binary
//! links them: the master secret from Secrets Manager ([`SecretReads`]) and read-only queries on
//! a drill's restored PostgreSQL or MySQL/MariaDB database over TLS ([`SqlQueries`]).
//!
//! TLS: the server's certificate must chain to one of the RDS certificate authorities in
//! `rds-ca/rds-ca-bundle.pem` (or `DRILL_EXTRA_CA`) and name the endpoint it was reached at;
//! no public roots, no plain-text fallback. Every driver error is reduced to its message: none
//! carries the password, which is given to the driver only.

use async_trait::async_trait;
use rdsf_core::model::{Credentials, Password};
use rdsf_core::policy::checks::{Answer, Dialect};
use rdsf_core::port::{
    SecretReads, SqlQueries, SqlTarget, StoreError, StoreErrorKind, StoreResult,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::time::Duration;

/// The RDS certificate authorities (every region's root CAs, RSA2048, RSA4096 and ECC384 G1,
/// and the still-valid older ones); see `rds-ca/README.md` for where they come from.
pub const RDS_CA_BUNDLE: &str = include_str!("../rds-ca/rds-ca-bundle.pem");

/// How long a connection (TCP, TLS and login) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// How long past a statement's own timeout (which the server enforces) the client waits for its
/// answer before it calls the session stalled: a lost connection must fail the check naming it,
/// not run the function into its 15-minute timeout.
const ANSWER_GRACE: Duration = Duration::from_secs(10);

/// The bound on one answer of a session to `target`.
fn answer_within(target: &SqlTarget) -> Duration {
    Duration::from_secs(u64::from(target.timeout_seconds)) + ANSWER_GRACE
}

fn stalled(target: &SqlTarget, what: &str) -> StoreError {
    refused(format!(
        "{what}: no answer within {} s (the session stalled)",
        answer_within(target).as_secs()
    ))
}

pub struct SqlStore {
    secrets: aws_sdk_secretsmanager::Client,
    /// The certificate authorities a database's certificate must chain to, as PEM.
    roots_pem: String,
}

fn store_error(kind: StoreErrorKind, code: &str, message: impl Into<String>) -> StoreError {
    StoreError::new(kind, code, message.into())
}

impl SqlStore {
    /// Secrets Manager from `conf` (the SDK configuration every client of the task uses); the
    /// RDS bundle plus `extra_ca_pem` as the trusted certificate authorities.
    pub fn new(conf: &aws_config::SdkConfig, extra_ca_pem: Option<&str>) -> SqlStore {
        // one provider for every TLS session: ring, as the SDK's own HTTP client
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut roots_pem = RDS_CA_BUNDLE.to_string();
        if let Some(extra) = extra_ca_pem {
            roots_pem.push('\n');
            roots_pem.push_str(extra);
        }
        SqlStore {
            secrets: aws_sdk_secretsmanager::Client::new(conf),
            roots_pem,
        }
    }

    fn roots(&self) -> StoreResult<Vec<CertificateDer<'static>>> {
        CertificateDer::pem_slice_iter(self.roots_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                store_error(
                    StoreErrorKind::Other,
                    "BadCertificate",
                    format!("a trusted certificate authority cannot be read: {e}"),
                )
            })
    }

    fn tls_config(&self) -> StoreResult<rustls::ClientConfig> {
        let mut store = rustls::RootCertStore::empty();
        for cert in self.roots()? {
            store
                .add(cert)
                .map_err(|e| store_error(StoreErrorKind::Other, "BadCertificate", e.to_string()))?;
        }
        Ok(rustls::ClientConfig::builder()
            .with_root_certificates(store)
            .with_no_client_auth())
    }

    async fn postgres(
        &self,
        target: &SqlTarget,
        login: &Credentials,
        setup: &[String],
        queries: &[String],
    ) -> StoreResult<Vec<Answer>> {
        let mut config = tokio_postgres::Config::new();
        config
            .host(&target.host)
            .port(target.port)
            .dbname(&target.database)
            .user(&login.username)
            .password(login.password.expose())
            .application_name("rds-failsafe validate-drill")
            // TLS or nothing; the connector verifies the chain and the host name
            .ssl_mode(tokio_postgres::config::SslMode::Require)
            .connect_timeout(CONNECT_TIMEOUT);
        let tls = tokio_postgres_rustls::MakeRustlsConnect::new(self.tls_config()?);
        let (client, connection) = tokio::time::timeout(CONNECT_TIMEOUT, config.connect(tls))
            .await
            .map_err(|_| refused(format!("no session within {} s", CONNECT_TIMEOUT.as_secs())))?
            .map_err(|e| refused(pg_message(&e)))?;
        let connection = tokio::spawn(connection);
        let within = answer_within(target);
        // one statement's messages, or the session stalled
        let run = |sql: &str| {
            let (client, sql) = (&client, sql.to_string());
            async move {
                tokio::time::timeout(within, client.simple_query(&sql))
                    .await
                    .map_err(|_| stalled(target, &sql))
            }
        };
        // a statement that must succeed, or the session is refused naming it
        let exec = |sql: &str| {
            let (answer, sql) = (run(sql), sql.to_string());
            async move {
                answer
                    .await?
                    .map(drop)
                    .map_err(|e| refused(format!("{sql}: {}", pg_message(&e))))
            }
        };
        for statement in setup {
            exec(statement).await?;
        }
        let [begin, end] = target.dialect.check_transaction();
        let mut answers = Vec::with_capacity(queries.len());
        for q in queries {
            exec(begin).await?;
            let answer = run(q).await?;
            exec(end).await?;
            answers.push(match answer {
                Ok(messages) => Ok(messages
                    .iter()
                    .filter_map(|m| match m {
                        tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                            (0..row.len())
                                .map(|i| row.get(i).map(str::to_string))
                                .collect(),
                        ),
                        _ => None,
                    })
                    .collect()),
                Err(e) => Err(pg_message(&e)),
            });
        }
        drop(client);
        let _ = connection.await;
        Ok(answers)
    }

    async fn mysql(
        &self,
        target: &SqlTarget,
        login: &Credentials,
        setup: &[String],
        queries: &[String],
    ) -> StoreResult<Vec<Answer>> {
        use mysql_async::prelude::Queryable;
        let roots = self
            .roots()?
            .into_iter()
            .map(|c| c.as_ref().to_vec().into())
            .collect();
        let ssl = mysql_async::SslOpts::default()
            .with_root_certs(roots)
            // only RDS's authorities (and DRILL_EXTRA_CA), not the public web's
            .with_disable_built_in_roots(true);
        let opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname(target.host.clone())
            .tcp_port(target.port)
            .db_name(Some(target.database.clone()))
            .user(Some(login.username.clone()))
            .pass(Some(login.password.expose().to_string()))
            .ssl_opts(Some(ssl))
            .prefer_socket(false);
        let mut conn = tokio::time::timeout(CONNECT_TIMEOUT, mysql_async::Conn::new(opts))
            .await
            .map_err(|_| refused(format!("no session within {} s", CONNECT_TIMEOUT.as_secs())))?
            .map_err(|e| refused(e.to_string()))?;
        for statement in setup {
            mysql_exec(&mut conn, target, statement).await?;
        }
        let [begin, end] = target.dialect.check_transaction();
        let mut answers = Vec::with_capacity(queries.len());
        for q in queries {
            mysql_exec(&mut conn, target, begin).await?;
            let answer = tokio::time::timeout(
                answer_within(target),
                conn.query::<mysql_async::Row, _>(q.as_str()),
            )
            .await
            .map_err(|_| stalled(target, q))?;
            mysql_exec(&mut conn, target, end).await?;
            answers.push(match answer {
                Ok(rows) => Ok(rows
                    .into_iter()
                    .map(|row| {
                        row.unwrap()
                            .into_iter()
                            .map(|v| match v {
                                mysql_async::Value::NULL => None,
                                mysql_async::Value::Bytes(b) => {
                                    Some(String::from_utf8_lossy(&b).into_owned())
                                }
                                other => Some(other.as_sql(true).trim_matches('\'').to_string()),
                            })
                            .collect()
                    })
                    .collect()),
                Err(e) => Err(e.to_string()),
            });
        }
        let _ = conn.disconnect().await;
        Ok(answers)
    }
}

/// A MySQL/MariaDB statement that must succeed, or the session is refused (or stalled) naming it.
async fn mysql_exec(
    conn: &mut mysql_async::Conn,
    target: &SqlTarget,
    sql: &str,
) -> StoreResult<()> {
    use mysql_async::prelude::Queryable;
    tokio::time::timeout(answer_within(target), conn.query_drop(sql))
        .await
        .map_err(|_| stalled(target, sql))?
        .map_err(|e| refused(format!("{sql}: {e}")))
}

fn refused(message: String) -> StoreError {
    store_error(StoreErrorKind::Other, "SessionFailed", message)
}

/// A PostgreSQL error as the server said it (`ERROR: relation "x" does not exist`), or the
/// client's (connection refused, certificate not trusted).
fn pg_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            text
        }
    }
}

#[async_trait]
impl SecretReads for SqlStore {
    /// The master secret RDS keeps: `{"username": ..., "password": ...}` (RDS User Guide,
    /// "Password management with Amazon RDS and AWS Secrets Manager").
    async fn master_credentials(&self, secret_arn: &str) -> StoreResult<Credentials> {
        let out = self
            .secrets
            .get_secret_value()
            .secret_id(secret_arn)
            .send()
            .await
            .map_err(|e| {
                let code = aws_sdk_secretsmanager::error::ProvideErrorMetadata::code(&e)
                    .unwrap_or("Unknown")
                    .to_string();
                let kind = match code.as_str() {
                    "ResourceNotFoundException" => StoreErrorKind::NotFound,
                    "ThrottlingException" => StoreErrorKind::Throttled,
                    "InternalServiceError" => StoreErrorKind::Transient,
                    _ => StoreErrorKind::Other,
                };
                store_error(kind, &code, format!("GetSecretValue {secret_arn}: {code}"))
            })?;
        let text = out.secret_string().unwrap_or_default();
        let value: serde_json::Value = serde_json::from_str(text).map_err(|_| {
            // never the text itself: it holds the password
            store_error(
                StoreErrorKind::Other,
                "BadSecret",
                format!("secret {secret_arn} is not JSON"),
            )
        })?;
        match (value["username"].as_str(), value["password"].as_str()) {
            (Some(u), Some(p)) => Ok(Credentials {
                username: u.to_string(),
                password: Password::new(p),
            }),
            _ => Err(store_error(
                StoreErrorKind::Other,
                "BadSecret",
                format!("secret {secret_arn} has no username and password"),
            )),
        }
    }
}

#[async_trait]
impl SqlQueries for SqlStore {
    async fn run_queries(
        &self,
        target: &SqlTarget,
        login: &Credentials,
        setup: &[String],
        queries: &[String],
    ) -> StoreResult<Vec<Answer>> {
        match target.dialect {
            Dialect::Postgres => self.postgres(target, login, setup, queries).await,
            Dialect::Mysql | Dialect::Mariadb => self.mysql(target, login, setup, queries).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rds_bundle_is_read_whole_and_an_extra_authority_is_added() {
        let conf = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let store = SqlStore::new(&conf, None);
        let n = store.roots().unwrap().len();
        assert_eq!(
            n,
            RDS_CA_BUNDLE.matches("-----BEGIN CERTIFICATE-----").count()
        );
        assert!(n > 50, "{n}");
        assert!(store.tls_config().is_ok());
        let extra = RDS_CA_BUNDLE
            .split("-----END CERTIFICATE-----")
            .next()
            .unwrap()
            .to_string()
            + "-----END CERTIFICATE-----\n";
        assert_eq!(
            SqlStore::new(&conf, Some(&extra)).roots().unwrap().len(),
            n + 1
        );
        let broken = SqlStore::new(
            &conf,
            Some("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"),
        );
        assert!(broken.roots().is_err());
    }
}
