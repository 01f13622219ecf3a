#!/usr/bin/env bash
# `ortool optimize` against ONNX Runtime's basic level on the benchmark set (also with a symbolic batch,
# scripts/gen_models_dynamic.py) and ../shared/models, one table.
# For each model: node counts (original, ortool, ONNX Runtime basic), optimize time, onnx full check,
# idempotence, and the optimized model's outputs in ONNX Runtime vs the original's. Exit 1 on any failure.
# Usage: scripts/optimize_vs_ort.sh [MODEL_DIR]   (benchmark models are generated there when missing;
#        default build/bench_models)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
models=${1:-$root/build/bench_models}
ortool="$root/build/apps/ortool"
[ -x "$ortool" ] || "$root/scripts/build.sh"
if [ ! -d "$root/scripts/node_modules/onnxruntime-node" ]; then
  (cd "$root/scripts" && npm install --ignore-scripts --no-audit --no-fund >/dev/null)
fi
names=(resnet18 mobilenet_v2 squeezenet1_1 shufflenet_v2_x1_0 efficientnet_b0 transformer)
for n in "${names[@]}"; do
  if [ ! -f "$models/$n.onnx" ]; then
    echo "generating the benchmark models into $models (torch export, a minute or two)"
    /usr/bin/python3 "$root/scripts/gen_models.py" "$models"
    break
  fi
done
# Models with a symbolic batch (and the shape computations exporters write around it).
if [ ! -f "$models/dynamic/shape_cast_slice_dynbatch.onnx" ]; then
  echo "generating the symbolic-batch models into $models/dynamic (torch export, under a minute)"
  /usr/bin/python3 "$root/scripts/gen_models_dynamic.py" "$models/dynamic"
fi
echo "$(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
shared="$root/../shared/models"
shared_globs=()
[ -d "$shared" ] && shared_globs=("$shared/*/model.onnx")
exec /usr/bin/python3 "$root/tests/cli/optimize_check.py" --ortool "$ortool" \
  --ort-runner "$root/scripts/ort_run.mjs" --table --max-ms resnet18=1000 \
  --args ppocr_cls=--shape=x=1,3,48,192 --args ppocr_det_v3=--shape=x=1,3,96,128 \
  --args nnsplit_bilstm=--shape=input=1,24 \
  "$models/*.onnx" "$models/dynamic/*.onnx" "${shared_globs[@]}"
