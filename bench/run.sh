#!/usr/bin/env bash
# The gateway benchmark (a benchmark, not a test): the direct upstream, nginx, HAProxy and
# certgate side by side in one run, with the same certificates, upstream, token and load.
#
#   bash bench/run.sh            # installs what is missing (apt, cargo), builds, measures
#   DURATION=20 bash bench/run.sh
#
# Every proxy terminates mTLS (client certificate required, verified against the same CA),
# checks the same bearer token, and forwards to the same upstream over keep-alive HTTP/1.1.
# certgate additionally does certificate-token binding, a rate limit and a quota per key.
# Results: bench/results/<date>.md (a table) and .json (raw oha output).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
DURATION="${DURATION:-10}"
ROUNDS="${ROUNDS:-3}"
CONNECTIONS="${CONNECTIONS:-16 64}"
HANDSHAKES="${HANDSHAKES:-2000}"
SEED_CERTS="${SEED_CERTS:-10000}"
SEED_TOKENS="${SEED_TOKENS:-100000}"
work="$(mktemp -d /tmp/certgate-bench.XXXXXX)"
results="$here/bench/results"
mkdir -p "$results"
stamp="$(date -u +%Y-%m-%dT%H%M%SZ)"
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done
  nginx -c "$work/nginx.conf" -s stop 2>/dev/null || true
  nginx -c "$work/upstream.conf" -s stop 2>/dev/null || true
  [ -f "$work/haproxy.pid" ] && kill "$(cat "$work/haproxy.pid")" 2>/dev/null || true
}
trap cleanup EXIT

# --- tools -------------------------------------------------------------------------------
need_apt=()
command -v nginx >/dev/null || need_apt+=(nginx)
command -v haproxy >/dev/null || need_apt+=(haproxy)
command -v ab >/dev/null || need_apt+=(apache2-utils)
command -v openssl >/dev/null || need_apt+=(openssl)
command -v jq >/dev/null || need_apt+=(jq)
if [ "${#need_apt[@]}" -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
python3 -c 'import cryptography' 2>/dev/null || pip install -q cryptography
if ! oha --version 2>/dev/null | grep -qE '^oha 1\.'; then
  cargo install oha --locked --version '^1.9' >/dev/null
fi
# CERTGATE_BIN: another build of certgate (the `profiling` profile keeps symbols for PERF=1).
CERTGATE_BIN="${CERTGATE_BIN:-$here/target/release/certgate}"
[ -x "$CERTGATE_BIN" ] || bash scripts/build.sh
# BASELINE_BIN: an earlier build of certgate, measured as "certgate-baseline" in the same
# interleaved rounds with the same API, key and load (a change's cost per request, side by side).
BASELINE_BIN="${BASELINE_BIN:-}"
[ -z "$BASELINE_BIN" ] || BASELINE_BIN="$(realpath "$BASELINE_BIN")"
# CERTGATE_ARGS / BASELINE_ARGS: extra flags for each certgate; BASELINE_LABEL: the second one's
# name in the table. The access log's cost, for example (the same build twice, one not logging):
#   BASELINE_BIN=target/release/certgate BASELINE_ARGS="--access-log off" BASELINE_LABEL=certgate-log-off bash bench/run.sh
CERTGATE_ARGS="${CERTGATE_ARGS:-}"
BASELINE_ARGS="${BASELINE_ARGS:-}"
BASE_LABEL="${BASELINE_LABEL:-certgate-baseline}"
# CERTGATE_OUT: where both certgates' stdout (the access log, ~250 bytes a request) goes;
# by default a file in the work directory.
CERTGATE_OUT="${CERTGATE_OUT:-}"

# --- certificates and token (openssl; the same for every proxy) ------------------------
cd "$work"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=bench CA" \
  -keyout ca.key -out ca.pem -addext basicConstraints=critical,CA:TRUE 2>/dev/null
issue() { # name cn ext
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" -keyout "$1.key" -out "$1.csr" 2>/dev/null
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
issue server localhost $'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth'
issue client "bench client" 'extendedKeyUsage=clientAuth'
cat server.pem server.key > server-with-key.pem
cat client.pem client.key > client-with-key.pem
TOKEN="cgk_bench$(openssl rand -hex 24)"   # nginx and HAProxy compare this literal

# --- upstream: its own nginx, answering 200 from memory on plain HTTP --------------------
UP=18080; NGX=18443; HAP=18444; CG=18445; CGP=18446; BCG=18447; BCGP=18448
cat > upstream.conf <<NGINX
worker_processes 1;
pid $work/upstream.pid;
error_log $work/upstream-error.log warn;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:$UP; keepalive_requests 1000000; location / { return 200 "ok\n"; } } }
NGINX
nginx -c "$work/upstream.conf"
cat > nginx.conf <<NGINX
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  upstream backend { server 127.0.0.1:$UP; keepalive 128; }
  server {
    listen 127.0.0.1:$NGX ssl;
    ssl_certificate $work/server.pem; ssl_certificate_key $work/server.key;
    ssl_client_certificate $work/ca.pem; ssl_verify_client on;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {
      if (\$http_authorization != "Bearer $TOKEN") { return 401; }
      proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection "";
    }
  }
}
NGINX
nginx -c "$work/nginx.conf"
cat > haproxy.cfg <<HAPROXY
global
  nbthread 2
  maxconn 8192
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend mtls
  bind 127.0.0.1:$HAP ssl crt $work/server-with-key.pem ca-file $work/ca.pem verify required
  http-request deny deny_status 401 unless { req.hdr(authorization) -m str "Bearer $TOKEN" }
  default_backend up
