#!/usr/bin/env python3
"""Keras models at inference, side by side: fourierconv (its Python package, from build/venv)
against ONNX Runtime (2 intra-op threads, from the benchmark venv) on the same .keras files:
keras.applications' MobileNetV2 and ResNet50 at 224 x 224 (weights=None, a fixed seed), and
the seed CNN (tests/fixtures/keras/seed.keras), at batch 1 and 32. The ONNX models are written
by bench/keras_to_onnx.py from the same files, and their outputs are checked against ours
before any timing. Rounds alternate ours and ONNX Runtime; each side's time is the median of
its repeats; ratios are ONNX Runtime's time / ours (> 1: we are faster), median and min-max
over the rounds.

Run:  bench/setup-venv && build/bench-venv/bin/python bench/keras_peers.py [--rounds 3] [--out FILE.md]
(the models are built once by build/venv's Keras into build/bench-keras/)
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ours_python = os.path.join(root, "build", "venv", "bin", "python")
work = os.path.join(root, "build", "bench-keras")
MODELS = {"mobilenetv2_224": 224, "resnet50_224": 224, "seed": 28}
# Untimed calls before the timed ones, on each side: our first few calls from a fresh Python
# process are slow (the seed CNN at batch 32: ~16 ms for four calls, then 0.3-0.5 ms).
WARMUP = 5


def prepare():
    """Run in build/venv (Keras): writes the keras.applications files."""
    import keras
    keras.utils.set_random_seed(1)
    os.makedirs(work, exist_ok=True)
    for name, f in (("mobilenetv2_224", keras.applications.MobileNetV2), ("resnet50_224", keras.applications.ResNet50)):
        path = os.path.join(work, name + ".keras")
        if not os.path.exists(path):
            f(weights=None, input_shape=(224, 224, 3)).save(path)


def model_path(name):
    if name == "seed":
        return os.path.join(root, "tests", "fixtures", "keras", "seed.keras")
    return os.path.join(work, name + ".keras")


def batch(name, n, seed=0):
    import numpy as np
    size = MODELS[name]
    return np.random.default_rng(seed).random((n, size, size, 1 if name == "seed" else 3)).astype(np.float32)


def median_time(call):
    """The median seconds of call() after WARMUP untimed calls: at least 3 timed calls, and more
    until they add up to a second (at most 2,000), so that a 0.3 ms call is timed over many
    repeats and a 1.5 s one three times. The same rule for both sides."""
    for _ in range(WARMUP):
        call()
    ts = []
    while len(ts) < 3 or (sum(ts) < 1.0 and len(ts) < 2000):
        t = time.perf_counter()
        call()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def time_ours(name, n):
    """Run in build/venv: prints the median seconds of predict on a batch of n."""
    import fourierconv as fc
    m = fc.load_model(model_path(name))
    x = batch(name, n)
    print(median_time(lambda: m.predict(x, batch_size=n)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default="")
    ap.add_argument("--prepare", action="store_true")
    ap.add_argument("--time-ours", nargs=2)
    a = ap.parse_args()
    if a.prepare:
        return prepare()
    if a.time_ours:
        return time_ours(a.time_ours[0], int(a.time_ours[1]))

    import numpy as np
    import onnxruntime as ort
    sys.path.insert(0, os.path.join(root, "bench"))
    from keras_to_onnx import convert
    subprocess.run([ours_python, __file__, "--prepare"], check=True, env={**os.environ, "KERAS_BACKEND": "jax"})
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    so.inter_op_num_threads = 1
    sessions = {}
    for name in MODELS:
        onnx_path = os.path.join(work, name + ".onnx")
        convert(model_path(name), onnx_path)
        s = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
        x = batch(name, 2, seed=7)
        want = s.run(None, {s.get_inputs()[0].name: x})[0]
        check = subprocess.run([ours_python, "-c", f"import sys, numpy as np, fourierconv as fc; sys.path.insert(0, {root + '/bench'!r});"
                                f"import keras_peers as k; x = k.batch({name!r}, 2, seed=7);"
                                f"np.save({work + '/check.npy'!r}, fc.load_model(k.model_path({name!r})).predict(x))"], check=True)
        got = np.load(os.path.join(work, "check.npy"))
        err = float(np.abs(got - want).max())
        assert err <= 1e-4 * max(1.0, float(np.abs(want).max())), f"{name}: ONNX Runtime and ours differ by {err}"
        sessions[name] = s
    ratios = {}
    for r in range(a.rounds):
        for name in MODELS:
            for n in (1, 32):
                out = subprocess.run([ours_python, __file__, "--time-ours", name, str(n)], check=True,
                                     capture_output=True, text=True).stdout
                ours = float(out.strip().splitlines()[-1])
                s = sessions[name]
                x = batch(name, n)
                feed = {s.get_inputs()[0].name: x}
                theirs = median_time(lambda: s.run(None, feed))
                ratios.setdefault((name, n), []).append((ours, theirs))
                print(f"round {r + 1} {name} batch {n}: ours {ours * 1e3:.2f} ms, onnxruntime {theirs * 1e3:.2f} ms", flush=True)
    lines = [f"onnxruntime {ort.__version__}, 2 intra-op threads; ours: fourierconv's Python package; {a.rounds} rounds", "",
             "| model, batch | ours (median) | ONNX Runtime (median) | ORT time / ours: median (min-max) |",
             "|---|---:|---:|---:|"]
    for (name, n), pairs in ratios.items():
        rs = [t / o for o, t in pairs]
        lines.append(f"| {name}, {n} | {statistics.median(o for o, _ in pairs) * 1e3:.2f} ms | "
                     f"{statistics.median(t for _, t in pairs) * 1e3:.2f} ms | {statistics.median(rs):.2f} ({min(rs):.2f}-{max(rs):.2f}) |")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
