#!/usr/bin/env python3
"""Writes the Keras fixtures the C++ tests compare against (tests/fixtures/keras/):
model files saved by real Keras 3, fixed inputs, Keras's predictions and summary text.

Run:  tools/keras-reference/setup.sh && KERAS_BACKEND=jax COLUMNS=80 python3 tools/keras-reference/make_fixtures.py [NAME...]
(with names, only those models are written: the others keep their files byte for byte).
"""
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ["COLUMNS"] = "80"  # summary at 76 columns, as fourierconv prints it when piped
import keras  # noqa: E402
import numpy as np  # noqa: E402

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "keras")
os.makedirs(out, exist_ok=True)
keras.utils.set_random_seed(20261127)
rng = np.random.default_rng(7)


only = set(sys.argv[1:])


def save(name, model, x, legacy=True):
    if only and name not in only:
        return
    model.save(os.path.join(out, name + ".keras"))
    if legacy:  # Keras 3.15 cannot write the augmentation layers into it (a deepcopy fails)
        model.save(os.path.join(out, name + "_legacy.h5"))  # Keras 2's full-model HDF5 format
    np.save(os.path.join(out, name + "_x.npy"), x.astype(np.float32))
    np.save(os.path.join(out, name + "_pred.npy"), model.predict(x, verbose=0).astype(np.float32))
    lines = []
    model.summary(print_fn=lambda line, **kw: lines.append(line))
    with open(os.path.join(out, name + "_summary.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


keras.backend.clear_session()
seed = keras.Sequential([
    keras.Input((28, 28, 1)),
    keras.layers.Conv2D(32, (3, 3), activation="relu"),
    keras.layers.MaxPooling2D((2, 2)),
    keras.layers.Flatten(),
    keras.layers.Dense(10, activation="softmax"),
])
save("seed", seed, rng.random((6, 28, 28, 1)))

keras.backend.clear_session()
every = keras.Sequential([
    keras.Input((20, 17, 2)),
    keras.layers.Conv2D(6, (3, 2), strides=(2, 1), padding="same", activation="tanh"),
    keras.layers.AveragePooling2D((2, 2), padding="same"),
    keras.layers.Conv2D(5, (2, 3), dilation_rate=(1, 2), activation="linear", use_bias=False),
    keras.layers.MaxPooling2D((3, 2), strides=(1, 2), padding="valid"),
    keras.layers.Activation("sigmoid"),
    keras.layers.Dropout(0.25),
    keras.layers.Flatten(),
    keras.layers.Dense(12, activation="relu"),
    keras.layers.Dense(4, activation="softmax"),
])
save("every_layer", every, rng.standard_normal((5, 20, 17, 2)))

# The 1-D layers (issue 12) and global pooling, each model with its own generator so that
# adding one leaves the others' files unchanged.
rng1 = np.random.default_rng(12)
keras.backend.clear_session()
keras.utils.set_random_seed(20261201)
every_1d = keras.Sequential([
    keras.Input((37, 3)),
    keras.layers.Conv1D(5, 3, padding="causal", dilation_rate=2, activation="relu"),
    keras.layers.Conv1D(4, 4, strides=2, padding="same", activation="tanh"),
    keras.layers.MaxPooling1D(2),
    keras.layers.AveragePooling1D(3, strides=1, padding="same"),
    keras.layers.Conv1D(6, 3, use_bias=False),
    keras.layers.MaxPooling1D(3, strides=2, padding="same"),
    keras.layers.Conv1D(4, 2, strides=3, padding="causal"),
    keras.layers.GlobalAveragePooling1D(),
    keras.layers.Dense(3, activation="softmax"),
])
save("every_layer_1d", every_1d, rng1.standard_normal((4, 37, 3)))

keras.backend.clear_session()
global_pools = keras.Sequential([
    keras.Input((9, 7, 2)),
    keras.layers.Conv2D(4, (3, 3), padding="same", activation="relu"),
    keras.layers.GlobalAveragePooling2D(keepdims=True),
    keras.layers.Conv2D(3, (1, 1)),
    keras.layers.GlobalMaxPooling2D(),
    keras.layers.Dense(2),
])
save("global_2d", global_pools, rng1.standard_normal((3, 9, 7, 2)))

keras.backend.clear_session()
global_1d = keras.Sequential([
    keras.Input((16, 2)),
    keras.layers.Conv1D(4, 5),
    keras.layers.GlobalMaxPooling1D(keepdims=True),
    keras.layers.Flatten(),
    keras.layers.Dense(2),
])
save("global_1d", global_1d, rng1.standard_normal((3, 16, 2)))
keras.backend.clear_session()
acts = ["elu", "selu", "gelu", "swish", "softplus", "softsign", "hard_sigmoid", "relu6"]
act_layers = [keras.Input((6, 5, 2)), keras.layers.Conv2D(4, (2, 2), activation="gelu"),
              keras.layers.Conv2D(4, (2, 2), activation="silu"), keras.layers.Flatten()]
for a in acts:
    act_layers.append(keras.layers.Dense(6, activation=a))
act_layers += [keras.layers.Activation("exponential"), keras.layers.Activation("elu"), keras.layers.Dense(3)]
save("activations", keras.Sequential(act_layers), rng1.standard_normal((4, 6, 5, 2)))
keras.backend.clear_session()
bn_layers = lambda: [  # noqa: E731
    keras.Input((8, 8, 2)),
    keras.layers.Conv2D(4, (3, 3), padding="same"),
    keras.layers.BatchNormalization(),
    keras.layers.Activation("relu"),
    keras.layers.Conv2D(3, (3, 3)),
    keras.layers.BatchNormalization(center=False, momentum=0.9, epsilon=0.01),
    keras.layers.Flatten(),
    keras.layers.Dense(5),
    keras.layers.BatchNormalization(scale=False),
    keras.layers.Dense(3, activation="softmax"),
]
bn = keras.Sequential(bn_layers())
if not only or "batchnorm" in only:  # a few steps so that the moving statistics are not the initial ones
    bn.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    bn.fit(rng1.standard_normal((64, 8, 8, 2)) * 2 + 0.5, rng1.integers(0, 3, 64), epochs=3, batch_size=16, verbose=0)
keras.backend.clear_session()
bn_saved = keras.Sequential(bn_layers())  # uncompiled, as the other fixtures: the trained weights
bn_saved.set_weights(bn.get_weights())
save("batchnorm", bn_saved, rng1.standard_normal((4, 8, 8, 2)))
keras.backend.clear_session()
L = keras.layers
more = keras.Sequential([
    keras.Input((10, 9, 2)),
    L.Rescaling(2.0, offset=-0.5),
    L.RandomFlip("horizontal"), L.RandomRotation(0.1), L.RandomZoom(0.1), L.RandomTranslation(0.1, 0.1),
    L.RandomContrast(0.2), L.RandomBrightness(0.1),
    L.ZeroPadding2D(((1, 2), (0, 1))),
    L.Conv2D(4, (3, 3)),
    L.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.2),
    L.Cropping2D(((1, 0), (2, 1))),
    L.UpSampling2D((2, 1)),
    L.PReLU(shared_axes=[1, 2]),
    L.SpatialDropout2D(0.3),
    L.LayerNormalization(),
    L.UpSampling2D((2, 3), interpolation="bilinear"),
    L.LeakyReLU(0.2),
    L.Permute((2, 1, 3)),
    L.Reshape((50, 48)),
    L.ELU(0.5),
    L.GaussianNoise(0.1),
    L.Reshape((-1,)),
    L.Dense(6),
    L.Softmax(),
])
for layer in more.layers:  # every weight away from its initial value (PReLU's alpha starts at 0)
    layer.set_weights([rng1.standard_normal(w.shape).astype(np.float32) * 0.5 + (1.0 if "gamma" in w.path else 0.0)
                       for w in layer.weights])
save("more_layers", more, rng1.standard_normal((3, 10, 9, 2)), legacy=False)
keras.backend.clear_session()
R, C = keras.regularizers, keras.constraints
reg = keras.Sequential([
    keras.Input((7, 6, 2)),
    L.Conv2D(3, (3, 3), activation="relu", kernel_regularizer=R.L2(0.01), bias_regularizer=R.L1(0.001),
             activity_regularizer=R.L1L2(1e-4, 1e-3), kernel_constraint=C.MaxNorm(0.6, axis=[0, 1, 2])),
    L.Flatten(),
    L.Dense(5, kernel_regularizer=R.L1L2(0.001, 0.002), kernel_constraint=C.UnitNorm(axis=0), activation="tanh"),
    L.Dense(3, activation="softmax", bias_constraint=C.NonNeg(), kernel_constraint=C.MinMaxNorm(0.5, 1.2, rate=0.7)),
])
if not only or "regularized" in only:
    # Keras's loss with the penalties, and its weights after one SGD step on one batch
    # (tests/nn/test_regularizers.cpp repeats both).
    # No weight exactly 0: the backends differ on |w|'s gradient there (JAX 1, TensorFlow and
    # torch 0; ours is 0), and zero-initialized biases would test that convention only.
    reg.set_weights([w + rng1.uniform(0.05, 0.2, w.shape).astype(np.float32) * rng1.choice([-1, 1], w.shape)
                     for w in reg.get_weights()])
    xr = rng1.standard_normal((6, 7, 6, 2)).astype(np.float32)
    yr = np.array([0, 1, 2, 1, 0, 2])
    save("regularized", reg, xr)
    np.save(os.path.join(out, "regularized_y.npy"), yr.astype(np.float32))
    reg.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="sparse_categorical_crossentropy")
    ev = reg.evaluate(xr, yr, batch_size=6, verbose=0)
    reg.train_on_batch(xr, yr)
    np.save(os.path.join(out, "regularized_eval.npy"), np.array([ev], dtype=np.float32))
    np.save(os.path.join(out, "regularized_trained.npy"),
            np.concatenate([np.asarray(w).ravel() for w in reg.get_weights()]).astype(np.float32))