backend up
  http-reuse always
  server s1 127.0.0.1:$UP
HAPROXY
haproxy -f haproxy.cfg -D -p "$work/haproxy.pid"

ADMIN_TOKEN="bench-admin-token-$(openssl rand -hex 8)"
start_certgate() {
  # CERTGATE_TOKIO_WORKERS: certgate's runtime threads only (oha is a tokio program too).
  env ${CERTGATE_TOKIO_WORKERS:+TOKIO_WORKER_THREADS=$CERTGATE_TOKIO_WORKERS} "$CERTGATE_BIN" serve --data-dir "$work/cg" --portal-addr 127.0.0.1:$CGP --gateway-addr 127.0.0.1:$CG \
    --tls-cert server.pem --tls-key server.key --admin-token "$ADMIN_TOKEN" $CERTGATE_ARGS >>"${CERTGATE_OUT:-$work/certgate.out}" 2>>"$work/certgate.err" &
  CG_PID=$!
  pids+=("$CG_PID")
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$CGP/readyz" >/dev/null && break; sleep 0.1; done
}
start_certgate
api() { curl -sf -H "Authorization: Bearer $ADMIN_TOKEN" -H 'content-type: application/json' "$@"; }
pem() { curl -sf -H "Authorization: Bearer $ADMIN_TOKEN" -H 'content-type: application/x-pem-file' "$@"; }
# The certificates, the API and a bound key with limits on the certgate at this portal port.
setup_certgate() { # portal_port; sets CLIENT_ID CA_ID API_ID TOKEN_OUT
  CLIENT_ID=$(pem -X POST --data-binary @client.pem "http://127.0.0.1:$1/api/v1/certificates" | jq -r .id)
  CA_ID=$(pem -X POST --data-binary @ca.pem "http://127.0.0.1:$1/api/v1/certificates" | jq -r .id)
  API_ID=$(api -X POST "http://127.0.0.1:$1/api/v1/apis" -d "{\"name\":\"bench\",\"listen_path\":\"/\",\"upstream_url\":\"http://127.0.0.1:$UP/\",\"auth\":\"auth_token\",\"mtls\":{\"required\":true,\"allowed_certificates\":[\"$CA_ID\"]}}" | jq -r .id)
  TOKEN_OUT=$(api -X POST "http://127.0.0.1:$1/api/v1/keys" -d "{\"apis\":[\"$API_ID\"],\"bound_certificates\":[\"$CLIENT_ID\"],\"rate\":{\"requests\":1000000,\"per_seconds\":1},\"quota\":{\"max\":1000000000,\"period\":\"month\"}}" | jq -r .token)
}
BASE_PID=""
if [ -n "$BASELINE_BIN" ]; then
  "$BASELINE_BIN" serve --data-dir "$work/base" --portal-addr 127.0.0.1:$BCGP --gateway-addr 127.0.0.1:$BCG \
    --tls-cert server.pem --tls-key server.key --admin-token "$ADMIN_TOKEN" $BASELINE_ARGS >>"${CERTGATE_OUT:-$work/baseline.out}" 2>>"$work/baseline.err" &
  BASE_PID=$!
  pids+=("$BASE_PID")
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$BCGP/readyz" >/dev/null && break; sleep 0.1; done
  setup_certgate "$BCGP"
  BASE_TOKEN=$TOKEN_OUT
