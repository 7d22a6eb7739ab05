#!/usr/bin/env bash
# Builds the benchmark programs in build/bench and runs each of them once, with the
# arguments docs/BENCHMARKS.md reports, saving every output (and a description of the
# machine) in one folder. Each program ends by itself in under two minutes; the timeout
# is only a guard against a machine so overloaded that the numbers would mean nothing.
#
# Usage: tools/bench/run_benchmarks.sh [output folder, default build/bench/results]
set -euo pipefail
cd "$(dirname "$0")/../.."

out="${1:-build/bench/results}"
mkdir -p "${out}"
cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build/bench -j2 cpx-bench-engine cpx-bench-latency cpx-bench-memory cpx-bench-queues \
  >/dev/null
bench=build/bench/tools/bench

# The load average, and the share of CPU time that all processes (ours included) kept
# busy during the run, are recorded with the results: on a shared machine they explain
# most of the noise.
cpu_busy() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8, $5 + $6}' /proc/stat; }
{
  echo "== date"; date -u
  echo "== lscpu"; lscpu
  echo "== nproc"; nproc
  echo "== free -h"; free -h
  echo "== compiler"; c++ --version | head -1
  echo "== load average before"; cat /proc/loadavg
} >"${out}/machine.txt"
read -r busy0 idle0 < <(cpu_busy)

run() {
  local name="$1"
  shift
  echo "== ${name}: $*" | tee "${out}/${name}.txt"
  echo "   load average before: $(cat /proc/loadavg)" | tee -a "${out}/${name}.txt"
  timeout 300 "$@" 2>&1 | tee -a "${out}/${name}.txt"
}

run memory "${bench}/cpx-bench-memory"
run engine "${bench}/cpx-bench-engine" --benchmark_repetitions=5 \
  --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true \
  --benchmark_out="${out}/engine.json" --benchmark_out_format=json
run latency "${bench}/cpx-bench-latency"
run latency-1m "${bench}/cpx-bench-latency" --rate=1000000
run queues "${bench}/cpx-bench-queues" --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true

read -r busy1 idle1 < <(cpu_busy)
busy_percent=$(( 100 * (busy1 - busy0) / (busy1 - busy0 + idle1 - idle0) ))
{
  echo "== load average after"; cat /proc/loadavg
  echo "== share of CPU time busy during the run (all processes): ${busy_percent}%"
} >>"${out}/machine.txt"
echo "results in ${out}"
