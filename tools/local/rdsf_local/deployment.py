"""rds-failsafe "deployed" into the local stack: what CDK creates in AWS (keys, topic, queue,
state machine, Lambda configuration), created here through the emulator's APIs, plus the
operations a day brings: the Live schedule, the SNS trigger path, the Failsafe run.

The trigger path is the real one: `notify` publishes to the Failsafe topic; the topic delivers to an
SQS queue subscribed to it; each queued message is handed to `start-failsafe` as an SNS event; the
executions that starts (recorded by the emulated Step Functions) run through failsafe.asl.json.
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .stack import DRILL_FUNCTIONS, FAILSAFE_FUNCTIONS, LIVE_FUNCTIONS, ROOT, Account, LambdaHost, LocalStack
from .templates import (Resolver, environment, guardrails, output_ref, resources, role_policies,
                        synthesize, task_functions)

# The Organizations management account that deploys the guardrails on each Failsafe account
# (cdk.json `guardrails`): every deployment here has them, as docs/security.md recommends.
MANAGEMENT_ACCOUNT = "555555555555"


def key_policy(owner: str, grant_to: list[str]) -> str:
    """The policy of a database's own customer-managed key (the tests' estate, not the tool's):
    the owner administers it; `grant_to` accounts may use it for a cross-account snapshot copy."""
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


def deploy_guardrails(management: Account, template: dict) -> dict[str, str]:
    """The guardrails stack as CloudFormation creates it in the Organizations management account:
    each `AWS::Organizations::Policy` of the synthesized template created and attached to its
    targets (the emulator's Organizations; the caller made the organization and its OUs).
    {policy name: policy id}. Nothing here enforces them: the policy proof evaluates them."""
    org = management.client("organizations")
    ids = {}
    for r in resources(template, "AWS::Organizations::Policy").values():
        p = r["Properties"]
        policy = org.create_policy(Name=p["Name"], Type=p["Type"], Description=p.get("Description", ""),
                                   Content=json.dumps(p["Content"]))["Policy"]["PolicySummary"]
        for target in p["TargetIds"]:
            org.attach_policy(PolicyId=policy["Id"], TargetId=target)
        ids[p["Name"]] = policy["Id"]
    return ids


def aws_rds_key(account: Account, region: str | None = None) -> str:
    return account.client("kms", region).describe_key(KeyId="alias/aws/rds")["KeyMetadata"]["Arn"]


def create_source(account: Account, kind: str, source_id: str, encryption: str = "none",
                  engine: str | None = None, tags: dict[str, str] | None = None,
                  region: str | None = None, engine_version: str | None = None) -> None:
    """A DB instance or Aurora cluster. encryption: none | aws-rds | <key ARN or alias>.
    `engine_version`: needed for an engine stock moto has no default version of (mariadb)."""
    rds = account.client("rds", region)
    enc: dict[str, Any] = {}
    if encryption != "none":
        enc["StorageEncrypted"] = True
        if encryption != "aws-rds":
            enc["KmsKeyId"] = encryption
    tag_list = [{"Key": k, "Value": v} for k, v in (tags or {}).items()]
    if engine_version:
        enc["EngineVersion"] = engine_version
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
    deployment_id: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    failsafe_side: dict | None = None  # the Failsafe stack as the policy proof reads it
    guardrails: dict | None = None  # the management account's SCP and RCP on the Failsafe account
    live_side: dict | None = None  # the Live stack as the policy proof reads it
    other_failsafes: list["Deployment"] = field(default_factory=list)
    other_lives: list["OtherLive"] = field(default_factory=list)
    # what each side's schedule starts its runs with (the template's Schedule Target Input): a
    # run started without input here is started as the schedule starts it
    live_schedule_input: dict = field(default_factory=dict)
    failsafe_schedule_input: dict = field(default_factory=dict)
    # the Live side's cadence schedules: (times of day, input) each (TemplateSide.cadences)
    live_cadences: list = field(default_factory=list)
    # what CDK synthesized for this deployment, {"live": ..., "failsafe": ...} (e.g. its alarms)
    templates: dict = field(default_factory=dict)

    # -- setup ----------------------------------------------------------------------------

    @classmethod
    def create(cls, stack: LocalStack, live: Account, failsafe: Account, *,
               context: dict[str, Any] | None = None, share_key_grants_failsafe: bool = True,
               env_overrides: dict[str, dict[str, str]] | None = None) -> "Deployment":
        """Deploys what the CDK app synthesizes for these accounts and `context` (fields of
        cdk.json's `rds-failsafe` object; sources default to ["all"]): every KMS key with its key
        policy, every topic with its policy and key, the Failsafe state machine, and each
        account's function environment, all read from the templates. The Lambda subscription of
        the trigger topic is an SQS queue here (`deliver` hands its messages to start-failsafe).

        Two deliberate misconfigurations, which CDK cannot produce, for the cases that show what
        they do: `share_key_grants_failsafe=False` deploys the share key's policy without its
        statements for the Failsafe account (case f), and `env_overrides` sets variables over the
        template's ({"failsafe": {"SOURCE_REGIONS": ...}}: the Failsafe looking in one region).
        The deployment is written for the policy proof (tests/policy/) under the stack's workdir,
        and the emulator attributes the task Lambdas' calls from now on to it."""
        ctx = {
            "liveAccount": live.id, "liveRegion": live.region,
            "failsafeAccount": failsafe.id, "failsafeRegion": failsafe.region,
            "sources": ["all"], "alertEmails": ["oncall@example.com"],
            "guardrails": {"managementAccount": MANAGEMENT_ACCOUNT},
            **(context or {}),
        }
        templates = synthesize(ctx)
        fs = _Side.deploy("failsafe", templates["failsafe"], failsafe)
        without = None if share_key_grants_failsafe else (output_ref(templates["live"], "ShareKeyArn"),
                                                          failsafe.id)
        lv = _Side.deploy("live", templates["live"], live, strip_principal=without)
        topic = fs.output("TopicArn")
        queue_url = _trigger_queue(failsafe, topic)
        overrides = env_overrides or {}
        live_config = {**lv.env, **overrides.get("live", {})}
        failsafe_config = {**fs.env, **overrides.get("failsafe", {})}
        d = cls(stack, live, failsafe, live_config, failsafe_config, queue_url, topic,
                fs.output("StateMachineArn"), lv.output("ShareKeyArn"), fs.output("FailsafeKeyArn"))
        d.context = ctx
        d.templates = templates
        d.live_schedule_input, d.failsafe_schedule_input = lv.schedule_input(), fs.schedule_input()
        d.live_cadences = lv.cadences()
        d.failsafe_side = fs.describe()
        d.live_side = lv.describe()
        d.guardrails = guardrails(templates.get("guardrails"), failsafe.id)
        d.deployment_id = stack.record_deployment({
            "context": ctx, "guardrails": d.guardrails,
            "sides": {"live": d.live_side, "failsafe": d.failsafe_side},
            "policyFault": None if share_key_grants_failsafe else
            "the share key's policy without its statements for the Failsafe account (case f)",
            "envOverrides": overrides,
        })
        return d

    def add_live(self, other: Account) -> "OtherLive":
        """Another Live account sending to this Failsafe account, deployed from its own copy of
        the app (docs/configuration.md: `additionalLiveAccounts`): its context names this deployment's Live
        account and region as the additional ones, and this deployment's context must name it
        (`Deployment.create(..., context={"additionalLiveAccounts": [...], "additionalLiveRegions":
        [...]})`), so that the Failsafe side deployed here lets it publish and looks in its region.
        Only its Live template is deployed; it is recorded as a deployment of its own (its Live
        side and this Failsafe side) for the policy proof. Call after start()."""
        assert self.live_host, "call start() first"
        allowed = self.context.get("additionalLiveAccounts") or []
        assert other.id in allowed, f"this deployment's additionalLiveAccounts must name {other.id}"
        ctx = {
            **self.context,
            "liveAccount": other.id, "liveRegion": other.region,
            "additionalLiveAccounts": [self.live.id] + [a for a in allowed if a != other.id],
            "additionalLiveRegions": sorted({self.live.region} | set(self.context.get("additionalLiveRegions") or [])
                                            - {other.region}),
        }
        lv = _Side.deploy("live", synthesize(ctx)["live"], other)
        ident = self.stack.record_deployment({
            "context": ctx, "guardrails": self.guardrails,
            "sides": {"live": lv.describe(), "failsafe": self.failsafe_side},
            "policyFault": None, "envOverrides": {},
        })
        o = OtherLive(self, other, lv.env, ident, schedule_input=lv.schedule_input())
        self.other_lives.append(o)
        self._record()
        o.host = self.stack.start_lambdas(other, lv.env, "live", f"live-{other.id}")
        return o

    def add_failsafe(self, other: Account) -> "Deployment":
        """Another Failsafe account of this Live account, deployed from its own copy of the app
        (docs/configuration.md: `additionalFailsafeAccounts`; this deployment's context must name it, so the Live
        stack deployed here shares with it and notifies its topic): its Failsafe stack, trigger
        queue and Lambdas. Returns a view of this deployment on that account (its `deliver`,
        `run_started`, `run_failsafe`, `snapshots`; the executions are this deployment's list),
        recorded as a deployment of its own for the policy proof. Call after start(), before the
        Live run that should reach it."""
        assert self.failsafe_host, "call start() first"
        targets = self.context.get("additionalFailsafeAccounts") or []
        assert any(t["account"] == other.id for t in targets), \
            f"this deployment's additionalFailsafeAccounts must name {other.id}"
        ctx = {
            **self.context,
            "failsafeAccount": other.id, "failsafeRegion": other.region,
            "additionalFailsafeAccounts": [{"account": self.failsafe.id, "region": self.failsafe.region}]
            + [t for t in targets if t["account"] != other.id],
        }
        templates = synthesize(ctx)
        fs = _Side.deploy("failsafe", templates["failsafe"], other)
        topic = fs.output("TopicArn")
        queue_url = _trigger_queue(other, topic)
        rails = guardrails(templates.get("guardrails"), other.id)
        ident = self.stack.record_deployment({
            "context": ctx, "guardrails": rails,
            "sides": {"live": self.live_side, "failsafe": fs.describe()},
            "policyFault": None, "envOverrides": {},
        })
        view = dataclasses.replace(
            self, failsafe=other, failsafe_config=fs.env, queue_url=queue_url, topic_arn=topic,
            state_machine_arn=fs.output("StateMachineArn"), failsafe_key_arn=fs.output("FailsafeKeyArn"),
            deployment_id=ident, executions=self.executions, triggers=self.triggers, guardrails=rails,
            other_lives=[], other_failsafes=[], failsafe_schedule_input=fs.schedule_input(),
        )
        self.other_failsafes.append(view)
        self._record()
        view.failsafe_host = self.stack.start_lambdas(other, fs.env, "failsafe", f"failsafe-{other.id}")
        return view

    def _record(self) -> None:
        by_account = {o.account.id: o.deployment_id for o in self.other_lives}
        by_account.update({f.failsafe.id: f.deployment_id for f in self.other_failsafes})
        self.stack.control("record", {
            "file": str(self.stack.calls_file), "deployment": self.deployment_id,
            "byAccount": by_account,
        })

    def start(self, release: bool = False) -> "Deployment":
        self.stop()
        self._record()
        self.live_host = self.stack.start_lambdas(self.live, self.live_config, "live", release=release)
        self.failsafe_host = self.stack.start_lambdas(self.failsafe, self.failsafe_config, "failsafe",
                                                      release=release)
        return self

    def stop(self) -> None:
        self.stack.stop_lambdas()
        self.live_host = self.failsafe_host = None

    # -- runs -----------------------------------------------------------------------------

    def run_live(self, start_time: str, input: Any = None, name: str | None = None,
                 runner: dict | None = None) -> Execution:
        """A Live execution, as the daily schedule starts it (without `input`: the schedule's
        input, as deployed), or an operator's re-run with `input`."""
        return self._run("live", start_time, self.live_schedule_input if input is None else input,
                         name or "live", runner)

    def run_failsafe(self, start_time: str, input: Any = None, name: str | None = None,
                     runner: dict | None = None) -> Execution:
        """A Failsafe execution, as the backstop schedule starts it (without `input`: its input,
        as deployed), or as the trigger did (`run_started`, with the trigger's input)."""
        return self._run("failsafe", start_time,
                         self.failsafe_schedule_input if input is None else input,
                         name or "backstop", runner)

    def run_drill(self, start_time: str, input: Any = None, runner: dict | None = None) -> Execution:
        """A restore drill execution (the Failsafe account's third state machine, opt-in), as
        its weekly schedule starts it."""
        return self._run("drill", start_time, input, "drill", runner)

    def _run(self, side: str, start_time: str, input: Any, name: str,
             runner: dict | None = None) -> Execution:
        host = self.live_host if side == "live" else self.failsafe_host
        assert host, "call start() first"
        if self.stack.clock_on:  # a run starts when it is due, or when the one before it ended
            start_time = self.stack.clock(start_time)
        if name in ("live", "backstop", "drill"):
            name = f"{name}-{start_time[:16].replace(':', '')}-{len(self.executions)}"
        functions = {"live": LIVE_FUNCTIONS, "failsafe": FAILSAFE_FUNCTIONS, "drill": DRILL_FUNCTIONS}[side]
        res = self.stack.run_state_machine(f"statemachines/{side}.asl.json", functions, host,
                                           input, start_time, name, runner)
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

    def run_started(self, start_time: str, runner: dict | None = None) -> list[Execution]:
        """Runs every execution `start-failsafe` started that has not run yet, through
        failsafe.asl.json with the input it was started with; records the outcome in the
        emulated Step Functions."""
        sfn = self.failsafe.client("stepfunctions")
        ran = []
        for e in sfn.list_executions(stateMachineArn=self.state_machine_arn,
                                     statusFilter="RUNNING")["executions"]:
            detail = sfn.describe_execution(executionArn=e["executionArn"])
            ex = self.run_failsafe(start_time, json.loads(detail.get("input") or "{}"),
                                   name=e["name"], runner=runner)
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


def _trigger_queue(failsafe: Account, topic: str) -> str:
    """An SQS queue subscribed to the trigger topic, in place of the Lambda subscription
    (`Deployment.deliver` hands its messages to start-failsafe); its URL."""
    sqs = failsafe.client("sqs")
    queue_url = sqs.create_queue(QueueName="rds-failsafe-trigger")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    failsafe.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return queue_url


@dataclass
class OtherLive:
    """A further Live account of a Deployment (`Deployment.add_live`): its Lambdas and its runs."""

    deployment: Deployment
    account: Account
    config: dict[str, str]
    deployment_id: str
    host: LambdaHost | None = None
    schedule_input: dict = field(default_factory=dict)

    def run_live(self, start_time: str, input: Any = None) -> Execution:
        d = self.deployment
        input = self.schedule_input if input is None else input
        name = f"live-{self.account.id}-{start_time[:16].replace(':', '')}-{len(d.executions)}"
        res = d.stack.run_state_machine("statemachines/live.asl.json", LIVE_FUNCTIONS, self.host,
                                        input, start_time, name, None)
        ex = Execution("live", name, start_time, input, res)
        d.executions.append(ex)
        return ex


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


# Aliases the local stack gives the tool's keys, so reports and scenario checks can name them.
KEY_ALIASES = {"ShareKeyArn": "rds-failsafe-share", "FailsafeKeyArn": "rds-failsafe"}


@dataclass
class _Side:
    """One account's stack, deployed from its template."""

    side: str
    template: dict
    account: Account
    resolver: Resolver
    env: dict[str, str] = field(default_factory=dict)
    keys: dict[str, dict] = field(default_factory=dict)
    topics: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def deploy(cls, side: str, template: dict, account: Account,
               strip_principal: tuple[str, str] | None = None) -> "_Side":
        me = cls(side, template, account, Resolver(template, account.id, account.region))
        aliases = {output_ref(template, o): a for o, a in KEY_ALIASES.items() if o in template["Outputs"]}
        kms = account.client("kms")
        for logical, r in resources(template, "AWS::KMS::Key").items():
            policy = me.resolver.resolve(r["Properties"]["KeyPolicy"])
            if strip_principal and strip_principal[0] == logical:
                policy = dict(policy, Statement=[
                    st for st in policy["Statement"] if strip_principal[1] not in json.dumps(st.get("Principal"))])
            key = kms.create_key(Policy=json.dumps(policy),
                                 Description=r["Properties"].get("Description", logical))["KeyMetadata"]
            if logical in aliases:
                kms.create_alias(AliasName=f"alias/{aliases[logical]}", TargetKeyId=key["KeyId"])
            me.resolver.set(logical, key["KeyId"], key["Arn"])
            me.keys[logical] = {"arn": key["Arn"], "policy": policy}
        # the log groups the template names (the drills' records): the task Lambdas write to them
        # through the API; the others (each function's own) are the Lambda hosts' log files
        logs = account.client("logs")
        for logical, r in resources(template, "AWS::Logs::LogGroup").items():
            name = r["Properties"].get("LogGroupName")
            if name:
                try:
                    logs.create_log_group(logGroupName=name)
                except logs.exceptions.ResourceAlreadyExistsException:
                    pass  # a second deployment into the same account
        sns = account.client("sns")
        for logical, r in resources(template, "AWS::SNS::Topic").items():
            p = r["Properties"]
            attrs = {"KmsMasterKeyId": me.resolver.resolve(p["KmsMasterKeyId"])} if "KmsMasterKeyId" in p else {}
            arn = sns.create_topic(Name=p.get("TopicName", logical), Attributes=attrs)["TopicArn"]
            me.resolver.set(logical, arn, arn)
            me.topics[logical] = {"arn": arn, "kmsKeyId": attrs.get("KmsMasterKeyId"), "policy": None}
        for logical, r in resources(template, "AWS::SNS::TopicPolicy").items():
            policy = me.resolver.resolve(r["Properties"]["PolicyDocument"])
            for ref in r["Properties"]["Topics"]:
                topic = me.topics[ref["Ref"]]
                sns.set_topic_attributes(TopicArn=topic["arn"], AttributeName="Policy",
                                         AttributeValue=json.dumps(policy))
                topic["policy"] = policy
        sfn = account.client("stepfunctions")
        for logical, r in resources(template, "AWS::StepFunctions::StateMachine").items():
            p = r["Properties"]
            # the Failsafe stack's restore drill (opt-in) is the one whose ASL calls select-drills
            asl = "drill" if "SelectDrillsFunctionArn" in json.dumps(p.get("DefinitionSubstitutions", {})) else side
            with open(ROOT / "statemachines" / f"{asl}.asl.json") as f:
                definition = f.read()
            arn = sfn.create_state_machine(name=p["StateMachineName"], definition=definition,
                                           roleArn=me.resolver.resolve(p["RoleArn"]))["stateMachineArn"]
            me.resolver.set(logical, arn, arn)
        me.env = environment(template, me.resolver)
        me.register_functions()
        return me

    def register_functions(self) -> None:
        """Each task function's configuration as Lambda holds it (name, role, environment, task
        tag), which is where `rdsf preflight` reads the deployed configuration from. The code
        itself runs in `cargo lambda watch` (LambdaHost): the zip here is a placeholder, never
        invoked."""
        import io
        import zipfile

        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("bootstrap", "#!/bin/sh\n# runs in cargo lambda watch, not here\nexit 1\n")
        iam, lam = self.account.client("iam"), self.account.client("lambda")
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
        for task, (logical, r) in task_functions(self.template).items():
            p = r["Properties"]
            role_arn = self.resolver.resolve(p["Role"])
            path, role_name = role_arn.split(":role", 1)[1].rsplit("/", 1)
            try:
                iam.create_role(RoleName=role_name, Path=f"{path}/", AssumeRolePolicyDocument=trust)
            except iam.exceptions.EntityAlreadyExistsException:
                pass
            name = self.resolver.resolve({"Ref": logical})
            env = {k: str(v) for k, v in self.resolver.resolve(p.get("Environment", {}).get("Variables", {})).items()}
            try:
                lam.delete_function(FunctionName=name)  # a second deployment into the same account
            except lam.exceptions.ResourceNotFoundException:
                pass
            lam.create_function(FunctionName=name, Runtime=p["Runtime"], Role=role_arn, Handler=p["Handler"],
                                Code={"ZipFile": buf.getvalue()}, Environment={"Variables": env},
                                Tags={"rds-failsafe:task": task})

    def _schedules(self) -> list[tuple[str, dict]]:
        """Every schedule of the side's copy state machine (not the drill's): (expression, input)."""
        machines = {logical for logical, r in resources(self.template, "AWS::StepFunctions::StateMachine").items()
                    if "SelectDrillsFunctionArn" not in json.dumps(r["Properties"].get("DefinitionSubstitutions", {}))}
        return [(r["Properties"]["ScheduleExpression"], json.loads(r["Properties"]["Target"].get("Input", "{}")))
                for r in resources(self.template, "AWS::Scheduler::Schedule").values()
                if r["Properties"]["Target"]["Arn"].get("Ref") in machines]

    def schedule_input(self) -> dict:
        """What the side's daily schedule starts its copy state machine with: the Input of the
        Schedule whose target is that machine (not the drill's, not a cadence's)."""
        inputs = [i for _, i in self._schedules() if not i.get("takeSnapshots")]
        if len(inputs) != 1:
            raise ValueError(f"{self.side} template: expected one daily schedule of its state machine, found {len(inputs)}")
        return inputs[0]

    def cadences(self) -> list[tuple[list[str], dict]]:
        """The Live side's cadence schedules (CDK `cadences`): the times of day each starts the
        machine ("HH:MM", UTC, from its `cron(M H1,H2,... * * ? *)`) and its input."""
        out = []
        for expression, input in self._schedules():
            if not input.get("takeSnapshots"):
                continue
            m = re.fullmatch(r"cron\((\d+) ([\d,]+) \* \* \? \*\)", expression)
            if not m:
                raise ValueError(f"{self.side} template: a cadence schedule the local stack cannot read: {expression}")
            out.append(([f"{int(h):02d}:{int(m.group(1)):02d}" for h in m.group(2).split(",")], input))
        return out

    def output(self, name: str) -> str:
        """A stack output (`TopicArn`, `ShareKeyArn`, ...) as deployed here."""
        return self.resolver.resolve(self.template["Outputs"][name]["Value"])

    def describe(self) -> dict:
        """What the policy proof evaluates: each task's role and identity policies, the keys'
        and topics' resource policies, as deployed."""
        functions = {}
        for task, (logical, r) in task_functions(self.template).items():
            role_ref = r["Properties"]["Role"]["Fn::GetAtt"][0]
            functions[task] = {
                "functionArn": self.resolver.resolve({"Fn::GetAtt": [logical, "Arn"]}),
                "roleArn": self.resolver.resolve({"Fn::GetAtt": [role_ref, "Arn"]}),
                "policies": role_policies(self.template, self.resolver, role_ref),
            }
        machines = {}
        for logical, r in resources(self.template, "AWS::StepFunctions::StateMachine").items():
            role_ref = r["Properties"]["RoleArn"]["Fn::GetAtt"][0]
            machines[self.resolver.resolve({"Ref": logical})] = {
                "roleArn": self.resolver.resolve({"Fn::GetAtt": [role_ref, "Arn"]}),
                "policies": role_policies(self.template, self.resolver, role_ref),
            }
        outputs = {name: self.output(name) for name in self.template["Outputs"]}
        return {"account": self.account.id, "region": self.account.region, "outputs": outputs,
                "functions": functions, "stateMachines": machines, "keys": self.keys,
                "topics": self.topics}

