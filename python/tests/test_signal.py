"""fourierconv.signal against scipy.signal (the reference), on every element type, mode,
method and layout: results within a tolerance set by the element type, and scipy's result
type exactly."""
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.signal as ss

from fourierconv import signal as fs

REAL = [np.float32, np.float64]
COMPLEX = [np.complex64, np.complex128]
INTS = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]


def rand(rng, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, shape).astype(dtype)
    if dtype.kind in "iu":
        return rng.integers(0, 5, shape).astype(dtype)
    x = rng.standard_normal(shape)
    if dtype.kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def tol(dtype, n):
    """Tolerance relative to the largest |value| of the reference: the type's epsilon times
    the summation length (FFT and direct sums round differently)."""
    dtype = np.dtype(dtype)
    if dtype.kind in "biu":
        return 0
    eps = np.finfo(dtype).eps
    return 20 * eps * max(1.0, np.log2(max(n, 2))) * 4


def check(got, want, n=16):
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    if want.size == 0:
        return
    scale = max(1.0, float(np.max(np.abs(want.astype(np.complex128)))))
    err = float(np.max(np.abs(got.astype(np.complex128) - want.astype(np.complex128))))
    assert err <= tol(want.dtype, n) * scale, (err, scale)


@pytest.mark.parametrize("dtype", REAL + COMPLEX + INTS)
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("method", ["auto", "direct", "fft"])
def test_convolve_and_correlate_match_scipy(rng, dtype, mode, method):
    for shape_a, shape_b in [((37,), (5,)), ((13, 17), (3, 4)), ((6, 7, 5), (2, 3, 3)), ((5,), (11,))]:
        a, b = rand(rng, shape_a, dtype), rand(rng, shape_b, dtype)
        for f, g in [(fs.convolve, ss.convolve), (fs.correlate, ss.correlate)]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
                try:
                    # scipy's FFT method casts bool results without rounding, so round-off
                    # noise turns into True; fourierconv rounds. The reference: direct.
                    want = g(a, b, mode=mode, method="direct" if a.dtype == np.bool_ else method)
                except ValueError:  # scipy has no N-D bool direct sum: the same on int64, as bool
                    assert a.dtype == np.bool_
                    want = g(a.astype(np.int64), b.astype(np.int64), mode=mode, method=method) != 0
            check(f(a, b, mode=mode, method=method), want, np.prod(shape_b))


@pytest.mark.parametrize("dtype", REAL + COMPLEX + [np.int16, np.uint8, np.bool_])
@pytest.mark.parametrize("fn", ["fftconvolve", "oaconvolve"])
def test_frequency_domain_functions_match_scipy(rng, dtype, fn):
    f, g = getattr(fs, fn), getattr(ss, fn)
    cases = [((1000,), (31,), None), ((61, 47), (7, 5), None), ((4, 64, 33), (1, 9, 9), (1, 2)),
             ((3, 50), (3, 7), [-1]), ((5, 40, 6), (5, 9, 1), 1), ((97,), (97,), None)]
    for shape_a, shape_b, axes in cases:
        a, b = rand(rng, shape_a, dtype), rand(rng, shape_b, dtype)
        for mode in ["full", "same", "valid"]:
            check(f(a, b, mode=mode, axes=axes), g(a, b, mode=mode, axes=axes), a.size)


@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128, np.int32])
def test_2d_functions_match_scipy(rng, boundary, dtype):
    a, b = rand(rng, (19, 23), dtype), rand(rng, (4, 5), dtype)
    for mode in ["full", "same", "valid"]:
        for f, g in [(fs.convolve2d, ss.convolve2d), (fs.correlate2d, ss.correlate2d)]:
            check(f(a, b, mode, boundary, 2), g(a, b, mode, boundary, 2), 20)


def test_prime_and_odd_sizes(rng):
    for n, k in [(1, 1), (2, 3), (127, 13), (509, 101), (1021, 3), (7919, 97)]:
        a, b = rng.standard_normal(n), rng.standard_normal(k)
        for mode in ["full", "same", "valid"]:
            check(fs.convolve(a, b, mode), ss.convolve(a, b, mode), k)
            check(fs.oaconvolve(a, b, mode), ss.oaconvolve(a, b, mode), k)


