"""Shared settings of the differential tests.

Bounded by default (the test command): a fixed number of examples, derandomized so that the
test command is reproducible. `CG_DIFF_LONG=1` switches to the long profile (random seeds,
`CG_DIFF_EXAMPLES` examples for the PyJWT test, default 20000)."""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

LONG = os.environ.get("CG_DIFF_LONG", "") not in ("", "0")
SUPPRESSED = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

settings.register_profile(
    "bounded", deadline=None, database=None, derandomize=True, suppress_health_check=SUPPRESSED
)
settings.register_profile(
    "long", deadline=None, database=None, derandomize=False, suppress_health_check=SUPPRESSED
)
settings.load_profile("long" if LONG else "bounded")


def examples(bounded: int, long_default: int) -> int:
    """Examples for one test: `bounded` in the test command, CG_DIFF_EXAMPLES (or
    `long_default`) with CG_DIFF_LONG=1."""
    if not LONG:
        return bounded
    return int(os.environ.get("CG_DIFF_EXAMPLES", str(long_default)))


# Outcome tallies, filled by the tests and printed at the end of the session.
STATS: Counter = Counter()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not STATS:
        return
    terminalreporter.write_sep("-", "differential tallies")
    for key in sorted(STATS):
        terminalreporter.write_line(f"{key}: {STATS[key]}")
