#!/usr/bin/python3
"""End-to-end tests of `ortool bench` on a small model: --iters, --warmup, the --json fields,
--profile (with --top), --providers, --no-optimize, --threads, --max-seconds, --input / --input-dir, and
the text report. Times are only checked for sense (positive, ordered), never against a limit.

Usage: bench_check.py --ortool ORTOOL --model small_convnet.onnx
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

from check_util import FAILS, check, one_error_line


def bench(ortool, model, *args):
    p = subprocess.run([ortool, "bench", model, *args], capture_output=True, text=True, check=False)
    j = None
    if "--json" in args and p.returncode == 0:
        try:
            j = json.loads(p.stdout)
        except json.JSONDecodeError:
            pass
    return p.returncode, j, p.stdout, p.stderr


def latency_sane(j):
    lat = j.get("latency_ms", {})
    keys = ["min", "median", "p90", "p99", "max", "mean"]
    if not all(isinstance(lat.get(k), (int, float)) for k in keys):
        return False
    return 0 < lat["min"] <= lat["median"] <= lat["p90"] <= lat["p99"] <= lat["max"] and lat["min"] <= lat["mean"] <= lat["max"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ortool", required=True)
    ap.add_argument("--model", required=True, help="testdata/small_convnet.onnx")
    ap.add_argument("--xnnpack", action="store_true", help="ortool was built with XNNPACK")
    a = ap.parse_args()
    m = onnx.load(a.model)
    n_nodes = len(m.graph.node)
    run = lambda *args: bench(a.ortool, a.model, *args)  # noqa: E731

    # --iters, --warmup and the JSON fields.
    code, j, out, err = run("--iters", "7", "--warmup", "2", "--json")
    fields = {"model", "iterations", "warmup", "latency_ms", "throughput_per_s", "providers", "threads", "optimized",
              "peak_memory_bytes", "arena_bytes", "peak_rss_bytes"}
    check(code == 0 and j is not None and fields <= set(j), "--json has the documented fields",
           f"missing {fields - set(j or {})}: {err}")
    j = j or {}
    check(j.get("iterations") == 7 and j.get("warmup") == 2, "--iters 7 --warmup 2: reported as such",
           f"{j.get('iterations')} {j.get('warmup')}")
    check(latency_sane(j), "latency_ms: positive and ordered (min <= median <= p90 <= p99 <= max)",
           f"{j.get('latency_ms')}")
    check(j.get("throughput_per_s", 0) > 0 and j.get("threads") == 1 and j.get("optimized") is True
           and j.get("model") == a.model, "throughput, threads 1, optimized, model path", f"{j}")
    check(0 < j.get("peak_memory_bytes", 0) <= j.get("arena_bytes", 0) + 4096 and j.get("peak_rss_bytes", 0) > 0,
           "peak memory: live tensors within the arena, process RSS reported", f"{j}")
    check("profile" not in j, "no profile without --profile", f"{list(j)}")

    # --profile and --top.
    code, j, _, err = run("--iters", "3", "--warmup", "0", "--profile", "--top", "2", "--json")
    prof = (j or {}).get("profile", {})
    op_nodes = sum(o.get("nodes", 0) for o in prof.get("ops", []))
    check(code == 0 and prof.get("ops") and len(prof.get("slowest_nodes", [])) == 2
           and prof.get("node_total_ms", 0) > 0 and all(o["ms"] >= 0 for o in prof["ops"])
           and 0 < op_nodes < n_nodes,
           "--profile --top 2: per-op table of the optimized graph, the two slowest nodes", f"{prof} {err}")
    # On the reference kernels every node runs alone (oneDNN runs Conv+Relu as one), so the profile
    # counts the graph's nodes: all of the file's with --no-optimize, the Constant gone without it.
    profiled = {}
    for flags in ([], ["--no-optimize"]):
        code, j, _, err = run("--iters", "3", "--warmup", "0", "--profile", "--providers", "cpu", "--json", *flags)
        prof = (j or {}).get("profile", {})
        profiled[bool(flags)] = (code, j and j.get("optimized"), {o["op_type"]: o["nodes"] for o in prof.get("ops", [])})
    code, optimized, counts = profiled[True]
    check(code == 0 and optimized is False and sum(counts.values()) == n_nodes and counts.get("Constant") == 1,
           "--no-optimize: the graph as it is (every node of the file profiled)", f"{profiled[True]}")
    code, optimized, counts = profiled[False]
    check(code == 0 and optimized is True and sum(counts.values()) == n_nodes - 1 and "Constant" not in counts,
           "without --no-optimize: the optimized graph (the Constant made an initializer)", f"{profiled[False]}")
    code, _, out, err = run("--iters", "3", "--warmup", "0", "--profile", "--top", "1")
    check(code == 0 and "latency" in out and "slowest nodes" in out and "Conv" in out,
           "--profile text: latency, the per-op table and the slowest nodes", out)

    # --providers and --threads.
    code, j, _, err = run("--iters", "2", "--warmup", "0", "--providers", "cpu", "--profile", "--json")
    check(code == 0 and j and j.get("providers") == ["cpu"]
           and {n.get("provider") for n in j["profile"]["slowest_nodes"]} == {"cpu"},
           "--providers cpu: every node on the reference kernels", f"{j and j.get('providers')} {err}")
    if a.xnnpack:
        code, j, _, err = run("--iters", "2", "--warmup", "0", "--providers", "xnnpack,cpu", "--json")
        check(code == 0 and j and j.get("providers") == ["xnnpack", "cpu"], "--providers xnnpack,cpu", err)
    code, _, _, err = run("--iters", "2", "--providers", "bogus")
    check(one_error_line(code, err, 2, "bogus"), "--providers bogus: exit 2 naming it", err)
    code, j, _, err = run("--iters", "2", "--warmup", "0", "--threads", "2", "--json")
    check(code == 0 and j and j.get("threads") == 2, "--threads 2: reported", err)

    # --max-seconds stops a long run early.
    code, j, _, err = run("--iters", "10000000", "--warmup", "0", "--max-seconds", "0.2", "--json")
    check(code == 0 and j and 0 < j.get("iterations", 0) < 10000000,
           "--max-seconds 0.2: stops timing early and reports the runs made", f"{j and j.get('iterations')} {err}")
    code, _, _, err = run("--iters", "0")
    check(one_error_line(code, err, 2), "--iters 0: exit 2", err)

    # Inputs from files: --input NAME=FILE and --input-dir; a wrong shape is refused.
    with tempfile.TemporaryDirectory(prefix="ortool_bench_") as tmp:
        x = np.random.default_rng(3).standard_normal((2, 3, 32, 32)).astype(np.float32)
        np.save(os.path.join(tmp, "x.npy"), x)
        code, j, _, err = run("--iters", "2", "--warmup", "0", "--input", f"input={tmp}/x.npy", "--json")
        check(code == 0 and j and j.get("iterations") == 2, "--input input=x.npy", err)
        d = os.path.join(tmp, "set")
        os.mkdir(d)
        onnx.save_tensor(numpy_helper.from_array(x, "input"), os.path.join(d, "input_0.pb"))
        code, j, _, err = run("--iters", "2", "--warmup", "0", "--input-dir", d, "--json")
        check(code == 0 and j and j.get("iterations") == 2, "--input-dir with input_0.pb", err)
        np.save(os.path.join(tmp, "bad.npy"), np.zeros((2, 5), np.float32))
        code, _, _, err = run("--iters", "2", "--input", f"input={tmp}/bad.npy")
        check(one_error_line(code, err, 2, "input"), "--input of the wrong rank: exit 2 naming the input", err)

    print(f"{len(FAILS)} failure(s)")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
