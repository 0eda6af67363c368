"""Side by side: `rnn-train bench` against PyTorch (torch_minchar.py) and numpy
(numpy_minchar.py), the same Elman char-RNN on the same names, one configuration after
another in one run, so that the ratios are measured under the same conditions.

Usage (from the repository root, after `cargo build --release -p rnn-train` and the
venv of README.md):

  bench/compare/venv/bin/python bench/compare/compare.py [--repeats 3] [--rows ROWS]

ROWS is a comma-separated list of HIDDENxBATCHxTHREADS (default: the README's rows).
Each tool reports the median of --repeats runs; the table gives characters per second
(target characters trained per wall second) and rnn-train's ratio to each tool.
"""
import argparse
import json
import os
import platform
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DEFAULT_ROWS = "25x1x1,64x32x1,256x32x1,256x32x2,256x1x1,128x16x1,128x16x2"


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                flags = open("/proc/cpuinfo").read()
                simd = "AVX-512" if " avx512f" in flags else "AVX2" if " avx2" in flags else ""
                return f"{line.split(':', 1)[1].strip()} ({simd})"
    except OSError:
        pass
    return platform.machine()


def epochs_for(hidden, batch):
    """Enough epochs for a stable figure in a few seconds per run (slow rows get fewer)."""
    if hidden >= 256 and batch == 1:
        return 2
    return 5 if hidden <= 64 else 3


def rnn_train(binary, hidden, batch, threads, epochs, repeats, kernel):
    out = subprocess.run(
        [binary, "bench", "--data", os.path.join(ROOT, "data", "dinosaurs.txt"),
         "--hidden", str(hidden), "--batch", str(batch), "--threads", str(threads),
         "--epochs", str(epochs), "--repeats", str(repeats), "--kernel", kernel],
        check=True, capture_output=True, text=True).stdout
    last = out.strip().splitlines()[-1].split()
    return float(last[4]), float(last[5])


def python_tool(script, args):
    out = subprocess.run([sys.executable, os.path.join(HERE, script)] + args,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rows", default=DEFAULT_ROWS)
    ap.add_argument("--kernel", default="fused", choices=["fused", "exact", "matrixmultiply"])
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "rnn-train"))
    ap.add_argument("--no-numpy", action="store_true")
    args = ap.parse_args()
    import numpy
    import torch
    print(f"machine: {cpu_name()}, {os.cpu_count()} CPUs; "
          f"torch {torch.__version__}, numpy {numpy.__version__}; medians of {args.repeats}")
    print("| hidden | batch | threads | rnn-train chars/s | PyTorch chars/s | ratio "
          "| numpy chars/s | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for row in args.rows.split(","):
        hidden, batch, threads = (int(v) for v in row.split("x"))
        epochs = epochs_for(hidden, batch)
        ours, _ = rnn_train(args.binary, hidden, batch, threads, epochs, args.repeats,
                            args.kernel)
        common = ["--hidden", str(hidden), "--lr", "0.01", "--epochs", str(epochs),
                  "--repeats", str(args.repeats)]
        pt = python_tool("torch_minchar.py",
                         ["train", "--batch", str(batch), "--threads", str(threads)] + common)
        np_cell = np_ratio = "–"
        if batch == 1 and threads == 1 and not args.no_numpy:
            # numpy trains one name at a time on one thread (it has no minibatches).
            npr = python_tool("numpy_minchar.py", common)
            np_cell = f"{npr['cps_median']:,.0f}"
            np_ratio = f"{ours / npr['cps_median']:.2f}×"
        print(f"| {hidden} | {batch} | {threads} | {ours:,.0f} | {pt['cps_median']:,.0f} "
              f"| {ours / pt['cps_median']:.2f}× | {np_cell} | {np_ratio} |", flush=True)


if __name__ == "__main__":
    main()
