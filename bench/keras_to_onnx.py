#!/usr/bin/env python3
"""Writes an ONNX model of a Keras 3 .keras file, for the ONNX Runtime side of the benchmark
(bench/keras_peers.py). Benchmark tooling only, never part of the library: it reads the
archive's config.json and model.weights.h5 itself (json, h5py, onnx; no Keras, no TensorFlow),
and covers the layers of the benchmarked models: Conv2D, DepthwiseConv2D, BatchNormalization,
Dense, Activation (relu, relu6, sigmoid, swish/silu, softmax, linear), ReLU (max_value),
ZeroPadding2D, Max/AveragePooling2D, GlobalAveragePooling2D, Flatten, Dropout, Rescaling,
Normalization, Reshape, Add, Multiply, Concatenate. Anything else is an error naming it.

The ONNX graph computes in NCHW (ONNX's convolution layout): the NHWC input is transposed
once, and back before a Flatten or at a 4-D output. Its predictions are checked against ours
by the benchmark before any timing.

Usage: keras_to_onnx.py MODEL.keras OUT.onnx
"""
import json
import re
import sys
import zipfile

import h5py
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def snake(name):
    s = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", s).lower()


def load(path):
    z = zipfile.ZipFile(path)
    cfg = json.loads(z.read("config.json"))
    h5 = h5py.File(__import__("io").BytesIO(z.read("model.weights.h5")), "r")
    layers = cfg["config"]["layers"]
    seen, weights = {}, {}
    for entry in layers:  # Keras's weight paths: snake_case(class), deduplicated in layer order
        base = snake(entry["class_name"])
        k = seen.get(base, 0)
        seen[base] = k + 1
        group = f"layers/{base if k == 0 else f'{base}_{k}'}/vars"
        name = entry["config"]["name"]
        weights[name] = [np.asarray(h5[group][str(j)]) for j in range(len(h5[group]))] if group in h5 else []
    return cfg, layers, weights


