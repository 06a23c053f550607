#!/usr/bin/env python3
"""Loads a .keras file written by fourierconv in real Keras and compares its predictions.

Usage: check_load.py MODEL.keras X.npy EXPECTED.npy
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
x, want = np.load(sys.argv[2]), np.load(sys.argv[3])
got = model.predict(x, verbose=0)
err = float(np.max(np.abs(got - want)))
scale = max(1.0, float(np.max(np.abs(want))))
print(f"check_load: keras {keras.__version__} max |difference| {err:.3g}, max |expected| {float(np.max(np.abs(want))):.3g}")
sys.exit(0 if err <= 1e-5 * scale else 1)
