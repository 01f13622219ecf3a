#!/usr/bin/python3
# CLI conventions (DESIGN.md): --help with an example everywhere, --version, one-line errors, exit codes 0/1/2.
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import onnx
from onnx import TensorProto, helper


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ortool", required=True)
    ap.add_argument("--testdata", required=True)
    args = ap.parse_args()
    ortool = os.path.abspath(args.ortool)
    small = os.path.join(args.testdata, "small_convnet.onnx")
    results = {"passed": 0, "failed": 0}

    def run(*a, **kw):
        return subprocess.run([ortool, *a], capture_output=True, text=True, timeout=120, **kw)

    def check(name, ok, detail=""):
        if ok:
            results["passed"] += 1
        else:
            results["failed"] += 1
            print(f"FAIL {name}: {detail}", flush=True)

    def one_error_line(name, p, code=2, words=()):
        lines = p.stderr.splitlines()
        check(name, p.returncode == code and len(lines) == 1 and lines[0].startswith("ortool: error: ")
              and all(w in lines[0] for w in words) and p.stdout == "",
              f"exit {p.returncode}, stdout {p.stdout[:200]!r}, stderr {p.stderr!r}")

    p = run("--help")
    check("--help exits 0", p.returncode == 0, p.stderr)
    listing = p.stdout.split("Subcommands:")[-1].split("\n\n")[0]
    subcommands = re.findall(r"^  (\w+)\s", listing, re.M)
    check("--help lists info and convert", {"info", "convert"} <= set(subcommands), p.stdout)
    check("--help has an example", "Example" in p.stdout, p.stdout)
    for sub in subcommands:
        p = run(sub, "--help")
        check(f"{sub} --help exits 0 with an example", p.returncode == 0 and "Example" in p.stdout
              and f"ortool {sub}" in p.stdout, p.stdout + p.stderr)
    p = run("--version")
    check("--version", p.returncode == 0 and re.fullmatch(r"ortool \d+\.\d+\.\d+\n", p.stdout) is not None, p.stdout)

    one_error_line("no arguments", run())
    one_error_line("unknown subcommand", run("frobnicate"), words=("frobnicate",))
    one_error_line("unknown option", run("info", small, "--frobnicate"), words=("--frobnicate",))
    one_error_line("info without a model", run("info"))
    one_error_line("convert without -o", run("convert", small), words=("--output",))
    with tempfile.TemporaryDirectory(prefix="ortool_cli_") as tmp:
        out = os.path.join(tmp, "x.onnx")
        one_error_line("--threshold needs --external-data", run("convert", small, "-o", out, "--threshold", "9"))
        one_error_line("--internal excludes --external-data",
                       run("convert", small, "-o", out, "--internal", "--external-data"))
        one_error_line("negative --threshold",
                       run("convert", small, "-o", out, "--external-data", "--threshold", "-5"), words=("threshold",))
        check("nothing written after usage errors", os.listdir(tmp) == [], os.listdir(tmp))

    p = run("info", small)
    check("info prints a table", p.returncode == 0 and "Conv" in p.stdout and "float32[batch,3,32,32]" in p.stdout
          and "MACs" in p.stdout and p.stderr == "", p.stdout + p.stderr)
    p = run("info", small, "--json")
    try:
        j = json.loads(p.stdout)
        check("info --json", p.returncode == 0 and j["node_count"] == 10 and j["macs"] == 516256, p.stdout)
    except ValueError as e:
        check("info --json parses", False, f"{e}: {p.stdout!r}")

    with tempfile.TemporaryDirectory(prefix="ortool_cli_") as tmp:
        out = os.path.join(tmp, "copy.onnx")
        p = run("convert", small, "-o", out, "--onnx-check")
        check("convert --onnx-check on a good model", p.returncode == 0 and os.path.exists(out)
              and "onnx checker: ok" in p.stdout, p.stdout + p.stderr)
        # A model ortool loads but the onnx checker rejects: exit 1, the finding on one line.
        g = helper.make_graph([helper.make_node("NoSuchOp", ["x"], ["y"], name="mystery")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
        unknown = os.path.join(tmp, "unknown_op.onnx")
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), unknown)
        p = run("convert", unknown, "-o", os.path.join(tmp, "checked.onnx"), "--onnx-check")
        lines = p.stderr.splitlines()
        check("convert --onnx-check finding exits 1", p.returncode == 1 and len(lines) == 1
              and lines[0].startswith("ortool: error: ") and "NoSuchOp" in lines[0] and "checked.onnx" in lines[0],
              f"exit {p.returncode}: {p.stderr!r}")
        p = run("convert", out, "-o", out)
        one_error_line("convert refuses to overwrite its input", p, words=("copy.onnx", "--force"))
        p = run("convert", out, "-o", out, "--force")
        check("convert --force overwrites its input", p.returncode == 0, p.stderr)

    print(f"cli conventions: {results['passed']} passed, {results['failed']} failed")
    print(f"{results['passed']} passed, {results['failed']} failed")
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
