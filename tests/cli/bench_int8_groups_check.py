#!/usr/bin/python3
"""`ortool bench --profile` names a quantized model's int8 groups and the ones that fell back, with the reason.

The model: x -> Q -> DQ -> conv_a (int8 weights, zero point 0) -> Q -> DQ -> convt (ConvTranspose, 2x2 stride 2)
-> Q -> DQ -> pool (AveragePool) -> Q -> DQ -> resize (nearest, 2x) -> Q -> DQ -> conv_b (weight zero point 3: no
int8 group can take it) -> Q -> DQ -> y. conv_a must be listed as "DQ->Conv->Q 'conv_a'" on the provider
(--provider: dnnl, or xnnpack; dnnl on a CPU without VNNI: as fallen back with a reason naming VNNI); on dnnl
also pool, resize and convt as their DQ->op->Q groups (convt, without VNNI, fallen back with such a reason);
conv_b as fallen back with "weight zero point is not 0", in the text and in --json. A float model (Conv, Relu,
MatMul without any Q/DQ) has no int8 rows at all: nothing there fell back.

Usage: bench_int8_groups_check.py --ortool ortool [--provider dnnl|xnnpack]
"""
import argparse, json, os, subprocess, sys, tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def model(path):
    rng = np.random.default_rng(5)
    inits = [
        numpy_helper.from_array(np.array(0.02, np.float32), "xs"), numpy_helper.from_array(np.array(128, np.uint8), "xz"),
        numpy_helper.from_array(rng.integers(-60, 60, (8, 4, 3, 3)).astype(np.int8), "wa"),
        numpy_helper.from_array(np.array(0.01, np.float32), "was"), numpy_helper.from_array(np.array(0, np.int8), "waz"),
        numpy_helper.from_array(np.array(0.05, np.float32), "ys"), numpy_helper.from_array(np.array(100, np.uint8), "yz"),
        numpy_helper.from_array(rng.integers(-60, 60, (8, 8, 1, 1)).astype(np.int8), "wb"),
        numpy_helper.from_array(np.array(0.01, np.float32), "wbs"), numpy_helper.from_array(np.array(3, np.int8), "wbz"),
        numpy_helper.from_array(rng.integers(-60, 60, (8, 8, 2, 2)).astype(np.int8), "wt"),
        numpy_helper.from_array(np.array(0.01, np.float32), "wts"), numpy_helper.from_array(np.array(0, np.int8), "wtz"),
        numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales"),
    ]
    n = helper.make_node
    nodes = [
        n("QuantizeLinear", ["x", "xs", "xz"], ["xq"], name="q_x"),
        n("DequantizeLinear", ["xq", "xs", "xz"], ["xf"], name="dq_x"),
        n("DequantizeLinear", ["wa", "was", "waz"], ["waf"], name="dq_wa"),
        n("Conv", ["xf", "waf"], ["a"], name="conv_a", pads=[1, 1, 1, 1]),
        n("QuantizeLinear", ["a", "ys", "yz"], ["aq"], name="q_a"),
        n("DequantizeLinear", ["aq", "ys", "yz"], ["af"], name="dq_a"),
        n("DequantizeLinear", ["wt", "wts", "wtz"], ["wtf"], name="dq_wt"),
        n("ConvTranspose", ["af", "wtf"], ["t"], name="convt", strides=[2, 2]),
        n("QuantizeLinear", ["t", "ys", "yz"], ["tq"], name="q_t"),
        n("DequantizeLinear", ["tq", "ys", "yz"], ["tf"], name="dq_t"),
        n("AveragePool", ["tf"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        n("QuantizeLinear", ["p", "ys", "yz"], ["pq"], name="q_p"),
        n("DequantizeLinear", ["pq", "ys", "yz"], ["pf"], name="dq_p"),
        n("Resize", ["pf", "", "scales"], ["r"], name="resize", mode="nearest"),
        n("QuantizeLinear", ["r", "ys", "yz"], ["rq"], name="q_r"),
        n("DequantizeLinear", ["rq", "ys", "yz"], ["af2"], name="dq_r"),
        n("DequantizeLinear", ["wb", "wbs", "wbz"], ["wbf"], name="dq_wb"),
        n("Conv", ["af2", "wbf"], ["b"], name="conv_b"),
        n("QuantizeLinear", ["b", "ys", "yz"], ["bq"], name="q_b"),
        n("DequantizeLinear", ["bq", "ys", "yz"], ["y"], name="dq_y"),
    ]
    g = helper.make_graph(nodes, "int8_groups", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 6, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 12, 12])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m = onnx.shape_inference.infer_shapes(m)
    onnx.save(m, path)


def float_model(path):
    rng = np.random.default_rng(6)
    inits = [numpy_helper.from_array(rng.standard_normal((8, 4, 3, 3)).astype(np.float32), "w"),
             numpy_helper.from_array(rng.standard_normal((6, 5)).astype(np.float32), "m")]
    n = helper.make_node
    nodes = [n("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]), n("Relu", ["c"], ["r"], name="relu"),
             n("MatMul", ["r", "m"], ["y"], name="matmul")]
    g = helper.make_graph(nodes, "float", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 6, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 6, 5])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ortool", required=True)
    ap.add_argument("--provider", default="dnnl", choices=["dnnl", "xnnpack"])
    a = ap.parse_args()
    failures = []
    with tempfile.TemporaryDirectory(prefix="ortool_int8_groups_") as tmp:
        path = os.path.join(tmp, "m.onnx")
        model(path)
        base = [a.ortool, "bench", path, "--iters", "2", "--warmup", "0", "--profile", "--providers", a.provider + ",cpu"]
        p = subprocess.run(base + ["--json"], capture_output=True, text=True)
        if p.returncode != 0:
            print(f"FAIL bench --json: exit {p.returncode}: {p.stderr.strip()[-400:]}")
            return 1
        rows = {r["node"]: r for r in json.loads(p.stdout)["profile"].get("int8_groups", [])}
        text = subprocess.run(base, capture_output=True, text=True).stdout
        a_row, b_row = rows.get("conv_a"), rows.get("conv_b")
        if not a_row:
            failures.append("conv_a has no int8_groups row")
        elif a_row["fused"]:
            if a_row["group"] != "DQ->Conv->Q" or a_row["provider"] != a.provider:
                failures.append(f"conv_a fused as {a_row['group']} on {a_row['provider']}; want DQ->Conv->Q on {a.provider}")
            if "DQ->Conv->Q 'conv_a'" not in text:
                failures.append("the text does not list DQ->Conv->Q 'conv_a'")
            # On dnnl the ConvTranspose (int8 on VNNI CPUs only), AveragePool and Resize between Q/DQ are int8
            # steps too.
            for node, op in (("convt", "ConvTranspose"), ("pool", "AveragePool"), ("resize", "Resize")):
                if a.provider != "dnnl":
                    break
                r = rows.get(node)
                if node == "convt" and r and not r["fused"] and "VNNI" in r.get("reason", ""):
                    continue
                if not r or not r["fused"] or r["group"] != f"DQ->{op}->Q" or r["provider"] != "dnnl":
                    failures.append(f"{node}: want DQ->{op}->Q on dnnl, got {r}")
                elif f"DQ->{op}->Q '{node}'" not in text:
                    failures.append(f"the text does not list DQ->{op}->Q '{node}'")
        elif a.provider != "dnnl" or "VNNI" not in a_row.get("reason", ""):
            failures.append(f"conv_a fell back for another reason than VNNI: {a_row.get('reason')}")
        if not b_row or b_row["fused"] or "weight zero point is not 0" not in b_row.get("reason", ""):
            failures.append(f"conv_b should have fallen back because of its weight zero point: {b_row}")
        if "fell back" not in text or "weight zero point is not 0" not in text:
            failures.append("the text does not show conv_b falling back with the reason")
        fpath = os.path.join(tmp, "float.onnx")
        float_model(fpath)
        fbase = [a.ortool, "bench", fpath, "--iters", "2", "--warmup", "0", "--profile", "--providers", a.provider + ",cpu"]
        p = subprocess.run(fbase + ["--json"], capture_output=True, text=True)
        if p.returncode != 0:
            failures.append(f"bench --json on the float model: exit {p.returncode}: {p.stderr.strip()[-400:]}")
        elif json.loads(p.stdout)["profile"].get("int8_groups"):
            failures.append(f"the float model has int8 rows: {json.loads(p.stdout)['profile']['int8_groups']}")
        if "fell back" in subprocess.run(fbase, capture_output=True, text=True).stdout:
            failures.append("the float model's text lists int8 ops that fell back")
        if not failures:
            print(f"ok   conv_a: {'fused ' + a_row['group'] if a_row['fused'] else 'fell back: ' + a_row['reason']}; "
                  f"conv_b fell back: {b_row['reason']}")
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
