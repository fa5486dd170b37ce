#!/usr/bin/env bash
# Probe-by-probe test of ./kwit's set-up (part of ./kwit test; no build, no network):
# ./kwit is sourced on fake machines (tests/setup/fakes.sh: a fake root with Debian 12's file
# layout, a fake $HOME and PATH, apt-get/cargo/rustup/npm that only record what they are asked
# to install) and must install exactly what is missing:
#   - on a machine with only Rust, everything, and on the second run nothing;
#   - on a machine with everything but one thing, exactly that thing, for every probe ./kwit has;
#   - near misses that must not pass for the real thing (libclang-cpp without libclang, libclang
#     without clang's headers, libxml2 without its -dev files, the wrong trunk, wasm-bindgen or
#     wasm-opt version, a stale node_modules, Node.js 18);
#   - and on this machine, every Debian package that is installed satisfies its probe.
set -euo pipefail
shopt -s inherit_errexit
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$REPO/tests/setup"
source "$HERE/fakes.sh"
T="$(mktemp -d "${TMPDIR:-/tmp}/kwit-probes.XXXXXX")"
trap 'rm -rf "$T"' EXIT
fails=0 checks=0
ok() { checks=$((checks + 1)); }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); printf '  FAIL  %s\n' "$*"; }

# The probe lists, read from ./kwit itself, so a new probe is tested without editing this file.
# shellcheck disable=SC1091
mapfile -t APT < <(bash -c 'source "$1"; printf "%s %s\n" "${RUN_APT[@]}" "${TEST_APT[@]}"' _ "$REPO/kwit")
PKGS=()
for line in "${APT[@]}"; do [[ " ${PKGS[*]} " == *" ${line#* } "* ]] || PKGS+=("${line#* }"); done
TOOLS=(target:wasm32-unknown-unknown target:x86_64-unknown-linux-musl trunk wasm-bindgen-cli npm-packages)

action() { # what ./kwit's log says when it installs ITEM
  case "$1" in
    target:*) echo "rustup target add ${1#target:}" ;;
    trunk | wasm-bindgen-cli) echo "cargo install $1" ;;
    npm-packages) echo "npm ci" ;;
    *) echo "apt-get install $1" ;;
  esac
}

# A fake machine with everything but the named items (apt packages first: npm ci needs npm).
machine() { # machine NAME [EXCEPT...] -> prints its path
  local M="$T/$1" item; shift
  fake_machine "$M" "$REPO"
  for item in "${PKGS[@]}" "${TOOLS[@]}"; do
    [[ " $* " == *" $item "* ]] && continue
    if [[ " ${PKGS[*]} " == *" $item "* ]]; then fake_pkg "$M" "$item"; else fake_tool "$M" "$item"; fi
  done
  : >"$M/log"
  echo "$M"
}

# Runs a snippet with ./kwit sourced on machine M; its output goes to $M/out, its actions to $M/log.
on() { # on M SNIPPET [VAR=value...]
  local M="$1" snippet="$2"; shift 2
  : >"$M/log"
  env -i HOME="$M/home" PATH="$M/root/usr/bin:$M/root/usr/sbin:$M/base" KWIT_SYSROOT="$M/root" \
    PKG_CONFIG_LIBDIR="$M/root/usr/lib/x86_64-linux-gnu/pkgconfig" TERM=dumb "$@" \
    /bin/bash -c 'source "$1"; eval "$2"' _ "$M/repo/kwit" "$snippet" >"$M/out" 2>&1
}

expect_log() { # expect_log M WHAT LINE... — the log holds exactly these lines (any order)
  local M="$1" what="$2"; shift 2
  local want got
  want="$(printf '%s\n' "$@" | sed '/^$/d' | sort)"
  got="$(sort "$M/log")"
  if [ "$want" = "$got" ]; then ok; else
    bad "$what: expected [${want//$'\n'/, }], ./kwit did [${got//$'\n'/, }]"
    sed 's/^/          | /' "$M/out" | tail -n 8
  fi
}

echo "==> tests/setup/probes.sh: ./kwit's set-up on fake machines"

# The wasm-bindgen-cli version ./kwit installs is the one Cargo.toml pins.
pin="$(sed -n 's/^wasm-bindgen = "=\(.*\)"$/\1/p' "$REPO/Cargo.toml")"
got="$(bash -c 'source "$1"; wasm_bindgen_version' _ "$REPO/kwit")"
[ -n "$pin" ] && [ "$got" = "$pin" ] && ok || bad "wasm_bindgen_version says '$got', Cargo.toml pins '$pin'"

