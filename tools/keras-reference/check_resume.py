#!/usr/bin/env python3
"""Loads a compiled .keras file written by fourierconv in real Keras, checks that Keras took
its optimizer state, and continues training one step on a batch.

Usage: check_resume.py MODEL.keras X.npy Y.npy ITERATIONS OUT.npy
Writes every weight after one train_on_batch(X, Y), flattened in Keras's order, to OUT.npy.
Exit 0: done; 1: Keras did not restore the optimizer's iteration count; 77: Keras is not
installed.
"""
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
try:
    import keras
    import numpy as np
except ImportError:
    print("check_resume: keras is not installed (tools/keras-reference/setup.sh installs it)")
    sys.exit(77)
model = keras.saving.load_model(sys.argv[1])
x, y, iterations = np.load(sys.argv[2]), np.load(sys.argv[3]), int(sys.argv[4])
got = int(model.optimizer.iterations.numpy() if hasattr(model.optimizer.iterations, "numpy") else model.optimizer.iterations)
print(f"check_resume: keras {keras.__version__}, optimizer {type(model.optimizer).__name__}, iterations {got}")
if got != iterations:
    print(f"check_resume: expected {iterations} iterations")
    sys.exit(1)
model.train_on_batch(x, y)
np.save(sys.argv[5], np.concatenate([np.asarray(w).ravel() for w in model.get_weights()]).astype(np.float32))
