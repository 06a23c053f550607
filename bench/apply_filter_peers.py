#!/usr/bin/env python3
"""apply_filter against its peers (issue 15's "filtering one image"): one float32 image through a
fixed frequency response, periodic boundary (padding="wrap": y = irfft2(rfft2(x) . H), the plain
convolution theorem), from 64^2 to 4096^2.

  ours    fourierconv.filters.apply_filter(x, "gaussian_lowpass:0.05"): the response's kernel is
          made by the first (untimed) call and kept (filters.hpp), as the peers' H is cached;
          each call still checks x for NaN and Inf, which the peers do not.
  scipy   scipy.fft.irfft2(rfft2(x) * H): H computed once outside the timing (the peers get the
          cached spectrum); the better of 1 and 2 workers.
  OpenCV  cv2.dft (CCS-packed real spectrum) -> cv2.mulSpectrums by H's packed spectrum (cached)
          -> cv2.idft(DFT_SCALE | DFT_REAL_OUTPUT): OpenCV's own frequency-domain filtering;
          2 threads (cv2.setNumThreads).
  torch   torch.fft.irfft2(rfft2(x) * H), H cached, 2 threads.

Every peer's output is checked against ours (max |difference| / max |ours| < 1e-4) before it
is timed. Rounds alternate (ours, then each peer); ratios are peer time / ours per round
(> 1: we are faster), median (min-max).

Run:  bench/setup-venv && build/bench-venv/bin/python bench/apply_filter_peers.py [--rounds 5]
          [--sizes 64,128,...] [--out bench/apply_filter_results.md]
"""
import argparse
import os
import platform
import sys

import numpy as np
import scipy
import scipy.fft as sfft

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(root, "bench"))
import peers  # noqa: E402  (bench/peers.py: median_us, try_import)

import fourierconv  # noqa: E402
from fourierconv import filters  # noqa: E402

cv2 = peers.try_import("cv2")
torch = peers.try_import("torch")

ap = argparse.ArgumentParser()
ap.add_argument("--rounds", type=int, default=5)
ap.add_argument("--sizes", default="64,128,256,512,1024,2048,4096")
ap.add_argument("--out", default="")
args = ap.parse_args()
SPEC, SIGMA = "gaussian_lowpass:0.05", 0.05
if cv2 is not None:
    cv2.setNumThreads(2)
if torch is not None:
    torch.set_num_threads(2)


def response(n):
    """H on the rfft2 half grid of an n x n image (numpy's fftfreq convention, as filters.hpp)."""
    fy = sfft.fftfreq(n)[:, None]
    fx = sfft.rfftfreq(n)[None, :]
    return np.exp(-(fx * fx + fy * fy) / (2 * SIGMA * SIGMA)).astype(np.float32)


def check(name, got, ref):
    err = float(np.max(np.abs(got - ref)) / max(np.max(np.abs(ref)), 1e-30))
    if not err < 1e-4:
        raise SystemExit(f"{name}: output differs from apply_filter's (relative max error {err:.2e})")


def repeats_for(n):
    return int(np.clip(4e6 / (n * n), 5, 41))


rng = np.random.default_rng(0)
rows = []
for n in [int(s) for s in args.sizes.split(",")]:
    x = rng.random((n, n)).astype(np.float32)
    H = response(n)
    ours_f = lambda: filters.apply_filter(x, SPEC)  # noqa: E731
    ref = ours_f()
    cands = {}

    def scipy_f(w):
        return lambda: sfft.irfft2(sfft.rfft2(x, workers=w) * H, s=x.shape, workers=w)

    check("scipy", scipy_f(1)(), ref)
    cands["scipy"] = [scipy_f(1), scipy_f(2)]
    if cv2 is not None:
        Hp = cv2.dft(sfft.irfft2(H, s=(n, n)).astype(np.float32))  # H's CCS-packed spectrum
        cv_f = lambda: cv2.idft(cv2.mulSpectrums(cv2.dft(x), Hp, 0), flags=cv2.DFT_SCALE | cv2.DFT_REAL_OUTPUT)  # noqa: E731
        check("OpenCV", cv_f(), ref)
        cands["OpenCV"] = [cv_f]
    if torch is not None:
        tx, tH = torch.from_numpy(x), torch.from_numpy(H)
        t_f = lambda: torch.fft.irfft2(torch.fft.rfft2(tx) * tH, s=(n, n))  # noqa: E731
        check("torch", t_f().numpy(), ref)
        cands["torch"] = [t_f]
    reps = repeats_for(n)
    per = {name: [] for name in cands}
    ours_t = []
    for r in range(args.rounds):
        o = peers.median_us(ours_f, reps)
        ours_t.append(o)
        for name, fs in cands.items():
            per[name].append((min(peers.median_us(f, reps) for f in fs), o))
    row = {"n": n, "ours": float(np.median(ours_t))}
    for name, pairs in per.items():
        ratios = np.array([p / o for p, o in pairs])
        row[name] = (float(np.median([p for p, _ in pairs])), float(np.median(ratios)), float(ratios.min()), float(ratios.max()))
    rows.append(row)
    print(f"{n}^2: ours {row['ours']:.1f} us; " +
          "; ".join(f"{k} {v[0]:.1f} us ({v[1]:.2f}x, {v[2]:.2f}-{v[3]:.2f})" for k, v in row.items() if isinstance(v, tuple)),
          flush=True)

names = [k for k in rows[0] if isinstance(rows[0][k], tuple)]
lines = ["| image | apply_filter µs | " + " | ".join(f"{k} µs | {k} / ours" for k in names) + " |",
         "|---:|---:|" + "---:|---:|" * len(names)]
for row in rows:
    cells = [f"{row['n']}²", f"{row['ours']:,.1f}"]
    for k in names:
        t, med, lo, hi = row[k]
        cells += [f"{t:,.1f}", f"{med:.2f} ({lo:.2f}–{hi:.2f})"]
    lines.append("| " + " | ".join(cells) + " |")
versions = (f"{platform.machine()}, {os.cpu_count()} cores; Python {platform.python_version()}, numpy {np.__version__}, "
            f"scipy {scipy.__version__}" + (f", opencv {cv2.__version__}" if cv2 else "") +
            (f", torch {torch.__version__}" if torch else "") + f", fourierconv {fourierconv.__version__}; {args.rounds} rounds")
table = "\n".join(lines) + "\n\n" + versions + "\n"
print(table)
if args.out:
    with open(args.out, "w") as f:
        f.write(f"# apply_filter(x, \"{SPEC}\"), padding wrap, against peers with the spectrum cached\n\n"
                "Written by bench/apply_filter_peers.py.\n\n" + table)
