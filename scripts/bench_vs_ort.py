#!/usr/bin/python3
"""Latency and memory of `ortool bench` next to ONNX Runtime (npm onnxruntime-node), in one run.

For each model of the benchmark set (scripts/gen_models.py; generated when missing) and of
../shared/models, at 1 and 2 threads: the same seeded random inputs go to both; ortool and ONNX
Runtime (all graph optimizations) run alternately, ROUNDS times each, and the best median of each
is kept. Prints a table of medians and ratios ortool/ORT, the geometric mean per thread count (benchmark
set, real models, all), peak RSS of both, and the threads ortool used (fewer than asked when other
processes kept the cores busy as its session started). With --int8, the int8 rows follow for the
benchmark set's models among them (scripts/bench_int8.py with the same threads, iterations, rounds and
providers): ortool on its own int8 file, ONNX Runtime on that file and on a U8S8 file laid out as its
quantizer writes it, both fp32 latencies, and the ratios. Speed is measured here, never asserted by tests.

Usage: /usr/bin/python3 scripts/bench_vs_ort.py [--models DIR] [--threads 1,2] [--iters 30]
           [--rounds 3] [--providers LIST] [--only name,name] [--extra 'DIR/*.onnx' [--no-default]] [--int8]
"""
import argparse
import glob
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH_SET = ["resnet18", "mobilenet_v2", "squeezenet1_1", "shufflenet_v2_x1_0", "efficientnet_b0", "transformer"]
# Fixed shapes for the real models' symbolic dims.
SHAPES = {"ppocr_cls": {"x": [1, 3, 48, 192]}, "ppocr_det_v3": {"x": [1, 3, 320, 320]},
          "nnsplit_bilstm": {"input": [1, 64]}}
NP_TYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 6: np.int32, 7: np.int64, 9: np.bool_, 11: np.float64}


def make_inputs(model_path, name, out_dir):
    m = onnx.load(model_path, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    rng = np.random.default_rng(1)
    os.makedirs(out_dir, exist_ok=True)
    for i in m.graph.input:
        if i.name in inits:
            continue
        t = i.type.tensor_type
        dims = SHAPES.get(name, {}).get(i.name) or [d.dim_value if d.HasField("dim_value") else 1 for d in t.shape.dim]
        dt = NP_TYPES[t.elem_type]
        if np.issubdtype(dt, np.integer):
            arr = rng.integers(0, 100, dims).astype(dt)
        elif dt == np.bool_:
            arr = rng.integers(0, 2, dims).astype(dt)
        else:
            arr = rng.standard_normal(dims).astype(dt)
        np.save(os.path.join(out_dir, i.name.replace("/", "_").replace("\\", "_").replace(":", "_") + ".npy"), arr)


def run_json(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])}: exit {p.returncode}: {p.stderr.strip()[-300:]}")
    return json.loads(p.stdout.strip().splitlines()[-1] if cmd[0] == "node" else p.stdout)


