#!/usr/bin/python3
# Inside a region of the dnnl provider, pointwise and depthwise convs and windowed pools take the NHWC tensors
# as they are, and dense 3x3 convs pass each other tensors in the layout their kernels use (8-channel blocks on
# AVX2, NHWC on AVX-512), and grouped convs of 4-channel groups run NHWC on ortool's own kernel: oneDNN's
# verbose log shows no reorder of an activation between them, and the outputs equal the cpu provider's.
"""Builds a mobilenet-like chain (1x1 convs, depthwise 3x3 conv, 1x1 conv, max and average pools, 1x1 convs)
whose inner tensors have shapes nothing else in the model has, runs it with ONEDNN_VERBOSE=1 on
dnnl,cpu and on cpu, and checks: no reorder in the log names an inner tensor's shape (on AVX2 oneDNN's own
choice would put one before and after every conv), every inner step ran, and the outputs agree."""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_util import FAILS, check  # noqa: E402

H, W = 17, 19


def build(path):
    rng = np.random.RandomState(3)
    inits, nodes = [], []

    def conv(x, name, cin, cout, k, group=1, relu=True):
        w = numpy_helper.from_array((rng.randn(cout, cin // group, k, k) * 0.3).astype(np.float32), name + "_w")
        b = numpy_helper.from_array(rng.randn(cout).astype(np.float32) * 0.1, name + "_b")
        inits.extend([w, b])
        pad = k // 2
        nodes.append(helper.make_node("Conv", [x, w.name, b.name], [name], name=name, group=group,
                                      kernel_shape=[k, k], pads=[pad] * 4))
        if not relu:
            return name
        nodes.append(helper.make_node("Relu", [name], [name + "_relu"], name=name + "_relu"))
        return name + "_relu"

    # The first and last convs meet the graph's NCHW input and output: one reorder each (of a 16-channel tensor)
    # is the region's edge.
    e = conv("x", "pw0", 8, 16, 1)
    a = conv(e, "pw1", 16, 24, 1)
    d = conv(a, "dw", 24, 24, 3, group=24)
    p = conv(d, "pw2", 24, 40, 1, relu=False)
    nodes.append(helper.make_node("MaxPool", [p], ["mp"], name="mp", kernel_shape=[3, 3], pads=[1] * 4))
    nodes.append(helper.make_node("AveragePool", ["mp"], ["ap"], name="ap", kernel_shape=[3, 3], pads=[1] * 4,
                                  count_include_pad=1))
    f = conv("ap", "pw3", 40, 16, 1, relu=False)
    y = conv(f, "pw4", 16, 8, 1, relu=False)
    graph = helper.make_graph(nodes, "layout", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, H, W])],
                              [helper.make_tensor_value_info(y, TensorProto.FLOAT, [1, 8, H, W])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, path)


def build_dense(path):
    """Dense 3x3 convs with a residual Add: on AVX2 oneDNN runs them in 8-channel blocks, on AVX-512 NHWC; either
    way the tensors between them (16 and 24 channels) must not be reordered."""
    rng = np.random.RandomState(4)
    inits, nodes = [], []

    def conv(x, name, cin, cout, add=None):
        w = numpy_helper.from_array((rng.randn(cout, cin, 3, 3) * 0.2).astype(np.float32), name + "_w")
        b = numpy_helper.from_array(rng.randn(cout).astype(np.float32) * 0.1, name + "_b")
        inits.extend([w, b])
        nodes.append(helper.make_node("Conv", [x, w.name, b.name], [name], name=name, kernel_shape=[3, 3], pads=[1] * 4))
        y = name
        if add:
            nodes.append(helper.make_node("Add", [y, add], [name + "_add"], name=name + "_add"))
            y = name + "_add"
        nodes.append(helper.make_node("Relu", [y], [name + "_relu"], name=name + "_relu"))
        return name + "_relu"

    a = conv("x", "d0", 8, 16)
    b = conv(a, "d1", 16, 24)
    c = conv(b, "d2", 24, 24, add=b)
    y = conv(c, "d3", 24, 8)
    graph = helper.make_graph(nodes, "dense", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, H, W])],
                              [helper.make_tensor_value_info(y, TensorProto.FLOAT, [1, 8, H, W])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, path)


