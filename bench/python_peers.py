#!/usr/bin/env python3
"""The Python package against scipy.signal, in one process, alternating rounds (issue 10).

Run:  bench/setup-venv && bench/install-package      # fourierconv into the bench venv
      build/bench-venv/bin/python bench/python_peers.py [--rounds 5] [--out FILE.md]

Four measurements, each reported as scipy time / fourierconv time (> 1: we are faster), the
median over rounds and its min-max:
1. call overhead on tiny inputs (16 samples, 3 taps): convolve(auto), fftconvolve, correlate;
2. issue 9's table (1-D, 2-D, batched axes, 3-D; float32, float64, complex128): ours
   (fourierconv.signal.convolve, method='auto') against each of scipy's fftconvolve,
   oaconvolve and convolve(method='auto') (scipy with 2 FFT workers; scipy's convolve(auto)
   skipped where its own choice is a direct sum of more than 2e9 multiply-adds);
3. peak memory on the 2048 x 2048 float32 case with a 15 x 15 kernel: the growth of the
   process's peak RSS during one call, each library in its own fresh subprocess;
4. one fixed filter applied to 1,000 arrays: fourierconv.Convolver against a loop of
   scipy.signal.fftconvolve.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import platform
import subprocess
import sys
import time

import numpy as np
import scipy
import scipy.fft
import scipy.signal as ss

import fourierconv
import fourierconv.signal as fs

CASES = [
    ("1d_1m_k1025", (1000000,), (1025,), "full", None),
    ("1d_480k_k65536", (480000,), (65536,), "full", None),
    ("2d_64_k3", (64, 64), (3, 3), "same", None),
    ("2d_256_k7", (256, 256), (7, 7), "same", None),
    ("2d_256_k15", (256, 256), (15, 15), "same", None),
    ("2d_512_k31", (512, 512), (31, 31), "same", None),
    ("2d_1024_k3", (1024, 1024), (3, 3), "same", None),
    ("2d_1024_k31", (1024, 1024), (31, 31), "same", None),
    ("2d_2048_k15", (2048, 2048), (15, 15), "same", None),
    ("batch_64x16384_k257", (64, 16384), (1, 257), "full", [-1]),
    ("3d_128_k9", (128, 128, 128), (9, 9, 9), "same", None),
]
DTYPES = {"f32": np.float32, "f64": np.float64, "c128": np.complex128}


def rand(shape, dtype, rng):
    a = rng.uniform(-1, 1, shape)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * rng.uniform(-1, 1, shape)
    return a.astype(dtype)


def median_s(f, repeats, number=1):
    f()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            f()
        ts.append((time.perf_counter() - t0) / number)
    return float(np.median(ts))


def ratio_row(name, rs):
    rs = sorted(rs)
    return name, float(np.median(rs)), rs[0], rs[-1]


def scipy_direct_macs(x, k, mode):
    try:
        return ss.choose_conv_method(x, k, mode=mode) == "direct" and x.size * k.size > 2e9
    except Exception:
        return False


def overhead(rounds):
    rng = np.random.default_rng(0)
    x, k = rng.standard_normal(16), rng.standard_normal(3)
    pairs = {
        "convolve(auto) 16 x 3": (lambda: fs.convolve(x, k), lambda: ss.convolve(x, k)),
        "fftconvolve 16 x 3": (lambda: fs.fftconvolve(x, k), lambda: ss.fftconvolve(x, k)),
        "correlate 16 x 3": (lambda: fs.correlate(x, k), lambda: ss.correlate(x, k)),
    }
    out = {}
    for _ in range(rounds):
        for name, (ours, theirs) in pairs.items():
            to = median_s(ours, 15, 200)
            tt = median_s(theirs, 15, 200)
            out.setdefault(name, []).append((to, tt))
    rows = []
    for name, v in out.items():
        to = float(np.median([a for a, _ in v]))
        tt = float(np.median([b for _, b in v]))
        rows.append((name, to * 1e6, tt * 1e6, ratio_row(name, [b / a for a, b in v])))
    return rows


def table(rounds, repeats):
    rng = np.random.default_rng(1)
    results = {}
    for r in range(rounds):
        for name, xs, ks, mode, axes in CASES:
            for dn, dt in DTYPES.items():
                x, k = rand(xs, dt, rng), rand(ks, dt, rng)
                key = f"{name}_{dn}"
                reps = repeats if x.size <= 1 << 21 else max(3, repeats // 2)
                t_ours = median_s(lambda: fs.convolve(x, k, mode, axes=axes), reps)
                with scipy.fft.set_workers(2):
                    t_fft = median_s(lambda: ss.fftconvolve(x, k, mode, axes=axes), reps)
                    t_oa = median_s(lambda: ss.oaconvolve(x, k, mode, axes=axes), reps)
                    t_auto = None
                    if axes is None and not scipy_direct_macs(x, k, mode):
                        t_auto = median_s(lambda: ss.convolve(x, k, mode, method="auto"), reps)
                results.setdefault(key, []).append((t_ours, t_fft, t_oa, t_auto))
        print(f"round {r + 1}/{rounds} done", file=sys.stderr)
    return results


PEAK_SNIPPET = r"""
import os, sys, numpy as np
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
lib = sys.argv[1]
x = np.random.default_rng(0).uniform(-1, 1, (2048, 2048)).astype(np.float32)
k = np.random.default_rng(1).uniform(-1, 1, (15, 15)).astype(np.float32)
if lib == "fourierconv":
    import fourierconv.signal as m
