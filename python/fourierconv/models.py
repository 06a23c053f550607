"""Keras-style models from Python: load a .keras/.h5 file or build a built-in model by name,
then summary, fit, evaluate, predict and save on numpy arrays.

    model = fourierconv.load_model("model.keras")
    model.summary()                                   # Keras's exact text
    probs = model.predict(x)                          # x: (N, H, W, C), converted to float32

    model = fourierconv.models.build("seed-cnn")      # the CLI's built-in models
    model.fit(x_train, y_train, epochs=1)             # Keras's progress bar on stdout

The models are fourierconv's C++ Model (nn/model.hpp): a Sequential chain or a Functional
graph of several inputs and outputs. A model of several inputs takes a list of arrays, in
its input order (`input_names`); one of several outputs predicts a list, as Keras does.
Arrays are float32 as Keras's default. Training and inference release the GIL.
"""
import os

import numpy as np

from . import _core
from ._checks import integer

__all__ = ["Model", "History", "load_model", "build", "names"]


class History:
    """What fit returns, as Keras's History: `history` maps "loss", "accuracy", "val_loss",
    "val_accuracy" to per-epoch lists; `epoch` lists the epoch indices."""

    def __init__(self, history, epoch_seconds):
        self.history = {k: list(v) for k, v in history.items()}
        self.epoch = list(range(len(epoch_seconds)))
        self.epoch_seconds = list(epoch_seconds)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={sorted(self.history)})"


def _float32(x, name):
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected a real numeric array, got dtype {a.dtype}")
    return np.ascontiguousarray(a, dtype=np.float32)


def _inputs(x, name="x"):
    """x as the list of arrays the model takes (one array or a list/tuple of them)."""
    if isinstance(x, dict):
        raise ValueError(f"{name}: a dict of inputs is not supported; pass a list in the order of model.input_names")
    if isinstance(x, (list, tuple)):
        return [_float32(a, f"{name}[{i}]") for i, a in enumerate(x)]
    return [_float32(x, name)]


def _verbose(v):
    if v == "auto":
        return -1
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v not in (0, 1, 2):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {v!r}")
    return int(v)


def _positive(v, name):
    return integer(v, name, 1)


