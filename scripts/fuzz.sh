#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang, ASan and UBSan into build-fuzz/, and runs one on its corpus.
#
#   scripts/fuzz.sh --list                  the targets
#   scripts/fuzz.sh TARGET SECONDS [FLAG...] run TARGET for SECONDS (extra libFuzzer flags, e.g. -runs=1000000)
#   scripts/fuzz.sh --seed TARGET|all       merge fresh seeds (fuzz/make_seeds.py) into fuzz/corpus/TARGET
#   scripts/fuzz.sh --merge TARGET|all      merge what runs found (build-fuzz/corpus/TARGET) into fuzz/corpus/TARGET
#   scripts/fuzz.sh --build                 only build
#   scripts/fuzz.sh --no-build TARGET SECONDS ...   run without building first (several runs side by side)
#
# A run reads fuzz/corpus/TARGET and writes new inputs to build-fuzz/corpus/TARGET (the repository's corpus
# changes only by --seed or --merge, both minimized with -merge=1); a crash, leak, timeout or out-of-memory
# input goes to build-fuzz/artifacts/TARGET/ and the script exits 1. Installs clang-14 and libclang-rt-14-dev
# with apt-get when missing. Run it under `nice` on a shared machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir="$root/build-fuzz"
targets=(model_load external_data npy tensor_pb samples calib_table optimize)

usage() {
  echo "usage: scripts/fuzz.sh --list | TARGET SECONDS [LIBFUZZER_FLAG...] | --seed TARGET|all | --merge TARGET|all | --build"
}

# Longest input per target: big enough for the seeds that matter, small enough to keep runs fast.
max_len() {
  case "$1" in
    model_load) echo 65536 ;;
    optimize|samples) echo 16384 ;;
    calib_table) echo 4096 ;;
    *) echo 8192 ;;
  esac
}

check_target() {
  local t
  for t in "${targets[@]}"; do [ "$t" = "$1" ] && return 0; done
  echo "fuzz.sh: unknown target '$1' (scripts/fuzz.sh --list)" >&2
  exit 2
}

