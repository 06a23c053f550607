#!/usr/bin/env python3
"""Side-by-side peer comparison: fourierconv (in-process timings from `fourierconv bench --json`)
against scipy, PyTorch and OpenCV on the same cases, in one run, medians of repeats.

Run:  /usr/bin/python3 bench/peers.py [--repeats 21] [--out FILE.md]
Peers are Debian's python3-numpy/scipy/torch/opencv (development-time references only); a
missing peer is skipped with a message. torch runs with 2 threads (Debian's starts with 1).
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


def median_us(f, repeats):
    f()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        ts.append((time.perf_counter() - t0) * 1e6)
    return float(np.median(ts))


def try_import(name):
    try:
        return __import__(name)
    except ImportError:
        print(f"peers: {name} is not installed; its column is skipped", file=sys.stderr)
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=21)
    ap.add_argument("--out", default="")
    ap.add_argument("--binary", default=os.path.join(root, "build", "fourierconv"))
    a = ap.parse_args()
    R = a.repeats

    ours = {r["name"]: r["median_us"] for r in json.loads(
        subprocess.run([a.binary, "bench", "--json", "--repeats", str(R)], check=True, capture_output=True, text=True).stdout)}

    scipy = try_import("scipy")
    if scipy:
        import scipy.fft as sfft
        import scipy.signal as ssig
    torch = try_import("torch")
    if torch:
        torch.set_num_threads(2)
    cv2 = try_import("cv2")
    rng = np.random.default_rng(0)
    rows = []  # (case, ours_us, {peer: us})

    def add(case, peers):
        rows.append((case, ours.get(case), peers))

    # 1. The seed's fixed filter, circular n x n, spectrum precomputed (except the seed style).
    for n in [64, 128, 256, 512]:
        x = rng.random((n, n)).astype(np.float32)
        h = rng.random((n, n)).astype(np.float32)
        p = {}
        if scipy:
            H = sfft.rfft2(h)
            if n == 128:
                p["seed style (scipy fft2 x and h each call, abs)"] = median_us(
                    lambda: np.abs(sfft.ifft2(sfft.fft2(x) * sfft.fft2(h))), R)
            p["scipy rfft2, cached spectrum"] = median_us(lambda: sfft.irfft2(sfft.rfft2(x) * H, s=x.shape), R)
        if torch:
            tx = torch.from_numpy(x)
            tH = torch.fft.rfft2(torch.from_numpy(h))
            p["torch.fft, cached spectrum"] = median_us(lambda: torch.fft.irfft2(torch.fft.rfft2(tx) * tH, s=(n, n)), R)
        if cv2:
            Hc = cv2.dft(h, flags=cv2.DFT_COMPLEX_OUTPUT)
            p["OpenCV dft, cached spectrum"] = median_us(
                lambda: cv2.idft(cv2.mulSpectrums(cv2.dft(x, flags=cv2.DFT_COMPLEX_OUTPUT), Hc, 0),
                                 flags=cv2.DFT_REAL_OUTPUT | cv2.DFT_SCALE), R)
        p["bare FFTW (ours, FftPlan r2c*H*c2r)"] = ours.get(f"bare_fftw_{n}")
        add(f"circular_{n}", p)

    # 2. A batch of 32 x 16 planes of 64 x 64.
    xb = rng.random((32, 16, 64, 64)).astype(np.float32)
    p = {}
    if scipy:
        Hb = sfft.rfft2(rng.random((64, 64)).astype(np.float32))
        p["scipy rfft2, cached spectrum"] = median_us(lambda: sfft.irfft2(sfft.rfft2(xb) * Hb, s=(64, 64)), max(3, R // 3))
    if torch:
        txb = torch.from_numpy(xb)
        tHb = torch.fft.rfft2(torch.from_numpy(rng.random((64, 64)).astype(np.float32)))
        p["torch.fft, cached spectrum"] = median_us(lambda: torch.fft.irfft2(torch.fft.rfft2(txb) * tHb, s=(64, 64)), max(3, R // 3))
    add("batch_32x16_64", p)

    # 3. convolve(same, auto) against scipy's FFT convolutions.
    if scipy:
        for n, k in [(64, 3), (256, 7), (256, 15), (512, 31), (1024, 3), (1024, 31), (2048, 15)]:
            x = rng.standard_normal((n, n)).astype(np.float32)
            kk = rng.standard_normal((k, k)).astype(np.float32)
            r = R if n < 1024 else max(3, R // 4)
            add(f"convolve_{n}_k{k}", {
                "scipy fftconvolve": median_us(lambda: ssig.fftconvolve(x, kk, mode="same"), r),
                "scipy oaconvolve": median_us(lambda: ssig.oaconvolve(x, kk, mode="same"), r),
                "scipy convolve(auto)": median_us(lambda: ssig.convolve(x, kk, mode="same", method="auto"), r),
            })

    # 4. A CNN layer (1, 256, 256, 16) -> 16, same, forward.
    if torch:
        import torch.nn.functional as Fn
        for k in [3, 5, 7, 11, 15, 21, 31]:
            x = torch.from_numpy(rng.standard_normal((1, 16, 256, 256)).astype(np.float32))
            w = torch.from_numpy(rng.standard_normal((16, 16, k, k)).astype(np.float32))
            r = max(3, R // 3) if k < 21 else 3
            with torch.no_grad():
                t_conv = median_us(lambda: Fn.conv2d(x, w, padding="same"), r)
                P = 256 + k - 1
                W = torch.fft.rfft2(torch.flip(w, dims=(2, 3)), s=(P, P))  # precomputed kernel spectra

                def fftconv():
                    X = torch.fft.rfft2(x, s=(P, P))
                    Y = torch.einsum("nchw,fchw->nfhw", X, W)
                    return torch.fft.irfft2(Y, s=(P, P))[..., (k - 1) // 2 + (k - 1) - (k - 1) // 2 - (k - 1) // 2:, :]
                t_fft = median_us(fftconv, r)
            add(f"conv2d_256x16_k{k}_auto", {"torch conv2d (oneDNN)": t_conv, "torch FFT conv, cached spectra": t_fft,
                                              "ours direct": ours.get(f"conv2d_256x16_k{k}_direct"),
                                              "ours fft": ours.get(f"conv2d_256x16_k{k}_fft")})

    # 5. FourierConv2D on a Fashion-MNIST batch: 32 images x 32 fixed filters, 28 x 28.
    if torch:
        xi = torch.from_numpy(rng.random((32, 1, 28, 28)).astype(np.float32))
        bank = torch.from_numpy(rng.random((32, 28, 15)).astype(np.float32))
        add("fourier_conv2d_batch32", {"torch.fft rfft2 * bank, irfft2": median_us(
            lambda: torch.fft.irfft2(torch.fft.rfft2(xi) * bank, s=(28, 28)), R)})

    # Report: ratio = peer time / our time (> 1: we are faster).
    lines = ["| case | fourierconv µs | peer | peer µs | peer / ours |", "|---|---:|---|---:|---:|"]
    for case, o, peers in rows:
        for name, t in peers.items():
            if t is None:
                continue
            ratio = f"{t / o:.2f}" if o else "-"
            lines.append(f"| {case} | {o:.1f} | {name} | {t:.1f} | {ratio} |" if o else f"| {case} | - | {name} | {t:.1f} | - |")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        with open(a.out + ".tmp", "w") as f:
            f.write(text)
        os.replace(a.out + ".tmp", a.out)


if __name__ == "__main__":
    main()
