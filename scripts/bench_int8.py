#!/usr/bin/python3
"""Int8 latency next to fp32, ortool and ONNX Runtime (npm onnxruntime-node) side by side, in one run.

For each model (default: the whole benchmark set, scripts/gen_models.py, generated when missing)
the script writes an int8 file with `ortool quantize` (static QDQ, the defaults: uint8 per-tensor
activations, int8 per-channel weights; calibrated on four seeded random inputs), then at each thread
count times four things on the same seeded input, alternating, ROUNDS times each and keeping the best
median: ortool on the fp32 file, ONNX Runtime (all graph optimizations) on the fp32 file, ortool on the
int8 file, ONNX Runtime on the same int8 file, and ONNX Runtime on a second int8 file laid out as ONNX
Runtime's quantize_static writes it with its defaults and QUInt8 activations (U8S8 QDQ: per-tensor int8
weights, uint8 activations, int32 biases behind DequantizeLinear; `ortool quantize --per-tensor-weights`).
Prints a table with the ratios that issue 12 asks about: ortool int8 / ONNX Runtime int8 (the faster of its
two files), ortool int8 / ortool fp32, ortool int8 / ONNX Runtime fp32.
On x86 CPUs without VNNI ONNX Runtime's default U8S8 kernels add pairs of u8 x s8 products in saturating 16
bits (inexact on 8-bit weights); scripts/ort_run.mjs runs them exactly (session.x64quantprecision=1) unless
--ort-saturating asks for the default kernels. --reduce-range quantizes both int8 files with 7-bit weights
(ONNX Runtime's reduce_range), which both runtimes run exactly and fast on such CPUs.
Speed is measured here, never asserted by tests.

Usage: /usr/bin/python3 scripts/bench_int8.py [--models DIR] [--only resnet18,mobilenet_v2] [--threads 1,2]
           [--iters 30] [--rounds 3] [--providers LIST] [--reduce-range] [--ort-saturating]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_vs_ort import ROOT, make_inputs, run_json  # noqa: E402

BENCH_SET = ["resnet18", "mobilenet_v2", "squeezenet1_1", "shufflenet_v2_x1_0", "efficientnet_b0", "transformer"]


def quantize(a, path, name, ind, tmp, extra=(), suffix="int8"):
    """The int8 file of `path`, calibrated on four seeded random samples shaped like the bench input."""
    out = os.path.join(tmp, f"{name}.{suffix}.onnx")
    x = np.load(os.path.join(ind, sorted(os.listdir(ind))[0]))
    cal = os.path.join(tmp, name + "_calib")
    os.makedirs(cal, exist_ok=True)
    rng = np.random.default_rng(3)
    for k in range(4):
        np.save(os.path.join(cal, f"s{k}.npy"), rng.standard_normal(x.shape).astype(x.dtype))
    p = subprocess.run([a.ortool, "quantize", path, "-o", out, "--calib", cal, "--check", "0", "--no-speed", *extra], capture_output=True,
                       text=True)
    if p.returncode != 0:
        raise RuntimeError(f"quantize {name}: {p.stderr.strip()[-300:]}")
    return out


def ortool_ms(a, model, ind, threads):
    j = run_json([a.ortool, "bench", model, "--input-dir", ind, "--threads", str(threads), "--iters", str(a.iters),
                  "--warmup", "3", "--json"] + (["--providers", a.providers] if a.providers else []))
    return j["latency_ms"]["median"], j.get("threads_used", threads)


def ort_ms(a, model, ind, threads, tmp, int8=False):
    config = ["--config", "session.x64quantprecision=0"] if int8 and a.ort_saturating else []
    k = run_json(["node", os.path.join(ROOT, "scripts", "ort_run.mjs"), model, ind, os.path.join(tmp, "ort_out"),
                  "--threads", str(threads), "--bench", f"3,{a.iters}"] + config)
    return k["latency_ms"]["median"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ortool", default=os.path.join(ROOT, "build", "apps", "ortool"))
    ap.add_argument("--models", default=os.path.join(ROOT, "build", "bench_models"))
    ap.add_argument("--only", default=",".join(BENCH_SET))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--providers", default="", help="passed to ortool bench (default: ortool's default providers)")
    ap.add_argument("--reduce-range", action="store_true", help="7-bit weights in both int8 files")
    ap.add_argument("--ort-saturating", action="store_true",
                    help="ONNX Runtime's default int8 kernels (saturating on x86 without VNNI), not its exact ones")
    a = ap.parse_args()
    with open("/proc/cpuinfo") as f:
        flags = next((l.split(":", 1)[1].split() for l in f if l.startswith("flags")), [])
    vnni = "avx512_vnni" in flags or "avx_vnni" in flags
    threads = [int(t) for t in a.threads.split(",")]
    names = [n for n in a.only.split(",") if n]
    if any(not os.path.exists(os.path.join(a.models, n + ".onnx")) for n in names):
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen_models.py"), a.models, "--only", ",".join(names)],
                       check=True)
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    print(f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, {os.cpu_count()} cores, load average "
          f"{' '.join(load)}; CPU {'with' if vnni else 'without'} VNNI; ortool providers {a.providers or 'default'}; "
          f"int8 weights {'7-bit (--reduce-range)' if a.reduce_range else '8-bit'}; ONNX Runtime int8 kernels "
          f"{'default (saturating without VNNI)' if a.ort_saturating else 'exact (x64quantprecision=1)'}; median of "
          f"{a.iters} runs, best of {a.rounds} alternating rounds", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="ortool_bench_int8_") as tmp:
        for name in names:
            path = os.path.join(a.models, name + ".onnx")
            ind = os.path.join(tmp, name + "_in")
            make_inputs(path, name, ind)
            rr = ["--reduce-range"] if a.reduce_range else []
            q = quantize(a, path, name, ind, tmp, rr)
            q_ort = quantize(a, path, name, ind, tmp, ["--per-tensor-weights"] + rr, "u8s8_ort_layout")
            for t in threads:
                best = {"of32": [], "rf32": [], "oi8": [], "ri8": [], "ri8o": []}
                used = t
                for _ in range(a.rounds):
                    best["of32"].append(ortool_ms(a, path, ind, t)[0])
                    best["rf32"].append(ort_ms(a, path, ind, t, tmp))
                    ms, used = ortool_ms(a, q, ind, t)
                    best["oi8"].append(ms)
                    best["ri8"].append(ort_ms(a, q, ind, t, tmp, True))
                    best["ri8o"].append(ort_ms(a, q_ort, ind, t, tmp, True))
                r = {k: min(v) for k, v in best.items()}
                r.update(model=name, threads=t, used=used, ort8=min(r["ri8"], r["ri8o"]))
                rows.append(r)
                print(f"{name:20} {t}t  fp32 ortool {r['of32']:7.2f} ORT {r['rf32']:7.2f} ms   int8 ortool "
                      f"{r['oi8']:7.2f} ORT {r['ri8']:7.2f} (ORT layout {r['ri8o']:7.2f}) ms   int8 ortool/ORT "
                      f"{r['oi8'] / r['ort8']:5.2f}   ortool int8 threads used {used}", flush=True)
    print("\n| model | threads | ortool fp32 ms | ORT fp32 ms | ortool int8 ms | ORT int8 ms (same file) | "
          "ORT int8 ms (ORT-layout U8S8 file) | ortool int8 / ORT int8 (faster file) | ortool int8 / ortool fp32 | "
          "ortool int8 / ORT fp32 | ortool int8 threads used |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['threads']} | {r['of32']:.2f} | {r['rf32']:.2f} | {r['oi8']:.2f} | {r['ri8']:.2f} | "
              f"{r['ri8o']:.2f} | {r['oi8'] / r['ort8']:.2f} | {r['oi8'] / r['of32']:.2f} | {r['oi8'] / r['rf32']:.2f} | "
              f"{r['used']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
