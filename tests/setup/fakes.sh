# Fake Debian packages and tools for tests/setup/probes.sh: each installs, under a fake machine
# $M (root/ = the system, home/ = $HOME, repo/ = a copy of the clone), the files the real
# package installs (Debian 12 names and layout), as small scripts that print a version.
# Every action is appended to $M/log, so a test can see what ./kwit installed.

fake_cmd() { # fake_cmd PATH [VERSION-LINE]
  mkdir -p "$(dirname "$1")"
  printf '#!/bin/bash\n[ "${1:-}" = --version ] && echo %q\nexit 0\n' "${2:-${1##*/} 1.0}" >"$1"
  chmod +x "$1"
}

FAKES="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/fakes.sh"

fake_node_modules() { # what npm ci puts in tests/e2e/node_modules
  mkdir -p "$1/.bin" "$1/playwright-core"
  printf '#!/bin/bash\necho "wasm-opt version 132 (version_132)"\n' >"$1/.bin/wasm-opt"
  chmod +x "$1/.bin/wasm-opt"
  echo '{"name":"playwright-core","engines":{"node":">=20"}}' >"$1/playwright-core/package.json"
  echo '{}' >"$1/.package-lock.json"
}

fake_pkg() { # fake_pkg M PACKAGE — what `apt-get install PACKAGE` puts on the machine
  local M="$1" R="$1/root"
  case "${FAKE_BROKEN:-}" in *" $2 "*) return 0 ;; esac # a package that does not provide its probe
  case "$2" in
    pkg-config) mkdir -p "$R/usr/bin"; ln -sf /usr/bin/pkg-config "$R/usr/bin/pkg-config" ;;
    libxml2) # the runtime library only (what a machine without libxml2-dev has)
      mkdir -p "$R/usr/lib/x86_64-linux-gnu"; : >"$R/usr/lib/x86_64-linux-gnu/libxml2.so.2.9.14"
      ln -sf libxml2.so.2.9.14 "$R/usr/lib/x86_64-linux-gnu/libxml2.so.2" ;;
    libxml2-dev)
      fake_pkg "$M" libxml2
      mkdir -p "$R/usr/include/libxml2/libxml" "$R/usr/lib/x86_64-linux-gnu/pkgconfig"
      : >"$R/usr/include/libxml2/libxml/xmlschemas.h"
      ln -sf libxml2.so.2.9.14 "$R/usr/lib/x86_64-linux-gnu/libxml2.so"
      printf 'prefix=%s/usr\nexec_prefix=${prefix}\nlibdir=${prefix}/lib/x86_64-linux-gnu\nincludedir=${prefix}/include\n\nName: libXML\nVersion: 2.9.14\nDescription: libXML\nLibs: -L${libdir} -lxml2\nCflags: -I${includedir}/libxml2\n' \
        "$R" >"$R/usr/lib/x86_64-linux-gnu/pkgconfig/libxml-2.0.pc" ;;
    libclang-cpp14) # the C++ API library; bindgen cannot use it
      mkdir -p "$R/usr/lib/x86_64-linux-gnu" "$R/usr/lib/llvm-14/lib"
      : >"$R/usr/lib/x86_64-linux-gnu/libclang-cpp.so.14"
      ln -sf ../../x86_64-linux-gnu/libclang-cpp.so.14 "$R/usr/lib/llvm-14/lib/libclang-cpp.so.14" ;;
    libclang1-14) # the C library without clang's headers
      mkdir -p "$R/usr/lib/x86_64-linux-gnu" "$R/usr/lib/llvm-14/lib"
      : >"$R/usr/lib/x86_64-linux-gnu/libclang-14.so.14.0.6"
      ln -sf libclang-14.so.14.0.6 "$R/usr/lib/x86_64-linux-gnu/libclang-14.so.13"
      ln -sf libclang-14.so.13 "$R/usr/lib/x86_64-linux-gnu/libclang-14.so.1"
      ln -sf ../../x86_64-linux-gnu/libclang-14.so.1 "$R/usr/lib/llvm-14/lib/libclang-14.so.1"
      ln -sf libclang-14.so.1 "$R/usr/lib/llvm-14/lib/libclang.so.1" ;;
    libclang-common-14-dev)
      mkdir -p "$R/usr/lib/llvm-14/lib/clang/14.0.6/include"; : >"$R/usr/lib/llvm-14/lib/clang/14.0.6/include/stddef.h" ;;
    libclang-dev) # -> libclang-14-dev -> libclang1-14, libclang-common-14-dev
      fake_pkg "$M" libclang1-14; fake_pkg "$M" libclang-common-14-dev
      ln -sf ../../x86_64-linux-gnu/libclang-14.so.1 "$R/usr/lib/llvm-14/lib/libclang.so"
      ln -sf ../../x86_64-linux-gnu/libclang-14.so.1 "$R/usr/lib/llvm-14/lib/libclang-14.so"
      ln -sf libclang-14.so.1 "$R/usr/lib/x86_64-linux-gnu/libclang-14.so" ;;
    curl) fake_cmd "$R/usr/bin/curl" ;;
    nodejs) fake_cmd "$R/usr/bin/node" "v${FAKE_NODE_VERSION:-20.19.2}" ;;
    npm) # npm ci fills node_modules as package-lock.json says (wasm-opt from binaryen 132)
      mkdir -p "$R/usr/bin"
      printf '#!/bin/bash\n[ "$1" = ci ] || exit 0\necho "npm ci" >>%q\nsource %q\nfake_node_modules node_modules\n' \
        "$M/log" "$FAKES" >"$R/usr/bin/npm"
      chmod +x "$R/usr/bin/npm" ;;
    chromium) fake_cmd "$R/usr/bin/chromium" ;;
    chromium-driver)
      fake_cmd "$R/usr/lib/chromium/chromedriver"; mkdir -p "$R/usr/bin"
      ln -sf ../lib/chromium/chromedriver "$R/usr/bin/chromedriver" ;;
    libxml2-utils) fake_cmd "$R/usr/bin/xmllint" ;;
    xmlsec1) fake_cmd "$R/usr/bin/xmlsec1" ;;
    openssl) fake_cmd "$R/usr/bin/openssl" ;;
    musl-tools) fake_cmd "$R/usr/bin/musl-gcc" ;;
    file) fake_cmd "$R/usr/bin/file" ;;
    podman) fake_cmd "$R/usr/bin/podman" ;;
    runc) fake_cmd "$R/usr/sbin/runc" ;;
    podman-compose) fake_cmd "$R/usr/bin/podman-compose" ;;
    *) echo "fakes.sh: no fake for Debian package $2" >&2; return 1 ;;
  esac
}

