"""The quickstart of python/README.md ("The examples"), run with whatever cryptr_guard this
interpreter imports (scripts/test-wheel.sh: the installed wheel, with no Rust on PATH).

- ``cryptr-guard demo`` (the built binary, ``--server``) is the issuer of two organizations: the
  configuration line it prints configures every host, as is, and the tokens it prints are the
  requests. The Flask example under ``flask run`` and under gunicorn (its gunicorn.conf.py), the
  FastAPI example under uvicorn, the Django REST framework example under ``runserver`` and
  ``cryptr-guard serve`` each run as a real process on 127.0.0.1 configured with both
  organizations, and must answer: the v1 and the v3 token of each organization 200, no token 401
  ``authorization_header_missing``, a token of an organization that is not configured 401
  ``invalid_issuer`` (SPEC §8), an expired token and a token for another API their SPEC §3
  answers; never a 500; every host's status, ``code`` and ``error`` equal to Flask's.
- ``examples/local_issuer.py``, the stand-in without Rust (one organization): the Flask example
  accepts its v1 and v3 tokens.

One check per host; prints ``wheel: N passed, M failed`` and exits 1 if any failed.

    python scripts/wheel-examples.py --server target/release/cryptr-guard
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import queue
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any, Callable, Dict, List, Optional, Tuple

EXAMPLES = Path(__file__).resolve().parents[1] / "python" / "examples"

# A case: its label, the demo's title of the token it sends (None: no Authorization header), the
# status and the `error` expected (None: accepted). "{org}" is each organization the demo prints.
ORG_CASES = [
    ("{org} v1", "{org}: a v1 token", 200, None),
    ("{org} v3", "{org}: a v3 token", 200, None),
]
CASES = [
    ("no token", None, 401, "authorization_header_missing"),
    ("organization not configured", "an organization that is not configured", 401, "invalid_issuer"),
    ("expired", "An expired token", 401, "token_expired"),
    ("another API", "wrong audience", 401, "invalid_audience"),
]

# One request's outcome as compared between hosts: status, body `code`, body `error`.
Outcome = Tuple[int, Optional[str], Optional[str]]
# A request to send: its label, the token (None: no Authorization header), the status and the
# `error` expected (None: accepted).
Case = Tuple[str, Optional[str], int, Optional[str]]


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def get(url: str, token: Optional[str] = None) -> Tuple[int, Any, bytes]:
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def wait_for(port: int, process: "subprocess.Popen[Any]", name: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{name} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{name} did not start")


def stop(process: "subprocess.Popen[Any]") -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def read_lines(stream: IO[str], until: Callable[[str], bool], timeout: float = 60) -> List[str]:
    """The lines of a child's stdout up to the first for which `until` holds (included); a reader
    thread keeps draining the rest, so that the child never blocks on a full pipe."""
    lines: "queue.Queue[Optional[str]]" = queue.Queue()

    def drain() -> None:
        for line in stream:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=drain, daemon=True).start()
    read: List[str] = []
    deadline = time.monotonic() + timeout
    while True:
        line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        if line is None:
            raise SystemExit("the issuer stopped before printing its settings:\n" + "\n".join(read))
        read.append(line)
        if until(line):
            return read


def parse_demo(lines: List[str]) -> Tuple[Dict[str, str], Dict[str, str]]:
    """The demo's printed configuration (the `CRYPTR_BASE_URL=… CRYPTR_TENANT_DOMAIN=…` line) and
    its tokens, by the title of the example that sends each."""
    config: Dict[str, str] = {}
    tokens: Dict[str, str] = {}
    title = ""
    for line in lines:
        if line.startswith("CRYPTR_BASE_URL="):
            config = dict(part.split("=", 1) for part in line.split())
        elif re.match(r"# \d+\. ", line):
            title = line.split(". ", 1)[1]
        elif line.startswith("curl ") and "/api/v1/courses" in line:
            found = re.search(r"Bearer ([A-Za-z0-9_.-]+)", line)
            if found:
                tokens[title] = found.group(1)
    if not config or not tokens:
        raise SystemExit("no configuration line or no token in the demo's output:\n" + "\n".join(lines))
    return config, tokens


def token_for(tokens: Dict[str, str], title: str) -> str:
    found = [token for t, token in tokens.items() if title in t]
    if len(found) != 1:
        raise SystemExit(f"the demo printed {len(found)} tokens titled {title!r}: {sorted(tokens)}")
    return found[0]


def subject(token: str) -> Any:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]


def outcome(status: int, body: bytes) -> Outcome:
    try:
        parsed = json.loads(body)
    except ValueError:
        return status, None, f"not JSON: {body[:80]!r}"
    if isinstance(parsed, dict):
        return status, parsed.get("code"), parsed.get("error")
    return status, None, None


class Hosts:
    """Starts each host with the same settings, checks it, and counts the checks."""

    def __init__(self, env: Dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.passed = 0
        self.failed = 0
        self.reference: Optional[Tuple[str, Dict[str, Outcome]]] = None

    def run(self, name: str, folder: Path, command: List[str], check: Callable[[str], Dict[str, Outcome]],
            env: Optional[Dict[str, str]] = None) -> None:
        port = free_port()
        log = self.logs / (re.sub(r"\W+", "-", name).strip("-") + ".log")
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [part.format(port=port) for part in command], cwd=folder, env={**self.env, **(env or {})},
                stdout=out, stderr=subprocess.STDOUT,
            )
        try:
            wait_for(port, process, name)
            outcomes = check(f"http://127.0.0.1:{port}")
            if self.reference is not None and outcomes.keys() == self.reference[1].keys():
                first, expected = self.reference
                differ = {k: (v, expected[k]) for k, v in outcomes.items() if v != expected[k]}
                assert not differ, f"answers other than {first}'s (this host's, {first}'s): {differ}"
            elif self.reference is None:
                self.reference = (name, outcomes)
            self.passed += 1
        except AssertionError as e:
            self.failed += 1
            print(f"FAILED {name}: {e}", flush=True)
            tail = log.read_text(errors="replace").splitlines()[-20:]
            print("\n".join(f"  | {line}" for line in tail), flush=True)
        finally:
            stop(process)


def check_cases(name: str, cases: List[Case],
                me: List[str]) -> Callable[[str], Dict[str, Outcome]]:
    """Each case's request to /api/v1/courses answered as expected (never a 500; `WWW-Authenticate`
    on every 401), and /api/v1/me 200 with the token's `sub` for each token of `me`."""

    def check(base: str) -> Dict[str, Outcome]:
        outcomes: Dict[str, Outcome] = {}
        for label, token, status, error in cases:
            got, headers, body = get(f"{base}/api/v1/courses", token)
            outcomes[label] = outcome(got, body)
            assert got != 500, (label, body)
            assert (got, outcomes[label][2]) == (status, error), (label, got, body)
            if status == 200:
                assert isinstance(json.loads(body), list) and json.loads(body), (label, body)
            else:
                assert headers.get("WWW-Authenticate", "").startswith("Bearer"), (label, dict(headers))
        for token in me:
            got, _, body = get(f"{base}/api/v1/me", token)
            assert got == 200 and json.loads(body)["sub"] == subject(token), ("/api/v1/me", got, body)
        summary = ", ".join(f"{label} {o[0]}{' ' + str(o[2]) if o[2] else ''}" for label, o in outcomes.items())
        print(f"{name}: {summary}{'; /api/v1/me 200 for each v3 token' if me else ''}", flush=True)
        return outcomes

    return check


