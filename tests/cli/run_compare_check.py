#!/usr/bin/python3
# End-to-end tests of `ortool run` and `ortool compare`: outputs, gates, and bad inputs at run time.
"""Checks, on testdata/small_convnet.onnx (input 'input' [batch,3,32,32] float, output 'probs'):

run: the summary, --json, --output-dir (output_K.pb and --format npy) with values that numpy
recomputes from the model's weights, --seed reproducibility.
compare: a model against itself (zero error, exit 0), against a perturbed copy (exit 1 naming the
output and the worst element), --expected-dir with stored outputs, --min-cosine/--min-sqnr gates,
--json report.
Bad inputs (BAD_INPUTS.md 29-30): wrong rank, element type, fixed dim, symbolic dim bound to 0 or to
a huge value, an unknown input name, NaN inputs (run, NaN propagates, no crash), --max-memory too
small: each exit 2 with one error line (except NaN: exit 0), never a crash or partial output.
Scalar inputs: a one-element tensor fed for a declared scalar runs with a warning (as ONNX Runtime runs
it); a longer, empty or wrongly typed tensor stays an error.
"""
import argparse
import json
import os
import sys
import tempfile

import numpy as np
import onnx
from check_util import FAILS, check, one_error_line, run
from onnx import numpy_helper



def conv3x3_pad1(x, w, b=None):
    n, c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros((n, w.shape[0], h, wd), np.float64)
    for i in range(3):
        for j in range(3):
            out += np.einsum("nchw,oc->nohw", xp[:, :, i:i + h, j:j + wd], w[:, :, i, j])
    return out if b is None else out + b[None, :, None, None]


