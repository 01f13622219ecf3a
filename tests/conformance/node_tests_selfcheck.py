#!/usr/bin/python3
"""Checks that the conformance harness (node_tests.py) can fail: it runs the harness on a few cases with
stub `ortool` binaries and doctored lists and data folders, and requires its verdict each time.

- an ortool that copies the expected outputs passes (the harness can pass at all);
- an ortool that always fails, one that is 1% off on floats, one that is 1e-6 off on doubles fail;
- a line deleted from expected_pass.txt fails, whether the case then passes or fails;
- a listed case missing from the data folder fails, and so does a case listed in both lists.

    /usr/bin/python3 tests/conformance/node_tests_selfcheck.py --harness tests/conformance/node_tests.py \\
        --expected tests/conformance/expected_pass.txt
"""
import argparse
import contextlib
import importlib.util
import io
import os
import sys
import tempfile

DATA_DIR = "/usr/share/libonnx-testdata/data/node"
# Few and quick: a float op, an int op, an op with two outputs, and a double output.
CASES = ["test_abs", "test_add_uint8", "test_top_k", "test_cast_FLOAT_to_DOUBLE"]

# `ortool run MODEL --input-dir DIR --output-dir OUT` stand-ins: each writes (or does not write) OUT/output_K.pb.
# The two plain ones are shell scripts (fast); the ones that change numbers parse the tensors.
SHELL_STUBS = {
    "fail": "#!/bin/sh\necho 'ortool: error: stub that always fails' >&2\nexit 1\n",
    "copy": """#!/bin/sh
while [ $# -gt 0 ]; do
  case "$1" in --input-dir) src=$2; shift ;; --output-dir) out=$2; shift ;; esac
  shift
done
for f in "$src"/output_*.pb; do cp "$f" "$out/"; done
""",
}
STUB = """#!/usr/bin/python3
import os, sys
MODE = {mode!r}
args = sys.argv[1:]
src, out = args[args.index("--input-dir") + 1], args[args.index("--output-dir") + 1]
for f in sorted(os.listdir(src)):
    if not f.startswith("output_"):
        continue
    import numpy as np
    import onnx
    from onnx import numpy_helper
    t = onnx.TensorProto()
    t.ParseFromString(open(os.path.join(src, f), "rb").read())
    a = numpy_helper.to_array(t)
    if MODE == "float_off" and a.dtype == np.float32:
        a = (a * np.float32(1.01) + np.float32(0.01)).astype(np.float32)
    if MODE == "double_off" and a.dtype == np.float64:
        a = a * (1 + 1e-6) + 1e-6
    open(os.path.join(out, f), "wb").write(numpy_helper.from_array(a, t.name).SerializeToString())
"""


def write_stub(tmp, mode):
    path = os.path.join(tmp, f"ortool_{mode}")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(SHELL_STUBS.get(mode) or STUB.format(mode=mode))
    os.chmod(path, 0o755)
    return path


def load_harness(path):
    """node_tests.py as a module: each run calls its main() in this process (onnx is imported once)."""
    spec = importlib.util.spec_from_file_location("node_tests", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run_harness(harness, argv):
    """(exit code, printed text) of one run of the harness's main()."""
    out = io.StringIO()
    saved = sys.argv
    sys.argv = ["node_tests.py", *argv]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = harness.main()
    finally:
        sys.argv = saved
    return code, out.getvalue()


def read_lines(path):
    with open(path, encoding="utf-8") as fh:
        return fh.read().splitlines()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--harness", required=True, help="node_tests.py")
    ap.add_argument("--expected", required=True, help="expected_pass.txt (known_failures.txt beside it)")
    ap.add_argument("--data-dir", default=DATA_DIR)
    a = ap.parse_args()
    if not os.path.isdir(a.data_dir):
        print(f"node_tests_selfcheck: error: no {a.data_dir}", file=sys.stderr)
        return 2
    expected = read_lines(a.expected)
    known = read_lines(os.path.join(os.path.dirname(os.path.abspath(a.expected)), "known_failures.txt"))
    missing = [c for c in CASES if c not in expected]
    if missing:
        print(f"node_tests_selfcheck: error: {missing} not in {a.expected}", file=sys.stderr)
        return 2

    harness = load_harness(a.harness)
    failures = []
    with tempfile.TemporaryDirectory(prefix="ortool_selfcheck_") as tmp:
        stubs = {m: write_stub(tmp, m) for m in ("copy", "fail", "float_off", "double_off")}
        # A data folder holding only CASES (links), so that coverage is judged on a small folder.
        data = os.path.join(tmp, "data")
        os.mkdir(data)
        for c in CASES:
            os.symlink(os.path.join(a.data_dir, c), os.path.join(data, c))

        def lists(name, expected_lines, known_lines=()):
            d = os.path.join(tmp, name)
            os.mkdir(d)
            with open(os.path.join(d, "expected_pass.txt"), "w", encoding="utf-8") as fh:
                fh.write("\n".join(expected_lines) + "\n")
            with open(os.path.join(d, "known_failures.txt"), "w", encoding="utf-8") as fh:
                fh.write("\n".join(known_lines) + "\n")
            return os.path.join(d, "expected_pass.txt")

        exact = lists("exact", CASES)
        full = lists("full", expected, known)
        without_abs = lists("without_abs", [c for c in CASES if c != "test_abs"])
        extra = lists("extra", CASES + ["test_relu"])
        twice = lists("twice", CASES, ["test_abs: listed twice on purpose"])

        runs = [
            # (what, stub, expected list, data folder, harness's exit code and a line it must print)
            ("copying stub, lists = data", "copy", exact, data, 0, "0 of 4 expected-pass cases regressed"),
            ("copying stub, the full lists on the full data (-k)", "copy", full, a.data_dir, 0, "4 passed, 0 failed"),
            ("stub that always fails", "fail", exact, data, 1, "REGRESSION test_abs"),
            ("stub 1% off on floats", "float_off", exact, data, 1, "REGRESSION test_abs"),
            ("stub 1e-6 off on doubles", "double_off", exact, data, 1, "REGRESSION test_cast_FLOAT_to_DOUBLE"),
            ("test_abs deleted from expected_pass.txt, stub that always fails", "fail", without_abs, data, 1,
             "UNLISTED test_abs fails"),
            ("test_abs deleted from expected_pass.txt, copying stub", "copy", without_abs, data, 1,
             "UNLISTED test_abs passes"),
            ("a listed case missing from the data folder", "copy", extra, data, 1, "MISSING test_relu"),
            ("the full lists on a data folder missing most cases", "copy", full, data, 1, "MISSING test_relu"),
            ("a case in both lists", "copy", twice, data, 1, "LISTED TWICE test_abs"),
        ]
        for what, stub, exp, data_dir, want, line in runs:
            argv = ["--ortool", stubs[stub], "--expected", exp, "--data-dir", data_dir]
            if data_dir == a.data_dir:
                argv += ["-k", "^(" + "|".join(CASES) + ")$"]
            code, text = run_harness(harness, argv)
            ok = code == want and line in text
            print(f"{'ok' if ok else 'FAIL'}: {what}: exit {code} (want {want} and '{line}')")
            if not ok:
                failures.append(what)
                print("  " + text.strip().replace("\n", "\n  "))
    print(f"{len(runs) - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
