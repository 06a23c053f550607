// The Keras configs of the layers without kernels: the activation layers (ReLU, LeakyReLU, ELU,
// PReLU, Softmax), reshaping (Reshape, Permute, ZeroPadding2D, Cropping2D, UpSampling2D),
// normalization (BatchNormalization, LayerNormalization, Rescaling, Normalization), regularization
// (SpatialDropout2D, GaussianNoise), the merge layers (Add, ..., Concatenate) and Keras's augmentation layers that are the identity at
// inference (not RandomCrop, which resizes). See keras_layers.hpp.
#include <cmath>

#include "fourierconv/nn/layers/activation_layers.hpp"
#include "fourierconv/nn/layers/merge.hpp"
#include "fourierconv/nn/layers/normalization.hpp"
#include "fourierconv/nn/layers/regularization.hpp"
#include "fourierconv/nn/layers/reshaping.hpp"
#include "nn/keras_config_util.hpp"

namespace fourierconv::nn::keras_io {
namespace {

// A finite number, or the default when the key is absent.
double number_or(const Ctx& c, const json& cfg, const char* key, const std::string& n, double fallback) {
  if (!cfg.contains(key)) return fallback;
  const double v = get<double>(c, cfg, key, n);
  if (!std::isfinite(v)) bad(c, n + ": '" + key + "' must be finite, got " + cfg.at(key).dump());
  return v;
}

// Keras's ZeroPadding2D/Cropping2D margins: an int, [h, w] or [[top, bottom], [left, right]].
Margins2 margins(const Ctx& c, const json& cfg, const char* key, const std::string& n) {
  if (!cfg.contains(key)) bad(c, n + ": config has no '" + key + "'");
  const json& j = cfg.at(key);
  auto one = [&](const json& v) {
    if (!v.is_number_integer() || v.get<long long>() < 0 || v.get<long long>() > (long long)kMaxDim)
      bad(c, n + ": '" + key + "' must hold non-negative integers, got " + j.dump());
    return v.get<std::size_t>();
  };
  if (j.is_number()) {
    const std::size_t p = one(j);
    return {p, p, p, p};
  }
  if (j.is_array() && j.size() == 2 && j[0].is_number() && j[1].is_number()) {
    const std::size_t h = one(j[0]), w = one(j[1]);
    return {h, h, w, w};
  }
  if (j.is_array() && j.size() == 2 && j[0].is_array() && j[1].is_array() && j[0].size() == 2 && j[1].size() == 2)
    return {one(j[0][0]), one(j[0][1]), one(j[1][0]), one(j[1][1])};
  bad(c, n + ": '" + key + "' must be an int, [h, w] or [[top, bottom], [left, right]], got " + j.dump());
}
json margins_json(const Margins2& m) { return json::array({json::array({m.top, m.bottom}), json::array({m.left, m.right})}); }

// A scalar or a list of numbers (Rescaling's scale and offset).
std::vector<double> numbers(const Ctx& c, const json& cfg, const char* key, const std::string& n, double fallback) {
  if (!cfg.contains(key)) return {fallback};
  const json& j = cfg.at(key);
  std::vector<double> v;
  if (j.is_number()) v = {j.get<double>()};
  else if (j.is_array() && !j.empty() && j.size() <= kMaxDim)
    for (const json& e : j) {
      if (!e.is_number()) bad(c, n + ": '" + key + "' must be a number or a list of numbers, got " + j.dump());
      v.push_back(e.get<double>());
    }
  else bad(c, n + ": '" + key + "' must be a number or a list of numbers, got " + j.dump());
  for (double d : v)
    if (!std::isfinite(d)) bad(c, n + ": '" + key + "' must be finite, got " + j.dump());
  return v;
}
json numbers_json(const std::vector<double>& v) { return v.size() == 1 ? json(v[0]) : json(v); }

// Keras's image augmentation layers: the identity at inference, their config kept as it came.
LayerType augmentation_type(const char* cls) {
  return {cls, "keras.layers", "",
          [cls](const Layer& l, json& j) {
            auto* a = dynamic_cast<const Augmentation*>(&l);
            if (!a || a->class_name() != cls) return false;
            j = json::parse(a->config_json());
            j["name"] = l.name();
            j["trainable"] = l.trainable();
            return true;
          },
          [cls](const Ctx&, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {
            json kept = cfg;
            kept.erase("batch_input_shape");  // the model's input is written by the model
            kept.erase("batch_shape");
            return std::make_unique<Augmentation>(cls, AugmentationArgs{.config_json = kept.dump(), .name = n});
          }};
}

}  // namespace

std::vector<LayerType> with_misc_layer_types(std::vector<LayerType> t) {
  std::vector<LayerType> more = {
      {"BatchNormalization", "keras.layers", "",
       [](const Layer& l, json& j) {
         auto* b = dynamic_cast<const BatchNormalization*>(&l);
         if (!b) return false;
         j = base_config(l);
         j["axis"] = b->args().axis;
         j["momentum"] = b->args().momentum;
         j["epsilon"] = b->args().epsilon;
         j["center"] = b->args().center;
         j["scale"] = b->args().scale;
         j["beta_initializer"] = initializer("zeros");
         j["gamma_initializer"] = initializer("ones");
         j["moving_mean_initializer"] = initializer("zeros");
         j["moving_variance_initializer"] = initializer("ones");
         for (const char* k : {"beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"}) j[k] = nullptr;
         j["synchronized"] = false;
         return true;
       },
       [](const Ctx& c, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {
         require_null(c, cfg, n, {"beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"});
         if (cfg.contains("renorm") && !(cfg.at("renorm").is_boolean() && !cfg.at("renorm").get<bool>()))
           bad(c, n + ": batch renormalization (renorm) is not supported, got renorm = " + cfg.at("renorm").dump());
         int axis = -1;  // Keras 2 writes an integer or a list of one
         if (cfg.contains("axis")) {
           const json& a = cfg.at("axis");
           const json& v = a.is_array() && a.size() == 1 ? a[0] : a;
           if (!v.is_number_integer() || v.get<long long>() < -1 || v.get<long long>() > 8 || v.get<long long>() == 0)
             bad(c, n + ": 'axis' must be -1 or the channels axis (an integer, or a list of one), got " + a.dump());
           axis = int(v.get<long long>());
         }
         const double momentum = cfg.contains("momentum") ? get<double>(c, cfg, "momentum", n) : 0.99;
         const double epsilon = cfg.contains("epsilon") ? get<double>(c, cfg, "epsilon", n) : 1e-3;
         if (!(momentum >= 0 && momentum <= 1)) bad(c, n + ": momentum must be in [0, 1], got " + std::to_string(momentum));
         if (!(epsilon > 0 && epsilon < 1e30)) bad(c, n + ": epsilon must be positive, got " + std::to_string(epsilon));
         return std::make_unique<BatchNormalization>(BatchNormalizationArgs{.axis = axis, .momentum = momentum, .epsilon = epsilon,
                                                                            .center = cfg.value("center", true),
                                                                            .scale = cfg.value("scale", true), .name = n});
       }},
      {"LayerNormalization", "keras.layers", "",
       [](const Layer& l, json& j) {
         auto* b = dynamic_cast<const LayerNormalization*>(&l);
         if (!b) return false;
         j = base_config(l);
         j["axis"] = -1;
         j["epsilon"] = b->args().epsilon;
         j["center"] = b->args().center;
         j["scale"] = b->args().scale;
         j["rms_scaling"] = false;
         j["beta_initializer"] = initializer("zeros");
         j["gamma_initializer"] = initializer("ones");
         for (const char* k : {"beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"}) j[k] = nullptr;
         return true;
       },
       [](const Ctx& c, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {
         require_null(c, cfg, n, {"beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"});
         require_default(c, cfg, n, "rms_scaling", false);
         int axis = -1;  // -1 or [-1] (Keras 3), a positive last axis (Keras 2): checked when built
         if (cfg.contains("axis")) {
           const json& a = cfg.at("axis");
           const json& v = a.is_array() && a.size() == 1 ? a[0] : a;
           if (!v.is_number_integer() || v.get<long long>() < -1 || v.get<long long>() > 8 || v.get<long long>() == 0)
             bad(c, n + ": only the last axis is supported, got axis " + a.dump());
           axis = int(v.get<long long>());
         }
         const double eps = number_or(c, cfg, "epsilon", n, 1e-3);
         if (!(eps > 0)) bad(c, n + ": epsilon must be positive, got " + std::to_string(eps));
         return std::make_unique<LayerNormalization>(LayerNormalizationArgs{
             .axis = axis, .epsilon = eps, .center = cfg.value("center", true), .scale = cfg.value("scale", true), .name = n});
       }},
      {"Rescaling", "keras.layers", "",
       [](const Layer& l, json& j) {
         auto* r = dynamic_cast<const Rescaling*>(&l);
         if (!r) return false;
         j = base_config(l);
         j["scale"] = numbers_json(r->scale());
         j["offset"] = numbers_json(r->offset());
         return true;
       },
       [](const Ctx& c, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {
         return std::make_unique<Rescaling>(numbers(c, cfg, "scale", n, 1.0), numbers(c, cfg, "offset", n, 0.0), RescalingArgs{.name = n});
       }},
      {"ReLU", "keras.layers", "",
       [](const Layer& l, json& j) {
         auto* r = dynamic_cast<const ReLU*>(&l);
         if (!r) return false;
         j = base_config(l);
         j["max_value"] = r->args().max_value ? json(*r->args().max_value) : json(nullptr);
         j["negative_slope"] = r->args().negative_slope;
         j["threshold"] = r->args().threshold;
         return true;
       },
       [](const Ctx& c, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {
         std::optional<double> mv;
         if (cfg.contains("max_value") && !cfg.at("max_value").is_null()) mv = number_or(c, cfg, "max_value", n, 0.0);
         try {
           return std::make_unique<ReLU>(ReLUArgs{.max_value = mv, .negative_slope = number_or(c, cfg, "negative_slope", n, 0.0),
                                                  .threshold = number_or(c, cfg, "threshold", n, 0.0), .name = n});
         } catch (const Error& e) {
           bad(c, n + ": " + e.what());
         }
       }},
      {"LeakyReLU", "keras.layers", "",
       [](const Layer& l, json& j) {
         auto* r = dynamic_cast<const LeakyReLU*>(&l);
         if (!r) return false;
         j = base_config(l);
         j["negative_slope"] = r->negative_slope();
         return true;
       },
       [](const Ctx& c, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {  // Keras 2 said alpha
         const double s = cfg.contains("negative_slope") ? number_or(c, cfg, "negative_slope", n, 0.3) : number_or(c, cfg, "alpha", n, 0.3);
         return std::make_unique<LeakyReLU>(LeakyReLUArgs{.negative_slope = s, .name = n});
       }},
      {"ELU", "keras.layers", "",
       [](const Layer& l, json& j) {
         auto* r = dynamic_cast<const ELU*>(&l);
         if (!r) return false;
         j = base_config(l);
         j["alpha"] = r->alpha();
         return true;
       },
       [](const Ctx& c, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {
         return std::make_unique<ELU>(ELUArgs{.alpha = number_or(c, cfg, "alpha", n, 1.0), .name = n});
       }},
      {"PReLU", "keras.layers", "",
       [](const Layer& l, json& j) {
         auto* r = dynamic_cast<const PReLU*>(&l);
         if (!r) return false;
         j = base_config(l);
         j["alpha_initializer"] = initializer("zeros");
         j["alpha_regularizer"] = nullptr;
         j["alpha_constraint"] = nullptr;
         j["shared_axes"] = r->shared_axes().empty() ? json(nullptr) : json(r->shared_axes());
         return true;
       },
       [](const Ctx& c, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {
         require_null(c, cfg, n, {"alpha_regularizer", "alpha_constraint"});
         std::vector<std::size_t> axes;
         if (cfg.contains("shared_axes") && !cfg.at("shared_axes").is_null()) {
           const json& a = cfg.at("shared_axes");
           if (a.is_number_integer()) axes = {get<std::size_t>(c, cfg, "shared_axes", n)};
           else axes = get<std::vector<std::size_t>>(c, cfg, "shared_axes", n);
         }
         return std::make_unique<PReLU>(PReLUArgs{.shared_axes = axes, .name = n});
       }},
      {"Softmax", "keras.layers", "",
       [](const Layer& l, json& j) {
         auto* s = dynamic_cast<const Softmax*>(&l);
         if (!s) return false;
         j = base_config(l);
         j["axis"] = s->axis();
         return true;
       },
       [](const Ctx& c, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {
         int axis = -1;
         if (cfg.contains("axis")) {  // an integer, or a list of one (Keras 3 writes either)
           const json& a = cfg.at("axis");
           const json& one = a.is_array() && a.size() == 1 ? a[0] : a;
           if (!one.is_number_integer() || one.get<long long>() == 0 || std::llabs(one.get<long long>()) > 32)
             bad(c, n + ": 'axis' must be one axis of the sample (an integer, not 0, the batch axis), got " + a.dump());
           axis = int(one.get<long long>());
         }
         return std::make_unique<Softmax>(SoftmaxArgs{.axis = axis, .name = n});
       }},
      {"Reshape", "keras.layers", "",
       [](const Layer& l, json& j) {
         auto* r = dynamic_cast<const Reshape*>(&l);
         if (!r) return false;
         j = base_config(l);
         j["target_shape"] = r->target_shape();
         return true;
       },
       [](const Ctx& c, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {
         auto t = get<std::vector<long long>>(c, cfg, "target_shape", n);
         if (t.size() > 8) bad(c, n + ": target_shape has " + std::to_string(t.size()) + " axes (at most 8)");
         for (long long v : t)
           if (v > (long long)kMaxDim) bad(c, n + ": target_shape entry out of range: " + std::to_string(v));
         try {
           return std::make_unique<Reshape>(t, ReshapeArgs{.name = n});
         } catch (const Error& e) {
           bad(c, n + ": " + e.what());
         }
       }},
      {"Permute", "keras.layers", "",
       [](const Layer& l, json& j) {
         auto* p = dynamic_cast<const Permute*>(&l);
         if (!p) return false;
         j = base_config(l);
         j["dims"] = p->dims();
         return true;
       },
       [](const Ctx& c, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {
         auto d = get<std::vector<std::size_t>>(c, cfg, "dims", n);
         if (d.size() > 8) bad(c, n + ": dims has " + std::to_string(d.size()) + " axes (at most 8)");
         try {
           return std::make_unique<Permute>(d, PermuteArgs{.name = n});
         } catch (const Error& e) {
           bad(c, n + ": " + e.what());
         }
       }},
      {"ZeroPadding2D", "keras.layers", "",
       [](const Layer& l, json& j) {
         auto* p = dynamic_cast<const ZeroPadding2D*>(&l);
         if (!p) return false;
         j = base_config(l);
         j["padding"] = margins_json(p->padding());
         j["data_format"] = "channels_last";
         return true;
       },
       [](const Ctx& c, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {
         require_default(c, cfg, n, "data_format", "channels_last");
         return std::make_unique<ZeroPadding2D>(margins(c, cfg, "padding", n), Margins2Args{.name = n});
       }},
      {"Cropping2D", "keras.layers", "",
       [](const Layer& l, json& j) {
         auto* p = dynamic_cast<const Cropping2D*>(&l);
         if (!p) return false;
         j = base_config(l);
         j["cropping"] = margins_json(p->cropping());
         j["data_format"] = "channels_last";
         return true;
       },
       [](const Ctx& c, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {
         require_default(c, cfg, n, "data_format", "channels_last");
         return std::make_unique<Cropping2D>(margins(c, cfg, "cropping", n), Margins2Args{.name = n});
       }},
      {"UpSampling2D", "keras.layers", "",
       [](const Layer& l, json& j) {
         auto* u = dynamic_cast<const UpSampling2D*>(&l);
         if (!u) return false;
         j = base_config(l);
         j["size"] = pair(u->size());
         j["data_format"] = "channels_last";
         j["interpolation"] = u->interpolation();
         return true;
       },
       [](const Ctx& c, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {
         require_default(c, cfg, n, "data_format", "channels_last");
         Size2 s = get_pair(c, cfg, "size", n);
         if (s.first > 1024 || s.second > 1024) bad(c, n + ": size above 1024: " + cfg.at("size").dump());
         const std::string interp = cfg.contains("interpolation") ? get<std::string>(c, cfg, "interpolation", n) : "nearest";
         if (interp != "nearest" && interp != "bilinear")
           bad(c, n + ": interpolation '" + interp + "' is not supported (nearest, bilinear)");
         return std::make_unique<UpSampling2D>(s, UpSampling2DArgs{.interpolation = interp, .name = n});
       }},
      {"SpatialDropout2D", "keras.layers", "",
       [](const Layer& l, json& j) {
         auto* d = dynamic_cast<const SpatialDropout2D*>(&l);
         if (!d) return false;
         j = base_config(l);
         j.erase("trainable");  // Keras 3's SpatialDropout2D takes no `trainable` argument
         j["rate"] = d->rate();
         j["seed"] = nullptr;
         j["data_format"] = "channels_last";
         return true;
       },
       [](const Ctx& c, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {
         require_default(c, cfg, n, "data_format", "channels_last");
         const double r = get<double>(c, cfg, "rate", n);
         if (!(r >= 0 && r < 1)) bad(c, n + ": rate must be in [0, 1), got " + std::to_string(r));
         return std::make_unique<SpatialDropout2D>(r, NoiseArgs{.name = n});
       }},
      {"GaussianNoise", "keras.layers", "",
       [](const Layer& l, json& j) {
         auto* g = dynamic_cast<const GaussianNoise*>(&l);
         if (!g) return false;
         j = base_config(l);
         j["stddev"] = g->stddev();
         j["seed"] = nullptr;
         return true;
       },
       [](const Ctx& c, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {
         const double s = get<double>(c, cfg, "stddev", n);
         if (!(s >= 0 && std::isfinite(s))) bad(c, n + ": stddev must be >= 0, got " + std::to_string(s));
         return std::make_unique<GaussianNoise>(s, NoiseArgs{.name = n});
       }},
  };
  more.push_back({"Normalization", "keras.layers", "",
                  [](const Layer& l, json& j) {
                    auto* nz = dynamic_cast<const Normalization*>(&l);
                    if (!nz) return false;
                    j = base_config(l);
                    j["axis"] = l.built() ? json::array({l.input_shape().size()}) : json(-1);
                    j["invert"] = nz->args().invert;
                    j["mean"] = nz->args().mean ? numbers_json(*nz->args().mean) : json(nullptr);
                    j["variance"] = nz->args().variance ? numbers_json(*nz->args().variance) : json(nullptr);
                    return true;
                  },
                  [](const Ctx& c, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {
                    NormalizationArgs a{.name = n};
                    if (cfg.contains("axis")) {  // -1, [-1] or [rank]: the last axis (checked when built)
                      const json& ax = cfg.at("axis");
                      const json& v = ax.is_array() && ax.size() == 1 ? ax[0] : ax;
                      if (!v.is_number_integer() || (v.get<long>() != -1 && v.get<long>() < 1))
                        bad(c, n + ": Normalization axis " + ax.dump() + " is not supported (the last axis only)");
                      a.axis = int(v.get<long>());
                    }
                    if (cfg.contains("invert")) a.invert = get<bool>(c, cfg, "invert", n);
                    const bool has_mean = cfg.contains("mean") && !cfg.at("mean").is_null();
                    const bool has_var = cfg.contains("variance") && !cfg.at("variance").is_null();
                    if (has_mean != has_var) bad(c, n + ": Normalization needs both mean and variance, or neither");
                    if (has_mean) {
                      a.mean = numbers(c, cfg, "mean", n, 0.0);
                      a.variance = numbers(c, cfg, "variance", n, 1.0);
                    }
                    try {
                      return std::make_unique<Normalization>(a);
                    } catch (const Error& e) {
                      bad(c, n + ": " + e.what());
                    }
                  }});
  for (const char* cls : {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"})
    more.push_back({cls, "keras.layers", "",
                    [cls = std::string(cls)](const Layer& l, json& j) {
                      if (!dynamic_cast<const ElementwiseMerge*>(&l) || l.class_name() != cls) return false;
                      j = base_config(l);
                      return true;
                    },
                    [cls = std::string(cls)](const Ctx&, const json&, const std::string& n) -> std::unique_ptr<Layer> {
                      using Op = ElementwiseMerge::Op;
                      const Op op = cls == "Add" ? Op::Add : cls == "Subtract" ? Op::Subtract : cls == "Multiply" ? Op::Multiply
                                    : cls == "Average" ? Op::Average : cls == "Maximum" ? Op::Maximum : Op::Minimum;
                      return std::make_unique<ElementwiseMerge>(op, n);
                    }});
  more.push_back({"Concatenate", "keras.layers", "",
                  [](const Layer& l, json& j) {
                    auto* m = dynamic_cast<const Concatenate*>(&l);
                    if (!m) return false;
                    j = base_config(l);
                    j["axis"] = m->axis();
                    return true;
                  },
                  [](const Ctx& c, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {
                    const int axis = cfg.contains("axis") ? get<int>(c, cfg, "axis", n) : -1;
                    if (axis == 0 || axis < -64 || axis > 64) bad(c, n + ": Concatenate axis " + std::to_string(axis) + " is out of range (the batch axis 0 cannot be concatenated)");
                    return std::make_unique<Concatenate>(axis, n);
                  }});
  for (const char* cls : {"RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast", "RandomBrightness"})
    more.push_back(augmentation_type(cls));
  for (auto& r : more) t.push_back(std::move(r));
  return t;
}

}  // namespace fourierconv::nn::keras_io
