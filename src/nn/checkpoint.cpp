// Training checkpoints (nn/checkpoint.hpp): a .keras archive with one more member.
#include "fourierconv/nn/checkpoint.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "fourierconv/error.hpp"
#include "fourierconv/nn/optimizers.hpp"
#include "nn/keras_archive.hpp"
#include "nn/model_config.hpp"

namespace fourierconv::nn {
namespace {

using keras_io::json;
constexpr const char* kStateMember = "fourierconv_checkpoint.json";
constexpr const char* kFormat = "fourierconv-checkpoint";
constexpr int kVersion = 1;

std::string path_in(const std::string& dir) { return (std::filesystem::path(dir) / kCheckpointFile).string(); }

// The model's config with its own and its layers' names replaced by their positions, so that
// the same architecture built twice in one process (conv2d, then conv2d_1) compares equal.
json anonymous_config(json cfg) {
  std::map<std::string, std::string> rename;
  if (cfg.contains("config") && cfg["config"].contains("layers") && cfg["config"]["layers"].is_array()) {
    std::size_t k = 0;
    for (auto& l : cfg["config"]["layers"])
      if (l.contains("config") && l["config"].contains("name") && l["config"]["name"].is_string())
        rename[l["config"]["name"].get<std::string>()] = "#" + std::to_string(k++);
  }
  std::function<void(json&)> walk = [&](json& j) {
    if (j.is_string()) {
      if (auto it = rename.find(j.get<std::string>()); it != rename.end()) j = it->second;
    } else if (j.is_structured()) {
      for (auto& v : j) walk(v);
    }
  };
  if (cfg.contains("config")) cfg["config"].erase("name");
  walk(cfg);
  return cfg;
}

// Why two configs differ, for the error message: the first layer that differs.
std::string config_difference(const json& mine, const json& theirs) {
  auto layers = [](const json& c) {
    return c.contains("config") && c["config"].contains("layers") && c["config"]["layers"].is_array() ? c["config"]["layers"] : json::array();
  };
  const json a = layers(mine), b = layers(theirs);
  if (a.size() != b.size())
    return "it has " + std::to_string(b.size()) + " layers (with the input layers), this model " + std::to_string(a.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i])
      return "layer " + std::to_string(i) + " is " + b[i].value("class_name", std::string("?")) + " " + b[i].value("config", json::object()).dump() +
             " there, " + a[i].value("class_name", std::string("?")) + " " + a[i].value("config", json::object()).dump() + " here";
  return "the model's settings differ";
}

// The optimizer and loss as one comparable text.
std::string optimizer_signature(const Model& m) {
  const Optimizer* o = m.optimizer();
  std::ostringstream s;
  s.precision(17);
  s << o->name() << "(learning_rate=" << o->learning_rate();
  if (auto* a = dynamic_cast<const Adam*>(o))
    s << ", beta_1=" << a->beta_1() << ", beta_2=" << a->beta_2() << ", epsilon=" << a->epsilon() << ", amsgrad=" << a->amsgrad();
  if (auto* g = dynamic_cast<const SGD*>(o)) s << ", momentum=" << g->momentum() << ", nesterov=" << g->nesterov();
  s << "), loss " << m.loss().name() << (m.loss().from_logits() ? " (from logits)" : "");
  return s.str();
}

template <class T>
T field(const json& j, const char* key, const std::string& file) {
  if (!j.contains(key)) throw Error("load_checkpoint: '" + file + "': " + kStateMember + " has no '" + key + "'");
  try {
    return j.at(key).get<T>();
  } catch (const json::exception&) {
    throw Error("load_checkpoint: '" + file + "': " + kStateMember + " '" + key + "' has the wrong type");
  }
}

}  // namespace

void save_checkpoint(const Model& model, const TrainingState& st, const std::string& dir) {
  if (!model.built()) throw Error("save_checkpoint: the model is not built");
  if (!model.compiled()) throw Error("save_checkpoint: the model is not compiled (a checkpoint holds the optimizer state)");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error("save_checkpoint: cannot create the folder '" + dir + "': " + ec.message());
  json layer_rngs = json::array();
  for (auto& per_rank : st.layer_rngs) layer_rngs.push_back(per_rank);
  json j = {{"format", kFormat},
            {"version", kVersion},
            {"model", anonymous_config(keras_io::model_to_config(model))},
            {"optimizer", optimizer_signature(model)},
            {"global_batch", st.global_batch},
            {"samples", st.samples},
            {"validation_split", st.validation_split},
            {"shuffle", st.shuffle},
            {"seed", st.seed},
            {"epochs", st.epochs},
            {"epoch", st.epoch},
            {"step", st.step},
            {"order", st.order},
            {"loss_sum", st.loss_sum},
            {"seen", st.seen},
            {"correct", st.correct},
            {"history", st.history},
            {"shuffle_rng", st.shuffle_rng},
            {"global_rng", st.global_rng},
            {"layer_rngs", layer_rngs}};
  keras_io::ArchiveMembers members = keras_io::archive_members(model);
  const std::string text = j.dump();
  members.emplace_back(kStateMember, std::vector<unsigned char>(text.begin(), text.end()));
  try {
    keras_io::write_archive(path_in(dir), members);
  } catch (const Error& e) {
    throw Error(std::string("save_checkpoint: ") + e.what());
  }
}