# 1. A machine with only Rust gets everything; the second run installs nothing.
all=()
for item in "${PKGS[@]}" "${TOOLS[@]}"; do all+=("$(action "$item")"); done
M="$(machine bare "${PKGS[@]}" "${TOOLS[@]}")"
if on "$M" ensure_test_deps; then ok; else bad "bare machine: ensure_test_deps failed"; fi
expect_log "$M" "bare machine" "${all[@]}"
on "$M" ensure_test_deps || bad "bare machine, second run failed"
expect_log "$M" "bare machine, second run"
on "$M" 'apt_missing "${RUN_APT[@]}" "${TEST_APT[@]}"; have_trunk && have_wasm_bindgen && have_npm_packages && echo tools-ok' || true
[ "$(cat "$M/out")" = tools-ok ] && ok || bad "bare machine after set-up: probes still failing: $(tr '\n' ' ' <"$M/out")"

# ./kwit run needs less than ./kwit test.
M="$(machine bare-run "${PKGS[@]}" "${TOOLS[@]}")"
on "$M" ensure_run_deps || bad "bare machine: ensure_run_deps failed"
run_items=()
for item in pkg-config libxml2-dev libclang-dev curl nodejs npm target:wasm32-unknown-unknown trunk wasm-bindgen-cli npm-packages; do
  run_items+=("$(action "$item")")
done
expect_log "$M" "bare machine, ./kwit run's set-up" "${run_items[@]}"

