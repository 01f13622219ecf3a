#!/usr/bin/python3
"""End-to-end check of `ortool prune`.

Small torchvision-style models made here with torch (resnet basic blocks, inverted residuals with
depthwise convolutions, ShuffleNetV2 channel shuffles, MBConv with squeeze-excite and SiLU; random
weights, BatchNormalization kept as PyTorch exports it), and every convolutional model given on the
command line (../shared/models), are pruned at --ratio 0.3. Each result must: exit 0 with some group
pruned and fewer MACs; match its --report file; pass onnx's checker (full check up to opset 17);
run in ONNX Runtime (scripts/ort_run.mjs) with the original's output names and shapes; and give the
same outputs in ortool's runtime as in ONNX Runtime. Then the bad inputs of BAD_INPUTS.md 26
(ratio 0, 1, negative, above 1, NaN; a layer that would lose every channel; a model with nothing to
prune) and bad names: one error line, exit 2, no output file; a failed gate: exit 1, no output file.

Usage: prune_check.py --ortool ORTOOL --ort-runner ort_run.mjs [--args NAME=--opt=value ...] MODEL...
"""
import argparse, json, os, sys, tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_util import FAILS, check, one_error_line, run  # noqa: E402
from optimize_check import ort_available, ort_outputs, random_feeds, shape_args  # noqa: E402


