"""Convolver: a planned convolution with a fixed kernel, applied to many arrays.

    conv = fourierconv.Convolver(x.shape, kernel, mode="same")    # plans once
    for x in frames:
        y = conv(x)                 # the kernel's spectrum is reused; no re-planning

This is the plan reuse scipy's users ask for (scipy.signal has none: each fftconvolve call
transforms the kernel again). The plan fixes the input's shape and element type, the kernel,
the mode, the axes and the method; the FFT plans (FFTW, planned with its measuring planner)
and the kernel's spectrum are made in the constructor.
"""
import operator

import numpy as np

from . import _core
from .signal import _NATIVE, _array, _axes, _method, _mode

__all__ = ["Convolver"]


class Convolver:
    """y = convolve(x, kernel, mode, axes=axes) for every x of one shape and element type.

    Parameters
    ----------
    shape : tuple of int
        The shape of every input x.
    kernel : array_like
        The kernel, with as many dimensions as x (along non-convolved axes its size is 1 or
        equal to x's, broadcast as scipy.signal.fftconvolve broadcasts).
    mode : {'full', 'same', 'valid'}
        As scipy.signal.convolve.
    axes : int or sequence of int, optional
        Axes to convolve (default: all).
    method : {'auto', 'direct', 'fft', 'oa'}
        'auto' chooses by fourierconv's cost model, once, for this shape.
    dtype : numpy dtype, optional
        The element type of the inputs. Default: the kernel's type when it is float32, float64,
        complex64 or complex128, else float64. Inputs of another type are converted to it
        (a TypeError if that would drop an imaginary part).
    check_finite : bool
        Raise ValueError on NaN or Inf in an input.

    Calling ``conv(x, out=None)`` returns the result (numpy.result_type(dtype, kernel) as
    scipy.signal.convolve gives; `output_dtype`). `out`, if given, must be a C-contiguous array
    of `output_shape` and `output_dtype`; the result is written there and `out` returned.
    C-contiguous inputs of `dtype` are read in place. The GIL is released during the call, and
    one Convolver may be called from several threads at once.

    Attributes: input_shape, output_shape, output_dtype, method ('direct', 'fft' or
    'overlap-add': what the plan runs), reason (why it was chosen).
    """

    def __init__(self, shape, kernel, mode="full", axes=None, method="auto", dtype=None, check_finite=False):
        k, half = _array(kernel, "kernel")
        if half:
            raise TypeError("Convolver: float16 kernels are not supported; pass float32")
        if dtype is None:
            dtype = k.dtype if k.dtype.kind in "fc" else np.dtype(np.float64)
        dtype = np.dtype(dtype)
        if dtype.kind not in "biufc" or dtype.newbyteorder("=") not in _NATIVE:
            raise TypeError(f"Convolver: dtype must be a bool, integer, float32, float64, complex64 or "
                            f"complex128 type, got {dtype}")
        self._dtype = dtype.newbyteorder("=")
        try:
            dims = (shape,) if np.ndim(shape) == 0 else tuple(shape)
            if any(isinstance(s, (bool, np.bool_)) for s in dims):
                raise TypeError
            shape = tuple(operator.index(s) for s in dims)
        except TypeError:
            raise ValueError(f"Convolver: shape must be a sequence of integers, got {shape!r}") from None
        if any(s < 0 or s >= 2**63 for s in shape):
            raise ValueError(f"Convolver: shape must be non-negative integers below 2**63, got {shape}")
        self._plan = _core.Convolver(list(shape), self._dtype.name, k, _mode(mode), _method(method),
                                     _axes(axes), bool(check_finite))

    def __call__(self, x, out=None):
        a = x if type(x) is np.ndarray else np.asarray(x)
        if a.dtype != self._dtype:
            if a.dtype.kind == "c" and self._dtype.kind != "c":
                raise TypeError(f"Convolver: planned for {self._dtype} inputs, got complex {a.dtype}")
            if a.dtype.kind not in "biufc":
                raise TypeError(f"Convolver: planned for {self._dtype} inputs, got {a.dtype}")
            a = a.astype(self._dtype)
        if out is None:
            return self._plan(a, None)
        if not isinstance(out, np.ndarray):
            raise TypeError(f"Convolver: out must be a numpy array, got {type(out).__name__}")
        want = self.output_dtype
        if (out.dtype != want or out.shape != self.output_shape or not out.flags.c_contiguous
                or not out.flags.writeable):
            raise ValueError(f"Convolver: out must be a writeable C-contiguous {want} array of shape "
                             f"{self.output_shape}, got {'' if out.flags.writeable else 'read-only '}"
                             f"{'' if out.flags.c_contiguous else 'non-contiguous '}{out.dtype} {out.shape}")
        if np.shares_memory(a, out):  # the methods read the input while writing the output
            out[...] = self._plan(a, None)
            return out
        return self._plan(a, out)

    @property
    def input_shape(self):
        return tuple(self._plan.input_shape)

    @property
    def output_shape(self):
        return tuple(self._plan.output_shape)

    @property
    def output_dtype(self):
        return np.dtype(self._plan.output_dtype)

    @property
    def dtype(self):
        return self._dtype

    @property
    def method(self):
        return self._plan.method

    @property
    def reason(self):
        return self._plan.reason

    def __repr__(self):
        return (f"Convolver(input_shape={self.input_shape}, dtype={self._dtype}, output_shape={self.output_shape}, "
                f"output_dtype={self.output_dtype}, method={self.method!r})")
