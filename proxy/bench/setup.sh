# Shared by run.sh and instructions.sh: the relay binary, a scratch folder cleaned up on
# exit, the upstream (nginx serving 1 KB and 1 MB bodies under /v2/bench/) and nginx set up
# as the relay's equivalent reverse proxy. The nginx functions need UP_PORT set;
# NGINX_WORKERS replaces `worker_processes auto;`.
# shellcheck shell=bash

bench_start() { # bench_start LABEL: sets RELAY_BIN (built unless given), WORK and PIDS
  if [ -z "${RELAY_BIN:-}" ]; then
    cargo build --release --locked -p kwit-relay >&2
    RELAY_BIN="$CARGO_TARGET_DIR/release/kwit-relay"
  fi
  WORK="$(mktemp -d "/tmp/kwit-$1.XXXXXX")"
  PIDS=()
  trap bench_cleanup EXIT INT TERM
}

bench_cleanup() { # stops what was started (PIDS) and removes WORK
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}

bench_bodies() { # the same bodies for every path
  mkdir -p "$WORK/www/v2/bench" "$WORK/up"
  head -c 1024 /dev/zero | tr '\0' 'a' >"$WORK/www/v2/bench/1k"
  head -c 1048576 /dev/zero | tr '\0' 'b' >"$WORK/www/v2/bench/1m"
  chmod -R a+rX "$WORK"
}

common_conf() { # common_conf PREFIX
  cat <<EOF
${NGINX_WORKERS:-worker_processes auto;}
pid $1/nginx.pid;
error_log $1/error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 16384; }
EOF
}

upstream_conf() { # upstream_conf: writes $WORK/up/nginx.conf
  {
  common_conf "$WORK/up"
  cat <<EOF
http {
  access_log off;
  sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_requests 1000000;
  default_type application/octet-stream;
  client_body_temp_path $WORK/up/body; proxy_temp_path $WORK/up/proxy;
  fastcgi_temp_path $WORK/up/fcgi; uwsgi_temp_path $WORK/up/uwsgi; scgi_temp_path $WORK/up/scgi;
  server { listen 127.0.0.1:$UP_PORT; root $WORK/www; }
}
EOF
  } >"$WORK/up/nginx.conf"
}

# nginx_header_work 1: nginx also does the relay's per-request header work: only the
# allow-listed request headers go upstream, the relay's dropped response headers are hidden,
# the same eight headers are added (src/headers.rs, src/relay.rs), and a limit_req zone is checked.
nginx_header_work() {
  [ "$1" = 1 ] || return 0
  cat <<'EOF2'
      proxy_pass_request_headers off;
      proxy_set_header Host $proxy_host;
      proxy_set_header User-Agent kwit-relay;
      proxy_set_header Content-Length $content_length;
      proxy_set_header Authorization $http_authorization;
      proxy_set_header Content-Type $content_type;
      proxy_set_header Accept $http_accept;
      proxy_set_header Accept-Encoding $http_accept_encoding;
      proxy_set_header Accept-Language $http_accept_language;
      proxy_set_header X-Continuation-Token $http_x_continuation_token;
      proxy_set_header X-Error-Format $http_x_error_format;
      proxy_set_header X-KSeF-Feature $http_x_ksef_feature;
      proxy_set_header X-Test-System-Warning $http_x_test_system_warning;
      proxy_set_header X-Ms-Blob-Type $http_x_ms_blob_type;
      proxy_set_header X-Ms-Version $http_x_ms_version;
      proxy_set_header X-Ms-Date $http_x_ms_date;
      proxy_hide_header Set-Cookie; proxy_hide_header Set-Cookie2; proxy_hide_header Alt-Svc;
      proxy_hide_header Strict-Transport-Security; proxy_hide_header Content-Security-Policy;
      proxy_hide_header Access-Control-Allow-Origin; proxy_hide_header Access-Control-Allow-Credentials;
      proxy_hide_header Access-Control-Allow-Headers; proxy_hide_header Access-Control-Allow-Methods;
      proxy_hide_header Access-Control-Expose-Headers; proxy_hide_header Access-Control-Max-Age;
      proxy_hide_header Proxy-Authenticate; proxy_hide_header Trailer; proxy_hide_header Upgrade;
      add_header Cache-Control no-store always;
      add_header Vary origin always;
      add_header Content-Security-Policy "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'" always;
      add_header X-Content-Type-Options nosniff always;
      add_header Referrer-Policy no-referrer always;
      add_header X-Frame-Options DENY always;
      add_header Cross-Origin-Opener-Policy same-origin always;
      add_header Permissions-Policy "camera=(), microphone=(), geolocation=(), payment=()" always;
      limit_req zone=perclient burst=1000000000 nodelay;
EOF2
}
nginx_limit_zone() {
  [ "$1" = 1 ] || return 0
  echo '  limit_req_zone $binary_remote_addr zone=perclient:10m rate=1000000000r/s;'
}

# The equivalent of the relay: one path prefix to one fixed upstream, pooled
# keep-alive connections, bodies streamed both ways (no buffering), no access log.
proxy_conf() { # proxy_conf DIR PORT EQUIVALENT(0|1): writes DIR/nginx.conf
  local dir=$1 port=$2 equivalent=$3
  mkdir -p "$dir"
  {
  common_conf "$dir"
  cat <<EOF
http {
  access_log off;
  tcp_nodelay on;
  keepalive_requests 1000000;
  client_body_temp_path $dir/body; proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fcgi; uwsgi_temp_path $dir/uwsgi; scgi_temp_path $dir/scgi;
$(nginx_limit_zone "$equivalent")
  upstream ksef {
    server 127.0.0.1:$UP_PORT;
    keepalive 1024; keepalive_requests 1000000; keepalive_timeout 60s;
  }
  server {
    listen 127.0.0.1:$port;
    location /ksef/sim/v2/ {
      proxy_pass http://ksef/v2/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_buffer_size 32k; proxy_buffers 4 32k; proxy_busy_buffers_size 32k; # unused with buffering off, but must be consistent
$(nginx_header_work "$equivalent")
      proxy_read_timeout 60s;
      proxy_connect_timeout 10s;
    }
  }
}
EOF
  } >"$dir/nginx.conf"
}
