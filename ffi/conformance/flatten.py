#!/usr/bin/env python3
"""Flattens conformance vector files (tests/vectors/FORMAT.md) into a line format for the C
runner (runner.c), which does every validation through the public C API.

    flatten.py VECTOR_FILE_OR_DIR...  > lines

Like every runner, this reads the inputs of each case and never `expect` or `valid`. Every field
is hex-encoded bytes ("-" for absent), fields separated by one space:

    G <jwks> <min_rsa_bits or 0>                       a token group's one key set (SPEC §2)
    M <min_rsa_bits or 0>                              a token group with a key set per issuer
    I <issuer> <jwks>                                  ... one issuer's key set (SPEC §8)
    T <name> <token> <now> <issuers> <audiences> <leeway> <required> <typ> <max_token_len>
      <profile> <client_ids> <max_lifetime>
    J <name> <jwks> <min_rsa_bits or 0>                a JWKS case
    R <name> <n> <e> <msg> <sig>                       a raw RS256 case

where <issuers>/<audiences>/<required>/<client_ids> are comma-separated lists of hex fields (""
as "," alone would be ambiguous, so an empty list is "-" and an empty string inside a list is
"="). An option a case leaves out, which then takes its profile's default, is "~": <required>,
<profile> (else the hex of its name), <client_ids>, <max_lifetime> (else "-" for null, none, or
the number of seconds).

A group's `jwks` object is re-serialized exactly (member order, duplicate names and number text
kept; strings re-escaped as ASCII), as FORMAT.md asks ("serialize it and parse the result").
"""
import json
import os
import sys


class Raw(str):
    """A JSON number, kept as written."""


class Pairs(list):
    """A JSON object, as its (name, value) pairs in order, duplicates kept."""


def dump(value) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, Pairs):
        return "{" + ",".join(json.dumps(k) + ":" + dump(v) for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dump(v) for v in value) + "]"
    return json.dumps(value)


def load(text: str):
    return json.loads(
        text, object_pairs_hook=Pairs, parse_float=Raw, parse_int=Raw, parse_constant=Raw
    )


def get(pairs, name, default=None):
    for k, v in pairs:
        if k == name:
            return v
    return default


def hexs(data: bytes) -> str:
    return data.hex() or "="


def utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def str_list(value) -> str:
    items = [value] if isinstance(value, str) else list(value)
    return ",".join(hexs(utf8(s)) for s in items) or "-"


ABSENT = object()


def optional(options, name, encode) -> str:
    """`encode(value)` of a member that may be left out ("~": the profile's default applies)."""
    value = get(options, name, ABSENT)
    return "~" if value is ABSENT else encode(value)


def min_bits(holder) -> str:
    options = get(holder, "jwks_options")
    bits = get(options, "min_rsa_bits") if options is not None else None
    return str(int(bits)) if bits is not None else "0"


def files(paths):
    for path in paths:
        if os.path.isdir(path):
            found = []
            for root, _dirs, names in os.walk(path):
                found += [os.path.join(root, n) for n in names if n.endswith(".json")]
            yield from sorted(found)
        else:
            yield path


def main() -> None:
    out = sys.stdout
    for path in files(sys.argv[1:]):
        with open(path, encoding="utf-8") as f:
            group = load(f.read())
        cases = get(group, "cases")
        if cases is not None:
            by_issuer = get(group, "jwks_by_issuer")
            if by_issuer is not None:
                out.write(f"M {min_bits(group)}\n")
                for issuer, jwks in by_issuer:
                    out.write(f"I {hexs(utf8(issuer))} {hexs(dump(jwks).encode())}\n")
            else:
                raw = get(group, "jwks_raw")
                document = utf8(raw) if raw is not None else dump(get(group, "jwks")).encode()
                out.write(f"G {hexs(document)} {min_bits(group)}\n")
            for case in cases:
                o = get(case, "options")
                typ = get(o, "typ")
                out.write(
                    " ".join([
                        "T",
                        hexs(utf8(get(case, "name"))),
                        hexs(utf8(get(case, "token"))),
                        str(int(get(case, "now"))),
                        str_list(get(o, "issuer")),
                        str_list(get(o, "audiences")),
                        str(int(get(o, "leeway"))),
                        optional(o, "required_claims", str_list),
                        "-" if typ is None else hexs(utf8(typ)),
                        str(int(get(o, "max_token_len"))),
                        optional(o, "profile", lambda p: hexs(utf8(p))),
                        optional(o, "client_ids", str_list),
                        optional(o, "max_lifetime", lambda m: "-" if m is None else str(int(m))),
                    ]) + "\n"
                )
        for case in get(group, "jwks_cases") or []:
            raw = get(case, "jwks_raw")
            document = utf8(raw) if raw is not None else bytes.fromhex(get(case, "jwks_raw_hex"))
            out.write(f"J {hexs(utf8(get(case, 'name')))} {hexs(document)} {min_bits(case)}\n")
        for case in get(group, "raw_cases") or []:
            jwk = get(case, "jwk")
            fields = [utf8(get(case, "name")), utf8(get(jwk, "n", "")), utf8(get(jwk, "e", "")),
                      bytes.fromhex(get(case, "msg_hex")), bytes.fromhex(get(case, "sig_hex"))]
            out.write("R " + " ".join(hexs(f) for f in fields) + "\n")


if __name__ == "__main__":
    main()
