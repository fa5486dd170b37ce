#!/usr/bin/env bash
# The self-hoster's container, built and run for real with podman (part of ./kwit test; skipped
# with a message where podman cannot run a container). Builds the Dockerfile's runtime stage from
# local files (the static musl relay, the built SPA, the host's CA certificates; FROM scratch,
# nothing pulled), runs it read-only as the compose file does, on the host's loopback only, and
# checks what a self-hoster relies on: /healthz and the image's HEALTHCHECK, the SPA with its
# security headers, relaying to a simulator on the host, a non-root user and a read-only root
# filesystem, JSON logs, a clean stop on SIGTERM within 5 s; prints the image size. Also checks
# proxy/compose.yaml with podman-compose when it is installed.
# Usage: KWIT_RELAY_BIN=… KWIT_DIST=… KWIT_SIM_BIN=… tests/container/run.sh
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
RELAY="${KWIT_RELAY_BIN:?the static musl kwit-relay (proxy/build-static.sh --print-path)}"
DIST="${KWIT_DIST:?the built SPA (trunk build --release)}"
SIM="${KWIT_SIM_BIN:?ksef-sim}"
CA=/etc/ssl/certs/ca-certificates.crt
STOP_LIMIT_MS=5000
echo "==> tests/container/run.sh: the relay image, built from local files and run with podman"

skip() { echo "  SKIP  container test: $*"; exit 0; }
command -v podman >/dev/null || skip "podman is not installed (apt-get install podman runc)"
{ command -v runc || [ -x /usr/sbin/runc ]; } >/dev/null || skip "runc is not installed (apt-get install runc; crun fails on some hosts' cgroups)"
[ -s "$CA" ] || skip "no CA certificates at $CA (apt-get install ca-certificates)"
[ -x "$RELAY" ] && [ -f "$DIST/index.html" ] && [ -x "$SIM" ] || { echo "missing $RELAY, $DIST/index.html or $SIM" >&2; exit 1; }

