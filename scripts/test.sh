#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite with ctest; --sanitize uses build-asan/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

build_dir="$root/build"
build_args=()
for arg in "$@"; do
  case "$arg" in
    --sanitize) build_dir="$root/build-asan"; build_args+=(--sanitize) ;;
    -h|--help) echo "usage: scripts/test.sh [--sanitize]"; exit 0 ;;
    *) echo "test.sh: unknown argument '$arg' (usage: scripts/test.sh [--sanitize])" >&2; exit 2 ;;
  esac
done

"$root/scripts/setup.sh"
"$root/scripts/build.sh" "${build_args[@]}"
cd "$build_dir"
# Sanitizer reports fail the run; leak checking stays on.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --output-on-failure -j"${ORTOOL_JOBS:-2}"
