#!/usr/bin/env bash
# Builds the same fully static (musl) kwit-relay binary the Dockerfile builds, and
# checks that it really is static. Usage: proxy/build-static.sh [--print-path]
# Needs: rustup target x86_64-unknown-linux-musl, Debian musl-tools (musl-gcc).
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=x86_64-unknown-linux-musl
# The same build cache as ./kwit (target/, or /var/tmp/kwit-ci-target with CI=true), so the
# binary ./kwit test built is the one the benchmark and the container use, not built again.
if [ -z "${CARGO_TARGET_DIR:-}" ]; then
  if [ "${CI:-}" = "true" ]; then export CARGO_TARGET_DIR=/var/tmp/kwit-ci-target; else export CARGO_TARGET_DIR="$PWD/target"; fi
fi
# aws-lc-sys (rustls' crypto) compiles C: use the musl C compiler for it. Linking stays
# with rustc's self-contained musl objects (crt-static), which gives a static-pie binary.
export CC_x86_64_unknown_linux_musl="${CC_x86_64_unknown_linux_musl:-musl-gcc}"
command -v musl-gcc >/dev/null || { echo "musl-gcc missing: apt-get install -y musl-tools" >&2; exit 1; }
rustup target list --installed 2>/dev/null | grep -qx "$TARGET" || rustup target add "$TARGET"
cargo build --locked --release -p kwit-relay --target "$TARGET" >&2
BIN="$CARGO_TARGET_DIR/$TARGET/release/kwit-relay"
desc=$(file -b "$BIN")
case "$desc" in
  *"statically linked"*|*"static-pie linked"*) ;;
  *) echo "not a static binary: $desc" >&2; exit 1 ;;
esac
if ldd "$BIN" 2>&1 | grep -q "=>"; then
  echo "binary has dynamic dependencies:" >&2; ldd "$BIN" >&2; exit 1
fi
"$BIN" --version >&2
echo "static binary OK: $BIN ($(du -h "$BIN" | cut -f1), $desc)" >&2
if [ "${1:-}" = "--print-path" ]; then echo "$BIN"; fi