def convert(path, out):
    cfg, layers, weights = load(path)
    nodes, inits = [], []
    counter = [0]

    def const(arr, hint):
        counter[0] += 1
        name = f"{hint}_{counter[0]}"
        inits.append(numpy_helper.from_array(np.asarray(arr, dtype=np.float32) if np.asarray(arr).dtype.kind == "f"
                                             else np.asarray(arr), name))
        return name

    def node(op, inputs, name, **attrs):
        nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    rank = {}  # tensor -> rank (with batch); 4-D tensors are NCHW in the graph
    sequential = cfg["class_name"] == "Sequential"
    tensors, inputs, outputs = {}, [], []

    def source(entry, k=0):
        if sequential:
            return prev[0]
        args = entry["inbound_nodes"][0]["args"][0]
        items = args if isinstance(args, list) else [args]
        return [tensors[t["config"]["keras_history"][0]] for t in items][k] if k >= 0 else \
            [tensors[t["config"]["keras_history"][0]] for t in items]

    prev = [None]
    for entry in layers:
        cls, c, name = entry["class_name"], entry["config"], entry["config"]["name"]
        w = weights.get(name, [])
        if cls == "InputLayer":
            shape = c["batch_shape"]
            inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["n", *shape[1:]]))
            t = name
            if len(shape) == 4:
                t = node("Transpose", [name], name + "_nchw", perm=[0, 3, 1, 2])
            rank[t] = len(shape)
            tensors[name] = t
            prev[0] = t
            continue
        x = source(entry, 0) if cls not in ("Add", "Multiply", "Concatenate") else source(entry, -1)
        act = c.get("activation", "linear")
        if cls == "Conv2D" or cls == "DepthwiseConv2D":
            kh, kw = c["kernel_size"]
            k = w[0]
            if cls == "Conv2D":
                kernel = k.transpose(3, 2, 0, 1)  # (F, C, kh, kw)
                group = 1
            else:
                C, M = k.shape[2], k.shape[3]
                kernel = k.reshape(kh, kw, C * M).transpose(2, 0, 1)[:, None]  # (C M, 1, kh, kw)
                group = C
            ins = [x, const(kernel, name + "_k")]
            if c["use_bias"]:
                ins.append(const(w[1], name + "_b"))
            pad = "SAME_UPPER" if c["padding"] == "same" else "VALID"
            y = node("Conv", ins, name, strides=list(c["strides"]), dilations=list(c["dilation_rate"]), group=group, auto_pad=pad)
        elif cls == "BatchNormalization":
            gamma = w.pop(0) if c["scale"] else np.ones_like(w[-1])
            beta = w.pop(0) if c["center"] else np.zeros_like(w[-1])
            mean, var = w
            if rank[x] == 4:
                y = node("BatchNormalization", [x, const(gamma, "g"), const(beta, "b"), const(mean, "m"), const(var, "v")], name,
                         epsilon=float(c["epsilon"]))
            else:
                s = gamma / np.sqrt(var + c["epsilon"])
                y = node("Add", [node("Mul", [x, const(s, "s")], name + "_s"), const(beta - mean * s, "t")], name)
        elif cls == "Dense":
            y = node("Gemm", [x, const(w[0], name + "_k")] + ([const(w[1], name + "_b")] if c["use_bias"] else []), name)
        elif cls == "Activation":
            y, act = x, c["activation"]
        elif cls == "ReLU":
            assert c.get("negative_slope", 0) == 0 and c.get("threshold", 0) == 0, name
            mv = c.get("max_value")
            y = node("Clip", [x, const(np.float32(0), "lo")] + ([const(np.float32(mv), "hi")] if mv is not None else []), name)
        elif cls == "ZeroPadding2D":
            (t, b), (l, r) = c["padding"]
            y = node("Pad", [x, const(np.array([0, 0, t, l, 0, 0, b, r], np.int64), "pads")], name)
        elif cls in ("MaxPooling2D", "AveragePooling2D"):
            pad = "SAME_UPPER" if c["padding"] == "same" else "VALID"
            y = node("MaxPool" if cls == "MaxPooling2D" else "AveragePool", [x], name, kernel_shape=list(c["pool_size"]),
                     strides=list(c["strides"] or c["pool_size"]), auto_pad=pad)
        elif cls == "GlobalAveragePooling2D":
            y = node("GlobalAveragePool", [x], name + "_g")
            if not c.get("keepdims"):
                y = node("Flatten", [y], name)
                rank[y] = 2
            else:
                rank[y] = 4
            tensors[name] = prev[0] = y
            continue
        elif cls == "Flatten":
            if rank[x] == 4:
                x = node("Transpose", [x], name + "_nhwc", perm=[0, 2, 3, 1])
            y = node("Flatten", [x], name)
            rank[y] = 2
            tensors[name] = prev[0] = y
            continue
        elif cls == "Dropout":
            y = x
        elif cls == "Rescaling":
            sc = np.asarray(c["scale"], np.float32).reshape(-1, 1, 1) if rank[x] == 4 else np.asarray(c["scale"], np.float32)
            of = np.asarray(c["offset"], np.float32).reshape(-1, 1, 1) if rank[x] == 4 else np.asarray(c["offset"], np.float32)
            y = node("Add", [node("Mul", [x, const(sc, "sc")], name + "_m"), const(of, "of")], name)
        elif cls == "Normalization":
            mean, var = w[0], w[1]
            sd = np.maximum(np.sqrt(var), 1e-7)
            shape = (-1, 1, 1) if rank[x] == 4 else (-1,)
            y = node("Div", [node("Sub", [x, const(mean.reshape(shape), "mu")], name + "_c"), const(sd.reshape(shape), "sd")], name)
        elif cls == "Reshape":
            target = list(c["target_shape"])
            assert len(target) == 3 and target[0] == 1 and target[1] == 1, f"{name}: only (1, 1, C) reshapes"
            y = node("Reshape", [x, const(np.array([0, target[2], 1, 1], np.int64), "shape")], name)
            rank[y] = 4
            tensors[name] = prev[0] = y
            continue
        elif cls in ("Add", "Multiply"):
            y = x[0]
            for k, other in enumerate(x[1:]):
                y = node("Add" if cls == "Add" else "Mul", [y, other], name if k == len(x) - 2 else f"{name}_{k}")
            rank[y] = rank[x[0]]
        elif cls == "Concatenate":
            axis = c["axis"]
            r = rank[x[0]]
            if r == 4:
                axis = {-1: 1, 3: 1, 1: 2, 2: 3}[axis]
            y = node("Concat", x, name, axis=axis)
            rank[y] = r
        else:
            raise SystemExit(f"keras_to_onnx: layer {name} ({cls}) is not supported")
        rank.setdefault(y, rank.get(x if not isinstance(x, list) else x[0], 2))
        if act in ("relu",):
            y = node("Relu", [y], name + "_relu")
        elif act == "relu6":
            y = node("Clip", [y, const(np.float32(0), "lo"), const(np.float32(6), "hi")], name + "_relu6")
        elif act == "sigmoid":
            y = node("Sigmoid", [y], name + "_sigmoid")
        elif act in ("swish", "silu"):
            y = node("Mul", [y, node("Sigmoid", [y], name + "_sig")], name + "_swish")
        elif act == "softmax":
            y = node("Softmax", [y], name + "_softmax", axis=-1)
        elif act not in ("linear", None):
            raise SystemExit(f"keras_to_onnx: activation {act} of {name} is not supported")
        rank.setdefault(y, rank.get(x if not isinstance(x, list) else x[0], 2))
        tensors[name] = prev[0] = y
    if sequential:
        out_names = [prev[0]]
    else:
        out_names = [tensors[o[0]] for o in (cfg["config"]["output_layers"] if isinstance(cfg["config"]["output_layers"][0], list)
                                             else [cfg["config"]["output_layers"]])]
    final = []
    for o in out_names:
        if rank.get(o) == 4:
            o = node("Transpose", [o], o + "_nhwc", perm=[0, 2, 3, 1])
        final.append(node("Identity", [o], f"output_{len(final)}"))
    outputs = [helper.make_tensor_value_info(f, TensorProto.FLOAT, ["n"] + [None] * (rank.get(o, 2) - 1)) for f, o in zip(final, out_names)]
    graph = helper.make_graph(nodes, cfg["config"]["name"], inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, out)


if __name__ == "__main__":
    convert(sys.argv[1], sys.argv[2])
