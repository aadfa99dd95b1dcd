"""The names that cross languages (contract/contract.json), as the local stack reads them; the
Lambdas, the CDK app and the policy proof read the same file."""
import json
from pathlib import Path

CONTRACT_FILE = Path(__file__).resolve().parents[3] / "contract" / "contract.json"
CONTRACT = json.loads(CONTRACT_FILE.read_text())
TAGS = CONTRACT["tags"]


def functions_of(machine: str) -> dict:
    """A state machine's tasks: ASL placeholder -> task name."""
    return {t["placeholder"]: name for name, t in CONTRACT["tasks"].items() if machine in t["machines"]}


def triggered_tasks() -> list:
    """The tasks no state machine invokes (`start-failsafe`, on the Failsafe trigger topic)."""
    return [name for name, t in CONTRACT["tasks"].items() if not t["machines"]]
