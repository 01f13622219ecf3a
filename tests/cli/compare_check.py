#!/usr/bin/python3
# End-to-end tests of `ortool compare`'s samples, gates and verdicts, and of --shape reaching every session.
"""Checks, with testdata/small_convnet.onnx (input 'input' [batch,3,32,32], output 'probs') and small
models built here:

samples: a folder of .npy files, of test-data subfolders, one .npy whose first axis is the batch
(split in order: checked against a model that outputs a constant), PNG images resized and
normalized as numpy/PIL/torch do it (NCHW and NHWC, RGB and BGR), --random, --expected-dir over a
folder of test-data folders, --input and --input-dir; errors naming the file for bad samples.
gates: an all-zero reference within atol passes even with --min-sqnr/--min-cosine (SQNR undefined,
not -inf); --atol -1, --atol nan, --rtol inf, --min-cosine 2, --min-sqnr nan, --max-top1-drop 150 are
usage errors (exit 2, one line); --max-top1-drop fails a model whose argmax moves; whole-output gates
given without --atol/--rtol replace the element tolerance.
verdicts: a PASS/FAIL line per output and a final verdict line on stdout; per-output "passed" and a
top-level "verdict" in --json.
progress: a bar on stderr when it is a terminal, nothing when it is a pipe.
--shape: run, bench and both models of compare see the bindings (a batch-3 input with --shape
batch=2 is refused by the model named first).
"""
import argparse
import json
import os
import pty
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from check_util import FAILS, check, one_error_line, run
from onnx import TensorProto, helper, numpy_helper
from PIL import Image



def as_json(out):
    try:
        return json.loads(out)
    except ValueError:
        return None


def field(js, *path):
    """js[path[0]][path[1]]..., or None where the JSON is missing or lacks a key (an older ortool)."""
    for k in path:
        try:
            js = js[k]
        except (KeyError, IndexError, TypeError):
            return None
    return js


def save_model(path, nodes, inputs, outputs, inits=()):
    g = helper.make_graph(nodes, os.path.basename(path), inputs, outputs,
                          initializer=[numpy_helper.from_array(a, n) for n, a in inits])
    m = helper.make_model(g, producer_name="ortool-test", opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(m)
    onnx.save(m, path)
    return path


def identity_model(path, shape):
    return save_model(path, [helper.make_node("Identity", ["x"], ["y"])],
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)])


def constant_model(path, shape, value):
    """Takes x like identity_model but outputs `value` whatever x is: y = x * 0 + value."""
    return save_model(path, [helper.make_node("Mul", ["x", "zero"], ["x0"]), helper.make_node("Add", ["x0", "c"], ["y"])],
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
                      [("zero", np.zeros((), np.float32)), ("c", value.astype(np.float32))])


def scaled_model(path, shape, k):
    """y = x * k (k = 0 gives an all-zero output)."""
    return save_model(path, [helper.make_node("Mul", ["x", "k"], ["y"])],
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)], [("k", np.array(k, np.float32))])


def write_pb(path, arr, name):
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(arr, name).SerializeToString())