keras.backend.clear_session()
dw = keras.Sequential([
    keras.Input((9, 8, 3)),
    L.DepthwiseConv2D((3, 3), depth_multiplier=2, padding="same", strides=(2, 1), activation="relu"),
    L.SeparableConv2D(4, (3, 2), dilation_rate=(1, 2), depth_multiplier=2, activation="tanh"),
    L.DepthwiseConv2D((2, 2), use_bias=False),
    L.SeparableConv2D(3, (2, 2), padding="same", strides=(2, 2)),
    L.Conv2DTranspose(4, (3, 3), strides=(2, 2), padding="same", activation="relu"),
    L.Conv2DTranspose(2, (2, 3), strides=(1, 2), dilation_rate=(1, 1)),
    L.Conv2DTranspose(2, (3, 2), strides=(3, 1), padding="same"),
    L.Flatten(),
    L.Dense(2),
])
for layer in dw.layers:  # biases away from 0 too
    layer.set_weights([w + rng1.uniform(-0.3, 0.3, w.shape).astype(np.float32) for w in layer.get_weights()])
save("depthwise", dw, rng1.standard_normal((3, 9, 8, 3)))

keras.backend.clear_session()
resumed = keras.Sequential([  # no bias before the BatchNormalization: its gradient is 0 up to
    keras.Input((6, 5, 1)),     # rounding, which Adam's normalized step would turn into noise
    L.Conv2D(3, (3, 3), activation="relu", use_bias=False),
    L.BatchNormalization(),
    L.Flatten(),
    L.Dense(3, activation="softmax"),
])
if not only or "resume" in only:
    # Trained a few steps with Adam and saved with its state; then one more step from that
    # state on a fixed batch, whose resulting weights a resumed fit here must reproduce.
    xs = rng1.standard_normal((12, 6, 5, 1)).astype(np.float32)
    ys = np.arange(12) % 3
    resumed.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy",
                    metrics=["accuracy"])
    resumed.fit(xs, ys, epochs=2, batch_size=4, shuffle=False, verbose=0)
    save("resume", resumed, xs, legacy=False)
    np.save(os.path.join(out, "resume_y.npy"), ys.astype(np.float32))
    # A damaged copy: one optimizer variable removed from model.weights.h5.
    import io
    import zipfile

    import h5py
    with zipfile.ZipFile(os.path.join(out, "resume.keras")) as z:
        members = {n: z.read(n) for n in z.namelist()}
    buf = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buf, "r+") as f:
        del f["optimizer/vars/5"]
    members["model.weights.h5"] = buf.getvalue()
    with zipfile.ZipFile(os.path.join(out, "bad_optimizer_state.keras"), "w", zipfile.ZIP_STORED) as z:
        for n, data in members.items():
            z.writestr(n, data)
    resumed.train_on_batch(xs[:6], ys[:6])
    np.save(os.path.join(out, "resume_next.npy"),
            np.concatenate([np.asarray(w).ravel() for w in resumed.get_weights()]).astype(np.float32))

