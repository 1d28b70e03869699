"""The judge of the JWKS fetches: each host process's fetches checked against the key-set cache
policy, and the bound on their number.
"""

from __future__ import annotations

# The key-set cache policy (SPEC §4; cryptr_guard_core::cache::CacheConfig::DEFAULT). The server
# has no flag to change it, so the phases are timed around these values.
MIN_TTL = 60
UNKNOWN_KEY_COOLDOWN = 30
BACKOFF_INITIAL = 1
BACKOFF_MAX = 300


TOLERANCE = 2.0  # a whole-second clock, and the server's refresher ticks every second


def backoff(failures: int) -> int:
    return min(BACKOFF_INITIAL * 2 ** (failures - 1), BACKOFF_MAX) if failures else 0


def compliance(fetches: list[tuple[float, str]], end: float) -> tuple[list[str], list[str], list[str]]:
    """Checks one process's fetches against the policy, in whole seconds as its clock counts,
    with 1 s of tolerance per interval. A fetch is allowed when the backoff has lifted and
    either no good set is held (none yet, or one without a usable key), or the set is at
    least MIN_TTL old, or (an unknown-key refetch) the last one was at least
    UNKNOWN_KEY_COOLDOWN ago. After a set without a usable key the next fetch is due when
    the backoff lifts: it must come within TOLERANCE of that. Returns each fetch's label, the
    violations and the recoveries."""
    installed = None
    failures, last_failure, last_unknown = 0, 0.0, None
    labels, violations, recoveries = [], [], []
    due: tuple[float, float, int] | None = None  # (no-usable-key fetch, due at, streak)
    for t, answer in fetches:
        if due is not None:
            late = t - due[1]
            verdict = "within" if late <= TOLERANCE else "LATE"
            recoveries.append(f"{due[0]:6.1f} s no usable key (streak {due[2]}, backoff {backoff(due[2])} s) "
                              f"-> {t:6.1f} s {answer}: after {t - due[0]:.1f} s, {verdict} the bound")  # fmt: skip
            if late > TOLERANCE:
                violations.append(f"{t:.1f} s {answer}: refetch after a set without usable keys {late:.1f} s late")
            due = None
        wait = backoff(failures)
        if failures and t - last_failure < wait - 1:
            label = "VIOLATION: during backoff"
        elif installed is None:
            label = "no key set"
        elif t - installed >= MIN_TTL - 1:
            label = "stale"
        elif last_unknown is None or t - last_unknown >= UNKNOWN_KEY_COOLDOWN - 1:
            label = "unknown kid"
            last_unknown = t
        else:
            label = "VIOLATION: fresh set, unknown-kid cooldown running"
        if label.startswith("VIOLATION"):
            violations.append(f"{t:.1f} s {answer}: {label}")
        labels.append(label)
        if answer == "good":
            installed, failures = t, 0
        else:
            failures, last_failure = failures + 1, t
            if answer == "no_usable_key":
                installed = None
                due = (t, t + backoff(failures), failures)
    if due is not None and end - due[1] > TOLERANCE:
        violations.append(f"{due[0]:.1f} s no usable key: no refetch by {due[1] + TOLERANCE:.1f} s")
    return labels, violations, recoveries

def streak_bound(seconds: float) -> int:
    """The most fetches a backoff of 1, 2, 4, ... s allows in `seconds`, each gap up to 1 s
    shorter (whole-second clock): k fetches need 2^(k-1) - k seconds."""
    k = 1
    while 2 ** k - (k + 1) <= seconds + 1:
        k += 1
    return k
