"""The GIL is released while fourierconv computes, and calls from several threads at once
give the same results as one at a time."""
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import fourierconv as fc
from fourierconv import signal as fs


def test_concurrent_calls_agree_with_serial(rng):
    inputs = [rng.standard_normal((64 + i, 80)) for i in range(16)]
    kernels = [rng.standard_normal((3 + i % 5, 9)) for i in range(16)]
    funcs = [fs.convolve, fs.fftconvolve, fs.oaconvolve, fs.correlate]
    serial = [funcs[i % 4](x, k, "same") for i, (x, k) in enumerate(zip(inputs, kernels))]
    with ThreadPoolExecutor(8) as pool:
        for _ in range(3):
            futures = [pool.submit(funcs[i % 4], x, k, "same") for i, (x, k) in enumerate(zip(inputs, kernels))]
            for f, want in zip(futures, serial):
                np.testing.assert_array_equal(f.result(), want)


def test_one_convolver_shared_by_threads(rng):
    k = rng.standard_normal((9, 9))
    conv = fc.Convolver((128, 128), k, mode="same")
    xs = [rng.standard_normal((128, 128)) for _ in range(12)]
    serial = [conv(x) for x in xs]
    with ThreadPoolExecutor(6) as pool:
        for got, want in zip(pool.map(conv, xs), serial):
            np.testing.assert_array_equal(got, want)


def test_python_runs_while_a_convolution_computes():
    """A long convolution in one thread; Python code in this one keeps running meanwhile
    (it could not if the GIL were held for the whole call)."""
    a = np.ones(1_000_000)
    k = np.ones(2001)
    done = threading.Event()
    ticks = 0

    def work():
        for _ in range(3):
            fs.convolve(a, k, method="direct")
        done.set()

    t = threading.Thread(target=work)
    t.start()
    while not done.is_set():
        ticks += 1
        done.wait(0.001)
    t.join()
    assert ticks > 20, ticks
