"""fourierconv.keras in real Keras 3: a model with FourierConv2D and SpectralConv2D, saved by
fourierconv, opens in Keras and predicts what fourierconv predicts."""
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

import fourierconv as fc  # noqa: E402
import fourierconv.keras  # noqa: E402,F401  registers the layers


def test_our_fourier_model_opens_in_keras(tmp_path, rng):
    for name in ["seed-fourier", "seed-spectral"]:
        m = fc.models.build(name)
        x = rng.random((4, 28, 28, 1)).astype(np.float32)
        path = tmp_path / f"{name}.keras"
        m.save(path)
        k = keras.saving.load_model(path)
        np.testing.assert_allclose(k.predict(x, verbose=0), m.predict(x), atol=2e-5)


def test_layers_serialize_under_fourierconvs_names():
    layer = fourierconv.keras.FourierConv2D(["butterworth:0.1,2"], padding="same")
    cfg = keras.saving.serialize_keras_object(layer)
    assert cfg["registered_name"] == "fourierconv>FourierConv2D" and cfg["module"] == "fourierconv.keras"


def test_fourier_layer_shared_by_inputs_of_two_sizes(tmp_path, rng):
    """A FourierConv2D / FourierConv1D applied to inputs of two sizes (a Keras shared layer):
    Keras's side computes each size with its own bank, as fourierconv does (two unshared layers
    are the reference)."""
    filters = ["gaussian_lowpass:0.1", "butterworth:0.2,2"]
    xa, xb = rng.standard_normal((2, 16, 16, 2)).astype(np.float32), rng.standard_normal((2, 10, 12, 2)).astype(np.float32)
    for padding in ["circular", "same"]:
        keras.backend.clear_session()
        a, b = keras.Input((16, 16, 2)), keras.Input((10, 12, 2))
        shared = fourierconv.keras.FourierConv2D(filters, padding=padding)
        model = keras.Model([a, b], [shared(a), shared(b)])
        ref = [np.asarray(fourierconv.keras.FourierConv2D(filters, padding=padding)(x)) for x in (xa, xb)]
        got = model.predict([xa, xb], verbose=0)
        for g, r in zip(got, ref):
            np.testing.assert_allclose(g, r, atol=1e-5)
        path = tmp_path / f"shared_{padding}.keras"
        model.save(path)
        for g, r in zip(fc.load_model(path).predict([xa, xb]), ref):
            np.testing.assert_allclose(g, r, atol=1e-5)
        one = fourierconv.keras.FourierConv1D(filters, padding=padding)
        sa, sb = xa[:, 0], xb[:, 0]  # (2, 16, 2) and (2, 12, 2)
        for x in (sa, sb, sa):
            np.testing.assert_allclose(np.asarray(one(x)), np.asarray(fourierconv.keras.FourierConv1D(filters, padding=padding)(x)),
                                       atol=1e-5)
