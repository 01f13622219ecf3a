#!/usr/bin/env bash
# Configures and builds ortool (Release) into build/, or with --sanitize (ASan + UBSan) into build-asan/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

build_dir="$root/build"
extra=()
for arg in "$@"; do
  case "$arg" in
    --sanitize) build_dir="$root/build-asan"; extra+=(-DORTOOL_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
    -h|--help) echo "usage: scripts/build.sh [--sanitize]"; exit 0 ;;
    *) echo "build.sh: unknown argument '$arg' (usage: scripts/build.sh [--sanitize])" >&2; exit 2 ;;
  esac
done

# ccache, when installed, makes rebuilds of unchanged sources (other trees, other build dirs) instant.
if command -v ccache >/dev/null 2>&1; then
  extra+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
jobs=${ORTOOL_JOBS:-2}
cmake -S "$root" -B "$build_dir" "${extra[@]}" >/dev/null
cmake --build "$build_dir" -j"$jobs"
echo "build.sh: built $build_dir/apps/ortool"
