"""fourierconv.filters: responses on numpy's fftfreq grid, and apply_filter against numpy's
FFT (the convolution theorem, computed independently here in float64)."""
import numpy as np
import pytest

from fourierconv import filters


def test_names_and_canonical_specs():
    assert {"butterworth", "gaussian_lowpass", "gabor"} <= set(filters.names())
    assert filters.canonical("butterworth:0.1,2").startswith("butterworth")
    with pytest.raises(ValueError, match="nosuch"):
        filters.canonical("nosuch:1")
    with pytest.raises(ValueError):
        filters.canonical("butterworth:0.1")  # wrong argument count


def test_response_formulas_on_fftfreq_grid():
    P, Q = 12, 17
    fy, fx = np.fft.fftfreq(P)[:, None], np.fft.fftfreq(Q)[None, :]
    r2 = fx ** 2 + fy ** 2
    H = filters.response("butterworth:0.1,2", (P, Q))
    assert H.shape == (P, Q) and H.dtype == np.float32
    np.testing.assert_allclose(H, 1 / (1 + (np.sqrt(r2) / 0.1) ** 4), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(filters.response("gaussian_lowpass:0.05", (P, Q)), np.exp(-r2 / (2 * 0.05 ** 2)),
                               rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError):
        filters.response("butterworth:0.1,2", (0, 3))
    with pytest.raises(ValueError):
        filters.response("butterworth:0.1,2", (3,))


# Shapes for each transform path: the plane transforms (even x multiple of 8), FFTW on odd and
# prime sizes, FFTW threaded on one large image, a single row, channels.
@pytest.mark.parametrize("shape", [(32, 32), (31, 17, 3), (1, 40), (2, 2), (97, 89, 2), (256, 248), (600, 520)])
@pytest.mark.parametrize("spec", ["gaussian_lowpass:0.08", "butterworth:0.2,3"])
def test_apply_filter_circular_is_the_convolution_theorem(rng, shape, spec):
    """Twice each (the second call runs the kept kernel), against numpy in float64."""
    x = rng.standard_normal(shape).astype(np.float32)
    y = filters.apply_filter(x, spec)
    assert y.shape == x.shape and y.dtype == np.float32
    H = filters.response(spec, shape[:2]).astype(np.float64)
    x3 = x.reshape(shape[0], shape[1], -1).astype(np.float64)
    want = np.stack([np.fft.ifft2(np.fft.fft2(x3[..., c]) * H).real for c in range(x3.shape[2])], axis=-1)
    np.testing.assert_allclose(y.reshape(want.shape), want, atol=2e-5 * max(1, np.abs(want).max()))
    np.testing.assert_array_equal(filters.apply_filter(x, spec), y)


def test_apply_filter_paddings_and_errors(rng):
    x = rng.standard_normal((20, 24))
    for padding in ["zero", "reflect"]:
        for output in ["real", "magnitude"]:
            y = filters.apply_filter(x, "butterworth:0.2,2", padding=padding, output=output)
            assert y.shape == x.shape and np.isfinite(y).all()
            if output == "magnitude":
                assert (y >= 0).all()
    with pytest.raises(ValueError):
        filters.apply_filter(np.ones(5), "butterworth:0.2,2")
    with pytest.raises(ValueError):
        filters.apply_filter(x, "butterworth:0.2,2", padding="symmetric")
    with pytest.raises(ValueError):
        filters.apply_filter(x, "butterworth:0.2,2", padding="constant", cval=float("nan"))
    with pytest.raises(ValueError, match="cval"):  # Python's OverflowError, named
        filters.apply_filter(x, "butterworth:0.2,2", padding="constant", cval=10**400)


@pytest.mark.parametrize("mode", ["reflect", "mirror", "nearest", "constant"])
def test_apply_filter_padding_names_are_scipy_ndimage_modes(rng, mode):
    """Every scipy.ndimage mode name is accepted; a lowpass of a constant image keeps the
    constant under each (with cval equal to it for 'constant'); the aliases give the same
    result as the names. The values against scipy.ndimage.convolve are checked in C++
    (Filters.PaddingModesMatchScipyNdimage, fixtures from scipy)."""
    c = np.full((11, 7), 0.25)
    y = filters.apply_filter(c, "gaussian_lowpass:0.05", padding=mode, cval=0.25)
    np.testing.assert_allclose(y, c, atol=1e-5)
    x = rng.standard_normal((9, 10))
    np.testing.assert_array_equal(filters.apply_filter(x, "butterworth:0.2,2", padding="wrap"),
                                  filters.apply_filter(x, "butterworth:0.2,2", padding="circular"))
    np.testing.assert_array_equal(filters.apply_filter(x, "butterworth:0.2,2", padding="zero"),
                                  filters.apply_filter(x, "butterworth:0.2,2", padding="constant"))


def test_sinc_kernel_is_numpys_sinc():
    n, w = 9, 2.5
    k = filters.sinc_kernel(n, w)
    t = (np.arange(n) - n // 2) / w
    np.testing.assert_allclose(k, np.outer(np.sinc(t), np.sinc(t)), atol=1e-6)


def test_sinc_kernel_checks_n():
    with pytest.raises(ValueError, match="positive integer"):
        filters.sinc_kernel(-1, 1.0)


@pytest.mark.parametrize("shape,padding", [((48, 40), "wrap"), ((47, 41), "wrap"), ((32, 24, 3), "wrap"),
                                           ((30, 26), "reflect"), ((33, 20), "constant")])
def test_apply_filter_reads_the_array_in_place_and_leaves_it_alone(rng, shape, padding):
    # A C-contiguous float32 image is read in place (no copy), at any float alignment; an
    # unaligned array is copied first. Every layout gives the same floats, on the plane
    # transforms (48 x 40), FFTW (odd sizes), channels and padded grids, and the input is never
    # written.
    spec = "gaussian_lowpass:0.1"
    x = rng.standard_normal(shape).astype(np.float32)
    buf = np.zeros(x.nbytes + 1, dtype=np.uint8)
    unaligned = np.frombuffer(buf.data, dtype=np.float32, count=x.size, offset=1).reshape(shape)
    unaligned[...] = x
    assert not unaligned.flags.aligned
    want = filters.apply_filter(unaligned, spec, padding=padding)  # the copying path
    offset = np.zeros(x.size + 1, dtype=np.float32)[1:].reshape(shape)  # 4 bytes past 64
    offset[...] = x
    before = x.copy()
    for layout in (x, offset, np.asfortranarray(x), x.astype(">f4"), x.astype(np.float64)):
        got = filters.apply_filter(layout, spec, padding=padding)
        np.testing.assert_array_equal(got, want)
        assert not np.shares_memory(got, layout)
    np.testing.assert_array_equal(x, before)
    np.testing.assert_array_equal(offset, before)
