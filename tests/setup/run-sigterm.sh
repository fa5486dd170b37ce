#!/usr/bin/env bash
# ./kwit run, stopped with SIGTERM (as a service manager or `kill` does): the script must stop
# the simulator and the relay itself, exit 143 and print no shell error. Runs ./kwit's own
# serve() (what `./kwit run` does after its build) with built binaries on free loopback ports.
# Usage: KWIT_SIM_BIN=… KWIT_RELAY_BIN=… KWIT_DIST=… tests/setup/run-sigterm.sh
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
SIM="${KWIT_SIM_BIN:?path of ksef-sim}" RELAY="${KWIT_RELAY_BIN:?path of kwit-relay}" DIST="${KWIT_DIST:?the built SPA}"
T="$(mktemp -d "${TMPDIR:-/tmp}/kwit-sigterm.XXXXXX")"
KPID=""
cleanup() { [ -n "$KPID" ] && kill -KILL "$KPID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "  FAIL  $*"; sed 's/^/          | /' "$T/err" | tail -n 10; exit 1; }
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

echo "==> tests/setup/run-sigterm.sh: ./kwit run stops both servers on SIGTERM"
sp="$(free_port)" rp="$(free_port)"
while [ "$rp" = "$sp" ]; do rp="$(free_port)"; done
KWIT_SIM_LISTEN="127.0.0.1:$sp" KWIT_LISTEN="127.0.0.1:$rp" KWIT_SIM_STATE="$T/sim-state.json" \
  bash -c 'source "$1"; serve "$2" "$3" "$4"' _ "$REPO/kwit" "$SIM" "$RELAY" "$DIST" >"$T/out" 2>"$T/err" &
KPID=$!
for _ in $(seq 1 300); do grep -q 'Kwit is running' "$T/out" && break; kill -0 "$KPID" 2>/dev/null || break; sleep 0.1; done
grep -q 'Kwit is running' "$T/out" || fail "serve did not start within 30 s"
curl -fsS "http://127.0.0.1:$rp/healthz" >/dev/null || fail "the relay does not answer /healthz"
curl -fsS "http://127.0.0.1:$rp/ksef/sim/v2/security/public-key-certificates" | grep -q certificate \
  || fail "the relay does not relay to the simulator"

mapfile -t children < <(ps -o pid= --ppid "$KPID" | tr -d ' ')
[ "${#children[@]}" -eq 2 ] || fail "expected the simulator and the relay as children, found: ${children[*]:-none}"
start=$(date +%s%N)
kill -TERM "$KPID"
rc=0; wait "$KPID" || rc=$?
KPID=""
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$rc" -eq 143 ] || fail "exit status $rc after SIGTERM, expected 143"
if grep -qE 'unbound variable|line [0-9]+:' "$T/err"; then fail "the shell printed an error on SIGTERM"; fi
for pid in "${children[@]}"; do
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fail "process $pid ($(ps -o comm= -p "$pid")) still runs after SIGTERM"; fi
done
if curl -fsS --max-time 2 "http://127.0.0.1:$rp/healthz" >/dev/null 2>&1; then fail "the relay port still answers"; fi
if curl -fsS --max-time 2 "http://127.0.0.1:$sp/sim/demo" >/dev/null 2>&1; then fail "the simulator port still answers"; fi
[ -s "$T/sim-state.json" ] || fail "the simulator left no state file (it keeps its state across restarts)"
echo "  ok    SIGTERM: exit 143, simulator and relay stopped, state saved, no shell error ($ms ms)"