def bench_model(a, path, name, tmp):
    ind = os.path.join(tmp, name + "_in")
    make_inputs(path, name, ind)
    rows = []
    for threads in a.threads:
        ours, theirs, rss_ours, rss_theirs, used = [], [], 0, 0, []
        for _ in range(a.rounds):
            j = run_json([a.ortool, "bench", path, "--input-dir", ind, "--threads", str(threads), "--iters",
                          str(a.iters), "--warmup", "3", "--json"] + (["--providers", a.providers] if a.providers else []))
            ours.append(j["latency_ms"]["median"])
            used.append(j.get("threads_used", threads))
            rss_ours = max(rss_ours, j["peak_rss_bytes"])
            k = run_json(["node", os.path.join(ROOT, "scripts", "ort_run.mjs"), path, ind, os.path.join(tmp, "ort_out"),
                          "--threads", str(threads), "--bench", f"3,{a.iters}"])
            theirs.append(k["latency_ms"]["median"])
            rss_theirs = max(rss_theirs, k["peak_rss_bytes"])
        rows.append({"model": name, "threads": threads, "ortool_ms": min(ours), "ort_ms": min(theirs),
                     "ratio": min(ours) / min(theirs), "ortool_rss": rss_ours, "ort_rss": rss_theirs,
                     "used": used[ours.index(min(ours))]})
        r = rows[-1]
        print(f"{name:22} {threads}t  ortool {r['ortool_ms']:9.2f} ms  ORT {r['ort_ms']:8.2f} ms  ratio {r['ratio']:6.2f}"
              f"  RSS {r['ortool_rss'] / 2**20:6.0f} / {r['ort_rss'] / 2**20:6.0f} MiB  ortool threads used {r['used']}", flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ortool", default=os.path.join(ROOT, "build", "apps", "ortool"))
    ap.add_argument("--models", default=os.path.join(ROOT, "build", "bench_models"))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--providers", default="", help="passed to ortool bench (default: ortool's default providers)")
    ap.add_argument("--only", default="")
    ap.add_argument("--extra", action="append", default=[],
                    help="also these model files (a glob; repeatable), e.g. torchvision exports; symbolic dims set to 1")
    ap.add_argument("--no-default", action="store_true", help="only the --extra models")
    ap.add_argument("--int8", action="store_true",
                    help="then the int8 rows of the benchmark set's models (scripts/bench_int8.py, same settings)")
    a = ap.parse_args()
    threads_arg = a.threads
    a.threads = [int(t) for t in a.threads.split(",")]
    if not os.path.isdir(os.path.join(ROOT, "scripts", "node_modules", "onnxruntime-node")):
        subprocess.run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=os.path.join(ROOT, "scripts"),
                       check=True, capture_output=True)
    if not a.no_default and any(not os.path.exists(os.path.join(a.models, n + ".onnx")) for n in BENCH_SET):
        print(f"generating the benchmark models into {a.models}", flush=True)
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen_models.py"), a.models], check=True)
    models = [] if a.no_default else [(os.path.join(a.models, n + ".onnx"), n) for n in BENCH_SET]
    if not a.no_default:
        for p in sorted(glob.glob(os.path.join(ROOT, "..", "shared", "models", "*", "model.onnx"))):
            models.append((p, os.path.basename(os.path.dirname(p))))
    for pattern in a.extra:
        for p in sorted(glob.glob(pattern)):
            models.append((p, os.path.splitext(os.path.basename(p))[0]))
    only = set(filter(None, a.only.split(",")))
    if only:
        models = [m for m in models if m[1] in only]
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    print(f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, {os.cpu_count()} cores, {cpu}; "
          f"ortool providers {a.providers or 'default'}; median of {a.iters} runs, best of {a.rounds} alternating rounds")
    rows, failures = [], []
    with tempfile.TemporaryDirectory(prefix="ortool_bench_") as tmp:
        for path, name in models:
            try:
                rows += bench_model(a, path, name, tmp)
            except RuntimeError as e:
                failures.append(f"{name}: {e}")
                print(f"{name}: FAILED: {e}", flush=True)
    print("\n| model | threads | ortool ms | ORT ms | ortool/ORT | ortool RSS MiB | ORT RSS MiB | ortool threads used |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['threads']} | {r['ortool_ms']:.2f} | {r['ort_ms']:.2f} | {r['ratio']:.2f} | "
              f"{r['ortool_rss'] / 2**20:.0f} | {r['ort_rss'] / 2**20:.0f} | {r['used']} |")
    for t in a.threads:
        for label, pick in [("benchmark set", lambda r: r["model"] in BENCH_SET),
                            ("other models", lambda r: r["model"] not in BENCH_SET), ("all", lambda r: True)]:
            sel = [r for r in rows if r["threads"] == t and pick(r)]
            if sel:
                g = math.exp(sum(math.log(r["ratio"]) for r in sel) / len(sel))
                worst = max(sel, key=lambda r: r["ratio"])
                print(f"\n{t} thread(s), {label}: geometric-mean ratio ortool/ORT {g:.2f}; "
                      f"worst {worst['model']} {worst['ratio']:.2f}")
    code = 0
    int8_models = [] if a.no_default else [n for n in BENCH_SET if not only or n in only]
    if a.int8 and int8_models:
        print("\nint8 (scripts/bench_int8.py):", flush=True)
        cmd = [sys.executable, os.path.join(ROOT, "scripts", "bench_int8.py"), "--ortool", a.ortool, "--models", a.models,
               "--only", ",".join(int8_models), "--threads", threads_arg, "--iters", str(a.iters),
               "--rounds", str(a.rounds)]
        if a.providers:
            cmd += ["--providers", a.providers]
        code = subprocess.run(cmd).returncode
    for f in failures:
        print("FAIL", f)
    return 1 if failures or code else 0


if __name__ == "__main__":
    sys.exit(main())
