#!/usr/bin/python3
# BAD_INPUTS.md classes 1-30 fed to every subcommand that reads that kind of input, from one data-driven table.
"""The table CASES lists, per bad-input class, the cases (a model, a tensor file, a sample folder or an
option) and the subcommands each one goes to. Every case is built once in a temporary folder and shared
by its subcommands. For a bad case every subcommand must exit 2 with exactly one `ortool: error:` line
on stderr that names the file, node or tensor of the case, print nothing on stdout, leave no output file
and no stray file beside the model, and show no sanitizer report. Cases marked `ok` (accepted inputs:
nodes out of order, zero-sized tensors, a constant channel) must exit 0 instead; `any` allows either a
clean error or success (a reader may accept what a runner refuses).

    bad_inputs_matrix.py --ortool ortool --classes 1-11      # run the cases of classes 1 to 11
    bad_inputs_matrix.py --print-matrix                      # the class x subcommand table (docs/bad_inputs.md)

Classes or subcommands covered by other tests appear in the printed matrix with the test's name
(MATRIX_ELSEWHERE); the rest are run here.
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from check_util import nested_ifs
from onnx import TensorProto, helper, numpy_helper

TIMEOUT = 60
COMMANDS = ["info", "convert", "run", "compare", "optimize", "bench", "quantize", "prune"]
MODEL_READERS = COMMANDS  # every subcommand reads a model
WRITERS = ["convert", "optimize", "quantize", "prune"]  # subcommands that write a model (-o)
RUNNERS = ["run", "compare", "optimize", "bench", "quantize", "prune"]  # subcommands that run it
SAMPLE_READERS = ["compare", "quantize", "prune"]  # --inputs / --calib sample folders
TENSOR_READERS = ["run", "compare", "bench"]  # --input NAME=FILE and --input-dir

# Cells of the matrix tested by other scripts (class -> subcommand -> test), shown in --print-matrix.
MATRIX_ELSEWHERE = {
    1: {c: "cli_bad_inputs" for c in ["info", "convert"]},
    2: {c: "cli_bad_inputs" for c in ["info", "convert"]},
    3: {c: "cli_bad_inputs" for c in ["info", "convert"]},
    4: {"run": "cli_bad_inputs_runtime", "info": "cli_bad_inputs_runtime"},
    12: {c: "cli_bad_inputs" for c in ["info", "convert"]},
    13: {c: "cli_bad_inputs" for c in ["info", "convert"]},
    16: {c: "cli_bad_inputs" for c in ["info", "convert"]},
    17: {c: "cli_bad_inputs" for c in ["info", "convert"]},
    18: {c: "cli_bad_inputs" for c in ["info", "convert"]},
    19: {c: "cli_bad_inputs" for c in ["info", "convert"]},
    20: {"convert": "cli_bad_inputs, cli_write_safety"},
    21: {"convert": "cli_bad_inputs"},
    22: {"convert": "cli_bad_inputs"},
    23: {"quantize": "cli_quantize"},
    26: {"prune": "cli_prune"},
    28: {"optimize": "cli_optimize (idempotent column)"},
    29: {c: "cli_run_compare" for c in ["run", "compare"]},
    30: {c: "cli_bad_inputs_runtime" for c in RUNNERS},
}
# Subcommands that cannot meet a class at all (they do not read or write that kind of input).
NOT_APPLICABLE = {
    20: ["info", "run", "compare", "bench"], 21: ["info", "run", "compare", "bench", "optimize", "quantize", "prune"],
    22: ["info", "run", "compare", "bench"], 23: ["info", "convert", "run", "bench", "optimize"],
    25: ["info", "convert", "run", "compare", "bench", "optimize"], 26: [c for c in COMMANDS if c != "prune"],
    27: ["info", "convert"], 28: [c for c in COMMANDS if c != "optimize"],
    29: ["info", "convert"], 30: ["info", "convert"],
}
# Why a cell is left out although the subcommand meets the class.
NOT_IN_CI = {
    22: {c: "2 GiB written per run: too slow for CI (convert covers the shared writer)" for c in
         ["optimize", "quantize", "prune"]},
}


class Case:
    """One bad input: `build(ctx)` returns the path (or value) the args templates take, made once."""

    def __init__(self, cls, name, build, commands, names=None, expect="bad", args=None):
        self.cls, self.name, self.build, self.commands = cls, name, build, commands
        self.names = names  # strings the error may name (any one); None: the model file's name
        self.expect = expect  # "bad", "ok" or "any", or a dict by subcommand
        self.args = args  # subcommand -> function(ctx, built, out) -> argv; None: model_args

    def expect_for(self, cmd):
        return self.expect.get(cmd, "bad") if isinstance(self.expect, dict) else self.expect


# ---------------------------------------------------------------------------------------------------------
# Models


def conv_model(w1=None, extra_nodes=(), opset=13):
    """x [1,3,8,8] -> Conv(w1 4x3x3x3, pad 1) 'conv1' -> Relu -> Conv(w2 2x4x1x1) 'conv2' -> y [1,2,8,8]:
    every subcommand works on it (quantize calibrates it, prune finds conv1's channels)."""
    rng = np.random.default_rng(16)
    w1 = rng.standard_normal([4, 3, 3, 3]).astype(np.float32) if w1 is None else w1
    w2 = rng.standard_normal([2, 4, 1, 1]).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
             helper.make_node("Conv", ["r1", "w2"], ["y"], name="conv2")] + list(extra_nodes)
    g = helper.make_graph(nodes, "conv",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 8, 8])],
                          initializer=[numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def save(m, path):
    with open(path, "wb") as f:
        f.write(m.SerializeToString() if not isinstance(m, bytes) else m)
    return path


class Ctx:
    """The shared folder and files: the base model, its calibration folder, the input tensor."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.base = save(conv_model(), os.path.join(tmp, "base.onnx"))
        self.base_bytes = open(self.base, "rb").read()
        self.x = os.path.join(tmp, "x.npy")
        np.save(self.x, np.random.default_rng(1).standard_normal([1, 3, 8, 8]).astype(np.float32))
        self.calib = os.path.join(tmp, "calib")
        os.mkdir(self.calib)
        for i in range(2):
            np.save(os.path.join(self.calib, f"s{i}.npy"),
                    np.random.default_rng(10 + i).standard_normal([1, 3, 8, 8]).astype(np.float32))
        self.n = 0

    def folder(self, name):
        """A fresh folder for one case (so stray files are seen)."""
        self.n += 1
        d = os.path.join(self.tmp, f"c{self.n:03d}_{name}")
        os.mkdir(d)
        return d

    def model(self, name, m):
        return save(m, os.path.join(self.folder(name), name + ".onnx"))


def model_args(cmd, ctx, model, out):
    """The cheapest command line of `cmd` that reads `model` (and runs it, for the runners)."""
    return {
        "info": ["info", model, "--json"],
        "convert": ["convert", model, "-o", out],
        "run": ["run", model, "--random"],
        "compare": ["compare", model, model, "--random", "1"],
        "optimize": ["optimize", model, "-o", out],
        "bench": ["bench", model, "--random", "--iters", "1", "--warmup", "0"],
        "quantize": ["quantize", model, "-o", out, "--calib", ctx.calib, "--check", "1"],
        "prune": ["prune", model, "-o", out, "--ratio", "0.5", "--check", "1"],
    }[cmd]


def edit(update):
    """A builder: conv_model() changed by `update(model)` (which may return a replacement)."""
    def build(ctx, name):
        m = conv_model()
        m = update(m) or m
        return ctx.model(name, m)
    return build


def raw_bytes(fn):
    def build(ctx, name):
        d = ctx.folder(name)
        return save(fn(ctx), os.path.join(d, name + ".onnx"))
    return build


def init(m, name):
    return next(t for t in m.graph.initializer if t.name == name)


def node(m, name):
    return next(n for n in m.graph.node if n.name == name)


def set_attr(n, name, value):
    for a in list(n.attribute):
        if a.name == name:
            n.attribute.remove(a)
    if value is not None:
        n.attribute.append(helper.make_attribute(name, value))


# 1-3: bytes and container


def truncated(ctx):
    return ctx.base_bytes[:len(ctx.base_bytes) // 2]


def random_bytes(ctx):
    rng = random.Random(16)
    return bytes(rng.getrandbits(8) for _ in range(700))


def overlong(ctx):
    data = bytearray(ctx.base_bytes)
    at = data.index(b"\x3a")  # ModelProto.graph, field 7, length-delimited
    data[at + 1:at + 2] = b"\xff\xff\xff\x07"
    return bytes(data)


def special_file(kind):
    def build(ctx, name):
        d = ctx.folder(name)
        p = os.path.join(d, name + ".onnx")
        if kind == "dir":
            os.mkdir(p)
        elif kind == "fifo":
            os.mkfifo(p)
        else:  # a sparse file over 2 GiB starting with a valid model
            with open(p, "wb") as f:
                f.write(ctx.base_bytes)
                f.truncate((2 << 30) + 4096)
        return p
    return build


# 4: deep nesting


def nested(depth):
    def update(m):
        m.graph.node.insert(1, nested_ifs(helper.make_node("Identity", ["c1"], ["o0"]), depth, "cond", "c1"))
        m.graph.initializer.append(helper.make_tensor("cond", TensorProto.BOOL, [], [True]))
        node(m, "relu1").input[0] = f"o{depth}"
    return update


# 5: unknown fields and enums


def unknown_field(m):
    # Field 1000 (varint) on the model, a node and a tensor: unknown to ONNX, kept or dropped, never a crash.
    n = node(m, "conv1")
    extra = b"\xc0\x3e\x07"  # field 1000, wire type 0, value 7
    n.ParseFromString(n.SerializeToString() + extra)
    t = init(m, "w2")
    t.ParseFromString(t.SerializeToString() + extra)
    m.ParseFromString(m.SerializeToString() + extra)


def data_type_999(m):
    init(m, "w2").data_type = 999


def attr_type_99(m):
    # AttributeProto.type is a closed enum: 99 arrives as an unknown field, the type itself missing.
    a = node(m, "conv1").attribute[0]
    a.ClearField("type")
    a.ParseFromString(a.SerializeToString() + b"\xa0\x01\x63")


# 6: model header


def ir_version(v):
    def update(m):
        if v is None:
            m.ClearField("ir_version")
        else:
            m.ir_version = v
    return update


def no_opset(m):
    del m.opset_import[:]


def dup_domain(m):
    m.opset_import.append(helper.make_opsetid("", 11))


def opset(v):
    def update(m):
        m.opset_import[0].version = v
    return update


# 7: ops and attributes


def unknown_op(m):
    node(m, "relu1").op_type = "NoSuchOp"


def unknown_domain(m):
    node(m, "relu1").domain = "com.nowhere"
    m.opset_import.append(helper.make_opsetid("com.nowhere", 1))


def too_few_inputs(m):
    del node(m, "conv2").input[1:]


def too_many_outputs(m):
    node(m, "relu1").output.append("extra")


def attr_wrong_type(m):
    set_attr(node(m, "conv1"), "pads", 1.5)


def required_attr_missing(m):
    m.graph.node.insert(2, helper.make_node("Concat", ["r1", "r1"], ["cat"], name="concat"))
    m.graph.node.append(helper.make_node("Identity", ["cat"], ["cat_out"], name="cat_id"))
    m.graph.output.append(helper.make_tensor_value_info("cat_out", TensorProto.FLOAT, None))


# 8: structure


def cycle(m):
    # relu1 reads conv2's output: conv1 -> relu1 -> conv2 -> relu1.
    node(m, "relu1").input[0] = "y"
    node(m, "conv1").input[0] = "x"


def self_loop(m):
    node(m, "relu1").input[0] = "r1"


def dangling_input(m):
    node(m, "relu1").input[0] = "nowhere"


def output_unproduced(m):
    m.graph.output.append(helper.make_tensor_value_info("ghost", TensorProto.FLOAT, [1]))


# 9: names


def two_producers(m):
    node(m, "relu1").output[0] = "c1"
    node(m, "conv2").input[0] = "c1"


def output_named_like_input(m):
    node(m, "conv2").output[0] = "x"
    m.graph.output[0].name = "x"


def duplicate_initializer(m):
    m.graph.initializer.append(numpy_helper.from_array(np.zeros([2, 4, 1, 1], np.float32), "w2"))


# 10: order


def reversed_nodes(m):
    nodes = list(m.graph.node)
    del m.graph.node[:]
    m.graph.node.extend(reversed(nodes))


# 11: axes, perms, strides


def transpose_node(perm):
    def update(m):
        m.graph.node.insert(2, helper.make_node("Transpose", ["r1"], ["t1"], name="transpose", perm=perm))
        m.graph.node.insert(3, helper.make_node("Transpose", ["t1"], ["r1b"], name="transpose_back", perm=perm))
        node(m, "conv2").input[0] = "r1b"
    return update


def softmax_axis(axis):
    def update(m):
        m.graph.node.insert(2, helper.make_node("Softmax", ["r1"], ["s1"], name="softmax", axis=axis))
        node(m, "conv2").input[0] = "s1"
    return update


def conv_attr(name, value):
    def update(m):
        set_attr(node(m, "conv1"), name, value)
    return update


# 12-13: tensors


def raw_len(n):
    def update(m):
        init(m, "w1").raw_data = bytes(n)
    return update


def dims(ds, raw=4):
    def update(m):
        t = init(m, "w1")
        del t.dims[:]
        t.dims.extend(ds)
        t.raw_data = bytes(raw)
    return update


# 14: zero-sized


def empty_initializer(m):
    # y2 = Concat(y, empty [1,0,8,8]) along channels: a zero-sized constant through every command.
    m.graph.initializer.append(numpy_helper.from_array(np.zeros([1, 0, 8, 8], np.float32), "empty"))
    node(m, "conv2").output[0] = "y0"
    m.graph.node.append(helper.make_node("Concat", ["y0", "empty"], ["y"], name="concat_empty", axis=1))


def empty_input(m):
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 0
    m.graph.output[0].type.tensor_type.shape.dim[0].dim_value = 0


# 15: initializer shapes disagreeing with the node


def w1_shape(shape):
    def update(m):
        t = init(m, "w1")
        m.graph.initializer.remove(t)
        m.graph.initializer.append(numpy_helper.from_array(np.ones(shape, np.float32), "w1"))
    return update


# 16-19: external data


def external(location, offset=None, length=None, extra=(), setup=None):
    """conv_model() with w1 in external data at `location`; `setup(folder)` makes the files."""
    def build(ctx, name):
        d = ctx.folder(name)
        good = os.path.join(d, "w1.bin")
        if setup:
            setup(ctx, d)
        else:
            with open(good, "wb") as f:
                f.write(numpy_helper.to_array(init(conv_model(), "w1")).tobytes())
        m = conv_model()
        t = init(m, "w1")
        t.ClearField("raw_data")
        t.data_location = TensorProto.EXTERNAL
        for k, v in [("location", location)] + ([("offset", str(offset))] if offset is not None else []) + \
                ([("length", str(length))] if length is not None else []) + list(extra):
            e = t.external_data.add()
            e.key, e.value = k, v
        return save(m, os.path.join(d, name + ".onnx"))
    return build


def outside_file(ctx, d):
    p = os.path.join(ctx.tmp, "outside.bin")
    if not os.path.exists(p):
        with open(p, "wb") as f:
            f.write(bytes(4 * 108))
    return p


def symlink_out(ctx, d):
    os.symlink(outside_file(ctx, d), os.path.join(d, "w1.bin"))


def hard_link_out(ctx, d):
    os.link(outside_file(ctx, d), os.path.join(d, "w1.bin"))


def fifo_data(ctx, d):
    os.mkfifo(os.path.join(d, "w1.bin"))


# 24: quantized models


def qdq_model(scale, zero_point, zp_type=TensorProto.UINT8, axis=None):
    """conv_model() with a QuantizeLinear/DequantizeLinear pair on x."""
    def update(m):
        q = helper.make_node("QuantizeLinear", ["x", "qs", "qz"], ["xq"], name="quant_x",
                             **({"axis": axis} if axis is not None else {}))
        dq = helper.make_node("DequantizeLinear", ["xq", "qs", "qz"], ["xd"], name="dequant_x",
                              **({"axis": axis} if axis is not None else {}))
        m.graph.node.insert(0, dq)
        m.graph.node.insert(0, q)
        node(m, "conv1").input[0] = "xd"
        s = np.asarray(scale, np.float32)
        m.graph.initializer.append(numpy_helper.from_array(s, "qs"))
        m.graph.initializer.append(helper.make_tensor("qz", zp_type, list(np.shape(zero_point)),
                                                      np.asarray(zero_point).flatten().tolist()))
    return update


# 25: a weight constant across a channel


def constant_channel(m):
    t = init(m, "w1")
    w = numpy_helper.to_array(t).copy()
    w[1] = 0.25
    w[2] = 0.0
    m.graph.initializer.remove(t)
    m.graph.initializer.append(numpy_helper.from_array(w, "w1"))


# 27: huge constant folding


def constant_of_shape(shape):
    def update(m):
        m.graph.initializer.append(numpy_helper.from_array(np.array(shape, np.int64), "big_shape"))
        m.graph.node.append(helper.make_node("ConstantOfShape", ["big_shape"], ["big"], name="huge_fill"))
        m.graph.node.append(helper.make_node("ReduceSum", ["big"], ["total"], name="sum_big", keepdims=0))
        m.graph.output.append(helper.make_tensor_value_info("total", TensorProto.FLOAT, None))
    return update


# ---------------------------------------------------------------------------------------------------------
# Tensor files, sample folders, options


def npy_file(content):
    """A bad .npy given as x (content: bytes, or an array saved with np.save)."""
    def build(ctx, name):
        p = os.path.join(ctx.folder(name), name + ".npy")
        if isinstance(content, bytes):
            with open(p, "wb") as f:
                f.write(content)
        else:
            np.save(p, content)
        return p
    return build


def pb_file(tensor_bytes):
    def build(ctx, name):
        d = ctx.folder(name)
        p = os.path.join(d, "input_0.pb")
        with open(p, "wb") as f:
            f.write(tensor_bytes(ctx))
        return d
    return build


def pb_truncated(ctx):
    t = numpy_helper.from_array(np.ones([1, 3, 8, 8], np.float32), "x")
    return t.SerializeToString()[:100]


def pb_wrong_dims(ctx):
    t = numpy_helper.from_array(np.ones([1, 3, 8, 8], np.float32), "x")
    t.raw_data = t.raw_data[:40]
    return t.SerializeToString()


def symbolic_batch(ctx, name):
    """conv_model() whose batch dim is the symbol 'batch' (bound with --shape by the class 29 cases)."""
    m = conv_model()
    for vi in (m.graph.input[0], m.graph.output[0]):
        vi.type.tensor_type.shape.dim[0].dim_param = "batch"
    return ctx.model(name, m)


def shape_args(binding):
    def args(cmd, ctx, model, out):
        return model_args(cmd, ctx, model, out) + ["--shape", binding]
    return args


def tensor_args(cmd, ctx, path, out):
    """`path` (a .npy) fed as x to a tensor reader."""
    return {
        "run": ["run", ctx.base, "--input", f"x={path}"],
        "compare": ["compare", ctx.base, ctx.base, "--input", f"x={path}"],
        "bench": ["bench", ctx.base, "--input", f"x={path}", "--iters", "1", "--warmup", "0"],
    }[cmd]


def input_dir_args(cmd, ctx, path, out):
    return {
        "run": ["run", ctx.base, "--input-dir", path],
        "compare": ["compare", ctx.base, ctx.base, "--input-dir", path],
        "bench": ["bench", ctx.base, "--input-dir", path, "--iters", "1", "--warmup", "0"],
    }[cmd]


def sample_folder(arrays, raw=None):
    """A sample folder of .npy files (`arrays`), or of raw bytes `raw` named s0.npy."""
    def build(ctx, name):
        d = ctx.folder(name)
        for i, a in enumerate(arrays):
            np.save(os.path.join(d, f"s{i}.npy"), a)
        if raw is not None:
            with open(os.path.join(d, "s0.npy"), "wb") as f:
                f.write(raw)
        return d
    return build


def samples_args(cmd, ctx, path, out):
    return {
        "compare": ["compare", ctx.base, ctx.base, "--inputs", path],
        "quantize": ["quantize", ctx.base, "-o", out, "--calib", path],
        "prune": ["prune", ctx.base, "-o", out, "--ratio", "0.5", "--calib", path],
    }[cmd]


def nothing(ctx, name):
    return None


def ratio_args(ratio):
    def args(cmd, ctx, built, out):
        return ["prune", ctx.base, "-o", out, "--ratio", ratio, "--check", "1"]
    return args


def base_copy(ctx, name):
    """The base model in a folder of its own, named same.onnx."""
    p = os.path.join(ctx.folder(name), "same.onnx")
    shutil.copy(ctx.base, p)
    return p


def output_is_input(cmd, ctx, model, out):
    return model_args(cmd, ctx, model, model)


def output_folder_missing(cmd, ctx, model, out):
    return model_args(cmd, ctx, ctx.base, os.path.join(os.path.dirname(out), "no", "such", "out.onnx"))


def output_under_file(cmd, ctx, model, out):
    return model_args(cmd, ctx, ctx.base, os.path.join(ctx.base, "out.onnx"))


def shaped(shape, dtype=np.float32, fill=1.0):
    return np.full(shape, fill, dtype)


ALL = MODEL_READERS
READERS_ANY = {"info": "any", "convert": "any", "optimize": "any"}  # see class 7
# OPEN (docs/bad_inputs.md): accepted where ONNX Runtime refuses; kept visible here until fixed.
OPEN = "open"  # judged as "any"; listed under the matrix
# Scales of 0, negative, NaN or Inf: every subcommand that runs the model refuses it (ONNX requires positive
# scales; ONNX Runtime 1.30 runs them and saturates); info and convert copy it.
QDQ_BAD_SCALE = {"info": "any", "convert": "any"}
BASE = "base.onnx"
W1_BIN = ["w1.bin", "'w1'"]

CASES = [
    # 0: the base model passes every subcommand (else the bad cases prove nothing)
    Case(0, "baseline", edit(lambda m: None), ALL, expect="ok"),
    # 1-3: bytes and container
    Case(1, "empty", raw_bytes(lambda c: b""), ALL),
    Case(1, "truncated_half", raw_bytes(truncated), ALL),
    Case(2, "random_bytes", raw_bytes(random_bytes), ALL),
    Case(2, "overlong_field", raw_bytes(overlong), ALL),
    Case(3, "a_directory", special_file("dir"), ALL),
    Case(3, "a_fifo", special_file("fifo"), ALL),
    Case(3, "over_2gib", special_file("big"), ALL),
    # 4-5
    Case(4, "nested_80", edit(nested(80)), ALL),
    Case(5, "unknown_fields", edit(unknown_field), ALL, expect="ok"),
    Case(5, "data_type_999", edit(data_type_999), ALL, names=["'w2'"]),
    Case(5, "attribute_type_99", edit(attr_type_99), ALL, names=["conv1"], expect="any"),
    # 6: header
    Case(6, "ir_version_missing", edit(ir_version(None)), ALL),
    Case(6, "ir_version_negative", edit(ir_version(-3)), ALL),
    Case(6, "ir_version_too_new", edit(ir_version(99)), ALL),
    Case(6, "no_opset_import", edit(no_opset), ALL),
    Case(6, "duplicate_domain", edit(dup_domain), ALL),
    # Opsets newer than libonnx knows are run, not refused (DESIGN.md: newer exporters' models must load).
    Case(6, "opset_too_new", edit(opset(999)), ALL, expect="any"),
    # 7: ops and attributes. info and convert copy what they do not run, and optimize writes a model it
    # cannot run with a warning (it may be meant for another runtime): either answer is right there.
    Case(7, "unknown_op", edit(unknown_op), ALL, names=["relu1", "NoSuchOp"],
         expect=READERS_ANY),
    Case(7, "unknown_domain", edit(unknown_domain), ALL, names=["relu1", "com.nowhere"],
         expect=READERS_ANY),
    Case(7, "too_few_inputs", edit(too_few_inputs), ALL, names=["conv2"], expect=READERS_ANY),
    Case(7, "too_many_outputs", edit(too_many_outputs), ALL, names=["relu1"], expect=READERS_ANY),
    Case(7, "attribute_wrong_type", edit(attr_wrong_type), ALL, names=["conv1"], expect=READERS_ANY),
    Case(7, "required_attribute_missing", edit(required_attr_missing), ALL,
         names=["concat", "required_attribute_missing.onnx"], expect=READERS_ANY),
    # 8-9: structure and names
    Case(8, "cycle", edit(cycle), ALL, names=["relu1", "conv1", "conv2", "cycle"]),
    Case(8, "node_reads_own_output", edit(self_loop), ALL, names=["relu1", "'r1'"]),
    Case(8, "dangling_input", edit(dangling_input), ALL, names=["'nowhere'"]),
    Case(8, "output_nothing_produces", edit(output_unproduced), ALL, names=["'ghost'"]),
    Case(9, "two_producers", edit(two_producers), ALL, names=["'c1'"]),
    Case(9, "output_named_like_input", edit(output_named_like_input), ALL, names=["'x'"]),
    Case(9, "duplicate_initializer", edit(duplicate_initializer), ALL, names=["'w2'"]),
    # 10: order
    Case(10, "nodes_reversed", edit(reversed_nodes), ALL, expect="ok"),
    # 11: axes, perms, strides, groups
    Case(11, "softmax_axis_rank", edit(softmax_axis(4)), ALL, names=["softmax"],
         expect=READERS_ANY),
    Case(11, "softmax_axis_int64_min", edit(softmax_axis(-(1 << 63))), ALL, names=["softmax"],
         expect=READERS_ANY),
    Case(11, "perm_repeats", edit(transpose_node([0, 1, 1, 3])), ALL, names=["transpose"],
         expect=READERS_ANY),
    Case(11, "strides_zero", edit(conv_attr("strides", [0, 0])), ALL, names=["conv1"],
         expect=READERS_ANY),
    Case(11, "dilations_negative", edit(conv_attr("dilations", [-1, 1])), ALL, names=["conv1"],
         expect=READERS_ANY),
    Case(11, "group_zero", edit(conv_attr("group", 0)), ALL, names=["conv1", "group_zero.onnx"],
         expect=READERS_ANY),
    # 12-13: tensor sizes
    Case(12, "raw_data_short", edit(raw_len(100)), ALL, names=["'w1'"]),
    Case(12, "raw_data_odd", edit(raw_len(431)), ALL, names=["'w1'"]),
    Case(13, "negative_dim", edit(dims([-4, 3, 3, 3])), ALL, names=["'w1'"]),
    Case(13, "dims_overflow", edit(dims([1 << 62, 1 << 62, 1, 1])), ALL, names=["'w1'"]),
    Case(13, "huge_dims_tiny_data", edit(dims([1 << 20, 1 << 20, 1, 1])), ALL, names=["'w1'"]),
    # 14: zero-sized tensors must work
    Case(14, "empty_initializer", edit(empty_initializer), ALL, expect="ok"),
    Case(14, "empty_input", edit(empty_input), ALL, expect="any", names=["'x'", "conv1", "prune", "quantize"]),
    # 15: initializer shape against its node
    Case(15, "conv_weight_channels", edit(w1_shape([4, 5, 3, 3])), ALL, names=["conv1", "'w1'"],
         expect=READERS_ANY),
    Case(15, "conv_weight_rank", edit(w1_shape([4, 27])), ALL, names=["conv1", "'w1'", "conv_weight_rank.onnx"],
         expect=READERS_ANY),
    # 16-19: external data
    Case(16, "location_dotdot", external("../outside.bin"), ALL, names=W1_BIN + ["outside.bin"]),
    Case(16, "location_absolute", external("/etc/passwd"), ALL, names=W1_BIN + ["/etc/passwd"]),
    Case(16, "location_nul", external("w1.bin\0x"), ALL, names=W1_BIN),
    Case(17, "symlink_out", external("w1.bin", setup=symlink_out), ALL, names=W1_BIN),
    Case(17, "hard_link_out", external("w1.bin", setup=hard_link_out), ALL, names=W1_BIN),
    Case(18, "location_dev_zero", external("/dev/zero"), ALL, names=W1_BIN + ["/dev/zero"]),
    Case(18, "location_fifo", external("w1.bin", setup=fifo_data), ALL, names=W1_BIN),
    Case(19, "offset_past_end", external("w1.bin", offset=4096), ALL, names=W1_BIN),
    Case(19, "length_not_dims", external("w1.bin", length=20), ALL, names=W1_BIN),
    Case(19, "unknown_key", external("w1.bin", extra=[("colour", "blue")]), ALL, names=W1_BIN),
    # 20: writing
    Case(20, "output_is_input", base_copy, WRITERS, names=["same.onnx"], args=output_is_input),
    Case(20, "output_folder_missing", nothing, WRITERS, names=["out.onnx"], args=output_folder_missing),
    Case(20, "output_under_a_file", nothing, WRITERS, names=["out.onnx"], args=output_under_file),
    # 23: calibration and sample folders
    # compare runs NaN and Inf samples (NaN equals NaN in its metrics, as run takes NaN inputs); quantize
    # and prune refuse an input with no finite value on any sample (rt::check_samples_finite).
    Case(23, "samples_nan", sample_folder([shaped([1, 3, 8, 8], fill=np.nan)]), SAMPLE_READERS, args=samples_args,
         expect={"compare": "ok"},
         names=["s0.npy", "'x'", "NaN"]),
    Case(23, "samples_inf", sample_folder([shaped([1, 3, 8, 8], fill=np.inf)]), SAMPLE_READERS, args=samples_args,
         expect={"compare": "ok"},
         names=["s0.npy", "'x'", "Inf", "inf"]),
    Case(23, "samples_constant", sample_folder([shaped([1, 3, 8, 8], fill=0.5)] * 2), SAMPLE_READERS, args=samples_args, expect="ok"),
    Case(23, "samples_zeros", sample_folder([shaped([1, 3, 8, 8], fill=0.0)]), SAMPLE_READERS, args=samples_args, expect="ok"),
    Case(23, "samples_empty_folder", sample_folder([]), SAMPLE_READERS, args=samples_args, names=["samples_empty_folder"]),
    Case(23, "samples_wrong_shape", sample_folder([shaped([1, 3, 4, 4])]), SAMPLE_READERS, args=samples_args, names=["s0.npy"]),
    Case(23, "samples_wrong_type", sample_folder([shaped([1, 3, 8, 8], np.int32)]), SAMPLE_READERS, args=samples_args,
         names=["s0.npy"]),
    Case(23, "samples_corrupt_npy", sample_folder([], raw=b"\x93NUMPY\x01\x00garbage"), SAMPLE_READERS, args=samples_args,
         names=["s0.npy"]),
    # 24: quantized models with bad parameters
    Case(24, "qdq_scale_zero", edit(qdq_model(0.0, 128)), ALL, names=["quant_x", "dequant_x", "'qs'"],
         expect=QDQ_BAD_SCALE),
    Case(24, "qdq_scale_negative", edit(qdq_model(-0.1, 128)), ALL, names=["quant_x", "dequant_x", "'qs'"],
         expect=QDQ_BAD_SCALE),
    Case(24, "qdq_scale_nan", edit(qdq_model(np.nan, 128)), ALL, names=["quant_x", "dequant_x", "'qs'"],
         expect=QDQ_BAD_SCALE),
    Case(24, "qdq_scale_inf", edit(qdq_model(np.inf, 128)), ALL, names=["quant_x", "dequant_x", "'qs'"],
         expect=QDQ_BAD_SCALE),
    Case(24, "qdq_zero_point_out_of_range", edit(qdq_model(0.1, 300, zp_type=TensorProto.INT32)), ALL,
         names=["quant_x", "dequant_x", "'qz'"], expect=READERS_ANY),
    Case(24, "qdq_per_axis_wrong_length", edit(qdq_model([0.1, 0.2], [128, 128], axis=1)), ALL,
         names=["quant_x", "dequant_x", "'qs'"], expect=READERS_ANY),
    # 25: a weight channel of range 0
    Case(25, "constant_weight_channel", edit(constant_channel), ["quantize", "prune"], expect="ok"),
    # 26: pruning ratios
    *[Case(26, f"ratio_{r}", nothing, ["prune"], names=["--ratio"], args=ratio_args(r))
      for r in ["0", "1", "-0.5", "1.5", "nan", "inf"]],
    # 27: folding whose result would be huge
    Case(27, "constant_of_shape_1e6x1e6", edit(constant_of_shape([1000000, 1000000])), ALL,
         names=["huge_fill"], expect={"info": "ok", "convert": "ok", "optimize": "bad"}),
    # 29: tensors given as inputs
    Case(29, "npy_wrong_rank", npy_file(shaped([3, 8, 8])), TENSOR_READERS, names=["'x'"], args=tensor_args),
    Case(29, "npy_wrong_type", npy_file(shaped([1, 3, 8, 8], np.float64)), TENSOR_READERS, names=["'x'"],
         args=tensor_args),
    Case(29, "npy_wrong_dims", npy_file(shaped([1, 3, 8, 9])), TENSOR_READERS, names=["'x'"], args=tensor_args),
    Case(29, "npy_nan", npy_file(shaped([1, 3, 8, 8], fill=np.nan)), TENSOR_READERS, expect="ok", args=tensor_args),
    Case(29, "npy_empty_file", npy_file(b""), TENSOR_READERS, names=["npy_empty_file.npy"], args=tensor_args),
    Case(29, "npy_truncated", npy_file(b"\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, "
                                       b"'shape': (1, 3, 8, 8), }" + b" " * 49 + b"\n" + bytes(64)),
         TENSOR_READERS, names=["npy_truncated.npy"], args=tensor_args),
    Case(29, "npy_huge_shape", npy_file(b"\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, "
                                        b"'shape': (4611686018427387904, 4, 8, 8), }" + b" " * 29 + b"\n"),
         TENSOR_READERS, names=["npy_huge_shape.npy"], args=tensor_args),
    # Symbolic dims bound to 0 (an empty batch runs, or is refused cleanly) or to a huge value (refused).
    Case(29, "batch_bound_to_0", symbolic_batch, RUNNERS, args=shape_args("batch=0"), expect="any",
         names=["batch", "'x'", "conv1", "batch_bound_to_0.onnx"]),
    # optimize writes the model with the batch fixed (valid ONNX) and says its check could not run.
    # The session refuses declared sizes past one tensor's limit before any provider (dnnl, xnnpack) makes
    # primitives for them; default providers.
    Case(29, "batch_bound_to_2^40", symbolic_batch, RUNNERS,
         args=shape_args(f"batch={1 << 40}"), expect={"optimize": "any"},
         names=["batch", "'x'", "conv1", "relu1", "conv2", "batch_bound_to_2^40.onnx"]),
    Case(29, "pb_truncated", pb_file(pb_truncated), TENSOR_READERS, names=["input_0.pb"], args=input_dir_args),
    Case(29, "pb_data_short", pb_file(pb_wrong_dims), TENSOR_READERS, names=["input_0.pb"], args=input_dir_args),
]


# ---------------------------------------------------------------------------------------------------------
# Running


class Runner:
    def __init__(self, ortool, ctx):
        self.ortool, self.ctx = ortool, ctx
        self.passed = 0
        self.failures = []
        self.runs = 0

    def fail(self, what, why):
        self.failures.append(f"{what}: {why}")
        print(f"FAIL {what}: {why}", flush=True)

    def run_case(self, case):
        built = case.build(self.ctx, case.name)
        model_dir = None  # the case's own folder, checked for stray files
        if built and os.path.isabs(built) and built.startswith(self.ctx.tmp):
            model_dir = built if os.path.isdir(built) and not built.endswith(".onnx") else os.path.dirname(built)
        before = sorted(os.listdir(model_dir)) if model_dir and os.path.isdir(model_dir) else None
        for cmd in case.commands:
            what = f"{case.cls} {case.name} [{cmd}]"
            outdir = tempfile.mkdtemp(dir=self.ctx.tmp, prefix="out_")
            out = os.path.join(outdir, "out.onnx")
            argv = (case.args or model_args)(cmd, self.ctx, built, out)
            self.runs += 1
            try:
                proc = subprocess.run([self.ortool] + argv, capture_output=True, timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.fail(what, f"did not end within {TIMEOUT} s")
                continue
            names = case.names or [os.path.basename(built) if built else BASE]
            if self.judge(what, proc, case.expect_for(cmd), names, outdir, cmd):
                if model_dir and before is not None and sorted(os.listdir(model_dir)) != before:
                    left = sorted(set(os.listdir(model_dir)) - set(before))
                    self.fail(what, f"files left beside the model: {left}")
                else:
                    self.passed += 1
            shutil.rmtree(outdir, ignore_errors=True)

    def judge(self, what, proc, expect, names, outdir, cmd):
        err = proc.stderr.decode("utf-8", "replace")
        lines = err.splitlines()
        if "Sanitizer" in err or "runtime error:" in err:
            return self.fail(what, f"sanitizer report: {err[:2000]}")
        if expect == OPEN:
            expect = "any"
        if proc.returncode == 0 and expect in ("ok", "any"):
            if cmd in WRITERS and not os.listdir(outdir):
                return self.fail(what, "exit 0 but no output written")
            return True
        if expect == "ok":
            return self.fail(what, f"exit {proc.returncode} (expected 0), stderr {err.strip()[:400]!r}")
        if proc.returncode != 2:
            return self.fail(what, f"exit {proc.returncode} (expected 2), stderr {err.strip()[:400]!r}")
        if len(lines) != 1 or not err.endswith("\n") or not lines[0].startswith("ortool: error: "):
            return self.fail(what, f"stderr is not one error line: {err[:600]!r}")
        if len(lines[0]) > 600:
            return self.fail(what, f"error line of {len(lines[0])} characters: {lines[0][:200]!r}...")
        if not any(n in lines[0] for n in names):
            return self.fail(what, f"error does not name any of {names}: {lines[0]!r}")
        if proc.stdout.strip():
            return self.fail(what, f"unexpected stdout {proc.stdout[:200]!r}")
        if os.listdir(outdir):
            return self.fail(what, f"files left behind: {os.listdir(outdir)}")
        return True


def parse_classes(spec):
    chosen = set()
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        chosen.update(range(int(lo), int(hi or lo) + 1))
    return chosen


def matrix():
    """The class x subcommand coverage table, as markdown."""
    lines = ["| class | " + " | ".join(COMMANDS) + " |", "|---|" + "---|" * len(COMMANDS)]
    counts = {"M": 0, "E": 0, "x": 0, "-": 0}
    for cls in range(1, 31):
        here = {}
        for c in CASES:
            if c.cls == cls:
                for cmd in c.commands:
                    here[cmd] = here.get(cmd, 0) + 1
        row = []
        for cmd in COMMANDS:
            cell = []
            if cmd in here:
                cell.append(f"M{here[cmd]}")
                counts["M"] += 1
            if cmd in MATRIX_ELSEWHERE.get(cls, {}):
                cell.append("E")
                if cmd not in here:
                    counts["E"] += 1
            if not cell and cmd in NOT_IN_CI.get(cls, {}):
                cell.append("x")
                counts["x"] += 1
            if not cell:
                cell.append("-" if cmd in NOT_APPLICABLE.get(cls, []) else "**gap**")
                if cmd in NOT_APPLICABLE.get(cls, []):
                    counts["-"] += 1
            row.append(" ".join(cell))
        lines.append(f"| {cls} | " + " | ".join(row) + " |")
    opened = [f"{c.cls} {c.name} [{', '.join(cmd for cmd in c.commands if c.expect_for(cmd) == OPEN)}]"
              for c in CASES if any(c.expect_for(cmd) == OPEN for cmd in c.commands)]
    if opened:
        lines += ["", "Open (accepted where they should be refused; judged as `any` until fixed):", ""]
        lines += [f"- {o}" for o in opened]
    else:
        lines += ["", "Open (accepted where they should be refused): none."]
    lines += ["", f"Cells: {counts['M']} run here, {counts['E']} only in other tests, {counts['x']} left out of CI, "
              f"{counts['-']} not applicable, {240 - sum(counts.values())} gaps."]
    return "\n".join(lines), counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ortool")
    ap.add_argument("--classes", default="1-30", help="classes to run, e.g. 1-11,14")
    ap.add_argument("--print-matrix", action="store_true")
    ap.add_argument("--docs", help="a markdown file that must hold the current --print-matrix table")
    a = ap.parse_args()
    if a.docs:
        table, _ = matrix()
        if table not in open(a.docs, encoding="utf-8").read():
            print(f"FAIL {a.docs} does not hold the current matrix: regenerate it with --print-matrix")
            return 1
        print(f"ok   {a.docs} holds the current matrix")
    if a.print_matrix:
        table, counts = matrix()
        print(table)
        print(f"\ncells: {counts['M']} run here (M<cases>), {counts['E']} only in other tests (E), "
              f"{counts['x']} left out of CI (x), {counts['-']} not applicable (-)")
        return 0
    if not a.ortool:
        ap.error("--ortool is required")
    chosen = parse_classes(a.classes)
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="ortool_bad_matrix_")
    try:
        r = Runner(os.path.abspath(a.ortool), Ctx(tmp))
        for c in CASES:
            if c.cls in chosen or c.cls == 0:
                r.run_case(c)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"bad inputs matrix (classes {a.classes}): {r.passed} passed, {len(r.failures)} failed, "
          f"{r.runs} runs in {time.monotonic() - t0:.0f} s")
    return 1 if r.failures else 0


if __name__ == "__main__":
    sys.exit(main())
