"""Records every AWS call the task Lambdas make through the emulator, for the policy proof
(tests/policy/): which task made it, in which account and region, the operation, its parameters,
and what IAM evaluates besides them, read from the emulated world at the moment of the call —
each named snapshot's ARN, tags and KMS key, and the key of a topic a message is published to.

A task is known by its User-Agent: every task Lambda's SDK clients carry `app/rdsf-<task>`
(`AwsStore::from_env`). Calls without it (the tests' own seeding and reading) and the operator's `rdsf`
(app/rdsf-cli, see NOT_TASKS) are not recorded.
The emulator turns recording on with the control API `record` ({"file", "deployment"}).
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any
from urllib.parse import parse_qs

from moto.kms.models import kms_backends
from moto.rds.models import rds_backends
from moto.sns.models import sns_backends

_APP = re.compile(r"(?:^|\s)app/rdsf-([a-z-]+)(?:\s|$)")
CREDENTIAL_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")

# Parameters naming a snapshot: name -> cluster snapshot?
SNAPSHOT_PARAMS = {
    "DBSnapshotIdentifier": False,
    "SourceDBSnapshotIdentifier": False,
    "TargetDBSnapshotIdentifier": False,
    "DBClusterSnapshotIdentifier": True,
    "SourceDBClusterSnapshotIdentifier": True,
    "TargetDBClusterSnapshotIdentifier": True,
    "SnapshotIdentifier": True,  # RestoreDBClusterFromSnapshot
}
# Parameters naming a DB instance or cluster: name -> cluster?
DB_PARAMS = {"DBInstanceIdentifier": False, "DBClusterIdentifier": True}


# `rdsf` (app/rdsf-cli) runs as the operator's own role, not one of the deployment's task roles:
# its calls are not the tool's, so the policy proof has no role to judge them by; except its tag
# writes (`rdsf hold`, `rdsf release`), which the guardrails reserve for break-glass: those are
# recorded as task "cli" with the role that made them (`principal`), for the proof to judge.
NOT_TASKS = {"cli"}
OPERATOR_CALLS = {"AddTagsToResource", "RemoveTagsFromResource"}


def _role_of(access_key: str, account: str) -> str | None:
    """The role whose session an access key belongs to (the emulator's STS), or None."""
    from moto.sts.models import sts_backends

    for partition in sts_backends[account].values():
        role = partition.get_assumed_role_from_access_key(access_key)
        if role is not None:
            return role.role_arn
    return None


def task_of(user_agent: str) -> str | None:
    m = _APP.search(user_agent or "")
    return m.group(1) if m and m.group(1) not in NOT_TASKS else None


def _params(environ, body: bytes) -> dict[str, Any]:
    if environ.get("HTTP_X_AMZ_TARGET"):
        try:
            return json.loads(body or b"{}")
        except ValueError:
            return {}
    return {k: v[0] for k, v in parse_qs(body.decode(errors="replace")).items() if k != "Action"}


def _snapshot(account: str, region: str, identifier: str, cluster: bool) -> dict[str, Any]:
    """A snapshot named by id (in the caller's account and region) or by ARN (anywhere), as IAM
    sees it: its ARN, and if it exists its tags and key."""
    if identifier.startswith("arn:"):
        parts = identifier.split(":", 6)
        region, account, cluster, name = parts[3], parts[4], parts[5] == "cluster-snapshot", parts[6]
    else:
        name = identifier
    kind = "cluster-snapshot" if cluster else "snapshot"
    out: dict[str, Any] = {"arn": f"arn:aws:rds:{region}:{account}:{kind}:{name}"}
    try:
        backend = rds_backends[account][region]
    except KeyError:
        return out
    snap = (backend.cluster_snapshots if cluster else backend.database_snapshots).get(name)
    if snap is not None:
        out.update(tags={t["Key"]: t["Value"] for t in snap.tags or []},
                   kmsKeyId=snap.kms_key_id if snap.encrypted else None)
    return out


def _db(account: str, region: str, identifier: str, cluster: bool) -> dict[str, Any]:
    """A DB instance or cluster named by id, as IAM sees it: its ARN and, if it exists, its tags
    (a drill's delete is allowed only on `rds-failsafe:drill=true`)."""
    kind = "cluster" if cluster else "db"
    out: dict[str, Any] = {"arn": f"arn:aws:rds:{region}:{account}:{kind}:{identifier}"}
    try:
        backend = rds_backends[account][region]
    except KeyError:
        return out
    db = (backend.clusters if cluster else backend.databases).get(identifier)
    if db is not None:
        out["tags"] = {t["Key"]: t["Value"] for t in db.tags or []}
    return out


def aws_managed_rds_key_policy(account: str, region: str) -> dict:
    """The key policy AWS gives every account's aws/rds key (moto gives it a generic one): any
    principal of the account may use it through RDS, and read its metadata directly."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "Allow access through RDS for all principals in the account that are authorized to use RDS",
         "Effect": "Allow", "Principal": {"AWS": "*"},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                    "kms:CreateGrant", "kms:ListGrants", "kms:DescribeKey"],
         "Resource": "*",
         "Condition": {"StringEquals": {"kms:CallerAccount": account,
                                        "kms:ViaService": f"rds.{region}.amazonaws.com"}}},
        {"Sid": "Allow direct access to key metadata to the account", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
         "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"], "Resource": "*"},
    ]}


def _key(account: str, region: str, key: str | None) -> dict[str, Any] | None:
    """A KMS key as the call found it: its ARN and key policy."""
    if not key:
        return None
    from .rds_rules import is_aws_managed_key, resolve_key_arn

    try:
        arn = resolve_key_arn(account, region, key)
        k_region, k_account = arn.split(":")[3], arn.split(":")[4]
        found = kms_backends[k_account][k_region].describe_key(arn.split("/", 1)[1])
    except Exception:  # noqa: BLE001 - a key that does not resolve is recorded as given
        return {"arn": key, "policy": None}
    if is_aws_managed_key(found.arn):
        return {"arn": found.arn, "policy": aws_managed_rds_key_policy(k_account, k_region)}
    return {"arn": found.arn, "policy": json.loads(found.policy or "null")}


def _topic(arn: str):
    """The topic a publish names, if the emulator has it."""
    parts = arn.split(":")
    try:
        return sns_backends[parts[4]][parts[3]].topics.get(arn)
    except (KeyError, IndexError):
        return None


def _secret(account: str, region: str, secret_id: str) -> dict[str, Any]:
    """A secret as IAM sees it: its ARN and tags (validate-drill may read only the master
    secrets RDS keeps for drill databases, which their `aws:rds:primaryDB…Arn` tag names)."""
    from moto.secretsmanager.models import secretsmanager_backends

    out: dict[str, Any] = {"arn": secret_id}
    try:
        secret = secretsmanager_backends[account][region].secrets.get(secret_id)
    except KeyError:
        return out
    if secret is not None:
        out = {"arn": secret.arn, "tags": {t["Key"]: t["Value"] for t in secret.tags or []}}
    return out


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.path: str | None = None
        self.deployment: str | None = None
        # account -> deployment, for the accounts of a further Live deployment (several Live
        # accounts sending to one Failsafe account); the others' calls go to `deployment`
        self.by_account: dict[str, str] = {}

    def configure(self, req: dict) -> dict:
        with self.lock:
            self.path = req.get("file") or None
            self.deployment = req.get("deployment")
            self.by_account = dict(req.get("byAccount") or {})
            return {"file": self.path, "deployment": self.deployment, "byAccount": self.by_account}

    def record(self, environ, body: bytes, operation: str | None) -> None:
        """Called inside the emulator's lock, before moto answers: the world as the call found it."""
        if not self.path or not operation:
            return
        user_agent = environ.get("HTTP_USER_AGENT", "")
        task = task_of(user_agent)
        scope = CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        operator = not task and operation in OPERATOR_CALLS and "app/rdsf-cli" in user_agent
        if not (task or operator) or not scope:
            return
        from moto.iam.models import get_account_id_from

        account = get_account_id_from(scope.group(1))
        if operator:
            task = "cli"
        region, service = scope.group(2), scope.group(3)
        params = _params(environ, body)
        entry: dict[str, Any] = {
            "deployment": self.by_account.get(account, self.deployment), "task": task,
            "account": account, "region": region,
            "service": "sfn" if service == "states" else service, "operation": operation,
            "params": params,
        }
        if operator:
            entry["principal"] = _role_of(scope.group(1), account)
        snapshots = {}
        for name, cluster in SNAPSHOT_PARAMS.items():
            if params.get(name):
                snapshots[name] = _snapshot(account, region, params[name], cluster)
        if params.get("ResourceName", "").startswith("arn:aws:rds:"):
            arn = params["ResourceName"]
            snapshots["ResourceName"] = _snapshot(account, region, arn, arn.split(":")[5] == "cluster-snapshot")
        dbs = {name: _db(account, region, params[name], cluster)
               for name, cluster in DB_PARAMS.items() if params.get(name)}
        if dbs:
            entry["dbs"] = dbs
        if entry["service"] == "secretsmanager" and params.get("SecretId"):
            entry["secret"] = _secret(account, region, params["SecretId"])
        keys = {}
        if snapshots:
            entry["snapshots"] = snapshots
            for name, snap in snapshots.items():
                if snap.get("kmsKeyId"):
                    owner = snap["arn"].split(":")
                    keys[name] = _key(owner[4], owner[3], snap["kmsKeyId"])
        if params.get("KmsKeyId"):
            keys["KmsKeyId"] = _key(account, region, params["KmsKeyId"])
        if entry["service"] == "kms" and params.get("KeyId"):  # the preflight's DescribeKey, GetKeyPolicy
            keys["KeyId"] = _key(account, region, params["KeyId"])
        topic = _topic(params["TopicArn"]) if entry["service"] == "sns" and params.get("TopicArn") else None
        if topic is not None:
            owner = topic.arn.split(":")
            keys["TopicArn"] = _key(owner[4], owner[3], topic.kms_master_key_id or None)
            entry["topic"] = {"arn": topic.arn, "policy": json.loads(topic.policy)}
        keys = {k: v for k, v in keys.items() if v}
        if keys:
            entry["keys"] = keys
        line = json.dumps(entry, sort_keys=True)
        with self.lock:
            with open(self.path, "a") as f:
                f.write(line + "\n")


RECORDER = Recorder()
