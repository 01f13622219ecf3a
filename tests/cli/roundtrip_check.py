#!/usr/bin/python3
# Round-trip test of `ortool convert`: for every model, the output equals the input when both are loaded with onnx.
"""For each model: `ortool convert M -o out.onnx` must give a model equal to M, and so must
`--external-data` (read back by onnx itself) followed by a conversion back to one file.

Equality: both models are loaded with python onnx; every TensorProto (initializers, attribute
tensors, sparse tensors, in every graph, function and training graph) is compared by value
(numpy_helper.to_array, bit for bit) and then reduced to a canonical raw_data form; the rest of
the two protos must then serialize to the same bytes. Prints each failure and the totals.
"""
import argparse
import difflib
import glob
import os
import shutil
import subprocess
import sys
import tempfile

import onnx
from google.protobuf import text_format
from onnx import TensorProto, numpy_helper

TIMEOUT = 300
DATA_FIELDS = ("raw_data", "float_data", "int32_data", "string_data", "int64_data", "double_data", "uint64_data",
               "external_data", "data_location")


def canonical_tensor(t):
    """Replaces t's payload by one canonical encoding of its values (strings stay in string_data)."""
    if t.data_type == TensorProto.STRING:
        values = list(t.string_data)
        for f in DATA_FIELDS:
            t.ClearField(f)
        t.string_data.extend(values)
        return
    try:
        payload = numpy_helper.to_array(t).tobytes()
    except Exception as e:  # a type numpy_helper cannot read: compare the fields as they are
        payload = None
        t.doc_string += f" [to_array failed: {e}]"
    if payload is not None:
        for f in DATA_FIELDS:
            t.ClearField(f)
        t.raw_data = payload


def walk_graph(g):
    for t in g.initializer:
        yield t
    for st in g.sparse_initializer:
        yield st.values
        yield st.indices
    for n in g.node:
        yield from walk_node(n)


def walk_node(n):
    for a in n.attribute:
        if a.HasField("t"):
            yield a.t
        yield from a.tensors
        if a.HasField("sparse_tensor"):
            yield a.sparse_tensor.values
            yield a.sparse_tensor.indices
        for st in a.sparse_tensors:
            yield st.values
            yield st.indices
        if a.HasField("g"):
            yield from walk_graph(a.g)
        for sg in a.graphs:
            yield from walk_graph(sg)


def normalize(m):
    tensors = list(walk_graph(m.graph))
    for f in m.functions:
        for n in f.node:
            tensors.extend(walk_node(n))
    for ti in m.training_info:
        tensors.extend(walk_graph(ti.initialization))
        tensors.extend(walk_graph(ti.algorithm))
    for t in tensors:
        canonical_tensor(t)
    return m


def first_difference(a, b):
    ta = text_format.MessageToString(a).splitlines()
    tb = text_format.MessageToString(b).splitlines()
    diff = [line for line in difflib.unified_diff(ta, tb, "input", "output", n=1, lineterm="")][2:10]
    return " | ".join(d.strip()[:160] for d in diff) or "serialized bytes differ (unknown fields?)"


def same_model(expected_path, got_path):
    """None when equal, else a short description of the first difference."""
    try:
        a = normalize(onnx.load(expected_path))
    except Exception as e:
        return f"onnx cannot load the input: {e}"
    try:
        b = normalize(onnx.load(got_path))
    except Exception as e:
        return f"onnx cannot load ortool's output: {e}"
    if a.SerializeToString(deterministic=True) == b.SerializeToString(deterministic=True):
        return None
    return first_difference(a, b)


def run(ortool, args):
    p = subprocess.run([ortool] + args, capture_output=True, timeout=TIMEOUT)
    if p.returncode != 0:
        return f"`ortool {' '.join(args[:1])}` exit {p.returncode}: {p.stderr.decode(errors='replace').strip()}"
    return None


def check_model(ortool, model, tmp):
    """List of failure descriptions for one model (empty when it round-trips)."""
    failures = []
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(os.path.join(tmp, "ext"))
    out = os.path.join(tmp, "out.onnx")
    err = run(ortool, ["convert", model, "-o", out]) or same_model(model, out)
    if err:
        failures.append(f"inline: {err}")

    ext = os.path.join(tmp, "ext", "model.onnx")
    back = os.path.join(tmp, "back.onnx")
    err = run(ortool, ["convert", model, "-o", ext, "--external-data", "--threshold", "16"])
    if err:
        failures.append(f"external: {err}")
        return failures
    err = same_model(model, ext)
    if err:
        failures.append(f"external (read by onnx): {err}")
    err = run(ortool, ["convert", ext, "-o", back, "--internal"]) or same_model(model, back)
    if err:
        failures.append(f"external then inline: {err}")
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ortool", required=True)
    ap.add_argument("patterns", nargs="+", help="glob patterns of models (missing folders are skipped)")
    args = ap.parse_args()
    ortool = os.path.abspath(args.ortool)
    models = sorted({m for p in args.patterns for m in glob.glob(p)})
    if not models:
        print("roundtrip: no models found")
        return 1
    tmp_root = tempfile.mkdtemp(prefix="ortool_roundtrip_")
    failed = {}
    try:
        for model in models:
            f = check_model(ortool, model, os.path.join(tmp_root, "m"))
            if f:
                failed[model] = f
                for line in f:
                    print(f"FAIL {model}: {line}", flush=True)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    print(f"roundtrip: {len(models)} models, {len(models) - len(failed)} passed, {len(failed)} failed")
    print(f"{len(models) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