if not only or "resume" in only:
    # Compiled and never fitted (Keras writes no optimizer slots yet), and a layer frozen after
    # training (Keras keeps its slots): both must load compiled.
    keras.backend.clear_session()
    un = keras.Sequential([keras.Input((5,)), L.Dense(3), L.Dense(2)])
    un.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="mse")
    un.save(os.path.join(out, "compiled_unfitted.keras"))
    keras.backend.clear_session()
    fr = keras.Sequential([keras.Input((5,)), L.Dense(3), L.Dense(2, activation="softmax")])
    fr.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    fr.fit(rng1.standard_normal((8, 5)), np.arange(8) % 2, epochs=1, batch_size=4, verbose=0)
    fr.layers[0].trainable = False
    fr.save(os.path.join(out, "frozen_after_fit.keras"))

keras.backend.clear_session()
inf_relu = keras.Sequential([keras.Input((4,)), L.Dense(3), L.ReLU(max_value=float("inf")), L.Dense(2)])
save("relu_inf", inf_relu, rng1.standard_normal((3, 4)) * 3, legacy=False)  # "max_value": Infinity


def keras21(src, dst):
    """A copy of a legacy .h5 whose model_config is written as Keras 2.0/2.1 wrote it: the
    Sequential config a bare list of layers (the input shape in the first layer's
    batch_input_shape, no InputLayer), old-style layer configs, as a fixed-length byte string."""
    import json
    import shutil

    import h5py
    shutil.copy(os.path.join(out, src), os.path.join(out, dst))
    with h5py.File(os.path.join(out, dst), "r+") as f:
        cfg = json.loads(f.attrs["model_config"])
        layers = cfg["config"]["layers"]
        shape = layers[0]["config"]["batch_shape"]
        layers = layers[1:]
        for entry in layers:
            c = entry["config"]
            c["dtype"] = "float32"  # Keras 2 wrote a plain dtype
            for k in ("kernel_initializer", "bias_initializer"):
                if k in c:
                    c[k] = {"class_name": c[k]["class_name"], "config": {}}
        layers[0]["config"]["batch_input_shape"] = shape
        f.attrs["model_config"] = np.bytes_(json.dumps({"class_name": "Sequential", "config": layers}))
        f.attrs["keras_version"] = np.bytes_("2.1.6")


