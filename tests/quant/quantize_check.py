#!/usr/bin/python3
"""The quantized files themselves: onnx's checker, ONNX Runtime runs them, ortool agrees with it.

Each case quantizes a model with the library (tests/quant/driver, ranges from a simple min/max over a
few inputs), then:
  - onnx.checker.check_model(full_check=True) accepts the file;
  - ONNX Runtime 1.30 (scripts/ort_run.mjs, graph optimizations on, so its QDQ fusions run) loads and
    runs it, and ortool runs it (default providers); every output agrees, SQNR >= 25 dB;
  - the digits models keep their held-out top-1 within 0.25 points of the float model, in both runtimes.
Cases: the digits CNN (static QDQ/QOperator/int8 activations/per-tensor/uint8 weights, dynamic with
Conv), the digits transformer (dynamic, static QDQ and QOperator), testdata/small_convnet.onnx, a model
with every op the quantizers handle (mixed_ops_model: each com.microsoft op of the QOperator form), and with
--models every ../shared/models model (static QDQ and QOperator, dynamic; calibrated on its reference
input plus two seeded random inputs, or for the text detector on pages of glyphs, see TEXT_MODELS). --table prints SQNR against the float model per case.

Without node or onnxruntime-node (scripts/node_modules) the test fails: ONNX Runtime is the reference.

Usage: quantize_check.py --driver quantize_driver --ortool ortool --ort-runner ort_run.mjs --testdata DIR
                         [--models DIR] [--table] [--only SUBSTRING]
"""
import argparse, glob, json, os, shutil, subprocess, sys, tempfile

import numpy as np
import onnx
from onnx import numpy_helper

MIN_SQNR_ORT = 25.0      # ortool vs ONNX Runtime on the same quantized file, every file
# (ppocr_det_v3, 13 dB from float, amplifies its own quantization noise: a one-step rounding difference
# anywhere once took it to 18.5 dB from ONNX Runtime; ortool now rounds as ONNX Runtime's integer
# kernels do, QDQ Add groups included, and the two agree exactly.)
MAX_TOP1_DROP = 0.0025   # digits: held-out top-1 lost against float, as a fraction (0.25 points)



def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def safe(name):
    return name.replace('/', '_').replace('\\', '_').replace(':', '_')


def sqnr(ref, got):
    ref = ref.astype(np.float64)
    err = ((ref - got.astype(np.float64)) ** 2).sum()
    return float('inf') if err == 0 else 10 * np.log10(max((ref ** 2).sum(), 1e-30) / err)


def ort_run(runner, model, feeds, tmp, tag, save_optimized=None):
    ind, outd = os.path.join(tmp, tag + '_in'), os.path.join(tmp, tag + '_out')
    shutil.rmtree(outd, ignore_errors=True)
    os.makedirs(ind, exist_ok=True)
    for k, v in feeds.items():
        np.save(os.path.join(ind, safe(k) + '.npy'), v)
    extra = ['--save-optimized', save_optimized] if save_optimized else []
    code, out, err = run(['node', runner, model, ind, outd] + extra)
    if code != 0:
        raise RuntimeError(f'ONNX Runtime failed on {model}: {err.strip()[-600:]}')
    names = json.loads(out.strip().splitlines()[-1])['outputs']
    return [np.load(os.path.join(outd, safe(n) + '.npy')) for n in names]


def ortool_run(ortool, model, feeds, tmp, tag):
    ind, outd = os.path.join(tmp, tag + '_oin'), os.path.join(tmp, tag + '_oout')
    shutil.rmtree(outd, ignore_errors=True)
    os.makedirs(ind, exist_ok=True)
    cmd = [ortool, 'run', model, '--format', 'npy', '--output-dir', outd]
    for k, v in feeds.items():
        p = os.path.join(ind, safe(k) + '.npy')
        np.save(p, v)
        cmd += ['--input', f'{k}={p}']
    code, out, err = run(cmd)
    if code != 0:
        raise RuntimeError(f'ortool run failed on {model}: {err.strip()[-600:]}')
    m = onnx.load(model, load_external_data=False)
    return [np.load(os.path.join(outd, safe(o.name) + '.npy')) for o in m.graph.output]


