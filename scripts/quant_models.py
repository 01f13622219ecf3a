#!/usr/bin/python3
"""`ortool quantize` on every model of the benchmark set and of ../shared/models, checked in ONNX Runtime.

For each model: `ortool quantize --json` (static QDQ with the defaults: uint8 activations, int8
per-channel weights, min/max ranges; and dynamic where the model has MatMul/Gemm), calibrated on
seeded samples, then on a held-out input that calibration never saw:
  - SQNR of ONNX Runtime's int8 output against ONNX Runtime's float output (what a user gets);
  - SQNR of ortool's int8 output against ONNX Runtime's on the same int8 file (do the runtimes agree);
  - ortool's own proof (worst output SQNR on the calibration samples), nodes quantized, file size.
Prints a markdown table for docs/quantization.md.

Calibration: the benchmark set (scripts/gen_models.py, seeded weights, generated into --models when
missing) on 8 seeded normal inputs, held out: another seed. ../shared/models on 8 flipped / shifted /
scaled / noisy copies of their reference input, held out: the reference input itself; ppocr_det_v3 on
pages of text-like glyphs (testdata/models/ppocr_det_v3), held out: its text_set_0 page.

Usage: /usr/bin/python3 scripts/quant_models.py [--ortool build/apps/ortool] [--models DIR] [--only a,b]
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, '..', 'shared', 'models')
sys.path.insert(0, os.path.join(ROOT, 'tests', 'quant'))
sys.path.insert(0, ROOT + '/scripts')
from quantize_check import ort_run, ortool_run, reference_feeds, sqnr, text_pages  # noqa: E402
from quant_accuracy_options import augmented  # noqa: E402

RUNNER = os.path.join(ROOT, 'scripts', 'ort_run.mjs')
BENCH = ['resnet18', 'mobilenet_v2', 'squeezenet1_1', 'shufflenet_v2_x1_0', 'efficientnet_b0', 'transformer']


def cases(a, tmp):
    """(name, model path, calibration .npy, held-out feeds, extra options)."""
    out = []
    for name in BENCH:
        path = os.path.join(a.models, name + '.onnx')
        if not os.path.exists(path):
            subprocess.run(['/usr/bin/python3', os.path.join(ROOT, 'scripts', 'gen_models.py'), a.models,
                            '--only', name], check=True, capture_output=True)
        shape = (1, 128, 256) if name == 'transformer' else (1, 3, 224, 224)
        calib = os.path.join(tmp, name + '_calib.npy')
        np.save(calib, np.random.default_rng(1).standard_normal((8,) + shape[1:]).astype(np.float32))
        held = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
        out.append((name, path, calib, {'input': held}, []))
    for d in sorted(glob.glob(os.path.join(SHARED, '*'))):
        name = os.path.basename(d)
        if not os.path.isfile(os.path.join(d, 'model.onnx')):
            continue
        _, feeds = reference_feeds(d)
        if len(feeds) != 1:
            continue  # one .npy feeds one input
        calib = os.path.join(tmp, name + '_calib.npy')
        text_set = os.path.join(ROOT, 'testdata', 'models', name, 'text_set_0')
        if name == 'ppocr_det_v3' and os.path.isdir(text_set):
            np.save(calib, text_pages(os.path.join(ROOT, 'testdata'), range(1, 9)))
            _, feeds = reference_feeds(d, text_set)
        else:
            x = next(iter(feeds.values()))
            if x.dtype == np.float32:
                np.save(calib, augmented(d, 9, 0)[x.shape[0]:])  # the reference input itself is held out
            else:  # token ids: the reference sequence rotated
                np.save(calib, np.concatenate([np.roll(x, k, axis=-1) for k in range(1, 9)]))
        k, v = next(iter(feeds.items()))
        # Dims fixed to the held-out input's, unless it is a batch (samples are split from the .npy one row each).
        shape = ['--shape', f'{k}={",".join(map(str, v.shape))}'] if v.shape[0] == 1 else []
        out.append((name, os.path.join(d, 'model.onnx'), calib, feeds, shape))
    return out


def quantize(a, model, calib, extra, out):
    cmd = [a.ortool, 'quantize', model, '-o', out, '--force', '--calib', calib, '--json', '--no-effects'] + extra
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"exit {p.returncode}: {p.stderr.strip()[-300:]}")
    return json.loads(p.stdout)


def worst(pairs):
    return min(sqnr(r, g) for r, g in pairs)


def fmt(db):
    return '-' if db is None else ('inf' if db == float('inf') else f'{db:.1f}')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ortool', default=os.path.join(ROOT, 'build', 'apps', 'ortool'))
    ap.add_argument('--models', default=os.path.join(tempfile.gettempdir(), 'ortool_bench_models'))
    ap.add_argument('--only', default='')
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix='ortool_quant_models_') as tmp:
        print('| model | mode | nodes quantized | size | proof (dB, calib) | ORT int8 vs ORT float (dB, held out) '
              '| ortool vs ORT, same int8 file (dB) |')
        print('|---|---|---|---|---|---|---|')
        for name, path, calib, feeds, extra in cases(a, tmp):
            if a.only and name not in a.only.split(','):
                continue
            ref = ort_run(RUNNER, path, feeds, tmp, name + '_f')
            nothing_dynamic = False
            for mode in ('static', 'dynamic', 'dynamic --dynamic-conv'):
                out = os.path.join(tmp, f'{name}_{mode.split()[0]}.onnx')
                if mode == 'dynamic --dynamic-conv' and not nothing_dynamic:
                    continue
                try:
                    j = quantize(a, path, calib, extra + ['--mode'] + mode.split(), out)
                    onnx.checker.check_model(onnx.load(out), full_check=True)
                except RuntimeError as e:
                    nothing_dynamic = mode == 'dynamic' and 'nothing to quantize' in str(e)
                    if nothing_dynamic:
                        continue
                    print(f'| {name} | {mode} | failed: {e} | | | | |', flush=True)
                    continue
                except onnx.checker.ValidationError as e:
                    print(f'| {name} | {mode} | the checker refuses the file: {str(e)[:200]} | | | | |', flush=True)
                    continue
                q = ort_run(RUNNER, out, feeds, tmp, f'{name}_{mode}_q')
                o = ortool_run(a.ortool, out, feeds, tmp, f'{name}_{mode}_o')
                proof = min(x['sqnr_db'] for x in j['proof']['outputs']) if j.get('proof') else None
                n = sum(1 for x in j['quantized'] if not x['detail'].startswith('folded'))
                size = f"{j['size_bytes']['before'] / 2**20:.1f} -> {j['size_bytes']['after'] / 2**20:.1f} MiB"
                print(f'| {name} | {mode} | {n} | {size} | {fmt(proof)} | {fmt(worst(zip(ref, q)))} | '
                      f'{fmt(worst(zip(q, o)))} |', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
