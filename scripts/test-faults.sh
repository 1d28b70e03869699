#!/usr/bin/env bash
# The short version of bench/faults (about 80 s): both hosts (cryptr-guard serve, the Flask example
# under gunicorn) through a down, dripping, then key-less issuer and back, checked answer by answer
# under wrk load, and a connection flood on the server. Needs the Python step's .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
exec bench/faults/run.sh --short
