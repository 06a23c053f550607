#!/usr/bin/env python3
"""Data-parallel training on 2 ranks here, and its projection to 8, 16 and 64 hosts (issue 13).

Runs `mpirun -np 2 build/fourierconv train` (loopback TCP, one OpenMP thread per rank) for the
seed CNN and the large-kernel model at a per-rank batch of 32, for several gradient bucket
sizes, in alternating rounds, and reads the tool's per-step figures: compute time, allreduce
time, the part of the allreduce that ran during the backward pass, and the window it can hide
in (from the first bucket's start to the end of the backward pass). Also the cost of one
checkpoint per epoch on one process.

The projection (printed with its arithmetic): an allreduce of S bytes over p hosts by
Rabenseifner's algorithm (reduce-scatter by recursive halving, then allgather by recursive
doubling; what MPI libraries use for large messages) takes 2 log2(p) alpha + 2 (p - 1) / p *
S / beta per bucket (Thakur, Rabenseifner and Gropp, "Optimization of collective communication
operations in MPICH", 2005; the reduction's arithmetic is left out);
with 256 KiB buckets both models have two: the Dense layer's gradients (with the step's 3
loss and metric sums), started when its backward pass is done, and the first Conv2D's, which
can only start when the whole backward pass is done. The first bucket's time beyond the
measured overlap window, and all of the last bucket's, are exposed; efficiency = compute /
(compute + exposed). alpha and beta are the latency and bandwidth of 10 GbE and 25 GbE links.

    python3 bench/mpi_scaling.py [--rounds 3] [--out build/mpi_scaling.md]
Standard library only; run from the repository root after `make build`.
"""
import argparse
import math
import os
import re
import statistics
import subprocess
import sys

CLI = "build/fourierconv"
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1")
MODELS = {  # name: (samples per run, parameters of the Dense layer, of the first Conv2D)
    "seed-cnn": (9600, 54090, 320),
    "large-kernel-auto": (3200, 62730, 7232),
}
BUCKETS = [65536, 262144, 1048576, 4194304]
LINKS = {"10 GbE": (1.25e9, 30e-6), "25 GbE": (3.125e9, 25e-6)}  # bandwidth B/s, latency s per message
HOSTS = [8, 16, 64]
PER_STEP = re.compile(r"per step: compute ([\d.]+) ms, allreduce ([\d.]+) ms \((\d+)% of it during the backward pass, "
                      r"in a window of ([\d.]+) ms\), waiting ([\d.]+) ms")


def run(cmd):
    r = subprocess.run(cmd, env=ENV, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stdout}\n{r.stderr}")
    return r.stdout


def two_ranks(model, bucket):
    samples = MODELS[model][0]
    out = run(["mpirun", "--oversubscribe", "-np", "2", "--mca", "btl", "self,tcp", "-x", "OMP_NUM_THREADS=1", CLI, "train",
               "--model", model, "--limit", str(samples), "--epochs", "1", "--batch-size", "32", "--verbose", "0",
               "--bucket-bytes", str(bucket)])
    m = PER_STEP.search(out)
    if not m:
        sys.exit("no per-step line in:\n" + out)
    compute, allreduce, hidden_pct, window, wait = map(float, m.groups())
    return {"compute": compute, "allreduce": allreduce, "hidden": allreduce * hidden_pct / 100, "window": window, "wait": wait}


def checkpoint_cost(model):
    d = "build/mpi_scaling_ck"
    subprocess.run(["rm", "-rf", d])
    out = run([CLI, "train", "--model", model, "--epochs", "1", "--verbose", "0", "--checkpoint", d])
    m = re.search(r"checkpoints: ([\d.]+) s in all \(([\d.]+)% of the training time\)", out)
    e = re.search(r"([\d.]+) s/epoch", out)
    return float(m.group(1)), float(e.group(1)), float(m.group(2))


def allreduce_seconds(p, nbytes, buckets, bandwidth, latency):
    return buckets * 2 * math.log2(p) * latency + 2 * (p - 1) / p * nbytes / bandwidth


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default="build/mpi_scaling.md")
    a = ap.parse_args()
    results = {(m, b): [] for m in MODELS for b in BUCKETS}
    for r in range(a.rounds):  # alternating: every configuration once per round
        for m in MODELS:
            for b in BUCKETS:
                results[(m, b)].append(two_ranks(m, b))
        print(f"round {r + 1}/{a.rounds} done", file=sys.stderr)
    lines = ["| model | bucket | compute ms/step | allreduce ms/step | during backward | window ms | waiting ms |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    med = {}
    for (m, b), rs in results.items():
        mm = {k: statistics.median(x[k] for x in rs) for k in rs[0]}
        med[(m, b)] = mm
        lines.append(f"| {m} | {b // 1024} KiB | {mm['compute']:.3f} | {mm['allreduce']:.3f} | "
                     f"{100 * mm['hidden'] / mm['allreduce']:.0f}% | {mm['window']:.3f} | {mm['wait']:.3f} |")
    lines.append("")
    lines.append("Projection (per-rank batch 32, 256 KiB buckets; gradients travel as doubles; "
                 "allreduce = buckets x 2 log2(p) x latency + 2 (p-1)/p x S / bandwidth; "
                 "exposed = max(0, first bucket - window) + last bucket; efficiency = compute / (compute + exposed)):")
    lines.append("")
    lines.append("| model | link | hosts | buckets (kB) | allreduce ms | window ms | exposed ms | compute ms | efficiency |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for m, (_, dense, first) in MODELS.items():
        mm = med[(m, 262144)]
        s0, s1 = dense * 8 + 3 * 8, first * 8
        for link, (bw, lat) in LINKS.items():
            for p in HOSTS:
                t0 = 1e3 * allreduce_seconds(p, s0, 1, bw, lat)
                t1 = 1e3 * allreduce_seconds(p, s1, 1, bw, lat)
                exposed = max(0.0, t0 - mm["window"]) + t1
                eff = mm["compute"] / (mm["compute"] + exposed)
                lines.append(f"| {m} | {link} | {p} | {s0 / 1e3:.1f} + {s1 / 1e3:.1f} | {t0:.3f} + {t1:.3f} | {mm['window']:.3f} | "
                             f"{exposed:.3f} | {mm['compute']:.3f} | {100 * eff:.1f}% |")
    lines.append("")
    lines.append("| model | one checkpoint per epoch | epoch | share |")
    lines.append("|---|---:|---:|---:|")
    for m in MODELS:
        ck, epoch, pct = checkpoint_cost(m)
        lines.append(f"| {m} | {ck * 1e3:.1f} ms | {epoch:.2f} s | {pct:.2f}% |")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(a.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
