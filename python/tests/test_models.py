"""Models from Python: the Keras fixtures (files written by real Keras 3, with Keras's
predictions and summary text kept beside them) load and predict as Keras did; the built-in
models train; save and load round-trip."""
import os

import numpy as np
import pytest

import fourierconv as fc

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "keras")


@pytest.mark.parametrize("name", ["seed", "every_layer", "every_layer_1d", "global_1d", "global_2d", "activations", "batchnorm", "more_layers", "depthwise", "relu_inf"])
@pytest.mark.parametrize("ext", [".keras", "_legacy.h5"])
def test_keras_files_predict_as_keras(name, ext):
    if not os.path.exists(os.path.join(FIXTURES, name + ext)):
        pytest.skip(name + ext + ": Keras 3.15 cannot write this model as legacy .h5 (the augmentation layers)")
    m = fc.load_model(os.path.join(FIXTURES, name + ext))
    x = np.load(os.path.join(FIXTURES, name + "_x.npy"))
    want = np.load(os.path.join(FIXTURES, name + "_pred.npy"))
    got = m.predict(x)
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_summary_is_keras_text(capsys):
    m = fc.load_model(os.path.join(FIXTURES, "seed.keras"))
    lines = []
    m.summary(print_fn=lines.append)
    with open(os.path.join(FIXTURES, "seed_summary.txt")) as f:
        want = f.read().rstrip("\n")
    assert lines[0] == want


def test_build_fit_evaluate_save_load(tmp_path, rng):
    assert {"seed-cnn", "seed-fourier", "seed-spectral"} <= set(fc.models.names())
    m = fc.models.build("seed-cnn")
    assert m.input_shape == (None, 28, 28, 1) and m.output_shape == (None, 10) and m.count_params() == 54410
    x = rng.random((256, 28, 28, 1)).astype(np.float32)
    y = (x.reshape(256, -1).mean(axis=1) > 0.5).astype(np.int64)  # a learnable label
    h = m.fit(x, y, epochs=3, batch_size=32, verbose=0, validation_split=0.25)
    assert len(h.history["loss"]) == 3 and h.history["loss"][-1] < h.history["loss"][0]
    assert "val_loss" in h.history
    loss, acc = m.evaluate(x, y, verbose=0)
    assert 0 <= acc <= 1 and np.isfinite(loss)
    path = tmp_path / "m.keras"
    m.save(path)
    m2 = fc.load_model(path)
    np.testing.assert_array_equal(m2.predict(x[:8]), m.predict(x[:8]))


def test_checkpoint_and_exact_resume(tmp_path, rng):
    x = rng.random((96, 28, 28, 1)).astype(np.float32)
    y = rng.integers(0, 10, 96)
    fc.set_random_seed(11)  # the same initial weights for each model (keras.utils.set_random_seed)
    full = fc.models.build("seed-cnn")
    h_full = full.fit(x, y, epochs=3, batch_size=16, verbose=0, seed=5)
    fc.set_random_seed(11)
    first = fc.models.build("seed-cnn")  # "dies" after 2 epochs, its last checkpoint mid-epoch 2
    first.fit(x, y, epochs=2, batch_size=16, verbose=0, seed=5, checkpoint_dir=tmp_path, checkpoint_every=4)
    assert (tmp_path / "checkpoint.keras").exists()
    second = fc.models.build("seed-cnn")  # other initial weights: the checkpoint brings them
    h = second.fit(x, y, epochs=3, batch_size=16, verbose=0, seed=5, checkpoint_dir=tmp_path, checkpoint_every=4,
                   resume=True)
    np.testing.assert_array_equal(second.predict(x[:8]), full.predict(x[:8]))
    assert h.history["loss"] == h_full.history["loss"]
    with pytest.raises(ValueError, match="no checkpoint in"):
        fc.models.build("seed-cnn").fit(x, y, checkpoint_dir=tmp_path / "none", resume=True, verbose=0)
    with pytest.raises(ValueError, match="is a checkpoint of another model"):
        fc.models.build("seed-spectral").fit(x, y, epochs=3, checkpoint_dir=tmp_path, resume=True, verbose=0)


def test_fit_prints_keras_progress(capfd, rng):
    m = fc.models.build("seed-cnn")
    x = rng.random((64, 28, 28, 1)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    m.fit(x, y, epochs=2, verbose=2)
    out = capfd.readouterr().out
    # Keras prints "Epoch i/n" only when n > 1, then one line per epoch at verbose=2.
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "2/2 - " in out and "loss:" in out


def test_bad_inputs(tmp_path, rng):
    with pytest.raises(FileNotFoundError):
        fc.load_model(tmp_path / "missing.keras")
    with pytest.raises(ValueError, match="config"):
        fc.load_model(os.path.join(FIXTURES, "bad_config_json.keras"))
    bad = tmp_path / "junk.keras"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError):
        fc.load_model(bad)
    m = fc.models.build("seed-cnn")
    with pytest.raises(ValueError):
        m.predict(np.ones((2, 27, 28, 1)))
    with pytest.raises(TypeError):
        m.predict(np.array([["a"]]))
    with pytest.raises(ValueError):
        m.fit(np.ones((4, 28, 28, 1)), np.ones(3), verbose=0)
    with pytest.raises(ValueError):
        m.fit(np.ones((4, 28, 28, 1)), np.ones(4), batch_size=0)
    with pytest.raises(ValueError):
        fc.models.build("no-such-model")


