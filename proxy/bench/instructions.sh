#!/usr/bin/env bash
# Benchmark, the steady half: user-space instructions per request of the relay, of nginx set
# up as the plain equivalent reverse proxy, and of nginx also doing the relay's header work
# ("nginx-hw" in run.sh), each counted by valgrind's callgrind over the same wrk load
# (1 thread, 20 connections). Unlike requests/s on shared cores, the counts barely move
# between runs, so a change to the relay's hot path can be judged from one run. They leave
# out the kernel's share (the same 2 reads and 2 writes per 1 KB request for both) and say
# nothing about cache misses.
#
#   proxy/bench/instructions.sh                 # 1 KB and 1 MB, 5 s per count
#   SIZES=1k DURATION=3 proxy/bench/instructions.sh
#   RELAY_BIN=path/to/kwit-relay proxy/bench/instructions.sh
#
# Needs valgrind, wrk and nginx (Debian: apt-get install -y valgrind wrk nginx-light).
# Uses ports 18191-18194. Both run single-threaded here: the relay with --workers 1,
# nginx with one worker and no master process.
set -euo pipefail
cd "$(dirname "$0")/../.."

SIZES="${SIZES:-1k 1m}"
DURATION="${DURATION:-5}"
UP_PORT=18191 PLAIN_PORT=18192 EQUIV_PORT=18193 RELAY_PORT=18194
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/kt-relay}"

for tool in valgrind callgrind_control wrk nginx; do
  command -v "$tool" >/dev/null || { echo "$tool missing: apt-get install -y valgrind wrk nginx-light" >&2; exit 1; }
done
# shellcheck source=proxy/bench/setup.sh
. proxy/bench/setup.sh
bench_start instr
bench_bodies
upstream_conf
NGINX_WORKERS="worker_processes 1; master_process off;"
proxy_conf "$WORK/plain" "$PLAIN_PORT" 0
proxy_conf "$WORK/equiv" "$EQUIV_PORT" 1

nginx -p "$WORK/up" -c "$WORK/up/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
callgrind() { # callgrind NAME COMMAND... : runs COMMAND under callgrind, counting from the start
  valgrind --tool=callgrind --callgrind-out-file="$WORK/$1.%p.out" --dump-instr=no \
    "${@:2}" >"$WORK/$1.log" 2>&1 &
  PIDS+=($!)
  eval "PID_$1=$!"
}
callgrind plain nginx -p "$WORK/plain" -c "$WORK/plain/nginx.conf" -g 'daemon off;'
callgrind equiv nginx -p "$WORK/equiv" -c "$WORK/equiv/nginx.conf" -g 'daemon off;'
callgrind relay "$RELAY_BIN" --listen "127.0.0.1:$RELAY_PORT" --sim-url "http://127.0.0.1:$UP_PORT" \
  --environments test --rate-limit 1000000000 --rate-burst 1000000000 --log warn --workers 1

url() { # url NAME SIZE
  case $1 in
    plain) echo "http://127.0.0.1:$PLAIN_PORT/ksef/sim/v2/bench/$2" ;;
    equiv) echo "http://127.0.0.1:$EQUIV_PORT/ksef/sim/v2/bench/$2" ;;
    relay) echo "http://127.0.0.1:$RELAY_PORT/ksef/sim/v2/bench/$2" ;;
  esac
}
for name in plain equiv relay; do # up under valgrind (slow to start)
  for _ in $(seq 1 150); do curl -fsS -o /dev/null "$(url $name 1k)" 2>/dev/null && break; sleep 0.2; done
done

declare -A IR
count() { # count NAME SIZE: instructions per request while wrk runs
  local name=$1 size=$2 pid out requests total
  pid=$(eval echo "\$PID_$name")
  wrk -t1 -c20 -d2s "$(url "$name" "$size")" >/dev/null # warm-up: pools filled, pages touched
  callgrind_control --zero "$pid" >/dev/null 2>&1
  out=$(wrk -t1 -c20 -d"${DURATION}s" "$(url "$name" "$size")")
  rm -f "$WORK/$name".*.out.*
  callgrind_control --dump "$pid" >/dev/null 2>&1
  requests=$(awk '/requests in/{print $1}' <<<"$out")
  # The dump holds the counts of all threads since the zeroing.
  total=$(cat "$WORK/$name".*.out.* | awk '/^totals:/{t+=$2} END{print t+0}')
  IR[$name-$size]=$((total / requests))
  printf '%-6s %s  %8d requests  %8d instructions/request\n' "$name" "$size" "$requests" "${IR[$name-$size]}" >&2
}
for size in $SIZES; do
  for name in plain equiv relay; do count "$name" "$size"; done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ printf "%.2f", a/b }'; }
echo
echo '| body | nginx | nginx doing the header work | relay | relay/nginx | relay/nginx doing the header work |'
echo '| --- | ---: | ---: | ---: | ---: | ---: |'
for size in $SIZES; do
  printf '| %s | %s | %s | %s | %s | %s |\n' "$size" "${IR[plain-$size]}" "${IR[equiv-$size]}" \
    "${IR[relay-$size]}" "$(ratio "${IR[relay-$size]}" "${IR[plain-$size]}")" \
    "$(ratio "${IR[relay-$size]}" "${IR[equiv-$size]}")"
done