def tiny_models(out_dir):
    """Exports the small torch models; returns their paths."""
    import torch
    import torch.nn as nn
    import torchvision

    def randomize_bn(model, seed):
        g = torch.Generator().manual_seed(seed)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=g) * 0.5 + 0.75)
                m.weight.data.copy_(torch.rand(c, generator=g) * 0.5 + 0.75)
                m.bias.data.copy_(torch.randn(c, generator=g) * 0.1)
        return model.eval()

    def conv_bn(cin, cout, k=3, stride=1, groups=1):
        return [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]

    class Basic(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.body = nn.Sequential(*conv_bn(cin, cout, 3, stride), nn.ReLU(), *conv_bn(cout, cout))
            self.down = nn.Sequential(*conv_bn(cin, cout, 1, stride)) if stride != 1 or cin != cout else None

        def forward(self, x):
            return torch.relu(self.body(x) + (self.down(x) if self.down is not None else x))

    class TinyResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(*conv_bn(3, 16), nn.ReLU(), nn.MaxPool2d(2))
            self.layers = nn.Sequential(Basic(16, 16, 1), Basic(16, 16, 1), Basic(16, 32, 2), Basic(32, 64, 2))
            self.fc = nn.Linear(64, 10)

        def forward(self, x):
            return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(self.layers(self.stem(x)), 1), 1))

    class MBConv(nn.Module):
        def __init__(self, cin, cout, expand, stride):
            super().__init__()
            mid = cin * expand
            self.expand = nn.Sequential(*conv_bn(cin, mid, 1), nn.SiLU())
            self.dw = nn.Sequential(*conv_bn(mid, mid, 3, stride, groups=mid), nn.SiLU())
            self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(mid, max(1, cin // 4), 1), nn.SiLU(),
                                    nn.Conv2d(max(1, cin // 4), mid, 1), nn.Sigmoid())
            self.project = nn.Sequential(*conv_bn(mid, cout, 1))
            self.residual = stride == 1 and cin == cout

        def forward(self, x):
            y = self.dw(self.expand(x))
            y = self.project(y * self.se(y))
            return x + y if self.residual else y

    class TinyEfficientNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(*conv_bn(3, 16, 3, 2), nn.SiLU())
            self.blocks = nn.Sequential(MBConv(16, 16, 1, 1), MBConv(16, 24, 4, 2), MBConv(24, 24, 4, 1))
            self.head = nn.Sequential(*conv_bn(24, 96, 1), nn.SiLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                      nn.Dropout(0.2), nn.Linear(96, 10))

        def forward(self, x):
            return self.head(self.blocks(self.stem(x)))

    torch.manual_seed(0)
    models = {
        'tiny_resnet': TinyResNet(),
        'tiny_mobilenet_v2': torchvision.models.MobileNetV2(num_classes=10, width_mult=0.5,
                                                            inverted_residual_setting=[[1, 16, 1, 1], [6, 24, 2, 2],
                                                                                       [6, 32, 2, 2]]),
        'tiny_shufflenet_v2': torchvision.models.ShuffleNetV2([2, 3, 2], [16, 32, 64, 128, 256], num_classes=10),
        'tiny_efficientnet': TinyEfficientNet(),
    }
    paths = []
    for i, (name, model) in enumerate(models.items()):
        path = os.path.join(out_dir, name + '.onnx')
        torch.onnx.export(randomize_bn(model, i + 1), torch.randn(1, 3, 64, 64), path, opset_version=13,
                          input_names=['input'], output_names=['output'], do_constant_folding=False,
                          training=torch.onnx.TrainingMode.PRESERVE)
        paths.append(path)
    return paths


def model_name(path):
    return os.path.basename(os.path.dirname(path)) if os.path.basename(path) == 'model.onnx' else \
        os.path.splitext(os.path.basename(path))[0]


def check_model(a, path, extra, tmp):
    name = model_name(path)
    out = os.path.join(tmp, name + '.pruned.onnx')
    rep = os.path.join(tmp, name + '.report.json')
    code, stdout, err = run(a.ortool, 'prune', path, '-o', out, '--ratio', '0.3', '--json', '--report', rep, *extra,
                            timeout=900)
    check(code == 0, f'{name}: prune exits 0 ({err.strip()[-300:]})')
    if code != 0:
        return
    j = json.loads(stdout)
    pruned = [g for g in j['groups'] if g['left_whole'] is None and g['kept'] < g['channels']]
    check(len(pruned) > 0, f'{name}: some group is pruned ({len(pruned)} of {len(j["groups"])})')
    check(0 < j['after']['macs'] < j['before']['macs'],
          f'{name}: MACs fall ({j["before"]["macs"]} -> {j["after"]["macs"]})')
    check(j['after']['parameters'] < j['before']['parameters'], f'{name}: parameters fall')
    check(all(w['reason'] for w in j['left_whole']), f'{name}: every group left whole has a reason')
    check(j['check'] is not None and j['check']['passed'], f'{name}: the closing check ran and passed (no gates)')
    with open(rep) as f:
        check(json.load(f) == j, f'{name}: --report holds the --json report')
    print(f'{name}: MACs {j["before"]["macs"]} -> {j["after"]["macs"]}, parameters {j["before"]["parameters"]} -> '
          f'{j["after"]["parameters"]}, {len(pruned)} groups pruned, {len(j["left_whole"])} left whole')

    m = onnx.load(out)
    try:
        opset = max((o.version for o in m.opset_import if o.domain in ('', 'ai.onnx')), default=0)
        onnx.checker.check_model(m, full_check=opset <= 17)
        check(True, f'{name}: onnx checker')
    except Exception as e:  # noqa: BLE001 - any finding fails
        check(False, f'{name}: onnx checker: {str(e).splitlines()[0]}')

    feeds = random_feeds(onnx.load(path), shape_args(extra), seed=3)
    try:
        want = ort_outputs(a.ort_runner, path, feeds, tmp, name + '_a')
        got = ort_outputs(a.ort_runner, out, feeds, tmp, name + '_b')
    except RuntimeError as e:
        check(False, f'{name}: {e}')
        return
    check(list(want) == list(got), f'{name}: same output names in ONNX Runtime')
    for k in want:
        check(k in got and got[k].shape == want[k].shape,
              f'{name}: output {k} has the original shape {want[k].shape} in ONNX Runtime')
    # ortool's runtime and ONNX Runtime agree on the pruned file.
    ours = os.path.join(tmp, name + '_ours')
    args = ['run', out, '--output-dir', ours, '--format', 'npy']
    for k in feeds:  # the .npy files ort_outputs wrote for the pruned model's run
        args += ['--input', f'{k}={os.path.join(tmp, name + "_b_in", safe(k) + ".npy")}']
    code, _, err = run(a.ortool, *args, timeout=600)
    check(code == 0, f'{name}: ortool runs the pruned model ({err.strip()[-200:]})')
    for k in (got if code == 0 else []):
        f = os.path.join(ours, safe(k) + '.npy')
        v = np.load(f) if os.path.exists(f) else None
        ok = v is not None and v.shape == got[k].shape and np.allclose(v, got[k], atol=1e-3, rtol=1e-3)
        detail = '' if ok or v is None or v.shape != got[k].shape else f' (max abs {np.max(np.abs(v - got[k])):.3g})'
        check(ok, f'{name}: output {k} of the pruned model agrees between ortool and ONNX Runtime{detail}')


def safe(name):
    """A tensor name as ort_outputs and `ortool run --format npy` make it a file name."""
    return name.replace('/', '_').replace('\\', '_').replace(':', '_')


def no_output(path):
    return not os.path.exists(path)


def check_errors(a, model, tmp):
    out = os.path.join(tmp, 'bad.onnx')
    for ratio in ['0', '1', '-0.5', '1.5', 'nan']:
        code, _, err = run(a.ortool, 'prune', model, '-o', out, '--ratio', ratio)
        check(one_error_line(code, err, 2, '--ratio') and no_output(out), f'--ratio {ratio}: one error line, exit 2, no file')
    code, _, err = run(a.ortool, 'prune', model, '-o', out, '--ratio', '0.3', '--layer', '/fc/Gemm=1')
    check(one_error_line(code, err, 2, 'would lose every channel') and no_output(out),
          '--layer NAME=1: the layer would lose every channel, exit 2')
    code, _, err = run(a.ortool, 'prune', model, '-o', out, '--ratio', '0.3', '--layer', 'no_such_layer=0.5')
    check(one_error_line(code, err, 2, 'no_such_layer') and no_output(out), '--layer with an unknown name: exit 2')
    code, _, err = run(a.ortool, 'prune', model, '-o', out, '--ratio', '0.3', '--exclude', 'no_such_layer')
    check(one_error_line(code, err, 2, 'no_such_layer') and no_output(out), '--exclude with an unknown name: exit 2')
    code, _, err = run(a.ortool, 'prune', model, '-o', out, '--ratio', '0.001')
    check(one_error_line(code, err, 2, 'no channel goes') and no_output(out), 'a ratio too small to remove a channel: exit 2')
    code, _, err = run(a.ortool, 'prune', model, '-o', out, '--ratio', '0.3', '--round-to', '0')
    check(one_error_line(code, err, 2, '--round-to') and no_output(out), '--round-to 0: exit 2')
    code, _, err = run(a.ortool, 'prune', model, '--ratio', '0.3')
    check(one_error_line(code, err, 2, '-o') and no_output(out), 'no -o: exit 2')
    code, _, err = run(a.ortool, 'prune', model, '-o', model, '--ratio', '0.3')
    check(code == 2 and os.path.exists(model), 'the output may not be the input')

    # Nothing to prune: a single convolution making the graph output.
    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), 'w')
    g = helper.make_graph([helper.make_node('Conv', ['x', 'w'], ['y'], name='only')], 'g',
                          [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 4, 6, 6])], [w])
    single = os.path.join(tmp, 'single_conv.onnx')
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)]), single)
    code, _, err = run(a.ortool, 'prune', single, '-o', out, '--ratio', '0.3')
    check(one_error_line(code, err, 2, 'nothing to prune') and 'graph output' in err and no_output(out),
          'a model with nothing to prune: exit 2, the reason named')

    # A failed gate: exit 1, the gate named, nothing written; the JSON says so.
    code, stdout, err = run(a.ortool, 'prune', model, '-o', out, '--ratio', '0.5', '--min-sqnr', '80', '--json')
    check(one_error_line(code, err, 1, '--min-sqnr') and no_output(out), 'a failed gate: exit 1, nothing written')
    if stdout.strip():
        j = json.loads(stdout)
        check(j['output'] is None and not j['check']['passed'] and 'failure' in j['check'], 'the JSON shows the failed gate')
    # Checks on samples from a batch .npy (--calib, the first --check 2 of 3), global scope, bn-scale,
    # exclusions, round-to.
    batch = os.path.join(tmp, 'batch.npy')
    np.save(batch, np.random.default_rng(1).standard_normal((3, 3, 64, 64)).astype(np.float32))
    code, stdout, err = run(a.ortool, 'prune', model, '-o', out, '--ratio', '0.4', '--scope', 'global', '--criterion',
                            'bn-scale', '--exclude', '/stem/stem.0/Conv', '--round-to', '4', '--calib', batch, '--check', '2',
                            '--json')
    check(code == 0, f'global, bn-scale, --exclude, --round-to, --calib batch: exit 0 ({err.strip()[-300:]})')
    if code == 0:
        j = json.loads(stdout)
        check(j['check']['samples'] == 2, 'the check ran on the first 2 samples of the batch (--check 2)')
        stem = [g for g in j['groups'] if '/stem/stem.0/Conv' in g['layers']]
        check(stem and stem[0]['left_whole'] == 'excluded (--exclude /stem/stem.0/Conv)', 'the excluded group is whole')
        kept = [g['kept'] for g in j['groups'] if g['left_whole'] is None and g['kept'] < g['channels']]
        check(kept and all(k % 4 == 0 for k in kept), f'pruned groups keep multiples of 4: {kept}')
        os.remove(out)
    code, _, err = run(a.ortool, 'prune', model, '-o', out, '--ratio', '0.3', '--criterion', 'activation')
    check(one_error_line(code, err, 2, '--calib') and no_output(out), '--criterion activation without --calib: exit 2')
    code, stdout, err = run(a.ortool, 'prune', model, '-o', out, '--ratio', '0.3', '--criterion', 'activation',
                            '--calib', batch, '--json')
    check(code == 0 and json.loads(stdout)['criterion'] == 'activation' and os.path.exists(out),
          f'--criterion activation --calib: exit 0 ({err.strip()[-300:]})')
    code, stdout, _ = run(a.ortool, '--help')
    check(code == 0 and 'prune' in stdout, 'ortool --help lists prune')
    code, stdout, _ = run(a.ortool, 'prune', '--help')
    check(code == 0 and '--ratio' in stdout and 'Example' in stdout, 'ortool prune --help has options and examples')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ortool', required=True)
    ap.add_argument('--ort-runner', required=True)
    ap.add_argument('--args', action='append', default=[], help='MODELNAME=--opt=value, extra options for one model')
    ap.add_argument('models', nargs='*')
    a = ap.parse_args()
    extra = {}
    for spec in a.args:
        name, opt = spec.split('=', 1)
        extra.setdefault(name, []).append(opt)
    if not ort_available(a.ort_runner):
        print('FAIL ONNX Runtime is not installed (run scripts/setup.sh)')
        return 1
    with tempfile.TemporaryDirectory(prefix='ortool_prune_') as tmp:
        tiny = tiny_models(tmp)
        for path in tiny + sorted(a.models):
            check_model(a, path, extra.get(model_name(path), []), tmp)
        check_errors(a, tiny[0], tmp)
    print(f'{len(FAILS)} failures')
    return 1 if FAILS else 0


if __name__ == '__main__':
    sys.exit(main())
