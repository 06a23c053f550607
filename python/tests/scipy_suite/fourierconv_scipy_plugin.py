"""pytest plugin: scipy's own tests of its convolution functions, run against fourierconv's.

    pytest -p fourierconv_scipy_plugin --pyargs scipy.signal.tests.test_signaltools -k "..."

Before scipy's test module is imported (it imports the functions by name), scipy.signal's
convolve, correlate, fftconvolve, oaconvolve, convolve2d, correlate2d, choose_conv_method and
correlation_lags are replaced by fourierconv.signal's, in scipy.signal and in the module that
defines them (scipy's other functions call them from there). Items listed in
known_failures.txt are marked xfail(strict=True): each must still fail, so the list stays
honest, and every other item must pass.
"""
import os

import pytest

NAMES = ("convolve", "correlate", "fftconvolve", "oaconvolve", "convolve2d", "correlate2d",
         "choose_conv_method", "correlation_lags")
KNOWN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "known_failures.txt")


def known_failures():
    """{test id (file-relative, as pytest prints it after '::'): reason}."""
    out = {}
    with open(KNOWN) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            test, _, reason = line.partition("  # ")
            out[test.strip()] = reason.strip() or "listed in known_failures.txt"
    return out


def pytest_configure(config):
    import scipy.signal
    import scipy.signal._signaltools as st

    import fourierconv.signal as fs
    try:  # scipy >= 1.15 keys its array-API test marks by function: ours get the originals'
        from scipy._lib._array_api import xp_capabilities_table as table
    except ImportError:
        table = None
    for n in NAMES:
        ours, theirs = getattr(fs, n), getattr(st, n)
        if table is not None and theirs in table:
            table[ours] = table[theirs]
        setattr(scipy.signal, n, ours)
        setattr(st, n, ours)
    config._fourierconv_known = known_failures()


def pytest_collection_modifyitems(config, items):
    known = config._fourierconv_known
    for item in items:
        key = item.nodeid.split("::", 1)[-1]
        if key in known:
            item.add_marker(pytest.mark.xfail(reason=known[key], strict=True))


def pytest_report_header(config):
    import fourierconv
    import scipy
    return (f"fourierconv {fourierconv.__version__} in place of scipy {scipy.__version__}'s convolution functions; "
            f"{len(config._fourierconv_known)} known failures listed")