def test_strided_reversed_and_byteswapped_inputs(rng):
    base = rng.standard_normal((40, 60))
    views = [base[::2, ::3], base[::-1], base.T, base[5:30, 7:50:4], base.astype(">f8"),
             np.asfortranarray(base)]
    k = rng.standard_normal((3, 5))
    for v in views:
        check(fs.convolve(v, k, "same"), ss.convolve(v, k, "same"), 15)
        check(fs.fftconvolve(v, k[::-1]), ss.fftconvolve(v, k[::-1]), 15)


def unaligned(a):
    """A copy of `a` whose data starts one byte past an aligned address (numpy calls it unaligned)."""
    raw = np.zeros(a.nbytes + 1, np.uint8)
    u = np.frombuffer(raw.data, dtype=a.dtype, count=a.size, offset=1).reshape(a.shape)
    u[...] = a
    return u


@pytest.mark.parametrize("dtype", REAL + COMPLEX + INTS)
def test_every_type_and_layout_reaches_the_core_in_place(rng, dtype):
    """The module reads numpy arrays through numpy's C API (contiguous, strided, reversed, 0-d)
    and hands others to DLPack (unaligned here): each gives scipy's result, and the result is
    a writeable array whose memory outlives the inputs."""
    from fourierconv import _core

    base = rand(rng, (9, 14), dtype)
    k = rand(rng, (3, 2), dtype)
    for v in (base, base[::-1, ::2], base.T, base[2:7, 3:13:3], unaligned(base), np.asfortranarray(base)):
        if v.dtype == np.bool_:  # scipy has no N-D bool direct sum: the same on int64, as bool
            want = ss.convolve(v.astype(np.int64), k.astype(np.int64), "full", "direct") != 0
        else:
            want = ss.convolve(v, k, "full", "direct")
        got, used = _core.convolve(v, k, "full", "direct", None, False)
        assert used == "direct"
        check(got, want, 6)
        assert got.flags.writeable and got.flags.c_contiguous
    got, _ = _core.convolve(base, k, "same", "auto", None, False)
    del base, k
    import gc
    gc.collect()
    got[...] = got * 1  # its memory is its own, after the inputs are gone
    zero, _ = _core.convolve(np.array(2.0, dtype), np.array(3.0, dtype), "full", "direct", None, False)
    assert zero.shape == () and zero.dtype == np.dtype(dtype)


class Foreign:
    """An array of another library as nanobind sees it: only the DLPack protocol. (Not JAX
    itself: jaxlib does not import on the CPUs without AVX that make test-baseline emulates.)"""

    def __init__(self, a):
        self.a = a

    def __dlpack__(self, **kwargs):
        return self.a.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.a.__dlpack_device__()


def test_arrays_from_other_libraries_go_through_dlpack():
    from fourierconv import _core

    got, _ = _core.convolve(Foreign(np.arange(6.0, dtype=np.float32)), np.ones(2, np.float32), "full", "direct", None,
                            False)
    assert got.dtype == np.float32 and got.tolist() == [0, 1, 3, 5, 7, 9, 5]
    with pytest.raises(TypeError, match="in1: expected an array of bool"):
        _core.convolve(np.zeros(3, np.float16), np.ones(2, np.float16), "full", "direct", None, False)
    with pytest.raises(TypeError, match="incompatible function arguments"):
        _core.convolve(np.zeros(3, object), np.ones(2), "full", "direct", None, False)


def test_lists_scalars_and_zero_d(rng):
    assert fs.convolve([1, 2, 3], [0, 1, 0.5]).tolist() == ss.convolve([1, 2, 3], [0, 1, 0.5]).tolist()
    r = fs.convolve(np.float32(2), np.float32(3))
    assert np.isscalar(r) and r == 6 and r.dtype == np.float32
    r = fs.correlate(np.complex64(1 + 2j), np.complex64(1j))
    assert r == ss.correlate(np.complex64(1 + 2j), np.complex64(1j))


