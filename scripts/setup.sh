#!/usr/bin/env bash
# Installs every dependency of cpx from Debian's packages. Idempotent: when every
# package is already present it touches nothing and returns at once.
set -euo pipefail

packages=(
  build-essential cmake ninja-build g++ clang clang-format clang-tidy
  libgtest-dev libgmock-dev libbenchmark-dev
  protobuf-compiler libprotobuf-dev protobuf-compiler-grpc libgrpc++-dev libgrpc-dev
  libpqxx-dev libpq-dev postgresql postgresql-contrib
  libboost1.74-dev libboost-system1.74-dev libboost-program-options1.74-dev
  libssl-dev libsodium-dev pkg-config
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi

echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
