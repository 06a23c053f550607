#!/usr/bin/env python3
"""The 1-D compare on UCR/UEA sets: exports each set (export_ucr.py, from aeon's bundled data),
runs `fourierconv compare --signals` on it (signal-cnn, signal-fourier, signal-spectral: the
same optimizer, batch size, epochs and seed), and prints one Markdown table, final test
accuracy per model, as the README shows it.

Usage: compare_ucr.py [--epochs 200] [--sets GunPoint,ItalyPowerDemand,...] [--out build/ucr]
Run with build/venv/bin/python (it has aeon's data) after `make build`.
"""
import argparse
import json
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.normpath(os.path.join(here, "..", ".."))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--sets", default="GunPoint,ItalyPowerDemand,ArrowHead,OSULeaf,ACSF1,BasicMotions")
    ap.add_argument("--out", default=os.path.join(root, "build", "ucr"))
    ap.add_argument("--cli", default=os.path.join(root, "build", "fourierconv"))
    a = ap.parse_args()
    rows = []
    for name in a.sets.split(","):
        data, out = os.path.join(a.out, name), os.path.join(a.out, name + "-compare")
        subprocess.run([sys.executable, os.path.join(here, "export_ucr.py"), name, data], check=True)
        subprocess.run([a.cli, "compare", "--signals", data, "--epochs", str(a.epochs), "--out", out, "--verbose", "0"],
                       check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(out, "compare.json")) as f:
            res = {m["model"]: m for m in json.load(f)["models"]}
        import numpy as np
        xtr, xte = np.load(os.path.join(data, "x_train.npy")), np.load(os.path.join(data, "x_test.npy"))
        k = sum(1 for _ in open(os.path.join(data, "classes.txt")))
        cells = []
        for model in ("signal-cnn", "signal-fourier", "signal-spectral"):
            m = res[model]
            cells.append(f"{m['test_accuracy'][-1]:.3f} ({m['trainable_params']:,} / {1e3 * m['seconds_per_epoch']:.1f} ms)")
        rows.append(f"| {name} | {xtr.shape[0]} / {xte.shape[0]} | {xtr.shape[1]} x {xtr.shape[2]} | {k} | " + " | ".join(cells) + " |")
    print(f"Test accuracy after {a.epochs} epochs (trainable parameters / training time per epoch):\n")
    print("| data set | train / test | length x channels | classes | Conv1D | FourierConv1D (fixed) | SpectralConv1D |")
    print("|---|---:|---:|---:|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
