#!/usr/bin/env bash
# Builds the load tools (Release, in build/release) and measures, in one go:
#
#   1. the gRPC ceiling of this machine: cpx-raw-server, an OrderEntry service that
#      answers at once and checks nothing, driven by cpx-load in four modes (unary
#      calls, stream with one command per message, batched stream, and latency at a
#      fixed offered rate);
#   2. cpxd, the exchange, in the same four modes (run_cpxd below), and cpxd's share of
#      the ceiling, against the issue's targets.
#
# Both run in the same invocation so that they see the same machine, load and build.
# Every run is bounded (cpx-load stops by itself; timeout guards it) and every server
# is killed when the script ends, however it ends. Results go to one folder as JSON.
#
# Usage: tools/load/run_load_bench.sh
# Environment (all optional):
#   DURATION_S (5)  WARMUP_S (1)  CONNECTIONS (4)  ACCOUNTS (8)  BATCH (100)
#   RATE (5000)     RAW_PORT (50161)  CPXD_PORT (50171)  CPXD_OPS_PORT (50172)
#   BUILD_DIR (build/release)  OUT (BUILD_DIR/load-results)
#   CPXD (BUILD_DIR/services/gateway/cpxd)  OPERATOR_KEY (random)
#   RAW_ONLY (0; 1 measures the raw server only and neither builds nor runs cpxd)
#   DURABLE (0; 1 runs cpxd with its journal on a fresh PostgreSQL database, on the
#            server CPX_DATABASE_URL names or else the private cluster of
#            scripts/pg.sh, so that every answer waits for its commit; the database is
#            dropped at the end)   INFLIGHT (per connection, see cpx-load --help; unset,
#            cpx-load's defaults: 32 calls or commands, and in batch mode two batches per
#            stream, one on its way while the reports of the other come back)
#   CPXD_FLAGS (extra flags for cpxd, e.g. "--dispatch=sequencer")
set -euo pipefail
cd "$(dirname "$0")/../.."

duration_s="${DURATION_S:-5}"
warmup_s="${WARMUP_S:-1}"
connections="${CONNECTIONS:-4}"
accounts="${ACCOUNTS:-8}"
batch="${BATCH:-100}"
rate="${RATE:-5000}"
raw_only="${RAW_ONLY:-0}"
durable="${DURABLE:-0}"
inflight="${INFLIGHT:-}"
raw_port="${RAW_PORT:-50161}"
cpxd_port="${CPXD_PORT:-50171}"
cpxd_ops_port="${CPXD_OPS_PORT:-50172}"
build="${BUILD_DIR:-build/release}"
out="${OUT:-${build}/load-results}"
cpxd="${CPXD:-${build}/services/gateway/cpxd}"
operator_key="${OPERATOR_KEY:-load-bench-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')}"
modes=(unary stream batch latency)

command -v jq >/dev/null || { echo "run_load_bench.sh needs jq (apt-get install jq)" >&2; exit 1; }

cmake -S . -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
targets=(cpx-load cpx-raw-server)
# cpxd is built too once its target exists.
if [[ "${raw_only}" != 1 ]] && ninja -C "${build}" -t targets all 2>/dev/null | grep -q '^cpxd:'; then
  targets+=(cpxd)
fi
ninja -C "${build}" -j2 "${targets[@]}" >/dev/null
load="${build}/tools/load/cpx-load"
raw_server="${build}/tools/load/cpx-raw-server"
mkdir -p "${out}"

# Servers started by this script, killed on exit.
server_pids=()
cleanup() {
  for pid in "${server_pids[@]}"; do
    kill "${pid}" 2>/dev/null || true
  done
  for pid in "${server_pids[@]}"; do
    wait "${pid}" 2>/dev/null || true
  done
  server_pids=()
}
bench_db=""
bench_server_url=""
drop_bench_db() {
  if [[ -n "${bench_db}" ]]; then
    psql "${bench_server_url}" -qc "DROP DATABASE IF EXISTS ${bench_db} WITH (FORCE)" || true
    bench_db=""
  fi
}
trap 'cleanup; drop_bench_db' EXIT
trap 'exit 130' INT TERM

# start_server NAME PORT COMMAND...: starts a server in the background, logging to
# OUT/NAME.log, and waits (at most 15 s) until it listens on PORT.
start_server() {
  local name="$1" port="$2"
  shift 2
  if ss -ltnH "sport = :${port}" | grep -q .; then
    echo "port ${port} is already in use; set RAW_PORT or CPXD_PORT" >&2
    return 1
  fi
  "$@" >"${out}/${name}.log" 2>&1 &
  local pid=$!
  server_pids+=("${pid}")
  for _ in $(seq 150); do
    if ss -ltnH "sport = :${port}" | grep -q .; then
      return 0
    fi
    if ! kill -0 "${pid}" 2>/dev/null; then
      echo "${name} exited at start-up; see ${out}/${name}.log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "${name} did not listen on port ${port} within 15 s" >&2
  return 1
}

