"""fourierconv: Fourier-domain convolution, from C++, for numpy.

- ``fourierconv.signal``: scipy.signal's convolve, correlate, fftconvolve, oaconvolve,
  convolve2d, correlate2d, choose_conv_method and correlation_lags, faster, same semantics.
- ``fourierconv.Convolver``: a planned convolution with a fixed kernel, for many arrays.
- ``fourierconv.StreamConvolver``: a stateful FIR filter for streams (partitioned FFT
  convolution, latency of one block or zero).
- ``fourierconv.filters``: frequency responses as arrays, and apply_filter.
- ``fourierconv.load_model`` / ``fourierconv.models``: Keras-style models (summary, fit,
  evaluate, predict, save) from .keras/.h5 files or built in by name.
- ``fourierconv.keras``: FourierConv1D/2D and SpectralConv1D/2D as Keras 3 layers (needs keras).

fourierconv is free software: GNU General Public License, version 3 or later (it links
FFTW, which is GPL-2.0-or-later).
"""
from . import _checks, datasets, filters, models, signal
from .convolver import Convolver
from .stream import StreamConvolver
from .models import load_model
from ._core import cpu_dispatch_level, memory_limit, set_random_seed
from ._core import set_memory_limit as _set_memory_limit
from ._core import empty_memory_pool, memory_pool_bytes
from ._core import set_memory_pool_limit as _set_memory_pool_limit


def set_memory_limit(limit):
    """Refuse (MemoryError, before allocating) any array larger than `limit` bytes.

    limit : int bytes, a str with a K/M/G/T suffix ("4G"), or None for the default: the
        FOURIERCONV_MAX_MEMORY environment variable, else the memory available at first use.
    Files that declare huge sizes (a .npy header, a PNG's IHDR, a gzip bomb, a model config)
    are refused against it before their data is read. ValueError on a size of 0 or a bad string.
    """
    if limit is not None and not isinstance(limit, str):
        limit = _checks.integer(limit, "limit", 1)
    _set_memory_limit(limit)


def set_memory_pool_limit(limit):
    """Keep at most `limit` bytes of freed large buffers (1 MiB and more) for reuse.

    limit : int bytes (0: keep none), a str with a K/M/G/T suffix ("2G"), or None for the
        default: a quarter of memory_limit(). Lowering it frees the buffers past it at once.
    glibc gives large buffers back to the kernel when they are freed, so each call of a network
    would meet fresh pages, which the kernel zeroes on first touch; pooled buffers skip that, as
    ONNX Runtime's arena does. empty_memory_pool() frees them all (torch.cuda.empty_cache's
    counterpart); memory_pool_bytes() says how many bytes are kept now.
    """
    if limit is not None and not isinstance(limit, str):
        limit = _checks.integer(limit, "limit", 0)
    _set_memory_pool_limit(limit)


__version__ = "0.1.0"
__all__ = ["signal", "filters", "models", "datasets", "Convolver", "StreamConvolver", "load_model", "cpu_dispatch_level", "memory_limit",
           "set_memory_limit", "set_random_seed", "memory_pool_bytes", "set_memory_pool_limit", "empty_memory_pool",
           "__version__"]