class Model:
    """A fourierconv model (a Keras Sequential or Functional graph). Use `load_model` or `build`."""

    def __init__(self, core):
        self._m = core

    @property
    def name(self):
        return self._m.name

    @property
    def input_shape(self):
        """(None, H, W, C): Keras's input_shape, with None for the batch; a list of them for a
        model of several inputs."""
        shapes = [(None, *s) for s in self._m.input_shapes]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [(None, *s) for s in self._m.output_shapes]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def input_names(self):
        return list(self._m.input_names)

    @property
    def output_names(self):
        return list(self._m.output_names)

    @property
    def layer_names(self):
        return list(self._m.layer_names)

    def count_params(self):
        return self._m.count_params()

    def summary(self, line_length=None, print_fn=None, detail=False):
        """Prints Keras's model summary (the same text as model.summary() in Keras 3), or passes
        it to print_fn. line_length: as Keras (default: its rule for the terminal width)."""
        text = self._m.summary_text(0 if line_length is None else int(line_length), bool(detail))
        (print_fn or print)(text.rstrip("\n"))

    def compile(self, optimizer="adam", loss="sparse_categorical_crossentropy", metrics=("accuracy",)):
        """optimizer: 'adam' or 'sgd' (Keras's defaults); loss: Keras's name. ValueError otherwise."""
        self._m.compile(str(optimizer), str(loss), [str(m) for m in (metrics or [])])

    def fit(self, x, y, batch_size=32, epochs=1, verbose="auto", validation_split=0.0, validation_data=None,
            shuffle=True, seed=0, checkpoint_dir=None, checkpoint_every=0, resume=False, micro_batches=0):
        """Trains as keras.Model.fit: mini-batches of `batch_size`, Adam (or the compiled
        optimizer; an uncompiled model is compiled with Adam and sparse categorical
        cross-entropy), the last `validation_split` of the data held out before shuffling.
        x: (N, ...) images (a list of arrays for several inputs); y: (N,) integer labels or
        (N, classes) one-hot rows; models of one output. Returns a
        History. verbose: 'auto', 0 (silent), 1 (progress bar), 2 (a line per epoch).
        checkpoint_dir: write checkpoint_dir/checkpoint.keras atomically every
        `checkpoint_every` steps (0: at the end of each epoch): the model, the optimizer state,
        the progress and every random generator's state. resume=True continues the run whose
        checkpoint is there (`epochs` is the run's total) and ends with the weights of an
        uninterrupted run (the C++ nn/checkpoint.hpp; README, "Checkpoints"). seed: the
        shuffling's (the weights' come from set_random_seed). micro_batches: cut each batch into
        that many, summed in a fixed order (0: one), as a run of several MPI ranks with the same
        setting does, so a checkpoint written by such a run resumes here. Data-parallel
        training itself runs from C++ and the command line (mpirun), not from Python."""
        if not self._m.compiled:
            self.compile()
        vx = vy = None
        if validation_data is not None:
            if len(validation_data) != 2:
                raise ValueError("validation_data must be (x_val, y_val)")
            if len(self._m.input_names) != 1:
                raise ValueError("validation_data is for models of one input; use validation_split")
            vx, vy = (_float32(v, n) for v, n in zip(validation_data, ("validation_data[0]", "validation_data[1]")))
        if not 0.0 <= float(validation_split) < 1.0:
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
        every = integer(checkpoint_every, "checkpoint_every", 0)
        if every >= 2**63:
            raise ValueError(f"checkpoint_every must be below 2**63, got {checkpoint_every!r}")
        folder = "" if checkpoint_dir is None else os.fsdecode(os.fspath(checkpoint_dir))
        if checkpoint_dir is not None and not folder:
            raise ValueError("checkpoint_dir must name a folder, got an empty name")
        h, secs = self._m.fit(_inputs(x), _float32(y, "y"), _positive(batch_size, "batch_size"),
                              _positive(epochs, "epochs"), float(validation_split), bool(shuffle), _verbose(verbose),
                              int(seed), vx, vy, folder, every,
                              bool(resume), integer(micro_batches, "micro_batches", 0))
        return History(h, secs)

    def evaluate(self, x, y, batch_size=32, verbose="auto"):
        """[loss, accuracy] over (x, y), as keras.Model.evaluate with metrics=['accuracy']."""
        if not self._m.compiled:
            self.compile()
        loss, acc = self._m.evaluate(_inputs(x), _float32(y, "y"), _positive(batch_size, "batch_size"),
                                     _verbose(verbose))
        return [loss, acc]

    def predict(self, x, batch_size=32):
        """The model's outputs for x (N, ...) (a list of arrays for several inputs): a float32
        array (N, ...), or a list of them for a model of several outputs (Keras's rule)."""
        ys = self._m.predict(_inputs(x), _positive(batch_size, "batch_size"))
        return ys[0] if len(ys) == 1 else ys

    def __call__(self, x):
        return self.predict(x)

    def save(self, path):
        """Writes a Keras 3 .keras archive (the path must end in .keras; Keras opens it, with
        fourierconv.keras imported for FourierConv2D/SpectralConv2D). Legacy .h5 files are read
        by load_model but not written. The file appears whole or not at all."""
        self._m.save(os.fspath(path))

    def __repr__(self):
        return f"<fourierconv Model {self.name!r}: input {self.input_shape}, {self.count_params()} parameters>"


def load_model(path):
    """A model from a Keras .keras archive or a legacy Keras .h5 file (keras.models.load_model).
    FileNotFoundError if the file is missing; ValueError, naming the fault, for files it
    cannot read."""
    p = os.fspath(path)
    if not os.path.exists(p):
        raise FileNotFoundError(f"load_model: no such file: {p!r}")
    return Model(_core.load_model(p))


def build(name, input_shape=None, classes=10):
    """A built-in model by name (`names()`), as the CLI's --model, built for input_shape
    (H, W, C) for the image models, (L, C) for the signal-* models (None: the model's default,
    (28, 28, 1) or (150, 1)), and `classes` outputs."""
    try:
        dims = [] if input_shape is None else [_positive(s, "each entry of input_shape") for s in input_shape]
    except TypeError:
        raise ValueError(f"input_shape must be a sequence of positive integers, got {input_shape!r}") from None
    return Model(_core.build_model(str(name), dims, _positive(classes, "classes")))


def names():
    """{name: description} of the built-in models."""
    return dict(_core.model_names())