bool has_checkpoint(const std::string& dir) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path_in(dir), ec);
}

TrainingState load_checkpoint(Model& model, const std::string& dir) {
  const std::string file = path_in(dir);
  if (!has_checkpoint(dir)) throw Error("load_checkpoint: no checkpoint in '" + dir + "' (expected " + file + ")");
  if (!model.built() || !model.compiled()) throw Error("load_checkpoint: the model must be built and compiled before resuming");
  auto members = keras_io::read_archive(file, {kStateMember});
  for (const char* need : {"config.json", "model.weights.h5", kStateMember})
    if (!members.count(need))
      throw Error("load_checkpoint: '" + file + "' is not a fourierconv checkpoint (it has no " + need + ")");
  const auto& b = members.at(kStateMember);
  json j;
  try {
    j = json::parse(b.begin(), b.end());
  } catch (const json::exception& e) {
    throw Error("load_checkpoint: '" + file + "': " + kStateMember + " is not valid JSON: " + e.what());
  }
  if (!j.is_object() || j.value("format", std::string()) != kFormat)
    throw Error("load_checkpoint: '" + file + "' is not a fourierconv checkpoint");
  if (!j.contains("version") || j["version"] != kVersion)
    throw Error("load_checkpoint: '" + file + "' is a checkpoint of format version " + (j.contains("version") ? j["version"].dump() : "?") +
                "; this fourierconv reads version " + std::to_string(kVersion));
  const json mine = anonymous_config(keras_io::model_to_config(model));
  const json theirs = j.contains("model") ? j["model"] : json();
  if (mine != theirs)
    throw Error("load_checkpoint: '" + file + "' is a checkpoint of another model: " + config_difference(mine, theirs));
  if (field<std::string>(j, "optimizer", file) != optimizer_signature(model))
    throw Error("load_checkpoint: '" + file + "' was written with " + field<std::string>(j, "optimizer", file) + "; this model is compiled with " +
                optimizer_signature(model));
  TrainingState st;
  st.global_batch = field<std::size_t>(j, "global_batch", file);
  st.samples = field<std::size_t>(j, "samples", file);
  st.validation_split = field<double>(j, "validation_split", file);
  st.shuffle = field<bool>(j, "shuffle", file);
  st.seed = field<std::uint64_t>(j, "seed", file);
  st.epochs = field<std::size_t>(j, "epochs", file);
  st.epoch = field<std::size_t>(j, "epoch", file);
  st.step = field<std::size_t>(j, "step", file);
  st.order = field<std::vector<std::size_t>>(j, "order", file);
  st.loss_sum = field<double>(j, "loss_sum", file);
  st.seen = field<std::size_t>(j, "seen", file);
  st.correct = field<std::size_t>(j, "correct", file);
  st.history = field<std::map<std::string, std::vector<double>>>(j, "history", file);
  st.shuffle_rng = field<std::string>(j, "shuffle_rng", file);
  st.global_rng = field<std::string>(j, "global_rng", file);
  st.layer_rngs = field<std::vector<std::map<std::string, std::string>>>(j, "layer_rngs", file);
  if (st.order.size() != st.samples)
    throw Error("load_checkpoint: '" + file + "': the sample order has " + std::to_string(st.order.size()) + " entries for " +
                std::to_string(st.samples) + " samples");
  std::vector<char> named(st.samples, 0);
  for (std::size_t i : st.order) {
    if (i >= st.samples) throw Error("load_checkpoint: '" + file + "': the sample order names sample " + std::to_string(i) + " of " + std::to_string(st.samples));
    if (named[i]++) throw Error("load_checkpoint: '" + file + "': the sample order names sample " + std::to_string(i) + " twice");
  }
  if (st.global_batch == 0) throw Error("load_checkpoint: '" + file + "': the global batch size is 0");
  const std::size_t steps = (st.samples + st.global_batch - 1) / st.global_batch;
  if (st.step >= steps && !(st.step == 0 && steps == 0))
    throw Error("load_checkpoint: '" + file + "': step " + std::to_string(st.step) + " is beyond the epoch's " + std::to_string(steps) + " steps");
  if (st.seen != std::min(st.samples, st.step * st.global_batch) || st.correct > st.seen || !std::isfinite(st.loss_sum))
    throw Error("load_checkpoint: '" + file + "': the epoch's running sums do not match its step");
  keras_io::read_archive_weights(model, members.at("model.weights.h5"), file);
  return st;
}

}  // namespace fourierconv::nn