def reference_probs(model_path, x):
    """small_convnet's output computed in numpy from its weights (independent of ortool; Debian's
    onnx 1.12 has no reference evaluator)."""
    m = onnx.load(model_path)
    w = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type == "Constant":
            w[n.output[0]] = numpy_helper.to_array(n.attribute[0].t).astype(np.float64)
    ops = [n.op_type for n in m.graph.node]
    assert ops == ["Conv", "Relu", "MaxPool", "Constant", "Conv", "Relu", "GlobalAveragePool", "Flatten", "Gemm",
                   "Softmax"], ops
    y = np.maximum(conv3x3_pad1(x.astype(np.float64), w["w1"], w["b1"]), 0)
    n_, c, h, wd = y.shape
    y = y.reshape(n_, c, h // 2, 2, wd // 2, 2).max(axis=(3, 5))
    y = np.maximum(conv3x3_pad1(y, w["w2"]), 0)
    y = y.mean(axis=(2, 3))
    logits = y @ w["w3"] + w["b3"]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def save_npy(d, name, arr):
    path = os.path.join(d, name)
    np.save(path, arr)
    return path


def scalar_input_checks(ortool, tmp):
    """A one-element tensor fed for a declared scalar runs (as in ONNX Runtime) with a warning; nothing else."""
    from onnx import TensorProto, helper
    g = helper.make_graph(
        [helper.make_node("Cast", ["sr"], ["srf"], to=TensorProto.FLOAT), helper.make_node("Mul", ["x", "srf"], ["y"])],
        "scalar_rate", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3]),
                        helper.make_tensor_value_info("sr", TensorProto.INT64, [])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])])
    model = os.path.join(tmp, "scalar_rate.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), model)
    xp = save_npy(tmp, "sx.npy", np.array([1, 2, 3], np.float32))
    for what, sr, note in [("scalar", np.array(4, np.int64), False), ("shape [1]", np.array([4], np.int64), True),
                           ("shape [1, 1]", np.array([[4]], np.int64), True)]:
        sp = save_npy(tmp, "sr.npy", sr)
        code, out, err = run(ortool, "run", model, "--input", f"x={xp}", "--input", f"sr={sp}", "--json")
        try:
            js = json.loads(out)
        except ValueError:
            js = {}
        warned = [w for w in js.get("warnings", []) if "'sr'" in w and "scalar" in w]
        check(code == 0 and len(warned) == int(note) and len(js.get("warnings", [])) == int(note),
              f"scalar input fed a {what}: exit 0, {'one warning naming it' if note else 'no warning'} in --json "
              f"(exit {code}, warnings {js.get('warnings')}, {err.strip()[:160]})")
        od = os.path.join(tmp, "scalar_out")
        code, out, err = run(ortool, "run", model, "--input", f"x={xp}", "--input", f"sr={sp}", "--output-dir", od,
                             "--format", "npy")
        y = np.load(os.path.join(od, "y.npy")) if code == 0 else None
        check(y is not None and y.shape == (3,) and np.array_equal(y, np.array([4, 8, 12], np.float32)),
              f"scalar input fed a {what}: y = x * 4 of shape (3,) (exit {code}, y {y})")
        check(("warning" in err and "'sr'" in err) == note, f"scalar input fed a {what}: warning on stderr iff noted")
        code, out, err = run(ortool, "bench", model, "--input", f"x={xp}", "--input", f"sr={sp}", "--json",
                             "--iters", "2", "--warmup", "1", "--threads", "2")
        try:
            jb = json.loads(out)
        except ValueError:
            jb = {}
        # (bench may also warn that the runs are too spread on a busy machine)
        check(code == 0 and len([w for w in jb.get("warnings", []) if "'sr'" in w]) == int(note),
              f"bench of a scalar input fed a {what}: exit 0, warnings in --json (exit {code}, {err.strip()[:160]})")
        check(jb.get("threads") == 2 and jb.get("threads_used") in (1, 2),
              f"bench --threads 2 --json reports the threads asked and used, 1 or 2 ({jb.get('threads_used')})")
    for what, sr in [("shape [2]", np.array([4, 5], np.int64)), ("empty", np.zeros((0,), np.int64)),
                     ("wrong element type", np.array([4], np.int32))]:
        sp = save_npy(tmp, "sr_bad.npy", sr)
        od = os.path.join(tmp, "scalar_bad_out")
        code, out, err = run(ortool, "run", model, "--input", f"x={xp}", "--input", f"sr={sp}", "--output-dir", od)
        check(one_error_line(code, err, must_name="sr") and not os.path.exists(od),
              f"scalar input fed {what}: exit 2, one line naming 'sr', no output ({err.strip()[:160]})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ortool", required=True)
    ap.add_argument("--model", required=True)
    a = ap.parse_args()
    ortool, model = a.ortool, a.model
    tmp = tempfile.mkdtemp(prefix="ortool_run_")
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 32, 32)).astype(np.float32)
    x_path = save_npy(tmp, "x.npy", x)

    # --- run ---------------------------------------------------------------------------------
    code, out, err = run(ortool, "run", model, "--input", f"input={x_path}")
    check(code == 0 and "probs" in out, f"run prints a summary naming the output (exit {code}, {err.strip()})")
    code, out, err = run(ortool, "run", model, "--input", f"input={x_path}", "--json")
    try:
        js = json.loads(out)
        check(code == 0 and "probs" in json.dumps(js), "run --json prints JSON naming the output")
    except ValueError:
        check(False, f"run --json prints JSON (got {out[:200]!r})")

    want = reference_probs(model, x)
    od = os.path.join(tmp, "out_pb")
    code, out, err = run(ortool, "run", model, "--input", f"input={x_path}", "--output-dir", od)
    got_pb = None
    if code == 0 and os.path.exists(os.path.join(od, "output_0.pb")):
        t = onnx.TensorProto()
        with open(os.path.join(od, "output_0.pb"), "rb") as f:
            t.ParseFromString(f.read())
        got_pb = numpy_helper.to_array(t)
        check(t.name == "probs", "output_0.pb is named after the graph output")
    check(got_pb is not None and got_pb.shape == want.shape and np.allclose(got_pb, want, rtol=1e-4, atol=1e-6),
          "run --output-dir writes output_0.pb equal to the numpy forward pass")
    od_npy = os.path.join(tmp, "out_npy")
    code, out, err = run(ortool, "run", model, "--input", f"input={x_path}", "--output-dir", od_npy, "--format", "npy")
    npy_path = os.path.join(od_npy, "probs.npy")
    check(code == 0 and os.path.exists(npy_path) and np.allclose(np.load(npy_path), want, rtol=1e-4, atol=1e-6),
          "run --format npy writes probs.npy with the same values")

    r1 = os.path.join(tmp, "r1")
    r2 = os.path.join(tmp, "r2")
    r3 = os.path.join(tmp, "r3")
    run(ortool, "run", model, "--random", "--seed", "5", "--shape", "batch=3", "--output-dir", r1, "--format", "npy")
    run(ortool, "run", model, "--random", "--seed", "5", "--shape", "batch=3", "--output-dir", r2, "--format", "npy")
    run(ortool, "run", model, "--random", "--seed", "6", "--shape", "batch=3", "--output-dir", r3, "--format", "npy")
    try:
        p1, p2, p3 = (np.load(os.path.join(d, "probs.npy")) for d in (r1, r2, r3))
        check(p1.shape == (3, 10) and np.array_equal(p1, p2) and not np.array_equal(p1, p3),
              "--random --seed is reproducible, --shape binds the batch, another seed differs")
    except OSError as e:
        check(False, f"--random runs write outputs ({e})")

    # --- compare -----------------------------------------------------------------------------
    code, out, err = run(ortool, "compare", model, model, "--random", "3", "--seed", "1", "--json")
    try:
        rep = json.loads(out)
        outs = rep["outputs"]
        check(code == 0 and rep["passed"] and outs and all(o["max_abs_error"] == 0 for o in outs),
              "compare of a model with itself: exit 0, max abs error 0")
    except ValueError:
        check(False, f"compare --json prints JSON (exit {code}, {err.strip()})")

    m = onnx.load(model)
    w = numpy_helper.to_array(m.graph.initializer[-1]).copy()  # last bias (Gemm)
    w[3] += 0.5
    m.graph.initializer[-1].CopyFrom(numpy_helper.from_array(w, m.graph.initializer[-1].name))
    perturbed = os.path.join(tmp, "perturbed.onnx")
    onnx.save(m, perturbed)
    code, out, err = run(ortool, "compare", model, perturbed, "--random", "2", "--seed", "1")
    check(code == 1 and "probs" in err and "worst" in err, f"a perturbed model fails the default gate naming the worst element ({err.strip()[:160]})")
    code, out, err = run(ortool, "compare", model, perturbed, "--random", "2", "--seed", "1", "--atol", "1", "--rtol", "1")
    check(code == 0, "loose tolerances let the perturbed model pass")
    code, out, err = run(ortool, "compare", model, perturbed, "--random", "2", "--seed", "1", "--atol", "1", "--rtol", "1",
                         "--min-cosine", "0.9999999")
    check(code == 1 and "cosine" in err, "--min-cosine fails the perturbed model")
    code, out, err = run(ortool, "compare", model, perturbed, "--random", "2", "--seed", "1", "--atol", "1", "--rtol", "1",
                         "--min-sqnr", "200")
    check(code == 1 and "SQNR" in err.upper(), "--min-sqnr fails the perturbed model")

    # --expected-dir: stored outputs from the numpy forward pass pass; tampered ones fail.
    sd = os.path.join(tmp, "set")
    os.makedirs(sd)
    with open(os.path.join(sd, "input_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(x, "input").SerializeToString())
    with open(os.path.join(sd, "output_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(want, "probs").SerializeToString())
    code, out, err = run(ortool, "compare", model, "--expected-dir", sd)
    check(code == 0, f"--expected-dir with the numpy outputs passes ({err.strip()[:160]})")
    bad = want.copy()
    bad[1, 4] += 0.25
    with open(os.path.join(sd, "output_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(bad, "probs").SerializeToString())
    code, out, err = run(ortool, "compare", model, "--expected-dir", sd)
    check(code == 1 and "[1,4]" in err.replace(" ", ""), f"--expected-dir names the tampered element [1,4] ({err.strip()[:200]})")

    # --inputs: one sample per file and one per subfolder; the perturbed model fails on each.
    samples = os.path.join(tmp, "samples")
    os.makedirs(samples)
    for k in range(3):
        np.save(os.path.join(samples, f"s{k}.npy"), rng.standard_normal((1, 3, 32, 32)).astype(np.float32))
    code, out, err = run(ortool, "compare", model, model, "--inputs", samples, "--json")
    check(code == 0 and json.loads(out)["samples"] == 3, "--inputs with one .npy per sample runs 3 samples")
    sub = os.path.join(tmp, "subsamples")
    for k in range(2):
        os.makedirs(os.path.join(sub, f"case{k}"))
        np.save(os.path.join(sub, f"case{k}", "input.npy"), rng.standard_normal((1, 3, 32, 32)).astype(np.float32))
    code, out, err = run(ortool, "compare", model, perturbed, "--inputs", sub, "--json")
    check(code == 1 and json.loads(out)["samples"] == 2, "--inputs with one subfolder per sample: 2 samples, gate fails")

    # --threads 2 computes the same numbers as 1 thread.
    t1, t2 = os.path.join(tmp, "t1"), os.path.join(tmp, "t2")
    run(ortool, "run", model, "--input", f"input={x_path}", "--output-dir", t1, "--format", "npy", "--threads", "1")
    run(ortool, "run", model, "--input", f"input={x_path}", "--output-dir", t2, "--format", "npy", "--threads", "2")
    try:
        check(np.allclose(np.load(os.path.join(t1, "probs.npy")), np.load(os.path.join(t2, "probs.npy")), rtol=1e-5,
                          atol=1e-7), "--threads 2 gives the same outputs as 1 thread")
    except OSError as e:
        check(False, f"--threads runs write outputs ({e})")

    # --- bad inputs at run time (BAD_INPUTS.md 29-30) -----------------------------------------
    cases = [
        ("wrong rank", rng.standard_normal((3, 32, 32)).astype(np.float32), "input"),
        ("wrong element type", x.astype(np.float64), "input"),
        ("wrong fixed dim", rng.standard_normal((1, 4, 32, 32)).astype(np.float32), "input"),
        ("symbolic dim bound to 0", np.zeros((0, 3, 32, 32), np.float32), None),
    ]
    for what, arr, name in cases:
        p = save_npy(tmp, "bad.npy", arr)
        outd = os.path.join(tmp, "bad_out")
        code, out, err = run(ortool, "run", model, "--input", f"input={p}", "--output-dir", outd)
        if what == "symbolic dim bound to 0":
            # An empty batch is a valid shape: it runs and gives empty outputs, as ONNX Runtime does.
            shape = None
            try:
                t = onnx.TensorProto()
                with open(os.path.join(outd, "output_0.pb"), "rb") as f:
                    t.ParseFromString(f.read())
                shape = numpy_helper.to_array(t).shape
            except OSError:
                pass
            check(code == 0 and shape == (0, 10),
                  f"{what}: exit 0 and an empty probs output of shape (0, 10) (exit {code}, shape {shape}, "
                  f"{err.strip()[:160]})")
        else:
            check(one_error_line(code, err, must_name=name) and not os.path.exists(outd),
                  f"{what}: exit 2, one line naming '{name}', no output written ({err.strip()[:160]})")
    code, out, err = run(ortool, "run", model, "--random", "--shape", "batch=4000000000")
    check(one_error_line(code, err), f"symbolic dim bound to a huge value: exit 2, one line ({err.strip()[:160]})")
    code, out, err = run(ortool, "run", model, "--input", f"nosuch={x_path}")
    check(one_error_line(code, err, must_name="nosuch"), "unknown input name: exit 2 naming it")
    code, out, err = run(ortool, "run", model, "--input", f"input={os.path.join(tmp, 'missing.npy')}")
    check(one_error_line(code, err, must_name="missing.npy"), "missing input file: exit 2 naming it")
    xn = x.copy()
    xn[0, 0, 0, 0] = np.nan
    pn = save_npy(tmp, "nan.npy", xn)
    nd = os.path.join(tmp, "nan_out")
    # The reference kernels propagate NaN (numpy semantics); oneDNN, like ONNX Runtime, may turn it
    # into a number in Relu/MaxPool, so the default providers only have to run cleanly.
    code, out, err = run(ortool, "run", model, "--input", f"input={pn}", "--output-dir", nd, "--format", "npy",
                         "--providers", "cpu")
    ok = code == 0 and np.isnan(np.load(os.path.join(nd, "probs.npy"))[0]).all()
    check(ok, f"NaN input, cpu provider: runs and NaN propagates to that sample's output (exit {code})")
    nd2 = os.path.join(tmp, "nan_out_default")
    code, out, err = run(ortool, "run", model, "--input", f"input={pn}", "--output-dir", nd2, "--format", "npy")
    ok = code == 0 and np.isfinite(np.load(os.path.join(nd2, "probs.npy"))[1]).all()
    check(ok, f"NaN input, default providers: runs cleanly, the other sample stays finite (exit {code})")
    code, out, err = run(ortool, "run", model, "--random", "--shape", "batch=64", "--max-memory", "64K")
    check(one_error_line(code, err) and "memory" in err, f"--max-memory too small: exit 2 ({err.strip()[:160]})")
    code, out, err = run(ortool, "run", model, "--random", "--shape", "batch=2", "--max-memory", "64M")
    check(code == 0, "--max-memory large enough: runs")
    code, out, err = run(ortool, "run", model, "--random", "--max-memory", "lots")
    check(one_error_line(code, err), "--max-memory with a bad size: exit 2")

    scalar_input_checks(ortool, tmp)

    print(f"{len(FAILS)} failure(s)")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
