#!/usr/bin/env python3
"""Writes the Keras Functional-model fixtures (tests/fixtures/keras/functional_*): graphs
saved by real Keras 3 (.keras and legacy .h5), their inputs, Keras's predictions, summary
text and, for one, the weights after one SGD step (so our fit on a graph is checked against
Keras's gradients), plus a Keras 2-style copy of a legacy file (class "Model", nested-list
inbound nodes, batch_input_shape) and damaged graph configs for the error tests.

Run:  KERAS_BACKEND=jax COLUMNS=80 build/venv/bin/python tools/keras-reference/make_functional_fixtures.py [NAME...]
With names, only those models' files (NAME.keras, NAME_x.npy, ...) are written.
Inputs of several-input models are NAME_x0.npy, NAME_x1.npy, ...; several outputs NAME_pred0.npy, ...
"""
import json
import os
import shutil
import sys
import zipfile

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ["COLUMNS"] = "80"
import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

L = keras.layers
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "keras")
rng = np.random.default_rng(2026)


ONLY = set(sys.argv[1:])


def save(name, model, xs, legacy=True):
    if ONLY and name not in ONLY:
        return
    model.save(os.path.join(out, name + ".keras"))
    if legacy:
        model.save(os.path.join(out, name + "_legacy.h5"))
    xs = [x.astype(np.float32) for x in xs]
    preds = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    preds = preds if isinstance(preds, list) else [preds]
    for kind, arrays in (("x", xs), ("pred", preds)):
        for i, a in enumerate(arrays):
            suffix = "" if len(arrays) == 1 else str(i)
            np.save(os.path.join(out, f"{name}_{kind}{suffix}.npy"), np.asarray(a, dtype=np.float32))
    lines = []
    model.summary(print_fn=lambda line, **kw: lines.append(line))
    with open(os.path.join(out, name + "_summary.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


# Two inputs, two outputs, a residual Add, a shared Dense applied twice, a Concatenate.
keras.backend.clear_session()
keras.utils.set_random_seed(11)
img = keras.Input((8, 8, 3), name="img")
vec = keras.Input((4,), name="vec")
c = L.Conv2D(4, 3, padding="same", activation="relu")(img)
d = L.Conv2D(3, 1)(c)
e = L.Add()([img, d])
shared = L.Dense(5, activation="relu")
g = shared(L.Dense(4)(L.GlobalAveragePooling2D()(e)))
h = shared(vec)
i = L.Concatenate()([g, h])
graph = keras.Model([img, vec], [L.Dense(3, activation="softmax", name="cls")(i), L.Dense(1, name="reg")(h)], name="graph")
save("functional_graph", graph, [rng.standard_normal((5, 8, 8, 3)), rng.standard_normal((5, 4))])

# A chain written as a Functional model: Keras prints it as a Sequential's table, with its
# InputLayer.
keras.backend.clear_session()
keras.utils.set_random_seed(12)
x = keras.Input((12, 12, 1))
y = L.Conv2D(4, 3, activation="relu")(x)
y = L.MaxPooling2D(2)(y)
y = L.Flatten()(y)
chain = keras.Model(x, L.Dense(3, activation="softmax")(y))
save("functional_chain", chain, [rng.random((4, 12, 12, 1))])

# Every merge layer, with broadcasting (a (1, 1, C) gate times a feature map, as
# squeeze-and-excitation blocks do) and a Concatenate along the height axis, trained one SGD
# step by Keras on a batch of all samples.
keras.backend.clear_session()
keras.utils.set_random_seed(13)
x = keras.Input((6, 5, 3), name="image")
a = L.Conv2D(4, 3, padding="same", activation="tanh")(x)
b = L.Conv2D(4, 1, activation="sigmoid")(x)
gate = L.Dense(4, activation="sigmoid")(L.GlobalAveragePooling2D(keepdims=True)(a))
m = L.Multiply()([a, gate])
s = L.Subtract()([m, b])
v = L.Average()([a, b, s])
mx = L.Maximum()([a, v])
mn = L.Minimum()([b, v])
cat = L.Concatenate(axis=1)([mx, mn])
bn = L.BatchNormalization()(cat)
added = L.Add()([bn, L.Conv2D(4, (12, 1), padding="same")(cat)])
merges = keras.Model(x, L.Dense(3, activation="softmax")(L.Flatten()(added)), name="merges")
xm = rng.standard_normal((8, 6, 5, 3))
ym = np.array([0, 1, 2, 1, 0, 2, 2, 1], dtype=np.float32)
save("functional_merges", merges, [xm])
if not ONLY or "functional_merges" in ONLY:
    np.save(os.path.join(out, "functional_merges_y.npy"), ym)
    merges.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="sparse_categorical_crossentropy")
    merges.fit(xm.astype(np.float32), ym, batch_size=8, epochs=1, shuffle=False, verbose=0)
    merges.save(os.path.join(out, "functional_merges_trained.keras"))

# Shared layers applied to inputs of other shapes than their first node's (Keras's layers
# are shape-agnostic): a Conv2D and a BatchNormalization on a 6x5 and a 4x7 image, a Dense
# on their feature maps, pooled and concatenated.
keras.backend.clear_session()
keras.utils.set_random_seed(14)
a = keras.Input((6, 5, 2), name="wide")
b = keras.Input((4, 7, 2), name="tall")
conv = L.Conv2D(3, 3, padding="same", activation="tanh", name="shared_conv")
bn = L.BatchNormalization(name="shared_bn")
dense = L.Dense(4, activation="relu", name="shared_dense")
pooled = [L.GlobalAveragePooling2D()(dense(bn(conv(t)))) for t in (a, b)]
shared_shapes = keras.Model([a, b], L.Dense(2, name="head")(L.Concatenate()(pooled)), name="shared_shapes")
for w in bn.non_trainable_weights:  # moving statistics away from 0 and 1, so the test sees them used
    w.assign(rng.uniform(0.5, 1.5, w.shape).astype(np.float32))
save("functional_shared_shapes", shared_shapes, [rng.standard_normal((3, 6, 5, 2)), rng.standard_normal((3, 4, 7, 2))])
if ONLY:
    sys.exit(0)


def keras2(src, dst):
    """A copy of a legacy .h5 whose model_config is a Keras 2 (tf.keras 2.x) Functional config:
    class "Model", InputLayer with batch_input_shape, inbound nodes as nested lists
    [[[layer, node, tensor, {}], ...]], plain-string dtypes."""
    shutil.copy(os.path.join(out, src), os.path.join(out, dst))
    with h5py.File(os.path.join(out, dst), "r+") as f:
        cfg = json.loads(f.attrs["model_config"])
        for entry in cfg["config"]["layers"]:
            c = entry["config"]
            if entry["class_name"] == "InputLayer":
                c["batch_input_shape"] = c.pop("batch_shape")
            c["dtype"] = "float32"
            nodes = []
            for node in entry["inbound_nodes"]:
                arg = node["args"][0]
                tensors = arg if isinstance(arg, list) else [arg]
                nodes.append([[*t["config"]["keras_history"], {}] for t in tensors])
            entry["inbound_nodes"] = nodes
        cfg["class_name"] = "Model"
        f.attrs["model_config"] = json.dumps(cfg)
        f.attrs["keras_version"] = "2.4.0"


keras2("functional_graph_legacy.h5", "functional_graph_keras2_legacy.h5")


def keras213(src, dst):
    """A copy of a .keras archive as Keras 2.13-2.15 wrote it: the weights under
    _layer_checkpoint_dependencies/ rather than layers/, a Keras 2 style config (nested-list
    inbound nodes, batch_input_shape, plain dtypes) and keras_version 2.13.1."""
    import io
    zin = zipfile.ZipFile(os.path.join(out, src))
    buf = io.BytesIO(zin.read("model.weights.h5"))
    with h5py.File(buf, "r+") as f:
        f.move("layers", "_layer_checkpoint_dependencies")
    cfg = json.loads(zin.read("config.json"))
    for entry in cfg["config"]["layers"]:
        c = entry["config"]
        if entry["class_name"] == "InputLayer":
            c["batch_input_shape"] = c.pop("batch_shape")
        c["dtype"] = "float32"
        entry["inbound_nodes"] = [[[*t["config"]["keras_history"], {}] for t in
                                   (n["args"][0] if isinstance(n["args"][0], list) else [n["args"][0]])]
                                  for n in entry["inbound_nodes"]]
    cfg["module"] = "keras.engine.functional"
    meta = json.loads(zin.read("metadata.json"))
    meta["keras_version"] = "2.13.1"
    with zipfile.ZipFile(os.path.join(out, dst), "w") as z:
        z.writestr("metadata.json", json.dumps(meta))
        z.writestr("config.json", json.dumps(cfg))
        z.writestr("model.weights.h5", buf.getvalue())


keras213("functional_graph.keras", "functional_graph_keras213.keras")


def damaged(name, edit):
    src = zipfile.ZipFile(os.path.join(out, "functional_graph.keras"))
    with zipfile.ZipFile(os.path.join(out, name), "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "config.json":
                cfg = json.loads(data)
                edit(cfg["config"])
                data = json.dumps(cfg).encode()
            dst.writestr(item.filename, data)


def layer(cfg, name):
    return next(e for e in cfg["layers"] if e["name"] == name)


def history(cfg, name, k=0):
    return layer(cfg, name)["inbound_nodes"][0]["args"][0][k]["config"]["keras_history"]


def missing(cfg):  # the Add takes a layer that is not in the config
    history(cfg, "add", 1)[0] = "conv2d_9"


def cycle(cfg):  # conv2d takes add's output, which depends on conv2d
    layer(cfg, "conv2d")["inbound_nodes"][0]["args"][0]["config"]["keras_history"] = ["add", 0, 0]


def shapes(cfg):  # the Add merges (8, 8, 3) with conv2d's (8, 8, 4)
    history(cfg, "add", 1)[0] = "conv2d"


def empty_name(cfg):  # a layer named "" (refused: graph configs refer to layers by name)
    layer(cfg, "reg")["config"]["name"] = ""
    layer(cfg, "reg")["name"] = ""
    cfg["output_layers"][1][0] = ""


def shuffled(cfg):  # the layer list out of graph order: Keras loads it by the graph, so must we
    cfg["layers"].reverse()


damaged("bad_functional_empty_name.keras", empty_name)
damaged("functional_graph_shuffled.keras", shuffled)
damaged("bad_functional_missing.keras", missing)
damaged("bad_functional_cycle.keras", cycle)
damaged("bad_functional_shapes.keras", shapes)
print("wrote", sorted(f for f in os.listdir(out) if "functional" in f))
