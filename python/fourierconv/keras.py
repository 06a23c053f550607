"""FourierConv1D/2D and SpectralConv1D/2D as Keras 3 layers, so that Keras opens .keras files
holding them (written by fourierconv) and computes what the C++ layers compute.

    import keras
    import fourierconv.keras            # registers "fourierconv>FourierConv2D", "...>SpectralConv2D"
    model = keras.saving.load_model("m.keras")

Needs keras (pip install keras, with a backend: jax, torch or tensorflow).

The formulas are those of include/fourierconv/filters.hpp and nn/layers/*_conv2d.hpp; the
frequency responses come from fourierconv itself (fourierconv.filters.response, cycles per
pixel on numpy's fftfreq grid), so the two cannot drift apart. FourierConv2D: y = Re(ifft2(
fft2(x) * H)) per filter and channel (output channel c*F + f), "same" padding to
P = next_fast_size(2n - 1), "magnitude" output |ifft2(...)|. SpectralConv2D keeps rows [0, m1)
and [H-m1, H) and columns [0, m2) of the rfft2 spectrum and returns irfft2(sum_c X_c W_cf) + bias.
The 1-D layers are the same on (N, L, C): FourierConv1D samples each response at fy = 0
(H(0, f) on fftfreq(Q)); SpectralConv1D keeps bins [0, modes) of rfft (FNO-1D).
"""
import keras
import numpy as np
from keras import ops

from . import _core
from .filters import response


def next_fast_size(n):
    """The smallest 7-smooth size >= n (fourierconv's FFT sizes)."""
    return _core.next_fast_size(int(n))


def _activation(name):
    return keras.activations.get(name or "linear")


@keras.saving.register_keras_serializable(package="fourierconv")
class FourierConv2D(keras.layers.Layer):
    def __init__(self, filters, padding="circular", output="real", activation="linear", **kwargs):
        super().__init__(**kwargs)
        self.filters = list(filters)
        self.padding = padding
        self.output_mode = output  # "output" is a Keras Layer property
        self.activation = activation

    def build(self, input_shape):
        self._banks = {}

    def _bank(self, h, w):
        """The transform size (P, Q) and the (F, P, Q) float32 bank for inputs of h x w, made once
        per size: a layer shared by inputs of several sizes, as in Keras, has one per size."""
        if (h, w) not in self._banks:
            P, Q = (h, w) if self.padding == "circular" else (next_fast_size(2 * h - 1), next_fast_size(2 * w - 1))
            self._banks[(h, w)] = (P, Q, np.stack([response(s, (P, Q)) for s in self.filters]))
        return self._banks[(h, w)]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], input_shape[2], input_shape[3] * len(self.filters))

    def call(self, x):
        n, h, w, c = ops.shape(x)
        f = len(self.filters)
        P, Q, bank = self._bank(int(x.shape[1]), int(x.shape[2]))
        xt = ops.transpose(x, (0, 3, 1, 2))
        if self.padding == "same":
            xt = ops.pad(xt, [[0, 0], [0, 0], [0, P - h], [0, Q - w]])
        re, im = ops.fft2((xt, ops.zeros_like(xt)))
        bank = ops.convert_to_tensor(bank)[None, None]
        yr, yi = ops.ifft2((re[:, :, None] * bank, im[:, :, None] * bank))
        yr, yi = yr[..., :h, :w], yi[..., :h, :w]
        y = yr if self.output_mode == "real" else ops.sqrt(yr * yr + yi * yi)
        y = ops.reshape(y, (n, c * f, h, w))
        return _activation(self.activation)(ops.transpose(y, (0, 2, 3, 1)))

    def get_config(self):
        cfg = super().get_config()
        cfg.update(filters=self.filters, padding=self.padding, output=self.output_mode, activation=self.activation)
        return cfg