def preprocess(png_path, h, w, scale, mean, std, bgr=False, nhwc=False):
    """The reference preprocessing: PIL decode, torch half-pixel bilinear (no antialias), then
    (pixel * scale - mean) / std per channel."""
    px = np.asarray(Image.open(png_path).convert("RGB")).astype(np.float32)
    t = torch.from_numpy(px).permute(2, 0, 1)[None]
    r = F.interpolate(t, size=(h, w), mode="bilinear", align_corners=False, antialias=False)[0].numpy()
    r = r.astype(np.float64)
    if bgr:
        r = r[::-1]
    r = (r * scale - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    r = r[None].astype(np.float32)
    return r.transpose(0, 2, 3, 1).copy() if nhwc else r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ortool", required=True)
    ap.add_argument("--model", required=True)
    a = ap.parse_args()
    ortool, model = a.ortool, a.model
    tmp = tempfile.mkdtemp(prefix="ortool_compare_")
    rng = np.random.default_rng(11)
    T = lambda *p: os.path.join(tmp, *p)

    m = onnx.load(model)
    w = numpy_helper.to_array(m.graph.initializer[-1]).copy()
    w[3] += 0.5
    m.graph.initializer[-1].CopyFrom(numpy_helper.from_array(w, m.graph.initializer[-1].name))
    perturbed = T("perturbed.onnx")
    onnx.save(m, perturbed)

    # --- sample layouts ----------------------------------------------------------------------
    os.makedirs(T("npys"))
    for k in range(3):
        np.save(T("npys", f"s{k}.npy"), rng.standard_normal((1, 3, 32, 32)).astype(np.float32))
    code, out, err = run(ortool, "compare", model, model, "--inputs", T("npys"), "--json")
    js = as_json(out)
    check(code == 0 and js and field(js, "samples") == 3 and "3 tensor files" in (field(js, "sample_source") or ""),
          f"--inputs folder of .npy files: 3 samples ({err.strip()[:160]})")
    code, out, err = run(ortool, "compare", model, perturbed, "--inputs", T("npys"))
    check(code == 1 and "sample s" in err and ".npy element" in err, "a failure names the sample file")

    for k in range(2):
        d = T("sets", f"test_data_set_{k}")
        os.makedirs(d)
        write_pb(os.path.join(d, "input_0.pb"), rng.standard_normal((2, 3, 32, 32)).astype(np.float32), "input")
    code, out, err = run(ortool, "compare", model, model, "--inputs", T("sets"), "--json")
    js = as_json(out)
    check(code == 0 and js and field(js, "samples") == 2, f"--inputs folder of test-data subfolders: 2 samples ({err.strip()[:160]})")

    # A batch .npy: rows fed in order, one per sample. The constant model outputs row 0, so only the
    # first sample agrees with the identity model.
    ident = identity_model(T("ident.onnx"), ["n", 4])
    rows = rng.standard_normal((3, 4)).astype(np.float32)
    np.save(T("rows.npy"), rows)
    const0 = constant_model(T("const0.onnx"), ["n", 4], rows[0:1])
    code, out, err = run(ortool, "compare", ident, const0, "--inputs", T("rows.npy"), "--json")
    js = as_json(out)
    check(code == 1 and js and field(js, "samples") == 3 and field(js, "outputs", 0, "failed_elements") == 8,
          f"batch .npy: 3 samples, 2 of them differ from row 0 (got {field(js, 'outputs', 0, 'failed_elements')})")
    code, out, err = run(ortool, "compare", ident, const0, "--inputs", T("rows.npy"))
    check(code == 1 and ("rows.npy #1" in err or "rows.npy #2" in err), f"the failing batch row is named ({err.strip()[:200]})")
    const2 = constant_model(T("const2.onnx"), ["n", 4], rows[2:3])
    code, out, err = run(ortool, "compare", const2, ident, "--inputs", T("rows.npy"), "--json")
    js = as_json(out)
    check(code == 1 and field(js, "outputs", 0, "failed_elements") == 8, "batch .npy: the last row is row 2")
    np.save(T("rows_f64.npy"), rows.astype(np.float64))
    code, out, err = run(ortool, "compare", ident, ident, "--inputs", T("rows_f64.npy"))
    check(one_error_line(code, err, must_name="rows_f64.npy") and "'x'" in err,
          f"batch .npy of the wrong type: exit 2 naming the file and input ({err.strip()[:160]})")
    np.save(T("rows_wide.npy"), np.zeros((3, 5), np.float32))
    code, out, err = run(ortool, "compare", ident, ident, "--inputs", T("rows_wide.npy"))
    check(one_error_line(code, err, must_name="rows_wide.npy"), f"batch .npy of the wrong shape: exit 2 ({err.strip()[:160]})")

    # Images: one 40x48 PNG, resized to 32x32 and normalized; the constant model holds the reference.
    os.makedirs(T("imgs"))
    png = T("imgs", "cat.png")
    Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8), "RGB").save(png)
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    norm = ["--scale", "1/255", "--mean", ",".join(map(str, mean)), "--std", ",".join(map(str, std))]
    img_id = identity_model(T("img_id.onnx"), [1, 3, 32, 32])
    want = preprocess(png, 32, 32, 1 / 255, mean, std)
    img_ref = constant_model(T("img_ref.onnx"), [1, 3, 32, 32], want)
    code, out, err = run(ortool, "compare", img_ref, img_id, "--inputs", T("imgs"), *norm, "--atol", "1e-4", "--rtol", "0")
    check(code == 0, f"PNG resized 40x48 -> 32x32, scale/mean/std: equals PIL + torch bilinear ({err.strip()[:200]})")
    code, out, err = run(ortool, "compare", img_ref, img_id, "--inputs", T("imgs"), *norm, "--channel-order", "bgr")
    check(code == 1, "--channel-order bgr changes the tensor")
    want_bgr = preprocess(png, 32, 32, 1, [100, 110, 120], [1, 1, 1], bgr=True)
    code, out, err = run(ortool, "compare", constant_model(T("img_bgr.onnx"), [1, 3, 32, 32], want_bgr), img_id,
                         "--inputs", T("imgs"), "--channel-order", "bgr", "--scale", "1", "--mean", "100,110,120",
                         "--atol", "1e-3", "--rtol", "0")
    check(code == 0, f"--channel-order bgr with Caffe-style means matches the reference ({err.strip()[:200]})")
    nhwc_id = identity_model(T("nhwc_id.onnx"), [1, 24, 20, 3])
    want_nhwc = preprocess(png, 24, 20, 1 / 255, [0, 0, 0], [1, 1, 1], nhwc=True)
    code, out, err = run(ortool, "compare", constant_model(T("nhwc_ref.onnx"), [1, 24, 20, 3], want_nhwc), nhwc_id,
                         "--inputs", T("imgs"), "--atol", "1e-5", "--rtol", "0")
    check(code == 0, f"NHWC input: layout and size from the model's shape, default scale 1/255 ({err.strip()[:200]})")
    code, out, err = run(ortool, "compare", nhwc_id, nhwc_id, "--inputs", T("imgs"), "--layout", "nchw")
    check(one_error_line(code, err, must_name="channels"), f"--layout nchw on an NHWC input: exit 2 ({err.strip()[:160]})")
    dyn_id = identity_model(T("dyn_id.onnx"), [1, 3, "h", "w"])
    code, out, err = run(ortool, "compare", dyn_id, dyn_id, "--inputs", T("imgs"))
    check(one_error_line(code, err, must_name="image size"), f"symbolic height/width without --image-size: exit 2 ({err.strip()[:160]})")
    code, out, err = run(ortool, "compare", dyn_id, dyn_id, "--inputs", T("imgs"), "--image-size", "16x24", "--json")
    js = as_json(out)
    check(code == 0 and js and "16x24" in (field(js, "sample_source") or ""), f"--image-size 16x24 ({err.strip()[:160]})")
    code, out, err = run(ortool, "compare", dyn_id, dyn_id, "--inputs", T("imgs"), "--image-size", "16x", "--json")
    check(one_error_line(code, err, must_name="--image-size"), "a bad --image-size: exit 2 naming it")
    code, out, err = run(ortool, "compare", img_id, img_id, "--inputs", T("imgs"), "--mean", "1,2")
    check(one_error_line(code, err, must_name="mean"), f"--mean with 2 values for 3 channels: exit 2 ({err.strip()[:160]})")
    Image.fromarray(rng.integers(0, 256, (10, 10, 3), dtype=np.uint8), "RGB").save(T("imgs", "dog.jpg"), quality=90)
    code, out, err = run(ortool, "compare", img_id, img_id, "--inputs", T("imgs"), "--json")
    js = as_json(out)
    check(code == 0 and js and field(js, "samples") == 2, "a folder of a PNG and a JPEG: 2 samples")
    with open(T("imgs", "zebra.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n truncated")
    code, out, err = run(ortool, "compare", img_id, img_id, "--inputs", T("imgs"))
    check(one_error_line(code, err, must_name="zebra.png"), f"an unreadable image: exit 2 naming it ({err.strip()[:160]})")
    os.remove(T("imgs", "zebra.png"))
    # A JPEG whose Huffman table lists 272 codes (found by fuzz/fuzz_samples): stb_image would write past
    # its tables (an ASan report in the sanitizer build); ortool refuses the file first.
    with open(T("imgs", "dog.jpg"), "rb") as f:
        jpg = bytearray(f.read())
    dht = jpg.find(b"\xff\xc4")
    jpg[dht + 5:dht + 21] = bytes([0x11] * 16)
    with open(T("imgs", "yak.jpg"), "wb") as f:
        f.write(jpg)
    code, out, err = run(ortool, "compare", img_id, img_id, "--inputs", T("imgs"))
    check(one_error_line(code, err, must_name="yak.jpg") and "Huffman" in err,
          f"a JPEG with a Huffman table of 272 codes: exit 2 naming it ({err.strip()[:160]})")
    os.remove(T("imgs", "yak.jpg"))
    os.makedirs(T("empty"))
    code, out, err = run(ortool, "compare", model, model, "--inputs", T("empty"))
    check(one_error_line(code, err, must_name="no samples"), f"an empty folder: exit 2 ({err.strip()[:160]})")
    np.save(T("imgs", "extra.npy"), np.zeros((1, 3, 32, 32), np.float32))
    code, out, err = run(ortool, "compare", img_id, img_id, "--inputs", T("imgs"))
    check(one_error_line(code, err, must_name="mixes"), "images mixed with tensor files: exit 2")

    code, out, err = run(ortool, "compare", model, model, "--random", "3", "--json")
    js = as_json(out)
    check(code == 0 and js and field(js, "samples") == 3, "--random 3: 3 samples")

    # --expected-dir: one folder, and a folder of test-data folders.
    x = rng.standard_normal((1, 4)).astype(np.float32)
    for k in range(2):
        d = T("expected", f"test_data_set_{k}")
        os.makedirs(d)
        xk = x + k
        write_pb(os.path.join(d, "input_0.pb"), xk, "x")
        write_pb(os.path.join(d, "output_0.pb"), xk * 2, "y")
    double = scaled_model(T("double.onnx"), ["n", 4], 2.0)
    code, out, err = run(ortool, "compare", double, "--expected-dir", T("expected"), "--json")
    js = as_json(out)
    check(code == 0 and js and field(js, "samples") == 2, f"--expected-dir over 2 test-data folders ({err.strip()[:160]})")
    code, out, err = run(ortool, "compare", double, "--expected-dir", T("expected", "test_data_set_1"))
    check(code == 0, "--expected-dir one test-data folder")
    code, out, err = run(ortool, "compare", scaled_model(T("triple.onnx"), ["n", 4], 3.0), "--expected-dir", T("expected"))
    check(code == 1 and "sample test_data_set_" in err, f"--expected-dir names the failing set ({err.strip()[:160]})")

    # --input and --input-dir give one sample.
    xp = T("x.npy")
    np.save(xp, rng.standard_normal((2, 3, 32, 32)).astype(np.float32))
    code, out, err = run(ortool, "compare", model, model, "--input", f"input={xp}", "--json")
    js = as_json(out)
    check(code == 0 and js and field(js, "samples") == 1, "compare --input NAME=FILE: one sample")
    code, out, err = run(ortool, "compare", model, perturbed, "--input", f"input={xp}")
    check(code == 1 and "probs" in err, "compare --input: the perturbed model fails")
    code, out, err = run(ortool, "compare", model, model, "--input-dir", T("sets", "test_data_set_0"), "--json")
    js = as_json(out)
    check(code == 0 and js and field(js, "samples") == 1, "compare --input-dir: one sample")
    code, out, err = run(ortool, "compare", model, perturbed, "--input-dir", T("sets", "test_data_set_0"))
    check(code == 1, "compare --input-dir: the perturbed model fails")
    code, out, err = run(ortool, "compare", model, model, "--input", f"nosuch={xp}")
    check(one_error_line(code, err, must_name="nosuch"), "compare --input with an unknown name: exit 2")
    code, out, err = run(ortool, "compare", model, model, "--input", f"input={xp}", "--random", "2")
    check(one_error_line(code, err, must_name="one source"), "two sources of samples: exit 2")

    # --- all-zero reference --------------------------------------------------------------------
    zero = scaled_model(T("zero.onnx"), ["n", 4], 0.0)
    tiny = scaled_model(T("tiny.onnx"), ["n", 4], 1e-6)
    code, out, err = run(ortool, "compare", zero, tiny, "--random", "2", "--json")
    js = as_json(out)
    check(code == 0 and js and field(js, "verdict") == "PASS" and field(js, "outputs", 0, "sqnr_db") is None,
          f"all-zero reference, result within atol: PASS, SQNR undefined ({err.strip()[:160]})")
    code, out, err = run(ortool, "compare", zero, tiny, "--random", "2", "--min-sqnr", "30", "--min-cosine", "0.99")
    check(code == 0 and "PASS y" in out and "not applied" in out and "-inf" not in out,
          f"all-zero reference with --min-sqnr/--min-cosine: PASS with a note ({out.strip()[-300:]})")
    code, out, err = run(ortool, "compare", zero, zero, "--random", "2", "--min-sqnr", "30", "--json")
    js = as_json(out)
    check(code == 0 and field(js, "outputs", 0, "sqnr_exact") and not field(js, "outputs", 0, "notes"),
          "all-zero reference answered exactly: SQNR inf, no note")
    code, out, err = run(ortool, "compare", zero, scaled_model(T("one.onnx"), ["n", 4], 1.0), "--random", "2")
    check(code == 1 and "elements outside" in err, "all-zero reference, result beyond atol: FAIL on the elements")
    d = T("zero_set")
    os.makedirs(d)
    write_pb(os.path.join(d, "input_0.pb"), x, "x")
    write_pb(os.path.join(d, "output_0.pb"), np.zeros_like(x), "y")
    code, out, err = run(ortool, "compare", tiny, "--expected-dir", d, "--min-sqnr", "20")
    check(code == 0, f"--expected-dir with an all-zero stored output within atol: PASS ({err.strip()[:160]})")

    # --- gate validation --------------------------------------------------------------------------
    for flag, val in [("--atol", "-1"), ("--atol", "nan"), ("--rtol", "inf"), ("--rtol", "-0.5"), ("--min-cosine", "2"),
                      ("--min-cosine", "-1.5"), ("--min-sqnr", "nan"), ("--min-sqnr", "inf"), ("--max-top1-drop", "150")]:
        code, out, err = run(ortool, "compare", model, model, flag, val)
        check(one_error_line(code, err, must_name=flag) and not out, f"{flag} {val}: exit 2, one line naming it ({err.strip()[:120]})")
    code, out, err = run(ortool, "compare", model, model, "--atol", "0", "--rtol", "0", "--min-cosine", "-1")
    check(code == 0, "boundary gate values (--atol 0 --rtol 0 --min-cosine -1) are accepted")

    # --- PASS/FAIL lines and the verdict --------------------------------------------------------
    two_out = [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["n", 4]),
               helper.make_tensor_value_info("b", TensorProto.FLOAT, ["n", 4])]
    xin = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])]
    ref2 = save_model(T("ref2.onnx"), [helper.make_node("Identity", ["x"], ["a"]), helper.make_node("Relu", ["x"], ["b"])],
                      xin, two_out)
    bad2 = save_model(T("bad2.onnx"), [helper.make_node("Identity", ["x"], ["a"]), helper.make_node("Relu", ["x"], ["r"]),
                                      helper.make_node("Add", ["r", "h"], ["b"])], xin, two_out,
                      [("h", np.array(0.5, np.float32))])
    code, out, err = run(ortool, "compare", ref2, bad2, "--random", "2")
    lines = out.splitlines()
    check(code == 1 and any(l.strip() == "PASS a" for l in lines) and any(l.strip().startswith("FAIL b:") for l in lines)
          and lines[-1].startswith("verdict: FAIL (1 of 2 outputs failed"),
          f"a PASS line for 'a', a FAIL line for 'b', a final FAIL verdict ({lines[-3:]})")
    code, out, err = run(ortool, "compare", ref2, bad2, "--random", "2", "--json")
    js = as_json(out)
    check(code == 1 and js and field(js, "verdict") == "FAIL" and field(js, "passed") is False
          and [o["passed"] for o in field(js, "outputs") or []] == [True, False] and field(js, "outputs", 1, "failures"),
          "--json: per-output passed and a top-level FAIL verdict")
    code, out, err = run(ortool, "compare", ref2, ref2, "--random", "2", "--json")
    js = as_json(out)
    check(code == 0 and field(js, "verdict") == "PASS" and all(o["passed"] for o in field(js, "outputs") or []), "--json: PASS verdict")
    code, out, err = run(ortool, "compare", ref2, ref2, "--random", "2")
    check(code == 0 and out.splitlines()[-1].startswith("verdict: PASS (2 outputs on 2 samples"), "text: PASS verdict line")

    # Whole-output gates without --atol/--rtol replace the element tolerance; with either, both apply.
    code, out, err = run(ortool, "compare", ref2, bad2, "--random", "2", "--min-cosine", "-1")
    check(code == 0 and out.splitlines()[-1].startswith("verdict: PASS"),
          f"--min-cosine alone: the element tolerance is not a gate ({out.strip()[-200:]})")
    code, out, err = run(ortool, "compare", ref2, bad2, "--random", "2", "--min-cosine", "-1", "--atol", "1e-4")
    check(code == 1 and "outside atol" in err, f"--min-cosine with --atol: both gates apply ({err.strip()[:160]})")
    code, out, err = run(ortool, "compare", model, perturbed, "--random", "4", "--shape", "batch=8", "--atol", "1",
                         "--max-top1-drop", "10")
    check(code == 1 and "--max-top1-drop 10" in err, f"--max-top1-drop fails a model whose top-1 moves ({err.strip()[:160]})")
    code, out, err = run(ortool, "compare", model, model, "--random", "4", "--max-top1-drop", "0")
    check(code == 0, "--max-top1-drop 0 passes a model against itself")

    # --- progress bar -------------------------------------------------------------------------------
    master, slave = pty.openpty()
    p = subprocess.run([ortool, "compare", model, model, "--random", "5"], stdout=subprocess.PIPE, stderr=slave,
                       timeout=120)
    os.close(slave)
    chunks = []
    while True:
        try:
            c = os.read(master, 4096)
        except OSError:
            break
        if not c:
            break
        chunks.append(c)
    os.close(master)
    tty_err = b"".join(chunks).decode(errors="replace")
    check(p.returncode == 0 and "compare [" in tty_err and "5/5" in tty_err and "\x1b[K" in tty_err,
          f"a progress bar on a terminal, cleared at the end ({tty_err[-80:]!r})")
    code, out, err = run(ortool, "compare", model, model, "--random", "5")
    check(code == 0 and err == "", "no progress output when stderr is a pipe")

    # --- --shape reaches every session (run_util.cpp resolved it after building them) -------------
    x3 = T("x3.npy")
    np.save(x3, rng.standard_normal((3, 3, 32, 32)).astype(np.float32))
    code, out, err = run(ortool, "run", model, "--shape", "batch=2", "--input", f"input={x3}")
    check(one_error_line(code, err, must_name="small_convnet.onnx") and "batch" in err,
          f"run --shape batch=2 with a batch of 3: exit 2 (was accepted) ({err.strip()[:160]})")
    copy_b = T("copy_b.onnx")
    onnx.save(onnx.load(model), copy_b)
    code, out, err = run(ortool, "compare", model, copy_b, "--shape", "batch=2", "--input", f"input={x3}")
    check(one_error_line(code, err, must_name=model) and "copy_b" not in err,
          f"compare: model A sees --shape (the error names it, not model B) ({err.strip()[:160]})")
    code, out, err = run(ortool, "bench", model, "--shape", "batch=2", "--input", f"input={x3}", "--warmup", "0", "--iters", "1")
    # The in-memory optimizer fixed the batch dim to 2 (before, bench ran the batch of 3).
    check(one_error_line(code, err) and "must be 2, got 3" in err, f"bench's optimizer and session see --shape ({err.strip()[:160]})")
    code, out, err = run(ortool, "compare", model, copy_b, "--shape", "batch=3", "--input", f"input={x3}")
    check(code == 0, "a matching --shape passes")

    print(f"{len(FAILS)} failure(s)")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
