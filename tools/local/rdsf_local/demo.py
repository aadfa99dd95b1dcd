"""`make demo`: one day of rds-failsafe on the local two-account stack, narrated.

Seeds a Live account (three instances and an Aurora cluster: unencrypted, on the AWS-managed
aws/rds key, on a customer key), runs `rdsf preflight` there, runs the Live state machine, delivers its SNS message through the
real trigger path, runs the Failsafe state machine it starts, prints what the Failsafe account
now holds, and ends with the operator's `rdsf status` and `rdsf restore orders --dry-run`. Every process it starts is stopped before it exits.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .deployment import Deployment, create_key, create_source
from .stack import LocalStack, rdsf

LIVE_ID, FAILSAFE_ID, REGION = "111111111111", "222222222222", "us-east-1"


def table(rows: list[list[str]], head: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(r) for r in rows])


def step(n: int, text: str) -> None:
    print(f"\n[{n}] {text}", flush=True)


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="rdsf-demo-"))
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    taken = today + timedelta(hours=3)
    live_at = (today + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    failsafe_at = (today + timedelta(hours=5, minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    print("rds-failsafe demo: a Live and a Failsafe account, emulated on 127.0.0.1")
    print(f"(logs: {workdir})")
    with LocalStack(workdir) as stack:
        step(1, "Two accounts, with credentials the emulator issued for each")
        live = stack.account(LIVE_ID, REGION)
        failsafe = stack.account(FAILSAFE_ID, REGION)
        print(f"  Live     {live.id} ({live.region})\n  Failsafe {failsafe.id} ({failsafe.region})")

        step(2, "The Live account's databases and last night's automated snapshots")
        stack.faults(creatingPolls=2)
        app_key = create_key(live, "app-data")
        estate = [("instance", "orders", "none", "unencrypted"),
                  ("instance", "billing", "aws-rds", "AWS-managed key aws/rds (cannot be shared as is)"),
                  ("instance", "users", app_key, "customer key app-data"),
                  ("cluster", "ledger", app_key, "customer key app-data")]
        for kind, sid, enc, _ in estate:
            create_source(live, kind, sid, enc)
            stack.seed_automated(live, kind, sid, taken.strftime("%Y-%m-%dT%H:%M:%SZ"))
        print(table([[k, s, d] for k, s, _, d in estate], ["kind", "id", "encryption"]))

        step(3, "What CDK would deploy: share key (grants the Failsafe account), Failsafe key, "
                "topic + subscription, state machine; one `cargo lambda watch` per account")
        d = Deployment.create(stack, live, failsafe).start()

        step(4, "Before the first run: `rdsf preflight` in the Live account (docs/deploying.md, step 4)")
        pre = rdsf(live, "preflight")
        print("  $ rdsf preflight\n" + pre.stdout + pre.stderr, end="")

        step(5, f"Live state machine (as the daily schedule starts it), at {live_at}")
        run = d.run_live(live_at)
        summary = (run.result.get("output") or {}).get("summary", {})
        for line in summary.get("copied", []):
            print(f"  copied and shared: {line}")
        for line in summary.get("failed", []):
            print(f"  FAILED: {line}")
        print(f"  execution {run.status}, {len(run.result['statesEntered'])} states entered")

        step(6, "Trigger: notify published to the Failsafe topic -> SQS -> start-failsafe")
        for t in d.deliver():
            body = t["body"] or {}
            print(f"  started {len(body.get('started', []))} execution(s), "
                  f"{len(body.get('duplicates', []))} duplicate(s), {len(body.get('rejected', []))} rejected")

        step(7, f"Failsafe state machine (started by the trigger), at {failsafe_at}")
        runs = d.run_started(failsafe_at)
        for r in runs:
            out = r.result.get("output") or {}
            for sid in out.get("summary", {}).get("saved", []):
                print(f"  saved and verified: {sid}")
            print(f"  execution {r.status}, {len(r.result['statesEntered'])} states entered")

        step(8, "What the Failsafe account now holds")
        fs_key = d.failsafe_key_arn
        rows = []
        for s in d.snapshots(failsafe):
            t = s["tags"]
            rows.append([s["id"], s["kind"], t.get("rds-failsafe:source-id", "?"),
                         t.get("rds-failsafe:source-create-time", "?"), s["status"],
                         "Failsafe key" if s["kmsKeyId"] == fs_key else (s["kmsKeyId"] or "none"),
                         "yes" if t.get("rds-failsafe:verified") else "no"])
        print(table(rows, ["snapshot", "kind", "source", "taken at", "status", "encrypted with",
                           "verified"]))
        ok = run.status == "SUCCEEDED" and runs and all(r.status == "SUCCEEDED" for r in runs) \
            and len(rows) == len(estate)

        step(9, "The operator's view: `rdsf status` in the Failsafe account (docs/operations.md: restoring)")
        status = rdsf(failsafe, "status", "--now", failsafe_at)
        print("  $ rdsf status\n" + status.stdout + status.stderr, end="")
        step(10, "Restore one, dry run: `rdsf restore orders --dry-run` prints the AWS CLI call")
        restore = rdsf(failsafe, "restore", "orders", "--dry-run")
        print("  $ rdsf restore orders --dry-run\n" + restore.stdout + restore.stderr, end="")
        ok = ok and pre.returncode == 0 and status.returncode == 0 and restore.returncode == 0
        d.stop()
    print("\nAll processes stopped." if ok else "\nDemo did not complete as expected; see the logs.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
