#!/usr/bin/python3
# End-to-end bad-input tests (BAD_INPUTS.md items 1-3, 12, 13, 16-22) through `ortool info` and `ortool convert`.
"""Each case builds a corrupt model (or path) in a temporary folder and runs ortool on it.

Expected, for every failing case: exit code 2, exactly one line on stderr starting with
`ortool: error:` and naming the model file, nothing on stdout, and no output file left behind.
Random bytes and bit flips use fixed seeds. Prints one line per failure and the totals.
"""
import argparse
import os
import random
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

TIMEOUT = 60


class Runner:
    def __init__(self, ortool, tmp):
        self.ortool = ortool
        self.tmp = tmp
        self.passed = 0
        self.failures = []

    def run(self, args, preexec=None):
        return subprocess.run([self.ortool] + args, capture_output=True, timeout=TIMEOUT, preexec_fn=preexec)

    def fail(self, case, why):
        self.failures.append(f"{case}: {why}")
        print(f"FAIL {case}: {why}", flush=True)

    def check_error(self, case, proc, names):
        """Exit 2, one `ortool: error:` line naming one of `names`, empty stdout."""
        err = proc.stderr.decode("utf-8", "replace")
        lines = err.splitlines()
        if proc.returncode != 2:
            return self.fail(case, f"exit code {proc.returncode}, stderr {err.strip()!r}")
        if len(lines) != 1 or not err.endswith("\n"):
            return self.fail(case, f"stderr is {len(lines)} lines: {err!r}")
        if not lines[0].startswith("ortool: error: "):
            return self.fail(case, f"stderr does not start with 'ortool: error: ': {lines[0]!r}")
        if names and not any(n in lines[0] for n in names):
            return self.fail(case, f"error does not name {names}: {lines[0]!r}")
        if proc.stdout:
            return self.fail(case, f"unexpected stdout {proc.stdout[:200]!r}")
        return True

    def expect_bad(self, case, model_path, names=None, allow_ok=False):
        """`info` and `convert` both refuse `model_path` (or, with allow_ok, both may accept it)."""
        names = names or [os.path.basename(model_path)]
        proc = self.run(["info", model_path, "--json"])
        if not (allow_ok and proc.returncode == 0):
            if not self.check_error(f"{case} [info]", proc, names):
                return
        outdir = tempfile.mkdtemp(dir=self.tmp, prefix="out_")
        out = os.path.join(outdir, "out.onnx")
        proc = self.run(["convert", model_path, "-o", out])
        if allow_ok and proc.returncode == 0:
            shutil.rmtree(outdir)
            self.passed += 1
            return
        if not self.check_error(f"{case} [convert]", proc, names):
            return
        left = os.listdir(outdir)
        if left:
            return self.fail(f"{case} [convert]", f"files left behind: {left}")
        shutil.rmtree(outdir)
        self.passed += 1


def base_model():
    """A small valid model with one initializer 'w' (float 2x3) feeding an Add."""
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"], name="add")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
        initializer=[numpy_helper.from_array(w, "w")])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


def save_proto(m, path):
    with open(path, "wb") as f:
        f.write(m.SerializeToString())
    return path


def with_w(update):
    """base_model() with its initializer changed by `update(tensor)`."""
    m = base_model()
    update(m.graph.initializer[0])
    return m


def external(location, offset=None, length=None, extra=None):
    def update(t):
        t.ClearField("raw_data")
        t.data_location = TensorProto.EXTERNAL
        entries = [("location", location)]
        if offset is not None:
            entries.append(("offset", str(offset)))
        if length is not None:
            entries.append(("length", str(length)))
        entries += extra or []
        for k, v in entries:
            e = t.external_data.add()
            e.key = k
            e.value = v
    return with_w(update)


def case_dir(r, name):
    d = os.path.join(r.tmp, name)
    os.makedirs(d, exist_ok=True)
    return d


