"""The emulated AWS: a moto server with the project's rules (rds_rules) patched in, plus a small
control API under /_rdsf/ for seeding, fault injection and reading the world back.

    python -m rdsf_local.emulator --port 0 --port-file PATH

Binds 127.0.0.1 only. With --port 0 the OS picks a free port, which is written to --port-file once
the server accepts connections (the parent waits for that file, then checks /_rdsf/health).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import threading
import uuid
from datetime import datetime, timezone
from urllib.parse import parse_qs

from moto import backends as moto_backends
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from . import db_servers, rds_rules
from .physics import PHYSICS
from .rds_rules import STATE
from .recorder import CREDENTIAL_SCOPE, RECORDER

# Speed, not behaviour: moto's server lists its own package directory on every request to map a
# host to a backend; the list does not change while it runs.
_MOTO_MODULES = tuple(moto_backends.list_of_moto_modules())
moto_backends.list_of_moto_modules = lambda: _MOTO_MODULES


class QuietRequestHandler(MotoRequestHandler):
    """Logs only the requests that did not succeed: a 1,000-source day makes some 30,000
    requests, and a line for each cost the emulator a tenth of its time."""

    def log_request(self, code="-", size="-"):
        if not str(code).startswith("2"):
            super().log_request(code, size)


def _json(start_response, status: str, body) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def _time(value: str) -> datetime:
    t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _operation(environ, body: bytes) -> str | None:
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    ctype = environ.get("CONTENT_TYPE", "")
    if "x-www-form-urlencoded" in ctype and body:
        action = parse_qs(body.decode(errors="replace")).get("Action")
        return action[0] if action else None
    return None


def _rds_caller(environ) -> tuple[str, str] | None:
    """(account, region) of a signed RDS request; None for any other service."""
    scope = CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if not scope or scope.group(3) != "rds":
        return None
    from moto.iam.models import get_account_id_from

    return get_account_id_from(scope.group(1)), scope.group(2)


def _error(environ, start_response, status: str, json_type: str, code: str, kind: str,
           message: str) -> list[bytes]:
    """An AWS error response in the operation's protocol: JSON (x-amz-target) or query XML."""
    request_id = str(uuid.uuid4())
    if environ.get("HTTP_X_AMZ_TARGET"):
        data = json.dumps({"__type": json_type, "message": message}).encode()
        ctype = "application/x-amz-json-1.0"
    else:
        data = (
            f"<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code>"
            f"<Message>{message}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        ctype = "text/xml"
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(data))),
                            ("x-amzn-RequestId", request_id)])
    return [data]


def _throttled(environ, start_response, operation: str) -> list[bytes]:
    return _error(environ, start_response, "400 Bad Request", "ThrottlingException", "Throttling",
                  "Sender", f"Rate exceeded ({operation}, injected)")


def _internal_failure(environ, start_response, operation: str) -> list[bytes]:
    # AWS's common error InternalFailure: "The request processing has failed because of an
    # unknown error, exception or failure" (HTTP 500; Common Errors, AWS API references).
    return _error(environ, start_response, "500 Internal Server Error", "InternalFailure",
                  "InternalFailure", "Receiver",
                  f"The request processing has failed because of an unknown error ({operation}, injected)")