def test_float16_follows_scipy(rng):
    a = rng.standard_normal(50).astype(np.float16)
    b = rng.standard_normal(5).astype(np.float16)
    assert fs.convolve(a, b).dtype == ss.convolve(a, b).dtype == np.float16
    assert fs.fftconvolve(a, b).dtype == ss.fftconvolve(a, b).dtype == np.float32
    np.testing.assert_allclose(fs.convolve(a, b), ss.convolve(a, b), rtol=1e-2, atol=1e-2)
    with pytest.raises(ValueError, match="not available for this type"):
        fs.convolve2d(a.reshape(5, 10), b.reshape(1, 5))


def test_integers_are_exact_and_wrap_as_numpy():
    a = np.array([2**40, 3, -7], dtype=np.int64)
    b = np.array([2**10, -1], dtype=np.int64)
    assert fs.convolve(a, b, method="direct").tolist() == np.convolve(a, b).tolist()
    a8 = np.array([100, 100, 100], dtype=np.int8)
    assert fs.convolve(a8, a8).tolist() == ss.convolve(a8, a8).tolist()  # wraps, as numpy


def test_empty_inputs():
    assert fs.fftconvolve(np.array([]), np.array([1.0])).size == 0
    assert fs.oaconvolve(np.zeros((0, 3)), np.ones((2, 2))).size == 0
    with pytest.raises(ValueError):
        fs.convolve(np.array([]), np.array([1.0]))


def test_nan_and_inf_follow_ieee_with_scipys_warning():
    x = np.ones(100)
    x[0] = np.nan
    with pytest.warns(RuntimeWarning, match="Use of fft convolution"):
        y = fs.convolve(x, np.ones(5), method="fft")
    assert np.isnan(y[:5]).all()  # the FFT spreads the NaN further; scipy's does too
    yd = fs.convolve(x, np.ones(5), method="direct")
    assert np.isnan(yd[:5]).all() and np.isfinite(yd[5:]).all()
    with pytest.raises(ValueError, match="finite"):
        fs.convolve(x, np.ones(5), check_finite=True)


@pytest.mark.parametrize("name", ["convolve", "correlate"])
def test_plain_calls_and_checked_calls_agree(rng, monkeypatch, name):
    """Two ndarrays with mode and method by name go straight to the engine (signal._plain);
    the same call with the mode as a numpy string takes the checked path: the results, types,
    0-d scalars, warnings and errors must be the same."""
    fn = getattr(fs, name)
    checked_array = fs._array

    def must_not_run(x, arg):
        raise AssertionError("a plain call took the checked path")

    def call(a, b, mode, method, plain, **kw):
        monkeypatch.setattr(fs, "_array", must_not_run if plain else checked_array)
        try:
            return fn(a, b, mode if plain else np.str_(mode), method, **kw)
        finally:
            monkeypatch.setattr(fs, "_array", checked_array)

    cases = [((64, 64), (3, 3), np.float32), ((37,), (5,), np.float64), ((6, 7, 5), (2, 3, 3), np.complex64),
             ((9, 8), (4, 3), np.int16), ((), (), np.float32)]
    for sa, sb, dt in cases:
        a, b = rand(rng, sa, dt), rand(rng, sb, dt)
        for mode in ("full", "same", "valid"):
            for method in ("auto", "direct", "fft", "oa"):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
                    plain, checked = call(a, b, mode, method, True), call(a, b, mode, method, False)
                assert type(plain) is type(checked) and plain.dtype == checked.dtype
                np.testing.assert_array_equal(plain, checked)
    x = np.ones((4, 4), np.float32)
    x[0, 0] = np.nan
    for plain in (True, False):
        with pytest.warns(RuntimeWarning, match="Use of fft convolution") as w:
            call(x, np.ones((3, 3), np.float32), "same", "fft", plain)
        assert w[0].filename == __file__  # the warning points at the caller, on both paths
        with pytest.raises(ValueError, match="dimensionality"):
            call(np.ones((3, 3)), np.ones(3), "full", "auto", plain)
    for bad in (dict(mode="bogus"), dict(method="bogus"), dict(mode=["same"])):
        with pytest.raises(ValueError):
            fn(x, x, **bad)


