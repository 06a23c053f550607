#!/usr/bin/env python3
"""Plots Conv2D forward time against kernel size from a bench/conv2d_peers.py table (--out).

Run:  python3 bench/plot_conv2d.py TABLE.md OUT.png     (needs gnuplot, from make deps)
"""
import os
import subprocess
import sys
import tempfile

header, rows = None, {}
for line in open(sys.argv[1]):
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if cells and cells[0] == "k":
        header = [c.replace(" (ms)", "") for c in cells]
    elif header and cells and cells[0].isdigit():
        rows[int(cells[0])] = {h: c for h, c in zip(header, cells)}
if not rows:
    sys.exit(f"plot_conv2d: no table rows in {sys.argv[1]} (expected bench/conv2d_peers.py --out)")
names = ["ours auto", "ours direct", "ours fft", "torch conv2d", "torch FFT conv"]
with tempfile.TemporaryDirectory() as d:
    data = os.path.join(d, "conv2d.dat")
    with open(data, "w") as f:
        for k in sorted(rows):
            f.write(f"{k} " + " ".join(rows[k].get(n, "nan") for n in names) + "\n")
    plots = ", ".join(f"'{data}' using 1:{i + 2} with linespoints lw {3 if i == 0 else 2} title '{n}'"
                      for i, n in enumerate(names))
    script = (f"set terminal pngcairo size 900,560 noenhanced\nset output '{sys.argv[2]}'\n"
              "set title 'Conv2D forward, (1, 256, 256, 16) -> 16, same padding'\n"
              "set xlabel 'kernel size k'\nset ylabel 'ms (log scale)'\nset logscale y\nset grid\nset key top left\n"
              f"plot {plots}\n")
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
