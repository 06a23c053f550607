"""A reference no one here wrote: Keras's own keras.applications architectures, built by real
Keras 3 with weights=None and a fixed seed (at 32 x 32, the smallest input each allows), with
random BatchNormalization and Normalization statistics so that inference exercises them, and
logits out (classifier_activation=None) so that the comparison is not flattened by a softmax.
Each loads in fourierconv with Keras's summary text and Keras's predictions (1e-4 relative to
the largest logit), and our save of it loads back in Keras with the same predictions.

The files are 10-95 MB, so they are generated here rather than kept as fixtures; the test
skips, saying so, where Keras is not installed."""
import contextlib
import io
import os

import numpy as np
import pytest

import fourierconv as fc

keras = pytest.importorskip("keras", reason="keras.applications needs real Keras (make deps installs it into build/venv)")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Keras on JAX under numpy 2

APPS = ["MobileNetV2", "ResNet50", "DenseNet121", "EfficientNetB0"]


def _randomize_statistics(model, rng):
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.1, beta.shape),
                               rng.normal(0, 0.2, mean.shape), rng.uniform(0.5, 2.0, var.shape)])
        elif isinstance(layer, keras.layers.Normalization):
            mean, var, count = layer.get_weights()
            layer.set_weights([rng.normal(0.4, 0.1, mean.shape), rng.uniform(0.05, 0.1, var.shape), count])


@pytest.mark.parametrize("name", APPS)
def test_keras_applications_load_summarize_predict_and_save_back(name, tmp_path):
    keras.utils.set_random_seed(2026)
    rng = np.random.default_rng(5)
    model = getattr(keras.applications, name)(weights=None, input_shape=(32, 32, 3), classes=10, classifier_activation=None)
    _randomize_statistics(model, rng)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    x = rng.random((3, 32, 32, 3)).astype(np.float32) * 255
    want = model.predict(x, verbose=0)
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        model.summary(line_length=76)

    ours = fc.load_model(path)
    lines = []
    ours.summary(line_length=76, print_fn=lines.append)
    assert lines[0].rstrip("\n") == text.getvalue().rstrip("\n")
    got = ours.predict(x)
    scale = float(np.abs(want).max())
    assert scale > 1e-3 and float(want.std()) > 1e-4 * scale  # a meaningful output, not a constant
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4 * scale)

    back = tmp_path / f"{name}_ours.keras"
    ours.save(back)
    again = keras.saving.load_model(back).predict(x, verbose=0)
    np.testing.assert_allclose(again, got, rtol=0, atol=1e-5 * scale)
