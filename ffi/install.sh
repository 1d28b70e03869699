#!/usr/bin/env bash
# Builds the C library (release) and installs it with its header, pkg-config file and CMake
# package (Linux):
#   ffi/install.sh [--prefix DIR] [--destdir DIR] [--no-strip]      (default prefix /usr/local)
# Installs, under PREFIX:
#   lib/libcryptr_guard.so.VERSION          the shared library (SONAME libcryptr_guard.so.0)
#   lib/libcryptr_guard.so.0 -> .so.VERSION the link the loader looks for (the SONAME)
#   lib/libcryptr_guard.so   -> .so.0       the link the linker looks for (-lcryptr_guard)
#   lib/libcryptr_guard.a                   the static library
#   include/cryptr_guard.h
#   lib/pkgconfig/cryptr_guard.pc           prefix filled in, Libs.private = the system
#                                           libraries a static link needs, as rustc reports them
#   lib/cmake/cryptr_guard/cryptr_guardConfig.cmake, cryptr_guardConfigVersion.cmake
#                                           imported targets cryptr_guard::shared, ::static
# The installed libraries are stripped (the workspace's release profile keeps line tables,
# `debug = 1`, for profiling): the .so of its symbol table and debug information (its exported
# cg_* symbols stay), the .a of its debug information only. --no-strip installs them as built.
# After installing into a system prefix, run ldconfig.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=/usr/local
destdir=
strip=1
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    --destdir) destdir=$2; shift 2 ;;
    --no-strip) strip=0; shift ;;
    *) echo "usage: ffi/install.sh [--prefix DIR] [--destdir DIR] [--no-strip]" >&2; exit 2 ;;
  esac
done
target=${CARGO_TARGET_DIR:-target}
cargo build --quiet --release -p cryptr-guard-ffi >&2
native=$(cargo rustc --quiet --release -p cryptr-guard-ffi --crate-type staticlib -- \
  --print native-static-libs 2>&1 | sed -n 's/.*native-static-libs: //p' | tail -n 1)
version=$(sed -n 's/^#define CG_VERSION "\(.*\)"$/\1/p' include/cryptr_guard.h)
built="$target/release"
# The SONAME that ffi/build.rs gave the library: its link is named after it.
soname=$(readelf -d "$built/libcryptr_guard.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p')
case "$soname" in
  libcryptr_guard.so.*) ;;
  *) echo "ffi/install.sh: $built/libcryptr_guard.so has no SONAME (ffi/build.rs)" >&2; exit 1 ;;
esac
real=libcryptr_guard.so.$version
root="$destdir$prefix"
cmakedir="$root/lib/cmake/cryptr_guard"
install -d "$root/lib/pkgconfig" "$root/include" "$cmakedir"
install -m 644 "$built/libcryptr_guard.a" "$root/lib/"
install -m 755 "$built/libcryptr_guard.so" "$root/lib/$real"
if [ "$strip" = 1 ]; then
  strip --strip-debug "$root/lib/libcryptr_guard.a"
  strip --strip-unneeded "$root/lib/$real"
fi
ln -sfn "$real" "$root/lib/$soname"
ln -sfn "$soname" "$root/lib/libcryptr_guard.so"
install -m 644 include/cryptr_guard.h "$root/include/"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" -e "s|@NATIVE_STATIC_LIBS@|$native|" \
  ffi/cryptr_guard.pc.in > "$root/lib/pkgconfig/cryptr_guard.pc"
# CMake wants the system libraries as a list: "-lgcc_s -lutil" -> "gcc_s;util".
cmake_libs=
for flag in $native; do cmake_libs+="${cmake_libs:+;}${flag#-l}"; done
sed -e "s|@VERSION@|$version|" -e "s|@REAL@|$real|" -e "s|@SONAME@|$soname|" \
  -e "s|@NATIVE_STATIC_LIBS@|$cmake_libs|" \
  ffi/cmake/cryptr_guardConfig.cmake.in > "$cmakedir/cryptr_guardConfig.cmake"
case "$(readelf -h "$built/libcryptr_guard.so" | sed -n 's/^ *Class: *//p')" in
  ELF64) pointer=8 ;;
  *) pointer=4 ;;
esac
sed -e "s|@VERSION@|$version|" -e "s|@SIZEOF_VOID_P@|$pointer|" \
  ffi/cmake/cryptr_guardConfigVersion.cmake.in > "$cmakedir/cryptr_guardConfigVersion.cmake"
echo "installed cryptr_guard $version ($soname) into $root" >&2
