// Internal: helpers shared by the Keras layer-config tables (keras_layers.cpp,
// keras_layers_misc.cpp): reading typed, range-checked config values with messages that name
// the file and the layer, and writing Keras's common config entries.
#pragma once

#include <cmath>
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


// ---- Regularizers and constraints (regularizers.hpp), Keras 2 and 3 spellings.

// null -> none; "l1" / "l2" / "l1_l2" (Keras's 0.01 defaults); {"class_name": "L1" | "L2" |
// "L1L2" | "L1L2Regularizer", "config": {"l1": ..., "l2": ...}}.
inline Regularizer regularizer_of(const Ctx& c, const json& cfg, const char* key, const std::string& n) {
  if (!cfg.contains(key) || cfg.at(key).is_null()) return {};
  const json& j = cfg.at(key);
  auto fail = [&] { bad(c, n + ": unsupported " + key + " " + j.dump() + " (supported: L1, L2, L1L2)"); };
  std::string cls;
  json conf = json::object();
  if (j.is_string()) {
    cls = j.get<std::string>();
    if (cls == "l1") return {0.01, 0};
    if (cls == "l2") return {0, 0.01};
    if (cls == "l1_l2") return {0.01, 0.01};
    fail();
  }
  if (!j.is_object() || !j.contains("class_name") || !j.at("class_name").is_string()) fail();
  cls = j.at("class_name").get<std::string>();
  if (j.contains("config") && j.at("config").is_object()) conf = j.at("config");
  auto coef = [&](const char* k, double fallback) {
    if (!conf.contains(k)) return fallback;
    if (!conf.at(k).is_number()) bad(c, n + ": " + key + " " + k + " must be a number, got " + conf.at(k).dump());
    const double v = conf.at(k).get<double>();
    if (!(v >= 0 && std::isfinite(v))) bad(c, n + ": " + key + " " + k + " must be >= 0 and finite, got " + conf.at(k).dump());
    return v;
  };
  if (cls == "L1") return {coef("l1", 0.01), 0};
  if (cls == "L2") return {0, coef("l2", 0.01)};
  if (cls == "L1L2" || cls == "L1L2Regularizer") return {coef("l1", 0.0), coef("l2", 0.0)};
  fail();
  return {};
}

inline json regularizer_json(const Regularizer& r) {
  if (!r.active()) return nullptr;
  json j = {{"module", "keras.regularizers"}, {"class_name", "L1L2"}, {"config", {{"l1", r.l1}, {"l2", r.l2}}}, {"registered_name", nullptr}};
  if (r.l2 == 0) j["class_name"] = "L1", j["config"] = {{"l1", r.l1}};
  else if (r.l1 == 0) j["class_name"] = "L2", j["config"] = {{"l2", r.l2}};
  return j;
}

// null -> none; {"class_name": "MaxNorm" | "NonNeg" | "UnitNorm" | "MinMaxNorm", "config": ...},
// the snake_case names as strings with Keras's defaults.
inline Constraint constraint_of(const Ctx& c, const json& cfg, const char* key, const std::string& n) {
  if (!cfg.contains(key) || cfg.at(key).is_null()) return {};
  const json& j = cfg.at(key);
  auto fail = [&] { bad(c, n + ": unsupported " + key + " " + j.dump() + " (supported: MaxNorm, NonNeg, UnitNorm, MinMaxNorm)"); };
  std::string cls;
  json conf = json::object();
  if (j.is_string()) cls = j.get<std::string>();
  else if (j.is_object() && j.contains("class_name") && j.at("class_name").is_string()) {
    cls = j.at("class_name").get<std::string>();
    if (j.contains("config") && j.at("config").is_object()) conf = j.at("config");
  } else {
    fail();
  }
  Constraint k;
  if (cls == "MaxNorm" || cls == "max_norm") k.kind = Constraint::Kind::MaxNorm;
  else if (cls == "NonNeg" || cls == "non_neg") k.kind = Constraint::Kind::NonNeg;
  else if (cls == "UnitNorm" || cls == "unit_norm") k.kind = Constraint::Kind::UnitNorm;
  else if (cls == "MinMaxNorm" || cls == "min_max_norm") k.kind = Constraint::Kind::MinMaxNorm, k.max_value = 1.0;
  else fail();
  auto num = [&](const char* name, double& v) {
    if (!conf.contains(name)) return;
    if (!conf.at(name).is_number() || !std::isfinite(conf.at(name).get<double>()))
      bad(c, n + ": " + key + " " + name + " must be a finite number, got " + conf.at(name).dump());
    v = conf.at(name).get<double>();
  };
  num("min_value", k.min_value);
  num("max_value", k.max_value);
  num("rate", k.rate);
  if (k.kind == Constraint::Kind::MaxNorm && !(k.max_value >= 0))
    bad(c, n + ": " + key + " max_value must be >= 0, got " + std::to_string(k.max_value));
  if (k.kind == Constraint::Kind::MinMaxNorm && !(k.min_value >= 0 && k.min_value <= k.max_value && k.rate >= 0 && k.rate <= 1))
    bad(c, n + ": " + key + " needs 0 <= min_value <= max_value and rate in [0, 1], got " + conf.dump());
  if (conf.contains("axis")) {
    const json& a = conf.at("axis");
    auto small = [&](const json& e) {
      if (!e.is_number_integer() || e.get<long long>() < -8 || e.get<long long>() > 8)
        bad(c, n + ": " + key + " axis must hold integers in [-8, 8], got " + a.dump());
      return int(e.get<long long>());
    };
    k.axis.clear();
    if (a.is_number()) k.axis.push_back(small(a));
    else if (a.is_array() && !a.empty() && a.size() <= 8)
      for (const json& e : a) k.axis.push_back(small(e));
    else bad(c, n + ": " + key + " axis must be an integer or a list of them, got " + a.dump());
  }
  return k;
}

