"""Shared fixtures for fourierconv's Python tests (run by `make test` in build/venv)."""
import os

# Keras's backend is chosen at its first import, by whichever test module imports it first:
# set it here, before any (a test run without make's KERAS_BACKEND=jax otherwise imported keras
# half-way in test_applications, skipped, and broke test_keras's module).
os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(20261130)