stop_servers() {
  cleanup
}

# metric NAME: the sum of cpxd's metric NAME (all its labels) from its /metrics page.
metric() {
  local page
  page="$(exec 3<>"/dev/tcp/127.0.0.1/${cpxd_ops_port}" &&
    printf 'GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 && cat <&3)" || return 1
  awk -v name="$1" '$1 == name || index($1, name "{") == 1 { sum += $2 } END { printf "%d\n", sum }' \
    <<<"${page}"
}

# settle LABEL: waits (at most 30 s) until the server has finished what the last mode left
# behind, so that the next mode does not measure it. A mode's streams end with it, and
# cpxd cancels every order they left resting (cancel on disconnect): after a batched run
# that is hundreds of thousands of orders. cpxd has settled when its queues are empty and
# it has applied nothing new for half a second. The raw server keeps nothing.
settle() {
  if [[ "$1" != cpxd ]]; then
    sleep 1
    return 0
  fi
  local previous=-1 applied depth
  for _ in $(seq 60); do
    applied="$(metric cpx_requests_applied)" || { sleep 0.5; continue; }
    depth="$(metric cpx_queue_depth)" || { sleep 0.5; continue; }
    if [[ "${depth}" == 0 && "${applied}" == "${previous}" ]]; then
      return 0
    fi
    previous="${applied}"
    sleep 0.5
  done
  echo "   cpxd did not settle within 30 s; measuring anyway" >&2
}

# run_modes LABEL PORT [cpx-load flags...]: runs every mode against the server on PORT,
# saving OUT/LABEL-MODE.json.
run_modes() {
  local label="$1" port="$2"
  shift 2
  local limit_s=$(( ${duration_s%.*} + ${warmup_s%.*} + 60 ))
  local inflight_flag=()
  if [[ -n "${inflight}" ]]; then
    inflight_flag=(--inflight "${inflight}")
  fi
  for mode in "${modes[@]}"; do
    settle "${label}"
    echo "   ${label}: ${mode}" >&2
    timeout "${limit_s}" "${load}" --target "127.0.0.1:${port}" --mode "${mode}" \
      --duration-s "${duration_s}" --warmup-s "${warmup_s}" --connections "${connections}" \
      --accounts "${accounts}" --batch "${batch}" --rate "${rate}" "${inflight_flag[@]}" \
      --json "$@" \
      >"${out}/${label}-${mode}.json" || true
    if ! jq -e . "${out}/${label}-${mode}.json" >/dev/null 2>&1; then
      echo '{"error":"cpx-load gave no result (timeout or crash)"}' >"${out}/${label}-${mode}.json"
    fi
  done
}

