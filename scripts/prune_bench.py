#!/usr/bin/python3
"""What `ortool prune` buys on the benchmark set: MACs, parameters, file size and latency before and after.

For each model of the benchmark set (scripts/gen_models.py; generated when missing) and, with
--shared, the convolutional models of ../shared/models: `ortool prune --ratio R --json`, then
`ortool bench` on the original and the pruned file alternately, ROUNDS times each; the best median and
the best minimum of each are kept (the lowest are the ones least disturbed by other work on the
machine; on a busy machine the minimum is the steadier figure). Prints a table.
Speed is measured here, never asserted by tests.

--recovery N: prune with --calib (N seeded normal inputs for the benchmark set; for ../shared/models N
flipped / shifted / scaled / noisy copies of the reference input) and print a second table: output SQNR
against the unpruned model after pruning, after BatchNormalization re-estimation and after the
least-squares refit (on the calibration samples), with the layers refit and left alone; then on N
other samples of the same kind (another seed; other copies of the reference input), which recovery did
not see: the model pruned without recovery (--no-recover) and the recovered one.
--no-latency skips the bench runs (recovery figures do not depend on the machine's load).

Usage: /usr/bin/python3 scripts/prune_bench.py [--models DIR] [--ratio 0.3] [--threads 1]
           [--iters 30] [--rounds 3] [--only name,name] [--shared] [--recovery N] [--no-latency]
           [-- extra prune options]
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH_SET = ["resnet18", "mobilenet_v2", "squeezenet1_1", "shufflenet_v2_x1_0", "efficientnet_b0", "transformer"]
SHARED = {"mnist14_onnx2c": [], "ppocr_cls": ["--shape", "x=1,3,48,192"], "ppocr_det_v3": ["--shape", "x=1,3,320,320"],
          "ultraface_rfb640": []}


def run_json(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])}: exit {p.returncode}: {p.stderr.strip()[-300:]}")
    return json.loads(p.stdout)


def calibration(name, path, n, tmp, held_out=False):
    """--calib options with `n` samples for the model at `path` (see --recovery); `held_out`: other
    samples of the same kind (another seed; for ../shared/models without the reference input itself)."""
    import numpy as np
    import onnx
    from onnx import numpy_helper
    out = os.path.join(tmp, name + ("_held_out.npy" if held_out else "_calib.npy"))
    d = os.path.dirname(path)
    sets = sorted(glob.glob(os.path.join(d, "*_set_0")))
    if name in BENCH_SET or not sets:
        m = onnx.load(path, load_external_data=False)
        inits = {i.name for i in m.graph.initializer}
        x = [i for i in m.graph.input if i.name not in inits][0]
        dims = [d.dim_value or 1 for d in x.type.tensor_type.shape.dim]
        np.save(out, np.random.default_rng(2 if held_out else 1).standard_normal([n] + dims[1:]).astype(np.float32))
    else:
        sys.path.insert(0, os.path.join(ROOT, "scripts"))
        from quant_accuracy_options import augmented
        np.save(out, augmented(d, n + 1, 1)[1:] if held_out else augmented(d, n, 0))
    return ["--calib", out]


def held_out_sqnr(ortool, original, pruned, samples, shape):
    """Worst output SQNR (dB) of `pruned` against `original` on `samples` (compare's gates ignored)."""
    p = subprocess.run([ortool, "compare", original, pruned, "--inputs", samples, "--json"] + shape,
                       capture_output=True, text=True)
    if p.returncode not in (0, 1):
        raise RuntimeError(f"ortool compare {pruned}: exit {p.returncode}: {p.stderr.strip()[-300:]}")
    return min(o["sqnr_db"] for o in json.loads(p.stdout)["outputs"])


def latency(ortool, path, shape, a):
    """(median, min) of one `ortool bench` run, in ms."""
    lat = run_json([ortool, "bench", path, "--json", "--iters", str(a.iters), "--threads", str(a.threads)] +
                   shape)["latency_ms"]
    return lat["median"], lat["min"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=os.path.join(ROOT, "build", "bench_models"))
    ap.add_argument("--ortool", default=os.path.join(ROOT, "build", "apps", "ortool"))
    ap.add_argument("--ratio", default="0.3")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="")
    ap.add_argument("--shared", action="store_true", help="also the convolutional models of ../shared/models")
    ap.add_argument("--recovery", type=int, default=0, help="calibration samples for recovery (0: none)")
    ap.add_argument("--no-latency", action="store_true")
    ap.add_argument("extra", nargs="*", help="extra options for ortool prune (after --)")
    a = ap.parse_args()
    names = [n for n in BENCH_SET if not a.only or n in a.only.split(",")]
    missing = [n for n in names if not os.path.exists(os.path.join(a.models, n + ".onnx"))]
    if missing:
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen_models.py"), a.models, "--only",
                        ",".join(missing)], check=True)
    models = [(n, os.path.join(a.models, n + ".onnx"), []) for n in names]
    if a.shared:
        shared = os.path.join(os.path.dirname(ROOT), "shared", "models")
        models += [(n, os.path.join(shared, n, "model.onnx"), s) for n, s in SHARED.items()
                   if not a.only or n in a.only.split(",")]
    rows, recovered = [], []
    with tempfile.TemporaryDirectory(prefix="ortool_prune_bench_") as tmp:
        for name, path, shape in models:
            out = os.path.join(tmp, name + ".pruned.onnx")
            calib = calibration(name, path, a.recovery, tmp) if a.recovery else []
            r = run_json([a.ortool, "prune", path, "-o", out, "--ratio", a.ratio, "--json", "--check", "1"] + shape +
                         calib + a.extra)
            if a.recovery:
                rec = r["recovery"]
                sq = {s["step"]: s["sqnr_db"] for s in rec["steps"]}
                undone = {s["step"] for s in rec["steps"] if s.get("reverted")}
                refits = rec["refits"]
                done = sum(1 for x in refits if not x["skipped"])
                # The same on samples the recovery did not see: plain pruning against the recovered model.
                held = calibration(name, path, a.recovery, tmp, held_out=True)[1]
                plain = os.path.join(tmp, name + ".plain.onnx")
                run_json([a.ortool, "prune", path, "-o", plain, "--ratio", a.ratio, "--json", "--check", "1",
                          "--no-recover"] + shape + calib + a.extra)
                unseen = (held_out_sqnr(a.ortool, path, plain, held, shape), held_out_sqnr(a.ortool, path, out, held, shape))
                recovered.append((name, sq.get("pruned"), (sq.get("bn-recalibrated"), "bn-recalibrated" in undone),
                                  (sq.get("refit"), "refit" in undone), rec["bn_recalibrated"], done,
                                  len(refits) - done, unseen))
            before, after = [], []
            for _ in range(0 if a.no_latency else a.rounds):
                before.append(latency(a.ortool, path, shape, a))
                after.append(latency(a.ortool, out, shape, a))
            b, f = r["before"], r["after"]
            if before:
                rows.append((name, b["macs"], f["macs"], b["parameters"], f["parameters"], b["file_bytes"],
                             f["file_bytes"], min(x[0] for x in before), min(x[0] for x in after),
                             min(x[1] for x in before), min(x[1] for x in after)))
            print(f"{name}: done", file=sys.stderr)
    if recovered:
        db = lambda v: "-" if v is None else f"{v:.1f}"
        step = lambda v: db(v[0]) + (" (undone)" if v[1] else "")
        print(f"ortool prune --ratio {a.ratio} --calib ({a.recovery} samples) {' '.join(a.extra)}: output SQNR (dB) "
              f"against the unpruned model on the calibration samples, then on {a.recovery} other samples")
        print("| model | pruned | BN re-estimated | refit | BNs re-estimated | layers refit | layers left alone | "
              "other samples: pruned | recovered |")
        print("|---|---|---|---|---|---|---|---|---|")
        for n, p0, p1, p2, bns, done, left, unseen in recovered:
            print(f"| {n} | {db(p0)} | {step(p1)} | {step(p2)} | {bns} | {done} | {left} | {db(unseen[0])} | "
                  f"{db(unseen[1])} |")
        print()
    if not rows:
        return 0
    pct = lambda x, y: f"{100.0 * (y - x) / x:+.1f}%" if x else "-"
    print(f"ortool prune --ratio {a.ratio} {' '.join(a.extra)}; ortool bench --threads {a.threads}, best of "
          f"{a.rounds} runs of {a.iters} iterations")
    print("| model | MACs before | after | change | params before | after | change | file change | "
          "median ms before | after | change | min ms before | after | change |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n, mb, ma, pb, pa, fb, fa, lb, la, nb, na in rows:
        print(f"| {n} | {mb / 1e6:.1f} M | {ma / 1e6:.1f} M | {pct(mb, ma)} | {pb / 1e6:.2f} M | {pa / 1e6:.2f} M | "
              f"{pct(pb, pa)} | {pct(fb, fa)} | {lb:.2f} | {la:.2f} | {pct(lb, la)} | {nb:.2f} | {na:.2f} | "
              f"{pct(nb, na)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
