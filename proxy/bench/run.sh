#!/usr/bin/env bash
# Benchmark: in one run, wrk straight to an upstream, through nginx set up as the
# equivalent streaming reverse proxy (twice: plain, and also doing the relay's header
# work), and through kwit-relay; 1 KB and 1 MB bodies. Prints requests/s, p99 latency,
# CPU time per request of the relay and of nginx (the figure least disturbed by other
# load on the machine), the relay's peak memory (VmHWM), and the ratios relay/nginx,
# relay/nginx doing the header work, and relay/direct.
#
#   proxy/bench/run.sh                # 1000 connections, 10 s per run
#   CONNECTIONS=200 DURATION=5 ROUNDS=1 LAT_DURATION=2 proxy/bench/run.sh
#   RELAY_BIN=path/to/kwit-relay proxy/bench/run.sh   # e.g. the static musl build
#   RELAY_ARGS="--buffer-kib 128" proxy/bench/run.sh  # extra relay flags
#
# Equivalence: nginx runs one worker per CPU (`worker_processes auto`), as the relay
# runs one tokio worker thread per CPU; both keep idle upstream connections open
# (keep-alive pool, 60 s), stream bodies both ways without buffering them whole, use
# a 32 KiB per-connection buffer (the relay's --buffer-kib default; nginx's
# proxy_buffer_size), set
# TCP_NODELAY, and write no access log (the relay runs at --log warn). "nginx-hw" also
# does the relay's per-request header work (bench/setup.sh, nginx_header_work).
#
# Needs wrk and nginx (Debian: apt-get install -y wrk nginx-light). Uses ports 18181-18184.
set -euo pipefail
cd "$(dirname "$0")/../.."

CONNECTIONS="${CONNECTIONS:-1000}"
DURATION="${DURATION:-10}"
# Rounds of every setup in turn; medians are reported, so a burst of other load on the
# shared machine during one run does not decide a ratio.
ROUNDS="${ROUNDS:-3}"
THREADS="${THREADS:-2}"
UP_PORT=18181 NGINX_PORT=18182 RELAY_PORT=18183 NGINX_HW_PORT=18184
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/kt-relay}"

for tool in wrk nginx; do
  command -v "$tool" >/dev/null || { echo "$tool missing: apt-get install -y wrk nginx-light" >&2; exit 1; }
done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# shellcheck source=proxy/bench/setup.sh
. proxy/bench/setup.sh
bench_start bench
bench_bodies
upstream_conf
proxy_conf "$WORK/proxy" "$NGINX_PORT" 0
proxy_conf "$WORK/proxy-hw" "$NGINX_HW_PORT" 1

nginx -p "$WORK/up" -c "$WORK/up/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
nginx -p "$WORK/proxy" -c "$WORK/proxy/nginx.conf" -g 'daemon off;' &
NGINX_PID=$!
PIDS+=("$NGINX_PID")
nginx -p "$WORK/proxy-hw" -c "$WORK/proxy-hw/nginx.conf" -g 'daemon off;' &
NGINX_HW_PID=$!
PIDS+=("$NGINX_HW_PID")
# Rate limit effectively off (but still evaluated), logs at warn so the log write
# is not what is measured.
"$RELAY_BIN" --listen "127.0.0.1:$RELAY_PORT" --sim-url "http://127.0.0.1:$UP_PORT" \
  --environments test --rate-limit 1000000000 --rate-burst 1000000000 --log warn ${RELAY_ARGS:-} >"$WORK/relay.log" 2>&1 &
RELAY_PID=$!
PIDS+=("$RELAY_PID")

wait_up() { for _ in $(seq 1 100); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "not up: $1" >&2; exit 1; }
wait_up "http://127.0.0.1:$UP_PORT/v2/bench/1k"
wait_up "http://127.0.0.1:$NGINX_PORT/ksef/sim/v2/bench/1k"
wait_up "http://127.0.0.1:$NGINX_HW_PORT/ksef/sim/v2/bench/1k"
wait_up "http://127.0.0.1:$RELAY_PORT/ksef/sim/v2/bench/1k"
for size in 1k 1m; do
  a=$(curl -fsS "http://127.0.0.1:$UP_PORT/v2/bench/$size" | sha256sum)
  b=$(curl -fsS "http://127.0.0.1:$RELAY_PORT/ksef/sim/v2/bench/$size" | sha256sum)
  [ "$a" = "$b" ] || { echo "relay returned a different $size body" >&2; exit 1; }
