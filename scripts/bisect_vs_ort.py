#!/usr/bin/python3
"""Finds the first node whose output differs between ortool and ONNX Runtime.

Every intermediate tensor becomes a graph output; both runtimes run the model on the same seeded
inputs (or the inputs of a test-data folder), and the first node in topological order whose output
is off beyond the tolerance is printed with its op type and error.

Usage: scripts/bisect_vs_ort.py MODEL [--ortool build/apps/ortool] [--input-dir DIR] [--atol 1e-4 --rtol 1e-3]
"""
import argparse, os, subprocess, sys, tempfile
import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def safe(name):
    return name.replace('/', '_').replace('\\', '_').replace(':', '_')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('model')
    ap.add_argument('--ortool', default=os.path.join(HERE, '..', 'build', 'apps', 'ortool'))
    ap.add_argument('--input-dir')
    ap.add_argument('--atol', type=float, default=1e-4)
    ap.add_argument('--rtol', type=float, default=1e-3)
    a = ap.parse_args()
    m = onnx.load(a.model)
    tmp = tempfile.mkdtemp(prefix='bisect_')
    m = onnx.shape_inference.infer_shapes(m)
    known = {o.name for o in m.graph.output}
    inits = {i.name for i in m.graph.initializer}
    types = {vi.name: vi.type for vi in list(m.graph.value_info) + list(m.graph.output) + list(m.graph.input)}
    order = []
    for n in m.graph.node:
        for o in n.output:
            if o and o not in known:
                vi = onnx.ValueInfoProto()
                vi.name = o
                if o in types:
                    vi.type.CopyFrom(types[o])
                else:
                    vi.type.tensor_type.elem_type = onnx.TensorProto.FLOAT
                m.graph.output.append(vi)
                known.add(o)
            order.append((o, n))
    model_path = os.path.join(tmp, 'all_outputs.onnx')
    onnx.save(m, model_path)
    in_dir = os.path.join(tmp, 'in')
    os.makedirs(in_dir)
    rng = np.random.default_rng(0)
    real_inputs = [i for i in m.graph.input if i.name not in inits]
    if a.input_dir:
        files = sorted(f for f in os.listdir(a.input_dir) if f.startswith('input_'))
        for f, inp in zip(files, real_inputs):
            t = onnx.TensorProto()
            t.ParseFromString(open(os.path.join(a.input_dir, f), 'rb').read())
            np.save(os.path.join(in_dir, safe(inp.name) + '.npy'), numpy_helper.to_array(t))
    else:
        for inp in real_inputs:
            dims = [d.dim_value if d.dim_value > 0 else 1 for d in inp.type.tensor_type.shape.dim]
            dt = onnx.helper.tensor_dtype_to_np_dtype(inp.type.tensor_type.elem_type) \
                if hasattr(onnx.helper, 'tensor_dtype_to_np_dtype') else onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[inp.type.tensor_type.elem_type]
            np.save(os.path.join(in_dir, safe(inp.name) + '.npy'), rng.uniform(-1, 1, dims).astype(dt))
    ort_out = os.path.join(tmp, 'ort')
    subprocess.run(['node', os.path.join(HERE, 'ort_run.mjs'), model_path, in_dir, ort_out, '--level', 'disabled'],
                   check=True, stdout=subprocess.DEVNULL)
    our_out = os.path.join(tmp, 'ours')
    args = [a.ortool, 'run', model_path, '--output-dir', our_out, '--format', 'npy']
    for inp in real_inputs:
        args += ['--input', f'{inp.name}={os.path.join(in_dir, safe(inp.name) + ".npy")}']
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        print('ortool failed:', r.stderr.strip())
        return 2
    for name, node in order:
        f1, f2 = os.path.join(ort_out, safe(name) + '.npy'), os.path.join(our_out, safe(name) + '.npy')
        if not (os.path.exists(f1) and os.path.exists(f2)):
            continue
        x, y = np.load(f1), np.load(f2)
        if x.shape != y.shape:
            print(f'first difference: {node.op_type} {node.name!r} output {name!r}: shape {x.shape} vs {y.shape}')
            return 1
        if x.dtype.kind in 'fc':
            bad = ~np.isclose(y, x, atol=a.atol, rtol=a.rtol, equal_nan=True)
        else:
            bad = x != y
        if bad.any():
            idx = np.unravel_index(np.argmax(bad), x.shape) if x.ndim else ()
            print(f'first difference: {node.op_type} {node.name!r} output {name!r}: {bad.sum()} of {x.size} elements; '
                  f'at {idx}: ORT {x[idx]} vs ortool {y[idx]}')
            print('node:', str(node).replace('\n', ' '))
            return 1
    print('no difference in', len(order), 'intermediate values')
    return 0


if __name__ == '__main__':
    sys.exit(main())
