"""scipy.signal's convolution functions, computed by fourierconv's C++ engine.

Drop-in replacements with scipy.signal's signatures and semantics (scipy 1.17/1.18):
``convolve``, ``correlate``, ``fftconvolve``, ``oaconvolve``, ``convolve2d``, ``correlate2d``,
``choose_conv_method`` and ``correlation_lags``::

    from fourierconv import signal
    y = signal.fftconvolve(image, kernel, mode="same")      # as scipy.signal.fftconvolve

Element types: bool, int8..int64, uint8..uint64, float32, float64, complex64 and complex128,
in any byte order, and float16 (computed in float32, returned as scipy returns it). The
result type is scipy's: numpy's ``result_type`` of the inputs for ``convolve``/``correlate``
(integers stay integers, exactly, by the direct method; the FFT methods round them back),
and the FFT's type (float64 for integers) for ``fftconvolve``/``oaconvolve``. float32 stays
float32. Arrays are read in place (no copy) when their type is supported natively,
whatever their strides. The GIL is released while computing; calls from several threads
run at once.

Not supported: longdouble, clongdouble and object arrays (TypeError): fourierconv computes in
float32 and float64 only.

Extensions beyond scipy (keyword-only): ``axes`` for ``convolve``/``correlate``, as
``fftconvolve`` has it; ``method='oa'`` (overlap-add/overlap-save tiles) for ``convolve``.
Non-finite values follow IEEE arithmetic as in scipy; ``check_finite=True`` raises instead.

Errors: ValueError for bad modes, methods, shapes and axes (scipy's conditions, with the C++
message); TypeError for unsupported element types.
"""
import warnings

import numpy as np

from . import _core

__all__ = ["convolve", "correlate", "fftconvolve", "oaconvolve", "convolve2d", "correlate2d",
           "choose_conv_method", "correlation_lags"]

_NATIVE = frozenset(np.dtype(t) for t in (
    np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
    np.float32, np.float64, np.complex64, np.complex128))
_MODES = ("full", "same", "valid")
_METHODS = {"auto": "auto", "direct": "direct", "fft": "fft", "oa": "overlap-add"}
_BOUNDARIES = {"fill": "fill", "pad": "fill", "wrap": "wrap", "circular": "wrap",
               "symm": "symm", "symmetric": "symm"}


def _array(x, name):
    """x as an ndarray of a type the engine reads; float16 -> float32 (flagged by the second
    value). Raises TypeError naming `name` for types it cannot compute."""
    a = x if type(x) is np.ndarray else np.asarray(x)
    dt = a.dtype
    if dt in _NATIVE:
        return a, False
    if dt.kind in "biufc" and dt.byteorder not in "=|" and dt.newbyteorder("=") in _NATIVE:
        return a.astype(dt.newbyteorder("=")), False
    if dt.kind == "f" and dt.itemsize == 2:
        return a.astype(np.float32), True
    raise TypeError(f"{name}: fourierconv computes bool, integer, float32, float64, complex64 and "
                    f"complex128 arrays (and float16, in float32); got dtype {dt}")


def _mode(mode):
    if mode not in _MODES:
        raise ValueError(f"acceptable mode flags are 'valid', 'same', or 'full'; got {mode!r}")
    return mode


def _method(method):
    m = _METHODS.get(method) if isinstance(method, str) else None
    if m is None:
        raise ValueError(f"Acceptable method flags are 'auto', 'direct', or 'fft' (and 'oa'); got {method!r}")
    return m


def _axes(axes):
    if axes is None:
        return None
    if np.ndim(axes) == 0:
        axes = [axes]
    out = []
    for a in axes:
        if isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer)):
            raise ValueError(f"axes must be a scalar or iterable of integers, got {axes!r}")
        out.append(int(a))
    return out


