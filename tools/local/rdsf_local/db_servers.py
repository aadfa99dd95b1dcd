"""Drill databases that answer: the emulator's restored DB instances and clusters point at real
database servers the tests start on 127.0.0.1 (issue 26), so `validate-drill` connects, logs in
and queries over TLS as it would on AWS.

- `register(family, server)`: the server of an engine family (`postgres`: postgres and
  aurora-postgresql; `mysql`: mysql, mariadb, aurora-mysql), with how to run SQL on it as its
  administrator (`admin`: an argv that reads SQL on stdin).
- A restored database of a registered family reports the server's address and port as its
  endpoint (the server's certificate names `localhost`, as RDS's names the endpoint).
- `ModifyDBInstance` / `ModifyDBCluster` with `ManageMasterUserPassword`: as RDS (ModifyDBInstance
  API reference; RDS User Guide, "Password management with Amazon RDS and AWS Secrets Manager"):
  refused unless the database is `available` (`InvalidDBInstanceState` / `InvalidDBClusterStateFault`),
  then `resetting-master-credentials` for a look, a new random password set on the server for the
  master user, and kept in the secret RDS creates (`{"username", "password"}`; stock moto writes a
  fixed `P@55w0rd!`). Deleting the database takes the password off the server again: a drill's
  login works only while its database exists.
- `passwords()`: every password set, for the tests that look for them where they must not be.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import threading

from moto.rds.exceptions import RDSClientError
from moto.rds.models import DBCluster, DBInstance, RDSBackend

FAMILIES = {"postgres": "postgres", "aurora-postgresql": "postgres",
            "mysql": "mysql", "mariadb": "mysql", "aurora-mysql": "mysql"}

_lock = threading.RLock()
_servers: dict[str, dict] = {}
_passwords: list[str] = []


def register(family: str, server: dict) -> None:
    with _lock:
        _servers[family] = server


def reset() -> None:
    with _lock:
        _servers.clear()
        _passwords.clear()


def passwords() -> list[str]:
    with _lock:
        return list(_passwords)


def _server(engine: str) -> dict | None:
    return _servers.get(FAMILIES.get(engine or "", ""))


def _admin_sql(server: dict, sql: str) -> None:
    done = subprocess.run(server["admin"], input=sql, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"rdsf db_servers: {server['admin'][0]}: {done.stderr.strip()}")


def _set_password(engine: str, user: str, password: str | None) -> None:
    server = _server(engine)
    if server is None:
        return
    if FAMILIES[engine] == "postgres":
        pw = "NULL" if password is None else f"'{password}'"
        _admin_sql(server, f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{user}') "
                           f"THEN CREATE ROLE \"{user}\" LOGIN; END IF; END $$;\n"
                           f"ALTER ROLE \"{user}\" WITH LOGIN PASSWORD {pw};\n"
                           f"GRANT pg_read_all_data TO \"{user}\";\n")
    else:
        if password is None:
            _admin_sql(server, f"DROP USER IF EXISTS '{user}'@'%';\n")
        else:
            _admin_sql(server, f"CREATE OR REPLACE USER '{user}'@'%' IDENTIFIED BY '{password}' REQUIRE SSL;\n"
                               f"GRANT SELECT ON *.* TO '{user}'@'%';\n")


_stock_address = DBInstance.address
_stock_cluster_endpoint = DBCluster.endpoint
_stock_modify_instance = RDSBackend.modify_db_instance
_stock_modify_cluster = RDSBackend.modify_db_cluster
_stock_delete_instance = RDSBackend.delete_db_instance
_stock_delete_cluster = RDSBackend.delete_db_cluster


def _instance_address(self) -> str:
    server = _server(self.engine)
    return server["host"] if server else _stock_address.fget(self)


def _cluster_endpoint(self) -> str:
    server = _server(self.engine)
    return server["host"] if server else _stock_cluster_endpoint.fget(self)


def _managed(db, engine: str) -> None:
    """After RDS created the secret: a new password on the server and in the secret."""
    from .rds_rules import STATE
    server = _server(engine)
    if server is None:
        return
    password = secrets.token_urlsafe(24)
    _set_password(engine, db.master_username, password)
    secret = db.master_user_secret.secret
    db.backend.secretsmanager.put_secret_value(
        secret.arn, json.dumps({"username": db.master_username, "password": password}), None, None, ["AWSCURRENT"])
    with _lock:
        _passwords.append(password)
    with STATE.lock:  # RDS resets the credentials: not available at the next look
        db.status = "resetting-master-credentials"
        STATE.restoring[id(db)] = [2, "available"]


def modify_db_instance(self, db_instance_identifier, db_kwargs):
    db = self.describe_db_instances(db_instance_identifier)[0]
    manage = db_kwargs.get("manage_master_user_password")
    if manage and db.status != "available":
        raise RDSClientError("InvalidDBInstanceState", f"DB instance {db_instance_identifier} is {db.status}, not available")
    out = _stock_modify_instance(self, db_instance_identifier, db_kwargs)
    if manage:
        if _server(db.engine):
            db.port = _server(db.engine)["port"]
        _managed(out, out.engine)
    return out


def modify_db_cluster(self, kwargs):
    cluster = self.describe_db_clusters(kwargs["db_cluster_identifier"])[0]
    manage = kwargs.get("manage_master_user_password")
    if manage and cluster.status != "available":
        raise RDSClientError("InvalidDBClusterStateFault", f"DB cluster {cluster.db_cluster_identifier} is {cluster.status}, not available")
    out = _stock_modify_cluster(self, kwargs)
    if manage:
        if _server(out.engine):
            out.port = _server(out.engine)["port"]
        _managed(out, out.engine)
    return out


def _revoke(db) -> None:
    if getattr(db, "master_user_secret", None) is not None and _server(db.engine):
        _set_password(db.engine, db.master_username, None)


def delete_db_instance(self, db_instance_identifier, *args, **kwargs):
    db = self.databases.get(db_instance_identifier)
    out = _stock_delete_instance(self, db_instance_identifier, *args, **kwargs)
    if db is not None:
        _revoke(db)
    return out


def delete_db_cluster(self, cluster_identifier, *args, **kwargs):
    cluster = self.clusters.get(cluster_identifier)
    out = _stock_delete_cluster(self, cluster_identifier, *args, **kwargs)
    if cluster is not None:
        _revoke(cluster)
    return out


def _restored(restore):
    def restore_on_server(self, from_snapshot_id, overrides):
        db = restore(self, from_snapshot_id, overrides)
        server = _server(db.engine)
        if server is not None:
            db.port = server["port"]
        return db
    return restore_on_server


def install() -> None:
    """After rds_rules.install(): wraps its restores."""
    RDSBackend.restore_db_instance_from_db_snapshot = _restored(RDSBackend.restore_db_instance_from_db_snapshot)
    RDSBackend.restore_db_cluster_from_snapshot = _restored(RDSBackend.restore_db_cluster_from_snapshot)
    DBInstance.address = property(_instance_address)
    DBCluster.endpoint = property(_cluster_endpoint)
    RDSBackend.modify_db_instance = modify_db_instance
    RDSBackend.modify_db_cluster = modify_db_cluster
    RDSBackend.delete_db_instance = delete_db_instance
    RDSBackend.delete_db_cluster = delete_db_cluster
