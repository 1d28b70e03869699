"""The report of a scenario: phases and events, the answers by token kind, every JWKS fetch per
host process with the rule that allowed it, the bound, and the verdict.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .issuer import FAILING
from .judge import MIN_TTL, UNKNOWN_KEY_COOLDOWN, compliance, streak_bound

if TYPE_CHECKING:
    from .scenarios import Run


def report(run: Run, metrics: dict[tuple[str, str], float], end: float, complete: bool) -> int:
    runs = run.runs
    served = sum(r.get("served", 0) for r in runs.values())
    wrong = sum(r.get("wrong", 0) for r in runs.values())
    fivexx = sum(r.get("fivexx", 0) for r in runs.values())
    fivexx_cached = sum(r.get("fivexx_cached", 0) for r in runs.values())
    undocumented = sum(r.get("undocumented", 0) for r in runs.values())
    socket_errors = sum(r.get(f"errors_{n}", 0) for r in runs.values()
                        for n in ("connect", "read", "write", "timeout"))  # fmt: skip
    load_seconds = sum(r.get("duration_us", 0) for r in runs.values()) / 1e6
    p99 = max((r.get("latency_p99_us", 0) for r in runs.values()), default=0) / 1e6
    worst = max((r.get("latency_max_us", 0) for r in runs.values()), default=0) / 1e6
    fetches = run.fetches()
    lines = run.timelines()
    master = run.host.master()
    server_fetches = {k[1]: int(v) for k, v in metrics.items() if k[0] == "cryptr_guard_jwks_fetches_total"}
    outcomes = {k[1]: int(v) for k, v in metrics.items() if k[0] == "cryptr_guard_requests_total"}

    # The bound, per fetching process: successes that refresh an old set come at most once per
    # MIN_TTL, unknown-kid refetches at most once per cooldown, and failures only while the
    # issuer fails, within the backoff's reach for each window's length.
    duration = math.ceil(end)
    windows = []
    first = run.phases[0] if run.phases else None
    if first is not None:
        windows.append(("issuer down or failing at start", first[1], run.fixed or first[2]) if
                       run.args.scenario == "short" else ("cold start (down)", first[1], first[2]))  # fmt: skip
    down = next((p for p in run.phases if p[0].startswith("down")), None)
    if down:
        last_fault = max((t for t, a, _, _ in fetches if a in FAILING), default=down[2])
        windows.append(("outage + faults", down[1], last_fault))
    bound_fresh = duration // MIN_TTL + 1
    bound_unknown = duration // UNKNOWN_KEY_COOLDOWN + 1 if run.args.scenario == "full" else 0
    bound_fail = sum(streak_bound(b - a) for _, a, b in windows)
    per_process = bound_fresh + bound_unknown + bound_fail
    inherited = sum(1 for _, _, p, _ in fetches if master is not None and p == master)
    workers = max(1, len([p for p in lines if p != master]))
    bound = per_process * workers + inherited
    total_fetches = len(fetches)
    unattributed = sum(1 for _, _, p, _ in fetches if p == 0)
    deadline = run.args.jwks_timeout or 5
    drips = [d for _, a, _, d in fetches if a == "drip"]
    drips_late = [d for d in drips if d > deadline + 0.5]

    out = []
    out.append("")
    out.append(f"== {run.host.label}, scenario {run.args.scenario}: {duration} s, "
               f"{run.args.connections} wrk connections ==")  # fmt: skip
    out.append("phases:")
    for name, a, b in run.phases:
        out.append(f"  {a:6.1f} - {b:6.1f} s  {name}")
    out.append("events:")
    for t, text in run.events:
        out.append(f"  {t:6.1f} s  {text}")
    out.append("")
    out.append(f"requests served: {served} in {load_seconds:.1f} s of load ({served / max(load_seconds, 1e-9):.0f}/s); "
               f"latency p99 {p99 * 1000:.0f} ms (worst wrk run), max {worst * 1000:.0f} ms")  # fmt: skip
    out.append(f"wrong answers: {wrong}")
    out.append(f"5xx: {fivexx} ({fivexx - fivexx_cached} with no usable key set, {fivexx_cached} with one); "
               f"without the SPEC body or Retry-After: {undocumented}")  # fmt: skip
    out.append(f"requests without an answer (wrk socket errors and timeouts): {socket_errors}")
    for name, r in runs.items():
        explained = ", ".join(f"{r['names'][i - 1]}: {n}" for i, n in sorted(r["epochs"].items()))
        out.append(f"  wrk run {name}: {r.get('served', 0)} answers, {r.get('wrong', 0)} wrong; "
                   f"explained by the host holding {explained}")  # fmt: skip
        for s in r["samples"]:
            out.append(f"    wrong: {s}")
    out.append("answers by token kind:")
    merged: dict[str, dict[str, int]] = {}
    for r in runs.values():
        for (kind, answer), n in r["counts"].items():
            by_answer = merged.setdefault(kind, {})
            by_answer[answer] = by_answer.get(answer, 0) + n
    for kind in sorted(merged):
        answers = ", ".join(f"{a}: {n}" for a, n in sorted(merged[kind].items(), key=lambda x: -x[1]))
        out.append(f"  {kind:18} {answers}")
    if outcomes:
        out.append(f"server outcomes (/metrics): {dict(sorted(outcomes.items()))}")
    out.append("")
    out.append(f"JWKS fetches: {total_fetches} ({len(run.issuer.log)} reached the issuer"
               + (f", {len(run.watcher.unseen)} refused" if run.watcher else "") + ")"
               + (f"; the server counted {sum(server_fetches.values())} {dict(sorted(server_fetches.items()))}"
                  if run.watcher else ""))  # fmt: skip
    reasons = run.host.reasons()
    if reasons:
        out.append(f"  reasons in the server's log: {dict(sorted(reasons.items()))}")
    if drips:
        out.append(f"  dripped answers cut by the host after {', '.join(f'{d:.1f}' for d in drips)} s "
                   f"(deadline {deadline} s)")  # fmt: skip
    violations: list[str] = []
    for pid, timeline in sorted(lines.items()):
        role = "server" if run.args.host == "serve" else "worker"
        labels, bad, recoveries = compliance(timeline, end)
        violations += [f"pid {pid}: {v}" for v in bad]
        out.append(f"  {role} pid {pid}" + (f" (with its master's {inherited} fetch(es) before the fork)"
                                           if inherited else "") + ":")  # fmt: skip
        for (t, answer), label in zip(timeline, labels):
            out.append(f"    {t:6.1f} s  {answer:18} {'installed' if answer == 'good' else 'failed':9}  "
                       f"allowed as: {label}")  # fmt: skip
        for recovery in recoveries:
            out.append(f"    recovery: {recovery}")
    out.append(f"  bound: {bound} = {workers} process(es) x {per_process} ({bound_fresh} refreshes of a good set "
               f"at most every {MIN_TTL} s over {duration} s + {bound_unknown} unknown-kid refetches + {bound_fail} "
               "failures under backoff in " + ", ".join(f"{n} {b - a:.0f} s" for n, a, b in windows) + ")"
               + (f" + {inherited} by the master" if inherited else ""))  # fmt: skip
    out.append(f"  policy violations: {len(violations)}")
    for v in violations:
        out.append(f"    {v}")
    failed = []
    if wrong:
        failed.append(f"{wrong} wrong answers")
    if fivexx_cached:
        failed.append(f"{fivexx_cached} 5xx with a usable key set cached")
    if undocumented:
        failed.append(f"{undocumented} 5xx without the SPEC body or Retry-After")
    if total_fetches > bound:
        failed.append(f"{total_fetches} fetches over the bound of {bound}")
    if violations:
        failed.append(f"{len(violations)} fetches the policy does not allow, or late")
    if socket_errors:
        failed.append(f"{socket_errors} requests without an answer (socket errors or timeouts)")
    if run.watcher is not None and sum(server_fetches.values()) != total_fetches:
        failed.append(f"the server counted {sum(server_fetches.values())} fetches, the issuer and poll saw {total_fetches}")
    if unattributed:
        failed.append(f"{unattributed} fetches not attributed to a host process")
    if drips_late:
        failed.append(f"{len(drips_late)} dripped answers read past the deadline")
    if not complete:
        failed.append("the scenario did not complete within the time budget")
    out.append("")
    out.append("RESULT: " + ("PASS" if not failed else "FAIL: " + "; ".join(failed)))
    out.append(f"(work files: {run.work})")
    print("\n".join(out), flush=True)
    return 1 if failed else 0
