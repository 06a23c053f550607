#!/usr/bin/env python3
"""Network peers side by side (issue 15): training epochs, inference and the Fourier layers,
fourierconv against the newest torch (eager and torch.compile) and ONNX Runtime from PyPI.

Run:  bench/setup-venv && build/bench-venv/bin/python bench/nn_peers.py [--rounds 3] [--out FILE.md]
      [--only epochs|inference|layers] [--skip-compile]

Each round runs ours, then every peer, on the same case; ratios are taken within a round
(peer time / our time: > 1 means we are faster) and the table reports the median ratio with its
min-max over rounds, and the median times. Every peer runs with 2 threads. Our in-process
timings come from `fourierconv bench --json --filter nn_`; epochs from `fourierconv train`.
"""
import argparse
import gzip
import json
import math
import os
import platform
import re
import subprocess
import sys
import time

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
data_dir = "/usr/share/datasets/fashion-mnist"


def load_idx(path):
    with gzip.open(path) as f:
        data = f.read()
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(data[3])]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def median_s(f, repeats, warmup=3):
    for _ in range(warmup):
        f()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


# ---- the peer models -------------------------------------------------------------------------
def torch_models(torch, nn):
    class FixedBank(nn.Module):
        """The seed-fourier layer in torch: irfft2(rfft2(x) * H_f), H the same 32 gabor responses."""

        def __init__(self, size=28):
            super().__init__()
            fy = np.fft.fftfreq(size)[:, None]
            fx = np.fft.rfftfreq(size)[None, :]
            bank = []
            for f0 in (0.08, 0.16, 0.24, 0.32):
                for o in range(8):
                    th = math.pi * o / 8
                    ux, uy = f0 * math.cos(th), f0 * math.sin(th)
                    a = 1 / (2 * 0.04 ** 2)
                    bank.append(np.exp(-((fx - ux) ** 2 + (fy - uy) ** 2) * a) +
                                np.exp(-((fx + ux) ** 2 + (fy + uy) ** 2) * a))
            self.register_buffer("h", torch.tensor(np.array(bank), dtype=torch.float32))
            self.size = size

        def forward(self, x):  # (N, 1, H, W) -> (N, 32, H, W)
            xf = torch.fft.rfft2(x)
            return torch.fft.irfft2(xf * self.h[None], s=(self.size, self.size))

    class SpectralConv2d(nn.Module):
        """FNO's SpectralConv2d (Li et al.), as in neuraloperator's reference code, plus a bias."""

        def __init__(self, cin, cout, m1, m2):
            super().__init__()
            scale = 1 / (cin * cout)
            self.m1, self.m2 = m1, m2
            self.w1 = nn.Parameter(scale * torch.rand(cin, cout, m1, m2, dtype=torch.cfloat))
            self.w2 = nn.Parameter(scale * torch.rand(cin, cout, m1, m2, dtype=torch.cfloat))
            self.bias = nn.Parameter(torch.zeros(cout, 1, 1))
            self.cout = cout

        def forward(self, x):
            n, _, h, w = x.shape
            xf = torch.fft.rfft2(x)
            out = torch.zeros(n, self.cout, h, w // 2 + 1, dtype=torch.cfloat)
            out[:, :, :self.m1, :self.m2] = torch.einsum("bixy,ioxy->boxy", xf[:, :, :self.m1, :self.m2], self.w1)
            out[:, :, -self.m1:, :self.m2] = torch.einsum("bixy,ioxy->boxy", xf[:, :, -self.m1:, :self.m2], self.w2)
            return torch.fft.irfft2(out, s=(h, w)) + self.bias

    def head(features):
        return [nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(features, 10)]

    return {
        "seed-cnn": lambda: nn.Sequential(nn.Conv2d(1, 32, 3), *head(32 * 13 * 13)),
        "seed-fourier": lambda: nn.Sequential(FixedBank(), *head(32 * 14 * 14)),
        "seed-spectral": lambda: nn.Sequential(SpectralConv2d(1, 32, 8, 8), *head(32 * 14 * 14)),
        "FixedBank": FixedBank,
        "SpectralConv2d": SpectralConv2d,
    }


def flushed(torch, f):
    """f() with torch.set_flush_denormal(True): torch's mode for subnormal floats (off by default;
    our FourierConv2D flushes them itself, as TensorFlow does). The seed-fourier bank's gaussian
    tails are subnormal, which costs Intel cores ~100 cycles per operand. The switch sets the
    calling thread's mode only: torch's intra-op threads, made earlier, keep theirs."""
    if not torch.set_flush_denormal(True):
        raise RuntimeError("torch.set_flush_denormal(True) is not supported on this CPU")
    try:
        return f()
    finally:
        torch.set_flush_denormal(False)


def torch_epoch(torch, model, xtr, ytr, batch=32):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    perm = torch.randperm(len(xtr))
    model.train()
    t0 = time.perf_counter()
    for i in range(0, len(xtr), batch):
        idx = perm[i:i + batch]
        opt.zero_grad()
        loss = loss_fn(model(xtr[idx]), ytr[idx])
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def ours_epoch(binary, model, limit):
    cmd = [binary, "train", "--model", model, "--epochs", "1", "--seed", "42"]
    if limit:
        cmd += ["--limit", str(limit)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    m = re.search(r"([0-9.]+) s/epoch", out)
    acc = re.search(r"test accuracy: ([0-9.]+)", out)
    return float(m.group(1)), float(acc.group(1))


def ours_bench(binary, flt, repeats):
    out = subprocess.run([binary, "bench", "--json", "--filter", flt, "--repeats", str(repeats)],
                         capture_output=True, text=True, check=True).stdout
    return {r["name"]: r["median_us"] * 1e-6 for r in json.loads(out)}


class Table:
    def __init__(self):
        self.rows = {}  # (case, peer) -> list of (ours, peer)

    def add(self, case, peer, ours, theirs):
        self.rows.setdefault((case, peer), []).append((ours, theirs))

    def markdown(self, unit_of):
        lines = ["| case | ours | peer | peer time | peer / ours, median (min–max) |", "|---|---:|---|---:|---:|"]
        for (case, peer), v in self.rows.items():
            ours = np.median([a for a, _ in v])
            theirs = np.median([b for _, b in v])
            r = [b / a for a, b in v]
            scale, unit = unit_of(case)
            lines.append(f"| {case} | {ours * scale:,.1f} {unit} | {peer} | {theirs * scale:,.1f} {unit} | "
                         f"{np.median(r):.2f} ({min(r):.2f}–{max(r):.2f}) |")
        return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=31)
    ap.add_argument("--only", choices=["epochs", "inference", "layers"], action="append")
    ap.add_argument("--limit", type=int, default=0, help="training images per epoch (0: all 60,000)")
    ap.add_argument("--skip-compile", action="store_true", help="skip the torch.compile rows")
    ap.add_argument("--binary", default=os.path.join(root, "build", "fourierconv"))
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    only = set(a.only or ["epochs", "inference", "layers"])

    import torch
    import torch.nn as nn
    torch.set_num_threads(2)
    torch.manual_seed(42)
    tm = torch_models(torch, nn)
    versions = f"torch {torch.__version__}"
    ort = None
    try:
        import onnxruntime as ort
        versions += f", onnxruntime {ort.__version__}"
    except ImportError:
        print("nn_peers: onnxruntime is not installed; its rows are skipped", file=sys.stderr)
    table = Table()

    if "epochs" in only:
        xtr = load_idx(os.path.join(data_dir, "train-images-idx3-ubyte.gz")).astype(np.float32) / 255
        ytr = load_idx(os.path.join(data_dir, "train-labels-idx1-ubyte.gz")).astype(np.int64)
        if a.limit:
            xtr, ytr = xtr[:a.limit], ytr[:a.limit]
        xt, yt = torch.from_numpy(xtr[:, None].copy()), torch.from_numpy(ytr)
        for r in range(a.rounds):
            for name in ("seed-cnn", "seed-fourier", "seed-spectral"):
                ours, acc = ours_epoch(a.binary, name, a.limit)
                t = torch_epoch(torch, tm[name](), xt, yt)
                table.add(f"{name} epoch", "torch eager", ours, t)
                print(f"round {r + 1} {name}: ours {ours:.2f} s (test acc {acc:.4f}), torch {t:.2f} s", flush=True)
                if name == "seed-fourier":
                    t = flushed(torch, lambda: torch_epoch(torch, tm[name](), xt, yt))
                    table.add(f"{name} epoch", "torch eager, flush denormals", ours, t)
                    print(f"round {r + 1} {name}: torch eager, flush denormals {t:.2f} s", flush=True)
                if name == "seed-cnn" and not a.skip_compile:
                    try:
                        m = torch.compile(tm[name]())
                        torch_epoch(torch, m, xt[:640], yt[:640])  # compile outside the timing
                        t = torch_epoch(torch, m, xt, yt)
                        table.add(f"{name} epoch", "torch.compile", ours, t)
                        print(f"round {r + 1} {name}: torch.compile {t:.2f} s", flush=True)
                    except Exception as e:  # no C++ compiler for inductor, etc.
                        print(f"nn_peers: torch.compile failed ({type(e).__name__}: {e}); skipped", file=sys.stderr)
                        a.skip_compile = True

    if "inference" in only:
        sessions = {}
        for name in ("seed-cnn", "seed-fourier", "seed-spectral"):
            m = tm[name]().eval()
            if ort and name == "seed-cnn":
                path = os.path.join(root, "build", f"bench-{name}.onnx")
                torch.onnx.export(m, (torch.zeros(1, 1, 28, 28),), path, dynamo=False, input_names=["x"],
                                  dynamic_axes={"x": {0: "n"}})
                so = ort.SessionOptions()
                so.intra_op_num_threads = 2
                so.inter_op_num_threads = 1
                sessions[name] = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
            sessions[name + "/torch"] = m
        for r in range(a.rounds):
            ours = ours_bench(a.binary, "nn_predict", a.repeats)
            for name in ("seed-cnn", "seed-fourier", "seed-spectral"):
                for b in (1, 256):
                    x = np.random.default_rng(r).random((b, 1, 28, 28), dtype=np.float32)
                    key = f"nn_predict_{name}_b{b}"
                    case = f"{name} inference, batch {b}"
                    if name in sessions:
                        s = sessions[name]
                        t = median_s(lambda: s.run(None, {"x": x}), a.repeats)
                        table.add(case, "onnxruntime 2 threads", ours[key], t)
                    m = sessions[name + "/torch"]
                    xt = torch.from_numpy(x)
                    with torch.inference_mode():
                        t = median_s(lambda: m(xt), a.repeats)
                    table.add(case, "torch eager", ours[key], t)
                    if name == "seed-fourier":
                        with torch.inference_mode():
                            t = flushed(torch, lambda: median_s(lambda: m(xt), a.repeats))
                        table.add(case, "torch eager, flush denormals", ours[key], t)
            print(f"round {r + 1} inference done", flush=True)

    if "layers" in only:
        bank = tm["FixedBank"]()
        spec = tm["SpectralConv2d"](1, 32, 8, 8)
        for r in range(a.rounds):
            ours = ours_bench(a.binary, "nn_layer", a.repeats)
            x = torch.rand(32, 1, 28, 28)
            xg = x.clone().requires_grad_(True)
            with torch.inference_mode():
                table.add("FourierConv2D forward (32 images, 32 filters, 28²)", "torch.fft",
                          ours["nn_layer_fourier_forward"], median_s(lambda: bank(x), a.repeats))
                table.add("FourierConv2D forward (32 images, 32 filters, 28²)", "torch.fft, flush denormals",
                          ours["nn_layer_fourier_forward"], flushed(torch, lambda: median_s(lambda: bank(x), a.repeats)))
                table.add("SpectralConv2D forward (32 images, 1→32, modes 8×8, 28²)", "torch FNO",
                          ours["nn_layer_spectral_forward"], median_s(lambda: spec(x), a.repeats))
            yb = bank(xg)
            gb = torch.rand_like(yb)
            table.add("FourierConv2D backward (input gradient)", "torch.fft", ours["nn_layer_fourier_backward"],
                      median_s(lambda: torch.autograd.grad(yb, xg, gb, retain_graph=True), a.repeats))
            table.add("FourierConv2D backward (input gradient)", "torch.fft, flush denormals",
                      ours["nn_layer_fourier_backward"],
                      flushed(torch, lambda: median_s(lambda: torch.autograd.grad(yb, xg, gb, retain_graph=True),
                                                      a.repeats)))
            ys = spec(xg)
            gs = torch.rand_like(ys)
            params = [xg] + list(spec.parameters())
            table.add("SpectralConv2D backward (weights and input)", "torch FNO", ours["nn_layer_spectral_backward"],
                      median_s(lambda: torch.autograd.grad(ys, params, gs, retain_graph=True), a.repeats))
            print(f"round {r + 1} layers done", flush=True)

    def unit_of(case):
        return (1, "s") if "epoch" in case else (1e6, "µs")

    md = (f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; {versions}; "
          f"{a.rounds} rounds.\n\n" + table.markdown(unit_of))
    print(md)
    if a.out:
        with open(a.out, "w") as f:
            f.write(md + "\n")


if __name__ == "__main__":
    main()
