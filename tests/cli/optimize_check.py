#!/usr/bin/python3
"""End-to-end check of `ortool optimize` on real models.

For every model: optimize with the default check, which must run and pass (a skipped check fails
the model), run the onnx checker on the result, optimize the result again and require that nothing
changes (same node count, "changed": false). Then, in ONNX Runtime (--ort-runner scripts/ort_run.mjs,
which needs node and onnxruntime-node: scripts/setup.sh installs them; missing, the run fails): the
original and the optimized model give the same outputs (rtol/atol per element, and an SQNR of at least
--min-sqnr per float output whose reference is not all zero), and the optimized model has no more nodes
than ONNX Runtime's basic level makes of the original. Any ONNX Runtime error fails the model.

ONNX Runtime's inputs are seeded random data, or for NAME=DIR in --inputs the input_K.pb files of a
test-data folder: an input the model responds to (a detector fed noise answers ~0 everywhere).

With --table, a summary table (nodes before, ortool, ONNX Runtime basic; optimize time; checks)
is printed at the end; --max-ms NAME=MS fails a model whose optimize time is over MS.

Usage: optimize_check.py --ortool ORTOOL --ort-runner ort_run.mjs [--args NAME=--opt=value ...]
                         [--inputs NAME=DIR ...] [--table] [--max-ms NAME=MS ...] GLOB...
"""
import argparse, glob, json, os, shutil, subprocess, sys, tempfile

import numpy as np
import onnx
from onnx import numpy_helper

NP_TYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 6: np.int32, 7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64}


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def shape_args(extra):
    """NAME -> dims from --shape=NAME=d0,d1 options."""
    out = {}
    for a in extra:
        if a.startswith('--shape='):
            name, dims = a[len('--shape='):].rsplit('=', 1)
            out[name] = [int(d) for d in dims.split(',')]
    return out


def random_feeds(model, shapes, seed=7):
    rng = np.random.default_rng(seed)
    inits = {i.name for i in model.graph.initializer}
    feeds = {}
    for i in model.graph.input:
        if i.name in inits:
            continue
        t = i.type.tensor_type
        dims = shapes.get(i.name) or [d.dim_value if d.HasField('dim_value') else 1 for d in t.shape.dim]
        dt = NP_TYPES[t.elem_type]
        if dt == np.bool_:
            feeds[i.name] = rng.integers(0, 2, dims).astype(np.bool_)
        elif np.issubdtype(dt, np.integer):
            feeds[i.name] = rng.integers(0, 100, dims).astype(dt)
        else:
            feeds[i.name] = rng.standard_normal(dims).astype(dt)
    return feeds


def dir_feeds(model, folder):
    """Feeds from a test-data folder: input_K.pb by name, else by position among the required inputs."""
    inits = {i.name for i in model.graph.initializer}
    names = [i.name for i in model.graph.input if i.name not in inits]
    files = sorted((f for f in os.listdir(folder) if f.startswith('input_') and f.endswith('.pb')),
                   key=lambda f: int(f[6:-3]))
    feeds = {}
    for k, f in enumerate(files):
        t = onnx.load_tensor(os.path.join(folder, f))
        feeds[t.name if t.name in names else names[k]] = numpy_helper.to_array(t)
    return feeds


def sqnr_db(ref, got):
    """10 log10(sum ref^2 / sum (ref-got)^2) over finite elements; None for an all-zero reference."""
    ref, got = ref.astype(np.float64), got.astype(np.float64)
    keep = np.isfinite(ref) & np.isfinite(got)
    signal, noise = float(np.sum(ref[keep] ** 2)), float(np.sum((ref[keep] - got[keep]) ** 2))
    if noise == 0:
        return float('inf')
    return None if signal == 0 else 10 * np.log10(signal / noise)


def ort_outputs(runner, model_path, feeds, tmp, tag, level='disabled', save=None):
    ind, outd = os.path.join(tmp, tag + '_in'), os.path.join(tmp, tag + '_out')
    os.makedirs(ind, exist_ok=True)
    for k, v in feeds.items():
        np.save(os.path.join(ind, k.replace('/', '_').replace('\\', '_').replace(':', '_') + '.npy'), v)
    cmd = ['node', runner, model_path, ind, outd, '--level', level]
    if save:
        cmd += ['--save-optimized', save]
    code, out, err = run(cmd)
    if code != 0:
        raise RuntimeError(f'onnxruntime failed on {model_path}: {err.strip()[-400:]}')
    names = json.loads(out.strip().splitlines()[-1])['outputs']
    return {n: np.load(os.path.join(outd, n.replace('/', '_').replace('\\', '_').replace(':', '_') + '.npy')) for n in names}


