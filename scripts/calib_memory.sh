#!/usr/bin/env bash
# Calibration memory: peak RSS of calibrating resnet18 (1x3x224x224, every float value: 50 tensors)
# on 10 samples and on 1000, for minmax and a histogram method. Samples are generated one at a time,
# so any growth would be calibration's own. Exit 1 when 1000 samples peak more than SLACK_MIB (default
# 8) above 10 samples.
# Usage: scripts/calib_memory.sh [MODEL_DIR] [SAMPLES]   (resnet18 is generated there when missing;
#        default build/bench_models and 1000)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
models=${1:-$root/build/bench_models}
many=${2:-1000}
slack_mib=${SLACK_MIB:-8}
probe="$root/build/tests/calib_probe"
[ -x "$probe" ] || "$root/scripts/build.sh"
if [ ! -f "$models/resnet18.onnx" ]; then
  echo "generating resnet18 into $models (torch export)"
  /usr/bin/python3 "$root/scripts/gen_models.py" "$models" --only resnet18
fi
echo "$(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
printf '%-10s %8s %8s %16s %14s %14s %9s\n' method samples passes collector_bytes rss_before_MiB peak_rss_MiB seconds
status=0
for method in minmax entropy; do
  declare -A peak=()
  for n in 10 "$many"; do
    line=$("$probe" "$models/resnet18.onnx" "$n" --method "$method")
    read -r hwm row < <(/usr/bin/python3 -c '
import json, sys
r = json.loads(sys.argv[1])
print(r["peak_rss_kib"], "%-10s %8d %8d %16d %14.1f %14.1f %9.1f" % (r["method"], r["samples"], r["passes"],
      r["collector_bytes"], r["rss_before_kib"] / 1024, r["peak_rss_kib"] / 1024, r["seconds"]))' "$line")
    peak[$n]=$hwm
    echo "$row"
  done
  grow_kib=$(( ${peak[$many]} - ${peak[10]} ))
  echo "$method: peak with $many samples - peak with 10 = $grow_kib KiB"
  if [ "$grow_kib" -gt $(( slack_mib * 1024 )) ]; then
    echo "$method: FAIL: calibration memory grows with the number of samples (more than $slack_mib MiB)"
    status=1
  fi
  unset peak
done
exit $status
