#!/usr/bin/python3
"""End-to-end check of `ortool prune` recovery (--calib), --sensitivity and --target-macs.

The small torch models of prune_check.py (random weights) pruned at --ratio 0.3 with --calib (random
samples) go through recovery: the result must pass the same checks as without (onnx checker, ONNX
Runtime with the original output shapes, ortool and ONNX Runtime agreeing) and report each step, every
refit layer with a lower error on its held-out rows (on random weights and data the outputs need not
come closer). The digits CNN (testdata/digits; trained, calibrated on its own data): --target-macs 0.7
with --calib reaches the target, reports its sweep and ratios, comes at least 10 dB closer to the
original through recovery, and its file runs in ONNX Runtime as in ortool; --sensitivity alone prints the
table (and --json it) and writes nothing. Bad --target-macs values and option mixes: one error line,
exit 2, no file. With --models (../shared/models): ppocr_det_v3 pruned at 0.3 and calibrated on its
reference page and its mirror image, where BatchNormalization re-estimation lowers the output SQNR
(0 -> -7 dB): the step is reported undone, and the file is the model without recovery.

Usage: prune_recover_check.py --ortool ORTOOL --ort-runner ort_run.mjs --digits testdata/digits
           [--models ../shared/models]
"""
import argparse, json, os, sys, tempfile

import numpy as np
import onnx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_util import FAILS, check, one_error_line, run  # noqa: E402
from optimize_check import ort_available, ort_outputs  # noqa: E402
from prune_check import check_model, no_output, tiny_models  # noqa: E402


def check_recovery(j, name, improves):
    rec = j.get('recovery')
    check(rec is not None, f'{name}: the report has a recovery section')
    if rec is None:
        return
    steps = [s['step'] for s in rec['steps']]
    check(steps[0] == 'pruned' and steps[-1] == 'refit', f'{name}: recovery steps {steps}')
    check(('bn-recalibrated' in steps) == (rec['bn_recalibrated'] > 0), f'{name}: BN step reported when BNs changed')
    first, last = rec['steps'][0]['sqnr_db'], rec['steps'][-1]['sqnr_db']
    if improves:  # a trained model and calibration samples from its data
        check(last > first + 10, f'{name}: recovery brings the outputs closer to the original ({first:.1f} -> {last:.1f} dB)')
    refit = [r for r in rec['refits'] if r['skipped'] is None]
    check(len(refit) > 0 and all(r['mse_after'] < r['mse_before'] for r in refit),
          f'{name}: {len(refit)} of {len(rec["refits"])} layers refit, each with a lower held-out error')
    summary = ', '.join('%s %.1f dB' % (s['step'], s['sqnr_db']) for s in rec['steps'])
    print(f'{name}: recovery {summary}')


def check_digits(a, tmp):
    model = os.path.join(a.digits, 'digits_cnn.onnx')
    calib = os.path.join(a.digits, 'calib_x.npy')
    out = os.path.join(tmp, 'digits.pruned.onnx')
    code, stdout, err = run(a.ortool, 'prune', model, '-o', out, '--target-macs', '0.7', '--calib', calib, '--json')
    check(code == 0, f'digits --target-macs 0.7: exit 0 ({err.strip()[-300:]})')
    if code != 0:
        return
    j = json.loads(stdout)
    t = j['target_macs']
    check(t['macs'] == j['after']['macs'] and t['macs'] <= 0.7 * j['before']['macs'],
          f'digits: {t["macs"]} MACs of {j["before"]["macs"]} (at most 0.7)')
    sweep = j['sensitivity']
    check(len(sweep['groups']) == 3 and sweep['ratios'] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
          'digits: the sweep covers the 3 prunable groups at 0.1 .. 0.7')
    check(all(g['points'] and all(p['top1_agreement'] is not None for p in g['points']) for g in sweep['groups']),
          'digits: every sweep point has a top-1 agreement')
    check(set(t['group_ratios']) <= {str(g['id']) for g in sweep['groups']}, 'digits: ratios chosen for swept groups')
    check_recovery(j, 'digits', True)
    test_x = np.load(os.path.join(a.digits, 'test_x.npy'))
    test_y = np.load(os.path.join(a.digits, 'test_y.npy'))
    try:
        got = ort_outputs(a.ort_runner, out, {'input': test_x}, tmp, 'digits')
    except RuntimeError as e:
        check(False, f'digits: {e}')
        return
    top1 = float((got['logits'].argmax(1) == test_y).mean())
    print(f'digits: held-out top-1 of the pruned and recovered file in ONNX Runtime: {top1:.4f}')
    check(top1 > 0.9, 'digits: the pruned file classifies in ONNX Runtime')
    ours = os.path.join(tmp, 'digits_ours')
    code, _, err = run(a.ortool, 'run', out, '--input', f'input={os.path.join(a.digits, "test_x.npy")}', '--output-dir',
                       ours, '--format', 'npy')
    v = np.load(os.path.join(ours, 'logits.npy')) if code == 0 else None
    check(v is not None and np.allclose(v, got['logits'], atol=1e-4, rtol=1e-4),
          f'digits: ortool and ONNX Runtime agree on the pruned file ({err.strip()[-200:]})')

    # --sensitivity alone: the table, nothing written.
    code, stdout, err = run(a.ortool, 'prune', model, '--sensitivity', '--calib', calib)
    check(code == 0 and 'sensitivity' in stdout and len([l for l in stdout.splitlines() if '/100' in l]) == 3,
          f'--sensitivity prints one row per group ({err.strip()[-200:]})')
    out2 = os.path.join(tmp, 'sweep_only.onnx')
    code, stdout, err = run(a.ortool, 'prune', model, '-o', out2, '--sensitivity', '--json')
    check(code == 0 and len(json.loads(stdout)['sensitivity']['groups']) == 3 and no_output(out2),
          f'--sensitivity --json on random samples: the sweep, no file ({err.strip()[-200:]})')

    for t in ['0', '1', '-0.5', '1.5', 'nan']:
        code, _, err = run(a.ortool, 'prune', model, '-o', out2, '--target-macs', t)
        check(one_error_line(code, err, 2, '--target-macs') and no_output(out2), f'--target-macs {t}: exit 2, no file')
    code, _, err = run(a.ortool, 'prune', model, '-o', out2, '--target-macs', '0.01')
    check(one_error_line(code, err, 2, '--target-macs') and no_output(out2), 'an unreachable --target-macs: exit 2')
    code, _, err = run(a.ortool, 'prune', model, '-o', out2, '--target-macs', '0.7', '--ratio', '0.3')
    check(one_error_line(code, err, 2, '--target-macs') and no_output(out2), '--ratio with --target-macs: exit 2')
    code, _, err = run(a.ortool, 'prune', model, '-o', out2)
    check(one_error_line(code, err, 2, '--ratio') and no_output(out2), 'no --ratio, --target-macs or --sensitivity: exit 2')


