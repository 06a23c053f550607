"""StreamConvolver: a fixed FIR filter applied to a signal as it arrives, block by block.

    sc = fourierconv.StreamConvolver(h, block=64)      # plans once
    for chunk in chunks:                                 # any lengths, 0 included
        y = sc.process(chunk)                            # the filtered samples, delayed by sc.latency

The outputs, concatenated, equal scipy.signal.convolve(x, h, mode="full")[:len(x)] of the whole
stream delayed by `latency` samples (within float32 rounding). scipy.signal has no stateful
FFT filter (lfilter with zi is one, but direct and O(taps) per sample); this is the partitioned
convolution real-time audio convolvers use (include/fourierconv/stream.hpp).
"""
import numpy as np

from . import _core

__all__ = ["StreamConvolver"]


class StreamConvolver:
    """A stateful FIR filter by partitioned FFT convolution.

    Parameters
    ----------
    h : array_like, float
        The filter: shape (taps,) for one channel in and out, or (outputs, inputs, taps) for a
        filter matrix (output o = sum over i of input i convolved with h[o, i]). Finite values.
    block : int
        B, 1 to 65,536 samples: the latency, and the granularity of the work. Default 64.
    zero_latency : bool
        Compute the first B taps directly in time, so that output sample t contains input t.
    whole_blocks : bool
        Promise calls of whole blocks (a multiple of `block` samples, as an audio callback):
        each call's output is then its own input filtered (latency 0) with no direct head,
        as FFTConvolver's for block-aligned calls. Another length is a ValueError.
    scheme : {'auto', 'uniform', 'non-uniform'}
        Partitioning: uniform (all partitions B long) or non-uniform (growing partitions, far
        cheaper for long filters); 'auto' takes the cheaper by the cost model.
    background : bool
        Run the partitions longer than the block on a worker thread this object owns (as
        FFTConvolver's two-stage convolver allows): the calling thread keeps the first stage,
        and takes over a task the worker has not begun by its deadline, so the output is the
        same (within float32 rounding; the plan is chosen for two threads, so
        `transition_samples` can differ). Uses a second core; for short filters it gains
        nothing. reset() restarts the worker. Default False.

    ``process(x)`` takes float samples of shape (n,) (one channel) or (inputs, n) and returns
    float32 of shape (n,) or (outputs, n). The GIL is released while filtering; calls on one
    object from several threads are serialized (one may call set_filter while another streams).
    A NaN or Inf in the input spreads, as in any FFT convolution, over the outputs of the
    partitions it enters (up to the filter's length after it and a partition before it), then
    the output recovers; float64 samples beyond float32's range become Inf.

    ``set_filter(h)`` swaps in a filter of the same shape without a click: both filters run
    until the new one's output is exact, then one block crossfades (`transition_samples`).
    ``reset()`` returns to silence. Attributes: latency, block, taps, inputs, outputs, plan
    (the partitions, as text), transition_samples. `block` is the engine's block: the argument,
    or with zero_latency the (smaller) block the cost model chose.

    Raises ValueError for an empty filter, NaN or Inf in it, a block out of range, or an x of
    the wrong shape; TypeError for complex samples or filters.
    """

    def __init__(self, h, block=64, zero_latency=False, scheme="auto", whole_blocks=False, background=False):
        h = np.asarray(h)
        if h.dtype.kind == "c":
            raise TypeError("StreamConvolver: h must be real, got " + str(h.dtype))
        if h.dtype.kind not in "fiub":
            raise TypeError("StreamConvolver: h must be an array of numbers, got " + str(h.dtype))
        if h.dtype != np.float64:
            h = h.astype(np.float32 if h.dtype == np.float32 else np.float64)
        if not isinstance(block, (int, np.integer)) or isinstance(block, bool):
            raise TypeError("StreamConvolver: block must be an integer, got " + repr(block))
        if not 1 <= block <= 65536:
            raise ValueError("StreamConvolver: block must be 1 to 65536 samples, got " + repr(block))
        for name, flag in (("zero_latency", zero_latency), ("whole_blocks", whole_blocks), ("background", background)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError("StreamConvolver: " + name + " must be True or False, got " + repr(flag))
        self._core = _core.StreamConvolver(np.ascontiguousarray(h), int(block), bool(zero_latency), str(scheme),
                                           bool(whole_blocks), bool(background))

    def process(self, x):
        x = np.asarray(x)
        if x.dtype.kind == "c":
            raise TypeError("StreamConvolver.process: x must be real, got " + str(x.dtype))
        if x.dtype.kind not in "fiub":
            raise TypeError("StreamConvolver.process: x must be an array of numbers, got " + str(x.dtype))
        if x.dtype not in (np.float32, np.float64):
            x = x.astype(np.float64)
        return self._core.process(x)

    def set_filter(self, h):
        h = np.asarray(h)
        if h.dtype.kind not in "fiub":
            raise TypeError("StreamConvolver.set_filter: h must be real numbers, got " + str(h.dtype))
        self._core.set_filter(np.ascontiguousarray(h, dtype=np.float64 if h.dtype != np.float32 else np.float32))

    def reset(self):
        self._core.reset()

    latency = property(lambda self: self._core.latency)
    block = property(lambda self: self._core.block)
    taps = property(lambda self: self._core.taps)
    inputs = property(lambda self: self._core.inputs)
    outputs = property(lambda self: self._core.outputs)
    plan = property(lambda self: self._core.plan)
    transition_samples = property(lambda self: self._core.transition_samples)

    def __repr__(self):
        return "StreamConvolver(taps={}, block={}, latency={}, plan='{}')".format(self.taps, self.block, self.latency, self.plan)
