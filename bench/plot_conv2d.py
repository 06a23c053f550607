#!/usr/bin/env python3
"""Plots Conv2D forward time against kernel size from a peers table (bench/peers.py --out).

Run:  python3 bench/plot_conv2d.py PEERS.md OUT.png     (needs gnuplot, from make deps)
"""
import os
import re
import subprocess
import sys
import tempfile

rows = {}
for line in open(sys.argv[1]):
    m = re.match(r"\| conv2d_256x16_k(\d+)_auto \| ([\d.]+) \| (.+?) \| ([\d.]+) \|", line)
    if m:
        k, ours, peer, t = int(m[1]), float(m[2]), m[3], float(m[4])
        rows.setdefault(k, {})["fourierconv auto"] = ours
        rows[k][peer] = t
names = ["fourierconv auto", "ours direct", "ours fft", "torch conv2d (oneDNN)", "torch FFT conv, cached spectra"]
with tempfile.TemporaryDirectory() as d:
    data = os.path.join(d, "conv2d.dat")
    with open(data, "w") as f:
        for k in sorted(rows):
            f.write(f"{k} " + " ".join(f"{rows[k].get(n, float('nan')) / 1000:.3f}" for n in names) + "\n")
    plots = ", ".join(f"'{data}' using 1:{i + 2} with linespoints lw 2 title '{n}'" for i, n in enumerate(names))
    script = (f"set terminal pngcairo size 900,560 noenhanced\nset output '{sys.argv[2]}'\n"
              "set title 'Conv2D forward, (1, 256, 256, 16) -> 16, same padding'\n"
              "set xlabel 'kernel size k'\nset ylabel 'ms (log scale)'\nset logscale y\nset grid\nset key top left\n"
              f"plot {plots}\n")
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