def _plain(in1, in2, mode, method, axes, check_finite):
    """Whether a call needs none of the argument handling of _array, _mode, _method and _axes:
    two ndarrays of types the engine reads natively, mode and method given by name, no axes
    and no finiteness check. Such calls (the usual ones) go straight to the engine, which
    checks shapes itself: about 1.5 us less per call, a third of a 64 x 64 3 x 3 convolution."""
    return (type(in1) is np.ndarray and type(in2) is np.ndarray and axes is None and check_finite is False
            and type(mode) is str and type(method) is str and mode in _MODES and method in _METHODS
            and in1.dtype in _NATIVE and in2.dtype in _NATIVE)


def _finish(in1, in2, result, half):
    """scipy's conventions on the way out: two 0-d inputs give a numpy scalar; float16 inputs
    their result type back."""
    y, method = result if type(result) is tuple else (result, None)
    if method in ("fft", "overlap-add") and y.size and not np.isfinite(y.flat[0]):
        # scipy.signal.convolve's warning, on the same test (the first output element).
        warnings.warn("Use of fft convolution on input with NAN or inf results in NAN or inf output. "
                      "Consider using method='direct' instead.", category=RuntimeWarning, stacklevel=3)
    y = _half_back(y, half)
    return y[()] if in1.ndim == 0 and in2.ndim == 0 else y


def _half_result(a, b, ha, hb):
    """Whether scipy's result type is float16: numpy's result_type of the original types (a
    float16 input was converted to float32 by _array, flagged by ha/hb). float16 with float32,
    int16 or uint16 is float32, not float16."""
    if not (ha or hb):
        return False
    return np.result_type(np.float16 if ha else a.dtype, np.float16 if hb else b.dtype) == np.float16


def _half_back(y, half, keep_float32=False):
    """scipy's result type when an input was float16: convolve/correlate give float16 (or the
    complex/float64 type it promotes to), the FFT functions their float32 result."""
    if half and not keep_float32 and y.dtype == np.float32:
        return y.astype(np.float16)
    return y


def convolve(in1, in2, mode="full", method="auto", *, axes=None, check_finite=False):
    """N-dimensional convolution of `in1` and `in2` (scipy.signal.convolve).

    Parameters
    ----------
    in1, in2 : array_like, the same number of dimensions
        Inputs. In 'valid' mode one must be at least as large as the other in every
        convolved axis (scipy swaps them when `in2` is the larger).
    mode : {'full', 'valid', 'same'}
        Output size per convolved axis: n1 + n2 - 1, max - min + 1, or n1 (centred on 'full'
        as scipy centres it).
    method : {'auto', 'direct', 'fft', 'oa'}
        'auto' picks the cheapest by fourierconv's cost model (it knows overlap-add tiles);
        'direct' sums products (exact for integers); 'fft' is one whole transform; 'oa'
        transforms tiles (overlap-save).
    axes : int or sequence of int, optional (extension)
        Axes to convolve; the others must be equal or 1 and are broadcast, as in
        scipy.signal.fftconvolve. Default: all axes.
    check_finite : bool (extension)
        Raise ValueError on NaN or Inf instead of computing with them.

    Returns
    -------
    ndarray of numpy.result_type(in1, in2) (float16 inputs: float16, as scipy).

    Two 0-d inputs give their product. Empty inputs raise ValueError (scipy's convolve raises
    for 1-D 'full'/'valid' and with method='fft', but returns an empty array for some other
    direct cases: fourierconv raises in all of them).
    """
    if _plain(in1, in2, mode, method, axes, check_finite):
        y, used = _core.convolve(in1, in2, mode, _METHODS[method], None, False)
        return y if used == "direct" and in1.ndim else _finish(in1, in2, (y, used), False)
    a, ha = _array(in1, "in1")
    b, hb = _array(in2, "in2")
    return _finish(a, b, _core.convolve(a, b, _mode(mode), _method(method), _axes(axes), bool(check_finite)),
                   _half_result(a, b, ha, hb))


