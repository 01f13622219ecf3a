#!/usr/bin/python3
"""`ortool quantize` end to end.

- digits CNN static (calibrated on testdata/digits/calib_x.npy) and digits transformer dynamic: each file
  passes onnx's checker, runs in ONNX Runtime (scripts/ort_run.mjs) and in ortool, which agree (SQNR >= 25 dB),
  and loses at most 0.25 points of held-out top-1 (test_x.npy / test_y.npy) in both runtimes;
- the --report JSON lists every quantized activation's SQNR, worst first; --target-sqnr reports its rounds;
- --equalize and --bias-correction write files that pass the same checks, and report what they did and their
  measured effect (output SQNR without and with) in text, --report and --json;
- a calibration table written, then read back instead of calibrating, gives the same file byte for byte;
- resnet18 (scripts/gen_models.py, seeded weights) quantized static is at most 0.27x its float file;
- bad inputs (BAD_INPUTS.md 23-25) exit 2 with one error line: calibration data of the wrong shape, type or
  name, an empty set, NaN/Inf, a model with nothing to quantize, an already quantized model;
- a failed gate exits 1 with one error line and writes nothing (as optimize and prune).

Usage: quantize_cli.py --ortool ortool --ort-runner scripts/ort_run.mjs --testdata testdata [--gen-models gen_models.py]
"""
import argparse, json, os, subprocess, sys, tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'quant'))
from quantize_check import ort_run, ortool_run, sqnr  # noqa: E402  (the quantizer test's runners)
from check_util import FAILS, check, one_error_line, run  # noqa: E402

MAX_TOP1_DROP = 0.0025  # 0.25 points


def top1(y, labels):
    return float((y.argmax(1) == labels).mean())


