#!/usr/bin/env bash
# Installs the Debian 12 packages ortool needs to build and test; quick and silent when all are there.
set -euo pipefail

packages=(
  build-essential cmake
  libprotobuf-dev protobuf-compiler libonnx-dev
  libeigen3-dev libxnnpack-dev libpthreadpool-dev libcpuinfo-dev libdnnl-dev
  libfmt-dev libcli11-dev nlohmann-json3-dev doctest-dev
  libonnx-testdata python3-onnx python3-numpy
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "setup: run as root (or install sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
