// Internal: helpers shared by the Keras layer-config tables (keras_layers.cpp,
// keras_layers_misc.cpp): reading typed, range-checked config values with messages that name
// the file and the layer, and writing Keras's common config entries.
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "fourierconv/error.hpp"
#include "fourierconv/nn/activations.hpp"
#include "fourierconv/nn/layers/conv2d.hpp"  // Size2
#include "nn/json_exact.hpp"
#include "nn/keras_layers.hpp"

namespace fourierconv::nn::keras_io {

inline json initializer(const std::string& name) {
  if (name == "glorot_uniform")
    return {{"module", "keras.initializers"}, {"class_name", "GlorotUniform"}, {"config", {{"seed", nullptr}}}, {"registered_name", nullptr}};
  if (name == "zeros") return {{"module", "keras.initializers"}, {"class_name", "Zeros"}, {"config", json::object()}, {"registered_name", nullptr}};
  return {{"module", "keras.initializers"}, {"class_name", "Ones"}, {"config", json::object()}, {"registered_name", nullptr}};
}
inline json pair(Size2 s) { return json::array({s.first, s.second}); }

template <class T>
T get(const Ctx& c, const json& j, const char* key, const std::string& layer) {
  if (!j.contains(key)) bad(c, layer + ": config has no '" + key + "'");
  if (!exactly<T>(j.at(key))) bad(c, layer + ": config '" + key + "' has the wrong type or is out of range: " + j.at(key).dump());
  try {
    return j.at(key).get<T>();
  } catch (const std::exception&) {
    bad(c, layer + ": config '" + key + "' has the wrong type: " + j.at(key).dump());
  }
}

inline Size2 get_pair(const Ctx& c, const json& j, const char* key, const std::string& layer) {
  auto v = get<std::vector<std::size_t>>(c, j, key, layer);
  if (v.size() != 2 || v[0] == 0 || v[1] == 0 || v[0] > kMaxDim || v[1] > kMaxDim)
    bad(c, layer + ": '" + key + "' must be two positive integers, got " + j.at(key).dump());
  return {v[0], v[1]};
}

// Options a loaded layer must have at their default: anything else is unsupported, not ignored.
inline void require_default(const Ctx& c, const json& cfg, const std::string& layer, const char* key, const json& expected) {
  if (cfg.contains(key) && cfg.at(key) != expected)
    bad(c, layer + ": option " + key + " = " + cfg.at(key).dump() + " is not supported (expected " + expected.dump() + ")");
}
inline void require_null(const Ctx& c, const json& cfg, const std::string& layer, std::initializer_list<const char*> keys) {
  for (const char* k : keys) require_default(c, cfg, layer, k, nullptr);
}
inline std::string activation_of(const Ctx& c, const json& cfg, const std::string& layer) {
  if (!cfg.contains("activation")) return "linear";
  if (!cfg.at("activation").is_string()) bad(c, layer + ": only named activations are supported, got " + cfg.at("activation").dump());
  std::string a = cfg.at("activation").get<std::string>();
  try {
    parse_activation(a);
  } catch (const Error& e) {
    bad(c, layer + ": unsupported " + std::string(e.what()));
  }
  return a;
}
inline std::string initializer_of(const json& cfg, const char* key, const char* fallback) {
  if (!cfg.contains(key) || !cfg.at(key).is_object()) return fallback;
  std::string cls = cfg.at(key).value("class_name", "");
  if (cls == "Zeros") return "zeros";
  if (cls == "Ones") return "ones";
  return "glorot_uniform";  // only affects a model trained further; weights are loaded
}


inline json base_config(const Layer& l) { return {{"name", l.name()}, {"trainable", l.trainable()}, {"dtype", dtype_policy()}}; }

// A size tuple of `rank` entries: Keras writes (3,) as [3] and (3, 3) as [3, 3]; an old
// config may hold a bare integer for a 1-D layer.
inline Size2 get_sizes(const Ctx& c, const json& j, const char* key, const std::string& layer, std::size_t rank) {
  if (rank == 2) return get_pair(c, j, key, layer);
  std::vector<std::size_t> v;
  if (j.contains(key) && j.at(key).is_number()) v = {get<std::size_t>(c, j, key, layer)};
  else v = get<std::vector<std::size_t>>(c, j, key, layer);
  if (v.size() != 1 || v[0] == 0 || v[0] > kMaxDim)
    bad(c, layer + ": '" + key + "' must be one positive integer, got " + j.at(key).dump());
  return {1, v[0]};
}
inline json sizes(Size2 s, std::size_t rank) { return rank == 2 ? pair(s) : json::array({s.second}); }


}  // namespace fourierconv::nn::keras_io
