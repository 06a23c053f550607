#include "fourierconv/nn/layers/conv2d.hpp"

#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>

#include "fourierconv/conv/choose.hpp"
#include "fourierconv/conv/direct.hpp"
#include "fourierconv/conv/winograd.hpp"
#include "fourierconv/error.hpp"
#include "parallel.hpp"
#include "simd.hpp"
#include "fourierconv/nn/initializers.hpp"
#include "fourierconv/nn/layers/pooling.hpp"

namespace fourierconv::nn {

namespace {
void check_algorithm(const std::string& cls, const std::string& algorithm) {
  if (algorithm != "auto" && algorithm != "direct" && algorithm != "fft" && algorithm != "winograd" && algorithm != "measure")
    throw Error(cls + ": algorithm must be auto, direct, fft, winograd or measure; got '" + algorithm + "'");
}
}  // namespace

Conv2D::Conv2D(std::size_t filters, Size2 kernel_size, Conv2DArgs args)
    : Conv2D(filters, kernel_size, std::move(args), "conv2d", false) {}

Conv2D::Conv2D(std::size_t filters, Size2 kernel_size, Conv2DArgs args, const char* name_prefix, bool allow_causal)
    : Layer(args.name.empty() ? unique_name(name_prefix) : args.name),
      filters_(filters),
      kernel_size_(kernel_size),
      args_(std::move(args)) {
  const std::string cls = allow_causal ? "Conv1D" : "Conv2D";
  if (filters == 0) throw Error(cls + ": filters must be >= 1, got 0");
  if (kernel_size.first == 0 || kernel_size.second == 0)
    throw Error(cls + ": kernel_size must be positive, got " +
                (allow_causal ? std::to_string(kernel_size.second)
                              : "(" + std::to_string(kernel_size.first) + ", " + std::to_string(kernel_size.second) + ")"));
  if (args_.strides.first == 0 || args_.strides.second == 0) throw Error(cls + ": strides must be positive");
  if (args_.dilation_rate.first == 0 || args_.dilation_rate.second == 0) throw Error(cls + ": dilation_rate must be positive");
  padding_ = conv::parse_padding(args_.padding);
  if (padding_ == conv::Padding::Causal && !allow_causal)
    throw Error("Conv2D: padding 'causal' is for Conv1D only (as in Keras); expected valid or same");
  activation_ = parse_activation(args_.activation);
  check_algorithm(cls, args_.algorithm);
  declare_input_shape(args_.input_shape);
}

void Conv2D::set_algorithm(std::string algorithm) {
  check_algorithm(class_name(), algorithm);
  args_.algorithm = std::move(algorithm);
}

conv::Problem Conv2D::problem_for(std::size_t n) const {
  const Shape& s = grid_;
  return conv::Problem::make(n, s[0], s[1], s[2], filters_, kernel_size_.first, kernel_size_.second, args_.strides.first,
                             args_.strides.second, args_.dilation_rate.first, args_.dilation_rate.second, padding_,
                             name() + " (" + class_name() + ")");
}

Shape Conv2D::build_impl(const Shape& in) {
  if (in.size() != 3) throw Error(name() + " (Conv2D): expected input shape (H, W, C), got " + shape_to_string(in));
  return build_grid(in);
}

Shape Conv2D::build_grid(const Shape& in) {
  const std::size_t C = in[2];
  grid_ = in;
  conv::Problem p = problem_for(1);
  Weight& k = add_weight("kernel", {kernel_size_.first, kernel_size_.second, C, filters_});
  initialize(k.value, args_.kernel_initializer, global_rng());
  if (args_.use_bias) {
    Weight& b = add_weight("bias", {filters_});
    initialize(b.value, args_.bias_initializer, global_rng());
  }
  fft_.reset();
  decisions_.clear();
  forward_used_ = backward_used_ = "none";
  forward_reason_ = "not called yet";
  return {p.oh, p.ow, filters_};
}

namespace {

// Measure mode's process-wide cache: problem and pass -> the faster algorithm.
std::mutex measured_mutex;
std::map<std::string, conv::Algorithm>& measured() {
  static std::map<std::string, conv::Algorithm> m;
  return m;
}

template <class F>
double time_once(F f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

conv::Algorithm Conv2D::forward_algorithm(const conv::Problem& p, int pass, const Tensor& x) {
  conv::Algorithm a = algorithm_for(p, pass, x, &forward_reason_);
  // A NaN or Inf pixel reaches every frequency, so the FFT would spread it over the whole plane
  // (and turn Inf into NaN), and Winograd over its tiles; the direct algorithm keeps it to the
  // outputs whose windows hold it, as Keras does. An explicit algorithm is kept.
  if (a != conv::Algorithm::Direct && args_.algorithm != conv::to_string(a) && !all_finite(x)) {
    forward_reason_ = "direct for this call (the input holds NaN or Inf; " + conv::to_string(a) + " would spread it); otherwise " +
                      forward_reason_;
    a = conv::Algorithm::Direct;
  }
  return a;
}

conv::Algorithm Conv2D::algorithm_for(const conv::Problem& p, int pass, const Tensor& x, std::string* reason) {
  // measure mode keeps its own process-wide cache (and reports "measured" once cached).
  if (args_.algorithm == "measure") return decide(p, pass, x, reason);
  auto key = std::make_pair(p.n, pass);
  auto it = decisions_.find(key);
  if (it == decisions_.end()) {
    std::string r;
    const conv::Algorithm a = decide(p, pass, x, &r);
    it = decisions_.emplace(key, std::make_pair(a, r)).first;
  }
  *reason = it->second.second;
  return it->second.first;
}

conv::Algorithm Conv2D::decide(const conv::Problem& p, int pass, const Tensor& x, std::string* reason) {
  using conv::Algorithm;
  std::string why;
  const bool forward = pass == static_cast<int>(conv::Pass::Inference) || pass == static_cast<int>(conv::Pass::TrainingForward);
  const bool can = conv::fft_supports(p, &why);
  const std::string& a = args_.algorithm;
  if (a == "direct") {
    *reason = "direct (requested)";
    return Algorithm::Direct;
  }
  if (a == "winograd" && forward) {
    std::string wwhy;
    if (conv::winograd_supports(p, &wwhy)) {
      *reason = "winograd (requested)";
      return Algorithm::Winograd;
    }
    *reason = "direct (winograd was requested; it does not support " + wwhy + ")";
    return Algorithm::Direct;
  }
  if (a == "fft" && !can) {
    *reason = "direct: the FFT algorithm does not support " + why + " (fft was requested)";
    return Algorithm::Direct;
  }
  if (a == "fft") {
    *reason = "fft (requested)";
    return Algorithm::Fft;
  }
  conv::Choice ch = conv::choose(p, static_cast<conv::Pass>(pass));
  *reason = ch.reason;
  if (a != "measure") return ch.algorithm;  // auto, and winograd's backward passes
  // FOURIERCONV_NO_WINOGRAD leaves Winograd out of measure's candidates too.
  const bool wino = forward && conv::winograd_supports(p) && std::getenv("FOURIERCONV_NO_WINOGRAD") == nullptr;
  if (!can && !wino) {
    *reason = "direct: the FFT algorithm does not support " + why + " (nothing to measure against)";
    return Algorithm::Direct;
  }
  // measure: time each algorithm that applies once for this problem and pass, keep the fastest.
  const std::string key = p.to_string() + " pass " + std::to_string(pass);
  {
    std::lock_guard<std::mutex> lock(measured_mutex);
    auto it = measured().find(key);
    if (it != measured().end()) {
      *reason = conv::to_string(it->second) + " (measured)";
      return it->second;
    }
  }
  if (!fft_ && can) fft_ = std::make_shared<conv::FftConv>(p);
  auto w = weights();
  const float* bias = args_.use_bias ? w[1]->value.data() : nullptr;
  Tensor tmp({p.n * p.oh * p.ow * p.f});
  double td, tf = INFINITY, tw = INFINITY;
  if (forward) {
    td = time_once([&] { conv::direct_forward(p, x.data(), w[0]->value.data(), bias, tmp.data()); });
    if (can) tf = time_once([&] { fft_->forward(p, x.data(), w[0]->value.data(), bias, tmp.data()); });
    if (wino)
      tw = time_once([&] { conv::winograd_forward(p, x.data(), w[0]->value.data(), bias, tmp.data()); });
  } else {
    Tensor dx({p.n * p.h * p.w * p.c}), dk(w[0]->value.shape());
    conv::direct_forward(p, x.data(), w[0]->value.data(), bias, tmp.data());
    td = time_once([&] { conv::direct_backward(p, x.data(), w[0]->value.data(), tmp.data(), dx.data(), dk.data(), nullptr); });
    if (can)
      tf = time_once([&] { fft_->backward(p, x.data(), w[0]->value.data(), tmp.data(), dx.data(), dk.data(), nullptr); });
  }
  const Algorithm best = tw < std::min(td, tf) ? Algorithm::Winograd : tf < td ? Algorithm::Fft : Algorithm::Direct;
  std::lock_guard<std::mutex> lock(measured_mutex);
  measured()[key] = best;
  *reason = conv::to_string(best) + " (measured: direct " + std::to_string(td * 1e6) + " us" +
            (can ? ", fft " + std::to_string(tf * 1e6) + " us" : std::string()) +
            (std::isfinite(tw) ? ", winograd " + std::to_string(tw * 1e6) + " us" : std::string()) + ")";
  return best;
}

// The forward pass of p by algorithm a (the relu fused into the stores where `relu`; the FFT
// never fuses it).
void Conv2D::forward_with(conv::Algorithm a, const conv::Problem& p, const float* x, const float* kernel, const float* bias,
                          float* y, bool relu) {
  switch (a) {
    case conv::Algorithm::Fft:
      if (!fft_) fft_ = std::make_shared<conv::FftConv>(p);
      fft_->forward(p, x, kernel, bias, y);
      break;
    case conv::Algorithm::Winograd:
      conv::winograd_forward(p, x, kernel, bias, y, relu, &winograd_kernel_);
      break;
    case conv::Algorithm::Direct:
      conv::direct_forward(p, x, kernel, bias, y, relu);
      break;
  }
}

void Conv2D::call_impl(const Tensor& x, Tensor& y, bool training) {
  conv::Problem p = problem_for(x.dim(0));
  auto w = weights();
  const float* bias = args_.use_bias ? w[1]->value.data() : nullptr;
  const int pass = static_cast<int>(training ? conv::Pass::TrainingForward : conv::Pass::Inference);
  const conv::Algorithm a = forward_algorithm(p, pass, x);
  forward_used_ = conv::to_string(a);
  // The direct and Winograd kernels apply a relu as they store (the layer fuses its activation).
  const bool fused_relu = a != conv::Algorithm::Fft && activation_ == Activation::Relu;
  forward_with(a, p, x.data(), w[0]->value.data(), bias, y.data(), fused_relu);
  if (!fused_relu) apply_activation(y, filters_);
}

void Conv2D::backward_impl(const Tensor& dy, Tensor* dx) {
  conv::Problem p = problem_for(dy.dim(0));
  auto w = weights();
  std::string reason;
  const auto pass = dx ? conv::Pass::Backward : conv::Pass::BackwardWeightsOnly;
  // choose() never picks Winograd for a backward pass, nor does decide().
  const bool fft = algorithm_for(p, static_cast<int>(pass), last_input(), &reason) == conv::Algorithm::Fft;
  backward_used_ = fft ? "fft" : "direct";
  float* db = args_.use_bias ? w[1]->grad.data() : nullptr;
  // The direct algorithm forms dy * (y > 0) on the fly for a relu.
  const bool fused_relu = !fft && backward_activation() == Activation::Relu;
  const Tensor& dz = fused_relu ? dy : activation_gradient(dy);
  if (fft) {
    if (!fft_) fft_ = std::make_shared<conv::FftConv>(p);
    fft_->backward(p, last_input().data(), w[0]->value.data(), dz.data(), dx ? dx->data() : nullptr, w[0]->grad.data(), db);
  } else {
    conv::direct_backward(p, last_input().data(), w[0]->value.data(), dz.data(), dx ? dx->data() : nullptr,
                          w[0]->grad.data(), db, fused_relu ? last_output().data() : nullptr);
  }
}

namespace {
// y[i, c] = y[i, c] scale[c] + shift[c] over rows of `channels` values (scale null: 1,
// shift null: 0), then clamped to [0, hi] when hi is not NaN (a relu; NaN passes, as Keras's).
FC_MULTIVERSION void scale_shift_channels(float* y, std::size_t size, const float* scale, const float* shift, std::size_t channels,
                                          float hi) {
  for (std::size_t i = 0; i < size; i += channels)
    for (std::size_t c = 0; c < channels; ++c) {
      float v = y[i + c];
      if (scale) v = v * scale[c] + shift[c];
      if (hi == hi) v = v < 0 ? 0.0f : (v > hi ? hi : v);
      y[i + c] = v;
    }
}
}  // namespace

const Tensor* Conv2D::call_affine(const Tensor& x, const std::vector<float>& scale, const std::vector<float>& shift, float hi) {
  if (!built() || activation_ != Activation::Linear || scale.size() != filters_ || shift.size() != filters_) return nullptr;
  check_input(x);
  auto w = weights();
  const Tensor& k = w[0]->value;
  folded_bias_.resize({filters_});
  for (std::size_t f = 0; f < filters_; ++f) folded_bias_[f] = (args_.use_bias ? w[1]->value[f] * scale[f] : 0.0f) + shift[f];
  Shape ys{x.dim(0)};
  ys.insert(ys.end(), output_shape().begin(), output_shape().end());
  folded_out_.resize(ys);
  if (x.dim(0) == 0) return &folded_out_;
  conv::Problem p = problem_for(x.dim(0));
  // Scale the kernel when it is smaller than the output, else scale the output (a wide layer
  // at a small batch: ResNet50's last block at batch 1 has 2.4M kernel floats, 25k outputs).
  const bool fold_kernel = k.size() / filters_ <= folded_out_.size() / filters_;
  const float* kernel = k.data();
  if (fold_kernel) {
    folded_kernel_.resize(k.shape());
    for (std::size_t i = 0; i < k.size(); i += filters_)  // (KH, KW, C, F): filters last
      for (std::size_t f = 0; f < filters_; ++f) folded_kernel_[i + f] = k[i + f] * scale[f];
    kernel = folded_kernel_.data();
  }
  const float* bias = fold_kernel ? folded_bias_.data() : nullptr;
  const conv::Algorithm a = forward_algorithm(p, static_cast<int>(conv::Pass::Inference), x);
  forward_used_ = conv::to_string(a);
  // A plain relu after a folded kernel goes into the direct or Winograd kernel's stores.
  const bool store_relu = a != conv::Algorithm::Fft && fold_kernel && std::isinf(hi) && hi > 0;
  forward_with(a, p, x.data(), kernel, bias, folded_out_.data(), store_relu);
  if (!fold_kernel || (hi == hi && !store_relu))
    detail::parallel_chunks(folded_out_.size(), filters_, [&](std::size_t b, std::size_t e) {
      scale_shift_channels(folded_out_.data() + b, e - b, fold_kernel ? nullptr : scale.data(), folded_bias_.data(), filters_,
                           store_relu ? NAN : hi);
    });
  return &folded_out_;
}

const Tensor* Conv2D::call_max_pooled(const Tensor& x, const MaxPooling2D& pool, bool training) {
  if (!pool.fusable_after(*this)) return nullptr;
  check_input(x);
  conv::Problem p = problem_for(x.dim(0));
  std::string reason;
  // The pass the unfused call would decide for ("measure" times inference and training apart).
  const int pass = static_cast<int>(training ? conv::Pass::TrainingForward : conv::Pass::Inference);
  if (algorithm_for(p, pass, x, &reason) != conv::Algorithm::Direct) return nullptr;
  auto w = weights();
  pooled_.resize(pool.batch_output_shape(x.dim(0)));
  if (!conv::direct_forward_max_pool(p, pool.pool_size().first, pool.pool_size().second, x.data(), w[0]->value.data(),
                                     args_.use_bias ? w[1]->value.data() : nullptr, activation_ == Activation::Relu,
                                     pooled_.data()))
    return nullptr;
  forward_used_ = "direct";
  forward_reason_ = reason + " (fused with " + pool.name() + ")";
  return &pooled_;
}

Conv1D::Conv1D(std::size_t filters, std::size_t kernel_size, Conv1DArgs a)
    : Conv2D(filters, {1, kernel_size},
             Conv2DArgs{.strides = {1, a.strides}, .padding = a.padding, .dilation_rate = {1, a.dilation_rate},
                        .activation = a.activation, .use_bias = a.use_bias, .kernel_initializer = a.kernel_initializer,
                        .bias_initializer = a.bias_initializer, .algorithm = a.algorithm, .input_shape = a.input_shape,
                        .name = a.name},
             "conv1d", true) {}

Shape Conv1D::build_impl(const Shape& in) {
  if (in.size() != 2) throw Error(name() + " (Conv1D): expected input shape (L, C), got " + shape_to_string(in));
  Shape out = build_grid({1, in[0], in[1]});
  // Keras's layout (k, C, F): the same floats as the grid's (1, k, C, F).
  for (Tensor* t : {&weights()[0]->value, &weights()[0]->grad}) t->reshape({kernel_length(), in[1], filters()});
  return {out[1], out[2]};
}

std::vector<std::string> Conv2D::detail() const {
  std::vector<std::string> d{"algorithm setting: " + args_.algorithm};
  if (built()) {
    conv::Problem p1 = problem_for(1), p32 = problem_for(32);
    d.push_back("auto would pick for inference, batch 1: " + conv::choose(p1, conv::Pass::Inference).reason);
    d.push_back("auto would pick for training, batch 32: " + conv::choose(p32, conv::Pass::TrainingForward).reason);
  }
  if (forward_used_ != "none") d.push_back("last forward: " + forward_used_ + " (" + forward_reason_ + ")");
  return d;
}

}  // namespace fourierconv::nn
