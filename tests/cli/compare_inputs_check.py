#!/usr/bin/python3
"""End-to-end tests of `ortool compare`'s --input NAME=FILE and --input-dir DIR: the given tensor is the
one compared (its batch shows in the element count), a model with a 1.2x scaled weight fails on it
(exit 1) while the model against itself passes, and missing or wrong inputs are exit 2.

Usage: compare_inputs_check.py --ortool ORTOOL --model small_convnet.onnx
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

from check_util import FAILS, check, one_error_line


def compare(ortool, *args):
    p = subprocess.run([ortool, "compare", *args, "--json"], capture_output=True, text=True, check=False)
    try:
        j = json.loads(p.stdout) if p.stdout.strip() else None
    except json.JSONDecodeError:
        j = None
    return p.returncode, j, p.stderr


def scaled_gemm(model_path, out_path):
    """The model with its Gemm's weight scaled by 1.2."""
    m = onnx.load(model_path)
    w = next(n for n in m.graph.node if n.op_type == "Gemm").input[1]
    init = next(i for i in m.graph.initializer if i.name == w)
    init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * np.float32(1.2), w))
    onnx.save(m, out_path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ortool", required=True)
    ap.add_argument("--model", required=True, help="testdata/small_convnet.onnx (input 'input' [batch,3,32,32])")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ortool_cmpin_") as tmp:
        bad = os.path.join(tmp, "scaled.onnx")
        scaled_gemm(a.model, bad)
        rng = np.random.default_rng(11)
        x2 = rng.standard_normal((2, 3, 32, 32)).astype(np.float32)
        x3 = rng.standard_normal((3, 3, 32, 32)).astype(np.float32)
        np.save(os.path.join(tmp, "x2.npy"), x2)
        set_dir = os.path.join(tmp, "set")
        os.mkdir(set_dir)
        onnx.save_tensor(numpy_helper.from_array(x3, "input"), os.path.join(set_dir, "input_0.pb"))
        x2_arg = f"input={tmp}/x2.npy"

        # --input NAME=FILE: the file's batch of 2 is what runs (10 classes each).
        code, j, err = compare(a.ortool, a.model, a.model, "--input", x2_arg)
        out = (j or {}).get("outputs", [{}])[0]
        check(code == 0 and j and j.get("samples") == 1 and out.get("elements") == 20 and out.get("max_abs_error") == 0,
               "--input: the model against itself on the file's tensor (batch 2: 20 elements)", f"{j} {err}")
        code, j, err = compare(a.ortool, a.model, bad, "--input", x2_arg)
        out = (j or {}).get("outputs", [{}])[0]
        check(code == 1 and j and j.get("passed") is False and out.get("elements") == 20
               and out.get("failed_elements", 0) > 0, "--input: a 1.2x Gemm weight fails on it (exit 1)", f"{j} {err}")

        # --input-dir DIR: input_0.pb (batch 3).
        code, j, err = compare(a.ortool, a.model, a.model, "--input-dir", set_dir)
        out = (j or {}).get("outputs", [{}])[0]
        check(code == 0 and j and j.get("samples") == 1 and out.get("elements") == 30,
               "--input-dir: input_0.pb is what runs (batch 3: 30 elements)", f"{j} {err}")
        code, j, err = compare(a.ortool, a.model, bad, "--input-dir", set_dir)
        check(code == 1 and j and j.get("passed") is False, "--input-dir: the 1.2x Gemm weight fails (exit 1)",
               f"{j} {err}")

        # Bad inputs: exit 2, one line naming what is wrong.
        for what, args, word in [
            ("--input of a missing file", ["--input", f"input={tmp}/none.npy"], "none.npy"),
            ("--input naming no model input", ["--input", f"nope={tmp}/x2.npy"], "nope"),
            ("--input-dir that does not exist", ["--input-dir", os.path.join(tmp, "none")], "none"),
        ]:
            code, _, err = compare(a.ortool, a.model, a.model, *args)
            check(one_error_line(code, err, 2, word), f"{what}: exit 2 naming it", err)
        np.save(os.path.join(tmp, "rank2.npy"), np.zeros((2, 5), np.float32))
        code, _, err = compare(a.ortool, a.model, a.model, "--input", f"input={tmp}/rank2.npy")
        check(one_error_line(code, err, 2, "input"), "--input of the wrong rank: exit 2", err)

    print(f"{len(FAILS)} failure(s)")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
