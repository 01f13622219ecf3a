#!/usr/bin/python3
"""Ops of opsets 18 to 23 against ONNX Runtime: one-node models, ONNX Runtime's outputs vs `ortool run`'s.

Each case of scripts/opset_cases.py (an op at an opset, its attributes and seeded random inputs; a few
cases add a Cast or a second node around the op, where ONNX Runtime's JavaScript API cannot feed or
fetch the element type, as with float8) becomes a model written with onnx's helper (Debian's onnx
1.12 knows opsets up to 17, so the opset import is set by hand and onnx's checker is not called).
ONNX Runtime 1.30 runs every model in one process (scripts/ort_run_cases.mjs: optimizations off, one
thread); ortool runs each one (`ortool run --input NAME=FILE.pb --output-dir`). Outputs are compared
element by element: integers, bools and strings exactly, floats within the case's rtol/atol (NaN equals
NaN), int4/uint4/float8 bit for bit.

A case ONNX Runtime cannot run is listed as such and not compared; the run fails (exit 1) when ONNX
Runtime runs a case and ortool fails it or gives other outputs, and when ONNX Runtime fails a case not
marked `ort_fails` (or runs one marked so), so a broken case cannot turn itself off. The few cases where
ONNX Runtime departs from the ONNX spec (`ort_differs`, with the reason) compare ortool with a numpy
rendering of the spec instead, and fail if ONNX Runtime turns out to agree with it.

Usage: scripts/opset_vs_ort.py [--ortool build/apps/ortool] [--providers LIST] [-k SUBSTRING] [--list]
       [--keep DIR] [--jobs N]
"""
import argparse
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import opset_cases  # noqa: E402
from opset_cases import Packed4  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# numpy dtype -> (TensorProto type, ONNX Runtime JS type name)
NP_TO_ONNX = {
    np.dtype(np.float32): (TensorProto.FLOAT, 'float32'), np.dtype(np.float64): (TensorProto.DOUBLE, 'float64'),
    np.dtype(np.float16): (TensorProto.FLOAT16, 'float16'), np.dtype(np.int8): (TensorProto.INT8, 'int8'),
    np.dtype(np.uint8): (TensorProto.UINT8, 'uint8'), np.dtype(np.int16): (TensorProto.INT16, 'int16'),
    np.dtype(np.uint16): (TensorProto.UINT16, 'uint16'), np.dtype(np.int32): (TensorProto.INT32, 'int32'),
    np.dtype(np.uint32): (TensorProto.UINT32, 'uint32'), np.dtype(np.int64): (TensorProto.INT64, 'int64'),
    np.dtype(np.uint64): (TensorProto.UINT64, 'uint64'), np.dtype(np.bool_): (TensorProto.BOOL, 'bool'),
}
UINT4, INT4 = 21, 22
ORT_TO_NP = {v[1]: k for k, v in NP_TO_ONNX.items()}
IR_FOR_OPSET = {18: 8, 19: 9, 20: 9, 21: 10, 22: 10, 23: 11}


def onnx_type(value):
    if isinstance(value, Packed4):
        return INT4 if value.signed else UINT4
    if value.dtype.kind in 'OUS':
        return TensorProto.STRING
    return NP_TO_ONNX[value.dtype][0]


def tensor_proto(name, value):
    """A TensorProto of a numpy array, string array or Packed4 (int4/uint4, two per byte, low nibble first)."""
    if isinstance(value, Packed4):
        t = TensorProto(name=name, data_type=onnx_type(value), dims=list(value.values.shape))
        t.raw_data = value.packed().tobytes()
        return t
    if value.dtype.kind in 'OUS':
        t = TensorProto(name=name, data_type=TensorProto.STRING, dims=list(value.shape))
        t.string_data.extend(str(s).encode() for s in value.reshape(-1))
        return t
    return numpy_helper.from_array(value, name)


