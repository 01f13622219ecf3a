#!/usr/bin/python3
# Every kind of HTML report (compare --layerwise, quantize, prune, bench) opened from file:// in headless
# Chromium with the network cut off: the page's script must finish without an error and every chart
# must have drawn data points. The page marks this on #render-status (lib/report/report.js).
"""Checks:

- each report kind renders (compare with and without --layerwise, prune with a ratio and a sensitivity sweep): #render-status has data-status="ok", no uncaught script error reaches the
  console, and data-charts lists the charts that kind must have, each with at least one point;
- the check itself catches breakage: a bench page whose op-type data is emptied reports the empty chart,
  and a page whose data lacks what the script reads reports the thrown error (data-status="error");
- with --screenshots DIR, a PNG of each kind is written there (docs/report_quantize.png and
  docs/report_bench.png in the README come from this).
"""
import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from check_util import FAILS, check, run

# The charts each page must draw (ids from lib/report/report.js).
EXPECTED = {
    "compare": ["chart-error-histogram", "chart-layer-sqnr"],
    "compare-outputs": ["chart-error-histogram"],
    "quantize": ["chart-tensor-sqnr", "chart-output-agreement", "chart-latency", "chart-calibration-ranges"],
    "prune": ["chart-macs-params", "chart-channels"],
    "prune-sensitivity": ["chart-sensitivity"],
    "bench": ["chart-latency-histogram", "chart-op-time", "chart-provider-time", "chart-slowest-nodes"],
}

DATA_RE = re.compile(r'(<script type="application/json" id="report-data">)(.*?)(</script>)', re.S)


def chromium_args(chromium, profile_dir):
    # No sandbox: the tests run as root in containers. The network is cut off (proxy to a closed port,
    # every host unresolvable), so a page that tried to fetch anything would miss it.
    return [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + profile_dir,
            "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND", "--no-first-run",
            "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000"]


def render(chromium, page, profile_dir, screenshot=None):
    """(status attributes of #render-status, console errors) of `page` loaded from file://."""
    url = "file://" + os.path.abspath(page)
    args = chromium_args(chromium, profile_dir)
    p = subprocess.run(args + ["--dump-dom", url], capture_output=True, text=True, timeout=180)
    m = re.search(r'<div id="render-status"([^>]*)>', p.stdout)
    attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', m.group(1))) if m else {}
    attrs = {k: html.unescape(v) for k, v in attrs.items()}
    errors = [l for l in p.stderr.splitlines() if "CONSOLE" in l and ("Uncaught" in l or "Error" in l)]
    if screenshot:
        subprocess.run(args + ["--hide-scrollbars", "--window-size=1200,2200", "--screenshot=" + screenshot, url],
                       capture_output=True, text=True, timeout=180)
    return attrs, errors, p.stdout


def charts_of(attrs):
    out = {}
    for part in filter(None, attrs.get("data-charts", "").split(",")):
        name, _, n = part.rpartition(":")
        out[name] = int(n)
    return out


def check_page(chromium, page, kind, profile_dir, screenshot=None):
    attrs, errors, dom = render(chromium, page, profile_dir, screenshot)
    check(attrs.get("data-status") == "ok", f"{kind}: the page renders (data-status ok)",
          f"{attrs}\n{dom[-800:] if not attrs else ''}")
    check(not errors, f"{kind}: no script error on the console", "\n".join(errors[:5]))
    charts = charts_of(attrs)
    for c in EXPECTED[kind]:
        check(charts.get(c, 0) > 0, f"{kind}: chart {c} has data points ({charts.get(c, 0)})", charts)
    if screenshot:
        ok = os.path.exists(screenshot) and os.path.getsize(screenshot) > 20000
        check(ok, f"{kind}: screenshot {os.path.basename(screenshot)} written",
              os.path.getsize(screenshot) if os.path.exists(screenshot) else "missing")
    return attrs


