#!/usr/bin/env python3
"""PyTorch side of the seed-CNN comparison (issue 3): the same model, optimizer and batch
size as `fourierconv train --model seed-cnn`, timed on this machine with 2 threads.

Run:  /usr/bin/python3 bench/torch_seed_cnn.py [--epochs 3] [--limit N]
Prints seconds per epoch, test accuracy per epoch, batch-1 latency and batch-256 throughput.
Debian's python3-torch is a development-time reference only.
"""
import argparse
import gzip
import os
import time

import numpy as np
import torch
import torch.nn as nn


def load(path):
    with gzip.open(path) as f:
        data = f.read()
    magic = int.from_bytes(data[:4], "big")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(magic & 0xFF)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(42)
    d = a.data
    xtr = load(os.path.join(d, "train-images-idx3-ubyte.gz")).astype(np.float32) / 255
    ytr = load(os.path.join(d, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    xte = load(os.path.join(d, "t10k-images-idx3-ubyte.gz")).astype(np.float32) / 255
    yte = load(os.path.join(d, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    if a.limit:
        xtr, ytr, xte, yte = xtr[:a.limit], ytr[:a.limit], xte[:a.limit], yte[:a.limit]
    xtr, xte = torch.from_numpy(xtr[:, None]), torch.from_numpy(xte[:, None])
    ytr, yte = torch.from_numpy(ytr), torch.from_numpy(yte)
    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(5408, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    for e in range(a.epochs):
        perm = torch.randperm(len(xtr))
        t0 = time.perf_counter()
        model.train()
        for i in range(0, len(xtr), 32):
            idx = perm[i:i + 32]
            opt.zero_grad()
            loss = loss_fn(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
        secs = time.perf_counter() - t0
        model.eval()
        with torch.no_grad():
            acc = (model(xte).argmax(1) == yte).float().mean().item()
        print(f"epoch {e + 1}: {secs:.2f} s, test accuracy {acc:.4f}", flush=True)
    with torch.no_grad():
        one = xte[:1]
        for _ in range(20):
            model(one)
        ts = []
        for _ in range(201):
            t0 = time.perf_counter()
            model(one)
            ts.append(time.perf_counter() - t0)
        print(f"batch-1 latency: {np.median(ts) * 1e6:.1f} us")
        b = xte[:256]
        model(b)
        ts = []
        for _ in range(21):
            t0 = time.perf_counter()
            model(b)
            ts.append(time.perf_counter() - t0)
        print(f"batch-256 throughput: {256 / np.median(ts):.0f} images/s")


if __name__ == "__main__":
    main()
