#!/usr/bin/env bash
# Compares builds (or flags) of cpxd and cpx-load in the batched mode, the builds taking
# turns, a fresh cpxd for every run, so that the slow drift of a shared machine falls on
# all of them alike. Prints, per run, new orders/s and the CPU each process spent per
# command acknowledged (user + system, warm-up included), then the mean of each build.
# CPU per command moves less than throughput when the machine's speed wanders, but
# compare builds measured in one invocation only.
#
# Usage: tools/load/compare_builds.sh ROUNDS NAME=CPXD,CPX_LOAD[,CPXD_FLAGS] ...
#   e.g. tools/load/compare_builds.sh 8 \
#          before=/tmp/old/cpxd,/tmp/old/cpx-load \
#          after=build/release/services/gateway/cpxd,build/release/tools/load/cpx-load
# Environment (optional): DURATION_S (5) WARMUP_S (1) CONNECTIONS (4) ACCOUNTS (8)
#   BATCH (100) CPXD_PORT (50171) CPXD_OPS_PORT (50172) OUT (build/compare-results)
set -euo pipefail
cd "$(dirname "$0")/../.."

if [[ $# -lt 2 ]]; then
  sed -n '2,16p' "$0" >&2
  exit 2
fi
rounds="$1"
shift
duration_s="${DURATION_S:-5}"
warmup_s="${WARMUP_S:-1}"
connections="${CONNECTIONS:-4}"
accounts="${ACCOUNTS:-8}"
batch="${BATCH:-100}"
port="${CPXD_PORT:-50171}"
ops_port="${CPXD_OPS_PORT:-50172}"
out="${OUT:-build/compare-results}"
mkdir -p "${out}"
key="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
ticks_per_s="$(getconf CLK_TCK)"

server_pid=""
cleanup() {
  if [[ -n "${server_pid}" ]]; then
    kill "${server_pid}" 2>/dev/null || true
    wait "${server_pid}" 2>/dev/null || true
  fi
}
trap cleanup EXIT

# cpu_ticks PID: user + system time of PID so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

results="${out}/runs.txt"
: >"${results}"
for round in $(seq "${rounds}"); do
  for spec in "$@"; do
    name="${spec%%=*}"
    IFS=, read -r cpxd load flags <<<"${spec#*=}"
    extra=()
    read -r -a extra <<<"${flags:-}"
    "${cpxd}" --listen "127.0.0.1:${port}" --operator-key "${key}" --ops_port "${ops_port}" \
      "${extra[@]}" >"${out}/${name}-cpxd.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 150); do
      (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null && break
      sleep 0.1
    done
    before="$(cpu_ticks "${server_pid}")"
    json="${out}/${name}-${round}.json"
    /usr/bin/time -f "%U %S" -o "${out}/time.txt" \
      timeout $((duration_s + warmup_s + 60)) "${load}" --target "127.0.0.1:${port}" \
      --mode batch --duration-s "${duration_s}" --warmup-s "${warmup_s}" \
      --connections "${connections}" --accounts "${accounts}" --batch "${batch}" \
      --operator-key "${key}" --json >"${json}"
    after="$(cpu_ticks "${server_pid}")"
    cleanup
    server_pid=""
    read -r load_user_s load_system_s <"${out}/time.txt"
    jq -r --arg name "${name}" --argjson ticks $((after - before)) \
      --argjson tps "${ticks_per_s}" --argjson lu "${load_user_s}" --argjson ls "${load_system_s}" \
      '[$name, .orders_per_s,
        ($ticks / $tps * 1e6 / .commands_acked_total),
        (($lu + $ls) * 1e6 / .commands_acked_total)] | @tsv' "${json}" |
      tee -a "${results}" |
      awk -F'\t' -v t="$(date -u +%H:%M:%S)" \
        '{ printf "%s  %-10s new orders/s %8d   CPU per command: cpxd %.2f us, cpx-load %.2f us\n", t, $1, $2, $3, $4 }'
  done
done
echo
awk -F'\t' '{ n[$1]++; o[$1] += $2; c[$1] += $3; l[$1] += $4 }
  END { for (k in n) printf "%-10s mean of %d: new orders/s %8d   CPU per command: cpxd %.3f us, cpx-load %.3f us\n",
        k, n[k], o[k] / n[k], c[k] / n[k], l[k] / n[k] }' "${results}"
