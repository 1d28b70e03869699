"""A JSON writer with knobs, for building token headers, payloads and JWKS documents as text.

Objects are `Obj` (ordered (name, value) pairs, so duplicate names are possible); `Raw` text is
written verbatim (number spellings such as `1.7e9`, literals such as `NaN`, pre-escaped
strings). Cosmetic choices (escapes, whitespace) come from a `random.Random` seeded by the test,
so an example is reproducible from its draws."""

from __future__ import annotations

import random
from typing import Any, List, Tuple


class Raw(str):
    """Text written as is."""


class Obj(list):  # type: ignore[type-arg]
    """A JSON object as a list of (name, value) pairs."""

    def __init__(self, pairs: List[Tuple[str, Any]] = ()) -> None:  # type: ignore[assignment]
        super().__init__(pairs)

    def get(self, name: str, default: Any = None) -> Any:
        for k, v in reversed(self):
            if k == name:
                return v
        return default

    def set(self, name: str, value: Any) -> None:
        for i, (k, _) in enumerate(self):
            if k == name:
                self[i] = (name, value)
                return
        self.append((name, value))

    def remove(self, name: str) -> None:  # type: ignore[override]
        self[:] = [(k, v) for k, v in self if k != name]

    def names(self) -> List[str]:
        return [k for k, _ in self]


ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


class Writer:
    """`escape`: 'plain' (UTF-8, only the required escapes), 'ascii' (\\u for every non-ASCII
    character, surrogate pairs above U+FFFF), 'mixed' (random \\u escapes and \\/ for any
    character). `space`: probability of whitespace between tokens."""

    def __init__(self, rnd: random.Random, escape: str = "plain", space: float = 0.0) -> None:
        self.rnd = rnd
        self.escape = escape
        self.space = space

    def ws(self) -> str:
        if self.space and self.rnd.random() < self.space:
            return self.rnd.choice([" ", "\n", "\t", "\r", "  ", "\r\n "])
        return ""

    def string(self, s: str) -> str:
        out = ['"']
        for ch in s:
            cp = ord(ch)
            if ch in ESCAPES and not (self.escape == "mixed" and self.rnd.random() < 0.5):
                out.append(ESCAPES[ch])
            elif cp < 0x20 or 0xD800 <= cp <= 0xDFFF:
                out.append(f"\\u{cp:04x}")
            elif self.escape == "ascii" and cp > 0x7E:
                out.append(_u_escape(cp, self.rnd))
            elif self.escape == "mixed" and self.rnd.random() < 0.3:
                out.append("\\/" if ch == "/" and self.rnd.random() < 0.5 else _u_escape(cp, self.rnd))
            else:
                out.append(ch)
        out.append('"')
        return "".join(out)

    def value(self, v: Any) -> str:
        if isinstance(v, Raw):
            return str(v)
        if v is None:
            return "null"
        if v is True:
            return "true"
        if v is False:
            return "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, float):
            if v != v:
                return "NaN"
            if v in (float("inf"), float("-inf")):
                return "Infinity" if v > 0 else "-Infinity"
            return repr(v)
        if isinstance(v, str):
            return self.string(v)
        if isinstance(v, Obj):
            items = [self.ws() + self.string(k) + self.ws() + ":" + self.ws() + self.value(x) + self.ws() for k, x in v]
            return "{" + ",".join(items) + (self.ws() if not items else "") + "}"
        if isinstance(v, dict):
            return self.value(Obj(list(v.items())))
        if isinstance(v, (list, tuple)):
            items = [self.ws() + self.value(x) + self.ws() for x in v]
            return "[" + ",".join(items) + (self.ws() if not items else "") + "]"
        raise TypeError(type(v))

    def document(self, v: Any) -> str:
        return self.ws() + self.value(v) + self.ws()


def _u_escape(cp: int, rnd: random.Random) -> str:
    def one(c: int) -> str:
        text = f"{c:04x}"
        return "\\u" + (text.upper() if rnd.random() < 0.5 else text)

    if cp > 0xFFFF:
        cp -= 0x10000
        return one(0xD800 + (cp >> 10)) + one(0xDC00 + (cp & 0x3FF))
    return one(cp)


def to_python(v: Any) -> Any:
    """The value Python's json would build from the writer's output (last duplicate wins)."""
    if isinstance(v, Obj):
        return {k: to_python(x) for k, x in v}
    if isinstance(v, dict):
        return {k: to_python(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [to_python(x) for x in v]
    return v