@keras.saving.register_keras_serializable(package="fourierconv")
class SpectralConv2D(keras.layers.Layer):
    def __init__(self, filters, modes, activation="linear", use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.modes = tuple(modes)
        self.activation = activation
        self.use_bias = use_bias

    def build(self, input_shape):
        c = input_shape[-1]
        m1, m2 = self.modes
        init = keras.initializers.RandomUniform(0.0, 1.0 / (c * self.filters))
        self.weights1 = self.add_weight(name="weights1", shape=(c, self.filters, m1, m2, 2), initializer=init)
        self.weights2 = self.add_weight(name="weights2", shape=(c, self.filters, m1, m2, 2), initializer=init)
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], input_shape[2], self.filters)

    def call(self, x):
        n, h, w, c = ops.shape(x)
        m1, m2 = self.modes
        wh = w // 2 + 1
        xt = ops.transpose(x, (0, 3, 1, 2))
        xr, xi = ops.fft2((xt, ops.zeros_like(xt)))  # the half spectrum is [..., :wh]

        def mix(rows, wt):
            ar, ai = xr[:, :, rows, :m2], xi[:, :, rows, :m2]
            wr, wi = wt[..., 0], wt[..., 1]
            yr = ops.einsum("ncxy,cfxy->nfxy", ar, wr) - ops.einsum("ncxy,cfxy->nfxy", ai, wi)
            yi = ops.einsum("ncxy,cfxy->nfxy", ar, wi) + ops.einsum("ncxy,cfxy->nfxy", ai, wr)
            return yr, yi

        r1, i1 = mix(slice(0, m1), self.weights1)
        r2, i2 = mix(slice(h - m1, h), self.weights2)
        f = self.filters

        def assemble(a, b):
            mid = ops.zeros((n, f, h - 2 * m1, m2))
            col = ops.concatenate([a, mid, b], axis=2)
            return ops.concatenate([col, ops.zeros((n, f, h, wh - m2))], axis=3)

        yr, yi = assemble(r1, r2), assemble(i1, i2)
        # irfft2 = complex inverse DFT along H, then irfft along W (numpy's semantics).
        zr, zi = ops.fft((ops.transpose(yr, (0, 1, 3, 2)), -ops.transpose(yi, (0, 1, 3, 2))))
        zr, zi = ops.transpose(zr, (0, 1, 3, 2)) / h, -ops.transpose(zi, (0, 1, 3, 2)) / h
        y = ops.irfft((zr, zi), fft_length=w)
        if self.use_bias:
            y = y + self.bias[None, :, None, None]
        return _activation(self.activation)(ops.transpose(y, (0, 2, 3, 1)))

    def get_config(self):
        cfg = super().get_config()
        cfg.update(filters=self.filters, modes=list(self.modes), activation=self.activation, use_bias=self.use_bias)
        return cfg


@keras.saving.register_keras_serializable(package="fourierconv")
class FourierConv1D(keras.layers.Layer):
    def __init__(self, filters, padding="circular", output="real", activation="linear", **kwargs):
        super().__init__(**kwargs)
        self.filters = list(filters)
        self.padding = padding
        self.output_mode = output
        self.activation = activation

    def build(self, input_shape):
        self._banks = {}

    def _bank(self, length):
        """The transform size Q and the (F, Q) float32 bank for inputs of this length (one per length)."""
        if length not in self._banks:
            Q = length if self.padding == "circular" else next_fast_size(2 * length - 1)
            self._banks[length] = (Q, np.stack([response(s, (1, Q))[0] for s in self.filters]))
        return self._banks[length]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], input_shape[2] * len(self.filters))

    def call(self, x):
        n, length, c = ops.shape(x)
        f = len(self.filters)
        Q, bank = self._bank(int(x.shape[1]))
        xt = ops.transpose(x, (0, 2, 1))
        if self.padding == "same":
            xt = ops.pad(xt, [[0, 0], [0, 0], [0, Q - length]])
        re, im = ops.fft((xt, ops.zeros_like(xt)))
        bank = ops.convert_to_tensor(bank)[None, None]
        # ifft(z) = conj(fft(conj(z))) / Q (keras.ops has no 1-D ifft)
        yr, yi = ops.fft((re[:, :, None] * bank, -(im[:, :, None] * bank)))
        yr, yi = yr[..., :length] / Q, -yi[..., :length] / Q
        y = yr if self.output_mode == "real" else ops.sqrt(yr * yr + yi * yi)
        y = ops.reshape(y, (n, c * f, length))
        return _activation(self.activation)(ops.transpose(y, (0, 2, 1)))

    def get_config(self):
        cfg = super().get_config()
        cfg.update(filters=self.filters, padding=self.padding, output=self.output_mode, activation=self.activation)
        return cfg


@keras.saving.register_keras_serializable(package="fourierconv")
class SpectralConv1D(keras.layers.Layer):
    def __init__(self, filters, modes, activation="linear", use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.modes = int(modes)
        self.activation = activation
        self.use_bias = use_bias

    def build(self, input_shape):
        c = input_shape[-1]
        init = keras.initializers.RandomUniform(0.0, 1.0 / (c * self.filters))
        self.weights1 = self.add_weight(name="weights1", shape=(c, self.filters, self.modes, 2), initializer=init)
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], self.filters)

    def call(self, x):
        n, length, c = ops.shape(x)
        m = self.modes
        xr, xi = ops.rfft(ops.transpose(x, (0, 2, 1)), fft_length=length)  # (N, C, L/2+1)
        ar, ai = xr[..., :m], xi[..., :m]
        wr, wi = self.weights1[..., 0], self.weights1[..., 1]
        yr = ops.einsum("nck,cfk->nfk", ar, wr) - ops.einsum("nck,cfk->nfk", ai, wi)
        yi = ops.einsum("nck,cfk->nfk", ar, wi) + ops.einsum("nck,cfk->nfk", ai, wr)
        pad = [[0, 0], [0, 0], [0, length // 2 + 1 - m]]
        y = ops.irfft((ops.pad(yr, pad), ops.pad(yi, pad)), fft_length=length)
        if self.use_bias:
            y = y + self.bias[None, :, None]
        return _activation(self.activation)(ops.transpose(y, (0, 2, 1)))

    def get_config(self):
        cfg = super().get_config()
        cfg.update(filters=self.filters, modes=self.modes, activation=self.activation, use_bias=self.use_bias)
        return cfg