def bytes_and_container(r, valid, tag):
    """Item 1 (empty, short, truncated), 2 (random, bit flips, overlong field), 3 (huge, not a file)."""
    d = case_dir(r, "bytes_" + tag)
    data = open(valid, "rb").read()
    for name, content in [("empty.onnx", b""), ("one_byte.onnx", b"\x08")]:
        r.expect_bad(f"1 {name}", save_bytes(d, name, content))
    for pct in (10, 50, 99):
        n = len(data) * pct // 100
        r.expect_bad(f"1 truncated at {pct}%", save_bytes(d, f"trunc{pct}.onnx", data[:n]))
    # Inside a varint (ir_version's value byte with its continuation bit), a length prefix, raw_data.
    r.expect_bad("1 truncated inside a varint", save_bytes(d, "trunc_varint.onnx", b"\x08\x88"))
    graph_tag = data.index(b"\x3a")  # ModelProto.graph, field 7, length-delimited
    r.expect_bad("1 truncated inside a length prefix", save_bytes(d, "trunc_len.onnx", data[:graph_tag + 1]))
    raw = next(t.raw_data for t in onnx.load_from_string(data).graph.initializer if len(t.raw_data) >= 8)
    raw_at = data.index(raw)
    r.expect_bad("1 truncated inside raw_data", save_bytes(d, "trunc_raw.onnx", data[:raw_at + 5]))

    rng = random.Random(20240607)
    for i in range(8):
        blob = bytes(rng.getrandbits(8) for _ in range(rng.choice((16, 300, 5000))))
        r.expect_bad(f"2 random bytes #{i}", save_bytes(d, f"random{i}.onnx", blob))
    # Bit flips may leave a valid model: then both commands must succeed; otherwise fail cleanly.
    for i in range(40):
        b = bytearray(data)
        for _ in range(rng.choice((1, 4, 16))):
            pos = rng.randrange(len(b))
            b[pos] ^= 1 << rng.randrange(8)
        r.expect_bad(f"2 bit flips #{i}", save_bytes(d, f"flip{i}.onnx", bytes(b)), allow_ok=True)
    over = bytearray(data)
    over[graph_tag + 1:graph_tag + 2] = b"\xff\xff\xff\x07"  # graph length 2^28-1: past the end
    r.expect_bad("2 length-delimited field longer than the file", save_bytes(d, "overlong.onnx", bytes(over)))

    big = os.path.join(d, "over_2gib.onnx")
    with open(big, "wb") as f:
        f.write(data)
        f.truncate((2 << 30) + 4096)  # sparse: no disk used
    r.expect_bad("3 file over 2 GiB", big)
    folder = os.path.join(d, "a_folder.onnx")
    os.mkdir(folder)
    r.expect_bad("3 a directory", folder)
    fifo = os.path.join(d, "fifo.onnx")
    os.mkfifo(fifo)
    r.expect_bad("3 a FIFO", fifo)
    r.expect_bad("3 /dev/zero", "/dev/zero")
    r.expect_bad("3 missing file", os.path.join(d, "missing.onnx"))


def save_bytes(d, name, content):
    p = os.path.join(d, name)
    with open(p, "wb") as f:
        f.write(content)
    return p


def tensors(r):
    """Item 12 (raw_data length) and 13 (bad dims), on an initializer and on a Constant node."""
    d = case_dir(r, "tensors")

    def raw(n):
        return lambda t: setattr(t, "raw_data", bytes(n))

    def dims(ds, raw_len=4):
        def update(t):
            del t.dims[:]
            t.dims.extend(ds)
            t.raw_data = bytes(raw_len)
        return update

    def float_data(n):
        def update(t):
            t.ClearField("raw_data")
            t.float_data.extend([1.0] * n)
        return update

    cases = [
        ("12 raw_data shorter", raw(20)), ("12 raw_data longer", raw(28)), ("12 raw_data not a multiple", raw(23)),
        ("12 float_data count wrong", float_data(5)),
        ("13 negative dim", dims([-1, 3])), ("13 dims overflow int64", dims([1 << 62, 1 << 62])),
        ("13 dims overflow size_t bytes", dims([1 << 61, 8])), ("13 huge dims tiny data", dims([1 << 20, 1 << 20])),
        ("13 unknown data_type", lambda t: setattr(t, "data_type", 999)),
    ]
    for i, (name, update) in enumerate(cases):
        r.expect_bad(name, save_proto(with_w(update), os.path.join(d, f"init{i}.onnx")))
    # The same corruption inside a Constant node's value attribute.
    m = base_model()
    t = m.graph.initializer.pop()
    t.raw_data = bytes(20)
    m.graph.node.insert(0, helper.make_node("Constant", [], ["w"], name="const_w", value=t))
    r.expect_bad("12 raw_data shorter in a Constant node", save_proto(m, os.path.join(d, "const.onnx")))


