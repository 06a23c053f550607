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


def test_out_must_be_the_result_itself_and_may_alias_the_input(rng):
    x = rng.standard_normal((40, 50))
    k = rng.standard_normal((5, 3))
    want = ss.convolve(x, k, mode="same")
    for method in ("direct", "fft", "oa"):
        c = fc.Convolver(x.shape, k, mode="same", method=method)
        buf = np.zeros((40, 100))
        with pytest.raises(ValueError, match="C-contiguous"):
            c(x, out=buf[:, ::2])  # a strided view would have received nothing
        with pytest.raises(ValueError, match="C-contiguous"):
            c(x, out=np.zeros((40, 50), order="F"))
        ro = np.zeros((40, 50))
        ro.flags.writeable = False
        with pytest.raises(ValueError, match="read-only"):
            c(x, out=ro)
        with pytest.raises(TypeError, match="numpy array"):
            c(x, out=[0.0] * 2000)
        xa = x.copy()
        assert c(xa, out=xa) is xa  # the input as its own output
        np.testing.assert_allclose(xa, want, atol=1e-12)


def test_check_finite_on_the_in_place_path():
    x = np.ones((40, 50))
    x[3, 4] = np.nan
    for dt in (np.float64, np.float32):
        c = fc.Convolver(x.shape, np.ones((5, 3), dt), dtype=dt, check_finite=True)
        with pytest.raises(ValueError, match="NaN"):
            c(x.astype(dt))  # C-contiguous, of the plan's type: read in place


@pytest.mark.parametrize("shape", [(40.5, 50), "ab", (True, 3), (2**64, 2)])
def test_bad_shapes_say_so(shape):
    with pytest.raises(ValueError, match="shape"):
        fc.Convolver(shape, np.ones((3, 3)))


def test_shape_product_overflow():
    with pytest.raises(ValueError, match="addressed"):
        fc.Convolver((2**32, 2**32), np.ones((3, 3)))