if not only or "seed_keras21" in only:
    keras21("seed_legacy.h5", "seed_keras21_legacy.h5")
print("wrote", sorted(os.listdir(out)))
if only:
    sys.exit(0)

# Damaged copies of seed.keras for the error tests: an unsupported layer class, a config whose
# Conv2D no longer matches the stored weights, a config that is not JSON, a missing member.
import json  # noqa: E402
import zipfile  # noqa: E402


def rewrite(name, edit_config=None, drop=None, raw_config=None):
    src = zipfile.ZipFile(os.path.join(out, "seed.keras"))
    with zipfile.ZipFile(os.path.join(out, name), "w") as dst:
        for item in src.infolist():
            if item.filename == drop:
                continue
            data = src.read(item.filename)
            if item.filename == "config.json":
                if raw_config is not None:
                    data = raw_config
                elif edit_config:
                    cfg = json.loads(data)
                    edit_config(cfg)
                    data = json.dumps(cfg).encode()
            dst.writestr(item.filename, data)


def unsupported(cfg):
    cfg["config"]["layers"][1]["class_name"] = "LSTM"


def mismatch(cfg):
    cfg["config"]["layers"][1]["config"]["filters"] = 16


rewrite("bad_unsupported_layer.keras", unsupported)
rewrite("bad_weight_shape.keras", mismatch)
rewrite("bad_config_json.keras", raw_config=b"{not json")
rewrite("bad_missing_weights.keras", drop="model.weights.h5")


def huge(cfg):
    cfg["config"]["layers"][1]["config"]["filters"] = 16000000  # 576 MB of kernel for a 1 MB file


rewrite("bad_huge_layer.keras", huge)
