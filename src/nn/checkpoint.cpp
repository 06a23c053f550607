// Training checkpoints (nn/checkpoint.hpp): a .keras archive with one more member.
#include "fourierconv/nn/checkpoint.hpp"

#include <algorithm>
#include <cmath>
#include <signal.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
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
constexpr int kVersion = 2;  // 2: micro_batches, layer generators keyed by layer index

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
    return c.is_object() && c.contains("config") && c["config"].is_object() && c["config"].contains("layers") &&
                   c["config"]["layers"].is_array()
               ? c["config"]["layers"]
               : json::array();
  };
  auto describe = [](const json& l) {
    if (!l.is_object()) return l.dump().substr(0, 200);
    const json cls = l.contains("class_name") ? l["class_name"] : json("?");
    const json cfg = l.contains("config") ? l["config"] : json::object();
    return (cls.is_string() ? cls.get<std::string>() : cls.dump()) + " " + cfg.dump().substr(0, 400);
  };
  const json a = layers(mine), b = layers(theirs);
  if (a.size() != b.size())
    return "it has " + std::to_string(b.size()) + " layers (with the input layers), this model " + std::to_string(a.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return "layer " + std::to_string(i) + " is " + describe(b[i]) + " there, " + describe(a[i]) + " here";
  return "the model's settings differ";
}

// JSON nested deeper than this is refused before parsing (the parser, copies and dumps
// recurse once per level). The state member nests 4 levels.
constexpr int kMaxStateDepth = 64;

bool too_deep(const std::vector<unsigned char>& text) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxStateDepth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
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

[[noreturn]] void damaged(const std::string& file, const std::string& what) {
  throw Error("load_checkpoint: '" + file + "': " + kStateMember + ": " + what);
}

const json& member(const json& j, const char* key, const std::string& file) {
  if (!j.contains(key)) damaged(file, std::string("has no '") + key + "'");
  return j.at(key);
}

std::size_t count_field(const json& j, const char* key, const std::string& file) {
  const json& v = member(j, key, file);
  if (!v.is_number_unsigned()) damaged(file, std::string("'") + key + "' must be an unsigned integer, got " + v.dump().substr(0, 40));
  return v.get<std::size_t>();
}

double real_field(const json& j, const char* key, const std::string& file) {
  const json& v = member(j, key, file);
  if (!v.is_number()) damaged(file, std::string("'") + key + "' must be a number, got " + v.dump().substr(0, 40));
  const double d = v.get<double>();
  if (!std::isfinite(d)) damaged(file, std::string("'") + key + "' is not finite");
  return d;
}

template <class T>
T typed_field(const json& j, const char* key, const std::string& file) {
  const json& v = member(j, key, file);
  try {
    return v.get<T>();
  } catch (const json::exception&) {
    damaged(file, std::string("'") + key + "' has the wrong type");
  }
}

// A std::mt19937_64 in its text form: 312 state words and an index in [0, 312], nothing else.
bool valid_generator(const std::string& text) {
  std::istringstream in(text);
  std::string tok;
  std::size_t n = 0;
  unsigned long long last = 0;
  while (in >> tok) {
    if (tok.empty() || tok.size() > 20 || tok.find_first_not_of("0123456789") != std::string::npos) return false;
    errno = 0;
    last = std::strtoull(tok.c_str(), nullptr, 10);
    if (errno == ERANGE) return false;
    ++n;
  }
  return n == 313 && last <= 312;
}

// Temporary files of writers that died mid-write (checkpoint.keras.tmp-<pid>, the pid gone).
void remove_stale_temporaries(const std::string& dir) {
  std::error_code ec;
  const std::string prefix = std::string(kCheckpointFile) + ".tmp-";
  for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string pid = name.substr(prefix.size());
    if (pid.empty() || pid.size() > 10 || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (::kill(pid_t(std::stol(pid)), 0) != 0 && errno == ESRCH) std::filesystem::remove(it->path(), ec);
  }
}

// The state member's checks and the weights' loading (below load_checkpoint).
TrainingState load_state(Model& model, const json& j, const std::string& file, const TrainingState* expected,
                         const std::vector<unsigned char>& weights);

}  // namespace

keras_io::json keras_io::architecture(const Model& m) { return anonymous_config(model_to_config(m)); }

