#!/usr/bin/env bash
# Runs the exchange: installs what is missing, builds the optimised build and starts
# cpxd, the exchange server, on 127.0.0.1:7070 with a demo market (instruments in
# several hubs and delivery windows, a token bundle, providers and buyers trading
# through the API). Extra arguments go to cpxd (cpxd --help lists them); Ctrl-C stops
# it gracefully. cpxd keeps its record in PostgreSQL: the server CPX_DATABASE_URL names,
# or else the private cluster (scripts/pg.sh, data in build/pg), started here and
# stopped when cpxd exits.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCPX_LTO=ON >&2
ninja -C build/release -j"$(nproc)" cpxd cpx >&2

mkdir -p build/run
key_file="build/run/operator.key"
cat >&2 <<EOF

cpxd is starting on 127.0.0.1:7070 (operations endpoint: http://127.0.0.1:7071/metrics).
Its operator API key is written to ${key_file}; the demo accounts' keys are in its log.
In another terminal:

  export CPX_API_KEY=\$(cat ${key_file})
  build/release/tools/cli/cpx instruments
  build/release/tools/cli/cpx book --instrument 1
  build/release/tools/cli/cpx trades --instrument 2 --count 5
  build/release/tools/cli/cpx balances --account 7
  build/release/tools/cli/cpx voucher programs
  build/release/tools/cli/cpx --help

A regulator verifies the record with the public key cpxd publishes (build/run/audit.key.pub):

  build/release/tools/cli/cpx audit verify --database "\$(scripts/pg.sh url)" --public-key-file build/run/audit.key.pub

EOF

# The private cluster is stopped at exit only when this script started it: a cluster
# that was running already belongs to someone else (another run, a test run).
if [ -z "${CPX_DATABASE_URL:-}" ]; then
  if ! scripts/pg.sh status; then
    trap 'scripts/pg.sh stop' EXIT
  fi
  CPX_DATABASE_URL="$(scripts/pg.sh start)"
fi

# cpxd runs as a child, not in this shell's place, so that the cluster can be stopped
# after it exits; Ctrl-C and SIGTERM are passed on, and cpxd shuts down gracefully.
# The demo compresses the dispute period to five minutes (cpxd's default gives buyers a
# day), so that deliveries settle, and the Hohhot vouchers pay, while you watch. The
# period is a rule of the exchange's state machine: a database an earlier run made with
# another one does not replay under it (docs/OPERATIONS.md): run on an empty database
# instead (drop the private cluster's database "cpx", which the next run creates again).
build/release/services/gateway/cpxd --demo --database_url="${CPX_DATABASE_URL}" \
  --operator_key_file "${key_file}" --audit_key_file build/run/audit.key \
  --dispute_period_ns=300000000000 "$@" &
cpxd_pid=$!
trap 'kill -INT "${cpxd_pid}" 2>/dev/null || true' INT
trap 'kill -TERM "${cpxd_pid}" 2>/dev/null || true' TERM
# A signal ends `wait` early; waiting goes on until cpxd has really exited.
while kill -0 "${cpxd_pid}" 2>/dev/null; do
  wait "${cpxd_pid}" || true
done
status=0
wait "${cpxd_pid}" || status=$?
exit "${status}"
