"""Fixtures for the end-to-end tests: one local stack (emulator process) for the session — for
each worker, when pytest-xdist runs them in parallel (make test-e2e) — and a fresh emulated world
and fresh Lambda hosts for each test. Logs stay under target/e2e/ (a worker's under
target/e2e/workers/<worker>/) for diagnosis, with the recorded calls the policy proof reads."""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "local"))

from rdsf_local.stack import ENGINES, LocalStack  # noqa: E402

LIVE_ID = "111111111111"
FAILSAFE_ID = "222222222222"
REGION = "us-east-1"


def pytest_collection_modifyitems(items):
    """The longest cases first, so that no worker is left with one of them at the end."""
    items.sort(key=lambda item: 0 if item.get_closest_marker("long") else 1)


@pytest.fixture(scope="session")
def stack():
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    workdir = ROOT / "target" / "e2e" / ("workers/" + worker if worker else "")
    with LocalStack(workdir, quiet=True) as s:
        yield s


@pytest.fixture
def accounts(stack):
    """(live, failsafe) in a world reset to empty."""
    stack.reset()
    yield stack.account(LIVE_ID, REGION), stack.account(FAILSAFE_ID, REGION)
    stack.stop_lambdas()


@pytest.fixture(params=ENGINES)
def engine(request, stack):
    """Runs a test once on each ASL engine (docs/asl-engines.md): the cases that name this
    fixture are the ones whose outcome both engines must agree on, as AWS decides it."""
    stack.asl_engine = request.param
    yield request.param
    stack.asl_engine = ENGINES[0]
