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
