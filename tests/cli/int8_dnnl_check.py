#!/usr/bin/python3
"""Int8 models on a fast provider agree with the cpu reference kernels on the same file (SQNR >= 30 dB).

Each model is quantized with `ortool quantize` (static, calibrated on seeded random inputs or the model's
own calibration set), then run with `--providers cpu` and `--providers P,cpu` on a seeded input (P:
--provider, dnnl or xnnpack); every output must agree at SQNR >= 30 dB, and `bench --profile --json`
must show that P ran the int8 groups (at least MIN_INT8_SHARE of the quantized cores: Conv/Gemm/MatMul,
QLinearConv, QLinearMatMul).

Models: the digits CNN (testdata/digits; QDQ, QOperator, int8 activations, per-tensor weights),
testdata/small_convnet.onnx, and the CNNs of --models (../shared/models: mnist14_onnx2c, ppocr_cls), and
the benchmark set's resnet18, mobilenet_v2 and transformer (seeded weights; the transformer's attention
and softmax run as int8 steps): from --bench-models DIR, or written by --gen-models scripts/gen_models.py
into a temporary folder.

Usage: int8_dnnl_check.py --ortool ortool --testdata DIR [--provider dnnl|xnnpack] [--models DIR]
                          [--bench-models DIR | --gen-models PY] [--only SUBSTRING]
"""
import argparse, json, os, shutil, subprocess, sys, tempfile

import numpy as np
import onnx

MIN_SQNR = 30.0
MIN_INT8_SHARE = 0.9
CORES = {"Conv", "Gemm", "MatMul", "QLinearConv", "QLinearMatMul"}
SHAPES = {"ppocr_cls": [1, 3, 48, 192]}


def run(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} ...: exit {p.returncode}: {p.stderr.strip()[-600:]}")
    return p.stdout


def sqnr(ref, got):
    ref = ref.astype(np.float64)
    err = ((ref - got.astype(np.float64)) ** 2).sum()
    return float("inf") if err == 0 else 10 * np.log10(max((ref ** 2).sum(), 1e-30) / err)


