"""A local Lambda Runtime API (the interface `provided.al2023` and the Python runtime serve to a
function's process) for one cold start: it hands the process one event, notes when the answer
comes back, and reads the process's peak resident memory at that moment.

Lambda Developer Guide, "Using the Lambda runtime API for custom runtimes": the process polls
GET /2018-06-01/runtime/invocation/next, gets the event with the Lambda-Runtime-Aws-Request-Id,
-Deadline-Ms and -Invoked-Function-Arn headers, and answers with
POST /2018-06-01/runtime/invocation/{id}/response or /error; a failed init posts /init/error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PREFIX = "/2018-06-01/runtime"


@dataclass
class ColdStart:
    seconds: float  # process start to the answer of its first invocation
    peak_rss_kib: int  # VmHWM of the process when it answered
    ok: bool
    body: object


def _peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for process {pid}")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # the function's process is killed after its answer, resetting the connection it held
        # open for the next event: expected, not worth a traceback
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def cold_start(argv: list[str], env: dict[str, str], event: object, function: str,
               log: Path, cwd: Path | None = None, timeout: float = 60) -> ColdStart:
    """Starts `argv` as a Lambda function process behind a fresh Runtime API, gives it `event`
    and returns when it has answered. The process is stopped before returning."""
    answered = threading.Event()
    result: dict = {}
    request_id = "00000000-0000-4000-8000-000000000001"
    proc_box: dict = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet
            pass

        def _reply(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            if self.path != f"{PREFIX}/invocation/next":
                return self._reply(404)
            if result.get("served"):
                answered.wait(timeout)  # a second poll: hold it, as Lambda does while frozen
                time.sleep(timeout)
                return
            result["served"] = True
            deadline = int((time.time() + timeout) * 1000)
            self._reply(200, json.dumps(event).encode(), {
                "Content-Type": "application/json",
                "Lambda-Runtime-Aws-Request-Id": request_id,
                "Lambda-Runtime-Deadline-Ms": str(deadline),
                "Lambda-Runtime-Invoked-Function-Arn":
                    f"arn:aws:lambda:us-east-1:000000000000:function:{function}",
                "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000001",
            })

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.path in (f"{PREFIX}/invocation/{request_id}/response",
                             f"{PREFIX}/invocation/{request_id}/error", f"{PREFIX}/init/error"):
                if not answered.is_set():
                    result["at"] = time.perf_counter()
                    result["rss"] = _peak_rss_kib(proc_box["proc"].pid)
                    result["ok"] = self.path.endswith("/response")
                    try:
                        result["body"] = json.loads(body or b"null")
                    except ValueError:
                        result["body"] = body.decode(errors="replace")
                    answered.set()
                return self._reply(202, b'{"status":"OK"}', {"Content-Type": "application/json"})
            return self._reply(404)

    server = _Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    full_env = {**env, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}"}
    with open(log, "ab") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=full_env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
        proc_box["proc"] = proc
        try:
            if not answered.wait(timeout):
                raise RuntimeError(f"{function}: no answer within {timeout} s (log: {log})")
        finally:
            proc.kill()
            proc.wait()
            server.shutdown()
            server.server_close()
    return ColdStart(result["at"] - start, result["rss"], result["ok"], result["body"])


def lambda_env(function: str, memory_mb: int = 128) -> dict[str, str]:
    """What Lambda sets in every function's environment besides the function's own variables."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "LAMBDA_TASK_ROOT": os.getcwd(),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
    }