fi
setup_certgate "$CGP"
CG_TOKEN=$TOKEN_OUT

# --- measurement helpers --------------------------------------------------------------------
cpu_ticks() { local t=0; for p in "$@"; do [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo "$t"; }
rss_kib() { local r=0; for p in "$@"; do [ -r "/proc/$p/status" ] && r=$((r + $(awk '/VmHWM/ {print $2}' "/proc/$p/status"))); done; echo "$r"; }
HZ=$(getconf CLK_TCK)
# The proxy's processes only (the upstream nginx is another master).
tree_pids() { local master; master=$(cat "$1"); echo "$master $(pgrep -P "$master" | tr '\n' ' ')"; }
rows=()
# One keep-alive run: appends "label c rps p50 p99 cpu_us ok total" to keepalive.txt.
keepalive() { # label url token connections pids...
  local label=$1 url=$2 token=$3 c=$4; shift 4
  local procs="$*"
  local before; before=$(cpu_ticks $procs)
  local tls=(); [[ "$url" == https* ]] && tls=(--cacert ca.pem --cert client.pem --key client.key)
  oha -z "${DURATION}s" -c "$c" --no-tui --output-format json "${tls[@]}" -H "Authorization: Bearer $token" "$url" > "oha-$label-$c.json"
  local after; after=$(cpu_ticks $procs)
  local rps p50 p99 ok total
  rps=$(jq '.summary.requestsPerSec' "oha-$label-$c.json")
  p50=$(jq '.latencyPercentiles.p50 * 1000' "oha-$label-$c.json")
  p99=$(jq '.latencyPercentiles.p99 * 1000' "oha-$label-$c.json")
  total=$(jq '[.statusCodeDistribution[]] | add // 0' "oha-$label-$c.json")
  ok=$(jq '.statusCodeDistribution."200" // 0' "oha-$label-$c.json")
  local cpu_us="-"
  [ -n "$procs" ] && [ "$total" -gt 0 ] && cpu_us=$(awk -v t=$((after - before)) -v hz="$HZ" -v n="$total" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
  echo "$label $c $rps $p50 $p99 $cpu_us $ok $total" >> keepalive.txt
}

# The row of the median run (by req/s) of label at c connections, with the spread of all runs.
keepalive_row() { # label connections
  awk -v l="$1" -v c="$2" '$1 == l && $2 == c' keepalive.txt | sort -k3 -g | awk -v l="$1" -v c="$2" '
    { line[NR] = $0; rps[NR] = $3 }
    END {
      if (NR == 0) exit
      split(line[int((NR + 1) / 2)], m, " ")
      printf "| %s | keep-alive c=%s | %.0f (%.0f-%.0f) | %.2f | %.2f | %s | %s/%s |\n", l, c, m[3], rps[1], rps[NR], m[4], m[5], m[6], m[7], m[8]
    }'
}

handshakes() { # label url token pids...
  local label=$1 url=$2 token=$3; shift 3
  local procs="$*"
  local before; before=$(cpu_ticks $procs)
  local start end
  start=$(date +%s.%N)
  ab -q -n "$HANDSHAKES" -c 16 -E client-with-key.pem -H "Authorization: Bearer $token" "$url" > "ab-$label.txt" 2>&1 || true
  end=$(date +%s.%N)
  local after; after=$(cpu_ticks $procs)
  local done_n; done_n=$(awk '/Complete requests/ {print $3}' "ab-$label.txt")
  local failed; failed=$(awk '/Failed requests/ {print $3}' "ab-$label.txt")
  local cps; cps=$(awk -v n="${done_n:-0}" -v s="$start" -v e="$end" 'BEGIN { printf "%.0f", n / (e - s) }')
  local hs_us; hs_us=$(awk -v t=$((after - before)) -v hz="$HZ" -v n="${done_n:-1}" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
  rows+=("| $label | new TLS connection per request (ab) | $cps conn/s | - | - | $hs_us | failed ${failed:-?} |")
}

# Keep-alive load in ROUNDS rounds, the targets interleaved within each round, so that a
# noisy moment on this shared machine hits every target rather than one; the table shows
# the median run and the range.
NGX_PIDS=$(tree_pids "$work/nginx.pid"); HAP_PIDS=$(tree_pids "$work/haproxy.pid")
: > keepalive.txt
for round in $(seq "$ROUNDS"); do
  for c in $CONNECTIONS; do
    keepalive direct "http://127.0.0.1:$UP/" none "$c"
    keepalive nginx "https://localhost:$NGX/" "$TOKEN" "$c" $NGX_PIDS
    keepalive haproxy "https://localhost:$HAP/" "$TOKEN" "$c" $HAP_PIDS
    keepalive certgate "https://localhost:$CG/" "$CG_TOKEN" "$c" "$CG_PID"
    [ -z "$BASE_PID" ] || keepalive "$BASE_LABEL" "https://localhost:$BCG/" "$BASE_TOKEN" "$c" "$BASE_PID"
  done
done
for label in direct nginx haproxy certgate ${BASE_PID:+$BASE_LABEL}; do
  for c in $CONNECTIONS; do rows+=("$(keepalive_row "$label" "$c")"); done
done
handshakes nginx "https://localhost:$NGX/" "$TOKEN" $NGX_PIDS
handshakes haproxy "https://localhost:$HAP/" "$TOKEN" $HAP_PIDS
handshakes certgate "https://localhost:$CG/" "$CG_TOKEN" "$CG_PID"
[ -z "$BASE_PID" ] || handshakes "$BASE_LABEL" "https://localhost:$BCG/" "$BASE_TOKEN" "$BASE_PID"
rows+=("| nginx | peak RSS | $(( $(rss_kib $NGX_PIDS) / 1024 )) MiB | | | | |")
rows+=("| haproxy | peak RSS | $(( $(rss_kib $HAP_PIDS) / 1024 )) MiB | | | | |")
rows+=("| certgate | peak RSS | $(( $(rss_kib "$CG_PID") / 1024 )) MiB | | | | |")
# Lines the access log dropped under load (a dropped line costs nothing: it would flatter "on").
dropped() { curl -sf -H "Authorization: Bearer $ADMIN_TOKEN" "http://127.0.0.1:$1/metrics" | awk '/^certgate_access_log_dropped_total/ {print $2}'; }
rows+=("| certgate | access-log lines dropped | $(dropped "$CGP") | | | | |")

# PERF=1: system calls per keep-alive request of each proxy (strace -c; slows the proxy while
# attached, so it runs apart from the timed rows).
syscalls() { # label url token pids...
  local label=$1 url=$2 token=$3; shift 3
  [ "${PERF:-0}" = 1 ] && command -v strace >/dev/null || return 0
  local attach=(); for p in "$@"; do attach+=(-p "$p"); done
  strace -f -c -q -o "strace-$label.txt" "${attach[@]}" & local strace_pid=$!
  sleep 1
  oha -n 5000 -c 16 --no-tui --cacert ca.pem --cert client.pem --key client.key -H "Authorization: Bearer $token" "$url" >/dev/null
  kill -INT "$strace_pid"; wait "$strace_pid" 2>/dev/null || true
  local total; total=$(awk '$NF == "total" {print $4}' "strace-$label.txt")
  local top; top=$(awk '$1 ~ /^[0-9.]+$/ && $NF != "total" {print $4, $NF}' "strace-$label.txt" | sort -rn | head -5 | awk '{printf "%s %.2f, ", $2, $1 / 5000}')
  rows+=("| $label | system calls per keep-alive request (strace -c) | $(awk -v t="${total:-0}" 'BEGIN { printf "%.2f", t / 5000 }') | | | | ${top%, } |")
}

syscalls nginx "https://localhost:$NGX/" "$TOKEN" $(tree_pids "$work/nginx.pid")
syscalls haproxy "https://localhost:$HAP/" "$TOKEN" $(tree_pids "$work/haproxy.pid")
syscalls certgate "https://localhost:$CG/" "$CG_TOKEN" "$CG_PID"

# PERF=1: where certgate's time goes under keep-alive load (needs a build with symbols).
if [ "${PERF:-0}" = 1 ] && command -v perf >/dev/null; then
  perf record -F 1999 -g -o "$work/perf.data" -p "$CG_PID" -- sleep "$DURATION" 2>/dev/null &
  perf_pid=$!
  oha -z "${DURATION}s" -c 16 --no-tui --cacert ca.pem --cert client.pem --key client.key \
    -H "Authorization: Bearer $CG_TOKEN" "https://localhost:$CG/" >/dev/null
  wait "$perf_pid" || true
  perf report -i "$work/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null | grep -v '^$' | head -80 > "$results/$stamp-perf.txt" || true
  perf report -i "$work/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -20 >> "$results/$stamp-perf.txt" || true
fi

# --- certgate memory with many certificates and tokens loaded -------------------------------
seed_memory() {
  local base_rss; base_rss=$(awk '/VmRSS/ {print $2}' "/proc/$CG_PID/status")
  python3 "$here/bench/seed.py" --portal "http://127.0.0.1:$CGP" --admin-token "$ADMIN_TOKEN" --api "$API_ID" \
    --certificates "$SEED_CERTS" --tokens "$SEED_TOKENS" > seed.txt
  local rss; rss=$(awk '/VmRSS/ {print $2}' "/proc/$CG_PID/status")
  rows+=("| certgate | RSS after loading $SEED_CERTS certificates and $SEED_TOKENS tokens over REST | $((rss / 1024)) MiB (before: $((base_rss / 1024)) MiB) | | | | $(tail -1 seed.txt) |")
  # The same store after a restart: what a gateway holding this much costs when it starts.
  kill -TERM "$CG_PID"; wait "$CG_PID" 2>/dev/null || true
  local started; started=$(date +%s.%N)
  start_certgate
  local ready; ready=$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
  oha -n 2000 -c 16 --no-tui --cacert ca.pem --cert client.pem --key client.key \
    -H "Authorization: Bearer $CG_TOKEN" "https://localhost:$CG/" >/dev/null
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$CG_PID/status")
  rows+=("| certgate | RSS after a restart with them (and 2000 requests) | $((rss / 1024)) MiB | | | | ready in $ready s |")
}
[ "$SEED_TOKENS" -gt 0 ] && seed_memory

{
  echo "# certgate gateway benchmark, $stamp"
  echo
  echo "Machine: $(nproc) cores ($(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | xargs)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo). Generator, upstream and proxy share these cores."
  echo "Load: oha $(oha --version | awk '{print $2}') for ${DURATION} s per run, $ROUNDS rounds with the targets interleaved (median run shown, range of req/s in brackets); ab -E for full handshakes ($HANDSHAKES requests, 16 concurrent). CPU µs per request = proxy CPU time / requests answered."
  echo
  [ -z "$BASE_PID" ] || echo "$BASE_LABEL: $BASELINE_BIN ${BASELINE_ARGS:+$BASELINE_ARGS }($("$BASELINE_BIN" --version 2>/dev/null || echo 'version unknown'))."
  [ -z "$CERTGATE_ARGS" ] || echo "certgate flags: $CERTGATE_ARGS."
  [ -z "$BASE_PID" ] || echo
  echo "| target | load | req/s | p50 ms | p99 ms | CPU µs/req | 200s / answered |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} | tee "$results/$stamp.md"
cp keepalive.txt "$results/$stamp-keepalive.txt" 2>/dev/null || true
