#!/usr/bin/env python3
"""The seed case (issue 15): a 128 x 128 image through a fixed 128 x 128 filter, circular, the
filter's spectrum computed once. fourierconv's Convolver (`fourierconv bench --filter
circular_128`, in-process median) against, in Python, the seed's own scipy code (fft2 of the
image and the filter on each call, ifft2, abs), scipy.fft's rfft2/irfft2 with the spectrum cached
(the better of 1 and 2 workers) and torch.fft with the spectrum cached (2 threads); alternating
rounds, ratios peer time / ours per round, median (min-max).

Run:  bench/setup-venv && build/bench-venv/bin/python bench/seed_case_peers.py [--rounds 5]
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import scipy
import scipy.fft as sfft
import torch

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(root, "bench"))
import peers  # noqa: E402  (bench/peers.py: its median_us)
ap = argparse.ArgumentParser()
ap.add_argument("--rounds", type=int, default=5)
rounds = ap.parse_args().rounds
torch.set_num_threads(2)


def median_us(f, repeats=41):
    return peers.median_us(f, repeats)


rng = np.random.default_rng(0)
n = 128
x = rng.random((n, n)).astype(np.float32)
h = rng.random((n, n)).astype(np.float32)
H = sfft.rfft2(h)
tx, tH = torch.from_numpy(x), torch.fft.rfft2(torch.from_numpy(h))
binary = os.path.join(root, "build", "fourierconv")
rows = []
for r in range(rounds):
    out = subprocess.run([binary, "bench", "--json", "--filter", "circular_128", "--repeats", "41"],
                         capture_output=True, text=True, check=True).stdout
    ours = next(j["median_us"] for j in json.loads(out) if j["name"] == "circular_128")
    seed = median_us(lambda: np.abs(sfft.ifft2(sfft.fft2(x) * sfft.fft2(h))))
    cached = min(median_us(lambda: sfft.irfft2(sfft.rfft2(x) * H, s=x.shape)),
                 median_us(lambda: sfft.irfft2(sfft.rfft2(x, workers=2) * H, s=x.shape, workers=2)))
    torch_us = median_us(lambda: torch.fft.irfft2(torch.fft.rfft2(tx) * tH, s=(n, n)))
    rows.append((ours, seed / ours, cached / ours, torch_us / ours))
    print(f"round {r}: ours {ours:.1f} us; seed style {seed:.1f}, scipy cached {cached:.1f}, torch.fft cached {torch_us:.1f}",
          flush=True)
a = np.array(rows)
for i, name in [(1, "seed style / ours"), (2, "scipy cached / ours"), (3, "torch.fft cached / ours")]:
    print(f"{name}: {np.median(a[:, i]):.2f} ({a[:, i].min():.2f}-{a[:, i].max():.2f})")
print(f"ours: median {np.median(a[:, 0]):.1f} us; scipy {scipy.__version__}, torch {torch.__version__}")
