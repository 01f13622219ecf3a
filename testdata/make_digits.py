#!/usr/bin/python3
# Trains the digits test models (a small CNN and a small transformer) on scikit-learn's bundled 8x8
# digits and writes them with a held-out set and a calibration set into testdata/digits/.
#
# Run with Debian's /usr/bin/python3 (python3-torch, python3-sklearn, python3-onnx). Fixed seeds and
# one thread, so a rerun on the same packages writes the same files. The quantize tests measure the
# held-out top-1 of the float and the int8 models on these files.
#
# Files (both models take float32 [batch, 1, 8, 8] pixels scaled to [0, 1], output logits [batch, 10]):
#   digits_cnn.onnx          Conv+BatchNorm+Relu x2 with MaxPool, then Gemm+Relu+Gemm (opset 13; BN left
#                            in the file for `optimize` to fold)
#   digits_transformer.onnx  rows as 8 tokens: embedding MatMul, 2 pre-norm attention blocks (explicit
#                            MatMul attention, LayerNormalization of opset 17), mean over tokens, classifier
#   test_x.npy, test_y.npy   the held-out split (inputs float32, labels int64)
#   calib_x.npy              calibration inputs drawn from the training split
import os

import numpy as np
import onnx
import torch
from sklearn.datasets import load_digits
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "digits")
SEED = 20240611
HELD_OUT = 540   # 30% of 1797: one sample is 0.19 points of top-1
CALIB = 128


class DigitsCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),   # 16 x 4 x 4
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),  # 32 x 2 x 2
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


class Block(nn.Module):
    """Pre-norm transformer block with attention written as MatMuls (so the export has them)."""

    def __init__(self, d, heads):
        super().__init__()
        self.heads, self.dh = heads, d // heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.ReLU(), nn.Linear(2 * d, d))

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q = q.reshape(b, t, self.heads, self.dh).transpose(1, 2)
        k = k.reshape(b, t, self.heads, self.dh).transpose(1, 2)
        v = v.reshape(b, t, self.heads, self.dh).transpose(1, 2)
        att = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * (self.dh ** -0.5), dim=-1)
        y = torch.matmul(att, v).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(y)
        return x + self.mlp(self.ln2(x))


class DigitsTransformer(nn.Module):
    def __init__(self, d=32, heads=2, blocks=2):
        super().__init__()
        self.embed = nn.Linear(8, d)
        self.pos = nn.Parameter(torch.zeros(8, d))
        self.blocks = nn.Sequential(*[Block(d, heads) for _ in range(blocks)])
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, 10)

    def forward(self, x):
        x = self.embed(x.reshape(x.shape[0], 8, 8)) + self.pos
        x = self.ln(self.blocks(x))
        return self.head(x.mean(dim=1))


def split():
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(SEED).permutation(len(y))
    test, train = order[:HELD_OUT], order[HELD_OUT:]
    return x[train], y[train], x[test], y[test]


def train(model, x, y, epochs, lr):
    torch.manual_seed(SEED)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(SEED)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(yt), generator=gen)
        for i in range(0, len(yt), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
        sched.step()
    model.eval()
    return model


def accuracy(model, x, y):
    with torch.no_grad():
        return float((model(torch.from_numpy(x)).argmax(1).numpy() == y).mean())


def export(model, path, opset, x, keep_bn=False):
    torch.onnx.export(model, torch.from_numpy(x[:2]), path, opset_version=opset, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=True,
                      training=torch.onnx.TrainingMode.PRESERVE if keep_bn else torch.onnx.TrainingMode.EVAL)
    m = onnx.load(path)
    m.producer_name, m.producer_version = "ortool-testdata", "1"
    m.doc_string = f"testdata/make_digits.py: {type(model).__name__} on sklearn digits, seed {SEED}"
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)


def main():
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    os.makedirs(OUT, exist_ok=True)
    xtr, ytr, xte, yte = split()
    calib = xtr[np.random.default_rng(SEED + 1).permutation(len(xtr))[:CALIB]]

    cnn = train(DigitsCNN(), xtr, ytr, epochs=40, lr=3e-3)
    torch.manual_seed(SEED)
    tr = train(DigitsTransformer(), xtr, ytr, epochs=60, lr=2e-3)
    print(f"held-out top-1: cnn {accuracy(cnn, xte, yte):.4f}, transformer {accuracy(tr, xte, yte):.4f}")

    export(cnn, os.path.join(OUT, "digits_cnn.onnx"), 13, xte, keep_bn=True)
    export(tr, os.path.join(OUT, "digits_transformer.onnx"), 17, xte)
    np.save(os.path.join(OUT, "test_x.npy"), xte)
    np.save(os.path.join(OUT, "test_y.npy"), yte)
    np.save(os.path.join(OUT, "calib_x.npy"), calib)


if __name__ == "__main__":
    main()