done

# to_ms "1.23ms" | "456.00us" | "1.20s" -> milliseconds
to_ms() { awk -v v="$1" 'BEGIN{ n=v; sub(/[a-z]+$/,"",n); u=v; sub(/^[0-9.]+/,"",u);
  if(u=="us") n/=1000; else if(u=="s") n*=1000; else if(u=="m") n*=60000; printf "%.2f", n }'; }

# cpu_ticks PID... -> user+system clock ticks used so far by these processes
cpu_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
TICK=$(getconf CLK_TCK)

declare -A RPS P99 CPU
# median "3 1 2" -> 2 (the lower middle of an even count); n/a values are skipped
median() { tr ' ' '\n' <<<"$1" | awk '/^[0-9.]+$/' | sort -g | awk '{v[NR]=$1} END{ if (NR) print v[int((NR+1)/2)]; else print "n/a" }'; }
run() { # run NAME URL [PID...]  (PIDs whose CPU time per request is reported)
  local name=$1 url=$2 out before after requests rps p99 cpu; shift 2
  before=$( [ $# -gt 0 ] && cpu_ticks "$@" || echo 0)
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s --latency "$url")
  after=$( [ $# -gt 0 ] && cpu_ticks "$@" || echo 0)
  rps=$(awk '/^Requests\/sec:/{print $2}' <<<"$out")
  p99=$(to_ms "$(awk '$1=="99%"{print $2}' <<<"$out")")
  requests=$(awk '/requests in/{print $1}' <<<"$out")
  cpu=$(awk -v t="$((after - before))" -v hz="$TICK" -v n="$requests" 'BEGIN{ if (n>0 && t>0) printf "%.1f", t/hz*1e6/n; else print "n/a" }')
  RUNS_RPS[$name]+=" $rps" RUNS_P99[$name]+=" $p99" RUNS_CPU[$name]+=" $cpu"
  RPS[$name]=$(median "${RUNS_RPS[$name]}") P99[$name]=$(median "${RUNS_P99[$name]}") CPU[$name]=$(median "${RUNS_CPU[$name]}")
  local errors; errors=$(awk '/Non-2xx|Socket errors/' <<<"$out")
  printf '%-12s %10s req/s   p99 %8s ms   cpu %8s us/req   %s\n' "$name" "$rps" "$p99" "$cpu" "$errors" >&2
}
declare -A RUNS_RPS RUNS_P99 RUNS_CPU

NGINX_WORKERS=$(pgrep -P "$NGINX_PID" | tr '\n' ' ')
NGINX_HW_WORKERS=$(pgrep -P "$NGINX_HW_PID" | tr '\n' ' ')
RELAY_THREADS=$(ls "/proc/$RELAY_PID/task" | wc -l)
echo "wrk: $THREADS threads, $CONNECTIONS connections, ${DURATION}s per run, $ROUNDS rounds, $(nproc) CPUs;" \
  "nginx proxy workers: $(wc -w <<<"$NGINX_WORKERS"), relay threads: $RELAY_THREADS (tokio workers + main)" >&2
for size in 1k 1m; do
  wrk -t1 -c10 -d1s "http://127.0.0.1:$RELAY_PORT/ksef/sim/v2/bench/$size" >/dev/null # warm-up
  wrk -t1 -c10 -d1s "http://127.0.0.1:$NGINX_PORT/ksef/sim/v2/bench/$size" >/dev/null
  wrk -t1 -c10 -d1s "http://127.0.0.1:$NGINX_HW_PORT/ksef/sim/v2/bench/$size" >/dev/null
  for _ in $(seq 1 "$ROUNDS"); do
    run "direct-$size" "http://127.0.0.1:$UP_PORT/v2/bench/$size"
    # shellcheck disable=SC2086
    run "nginx-$size" "http://127.0.0.1:$NGINX_PORT/ksef/sim/v2/bench/$size" $NGINX_WORKERS
    # shellcheck disable=SC2086
    run "nginx-hw-$size" "http://127.0.0.1:$NGINX_HW_PORT/ksef/sim/v2/bench/$size" $NGINX_HW_WORKERS
    run "relay-$size" "http://127.0.0.1:$RELAY_PORT/ksef/sim/v2/bench/$size" "$RELAY_PID"
  done
done
PEAK_KB=$(awk '/^VmHWM:/{print $2}' "/proc/$RELAY_PID/status")

# Added latency without queueing: one connection, one request at a time. At 1,000
# connections on a few cores every p99 is mostly waiting for a CPU, which says little
# about what the relay itself adds to a request.
declare -A LAT50 LAT99 RUNS_LAT50 RUNS_LAT99
latency() { # latency NAME URL
  local out p50 p99
  out=$(wrk -t1 -c1 -d"${LAT_DURATION:-3}s" --latency "$2")
  p50=$(to_ms "$(awk '$1=="50%"{print $2}' <<<"$out")")
  p99=$(to_ms "$(awk '$1=="99%"{print $2}' <<<"$out")")
  RUNS_LAT50[$1]+=" $p50" RUNS_LAT99[$1]+=" $p99"
  LAT50[$1]=$(median "${RUNS_LAT50[$1]}") LAT99[$1]=$(median "${RUNS_LAT99[$1]}")
  printf '%-12s 1 connection: p50 %8s ms   p99 %8s ms\n' "$1" "$p50" "$p99" >&2
}
for size in 1k 1m; do
  for _ in $(seq 1 "$ROUNDS"); do
    latency "direct-$size" "http://127.0.0.1:$UP_PORT/v2/bench/$size"
    latency "nginx-$size" "http://127.0.0.1:$NGINX_PORT/ksef/sim/v2/bench/$size"
    latency "relay-$size" "http://127.0.0.1:$RELAY_PORT/ksef/sim/v2/bench/$size"
  done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b>0) printf "%.2f", a/b; else print "n/a" }'; }
echo
echo "Medians of $ROUNDS rounds; nginx-hw: nginx also doing the relay's header work."
printf '| body | direct req/s | nginx req/s | nginx-hw req/s | relay req/s | relay/nginx | relay/nginx-hw | relay/direct | direct p99 ms | nginx p99 ms | relay p99 ms | relay added p99 ms | nginx cpu us/req | nginx-hw cpu us/req | relay cpu us/req |\n'
printf '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n'
for size in 1k 1m; do
  added=$(awk -v a="${P99[relay-$size]}" -v b="${P99[direct-$size]}" 'BEGIN{printf "%.2f", a-b}')
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$size" \
    "${RPS[direct-$size]}" "${RPS[nginx-$size]}" "${RPS[nginx-hw-$size]}" "${RPS[relay-$size]}" \
    "$(ratio "${RPS[relay-$size]}" "${RPS[nginx-$size]}")" "$(ratio "${RPS[relay-$size]}" "${RPS[nginx-hw-$size]}")" \
    "$(ratio "${RPS[relay-$size]}" "${RPS[direct-$size]}")" \
    "${P99[direct-$size]}" "${P99[nginx-$size]}" "${P99[relay-$size]}" "$added" \
    "${CPU[nginx-$size]}" "${CPU[nginx-hw-$size]}" "${CPU[relay-$size]}"
done
echo
echo "One connection (no queueing):"
printf '| body | direct p50 ms | nginx p50 ms | relay p50 ms | direct p99 ms | nginx p99 ms | relay p99 ms | nginx added p99 ms | relay added p99 ms |\n'
printf '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n'
for size in 1k 1m; do
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$size" \
    "${LAT50[direct-$size]}" "${LAT50[nginx-$size]}" "${LAT50[relay-$size]}" \
    "${LAT99[direct-$size]}" "${LAT99[nginx-$size]}" "${LAT99[relay-$size]}" \
    "$(awk -v a="${LAT99[nginx-$size]}" -v b="${LAT99[direct-$size]}" 'BEGIN{printf "%.2f", a-b}')" \
    "$(awk -v a="${LAT99[relay-$size]}" -v b="${LAT99[direct-$size]}" 'BEGIN{printf "%.2f", a-b}')"
done
echo
echo "relay peak memory (VmHWM) at $CONNECTIONS connections: $((PEAK_KB / 1024)) MiB ($PEAK_KB kB)"