else:
    import scipy.signal as m
def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024
open("/proc/self/clear_refs", "w").write("5")   # reset the peak (VmHWM) to the current RSS
before = rss("VmRSS:")
y = getattr(m, sys.argv[2])(x, k, mode="same")
print(rss("VmHWM:") - before, y.nbytes)
"""


def peak_memory():
    rows = []
    for fn in ["fftconvolve", "oaconvolve", "convolve"]:
        got = {}
        for lib in ["fourierconv", "scipy"]:
            out = subprocess.run([sys.executable, "-c", PEAK_SNIPPET, lib, fn], capture_output=True, text=True,
                                 check=True).stdout.split()
            got[lib] = (int(out[0]), int(out[1]))
        rows.append((fn, got["fourierconv"][0], got["scipy"][0], got["fourierconv"][1]))
    return rows


def convolver(rounds):
    rng = np.random.default_rng(2)
    cases = [("128x128 f64, 9x9 same", (128, 128), (9, 9), "same", np.float64),
             ("256x256 f32, 15x15 same", (256, 256), (15, 15), "same", np.float32),
             ("8192 f64, 257 taps full", (8192,), (257,), "full", np.float64)]
    rows = []
    for label, xs, ks, mode, dt in cases:
        xs_all = [rand(xs, dt, rng) for _ in range(1000)]
        k = rand(ks, dt, rng)
        rs, to_all, tt_all = [], [], []
        for _ in range(rounds):
            t0 = time.perf_counter()
            conv = fourierconv.Convolver(xs, k, mode=mode)
            for x in xs_all:
                conv(x)
            to = time.perf_counter() - t0
            t0 = time.perf_counter()
            for x in xs_all:
                ss.fftconvolve(x, k, mode=mode)
            tt = time.perf_counter() - t0
            rs.append(tt / to)
            to_all.append(to)
            tt_all.append(tt)
        rows.append((label, float(np.median(to_all)), float(np.median(tt_all)), ratio_row(label, rs)))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out")
    a = ap.parse_args()
    lines = [f"Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
             f"fourierconv {fourierconv.__version__} (SIMD {fourierconv.cpu_dispatch_level()}); "
             f"{os.cpu_count()} CPUs; {a.rounds} rounds", ""]
    lines += ["### Call overhead (tiny inputs)", "", "| call | fourierconv µs | scipy µs | scipy / ours (min–max) |",
              "|---|---:|---:|---:|"]
    for name, to, tt, (_, med, lo, hi) in overhead(a.rounds):
        lines.append(f"| {name} | {to:.1f} | {tt:.1f} | {med:.2f} ({lo:.2f}–{hi:.2f}) |")
    res = table(a.rounds, a.repeats)
    lines += ["", "### Issue 9's table: fourierconv.signal.convolve(auto) against scipy (2 workers)", "",
              "| case | ours ms | fftconvolve / ours | oaconvolve / ours | convolve(auto) / ours |", "|---|---:|---:|---:|---:|"]
    best = []
    for key, v in res.items():
        to = float(np.median([r[0] for r in v]))
        cols = []
        for i in (1, 2, 3):
            if any(r[i] is None for r in v):
                cols.append("-")
                continue
            rr = sorted(r[i] / r[0] for r in v)
            cols.append(f"{np.median(rr):.2f} ({rr[0]:.2f}–{rr[-1]:.2f})")
            best.append(float(np.median(rr)))
        lines.append(f"| {key} | {to * 1e3:.3f} | " + " | ".join(cols) + " |")
    lines += ["", f"Median ratio over all comparisons: {np.median(best):.2f}; lowest: {min(best):.2f}."]
    lines += ["", "### Peak memory, 2048 x 2048 float32 with 15 x 15, mode='same' (growth of peak RSS during the call)", "",
              "| function | fourierconv MiB | scipy MiB | output MiB |", "|---|---:|---:|---:|"]
    for fn, po, ps, nb in peak_memory():
        lines.append(f"| {fn} | {po / 2**20:.1f} | {ps / 2**20:.1f} | {nb / 2**20:.1f} |")
    lines += ["", "### A fixed filter on 1,000 arrays: Convolver (plan included) against a loop of fftconvolve", "",
              "| case | Convolver s | fftconvolve loop s | ratio (min–max) |", "|---|---:|---:|---:|"]
    for label, to, tt, (_, med, lo, hi) in convolver(a.rounds):
        lines.append(f"| {label} | {to:.3f} | {tt:.3f} | {med:.2f} ({lo:.2f}–{hi:.2f}) |")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
