"""Argument checks shared by the package's modules (the C++ core checks again; these give the
Python-level message before nanobind's type conversion would)."""
import numpy as np


def integer(v, name, minimum=0):
    """v as an int when it is a Python or numpy integer (not a bool) of at least `minimum`;
    ValueError naming `name` otherwise."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < minimum:
        what = "a positive integer" if minimum == 1 else "a non-negative integer" if minimum == 0 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {what}, got {v!r}")
    return int(v)
