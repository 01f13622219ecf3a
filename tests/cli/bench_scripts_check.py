#!/usr/bin/python3
"""scripts/bench_vs_ort.py --int8 runs end to end on one model of the benchmark set and prints both tables.

Generates squeezenet1_1 (scripts/gen_models.py --only) into a temporary folder, runs the script at one thread,
one round of two runs, and checks: exit status 0; the fp32 table has the model's row with positive latencies and
their ratio; the int8 rows (scripts/bench_int8.py) follow with ortool's and ONNX Runtime's fp32 and int8
latencies, positive, and ratios that are their quotients. Speeds are not judged (a timing is never a test).
ONNX Runtime comes from scripts/setup.sh (scripts/node_modules).

Usage: bench_scripts_check.py --ortool ortool
"""
import argparse, os, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def table_rows(out, header_start):
    """The rows (lists of cells) of the markdown table whose header starts with `header_start`."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(header_start):
            rows = []
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                rows.append([c.strip() for c in row.strip("|").split("|")])
            return rows
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ortool", required=True)
    a = ap.parse_args()
    failures = []
    with tempfile.TemporaryDirectory(prefix="ortool_bench_scripts_") as tmp:
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen_models.py"), tmp, "--only", "squeezenet1_1"],
                       check=True, capture_output=True)
        p = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "bench_vs_ort.py"), "--ortool", a.ortool,
                            "--models", tmp, "--only", "squeezenet1_1", "--threads", "1", "--rounds", "1", "--iters", "2",
                            "--int8"], capture_output=True, text=True, timeout=600)
        out = p.stdout
        if p.returncode != 0:
            failures.append(f"exit status {p.returncode}: {p.stderr[-500:]}")
        fp32 = table_rows(out, "| model | threads | ortool ms | ORT ms |")
        if not fp32 or fp32[0][:2] != ["squeezenet1_1", "1"]:
            failures.append(f"no fp32 row for squeezenet1_1: {fp32}")
        else:
            ortool_ms, ort_ms, ratio = (float(v) for v in fp32[0][2:5])
            if not (ortool_ms > 0 and ort_ms > 0 and abs(ratio - ortool_ms / ort_ms) < 0.02):
                failures.append(f"fp32 row {fp32[0]}")
        int8 = table_rows(out, "| model | threads | ortool fp32 ms | ORT fp32 ms | ortool int8 ms |")
        if not int8 or int8[0][:2] != ["squeezenet1_1", "1"]:
            failures.append(f"no int8 row for squeezenet1_1: {int8}")
        else:
            f32, ort32, i8, ort8, ort8_layout, vs_ort8, vs_f32 = (float(v) for v in int8[0][2:9])
            if min(f32, ort32, i8, ort8, ort8_layout) <= 0:
                failures.append(f"int8 row {int8[0]}")
            if abs(vs_ort8 - i8 / min(ort8, ort8_layout)) > 0.02 or abs(vs_f32 - i8 / f32) > 0.02:
                failures.append(f"int8 ratios {int8[0]}")
    for f in failures:
        print("FAIL", f)
    if not failures:
        print("ok: bench_vs_ort.py --int8 printed the fp32 and int8 rows")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
