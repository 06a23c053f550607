// Internal: a compiled model's training state in a .keras archive, as Keras 3 stores it, so
// that fit continues where Keras (or we) stopped:
//   config.json "compile_config": the optimizer's config (Adam, SGD), the loss (a name), the
//     metrics;
//   model.weights.h5 "optimizer/vars/0" iteration (int32), "/1" learning_rate (float32), then
//     the slots in Optimizer::state()'s order (Keras's optimizer.variables).
// Other optimizers, learning-rate schedules and loss objects leave the loaded model uncompiled,
// as before (it still loads and predicts).
#pragma once

#include <hdf5.h>

#include "fourierconv/nn/sequential.hpp"
#include "nn/keras_layers.hpp"

namespace fourierconv::nn::keras_io {

// null for an uncompiled model.
json compile_config(const Model& m);
// Compiles m from root["compile_config"] when it holds what we support; returns whether it did.
bool compile_from_config(Model& m, const json& root);
// Writes optimizer/vars into an open HDF5 file (when m is compiled).
void write_optimizer_vars(const Model& m, hid_t file);
// Reads them (when m is compiled and the file has them): Error naming `c.file` when they are
// damaged or of other shapes than the model's.
void read_optimizer_vars(Model& m, hid_t file, const Ctx& c);

}  // namespace fourierconv::nn::keras_io
