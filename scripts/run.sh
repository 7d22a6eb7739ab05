#!/usr/bin/env bash
# Runs the exchange: installs what is missing, builds the optimised build and starts
# cpxd, the exchange server, on 127.0.0.1:7070 with a demo market (instruments in
# several hubs and delivery windows, a token bundle, providers and buyers trading
# through the API). Extra arguments go to cpxd (cpxd --help lists them); Ctrl-C stops
# it gracefully.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
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
  build/release/tools/cli/cpx --help

EOF
exec build/release/services/gateway/cpxd --demo --operator_key_file "${key_file}" "$@"
