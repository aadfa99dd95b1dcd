"""The CDK app's synthesized templates, as the local stack deploys them: one source of truth for
the key policies, the topic policies, the functions' environment and the roles' policies.

`synthesize(context)` runs cdk/test/synth-templates.ts for an `rds-failsafe` context object (the
fields of cdk.json) and caches the two templates by the context's hash. `Resolver` turns the
template's references (`Ref`, `Fn::GetAtt ... Arn`) into the ARNs of what the local stack created
(keys, topics, the state machine) or, for what it does not create (roles, functions, log groups),
into the ARNs AWS would give them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .contract import TAGS
from .stack import ROOT, StackError

CDK_DIR = ROOT / "cdk"
SYNTH = CDK_DIR / "test" / "synth-templates.ts"
CACHE = ROOT / "target" / "templates"
# The tag TaskFunction puts on each task's function, role and log group (cdk/lib/task-function.ts).
TASK_TAG = TAGS["task"]


class ConfigRejected(StackError):
    """CDK refused the configuration (its message names the field and the fix)."""


def synthesize(context: dict[str, Any]) -> dict[str, dict]:
    """{"live": template, "failsafe": template} for this configuration. A configuration CDK
    refuses raises StackError with CDK's message (the field and the fix)."""
    text = json.dumps(context, sort_keys=True)
    sources = sorted(p for d in ("lib", "test") for p in (CDK_DIR / d).glob("*.ts"))
    sources += [CDK_DIR / "cdk.json", CDK_DIR / "package-lock.json",
                ROOT / "lambdas" / "core" / "src" / "policy" / "tags.rs"]
    sources += sorted((ROOT / "statemachines").glob("*.asl.json"))
    digest = hashlib.sha256(text.encode())
    for p in sources:  # a changed construct must not be served a stale template
        digest.update(p.read_bytes())
    cached = CACHE / f"{digest.hexdigest()[:20]}.json"
    if cached.exists():
        return json.loads(cached.read_text())
    node = shutil.which("node")
    if not node:
        raise StackError("node not found on PATH: the local stack synthesizes the CDK templates")
    if not (CDK_DIR / "node_modules" / "tsx").exists():
        raise StackError("cdk/node_modules missing: run `make npm-cdk` (npm ci in cdk/)")
    res = subprocess.run([node, "--import", "tsx", str(SYNTH)], input=text.encode(),
                         capture_output=True, cwd=CDK_DIR, timeout=300)
    if res.returncode != 0:
        message = res.stderr.decode().strip()
        if res.returncode == 2 and message.startswith("invalid rds-failsafe configuration"):
            raise ConfigRejected(message)
        raise StackError(f"cdk synth of {text} failed ({res.returncode}): {message}")
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".{os.getpid()}.tmp")  # parallel test workers synthesize too
    tmp.write_bytes(res.stdout)
    tmp.replace(cached)
    return json.loads(res.stdout)


def resources(template: dict, type_: str) -> dict[str, dict]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == type_}


def tag(resource: dict, key: str) -> str | None:
    for t in resource.get("Properties", {}).get("Tags", []):
        if t.get("Key") == key:
            return t.get("Value")
    return None


def output_ref(template: dict, name: str) -> str:
    """The logical id an output (`ShareKeyArn`, `TopicArn`, ...) refers to."""
    value = template["Outputs"][name]["Value"]
    if "Ref" in value:
        return value["Ref"]
    return value["Fn::GetAtt"][0]


