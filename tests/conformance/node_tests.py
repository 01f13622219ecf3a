#!/usr/bin/python3
"""ONNX backend node conformance: runs every case of /usr/share/libonnx-testdata/data/node through
`ortool run --input-dir --output-dir` and compares each output with the expected one.

A case passes when every test_data_set_N of it runs and matches: same proto kind (tensor, sequence,
optional), same element type and shape, numbers within rtol 1e-3 / atol 1e-7 (double outputs within
rtol 1e-9 / atol 1e-12; NaN equals NaN, infinities exactly), integers, bools and strings exactly.

expected_pass.txt lists the cases that must pass; known_failures.txt says why each other case fails
(`case_name: reason`). The two lists together must cover every case of the data folder, each case
once. The run fails (exit 1) when a case of expected_pass.txt fails, when a case is in neither list
(so deleting a line cannot turn a case off) or in both, and when a listed case is missing from the
data folder. `--update` rewrites expected_pass.txt from this run's results (and keeps
known_failures.txt in step: drops cases that now pass, adds new failures with the error seen).

    /usr/bin/python3 tests/conformance/node_tests.py --ortool build/apps/ortool \\
        --expected tests/conformance/expected_pass.txt [--update] [-k softmax] [CASE ...]
"""

import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import numpy_helper

DATA_DIR = "/usr/share/libonnx-testdata/data/node"
RTOL = 1e-3
ATOL = 1e-7
# Double outputs: the references are numpy's float64 results, and a kernel computing in float would
# stay within the float tolerance above.
RTOL_F64 = 1e-9
ATOL_F64 = 1e-12


# --- reading expected and actual outputs -------------------------------------------------------

def output_kinds(model_path):
    """Proto kind of each graph output ('tensor', 'sequence', 'optional'), from the model's types."""
    try:
        m = onnx.load(model_path, load_external_data=False)
    except Exception:  # noqa: BLE001 - an unreadable model is ortool's problem to report
        return []
    kinds = []
    for o in m.graph.output:
        field = o.type.WhichOneof("value")
        kinds.append({"tensor_type": "tensor", "sequence_type": "sequence",
                      "optional_type": "optional"}.get(field, "tensor"))
    return kinds


def parse_value(data, kind):
    """Parses a .pb file as the given kind; without a kind, tries tensor, sequence, optional."""
    order = {"tensor": [onnx.TensorProto], "sequence": [onnx.SequenceProto],
             "optional": [onnx.OptionalProto]}.get(kind) or [onnx.TensorProto, onnx.SequenceProto,
                                                              onnx.OptionalProto]
    last = None
    for cls in order:
        p = cls()
        try:
            p.ParseFromString(data)
            return p
        except Exception as e:  # noqa: BLE001
            last = e
    raise ValueError(f"not a TensorProto, SequenceProto or OptionalProto ({last})")


def type_name(data_type):
    try:
        return onnx.TensorProto.DataType.Name(data_type).lower()
    except ValueError:
        return str(data_type)


def compare_tensor(exp, got, where):
    """None when equal within tolerance, else a one-line reason."""
    e = numpy_helper.to_array(exp)
    g = numpy_helper.to_array(got)
    if (exp.data_type == onnx.TensorProto.UINT16 and got.data_type == onnx.TensorProto.BFLOAT16):
        # The bfloat16 cases of onnx 1.12's test data store the expected bits as uint16.
        e = (e.astype(np.uint32) << 16).view(np.float32)
    elif exp.data_type != got.data_type:
        return f"{where}: element type {type_name(got.data_type)}, expected {type_name(exp.data_type)}"
    if e.shape != g.shape:
        return f"{where}: shape {list(g.shape)}, expected {list(e.shape)}"
    if e.size == 0:
        return None
    if e.dtype.kind in "fc":
        e64 = e.astype(np.float64) if e.dtype.kind == "f" else e
        g64 = g.astype(np.float64) if g.dtype.kind == "f" else g
        rtol, atol = (RTOL_F64, ATOL_F64) if e.dtype == np.float64 else (RTOL, ATOL)
        ok = np.isclose(g64, e64, rtol=rtol, atol=atol, equal_nan=True)
        if ok.all():
            return None
        bad = int((~ok).sum())
        idx = int(np.argmax(~ok.reshape(-1)))
        return (f"{where}: {bad} of {e.size} elements differ (first at flat index {idx}: "
                f"got {g.reshape(-1)[idx]!r}, expected {e.reshape(-1)[idx]!r})")
    if e.dtype.kind in "OSU":
        el, gl = e.reshape(-1).tolist(), g.reshape(-1).tolist()
        if el == gl:
            return None
        idx = next(i for i, (a, b) in enumerate(zip(el, gl)) if a != b)
        return f"{where}: strings differ at flat index {idx}: got {gl[idx]!r}, expected {el[idx]!r}"
    if np.array_equal(e, g):
        return None
    neq = e != g
    idx = int(np.argmax(neq.reshape(-1)))
    return (f"{where}: {int(neq.sum())} of {e.size} elements differ (first at flat index {idx}: "
            f"got {g.reshape(-1)[idx]!r}, expected {e.reshape(-1)[idx]!r})")


