"""Frequency responses as arrays, and filtering an image through the FFT.

A filter is named by a spec string, as the CLI's ``--filter`` and the FourierConv2D layer
name it: ``"butterworth:0.1,2"``, ``"gaussian_lowpass:0.05"``, ``"gabor:0.2,0.5,0.05"``...
(`names()` lists them; the formulas are in include/fourierconv/filters.hpp). Frequencies
are in cycles per sample, on numpy.fft.fftfreq's grid.

    H = fourierconv.filters.response("butterworth:0.1,2", (256, 256))   # float32, (256, 256)
    y = fourierconv.filters.apply_filter(image, "gaussian_lowpass:0.05", padding="reflect")
"""
import numpy as np

from . import _core
from ._checks import integer

__all__ = ["names", "canonical", "response", "apply_filter", "sinc_kernel"]


def names():
    """{name: its arguments} of the filters a spec may name, e.g. {'butterworth': 'cutoff,order'}."""
    return dict(n.partition(":")[::2] for n in _core.filter_names())


def canonical(spec):
    """The spec as fourierconv writes it (numbers in canonical form; every argument is
    required, e.g. 'butterworth:0.1,2'). ValueError for an unknown name,
    a wrong argument count or an argument out of range, naming them."""
    return _core.filter_canonical(str(spec))


def response(spec, shape):
    """H(fy, fx) sampled on the (P, Q) grid of numpy.fft.fftfreq(P) x fftfreq(Q): a float32
    array of shape `shape`, laid out as numpy.fft.fft2's output (DC at [0, 0]), so
    ``np.fft.ifft2(np.fft.fft2(x) * H)`` applies the filter circularly."""
    if np.ndim(shape) != 1 or len(shape) != 2:
        raise ValueError(f"response: shape must be (rows, cols), got {shape!r}")
    rows, cols = (int(s) for s in shape)
    if rows < 1 or cols < 1:
        raise ValueError(f"response: shape must be positive, got {shape!r}")
    return _core.filter_response(str(spec), rows, cols)


def apply_filter(x, spec, padding="wrap", output="real", cval=0.0):
    """The image `x` filtered by the frequency response `spec`, per channel.

    x : (H, W) or (H, W, C) array_like, converted to float32 (the layers' type).
    padding : how the image is extended beyond its edges, named as scipy.ndimage's `mode`:
        'wrap' (periodic: the image is one period, the plain convolution theorem; alias
        'circular'), 'reflect' (d c b a | a b c d | d c b a), 'mirror' (d c b | a b c d | c b a),
        'nearest' (a a a | a b c d | d d d) or 'constant' (cval around; alias 'zero').
        wrap, reflect and mirror are exact for any response (one period of the extension is
        transformed); nearest and constant centre the image on a grid with a margin of
        max(ceil(n/2), 8) or more samples per side, exact while the filter's impulse response
        is no wider than that margin.
    output : 'real' (Re of the inverse transform) or 'magnitude' (its modulus).
    cval : the value outside the image for padding='constant' (finite).

    Returns a float32 array of x's shape. ValueError for other ranks, names or specs, and for
    NaN or Inf in x.

    The response's kernel on the transform grid (the image's size for 'wrap', 2H x 2W for
    'reflect', larger for 'nearest' and 'constant') is made on the first call and kept for the
    next calls with the same spec and grid, as an image stream needs: one kernel for the whole
    process (calls alternating two specs or sizes remake it each time).

    A C-contiguous float32 `x` is read in place, without the GIL held (as numpy's own
    functions read their inputs): another thread must not write to it during the call, or the
    result, and the NaN/Inf check, are undefined. It is never written.
    """
    if x is None:
        raise TypeError("apply_filter: x must be an array, got None")
    try:
        cval = float(cval)
    except OverflowError:
        raise ValueError(f"apply_filter: cval {cval!r} overflows float32 (the filters' type)") from None
    except (TypeError, ValueError):
        raise TypeError(f"apply_filter: cval must be a real number, got {cval!r}") from None
    if np.isfinite(cval) and abs(cval) > float(np.finfo(np.float32).max):
        raise ValueError(f"apply_filter: cval {cval!r} overflows float32 (the filters' type)")
    a = np.ascontiguousarray(x, dtype=np.float32)
    if a.ndim not in (2, 3):
        raise ValueError(f"apply_filter: x must be (H, W) or (H, W, C), got shape {a.shape}")
    return _core.apply_filter(a, str(spec), str(padding), str(output), float(cval))


def sinc_kernel(n, width):
    """The seed's spatial sinc kernel, n x n float32: k[i, j] = sinc((i - n/2)/width) *
    sinc((j - n/2)/width) with numpy's sinc (sin(pi t)/(pi t))."""
    return _core.sinc_kernel(integer(n, "sinc_kernel: n", 1), float(width))
