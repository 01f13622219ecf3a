#!/usr/bin/python3
# Writes that lose nothing (issue 16 point 3): ortool killed while writing, and a full disk.
"""Two checks on `ortool convert --external-data` writing a model of about 32 MiB:

- killed: ortool is SIGKILLed at a random moment while it writes over an existing output (model file
  plus data file), ITERATIONS times in a row. After every kill the folder holds exactly the two files,
  and they are either both the old output or both the new one: never a mix or a partial file; at most a
  hidden temporary file of the killed writer (a kill between naming the finished file and renaming it over
  the target), which the next complete write removes (checked at the end). Each round writes the other of
  two models, so every round has an old output to lose.
- disk full: a small tmpfs holds an old output; writing the large model there fails with exit 2 and
  one line naming the file and the full disk, the old output stays, and nothing else is left.
  Mounting needs root (or a user namespace, tried with `unshare` otherwise).
"""
import argparse
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

failures = []


def fail(msg):
    failures.append(msg)
    print(f"FAIL {msg}", flush=True)


def big_model(path, seed, tensors=2, elems=4 << 20):
    rng = np.random.default_rng(seed)
    inits, nodes, prev = [], [], "x"
    for i in range(tensors):
        w = f"w{i}"
        inits.append(numpy_helper.from_array(rng.standard_normal(elems).astype(np.float32), w))
        nodes.append(helper.make_node("Add", [prev, w], [f"a{i}"]))
        prev = f"a{i}"
    nodes.append(helper.make_node("Identity", [prev], ["y"]))
    g = helper.make_graph(nodes, "big", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [elems])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [elems])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, path)
    return path


def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def dead_writer_temp(name):
    """A hidden temporary file of a writer that no longer runs (".m.onnx.tmp-<pid>-..."). A SIGKILL between
    naming the finished file and renaming it over the target (two system calls) leaves one: nothing makes that
    pair atomic on Linux. The next write to the same target removes it."""
    for target in ("m.onnx", "m.onnx.data"):
        prefix = f".{target}.tmp-"
        if name.startswith(prefix):
            pid = name[len(prefix):].split("-", 1)[0]
            if pid.isdigit():
                try:
                    os.kill(int(pid), 0)
                    return False
                except ProcessLookupError:
                    return True
                except PermissionError:
                    return False
    return False


def output_state(folder):
    names = sorted(n for n in os.listdir(folder) if not dead_writer_temp(n))
    if names != ["m.onnx", "m.onnx.data"]:
        return names, None
    return names, (digest(os.path.join(folder, "m.onnx")), digest(os.path.join(folder, "m.onnx.data")))


def convert(ortool, src, out, **kw):
    return subprocess.run([ortool, "convert", src, "-o", out, "--external-data"], capture_output=True, **kw)