def check_undone_steps(a, tmp):
    """A recovery step that lowers the output SQNR is undone: the model stays as plainly pruned."""
    from onnx import numpy_helper
    d = os.path.join(a.models, 'ppocr_det_v3')
    x = numpy_helper.to_array(onnx.load_tensor(os.path.join(d, 'ort_ref_set_0', 'input_0.pb')))
    calib = os.path.join(tmp, 'det_calib.npy')
    np.save(calib, np.concatenate([x, x[..., ::-1]]).astype(np.float32))
    rec_out, plain_out = os.path.join(tmp, 'det_rec.onnx'), os.path.join(tmp, 'det_plain.onnx')
    model = os.path.join(d, 'model.onnx')
    code, out, err = run(a.ortool, 'prune', model, '-o', rec_out, '--ratio', '0.3', '--calib', calib, '--json',
                         timeout=600)
    ok = code == 0
    if ok:
        steps = json.loads(out)['recovery']['steps']
        bn = [s for s in steps if s['step'] == 'bn-recalibrated']
        kept = [s['sqnr_db'] for s in steps if not s['reverted']]
        ok = len(bn) == 1 and bn[0]['reverted'] and bn[0]['sqnr_db'] < steps[0]['sqnr_db'] \
            and all(s['sqnr_db'] < max(kept) for s in steps if s['reverted'])
    check(ok, 'ppocr_det_v3 --ratio 0.3: BN re-estimation that lowers the output SQNR is undone', out[-800:] + err)
    code2, _, err2 = run(a.ortool, 'prune', model, '-o', plain_out, '--ratio', '0.3', '--calib', calib,
                         '--no-recover', timeout=600)
    code3, out3, err3 = run(a.ortool, 'compare', rec_out, plain_out, '--inputs', calib, timeout=600)
    check(code == 0 and code2 == 0 and code3 == 0,
          'ppocr_det_v3: with every step undone the file computes what the plainly pruned one does',
          err2 + out3[-400:] + err3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ortool', required=True)
    ap.add_argument('--ort-runner', required=True)
    ap.add_argument('--digits', required=True)
    ap.add_argument('--models')
    a = ap.parse_args()
    if not ort_available(a.ort_runner):
        print('FAIL ONNX Runtime is not installed (run scripts/setup.sh)')
        return 1
    with tempfile.TemporaryDirectory(prefix='ortool_prune_recover_') as tmp:
        calib = os.path.join(tmp, 'calib.npy')
        np.save(calib, np.random.default_rng(5).standard_normal((6, 3, 64, 64)).astype(np.float32))
        for path in tiny_models(tmp):
            check_model(a, path, ['--calib', calib], tmp)
            name = os.path.splitext(os.path.basename(path))[0]
            rep = os.path.join(tmp, name + '.report.json')
            if os.path.exists(rep):
                with open(rep) as f:
                    check_recovery(json.load(f), name, False)
        check_digits(a, tmp)
        if a.models:
            check_undone_steps(a, tmp)
    print(f'{len(FAILS)} failures')
    return 1 if FAILS else 0


if __name__ == '__main__':
    sys.exit(main())