# 2. Everything but one thing: exactly that one is installed (and its probe said "missing").
for item in "${PKGS[@]}" "${TOOLS[@]}"; do
  M="$(machine "without-${item//[:\/]/_}" "$item")"
  for line in "${APT[@]}"; do
    [ "${line#* }" = "$item" ] || continue
    on "$M" "apt_missing $(printf '%q %q' "${line% *}" "$item")" || true
    [ "$(cat "$M/out")" = "$item" ] && ok || bad "without $item: its probe ${line% *} says present"
  done
  on "$M" ensure_test_deps || bad "without $item: ensure_test_deps failed"
  # libxml2-dev's probe asks pkg-config (as the libxml crate does): without it, apt-get is
  # asked for both (and skips the one that is there).
  if [ "$item" = pkg-config ]; then expect_log "$M" "without $item" "$(action pkg-config)" "$(action libxml2-dev)"
  else expect_log "$M" "without $item" "$(action "$item")"; fi
done

# 3. Near misses.
near() { # near NAME EXPECTED-ITEM SETUP-SNIPPET [VAR=value...] — machine without EXPECTED-ITEM, then SETUP
  local name="$1" item="$2" setup="$3"; shift 3
  M="$(machine "near-$name" "$item")"
  (cd "$M" && eval "$setup")
  on "$M" ensure_test_deps "$@" || bad "$name: ensure_test_deps failed"
  expect_log "$M" "$name" "$(action "$item")"
}
near libclang-cpp-only libclang-dev 'fake_pkg "$M" libclang-cpp14'
near libclang-without-headers libclang-dev 'fake_pkg "$M" libclang1-14'
near libxml2-runtime-only libxml2-dev 'fake_pkg "$M" libxml2'
near libxml2-pc-without-header libxml2-dev 'fake_pkg "$M" libxml2-dev; rm "$M/root/usr/include/libxml2/libxml/xmlschemas.h"'
near libxml2-without-so-link libxml2-dev 'fake_pkg "$M" libxml2-dev; rm "$M/root/usr/lib/x86_64-linux-gnu/libxml2.so"'
near trunk-0.22 trunk 'fake_cmd "$M/home/.cargo/bin/trunk" "trunk 0.22.0"'
near trunk-0.21.140 trunk 'fake_cmd "$M/home/.cargo/bin/trunk" "trunk 0.21.140"'
near wasm-bindgen-test-runner-other-version wasm-bindgen-cli \
  'fake_tool "$M" wasm-bindgen-cli; fake_cmd "$M/home/.cargo/bin/wasm-bindgen-test-runner" "wasm-bindgen-test-runner 0.2.129"'
near wasm-opt-108 npm-packages 'fake_tool "$M" npm-packages; printf "#!/bin/bash\necho \"wasm-opt version 108\"\n" >"$M/repo/tests/e2e/node_modules/.bin/wasm-opt"'
near no-playwright-core npm-packages 'fake_tool "$M" npm-packages; rm -r "$M/repo/tests/e2e/node_modules/playwright-core"'
near lockfile-changed npm-packages 'fake_tool "$M" npm-packages; touch -d "2 minutes ago" "$M/repo/tests/e2e/node_modules/.package-lock.json"'

# libclang where clang-sys looks: only LIBCLANG_PATH when it is set.
M="$(machine libclang-path)"
on "$M" 'have_libclang && echo yes || echo no' LIBCLANG_PATH="$M/nowhere" || true
[ "$(cat "$M/out")" = no ] && ok || bad "LIBCLANG_PATH set to a folder without libclang: probe says present"
on "$M" 'have_libclang && echo yes || echo no' LIBCLANG_PATH="$M/root/usr/lib/llvm-14/lib" || true
[ "$(cat "$M/out")" = yes ] && ok || bad "LIBCLANG_PATH set to llvm-14/lib: probe says missing"
M="$(machine libclang-ld-path libclang-dev)"
mkdir -p "$M/opt/llvm/lib/clang/18/include" && : >"$M/opt/llvm/lib/libclang.so"
on "$M" 'have_libclang && echo yes || echo no' LD_LIBRARY_PATH="$M/opt/llvm/lib" || true
[ "$(cat "$M/out")" = no ] && ok || bad "libclang.so in LD_LIBRARY_PATH without clang's headers: probe says present"
: >"$M/opt/llvm/lib/clang/18/include/stddef.h"
on "$M" 'have_libclang && echo yes || echo no' LD_LIBRARY_PATH="$M/opt/llvm/lib" || true
[ "$(cat "$M/out")" = yes ] && ok || bad "libclang.so with its headers in LD_LIBRARY_PATH: probe says missing"

# A user's PATH has no /usr/sbin, where Debian puts runc (podman finds it there itself).
M="$(machine user-path)"
on "$M" 'apt_missing "${RUN_APT[@]}" "${TEST_APT[@]}"' PATH="$M/root/usr/bin:$M/base" || true
[ ! -s "$M/out" ] && ok || bad "without /usr/sbin on PATH, probes say missing: $(tr '\n' ' ' <"$M/out")"

# Node.js 18 (Debian 12's): enough for ./kwit run's wasm-opt, too old for the test's playwright-core,
# and installing Debian's nodejs does not help: a clear message and a failure, not an error later.
M="$(machine node-18 nodejs)"
fake_cmd "$M/root/usr/bin/node" v18.19.0
on "$M" ensure_run_deps || bad "Node.js 18: ensure_run_deps failed"
expect_log "$M" "Node.js 18, ./kwit run's set-up"
if on "$M" ensure_test_deps FAKE_NODE_VERSION=18.19.0; then bad "Node.js 18: ensure_test_deps succeeded"; else
  grep -q 'Node.js 20 or newer' "$M/out" && ok || bad "Node.js 18: no message naming Node.js 20: $(tail -n 2 "$M/out")"
fi
expect_log "$M" "Node.js 18, ./kwit test's set-up" "$(action nodejs)"
M="$(machine broken-curl curl)"
if on "$M" ensure_test_deps FAKE_BROKEN=" curl "; then bad "curl that installs nothing: ensure_test_deps succeeded"; else
  grep -q 'Still missing after apt-get install: curl' "$M/out" && ok || bad "curl that installs nothing: no message"
fi
M="$(machine no-rust)"
rm "$M/home/.cargo/bin/cargo"
if on "$M" ensure_test_deps; then bad "no cargo: ensure_test_deps succeeded"; else
  grep -q 'https://rustup.rs' "$M/out" && ok || bad "no cargo: no message pointing to rustup"
fi
M="$(machine no-apt libclang-dev)"
rm "$M/root/usr/bin/apt-get"
if on "$M" ensure_test_deps; then bad "no apt-get: ensure_test_deps succeeded"; else
  grep -q 'Missing: libclang-dev' "$M/out" && ok || bad "no apt-get: no message naming the package"
fi

# 4. This machine: each installed Debian package satisfies its probe (the fakes' layout is real).
host_checked=()
for line in "${APT[@]}"; do
  pkg="${line#* }" probe="${line% *}"
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || continue
  if bash -c 'source "$1"; probe_ok "$2"' _ "$REPO/kwit" "$probe"; then ok; [[ " ${host_checked[*]} " == *" $pkg "* ]] || host_checked+=("$pkg"); else
    bad "this machine has $pkg installed, but its probe $probe fails"
  fi
done
echo "  on this machine, installed and satisfying their probes: ${host_checked[*]:-none}"

if [ "$fails" -gt 0 ]; then echo "  $fails of $checks set-up checks failed"; exit 1; fi
echo "  all $checks set-up checks passed"