def external_data(r):
    """Items 16-19: external data locations, links, special files, offsets and lengths."""
    root = case_dir(r, "external")
    outside = os.path.join(root, "outside.bin")
    with open(outside, "wb") as f:
        f.write(bytes(64))

    def model_in(name, m, setup=None):
        d = os.path.join(root, name)
        os.makedirs(d, exist_ok=True)
        if setup:
            setup(d)
        return save_proto(m, os.path.join(d, "model.onnx"))

    def good_data(d):
        with open(os.path.join(d, "w.bin"), "wb") as f:
            f.write(np.arange(6, dtype=np.float32).tobytes())

    # A correct external-data model first: the baseline must load.
    ok = model_in("ok", external("w.bin"), good_data)
    proc = r.run(["info", ok])
    if proc.returncode != 0:
        r.fail("16 baseline external data", proc.stderr.decode(errors="replace").strip())
    else:
        r.passed += 1

    for i, loc in enumerate(["../outside.bin", "a/../../outside.bin", "/etc/passwd", "", ".", "sub", "w.bin\0x",
                             "missing.bin"]):
        def setup(d):
            good_data(d)
            os.makedirs(os.path.join(d, "sub"), exist_ok=True)
        r.expect_bad(f"16 location {loc!r}", model_in(f"loc{i}", external(loc), setup))

    def symlink_out(d):
        os.symlink(outside, os.path.join(d, "w.bin"))
    r.expect_bad("17 symlink to a file outside", model_in("symlink", external("w.bin"), symlink_out))

    def symlinked_folder(d):
        os.symlink(root, os.path.join(d, "linkdir"))
    r.expect_bad("17 file inside a symlinked folder", model_in("symdir", external("linkdir/outside.bin"),
                                                                  symlinked_folder))

    def hard_link(d):
        os.link(outside, os.path.join(d, "w.bin"))
    r.expect_bad("17 hard link to an outside file", model_in("hardlink", external("w.bin"), hard_link))

    def dev_zero_link(d):
        os.symlink("/dev/zero", os.path.join(d, "w.bin"))
    r.expect_bad("18 location /dev/zero", model_in("devzero", external("/dev/zero")))
    r.expect_bad("18 symlink to /dev/zero", model_in("devzero_link", external("w.bin"), dev_zero_link))
    r.expect_bad("18 location /proc/self/mem", model_in("procmem", external("/proc/self/mem")))

    def fifo(d):
        os.mkfifo(os.path.join(d, "w.bin"))
    r.expect_bad("18 a FIFO", model_in("fifo", external("w.bin"), fifo))

    for i, (what, kw) in enumerate([
            ("negative offset", dict(offset=-1)), ("negative length", dict(length=-24)),
            ("huge offset", dict(offset=1 << 62)), ("huge length", dict(length=1 << 62)),
            ("offset past the end", dict(offset=4096)), ("offset+length past the end", dict(offset=8, length=24)),
            ("length not matching dims", dict(length=20)), ("offset not a number", dict(offset="12abc")),
            ("unknown key", dict(extra=[("colour", "blue")]))]):
        r.expect_bad(f"19 {what}", model_in(f"off{i}", external("w.bin", **kw), good_data))