def test_build_checks_input_shape():
    with pytest.raises(ValueError, match="input_shape"):
        fc.models.build("seed-cnn", input_shape=(-28, 28, 1))
    with pytest.raises(ValueError, match="input_shape"):
        fc.models.build("seed-cnn", input_shape=5)


def test_signal_models_train_on_time_series(tmp_path):
    # (N, L, C) signals: a slow or a fast sine; the three 1-D front ends learn it.
    rng = np.random.default_rng(4)
    n, length = 96, 64
    y = (np.arange(n) % 2).astype(np.float32)
    t = np.arange(length)
    x = np.stack([np.sin(2 * np.pi * (0.3 if k else 0.04) * t + rng.uniform(0, 6)) for k in y])[..., None]
    x = (x + 0.3 * rng.standard_normal(x.shape)).astype(np.float32)
    for name in ("signal-cnn", "signal-fourier", "signal-spectral"):
        m = fc.models.build(name, input_shape=(length, 1), classes=2)
        lines = []
        m.summary(print_fn=lines.append, detail=True)
        text = "\n".join(lines)
        assert {"signal-cnn": "(Conv1D)", "signal-fourier": "(FourierConv1D)", "signal-spectral": "(SpectralConv1D)"}[name] in text
        m.fit(x, y, epochs=100, batch_size=16, verbose=0, seed=1)
        loss, acc = m.evaluate(x, y, verbose=0)
        assert acc > 0.9, (name, loss, acc)
        m.save(str(tmp_path / f"{name}.keras"))
        back = fc.load_model(str(tmp_path / f"{name}.keras"))
        np.testing.assert_array_equal(back.predict(x), m.predict(x))
    with pytest.raises(ValueError, match=r"takes signals of shape \(L, C\)"):
        fc.models.build("signal-cnn", input_shape=(28, 28, 1))


def _arrays(name, kind):
    one = os.path.join(FIXTURES, f"{name}_{kind}.npy")
    if os.path.exists(one):
        return [np.load(one)]
    out, i = [], 0
    while os.path.exists(os.path.join(FIXTURES, f"{name}_{kind}{i}.npy")):
        out.append(np.load(os.path.join(FIXTURES, f"{name}_{kind}{i}.npy")))
        i += 1
    return out


@pytest.mark.parametrize("name", ["functional_graph", "functional_chain", "functional_merges"])
@pytest.mark.parametrize("ext", [".keras", "_legacy.h5"])
def test_functional_models_predict_and_summarize_as_keras(name, ext):
    """Keras graphs (several inputs and outputs, a shared layer, every merge layer): Keras's
    rule for lists (one input: an array; several: a list; likewise the outputs)."""
    m = fc.load_model(os.path.join(FIXTURES, name + ext))
    xs, want = _arrays(name, "x"), _arrays(name, "pred")
    got = m.predict(xs if len(xs) > 1 else xs[0])
    got = got if isinstance(got, list) else [got]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=1e-5)
    lines = []
    m.summary(line_length=76, print_fn=lines.append)
    with open(os.path.join(FIXTURES, name + "_summary.txt")) as f:
        assert lines[0] == f.read().rstrip("\n")


def test_functional_model_names_shapes_fit_and_save(tmp_path):
    m = fc.load_model(os.path.join(FIXTURES, "functional_graph.keras"))
    assert m.input_names == ["img", "vec"] and m.output_names == ["cls", "reg"]
    assert m.input_shape == [(None, 8, 8, 3), (None, 4)] and m.output_shape == [(None, 3), (None, 1)]
    xs = _arrays("functional_graph", "x")
    with pytest.raises(ValueError, match="2 outputs"):
        m.fit(xs, np.zeros(5), verbose=0)
    with pytest.raises(ValueError, match="2 inputs"):
        m.predict(xs[0])
    m.save(tmp_path / "g.keras")
    back = fc.load_model(tmp_path / "g.keras")
    for g, w in zip(back.predict(xs), _arrays("functional_graph", "pred")):
        np.testing.assert_allclose(g, w, atol=1e-5)
    merges = fc.load_model(os.path.join(FIXTURES, "functional_merges.keras"))
    x, y = np.load(os.path.join(FIXTURES, "functional_merges_x.npy")), np.load(os.path.join(FIXTURES, "functional_merges_y.npy"))
    h = merges.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert len(h.history["loss"]) == 2 and np.isfinite(h.history["loss"]).all()
