"""The README says what the code does: its settings table is the core's ``SETTINGS``, and every
exception class is listed."""

from __future__ import annotations

import re
from pathlib import Path

import cryptr_guard

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_the_settings_table_is_the_cores() -> None:
    rows = re.findall(r"^\| `(CRYPTR_[A-Z_]+)` \| (.+) \|$", README, flags=re.MULTILINE)
    assert rows == list(cryptr_guard.SETTINGS)
    for current, old in cryptr_guard.ALIASES:
        assert f"`{old}` → `{current}`" in README


def test_every_exception_class_is_documented() -> None:
    for code, cls in cryptr_guard.ERRORS.items():
        assert f"| `{code}` | `{cls.__name__}`" in README
    assert "SettingError" in README
