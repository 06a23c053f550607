"""Streams from Python: fourierconv.StreamConvolver against what a scipy user writes today.

(a) scipy.signal.oaconvolve of the whole signal at once: the offline bound (no latency limit);
(b) a block-by-block scipy.signal.oaconvolve carrying its own overlap state (the tail of each
    block's full convolution added into the next blocks): what a Python user writes for a
    stream today;
ours, called block by block exactly as (b) (the Python call overhead included), planned once
before the rounds (its planning time, FFTW Measure plans made on first use of a size, is its
own column: a stream is planned once and then runs).
Side by side in one run, alternating rounds; ratios peer time / our time (> 1: ours faster),
median and min-max over rounds. A 10-second signal at 48 kHz, float64 in, as scipy users pass.

    build/bench-venv/bin/python bench/stream_python_peers.py [ROUNDS]
"""
import sys
import time

import numpy as np
import scipy
import scipy.signal

import fourierconv

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
N = 480000


def scipy_blocks(x, h, B):
    """Block-by-block overlap-add with the state carried by the caller."""
    carry = np.zeros(len(h) - 1)
    out = np.empty(len(x))
    for t in range(0, len(x), B):
        y = scipy.signal.oaconvolve(x[t:t + B], h)
        n = min(B, len(x) - t)
        y[:len(carry)] += carry
        out[t:t + n] = y[:n]
        carry = y[n:]
    return out


def ours_blocks(x, h, B, sc=None):
    """Ours block by block; `sc` planned beforehand (then reset) or made here."""
    if sc is None:
        sc = fourierconv.StreamConvolver(h, block=B)
    else:
        sc.reset()
    return np.concatenate([sc.process(x[t:t + B]) for t in range(0, len(x), B)])


def timed(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def main():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, N)
    print(f"scipy {scipy.__version__}, numpy {np.__version__}, fourierconv {fourierconv.__version__}; "
          f"{ROUNDS} rounds; signal {N} samples")
    print("| taps | B | ours, ns/sample (block calls) | our planning, ms | (a) whole-signal oaconvolve / ours | (b) block-by-block oaconvolve / ours |")
    print("|---:|---:|---:|---:|---|---|")
    for taps in (1024, 16384, 131072, 1048576):
        h = rng.uniform(-1, 1, taps) * 0.01
        for B in (64, 256, 1024):
            slow_b = taps * (N // B) > 4e9  # (b) would take minutes per round
            ra, rb, ns = [], [], []
            t0 = time.perf_counter()
            sc = fourierconv.StreamConvolver(h, block=B)
            plan_ms = (time.perf_counter() - t0) * 1e3
            for _ in range(ROUNDS):
                t_ours = timed(lambda: ours_blocks(x, h, B, sc))
                ns.append(t_ours / N * 1e9)
                ra.append(timed(lambda: scipy.signal.oaconvolve(x, h)) / t_ours)
                if not slow_b:
                    rb.append(timed(lambda: scipy_blocks(x, h, B)) / t_ours)
            fmt = lambda r: f"{np.median(r):.2f} ({min(r):.2f}-{max(r):.2f})" if r else "not run (minutes per round)"
            print(f"| {taps} | {B} | {np.median(ns):.1f} | {plan_ms:.0f} | {fmt(ra)} | {fmt(rb)} |", flush=True)


if __name__ == "__main__":
    # Correctness first: the block-by-block reference agrees with ours (latency B).
    rng = np.random.default_rng(2)
    x, h = rng.uniform(-1, 1, 5000), rng.uniform(-1, 1, 700)
    ref = scipy_blocks(x, h, 64)
    assert np.allclose(ours_blocks(x, h, 64)[64:], ref[:-64], atol=1e-4)
    main()