def demo_hosts(hosts: Hosts, server: str, tmp: Path) -> None:
    demo = subprocess.Popen([server, "demo", "--bind", "127.0.0.1:0", "--bits", "2048"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=hosts.env)
    try:
        assert demo.stdout is not None
        config, tokens = parse_demo(read_lines(demo.stdout, lambda line: "Press Ctrl-C" in line))
        organizations = config["CRYPTR_TENANT_DOMAIN"].split(",")
        assert len(organizations) == 2, config
        print(f"demo: {' '.join(f'{k}={v}' for k, v in config.items())}", flush=True)
        cases: List[Case] = []
        for org in organizations:
            for label, title, status, error in ORG_CASES:
                cases.append((label.format(org=org), token_for(tokens, title.format(org=org)), status, error))
        for label, sent, status, error in CASES:
            cases.append((label, token_for(tokens, sent) if sent else None, status, error))
        v3 = [token for label, token, _, _ in cases if label.endswith(" v3") and token]
        hosts.env.update(config)  # the printed line, as is: both organizations
        python = sys.executable
        runs: List[Tuple[str, Path, List[str], List[str], Dict[str, str]]] = [
            ("flask (flask run)", EXAMPLES / "flask_app",
             [python, "-m", "flask", "--app", "server", "run", "--port", "{port}"], v3, {}),
            # gunicorn's control socket goes to $XDG_RUNTIME_DIR, here the test's own directory.
            ("flask (gunicorn)", EXAMPLES / "flask_app",
             [python, "-m", "gunicorn", "-b", "127.0.0.1:{port}", "server:app"], v3, {"XDG_RUNTIME_DIR": str(tmp)}),
            ("fastapi (uvicorn)", EXAMPLES / "fastapi_app",
             [python, "-m", "uvicorn", "main:app", "--port", "{port}"], v3, {}),
            ("django (runserver)", EXAMPLES / "django_app",
             [python, "manage.py", "runserver", "--noreload", "127.0.0.1:{port}"], v3, {}),
            ("cryptr-guard serve", tmp, [server, "serve", "--bind", "127.0.0.1:{port}"], [], {}),
        ]
        for name, folder, command, me, env in runs:
            hosts.run(name, folder, command, check_cases(name, cases, me), env)
    finally:
        stop(demo)


def local_issuer_host(hosts: Hosts) -> None:
    issuer = subprocess.Popen([sys.executable, str(EXAMPLES / "local_issuer.py"), "--port", "0"],
                              stdout=subprocess.PIPE, text=True, env=hosts.env)
    try:
        assert issuer.stdout is not None
        printed = dict(line.partition("=")[::2] for line in
                       read_lines(issuer.stdout, lambda line: line.startswith("TOKEN_V3=")))
        hosts.reference = None  # another issuer: nothing to compare with
        hosts.env.update(CRYPTR_BASE_URL=printed["CRYPTR_BASE_URL"], CRYPTR_CLIENT_IDS=printed["CRYPTR_CLIENT_IDS"],
                         CRYPTR_TENANT_DOMAIN="shark-academy", CRYPTR_ALLOW_HTTP="true")
        cases: List[Case] = [
            ("v1", printed["TOKEN"], 200, None),
            ("v3", printed["TOKEN_V3"], 200, None),
            ("no token", None, 401, "authorization_header_missing"),
        ]
        name = "flask (local_issuer.py, one organization)"
        hosts.run(name, EXAMPLES / "flask_app", [sys.executable, "-m", "flask", "--app", "server", "run",
                                                 "--port", "{port}"], check_cases(name, cases, [printed["TOKEN_V3"]]))
    finally:
        stop(issuer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", required=True, help="the cryptr-guard binary (cryptr-guard demo, serve)")
    args = parser.parse_args()
    import cryptr_guard

    print(f"cryptr_guard {cryptr_guard.__version__} from {Path(cryptr_guard.__file__).parent}", flush=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTR_")}
    with tempfile.TemporaryDirectory() as tmp:
        hosts = Hosts(env, Path(tmp))
        demo_hosts(hosts, str(Path(args.server).resolve()), Path(tmp))
        local_issuer_host(hosts)
    print(f"wheel: {hosts.passed} passed, {hosts.failed} failed", flush=True)
    if hosts.failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
