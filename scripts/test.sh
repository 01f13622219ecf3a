#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite with ctest; --sanitize uses build-asan/,
# --quick runs only the unit tests and the CLI bad-input, conventions and run/compare tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

build_dir="$root/build"
build_args=()
ctest_args=()
for arg in "$@"; do
  case "$arg" in
    --sanitize) build_dir="$root/build-asan"; build_args+=(--sanitize) ;;
    --quick) ctest_args+=(-R '^(unit_|cli_bad_inputs|cli_conventions|cli_run_compare)') ;;
    -h|--help) echo "usage: scripts/test.sh [--sanitize] [--quick]"; exit 0 ;;
    *) echo "test.sh: unknown argument '$arg' (usage: scripts/test.sh [--sanitize] [--quick])" >&2; exit 2 ;;
  esac
done

"$root/scripts/setup.sh"
"$root/scripts/build.sh" "${build_args[@]}"
cd "$build_dir"
# Sanitizer reports fail the run; leak checking stays on.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --output-on-failure -j"${ORTOOL_JOBS:-2}" "${ctest_args[@]}"