def compare_value(exp, got, where):
    if type(exp) is not type(got):
        return f"{where}: got a {type(got).__name__}, expected a {type(exp).__name__}"
    if isinstance(exp, onnx.TensorProto):
        return compare_tensor(exp, got, where)
    if isinstance(exp, onnx.SequenceProto):
        ev, gv = sequence_items(exp), sequence_items(got)
        if len(ev) != len(gv):
            return f"{where}: sequence of {len(gv)} items, expected {len(ev)}"
        for i, (a, b) in enumerate(zip(ev, gv)):
            r = compare_value(a, b, f"{where}[{i}]")
            if r:
                return r
        return None
    if isinstance(exp, onnx.OptionalProto):
        ei, gi = optional_item(exp), optional_item(got)
        if (ei is None) != (gi is None):
            return f"{where}: optional {'empty' if gi is None else 'has a value'}, expected the opposite"
        return None if ei is None else compare_value(ei, gi, where)
    return f"{where}: unsupported value kind"


def sequence_items(s):
    if s.elem_type == onnx.SequenceProto.TENSOR:
        return list(s.tensor_values)
    if s.elem_type == onnx.SequenceProto.SEQUENCE:
        return list(s.sequence_values)
    if s.elem_type == onnx.SequenceProto.OPTIONAL:
        return list(s.optional_values)
    return list(s.tensor_values) or list(s.sequence_values)


def optional_item(o):
    if o.elem_type == onnx.OptionalProto.TENSOR and o.HasField("tensor_value"):
        return o.tensor_value
    if o.elem_type == onnx.OptionalProto.SEQUENCE and o.HasField("sequence_value"):
        return o.sequence_value
    if o.elem_type == onnx.OptionalProto.OPTIONAL and o.HasField("optional_value"):
        return o.optional_value
    return None


# --- running one case ----------------------------------------------------------------------------

def first_error_line(text):
    lines = [l.strip() for l in text.strip().splitlines() if l.strip()]
    for l in lines:
        if "error" in l.lower():
            return l[:300]
    return (lines[-1] if lines else "no message")[:300]


def run_case(ortool, case_dir, timeout, providers=None):
    """(passed, reason) for one case: every data set must run and match."""
    model = os.path.join(case_dir, "model.onnx")
    sets = sorted(d for d in os.listdir(case_dir) if d.startswith("test_data_set_"))
    if not sets:
        return False, "no test_data_set_N folder"
    kinds = output_kinds(model)
    for s in sets:
        set_dir = os.path.join(case_dir, s)
        with tempfile.TemporaryDirectory(prefix="ortool_node_") as out:
            cmd = [ortool, "run", model, "--input-dir", set_dir, "--output-dir", out]
            if providers:
                cmd += ["--providers", providers]
            try:
                p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   timeout=timeout, check=False)
            except subprocess.TimeoutExpired:
                return False, f"{s}: timed out after {timeout}s"
            if p.returncode != 0:
                err = p.stderr.decode("utf-8", "replace").replace("ortool: error: ", "")
                err = err.replace(model + ": ", "").replace(set_dir + ": ", "")
                sig = f" (signal {-p.returncode})" if p.returncode < 0 else ""
                return False, f"{s}: exit {p.returncode}{sig}: {first_error_line(err)}"
            expected = sorted((f for f in os.listdir(set_dir) if re.fullmatch(r"output_\d+\.pb", f)),
                              key=lambda f: int(f[7:-3]))
            for f in expected:
                k = int(f[7:-3])
                kind = kinds[k] if k < len(kinds) else None
                got_path = os.path.join(out, f)
                if not os.path.exists(got_path):
                    return False, f"{s}/{f}: not written"
                try:
                    with open(os.path.join(set_dir, f), "rb") as fh:
                        exp = parse_value(fh.read(), kind)
                    with open(got_path, "rb") as fh:
                        got = parse_value(fh.read(), kind)
                    r = compare_value(exp, got, f"{s}/{f}")
                except Exception as e:  # noqa: BLE001 - any unreadable file is a failure of the case
                    r = f"{s}/{f}: cannot compare: {e}"
                if r:
                    return False, r
    return True, ""


# --- lists ---------------------------------------------------------------------------------------

def read_list(path):
    names = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                line = line.split("#", 1)[0].strip()
                if line:
                    names.append(line)
    return names


def read_known(path):
    known = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                name, _, reason = line.partition(":")
                known[name.strip()] = reason.strip()
    return known


def write_expected(path, names):
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("# ONNX backend node cases that must pass (tests/conformance/node_tests.py fails when one\n"
                 "# does not). Regenerate with --update after making more cases pass.\n")
        for n in sorted(names):
            fh.write(n + "\n")


