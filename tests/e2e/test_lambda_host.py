"""The local Lambda service (rdsf_local.stack.LambdaHost): the task binaries as function
instances behind cargo-lambda's invoke and Runtime APIs, as many of each as its state machine
needs, and a new instance when one exits, as Lambda starts one for the next event."""

import time

from rdsf_local.stack import MAP_INSTANCES, host_tasks


def test_each_side_serves_its_tasks_with_more_instances_for_those_a_map_runs():
    live, failsafe = host_tasks("live"), host_tasks("failsafe")
    assert set(live) == {"select-sources", "preflight", "delete-old-copies", "copy-latest",
                         "wait-available", "share", "notify"}
    assert {"find-shared", "save", "verify", "prune", "start-failsafe", "select-drills",
            "restore-drill", "check-drill", "validate-drill", "end-drill", "wait-available"} == set(failsafe)
    assert {t for t, n in live.items() if n == MAP_INSTANCES} == {"copy-latest", "wait-available", "share"}
    assert live["select-sources"] == failsafe["start-failsafe"] == 1


def test_an_instance_that_exits_is_replaced_and_the_next_event_is_served(stack, accounts):
    live, _ = accounts
    host = stack.start_lambdas(live, {}, "live")
    [first] = [p for p in host.instances if p.name == "wait-available-0"]
    first.proc.kill()
    first.proc.wait()
    deadline = time.monotonic() + 30
    while not any(p.name == "wait-available-0" and p.alive() for p in host.instances):
        assert time.monotonic() < deadline, "no new instance of wait-available-0"
        time.sleep(0.1)
    # wait-available reads no configuration; an event that is not a copy to look at is refused
    # by the task itself: an answer from a running instance, not a hang
    for _ in range(MAP_INSTANCES + 1):
        ok, body = host.invoke("wait-available", "not an event", timeout=30)
        assert not ok and body.get("errorType"), body
    assert "instance wait-available-0 exited" in host.process.log_path.read_text(errors="replace")