class Resolver:
    """Resolves one template's intrinsics for a concrete account and region."""

    def __init__(self, template: dict, account: str, region: str):
        self.template = template
        self.account = account
        self.region = region
        # logical id -> {"Ref": ..., "Arn": ...} of what the local stack created
        self.physical: dict[str, dict[str, str]] = {}

    def set(self, logical: str, ref: str, arn: str) -> None:
        self.physical[logical] = {"Ref": ref, "Arn": arn}

    def _default(self, logical: str) -> dict[str, str]:
        """The ARN AWS would give a resource the local stack does not create."""
        r = self.template["Resources"].get(logical)
        if r is None:
            raise StackError(f"template refers to {logical}, which it does not define")
        a, g, t, p = self.account, self.region, r["Type"], r.get("Properties", {})
        if t == "AWS::IAM::Role":
            name = p.get("RoleName", logical)
            return {"Ref": name, "Arn": f"arn:aws:iam::{a}:role{p.get('Path', '/')}{name}"}
        if t == "AWS::Lambda::Function":
            name = p.get("FunctionName") or f"rdsf-{tag(r, TASK_TAG) or logical}"
            return {"Ref": name, "Arn": f"arn:aws:lambda:{g}:{a}:function:{name}"}
        if t == "AWS::Logs::LogGroup":
            name = p.get("LogGroupName", f"/aws/{logical}")
            return {"Ref": name, "Arn": f"arn:aws:logs:{g}:{a}:log-group:{name}:*"}
        if t == "AWS::StepFunctions::StateMachine":
            name = p.get("StateMachineName", logical)
            arn = f"arn:aws:states:{g}:{a}:stateMachine:{name}"
            return {"Ref": arn, "Arn": arn}
        if t == "AWS::SNS::Topic":
            arn = f"arn:aws:sns:{g}:{a}:{p.get('TopicName', logical)}"
            return {"Ref": arn, "Arn": arn}
        if t == "AWS::KMS::Key":
            arn = f"arn:aws:kms:{g}:{a}:key/{logical}"
            return {"Ref": logical, "Arn": arn}
        raise StackError(f"no ARN rule for {logical} ({t}); add one to templates.Resolver")

    def _attr(self, logical: str, attr: str) -> str:
        if logical not in self.physical:
            self.physical[logical] = self._default(logical)
        got = self.physical[logical].get(attr)
        if got is None:
            raise StackError(f"no {attr} for {logical}")
        return got

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            ref = value["Ref"]
            pseudo = {"AWS::AccountId": self.account, "AWS::Region": self.region,
                      "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}
            return pseudo[ref] if ref in pseudo else self._attr(ref, "Ref")
        if set(value) == {"Fn::GetAtt"}:
            logical, attr = value["Fn::GetAtt"]
            return self._attr(logical, attr)
        if set(value) == {"Fn::Join"}:
            sep, parts = value["Fn::Join"]
            return sep.join(str(self.resolve(p)) for p in parts)
        bad = [k for k in value if k.startswith("Fn::")]
        if bad:
            raise StackError(f"templates.Resolver does not handle {bad[0]}; add it")
        return {k: self.resolve(v) for k, v in value.items()}


def guardrails(template: dict | None, account: str) -> dict | None:
    """The management account's guardrails on the Failsafe account `account` as the policy proof
    reads them: each attached SCP and RCP document, and where it is attached. None without the
    guardrails stack. (Organizations is not emulated: nothing here enforces them; the proof
    evaluates them with the identity, key and topic policies.)"""
    if template is None:
        return None
    out: dict[str, Any] = {"account": account, "scp": [], "rcp": [], "targets": []}
    for logical, r in resources(template, "AWS::Organizations::Policy").items():
        p = r["Properties"]
        kind = {"SERVICE_CONTROL_POLICY": "scp", "RESOURCE_CONTROL_POLICY": "rcp"}[p["Type"]]
        out[kind].append({"name": p["Name"], "policy": p["Content"]})
        out["targets"] = sorted(set(out["targets"]) | set(p["TargetIds"]))
    return out


def task_functions(template: dict) -> dict[str, tuple[str, dict]]:
    """task -> (logical id, resource) of each task Lambda."""
    out = {}
    for logical, r in resources(template, "AWS::Lambda::Function").items():
        task = tag(r, TASK_TAG)
        if task:
            out[task] = (logical, r)
    if not out:
        raise StackError(f"no function tagged {TASK_TAG} in the template")
    return out


def role_policies(template: dict, resolver: Resolver, role_logical: str) -> list[dict]:
    """The identity policies of a role: its inline AWS::IAM::Policy documents and Policies."""
    docs = []
    for logical, r in resources(template, "AWS::IAM::Policy").items():
        if any(x.get("Ref") == role_logical for x in r["Properties"].get("Roles", [])):
            docs.append({"name": r["Properties"].get("PolicyName", logical),
                         "policy": resolver.resolve(r["Properties"]["PolicyDocument"])})
    role = template["Resources"][role_logical]["Properties"]
    for p in role.get("Policies", []):
        docs.append({"name": p["PolicyName"], "policy": resolver.resolve(p["PolicyDocument"])})
    if role.get("ManagedPolicyArns"):
        raise StackError(f"{role_logical} has managed policies, which the policy proof cannot read")
    return docs


def environment(template: dict, resolver: Resolver) -> dict[str, str]:
    """The task Lambdas' environment as one set of variables (the local stack runs one account's
    functions in one host). Two functions giving one variable different values is an error: the
    shared host could not honour both."""
    merged: dict[str, str] = {}
    for task, (_, r) in sorted(task_functions(template).items()):
        env = resolver.resolve(r["Properties"].get("Environment", {}).get("Variables", {}))
        for k, v in env.items():
            if k in merged and merged[k] != v:
                raise StackError(f"{task} sets {k}={v!r}, another task {merged[k]!r}")
            merged[k] = str(v)
    return merged
