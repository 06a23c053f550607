#include "nn/optimizer_state.hpp"

#include <climits>
#include <cmath>
#include <cstdint>
#include <string>

#include "fourierconv/error.hpp"
#include "fourierconv/nn/optimizers.hpp"

namespace fourierconv::nn::keras_io {
namespace {

struct Handle {  // closes an HDF5 object
  hid_t id;
  herr_t (*close)(hid_t);
  ~Handle() {
    if (id >= 0) close(id);
  }
};

std::vector<Weight*> trainable(const Model& m) { return const_cast<Model&>(m).trainable_weights(); }

}  // namespace

bool compile_from_config_unchecked(Model& m, const json& root);

json compile_config(const Model& m) {
  const Optimizer* o = m.optimizer();
  // A loss on logits would need Keras's loss object; saved without compile settings instead
  // (loaded uncompiled) rather than resumed with the loss on probabilities.
  if (!o || m.loss().from_logits()) return nullptr;
  json cfg = {{"name", o->name() == "Adam" ? "adam" : "SGD"}, {"learning_rate", o->learning_rate()}, {"weight_decay", nullptr},
              {"clipnorm", nullptr}, {"global_clipnorm", nullptr}, {"clipvalue", nullptr}, {"use_ema", false},
              {"ema_momentum", 0.99}, {"ema_overwrite_frequency", nullptr}, {"loss_scale_factor", nullptr},
              {"gradient_accumulation_steps", nullptr}};
  if (auto* a = dynamic_cast<const Adam*>(o)) {
    cfg["beta_1"] = a->beta_1();
    cfg["beta_2"] = a->beta_2();
    cfg["epsilon"] = a->epsilon();
    cfg["amsgrad"] = a->amsgrad();
  } else if (auto* s = dynamic_cast<const SGD*>(o)) {
    cfg["momentum"] = s->momentum();
    cfg["nesterov"] = s->nesterov();
  } else {
    return nullptr;
  }
  return {{"optimizer", {{"module", "keras.optimizers"}, {"class_name", o->name()}, {"config", cfg}, {"registered_name", nullptr}}},
          {"loss", m.loss().name()},
          {"loss_weights", nullptr},
          {"metrics", m.metrics().empty() ? json(nullptr) : json(m.metrics())},
          {"weighted_metrics", nullptr},
          {"run_eagerly", false},
          {"steps_per_execution", 1},
          {"jit_compile", true}};
}

bool compile_from_config(Model& m, const json& root) {
  try {
    return compile_from_config_unchecked(m, root);
  } catch (const json::exception&) {  // a value of another JSON type than Keras writes
    return false;
  }
}

bool compile_from_config_unchecked(Model& m, const json& root) {
  if (!root.is_object() || !root.contains("compile_config") || !root.at("compile_config").is_object()) return false;
  const json& cc = root.at("compile_config");
  if (!cc.contains("optimizer") || !cc.at("optimizer").is_object() || !cc.contains("loss") || !cc.at("loss").is_string()) return false;
  const json& o = cc.at("optimizer");
  const json cfg = o.contains("config") && o.at("config").is_object() ? o.at("config") : json::object();
  bool bad_value = false;  // a hyperparameter of another type than Keras writes: left uncompiled
  auto number = [&](const char* k, double fallback) {
    if (!cfg.contains(k)) return fallback;
    if (!cfg.at(k).is_number() || !std::isfinite(cfg.at(k).get<double>())) {
      bad_value = true;
      return fallback;
    }
    return cfg.at(k).get<double>();
  };
  auto flag = [&](const char* k) {
    if (!cfg.contains(k)) return false;
    if (!cfg.at(k).is_boolean()) bad_value = true;
    return cfg.at(k).is_boolean() && cfg.at(k).get<bool>();
  };
  for (const char* k : {"weight_decay", "clipnorm", "global_clipnorm", "clipvalue", "loss_scale_factor", "gradient_accumulation_steps"})
    if (cfg.contains(k) && !cfg.at(k).is_null()) return false;  // not implemented here: leave the model uncompiled
  if (cfg.contains("use_ema") && cfg.at("use_ema") != false) return false;
  if (cfg.contains("learning_rate") && !cfg.at("learning_rate").is_number()) return false;  // a schedule
  const std::string cls = o.value("class_name", "");
  std::unique_ptr<Optimizer> opt;
  try {
    if (cls == "Adam")
      opt = std::make_unique<Adam>(number("learning_rate", 0.001), number("beta_1", 0.9), number("beta_2", 0.999),
                                   number("epsilon", 1e-7), flag("amsgrad"));
    else if (cls == "SGD")
      opt = std::make_unique<SGD>(number("learning_rate", 0.01), number("momentum", 0.0), flag("nesterov"));
    else
      return false;
    if (bad_value) return false;
    std::vector<std::string> metrics;
    if (cc.contains("metrics") && cc.at("metrics").is_array())
      for (const json& x : cc.at("metrics"))
        if (x.is_string()) metrics.push_back(x.get<std::string>());
    m.compile(std::move(opt), Loss::parse(cc.at("loss").get<std::string>()), metrics);
  } catch (const Error&) {
    return false;  // an optimizer argument or a loss we do not have
  }
  return true;
}

void write_optimizer_vars(const Model& m, hid_t file) {
  Optimizer* o = const_cast<Model&>(m).optimizer();
  if (!o || compile_config(m).is_null()) return;
  auto state = o->state(trainable(m));
  Handle opt{H5Gcreate2(file, "optimizer", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose};
  Handle vars{opt.id >= 0 ? H5Gcreate2(opt.id, "vars", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1, H5Gclose};
  if (vars.id < 0) throw Error("save_model: HDF5 could not create the optimizer group");
  auto scalar = [&](const char* name, hid_t file_type, hid_t mem_type, const void* v) {
    Handle space{H5Screate(H5S_SCALAR), H5Sclose};
    Handle ds{H5Dcreate2(vars.id, name, file_type, space.id, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose};
    if (ds.id < 0 || H5Dwrite(ds.id, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0)
      throw Error(std::string("save_model: HDF5 could not write optimizer/vars/") + name);
  };
  if (o->iterations() > std::size_t(INT32_MAX)) throw Error("save_model: the optimizer's iteration count exceeds Keras's int32");
  const std::int32_t it = std::int32_t(o->iterations());
  const float lr = float(o->learning_rate());
  scalar("0", H5T_STD_I32LE, H5T_NATIVE_INT32, &it);
  scalar("1", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, &lr);
  for (std::size_t i = 0; i < state.size(); ++i) {
    const Weight& w = *state[i].weight;
    std::vector<hsize_t> dims(w.value.shape().begin(), w.value.shape().end());
    Handle space{H5Screate_simple(int(dims.size()), dims.data(), nullptr), H5Sclose};
    const std::string name = std::to_string(i + 2);
    Handle ds{H5Dcreate2(vars.id, name.c_str(), H5T_IEEE_F32LE, space.id, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose};
    if (ds.id < 0 || H5Dwrite(ds.id, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, state[i].values->data()) < 0)
      throw Error("save_model: HDF5 could not write optimizer/vars/" + name);
  }
}

void read_optimizer_vars(Model& m, hid_t file, const Ctx& c) {
  Optimizer* o = m.optimizer();
  if (!o || H5Lexists(file, "optimizer", H5P_DEFAULT) <= 0 || H5Lexists(file, "optimizer/vars", H5P_DEFAULT) <= 0) return;
  auto exists = [&](std::size_t i) { return H5Lexists(file, ("optimizer/vars/" + std::to_string(i)).c_str(), H5P_DEFAULT) > 0; };
  std::size_t count = 0;
  while (count < (std::size_t(1) << 24) && exists(count)) ++count;
  // Keras keeps slots for the weights that were trainable when the optimizer was built: after
  // fine-tuning freezes a layer, those of its weights too. Match the file against the model's
  // trainable weights now, or with frozen layers' weights counted.
  std::vector<Weight*> ws = m.trainable_weights();
  auto expected = [&](const std::vector<Weight*>& w) { return o->state(w).size() + 2; };
  if (count > 2 && count != expected(ws)) {
    std::vector<Weight*> all;
    for (auto& l : m.layers())
      for (Weight* w : l->weights())
        if (w->trainable) all.push_back(w);
    if (count == expected(all)) ws = all;
  }
  auto state = o->state(ws);
  auto read = [&](std::size_t i, std::size_t want_size, hid_t mem_type, void* dst) {
    const std::string path = "optimizer/vars/" + std::to_string(i);
    if (H5Lexists(file, path.c_str(), H5P_DEFAULT) <= 0)
      bad(c, path + " is missing: the optimizer state does not match the model (" + std::to_string(state.size() + 2) +
                 " variables expected)");
    Handle ds{H5Dopen2(file, path.c_str(), H5P_DEFAULT), H5Dclose};
    Handle space{ds.id >= 0 ? H5Dget_space(ds.id) : -1, H5Sclose};
    if (space.id < 0) bad(c, path + " is not a dataset");
    const hssize_t n = H5Sget_simple_extent_npoints(space.id);
    if (n < 0 || std::size_t(n) != want_size)
      bad(c, path + ": expected " + std::to_string(want_size) + " values, the file has " + std::to_string(n));
    if (H5Dread(ds.id, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) < 0) bad(c, path + ": unreadable data");
  };
  {  // the iteration count: an integer dataset (Keras writes int32 or int64)
    Handle ds{H5Dopen2(file, "optimizer/vars/0", H5P_DEFAULT), H5Dclose};
    Handle type{ds.id >= 0 ? H5Dget_type(ds.id) : -1, H5Tclose};
    if (type.id < 0 || H5Tget_class(type.id) != H5T_INTEGER) bad(c, "optimizer/vars/0: the iteration count must be an integer");
  }
  std::int64_t it = 0;
  float lr = 0;
  read(0, 1, H5T_NATIVE_INT64, &it);
  read(1, 1, H5T_NATIVE_FLOAT, &lr);
  // At most 2^30: Keras stores the count as int32, and a resumed run must be able to count on.
  if (it < 0 || it > (std::int64_t(1) << 30)) bad(c, "optimizer/vars/0: expected an iteration count in [0, 2^30], got " + std::to_string(it));
  if (!(lr > 0 && std::isfinite(lr))) bad(c, "optimizer/vars/1: the learning rate must be positive, got " + std::to_string(lr));
  o->set_iterations(std::size_t(it));
  // The variable is float32; the compile config's double (the optimizer's value here) is kept
  // when it rounds to it, so a resumed run computes its steps as the uninterrupted one did.
  if (float(o->learning_rate()) != lr) o->set_learning_rate(lr);
  if (count == 2) return;  // compiled, never fitted: Keras writes no slots yet (they start at zero)
  if (count < state.size() + 2)
    bad(c, "optimizer/vars/" + std::to_string(count) + " is missing: the optimizer state holds " + std::to_string(count) +
               " variables, the model's needs " + std::to_string(state.size() + 2));
  if (count > state.size() + 2)
    bad(c, "the optimizer state holds " + std::to_string(count) + " variables (optimizer/vars/0 .. " + std::to_string(count - 1) +
               "), more than the model's " + std::to_string(state.size() + 2));
  for (std::size_t i = 0; i < state.size(); ++i) {
    read(i + 2, state[i].values->size(), H5T_NATIVE_FLOAT, state[i].values->data());
    for (float v : *state[i].values)
      if (!std::isfinite(v)) bad(c, "optimizer/vars/" + std::to_string(i + 2) + ": non-finite values");
  }
}

}  // namespace fourierconv::nn::keras_io
