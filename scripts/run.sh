#!/usr/bin/env bash
# Runs the exchange: installs what is missing, builds the optimised build and starts
# cpx-demo, the simulated compute market, with the arguments given (for example
# --seed 7, --steps 10000, --quiet). Until the gRPC server exists this is the program.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

# Build messages go to stderr so that the demo's own output on stdout stays clean for
# redirection and diffing.
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
ninja -C build/release -j"$(nproc)" cpx-demo >&2

exec build/release/tools/demo/cpx-demo "$@"
