#!/usr/bin/python3
# End-to-end tests of what a new user meets first (issue 9): shapes, vocabulary, bench spread, progress,
# --freeze-inputs, help and messages.
"""Checks, one block per point of issue 9:

3  no silent defaults: run --random, bench and optimize's check print the input shapes used (text and
   --json) and warn about symbolic dims set to 1; a --shape that binds nothing is exit 2; info --shape;
   info names the nodes it could not count and counts LSTM, GRU and RNN.
4  one vocabulary: --random [N] a count in run, bench and compare; --check N / --onnx-check; --input,
   --shape, --threads documented alike; --threads 0 is all cores.
6  bench: the spread rule in text, stderr and --json, triggered by a model whose run time depends on
   its input (a Range over n^3 elements) with seeded sets of very different sizes.
7  progress: drawn on a terminal (a pseudo-terminal here), nothing when stderr is a pipe.
8  optimize on initializer inputs: the note, --freeze-inputs on ultraface_rfb640 and on a model built
   here; the frozen models compute the same (ortool compare, and ONNX Runtime on ultraface's test image).
9  ortool help [CMD], "did you mean", CLI11 messages in ortool's words, sizes in errors, stale .data
   removal by convert, optimize without -o, no advertising of subcommands that do not exist.
"""
import argparse
import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FAILS = []
FUTURE_SUBCOMMANDS = ["quantize", "prune"]  # planned; must not be advertised before they exist


def check(cond, what):
    what = " ".join(what.split())  # one line per check, whatever the quoted output holds
    print(("ok   " if cond else "FAIL ") + what[:400], flush=True)
    if not cond:
        FAILS.append(what)


def run(ortool, *args, timeout=300):
    p = subprocess.run([ortool, *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def run_json(ortool, *args):
    code, out, err = run(ortool, *args, "--json")
    try:
        return code, json.loads(out), err
    except ValueError:
        return code, None, err


def run_on_terminal(args, timeout=300):
    """Runs with stderr on a pseudo-terminal (stdout a pipe); returns (exit code, stdout, stderr)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    err = b""
    out = b""
    os.set_blocking(p.stdout.fileno(), False)
    while True:
        ready, _, _ = select.select([master, p.stdout], [], [], timeout)
        if not ready:
            p.kill()
            break
        if p.stdout in ready:
            chunk = p.stdout.read()
            out += chunk or b""
        if master in ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                chunk = b""
            if not chunk:
                break
            err += chunk
    rest = p.stdout.read()
    out += rest or b""
    p.wait()
    os.close(master)
    return p.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def one_error_line(code, err, expect_code=2, words=()):
    lines = [l for l in err.splitlines() if l.strip()]
    return (code == expect_code and len(lines) == 1 and lines[0].startswith("ortool: error: ")
            and all(w in lines[0] for w in words))


def save(model, path):
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def cube_model(path):
    """n (int64 scalar) -> Range(0, 1000 n^3) -> Cast -> ReduceSum: the run time follows n^3."""
    nodes = [helper.make_node("Mul", ["n", "n"], ["n2"]), helper.make_node("Mul", ["n2", "n"], ["n3"]),
             helper.make_node("Mul", ["n3", "unit"], ["limit"]),
             helper.make_node("Range", ["zero", "limit", "one"], ["r"]),
             helper.make_node("Cast", ["r"], ["rf"], to=TensorProto.FLOAT),
             helper.make_node("ReduceSum", ["rf"], ["s"], keepdims=0)]
    g = helper.make_graph(nodes, "cube", [helper.make_tensor_value_info("n", TensorProto.INT64, [])],
                          [helper.make_tensor_value_info("s", TensorProto.FLOAT, [])],
                          [helper.make_tensor("one", TensorProto.INT64, [], [1]),
                           helper.make_tensor("zero", TensorProto.INT64, [], [0]),
                           helper.make_tensor("unit", TensorProto.INT64, [], [1000])])
    return save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)


def recurrent_model(path, op, gates, dirs, seq, batch, inp, hidden):
    """X [seq, batch, inp] through one LSTM/GRU/RNN; returns (path, the MACs it should count)."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((dirs, gates * hidden, inp)).astype(np.float32)
    r = rng.standard_normal((dirs, gates * hidden, hidden)).astype(np.float32)
    node = helper.make_node(op, ["x", "W", "R"], ["y", "y_h"], hidden_size=hidden,
                            direction="bidirectional" if dirs == 2 else "forward")
    g = helper.make_graph([node], op.lower(), [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["seq", "batch", inp])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["seq", dirs, "batch", hidden]),
                           helper.make_tensor_value_info("y_h", TensorProto.FLOAT, [dirs, "batch", hidden])],
                          [numpy_helper.from_array(w, "W"), numpy_helper.from_array(r, "R")])
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)]), path)
    return path, seq * batch * (w.size + r.size)


