"""Shared fixtures for fourierconv's Python tests (run by `make test` in build/venv)."""
import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(20261130)