def tampered(page, dst, change):
    """A copy of `page` whose embedded report data went through `change` (a dict -> dict function)."""
    text = open(page, encoding="utf-8").read()
    m = DATA_RE.search(text)
    data = change(json.loads(m.group(2)))
    payload = json.dumps(data).replace("<", "\\u003c")
    open(dst, "w", encoding="utf-8").write(text[:m.start(2)] + payload + text[m.end(2):])
    return dst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ortool", required=True)
    ap.add_argument("--testdata", required=True)
    ap.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    ap.add_argument("--screenshots", help="write a PNG of each report kind into this folder")
    args = ap.parse_args()
    if not shutil.which(args.chromium) and not os.path.exists(args.chromium):
        print(f"chromium not found ({args.chromium}): apt-get install chromium (scripts/setup.sh)")
        sys.exit(1)
    ortool = args.ortool
    small = os.path.join(args.testdata, "small_convnet.onnx")
    digits = os.path.join(args.testdata, "digits")
    cnn = os.path.join(digits, "digits_cnn.onnx")
    calib = os.path.join(digits, "calib_x.npy")
    tmp = tempfile.mkdtemp(prefix="ortool_html_")
    profile = os.path.join(tmp, "chromium-profile")
    shots = args.screenshots
    if shots:
        os.makedirs(shots, exist_ok=True)

    def shot(name):
        return os.path.join(shots, f"report_{name}.png") if shots else None

    try:
        pages = {}
        # compare --layerwise: the int8 digits model against the float one (quantized first).
        q = os.path.join(tmp, "int8.onnx")
        pages["quantize"] = os.path.join(tmp, "quantize.html")
        code, out, err = run(ortool, "quantize", cnn, "-o", q, "--calib", calib, "--calib-samples", "64",
                             "--html", pages["quantize"], timeout=600)
        check(code == 0 and os.path.exists(pages["quantize"]), "quantize --html writes the page", err)
        pages["compare"] = os.path.join(tmp, "compare.html")
        code, out, err = run(ortool, "compare", cnn, q, "--layerwise", "--inputs", calib, "--min-sqnr", "5",
                             "--html", pages["compare"], timeout=600)
        check(code in (0, 1) and os.path.exists(pages["compare"]), "compare --layerwise --html writes the page", err)
        pages["compare-outputs"] = os.path.join(tmp, "compare_outputs.html")
        code, out, err = run(ortool, "compare", small, small, "--random", "2", "--html", pages["compare-outputs"])
        check(code == 0 and os.path.exists(pages["compare-outputs"]), "compare --html (outputs only) writes the page", err)
        pages["prune"] = os.path.join(tmp, "prune.html")
        code, out, err = run(ortool, "prune", cnn, "-o", os.path.join(tmp, "pruned.onnx"), "--ratio", "0.3",
                             "--html", pages["prune"], timeout=600)
        check(code == 0 and os.path.exists(pages["prune"]), "prune --html writes the page", err)
        pages["prune-sensitivity"] = os.path.join(tmp, "sensitivity.html")
        code, out, err = run(ortool, "prune", cnn, "--sensitivity", "--html", pages["prune-sensitivity"], timeout=600)
        check(code == 0 and os.path.exists(pages["prune-sensitivity"]), "prune --sensitivity --html writes the page", err)
        pages["bench"] = os.path.join(tmp, "bench.html")
        code, out, err = run(ortool, "bench", small, "--iters", "40", "--warmup", "2", "--html", pages["bench"])
        check(code == 0 and os.path.exists(pages["bench"]), "bench --html writes the page", err)
        # The page is one file: nothing is loaded from anywhere else.
        for kind, page in pages.items():
            if os.path.exists(page):
                text = open(page, encoding="utf-8").read()
                check(not re.search(r'<(script|img|link|iframe)[^>]+(src|href)=', text),
                      f"{kind}: nothing loaded from a URL or another file")

        for kind, page in pages.items():
            if os.path.exists(page):
                check_page(args.chromium, page, kind, profile, shot(kind))

        # The check catches an empty chart and a script that throws.
        if os.path.exists(pages["bench"]):
            def empty_ops(d):
                d["profile"]["ops"] = []
                return d
            attrs, _, _ = render(args.chromium, tampered(pages["bench"], os.path.join(tmp, "empty.html"), empty_ops),
                                 profile)
            check(attrs.get("data-status") == "error" and "chart-op-time has no data points" in attrs.get("data-error", ""),
                  "an empty chart is reported (data-status error)", attrs)
            attrs, _, _ = render(args.chromium, tampered(pages["bench"], os.path.join(tmp, "throws.html"),
                                                         lambda d: {"model": "x"}), profile)
            check(attrs.get("data-status") == "error" and attrs.get("data-error"),
                  "a script error is reported (data-status error)", attrs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
