#!/usr/bin/python3
"""What `ortool quantize --equalize` and `--bias-correction` do to accuracy: output SQNR against float.

For each model, per-channel (default) and per-tensor int8 weights: one plain `ortool quantize --json`
run, and one with `--equalize --bias-correction --json`, whose measured effects give the model quantized
with each option alone (the pipeline quantizes and proves it once without each). Prints a markdown table
of the worst-sample output SQNR (dB) on the calibration samples, and the equalized pairs.

Models: the digits CNN (testdata/digits, 128 calibration samples); ultraface_rfb640 and ppocr_cls from
../shared/models (pretrained depthwise nets; 8 calibration samples made from their reference input:
flips, shifts, brightness, noise, seeded); mobilenet_v2 and resnet18 of the benchmark set
(scripts/gen_models.py, seeded weights, generated when missing; 4 seeded normal inputs).

Usage: /usr/bin/python3 scripts/quant_accuracy_options.py [--ortool build/apps/ortool] [--models DIR]
           [--only name,name]
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, '..', 'shared', 'models')


def augmented(model_dir, n, seed):
    """`n` samples from the model's reference input: itself, then flipped / shifted / scaled / noisy copies."""
    ref = sorted(glob.glob(os.path.join(model_dir, '*_set_0')))[0]
    x = numpy_helper.to_array(onnx.load_tensor(os.path.join(ref, 'input_0.pb')))
    rng = np.random.default_rng(seed)
    xs = [x]
    while len(xs) < n:
        y = x[..., ::-1] if len(xs) % 2 else x
        y = np.roll(y, int(rng.integers(-20, 20)), axis=-1) * rng.uniform(0.8, 1.2)
        xs.append((y + rng.normal(0, 0.05 * x.std(), x.shape)).astype(np.float32))
    return np.concatenate(xs, 0)


def quantize(ortool, model, calib, extra, tmp):
    out = os.path.join(tmp, 'q.onnx')
    cmd = [ortool, 'quantize', model, '-o', out, '--force', '--calib', calib, '--json'] + extra
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()[-300:]}")
    return json.loads(p.stdout)


def worst_sqnr(j):
    return min(o['sqnr_db'] for o in j['proof']['outputs'])


def fmt(db):
    return '-' if db is None else f'{db:.1f}'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ortool', default=os.path.join(ROOT, 'build', 'apps', 'ortool'))
    ap.add_argument('--models', default=os.path.join(tempfile.gettempdir(), 'ortool_bench_models'))
    ap.add_argument('--only', default='')
    a = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix='ortool_accopts_') as tmp:
        models = []  # (name, path, calib .npy, extra options)
        models.append(('digits CNN', os.path.join(ROOT, 'testdata', 'digits', 'digits_cnn.onnx'),
                       os.path.join(ROOT, 'testdata', 'digits', 'calib_x.npy'), []))
        for name, extra in (('ultraface_rfb640', []), ('ppocr_cls', ['--shape', 'x=1,3,48,192'])):
            calib = os.path.join(tmp, name + '.npy')
            np.save(calib, augmented(os.path.join(SHARED, name), 8, 0))
            models.append((name, os.path.join(SHARED, name, 'model.onnx'), calib, extra))
        for name in ('mobilenet_v2', 'resnet18'):
            path = os.path.join(a.models, name + '.onnx')
            if not os.path.exists(path):
                subprocess.run(['/usr/bin/python3', os.path.join(ROOT, 'scripts', 'gen_models.py'), a.models,
                                '--only', name], check=True, capture_output=True)
            calib = os.path.join(tmp, name + '.npy')
            np.save(calib, np.random.default_rng(1).standard_normal((4, 3, 224, 224)).astype(np.float32))
            models.append((name, path, calib, []))
        if a.only:
            models = [m for m in models if m[0] in a.only.split(',')]

        print('| model | weights | pairs (depthwise) | balance before -> after | biases corrected | none | '
              '--equalize | --bias-correction | both |')
        print('|---|---|---|---|---|---|---|---|---|')
        for name, path, calib, extra in models:
            for weights in ('per-channel', 'per-tensor'):
                w = ['--per-tensor-weights'] if weights == 'per-tensor' else []
                plain = quantize(a.ortool, path, calib, extra + w, tmp)
                both = quantize(a.ortool, path, calib, extra + w + ['--equalize', '--bias-correction'], tmp)
                eff = {e['option']: e for e in both['effects']}
                e = both['equalize']
                dw = sum(p['depthwise'] for p in e['pairs'])
                print(f"| {name} | {weights} | {len(e['pairs'])} ({dw}) | {e['balance_before']:.3f} -> "
                      f"{e['balance_after']:.3f} | {both['bias_correction']['corrected']} | {fmt(worst_sqnr(plain))} | "
                      f"{fmt(eff['bias-correction']['sqnr_without_db'])} | {fmt(eff['equalize']['sqnr_without_db'])} | "
                      f"{fmt(worst_sqnr(both))} |", flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
