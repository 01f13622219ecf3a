#!/usr/bin/python3
"""Writes seed inputs for every fuzz target into OUT/<target>/ (scripts/fuzz.sh --seed merges them into
fuzz/corpus/<target>/ with libFuzzer's -merge=1, which keeps only the inputs that add coverage).

Seeds come from testdata/, ONNX's node tests (/usr/share/libonnx-testdata/data/node) and small files
made here (external-data models, sample folders, calibration tables). Deterministic: no randomness.
"""
import glob
import io
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NODE = "/usr/share/libonnx-testdata/data/node"


def put(out, target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def npy_bytes(a):
    b = io.BytesIO()
    np.save(b, a, allow_pickle=False)
    return b.getvalue()


def pack(preamble, files):
    """The multi-file input format of fuzz/fuzz_util.h."""
    out = preamble
    for name, data in files:
        out += b"\n@@ " + name.encode() + b"\n" + data
    return out


def models(out):
    paths = sorted(glob.glob(os.path.join(ROOT, "testdata", "*.onnx")))
    paths += sorted(glob.glob(os.path.join(ROOT, "testdata", "digits", "*.onnx")))
    paths += sorted(glob.glob(os.path.join(NODE, "*", "model.onnx")))
    for p in paths:
        data = read(p)
        name = os.path.basename(os.path.dirname(p)) + "_" + os.path.basename(p) if p.startswith(NODE) else os.path.basename(p)
        if len(data) <= 65536:
            put(out, "model_load", name, data)
        if len(data) <= 16384:
            put(out, "optimize", name, data)


def tensors(out):
    for p in sorted(glob.glob(os.path.join(NODE, "*", "test_data_set_0", "*.pb"))):
        data = read(p)
        if len(data) <= 4096:
            test = os.path.basename(os.path.dirname(os.path.dirname(p)))
            put(out, "tensor_pb", test + "_" + os.path.basename(p), data)
    for p in sorted(glob.glob(os.path.join(ROOT, "testdata", "npy", "*.npy")) +
                    glob.glob(os.path.join(ROOT, "testdata", "images", "*.npy")) +
                    [os.path.join(ROOT, "testdata", "digits", "test_y.npy")]):
        put(out, "npy", os.path.basename(p), read(p))


def external_data(out):
    w = np.arange(12, dtype=np.float32).reshape(3, 4)

    def model_with(tensor):
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4])
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 4])
        g = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g", [x], [y], [tensor])
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()

    def ext(location, offset=None, length=None, dtype=TensorProto.FLOAT, dims=(3, 4)):
        t = TensorProto()
        t.name = "w"
        t.data_type = dtype
        t.dims.extend(dims)
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", location), ("offset", offset), ("length", length)):
            if v is not None:
                e = t.external_data.add()
                e.key, e.value = k, str(v)
        return t

    raw = w.tobytes()
    cases = [
        ("plain", ext("w.bin"), [("w.bin", raw)]),
        ("offset", ext("w.bin", 64, 48), [("w.bin", b"\0" * 64 + raw)]),
        ("subfolder", ext("sub/w.bin"), [("sub/w.bin", raw)]),
        ("short_file", ext("w.bin"), [("w.bin", raw[:20])]),
        ("past_end", ext("w.bin", 4000, 48), [("w.bin", raw)]),
        ("symlink_out", ext("link_out.bin"), []),
        ("symlink_dir", ext("link_dir/secret.bin"), []),
        ("hard_link", ext("hard.bin"), []),
        ("loop", ext("loop_a"), []),
        ("fifo", ext("fifo.bin"), []),
        ("dotdot", ext("../outside/secret.bin"), []),
        # 22: INT4 (named in newer onnx releases than Debian's).
        ("int4", ext("w.bin", dtype=22, dims=(5,)), [("w.bin", b"\x12\x34\x05")]),
        ("string", ext("w.bin", dtype=TensorProto.STRING, dims=(1,)), [("w.bin", b"abc")]),
    ]
    for name, tensor, files in cases:
        put(out, "external_data", "model_" + name, pack(model_with(tensor), files))
        put(out, "external_data", "pb_" + name, pack(tensor.SerializeToString(), files))


def samples(out):
    f13 = lambda base: np.arange(3, dtype=np.float32).reshape(1, 3) + base
    tp = lambda a, name="": numpy_helper.from_array(a, name).SerializeToString()
    img = os.path.join(ROOT, "testdata", "images")
    seq = numpy_helper.from_list([np.ones(2, np.float32), np.zeros(3, np.float32)], "s").SerializeToString()
    opt = numpy_helper.from_optional(np.arange(4, dtype=np.int64), "o").SerializeToString()
    # Preamble: byte 0 picks the model (see fuzz_samples.cpp), byte 1 the options.
    cases = [
        ("npy_files", b"\0\0", [("a.npy", npy_bytes(f13(0))), ("b.npy", npy_bytes(f13(1))), ("c.pb", tp(f13(2)))]),
        ("batch_npy", b"\1\0", [("x.npy", npy_bytes(np.arange(12, dtype=np.float32).reshape(4, 3)))]),
        ("test_data", b"\2\1", [("s0/input_0.pb", tp(np.ones(2, np.float32), "a")),
                                ("s0/input_1.pb", tp(np.arange(3, dtype=np.int64), "b")),
                                ("s0/output_0.pb", tp(np.ones(2, np.float32), "a_out")),
                                ("s0/output_1.pb", tp(np.arange(3, dtype=np.int64), "b_out"))]),
        ("test_data_npy", b"\2\0", [("s0/a.npy", npy_bytes(np.ones(2, np.float32))),
                                    ("s0/b.npy", npy_bytes(np.arange(5, dtype=np.int64)))]),
        ("images", b"\3\x30", [("a.png", read(os.path.join(img, "rgb_4x5.png"))),
                               ("b.jpg", read(os.path.join(img, "photo_12x16.jpg")))]),
        ("images_gray", b"\4\x86", [("g.png", read(os.path.join(img, "gray_3x3.png"))),
                                    ("h.png", read(os.path.join(img, "gray16_2x3.png"))),
                                    ("i.png", read(os.path.join(img, "rgba_2x4.png")))]),
        ("seq_optional", b"\5\0", [("input_0.pb", seq), ("input_1.pb", opt)]),
        ("bool", b"\6\0", [("t.npy", npy_bytes(np.array([True, False]))), ("u.npy", npy_bytes(np.zeros(0, bool)))]),
    ]
    for name, pre, files in cases:
        put(out, "samples", name, pack(pre, files))


def calib_tables(out):
    tables = [
        {"format": "ortool calibration table", "version": 1, "method": "entropy", "samples": 200,
         "ranges": {"conv1_out": {"min": 0, "max": 6.25}, "input": {"min": -2.1179, "max": 2.64}}},
        {"ranges": {"x": {"min": -1e-30, "max": 1e30}}},
        {"ranges": {}},
        {"format": "ortool calibration table", "version": 2, "ranges": {"a": {"min": 1, "max": 0}}},
        {"ranges": {"a": {"min": "0", "max": None}}},
    ]
    for i, t in enumerate(tables):
        put(out, "calib_table", "table_%d.json" % i, json.dumps(t).encode())
    put(out, "calib_table", "nan.json", b'{"ranges": {"a": {"min": NaN, "max": Infinity}}}')


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: fuzz/make_seeds.py OUT_DIR")
    out = sys.argv[1]
    models(out)
    tensors(out)
    external_data(out)
    samples(out)
    calib_tables(out)


if __name__ == "__main__":
    main()
