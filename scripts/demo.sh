#!/usr/bin/env bash
# Shows ortool at work: installs what is missing, builds, then runs `info` and `convert` on real models.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

"$root/scripts/setup.sh"
"$root/scripts/build.sh" >/dev/null
ortool="$root/build/apps/ortool"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

echo "ortool demo: $("$ortool" --version)"
step "$ortool" info "$root/testdata/small_convnet.onnx"
step "$ortool" convert "$root/testdata/small_convnet.onnx" -o "$work/convnet.onnx" --external-data --threshold 512 --check
ls -l "$work"
step "$ortool" convert "$work/convnet.onnx" -o "$work/convnet_inline.onnx" --internal
if cmp -s "$root/testdata/small_convnet.onnx" "$work/convnet_inline.onnx"; then
  echo "round trip through external data: byte-identical to the original"
fi

shared="$root/../shared/models"
if [ -d "$shared" ]; then
  for model in "$shared"/*/model.onnx; do
    step "$ortool" info "$model"
  done
  step "$ortool" info "$shared/ultraface_rfb640/model.onnx" --json
  step "$ortool" convert "$shared/ultraface_rfb640/model.onnx" -o "$work/ultraface.onnx" --external-data --check
else
  echo "(no ../shared/models beside the repository: skipping the real models)"
fi

printf '\n\033[1mWhat a bad input looks like (exit code 2, one line):\033[0m\n'
head -c 1000 "$root/testdata/small_convnet.onnx" > "$work/truncated.onnx"
"$ortool" info "$work/truncated.onnx" || echo "(exit code $?)"