def proves(ortool, runner, model, out, x, y, tmp, tag):
    """onnx checker, ONNX Runtime and ortool run the file, agree, and keep held-out top-1."""
    try:
        onnx.checker.check_model(onnx.load(out), full_check=True)
        f = ort_run(runner, model, {'input': x}, tmp, tag + '_f')[0]
        q = ort_run(runner, out, {'input': x}, tmp, tag + '_q')[0]
        o = ortool_run(ortool, out, {'input': x}, tmp, tag + '_o')[0]
    except Exception as e:  # noqa: BLE001 - any failure of the file is the finding
        check(False, f'{tag}: the file passes the checker and runs in ONNX Runtime and ortool', e)
        return
    agree = sqnr(q, o)
    check(agree >= 25.0, f'{tag}: ortool and ONNX Runtime agree on the file (SQNR {agree:.1f} dB >= 25)')
    for who, got in (('ONNX Runtime', q), ('ortool', o)):
        drop = top1(f, y) - top1(got, y)
        check(drop <= MAX_TOP1_DROP + 1e-9,
              f'{tag}: held-out top-1 in {who} {top1(got, y):.4f} vs float {top1(f, y):.4f} (drop <= 0.25 points)')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ortool', required=True)
    ap.add_argument('--ort-runner', required=True)
    ap.add_argument('--testdata', required=True)
    ap.add_argument('--gen-models', help='scripts/gen_models.py (resnet18 size check)')
    a = ap.parse_args()
    ortool = os.path.abspath(a.ortool)
    d = os.path.join(a.testdata, 'digits')
    cnn, tr = os.path.join(d, 'digits_cnn.onnx'), os.path.join(d, 'digits_transformer.onnx')
    calib = os.path.join(d, 'calib_x.npy')
    x, y = np.load(os.path.join(d, 'test_x.npy')), np.load(os.path.join(d, 'test_y.npy'))

    with tempfile.TemporaryDirectory(prefix='ortool_quantize_') as tmp:
        p = lambda name: os.path.join(tmp, name)

        # --help: examples and the CI recipe.
        code, out, _ = run(ortool, 'quantize', '--help')
        check(code == 0 and 'Examples:' in out and 'CI recipe' in out and '--target-sqnr' in out, 'quantize --help')

        # Digits CNN, static, with the report.
        code, out, err = run(ortool, 'quantize', cnn, '-o', p('cnn.onnx'), '--calib', calib, '--calib-samples', '64',
                             '--method', 'percentile', '--report', p('cnn.json'), '--min-sqnr', '20', timeout=600)
        check(code == 0 and os.path.exists(p('cnn.onnx')), 'digits CNN static: exit 0, file written', err)
        check('verdict: PASS' in out and 'quantized:' in out and 'left float:' in out and 'size:' in out,
              'digits CNN static: prints what was quantized, left float, the size and the proof', out)
        if code == 0:
            proves(ortool, a.ort_runner, cnn, p('cnn.onnx'), x, y, tmp, 'digits CNN static')
            r = json.load(open(p('cnn.json')))
            dbs = [t['sqnr_db'] for t in r['tensors']]
            check(len(dbs) >= 4 and all(v is not None for v in dbs) and dbs == sorted(dbs),
                  f'--report: per-tensor SQNR of every quantized activation, worst first ({len(dbs)} tensors)', dbs)
            check(r['proof']['samples'] == 64 and r['proof']['passed'] and r['calibration']['samples'] == 64,
                  '--report: the proof ran on the 64 calibration samples')

            code, out, err = run(ortool, 'quantize', p('cnn.onnx'), '-o', p('twice.onnx'), '--calib', calib)
            check(one_error_line(code, err, 2, 'already quantized'), 'an already quantized model: exit 2', err)

        # Digits transformer, dynamic (proof on 16 calibration rows).
        code, out, err = run(ortool, 'quantize', tr, '-o', p('tr.onnx'), '--mode', 'dynamic', '--calib', calib,
                             '--check', '16', '--json', timeout=600)
        check(code == 0, 'digits transformer dynamic: exit 0', err)
        if code == 0:
            j = json.loads(out)
            check(j['proof']['samples'] == 16 and j['calibration'] is None and len(j['quantized']) > 0,
                  'digits transformer dynamic: --json report', out[:300])
            proves(ortool, a.ort_runner, tr, p('tr.onnx'), x, y, tmp, 'digits transformer dynamic')

        # --target-sqnr: rounds reported, the target reached.
        code, out, err = run(ortool, 'quantize', cnn, '-o', p('target.onnx'), '--calib', calib, '--calib-samples', '16',
                             '--target-sqnr', '38', '--json', timeout=600)
        ok = code == 0
        if ok:
            t = json.loads(out)['target_sqnr']
            ok = t['reached'] and len(t['rounds']) >= 1 and t['rounds'][-1]['output_sqnr_db'] >= 38 \
                and t['initial_sqnr_db'] < 38
        check(ok, '--target-sqnr 38: layers put back to float in rounds until the output reaches 38 dB', out[-600:] + err)

        # --equalize (text and --report) and --bias-correction (--json): what was done and its measured effect.
        code, out, err = run(ortool, 'quantize', cnn, '-o', p('eq.onnx'), '--calib', calib, '--calib-samples', '32',
                             '--equalize', '--report', p('eq.json'), timeout=600)
        check(code == 0 and os.path.exists(p('eq.onnx')), '--equalize: exit 0, file written', err)
        check('equalize: 2 layer pairs' in out and '--equalize: output SQNR' in out and 'dB with' in out,
              '--equalize: prints the pairs and the output SQNR without and with it', out[:800])
        if code == 0:
            proves(ortool, a.ort_runner, cnn, p('eq.onnx'), x, y, tmp, 'digits CNN --equalize')
            r = json.load(open(p('eq.json')))
            e, eff = r['equalize'], r['effects']
            check(e is not None and len(e['pairs']) == 2 and e['balance_after'] > e['balance_before'] and e['converged']
                  and r['bias_correction'] is None and len(eff) == 1 and eff[0]['option'] == 'equalize'
                  and eff[0]['sqnr_without_db'] is not None and eff[0]['sqnr_with_db'] is not None,
                  '--equalize: --report has the pairs, the balance before/after and the measured effect', str(e)[:400])
        code, out, err = run(ortool, 'quantize', cnn, '-o', p('bc.onnx'), '--calib', calib, '--calib-samples', '32',
                             '--bias-correction', '--json', timeout=600)
        check(code == 0 and os.path.exists(p('bc.onnx')), '--bias-correction: exit 0, file written', err)
        if code == 0:
            proves(ortool, a.ort_runner, cnn, p('bc.onnx'), x, y, tmp, 'digits CNN --bias-correction')
            j = json.loads(out)
            b, eff = j['bias_correction'], j['effects']
            check(b is not None and b['corrected'] == len(b['layers']) >= 3 and j['equalize'] is None
                  and all(l['max_shift'] > 0 for l in b['layers']) and len(eff) == 1
                  and eff[0]['option'] == 'bias-correction' and eff[0]['sqnr_with_db'] == j['proof']['outputs'][0]['sqnr_db'],
                  '--bias-correction: --json has the corrected layers and the measured effect', out[:600])
        # Speed: float against int8 latency printed and in --json; --min-speedup gates it (exit 1, nothing
        # written); --no-speed skips it and then --min-speedup is refused.
        code, out, err = run(ortool, 'quantize', cnn, '-o', p('speed.onnx'), '--calib', calib, '--calib-samples', '8',
                             '--json', timeout=600)
        ok = code == 0
        if ok:
            sp = json.loads(out)['speed']
            ok = sp is not None and sp['float_ms'] > 0 and sp['int8_ms'] > 0 and sp['runs'] >= 3 \
                and abs(sp['speedup'] - sp['float_ms'] / sp['int8_ms']) < 1e-9 and sp['min_speedup'] is None
        check(ok, 'speed: float and int8 latency in --json', out[-600:] + err)
        code, out, err = run(ortool, 'quantize', cnn, '-o', p('speed_gate.onnx'), '--calib', calib, '--calib-samples', '8',
                             '--min-speedup', '1000', timeout=600)
        check(one_error_line(code, err, 1, 'min-speedup') and not os.path.exists(p('speed_gate.onnx'))
              and 'speed: float' in out,
              '--min-speedup 1000: exit 1, one line, nothing written, the latencies printed', out[-400:] + err)
        code, out, err = run(ortool, 'quantize', cnn, '-o', p('nospeed.onnx'), '--calib', calib, '--calib-samples', '8',
                             '--no-speed', '--json', timeout=600)
        check(code == 0 and json.loads(out)['speed'] is None, '--no-speed: nothing timed', err)
        code, out, err = run(ortool, 'quantize', cnn, '-o', p('nospeed.onnx'), '--calib', calib, '--no-speed',
                             '--min-speedup', '1.1')
        check(one_error_line(code, err, 2, '--no-speed'), '--min-speedup with --no-speed: exit 2, one line', err)
        for bad in ('nan', '0', '-1', 'inf'):
            code, out, err = run(ortool, 'quantize', cnn, '-o', p('bad_speedup.onnx'), '--calib', calib,
                                 '--min-speedup', bad)
            check(one_error_line(code, err, 2, '--min-speedup') and not os.path.exists(p('bad_speedup.onnx'))
                  and len(err) < 200, f'--min-speedup {bad}: exit 2, one short line', err)

        # --no-effects: the same file, nothing measured without the options.
        code, out, err = run(ortool, 'quantize', cnn, '-o', p('bc_quick.onnx'), '--calib', calib, '--calib-samples', '32',
                             '--bias-correction', '--equalize', '--no-effects', '--json', timeout=600)
        ok = code == 0 and os.path.exists(p('bc_quick.onnx'))
        if ok:
            j = json.loads(out)
            ok = j['effects'] == [] and j['bias_correction'] is not None and j['equalize'] is not None
        check(ok, '--no-effects: options applied, no effect measured', out[:600] + err)
        code, out, err = run(ortool, 'quantize', tr, '-o', p('bad.onnx'), '--mode', 'dynamic', '--bias-correction')
        check(one_error_line(code, err, 2, 'static'), '--bias-correction with --mode dynamic: exit 2, one line', err)

        # Calibration table round trip.
        code1, out1, err1 = run(ortool, 'quantize', cnn, '-o', p('t1.onnx'), '--calib', calib, '--calib-samples', '32',
                                '--method', 'entropy', '--calibration-table', p('ranges.json'))
        code2, out2, err2 = run(ortool, 'quantize', cnn, '-o', p('t2.onnx'), '--calibration-table', p('ranges.json'))
        same = code1 == 0 and code2 == 0 and open(p('t1.onnx'), 'rb').read() == open(p('t2.onnx'), 'rb').read()
        check(same and 'table written' in out1 and 'from ' + p('ranges.json') in out2,
              'calibration table: written, read back instead of calibrating, the same file', err1 + err2)

        # Ranges 1000x too narrow (a hand-edited table): every activation clips; without gates the run passes,
        # with a warning that the model is far from float and how to find where.
        t = json.load(open(p('ranges.json')))
        for r in t['ranges'].values():
            r['min'], r['max'] = r['min'] / 1000, r['max'] / 1000
        json.dump(t, open(p('narrow.json'), 'w'))
        code, out, err = run(ortool, 'quantize', cnn, '-o', p('narrow.onnx'), '--calibration-table', p('narrow.json'))
        check(code == 0 and 'far from the float one' in err and '--layerwise' in err and os.path.exists(p('narrow.onnx')),
              'a quantized model far from float without gates: written, with a warning', out[-400:] + err)
        check('far from the float one' not in err1, 'no such warning for a model close to float', err1)
        check('far from the float one' in err2 and 'random inputs' in err2,
              'proved on random inputs only: the warning says so', err2)

        # A failed gate: exit 1, one line, nothing written.
        code, out, err = run(ortool, 'quantize', cnn, '-o', p('gate.onnx'), '--calib', calib, '--calib-samples', '8',
                             '--min-sqnr', '90')
        check(one_error_line(code, err, 1, 'nothing written') and not os.path.exists(p('gate.onnx')),
              'a failed gate: exit 1, one error line, no file', err)

        # Bad calibration data (BAD_INPUTS.md 23).
        bad = {
            'wrong shape': np.zeros((4, 3, 8, 8), np.float32),
            'wrong type': np.zeros((4, 1, 8, 8), np.int32),
            'NaN': np.full((4, 1, 8, 8), np.nan, np.float32),
            'Inf': np.full((4, 1, 8, 8), np.inf, np.float32),
        }
        for what, arr in bad.items():
            f = p(what.replace(' ', '_') + '.npy')
            np.save(f, arr)
            code, out, err = run(ortool, 'quantize', cnn, '-o', p('bad.onnx'), '--calib', f)
            check(one_error_line(code, err, 2, os.path.basename(f)) and not os.path.exists(p('bad.onnx')),
                  f'calibration data of {what}: exit 2, one line naming the file', err)
        os.makedirs(p('empty'))
        code, out, err = run(ortool, 'quantize', cnn, '-o', p('bad.onnx'), '--calib', p('empty'))
        check(one_error_line(code, err, 2, 'empty'), 'an empty calibration set: exit 2, one line', err)
        os.makedirs(p('named/s0'))
        np.save(p('named/s0/input.npy'), np.zeros((1, 1, 8, 8), np.float32))
        np.save(p('named/s0/not_an_input.npy'), np.zeros((1, 1, 8, 8), np.float32))
        code, out, err = run(ortool, 'quantize', cnn, '-o', p('bad.onnx'), '--calib', p('named'))
        check(one_error_line(code, err, 2, "'not_an_input'"), 'calibration data of the wrong name: exit 2, one line', err)

        # A model with nothing to quantize.
        g = helper.make_graph([helper.make_node('Exp', ['x'], ['r'], name='exp'),
                               helper.make_node('Neg', ['r'], ['y'], name='neg')], 'plain',
                              [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 4])])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)])
        m.ir_version = 8
        onnx.save(m, p('plain.onnx'))
        np.save(p('plain_calib.npy'), np.random.default_rng(0).standard_normal((4, 1, 4)).astype(np.float32))
        for mode in ('static', 'dynamic'):
            code, out, err = run(ortool, 'quantize', p('plain.onnx'), '-o', p('bad.onnx'), '--mode', mode,
                                 '--calib', p('plain_calib.npy'))
            check(one_error_line(code, err, 2, 'nothing to quantize'), f'nothing to quantize ({mode}): exit 2', err)

        # Bad options: unknown op type, table for dynamic.
        code, out, err = run(ortool, 'quantize', cnn, '-o', p('bad.onnx'), '--calib', calib, '--op-types', 'Konv')
        check(one_error_line(code, err, 2, 'Konv'), '--op-types with an unknown name: exit 2', err)

        # resnet18: the static file at most 0.27x the float one.
        if a.gen_models:
            gp = subprocess.run(['/usr/bin/python3', a.gen_models, p('bench'), '--only', 'resnet18'],
                                capture_output=True, text=True)
            model = os.path.join(p('bench'), 'resnet18.onnx')
            if gp.returncode != 0 or not os.path.exists(model):
                check(False, 'gen_models.py writes resnet18', gp.stderr[-400:])
            else:
                np.save(p('r18_calib.npy'), np.random.default_rng(1).standard_normal((2, 3, 224, 224)).astype(np.float32))
                code, out, err = run(ortool, 'quantize', model, '-o', p('r18.onnx'), '--calib', p('r18_calib.npy'),
                                     '--json', timeout=900)
                ratio = os.path.getsize(p('r18.onnx')) / os.path.getsize(model) if code == 0 else 1.0
                check(code == 0 and ratio <= 0.27, f'resnet18 static: the file is {ratio:.3f}x the float one (<= 0.27)',
                      err)

    print(f'quantize_cli: {len(FAILS)} failed')
    return 1 if FAILS else 0


if __name__ == '__main__':
    sys.exit(main())