void save_checkpoint(const Model& model, const TrainingState& st, const std::string& dir) {
  remove_stale_temporaries(dir);
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
            {"micro_batches", st.micro_batches},
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

TrainingState load_checkpoint(Model& model, const std::string& dir, const TrainingState* expected) {
  const std::string file = path_in(dir);
  std::error_code ec;
  if (std::filesystem::is_regular_file(dir, ec))
    throw Error("load_checkpoint: '" + dir + "' is a file: give the folder that holds " + kCheckpointFile);
  if (!has_checkpoint(dir)) throw Error("load_checkpoint: no checkpoint in '" + dir + "' (expected " + file + ")");
  if (!model.built() || !model.compiled()) throw Error("load_checkpoint: the model must be built and compiled before resuming");
  std::map<std::string, std::vector<unsigned char>> members;
  try {
    members = keras_io::read_archive(file, {kStateMember});
  } catch (const Error& e) {  // the archive's own errors say load_model
    std::string what = e.what();
    if (what.rfind("load_model: ", 0) == 0) what.erase(0, std::strlen("load_model: "));
    throw Error("load_checkpoint: " + what);
  }
  for (const char* need : {"config.json", "model.weights.h5", kStateMember})
    if (!members.count(need))
      throw Error("load_checkpoint: '" + file + "' is not a fourierconv checkpoint (it has no " + need + ")");
  const auto& b = members.at(kStateMember);
  if (too_deep(b)) damaged(file, "nests deeper than " + std::to_string(kMaxStateDepth) + " levels");
  json j;
  try {
    j = json::parse(b.begin(), b.end());
  } catch (const json::exception& e) {
    throw Error("load_checkpoint: '" + file + "': " + kStateMember + " is not valid JSON: " + e.what());
  }
  try {
    return load_state(model, j, file, expected, members.at("model.weights.h5"));
  } catch (const json::exception& e) {  // a value of another JSON type than a checkpoint holds
    damaged(file, std::string("a value of the wrong type (") + e.what() + ")");
  }
}

namespace {

TrainingState load_state(Model& model, const json& j, const std::string& file, const TrainingState* expected,
                         const std::vector<unsigned char>& weights) {
  if (!j.is_object() || !j.contains("format") || j["format"] != kFormat)
    throw Error("load_checkpoint: '" + file + "' is not a fourierconv checkpoint");
  if (!j.contains("version") || !j["version"].is_number_unsigned() || j["version"] != kVersion)
    throw Error("load_checkpoint: '" + file + "' is a checkpoint of format version " + (j.contains("version") ? j["version"].dump() : "?") +
                "; this fourierconv reads version " + std::to_string(kVersion));
  const json mine = keras_io::architecture(model);
  static const json none;
  const json& theirs = j.contains("model") ? j["model"] : none;
  if (mine != theirs)
    throw Error("load_checkpoint: '" + file + "' is a checkpoint of another model: " + config_difference(mine, theirs));
  if (typed_field<std::string>(j, "optimizer", file) != optimizer_signature(model))
    throw Error("load_checkpoint: '" + file + "' was written with " + typed_field<std::string>(j, "optimizer", file) +
                "; this model is compiled with " + optimizer_signature(model));
  TrainingState st;
  st.global_batch = count_field(j, "global_batch", file);
  st.samples = count_field(j, "samples", file);
  st.validation_split = real_field(j, "validation_split", file);
  st.shuffle = typed_field<bool>(j, "shuffle", file);
  st.micro_batches = count_field(j, "micro_batches", file);
  st.seed = count_field(j, "seed", file);
  st.epochs = count_field(j, "epochs", file);
  st.epoch = count_field(j, "epoch", file);
  st.step = count_field(j, "step", file);
  st.loss_sum = real_field(j, "loss_sum", file);
  st.seen = count_field(j, "seen", file);
  st.correct = count_field(j, "correct", file);
  st.shuffle_rng = typed_field<std::string>(j, "shuffle_rng", file);
  st.global_rng = typed_field<std::string>(j, "global_rng", file);
  const json& order = member(j, "order", file);
  if (!order.is_array() || order.size() != st.samples)
    damaged(file, "the sample order must be a list of " + std::to_string(st.samples) + " sample indices" +
                      (order.is_array() ? ", it has " + std::to_string(order.size()) + " entries" : ""));
  std::vector<char> named(st.samples, 0);
  st.order.reserve(st.samples);
  for (const json& v : order) {
    if (!v.is_number_unsigned() || v.get<std::size_t>() >= st.samples)
      damaged(file, "the sample order names sample " + v.dump().substr(0, 40) + " of " + std::to_string(st.samples));
    const std::size_t i = v.get<std::size_t>();
    if (named[i]++) damaged(file, "the sample order names sample " + std::to_string(i) + " twice");
    st.order.push_back(i);
  }
  if (st.global_batch == 0) damaged(file, "the global batch size is 0");
  if (st.micro_batches == 0 || st.micro_batches > st.global_batch) damaged(file, "micro_batches is out of range");
  if (!(st.validation_split >= 0 && st.validation_split < 1)) damaged(file, "validation_split is out of range");
  const std::size_t steps = (st.samples + st.global_batch - 1) / st.global_batch;
  if (st.step >= steps && !(st.step == 0 && steps == 0))
    damaged(file, "step " + std::to_string(st.step) + " is beyond the epoch's " + std::to_string(steps) + " steps");
  if (st.epoch > st.epochs || (st.epoch == st.epochs && st.step != 0))
    damaged(file, "epoch " + std::to_string(st.epoch) + " is beyond the run's " + std::to_string(st.epochs));
  if (st.seen != std::min(st.samples, st.step * st.global_batch) || st.correct > st.seen || st.loss_sum < 0)
    damaged(file, "the epoch's running sums do not match its step");
  const json& history = member(j, "history", file);
  if (!history.is_object()) damaged(file, "the history must be an object");
  // "loss" has one value per finished epoch; the others (metrics, validation figures) at most
  // that many (a resumed run may have added validation data). NaN and infinity, which a
  // validation loss may be, are written as null by JSON.
  for (auto it = history.begin(); it != history.end(); ++it) {
    const bool loss = it.key() == "loss";
    if (!it.value().is_array() || (loss ? it.value().size() != st.epoch : it.value().size() > st.epoch))
      damaged(file, "the history of '" + it.key() + "' must list " + (loss ? "" : "at most ") + std::to_string(st.epoch) + " epochs");
    std::vector<double> values;
    for (const json& v : it.value()) {
      if (v.is_null() && !loss) values.push_back(std::numeric_limits<double>::quiet_NaN());
      else if (v.is_number() && std::isfinite(v.get<double>())) values.push_back(v.get<double>());
      else damaged(file, "the history of '" + it.key() + "' holds a non-number");
    }
    st.history[it.key()] = values;
  }
  if (st.epoch > 0 && !st.history.count("loss")) damaged(file, "the history has no 'loss'");
  if (!valid_generator(st.shuffle_rng)) damaged(file, "the shuffle's generator state is damaged");
  if (!valid_generator(st.global_rng)) damaged(file, "the global generator state is damaged");
  st.layer_rngs = typed_field<std::vector<std::map<std::string, std::string>>>(j, "layer_rngs", file);
  std::map<std::string, std::string> want;  // the layers that have a generator
  for (std::size_t i = 0; i < model.layers().size(); ++i)
    if (model.layers()[i]->random_generator()) want[std::to_string(i)] = model.layers()[i]->name();
  if (st.layer_rngs.empty()) damaged(file, "layer_rngs lists no rank");
  for (std::size_t r = 0; r < st.layer_rngs.size(); ++r) {
    for (auto& [k, name] : want) {
      auto it = st.layer_rngs[r].find(k);
      if (it == st.layer_rngs[r].end()) damaged(file, "rank " + std::to_string(r) + " has no generator state for layer " + k + " (" + name + ")");
      if (!valid_generator(it->second)) damaged(file, "the generator state of layer " + k + " (" + name + ") on rank " + std::to_string(r) + " is damaged");
    }
    if (st.layer_rngs[r].size() != want.size()) damaged(file, "rank " + std::to_string(r) + " lists generator states of layers that have none");
  }
  if (expected) {
    auto differ = [&](const std::string& what, const std::string& then, const std::string& now) {
      throw Error("load_checkpoint: '" + file + "' was written by a run with " + what + " " + then + ", this run has " + now +
                  " (resuming would not continue the same run)");
    };
    auto num = [](double v) {
      std::ostringstream o;
      o << v;
      return o.str();
    };
    if (st.global_batch != expected->global_batch)
      differ("a global batch of", std::to_string(st.global_batch), std::to_string(expected->global_batch));
    if (st.validation_split != expected->validation_split)
      differ("validation_split", num(st.validation_split), num(expected->validation_split));
    if (st.samples != expected->samples) differ("training samples:", std::to_string(st.samples), std::to_string(expected->samples));
    if (st.shuffle != expected->shuffle) differ("shuffle", st.shuffle ? "on" : "off", expected->shuffle ? "on" : "off");
    if (st.micro_batches != expected->micro_batches)
      differ("micro_batches", std::to_string(st.micro_batches), std::to_string(expected->micro_batches));
  }
  // Last, the weights and the optimizer state: put back as they were if the file's turn out
  // damaged (a slot of the wrong size, a NaN).
  std::vector<std::vector<float>> before;
  for (auto& l : model.layers())
    for (Weight* w : l->weights()) before.emplace_back(w->value.begin(), w->value.end());
  Optimizer& opt = *model.optimizer();
  const std::size_t iterations = opt.iterations();
  const double learning_rate = opt.learning_rate();
  auto slots = opt.state(model.trainable_weights());
  std::vector<std::vector<float>> slots_before;
  for (auto& sl : slots) slots_before.push_back(*sl.values);
  try {
    keras_io::read_archive_weights(model, weights, file);
  } catch (...) {
    std::size_t k = 0;
    for (auto& l : model.layers())
      for (Weight* w : l->weights()) std::copy(before[k].begin(), before[k].end(), w->value.begin()), ++k;
    for (std::size_t i = 0; i < slots.size(); ++i) *slots[i].values = slots_before[i];
    opt.set_iterations(iterations);
    opt.set_learning_rate(learning_rate);
    throw;
  }
  return st;
}

}  // namespace

}  // namespace fourierconv::nn
