#!/usr/bin/env python3
"""scipy.signal side by side with fourierconv's signal::convolve(auto) (issue 9's table):
float32, float64 and complex128; 1-D signals, the 2-D suite, a batch along one axis, a 3-D
volume; and the fixed-filter Convolver in float64/complex128 against bare FFTW.

Run:  bench/setup-venv && build/bench-venv/bin/python bench/signal_peers.py [--rounds 3] [--out FILE.md]

Each round times ours (`fourierconv bench --json --filter sig_`, in-process medians) and then
scipy's fftconvolve, oaconvolve and convolve(method='auto'), each with 2 workers
(scipy.fft.set_workers(2)), on the same shapes and dtype with random data. Ratios are scipy time
/ our time within a round (> 1: we are faster); the table gives the median over rounds and its
min-max. scipy's direct method on large kernels takes minutes: convolve(auto) is timed only
where its own choice is not the direct sum over more than 2e9 multiply-adds (marked '-').
"""
import os

# numpy's OpenBLAS threads spin after any BLAS call; on 2 cores they would steal our
# subprocess's cores between rounds. scipy's FFT workers are set per call below.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import platform
import subprocess
import time

import numpy as np
import scipy
import scipy.fft
import scipy.signal as ss

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)

# (name, x shape, kernel shape, mode, axes) as tools/fourierconv/bench_signal.cpp has them.
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


def median_s(f, repeats):
    f()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def rand(shape, dtype, rng):
    a = rng.uniform(-1, 1, shape)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * rng.uniform(-1, 1, shape)
    return a.astype(dtype)


def ours(binary, flt, repeats):
    time.sleep(0.2)  # let the peer's threads go idle
    out = subprocess.run([binary, "bench", "--json", "--filter", flt, "--repeats", str(repeats)],
                         capture_output=True, text=True, check=True).stdout
    return {r["name"]: (r["median_us"] * 1e-6, r["detail"]) for r in json.loads(out)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--binary", default=os.path.join(root, "build", "fourierconv"))
    ap.add_argument("--out", default="")
    ap.add_argument("--only", default="", help="only cases whose name contains this text")
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    rows = {}  # (case, dtype, peer) -> list of (ours, theirs)
    methods = {}
    for r in range(a.rounds):
        for name, xs, ks, mode, axes in CASES:
            if a.only and a.only not in name:
                continue
            for dn, dt in DTYPES.items():
                key = f"sig_{name}_{dn}"
                got = ours(a.binary, key, a.repeats)
                t_ours, detail = got[key]
                methods[(name, dn)] = detail.split("-> ")[-1]
                x, k = rand(xs, dt, rng), rand(ks, dt, rng)
                big = np.prod(xs) * np.prod(ks) > 2e9
                reps = max(2, a.repeats // 3) if np.prod(xs) > 1e6 else a.repeats
                with scipy.fft.set_workers(2):
                    peers = {
                        "fftconvolve": lambda: ss.fftconvolve(x, k, mode, axes=axes),
                        "oaconvolve": lambda: ss.oaconvolve(x, k, mode, axes=axes),
                    }
                    if axes is None and not (big and ss.choose_conv_method(x, k, mode) == "direct"):
                        peers["convolve(auto)"] = lambda: ss.convolve(x, k, mode)
                    for pn, f in peers.items():
                        t = median_s(f, reps)
                        rows.setdefault((name, dn, pn), []).append((t_ours, t))
                print(f"round {r + 1} {name} {dn}: ours {t_ours * 1e3:.2f} ms ({methods[(name, dn)]})", flush=True)
    # The fixed filter against bare FFTW (ours only: the limit is FFTW itself).
    fixed = []
    for r in range(a.rounds):
        got = ours(a.binary, "sig_convolver_128", a.repeats * 5)
        got.update(ours(a.binary, "sig_bare_fftw_128", a.repeats * 5))
        for dn in ("f64", "c128"):
            fixed.append((dn, got[f"sig_convolver_128_{dn}"][0], got[f"sig_bare_fftw_128_{dn}"][0]))
    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} cores; scipy {scipy.__version__}, numpy {np.__version__} "
             f"(2 workers); {a.rounds} rounds.", "",
             "| case | dtype | ours (method) | scipy fftconvolve | oaconvolve | convolve(auto) |",
             "|---|---|---:|---:|---:|---:|"]
    all_ratios = []
    for name, *_ in CASES:
        for dn in DTYPES:
            cells = []
            t_ours = None
            for pn in ("fftconvolve", "oaconvolve", "convolve(auto)"):
                v = rows.get((name, dn, pn))
                if not v:
                    cells.append("–")
                    continue
                t_ours = np.median([o for o, _ in v])
                rs = [t / o for o, t in v]
                all_ratios.append(np.median(rs))
                cells.append(f"{np.median([t for _, t in v]) * 1e3:.2f} ms: **{np.median(rs):.2f}×** ({min(rs):.2f}–{max(rs):.2f})")
            if t_ours is None:
                continue
            lines.append(f"| {name} | {dn} | {t_ours * 1e3:.2f} ms ({methods[(name, dn)]}) | " + " | ".join(cells) + " |")
    lines += ["", f"Every ratio is scipy time / our time; median of all {len(all_ratios)} ratios: "
              f"{np.median(all_ratios):.2f}×, smallest {min(all_ratios):.2f}×." if all_ratios else "", "",
              "| fixed filter, circular 128×128 | dtype | Convolver | bare FFTW | Convolver / FFTW (min–max) |",
              "|---|---|---:|---:|---:|"]
    for dn in ("f64", "c128"):
        v = [(c, b) for d, c, b in fixed if d == dn]
        rs = [c / b for c, b in v]
        lines.append(f"| seed case | {dn} | {np.median([c for c, _ in v]) * 1e6:.1f} µs | "
                     f"{np.median([b for _, b in v]) * 1e6:.1f} µs | {np.median(rs):.2f} ({min(rs):.2f}–{max(rs):.2f}) |")
    md = "\n".join(lines)
    print(md)
    if a.out:
        with open(a.out, "w") as f:
            f.write(md + "\n")


if __name__ == "__main__":
    main()
