#!/usr/bin/env bash
# Builds the seed corpora of the fuzz targets from tests/vectors/ (idempotent; corpora are not
# committed). Usage: fuzz/seed.sh  (from anywhere)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec python3 - "$here" <<'PY'
import base64, hashlib, json, os, pathlib, struct, sys

fuzz = pathlib.Path(sys.argv[1])
vectors = fuzz.parent / "tests" / "vectors"
corpus = fuzz / "corpus"

def put(target, data):
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)

def b64url_decode(s):
    try:
        return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    except Exception:
        return None

counts = {}
files = sorted(vectors.rglob("*.json"))
for path in files:
    group = json.loads(path.read_text(encoding="utf-8"))
    for key in ("jwks",):
        if key in group:
            doc = json.dumps(group[key]).encode()
            put("jwks", b"\x00" + doc)
            put("json", doc)
    if "jwks_raw" in group:
        put("jwks", b"\x00" + group["jwks_raw"].encode())
        put("json", group["jwks_raw"].encode())
    for case in group.get("cases", []):
        token = case["token"].encode("utf-8")
        # validate: [flags, leeway, now_selector, now (8 bytes)] ++ token, at the case's `now`
        opts = case["options"]
        flags = 0
        if opts.get("typ"):
            flags |= 2
        if len(opts.get("audiences", [])) > 1:
            flags |= 4
        if isinstance(opts.get("issuer"), list):
            flags |= 8
        now = int(case["now"])
        put("validate", bytes([flags, min(int(opts.get("leeway", 0)), 254), 2]) + struct.pack("<Q", now) + token)
        put("validate", bytes([0, 0, 0]) + bytes(8) + token)
        parts = case["token"].split(".")
        for i, segment in enumerate(parts[:2]):
            decoded = b64url_decode(segment)
            if decoded and decoded[:1] == b"{":
                put("json", decoded)
                if i == 1:
                    # claims: [required mask (Claim::ALL order), now, leeway] ++ payload
                    put("claims", bytes([0x29]) + struct.pack("<QQ", now, 0) + decoded)
    for case in group.get("jwks_cases", []):
        if "jwks_raw" in case:
            doc = case["jwks_raw"].encode("utf-8")
        else:
            doc = bytes.fromhex(case["jwks_raw_hex"])
        bits = (case.get("jwks_options") or {}).get("min_rsa_bits", 2048)
        selector = {2048: 0, 1024: 1, 4096: 2, 8192: 3}.get(bits, 0)
        put("jwks", bytes([selector]) + doc)
        put("json", doc)

# rs256_kernels: [len - 64 (2, big-endian)][e (4)][n (len)][s (len)] from the raw signature cases
# whose modulus is a whole number of octets with its top bit set (the target forces that bit).
for path in files:
    group = json.loads(path.read_text(encoding="utf-8"))
    for case in group.get("raw_cases", [])[:40]:
        n = b64url_decode(case["jwk"]["n"]) or b""
        e = b64url_decode(case["jwk"]["e"]) or b""
        n = n.lstrip(b"\x00")
        sig = bytes.fromhex(case["sig_hex"])
        if 64 <= len(n) <= 1024 and n[0] & 0x80 and len(e) <= 4 and len(sig) == len(n):
            put("rs256_kernels", struct.pack(">H", len(n) - 64) + e.rjust(4, b"\x00") + n + sig)

# cache_policy: [selector, (start)] then events [op, delta, args...]
def events(*ops):
    return bytes([0]) + b"".join(bytes(op) for op in ops)
POLL, UNKNOWN, OK, FAIL = 0, 2, 3, 4
put("cache_policy", events([POLL, 0], [OK, 0, 0, 2], [POLL, 100], [UNKNOWN, 5], [OK, 1, 0, 0], [UNKNOWN, 5], [UNKNOWN, 40]))
put("cache_policy", events([POLL, 0], [FAIL, 0, 0], [POLL, 1], [FAIL, 1, 0], [POLL, 2], [FAIL, 2, 0], [POLL, 200], [OK, 4, 0, 3]))
put("cache_policy", events([POLL, 0], [POLL, 31], [POLL, 200], [OK, 1, 1, 1], [OK, 0, 0, 1], [(5 << 5) | POLL, 250], [POLL, 255]))
put("cache_policy", bytes([3]) + struct.pack("<Q", 2**64 - 100) + bytes([0, 1, 2, 3, 4, 5, 6, 7]) + bytes([POLL, 50, OK, 0, 0, 4, (6 << 5) | POLL, 0]) + struct.pack("<Q", 5))

for target in sorted(p.name for p in corpus.iterdir()):
    print(f"seed.sh: {target}: {len(list((corpus / target).iterdir()))} seeds")
PY
