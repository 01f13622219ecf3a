#!/usr/bin/python3
"""Makes text_set_0/ for ../shared/models/ppocr_det_v3: an input the text detector responds to, and
the output ONNX Runtime 1.30 (scripts/ort_run.mjs, npm onnxruntime-node) gives on it.

The model's own ort_ref_set_0 feeds uniform noise, on which the detector finds no text: its output
peaks at 3.6e-5, inside any sensible atol, so no tolerance on it can see a wrong number. This input is
a page with three lines of text-like glyphs (random strokes on a light, slightly noisy background,
drawn with numpy from a fixed seed), normalized as PaddleOCR does ((pixel/255 - mean) / std). On it the
detector's probability map covers the lines (values up to 1, about 15% of pixels above 0.3).

Run from the repository (after scripts/setup.sh installed ONNX Runtime):
    /usr/bin/python3 testdata/models/ppocr_det_v3/make_text_set.py [--model ../shared/models/ppocr_det_v3/model.onnx]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
HEIGHT, WIDTH = 128, 256  # H and W must be multiples of 32
INK, PAPER = 30.0, 235.0


def draw_page(rng):
    """HxWx3 pixels (0..255): light paper with three lines of glyphs made of dark strokes."""
    img = np.full((HEIGHT, WIDTH, 3), PAPER) + rng.normal(0, 4, (HEIGHT, WIDTH, 3))

    def glyph(y, x, size):
        t = max(2, size // 8)  # stroke width
        for _ in range(rng.integers(3, 6)):
            kind = rng.integers(0, 3)
            if kind == 0:  # horizontal stroke
                yy = y + rng.integers(0, size - t)
                x0, x1 = x + rng.integers(0, size // 3), x + size - rng.integers(0, size // 3)
                img[yy:yy + t, x0:x1] = INK
            elif kind == 1:  # vertical stroke
                xx = x + rng.integers(0, size - t)
                y0, y1 = y + rng.integers(0, size // 3), y + size - rng.integers(0, size // 3)
                img[y0:y1, xx:xx + t] = INK
            else:  # diagonal stroke
                for k in range(size):
                    img[y + k:y + k + t, x + k:x + k + t] = INK

    for top, left, size, count in [(16, 20, 18, 10), (60, 30, 24, 8), (104, 12, 14, 14)]:
        x = left
        for _ in range(count):
            if x + size >= WIDTH or top + size >= HEIGHT:
                break
            glyph(top, x, size)
            x += size + size // 4
    return np.clip(img, 0, 255)


def normalize(img):
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    return ((img / 255.0 - mean) / std).astype(np.float32).transpose(2, 0, 1)[None]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(ROOT, "..", "shared", "models", "ppocr_det_v3", "model.onnx"))
    ap.add_argument("--out", default=os.path.join(HERE, "text_set_0"))
    a = ap.parse_args()
    model = onnx.load(a.model, load_external_data=False)
    in_name, out_name = model.graph.input[0].name, model.graph.output[0].name
    x = normalize(draw_page(np.random.default_rng(20240610)))
    with tempfile.TemporaryDirectory(prefix="ppocr_text_") as tmp:
        os.makedirs(os.path.join(tmp, "in"))
        np.save(os.path.join(tmp, "in", in_name + ".npy"), x)
        p = subprocess.run(["node", os.path.join(ROOT, "scripts", "ort_run.mjs"), a.model, os.path.join(tmp, "in"),
                            os.path.join(tmp, "out")], capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"make_text_set: ONNX Runtime failed: {p.stderr.strip()}")
        assert json.loads(p.stdout.strip().splitlines()[-1])["outputs"] == [out_name]
        y = np.load(os.path.join(tmp, "out", out_name + ".npy"))
    os.makedirs(a.out, exist_ok=True)
    onnx.save_tensor(numpy_helper.from_array(x, in_name), os.path.join(a.out, "input_0.pb"))
    onnx.save_tensor(numpy_helper.from_array(y, out_name), os.path.join(a.out, "output_0.pb"))
    print(f"{a.out}: input {list(x.shape)}, output {list(y.shape)} in [{y.min():.3g}, {y.max():.3g}], "
          f"{(y > 0.3).mean():.1%} above 0.3")


if __name__ == "__main__":
    main()
