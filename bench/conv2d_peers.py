#!/usr/bin/env python3
"""Conv2D (1, 256, 256, 16) -> 16, same, forward: fourierconv against PyTorch, interleaved.

On a shared 2-core machine the speed of both sides drifts by 10-50% within minutes, so a
comparison of two runs taken minutes apart can say anything. This script alternates the two
in rounds -- `fourierconv bench --filter conv2d_256x16` (in-process medians), then PyTorch's
conv2d and a PyTorch FFT convolution with precomputed kernel spectra on the same shapes -- and
reports, per kernel size, the median over rounds of each time and of the per-round ratios.

Run:  build/bench-venv/bin/python bench/conv2d_peers.py [--rounds 5] [--repeats 5] [--ks 3,5,7,11,15,21,31]
(bench/setup-venv installs the current torch from PyPI), run with 2 threads; torch's conv2d is
timed in its default (NCHW) and channels_last layouts. Ratios: median (min-max) over rounds.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)


def median_ms(f, repeats):
    f()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        ts.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(ts))


def torch_times(torch, ks, repeats, rng):
    import torch.nn.functional as Fn
    out = {}
    for k in ks:
        x = torch.from_numpy(rng.standard_normal((1, 16, 256, 256)).astype(np.float32))
        w = torch.from_numpy(rng.standard_normal((16, 16, k, k)).astype(np.float32))
        P = 256 + k - 1
        with torch.no_grad():
            W = torch.fft.rfft2(torch.flip(w, dims=(2, 3)), s=(P, P))  # precomputed kernel spectra

            def fftconv():
                X = torch.fft.rfft2(x, s=(P, P))
                Y = torch.einsum("nchw,fchw->nfhw", X, W)
                s0 = k // 2  # the "same" window of the full linear correlation
                return torch.fft.irfft2(Y, s=(P, P))[..., s0:s0 + 256, s0:s0 + 256]

            r = repeats if k < 21 else max(2, repeats // 2)
            xl, wl = x.to(memory_format=torch.channels_last), w.to(memory_format=torch.channels_last)
            out[k] = {"torch conv2d": median_ms(lambda: Fn.conv2d(x, w, padding="same"), r),
                      "torch channels_last": median_ms(lambda: Fn.conv2d(xl, wl, padding="same"), r),
                      "torch FFT conv": median_ms(fftconv, repeats)}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--ks", default="3,5,7,11,15,21,31")
    ap.add_argument("--binary", default=os.path.join(root, "build", "fourierconv"))
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    ks = [int(k) for k in a.ks.split(",")]
    try:
        import torch
    except ImportError:
        print("conv2d_peers: python3-torch is not installed; nothing to compare", file=sys.stderr)
        return 0
    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    rounds = []
    for r in range(a.rounds):
        res = subprocess.run([a.binary, "bench", "--json", "--filter", "conv2d_256x16", "--repeats", str(a.repeats)],
                             check=True, capture_output=True, text=True)
        ours = {row["name"]: row["median_us"] / 1e3 for row in json.loads(res.stdout)}
        peers = torch_times(torch, ks, a.repeats, rng)
        rnd = {}
        for k in ks:
            base = f"conv2d_256x16_k{k}"
            rnd[k] = {"ours direct": ours[base + "_direct"], "ours fft": ours[base + "_fft"],
                      "ours winograd": ours.get(base + "_winograd", float("nan")),  # 3x3 only
                      "ours auto": ours[base + "_auto"], **peers[k]}
        rounds.append(rnd)
        print(f"round {r + 1}/{a.rounds}: " + ", ".join(
            f"k={k} auto {rnd[k]['ours auto']:.1f} / torch FFT {rnd[k]['torch FFT conv']:.1f} ms" for k in ks),
            file=sys.stderr)

    cols = ["ours direct", "ours fft", "ours winograd", "ours auto", "torch conv2d", "torch channels_last", "torch FFT conv"]
    lines = ["| k | " + " | ".join(c + " (ms)" for c in cols) +
             " | torch conv2d / ours auto | torch channels_last / ours auto | torch FFT conv / ours auto |",
             "|---|" + "---|" * (len(cols) + 3)]
    for k in ks:
        med = {c: float(np.median([rnd[k][c] for rnd in rounds])) for c in cols}
        def ratio(peer):
            r = [rnd[k][peer] / rnd[k]["ours auto"] for rnd in rounds]
            return f"{np.median(r):.2f}x ({min(r):.2f}-{max(r):.2f})"
        lines.append(f"| {k} | " + " | ".join("-" if np.isnan(med[c]) else f"{med[c]:.2f}" for c in cols) +
                     f" | {ratio('torch conv2d')} | {ratio('torch channels_last')} | {ratio('torch FFT conv')} |")
    table = "\n".join(lines)
    print(f"Median over {a.rounds} interleaved rounds of {a.repeats}-repeat medians; ratios are per round.\n")
    print(table)
    if a.out:
        with open(a.out, "w") as f:
            f.write(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
