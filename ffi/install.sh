#!/usr/bin/env bash
# Builds the C library (release) and installs it with its header and pkg-config file:
#   ffi/install.sh [--prefix DIR] [--destdir DIR]      (default prefix /usr/local)
# Installs PREFIX/lib/libcryptr_guard.{a,so}, PREFIX/include/cryptr_guard.h and
# PREFIX/lib/pkgconfig/cryptr_guard.pc (prefix filled in, Libs.private = the system libraries
# a static link needs, as rustc reports them).
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=/usr/local
destdir=
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    --destdir) destdir=$2; shift 2 ;;
    *) echo "usage: ffi/install.sh [--prefix DIR] [--destdir DIR]" >&2; exit 2 ;;
  esac
done
target=${CARGO_TARGET_DIR:-target}
cargo build --quiet --release -p cryptr-guard-ffi >&2
native=$(cargo rustc --quiet --release -p cryptr-guard-ffi --crate-type staticlib -- \
  --print native-static-libs 2>&1 | sed -n 's/.*native-static-libs: //p' | tail -n 1)
version=$(sed -n 's/^#define CG_VERSION "\(.*\)"$/\1/p' include/cryptr_guard.h)
root="$destdir$prefix"
install -d "$root/lib/pkgconfig" "$root/include"
install -m 644 "$target/release/libcryptr_guard.a" "$root/lib/"
install -m 755 "$target/release/libcryptr_guard.so" "$root/lib/"
install -m 644 include/cryptr_guard.h "$root/include/"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" -e "s|@NATIVE_STATIC_LIBS@|$native|" \
  ffi/cryptr_guard.pc.in > "$root/lib/pkgconfig/cryptr_guard.pc"
echo "installed cryptr_guard $version into $root" >&2