def input_of(model):
    m = onnx.load(model, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    ins = [i for i in m.graph.input if i.name not in inits]
    assert len(ins) == 1, f"{model}: one input expected"
    return ins[0].name, [d.dim_value if d.HasField("dim_value") else 1 for d in ins[0].type.tensor_type.shape.dim]


def ortool_outputs(a, model, inp, name, tmp, providers, env=None):
    outd = os.path.join(tmp, "out_" + providers.replace(",", "_"))
    shutil.rmtree(outd, ignore_errors=True)  # no outputs of the previous model
    run([a.ortool, "run", model, "--providers", providers, "--input", f"{name}={inp}", "--format", "npy",
         "--output-dir", outd], env)
    return {f: np.load(os.path.join(outd, f)) for f in sorted(os.listdir(outd))}


def provider_share(a, model, inp, name, env=None, provider=None):
    """Fraction of the model's int8 cores that the provider (--provider) ran as int8, from bench --profile --json.

    A step is timed under its first node: a QDQ group under a DequantizeLinear, a QLinear op under
    itself. So a core op type listed as a step of its own ran outside an int8 group: on cpu, or as a
    float op between DequantizeLinear and QuantizeLinear (a QLinear op only counts on cpu)."""
    provider = provider or a.provider
    j = json.loads(run([a.ortool, "bench", model, "--input", f"{name}={inp}", "--iters", "1", "--warmup", "0",
                        "--providers", f"{provider},cpu", "--profile", "--top", "100000", "--json"], env))
    m = onnx.load(model, load_external_data=False)
    cores = [n for n in m.graph.node if n.op_type in CORES]
    outside = [e for e in j["profile"]["slowest_nodes"]
               if e["op_type"] in CORES and (e["provider"] != provider or not e["op_type"].startswith("QLinear"))]
    return 1 - len(outside) / max(1, len(cores)), len(cores)


def has_vnni():
    """Whether this CPU has VNNI (AVX512-VNNI or AVX-VNNI): without it dnnl runs the groups with 8-bit weights or
    int8 activations on its widened kernels and only those with uint8 activations and 7-bit weights
    (quantize --reduce-range) on oneDNN's, so each case runs a second time with --reduce-range there."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((l.split(":", 1)[1].split() for l in f if l.startswith("flags")), [])
    except OSError:
        return True
    return "avx512_vnni" in flags or "avx_vnni" in flags


def check(a, name, model, shape, calib, tmp, extra):
    inp_name, dims = input_of(model)
    dims = shape or dims
    qpath = os.path.join(tmp, name + ".int8.onnx")
    cmd = [a.ortool, "quantize", model, "-o", qpath, "--check", "0"] + extra
    if calib is None:
        cdir = os.path.join(tmp, name + "_calib")
        os.makedirs(cdir, exist_ok=True)
        rng = np.random.default_rng(3)
        for k in range(4):
            np.save(os.path.join(cdir, f"s{k}.npy"), rng.standard_normal(dims).astype(np.float32))
        calib = cdir
    cmd += ["--calib", calib]
    if shape:
        cmd += ["--shape", inp_name + "=" + ",".join(map(str, shape))]
    run(cmd)
    rng = np.random.default_rng(11)
    inp = os.path.join(tmp, name + "_input.npy")
    np.save(inp, rng.standard_normal(dims).astype(np.float32))
    ref = ortool_outputs(a, qpath, inp, inp_name, tmp, "cpu")
    got = ortool_outputs(a, qpath, inp, inp_name, tmp, f"{a.provider},cpu")
    worst = min(sqnr(ref[k], got[k]) for k in ref)
    # oneDNN limited to the kernels of CPUs without VNNI (its u8s8 kernels saturate there): the groups oneDNN
    # cannot run exactly go to the widened kernels, so dnnl still runs them all, exactly. On a VNNI machine
    # this is what tests the widened kernels.
    low_ok = True
    low_cases = (("digits_cnn_qdq", "digits_cnn_reduce-range", "digits_cnn_int8_activations_reduce-range")
                 if a.provider == "dnnl" else ())
    for isa in ("AVX2", "AVX512_CORE") if name in low_cases else ():
        env = dict(os.environ, ONEDNN_MAX_CPU_ISA=isa)
        low = ortool_outputs(a, qpath, inp, inp_name, tmp, "dnnl,cpu", env)
        low_sqnr = min(sqnr(ref[k], low[k]) for k in ref)
        low_share, _ = provider_share(a, qpath, inp, inp_name, env, "dnnl")
        ok_here = low_sqnr >= MIN_SQNR and low_share >= MIN_INT8_SHARE
        low_ok = low_ok and ok_here
        print(f"{'ok  ' if ok_here else 'FAIL'} {name} with ONEDNN_MAX_CPU_ISA={isa}: "
              f"dnnl vs cpu SQNR {low_sqnr:.1f} dB; int8 cores on dnnl {low_share * 100:5.1f}% (want >= 90%)", flush=True)
    share, cores = provider_share(a, qpath, inp, inp_name)
    ok = worst >= MIN_SQNR and share >= MIN_INT8_SHARE and low_ok
    print(f"{'ok  ' if ok else 'FAIL'} {name:32} {a.provider} vs cpu SQNR {worst:7.1f} dB; int8 cores on "
          f"{a.provider} {share * 100:5.1f}% of {cores}", flush=True)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ortool", required=True)
    ap.add_argument("--testdata", required=True)
    ap.add_argument("--provider", default="dnnl", choices=["dnnl", "xnnpack"])
    ap.add_argument("--models", default="")
    ap.add_argument("--bench-models", default="")
    ap.add_argument("--gen-models", default="")
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    a.vnni = has_vnni()
    digits = os.path.join(a.testdata, "digits")
    cases = []
    dcal = os.path.join(digits, "calib_x.npy")
    dcnn = os.path.join(digits, "digits_cnn.onnx")
    cases += [("digits_cnn qdq", dcnn, None, dcal, []),
              ("digits_cnn qoperator", dcnn, None, dcal, ["--format", "qoperator"]),
              ("digits_cnn int8 activations", dcnn, None, dcal, ["--activation-type", "int8"]),
              ("digits_cnn per-tensor weights", dcnn, None, dcal, ["--per-tensor-weights"]),
              ("digits_cnn reduce-range", dcnn, None, dcal, ["--reduce-range"]),
              ("digits_cnn int8 activations reduce-range", dcnn, None, dcal, ["--activation-type", "int8", "--reduce-range"]),
              ("small_convnet", os.path.join(a.testdata, "small_convnet.onnx"), None, None, [])]
    for m in ["mnist14_onnx2c", "ppocr_cls"]:
        p = os.path.join(a.models, m, "model.onnx")
        if a.models and os.path.exists(p):
            cases.append((m, p, SHAPES.get(m), None, []))
        elif a.models:
            print(f"missing {p}", file=sys.stderr)
            return 1
    failures = 0
    with tempfile.TemporaryDirectory(prefix="ortool_int8_") as tmp:
        bench = a.bench_models
        if a.gen_models and not bench:
            bench = os.path.join(tmp, "bench")
            run(["/usr/bin/python3", a.gen_models, bench, "--only", "resnet18,mobilenet_v2,transformer"])
        if bench:
            for m in ["resnet18", "mobilenet_v2", "transformer"]:
                cases.append((m, os.path.join(bench, m + ".onnx"), None, None, []))
        cases = [c for c in cases if a.only in c[0]]
        if a.provider == "dnnl" and not a.vnni:
            # Each case again with 7-bit weights: oneDNN's own kernels run those without VNNI.
            cases += [(n + " reduce-range", m, sh, c, e + ["--reduce-range"]) for n, m, sh, c, e in cases
                      if "--reduce-range" not in e]
        for name, model, shape, calib, extra in cases:
            try:
                failures += not check(a, name.replace(" ", "_"), model, shape, calib, tmp, extra)
            except RuntimeError as e:
                print(f"FAIL {name}: {e}", flush=True)
                failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
