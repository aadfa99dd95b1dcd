"""The policy lint in `make test` (after the end-to-end tests, whose recorded deployments it reads):
the synthesized policies are clean, and the lint can fail — each broken statement below turns it
red with the finding that names it."""

import copy
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lint  # noqa: E402

@pytest.fixture(scope="module")
def policies():
    return lint.policies_of(lint.run_dirs(lint.ROOT / "target" / "e2e"))


def test_every_synthesized_policy_is_clean(policies, tmp_path):
    kinds = {name.split("-", 2)[2].split("-")[0] for name in policies}
    # identity policies of the tasks, the state machines' roles, key and topic policies
    assert {"copy", "save", "statemachine0", "key", "topic"} <= kinds, sorted(kinds)
    errors, _ = lint.lint(policies, tmp_path)
    assert errors == []


def _one(policies, fragment):
    name = next(n for n in policies if fragment in n)
    return name, copy.deepcopy(policies[name])


@pytest.mark.parametrize("fragment,break_it,finding", [
    ("-live-copy-latest-", lambda d: d["Statement"].append(
        {"Effect": "Allow", "Action": "rds:DeleteDBSnapshots", "Resource": "*"}), "action_validation"),
    ("-live-share-", lambda d: d["Statement"].append(
        {"Effect": "Allow", "Action": "rds:ModifyDBSnapshotAttribute",
         "Resource": "arn:aws:rds:us-east-1:111111111111:snapshot:rdsf-*",
         "Condition": {"StringEquals": {"aws:RequestTag/rds-failsafe:managed": "true"}}}),
     "condition_key_validation"),
    ("-failsafe-prune-", lambda d: d["Statement"].append(
        {"Effect": "Allow", "Action": "rds:DeleteDBSnapshot",
         "Resource": "arn:aws:rds:us-east-1:222222222222:db:rdsf-*"}), "action_resource_matching"),
    ("-live-key-RdsFailsafeShareKey", lambda d: d["Statement"].append(
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"}, "Action": "kms:Decrypt",
         "Resource": "*", "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}),
     "condition_key_validation"),
])
def test_a_broken_statement_turns_the_lint_red(policies, tmp_path, fragment, break_it, finding):
    name, doc = _one(policies, fragment)
    break_it(doc)
    errors, _ = lint.lint({name: doc}, tmp_path)
    assert any(name in e and finding in e for e in errors), json.dumps(errors)[:800]
