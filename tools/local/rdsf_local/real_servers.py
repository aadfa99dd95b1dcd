"""Real database servers for the drills' checks (issue 26). PostgreSQL: on 127.0.0.1, TLS on with a
certificate for `localhost` from a CA made here, logins over TLS only (scram-sha-256), the
database `refused` refusing every login (pg_hba `reject`). The Debian package `postgresql`
provides it (`make db-servers` installs it); PostgreSQL refuses to run as root, so as root the
server runs as the `postgres` user the package creates."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from .stack import free_port


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError("no PostgreSQL server (/usr/lib/postgresql/*/bin/initdb): `make db-servers` installs it")
    return Path(found[-1]).parent


def make_tls(dir: Path) -> tuple[Path, Path, Path]:
    """A CA, and a server certificate for localhost and 127.0.0.1 signed by it (as RDS's
    certificates name their endpoint): (ca.pem, server.pem, server.key)."""
    ca_key, ca, key, csr, cert = (dir / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca),
        "-days", "30", "-subj", "/CN=rdsf local stack test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
        "-subj", "/CN=localhost")
    ext = dir / "server.ext"
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    run("openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
        "-out", str(cert), "-days", "30", "-extfile", str(ext))
    return ca, cert, key


class PostgresServer:
    def __init__(self, workdir: Path) -> None:
        # its own directory under /tmp: the postgres user must reach it, which a root-only work
        # directory's parents may not let it; `workdir/postgres` links to it (the server log)
        self.dir = Path(tempfile.mkdtemp(prefix="rdsf-postgres-"))
        os.chmod(self.dir, 0o755)
        link = Path(workdir) / "postgres"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(self.dir)
        self.port = free_port()
        self.bin = _bindir()
        self.as_root = os.geteuid() == 0
        self.ca, cert, key = make_tls(self.dir)
        data = self.dir / "data"
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
            for f in (cert, key):
                shutil.chown(f, "postgres", "postgres")
        os.chmod(key, 0o600)
        self._run(str(self.bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth-local=trust",
                  "--auth-host=reject", "-E", "UTF8", "--locale=C")
        with open(data / "postgresql.conf", "a") as f:
            f.write(f"listen_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = '{self.dir}'\n"
                    f"ssl = on\nssl_cert_file = '{cert}'\nssl_key_file = '{key}'\n"
                    "password_encryption = 'scram-sha-256'\nfsync = off\n")
        (data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "hostssl refused all 127.0.0.1/32 reject\n"
            "hostssl all all 127.0.0.1/32 scram-sha-256\n")
        self._run(str(self.bin / "pg_ctl"), "-D", str(data), "-l", str(self.dir / "server.log"), "-w", "start")
        self.data = data

    def _run(self, *argv: str) -> None:
        if self.as_root:
            argv = ("runuser", "-u", "postgres", "--", *argv)
        subprocess.run(argv, check=True, capture_output=True, cwd=self.dir)

    @property
    def admin(self) -> list[str]:
        """psql as the superuser over the server's socket, reading SQL on stdin."""
        return [str(self.bin / "psql"), "-h", str(self.dir), "-p", str(self.port), "-U", "postgres",
                "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-X"]

    def sql(self, sql: str, database: str = "postgres") -> str:
        argv = self.admin
        argv[argv.index("-d") + 1] = database
        done = subprocess.run(argv, input=sql, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"psql: {done.stderr}")
        return done.stdout

    def registration(self) -> dict:
        """What the emulator's `databases` command takes."""
        return {"host": "localhost", "port": self.port, "admin": self.admin}

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class MariaDBServer:
    """A real MariaDB server (Debian's `mariadb-server`, which `make db-servers` installs) on
    127.0.0.1: TLS with a certificate for `localhost` from its own test CA, and
    `require_secure_transport` on, so a login without TLS is refused."""

    def __init__(self, workdir: Path) -> None:
        if not shutil.which("mariadbd"):
            raise RuntimeError("no MariaDB server (mariadbd): `make db-servers` installs it")
        self.dir = Path(tempfile.mkdtemp(prefix="rdsf-mariadb-"))
        link = Path(workdir) / "mariadb"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(self.dir)
        self.port = free_port()
        self.ca, cert, key = make_tls(self.dir)
        data = self.dir / "data"
        user = ["--user=root"] if os.geteuid() == 0 else []
        subprocess.run(["mariadb-install-db", "--no-defaults", *user, f"--datadir={data}",
                        "--auth-root-authentication-method=socket", "--skip-test-db"],
                       check=True, capture_output=True)
        self.socket = self.dir / "sock"
        self.pid = self.dir / "server.pid"
        argv = ["mariadbd", "--no-defaults", *user, f"--datadir={data}", f"--socket={self.socket}",
                f"--port={self.port}", "--bind-address=127.0.0.1", f"--ssl-ca={self.ca}",
                f"--ssl-cert={cert}", f"--ssl-key={key}", "--require-secure-transport=ON",
                f"--pid-file={self.pid}", f"--log-error={self.dir / 'server.log'}", "--skip-log-bin",
                "--innodb-buffer-pool-size=32M", "--skip-name-resolve"]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while subprocess.run(self.admin, input="SELECT 1", capture_output=True, text=True).returncode != 0:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mariadbd did not start: {(self.dir / 'server.log').read_text()[-2000:]}")
            time.sleep(0.3)

    @property
    def admin(self) -> list[str]:
        """The client as root over the server's socket, reading SQL on stdin."""
        return ["mariadb", "--no-defaults", "-S", str(self.socket), "-u", "root"]

    def sql(self, sql: str) -> str:
        done = subprocess.run(self.admin, input=sql, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"mariadb: {done.stderr}")
        return done.stdout

    def registration(self) -> dict:
        return {"host": "localhost", "port": self.port, "admin": self.admin}

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