def mixed_ops_model(path):
    """Every op the quantizers handle once (the QOperator lowering's com.microsoft ops included)."""
    from onnx import TensorProto, helper
    rng = np.random.default_rng(5)
    w = lambda name, *dims: numpy_helper.from_array((rng.standard_normal(dims) * 0.5).astype(np.float32), name)
    nodes = [
        helper.make_node('Conv', ['x', 'wc', 'bc'], ['c'], name='conv', pads=[1, 1, 1, 1]),
        helper.make_node('Relu', ['c'], ['r'], name='relu'),
        helper.make_node('MaxPool', ['r'], ['p'], name='pool', kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node('Sigmoid', ['p'], ['s'], name='sigmoid'),
        helper.make_node('LeakyRelu', ['p'], ['l'], name='leaky', alpha=0.1),
        helper.make_node('Add', ['s', 'l'], ['a'], name='add'),
        helper.make_node('Mul', ['a', 's'], ['m'], name='mul'),
        helper.make_node('HardSwish', ['m'], ['h'], name='hardswish'),
        helper.make_node('Concat', ['m', 'h'], ['cat'], name='concat', axis=1),
        helper.make_node('ConvTranspose', ['cat', 'wt'], ['t'], name='deconv', strides=[2, 2]),
        helper.make_node('Resize', ['t', '', 'scales'], ['u'], name='resize', mode='nearest'),
        helper.make_node('AveragePool', ['u'], ['ap'], name='avgpool', kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node('GlobalAveragePool', ['ap'], ['g'], name='gap'),
        helper.make_node('Flatten', ['g'], ['f'], name='flatten'),
        helper.make_node('Gemm', ['f', 'wg', 'bg'], ['gm'], name='gemm', transB=1),
        helper.make_node('MatMul', ['gm', 'wm'], ['mm'], name='matmul'),
        helper.make_node('Softmax', ['mm'], ['y'], name='softmax', axis=-1),
    ]
    inits = [w('wc', 4, 3, 3, 3), w('bc', 4), w('wt', 8, 2, 2, 2), w('wg', 6, 2), w('bg', 6), w('wm', 6, 5),
             numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), 'scales')]
    g = helper.make_graph(nodes, 'mixed_ops', [helper.make_tensor_value_info('x', TensorProto.FLOAT, [2, 3, 8, 8])],
                          [helper.make_tensor_value_info('y', TensorProto.FLOAT, [2, 5])], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 14)])
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)


