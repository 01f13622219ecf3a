#!/usr/bin/python3
"""Writes models with a symbolic batch (and the graph shapes exporters make around it) for the
optimize comparison against ONNX Runtime (scripts/optimize_vs_ort.sh), with Debian's torch/torchvision.

Models (random seeded weights; nothing is downloaded):
- resnet18_dynbatch, mobilenet_v2_dynbatch, shufflenet_v2_x1_0_dynbatch: torchvision, batch symbolic
  (shufflenet's channel shuffle reads x.size(), so Shape/Gather/Unsqueeze/Concat chains feed its Reshapes);
- transformer_dynbatch: the benchmark encoder with batch and sequence symbolic;
- shufflenet_megvii: ShuffleNetV2 blocks as the original (Megvii) code writes the channel split:
  reshape, permute, reshape and indexing, which leaves Transpose/Reshape pairs and Gathers;
- flatten_matmul_dynbatch: a conv net whose head reshapes with x.size(1) * x.size(2) * x.size(3) and
  applies torch.matmul + bias (MatMul + Add), batch symbolic;
- shape_cast_slice_dynbatch: written with onnx's helper as converters from TensorFlow write it:
  Shape -> Cast(int32) -> Slice -> Cast(int64) -> Concat -> Reshape, then MatMul + Add.

Usage: scripts/gen_models_dynamic.py OUT_DIR [--only name,name]
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_models import Encoder, randomize_bn  # noqa: E402


def channel_shuffle_megvii(x):
    b, c, h, w = x.size()
    x = x.reshape(b * c // 2, 2, h * w)
    x = x.permute(1, 0, 2)
    x = x.reshape(2, -1, c // 2, h, w)
    return x[0], x[1]


def conv_bn(inp, out, k, stride=1, groups=1, relu=True):
    layers = [torch.nn.Conv2d(inp, out, k, stride, k // 2, groups=groups, bias=False), torch.nn.BatchNorm2d(out)]
    return layers + [torch.nn.ReLU()] if relu else layers


class MegviiBlock(torch.nn.Module):
    """stride 1: channel split, a 1x1/dw3x3/1x1 branch on one half, concat; stride 2: two branches."""

    def __init__(self, inp, out, stride):
        super().__init__()
        self.stride = stride
        half = out // 2
        branch_in = inp // 2 if stride == 1 else inp
        self.main = torch.nn.Sequential(*conv_bn(branch_in, half, 1), *conv_bn(half, half, 3, stride, half, False),
                                        *conv_bn(half, half, 1))
        self.proj = torch.nn.Sequential(*conv_bn(inp, inp, 3, stride, inp, False), *conv_bn(inp, half, 1)) \
            if stride == 2 else None

    def forward(self, x):
        if self.stride == 1:
            a, b = channel_shuffle_megvii(x)
            return torch.cat((a, self.main(b)), 1)
        return torch.cat((self.proj(x), self.main(x)), 1)


class MegviiNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Sequential(*conv_bn(3, 24, 3, 2))
        blocks, inp = [], 24
        for c, n in ((48, 3), (96, 4)):
            blocks.append(MegviiBlock(inp, c, 2))
            blocks += [MegviiBlock(c, c, 1) for _ in range(n)]
            inp = c
        self.blocks = torch.nn.Sequential(*blocks)
        self.fc = torch.nn.Linear(96, 10)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.fc(x.mean([2, 3]))


class FlattenMatMul(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, 2, 1)
        self.w = torch.nn.Parameter(torch.randn(8 * 16 * 16, 10) * 0.01)
        self.b = torch.nn.Parameter(torch.randn(10) * 0.1)

    def forward(self, x):
        x = torch.relu(self.conv(x))
        x = x.reshape(-1, x.size(1) * x.size(2) * x.size(3))
        return torch.matmul(x, self.w) + self.b


def shape_cast_slice_model(path):
    """conv -> Shape -> Cast(int32) -> Slice [1:] -> Cast(int64) -> ReduceProd -> Concat([-1], .) -> Reshape
    -> MatMul + Add, batch symbolic."""
    rng = np.random.default_rng(3)
    w = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32) * 0.3, 'w')
    fc = numpy_helper.from_array(rng.standard_normal((4 * 8 * 8, 5)).astype(np.float32) * 0.05, 'fc')
    fb = numpy_helper.from_array(rng.standard_normal(5).astype(np.float32), 'fb')
    consts = [numpy_helper.from_array(np.array(v, np.int32), n) for n, v in
              (('s_start', [1]), ('s_end', [4]), ('s_axes', [0]))]
    consts.append(numpy_helper.from_array(np.array([-1], np.int64), 'minus_one'))
    nodes = [
        helper.make_node('Conv', ['x', 'w'], ['c'], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node('Relu', ['c'], ['r']),
        helper.make_node('Shape', ['r'], ['shape']),
        helper.make_node('Cast', ['shape'], ['shape32'], to=TensorProto.INT32),
        helper.make_node('Slice', ['shape32', 's_start', 's_end', 's_axes'], ['dims32']),
        helper.make_node('Cast', ['dims32'], ['dims'], to=TensorProto.INT64),
        helper.make_node('ReduceProd', ['dims'], ['features'], keepdims=1),
        helper.make_node('Concat', ['minus_one', 'features'], ['target'], axis=0),
        helper.make_node('Reshape', ['r', 'target'], ['flat']),
        helper.make_node('MatMul', ['flat', 'fc'], ['mm']),
        helper.make_node('Add', ['mm', 'fb'], ['y']),
    ]
    g = helper.make_graph(nodes, 'shape_cast_slice', [helper.make_tensor_value_info('x', TensorProto.FLOAT, ['N', 3, 16, 16])],
                          [helper.make_tensor_value_info('y', TensorProto.FLOAT, ['N', 5])], [w, fc, fb] + consts)
    m = helper.make_model(g, opset_imports=[helper.make_operatorsetid('', 13)], producer_name='gen_models_dynamic')
    m.ir_version = 7
    onnx.checker.check_model(m)
    onnx.save(m, path)


def build(name):
    torch.manual_seed(0)
    if name == 'transformer_dynbatch':
        return Encoder().eval(), torch.randn(2, 16, 256), {'input': {0: 'batch', 1: 'seq'}, 'output': {0: 'batch', 1: 'seq'}}
    if name == 'shufflenet_megvii':
        return randomize_bn(MegviiNet(), 2).eval(), torch.randn(1, 3, 64, 64), None
    if name == 'flatten_matmul_dynbatch':
        return FlattenMatMul().eval(), torch.randn(2, 3, 32, 32), {'input': {0: 'batch'}, 'output': {0: 'batch'}}
    ctor = getattr(torchvision.models, name.replace('_dynbatch', ''))
    model = randomize_bn(ctor(weights=None) if 'weights' in ctor.__code__.co_varnames else ctor(), 1).eval()
    return model, torch.randn(2, 3, 224, 224), {'input': {0: 'batch'}, 'output': {0: 'batch'}}


NAMES = ['resnet18_dynbatch', 'mobilenet_v2_dynbatch', 'shufflenet_v2_x1_0_dynbatch', 'transformer_dynbatch',
         'shufflenet_megvii', 'flatten_matmul_dynbatch', 'shape_cast_slice_dynbatch']


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out_dir')
    ap.add_argument('--only', default='')
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    for name in [n for n in NAMES if not a.only or n in a.only.split(',')]:
        path = os.path.join(a.out_dir, name + '.onnx')
        if os.path.exists(path):
            print(f'{path}: exists')
            continue
        if name == 'shape_cast_slice_dynbatch':
            shape_cast_slice_model(path + '.tmp')
        else:
            model, x, dyn = build(name)
            kwargs = dict(opset_version=13, input_names=['input'], output_names=['output'], do_constant_folding=False)
            if dyn:
                kwargs['dynamic_axes'] = dyn
            if name != 'transformer_dynbatch':
                kwargs['training'] = torch.onnx.TrainingMode.PRESERVE
            torch.onnx.export(model, x, path + '.tmp', **kwargs)
        os.replace(path + '.tmp', path)
        print(f'{path}: written')
    return 0


if __name__ == '__main__':
    sys.exit(main())