# The non-Debian things ./kwit installs, by the name a test uses for them.
fake_tool() { # fake_tool M NAME
  local M="$1" B="$1/home/.cargo/bin" wb
  wb="$(grep -A1 '^name = "wasm-bindgen"$' "$M/repo/Cargo.lock" | sed -n 's/^version = "\(.*\)"$/\1/p')"
  case "$2" in
    target:*) echo "${2#target:}" >>"$M/targets" ;;
    trunk) fake_cmd "$B/trunk" "trunk 0.21.14" ;;
    wasm-bindgen-cli) fake_cmd "$B/wasm-bindgen" "wasm-bindgen $wb"; fake_cmd "$B/wasm-bindgen-test-runner" "wasm-bindgen-test-runner $wb" ;;
    npm-packages) fake_node_modules "$M/repo/tests/e2e/node_modules" ;;
    *) echo "fakes.sh: no fake for $2" >&2; return 1 ;;
  esac
}

# The machine every test starts from: rustup's cargo and rustup (the one prerequisite),
# Debian's apt-get, and the basic tools ./kwit's probes use.
fake_machine() { # fake_machine M REPO
  local M="$1" REPO="$2" t
  mkdir -p "$M/root/usr/bin" "$M/root/usr/sbin" "$M/home/.cargo/bin" "$M/repo/tests/e2e" "$M/base"
  : >"$M/log"; : >"$M/targets"
  cp "$REPO/kwit" "$REPO/Cargo.lock" "$M/repo/"
  cp "$REPO/tests/e2e/package.json" "$REPO/tests/e2e/package-lock.json" "$M/repo/tests/e2e/"
  for t in awk grep sed cat dirname mkdir date id seq head tail tr cut sort rm ln chmod touch cp env; do
    ln -s "$(command -v "$t")" "$M/base/$t"
  done
  local fakes="$FAKES"
  cat >"$M/root/usr/bin/apt-get" <<EOF
#!/bin/bash
source "$fakes"
[ "\$1" = install ] || exit 0
for p in "\$@"; do case "\$p" in -*|install) ;; *) echo "apt-get install \$p" >>"$M/log"; fake_pkg "$M" "\$p" ;; esac; done
EOF
  cat >"$M/home/.cargo/bin/rustup" <<EOF
#!/bin/bash
case "\$1 \$2" in
  "target list") cat "$M/targets" ;;
  "target add") echo "rustup target add \$3" >>"$M/log"; echo "\$3" >>"$M/targets" ;;
esac
EOF
  cat >"$M/home/.cargo/bin/cargo" <<EOF
#!/bin/bash
source "$fakes"
[ "\$1" = install ] || exit 0
echo "cargo install \$2" >>"$M/log"; fake_tool "$M" "\$2"
EOF
  chmod +x "$M/root/usr/bin/apt-get" "$M/home/.cargo/bin/rustup" "$M/home/.cargo/bin/cargo"
}
