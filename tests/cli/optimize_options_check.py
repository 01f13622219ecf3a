#!/usr/bin/python3
"""End-to-end tests of `ortool optimize`'s options on a small model built here (Identity, Conv +
BatchNormalization + Relu, a Transpose pair that cancels, a constant Add to fold):
--list-passes, --level, --passes, --disable, --print-ir-after, --max-rewrites, --target-opset, --check
(including a failing check: exit 1, nothing written, an existing output left as it was), --onnx-check,
--fold-max-bytes and --verify-each.

Usage: optimize_options_check.py --ortool ORTOOL
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from check_util import FAILS, check, one_error_line


def make_model(path):
    """8 nodes; the extended level leaves Conv, Relu and one Add (the constant Add folded)."""
    rng = np.random.default_rng(5)

    def init(name, a):
        return numpy_helper.from_array(a.astype(np.float32), name)

    inits = [init("w", rng.standard_normal((8, 3, 3, 3)) * 0.3), init("scale", rng.uniform(0.5, 1.5, 8)),
             init("bias", rng.standard_normal(8) * 0.1), init("mean", rng.standard_normal(8) * 0.1),
             init("var", rng.uniform(0.5, 1.5, 8)),
             # 8 KiB each: --fold-max-bytes 1K leaves their sum alone.
             init("big_a", rng.standard_normal((8, 16, 16))), init("big_b", rng.standard_normal((8, 16, 16)))]
    nodes = [
        helper.make_node("Identity", ["x"], ["xi"], name="identity"),
        helper.make_node("Conv", ["xi", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "scale", "bias", "mean", "var"], ["bn"], name="bn"),
        helper.make_node("Relu", ["bn"], ["r"], name="relu"),
        helper.make_node("Transpose", ["r"], ["t1"], name="t1", perm=[0, 2, 3, 1]),
        helper.make_node("Transpose", ["t1"], ["t2"], name="t2", perm=[0, 3, 1, 2]),
        helper.make_node("Add", ["big_a", "big_b"], ["big"], name="fold_me"),
        helper.make_node("Add", ["t2", "big"], ["y"], name="add"),
    ]
    g = helper.make_graph(nodes, "options", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 16, 16])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="optimize_options_check")
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, path)


class Optimize:
    def __init__(self, ortool, model):
        self.ortool, self.model = ortool, model

    def __call__(self, *args, json_out=True):
        cmd = [self.ortool, "optimize", self.model, *args] + (["--json"] if json_out else [])
        p = subprocess.run(cmd, capture_output=True, text=True, check=False)
        j = None
        if json_out and p.returncode in (0, 1) and p.stdout.strip():
            try:
                j = json.loads(p.stdout)
            except json.JSONDecodeError:
                pass
        return p.returncode, j, p.stdout, p.stderr


def ops(j):
    return j["after"]["op_counts"] if j else {}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ortool", required=True)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ortool_optopts_") as tmp:
        model = os.path.join(tmp, "m.onnx")
        make_model(model)
        opt = Optimize(a.ortool, model)

        # --list-passes: needs no model; text and JSON name the same passes.
        p = subprocess.run([a.ortool, "optimize", "--list-passes", "--json"], capture_output=True, text=True)
        listed = json.loads(p.stdout) if p.returncode == 0 else []
        names = {x["name"] for x in listed}
        check(p.returncode == 0 and {"fuse_conv_bn", "fuse_transpose_pairs", "constant_folding"} <= names
               and all(x["description"] and set(x["levels"]) <= {"basic", "extended"} for x in listed),
               "--list-passes --json lists every pass with a description and its levels", p.stdout[:300])
        p = subprocess.run([a.ortool, "optimize", "--list-passes"], capture_output=True, text=True)
        text_names = {line.split()[0] for line in p.stdout.splitlines() if line.strip()}
        check(p.returncode == 0 and text_names == names, "--list-passes text names the passes --json names",
               f"{sorted(text_names ^ names)}")
        basic = {x["name"] for x in listed if "basic" in x["levels"]}
        extended = {x["name"] for x in listed if "extended" in x["levels"]}

        # --level
        code, full, _, err = opt()
        check(code == 0 and full and full["level"] == "extended" and set(full["passes"]) == extended
               and ops(full) == {"Add": 1, "Conv": 1, "Relu": 1} and full["before"]["nodes"] == 8,
               "default level extended: runs the extended passes, 8 nodes -> Conv, Relu, Add", f"{ops(full)} {err}")
        code, j, _, err = opt("--level", "basic")
        check(code == 0 and j and j["level"] == "basic" and set(j["passes"]) == basic
               and set(j["passes"]) != extended and "Transpose" not in ops(j) and "BatchNormalization" not in ops(j),
               "--level basic: the basic passes only (BatchNormalization folded, the Transpose pair cancelled, "
               "as ONNX Runtime's basic level does)",
               f"{ops(j)} {err}")
        code, _, _, err = opt("--level", "bogus")
        check(one_error_line(code, err, 2, "bogus"), "--level bogus: exit 2 naming the value", err)

        # --passes and --disable
        code, j, _, err = opt("--passes", "fuse_conv_bn")
        check(code == 0 and j and j["passes"] == ["fuse_conv_bn"] and j["level"] is None
               and "BatchNormalization" not in ops(j) and ops(j).get("Identity") == 1 and ops(j).get("Transpose") == 2,
               "--passes fuse_conv_bn: that pass alone", f"{j and j['passes']} {ops(j)} {err}")
        code, j, _, err = opt("--passes", "eliminate_identity,fuse_transpose_pairs")
        check(code == 0 and j and j["passes"] == ["eliminate_identity", "fuse_transpose_pairs"]
               and "Identity" not in ops(j) and "Transpose" not in ops(j) and ops(j).get("BatchNormalization") == 1,
               "--passes A,B: those passes, in that order", f"{j and j['passes']} {ops(j)} {err}")
        code, _, _, err = opt("--passes", "bogus")
        check(one_error_line(code, err, 2, "bogus"), "--passes bogus: exit 2 naming the pass", err)
        code, j, _, err = opt("--disable", "fuse_conv_bn,fuse_transpose_pairs")
        check(code == 0 and j and "fuse_conv_bn" not in j["passes"] and "fuse_transpose_pairs" not in j["passes"]
               and ops(j).get("BatchNormalization") == 1 and ops(j).get("Transpose") == 2 and "Identity" not in ops(j),
               "--disable A,B: the level without those passes", f"{ops(j)} {err}")
        code, _, _, err = opt("--disable", "bogus")
        check(one_error_line(code, err, 2, "bogus"), "--disable bogus: exit 2 naming the pass", err)

        # --print-ir-after
        code, j, _, err = opt("--print-ir-after", "fuse_conv_bn")
        blocks = [b for b in err.split("// IR after ") if b.strip()]
        check(code == 0 and j and blocks and all(b.startswith("fuse_conv_bn") for b in blocks)
               and "Conv(" in blocks[0] and "BatchNormalization(" not in blocks[0],
               "--print-ir-after fuse_conv_bn: the IR after that pass on stderr, without the BatchNormalization",
               err[:400])
        code, j, _, err = opt("--print-ir-after", "all")
        printed = {b.split()[0] for b in err.split("// IR after ")[1:]}
        check(code == 0 and {"fuse_conv_bn", "eliminate_identity", "constant_folding"} <= printed,
               "--print-ir-after all: the IR after every pass that ran", f"{sorted(printed)}")
        code, _, _, err = opt("--print-ir-after", "bogus")
        check(one_error_line(code, err, 2, "bogus"), "--print-ir-after bogus: exit 2 naming the pass", err)

        # --max-rewrites
        code, j, _, err = opt("--max-rewrites", "1")
        check(code == 0 and j and j["rewrites"] == 1 and not j["converged"]
               and j["after"]["nodes"] > full["after"]["nodes"] and any("cap" in n for n in j["notes"]),
               "--max-rewrites 1: stops after one rewrite and says so", f"{j and (j['rewrites'], j['notes'])} {err}")
        code, j, _, err = opt("--max-rewrites", "0")
        check(code == 0 and j and j["rewrites"] == 0 and j["after"]["nodes"] == 8,
               "--max-rewrites 0: no rewrite", f"{j and j['after']['nodes']} {err}")

        # --target-opset
        out = os.path.join(tmp, "opset17.onnx")
        code, j, _, err = opt("-o", out, "--target-opset", "17")
        written = onnx.load(out) if os.path.exists(out) else None
        check(code == 0 and j and j["before"]["opset"] == 13 and j["after"]["opset"] == 17 and written
               and [o.version for o in written.opset_import if o.domain in ("", "ai.onnx")] == [17],
               "--target-opset 17: converted from 13, the written model imports opset 17", f"{j and j['after']} {err}")
        code, _, _, err = opt("--target-opset", "99")
        check(one_error_line(code, err, 2, "99"), "--target-opset 99 (newer than libonnx knows): exit 2", err)

        # --check
        code, j, _, err = opt("--check", "3")
        check(code == 0 and j and j["check"]["ran"] and j["check"]["passed"] and j["check"]["runs"] == 3,
               "--check 3: three runs on random inputs", f"{j and j['check']} {err}")
        code, j, text, err = opt("--check", "0")
        check(code == 0 and j and j["check"] is None, "--check 0: no check (null in --json)", err)
        code, _, text, err = opt("--check", "0", json_out=False)
        check(code == 0 and "check: off" in text, "--check 0: 'check: off' in the table", text)
        # A failing check (every element exact: folding BatchNormalization changes the rounding): exit 1,
        # no output written, an output that was there left as it was.
        out = os.path.join(tmp, "failed.onnx")
        code, j, _, err = opt("-o", out, "--atol", "0", "--rtol", "0")
        check(code == 1 and j and not j["check"]["passed"] and j["output"] is None and not os.path.exists(out)
               and "nothing written" in err,
               "a failing check: exit 1, nothing written, the failure named", f"exit {code} {err}")
        with open(out, "wb") as fh:
            fh.write(b"keep me")
        code, _, _, err = opt("-o", out, "--atol", "0", "--rtol", "0")
        with open(out, "rb") as fh:
            kept = fh.read() == b"keep me"
        check(code == 1 and kept, "a failing check leaves an existing output file as it was", err)
        leftovers = [f for f in os.listdir(tmp) if f.startswith("failed") and f != "failed.onnx"]
        check(not leftovers, "a failing check leaves no temporary file", f"{leftovers}")

        # --onnx-check and --verify-each
        out = os.path.join(tmp, "checked.onnx")
        code, j, _, err = opt("-o", out, "--onnx-check", "--verify-each")
        ok = os.path.exists(out)
        if ok:
            onnx.checker.check_model(onnx.load(out), full_check=True)
        check(code == 0 and ok and j and ops(j) == ops(full),
               "--onnx-check --verify-each: the model written, checked, the same result", err)

        # --fold-max-bytes
        code, j, _, err = opt("--fold-max-bytes", "1K")
        check(code == 0 and j and ops(j).get("Add") == 2 and j["after"]["initializers"] > full["after"]["initializers"],
               "--fold-max-bytes 1K: the 8 KiB constant sum stays an Add", f"{ops(j)} {err}")
        code, j, _, err = opt("--fold-max-bytes", "16M")
        check(code == 0 and j and ops(j).get("Add") == 1, "--fold-max-bytes 16M: the constant sum folded", err)
        code, _, _, err = opt("--fold-max-bytes", "12Q")
        check(one_error_line(code, err, 2, "12Q"), "--fold-max-bytes 12Q: exit 2 naming the value", err)

    print(f"{len(FAILS)} failure(s)")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