def build_groups4(path):
    """Grouped 3x3 convs of 4-channel groups (8 groups, then 9: a last half block) between 1x1 convs: they run on
    ortool's own NHWC kernel, so no tensor around them is reordered and oneDNN runs only the 1x1 convs."""
    rng = np.random.RandomState(5)
    inits, nodes = [], []

    def conv(x, name, cin, cout, k, group=1, act="Relu"):
        w = numpy_helper.from_array((rng.randn(cout, cin // group, k, k) * 0.3).astype(np.float32), name + "_w")
        b = numpy_helper.from_array(rng.randn(cout).astype(np.float32) * 0.1, name + "_b")
        inits.extend([w, b])
        nodes.append(helper.make_node("Conv", [x, w.name, b.name], [name], name=name, group=group,
                                      kernel_shape=[k, k], pads=[k // 2] * 4))
        if act == "Relu":
            nodes.append(helper.make_node("Relu", [name], [name + "_act"], name=name + "_act"))
        elif act == "Clip":
            lo = numpy_helper.from_array(np.array(-0.5, np.float32), name + "_lo")
            hi = numpy_helper.from_array(np.array(1.5, np.float32), name + "_hi")
            inits.extend([lo, hi])
            nodes.append(helper.make_node("Clip", [name, lo.name, hi.name], [name + "_act"], name=name + "_act"))
        else:
            return name
        return name + "_act"

    e = conv("x", "gp0", 8, 16, 1)
    a = conv(e, "gp1", 16, 32, 1)
    g = conv(a, "g8", 32, 32, 3, group=8)
    b = conv(g, "gp2", 32, 36, 1)
    h = conv(b, "g9", 36, 36, 3, group=9, act="Clip")
    c = conv(h, "gp3", 36, 16, 1, act="")
    y = conv(c, "gp4", 16, 8, 1, act="")
    graph = helper.make_graph(nodes, "groups4", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, H, W])],
                              [helper.make_tensor_value_info(y, TensorProto.FLOAT, [1, 8, H, W])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, path)


def run(ortool, model, providers, out_dir, verbose):
    env = dict(os.environ)
    if verbose:
        env["ONEDNN_VERBOSE"] = "1"
    p = subprocess.run([ortool, "run", model, "--random", "--seed", "5", "--providers", providers, "--output-dir",
                        out_dir, "--format", "npy"], capture_output=True, text=True, timeout=120, env=env)
    return p.returncode, p.stdout, p.stderr


def check_region(ortool, tmp, label, build_model, inner_channels, convs_on_onednn, what):
    """Builds a model, runs it on dnnl,cpu with oneDNN's verbose log and on cpu: no reorder names a tensor of
    `inner_channels` channels (`what`), oneDNN ran exactly `convs_on_onednn` convs (without the verbose log, or
    with the convs elsewhere, the reorder check would pass on nothing), and every output equals cpu's."""
    model = os.path.join(tmp, label + ".onnx")
    build_model(model)
    fast_dir, ref_dir = os.path.join(tmp, label + "_fast"), os.path.join(tmp, label + "_ref")
    code, out, err = run(ortool, model, "dnnl,cpu", fast_dir, True)
    check(code == 0, f"{label}: run on dnnl,cpu", err)
    execs = [l.split(",") for l in out.splitlines() if l.startswith("onednn_verbose,exec,cpu,")]
    inner = {f"1x{c}x{H}x{W}" for c in inner_channels}
    reorders = [",".join(e) for e in execs if e[3] == "reorder" and any(s in ",".join(e) for s in inner)]
    check(not reorders, f"{label}: no reorder of {what}", "\n".join(reorders[:4]))
    convs = [",".join(e) for e in execs if e[3] == "convolution"]
    check(len(convs) == convs_on_onednn, f"{label}: oneDNN ran {convs_on_onednn} convs ({len(convs)})", "\n".join(convs[:8]))
    code, _, err = run(ortool, model, "cpu", ref_dir, False)
    check(code == 0, f"{label}: run on cpu", err)
    if code != 0 or not os.path.isdir(fast_dir):
        return
    names = sorted(os.listdir(ref_dir))
    check(names == sorted(os.listdir(fast_dir)) and names, f"{label}: same output files", names)
    for n in names:
        if not os.path.exists(os.path.join(fast_dir, n)):
            continue
        a, b = np.load(os.path.join(fast_dir, n)), np.load(os.path.join(ref_dir, n))
        check(a.shape == b.shape and np.allclose(a, b, rtol=1e-4, atol=1e-4),
              f"{label}: {n}: dnnl equals cpu (max diff {np.abs(a - b).max() if a.shape == b.shape else 'shape'})")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ortool", required=True)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        check_region(args.ortool, tmp, "dense", build_dense, (16, 24), 4, "a tensor between the dense convs")
        # The grouped convs run on ortool's own kernel: oneDNN runs the five 1x1 convs alone.
        check_region(args.ortool, tmp, "groups4", build_groups4, (32, 36), 5, "a tensor around the grouped convs")
        check_region(args.ortool, tmp, "layout", build, (24, 40), 6, "an inner NHWC tensor")
    print(f"{len(FAILS)} failed")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
