#!/usr/bin/python3
"""Writes the benchmark model set (ONNX, opset 13, BatchNormalization kept) with Debian's torch/torchvision.

Models: resnet18, mobilenet_v2, squeezenet1_1, shufflenet_v2_x1_0, efficientnet_b0 (random weights
with non-trivial BatchNorm statistics, eval mode, exported with training=TrainingMode.PRESERVE so BN
stays a separate node), and a 4-layer transformer encoder (d=256, 4 heads, 128 tokens).
Nothing is downloaded: weights are seeded random values, which is what speed and graph-structure
checks need.

Usage: scripts/gen_models.py OUT_DIR [--only name,name]
"""
import argparse
import os
import sys

import torch
import torchvision


def randomize_bn(model, seed):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(c, generator=g) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(c, generator=g) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(c, generator=g) * 0.1)
    return model


class Encoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        layer = torch.nn.TransformerEncoderLayer(d_model=256, nhead=4, dim_feedforward=1024, dropout=0.0,
                                                 batch_first=True)
        self.enc = torch.nn.TransformerEncoder(layer, num_layers=4, enable_nested_tensor=False)

    def forward(self, x):
        return self.enc(x)


def build(name):
    torch.manual_seed(0)
    if name == 'transformer':
        return Encoder().eval(), torch.randn(1, 128, 256)
    ctor = getattr(torchvision.models, name)
    model = randomize_bn(ctor(weights=None) if 'weights' in ctor.__code__.co_varnames else ctor(), 1).eval()
    return model, torch.randn(1, 3, 224, 224)


NAMES = ['resnet18', 'mobilenet_v2', 'squeezenet1_1', 'shufflenet_v2_x1_0', 'efficientnet_b0', 'transformer']


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out_dir')
    ap.add_argument('--only', default='')
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    names = [n for n in NAMES if not a.only or n in a.only.split(',')]
    for name in names:
        path = os.path.join(a.out_dir, name + '.onnx')
        if os.path.exists(path):
            print(f'{path}: exists')
            continue
        model, x = build(name)
        kwargs = dict(opset_version=13, input_names=['input'], output_names=['output'], do_constant_folding=False)
        if name != 'transformer':
            kwargs['training'] = torch.onnx.TrainingMode.PRESERVE
        # The transformer layers take a fused fast path under no_grad that the exporter cannot
        # express; with gradients enabled they export as plain MatMul/Softmax/LayerNorm pieces.
        torch.onnx.export(model, x, path + '.tmp', **kwargs)
        os.replace(path + '.tmp', path)
        print(f'{path}: written')
    return 0


if __name__ == '__main__':
    sys.exit(main())