T="$(mktemp -d "${TMPDIR:-/tmp}/kwit-container.XXXXXX")"
ID="kwit-test-$$-$RANDOM"
TAG="localhost/$ID:latest"
SIM_PID=""
cleanup() {
  podman rm -f -t 0 "$ID" >/dev/null 2>&1 || true
  podman rmi -f "$TAG" "localhost/$ID-preflight:latest" >/dev/null 2>&1 || true
  [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
fails=0
ok() { printf '  ok    %s\n' "$*"; }
bad() { printf '  FAIL  %s\n' "$*"; fails=$((fails + 1)); }
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
# The sandbox's hard limits are below podman's defaults; crun fails on its cgroups.
RUN_OPTS=(--runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

# The build context: exactly what the runtime stage copies, under the names `artefacts` has.
mkdir -p "$T/ctx"
cp "$RELAY" "$T/ctx/kwit-relay"
cp "$CA" "$T/ctx/ca-certificates.crt"
cp -r "$DIST" "$T/ctx/dist"
{
  printf 'FROM scratch AS artefacts\nCOPY ca-certificates.crt kwit-relay /\nCOPY dist /dist\n\n'
  sed -n '/^# --- runtime:/,$p' "$REPO/Dockerfile"
} >"$T/ctx/Containerfile"
grep -q '^FROM scratch$' "$T/ctx/Containerfile" || { echo "Dockerfile: no '# --- runtime:' stage found" >&2; exit 1; }

# Can podman build and run anything here? If not, say why and skip (not a failure of the image).
printf 'FROM scratch\nCOPY kwit-relay /kwit-relay\nENTRYPOINT ["/kwit-relay", "--version"]\n' >"$T/ctx/Preflight"
if ! out="$(podman build --runtime runc --pull=never --layers=false -q -t "localhost/$ID-preflight:latest" -f "$T/ctx/Preflight" "$T/ctx" 2>&1 \
  && podman run --rm "${RUN_OPTS[@]}" --network none "localhost/$ID-preflight:latest" 2>&1)"; then
  skip "podman cannot build or run a container here: $(echo "$out" | tail -n 2 | tr '\n' ' ')"
fi

start=$(date +%s%N)
if ! podman build --runtime runc --format docker --pull=never --layers=false -q -t "$TAG" -f "$T/ctx/Containerfile" "$T/ctx" >"$T/build.log" 2>&1; then
  cat "$T/build.log" >&2; echo "  FAIL  podman build of the runtime stage" >&2; exit 1
fi
ok "built the runtime stage from local files in $(( ($(date +%s%N) - start) / 1000000 )) ms"
size=$(podman image inspect --format '{{.Size}}' "$TAG")
awk -v s="$size" -v r="$(stat -c %s "$RELAY")" -v d="$(du -sb "$DIST" | cut -f1)" \
  'BEGIN { printf "  size  the image: %.1f MB (%d bytes): the relay %.1f MB, the SPA %.1f MB\n", s/1e6, s, r/1e6, d/1e6 }'
hc=$(podman image inspect --format '{{.Config.Healthcheck.Test}}' "$TAG")
[[ "$hc" == *"--check-health"* ]] && ok "the image keeps its HEALTHCHECK ($hc)" || bad "the image has no HEALTHCHECK: $hc"

# A simulator on the host, the container on the host's loopback (--network host, 127.0.0.1 only).
sp="$(free_port)" rp="$(free_port)"
while [ "$rp" = "$sp" ]; do rp="$(free_port)"; done
"$SIM" --listen "127.0.0.1:$sp" >"$T/sim.log" 2>&1 &
SIM_PID=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$sp/sim/demo" >/dev/null 2>&1 && break; sleep 0.1; done
# As proxy/compose.yaml runs it: read-only, no capabilities, no privilege escalation. Podman runs
# health checks from systemd timers; without systemd (here) they are run by hand below.
podman run -d --name "$ID" "${RUN_OPTS[@]}" --read-only --cap-drop ALL --security-opt no-new-privileges \
  --network host -e KWIT_LISTEN="127.0.0.1:$rp" -e KWIT_SIM_URL="http://127.0.0.1:$sp" \
  --health-interval disable "$TAG" >/dev/null 2>"$T/run.err" || { cat "$T/run.err" >&2; exit 1; }
base="http://127.0.0.1:$rp"
for _ in $(seq 1 100); do curl -fsS "$base/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$base/healthz" >/dev/null && ok "/healthz answers 200" || bad "/healthz does not answer"
curl -fsS "$base/readyz" >/dev/null && ok "/readyz answers 200 (the SPA is there)" || bad "/readyz is not 200"
if hc_out="$(podman healthcheck run "$ID" 2>&1)"; then ok "podman healthcheck run: ${hc_out:-healthy}"; else bad "podman healthcheck run failed: $hc_out"; fi

# The SPA and its security headers.
curl -fsS -D "$T/h" -o "$T/index.html" "$base/" || bad "GET / failed"
cmp -s "$T/index.html" "$DIST/index.html" || grep -q '<html' "$T/index.html" || bad "GET / is not the SPA's index.html"
hdr() { grep -i "^$1:" "$T/h" | head -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ //'; }
csp="$(hdr content-security-policy)"
[[ "$csp" == *"script-src 'self' 'wasm-unsafe-eval'"* && "$csp" == *"frame-ancestors 'none'"* && "$csp" != *"unsafe-inline"* ]] \
  && ok "GET / serves the SPA with its CSP" || bad "CSP on /: '$csp'"
for want in "x-content-type-options: nosniff" "x-frame-options: DENY" "referrer-policy: no-referrer" \
  "cross-origin-opener-policy: same-origin" "cache-control: no-store"; do
  [ "$(hdr "${want%%:*}")" = "${want#*: }" ] || bad "header ${want%%:*} is '$(hdr "${want%%:*}")', expected '${want#*: }'"
done
wasm="$(cd "$DIST" && ls ./kwit-web-*_bg.wasm | head -n 1)"  # the app, named with its hash
curl -fsS -D "$T/hw" -o "$T/app.wasm" "$base/${wasm#./}" || bad "GET $wasm failed"
cmp -s "$T/app.wasm" "$DIST/$wasm" && grep -qi '^content-type: application/wasm' "$T/hw" \
  && grep -qi '^cache-control: public, max-age=31536000, immutable' "$T/hw" \
  && ok "the app's wasm is served whole, as application/wasm, cached immutable" \
  || bad "GET ${wasm#./}: wrong body or headers: $(grep -iE '^(content-type|cache-control|content-length):' "$T/hw" | tr -d '\r' | tr '\n' ' ')"
curl -fsS -D "$T/hb" -H 'Accept-Encoding: br' -o "$T/app.wasm.br" "$base/${wasm#./}" || bad "GET $wasm (br) failed"
[ -f "$DIST/$wasm.br" ] && cmp -s "$T/app.wasm.br" "$DIST/$wasm.br" && grep -qi '^content-encoding: br' "$T/hb" \
  && ok "a browser accepting brotli gets the build's precompressed wasm ($(stat -c %s "$T/app.wasm.br") of $(stat -c %s "$T/app.wasm") bytes)" \
  || bad "GET ${wasm#./} with Accept-Encoding: br: not the precompressed copy"

# Relaying to the simulator on the host: the same answer as the simulator's own.
path=v2/security/public-key-certificates
curl -fsS "http://127.0.0.1:$sp/$path" -o "$T/direct.json"
if curl -fsS "$base/ksef/sim/$path" -o "$T/relayed.json" && cmp -s "$T/direct.json" "$T/relayed.json" \
  && grep -q '"certificate"' "$T/relayed.json"; then ok "relays /ksef/sim/$path to the simulator on the host"
else bad "relaying /ksef/sim/$path: $(head -c 300 "$T/relayed.json" 2>/dev/null)"; fi
code=$(curl -s -o /dev/null -w '%{http_code}' "$base/ksef/elsewhere/v2/x")
[ "$code" = 404 ] || [ "$code" = 400 ] && ok "an unknown environment is refused ($code)" || bad "/ksef/elsewhere/... answered $code"

# Non-root, read-only root filesystem, no capabilities: read from the host's /proc.
pid=$(podman inspect --format '{{.State.Pid}}' "$ID")
uids=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$pid/status")
[ "$uids" = "65534 65534 65534 65534" ] && ok "runs as uid 65534 (nobody), not root" || bad "the relay's uids are: $uids"
[ "$(podman image inspect --format '{{.Config.User}}' "$TAG")" = 65534:65534 ] || bad "the image's USER is not 65534:65534"
rootopts=$(awk '$5 == "/" {print $6}' "/proc/$pid/mountinfo" | tail -n 1)
[[ ",$rootopts," == *",ro,"* ]] && ok "its root filesystem is mounted read-only ($rootopts)" || bad "root mount options: $rootopts"
capeff=$(awk '/^CapEff:/ {print $2}' "/proc/$pid/status")
[ "$capeff" = 0000000000000000 ] && ok "no effective capabilities" || bad "effective capabilities: $capeff"

# The logs (stderr) are JSON lines (KWIT_LOG_FORMAT=json in the image); stdout has one plain
# "listening on" line for scripts.
podman logs "$ID" >"$T/stdout" 2>"$T/logs" || true
if [ -s "$T/logs" ] && node -e 'for (const l of require("fs").readFileSync(process.argv[1],"utf8").split("\n").filter(Boolean)) JSON.parse(l)' "$T/logs" 2>/dev/null
then ok "its log (stderr) is JSON lines ($(wc -l <"$T/logs") lines)"; else bad "its log is not JSON lines: $(head -n 2 "$T/logs")"; fi

# SIGTERM: podman stop sends the image's STOPSIGNAL, then SIGKILL after -t seconds.
start=$(date +%s%N)
podman stop -t 20 "$ID" >/dev/null 2>"$T/stop.err"  # without systemd podman says it cannot remove the health-check timer
ms=$(( ($(date +%s%N) - start) / 1000000 ))
exit_code=$(podman inspect --format '{{.State.ExitCode}}' "$ID")
if [ "$ms" -le "$STOP_LIMIT_MS" ] && [ "$exit_code" = 0 ]; then ok "podman stop (SIGTERM) ended it in $ms ms, exit code 0"
else bad "podman stop took $ms ms (limit $STOP_LIMIT_MS), exit code $exit_code"; fi

# The compose file a self-hoster starts from. podman-compose 1.0.3 (Debian 12) has no `config`:
# `--dry-run up --no-build` parses it, fills in the variables and prints the podman commands
# without running them (it does create the project's network and volumes: removed on exit).
if command -v podman-compose >/dev/null; then
  compose="$REPO/proxy/compose.yaml"
  proj="$ID-compose"
  COMPOSE_CLEAN=(podman volume rm "${proj}_caddy-data" "${proj}_caddy-config")
  trap 'cleanup; "${COMPOSE_CLEAN[@]}" >/dev/null 2>&1 || true; podman network rm "${proj}_default" >/dev/null 2>&1 || true' EXIT
  if (cd "$T" && KWIT_DOMAIN=kwit.example.com podman-compose -p "$proj" --dry-run -f "$compose" up --no-build -d >"$T/compose.out" 2>&1); then
    kwit_cmd="$(grep "^podman run --name=${proj}_kwit_1 " "$T/compose.out" || true)"
    caddy_cmd="$(grep "^podman run --name=${proj}_caddy_1 " "$T/compose.out" || true)"
    missing=()
    for want in "--read-only" "--cap-drop ALL" "--security-opt no-new-privileges:true" "-e KWIT_BEHIND_TLS=true" \
      "-e KWIT_TRUST_FORWARDED_FOR=true" "--expose 8080"; do
      [[ " $kwit_cmd " == *" $want "* ]] || missing+=("$want")
    done
    [[ "$kwit_cmd" == *" -p "* ]] && missing+=("(no published port for the relay)")
    [[ "$caddy_cmd" == *"caddy:2 caddy reverse-proxy --from kwit.example.com --to kwit:8080" ]] || missing+=("caddy's reverse-proxy to kwit:8080")
    [ ${#missing[@]} -eq 0 ] && ok "podman-compose reads proxy/compose.yaml: the relay read-only behind Caddy's TLS" \
      || bad "proxy/compose.yaml, as podman-compose reads it, lacks: ${missing[*]}"
  else bad "podman-compose rejects proxy/compose.yaml: $(tail -n 3 "$T/compose.out")"; fi
  # The check can fail: a file with a YAML error is refused.
  sed 's/^services:/services: [/' "$compose" >"$T/broken.yaml"
  if (cd "$T" && KWIT_DOMAIN=x podman-compose -p "$proj" --dry-run -f "$T/broken.yaml" up --no-build -d >/dev/null 2>&1); then
    bad "podman-compose accepts a broken compose file: the check checks nothing"
  fi
else
  echo "  SKIP  compose file: podman-compose is not installed (apt-get install podman-compose)"
fi

if [ "$fails" -gt 0 ]; then echo "  $fails container checks failed"; exit 1; fi
echo "  container checks passed"