def write_known(path, known):
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("# ONNX backend node cases that fail, one per line: `case_name: reason`.\n"
                 "# node_tests.py --update drops cases that pass and adds new failures with the error seen.\n")
        for n in sorted(known):
            fh.write(f"{n}: {known[n]}\n")


# --- main ----------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ortool", required=True, help="path of the ortool binary")
    ap.add_argument("--expected", required=True, help="expected_pass.txt")
    ap.add_argument("--known-failures", help="known_failures.txt (default: beside --expected)")
    ap.add_argument("--data-dir", default=DATA_DIR)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--providers", help="passed to ortool run (default: ortool's default providers)")
    ap.add_argument("--timeout", type=float, default=60, help="seconds per data set")
    ap.add_argument("--update", action="store_true", help="rewrite expected_pass.txt from the results")
    ap.add_argument("-k", dest="pattern", help="only cases whose name matches this regular expression")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every failure with its reason")
    ap.add_argument("cases", nargs="*", help="only these cases (names of folders in --data-dir)")
    args = ap.parse_args()

    if not os.path.isfile(args.ortool) or not os.access(args.ortool, os.X_OK):
        print(f"node_tests: error: ortool binary {args.ortool!r} not found", file=sys.stderr)
        return 2
    if not os.path.isdir(args.data_dir):
        print(f"node_tests: error: test data folder {args.data_dir!r} not found "
              "(apt-get install libonnx-testdata)", file=sys.stderr)
        return 2
    known_path = args.known_failures or os.path.join(os.path.dirname(os.path.abspath(args.expected)),
                                                     "known_failures.txt")
    all_cases = sorted(d for d in os.listdir(args.data_dir) if os.path.isdir(os.path.join(args.data_dir, d)))
    cases = all_cases
    if args.cases:
        missing = [c for c in args.cases if c not in all_cases]
        if missing:
            print(f"node_tests: error: no such case: {', '.join(missing)}", file=sys.stderr)
            return 2
        cases = list(args.cases)
    if args.pattern:
        cases = [c for c in cases if re.search(args.pattern, c)]
    selected = set(cases)
    expected = read_list(args.expected)
    known = read_known(known_path)

    start = time.time()
    results = {}
    ortool = os.path.abspath(args.ortool)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futs = {pool.submit(run_case, ortool, os.path.join(args.data_dir, c), args.timeout, args.providers): c for c in cases}
        for f in concurrent.futures.as_completed(futs):
            c = futs[f]
            try:
                results[c] = f.result()
            except Exception as e:  # noqa: BLE001
                results[c] = (False, f"harness error: {e}")
    elapsed = time.time() - start

    passed = sorted(c for c, (ok, _) in results.items() if ok)
    failed = sorted(c for c, (ok, _) in results.items() if not ok)
    expected_set = set(expected)
    regressed = [c for c in failed if c in expected_set]
    unlisted = [c for c in cases if c not in expected_set and c not in known]
    both = sorted(c for c in cases if c in expected_set and c in known)
    stale_known = [c for c in passed if c in known]
    gone = sorted(c for c in expected_set | set(known) if c not in all_cases)

    for c in regressed:
        print(f"REGRESSION {c}: {results[c][1]}")
    for c in unlisted:
        what = "passes" if results[c][0] else f"fails: {results[c][1]}"
        print(f"UNLISTED {c} {what} (in neither expected_pass.txt nor known_failures.txt)")
    for c in both:
        print(f"LISTED TWICE {c}: in expected_pass.txt and in known_failures.txt")
    for c in gone:
        print(f"MISSING {c}: listed, but not in {args.data_dir}")
    if args.verbose:
        for c in failed:
            if c not in regressed and c not in unlisted:
                print(f"fail {c}: {results[c][1]}  [known: {known.get(c, '')}]")
    if stale_known and not args.update:
        print(f"note: {len(stale_known)} case(s) in known_failures.txt now pass (run with --update): "
              f"{' '.join(stale_known[:20])}{' ...' if len(stale_known) > 20 else ''}")
    list_errors = len(unlisted) + len(both) + len(gone)
    if list_errors and not args.update:
        print(f"{list_errors} list error(s): every case must be in exactly one of {os.path.basename(args.expected)} "
              f"and {os.path.basename(known_path)} (run with --update to list new cases)")

    if args.update:
        new_expected = ((expected_set - selected) | set(passed)) - set(gone)
        write_expected(args.expected, new_expected)
        for c in passed + gone:
            known.pop(c, None)
        for c in failed:
            if c not in known:
                known[c] = "(auto) " + results[c][1]
        write_known(known_path, known)
        print(f"updated {args.expected} ({len(new_expected)} cases) and {known_path} ({len(known)} cases)")

    print(f"{len(regressed)} of {len([c for c in cases if c in expected_set])} expected-pass cases regressed; "
          f"{len(cases)} cases in {elapsed:.0f}s")
    print(f"conformance: {len(passed)} passed, {len(failed)} failed")
    return 1 if (regressed or list_errors) and not args.update else 0


if __name__ == "__main__":
    sys.exit(main())
