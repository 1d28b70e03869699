"""The fault-injection harness that bench/faults/faults.py runs (see bench/faults/README.md), one
module per concern:

- `tokens`: test-only RSA keys and the JWTs signed with them;
- `issuer`: the misbehaving issuer (its JWKS endpoint and its faults);
- `hosts`: `cryptr-guard serve` and the Flask example under gunicorn, and which host process
  sent a request;
- `load`: wrk with faults.lua (which judges every answer), the /metrics watcher, HTTP helpers;
- `judge`: each host process's JWKS fetches against the key-set cache policy;
- `report`: what a scenario saw, and its verdict;
- `scenarios`: the `full` and `short` scenarios.

Standard library only.
"""

import os

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # bench/faults
