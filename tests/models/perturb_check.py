#!/usr/bin/python3
"""The real-model gates can fail: scales the weights of a model's last ConvTranspose by 1.2 and requires
`ortool compare --expected-dir SET GATES...` to exit 1 on every given reference set, with the same gates
the model_* tests use, and `ortool compare MODEL PERTURBED --random 1` (default gates and --min-sqnr) to
exit 1 too. Without the perturbation every set passes with these gates (the model_* tests).

Usage: perturb_check.py --ortool ORTOOL --model MODEL.onnx --case SET_DIR="--atol 1e-4 ..." [--case ...]
                        [--shape NAME=DIMS]
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

SCALE = 1.2


def scale_last_conv_transpose(model):
    """Scales the weight of the last ConvTranspose (an initializer or a Constant node's value) in place."""
    nodes = [n for n in model.graph.node if n.op_type == "ConvTranspose"]
    if not nodes:
        raise SystemExit("perturb_check: the model has no ConvTranspose")
    w = nodes[-1].input[1]
    for init in model.graph.initializer:
        if init.name == w:
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * np.float32(SCALE), w))
            return nodes[-1].name
    for n in model.graph.node:
        if n.op_type == "Constant" and n.output[0] == w:
            t = n.attribute[0].t
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t) * np.float32(SCALE), t.name))
            return nodes[-1].name
    raise SystemExit(f"perturb_check: weight {w} is neither an initializer nor a Constant")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ortool", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--case", action="append", default=[], help='SET_DIR="GATES": a reference set and its gates')
    ap.add_argument("--shape", default=None, help="input shape for the random comparison (NAME=d0,d1,...)")
    a = ap.parse_args()
    if not a.case:
        ap.error("no --case given")
    failures = []
    with tempfile.TemporaryDirectory(prefix="ortool_perturb_") as tmp:
        model = onnx.load(a.model)
        node = scale_last_conv_transpose(model)
        perturbed = os.path.join(tmp, "perturbed.onnx")
        onnx.save(model, perturbed)
        print(f"{os.path.basename(os.path.dirname(a.model))}: weights of {node} scaled by {SCALE}")
        runs = []
        for case in a.case:
            set_dir, gates = case.split("=", 1)
            runs.append((f"reference set {os.path.basename(set_dir)} ({gates})",
                         [a.ortool, "compare", perturbed, "--expected-dir", set_dir] + gates.split()))
        shape = ["--shape", a.shape] if a.shape else []
        runs.append(("the original vs the perturbed model on random input, --min-sqnr 60",
                     [a.ortool, "compare", a.model, perturbed, "--random", "1"] + shape + ["--min-sqnr", "60"]))
        for what, cmd in runs:
            p = subprocess.run(cmd, capture_output=True, text=True, check=False)
            verdict = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else p.stdout.strip().splitlines()[-1]
            ok = p.returncode == 1
            print(f"{'ok' if ok else 'FAIL'}: {what}: exit {p.returncode} (want 1): {verdict}")
            if not ok:
                failures.append(what)
                print("  " + (p.stdout + p.stderr).strip().replace("\n", "\n  "))
    print(f"{len(runs) - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
