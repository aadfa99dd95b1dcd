"""rds-failsafe "deployed" into the local stack: what CDK creates in AWS (keys, topic, queue,
state machine, Lambda configuration), created here through the emulator's APIs, plus the
operations a day brings: the Live schedule, the SNS trigger path, the Failsafe run.

The trigger path is the real one: `notify` publishes to the Failsafe topic; the topic delivers to an
SQS queue subscribed to it; each queued message is handed to `start-failsafe` as an SNS event; the
executions that starts (recorded by the emulated Step Functions) run through failsafe.asl.json.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .stack import FAILSAFE_FUNCTIONS, LIVE_FUNCTIONS, Account, LambdaHost, LocalStack


def key_policy(owner: str, grant_to: list[str]) -> str:
    """A customer-managed key's policy: the owner administers it; `grant_to` accounts get exactly
    what a cross-account snapshot copy needs (the CDK share key has the same grant)."""
    statements: list[dict[str, Any]] = [{
        "Sid": "Owner", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{owner}:root"}, "Action": "kms:*", "Resource": "*",
    }]
    if grant_to:
        statements.append({
            "Sid": "FailsafeCopy", "Effect": "Allow",
            "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in grant_to]},
            "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant"], "Resource": "*",
        })
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def create_key(account: Account, alias: str, grant_to: list[str] | None = None,
               region: str | None = None) -> str:
    kms = account.client("kms", region)
    key = kms.create_key(Policy=key_policy(account.id, grant_to or []),
                         Description=alias)["KeyMetadata"]
    kms.create_alias(AliasName=f"alias/{alias}", TargetKeyId=key["KeyId"])
    return key["Arn"]


def aws_rds_key(account: Account, region: str | None = None) -> str:
    return account.client("kms", region).describe_key(KeyId="alias/aws/rds")["KeyMetadata"]["Arn"]


def create_source(account: Account, kind: str, source_id: str, encryption: str = "none",
                  engine: str | None = None, tags: dict[str, str] | None = None,
                  region: str | None = None) -> None:
    """A DB instance or Aurora cluster. encryption: none | aws-rds | <key ARN or alias>."""
    rds = account.client("rds", region)
    enc: dict[str, Any] = {}
    if encryption != "none":
        enc["StorageEncrypted"] = True
        if encryption != "aws-rds":
            enc["KmsKeyId"] = encryption
    tag_list = [{"Key": k, "Value": v} for k, v in (tags or {}).items()]
    if kind == "cluster":
        rds.create_db_cluster(DBClusterIdentifier=source_id, Engine=engine or "aurora-postgresql",
                              MasterUsername="admin", MasterUserPassword="not-a-secret-1",
                              Tags=tag_list, **enc)
    else:
        rds.create_db_instance(DBInstanceIdentifier=source_id, Engine=engine or "postgres",
                               DBInstanceClass="db.t4g.micro", AllocatedStorage=20,
                               MasterUsername="admin", MasterUserPassword="not-a-secret-1",
                               Tags=tag_list, **enc)


@dataclass
class Execution:
    side: str  # "live" | "failsafe"
    name: str
    start_time: str
    input: Any
    result: dict

    @property
    def status(self) -> str:
        return self.result["status"]

    def summary(self) -> dict:
        out = self.result.get("output") or {}
        return {
            "side": self.side, "name": self.name, "startTime": self.start_time,
            "status": self.status, "error": self.result.get("error"),
            "cause": self.result.get("cause"),
            "summary": out.get("summary") if isinstance(out, dict) else None,
            "statesEntered": len(self.result.get("statesEntered", [])),
        }


@dataclass
class Deployment:
    stack: LocalStack
    live: Account
    failsafe: Account
    live_config: dict[str, str]
    failsafe_config: dict[str, str]
    queue_url: str
    topic_arn: str
    state_machine_arn: str
    share_key_arn: str
    failsafe_key_arn: str
    live_host: LambdaHost | None = None
    failsafe_host: LambdaHost | None = None
    executions: list[Execution] = field(default_factory=list)
    triggers: list[dict] = field(default_factory=list)

    # -- setup ----------------------------------------------------------------------------

    @classmethod
    def create(cls, stack: LocalStack, live: Account, failsafe: Account, *,
               sources: str = "all", share_key_grants_failsafe: bool = True,
               live_keep: int = 2, retention: dict[str, str] | None = None,
               extra_live: dict[str, str] | None = None,
               extra_failsafe: dict[str, str] | None = None) -> "Deployment":
        """Creates what the two CDK stacks would: the share key (granting the Failsafe account
        unless told not to), the Failsafe key, topic, queue subscription and state machine. Each
        account's resources are made in its own region (`live.region`, `failsafe.region`)."""
        share_key = create_key(live, "rds-failsafe-share",
                               [failsafe.id] if share_key_grants_failsafe else [])
        failsafe_key = create_key(failsafe, "rds-failsafe")
        sns = failsafe.client("sns")
        topic = sns.create_topic(Name="rds-failsafe")["TopicArn"]
        sqs = failsafe.client("sqs")
        queue_url = sqs.create_queue(QueueName="rds-failsafe-trigger")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        sfn = failsafe.client("stepfunctions")
        with open(stack_root() / "statemachines" / "failsafe.asl.json") as f:
            definition = f.read()
        sm = sfn.create_state_machine(
            name="rds-failsafe", definition=definition,
            roleArn=f"arn:aws:iam::{failsafe.id}:role/rds-failsafe-sfn")["stateMachineArn"]
        live_config = {
            "ACCOUNT_ID": live.id,
            "FAILSAFE_ACCOUNTS": failsafe.id,
            "FAILSAFE_TOPIC_ARNS": topic,
            "SHARE_KMS_KEY_ARN": share_key,
            "SOURCES": sources,
            "LIVE_KEEP": str(live_keep),
            **(extra_live or {}),
        }
        failsafe_config = {
            "ACCOUNT_ID": failsafe.id,
            "SOURCE_ACCOUNTS": live.id,
            # as CDK sets it from liveRegion: shared snapshots are visible only in their region
            "SOURCE_REGIONS": live.region,
            "FAILSAFE_KMS_KEY_ARN": failsafe_key,
            "STATE_MACHINE_ARN": sm,
            **(retention or {}),
            **(extra_failsafe or {}),
        }
        return cls(stack, live, failsafe, live_config, failsafe_config, queue_url, topic, sm,
                   share_key, failsafe_key)

    def start(self) -> "Deployment":
        self.stop()
        self.live_host = self.stack.start_lambdas(self.live, self.live_config, "live")
        self.failsafe_host = self.stack.start_lambdas(self.failsafe, self.failsafe_config, "failsafe")
        return self

    def stop(self) -> None:
        self.stack.stop_lambdas()
        self.live_host = self.failsafe_host = None

    # -- runs -----------------------------------------------------------------------------

    def run_live(self, start_time: str, input: Any = None, name: str | None = None) -> Execution:
        """A Live execution, as the daily schedule (or an operator's re-run) starts it."""
        return self._run("live", start_time, input, name or "live")

    def run_failsafe(self, start_time: str, input: Any = None, name: str | None = None) -> Execution:
        """A Failsafe execution, as the backstop schedule starts it (or as the trigger did)."""
        return self._run("failsafe", start_time, input, name or "backstop")

    def _run(self, side: str, start_time: str, input: Any, name: str) -> Execution:
        host = self.live_host if side == "live" else self.failsafe_host
        assert host, "call start() first"
        if name in ("live", "backstop"):
            name = f"{name}-{start_time[:16].replace(':', '')}-{len(self.executions)}"
        functions = LIVE_FUNCTIONS if side == "live" else FAILSAFE_FUNCTIONS
        res = self.stack.run_state_machine(f"statemachines/{side}.asl.json", functions, host,
                                           input, start_time, name)
        ex = Execution(side, name, start_time, input, res)
        self.executions.append(ex)
        return ex

    def deliver(self) -> list[dict]:
        """Moves every message on the trigger queue to `start-failsafe` as an SNS event (what the
        SNS -> Lambda subscription does in AWS); returns start-failsafe's answers."""
        assert self.failsafe_host
        sqs = self.failsafe.client("sqs")
        answers = []
        while True:
            got = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                      WaitTimeSeconds=0).get("Messages", [])
            if not got:
                break
            for m in got:
                envelope = json.loads(m["Body"])  # the SNS notification SQS received
                answers.append(self.invoke_trigger(sns_event(envelope)))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        return answers

    def invoke_trigger(self, event: dict) -> dict:
        assert self.failsafe_host
        ok, body = self.failsafe_host.invoke("start-failsafe", event)
        answer = {"ok": ok, "body": body}
        self.triggers.append(answer)
        return answer

    def run_started(self, start_time: str) -> list[Execution]:
        """Runs every execution `start-failsafe` started that has not run yet, through
        failsafe.asl.json with the input it was started with; records the outcome in the
        emulated Step Functions."""
        sfn = self.failsafe.client("stepfunctions")
        ran = []
        for e in sfn.list_executions(stateMachineArn=self.state_machine_arn,
                                     statusFilter="RUNNING")["executions"]:
            detail = sfn.describe_execution(executionArn=e["executionArn"])
            ex = self.run_failsafe(start_time, json.loads(detail.get("input") or "{}"),
                                   name=e["name"])
            self.stack.control("finish-execution", {
                "executionArn": e["executionArn"], "status": ex.status,
                "output": ex.result.get("output"),
            })
            ran.append(ex)
        return ran

    def day(self, live_time: str, failsafe_time: str, live_input: Any = None) -> dict:
        """One day as deployed: the Live schedule, the trigger, and the triggered Failsafe run."""
        live = self.run_live(live_time, live_input)
        triggers = self.deliver()
        failsafe = self.run_started(failsafe_time)
        return {"live": live, "triggers": triggers, "failsafe": failsafe}

    # -- reading the world back -----------------------------------------------------------

    def snapshots(self, account: Account | None = None, **match: Any) -> list[dict]:
        out = self.stack.world()
        if account is not None:
            out = [s for s in out if s["account"] == account.id]
        return [s for s in out if all(s.get(k) == v for k, v in match.items())]


def sns_event(envelope: dict) -> dict:
    """The event Lambda receives from an SNS subscription, built from the notification SNS
    delivered to SQS (same fields, Lambda's casing)."""
    return {"Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": f"{envelope.get('TopicArn', '')}:{uuid.uuid4()}",
        "Sns": {
            "Type": envelope.get("Type", "Notification"),
            "MessageId": envelope.get("MessageId", str(uuid.uuid4())),
            "TopicArn": envelope.get("TopicArn", ""),
            "Subject": envelope.get("Subject"),
            "Message": envelope["Message"],
            "Timestamp": envelope.get("Timestamp", datetime.now(timezone.utc).isoformat()),
            "MessageAttributes": envelope.get("MessageAttributes", {}),
        },
    }]}


def stack_root():
    from .stack import ROOT

    return ROOT