def ort_available(runner):
    if not runner or not shutil.which('node'):
        return False
    return os.path.isdir(os.path.join(os.path.dirname(runner), 'node_modules', 'onnxruntime-node'))


ROWS = []  # one summary row per model, for --table


def check_model(path, a, extra, tmp):
    name = os.path.basename(os.path.dirname(path)) if os.path.basename(path) == 'model.onnx' else os.path.basename(path)
    row = {'model': name, 'before': '-', 'ortool': '-', 'ort_basic': '-', 'ms': '-', 'checker': '-', 'idempotent': '-',
           'ort_outputs': '-'}
    ROWS.append(row)
    out1, out2 = os.path.join(tmp, name + '.opt.onnx'), os.path.join(tmp, name + '.opt2.onnx')
    code, out, err = run([a.ortool, 'optimize', path, '-o', out1, '--json'] + extra)
    if code != 0:
        return [f'{name}: optimize exited {code}: {err.strip()}']
    r1 = json.loads(out)
    errors = []
    b, f = r1['before']['nodes'], r1['after']['nodes']
    check = r1['check']
    state = 'passed' if check and check['ran'] and check['passed'] else ('skipped: ' + check.get('skipped_reason', '') if check else 'off')
    if state != 'passed':
        errors.append(f'{name}: the check did not run and pass: {state}')
    ms = r1["time_ms"]["optimize"]
    print(f'{name}: nodes {b} -> {f}, {ms:.0f} ms, check {state}')
    row.update(before=b, ortool=f, ms=f'{ms:.0f}', checker='ok', idempotent='ok')
    limit = a.max_ms.get(os.path.splitext(name)[0])
    if limit is not None and ms > limit:
        errors.append(f'{name}: optimize took {ms:.0f} ms, over the {limit:.0f} ms limit')
    if f > b:
        errors.append(f'{name}: node count grew from {b} to {f}')
    try:
        m = onnx.load(out1)
        if max((o.version for o in m.opset_import if o.domain in ('', 'ai.onnx')), default=0) <= 17:
            onnx.checker.check_model(m, full_check=True)
        else:
            onnx.checker.check_model(m)
    except Exception as e:  # noqa: BLE001 - any checker finding fails the model
        errors.append(f'{name}: onnx checker: {str(e).splitlines()[0]}')
        row['checker'] = 'FAIL'
    code, out, err = run([a.ortool, 'optimize', out1, '-o', out2, '--json'] + [x for x in extra if not x.startswith('--target-opset')])
    if code != 0:
        errors.append(f'{name}: second optimize exited {code}: {err.strip()}')
    else:
        r2 = json.loads(out)
        if r2['changed'] or r2['after']['nodes'] != f or r2['before']['nodes'] != f:
            errors.append(f'{name}: not idempotent: second run changed={r2["changed"]}, nodes {r2["before"]["nodes"]} -> {r2["after"]["nodes"]}')
            row['idempotent'] = 'FAIL'
    try:
        orig = onnx.load(path)
        feeds = dir_feeds(orig, a.inputs[name]) if name in a.inputs else random_feeds(orig, shape_args(extra))
        basic = os.path.join(tmp, name + '.ort_basic.onnx')
        want = ort_outputs(a.ort_runner, path, feeds, tmp, name + '_a', 'basic', basic)
        got = ort_outputs(a.ort_runner, out1, feeds, tmp, name + '_b')
        n_err = len(errors)
        worst, least_db = 0.0, float('inf')
        for k, v in want.items():
            if k in got and v.dtype.kind == 'f' and got[k].shape == v.shape and v.size:
                worst = max(worst, float(np.nanmax(np.abs(got[k].astype(np.float64) - v))))
                least_db = min(least_db, sqnr_db(v, got[k]) or float('inf'))
            if k not in got:
                errors.append(f'{name}: output {k} missing in ONNX Runtime run of the optimized model')
            elif v.dtype.kind == 'f' and not np.allclose(got[k], v, atol=a.atol, rtol=a.rtol, equal_nan=True):
                errors.append(f'{name}: ONNX Runtime output {k} differs: max abs {np.max(np.abs(got[k] - v)):.3g}')
            elif v.dtype.kind == 'f' and v.shape == got[k].shape and (db := sqnr_db(v, got[k])) is not None \
                    and db < a.min_sqnr:
                errors.append(f'{name}: ONNX Runtime output {k}: SQNR {db:.1f} dB, below {a.min_sqnr:g} dB')
            elif v.dtype.kind != 'f' and not np.array_equal(got[k], v):
                errors.append(f'{name}: ONNX Runtime output {k} differs')
        row['ort_outputs'] = (f'max abs {worst:.1e}' if len(errors) == n_err else 'FAIL')
        ort_nodes = len(onnx.load(basic).graph.node)
        row['ort_basic'] = ort_nodes
        print(f'{name}: ONNX Runtime basic level: {ort_nodes} nodes; optimized vs original on '
              f'{"inputs of " + os.path.basename(a.inputs[name]) if name in a.inputs else "random inputs"}: '
              f'max abs {worst:.1e}, SQNR {least_db:.0f} dB')
        if f > ort_nodes:
            errors.append(f'{name}: {f} nodes, more than ONNX Runtime basic level ({ort_nodes})')
    except RuntimeError as e:
        errors.append(f'{name}: {e}')
    return errors


