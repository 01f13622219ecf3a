#!/usr/bin/python3
# `ortool info --json` checked against python onnx's own parse of each model (counts, names, types, parameters).
"""For every model: node_count, op_counts, opsets, ir_version, producer, input and output names and
tensor type strings, subgraph_count, parameter_count and parameter_bytes must equal what python
onnx computes from onnx.load. MACs and the other keys must be present. Prints failures and totals."""
import argparse
import collections
import glob
import json
import math
import os
import subprocess
import sys

import onnx
from onnx import TensorProto

TIMEOUT = 300
ELEM_NAMES = {
    TensorProto.FLOAT: "float32", TensorProto.UINT8: "uint8", TensorProto.INT8: "int8", TensorProto.UINT16: "uint16",
    TensorProto.INT16: "int16", TensorProto.INT32: "int32", TensorProto.INT64: "int64", TensorProto.STRING: "string",
    TensorProto.BOOL: "bool", TensorProto.FLOAT16: "float16", TensorProto.DOUBLE: "float64",
    TensorProto.UINT32: "uint32", TensorProto.UINT64: "uint64", TensorProto.COMPLEX64: "complex64",
    TensorProto.COMPLEX128: "complex128", TensorProto.BFLOAT16: "bfloat16",
}
ELEM_SIZES = {
    TensorProto.FLOAT: 4, TensorProto.UINT8: 1, TensorProto.INT8: 1, TensorProto.UINT16: 2, TensorProto.INT16: 2,
    TensorProto.INT32: 4, TensorProto.INT64: 8, TensorProto.BOOL: 1, TensorProto.FLOAT16: 2, TensorProto.DOUBLE: 8,
    TensorProto.UINT32: 4, TensorProto.UINT64: 8, TensorProto.COMPLEX64: 8, TensorProto.COMPLEX128: 16,
    TensorProto.BFLOAT16: 2,
}
KEYS = ("file", "producer", "ir_version", "opsets", "inputs", "outputs", "node_count", "op_counts", "subgraph_count",
        "parameter_count", "parameter_bytes", "macs", "macs_nodes", "macs_unknown_nodes", "macs_symbols_as_1",
        "shape_inference")


def domain_name(d):
    return "ai.onnx" if d in ("", "ai.onnx") else d


def op_key(n):
    return n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}:{n.op_type}"


def type_string(tp):
    """ortool's spelling of a tensor type, or None for other kinds (not compared)."""
    if not tp.HasField("tensor_type") or tp.tensor_type.elem_type not in ELEM_NAMES:
        return None
    tt = tp.tensor_type
    if not tt.HasField("shape"):
        return ELEM_NAMES[tt.elem_type] + "[...]"
    dims = []
    for d in tt.shape.dim:
        dims.append(str(d.dim_value) if d.HasField("dim_value") else d.dim_param if d.HasField("dim_param") else "?")
    return f"{ELEM_NAMES[tt.elem_type]}[{','.join(dims)}]"


class Params:
    def __init__(self):
        self.count = 0
        self.bytes = 0
        self.subgraphs = 0

    def tensor(self, t):
        n = math.prod(t.dims)
        self.count += n
        if t.data_type == TensorProto.STRING:
            self.bytes += sum(len(s) for s in t.string_data)
        else:
            self.bytes += n * ELEM_SIZES.get(t.data_type, 0)

    def graph(self, g):
        for t in g.initializer:
            self.tensor(t)
        for n in g.node:
            if n.op_type == "Constant" and n.domain in ("", "ai.onnx"):
                self.constant(n)
            for a in n.attribute:
                subs = ([a.g] if a.HasField("g") else []) + list(a.graphs)
                for sg in subs:
                    self.subgraphs += 1
                    self.graph(sg)

    def constant(self, n):
        for a in n.attribute:
            if a.name == "value":
                self.tensor(a.t)
            elif a.name == "value_float":
                self.count, self.bytes = self.count + 1, self.bytes + 4
            elif a.name == "value_int":
                self.count, self.bytes = self.count + 1, self.bytes + 8
            elif a.name == "value_string":
                self.count, self.bytes = self.count + 1, self.bytes + len(a.s)
            elif a.name == "value_floats":
                self.count, self.bytes = self.count + len(a.floats), self.bytes + 4 * len(a.floats)
            elif a.name == "value_ints":
                self.count, self.bytes = self.count + len(a.ints), self.bytes + 8 * len(a.ints)
            elif a.name == "value_strings":
                self.count, self.bytes = self.count + len(a.strings), self.bytes + sum(len(s) for s in a.strings)


def expected_info(path):
    m = onnx.load(path)
    g = m.graph
    init_names = {t.name for t in g.initializer}
    p = Params()
    p.graph(g)
    return {
        "producer": {"name": m.producer_name, "version": m.producer_version},
        "ir_version": m.ir_version,
        "opsets": {domain_name(o.domain): o.version for o in m.opset_import},
        "inputs": [(i.name, type_string(i.type)) for i in g.input if i.name not in init_names],
        "outputs": [(o.name, type_string(o.type)) for o in g.output],
        "node_count": len(g.node),
        "op_counts": dict(collections.Counter(op_key(n) for n in g.node)),
        "subgraph_count": p.subgraphs,
        "parameter_count": p.count,
        "parameter_bytes": p.bytes,
    }


def compare(path, got):
    want = expected_info(path)
    problems = [f"missing key '{k}'" for k in KEYS if k not in got]
    for key in ("producer", "ir_version", "opsets", "node_count", "op_counts", "subgraph_count", "parameter_count",
                "parameter_bytes"):
        if key in got and got[key] != want[key]:
            problems.append(f"{key}: ortool {got[key]!r}, onnx {want[key]!r}")
    for key in ("inputs", "outputs"):
        if key not in got:
            continue
        names = [v["name"] for v in got[key]]
        if names != [n for n, _ in want[key]]:
            problems.append(f"{key}: ortool {names}, onnx {[n for n, _ in want[key]]}")
            continue
        for v, (_, t) in zip(got[key], want[key]):
            if t is not None and v["type"] != t:
                problems.append(f"{key} '{v['name']}': ortool type {v['type']!r}, onnx {t!r}")
    if not isinstance(got.get("macs"), int) or got["macs"] < 0:
        problems.append(f"macs is {got.get('macs')!r}")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ortool", required=True)
    ap.add_argument("--expect-macs", action="append", default=[], metavar="MODEL=MACS",
                    help="also require this exact MAC count for a model (matched by path suffix)")
    ap.add_argument("patterns", nargs="+", help="glob patterns of models (missing folders are skipped)")
    args = ap.parse_args()
    models = sorted({m for p in args.patterns for m in glob.glob(p)})
    if not models:
        print("info_check: no models found")
        return 1
    expect_macs = dict(e.rsplit("=", 1) for e in args.expect_macs)
    failed = 0
    for path in models:
        proc = subprocess.run([os.path.abspath(args.ortool), "info", path, "--json"], capture_output=True,
                              timeout=TIMEOUT)
        if proc.returncode != 0:
            problems = [f"exit {proc.returncode}: {proc.stderr.decode(errors='replace').strip()}"]
        else:
            got = json.loads(proc.stdout)
            problems = compare(path, got)
            for suffix, macs in expect_macs.items():
                if path.endswith(suffix) and got.get("macs") != int(macs):
                    problems.append(f"macs {got.get('macs')}, expected {macs}")
        if problems:
            failed += 1
            for pr in problems:
                print(f"FAIL {path}: {pr}", flush=True)
    print(f"info_check: {len(models)} models, {len(models) - failed} passed, {failed} failed")
    print(f"{len(models) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
