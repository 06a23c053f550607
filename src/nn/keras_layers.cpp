// The Keras configs of the supported layers: one table row per layer class, how to write its
// config and how to build the layer from one (Keras 3's config.json and Keras 2's
// model_config share these keys). See keras_layers.hpp.
#include "nn/keras_layers.hpp"

#include <algorithm>
#include <optional>

#include "fourierconv/error.hpp"
#include "fourierconv/nn/layers/activation.hpp"
#include "fourierconv/nn/layers/activation_layers.hpp"
#include "fourierconv/nn/layers/conv2d.hpp"
#include "fourierconv/nn/layers/conv2d_transpose.hpp"
#include "fourierconv/nn/layers/dense.hpp"
#include "fourierconv/nn/layers/depthwise_conv2d.hpp"
#include "fourierconv/nn/layers/flatten.hpp"
#include "fourierconv/nn/layers/fourier_conv2d.hpp"
#include "fourierconv/nn/layers/normalization.hpp"
#include "fourierconv/nn/layers/pooling.hpp"
#include "fourierconv/nn/layers/spectral_conv1d.hpp"
#include "fourierconv/nn/layers/spectral_conv2d.hpp"
#include "nn/json_exact.hpp"
#include "nn/keras_config_util.hpp"

namespace fourierconv::nn::keras_io {

json batch_shape(const Shape& s) {
  json a = json::array({nullptr});
  for (auto d : s) a.push_back(d);
  return a;
}

json dtype_policy() {
  return {{"module", "keras"}, {"class_name", "DTypePolicy"}, {"config", {{"name", "float32"}}}, {"registered_name", nullptr}};
}
[[noreturn]] void bad(const Ctx& c, const std::string& what) {
  throw Error(c.file.empty() ? c.who + ": " + what : c.who + ": '" + c.file + "': " + what);
}

namespace {

// MaxPooling and AveragePooling, 1-D and 2-D, share their config: pool_size, padding, strides.
template <class Pool, std::size_t Rank>
LayerType pooling_type(const char* cls) {
  return {cls, "keras.layers", "",
          [](const Layer& l, json& j) {
            auto* p = dynamic_cast<const Pool*>(&l);
            if (!p) return false;
            j = base_config(l);
            j["pool_size"] = sizes(p->pool_size(), Rank);
            j["padding"] = p->padding();
            j["strides"] = sizes(p->strides(), Rank);
            j["data_format"] = "channels_last";
            return true;
          },
          [](const Ctx& c, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {
            require_default(c, cfg, n, "data_format", "channels_last");
            Size2 pool = get_sizes(c, cfg, "pool_size", n, Rank);
            std::optional<Size2> s;
            if (cfg.contains("strides") && !cfg.at("strides").is_null()) s = get_sizes(c, cfg, "strides", n, Rank);
            const std::string pad = get<std::string>(c, cfg, "padding", n);
            if constexpr (Rank == 1) {
              std::optional<std::size_t> s1;
              if (s) s1 = s->second;
              return std::make_unique<Pool>(pool.second, Pooling1DArgs{.strides = s1, .padding = pad, .name = n});
            } else {
              return std::make_unique<Pool>(pool, Pooling2DArgs{.strides = s, .padding = pad, .name = n});
            }
          }};
}

template <std::size_t Rank>
LayerType global_pooling_type(GlobalPooling::Kind kind, const char* cls) {
  return {cls, "keras.layers", "",
          [](const Layer& l, json& j) {
            auto* p = dynamic_cast<const GlobalPooling*>(&l);
            if (!p) return false;
            j = base_config(l);
            j["data_format"] = "channels_last";
            j["keepdims"] = p->keepdims();
            return true;
          },
          [kind](const Ctx& c, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {
            require_default(c, cfg, n, "data_format", "channels_last");
            bool keep = false;
            if (cfg.contains("keepdims")) {
              if (!cfg.at("keepdims").is_boolean()) bad(c, n + ": 'keepdims' must be true or false, got " + cfg.at("keepdims").dump());
              keep = cfg.at("keepdims").get<bool>();
            }
            return std::make_unique<GlobalPooling>(kind, Rank, GlobalPoolingArgs{.keepdims = keep, .name = n});
          }};
}

// Conv1D and Conv2D (Conv1D is Conv2D on a 1 x L grid; its tuples have one entry).
template <std::size_t Rank>
LayerType conv_type(const char* cls) {
  return {cls, "keras.layers", "",
          [](const Layer& l, json& j) {
            auto* c = dynamic_cast<const Conv2D*>(&l);
            if (!c) return false;
            const Conv2DArgs& a = c->args();
            j = base_config(l);
            j["filters"] = c->filters();
            j["kernel_size"] = sizes(c->kernel_size(), Rank);
            j["strides"] = sizes(a.strides, Rank);
            j["padding"] = a.padding;
            j["data_format"] = "channels_last";
            j["dilation_rate"] = sizes(a.dilation_rate, Rank);
            j["groups"] = 1;
            j["activation"] = to_string(l.activation());
            j["use_bias"] = a.use_bias;
            j["kernel_initializer"] = initializer(a.kernel_initializer);
            j["bias_initializer"] = initializer(a.bias_initializer);
            write_penalties(l, j, true);
            return true;
          },
          [](const Ctx& c, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {
            require_default(c, cfg, n, "data_format", "channels_last");
            require_default(c, cfg, n, "groups", 1);
            std::string pad = get<std::string>(c, cfg, "padding", n);
            if (pad != "valid" && pad != "same" && (Rank == 2 || pad != "causal"))
              bad(c, n + ": unsupported padding '" + pad + "'");
            std::size_t f = get<std::size_t>(c, cfg, "filters", n);
            if (f == 0 || f > kMaxDim) bad(c, n + ": filters out of range: " + std::to_string(f));
            const Size2 k = get_sizes(c, cfg, "kernel_size", n, Rank), s = get_sizes(c, cfg, "strides", n, Rank);
            const Size2 d = cfg.contains("dilation_rate") ? get_sizes(c, cfg, "dilation_rate", n, Rank) : Size2{1, 1};
            const std::string act = activation_of(c, cfg, n), ki = initializer_of(cfg, "kernel_initializer", "glorot_uniform"),
                              bi = initializer_of(cfg, "bias_initializer", "zeros");
            const bool bias = cfg.value("use_bias", true);
            std::unique_ptr<Layer> layer;
            if constexpr (Rank == 1)
              layer = std::make_unique<Conv1D>(f, k.second,
                                               Conv1DArgs{.strides = s.second, .padding = pad, .dilation_rate = d.second,
                                                          .activation = act, .use_bias = bias, .kernel_initializer = ki,
                                                          .bias_initializer = bi, .name = n});
            else
              layer = std::make_unique<Conv2D>(f, k,
                                               Conv2DArgs{.strides = s, .padding = pad, .dilation_rate = d, .activation = act,
                                                          .use_bias = bias, .kernel_initializer = ki, .bias_initializer = bi,
                                                          .name = n});
            read_penalties(c, cfg, n, *layer);
            return layer;
          }};
}

// FourierConv1D and FourierConv2D: the bank as filter specs (make_filter), padding, output.
// DepthwiseConv2D and SeparableConv2D: Conv2D's geometry keys plus depth_multiplier; the
// depthwise (and pointwise) kernel's initializer, regularizer and constraint keys.
LayerType depthwise_type(bool separable) {
  return {separable ? "SeparableConv2D" : "DepthwiseConv2D", "keras.layers", "",
          [separable](const Layer& l, json& j) {
            auto* d = dynamic_cast<const DepthwiseConv2D*>(&l);
            if (!d || (dynamic_cast<const SeparableConv2D*>(&l) != nullptr) != separable) return false;
            const DepthwiseConv2DArgs& a = d->args();
            j = base_config(l);
            if (separable) j["filters"] = static_cast<const SeparableConv2D*>(d)->filters();
            j["kernel_size"] = pair(d->kernel_size());
            j["strides"] = pair(a.strides);
            j["padding"] = a.padding;
            j["data_format"] = "channels_last";
            j["dilation_rate"] = pair(a.dilation_rate);
            j["depth_multiplier"] = a.depth_multiplier;
            j["activation"] = to_string(l.activation());
            j["use_bias"] = a.use_bias;
            const char* dk = separable ? "depthwise_kernel" : "kernel";
            j["depthwise_initializer"] = initializer("glorot_uniform");
            if (separable) j["pointwise_initializer"] = initializer("glorot_uniform");
            j["bias_initializer"] = initializer("zeros");
            j["depthwise_regularizer"] = regularizer_json(l.regularizer(dk));
            if (separable) j["pointwise_regularizer"] = regularizer_json(l.regularizer("pointwise_kernel"));
            j["bias_regularizer"] = regularizer_json(l.regularizer("bias"));
            j["activity_regularizer"] = regularizer_json(l.activity_regularizer());
            j["depthwise_constraint"] = constraint_json(l.constraint(dk));
            if (separable) j["pointwise_constraint"] = constraint_json(l.constraint("pointwise_kernel"));
            j["bias_constraint"] = constraint_json(l.constraint("bias"));
            return true;
          },
          [separable](const Ctx& c, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {
            require_default(c, cfg, n, "data_format", "channels_last");
            const std::string pad = get<std::string>(c, cfg, "padding", n);
            if (pad != "valid" && pad != "same") bad(c, n + ": unsupported padding '" + pad + "'");
            const Size2 k = get_pair(c, cfg, "kernel_size", n), s = get_pair(c, cfg, "strides", n);
            const Size2 d = cfg.contains("dilation_rate") ? get_pair(c, cfg, "dilation_rate", n) : Size2{1, 1};
            const std::size_t m = cfg.contains("depth_multiplier") ? get<std::size_t>(c, cfg, "depth_multiplier", n) : 1;
            if (m == 0 || m > kMaxDim) bad(c, n + ": depth_multiplier out of range: " + std::to_string(m));
            const std::string act = activation_of(c, cfg, n);
            const bool bias = cfg.value("use_bias", true);
            std::unique_ptr<Layer> layer;
            try {
              if (separable) {
                const std::size_t f = get<std::size_t>(c, cfg, "filters", n);
                if (f == 0 || f > kMaxDim) bad(c, n + ": filters out of range: " + std::to_string(f));
                layer = std::make_unique<SeparableConv2D>(f, k, SeparableConv2DArgs{.strides = s, .padding = pad, .depth_multiplier = m,
                                                                                    .dilation_rate = d, .activation = act,
                                                                                    .use_bias = bias, .name = n});
              } else {
                layer = std::make_unique<DepthwiseConv2D>(k, DepthwiseConv2DArgs{.strides = s, .padding = pad, .depth_multiplier = m,
                                                                                 .dilation_rate = d, .activation = act,
                                                                                 .use_bias = bias, .name = n});
              }
            } catch (const Error& e) {
              bad(c, n + ": " + e.what());
            }
            const char* dk = separable ? "depthwise_kernel" : "kernel";
            read_penalty(c, cfg, n, *layer, "depthwise", dk);
            if (separable) read_penalty(c, cfg, n, *layer, "pointwise", "pointwise_kernel");
            read_penalty(c, cfg, n, *layer, "bias", "bias");
            layer->set_activity_regularizer(regularizer_of(c, cfg, "activity_regularizer", n));
            return layer;
          }};
}

template <class Layer_>
LayerType fourier_type(const char* cls) {
  return {cls, "fourierconv.keras", std::string("fourierconv>") + cls,
       [](const Layer& l, json& j) {
         auto* f = dynamic_cast<const Layer_*>(&l);
         if (!f) return false;
         j = base_config(l);
         json specs = json::array();
         for (const Filter& flt : f->bank()) {
           if (flt.name == "custom" || flt.args.empty())
             throw Error("save_model: " + l.name() + " (" + l.class_name() + "): filter '" + flt.name +
                         "' is a C++ callable, which cannot be re-created from a file; build the layer from named filters "
                         "(make_filter) to save it");
           specs.push_back(flt.to_string());
         }
         j["filters"] = specs;
         j["padding"] = f->args().padding;
         j["output"] = f->args().output;
         j["activation"] = to_string(l.activation());
         return true;
       },
       [](const Ctx& c, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {
         auto specs = get<std::vector<std::string>>(c, cfg, "filters", n);
         if (specs.empty() || specs.size() > 65536) bad(c, n + ": expected 1 to 65536 filters, got " + std::to_string(specs.size()));
         std::vector<Filter> bank;
         for (auto& s : specs) {
           try {
             bank.push_back(make_filter(s));
           } catch (const Error& e) {
             bad(c, n + ": " + e.what());
           }
         }
         return std::make_unique<Layer_>(bank, FourierConv2DArgs{.padding = get<std::string>(c, cfg, "padding", n),
                                                                        .output = get<std::string>(c, cfg, "output", n),
                                                                        .activation = activation_of(c, cfg, n), .name = n});
       }};
}

}  // namespace

const std::vector<LayerType>& layer_types() {
  static const std::vector<LayerType> t = with_misc_layer_types({
      conv_type<1>("Conv1D"),
      conv_type<2>("Conv2D"),
      pooling_type<MaxPooling1D, 1>("MaxPooling1D"),
      pooling_type<AveragePooling1D, 1>("AveragePooling1D"),
      pooling_type<MaxPooling2D, 2>("MaxPooling2D"),
      pooling_type<AveragePooling2D, 2>("AveragePooling2D"),
      global_pooling_type<1>(GlobalPooling::Kind::Average, "GlobalAveragePooling1D"),
      global_pooling_type<1>(GlobalPooling::Kind::Max, "GlobalMaxPooling1D"),
      global_pooling_type<2>(GlobalPooling::Kind::Average, "GlobalAveragePooling2D"),
      global_pooling_type<2>(GlobalPooling::Kind::Max, "GlobalMaxPooling2D"),
      {"Flatten", "keras.layers", "",
       [](const Layer& l, json& j) {
         if (!dynamic_cast<const Flatten*>(&l)) return false;
         j = base_config(l);
         j["data_format"] = "channels_last";
         return true;
       },
       [](const Ctx& c, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {
         require_default(c, cfg, n, "data_format", "channels_last");
         return std::make_unique<Flatten>(FlattenArgs{.name = n});
       }},
      {"Dense", "keras.layers", "",
       [](const Layer& l, json& j) {
         auto* d = dynamic_cast<const Dense*>(&l);
         if (!d) return false;
         j = base_config(l);
         j["units"] = d->units();
         j["activation"] = to_string(l.activation());
         j["use_bias"] = d->args().use_bias;
         j["kernel_initializer"] = initializer(d->args().kernel_initializer);
         j["bias_initializer"] = initializer(d->args().bias_initializer);
         write_penalties(l, j, false);
         return true;
       },
       [](const Ctx& c, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {
         require_null(c, cfg, n, {"lora_rank"});
         std::size_t u = get<std::size_t>(c, cfg, "units", n);
         if (u == 0 || u > kMaxDim) bad(c, n + ": units out of range: " + std::to_string(u));
         auto d = std::make_unique<Dense>(u, DenseArgs{.activation = activation_of(c, cfg, n), .use_bias = cfg.value("use_bias", true),
                                                       .kernel_initializer = initializer_of(cfg, "kernel_initializer", "glorot_uniform"),
                                                       .bias_initializer = initializer_of(cfg, "bias_initializer", "zeros"), .name = n});
         read_penalties(c, cfg, n, *d);
         return d;
       }},
      {"Activation", "keras.layers", "",
       [](const Layer& l, json& j) {
         if (!dynamic_cast<const ActivationLayer*>(&l)) return false;
         j = base_config(l);
         j["activation"] = to_string(l.activation());
         return true;
       },
       [](const Ctx& c, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {
         return std::make_unique<ActivationLayer>(activation_of(c, cfg, n), ActivationArgs{.name = n});
       }},
      {"Dropout", "keras.layers", "",
       [](const Layer& l, json& j) {
         auto* d = dynamic_cast<const Dropout*>(&l);
         if (!d) return false;
         j = base_config(l);
         j["rate"] = d->rate();
         j["seed"] = nullptr;
         if (d->noise_shape().empty()) j["noise_shape"] = nullptr;
         else {
           j["noise_shape"] = json::array();
           for (auto v : d->noise_shape()) j["noise_shape"].push_back(v == 0 ? json(nullptr) : json(v));
         }
         return true;
       },
       [](const Ctx& c, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {
         double r = get<double>(c, cfg, "rate", n);
         if (!(r >= 0 && r < 1)) bad(c, n + ": rate must be in [0, 1), got " + std::to_string(r));
         Shape noise;
         if (cfg.contains("noise_shape") && !cfg.at("noise_shape").is_null()) {
           const json& ns = cfg.at("noise_shape");
           if (!ns.is_array() || ns.empty() || ns.size() > 8) bad(c, n + ": noise_shape must be a list of sizes or null, got " + ns.dump());
           for (const json& v : ns) {
             if (v.is_null()) noise.push_back(0);
             else if (v.is_number_unsigned() && v.get<std::size_t>() >= 1 && v.get<std::size_t>() <= kMaxDim) noise.push_back(v.get<std::size_t>());
             else bad(c, n + ": noise_shape entries must be null or positive sizes, got " + ns.dump());
           }
         }
         return std::make_unique<Dropout>(r, DropoutArgs{.noise_shape = noise, .name = n});
       }},
      {"Conv2DTranspose", "keras.layers", "",
       [](const Layer& l, json& j) {
         auto* t = dynamic_cast<const Conv2DTranspose*>(&l);
         if (!t) return false;
         const Conv2DTransposeArgs& a = t->args();
         j = base_config(l);
         j["filters"] = t->filters();
         j["kernel_size"] = pair(t->kernel_size());
         j["strides"] = pair(a.strides);
         j["padding"] = a.padding;
         j["output_padding"] = nullptr;
         j["data_format"] = "channels_last";
         j["dilation_rate"] = pair(a.dilation_rate);
         j["activation"] = to_string(l.activation());
         j["use_bias"] = a.use_bias;
         j["kernel_initializer"] = initializer("glorot_uniform");
         j["bias_initializer"] = initializer("zeros");
         write_penalties(l, j, true);
         return true;
       },
       [](const Ctx& c, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {
         require_default(c, cfg, n, "data_format", "channels_last");
         require_null(c, cfg, n, {"output_padding"});
         const std::string pad = get<std::string>(c, cfg, "padding", n);
         if (pad != "valid" && pad != "same") bad(c, n + ": unsupported padding '" + pad + "'");
         const std::size_t f = get<std::size_t>(c, cfg, "filters", n);
         if (f == 0 || f > kMaxDim) bad(c, n + ": filters out of range: " + std::to_string(f));
         const Size2 k = get_pair(c, cfg, "kernel_size", n), s = get_pair(c, cfg, "strides", n);
         const Size2 d = cfg.contains("dilation_rate") ? get_pair(c, cfg, "dilation_rate", n) : Size2{1, 1};
         auto layer = std::make_unique<Conv2DTranspose>(f, k, Conv2DTransposeArgs{.strides = s, .padding = pad, .dilation_rate = d,
                                                                                  .activation = activation_of(c, cfg, n),
                                                                                  .use_bias = cfg.value("use_bias", true), .name = n});
         read_penalties(c, cfg, n, *layer);
         return layer;
       }},
      depthwise_type(false),
      depthwise_type(true),
      fourier_type<FourierConv1D>("FourierConv1D"),
      fourier_type<FourierConv2D>("FourierConv2D"),
      {"SpectralConv1D", "fourierconv.keras", "fourierconv>SpectralConv1D",
       [](const Layer& l, json& j) {
         auto* s = dynamic_cast<const SpectralConv1D*>(&l);
         if (!s) return false;
         j = base_config(l);
         j["filters"] = s->filters();
         j["modes"] = s->modes();
         j["activation"] = to_string(l.activation());
         j["use_bias"] = s->args().use_bias;
         return true;
       },
       [](const Ctx& c, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {
         std::size_t f = get<std::size_t>(c, cfg, "filters", n), m = get<std::size_t>(c, cfg, "modes", n);
         if (f == 0 || f > kMaxDim) bad(c, n + ": filters out of range: " + std::to_string(f));
         if (m == 0 || m > kMaxDim) bad(c, n + ": modes out of range: " + std::to_string(m));
         return std::make_unique<SpectralConv1D>(f, m, SpectralConv1DArgs{.activation = activation_of(c, cfg, n),
                                                                          .use_bias = cfg.value("use_bias", true), .name = n});
       }},
      {"SpectralConv2D", "fourierconv.keras", "fourierconv>SpectralConv2D",
       [](const Layer& l, json& j) {
         auto* s = dynamic_cast<const SpectralConv2D*>(&l);
         if (!s) return false;
         j = base_config(l);
         j["filters"] = s->filters();
         j["modes"] = pair(s->modes());
         j["activation"] = to_string(l.activation());
         j["use_bias"] = s->args().use_bias;
         return true;
       },
       [](const Ctx& c, const json& cfg, const std::string& n) -> std::unique_ptr<Layer> {
         std::size_t f = get<std::size_t>(c, cfg, "filters", n);
         if (f == 0 || f > kMaxDim) bad(c, n + ": filters out of range: " + std::to_string(f));
         return std::make_unique<SpectralConv2D>(f, get_pair(c, cfg, "modes", n),
                                                 SpectralConv2DArgs{.activation = activation_of(c, cfg, n),
                                                                    .use_bias = cfg.value("use_bias", true), .name = n});
       }},
  });
  return t;
}

// Parameters a layer will allocate on `in`, known before building it (saturating).
std::size_t planned_params(const Layer& l, const Shape& in) {
  auto mul = [](std::size_t a, std::size_t b) { return (a != 0 && b > SIZE_MAX / 4 / a) ? SIZE_MAX / 4 : a * b; };
  const std::size_t c = in.empty() ? 1 : in.back();
  if (auto* cv = dynamic_cast<const Conv2D*>(&l))
    return mul(mul(mul(cv->kernel_size().first, cv->kernel_size().second), c), cv->filters()) + cv->filters();
  if (auto* d = dynamic_cast<const Dense*>(&l)) return mul(c, d->units()) + d->units();
  if (auto* s = dynamic_cast<const SpectralConv1D*>(&l)) return mul(mul(2 * c, s->filters()), s->modes()) + s->filters();
  if (auto* t = dynamic_cast<const Conv2DTranspose*>(&l))
    return mul(mul(mul(t->kernel_size().first, t->kernel_size().second), c), t->filters()) + t->filters();
  if (auto* d = dynamic_cast<const DepthwiseConv2D*>(&l)) {
    const std::size_t cm = mul(c, d->args().depth_multiplier);
    const std::size_t dw = mul(mul(d->kernel_size().first, d->kernel_size().second), cm);
    if (auto* sp = dynamic_cast<const SeparableConv2D*>(&l)) return dw + mul(cm, sp->filters()) + sp->filters();
    return dw + cm;
  }
  if (dynamic_cast<const BatchNormalization*>(&l)) return mul(4, c);
  if (dynamic_cast<const LayerNormalization*>(&l)) return mul(2, c);
  if (auto* n = dynamic_cast<const Normalization*>(&l)) return n->args().mean ? 0 : mul(2, c) + 1;
  if (auto* pr = dynamic_cast<const PReLU*>(&l)) {  // alpha: the input's shape, 1 along shared_axes
    std::size_t n = 1;
    for (std::size_t d = 0; d < in.size(); ++d)
      if (std::find(pr->shared_axes().begin(), pr->shared_axes().end(), d + 1) == pr->shared_axes().end()) n = mul(n, in[d]);
    return n;
  }
  if (auto* s = dynamic_cast<const SpectralConv2D*>(&l))
    return mul(mul(mul(4 * c, s->filters()), s->modes().first), s->modes().second) + s->filters();
  return 0;
}
}  // namespace fourierconv::nn::keras_io
