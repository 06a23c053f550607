"""Degenerate sizes and the memory limit from Python (issue 14): an empty batch predicts an
empty batch, evaluate/fit of no samples say so, and files or arguments asking for more than
the memory limit raise MemoryError before allocating."""
import numpy as np
import pytest

import fourierconv
from fourierconv import filters, models, signal


@pytest.fixture
def limit():
    saved = fourierconv.memory_limit()
    yield
    fourierconv.set_memory_limit(saved)


@pytest.mark.parametrize("name", ["seed-cnn", "seed-fourier", "seed-spectral"])
def test_empty_batch_predicts_empty(name):
    m = models.build(name)
    y = m.predict(np.zeros((0, 28, 28, 1), np.float32))
    assert y.shape == (0, 10) and y.dtype == np.float32
    m.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="no samples"):
        m.evaluate(np.zeros((0, 28, 28, 1), np.float32), np.zeros(0))


def test_filters_of_empty_images_are_empty():
    for padding in ["wrap", "reflect", "mirror", "nearest", "constant"]:
        assert filters.apply_filter(np.zeros((0, 7)), "gaussian_lowpass:0.1", padding=padding).shape == (0, 7)


def test_memory_limit_refuses_before_allocating(limit):
    fourierconv.set_memory_limit("1M")
    assert fourierconv.memory_limit() == 1 << 20
    x = np.ones(200_000)
    with pytest.raises(MemoryError, match="memory limit"):
        signal.fftconvolve(x, x)  # the 3.2 MB result
    m = models.build("seed-cnn")
    with pytest.raises(MemoryError, match="memory limit"):
        m.predict(np.zeros((1024, 28, 28, 1), np.float32), batch_size=1024)  # 1024 x 26 x 26 x 32 floats: 89 MB
    fourierconv.set_memory_limit(None)
    assert fourierconv.memory_limit() > 1 << 20
    for bad in ["lots", "0", 0, -5, 1.5, True]:
        with pytest.raises((ValueError, TypeError)):
            fourierconv.set_memory_limit(bad)


def test_memory_pool_keeps_large_buffers_within_its_limit():
    try:
        fourierconv.set_memory_pool_limit("64M")
        fourierconv.empty_memory_pool()
        assert fourierconv.memory_pool_bytes() == 0
        x = np.random.default_rng(0).random((1024, 1024), np.float32)
        want = signal.convolve(x, np.ones((3, 3), np.float32), mode="same")
        del want  # the 4 MiB result goes back to the pool
        assert 0 < fourierconv.memory_pool_bytes() <= 64 << 20
        again = signal.convolve(x, np.ones((3, 3), np.float32), mode="same")  # a pooled block, same answer
        ref = signal.convolve(x.astype(np.float64), np.ones((3, 3)), mode="same")
        np.testing.assert_allclose(again, ref, rtol=1e-5, atol=1e-5)
        fourierconv.set_memory_pool_limit(0)
        assert fourierconv.memory_pool_bytes() == 0
        fourierconv.set_memory_pool_limit("0")  # as a string too: pool nothing
        for bad in ["lots", -5, 1.5, True]:
            with pytest.raises((ValueError, TypeError)):
                fourierconv.set_memory_pool_limit(bad)
    finally:
        fourierconv.set_memory_pool_limit(None)
        fourierconv.empty_memory_pool()
