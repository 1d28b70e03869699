"""The Python conformance runner (tests/vectors/FORMAT.md, "Runner output").

Runs every case of the given vector files or folders through ``cryptr_guard`` (the compiled
module, as a Python user calls it) and prints one JSON outcome per line, with the SPEC §7 derived
values of every valid token. A group with ``jwks_by_issuer`` holds one key set per issuer and is
validated the SPEC §8 way (``Validator.verify_by_issuer``). It never reads ``expect`` or
``valid``. Usage: ``python conformance_runner.py PATH...``.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Union

import cryptr_guard
from cryptr_guard import CryptrGuardError, KeySet, Validator


def vector_files(paths: List[str]) -> Iterator[Path]:
    for arg in paths:
        path = Path(arg)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.json") if p.is_file())
        else:
            yield path


def key_set_options(holder: Dict[str, Any]) -> Dict[str, Any]:
    options = holder.get("jwks_options") or {}
    return {"min_rsa_bits": options["min_rsa_bits"]} if "min_rsa_bits" in options else {}


def finite(value: Any) -> bool:
    """Whether every number in ``value`` is representable as JSON (no inf/nan floats)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(finite(v) for v in value.values())
    if isinstance(value, list):
        return all(finite(v) for v in value)
    return True


def validator_for(options: Dict[str, Any]) -> Validator:
    """The validator of a case's options. ``profile``, ``client_ids``, ``required_claims`` and
    ``max_lifetime`` are passed only when present: absent, the profile's default applies
    (``max_lifetime: null`` is no bound)."""
    kwargs: Dict[str, Any] = {
        "leeway": options["leeway"],
        "typ": options["typ"],
        "max_token_len": options["max_token_len"],
    }
    for name in ("profile", "client_ids", "required_claims", "max_lifetime"):
        if name in options:
            kwargs[name] = options[name]
    return Validator(options["issuer"], options["audiences"], **kwargs)


#: A token group's keys: one set (SPEC §2), or issuer → set (SPEC §8); or why the one set failed.
Keys = Union[KeySet, Mapping[str, KeySet], CryptrGuardError]


def token_outcome(case: Dict[str, Any], keys: Keys) -> Dict[str, Any]:
    name = case["name"]
    validator = validator_for(case["options"])
    try:
        if isinstance(keys, CryptrGuardError):
            raise keys
        if isinstance(keys, KeySet):
            verified = validator.verify(case["token"], keys, now=case["now"])
        else:
            verified = validator.verify_by_issuer(case["token"], keys, now=case["now"])
    except CryptrGuardError as e:
        return {"name": name, "valid": False, "error": e.code}
    claims = verified.claims
    out: Dict[str, Any] = {"name": name, "valid": True, "kid": verified.kid}
    if finite(claims):
        out["claims"] = claims
    else:
        # A number beyond binary64 became inf: hand the exact text instead (FORMAT.md).
        out["claims_raw"] = verified.payload.decode("utf-8")
    out["derived"] = {
        "issuer": verified.issuer,
        "client_id": verified.client_id,
        "tenant": verified.tenant,
        "scopes": verified.scopes,
    }
    return out


def group_keys(group: Dict[str, Any]) -> Keys:
    """The key set(s) of a token group, parsed with its key-set options. Under
    ``jwks_by_issuer``, an issuer whose set is refused has none (its tokens then answer the
    core's ``jwks_unavailable``, as in the core's runner)."""
    options = key_set_options(group)
    if "jwks_by_issuer" in group:
        sets: Dict[str, KeySet] = {}
        for issuer, jwks in group["jwks_by_issuer"].items():
            try:
                sets[issuer] = KeySet.from_jwks(json.dumps(jwks).encode("utf-8"), **options)
            except CryptrGuardError:
                pass
        return sets
    document = group["jwks_raw"] if "jwks_raw" in group else json.dumps(group["jwks"])
    try:
        return KeySet.from_jwks(document.encode("utf-8"), **options)
    except CryptrGuardError as e:
        return e


def run_file(path: Path) -> Iterator[Dict[str, Any]]:
    group = json.loads(path.read_text(encoding="utf-8"))
    if "cases" in group:
        keys = group_keys(group)
        for case in group["cases"]:
            yield token_outcome(case, keys)
    elif "jwks_cases" in group:
        for case in group["jwks_cases"]:
            if "jwks_raw" in case:
                data = case["jwks_raw"].encode("utf-8")
            else:
                data = bytes.fromhex(case["jwks_raw_hex"])
            try:
                parsed = KeySet.from_jwks(data, **key_set_options(case))
            except CryptrGuardError as e:
                yield {"name": case["name"], "error": e.code}
                continue
            yield {"name": case["name"], "usable_kids": parsed.kids, "skipped": len(parsed.skipped)}
    elif "raw_cases" in group:
        for case in group["raw_cases"]:
            valid = cryptr_guard.rs256_verify(
                case["jwk"], bytes.fromhex(case["msg_hex"]), bytes.fromhex(case["sig_hex"])
            )
            yield {"name": case["name"], "valid": valid}
    else:
        raise ValueError(f"{path}: no cases, jwks_cases or raw_cases")


def main(argv: List[str]) -> int:
    if not argv:
        print("usage: run-python VECTOR_FILE_OR_DIR...", file=sys.stderr)
        return 2
    out = sys.stdout
    for path in vector_files(argv):
        for outcome in run_file(path):
            out.write(json.dumps(outcome, ensure_ascii=False, allow_nan=False))
            out.write("\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
