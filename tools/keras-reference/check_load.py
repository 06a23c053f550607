#!/usr/bin/env python3
"""Loads a .keras file written by fourierconv in real Keras and compares its predictions.

Usage: check_load.py MODEL.keras X.npy EXPECTED.npy
(a model of several inputs or outputs: X0.npy,X1.npy and EXPECTED0.npy,EXPECTED1.npy)
Exit 0: Keras's predictions match within 1e-5 of max(1, max |expected|); 1: they do not;
77: Keras is not installed. Run it with a Python that has keras and the fourierconv package
(make test uses build/venv, with KERAS_BACKEND=numpy).
"""
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
try:
    import keras
    import numpy as np
except ImportError:
    print("check_load: keras is not installed (tools/keras-reference/setup.sh installs it)")
    sys.exit(77)
try:
    import fourierconv.keras  # noqa: F401  registers FourierConv2D / SpectralConv2D
except ImportError as e:
    print(f"check_load: the fourierconv package is not installed here ({e}); files with its layers will not load")
model = keras.saving.load_model(sys.argv[1])
xs = [np.load(p) for p in sys.argv[2].split(",")]
wants = [np.load(p) for p in sys.argv[3].split(",")]
got = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
gots = got if isinstance(got, list) else [got]
ok = len(gots) == len(wants)
for g, want in zip(gots, wants):
    err = float(np.max(np.abs(g - want)))
    scale = max(1.0, float(np.max(np.abs(want))))
    print(f"check_load: keras {keras.__version__} max |difference| {err:.3g}, max |expected| {float(np.max(np.abs(want))):.3g}")
    ok = ok and err <= 1e-5 * scale
sys.exit(0 if ok else 1)
