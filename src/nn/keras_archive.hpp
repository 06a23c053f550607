// Internal: the pieces of a .keras archive that save_model and load_model are made of, for the
// training checkpoints (nn/checkpoint.hpp), which add a member to the same archive.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "fourierconv/nn/model.hpp"
#include "nn/keras_layers.hpp"

namespace fourierconv::nn::keras_io {

using ArchiveMembers = std::vector<std::pair<std::string, std::vector<unsigned char>>>;

// metadata.json, config.json (with compile_config and the optimizer's config when compiled)
// and model.weights.h5 (with the optimizer state), as save_model writes them.
ArchiveMembers archive_members(const Model& model);
// Writes a stored zip of `members` atomically: a temporary beside `path`, flushed to disk
// (fsync), renamed over it, and the folder flushed. Error: save_model's wording.
void write_archive(const std::string& path, const ArchiveMembers& members);
// The archive's three Keras members and those of `extra` that it has (each checked: size,
// CRC-32, the memory limit). Error naming `path` when it is not a readable zip.
std::map<std::string, std::vector<unsigned char>> read_archive(const std::string& path, const std::vector<std::string>& extra);
// config.json's text parsed as Keras writes it (Infinity and NaN tokens, depth limit).
json parse_config(const std::vector<unsigned char>& bytes, const Ctx& c);
// The model's config with its own and its layers' names replaced by their positions: equal for
// the same architecture built twice (checkpoints and data-parallel fit compare it).
json architecture(const Model& m);
// Loads model.weights.h5 into m, whose architecture must be the file's; the optimizer state
// too when m is compiled.
void read_archive_weights(Model& m, const std::vector<unsigned char>& image, const std::string& path);

}  // namespace fourierconv::nn::keras_io