def build_model(case):
    """The case's ModelProto and its graph inputs as (name, value)."""
    graph_inputs, inits, node_inputs = [], [], []
    for i, spec in enumerate(case.inputs):
        if spec is None:
            node_inputs.append('')
            continue
        name = spec.name or f'in{i}'
        node_inputs.append(name)
        if spec.const:
            inits.append(tensor_proto(name, spec.value))
        else:
            shape = list(spec.value.values.shape if isinstance(spec.value, Packed4) else spec.value.shape)
            graph_inputs.append(helper.make_tensor_value_info(name, onnx_type(spec.value), shape))
    outs = [f'out{k}' for k in range(case.outputs)]
    if case.nodes is not None:
        nodes = case.nodes(node_inputs, outs)
    else:
        nodes = [helper.make_node(case.op, node_inputs, outs, domain=case.domain, **case.attrs)]
    if case.fetch_as is not None:
        for n in nodes:
            n.output[:] = [f'pre_{o}' if o in outs else o for o in n.output]
        nodes += [helper.make_node('Cast', [f'pre_{o}'], [o], to=case.fetch_as) for o in outs]
    out_infos = []
    for k, o in enumerate(outs):
        t = case.out_types[k] if case.out_types else onnx_type(case.inputs[0].value)
        if case.fetch_as is not None:
            t = case.fetch_as
        vi = onnx.ValueInfoProto(name=o)
        if t is not None:
            vi.type.tensor_type.elem_type = t
        out_infos.append(vi)
    graph = helper.make_graph(nodes, case.name, graph_inputs, out_infos, initializer=inits)
    model = helper.make_model(graph, producer_name='opset_vs_ort',
                              opset_imports=[helper.make_operatorsetid('', case.opset)] +
                              ([helper.make_operatorsetid(case.domain, 1)] if case.domain else []))
    model.ir_version = IR_FOR_OPSET.get(case.opset, 8)
    return model, [(spec.name or f'in{i}', spec.value) for i, spec in enumerate(case.inputs)
                   if spec is not None and not spec.const]


def ort_input(name, value, folder):
    if isinstance(value, Packed4):
        f = f'{name}.bin'
        value.packed().tofile(os.path.join(folder, f))
        return {'name': name, 'type': 'int4' if value.signed else 'uint4', 'dims': list(value.values.shape), 'file': f}
    if value.dtype.kind in 'OUS':
        return {'name': name, 'type': 'string', 'dims': list(value.shape), 'strings': [str(s) for s in value.reshape(-1)]}
    f = f'{name}.bin'
    np.ascontiguousarray(value).tofile(os.path.join(folder, f))
    return {'name': name, 'type': NP_TO_ONNX[value.dtype][1], 'dims': list(value.shape), 'file': f}


def unpack4(raw, count, signed):
    b = np.frombuffer(raw, dtype=np.uint8)
    v = np.empty(b.size * 2, dtype=np.int16)
    v[0::2], v[1::2] = b & 0xF, b >> 4
    v = v[:count]
    if signed:
        v = np.where(v >= 8, v - 16, v)
    return v.astype(np.int8)


def read_ort_outputs(folder):
    with open(os.path.join(folder, 'result.json')) as f:
        r = json.load(f)
    if 'error' in r:
        return None, r['error']
    outs = []
    for o in r['outputs']:
        dims = o['dims']
        if o['type'] == 'string':
            outs.append(np.array(o['strings'], dtype=object).reshape(dims))
        elif o['type'] in ('int4', 'uint4'):
            raw = open(os.path.join(folder, o['file']), 'rb').read()
            outs.append(('4bit', unpack4(raw, int(np.prod(dims)), o['type'] == 'int4').reshape(dims)))
        else:
            outs.append(np.fromfile(os.path.join(folder, o['file']), dtype=ORT_TO_NP[o['type']]).reshape(dims))
    return outs, None


def read_pb_output(path):
    t = onnx.load_tensor(path)
    if t.data_type in (UINT4, INT4):
        raw = t.raw_data
        return ('4bit', unpack4(raw, int(np.prod(t.dims)), t.data_type == INT4).reshape(list(t.dims)))
    if t.data_type == TensorProto.STRING:
        return np.array([s.decode() for s in t.string_data], dtype=object).reshape(list(t.dims))
    return numpy_helper.to_array(t)