def writing(r, valid):
    """Items 20-22: same file, unwritable folders, disk full, killed mid-write, rewriting, 2 GiB."""
    d = case_dir(r, "writing")
    model = os.path.join(d, "model.onnx")
    shutil.copy(valid, model)
    before = open(model, "rb").read()

    def expect_convert_fails(case, out, extra=(), preexec=None, names=None, leftovers_dir=None):
        proc = r.run(["convert", model, "-o", out] + list(extra), preexec=preexec)
        if not r.check_error(case, proc, names or [os.path.basename(out)]):
            return
        if open(model, "rb").read() != before:
            return r.fail(case, "the input changed")
        if leftovers_dir is not None:
            left = sorted(set(os.listdir(leftovers_dir)) - {"model.onnx", "old.onnx"})
            if left:
                return r.fail(case, f"files left behind: {left}")
        r.passed += 1

    expect_convert_fails("20 output is the input", model, leftovers_dir=d)
    os.link(model, os.path.join(d, "same_inode.onnx"))
    expect_convert_fails("20 output is a hard link to the input", os.path.join(d, "same_inode.onnx"),
                         names=["same_inode.onnx", "model.onnx"])
    os.remove(os.path.join(d, "same_inode.onnx"))
    expect_convert_fails("20 missing output folder", os.path.join(d, "no", "such", "out.onnx"))
    ro = os.path.join(d, "readonly")
    os.mkdir(ro)
    os.chmod(ro, stat.S_IRUSR | stat.S_IXUSR)
    if os.geteuid() != 0:  # root writes anywhere; /proc stands in for a read-only folder below
        expect_convert_fails("20 read-only output folder", os.path.join(ro, "out.onnx"), leftovers_dir=ro)
    expect_convert_fails("20 output folder that refuses files (/proc)", "/proc/ortool_bad_inputs_test.onnx")
    expect_convert_fails("20 output path under a regular file", os.path.join(model, "out.onnx"),
                         names=["out.onnx"])

    def small_fsize(signal_ignored):
        def preexec():
            resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))
            if signal_ignored:
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        return preexec

    full = os.path.join(d, "full")
    os.mkdir(full)
    expect_convert_fails("20 disk full (file size limit)", os.path.join(full, "out.onnx"),
                         preexec=small_fsize(True), leftovers_dir=full)
    # Killed mid-write (SIGXFSZ): the old output stays as it was.
    old = os.path.join(full, "old.onnx")
    with open(old, "wb") as f:
        f.write(b"old contents")
    proc = r.run(["convert", model, "-o", old], preexec=small_fsize(False))
    case = "20 killed mid-write"
    if proc.returncode >= 0:
        r.fail(case, f"expected death by SIGXFSZ, got exit code {proc.returncode}")
    elif open(old, "rb").read() != b"old contents":
        r.fail(case, "the old output file changed")
    else:
        r.passed += 1
    for f in os.listdir(full):  # a killed process cannot remove its temporary file
        if f != "old.onnx":
            os.remove(os.path.join(full, f))

    case = "21 external data saved twice does not grow"
    out = os.path.join(d, "ext.onnx")
    sizes = []
    for _ in range(2):
        proc = r.run(["convert", valid, "-o", out, "--external-data", "--threshold", "64", "--location", "ext.bin"])
        if proc.returncode != 0:
            r.fail(case, proc.stderr.decode(errors="replace").strip())
            break
        sizes.append(os.path.getsize(os.path.join(d, "ext.bin")))
    else:
        if sizes[0] != sizes[1] or sizes[0] == 0:
            r.fail(case, f"data file sizes {sizes}")
        else:
            r.passed += 1

    # 22: a model whose weight is 2 GiB of (sparse) external data, saved with --internal.
    big_dir = os.path.join(d, "big")
    os.mkdir(big_dir)
    n = (2 << 30) // 4 + 1024
    m = base_model()
    t = m.graph.initializer[0]
    del t.dims[:]
    t.dims.extend([n])
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    e = t.external_data.add()
    e.key, e.value = "location", "big.bin"
    m.graph.node[0].op_type = "Identity"
    del m.graph.node[0].input[1:]
    big_model = save_proto(m, os.path.join(big_dir, "model.onnx"))
    with open(os.path.join(big_dir, "big.bin"), "wb") as f:
        f.truncate(n * 4)
    out_dir = tempfile.mkdtemp(dir=r.tmp, prefix="out_")
    proc = r.run(["convert", big_model, "-o", os.path.join(out_dir, "inline.onnx"), "--internal"])
    case = "22 output over 2 GiB with --internal"
    if r.check_error(case, proc, ["inline.onnx", "model.onnx"]):
        if os.listdir(out_dir):
            r.fail(case, f"files left behind: {os.listdir(out_dir)}")
        else:
            r.passed += 1


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ortool", required=True)
    ap.add_argument("--model", required=True, help="a small valid model to corrupt")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="ortool_bad_inputs_")
    r = Runner(os.path.abspath(args.ortool), tmp)
    try:
        valid = os.path.join(tmp, "valid.onnx")
        save_proto(base_model(), valid)
        bytes_and_container(r, args.model, "model")
        bytes_and_container(r, valid, "tiny")
        tensors(r)
        external_data(r)
        writing(r, args.model)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"bad inputs: {r.passed} passed, {len(r.failures)} failed")
    return 1 if r.failures else 0


if __name__ == "__main__":
    sys.exit(main())
