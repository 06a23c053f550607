// Training checkpoints: what `fit` needs to stop anywhere and continue exactly (issue 13).
//
// A checkpoint is one file, DIR/checkpoint.keras: a Keras 3 `.keras` archive as save_model
// writes it (the model, its compile config, and the optimizer state in Keras's layout, so
// Keras can load it and continue training: Adam's step count and moments are
// optimizer/vars), plus one member Keras ignores, `fourierconv_checkpoint.json`: the format
// version, the run's settings (global batch size, sample count, validation split, shuffle,
// seed), the epoch and step reached, the epoch's sample order, the running sums of the
// epoch's metrics, the history of finished epochs, and the state of every random generator
// (the shuffle's, the global one, and each Dropout / SpatialDropout2D / GaussianNoise layer's
// on every rank).
//
// Written atomically: a temporary file beside it, flushed to disk, renamed over the old one,
// the folder flushed. A process that dies while writing leaves the previous checkpoint whole.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fourierconv/nn/model.hpp"

namespace fourierconv::nn {

// The file name of the checkpoint inside its folder.
inline constexpr const char* kCheckpointFile = "checkpoint.keras";

// Where a training run stands, beyond the model's weights and optimizer state.
struct TrainingState {
  // The run's settings: a resumed run must have the same (else the result would differ).
  std::size_t global_batch = 0;    // batch size x ranks
  std::size_t samples = 0;         // training samples (after the validation split)
  double validation_split = 0;
  bool shuffle = true;
  std::size_t micro_batches = 1;   // the summation order (FitArgs::micro_batches, resolved)
  std::uint64_t seed = 0;
  std::size_t epochs = 0;          // the run's total (may grow on resume)
  // Progress: `step` steps of epoch `epoch` (0-based) are done.
  std::size_t epoch = 0, step = 0;
  std::vector<std::size_t> order;  // this epoch's sample order (after its shuffle)
  double loss_sum = 0;             // the epoch's running sums (the progress bar's figures)
  std::size_t seen = 0, correct = 0;
  std::map<std::string, std::vector<double>> history;  // finished epochs ("loss", ...)
  // Random generators, as std::mt19937_64's text form.
  std::string shuffle_rng, global_rng;
  // Per rank (index), per layer (its index in model.layers(), as text): the generators of the
  // layers that have one.
  std::vector<std::map<std::string, std::string>> layer_rngs;
};

// Writes DIR/checkpoint.keras (creating DIR) for a built, compiled model. Error naming the
// folder when it cannot be written; the previous checkpoint is then untouched.
void save_checkpoint(const Model& model, const TrainingState& state, const std::string& dir);

// True when DIR holds a checkpoint file.
bool has_checkpoint(const std::string& dir);

// Loads DIR's checkpoint into `model` (its weights and optimizer state) and returns the run's
// state. The model must be built and compiled with the checkpoint's architecture and
// optimizer. `expected`, when given, holds the settings the resuming run has (global_batch,
// samples, validation_split, shuffle, micro_batches): the checkpoint must have the same.
// Everything is checked before the model is touched: every field's type and range, the sample
// order (a permutation), the step within its epoch, the history's length, every generator's
// state (one per layer that has a generator, on every rank). Errors, each naming the file: no
// checkpoint in DIR; not a checkpoint (a plain .keras file) or of another format version; a
// damaged file; another model ("a checkpoint of another model: ..."); another optimizer;
// other settings. If the weights themselves turn out damaged, the model's weights are put
// back as they were before the error.
TrainingState load_checkpoint(Model& model, const std::string& dir, const TrainingState* expected = nullptr);

}  // namespace fourierconv::nn
