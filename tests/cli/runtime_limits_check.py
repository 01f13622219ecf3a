#!/usr/bin/python3
# Hostile models and options at run time (issue 16 point 5): each must fail fast with exit 2 and one line.
"""Cases, each run through `ortool run` (and `compare` where the option is shared):

- Expand to 2 GiB under --max-memory 1G: refused before any large allocation, the node named, in run and
  compare, and with a convolutional model (128 MiB under --max-memory 64M) in bench, optimize's check, quantize's calibration, and prune's
  check and sensitivity sweep (no output file written);
- Tile with repeats whose output would not fit in memory: refused, no std::vector length error;
- Resize to an empty output with a huge dim (runs), to 2 GiB under --max-memory 1G and to one axis of
  2^41 (refused before its per-coordinate tables are built);
- Expand and Tile to an empty output with a huge dim: run (nothing to allocate);
- Loop with trip count 2^62 and an empty body: stopped at --max-loop-iterations, the node named;
- Loop whose scan output grows step by step past --max-memory: stopped by the limit;
- a model whose declared output type (int64) differs from what its node computes (float): refused;
- --input x=a.npy --input x=b.npy: refused, not silently the last one;
- subgraphs nested past the importer's limit: one line of bounded length;
- functions whose bodies nest If nodes (25 levels each, three functions deep: 75 levels once expanded,
  past the session's limit of 64 although every body passes the importer's): refused at run time,
  naming the first and last levels, in one short line.

Every case must end within TIMEOUT seconds, with exit code 2, exactly one `ortool: error:` line on
stderr naming what the case says, and nothing on stdout.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from check_util import nested_ifs
from onnx import TensorProto, helper

TIMEOUT = 60
failures = []


def check(case, args, names, ortool, max_seconds=TIMEOUT, expect_ok=False):
    t0 = time.monotonic()
    try:
        proc = subprocess.run([ortool] + args, capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        failures.append(f"{case}: did not end within {TIMEOUT} s")
        print(f"FAIL {case}: timeout", flush=True)
        return
    secs = time.monotonic() - t0
    err = proc.stderr.decode("utf-8", "replace")
    lines = err.splitlines()
    problems = []
    if expect_ok:
        if proc.returncode != 0:
            problems.append(f"exit {proc.returncode}, stderr {err.strip()!r}")
    else:
        if proc.returncode != 2:
            problems.append(f"exit {proc.returncode} (expected 2), stderr {err.strip()[:300]!r}")
        elif len(lines) != 1 or not lines[0].startswith("ortool: error: "):
            problems.append(f"stderr is not one error line: {err[:300]!r}")
        elif not all(n in lines[0] for n in names):
            problems.append(f"error does not name {names}: {lines[0]!r}")
        if proc.stdout:
            problems.append(f"unexpected stdout {proc.stdout[:200]!r}")
    if secs > max_seconds:
        problems.append(f"took {secs:.1f} s (at most {max_seconds} s)")
    if problems:
        failures.append(f"{case}: " + "; ".join(problems))
        print(f"FAIL {case}: " + "; ".join(problems), flush=True)
    else:
        print(f"ok   {case} ({secs:.1f} s){': ' + lines[0] if lines and not expect_ok else ''}", flush=True)
    return proc


def save(graph, path, opset=17):
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.save(m, path)
    return path


def i64(name, values):
    return helper.make_tensor(name, TensorProto.INT64, [len(values)], values)


def expand_model(tmp, shape, name):
    g = helper.make_graph(
        [helper.make_node("Expand", ["x", "shape"], ["y"], name="big_expand")], "expand",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [i64("shape", shape)])
    return save(g, os.path.join(tmp, name))


def tile_model(tmp, repeats, name):
    g = helper.make_graph(
        [helper.make_node("Tile", ["x", "reps"], ["y"], name="big_tile")], "tile",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [i64("reps", repeats)])
    return save(g, os.path.join(tmp, name))


def resize_model(tmp, sizes, name):
    g = helper.make_graph(
        [helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], name="big_resize", mode="linear")], "resize",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [i64("sizes", sizes)])
    return save(g, os.path.join(tmp, name), opset=13)


def loop_model(tmp, trips, scan, name):
    """A Loop with `trips` iterations; with `scan` its body also yields a 1 MiB scan output per step."""
    body_nodes = [helper.make_node("Identity", ["cond_in"], ["cond_out"])]
    body_outputs = [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, [])]
    if scan:
        body_nodes.append(helper.make_node("ConstantOfShape", ["scan_shape"], ["chunk"],
                                           value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0])))
        body_outputs.append(helper.make_tensor_value_info("chunk", TensorProto.FLOAT, [262144]))
    body = helper.make_graph(
        body_nodes, "body",
        [helper.make_tensor_value_info("iter", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, [])],
        body_outputs, [i64("scan_shape", [262144])] if scan else [])
    out = helper.make_tensor_value_info("stacked", TensorProto.FLOAT, None)
    g = helper.make_graph(
        [helper.make_node("Loop", ["trips", "cond"], ["stacked"] if scan else [], name="endless_loop", body=body)]
        + ([] if scan else [helper.make_node("Identity", ["x"], ["y"])]),
        "loop", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [out] if scan else [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
        [helper.make_tensor("trips", TensorProto.INT64, [], [trips]),
         helper.make_tensor("cond", TensorProto.BOOL, [], [True])])
    if not scan:
        # The Loop must run although nothing reads it: make its (empty) work a dependency of y.
        g = helper.make_graph(
            [helper.make_node("Loop", ["trips", "cond", "x"], ["x_out"], name="endless_loop",
                              body=helper.make_graph(
                                  [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
                                   helper.make_node("Identity", ["v_in"], ["v_out"])], "body",
                                  [helper.make_tensor_value_info("iter", TensorProto.INT64, []),
                                   helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
                                   helper.make_tensor_value_info("v_in", TensorProto.FLOAT, [1])],
                                  [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
                                   helper.make_tensor_value_info("v_out", TensorProto.FLOAT, [1])]))],
            "loop", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
            [helper.make_tensor_value_info("x_out", TensorProto.FLOAT, [1])],
            [helper.make_tensor("trips", TensorProto.INT64, [], [trips]),
             helper.make_tensor("cond", TensorProto.BOOL, [], [True])])
    return save(g, os.path.join(tmp, name))


def conv_expand_model(tmp):
    """x [1,1,1,1] expanded to a 128 MiB image, then two 1x1 convolutions: a model every command can work on
    (quantize calibrates it, prune finds channels) whose run needs more than 64 MiB."""
    rng = np.random.default_rng(0)
    w1 = helper.make_tensor("w1", TensorProto.FLOAT, [8, 1, 1, 1], rng.standard_normal(8).astype(np.float32))
    w2 = helper.make_tensor("w2", TensorProto.FLOAT, [1, 8, 1, 1], rng.standard_normal(8).astype(np.float32))
    g = helper.make_graph(
        [helper.make_node("Expand", ["x", "shape"], ["big"], name="big_expand"),
         helper.make_node("Conv", ["big", "w1"], ["c1"], name="conv1"),
         helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
         helper.make_node("Conv", ["r1", "w2"], ["y"], name="conv2")], "conv_expand",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 1, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [i64("shape", [1, 1, 1 << 12, 1 << 13]), w1, w2])
    return save(g, os.path.join(tmp, "conv_expand_128m.onnx"))


def wrong_output_type_model(tmp):
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="relu")], "wrong_type",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                          [helper.make_tensor_value_info("y", TensorProto.INT64, [2])])
    return save(g, os.path.join(tmp, "wrong_output_type.onnx"))


def nested_model(tmp, depth):
    """If nodes nested `depth` levels deep."""
    inner = helper.make_graph([helper.make_node("Identity", ["x"], ["o0"])], "level_0", [],
                              [helper.make_tensor_value_info("o0", TensorProto.FLOAT, [1])])
    for level in range(1, depth + 1):
        # Only the then-branch nests (both would double the file at every level).
        leaf = helper.make_graph([helper.make_node("Identity", ["x"], [f"e{level}"])], f"else_{level}", [],
                                 [helper.make_tensor_value_info(f"e{level}", TensorProto.FLOAT, [1])])
        node = helper.make_node("If", ["c"], [f"o{level}"], name=f"if_{level}", then_branch=inner, else_branch=leaf)
        inner = helper.make_graph([node], f"level_{level}", [],
                                  [helper.make_tensor_value_info(f"o{level}", TensorProto.FLOAT, [1])])
    g = helper.make_graph(inner.node, "nested",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1]),
                           helper.make_tensor_value_info("c", TensorProto.BOOL, [])],
                          list(inner.output))
    return save(g, os.path.join(tmp, "nested.onnx"))


def nested_functions_model(tmp, per_function=25, functions=3):
    """f0(x) .. f2(x): each body nests `per_function` If levels whose innermost then-branch calls the next
    function (the last returns Neg(x)); the main graph calls f0. Names carry the function's number: the
    inliner renames a body's own values, not those of the subgraphs inside it."""
    def body(k):
        leaf = (helper.make_node(f"f{k + 1}", ["x"], [f"f{k}_o0"], domain="local") if k + 1 < functions
                else helper.make_node("Neg", ["x"], [f"f{k}_o0"]))
        nodes = [helper.make_node("Constant", [], ["c"], value=helper.make_tensor("t", TensorProto.BOOL, [], [True])),
                 nested_ifs(leaf, per_function, "c", "x", prefix=f"f{k}_"),
                 helper.make_node("Identity", [f"f{k}_o{per_function}"], ["y"])]
        return helper.make_function("local", f"f{k}", ["x"], ["y"], nodes,
                                    [helper.make_opsetid("", 17), helper.make_opsetid("local", 1)])
    g = helper.make_graph([helper.make_node("f0", ["x"], ["y"], name="call_f0", domain="local")], "calls",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("local", 1)],
                          functions=[body(k) for k in range(functions)])
    m.ir_version = 8
    path = os.path.join(tmp, "nested_functions.onnx")
    onnx.save(m, path)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ortool", required=True)
    a = ap.parse_args()
    ort = a.ortool
    with tempfile.TemporaryDirectory(prefix="ortool_limits_") as tmp:
        x1 = os.path.join(tmp, "x1.npy")
        np.save(x1, np.ones([1], np.float32))
        big = expand_model(tmp, [1 << 29], "expand_2g.onnx")  # 2 GiB of float
        check("Expand 2 GiB under --max-memory 1G", ["run", big, "--input", f"x={x1}", "--max-memory", "1G"],
              ["big_expand", "--max-memory"], ort, max_seconds=20)
        check("compare: Expand 2 GiB under --max-memory 1G",
              ["compare", big, big, "--input", f"x={x1}", "--max-memory", "1G"], ["big_expand"], ort, max_seconds=20)
        # --max-memory on every command that runs a model (issue 16 point 4).
        conv = conv_expand_model(tmp)
        x1111 = os.path.join(tmp, "x1111.npy")
        np.save(x1111, np.ones([1, 1, 1, 1], np.float32))
        out = os.path.join(tmp, "out.onnx")
        check("bench: 128 MiB under --max-memory 64M",
              ["bench", conv, "--input", f"x={x1111}", "--max-memory", "64M", "--iters", "1", "--warmup", "0"],
              ["big_expand", "--max-memory"], ort, max_seconds=60)
        check("optimize's check: 128 MiB under --max-memory 64M",
              ["optimize", conv, "-o", out, "--max-memory", "64M"], ["conv_expand_128m.onnx", "big_expand", "--max-memory", "--check 0"], ort,
              max_seconds=60)
        check("quantize's calibration: 128 MiB under --max-memory 64M",
              ["quantize", conv, "-o", out, "--calib", x1111, "--max-memory", "64M"], ["big_expand", "--max-memory"],
              ort, max_seconds=60)
        check("prune's check: 128 MiB under --max-memory 64M",
              ["prune", conv, "-o", out, "--ratio", "0.5", "--max-memory", "64M"], ["big_expand", "--max-memory"], ort,
              max_seconds=60)
        check("prune's sweep: 128 MiB under --max-memory 64M",
              ["prune", conv, "-o", out, "--sensitivity", "--max-memory", "64M"], ["big_expand", "--max-memory"], ort,
              max_seconds=60)
        if os.path.exists(out):
            failures.append("an output file was written by a command that failed on --max-memory")

        empty = expand_model(tmp, [0, 1 << 40], "expand_empty.onnx")
        check("Expand to an empty output with a huge dim", ["run", empty, "--input", f"x={x1}"], [], ort,
              max_seconds=20, expect_ok=True)
        x12 = os.path.join(tmp, "x12.npy")
        np.save(x12, np.ones([1, 2], np.float32))
        huge_tile = tile_model(tmp, [1 << 40, 1 << 20], "tile_huge.onnx")
        check("Tile with huge repeats", ["run", huge_tile, "--input", f"x={x12}"], ["big_tile"], ort, max_seconds=20)
        tile_budget = tile_model(tmp, [1 << 14, 1 << 14], "tile_2g.onnx")
        check("Tile 2 GiB under --max-memory 1G",
              ["run", tile_budget, "--input", f"x={x12}", "--max-memory", "1G"], ["big_tile", "--max-memory"], ort,
              max_seconds=20)
        empty_tile = tile_model(tmp, [0, 1 << 40], "tile_empty.onnx")
        check("Tile to an empty output with a huge repeat", ["run", empty_tile, "--input", f"x={x12}"], [], ort,
              max_seconds=20, expect_ok=True)

        # Resize builds per-coordinate tables: only once the output is allocated and not empty.
        x22 = os.path.join(tmp, "x22.npy")
        np.save(x22, np.ones([2, 2], np.float32))
        check("Resize to an empty output with a huge dim",
              ["run", resize_model(tmp, [0, 1 << 40], "resize_empty.onnx"), "--input", f"x={x22}"], [], ort,
              max_seconds=20, expect_ok=True)
        check("Resize to 2 GiB under --max-memory 1G",
              ["run", resize_model(tmp, [1 << 15, 1 << 14], "resize_2g.onnx"), "--input", f"x={x22}",
               "--max-memory", "1G"], ["big_resize", "--max-memory"], ort, max_seconds=20)
        check("Resize to one huge axis",
              ["run", resize_model(tmp, [1, 1 << 41], "resize_axis.onnx"), "--input", f"x={x22}"],
              ["big_resize"], ort, max_seconds=20)

        endless = loop_model(tmp, 1 << 62, False, "loop_endless.onnx")
        check("Loop 2^62 trips, --max-loop-iterations 100000",
              ["run", endless, "--input", f"x={x1}", "--max-loop-iterations", "100000"],
              ["endless_loop", "100000 iterations", "--max-loop-iterations"], ort, max_seconds=30)
        check("Loop of 1000 trips under --max-loop-iterations 1000",
              ["run", loop_model(tmp, 1000, False, "loop_1000.onnx"), "--input", f"x={x1}",
               "--max-loop-iterations", "1000"], [], ort, expect_ok=True)
        growing = loop_model(tmp, 100000, True, "loop_growing.onnx")
        check("Loop scan output growing past --max-memory 64M",
              ["run", growing, "--input", f"x={x1}", "--max-memory", "64M"], ["endless_loop", "--max-memory"], ort,
              max_seconds=30)

        check("declared int64 output computed as float", ["run", wrong_output_type_model(tmp), "--random"],
              ["'y'", "int64", "float"], ort)

        x1b = os.path.join(tmp, "x1b.npy")
        np.save(x1b, np.full([1], 2, np.float32))
        check("--input given twice for one name",
              ["run", big, "--input", f"x={x1}", "--input", f"x={x1b}"], ["'x'", "twice"], ort)

        nested = nested_model(tmp, 80)
        proc = check("subgraphs nested 80 deep", ["info", nested], ["nested.onnx"], ort)
        if proc is not None and len(proc.stderr) > 400:
            failures.append(f"nesting error is {len(proc.stderr)} bytes long (at most 400)")
            print(f"FAIL nesting error length {len(proc.stderr)}: {proc.stderr[:200]!r}...", flush=True)

        x2 = os.path.join(tmp, "x2.npy")
        np.save(x2, np.ones([2], np.float32))
        deep_calls = nested_functions_model(tmp)
        proc = check("functions nesting subgraphs 75 levels deep once expanded", ["run", deep_calls, "--input", f"x={x2}"],
                     ["64 levels at run time", "call_f0/f0_if_25", "level 65", "f2_if_11"], ort)
        if proc is not None and len(proc.stderr) > 400:
            failures.append(f"run-time nesting error is {len(proc.stderr)} bytes long (at most 400)")
        shallow = nested_functions_model(tmp, per_function=10)
        check("functions nesting subgraphs 30 levels deep run", ["run", shallow, "--input", f"x={x2}"], [], ort,
              expect_ok=True)

    print(f"runtime_limits_check: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
