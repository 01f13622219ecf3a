#!/usr/bin/python3
"""optimize, quantize and prune on architectures the test suite never sees: torchvision's models (Debian's
python3-torchvision; seeded random weights, no download), exported to ONNX opset 17 with a symbolic batch.

For each model: `ortool optimize` (its own check must pass); `ortool quantize` with its defaults on four
seeded random inputs, the file through onnx's full checker, run by ONNX Runtime (npm onnxruntime-node) and by
ortool on a fifth input (ONNX Runtime's int8 output against its float output, and ortool against ONNX Runtime
on the same int8 file); `ortool prune --ratio 0.3`, the file through the checker and run by ONNX Runtime with
the original output shape. With --speed, also the int8 file on ortool's fast providers against its cpu
reference kernels (SQNR) and the latencies at one thread (median of --iters runs) of the float and int8 files on
ortool and on ONNX Runtime (its exact int8 mode on x86 without VNNI, as scripts/ort_run.mjs sets it), each pair
alternating. Prints one JSON line per model and a markdown table. A campaign, not a test: minutes per model.

Usage: /usr/bin/python3 scripts/torchvision_sweep.py [--ortool build/apps/ortool] [--work DIR]
           [--models mobilenet_v3_small,mnasnet0_5,...] [--speed [--iters N]]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = ("mobilenet_v3_small,mnasnet0_5,regnet_x_400mf,googlenet,densenet121,efficientnet_v2_s,convnext_tiny,"
          "inception_v3,resnext50_32x4d,vit_b_16")


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def sqnr(ref, got):
    ref = ref.astype(np.float64)
    err = ((ref - got) ** 2).sum()
    return float("inf") if err == 0 else 10 * np.log10(max((ref ** 2).sum(), 1e-30) / err)


def export(name, path, size):
    import torch
    import torchvision
    torch.manual_seed(0)
    m = getattr(torchvision.models, name)(weights=None).eval()
    torch.onnx.export(m, torch.randn(1, 3, size, size), path, opset_version=17, input_names=["input"],
                      output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})


def ort(model, ind, outd):
    shutil.rmtree(outd, ignore_errors=True)
    code, out, err = run(["node", os.path.join(ROOT, "scripts", "ort_run.mjs"), model, ind, outd])
    if code:
        return None, (err.strip().splitlines() or ["failed"])[-1][:300]
    return [np.load(os.path.join(outd, n.replace("/", "_").replace(":", "_") + ".npy"))
            for n in json.loads(out.strip().splitlines()[-1])["outputs"]], None


def ortool_ms(a, model):
    code, out, _ = run([a.ortool, "bench", model, "--threads", "1", "--iters", str(a.iters), "--json"])
    return round(json.loads(out)["latency_ms"]["median"], 2) if code == 0 else None


def ort_ms(a, model, ind, outd):
    shutil.rmtree(outd, ignore_errors=True)
    code, out, _ = run(["node", os.path.join(ROOT, "scripts", "ort_run.mjs"), model, ind, outd, "--threads", "1",
                        "--bench", f"3,{a.iters}"])
    return round(json.loads(out.strip().splitlines()[-1])["latency_ms"]["median"], 2) if code == 0 else None


def speed(a, row, model, q, ind, tmp):
    """dnnl-vs-cpu SQNR of the int8 file, and the four latencies (ortool and ONNX Runtime alternating)."""
    outs = {}
    for prov in ("cpu", "default"):
        d = os.path.join(tmp, "sp_" + prov)
        cmd = [a.ortool, "run", q, "--input", f"input={ind}/input.npy", "--format", "npy", "--output-dir", d]
        code, _, _ = run(cmd + (["--providers", "cpu"] if prov == "cpu" else []))
        if code == 0:
            outs[prov] = np.load(os.path.join(d, "output.npy"))
    if len(outs) == 2:
        row["fast_vs_cpu_db"] = round(sqnr(outs["cpu"], outs["default"]), 1)
    for tag, f in (("fp32", model), ("int8", q)):
        row[f"{tag}_ms_ortool"] = ortool_ms(a, f)
        row[f"{tag}_ms_ort"] = ort_ms(a, f, ind, os.path.join(tmp, "sp_ort"))


def checker(path):
    try:
        onnx.checker.check_model(path, full_check=True)
        return "ok"
    except Exception as e:  # noqa: BLE001 (any checker complaint is the result)
        return str(e)[:200]


def sweep(a, name):
    size = 299 if name == "inception_v3" else 224
    model = os.path.join(a.work, name + ".onnx")
    if not os.path.exists(model):
        export(name, model, size)
    ind, cal = os.path.join(a.work, f"in_{size}"), os.path.join(a.work, f"cal_{size}")
    if not os.path.isdir(ind):
        rng = np.random.default_rng(5)
        os.makedirs(ind)
        os.makedirs(cal)
        np.save(os.path.join(ind, "input.npy"), rng.standard_normal((1, 3, size, size)).astype(np.float32))
        for k in range(4):
            np.save(os.path.join(cal, f"s{k}.npy"), rng.standard_normal((1, 3, size, size)).astype(np.float32))
    tmp = os.path.join(a.work, "tmp_" + name)
    os.makedirs(tmp, exist_ok=True)
    row = {"model": name}
    fl, err = ort(model, ind, os.path.join(tmp, "f"))
    if fl is None:
        row["error"] = "ONNX Runtime cannot run the float model: " + err
        return row
    code, _, err = run([a.ortool, "optimize", model, "-o", os.path.join(tmp, "opt.onnx")])
    row["optimize"] = "ok" if code == 0 else err.strip()[-200:]
    q = os.path.join(tmp, "int8.onnx")
    code, _, err = run([a.ortool, "quantize", model, "-o", q, "--calib", cal, "--check", "1", "--no-speed"])
    if code:
        row["quantize"] = err.strip()[-300:]
    else:
        row["quant_checker"] = checker(q)
        qo, err = ort(q, ind, os.path.join(tmp, "q"))
        outd = os.path.join(tmp, "qo")
        code, _, err2 = run([a.ortool, "run", q, "--input", f"input={ind}/input.npy", "--format", "npy",
                             "--output-dir", outd])
        if qo is None or code:
            row["quant_run"] = err or err2.strip()[-200:]
        else:
            row["int8_vs_float_db"] = round(sqnr(fl[0], qo[0]), 1)
            row["ortool_vs_ort_db"] = round(sqnr(qo[0], np.load(os.path.join(outd, "output.npy"))), 1)
            if a.speed:
                speed(a, row, model, q, ind, tmp)
    p = os.path.join(tmp, "pruned.onnx")
    code, out, err = run([a.ortool, "prune", model, "-o", p, "--ratio", "0.3", "--json"])
    if code:
        row["prune"] = err.strip()[-300:]
    else:
        rep = json.loads(out)
        row["prune_macs"] = round(rep.get("after", {}).get("macs", 0) / max(rep.get("before", {}).get("macs", 1), 1), 2)
        row["prune_checker"] = checker(p)
        po, err = ort(p, ind, os.path.join(tmp, "p"))
        row["prune_ort"] = err if po is None else ("ok" if po[0].shape == fl[0].shape else f"shape {po[0].shape}")
    shutil.rmtree(tmp, ignore_errors=True)
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ortool", default=os.path.join(ROOT, "build", "apps", "ortool"))
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "torchvision_models"))
    ap.add_argument("--models", default=MODELS)
    ap.add_argument("--speed", action="store_true", help="also fast-provider SQNR and one-thread latencies")
    ap.add_argument("--iters", type=int, default=20, help="timed runs per latency (--speed)")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    rows = []
    for name in a.models.split(","):
        rows.append(sweep(a, name))
        print(json.dumps(rows[-1]), flush=True)
    cols = ["model", "optimize", "quant_checker", "int8_vs_float_db", "ortool_vs_ort_db", "prune_macs",
            "prune_checker", "prune_ort"]
    if a.speed:
        cols += ["fast_vs_cpu_db", "fp32_ms_ortool", "fp32_ms_ort", "int8_ms_ortool", "int8_ms_ort"]
    print("\n| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r.get(c, r.get("error", "-"))) for c in cols) + " |")
    bad = [r for r in rows if "error" in r or "quantize" in r or "prune" in r or "quant_run" in r or
           r.get("optimize") != "ok" or r.get("quant_checker") != "ok" or r.get("prune_checker") != "ok" or
           r.get("prune_ort") != "ok" or r.get("ortool_vs_ort_db", 0) < 25]
    print(f"\n{len(rows)} models, {len(bad)} with a failure")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