inline json constraint_json(const Constraint& k) {
  json axis = k.axis.size() == 1 ? json(k.axis[0]) : json(k.axis);
  switch (k.kind) {
    case Constraint::Kind::None: return nullptr;
    case Constraint::Kind::NonNeg:
      return {{"module", "keras.constraints"}, {"class_name", "NonNeg"}, {"config", json::object()}, {"registered_name", nullptr}};
    case Constraint::Kind::MaxNorm:
      return {{"module", "keras.constraints"}, {"class_name", "MaxNorm"}, {"config", {{"max_value", k.max_value}, {"axis", axis}}}, {"registered_name", nullptr}};
    case Constraint::Kind::UnitNorm:
      return {{"module", "keras.constraints"}, {"class_name", "UnitNorm"}, {"config", {{"axis", axis}}}, {"registered_name", nullptr}};
    case Constraint::Kind::MinMaxNorm:
      return {{"module", "keras.constraints"}, {"class_name", "MinMaxNorm"},
              {"config", {{"min_value", k.min_value}, {"max_value", k.max_value}, {"rate", k.rate}, {"axis", axis}}}, {"registered_name", nullptr}};
  }
  return nullptr;
}

// The kernel/bias regularizers and constraints and the activity regularizer of a layer's
// config, set on `l` (Dense, Conv1D, Conv2D); and written back.
// `prefix`_regularizer and `prefix`_constraint of a config, set on the weight named `weight`.
inline void read_penalty(const Ctx& c, const json& cfg, const std::string& n, Layer& l, const std::string& prefix,
                         const std::string& weight) {
  l.set_regularizer(weight, regularizer_of(c, cfg, (prefix + "_regularizer").c_str(), n));
  l.set_constraint(weight, constraint_of(c, cfg, (prefix + "_constraint").c_str(), n));
}
inline void read_penalties(const Ctx& c, const json& cfg, const std::string& n, Layer& l) {
  for (const char* w : {"kernel", "bias"}) read_penalty(c, cfg, n, l, w, w);
  l.set_activity_regularizer(regularizer_of(c, cfg, "activity_regularizer", n));
}
// always_activity: Keras's Conv layers write activity_regularizer even when null; Dense
// (through the base Layer) only when it is set.
inline void write_penalties(const Layer& l, json& j, bool always_activity) {
  j["kernel_regularizer"] = regularizer_json(l.regularizer("kernel"));
  j["bias_regularizer"] = regularizer_json(l.regularizer("bias"));
  if (always_activity || l.activity_regularizer().active()) j["activity_regularizer"] = regularizer_json(l.activity_regularizer());
  j["kernel_constraint"] = constraint_json(l.constraint("kernel"));
  j["bias_constraint"] = constraint_json(l.constraint("bias"));
}

}  // namespace fourierconv::nn::keras_io
