"""fourierconv.Convolver: one plan, many arrays, the same results as scipy.signal."""
import numpy as np
import pytest
import scipy.signal as ss

import fourierconv as fc


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_matches_scipy_for_many_inputs(rng, dtype, mode):
    k = rng.standard_normal((7, 5)).astype(dtype)
    conv = fc.Convolver((40, 33), k, mode=mode)
    assert conv.dtype == dtype and conv.output_dtype == np.result_type(dtype, k.dtype)
    eps = np.finfo(dtype).eps
    for _ in range(5):
        x = rng.standard_normal((40, 33)).astype(dtype)
        y = conv(x)
        want = ss.convolve(x, k, mode=mode)
        assert y.shape == want.shape == conv.output_shape and y.dtype == want.dtype
        assert np.max(np.abs(y - want)) <= 200 * eps * max(1, np.max(np.abs(want)))


def test_every_method_and_axes(rng):
    k = rng.standard_normal((1, 31))
    x = rng.standard_normal((8, 500))
    want = ss.fftconvolve(x, k, mode="same", axes=1)
    for method in ["auto", "direct", "fft", "oa"]:
        conv = fc.Convolver(x.shape, k, mode="same", axes=1, method=method)
        np.testing.assert_allclose(conv(x), want, atol=1e-12)
        assert conv.method in ("direct", "fft", "overlap-add") and conv.reason


def test_out_argument_and_conversions(rng):
    k = rng.standard_normal(9)
    conv = fc.Convolver((100,), k, mode="same")
    x = rng.standard_normal(100)
    out = np.empty(100)
    assert conv(x, out=out) is out
    np.testing.assert_allclose(out, ss.convolve(x, k, "same"), atol=1e-12)
    # other input types are converted to the planned one; strided inputs work
    np.testing.assert_allclose(conv(x.astype(np.float32)), ss.convolve(x.astype(np.float32).astype(float), k, "same"),
                               atol=1e-12)
    x2 = rng.standard_normal(200)[::2]
    np.testing.assert_allclose(conv(x2), ss.convolve(x2, k, "same"), atol=1e-12)
    np.testing.assert_allclose(conv(list(x)), ss.convolve(x, k, "same"), atol=1e-12)


@pytest.mark.parametrize("call,exc,match", [
    (lambda c: c(np.ones(99)), ValueError, "shape"),
    (lambda c: c(np.ones((10, 10))), ValueError, "shape"),
    (lambda c: c(np.ones(100, complex)), TypeError, "complex"),
    (lambda c: c(np.ones(100), out=np.empty(99)), ValueError, "out"),
    (lambda c: c(np.ones(100), out=np.empty(100, np.float32)), ValueError, "out"),
])
def test_bad_calls(call, exc, match):
    conv = fc.Convolver((100,), np.ones(9), mode="same")
    with pytest.raises(exc, match=match):
        call(conv)


def test_bad_plans():
    with pytest.raises(ValueError):
        fc.Convolver((10,), np.ones((3, 3)))
    with pytest.raises(ValueError):
        fc.Convolver((10,), np.ones(3), mode="bogus")
    with pytest.raises(ValueError):
        fc.Convolver((-1,), np.ones(3))
    with pytest.raises(TypeError):
        fc.Convolver((10,), np.ones(3), dtype=object)
    with pytest.raises(ValueError):
        fc.Convolver("abc", np.ones(3))


def test_kernel_memory_may_change_after_planning(rng):
    k = rng.standard_normal(11)
    conv = fc.Convolver((64,), k, mode="full", method="direct")
    x = rng.standard_normal(64)
    want = ss.convolve(x, k)
    k[:] = 0  # the plan holds its own copy or spectrum
    np.testing.assert_allclose(conv(x), want, atol=1e-12)