install_clang() {
  local rt_lib=/usr/lib/llvm-14/lib/clang
  if command -v clang++-14 >/dev/null 2>&1 && ls "$rt_lib"/*/lib/linux/libclang_rt.fuzzer-*.a >/dev/null 2>&1; then
    return
  fi
  local sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  echo "fuzz.sh: installing clang-14 and libclang-rt-14-dev"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends clang-14 libclang-rt-14-dev
}

# Builds the fuzz executables of the targets named (all when none).
build() {
  install_clang
  local extra=()
  if command -v ccache >/dev/null 2>&1; then
    extra+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  # -O1 with line tables: readable stack traces at a fraction of a debug build's cost; asserts stay on.
  CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build_dir" -DORTOOL_FUZZ=ON -DORTOOL_BUILD_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=Fuzz "-DCMAKE_C_FLAGS=-O1 -gline-tables-only" "-DCMAKE_CXX_FLAGS=-O1 -gline-tables-only" \
    "${extra[@]}" >/dev/null
  local t names=()
  for t in "${@:-${targets[@]}}"; do names+=("fuzz_$t"); done
  cmake --build "$build_dir" -j"${ORTOOL_JOBS:-2}" --target "${names[@]}"
}

# Merges the folders after $1 into fuzz/corpus/$1, keeping only inputs that add coverage.
merge() {
  local t=$1
  shift
  local corpus="$root/fuzz/corpus/$t" fresh="$build_dir/merge/$t"
  rm -rf "$fresh"
  mkdir -p "$fresh" "$corpus"
  "$build_dir/fuzz/fuzz_$t" -merge=1 -max_len="$(max_len "$t")" -timeout=30 -rss_limit_mb=2048 \
    "$fresh" "$corpus" "$@" 2>"$build_dir/merge/$t.log" || { tail -20 "$build_dir/merge/$t.log" >&2; exit 1; }
  # Findings keep their names (regression_*); merging would rename them to their SHA-1.
  local f
  for f in "$corpus"/regression_*; do
    [ -e "$f" ] || continue
    rm -f "$fresh/$(sha1sum "$f" | cut -c1-40)"
    cp "$f" "$fresh/"
  done
  rm -rf "$corpus"
  mv "$fresh" "$corpus"
  echo "fuzz.sh: fuzz/corpus/$t: $(find "$corpus" -type f | wc -l) inputs, $(du -sk --apparent-size "$corpus" | cut -f1) KiB"
}

all_or_one() {
  if [ "$1" = all ]; then echo "${targets[@]}"; else check_target "$1"; echo "$1"; fi
}

case "${1:-}" in
  --list) printf '%s\n' "${targets[@]}"; exit 0 ;;
  -h|--help|"") usage; [ -n "${1:-}" ] && exit 0; exit 2 ;;
  --build) build; exit 0 ;;
  --seed)
    [ $# -eq 2 ] || { usage >&2; exit 2; }
    list=$(all_or_one "$2")
    build $list
    rm -rf "$build_dir/seeds"
    /usr/bin/python3 "$root/fuzz/make_seeds.py" "$build_dir/seeds"
    for t in $list; do merge "$t" "$build_dir/seeds/$t"; done
    exit 0 ;;
  --merge)
    [ $# -eq 2 ] || { usage >&2; exit 2; }
    list=$(all_or_one "$2")
    build $list
    for t in $list; do mkdir -p "$build_dir/corpus/$t"; merge "$t" "$build_dir/corpus/$t"; done
    exit 0 ;;
esac

skip_build=false
if [ "${1:-}" = --no-build ]; then
  skip_build=true
  shift
fi
[ $# -ge 2 ] || { usage >&2; exit 2; }
target=$1
seconds=$2
shift 2
check_target "$target"
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: SECONDS must be a whole number, not '$seconds'" >&2; exit 2; }
if $skip_build; then
  [ -x "$build_dir/fuzz/fuzz_$target" ] || { echo "fuzz.sh: $build_dir/fuzz/fuzz_$target is not built" >&2; exit 2; }
else
  build "$target"
fi
work="$build_dir/corpus/$target"
artifacts="$build_dir/artifacts/$target"
log="$build_dir/logs/$target-$(date +%Y%m%d-%H%M%S).log"
mkdir -p "$work" "$artifacts" "$(dirname "$log")" "$root/fuzz/corpus/$target"
echo "fuzz.sh: running fuzz_$target for ${seconds}s (log: $log)"
status=0
# -timeout: one input may take 30 s of wall time (generous: libFuzzer's clock is wall time, and a niced
# run on a loaded machine was starved 10 s on an 8-byte input that takes 2 ms; rerun a timeout artifact
# alone to tell); -rss_limit_mb: 2 GiB; leaks are reported (ASan's leak checker).
"$build_dir/fuzz/fuzz_$target" -max_total_time="$seconds" -max_len="$(max_len "$target")" -timeout=30 \
  -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" "$@" \
  "$work" "$root/fuzz/corpus/$target" >"$log" 2>&1 || status=$?
# The summary libFuzzer prints at the end: executions, rate, coverage (edges) and features.
runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
cov=$(echo "$last" | grep -o 'cov: [0-9]*' | grep -o '[0-9]*' || true)
ft=$(echo "$last" | grep -o 'ft: [0-9]*' | grep -o '[0-9]*' || true)
corp=$(echo "$last" | grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' | cut -d' ' -f2 || true)
echo "fuzz.sh: $target: ${runs:-?} executions, ${rate:-?} exec/s, coverage ${cov:-?} edges, ${ft:-?} features, corpus ${corp:-?}"
if [ "$status" -eq 72 ]; then  # libFuzzer's exit code when interrupted (Ctrl-C): the figures above stand
  echo "fuzz.sh: $target: interrupted"
  exit 0
fi
if [ "$status" -ne 0 ]; then
  grep -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY:|Test unit written' "$log" | head -10 >&2 || true
  echo "fuzz.sh: $target: finding (exit $status); see $log and $artifacts/" >&2
  exit 1
fi
