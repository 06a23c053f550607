"""fourierconv.StreamConvolver against scipy.signal.convolve of the whole stream."""
import numpy as np
import pytest
import scipy.signal

import fourierconv


def chunks(x, rng, most):
    t = 0
    while t < x.shape[-1]:
        n = int(rng.integers(0, most + 1))
        yield x[..., t:t + n]
        t += n


@pytest.mark.parametrize("taps,block,zero,scheme", [
    (1, 1, False, "auto"), (100, 16, False, "uniform"), (100, 16, True, "uniform"),
    (5000, 32, False, "non-uniform"), (5000, 32, True, "auto"), (777, 7, True, "non-uniform"),
])
def test_matches_scipy_convolve_of_the_whole_stream(taps, block, zero, scheme):
    rng = np.random.default_rng(taps + block)
    h = rng.uniform(-1, 1, taps)
    x = rng.uniform(-1, 1, taps + 3000)
    sc = fourierconv.StreamConvolver(h, block=block, zero_latency=zero, scheme=scheme)
    assert sc.latency == (0 if zero else block)
    y = np.concatenate([sc.process(c) for c in chunks(x, rng, 3 * block)])
    assert y.dtype == np.float32 and y.shape == x.shape
    want = scipy.signal.convolve(x, h, mode="full")[:len(x)]
    want = np.concatenate([np.zeros(sc.latency), want])[:len(x)]
    np.testing.assert_allclose(y, want, atol=2e-5 * np.sqrt(taps) * np.log2(taps + 2) + 1e-6)


@pytest.mark.parametrize("zero", [False, True])
def test_background_worker_matches_scipy(zero):
    # The stages past the first on a worker thread; a swap while it runs.
    rng = np.random.default_rng(21)
    h, h2 = rng.uniform(-1, 1, 20000), rng.uniform(-1, 1, 20000)
    x = rng.uniform(-1, 1, 60000)
    sc = fourierconv.StreamConvolver(h, block=32, zero_latency=zero, background=True)
    y = np.concatenate([sc.process(c) for c in chunks(x, rng, 100)])
    want = np.concatenate([np.zeros(sc.latency), scipy.signal.convolve(x, h)[:len(x)]])[:len(x)]
    np.testing.assert_allclose(y, want, atol=2e-5 * np.sqrt(20000) * np.log2(20002))
    sc.set_filter(h2)
    y2 = np.concatenate([sc.process(c) for c in chunks(x, rng, 100)])
    full = np.concatenate([np.zeros(sc.latency), scipy.signal.convolve(np.concatenate([x, x]), h2)])
    tail = len(x) - sc.transition_samples - 2 * sc.block  # after the crossfade
    np.testing.assert_allclose(y2[-tail:], full[len(x):2 * len(x)][-tail:], atol=2e-5 * np.sqrt(20000) * np.log2(20002))
    with pytest.raises(TypeError, match="background"):
        fourierconv.StreamConvolver(h, background="yes")


def test_filter_matrix_and_swap():
    rng = np.random.default_rng(3)
    h = rng.uniform(-1, 1, (2, 3, 300)).astype(np.float32)
    x = rng.uniform(-1, 1, (3, 4000))
    sc = fourierconv.StreamConvolver(h, block=64)
    y = np.concatenate([sc.process(c) for c in chunks(x, rng, 200)], axis=1)
    assert y.shape == (2, 4000)
    for o in range(2):
        want = sum(scipy.signal.convolve(x[i], h[o, i])[:4000] for i in range(3))
        np.testing.assert_allclose(y[o, 64:], want[:-64], atol=1e-4)
    # A swap: the same shape only; afterwards the output becomes the new filter's.
    with pytest.raises(ValueError, match="shape"):
        sc.set_filter(h[:, :, :100])
    sc.set_filter(h * 2)
    sc.reset()  # a swap under way ends on the new filter
    y2 = sc.process(x)
    for o in range(2):
        want = sum(scipy.signal.convolve(x[i], 2 * h[o, i])[:4000] for i in range(3))
        np.testing.assert_allclose(y2[o, 64:], want[:-64], atol=2e-4)


def test_whole_blocks_have_no_latency():
    rng = np.random.default_rng(9)
    h, x = rng.uniform(-1, 1, 3000), rng.uniform(-1, 1, 64 * 100)
    sc = fourierconv.StreamConvolver(h, block=64, whole_blocks=True)
    assert sc.latency == 0
    y = np.concatenate([sc.process(x[t:t + 320]) for t in range(0, len(x), 320)])
    np.testing.assert_allclose(y, scipy.signal.convolve(x, h)[:len(x)], atol=1e-3)
    with pytest.raises(ValueError, match="multiple of the block"):
        sc.process(np.zeros(10))
    with pytest.raises(ValueError, match="exclude"):
        fourierconv.StreamConvolver(h, block=64, whole_blocks=True, zero_latency=True)


def test_bad_input():
    with pytest.raises(ValueError, match="finite"):
        fourierconv.StreamConvolver([1.0, np.nan])
    with pytest.raises(ValueError, match="tap"):
        fourierconv.StreamConvolver([])
    with pytest.raises(ValueError, match="block"):
        fourierconv.StreamConvolver([1.0], block=0)
    with pytest.raises(ValueError, match="block"):
        fourierconv.StreamConvolver([1.0], block=70000)
    with pytest.raises(TypeError):
        fourierconv.StreamConvolver([1j])
    with pytest.raises(TypeError):
        fourierconv.StreamConvolver([1.0], zero_latency="no")
    with pytest.raises(ValueError, match="block"):
        fourierconv.StreamConvolver([1.0], block=2 ** 64)
    with pytest.raises(ValueError, match="float32"):
        fourierconv.StreamConvolver([1.0, 1e300])
    with pytest.raises(ValueError, match="scheme"):
        fourierconv.StreamConvolver([1.0], scheme="fast")
    sc = fourierconv.StreamConvolver([1.0, 2.0])
    with pytest.raises(ValueError, match="shape"):
        sc.process(np.zeros((2, 5)))
    with pytest.raises(TypeError):
        sc.process(np.zeros(3, dtype=complex))
    assert sc.process(np.zeros(0)).shape == (0,)