def old_export_model(path):
    """Conv + BatchNormalization, IR 7, every weight also a graph input (as old PyTorch exports)."""
    rng = np.random.default_rng(1)
    inits = {"w": rng.standard_normal((4, 3, 3, 3)), "b": rng.standard_normal(4), "gamma": rng.standard_normal(4),
             "beta": rng.standard_normal(4), "mean": rng.standard_normal(4), "var": rng.uniform(0.5, 2, 4)}
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3]),
             helper.make_node("BatchNormalization", ["c", "gamma", "beta", "mean", "var"], ["y"])]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])]
    inputs += [helper.make_tensor_value_info(k, TensorProto.FLOAT, list(v.shape)) for k, v in inits.items()]
    g = helper.make_graph(nodes, "old", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 6, 6])],
                          [numpy_helper.from_array(v.astype(np.float32), k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 9)])
    m.ir_version = 7
    return save(m, path)


def ort_available(runner):
    return bool(runner) and shutil.which("node") is not None and os.path.isdir(
        os.path.join(os.path.dirname(runner), "node_modules", "onnxruntime-node"))


def ort_outputs(runner, model, feeds, tmp, tag):
    ind, outd = os.path.join(tmp, tag + "_in"), os.path.join(tmp, tag + "_out")
    os.makedirs(ind, exist_ok=True)
    os.makedirs(outd, exist_ok=True)
    for k, v in feeds.items():
        np.save(os.path.join(ind, k + ".npy"), v)
    p = subprocess.run(["node", runner, model, ind, outd], capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        return None
    return {f[:-4]: np.load(os.path.join(outd, f)) for f in os.listdir(outd) if f.endswith(".npy")}


def point3_shapes(ortool, small, models, tmp):
    # run --random on a model with a symbolic batch: the shape used, the dim defaulted, the way out.
    code, out, err = run(ortool, "run", small, "--random")
    check(code == 0 and "inputs: input float32[1,3,32,32] (random)" in out,
          f"run --random prints the input shape used ({out.strip()[:200]})")
    warn = [l for l in err.splitlines() if l.startswith("ortool: warning:")]
    check(len(warn) == 1 and "batch" in warn[0] and "--shape" in warn[0] and "small_convnet.onnx" in warn[0],
          f"run --random warns that batch was set to 1 and points to --shape ({err.strip()[:300]})")
    code, j, err = run_json(ortool, "run", small, "--random")
    check(code == 0 and j is not None and j["inputs"] == [{"name": "input", "type": "float32[1,3,32,32]",
                                                           "source": "random", "defaulted_dims": ["batch"]}],
          f"run --json lists the input as used with its defaulted dim ({j and j.get('inputs')})")
    code, j, err = run_json(ortool, "run", small, "--random", "--shape", "batch=2")
    check(code == 0 and j["inputs"][0]["type"] == "float32[2,3,32,32]" and j["inputs"][0]["defaulted_dims"] == []
          and j["outputs"][0]["shape"] == [2, 10] and "warning" not in err,
          f"--shape batch=2 is used, and nothing is defaulted ({err.strip()[:200]})")

    code, j, err = run_json(ortool, "bench", small, "--iters", "3", "--warmup", "0")
    check(code == 0 and j["inputs"][0]["type"] == "float32[1,3,32,32]" and j["inputs"][0]["defaulted_dims"] == ["batch"]
          and any("batch" in w for w in j["warnings"]) and "batch" in err,
          f"bench --json lists the inputs, the defaulted dim and the warning ({err.strip()[:200]})")
    code, out, err = run(ortool, "bench", small, "--iters", "3", "--warmup", "0", "--shape", "input=4,3,32,32")
    check(code == 0 and "inputs       input float32[4,3,32,32] (random)" in out and "batch" not in err,
          f"bench prints the input shapes ({out.strip()[:300]})")

    code, j, err = run_json(ortool, "optimize", small)
    inputs = j and j["check"] and j["check"]["inputs"]
    check(code == 0 and inputs == [{"name": "input", "type": "float32[1,3,32,32]", "source": "random",
                                    "defaulted_dims": ["batch"]}] and "batch" in err and "--shape" in err,
          f"optimize's check reports its input shapes and the defaulted dim ({inputs}, {err.strip()[:200]})")
    code, out, err = run(ortool, "optimize", small, "--shape", "batch=3")
    check(code == 0 and "on random inputs input float32[3,3,32,32] (random)" in out,
          f"optimize's check line names the shapes it ran on ({out.strip()[-300:]})")
    # A failure on made-up dims says so on its one error line. (The limit clears the model's constants,
    # 4.5 KiB at most, which the session checks before any run: only the batch-1 activations fail.)
    code, out, err = run(ortool, "run", small, "--random", "--max-memory", "8K")
    check(one_error_line(code, err, words=("small_convnet.onnx", "KiB", "batch was set to 1")),
          f"a run failing on defaulted dims names them in its one error line ({err.strip()[:300]})")

    # A --shape that binds nothing is an error everywhere, naming what the model has.
    for cmd in (["run", small, "--random"], ["bench", small, "--iters", "1"], ["optimize", small], ["info", small]):
        code, out, err = run(ortool, *cmd, "--shape", "height=64")
        check(one_error_line(code, err, words=("'height'", "inputs: input", "symbolic dims: batch")),
              f"{cmd[0]} --shape height=64 (no such input or dim): exit 2 naming what exists ({err.strip()[:200]})")
    code, out, err = run(ortool, "run", small, "--random", "--shape", "input=1,3")
    check(one_error_line(code, err, words=("rank 4",)), f"--shape of the wrong rank: exit 2 ({err.strip()[:200]})")
    code, out, err = run(ortool, "run", small, "--random", "--shape", "input=1,4,32,32")
    check(one_error_line(code, err, words=("fixed to 3",)), f"--shape against a fixed dim: exit 2 ({err.strip()[:200]})")
    code, out, err = run(ortool, "run", small, "--random", "--shape", "batch=2", "--shape", "input=1,3,32,32")
    check(one_error_line(code, err, words=("already 2",)), f"two values for one dim: exit 2 ({err.strip()[:200]})")

    # info --shape: MACs at the given size.
    _, one, _ = run_json(ortool, "info", small)
    code, four, err = run_json(ortool, "info", small, "--shape", "batch=4")
    check(code == 0 and four["macs"] == 4 * one["macs"] and four["macs_symbols_as_1"] == []
          and four["inputs"][0]["type"] == "float32[4,3,32,32]" and four["shapes_bound"]["dims"] == {"batch": 4},
          f"info --shape batch=4 counts four times the MACs ({one['macs']} -> {four and four['macs']})")
    det = os.path.join(models, "ppocr_det_v3", "model.onnx")
    code, j, err = run_json(ortool, "info", det)
    unc = j["macs_uncounted"] if j else []
    check(code == 0 and len(unc) == j["macs_unknown_nodes"] > 0 and all(u["reason"] and u["node"] for u in unc),
          f"info names each node it could not count, with a reason ({unc[:1]})")
    code, out, err = run(ortool, "info", det)
    check(code == 0 and "not counted" in out and unc and unc[0]["node"] in out and "--json lists them all" in out,
          f"info's table names the first uncounted nodes ({out[out.find('MACs'):][:300]})")
    code, j2, err = run_json(ortool, "info", det, "--shape", "x=1,3,640,640")
    check(code == 0 and j2["macs_unknown_nodes"] < j["macs_unknown_nodes"] and j2["macs"] > 1000 * j["macs"],
          f"info --shape x=1,3,640,640 on ppocr_det_v3: shapes known, MACs of the real size "
          f"({j['macs']} -> {j2 and j2['macs']}, uncounted {j['macs_unknown_nodes']} -> {j2 and j2['macs_unknown_nodes']})")
    for op, gates, dirs in (("LSTM", 4, 1), ("LSTM", 4, 2), ("GRU", 3, 1), ("RNN", 1, 2)):
        path, want = recurrent_model(os.path.join(tmp, f"{op}{dirs}.onnx"), op, gates, dirs, 7, 2, 5, 6)
        code, j, err = run_json(ortool, "info", path, "--shape", "seq=7", "--shape", "batch=2")
        check(code == 0 and j["macs"] == want and j["macs_nodes"] == 1,
              f"info counts {op} ({dirs} direction{'s' if dirs > 1 else ''}): {j and j['macs']} == {want}")
    bilstm = os.path.join(models, "nnsplit_bilstm", "model.onnx")
    code, j, err = run_json(ortool, "info", bilstm, "--shape", "input=1,100")
    check(code == 0 and j["macs_uncounted"] == [] and j["macs"] > 100 * 2 * 4 * 64,
          f"info counts the real bidirectional LSTM model ({j and j['macs']} MACs)")


def point4_vocabulary(ortool, small, tmp):
    code, j, err = run_json(ortool, "run", small, "--random", "3", "--seed", "5")
    runs = j["runs"] if j else []
    check(code == 0 and [r["seed"] for r in runs] == [5, 6, 7] and len({json.dumps(r["outputs"]) for r in runs}) == 3
          and j["outputs"] == runs[0]["outputs"], f"run --random 3 makes three seeded runs ({[r.get('seed') for r in runs]})")
    code, out, err = run(ortool, "run", "--random", small)
    check(code == 0 and "ran in" in out, f"run --random MODEL: a bare --random is 1, not a count ({err.strip()[:200]})")
    od = os.path.join(tmp, "runs_out")
    code, out, err = run(ortool, "run", small, "--random", "2", "--output-dir", od)
    check(code == 0 and sorted(os.listdir(od)) == ["run_0", "run_1"]
          and os.listdir(os.path.join(od, "run_1")) == ["output_0.pb"], f"run --random 2 --output-dir writes run_K folders")
    code, j, err = run_json(ortool, "bench", small, "--random", "2", "--iters", "4", "--warmup", "0")
    check(code == 0 and j["input_sets"] == 2, "bench --random 2 takes two input sets")
    code, j, err = run_json(ortool, "compare", small, small, "--random")
    check(code == 0 and j is not None and j["samples"] == 1, f"compare --random alone is one sample ({err.strip()[:200]})")
    code, j, err = run_json(ortool, "bench", small, "--threads", "0", "--iters", "2", "--warmup", "0")
    check(code == 0 and j["threads"] == len(os.sched_getaffinity(0)),
          f"--threads 0 means all cores ({j and j['threads']} of {len(os.sched_getaffinity(0))})")
    code, out, err = run(ortool, "run", small, "--random", "--threads", "-1")
    check(one_error_line(code, err, words=("--threads",)), "--threads -1 is an error")

    # --check N (random runs) and --onnx-check (the checker), the old convert --check with a note.
    out_path = os.path.join(tmp, "checked.onnx")
    code, out, err = run(ortool, "convert", small, "-o", out_path, "--onnx-check")
    check(code == 0 and "onnx checker: ok" in out and err == "", f"convert --onnx-check ({err.strip()[:200]})")
    code, out, err = run(ortool, "convert", small, "-o", out_path, "--check")
    check(code == 0 and "onnx checker: ok" in out and "ortool: note:" in err and "--onnx-check" in err,
          f"convert --check still works, with a note ({err.strip()[:200]})")
    helps = {sub: run(ortool, sub, "--help")[1] for sub in ("run", "bench", "optimize", "info", "convert", "compare")}
    check(re.search(r"--check\s+INT", helps["optimize"]) is not None and "--onnx-check" in helps["optimize"]
          and "--onnx-check" in helps["convert"] and not re.search(r"^\s*--check\b", helps["convert"], re.M),
          "--help: optimize has --check N and --onnx-check, convert only --onnx-check")

    def option_line(text, name):
        m = re.search(r"^\s*" + re.escape(name) + r"\b.*(?:\n\s{20,}\S.*)*", text, re.M)
        return re.sub(r"\s+", " ", m.group(0)).strip() if m else None

    # The same option, the same help everywhere (compare declares its own until the cli work adopts
    # apps/input_options' adders; it is left out here for that reason).
    for name, subs in (("--shape", ("run", "bench", "optimize", "info")), ("--input", ("run", "bench")),
                       ("--threads", ("run", "bench", "optimize")), ("--random", ("run", "bench"))):
        lines = {s: option_line(helps[s], name) for s in subs}
        check(len(set(lines.values())) == 1 and None not in lines.values(), f"{name} reads the same in {', '.join(subs)}: {lines}")
    check("NAME=DIMS" in option_line(helps["run"], "--shape") and "NAME=FILE" in option_line(helps["run"], "--input")
          and "0 means all cores" in option_line(helps["run"], "--threads"), "--shape/--input/--threads help text")


def point6_spread(ortool, small, tmp):
    code, j, err = run_json(ortool, "bench", small, "--iters", "10", "--warmup", "1", "--shape", "batch=1")
    s = j and j["spread"]
    check(code == 0 and s["limit"] == 1.5 and abs(s["p90_over_median"] - j["latency_ms"]["p90"] / j["latency_ms"]["median"]) < 1e-9
          and s["too_spread"] == (s["p90_over_median"] > 1.5)
          and s["too_spread"] == any("too spread" in w for w in j["warnings"]) == ("too spread" in err),
          f"bench --json: the spread, its limit and the verdict agree with the latencies and the warnings ({s})")
    # Four seeded sets of n = 1, 1, 9, 5 (seeds 0-3): a Range over 1000 n^3 elements makes a quarter of
    # the runs several hundred times slower than the median run.
    cube = cube_model(os.path.join(tmp, "cube.onnx"))
    code, j, err = run_json(ortool, "run", cube, "--random", "4", "--seed", "0")
    sums = [r["outputs"][0]["first"][0] for r in j["runs"]] if j else []
    ns = [round((2 * s_) ** 0.5 / 1000) for s_ in sums]
    check(ns == [1, 1, 729, 125], f"the seeded sets of the spread model are n^3 = 1, 1, 729, 125 ({ns})")
    code, j, err = run_json(ortool, "bench", cube, "--random", "4", "--seed", "0", "--iters", "20", "--warmup", "2")
    check(code == 0 and j["spread"]["too_spread"] and any("too spread" in w for w in j["warnings"])
          and "too spread to trust" in err, f"bench flags runs that spread ({j and j['latency_ms']})")
    code, out, err = run(ortool, "bench", cube, "--random", "4", "--seed", "0", "--iters", "20", "--warmup", "2")
    check(code == 0 and "too spread to trust" in out and "inputs       n int64[] (random), 4 random sets in turn" in out,
          f"bench's table says so, and prints the inputs ({out.strip()[:400]})")


def point7_progress(ortool, small, models):
    uf = os.path.join(models, "ultraface_rfb640", "model.onnx")
    cases = [("bench", [ortool, "bench", uf, "--iters", "8", "--warmup", "1"], "bench ["),
             ("optimize's check", [ortool, "optimize", uf, "--check", "2"], "check ["),
             ("run --random 4", [ortool, "run", uf, "--random", "4"], "run ["),
             # One run of over half a second (about 1.6 s on a 2-core AVX2 box; 960 x 960 took 0.4 s once its
             # pointwise and depthwise convs stopped reordering their NHWC tensors).
             ("one long run", [ortool, "run", os.path.join(models, "ppocr_det_v3", "model.onnx"), "--random", "--shape",
                               "x=1,3,1920,1920"], "run  ")]
    for what, args, marker in cases:
        code, out, err = run_on_terminal(args)
        check(code == 0 and marker in err and "\r\x1b[K" in err and "\x1b" not in out,
              f"{what} on a terminal draws a progress line on stderr and erases it ({err[:120]!r})")
        p = subprocess.run(args, capture_output=True, text=True, timeout=300)
        check(p.returncode == 0 and "\r" not in p.stderr and "\x1b" not in p.stderr and marker not in p.stderr,
              f"{what} with stderr on a pipe: no progress, no escape codes ({p.stderr[:120]!r})")


def point8_freeze(ortool, models, tmp, runner):
    uf = os.path.join(models, "ultraface_rfb640", "model.onnx")
    code, j, err = run_json(ortool, "optimize", uf, "--check", "0")
    notes = " ".join(j["notes"]) if j else ""
    check(code == 0 and j["initializer_inputs"] == 244 and j["frozen_inputs"] == 0
          and j["after"]["op_counts"].get("BatchNormalization") == 35 and "--freeze-inputs" in notes
          and "override" in notes, f"optimize says why the weights of ultraface were not folded ({notes[:300]})")
    code, out, err = run(ortool, "optimize", uf, "--check", "0")
    note_lines = [l for l in out.splitlines() if "--freeze-inputs" in l]
    check(code == 0 and len(note_lines) == 1, f"...in one line of the table ({note_lines})")
    frozen = os.path.join(tmp, "ultraface_frozen.onnx")
    code, j, err = run_json(ortool, "optimize", uf, "-o", frozen, "--freeze-inputs")
    check(code == 0 and j["frozen_inputs"] == 244 and "BatchNormalization" not in j["after"]["op_counts"]
          and j["check"]["passed"], f"--freeze-inputs folds ultraface's BatchNormalization ({j and j['after']['nodes']} nodes)")
    m = onnx.load(frozen)
    onnx.checker.check_model(m, full_check=True)
    check([i.name for i in m.graph.input] == ["input"] and m.ir_version == 4,
          "the frozen ultraface passes onnx's full check and has only its image input")
    code, out, err = run(ortool, "compare", uf, frozen, "--random", "2")
    check(code == 0, f"the frozen ultraface computes what the original does (ortool compare) ({err.strip()[:200]})")
    if ort_available(runner):
        x = numpy_helper.to_array(onnx.load_tensor(os.path.join(models, "ultraface_rfb640", "test_data_set_0", "input_0.pb")))
        want = ort_outputs(runner, uf, {"input": x}, tmp, "uf_a")
        got = ort_outputs(runner, frozen, {"input": x}, tmp, "uf_b")
        ok = want is not None and got is not None and want.keys() == got.keys() and all(
            np.allclose(want[k], got[k], atol=1e-4, rtol=1e-3) for k in want)
        check(ok, "ONNX Runtime gives the frozen ultraface's outputs on its test image")
    else:
        check(False, "ONNX Runtime is not installed (node and scripts/node_modules/onnxruntime-node): run scripts/setup.sh")

    old = old_export_model(os.path.join(tmp, "old_export.onnx"))
    code, j, err = run_json(ortool, "optimize", old)
    check(code == 0 and j["initializer_inputs"] == 6 and j["after"]["op_counts"].get("BatchNormalization") == 1
          and any("--freeze-inputs" in n for n in j["notes"]), "a small old-style export: the note, BN left alone")
    out_path = os.path.join(tmp, "old_frozen.onnx")
    code, j, err = run_json(ortool, "optimize", old, "-o", out_path, "--freeze-inputs", "--check", "3")
    check(code == 0 and "BatchNormalization" not in j["after"]["op_counts"] and j["check"]["passed"]
          and j["check"]["runs"] == 3, "--freeze-inputs folds it, and the check passes")
    frozen_small = onnx.load(out_path)
    onnx.checker.check_model(frozen_small, full_check=True)
    check([i.name for i in frozen_small.graph.input] == ["x"], "its weights are no longer graph inputs")


def point9_messages(ortool, small, tmp, readme):
    code, out, err = run(ortool, "help")
    check(code == 0 and out == run(ortool, "--help")[1], "ortool help prints ortool --help")
    code, out, err = run(ortool, "help", "bench")
    check(code == 0 and out == run(ortool, "bench", "--help")[1], "ortool help bench prints ortool bench --help")
    code, out, err = run(ortool, "help", "bnech")
    check(one_error_line(code, err, words=("'bnech'", "did you mean 'bench'")), f"help with a typo ({err.strip()})")
    code, out, err = run(ortool, "optimze", small)
    check(one_error_line(code, err, words=("'optimze'", "did you mean 'optimize'")), f"a mistyped subcommand ({err.strip()})")
    code, out, err = run(ortool, "bench", small, "--itres", "3")
    check(one_error_line(code, err, words=("'--itres'", "did you mean '--iters'")), f"a mistyped option ({err.strip()})")
    code, out, err = run(ortool, "convert", small, "--ouptut", os.path.join(tmp, "x.onnx"))
    check(one_error_line(code, err, words=("'--ouptut'", "did you mean '--output'")),
          f"a mistyped option is named before the missing one it causes ({err.strip()})")
    code, out, err = run(ortool, "--verison")
    check(one_error_line(code, err, words=("did you mean '--version'",)), f"a mistyped top-level option ({err.strip()})")
    code, out, err = run(ortool, "run", small, "--random", "stray")
    check(one_error_line(code, err, words=("unexpected argument 'stray'",)), f"a stray argument ({err.strip()})")

    for args, words in ((["bench", small, "--iters", "abc"], ("--iters: 'abc' is not an integer",)),
                        (["bench", small, "--iters", "0"], ("--iters: '0' is out of range: expected 1 to",)),
                        (["bench", small, "--seed", "-1"], ("--seed: '-1' is out of range: expected 0 or more",)),
                        (["optimize", small, "--atol", "nan"], ("--atol: 'nan' is not a finite number",)),
                        (["optimize", small, "--rtol", "-1"], ("--rtol: '-1' is out of range",)),
                        (["bench", small, "--max-seconds", "x"], ("--max-seconds: 'x' is not a number",)),
                        (["run", small, "--format", "npz"], ("--format: 'npz' is not one of pb, npy",)),
                        (["run", small, "--input"], ("--input needs a value (NAME=FILE)",)),
                        (["run"], ("missing the model argument",))):
        code, out, err = run(ortool, *args)
        check(one_error_line(code, err, words=words) and "Value" not in err,
              f"{' '.join(args[:1] + args[2:])}: {words[0]} ({err.strip()})")

    code, out, err = run(ortool, "run", small, "--random", "--shape", "batch=4000000000")
    check(one_error_line(code, err, words=("small_convnet.onnx", "GiB", "float32[4000000000,3,32,32]")),
          f"a tensor over the limit: sizes in GiB, naming the model ({err.strip()})")
    code, out, err = run(ortool, "run", small, "--random", "--shape", "batch=64", "--max-memory", "100K")
    check(one_error_line(code, err, words=("small_convnet.onnx", "KiB", "--max-memory")),
          f"--max-memory exceeded: sizes in KiB, naming the model ({err.strip()})")

    # convert over a model with external data removes the data file it replaced, nothing else.
    d = os.path.join(tmp, "stale")
    os.makedirs(d)
    m = os.path.join(d, "m.onnx")
    run(ortool, "convert", small, "-o", m, "--external-data", "--threshold", "512")
    with open(os.path.join(d, "unrelated.data"), "w") as f:
        f.write("not ortool's")
    check(sorted(os.listdir(d)) == ["m.onnx", "m.onnx.data", "unrelated.data"], "setup: m.onnx with m.onnx.data")
    code, out, err = run(ortool, "convert", m, "-o", m, "--internal", "--force")
    check(code == 0 and sorted(os.listdir(d)) == ["m.onnx", "unrelated.data"] and "removed" in out and "m.onnx.data" in out,
          f"convert --internal over itself removes the stale m.onnx.data, nothing else ({os.listdir(d)}, {out.strip()})")
    code, out, err = run(ortool, "compare", small, m, "--random", "2")
    check(code == 0, "the inline model still computes the same")
    a = os.path.join(d, "a.onnx")
    run(ortool, "convert", small, "-o", a, "--external-data", "--threshold", "512", "--location", "a.weights")
    code, out, err = run(ortool, "convert", a, "-o", os.path.join(d, "b.onnx"), "--internal")
    check(code == 0 and os.path.exists(os.path.join(d, "a.weights")) and "removed" not in out,
          "converting another model's external data inline keeps the input's data file")
    run(ortool, "convert", small, "-o", m, "--external-data", "--threshold", "512", "--location", "old.bin")
    code, out, err = run(ortool, "convert", small, "-o", m, "--external-data", "--threshold", "512")
    check(code == 0 and not os.path.exists(os.path.join(d, "old.bin")) and os.path.exists(os.path.join(d, "m.onnx.data"))
          and os.path.exists(os.path.join(d, "a.weights")) and os.path.exists(os.path.join(d, "unrelated.data")),
          f"a new data file name: the replaced model's old.bin goes, other files stay ({sorted(os.listdir(d))})")

    code, out, err = run(ortool, "optimize", small, "--check", "0")
    check(code == 0 and "nothing written" in err and "-o OUT.onnx" in err,
          f"optimize without -o says nothing was written and how to write ({err.strip()[:200]})")

    code, out, err = run(ortool, "--help")
    listing = out.split("Subcommands:")[-1].split("\n\n")[0]
    subcommands = set(re.findall(r"^  (\w+)\s", listing, re.M))
    check({"info", "convert", "run", "compare", "optimize", "bench", "help"} <= subcommands, f"--help lists {subcommands}")
    with open(readme) as f:
        readme_text = f.read()
    for future in FUTURE_SUBCOMMANDS:
        if future in subcommands:
            continue
        check(future not in out.lower(), f"--help does not advertise '{future}' before it exists")
        check(f"ortool {future}" not in readme_text, f"README does not advertise `ortool {future}` before it exists")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ortool", required=True)
    ap.add_argument("--testdata", required=True)
    ap.add_argument("--models", required=True, help="../shared/models")
    ap.add_argument("--readme", required=True)
    ap.add_argument("--ort-runner", required=True, help="scripts/ort_run.mjs (ONNX Runtime, installed by scripts/setup.sh)")
    a = ap.parse_args()
    ortool = os.path.abspath(a.ortool)
    small = os.path.join(a.testdata, "small_convnet.onnx")
    with tempfile.TemporaryDirectory(prefix="ortool_ux_") as tmp:
        point3_shapes(ortool, small, a.models, tmp)
        point4_vocabulary(ortool, small, tmp)
        point6_spread(ortool, small, tmp)
        point7_progress(ortool, small, a.models)
        point8_freeze(ortool, a.models, tmp, a.ort_runner)
        point9_messages(ortool, small, tmp, a.readme)
    print(f"ux_check: {len(FAILS)} failed")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