def correlate(in1, in2, mode="full", method="auto", *, axes=None, check_finite=False):
    """N-dimensional cross-correlation (scipy.signal.correlate): z[k] = sum_l in1[l + k - K]
    * conj(in2[l]), i.e. convolve(in1, conj(in2) reversed).

    Parameters, return type and errors as `convolve`. Use `correlation_lags` for the lag of
    each output index.
    """
    if _plain(in1, in2, mode, method, axes, check_finite):
        y, used = _core.correlate(in1, in2, mode, _METHODS[method], None, False)
        return y if used == "direct" and in1.ndim else _finish(in1, in2, (y, used), False)
    a, ha = _array(in1, "in1")
    b, hb = _array(in2, "in2")
    return _finish(a, b, _core.correlate(a, b, _mode(mode), _method(method), _axes(axes), bool(check_finite)),
                   _half_result(a, b, ha, hb))


def fftconvolve(in1, in2, mode="full", axes=None):
    """Convolution by one FFT over the convolved axes (scipy.signal.fftconvolve).

    in1, in2 : array_like, the same number of dimensions; along non-convolved axes the sizes
        are equal or 1 (broadcast).
    mode : {'full', 'valid', 'same'};  axes : int or sequence of int, optional.

    Returns an ndarray of the FFT's type: float32/complex64 for single precision inputs,
    float64/complex128 otherwise (integers and bool give float64). Empty inputs give an empty
    array, as scipy's.
    """
    a, _ = _array(in1, "in1")
    b, _ = _array(in2, "in2")
    return _finish(a, b, _core.fftconvolve(a, b, _mode(mode), _axes(axes)), False)


def oaconvolve(in1, in2, mode="full", axes=None):
    """Convolution by overlap-add (scipy.signal.oaconvolve): the larger input cut in tiles,
    each convolved through an FFT of a fast size. fourierconv's tiles are overlap-save tiles
    of a size chosen by its cost model; the result is the same. Parameters, return type and
    errors as `fftconvolve`.
    """
    a, _ = _array(in1, "in1")
    b, _ = _array(in2, "in2")
    return _finish(a, b, _core.oaconvolve(a, b, _mode(mode), _axes(axes)), False)


def _conv2d(fn, name, in1, in2, mode, boundary, fillvalue):
    a, ha = _array(in1, "in1")
    b, hb = _array(in2, "in2")
    # scipy's _sigtools refuses float16 with float16 or with an integer or bool type; float16
    # with float32/float64 computes in that type (as fourierconv does, float16 read as float32).
    if (ha and (hb or b.dtype.kind in "biu")) or (hb and a.dtype.kind in "biu"):
        raise ValueError(f"{name} not available for this type.")
    if not a.ndim == b.ndim == 2:
        raise ValueError(f"{name} inputs must both be 2-D arrays")
    bd = _BOUNDARIES.get(boundary) if isinstance(boundary, str) else None
    if bd is None:
        raise ValueError("Acceptable boundary flags are 'fill', 'circular' (or 'wrap'), and "
                         f"'symmetric' (or 'symm'); got {boundary!r}")
    rt = np.result_type(a, b)
    bad = ValueError("could not cast `fillvalue` directly to the output type (it was first converted to complex).")
    if fillvalue is None:  # scipy: NaN, which only a floating output holds
        if rt.kind not in "fc":
            raise bad
        fillvalue = np.nan
    fv = np.asarray(fillvalue)
    if fv.size != 1:
        raise ValueError(f"`fillvalue` must be scalar or an array with one element; got shape {fv.shape}")
    try:
        fv = complex(fv.reshape(()).item())
    except (TypeError, ValueError):
        raise bad from None
    if rt.kind != "c" and fv.imag != 0:
        raise bad
    if rt.kind in "biu":
        # scipy's cast: the real value truncated, and it must be finite and in the type's range.
        if not np.isfinite(fv.real):
            raise bad
        v = int(fv.real)
        info = np.iinfo(rt) if rt.kind != "b" else None
        if info is not None and not info.min <= v <= info.max:
            raise bad
        fv = complex(v)
    return fn(a, b, _mode(mode), bd, fv.real, fv.imag)


