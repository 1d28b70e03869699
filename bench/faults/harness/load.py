"""The load and what the harness reads from the hosts: wrk with faults.lua (which checks every
answer against the tokens file), the /metrics watcher, and a plain HTTP GET.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from . import HERE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def http_get(url: str, timeout: float = 2.0, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": "Bearer " + token} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


METRIC = re.compile(r'^(cryptr_guard_[a-z_]+)(?:\{(.*)\})? (\S+)$', re.M)
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> dict[tuple[str, str], float]:
    """(metric, its last label's value) -> value, summed over the other labels (the server
    labels its per-issuer metrics with `issuer` first; this harness has one issuer)."""
    out: dict[tuple[str, str], float] = {}
    for m in METRIC.finditer(text):
        labels = LABEL.findall(m[2] or "")
        key = (m[1], labels[-1][1] if labels else "")
        out[key] = out.get(key, 0.0) + float(m[3])
    return out


class Watcher:
    """Polls the server's /metrics every 0.1 s and records fetch attempts the issuer cannot see
    (connection refused: `network`, `timeout`) with the time they were noticed."""

    def __init__(self, url: str, t0: float):
        self.url, self.t0 = url, t0
        self.unseen: list[tuple[float, str]] = []
        self.last: dict[tuple[str, str], float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def poll(self) -> None:
        status, text = http_get(self.url)
        if status != 200:
            return
        now = parse_metrics(text)
        for result in ("network",):  # a fetch that connected reached the issuer, which logged it
            key = ("cryptr_guard_jwks_fetches_total", result)
            for _ in range(int(now.get(key, 0) - self.last.get(key, 0))):
                self.unseen.append((time.time() - self.t0, result))
        self.last = now

    def run(self) -> None:
        while not self.stop.wait(0.1):
            self.poll()

    def unseen_count(self) -> int:
        return len(self.unseen)


class Wrk:
    """One wrk run with faults.lua, stopped with SIGINT (wrk then prints its summary)."""

    def __init__(self, args: argparse.Namespace, url: str, tokens_file: str, log: str):
        cmd = [
            "taskset", "-c", args.load_cpu, "wrk",
            f"-t{args.connections}", f"-c{args.connections}", "-d3600s", "--timeout", "10s",
            "-s", os.path.join(HERE, "faults.lua"), url, "--", tokens_file,
        ]  # fmt: skip
        self.out = open(log, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=subprocess.STDOUT)
        self.log = log
        self.name = ""
        self.epochs: list[str] = []

    def finish(self) -> dict[str, Any]:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.out.close()
        result: dict[str, Any] = {"counts": {}, "epochs": {}, "samples": [], "names": self.epochs}
        with open(self.log) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if parts[0] != "@@":
                    continue
                if parts[1] == "count":
                    result["counts"][(parts[2], parts[3])] = int(parts[4])
                elif parts[1] == "epoch":
                    result["epochs"][int(parts[2])] = int(parts[3])
                elif parts[1] == "sample":
                    result["samples"].append(parts[2])
                else:
                    result[parts[1]] = int(parts[2])
        return result