def print_table(rows):
    cols = [('model', 'model'), ('before', 'nodes'), ('ortool', 'ortool'), ('ort_basic', 'ORT basic'),
            ('ms', 'optimize ms'), ('checker', 'onnx checker'), ('idempotent', 'idempotent'),
            ('ort_outputs', 'ORT outputs vs original')]
    cells = [[str(r[k]) for k, _ in cols] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, (_, h) in enumerate(cols)]
    line = lambda vals: '| ' + ' | '.join(v.ljust(w) for v, w in zip(vals, widths)) + ' |'
    print()
    print(line([h for _, h in cols]))
    print('|' + '|'.join('-' * (w + 2) for w in widths) + '|')
    for c in cells:
        print(line(c))
    print()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ortool', required=True)
    ap.add_argument('--ort-runner', required=True, help='scripts/ort_run.mjs')
    ap.add_argument('--inputs', action='append', default=[],
                    help='MODELNAME=DIR: ONNX Runtime runs on input_K.pb of this test-data folder')
    ap.add_argument('--min-sqnr', type=float, default=60, help='per float output in ONNX Runtime (dB)')
    ap.add_argument('--args', action='append', default=[], help='MODELNAME=--opt=value, extra options for one model')
    ap.add_argument('--atol', type=float, default=1e-4)
    ap.add_argument('--rtol', type=float, default=1e-3)
    ap.add_argument('--table', action='store_true', help='print a summary table at the end')
    ap.add_argument('--max-ms', action='append', default=[], help='MODELNAME=MS: fail when optimize takes longer')
    ap.add_argument('patterns', nargs='+')
    a = ap.parse_args()
    a.max_ms = {k: float(v) for k, v in (spec.split('=', 1) for spec in a.max_ms)}
    extra = {}
    for spec in a.args:
        name, opt = spec.split('=', 1)
        extra.setdefault(name, []).append(opt)
    a.inputs = dict(spec.split('=', 1) for spec in a.inputs)
    if not ort_available(a.ort_runner):
        print('FAIL ONNX Runtime is not installed (node and scripts/node_modules/onnxruntime-node): '
              'run scripts/setup.sh')
        return 1
    paths = sorted(p for pat in a.patterns for p in glob.glob(pat))
    if not paths:
        print('no models found')
        return 1
    errors = []
    with tempfile.TemporaryDirectory(prefix='ortool_opt_') as tmp:
        for p in paths:
            key = os.path.basename(os.path.dirname(p)) if os.path.basename(p) == 'model.onnx' else os.path.basename(p)
            errors += check_model(p, a, extra.get(key, []), tmp)
    if a.table:
        print_table(ROWS)
    for e in errors:
        print('FAIL', e)
    print(f'{len(paths)} models, {len(errors)} failures')
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