# print_table LABEL: one line per mode of LABEL's results.
print_table() {
  local label="$1"
  echo
  echo "== ${label}"
  printf '%-8s %11s %11s %11s %9s %9s %9s %9s %8s %7s\n' mode orders/s commands/s \
    messages/s p50_us p99_us p99.9_us max_us rejects errors
  for mode in "${modes[@]}"; do
    jq -r --arg mode "${mode}" '
      if .error then "\($mode)  ERROR: \(.error)" else
      [$mode, .orders_per_s, .commands_per_s, .messages_per_s,
       (.latency_ns.p50 / 1000 | floor), (.latency_ns.p99 / 1000 | floor),
       (.latency_ns.p999 / 1000 | floor), (.latency_ns.max / 1000 | floor),
       (([.order_rejects[]] + [.cancel_rejects[]]) | add // 0),
       (.errors + .lost_commands + .unmatched_reports)]
      | @tsv end' "${out}/${label}-${mode}.json" |
      awk -F'\t' 'NF == 1 { print; next }
        { printf "%-8s %11s %11s %11s %9s %9s %9s %9s %8s %7s\n",
                 $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 }'
  done
}

# value LABEL MODE JQ_EXPRESSION
value() {
  jq -r "if .error then 0 else $3 end" "${out}/$1-$2.json"
}

# The issue's targets: cpxd at least 50% of the raw ceiling one order per message,
# unary and streaming; batched entry at least 300 thousand orders per second; p99 under
# 2 ms at the fixed offered rate.
print_ratios() {
  echo
  echo "== cpxd as a share of the raw gRPC ceiling (same machine, same run)"
  local raw_unary cpxd_unary raw_stream cpxd_stream cpxd_batch raw_batch cpxd_p99 raw_p99
  raw_unary=$(value raw unary .commands_per_s)
  cpxd_unary=$(value cpxd unary .commands_per_s)
  raw_stream=$(value raw stream .messages_per_s)
  cpxd_stream=$(value cpxd stream .messages_per_s)
  raw_batch=$(value raw batch .orders_per_s)
  cpxd_batch=$(value cpxd batch .orders_per_s)
  raw_p99=$(value raw latency .latency_ns.p99)
  cpxd_p99=$(value cpxd latency .latency_ns.p99)
  awk -v ru="${raw_unary}" -v cu="${cpxd_unary}" -v rs="${raw_stream}" -v cs="${cpxd_stream}" \
      -v rb="${raw_batch}" -v cb="${cpxd_batch}" -v rp="${raw_p99}" -v cp="${cpxd_p99}" \
      -v rate="${rate}" 'function pct(a, b) { return b > 0 ? 100 * a / b : 0 }
    function verdict(ok) { return ok ? "meets target" : "MISSES target" }
    BEGIN {
      printf "unary calls/s        cpxd %8d  raw %8d  %5.1f%%  (target >= 50%%: %s)\n",
             cu, ru, pct(cu, ru), verdict(pct(cu, ru) >= 50)
      printf "stream messages/s    cpxd %8d  raw %8d  %5.1f%%  (target >= 50%%: %s)\n",
             cs, rs, pct(cs, rs), verdict(pct(cs, rs) >= 50)
      printf "batched orders/s     cpxd %8d  raw %8d  %5.1f%%  (target >= 300000: %s)\n",
             cb, rb, pct(cb, rb), verdict(cb >= 300000)
      printf "p99 at %d orders/s  cpxd %6.0f us  raw %6.0f us          (target < 2000 us: %s)\n",
             rate, cp / 1000, rp / 1000, verdict(cp > 0 && cp < 2000000)
    }'
}

# ---------------------------------------------------------------------------------------
# run_cpxd: the exchange itself, in the same modes, then its share of the ceiling.
# cpxd is started with an operator key of our choosing; cpx-load uses it to create the
# accounts, money, capacity and instrument the run trades.
# ---------------------------------------------------------------------------------------
run_cpxd() {
  if [[ "${raw_only}" == 1 ]]; then
    echo
    echo "== cpxd: skipped (RAW_ONLY=1)"
    return 0
  fi
  if [[ ! -x "${cpxd}" ]]; then
    echo
    echo "== cpxd: skipped, ${cpxd} is not built yet (services/gateway)"
    return 0
  fi
  local database=()
  if [[ "${durable}" == 1 ]]; then
    local server_url="${CPX_DATABASE_URL:-}"
    if [[ -z "${server_url}" ]]; then
      server_url="$(scripts/pg.sh start)"
    fi
    bench_db="cpx_load_$$"
    psql "${server_url}" -qc "CREATE DATABASE ${bench_db}"
    bench_server_url="${server_url}"
    bench_url="$(sed -E "s#^(postgres(ql)?://[^/?]*/)[^?]*#\1${bench_db}#" <<<"${server_url}")"
    "${cpxd}" migrate --database_url="${bench_url}" >/dev/null
    database=(--database_url "${bench_url}")
    echo "== cpxd with its journal on ${bench_db} (every answer waits for its commit)" >&2
  fi
  echo "== cpxd on 127.0.0.1:${cpxd_port}" >&2
  local extra=()
  read -r -a extra <<<"${CPXD_FLAGS:-}"
  start_server cpxd "${cpxd_port}" "${cpxd}" --listen "127.0.0.1:${cpxd_port}" \
    --operator-key "${operator_key}" --ops_port "${cpxd_ops_port}" "${database[@]}" "${extra[@]}"
  run_modes cpxd "${cpxd_port}" --operator-key "${operator_key}"
  stop_servers
  print_table cpxd
  print_ratios
}

{
  echo "== date"; date -u
  echo "== nproc"; nproc
  echo "== load average before"; cat /proc/loadavg
} >"${out}/machine.txt"

echo "== cpx-raw-server on 127.0.0.1:${raw_port} (${duration_s} s per mode after ${warmup_s} s warm-up)" >&2
start_server raw "${raw_port}" "${raw_server}" --listen "127.0.0.1:${raw_port}"
run_modes raw "${raw_port}" --raw
stop_servers
print_table raw

run_cpxd

echo "== load average after" >>"${out}/machine.txt"
cat /proc/loadavg >>"${out}/machine.txt"
echo
echo "load average before and after: $(sed -n 6p "${out}/machine.txt") / $(cat /proc/loadavg)"
echo "results in ${out}"