class Emulator:
    """WSGI app: /_rdsf/* is the control API, everything else goes to moto."""

    def __init__(self) -> None:
        self.moto = DomainDispatcherApplication(create_backend_app)
        # moto's backends are plain dicts and OrderedDicts with no locking: 20 parallel tasks made
        # it fail with "OrderedDict mutated during iteration" (HTTP 500). One request at a time
        # inside moto; faults come only from what a test injects.
        self.moto_lock = threading.Lock()
        # How many requests were inside moto at once, at most (the control API `concurrency`):
        # what shows the lock holds, since the unlocked failure is too rare to test for.
        self._count_lock = threading.Lock()
        self._in_moto = 0
        self.max_in_moto = 0

    @contextlib.contextmanager
    def _inside_moto(self):
        with self._count_lock:
            self._in_moto += 1
            self.max_in_moto = max(self.max_in_moto, self._in_moto)
        try:
            yield
        finally:
            with self._count_lock:
                self._in_moto -= 1

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_rdsf/"):
            try:
                with self.moto_lock:  # seeding and reading the world touch moto's backends too
                    return self.control(environ, start_response, path[len("/_rdsf/"):])
            except Exception as e:  # noqa: BLE001 - the control API answers every error as JSON
                return _json(start_response, "400 Bad Request", {"error": f"{type(e).__name__}: {e}"})
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        op = _operation(environ, body)
        with self.moto_lock:  # the recorder reads moto's backends: the world as the call finds it
            RECORDER.record(environ, body, op)
        if op and STATE.take_throttle(op):
            print(f"rdsf: injected Throttling on {op}", flush=True)
            return _throttled(environ, start_response, op)
        if op and STATE.take_internal_failure(op):
            print(f"rdsf: injected InternalFailure on {op}", flush=True)
            return _internal_failure(environ, start_response, op)
        caller = _rds_caller(environ)
        if caller and not STATE.take_rds_token(*caller):
            print(f"rdsf: {op} over the RDS request rate of {caller[0]} in {caller[1]}", flush=True)
            return _error(environ, start_response, "400 Bad Request", "ThrottlingException",
                          "Throttling", "Sender", "Rate exceeded")
        with self.moto_lock, self._inside_moto():
            return list(self.moto(environ, start_response))

    def control(self, environ, start_response, command: str):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        req = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
        if command == "health":
            return _json(start_response, "200 OK", {"ok": True, "pid": os.getpid()})
        if command == "concurrency":
            with self._count_lock:
                seen = self.max_in_moto
                if req.get("reset"):
                    self.max_in_moto = 0
            return _json(start_response, "200 OK", {"maxInMoto": seen})
        if command == "record":
            # {"file": path or null, "deployment": id}: the task Lambdas' calls for the policy proof
            return _json(start_response, "200 OK", RECORDER.configure(req))
        if command == "reset":
            from moto.moto_api._internal.models import moto_api_backend

            moto_api_backend.reset()
            STATE.reset()
            db_servers.reset()
            return _json(start_response, "200 OK", {"ok": True})
        if command == "databases":
            # {"servers": {"postgres": {"host", "port", "admin": [argv reading SQL]}, "mysql": ...}}:
            # the real servers drill databases answer at; the reply lists every password set
            for family, server in (req.get("servers") or {}).items():
                db_servers.register(family, server)
            return _json(start_response, "200 OK", {"passwords": db_servers.passwords()})
        if command == "faults":
            with STATE.lock:
                f = STATE.faults
                for op, n in (req.get("throttle") or {}).items():
                    f.throttle[op] = int(n)
                for op, n in (req.get("internalFailure") or {}).items():
                    f.internal_failure[op] = int(n)
                if "creatingPolls" in req:
                    f.creating_polls = int(req["creatingPolls"])
                if "copySeconds" in req:  # wall-clock copies (make bench); null: by polls again
                    cs = req["copySeconds"]
                    f.copy_seconds = None if cs is None else float(cs)
                if req.get("clearFailCopies"):
                    f.fail_copies_of.clear()
                f.fail_copies_of.update(req.get("failCopiesOf") or [])
                if "restorePolls" in req:
                    f.restore_polls = int(req["restorePolls"])
                f.fail_restores_of.update(req.get("failRestoresOf") or [])
                if "rdsRate" in req:  # {"burst": n, "perSecond": r}, or null: no limit
                    rate = req["rdsRate"]
                    f.rds_rate = None if rate is None else (float(rate["burst"]), float(rate["perSecond"]))
                    STATE.buckets.clear()
                for q in req.get("quota") or []:
                    f.quota[(q["account"], q["region"])] = int(q["limit"])
                state = {"throttle": f.throttle, "internalFailure": f.internal_failure,
                         "creatingPolls": f.creating_polls, "copySeconds": f.copy_seconds,
                         "failCopiesOf": sorted(f.fail_copies_of), "restorePolls": f.restore_polls,
                         "failRestoresOf": sorted(f.fail_restores_of),
                         "rdsRate": None if f.rds_rate is None
                         else {"burst": f.rds_rate[0], "perSecond": f.rds_rate[1]}}
            return _json(start_response, "200 OK", state)
        if command == "seed-automated":
            snap = rds_rules.seed_automated(
                req["account"], req["region"], req.get("kind", "instance"), req["sourceId"],
                _time(req["createTime"]), req.get("snapshotId"),
            )
            if isinstance(snap, str):  # RDS took no backup: a copy of the instance was running
                print(f"rdsf: {snap}", flush=True)
                return _json(start_response, "200 OK", {"skipped": snap})
            return _json(start_response, "200 OK", {"id": snap.resource_id, "arn": snap.arn})
        if command == "expire-automated":
            removed = rds_rules.expire_automated(_time(req["before"]))
            return _json(start_response, "200 OK", {"removed": removed})
        if command == "finish-execution":
            # The ASL runs outside moto; record its outcome on moto's execution record so a
            # duplicate StartExecution afterwards is ExecutionAlreadyExists, as in AWS.
            from moto.stepfunctions.models import stepfunctions_backends

            arn = req["executionArn"]
            account, region = arn.split(":")[4], arn.split(":")[3]
            ex = stepfunctions_backends[account][region].describe_execution(arn)
            ex.status = req["status"]
            ex.stop_date = datetime.now(timezone.utc)
            ex.output = json.dumps(req.get("output"))
            return _json(start_response, "200 OK", {"ok": True})
        if command == "physics":
            # {"clock": bool, "throughputMiBps": n, "sources": [{"account", "region", "kind", "id",
            # "sizeGiB", "changePerDay"}]}: sizes, change rates and copy time (physics.py)
            with PHYSICS.lock:
                if "clock" in req:
                    PHYSICS.clock_on = bool(req["clock"])
                if "throughputMiBps" in req:
                    t = float(req["throughputMiBps"])
                    if not t > 0:
                        raise ValueError(f"throughputMiBps must be above 0, got {t}")
                    PHYSICS.throughput_mibps = t
                for src in req.get("sources") or []:
                    rds_rules.set_source_size(src["account"], src["region"], src.get("kind", "instance"),
                                              src["id"], src.get("sizeGiB"), src.get("changePerDay"))
                return _json(start_response, "200 OK", {
                    "clock": PHYSICS.clock_on, "throughputMiBps": PHYSICS.throughput_mibps,
                    "now": PHYSICS.clock.isoformat() if PHYSICS.clock else None})
        if command == "clock":
            # {"now": t}: the clock moves to t unless it is later; {"observe": {"account",
            # "snapshotId", "elapsedSeconds", "runStart"}}: a copy's lane has waited that long
            # since its first look (asl_runner.mjs). Answers the clock.
            if req.get("now"):
                PHYSICS.set_clock(_time(req["now"]))
            seen = req.get("observe")
            if seen:
                PHYSICS.observe(seen["account"], seen["snapshotId"], float(seen["elapsedSeconds"]),
                                _time(seen["runStart"]))
            now = PHYSICS.clock
            return _json(start_response, "200 OK", {"now": now.isoformat() if now else None})
        if command == "world":
            return _json(start_response, "200 OK", {
                "snapshots": rds_rules.describe_world(), "storage": rds_rules.storage(),
                "copies": [f.log_view() for f in PHYSICS.copies]})
        return _json(start_response, "404 Not Found", {"error": f"unknown control command {command}"})


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args(argv)
    if os.environ.get("RDSF_STOCK_MOTO") == "1":
        # Only to show the rule tests fail without the rules (docs/development.md); never in CI.
        print("rdsf: RDSF_STOCK_MOTO=1, rules NOT installed", flush=True)
    else:
        rds_rules.install()
        db_servers.install()
    server = make_server("127.0.0.1", args.port, Emulator(), threaded=True,
                         request_handler=QuietRequestHandler)
    port = server.server_port
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(port))
    os.replace(tmp, args.port_file)
    print(f"rdsf emulator listening on 127.0.0.1:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