def check_killed(ortool, tmp, iterations, seed):
    models = [big_model(os.path.join(tmp, "a.onnx"), 1), big_model(os.path.join(tmp, "b.onnx"), 2)]
    expected = []
    for i, src in enumerate(models):
        ref = os.path.join(tmp, f"ref{i}")
        os.mkdir(ref)
        t0 = time.monotonic()
        p = convert(ortool, src, os.path.join(ref, "m.onnx"))
        secs = time.monotonic() - t0
        if p.returncode != 0:
            fail(f"killed: converting {src} failed: {p.stderr.decode()[:300]}")
            return
        expected.append(output_state(ref)[1])
    if expected[0] == expected[1]:
        fail("killed: the two models wrote the same files")
        return
    out = os.path.join(tmp, "out")
    os.mkdir(out)
    shutil.copy(os.path.join(tmp, "ref0", "m.onnx"), out)
    shutil.copy(os.path.join(tmp, "ref0", "m.onnx.data"), out)
    current, rng = 0, random.Random(seed)
    kept = replaced = stray_rounds = 0
    # The kills aim inside the write: when the machine's load changes after the reference runs and a
    # write ends before its kill, later kills come sooner (a write killed in time lets them drift back).
    scale = 1.0
    for it in range(iterations):
        nxt = 1 - current
        proc = subprocess.Popen([ortool, "convert", models[nxt], "-o", os.path.join(out, "m.onnx"), "--external-data"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, 1.05) * secs * scale)
        scale = scale * 0.8 if proc.poll() is not None else min(1.0, scale * 1.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        names, state = output_state(out)
        stray_rounds += len(os.listdir(out)) > len(names)
        if state is None:
            fail(f"killed: round {it}: the folder holds {names}, want ['m.onnx', 'm.onnx.data']")
            return
        if state == expected[current]:
            kept += 1
        elif state == expected[nxt]:
            replaced += 1
            current = nxt
        else:
            fail(f"killed: round {it}: the files are neither the old output nor the new one (a mix)")
            return
    leftovers = sorted(os.listdir(out))
    # A write that completes removes what killed writers left.
    p = convert(ortool, models[1 - current], os.path.join(out, "m.onnx"))
    names = sorted(os.listdir(out))
    if p.returncode != 0 or names != ["m.onnx", "m.onnx.data"]:
        fail(f"killed: a complete write after the kills left {names} (exit {p.returncode}; before it: {leftovers})")
        return
    print(f"ok   killed {iterations} times while writing {secs:.2f} s of output: old output kept {kept}, "
          f"new output complete {replaced}, never a mix or a stray visible file; a killed writer's hidden "
          f"temporary file after {stray_rounds} kills, removed by the next write", flush=True)
    if kept < iterations // 5:
        fail(f"killed: only {kept} of {iterations} kills landed before the write ended; the test does not "
             "exercise writes")


def mounted_tmpfs(folder, size):
    if os.geteuid() != 0:
        return False
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", folder], capture_output=True)
    return r.returncode == 0


def check_disk_full(ortool, tmp):
    full = os.path.join(tmp, "full")
    os.makedirs(full, exist_ok=True)
    if not mounted_tmpfs(full, "24m"):
        # Not root: run this check again inside a user and mount namespace, where mounting is allowed.
        r = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", sys.executable, __file__,
                            "--ortool", ortool, "--disk-full-only"], capture_output=True, text=True)
        sys.stdout.write(r.stdout)
        if r.returncode != 0:
            fail(f"disk full: could not mount a tmpfs (needs root or user namespaces): {r.stderr.strip()[:300]}")
        return
    try:
        small = big_model(os.path.join(tmp, "small.onnx"), 3, tensors=1, elems=1 << 16)
        large = big_model(os.path.join(tmp, "large.onnx"), 4)
        target = os.path.join(full, "m.onnx")
        p = convert(ortool, small, target)
        if p.returncode != 0:
            fail(f"disk full: writing the small model failed: {p.stderr.decode()[:300]}")
            return
        before = output_state(full)
        p = convert(ortool, large, target, text=True)
        lines = p.stderr.splitlines()
        after = output_state(full)
        if p.returncode != 2:
            fail(f"disk full: exit {p.returncode} (want 2), stderr {p.stderr[:300]!r}")
        elif len(lines) != 1 or not lines[0].startswith("ortool: error: ") or "m.onnx" not in lines[0] \
                or "disk full" not in lines[0]:
            fail(f"disk full: want one line naming the file and the full disk, got {p.stderr[:300]!r}")
        elif after != before:
            fail(f"disk full: the folder changed from {before[0]} to {after[0]} or the old files changed")
        else:
            print(f"ok   disk full: exit 2, {lines[0]!r}; the old output is intact and nothing is left", flush=True)
    finally:
        subprocess.run(["umount", full], capture_output=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ortool", required=True)
    ap.add_argument("--iterations", type=int, default=100)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--disk-full-only", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ortool_killwrite_") as tmp:
        if not a.disk_full_only:
            check_killed(a.ortool, tmp, a.iterations, a.seed)
        check_disk_full(a.ortool, tmp)
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("all write-safety checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
