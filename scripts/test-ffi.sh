#!/usr/bin/env bash
# Tests of the C library (ffi/, include/): the committed header is what the pinned cbindgen
# generates, clippy, the Rust unit tests, the C tests (C99, -Wall -Wextra -Wpedantic -Werror: the
# api program, test_api.c with test_api_*.c, and the guard program, test_guard.c with
# test_guard_*.c, which drives a two-issuer guard against a real test issuer on 127.0.0.1,
# ffi/tests/c/issuer.py) linked against the static and the shared library, each run plain, under
# ASan+UBSan and under valgrind
# memcheck, the C conformance runner over every vector compared with the expectations (and with
# the core runner), and the example CLI built through
# pkg-config (shared and static, with the Makefile and with the README's command lines) and run;
# the installed layout (SONAME, links, stripped files, exported symbols) and the example built
# through the CMake package (shared and static) and run.
# Idempotent; installs what it needs (gcc, valgrind, pkg-config, python3, make, cmake).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
target=${CARGO_TARGET_DIR:-target}
case "$target" in /*) ;; *) target="$root/$target" ;; esac
export CARGO_TARGET_DIR="$target"

missing=()
command -v gcc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

passed=0
failed=0
step() {
  # step NAME COMMAND...: runs a check, counts it.
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAILED: $name" >&2
  fi
}

build="$target/ffi-c"
rm -rf "$build"
mkdir -p "$build"
CFLAGS=(-std=c99 -Wall -Wextra -Wpedantic -Werror -g -O1 -I"$root/include" -I"$build")
SAN=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)

echo "== ffi: header check, unit tests (cargo test)"
cargo test -q -p cryptr-guard-ffi 2>&1 | grep -v '^$'

echo "== ffi: clippy"
cargo clippy -q -p cryptr-guard-ffi --no-deps --all-targets -- -D warnings

echo "== ffi: build static and shared libraries"
cargo build -q --release -p cryptr-guard-ffi
lib="$target/release"
native=$(cargo rustc -q --release -p cryptr-guard-ffi --crate-type staticlib -- \
  --print native-static-libs 2>&1 | sed -n 's/.*native-static-libs: //p' | tail -n 1)
echo "native-static-libs: $native"
read -r -a NATIVE <<<"$native"
test -f "$lib/libcryptr_guard.a" && test -f "$lib/libcryptr_guard.so"
# The library's SONAME (ffi/build.rs) is what a program linked against it asks the loader for:
# give the build tree that name too, as an installed prefix has it.
soname=$(readelf -d "$lib/libcryptr_guard.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p')
step "built libcryptr_guard.so has SONAME libcryptr_guard.so.0" test "$soname" = libcryptr_guard.so.0
ln -sfn libcryptr_guard.so "$lib/libcryptr_guard.so.0"

echo "== ffi: C tests"
python3 ffi/tests/c/gen_fixtures.py tests/vectors "$build"
CFLAGS+=(-Iffi/tests/c)
for prog in api guard; do
  # A program is test_PROG.c and any test_PROG_*.c beside it (one file per part of the API).
  src=(ffi/tests/c/test_"$prog"*.c "$build/fixtures.c")
  gcc "${CFLAGS[@]}" "${src[@]}" "$lib/libcryptr_guard.a" "${NATIVE[@]}" \
    -o "$build/${prog}_static"
  gcc "${CFLAGS[@]}" "${src[@]}" -L"$lib" -lcryptr_guard -Wl,-rpath,"$lib" -lpthread \
    -o "$build/${prog}_shared"
  gcc "${CFLAGS[@]}" "${SAN[@]}" "${src[@]}" "$lib/libcryptr_guard.a" "${NATIVE[@]}" \
    -o "$build/${prog}_static_san"
  gcc "${CFLAGS[@]}" "${SAN[@]}" "${src[@]}" -L"$lib" -lcryptr_guard -Wl,-rpath,"$lib" -lpthread \
    -o "$build/${prog}_shared_san"
done
# The static binary must not need the shared library, the shared one must.
step "static binary has no libcryptr_guard.so" \
  bash -c "! ldd '$build/api_static' | grep -q libcryptr_guard"
step "shared binary links libcryptr_guard.so" \
  bash -c "ldd '$build/api_shared' | grep -q libcryptr_guard.so"
# The guard's tests fetch key sets over HTTP from a test issuer on loopback.
python3 ffi/tests/c/issuer.py tests/vectors "$build/issuer.port" &
issuer_pid=$!
trap 'kill "$issuer_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  [ -s "$build/issuer.port" ] && break
  sleep 0.1
done
export CG_TEST_ISSUER_URL="http://127.0.0.1:$(cat "$build/issuer.port")"
echo "test issuer: $CG_TEST_ISSUER_URL"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
VG=(valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible)
for prog in api guard; do
  for kind in static shared; do
    echo "-- $prog, $kind"
    step "c $prog $kind" "$build/${prog}_$kind"
    echo "-- $prog, $kind, ASan+UBSan"
    step "c $prog $kind asan+ubsan" "$build/${prog}_${kind}_san"
    echo "-- $prog, $kind, valgrind memcheck"
    step "c $prog $kind valgrind" "${VG[@]}" "$build/${prog}_$kind"
  done
done
kill "$issuer_pid" 2>/dev/null || true

echo "== ffi: C conformance runner (tests/conformance/run c tests/vectors)"
tests/conformance/run c tests/vectors >"$build/conformance-c.jsonl"
tests/conformance/run core tests/vectors >"$build/conformance-core.jsonl"
step "conformance c vs expectations and core" \
  "$target/release/cryptr-guard-compare" --vectors tests/vectors -- \
  c="$build/conformance-c.jsonl" core="$build/conformance-core.jsonl"
echo "-- conformance runner under valgrind (examples, cryptr_profile and multi_issuer groups)"
python3 ffi/conformance/flatten.py tests/vectors/examples.json tests/vectors/examples_jwks.json \
  tests/vectors/rfc_raw_signatures.json tests/vectors/cryptr_profile.json \
  tests/vectors/multi_issuer.json >"$build/examples.lines"
step "conformance runner valgrind" \
  bash -c "${VG[*]} '$build/conformance-runner' <'$build/examples.lines' >/dev/null"

echo "== ffi: install (pkg-config) and the example CLI"
prefix="$build/prefix"
ffi/install.sh --prefix "$prefix"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
export LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "pkg-config --cflags --libs cryptr_guard: $(pkg-config --cflags --libs cryptr_guard)"
echo "pkg-config --static --libs cryptr_guard: $(pkg-config --static --libs cryptr_guard)"
step "pkg-config version is the crate version" \
  test "$(pkg-config --modversion cryptr_guard)" = "$(sed -n 's/^#define CG_VERSION "\(.*\)"$/\1/p' include/cryptr_guard.h)"
make -s -C examples/c clean
make -s -C examples/c PKG_CONFIG_PATH="$PKG_CONFIG_PATH" CFLAGS="-std=c99 -Wall -Wextra -Wpedantic -Werror -O2" \
  && mv examples/c/cg_validate "$build/cg_validate_shared"
make -s -C examples/c STATIC=1 PKG_CONFIG_PATH="$PKG_CONFIG_PATH" CFLAGS="-std=c99 -Wall -Wextra -Wpedantic -Werror -O2" \
  && mv examples/c/cg_validate "$build/cg_validate_static"
jwks="$build/jwks.json"
python3 - tests/vectors/examples.json "$jwks" "$build/token-valid" "$build/token-expired" <<'EOF'
import json, sys
group = json.load(open(sys.argv[1], encoding="utf-8"))
json.dump(group["jwks"], open(sys.argv[2], "w"))
cases = {c["name"]: c for c in group["cases"]}
open(sys.argv[3], "w").write(cases["examples/valid-2048"]["token"])
open(sys.argv[4], "w").write(cases["examples/expired-hour-ago"]["token"])
EOF
iss=https://auth.cryptr.eu/t/shark-academy
aud=https://api.example.com
example() {
  # example BINARY: a valid token prints its claims (exit 0); an expired one prints
  # token_expired on stderr (exit 1); a wrong audience invalid_audience.
  local bin=$1 out err code
  out=$("$bin" --now 1700000000 "$jwks" "$iss" "$aud" "$(cat "$build/token-valid")") || return 1
  echo "$out" | python3 -c 'import json,sys; c=json.load(sys.stdin); assert c["sub"]=="user-1", c' || return 1
  code=0
  err=$("$bin" --now 1700000000 "$jwks" "$iss" "$aud" - <"$build/token-expired" 2>&1 >/dev/null) || code=$?
  [ "$code" = 1 ] && [ "$err" = token_expired ] || return 1
  code=0
  err=$("$bin" --now 1700000000 "$jwks" "$iss" https://other.example "$(cat "$build/token-valid")" 2>&1 >/dev/null) || code=$?
  [ "$code" = 1 ] && [ "$err" = invalid_audience ] || return 1
  echo "$(basename "$bin"): $out"
}
step "example (shared)" example "$build/cg_validate_shared"
step "example (static)" example "$build/cg_validate_static"
step "example static binary has no libcryptr_guard.so" \
  bash -c "! ldd '$build/cg_validate_static' | grep -q libcryptr_guard"
# The command lines of ffi/README.md, "Build, install, link", as written there; the shared one
# finds the library through its rpath, without LD_LIBRARY_PATH.
readme_links() {
  local app=examples/c/cg_validate.c
  cc -std=c99 "$app" $(pkg-config --cflags --libs cryptr_guard) \
    -Wl,-rpath,"$(pkg-config --variable=libdir cryptr_guard)" -o "$build/readme_shared" &&
    cc -std=c99 "$app" $(pkg-config --cflags cryptr_guard) \
      "$(pkg-config --variable=staticlib cryptr_guard)" \
      $(pkg-config --variable=native_static_libs cryptr_guard) -o "$build/readme_static" &&
    cc -std=c99 "$app" $(pkg-config --cflags cryptr_guard) \
      -L"$(pkg-config --variable=libdir cryptr_guard)" -Wl,-Bstatic -lcryptr_guard -Wl,-Bdynamic \
      $(pkg-config --variable=native_static_libs cryptr_guard) -o "$build/readme_bstatic" &&
    ! ldd "$build/readme_static" | grep -q libcryptr_guard &&
    ! ldd "$build/readme_bstatic" | grep -q libcryptr_guard &&
    env -u LD_LIBRARY_PATH ldd "$build/readme_shared" | grep "$prefix/lib/libcryptr_guard.so" >/dev/null &&
    (unset LD_LIBRARY_PATH && example "$build/readme_shared") &&
    example "$build/readme_static" && example "$build/readme_bstatic"
}
step "README link lines (shared with rpath, static two ways)" readme_links

echo "== ffi: installed layout (SONAME, links, stripped) and the CMake package"
# (`grep >/dev/null`, not `grep -q`, after a pipe: under pipefail, a grep that stops reading
# early can fail the pipeline with the writer's SIGPIPE.)
version=$(pkg-config --modversion cryptr_guard)
installed_layout() {
  local l="$prefix/lib" exported
  [ -f "$l/libcryptr_guard.so.$version" ] && [ ! -L "$l/libcryptr_guard.so.$version" ] &&
    [ "$(readlink "$l/libcryptr_guard.so.0")" = "libcryptr_guard.so.$version" ] &&
    [ "$(readlink "$l/libcryptr_guard.so")" = libcryptr_guard.so.0 ] &&
    [ -f "$l/libcryptr_guard.a" ] && [ -f "$prefix/include/cryptr_guard.h" ] &&
    [ -f "$l/cmake/cryptr_guard/cryptr_guardConfig.cmake" ] &&
    [ -f "$l/cmake/cryptr_guard/cryptr_guardConfigVersion.cmake" ] || return 1
  # Not `tee /dev/stderr`: with stdout and stderr sent to one file (a CI log), reopening it
  # truncates that file.
  local soname
  soname=$(readelf -d "$l/libcryptr_guard.so.$version" | grep -F '(SONAME)') || return 1
  echo "$soname" >&2
  grep -qF '[libcryptr_guard.so.0]' <<<"$soname" || return 1
  # Stripped: no debug sections in either library, no symbol table in the .so; every function
  # of the header still exported.
  ! readelf -S "$l/libcryptr_guard.so.$version" "$l/libcryptr_guard.a" | grep ' \.debug_' >/dev/null &&
    ! readelf -S "$l/libcryptr_guard.so.$version" | grep ' \.symtab' >/dev/null || return 1
  exported=$(nm -D --defined-only "$l/libcryptr_guard.so.$version" | awk '$2 == "T" {print $3}' | sort -u)
  diff <(grep -o 'cg_[a-z0-9_]*(' "$prefix/include/cryptr_guard.h" | tr -d '(' | sort -u) \
    <(echo "$exported") || return 1
  echo "sizes (bytes): built .a $(stat -c %s "$lib/libcryptr_guard.a"), .so $(stat -c %s "$lib/libcryptr_guard.so"); installed .a $(stat -c %s "$l/libcryptr_guard.a"), .so $(stat -c %s "$l/libcryptr_guard.so.$version")"
}
step "installed layout: .so.$version, .so.0 and .so links, SONAME, stripped, exports" installed_layout
step "shared example asks for libcryptr_guard.so.0" \
  bash -c "readelf -d '$build/readme_shared' | grep -F '(NEEDED)' | grep -F '[libcryptr_guard.so.0]' >/dev/null"
cmake_example() {
  # cmake_example shared|static: examples/c through find_package(cryptr_guard), then run.
  local kind=$1 dir="$build/cmake-$1" static=OFF
  [ "$kind" = static ] && static=ON
  cmake -S examples/c -B "$dir" -DCMAKE_PREFIX_PATH="$prefix" -DCG_STATIC="$static" >/dev/null &&
    cmake --build "$dir" >/dev/null || return 1
  if [ "$kind" = static ]; then
    ! ldd "$dir/cg_validate" | grep libcryptr_guard >/dev/null || return 1
  else
    readelf -d "$dir/cg_validate" | grep -F '(NEEDED)' | grep -F '[libcryptr_guard.so.0]' >/dev/null &&
      env -u LD_LIBRARY_PATH ldd "$dir/cg_validate" | grep "$prefix/lib/libcryptr_guard.so.0" >/dev/null ||
      return 1
  fi
  (unset LD_LIBRARY_PATH && example "$dir/cg_validate")
}
step "CMake package: cryptr_guard::shared" cmake_example shared
step "CMake package: cryptr_guard::static" cmake_example static

echo "ffi: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