def text_pages(testdata, seeds):
    """Pages of text-like glyphs as testdata/models/ppocr_det_v3/make_text_set.py draws them (a batch)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'make_text_set', os.path.join(testdata, 'models', 'ppocr_det_v3', 'make_text_set.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return np.concatenate([mod.normalize(mod.draw_page(np.random.default_rng(s))) for s in seeds])


# ppocr_det_v3's own reference input is noise it finds nothing in (its output peaks at 3.6e-5): it is
# calibrated on eight pages of text-like glyphs and evaluated on testdata's text_set_0 (another page).
TEXT_MODELS = {'ppocr_det_v3'}


def reference_feeds(model_dir, set_dir=None):
    """The first reference set of a model folder (or `set_dir`) and its inputs by name."""
    sets = [set_dir] if set_dir else sorted(glob.glob(os.path.join(model_dir, '*_set_0')))
    m = onnx.load(os.path.join(model_dir, 'model.onnx'), load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    names = [i.name for i in m.graph.input if i.name not in inits]
    feeds = {}
    for k, name in enumerate(names):
        t = onnx.TensorProto()
        with open(os.path.join(sets[0], f'input_{k}.pb'), 'rb') as f:
            t.ParseFromString(f.read())
        feeds[name] = numpy_helper.to_array(t)
    return sets[0], feeds


class Checker:
    def __init__(self, args, tmp):
        self.a, self.tmp, self.failures, self.rows = args, tmp, [], []

    def case(self, name, model, driver_args, feeds, labels=None, fused=None):
        """`fused`: (op types ONNX Runtime's optimized graph must hold, op types it must not): proof that
        its QDQ fusions recognized the file's layout."""
        if self.a.only and self.a.only not in name:
            return
        out = os.path.join(self.tmp, safe(name) + '.onnx')
        code, stdout, err = run([self.a.driver, model, out] + driver_args)
        if code != 0:
            self.failures.append(f'{name}: driver failed: {err.strip()[-400:]}')
            return
        report = json.loads(stdout)
        try:
            written = onnx.load(out)
            onnx.checker.check_model(written, full_check=True)
            names = [n.name for n in written.graph.node if n.name]
            if len(names) != len(set(names)):
                raise RuntimeError('two nodes share a name')
            float_ort = ort_run(self.a.ort_runner, model, feeds, self.tmp, safe(name) + '_f')
            optimized = os.path.join(self.tmp, safe(name) + '_ort_optimized.onnx') if fused else None
            q_ort = ort_run(self.a.ort_runner, out, feeds, self.tmp, safe(name) + '_q', optimized)
            if fused:
                ops = {n.op_type for n in onnx.load(optimized).graph.node}
                missing, left = [o for o in fused[0] if o not in ops], [o for o in fused[1] if o in ops]
                if missing or left:
                    raise RuntimeError(f'ONNX Runtime did not fuse the QDQ groups: its graph lacks {missing}, '
                                       f'still has {left} ({sorted(ops)})')
            q_ortool = ortool_run(self.a.ortool, out, feeds, self.tmp, safe(name) + '_o')
        except Exception as e:  # noqa: BLE001 - any failure of the file is the test's finding
            self.failures.append(f'{name}: {e}')
            return
        agree = min(sqnr(r, g) for r, g in zip(q_ort, q_ortool))
        vs_float = min(sqnr(r, g) for r, g in zip(float_ort, q_ort))
        row = {'case': name, 'quantized': len(report['quantized']), 'float_nodes': len(report['left_float']),
               'sqnr_vs_float': vs_float, 'ortool_vs_ort': agree}
        need = MIN_SQNR_ORT
        row['needed'] = need
        if agree < need:
            self.failures.append(f'{name}: ortool and ONNX Runtime disagree on the quantized file: '
                                 f'SQNR {agree:.1f} dB < {need:.1f}')
        if labels is not None:
            top = lambda y: float((y.argmax(1) == labels).mean())
            row.update(top1_float=top(float_ort[0]), top1_ort=top(q_ort[0]), top1_ortool=top(q_ortool[0]))
            for k in ('top1_ort', 'top1_ortool'):
                if row['top1_float'] - row[k] > MAX_TOP1_DROP + 1e-9:
                    self.failures.append(f'{name}: held-out top-1 {row[k]:.4f} ({k}) lost more than 0.25 points '
                                         f'against float {row["top1_float"]:.4f}')
        self.rows.append(row)
        print(f'{name}: ok ({len(report["quantized"])} nodes quantized, ortool vs ORT {agree:.1f} dB, '
              f'vs float {vs_float:.1f} dB)', flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--driver', required=True)
    ap.add_argument('--ortool', required=True)
    ap.add_argument('--ort-runner', required=True)
    ap.add_argument('--testdata', required=True)
    ap.add_argument('--models', help='folder of real models (model.onnx + *_set_0 each)')
    ap.add_argument('--table', action='store_true')
    ap.add_argument('--only', help='run the cases whose name contains this')
    a = ap.parse_args()
    if not shutil.which('node') or not os.path.isdir(
            os.path.join(os.path.dirname(a.ort_runner), 'node_modules', 'onnxruntime-node')):
        print('quantize_check: ONNX Runtime is not installed (run scripts/setup.sh)', file=sys.stderr)
        return 1

    digits = os.path.join(a.testdata, 'digits')
    x, y = np.load(os.path.join(digits, 'test_x.npy')), np.load(os.path.join(digits, 'test_y.npy'))
    calib = ['--calib-npy', os.path.join(digits, 'calib_x.npy')]
    cnn, tr = os.path.join(digits, 'digits_cnn.onnx'), os.path.join(digits, 'digits_transformer.onnx')
    with tempfile.TemporaryDirectory() as tmp:
        c = Checker(a, tmp)
        feeds = {'input': x}
        # ONNX Runtime runs the QDQ CNN as integer kernels: no float Conv/Gemm is left after its fusions.
        c.case('digits_cnn static qdq', cnn, ['--optimize'] + calib, feeds, y,
               fused=(['QLinearConv', 'QGemm'], ['Conv', 'Gemm', 'FusedConv', 'FusedGemm']))
        c.case('digits_cnn static qoperator', cnn, ['--optimize', '--format', 'qoperator'] + calib, feeds, y)
        c.case('digits_cnn static int8 activations', cnn, ['--optimize', '--activation-type', 'int8'] + calib, feeds, y)
        c.case('digits_cnn static per-tensor uint8 weights', cnn,
               ['--optimize', '--per-tensor', '--weight-type', 'uint8', '--format', 'qoperator'] + calib, feeds, y)
        c.case('digits_cnn static symmetric reduce-range', cnn,
               ['--optimize', '--symmetric-activations', '--reduce-range'] + calib, feeds, y)
        c.case('digits_cnn dynamic with conv', cnn, ['--optimize', '--mode', 'dynamic', '--dynamic-conv'], feeds, y)
        c.case('digits_cnn dynamic conv uint8 weights', cnn,
               ['--optimize', '--mode', 'dynamic', '--dynamic-conv', '--weight-type', 'uint8'], feeds, y)
        c.case('digits_transformer dynamic', tr, ['--optimize', '--mode', 'dynamic'], feeds, y,
               fused=(['DynamicQuantizeMatMul'], ['MatMulInteger', 'DynamicQuantizeLinear']))
        c.case('digits_transformer static qdq', tr, ['--optimize'] + calib, feeds, y)
        c.case('digits_transformer static qoperator', tr, ['--optimize', '--format', 'qoperator'] + calib, feeds, y)
        small = os.path.join(a.testdata, 'small_convnet.onnx')
        rng = np.random.default_rng(3)
        small_feeds = {'input': rng.standard_normal((2, 3, 32, 32)).astype(np.float32)}
        for fmt in ('qdq', 'qoperator'):
            c.case(f'small_convnet static {fmt}', small,
                   ['--optimize', '--random', '4', '--shape', 'input=2,3,32,32', '--format', fmt], small_feeds)
        c.case('small_convnet dynamic', small, ['--optimize', '--mode', 'dynamic', '--dynamic-conv'], small_feeds)
        mixed = os.path.join(tmp, 'mixed_ops.onnx')
        mixed_ops_model(mixed)
        mixed_feeds = {'x': rng.standard_normal((2, 3, 8, 8)).astype(np.float32)}
        mixed_calib = os.path.join(tmp, 'mixed_calib.npy')
        np.save(mixed_calib, np.concatenate([mixed_feeds['x'], rng.standard_normal((4, 3, 8, 8)).astype(np.float32)]))
        for fmt in ('qdq', 'qoperator'):
            for act in ('uint8', 'int8'):
                c.case(f'mixed_ops static {fmt} {act}', mixed,
                       ['--calib-npy', mixed_calib, '--calib-rows', '2', '--format', fmt, '--activation-type', act],
                       mixed_feeds)
        if a.models:
            for d in sorted(glob.glob(os.path.join(a.models, '*'))):
                name = os.path.basename(d)
                if not os.path.isfile(os.path.join(d, 'model.onnx')) or not glob.glob(os.path.join(d, '*_set_0')):
                    continue
                ref_dir, feeds = reference_feeds(d)
                calib = ['--calib-dir', ref_dir, '--random', '2']
                text_set = os.path.join(a.testdata, 'models', name, 'text_set_0')
                if name in TEXT_MODELS and os.path.isdir(text_set):
                    path = os.path.join(tmp, name + '_calib.npy')
                    np.save(path, text_pages(a.testdata, range(1, 9)))
                    calib = ['--calib-npy', path, '--calib-rows', '1']
                    _, feeds = reference_feeds(d, text_set)
                # Dims fixed to the evaluation input's (random calibration inputs get the same).
                shape = [a for k, v in feeds.items() for a in ('--shape', f'{k}={",".join(map(str, v.shape))}')]
                model = os.path.join(d, 'model.onnx')
                static = ['--optimize'] + calib + shape
                c.case(f'{name} static qdq', model, static, feeds)
                c.case(f'{name} static qoperator', model, static + ['--format', 'qoperator'], feeds)
                c.case(f'{name} dynamic', model, ['--optimize', '--mode', 'dynamic'] + shape, feeds)
        if a.table:
            print(f'\n{"case":44} {"quant":>5} {"float":>5} {"SQNR vs float":>13} {"ortool vs ORT":>13} '
                  f'{"(needed)":>8}  top-1 float/ORT/ortool')
            for r in c.rows:
                top = (f'{r["top1_float"]:.4f}/{r["top1_ort"]:.4f}/{r["top1_ortool"]:.4f}' if 'top1_float' in r else '')
                print(f'{r["case"]:44} {r["quantized"]:5} {r["float_nodes"]:5} {r["sqnr_vs_float"]:13.1f} '
                      f'{r["ortool_vs_ort"]:13.1f} {r["needed"]:8.1f}  {top}')
        for f in c.failures:
            print('FAIL', f, file=sys.stderr)
        return 1 if c.failures else 0


if __name__ == '__main__':
    sys.exit(main())
