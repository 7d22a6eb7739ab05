#!/usr/bin/env bash
# Sets everything up and runs every test of cpx: the optimised build, then the same
# tests under AddressSanitizer + UndefinedBehaviorSanitizer, then the concurrency
# tests under ThreadSanitizer. The database tests use PostgreSQL: CPX_DATABASE_URL's
# server, or else the private cluster (scripts/pg.sh), started for the run.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

# The database tests need a PostgreSQL server; each makes a fresh database on it and
# drops it afterwards. CPX_DATABASE_URL names the server; without it the private cluster
# (scripts/pg.sh) serves them, and is stopped at exit unless it was running before
# (scripts/run.sh may be using it).
if [ -z "${CPX_DATABASE_URL:-}" ]; then
  if ! scripts/pg.sh status; then
    trap 'scripts/pg.sh stop' EXIT
  fi
  CPX_DATABASE_URL="$(scripts/pg.sh start)"
  export CPX_DATABASE_URL
fi

jobs="$(nproc)"
passed=0
failed=0

# run_suite NAME BUILD_DIR TEST_SCALE CTEST_FILTER "NINJA_TARGETS" CMAKE_ARGS...
run_suite() {
  local name="$1" dir="$2" scale="$3" filter="$4" targets="$5"
  shift 5
  echo "== ${name}: configure and build (${dir})"
  cmake -S . -B "${dir}" -G Ninja "$@" >/dev/null
  # shellcheck disable=SC2086
  ninja -C "${dir}" -j "${jobs}" ${targets} >/dev/null
  echo "== ${name}: test"
  local log="${dir}/ctest.log"
  local status=0
  # A test that hangs (a lost wake-up, a deadlock) fails after 20 minutes instead of
  # holding the run; the slowest test takes about a minute.
  (cd "${dir}" && CPX_TEST_SCALE="${scale}" ctest --output-on-failure --timeout 1200 -j "${jobs}" ${filter:+-R "${filter}"}) \
    | tee "${log}" || status=$?
  local line
  line="$(grep -E '[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "${log}" | tail -1 || true)"
  if [ -n "${line}" ]; then
    local total bad
    bad="$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"${line}")"
    total="$(sed -E 's/.* tests failed out of ([0-9]+).*/\1/' <<<"${line}")"
    passed=$((passed + total - bad))
    failed=$((failed + bad))
  elif [ "${status}" -ne 0 ]; then
    failed=$((failed + 1))
  fi
  return 0
}

# Formatting is part of the contract: every C++ file matches .clang-format.
echo "== format: clang-format --dry-run"
if git ls-files -z '*.cpp' '*.hpp' | xargs -0 clang-format --dry-run --Werror; then
  passed=$((passed + 1))
else
  echo "format: files differ from .clang-format; run clang-format -i on them"
  failed=$((failed + 1))
fi

# The optimised build of the tests is Release without link-time optimisation (see
# CPX_LTO in CMakeLists.txt), in a folder of its own: build/release, which
# scripts/run.sh and docs/BENCHMARKS.md use, keeps it.
run_suite "release" build/test-release 1 "" "" -DCMAKE_BUILD_TYPE=Release -DCPX_LTO=OFF
# The sanitizer builds keep -O2 (so the warnings are the release build's) with line
# tables only (-g1): a report still names file and line, and full debug info took a
# quarter of the compile time of these builds.
sanitizer_flags="-O2 -g1"
run_suite "asan+ubsan" build/asan 0.1 "" "" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=${sanitizer_flags}" \
  -DCPX_SANITIZE=address -DCPX_BUILD_BENCHMARKS=OFF
# ThreadSanitizer matters where threads meet: the queues, the shard runner, the order
# path's pipeline (gRPC threads to sequencer to dispatcher), a stream's ring of
# outgoing messages (dispatcher to gRPC's thread), the ring from the sequencer
# to the journal writer, the metrics and operations endpoint that every thread
# updates, and the ledger projector's reader, writer and background threads.
run_suite "tsan" build/tsan 0.1 "Queue|Shard|Pipeline|WriteRing|Ops|RecordRing|Projector" \
  "cpx_queue_tests cpx_shard_tests cpx_pipeline_tests cpx_ops_tests cpx_record_ring_tests cpx_projector_tests" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=${sanitizer_flags}" \
  -DCPX_SANITIZE=thread -DCPX_BUILD_BENCHMARKS=OFF

echo "total: ${passed} passed, ${failed} failed"
[ "${failed}" -eq 0 ]
