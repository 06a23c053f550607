"""fourierconv: Fourier-domain convolution, from C++, for numpy.

- ``fourierconv.signal``: scipy.signal's convolve, correlate, fftconvolve, oaconvolve,
  convolve2d, correlate2d, choose_conv_method and correlation_lags, faster, same semantics.
- ``fourierconv.Convolver``: a planned convolution with a fixed kernel, for many arrays.
- ``fourierconv.filters``: frequency responses as arrays, and apply_filter.
- ``fourierconv.load_model`` / ``fourierconv.models``: Keras-style models (summary, fit,
  evaluate, predict, save) from .keras/.h5 files or built in by name.
- ``fourierconv.keras``: FourierConv2D and SpectralConv2D as Keras 3 layers (needs keras).

fourierconv is free software: GNU General Public License, version 3 or later (it links
FFTW, which is GPL-2.0-or-later).
"""
from . import datasets, filters, models, signal
from .convolver import Convolver
from .models import load_model
from ._core import cpu_dispatch_level

__version__ = "0.1.0"
__all__ = ["signal", "filters", "models", "datasets", "Convolver", "load_model", "cpu_dispatch_level", "__version__"]