def run_ortool(ortool, case_dir, inputs, n_out, providers):
    cmd = [ortool, 'run', os.path.join(case_dir, 'model.onnx'), '--output-dir', os.path.join(case_dir, 'ortool')]
    for name, value in inputs:
        path = os.path.join(case_dir, f'{name}.pb')
        with open(path, 'wb') as f:
            f.write(tensor_proto(name, value).SerializeToString())
        cmd += ['--input', f'{name}={path}']
    if providers:
        cmd += ['--providers', providers]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        return None, (p.stderr.strip().splitlines() or [f'exit {p.returncode}'])[-1]
    try:
        return [read_pb_output(os.path.join(case_dir, 'ortool', f'output_{k}.pb')) for k in range(n_out)], None
    except Exception as e:  # noqa: BLE001 - a missing or unreadable output is a failed case
        return None, f'reading outputs: {e}'


def compare(case, ref, got):
    """None when equal, else a one-line difference."""
    if len(ref) != len(got):
        return f'{len(got)} outputs, ONNX Runtime gave {len(ref)}'
    worst = 0.0
    for k, (r, g) in enumerate(zip(ref, got)):
        if isinstance(r, tuple) or isinstance(g, tuple):
            if not (isinstance(r, tuple) and isinstance(g, tuple)):
                return f'output {k}: 4-bit type on one side only'
            r, g = r[1], g[1]
        if r.shape != g.shape:
            return f'output {k}: shape {list(g.shape)}, ONNX Runtime {list(r.shape)}'
        if r.dtype == object or g.dtype == object:
            if r.dtype != g.dtype or not np.array_equal(r, g):
                return f'output {k}: strings differ'
            continue
        if r.dtype != g.dtype:
            return f'output {k}: type {g.dtype}, ONNX Runtime {r.dtype}'
        if r.dtype.kind == 'f':
            rr, gg = r.astype(np.float64), g.astype(np.float64)
            nan = np.isnan(rr) | np.isnan(gg)
            if not np.array_equal(np.isnan(rr), np.isnan(gg)):
                return f'output {k}: NaN at different places'
            diff = np.abs(rr - gg)[~nan]
            tol = (case.atol + case.rtol * np.abs(rr))[~nan]
            inf = np.isinf(rr[~nan]) | np.isinf(gg[~nan])
            if np.any(inf & (rr[~nan] != gg[~nan])):
                return f'output {k}: infinities differ'
            diff, tol = diff[~inf], tol[~inf]
            if diff.size and np.any(diff > tol):
                i = int(np.argmax(diff - tol))
                return f'output {k}: max abs error {diff.max():.3g} (tolerance at worst element {tol[i]:.3g})'
            if diff.size:
                worst = max(worst, float(diff.max()))
        elif case.int_atol and r.dtype.kind in 'iu':
            d = np.abs(r.astype(np.int64) - g.astype(np.int64))
            if np.any(d > case.int_atol):
                return f'output {k}: {int(np.sum(d > case.int_atol))} of {r.size} elements differ by more than {case.int_atol}'
        elif not np.array_equal(r, g):
            return f'output {k}: {int(np.sum(r != g))} of {r.size} elements differ'
    return None