def convolve2d(in1, in2, mode="full", boundary="fill", fillvalue=0):
    """2-D convolution with scipy.signal.convolve2d's boundaries, by the direct method.

    in1, in2 : 2-D array_like.  mode : {'full', 'valid', 'same'}.
    boundary : {'fill', 'wrap', 'symm'} ('pad', 'circular', 'symmetric' as aliases):
        pad with `fillvalue`, wrap circularly, or mirror (d c b a | a b c d | d c b a).
    fillvalue : scalar (complex allowed), the value of the padding for 'fill'.

    Returns an ndarray of numpy.result_type(in1, in2). ValueError for inputs that are not 2-D,
    unknown flags and a fillvalue that is not one element.
    """
    return _conv2d(_core.convolve2d, "convolve2d", in1, in2, mode, boundary, fillvalue)


def correlate2d(in1, in2, mode="full", boundary="fill", fillvalue=0):
    """2-D cross-correlation with boundaries (scipy.signal.correlate2d); 'same' output is
    centred as scipy's (offset k // 2). Parameters as `convolve2d`."""
    return _conv2d(_core.correlate2d, "correlate2d", in1, in2, mode, boundary, fillvalue)


def choose_conv_method(in1, in2, mode="full", measure=False):
    """The method `convolve`/`correlate` would use: 'direct' or 'fft' (scipy's names; 'fft'
    covers fourierconv's whole-transform and tiled FFTs, between which method='auto' chooses
    itself).

    measure=False: fourierconv's cost model (scipy's own also uses a model), its constants
    scaled to this machine where that could change the pick (never for small kernels): the
    first such call in a process times two or three small problems per precision (about 8 ms
    for float32, 5 for float64, once; the C++ library's ``signal::cost_model_scales``), so near
    a crossover two processes can choose differently. ``FOURIERCONV_COST_MODEL=fitted`` in the
    environment (exactly that value, read once at the first such call: set it before) keeps the
    fitted constants alone (a choice that depends on no timing). measure=True:
    'direct' and 'fft' (the whole-transform FFT; tiles are not timed) are timed on these inputs
    and the faster returned, with scipy's second value:
    ``(method, {'direct': seconds, 'fft': seconds})``.
    """
    _mode(mode)
    try:
        a, _ = _array(in1, "in1")
        b, _ = _array(in2, "in2")
    except TypeError:
        # longdouble and the like: scipy has no FFT for them either, and answers 'direct'.
        if measure:
            raise
        return "direct"
    m = _mode(mode)
    if not measure:
        method, _reason = _core.choose_conv_method(a, b, m, False)
        return "direct" if method == "direct" else "fft"
    import timeit
    times = {}
    for name in ("fft", "direct"):
        t = timeit.Timer(lambda: _core.convolve(a, b, m, name, None, False))
        number, _ = t.autorange()
        times[name] = min(t.repeat(3, number)) / number
    return min(times, key=times.get), times


def correlation_lags(in1_len, in2_len, mode="full"):
    """The lag of each index of correlate's 1-D output (scipy.signal.correlation_lags):
    an int64 array, from -(in2_len - 1) to in1_len - 1 in 'full' mode."""
    lens = []
    for name, v in (("in1_len", in1_len), ("in2_len", in2_len)):
        # scipy takes any value int() accepts (numpy scalars and 0-d arrays, integral floats)
        try:
            n = int(v)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a non-negative integer, got {v!r}") from None
        if n < 0 or n != v:
            raise ValueError(f"{name} must be a non-negative integer, got {v!r}")
        lens.append(n)
    in1_len, in2_len = lens
    if mode not in _MODES:
        raise ValueError(f"Mode {mode} is invalid; it must be 'full', 'same' or 'valid'")
    return _core.correlation_lags(int(in1_len), int(in2_len), mode)
