"""Data sets, as keras.datasets returns them.

    (x_train, y_train), (x_test, y_test) = fourierconv.datasets.fashion_mnist.load_data()

Unlike Keras, nothing is downloaded: the files are read from a directory (default: Debian's
dataset-fashion-mnist package, or $FASHION_MNIST_DIR), and the images come as float32 in
[0, 1] with a channel axis, (N, 28, 28, 1), as the models take them; labels as float32.
"""
import os
from types import SimpleNamespace

from . import _core
from ._checks import integer

__all__ = ["fashion_mnist"]


def _load_fashion_mnist(path=None, limit=0):
    """((x_train, y_train), (x_test, y_test)) from the IDX files in `path` (gzip'd or not).
    limit > 0 keeps the first `limit` images of each split. FileNotFoundError-like errors
    come as ValueError naming the missing file."""
    d = path if path is not None else os.environ.get("FASHION_MNIST_DIR") or _core.default_fashion_mnist_dir()
    x_train, y_train, x_test, y_test = _core.load_mnist_format(str(d), integer(limit, "limit (0: all)"))
    return (x_train, y_train), (x_test, y_test)


fashion_mnist = SimpleNamespace(load_data=_load_fashion_mnist)
