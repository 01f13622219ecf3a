#!/usr/bin/env bash
# Shows ortool at work: installs what is missing, builds, then runs info, convert, run, compare, optimize, quantize
# and prune.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# ORTOOL_DEMO_BINARY (the test suite's demo_steps test): run the steps with that binary, no set-up or build.
if [ -n "${ORTOOL_DEMO_BINARY:-}" ]; then
  ortool=$ORTOOL_DEMO_BINARY
else
  "$root/scripts/setup.sh"
  if [ -x "$root/build/apps/ortool" ]; then
    echo "building ortool (only what changed) into $root/build"
  else
    echo "building ortool into $root/build, about 9 minutes on 2 cores"
  fi
  "$root/scripts/build.sh" >/dev/null
  ortool="$root/build/apps/ortool"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Bold command lines on a terminal; plain text when the output goes to a file or a pipe.
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
step() { printf '\n%s$ %s%s\n' "$bold" "$*" "$plain"; "$@"; }

echo "ortool demo: $("$ortool" --version)"
step "$ortool" info "$root/testdata/small_convnet.onnx"
step "$ortool" convert "$root/testdata/small_convnet.onnx" -o "$work/convnet.onnx" --external-data --threshold 512 --onnx-check
ls -l "$work"
step "$ortool" convert "$work/convnet.onnx" -o "$work/convnet_inline.onnx" --internal
if cmp -s "$root/testdata/small_convnet.onnx" "$work/convnet_inline.onnx"; then
  echo "round trip through external data: byte-identical to the original"
fi

shared=""
if [ -d "$root/../shared/models" ]; then shared=$(cd "$root/../shared/models" && pwd); fi
if [ -n "$shared" ]; then
  for model in "$shared"/*/model.onnx; do
    step "$ortool" info "$model"
  done
  step "$ortool" info "$shared/ultraface_rfb640/model.onnx" --json
  step "$ortool" convert "$shared/ultraface_rfb640/model.onnx" -o "$work/ultraface.onnx" --external-data --onnx-check
  # The runtime against the reference outputs that ship with the models.
  step "$ortool" run "$shared/ultraface_rfb640/model.onnx" --input-dir "$shared/ultraface_rfb640/test_data_set_0"
  step "$ortool" compare "$shared/ultraface_rfb640/model.onnx" --expected-dir "$shared/ultraface_rfb640/test_data_set_0"
  step "$ortool" compare "$shared/ppocr_det_v3/model.onnx" --expected-dir "$shared/ppocr_det_v3/ort_ref_set_0"
  # Optimize, then prove the result computes the same thing as the original.
  step "$ortool" optimize "$shared/ultraface_rfb640/model.onnx" -o "$work/ultraface_opt.onnx"
  step "$ortool" compare "$shared/ultraface_rfb640/model.onnx" "$work/ultraface_opt.onnx" --random 2 --seed 1
  # Prune 30% of the channels, recovered on the shipped image (BN re-estimation, least-squares refit).
  step "$ortool" prune "$shared/ultraface_rfb640/model.onnx" -o "$work/ultraface_pruned.onnx" --ratio 0.3 \
    --calib "$shared/ultraface_rfb640/test_data_set_0"
else
  echo "(no ../shared/models beside the repository: skipping the real models)"
  step "$ortool" optimize "$root/testdata/small_convnet.onnx" -o "$work/convnet_opt.onnx"
  step "$ortool" compare "$root/testdata/small_convnet.onnx" "$work/convnet_opt.onnx" --random 4 --seed 1
fi

# Quantize: calibrate on the digits CNN's calibration set, keep the ranges, prove on held-out samples
# (gated), and name the activations that lost the most (tests/cli/quantize_cli.py checks the same in
# ONNX Runtime and on held-out top-1).
digits="$root/testdata/digits"
step "$ortool" quantize "$digits/digits_cnn.onnx" -o "$work/digits_int8.onnx" --calib "$digits/calib_x.npy" \
  --calibration-table "$work/digits_ranges.json" --report "$work/digits_quant.json"
step "$ortool" quantize "$digits/digits_cnn.onnx" -o "$work/digits_int8.onnx" \
  --calibration-table "$work/digits_ranges.json" --calib "$digits/test_x.npy" --min-sqnr 25 --max-top1-drop 1
step "$ortool" quantize "$digits/digits_transformer.onnx" -o "$work/digits_tr_int8.onnx" --mode dynamic \
  --calib "$digits/test_x.npy" --check 64
step "$ortool" compare "$digits/digits_cnn.onnx" "$work/digits_int8.onnx" --inputs "$digits/test_x.npy" --max-top1-drop 1
# Prune the digits CNN to 70% of its MACs: the sensitivity sweep picks per-group ratios, recovery
# on the calibration set brings the outputs back close to the original's.
step "$ortool" prune "$digits/digits_cnn.onnx" -o "$work/digits_pruned.onnx" --target-macs 0.7 --calib "$digits/calib_x.npy"

printf '\n%sWhat a bad input looks like (exit code 2, one line):%s\n' "$bold" "$plain"
head -c 1000 "$root/testdata/small_convnet.onnx" > "$work/truncated.onnx"
"$ortool" info "$work/truncated.onnx" || echo "(exit code $?)"