def test_axes_extension_matches_fftconvolve(rng):
    a, b = rng.standard_normal((4, 30, 20)), rng.standard_normal((1, 5, 3))
    check(fs.convolve(a, b, "same", axes=(1, 2)), ss.fftconvolve(a, b, "same", axes=(1, 2)), 15)
    check(fs.correlate(a, b, "valid", axes=[-1, -2]),
          ss.fftconvolve(a, b[:, ::-1, ::-1], "valid", axes=(1, 2)), 15)


def test_choose_conv_method_and_lags():
    assert fs.choose_conv_method(np.ones(8), np.ones(6)) == "direct"
    assert fs.choose_conv_method(np.ones(100000), np.ones(5000)) == "fft"
    m, times = fs.choose_conv_method(np.ones(300), np.ones(30), measure=True)
    assert m in ("direct", "fft") and set(times) == {"direct", "fft"}
    for mode in ["full", "same", "valid"]:
        for n1, n2 in [(10, 3), (3, 10), (7, 7), (1, 1)]:
            assert fs.correlation_lags(n1, n2, mode).tolist() == ss.correlation_lags(n1, n2, mode).tolist()


@pytest.mark.parametrize("call,exc,match", [
    (lambda: fs.convolve(np.ones(3), np.ones((2, 2))), ValueError, "dimensionality"),
    (lambda: fs.convolve(np.ones(3), np.ones(2), mode="circular"), ValueError, "mode flags"),
    (lambda: fs.convolve(np.ones(3), np.ones(2), method="fastest"), ValueError, "method flags"),
    (lambda: fs.fftconvolve(np.ones((3, 3)), np.ones((2, 2)), axes=5), ValueError, "exceeds dimensionality"),
    (lambda: fs.fftconvolve(np.ones((3, 3)), np.ones((2, 2)), axes=[0, 0]), ValueError, "axes"),
    (lambda: fs.fftconvolve(np.ones((3, 4)), np.ones((2, 2)), axes=[0]), ValueError, "shape"),
    (lambda: fs.convolve(np.ones(3, dtype=np.longdouble), np.ones(2)), TypeError, "longdouble|float128"),
    (lambda: fs.convolve(np.array(["a", "b"]), np.ones(2)), TypeError, "dtype"),
    (lambda: fs.convolve(np.array([None, 1], dtype=object), np.ones(2)), TypeError, "dtype"),
    (lambda: fs.convolve2d(np.ones(3), np.ones(2)), ValueError, "2-D"),
    (lambda: fs.convolve2d(np.ones((3, 3)), np.ones((2, 2)), boundary="mirror"), ValueError, "boundary"),
    (lambda: fs.convolve2d(np.ones((3, 3)), np.ones((2, 2)), fillvalue=[1, 2]), ValueError, "fillvalue"),
    (lambda: fs.convolve2d(np.ones((3, 3), int), np.ones((2, 2), int), fillvalue=1j), ValueError, "fillvalue"),
    (lambda: fs.convolve(np.ones((3, 3)), np.ones((4, 2)), mode="valid"), ValueError, "valid"),
    (lambda: fs.correlation_lags(-1, 3), ValueError, "in1_len"),
    (lambda: fs.correlation_lags(3, 3, "bogus"), ValueError, "Mode bogus is invalid"),
])
def test_bad_input_gets_scipys_exception_type(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_inputs_are_read_in_place():
    """No copy of a C-contiguous (or strided) supported input: numpy allocates nothing while
    fourierconv convolves (the result is allocated by the C++ library, which tracemalloc does
    not see, and handed to numpy without a copy)."""
    a = np.ones((512, 512))
    k = np.ones((9, 9))
    fs.convolve(a, k, "same")  # warm up plans and caches
    for view in (a, a[::2, ::2], a.T):
        tracemalloc.start()
        y = fs.convolve(view, k, "same")
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert y.shape == view.shape
        assert peak < 64 * 1024, peak  # a copy of the input would be >= 512 KiB
    assert y.flags.owndata is False and y.base is not None  # owned by a capsule, not copied


def test_results_are_writable_and_independent(rng):
    a = rng.standard_normal(100)
    y1 = fs.convolve(a, np.ones(3))
    y2 = fs.convolve(a, np.ones(3))
    y1[:] = 0
    assert y2.any() and y1.flags.writeable


@pytest.mark.parametrize("dtype", [np.float32, np.complex128])
def test_large_mixed_types_promote_as_numpy(rng, dtype):
    a = rand(rng, (300,), dtype)
    for other in [np.float32, np.float64, np.complex64, np.int16]:
        b = rand(rng, (20,), other)
        for f in (fs.convolve, fs.fftconvolve):
            g = getattr(ss, f.__name__)
            got = f(a, b)
            assert got.dtype == g(a, b).dtype
            # scipy's fftconvolve transforms each input in its own precision (a float32 input
            # loses float64 accuracy); fourierconv computes in the result type, so the
            # reference is scipy on inputs cast to it.
            rt = got.dtype
            check(got, g(a.astype(rt), b.astype(rt)), 20)


def test_float16_result_types_as_scipy():
    h = np.ones(3, np.float16)
    for other in (np.int16, np.uint16, np.float32, np.float16, np.int8):
        x = np.full(8, 100, other)
        for f in ("convolve", "correlate"):
            got, want = getattr(fs, f)(x, h), getattr(ss, f)(x, h)
            assert got.dtype == want.dtype, (other, f)
            np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=2e-3)
    assert fs.convolve2d(np.ones((4, 4), np.float16), np.ones((2, 2))).dtype == np.float64
    assert fs.convolve2d(np.ones((4, 4), np.float16), np.ones((2, 2), np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="not available"):
        fs.convolve2d(np.ones((4, 4), np.float16), np.ones((2, 2), np.int32))


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int64])
@pytest.mark.parametrize("fillvalue", [np.inf, np.nan, 2.7, -1, 300, 1j, True, None])
def test_convolve2d_fillvalue_casts_as_scipy(dtype, fillvalue):
    a = np.arange(9).reshape(3, 3).astype(dtype)
    k = np.ones((2, 2), dtype)
    try:
        want = ss.convolve2d(a, k, fillvalue=fillvalue)
    except ValueError:
        with pytest.raises(ValueError, match="fillvalue"):
            fs.convolve2d(a, k, fillvalue=fillvalue)
        return
    np.testing.assert_array_equal(fs.convolve2d(a, k, fillvalue=fillvalue), want)


def test_convolve2d_fillvalue_none_is_nan():
    a = np.arange(9.0).reshape(3, 3)
    np.testing.assert_array_equal(fs.convolve2d(a, np.ones((2, 2)), fillvalue=None),
                                  ss.convolve2d(a, np.ones((2, 2)), fillvalue=None))


def test_choose_conv_method_checks_mode_and_lags_take_int_like():
    with pytest.raises(ValueError, match="mode"):
        fs.choose_conv_method(np.ones(3, np.longdouble), np.ones(2), mode="bad")
    np.testing.assert_array_equal(fs.correlation_lags(5.0, np.int64(3)), ss.correlation_lags(5, 3))
    np.testing.assert_array_equal(fs.correlation_lags(np.array(5), 3, "valid"), ss.correlation_lags(5, 3, "valid"))
    with pytest.raises(ValueError):
        fs.correlation_lags(5.5, 3)


def test_sizes_too_large_to_allocate_are_memory_errors():
    # 2**40 float64 outputs (8 TiB) from a zero-stride view: numpy's MemoryError, not ValueError
    with pytest.raises(MemoryError, match="memory limit|cannot allocate"):
        fs.convolve(np.broadcast_to(1.0, (2**40,)), np.ones(3), method="direct")
