#!/usr/bin/python3
# End-to-end tests of `ortool compare --layerwise`: the first divergent node of a model with one perturbed
# weight, nothing divergent between equal models, and the lowest-SQNR layers of an int8 model from quantize.
"""Checks, with testdata/small_convnet.onnx (conv1 relu1 pool1 conv2 relu2 gap flatten fc softmax) and
testdata/digits (a CNN with calibration and held-out samples):

- one element of fc's weight (w3) moved: --json names fc (Gemm, output 'logits') under first_divergent,
  every value before it passes with max abs error 0, the table on stdout marks it; exit 1 (outputs differ);
- the model against a copy of itself: first_divergent null, every value exact, exit 0;
- the digits CNN quantized by `ortool quantize` (QDQ): each quantized activation is paired with its float
  source (dequantized), lowest_sqnr lists the values with the lowest SQNR in ascending order and matches
  the minimum over all layers, and the text output names them;
- --layerwise with --expected-dir (no second model) is a usage error (exit 2, one line).
"""
import argparse
import json
import math
import os
import shutil
import sys
import tempfile

import numpy as np
import onnx
from check_util import FAILS, check, one_error_line, run
from onnx import numpy_helper


def perturbed_copy(src, dst, init_name, index, delta):
    m = onnx.load(src)
    for i, t in enumerate(m.graph.initializer):
        if t.name == init_name:
            a = numpy_helper.to_array(t).copy()
            a.flat[index] += delta
            m.graph.initializer[i].CopyFrom(numpy_helper.from_array(a, init_name))
    onnx.save(m, dst)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ortool", required=True)
    ap.add_argument("--testdata", required=True)
    args = ap.parse_args()
    ortool = args.ortool
    model = os.path.join(args.testdata, "small_convnet.onnx")
    digits = os.path.join(args.testdata, "digits")
    tmp = tempfile.mkdtemp(prefix="ortool_layerwise_")
    try:
        # --- one perturbed weight: fc is the first node whose output moves
        bad = os.path.join(tmp, "perturbed.onnx")
        perturbed_copy(model, bad, "w3", 3, 0.75)
        code, out, err = run(ortool, "compare", model, bad, "--layerwise", "--random", "3", "--seed", "4", "--json")
        js = json.loads(out) if out.strip().startswith("{") else {}
        fd = js.get("first_divergent") or {}
        check(code == 1, "perturbed weight: exit 1 (the outputs differ)", f"code {code}\n{err}")
        check(fd.get("node") == "fc" and fd.get("op_type") == "Gemm" and fd.get("output") == "logits",
              "perturbed weight: first_divergent is fc (Gemm), output logits", fd)
        layers = js.get("layers", [])
        names = [l["name"] for l in layers]
        check(names[:3] == ["c1", "r1", "p1"] and "logits" in names and names.index("logits") > names.index("f"),
              "layers come in graph order", names)
        before = layers[:names.index("logits")] if "logits" in names else []
        check(before and all(l["passed"] and l["max_abs_error"] == 0 for l in before),
              "every value before fc is exact and passes", before)
        check(layers and all(l.get("samples") == 3 for l in layers), "each layer was compared on the 3 samples")
        code, out, err = run(ortool, "compare", model, bad, "--layerwise", "--random", "3", "--seed", "4")
        check(code == 1 and "first divergent node: fc (Gemm) output logits" in out and "<- first divergent" in out,
              "perturbed weight: the text names fc and marks its row", out + err)

        # --- equal models: nothing diverges
        same = os.path.join(tmp, "same.onnx")
        shutil.copy(model, same)
        code, out, err = run(ortool, "compare", model, same, "--layerwise", "--random", "2", "--json")
        js = json.loads(out) if out.strip().startswith("{") else {}
        check(code == 0 and js.get("first_divergent", "missing") is None, "equal models: first_divergent null, exit 0",
              f"code {code}\n{out[:400]}\n{err}")
        check(js.get("layers") and all(l["max_abs_error"] == 0 and l["sqnr_exact"] for l in js["layers"]),
              "equal models: every value exact")

        # --- an int8 model from quantize: the lowest-SQNR layers are named
        fp = os.path.join(digits, "digits_cnn.onnx")
        q = os.path.join(tmp, "digits_int8.onnx")
        qreport = os.path.join(tmp, "quant.json")
        code, out, err = run(ortool, "quantize", fp, "-o", q, "--calib", os.path.join(digits, "calib_x.npy"),
                             "--calib-samples", "64", "--report", qreport, timeout=600)
        check(code == 0 and os.path.exists(q), "quantize writes the int8 digits model", err)
        test_x = np.load(os.path.join(digits, "test_x.npy"))[:16]
        samples = os.path.join(tmp, "test16.npy")
        np.save(samples, test_x)
        code, out, err = run(ortool, "compare", fp, q, "--layerwise", "--inputs", samples, "--min-sqnr", "5", "--json",
                             timeout=600)
        js = json.loads(out) if out.strip().startswith("{") else {}
        layers = js.get("layers", [])
        deq = [l for l in layers if l.get("dequantized")]
        check(code in (0, 1) and len(deq) >= 3, "int8: quantized activations paired with their float sources",
              f"code {code}, {len(deq)} dequantized of {len(layers)}\n{err}")
        check(all(l["tensor_b"].endswith("_QuantizeLinear_Output") for l in deq),
              "int8: each is compared through its QuantizeLinear output", [l["tensor_b"] for l in deq][:5])
        # The activations quantize's own report measures (float name, a folded Relu's output where the
        # quantizer folded one) are all paired here (a graph output through the DequantizeLinear that
        # keeps its name): the optimizer's fused BatchNormalization and the folded Relu do not make the
        # original float model's Conv outputs look divergent.
        qtensors = [t["tensor"] for t in json.load(open(qreport))["tensors"]] if os.path.exists(qreport) else []
        paired = {l["name"] for l in layers}
        check(qtensors and set(qtensors) <= paired, "int8: every activation quantize's report measures is paired",
              sorted(set(qtensors) - paired))
        check(js.get("first_divergent", "missing") is None, "int8 at --min-sqnr 5: no value diverges",
              js.get("first_divergent"))
        finite = [l["sqnr_db"] for l in layers if isinstance(l.get("sqnr_db"), (int, float))]
        low = js.get("lowest_sqnr", [])
        low_db = [l["sqnr_db"] for l in low]
        check(low and len(low) <= 5 and low_db == sorted(low_db), "int8: lowest_sqnr lists up to 5, ascending", low)
        check(low and finite and math.isclose(low_db[0], min(finite)),
              "int8: the first lowest-SQNR layer has the minimum SQNR of all layers", (low_db, min(finite) if finite else None))
        check(low and all(l.get("node") and l.get("op_type") and l.get("output") for l in low),
              "int8: each lowest-SQNR entry names node, op type and tensor", low)
        check(all(math.isfinite(x) and x < 60 for x in low_db), "int8: quantization error is visible (SQNR < 60 dB)",
              low_db)
        code, out, err = run(ortool, "compare", fp, q, "--layerwise", "--inputs", samples, "--min-sqnr", "5",
                             timeout=600)
        check(low and "lowest SQNR: " + low[0]["output"] in out, "int8: the text names the lowest-SQNR layer first",
              out[-600:])

        # --- usage
        code, out, err = run(ortool, "compare", model, "--expected-dir", tmp, "--layerwise")
        check(one_error_line(code, err, 2, "--layerwise"), "--layerwise without a second model: exit 2, one line", err)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
