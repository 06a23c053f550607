#!/usr/bin/env python3
"""Writes a raw float32 file to standard output at its sample rate, a block at a time, as an
audio interface would deliver it: the source of the real-time stream test (BENCHMARKS.md 0c).

    python3 bench/paced_source.py FILE.f32 RATE BLOCK [CHANNELS] | build/fourierconv stream ... --realtime

Each block is written at its own time (t0 + k BLOCK / RATE); the pacing's own jitter is not
the stream's: `stream` times only its processing of each block."""
import os
import sys
import time

path, rate, block = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
channels = int(sys.argv[4]) if len(sys.argv) > 4 else 1
size = block * channels * 4
out = sys.stdout.buffer
with open(path, "rb") as f:
    t0 = time.monotonic()
    k = 0
    while True:
        chunk = f.read(size)
        if not chunk:
            break
        k += 1
        wait = t0 + k * block / rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        out.write(chunk)
        out.flush()
