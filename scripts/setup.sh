#!/usr/bin/env bash
# Installs the Debian 12 packages ortool needs to build and test, and ONNX Runtime (npm) for the tests that
# compare against it; quick and silent when everything is there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  build-essential cmake git
  libprotobuf-dev protobuf-compiler libonnx-dev
  libeigen3-dev libxnnpack-dev libpthreadpool-dev libcpuinfo-dev
  # oneDNN's CMake config requires OpenCL's headers: a Recommends of libdnnl-dev, which
  # --no-install-recommends would leave out (a fresh machine then failed to configure).
  libdnnl-dev ocl-icd-opencl-dev
  libfmt-dev libcli11-dev nlohmann-json3-dev doctest-dev libstb-dev
  libonnx-testdata python3-onnx python3-numpy
  # The tests build their models with PyTorch (scripts/gen_models.py, compare/prune checks) and read
  # images with Pillow (opset cases); a clean machine's first test run failed five tests without them.
  python3-torch python3-torchvision python3-pil
  # The HTML reports (--html) inline Debian's chart library at build time (lib/CMakeLists.txt requires it),
  # and the browser test (tests/cli/html_report_check.py) opens them in headless Chromium.
  libjs-d3 libjs-c3 chromium
  ca-certificates
)
# ONNX Runtime, the reference the tests compare against, comes from npm (scripts/package.json). Debian's
# nodejs and npm only where no node and npm are there: a Node.js from elsewhere (NodeSource's bundles
# npm) conflicts with Debian's npm package, and apt-get then refuses the whole install.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo)
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  if [ ${#sudo[@]} -gt 0 ] && ! command -v sudo >/dev/null 2>&1; then
    echo "setup: run as root (or install sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# onnxruntime-node ships its CPU library inside the package; its install script would try a download
# that this network does not allow, and is not needed for the CPU build.
if [ ! -f "$root/scripts/node_modules/onnxruntime-node/package.json" ]; then
  echo "setup: installing ONNX Runtime (npm onnxruntime-node) into scripts/node_modules"
  # Node.js trusts only its own CA list; let npm also trust the system's (a network that inspects TLS
  # installs its CA there, in /usr/local/share/ca-certificates).
  if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
  fi
  (cd "$root/scripts" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
