// Keras model files (keras.md section 8): Keras 3's `.keras` archive and `.weights.h5`.
//
//   save_model(m, "m.keras")   zip (stored) of metadata.json, config.json, model.weights.h5
//   load_model("m.keras")      a Sequential built from config.json with the weights loaded
//   load_model("m.h5")         a legacy Keras 2 full-model HDF5 file (root attribute
//                              model_config, weights in model_weights/<layer>/<weight_names>)
//   save_weights / load_weights ("w.weights.h5"): the layers' weights alone
//   A compiled model's .keras archive also holds its compile settings and optimizer state
//   (nn/optimizer_state.hpp); load_model restores them for Adam and SGD.
//
// config.json is Keras's serialization of the model (Sequential or Functional; each layer as
// {"module", "class_name", "config", "registered_name", "build_config"}, plus compile_config
// for a compiled model); the weights file holds `layers/<snake_case(ClassName)>[_i]/vars/<j>`
// datasets in Keras's order (kernel, bias, ...), with the attribute `name` on every `vars`
// group, and optimizer/vars for a compiled model. The supported layers are listed in the
// README ("Keras files"); ours, FourierConv1D/2D and SpectralConv1D/2D, are registered custom
// layers ("fourierconv>FourierConv2D"; their Keras side is python/fourierconv/keras.py). A
// FourierConv2D is saved by its named filters (make_filter specs); one built from an arbitrary
// C++ callable cannot be re-created from a file, so saving it is an error that says so.
// Training checkpoints add a member to the same archive (nn/checkpoint.hpp).
//
// Files are untrusted input: every name, size, shape and dtype is checked against the config
// before use, and anything unsupported is an error naming it and the file. Writes are atomic
// (a temporary file flushed to disk, then renamed over the target: io/file.hpp commit_file).
#pragma once

#include <string>

#include "fourierconv/nn/model.hpp"

namespace fourierconv::nn {

void save_model(const Model& model, const std::string& path);
Model load_model(const std::string& path);
// keras.models.model_from_json: a model built from a config's JSON text (a .keras file's
// config.json, a legacy .h5's model_config), its weights freshly initialized as Keras does.
// Throws Error on anything load_model would refuse in a config, and when its parameters
// would not fit in the memory limit (memory_limit.hpp).
Model model_from_json(const std::string& json_text);
void save_weights(const Model& model, const std::string& path);
void load_weights(Model& model, const std::string& path);

}  // namespace fourierconv::nn