def run_ort(runner, jobs, work):
    """Runs the jobs in one ONNX Runtime process; when a job crashes the process, that job gets an error
    result and the runner starts again after it."""
    pending = list(jobs)
    while pending:
        with open(os.path.join(work, 'jobs.json'), 'w') as f:
            json.dump(pending, f)
        p = subprocess.run(['node', runner, os.path.join(work, 'jobs.json')], capture_output=True, text=True,
                           cwd=os.path.join(ROOT, 'scripts'))
        done = [os.path.exists(os.path.join(j['out_dir'], 'result.json')) for j in pending]
        if p.returncode == 0 and all(done):
            return
        k = done.index(False) if False in done else len(done)
        if k == len(done):
            return
        crash = [l for l in p.stderr.splitlines() if l.strip()][:1] or [f'exit {p.returncode}']
        with open(os.path.join(pending[k]['out_dir'], 'result.json'), 'w') as f:
            json.dump({'error': f'ONNX Runtime crashed: {crash[0]}'}, f)
        pending = pending[k + 1:]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--ortool', default=os.path.join(ROOT, 'build', 'apps', 'ortool'))
    ap.add_argument('--providers', default='', help='ortool run --providers (default: ortool\'s default)')
    ap.add_argument('-k', default='', help='only cases whose name contains this')
    ap.add_argument('--list', action='store_true', help='list the cases and exit')
    ap.add_argument('--keep', default='', help='write the models and outputs here and keep them')
    ap.add_argument('--jobs', type=int, default=2)
    a = ap.parse_args()

    cases = [c for c in opset_cases.all_cases() if a.k in c.name]
    names = [c.name for c in opset_cases.all_cases()]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        print(f'duplicate case names: {dup}')
        return 1
    if a.list:
        for c in cases:
            print(f'{c.name:48s} {c.op}-{c.opset}' + (f'  (ONNX Runtime fails: {c.ort_fails})' if c.ort_fails else ''))
        return 0
    if not cases:
        print('no case matches')
        return 1
    runner = os.path.join(ROOT, 'scripts', 'ort_run_cases.mjs')
    if not os.path.isdir(os.path.join(ROOT, 'scripts', 'node_modules', 'onnxruntime-node')):
        print('ONNX Runtime is missing: run scripts/setup.sh (or cd scripts && npm ci --ignore-scripts)')
        return 1

    work = a.keep or tempfile.mkdtemp(prefix='opset_vs_ort_')
    os.makedirs(work, exist_ok=True)
    try:
        jobs, feeds = [], {}
        for c in cases:
            d = os.path.join(work, c.name)
            os.makedirs(d, exist_ok=True)
            model, inputs = build_model(c)
            onnx.save(model, os.path.join(d, 'model.onnx'))
            feeds[c.name] = inputs
            jobs.append({'model': os.path.join(d, 'model.onnx'), 'out_dir': os.path.join(d, 'ort'),
                         'inputs': [ort_input(f'{c.name}__{n}', v, work) | {'name': n} for n, v in inputs]})
        run_ort(runner, jobs, work)

        def one(c):
            d = os.path.join(work, c.name)
            ref, ort_err = read_ort_outputs(os.path.join(d, 'ort'))
            if ref is None:
                if c.ort_fails:
                    return c, 'ort-fails', ort_err
                return c, 'FAIL', f'ONNX Runtime failed a case not marked ort_fails: {ort_err}'
            if c.ort_fails:
                return c, 'FAIL', f'marked ort_fails ({c.ort_fails}) but ONNX Runtime runs it'
            got, err = run_ortool(a.ortool, d, feeds[c.name], len(ref), a.providers)
            if got is None:
                return c, 'FAIL', f'ortool: {err}'
            if c.reference is not None:
                spec = c.reference(*[v for _, v in feeds[c.name]])
                if compare(c, spec, ref) is None:
                    return c, 'FAIL', f'marked ort_differs ({c.ort_differs}) but ONNX Runtime matches the reference'
                diff = compare(c, spec, got)
                return c, ('FAIL' if diff else 'ok-spec'), (f'vs the spec: {diff}' if diff else
                                                           f'ONNX Runtime differs from the spec: {c.ort_differs}')
            diff = compare(c, ref, got)
            return c, ('FAIL' if diff else 'ok'), diff or ''

        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as ex:
            results = list(ex.map(one, cases))
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)

    counts = {}
    for c, status, detail in results:
        counts[status] = counts.get(status, 0) + 1
        line = f'{status:9s} {c.name:48s} {c.op}-{c.opset}'
        if detail:
            line += f'  {detail}'
        print(line)
    failed = counts.get('FAIL', 0)
    print(f'\n{len(results)} cases: {counts.get("ok", 0)} match ONNX Runtime, '
          f'{counts.get("ok-spec", 0)} match the spec where ONNX Runtime departs from it, '
          f'{counts.get("ort-fails", 0)} not run by ONNX Runtime, {failed} failed')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
