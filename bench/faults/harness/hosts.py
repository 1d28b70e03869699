"""The hosts under load: `cryptr-guard serve`, and the Flask example under gunicorn (a master
and its workers), with the /proc lookups that attribute a JWKS request to a host process.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess

from . import HERE
from .issuer import Issuer
from .load import http_get

EXAMPLE = os.path.normpath(os.path.join(HERE, "..", "..", "python", "examples", "flask_app"))
AUDIENCE = "http://localhost:8081"


def socket_owner(port: int, peer_port: int, pids: list[int]) -> int:
    """The process among `pids` holding the TCP socket 127.0.0.1:`port` -> :`peer_port` (Linux
    /proc), or 0."""
    inode = ""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if (int(fields[1].rsplit(":", 1)[1], 16) == port
                    and int(fields[2].rsplit(":", 1)[1], 16) == peer_port):  # fmt: skip
                inode = fields[9]
                break
        if inode:
            break
    if not inode or inode == "0":
        return 0
    target = f"socket:[{inode}]"
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return pid
            except OSError:
                pass
    return 0


def children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return sorted(out)


class ServeHost:
    """`cryptr-guard serve`: one process, /auth with X-Auth-Key-Id, /readyz, /metrics."""

    label = "cryptr-guard serve"
    path, kid_header, ordered = "/auth", True, True

    def __init__(self, args: argparse.Namespace, issuer: Issuer, port: int, work: str):
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = os.path.join(work, "server.log")
        self.cmd = [
            "taskset", "-c", args.server_cpu, args.bin, "--log-format", "json", "serve",
            "--allow-http", "--bind", f"127.0.0.1:{port}", "--issuer", issuer.issuer(),
            "--audience", AUDIENCE, "--jwks-url", issuer.url(), "--workers", "1",
        ]  # fmt: skip
        if args.jwks_timeout:
            self.cmd += ["--jwks-timeout", str(args.jwks_timeout)]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = dict(os.environ, RUST_LOG="warn,cryptr_guard_server::jwks=info")
        self.err = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.cmd, env=env, stdout=subprocess.DEVNULL, stderr=self.err)

    def started(self) -> bool:
        return http_get(self.base + "/healthz")[0] == 200

    def ready(self, token: str) -> bool:
        return http_get(self.base + "/readyz")[0] == 200

    def master(self) -> int | None:
        return None

    def pids(self) -> list[int]:
        return [self.proc.pid] if self.proc else []

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.err.close()

    def reasons(self) -> dict[str, int]:
        """Fetch reasons in the server's JSON log."""
        reasons: dict[str, int] = {}
        with open(self.log_path, errors="replace") as f:
            for line in f:
                try:
                    fields = json.loads(line).get("fields", {})
                except ValueError:
                    continue
                if fields.get("message") in ("JWKS fetched", "JWKS fetch failed"):
                    reasons[fields.get("reason", "?")] = reasons.get(fields.get("reason", "?"), 0) + 1
        return reasons


class FlaskHost:
    """The Flask example under gunicorn with its gunicorn.conf.py (preloaded app, sync workers):
    a master and workers, each worker with its own key-set cache; /api/v1/courses."""

    label = "Flask example under gunicorn"
    path, kid_header, ordered = "/api/v1/courses", False, False

    def __init__(self, args: argparse.Namespace, issuer: Issuer, port: int, work: str):
        self.args = args
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = os.path.join(work, "gunicorn.log")
        self.cmd = [
            "taskset", "-c", args.server_cpu, args.python, "-m", "gunicorn",
            "-c", os.path.join(EXAMPLE, "gunicorn.conf.py"), "--chdir", EXAMPLE,
            "-b", f"127.0.0.1:{port}", "-w", str(args.workers), "--log-level", "info", "server:app",
        ]  # fmt: skip
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTR_")}
        self.env.update(
            CRYPTR_BASE_URL=issuer.issuer().rsplit("/t/", 1)[0],
            CRYPTR_TENANT_DOMAIN="faults",
            CRYPTR_AUDIENCE=AUDIENCE,
            CRYPTR_ALLOW_HTTP="true",
        )
        if args.jwks_timeout:
            self.env["CRYPTR_JWKS_TIMEOUT"] = str(args.jwks_timeout)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.err = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=self.err, stderr=subprocess.STDOUT)

    def started(self) -> bool:
        return (len(self.pids()) > self.args.workers
                and http_get(self.base + "/api/v1/public")[0] == 200)  # fmt: skip

    def ready(self, token: str) -> bool:
        return all(http_get(self.base + self.path, token=token)[0] == 200 for _ in range(2 * self.args.workers))

    def master(self) -> int | None:
        return self.proc.pid if self.proc else None

    def pids(self) -> list[int]:
        return [self.proc.pid] + children(self.proc.pid) if self.proc else []

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.err.close()

    def reasons(self) -> dict[str, int]:
        return {}


Host = ServeHost | FlaskHost
