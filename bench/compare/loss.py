"""Loss after N epochs, rnn-train against PyTorch, over several seeds.

Both train the same Elman char-RNN on the same names with the same loss (summed over a
name, averaged over a minibatch), plain SGD, element-wise clipping to +-5, and start
from the same distribution of weights (rnn-train's: uniform in +-1/sqrt(H), zero
biases; `torch_minchar.py --init uniform`), not from the same draws, and they shuffle
the names differently. So a single pair of runs differs by the seed's noise; this script
runs each tool with seeds 1..S and prints the mean and standard deviation of the loss per
character of the whole set after the last epoch (rnn-train: `train --rescore-train`),
and how far apart the two means are in units of the standard error of their difference.

Usage:
  python loss.py [--hidden 64] [--batch 32] [--epochs 20] [--lrs 0.01,0.1] [--seeds 5]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")


def ours(binary, hidden, batch, epochs, lr, seed):
    out = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"rnn-loss-{os.getpid()}.rnn")
    cmd = [binary, "train", "--data", os.path.join(ROOT, "data", "dinosaurs.txt"),
           "--hidden", str(hidden), "--batch", str(batch), "--epochs", str(epochs),
           "--lr", str(lr), "--reduction", "sum", "--clip", "5", "--val-split", "0",
           "--rescore-train", "--threads", "1", "--seed", str(seed), "--out", out]
    text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    os.remove(out)
    return float(re.search(r"final \(epoch \d+\): train ([0-9.]+)", text).group(1))


def theirs(hidden, batch, epochs, lr, seed):
    cmd = [sys.executable, os.path.join(HERE, "torch_minchar.py"), "train", "--init",
           "uniform", "--hidden", str(hidden), "--batch", str(batch), "--epochs",
           str(epochs), "--lr", str(lr), "--seed", str(seed), "--repeats", "1",
           "--threads", "1"]
    text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(text.strip().splitlines()[-1])["loss_median"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--lrs", default="0.01,0.1")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "rnn-train"))
    args = ap.parse_args()
    import torch
    print(f"Elman H = {args.hidden}, batch {args.batch}, {args.epochs} epochs, seeds "
          f"1-{args.seeds}; torch {torch.__version__}; nats per character of the whole "
          "set after the last epoch, mean ± sd")
    print("| learning rate | rnn-train | PyTorch | difference | difference / its s.e. |")
    print("|---|---|---|---|---|")
    for lr in (float(v) for v in args.lrs.split(",")):
        seeds = range(1, args.seeds + 1)
        a = [ours(args.binary, args.hidden, args.batch, args.epochs, lr, s) for s in seeds]
        b = [theirs(args.hidden, args.batch, args.epochs, lr, s) for s in seeds]
        ma, mb = statistics.mean(a), statistics.mean(b)
        sa, sb = statistics.stdev(a), statistics.stdev(b)
        se = (sa ** 2 / len(a) + sb ** 2 / len(b)) ** 0.5
        print(f"| {lr} | {ma:.4f} ± {sa:.4f} | {mb:.4f} ± {sb:.4f} | {ma - mb:+.4f} "
              f"| {(ma - mb) / se:+.1f} |", flush=True)
        print(f"  rnn-train {' '.join(f'{x:.4f}' for x in a)}; "
              f"PyTorch {' '.join(f'{x:.4f}' for x in b)}", file=sys.stderr)


if __name__ == "__main__":
    main()
