#include "fourierconv/nn/layers/normalization.hpp"

#include <cmath>

#include "fourierconv/error.hpp"

namespace fourierconv::nn {

BatchNormalization::BatchNormalization(BatchNormalizationArgs args)
    : Layer(args.name.empty() ? unique_name("batch_normalization") : args.name), args_(std::move(args)) {
  if (!(args_.momentum >= 0 && args_.momentum <= 1))
    throw Error("BatchNormalization: momentum must be in [0, 1], got " + std::to_string(args_.momentum));
  if (!(args_.epsilon > 0 && std::isfinite(args_.epsilon)))
    throw Error("BatchNormalization: epsilon must be positive and finite, got " + std::to_string(args_.epsilon));
  declare_input_shape(args_.input_shape);
}

Shape BatchNormalization::build_impl(const Shape& in) {
  if (in.empty()) throw Error(name() + " (BatchNormalization): expected an input with at least one axis besides the batch");
  if (args_.axis != -1 && args_.axis != int(in.size()))
    throw Error(name() + " (BatchNormalization): only the channels-last axis (-1, here " + std::to_string(in.size()) +
                ") is supported, got axis " + std::to_string(args_.axis));
  const std::size_t C = in.back();
  if (args_.scale) (gamma_ = &add_weight("gamma", {C}))->value.fill(1.0f);
  if (args_.center) (beta_ = &add_weight("beta", {C}))->value.fill(0.0f);
  (mean_ = &add_weight("moving_mean", {C}, false))->value.fill(0.0f);
  (var_ = &add_weight("moving_variance", {C}, false))->value.fill(1.0f);
  return in;
}

void BatchNormalization::inference_affine(std::vector<float>& scale, std::vector<float>& shift) const {
  const std::size_t C = input_shape().back();
  scale.resize(C);
  shift.resize(C);
  for (std::size_t c = 0; c < C; ++c) {  // the same float32 steps as call_impl's inference
    const float inv = 1.0f / std::sqrt(var_->value[c] + float(args_.epsilon));
    const float g = gamma_ ? gamma_->value[c] : 1.0f, be = beta_ ? beta_->value[c] : 0.0f;
    scale[c] = g * inv;
    shift[c] = be - scale[c] * mean_->value[c];
  }
}

void BatchNormalization::call_impl(const Tensor& x, Tensor& y, bool training) {
  const std::size_t C = input_shape().back(), M = x.size() / C;
  const float eps = float(args_.epsilon);
  batch_stats_ = training && trainable();
  used_mean_.assign(C, 0.0f);
  inv_std_.assign(C, 0.0f);
  if (batch_stats_) {
    std::vector<double> sum(C, 0.0), sq(C, 0.0);
    for (std::size_t i = 0; i < M; ++i)
      for (std::size_t c = 0; c < C; ++c) sum[c] += x[i * C + c];
    for (std::size_t c = 0; c < C; ++c) sum[c] /= double(M);
    for (std::size_t i = 0; i < M; ++i)
      for (std::size_t c = 0; c < C; ++c) {
        const double d = x[i * C + c] - sum[c];
        sq[c] += d * d;
      }
    const float m = float(args_.momentum);
    for (std::size_t c = 0; c < C; ++c) {
      const float var = float(sq[c] / double(M));
      used_mean_[c] = float(sum[c]);
      inv_std_[c] = 1.0f / std::sqrt(var + eps);
      mean_->value[c] = mean_->value[c] * m + used_mean_[c] * (1.0f - m);
      var_->value[c] = var_->value[c] * m + var * (1.0f - m);
    }
  } else {
    for (std::size_t c = 0; c < C; ++c) {
      used_mean_[c] = mean_->value[c];
      inv_std_[c] = 1.0f / std::sqrt(var_->value[c] + eps);
    }
  }
  // y = a x + b per channel
  std::vector<float> a(C), b(C);
  for (std::size_t c = 0; c < C; ++c) {
    const float g = gamma_ ? gamma_->value[c] : 1.0f, be = beta_ ? beta_->value[c] : 0.0f;
    a[c] = g * inv_std_[c];
    b[c] = be - a[c] * used_mean_[c];
  }
  for (std::size_t i = 0; i < M; ++i)
    for (std::size_t c = 0; c < C; ++c) y[i * C + c] = a[c] * x[i * C + c] + b[c];
}

// With batch statistics, x-hat = (x - mean) inv_std and (Ioffe & Szegedy 2015, section 3):
//   dgamma = sum dy x-hat, dbeta = sum dy,
//   dx = gamma inv_std / M (M dy - sum dy - x-hat sum(dy x-hat));
// with fixed statistics, dx = gamma inv_std dy. Sums run over the M = N x spatial positions.
void BatchNormalization::backward_impl(const Tensor& dy, Tensor* dx) {
  const std::size_t C = input_shape().back(), M = dy.size() / C;
  const Tensor& x = last_input();
  std::vector<double> sdy(C, 0.0), sdyx(C, 0.0);
  for (std::size_t i = 0; i < M; ++i)
    for (std::size_t c = 0; c < C; ++c) {
      const double g = dy[i * C + c];
      sdy[c] += g;
      sdyx[c] += g * (double(x[i * C + c]) - used_mean_[c]) * inv_std_[c];
    }
  if (gamma_)
    for (std::size_t c = 0; c < C; ++c) gamma_->grad[c] = float(sdyx[c]);
  if (beta_)
    for (std::size_t c = 0; c < C; ++c) beta_->grad[c] = float(sdy[c]);
  mean_->grad.fill(0.0f);
  var_->grad.fill(0.0f);
  if (!dx) return;
  for (std::size_t c = 0; c < C; ++c) {
    const double k = (gamma_ ? gamma_->value[c] : 1.0f) * inv_std_[c];
    for (std::size_t i = 0; i < M; ++i) {
      double v = dy[i * C + c];
      if (batch_stats_) {
        const double xh = (double(x[i * C + c]) - used_mean_[c]) * inv_std_[c];
        v = v - sdy[c] / double(M) - xh * sdyx[c] / double(M);
      }
      (*dx)[i * C + c] = float(k * v);
    }
  }
}

// ---- LayerNormalization

LayerNormalization::LayerNormalization(LayerNormalizationArgs args)
    : Layer(args.name.empty() ? unique_name("layer_normalization") : args.name), args_(std::move(args)) {
  if (!(args_.epsilon > 0 && std::isfinite(args_.epsilon)))
    throw Error("LayerNormalization: epsilon must be positive and finite, got " + std::to_string(args_.epsilon));
  declare_input_shape(args_.input_shape);
}

Shape LayerNormalization::build_impl(const Shape& in) {
  if (in.empty()) throw Error(name() + " (LayerNormalization): expected an input with at least one axis besides the batch");
  if (args_.axis != -1 && args_.axis != int(in.size()))
    throw Error(name() + " (LayerNormalization): only the last axis (-1, here " + std::to_string(in.size()) + ") is supported, got axis " +
                std::to_string(args_.axis));
  if (args_.scale) (gamma_ = &add_weight("gamma", {in.back()}))->value.fill(1.0f);
  if (args_.center) (beta_ = &add_weight("beta", {in.back()}))->value.fill(0.0f);
  return in;
}

void LayerNormalization::call_impl(const Tensor& x, Tensor& y, bool) {
  const std::size_t C = input_shape().back(), R = x.size() / C;
  mean_.resize(R);
  inv_std_.resize(R);
  for (std::size_t r = 0; r < R; ++r) {
    const float* v = x.data() + r * C;
    double m = 0, q = 0;
    for (std::size_t c = 0; c < C; ++c) m += v[c];
    m /= double(C);
    for (std::size_t c = 0; c < C; ++c) q += (v[c] - m) * (v[c] - m);
    mean_[r] = float(m);
    inv_std_[r] = float(1.0 / std::sqrt(q / double(C) + args_.epsilon));
    for (std::size_t c = 0; c < C; ++c) {
      const float h = (v[c] - mean_[r]) * inv_std_[r];
      y[r * C + c] = (gamma_ ? gamma_->value[c] : 1.0f) * h + (beta_ ? beta_->value[c] : 0.0f);
    }
  }
}

// Per row, with x-hat = (x - mean) inv_std and g = gamma dy: dx = inv_std / C (C g - sum g -
// x-hat sum(g x-hat)); dgamma = sum over rows of dy x-hat, dbeta = sum of dy.
void LayerNormalization::backward_impl(const Tensor& dy, Tensor* dx) {
  const std::size_t C = input_shape().back(), R = dy.size() / C;
  const Tensor& x = last_input();
  if (gamma_) gamma_->grad.fill(0.0f);
  if (beta_) beta_->grad.fill(0.0f);
  for (std::size_t r = 0; r < R; ++r) {
    double sg = 0, sgx = 0;
    for (std::size_t c = 0; c < C; ++c) {
      const float h = (x[r * C + c] - mean_[r]) * inv_std_[r], d = dy[r * C + c];
      if (gamma_) gamma_->grad[c] += d * h;
      if (beta_) beta_->grad[c] += d;
      const double g = double(d) * (gamma_ ? gamma_->value[c] : 1.0f);
      sg += g;
      sgx += g * h;
    }
    if (!dx) continue;
    for (std::size_t c = 0; c < C; ++c) {
      const double h = (x[r * C + c] - mean_[r]) * inv_std_[r], g = double(dy[r * C + c]) * (gamma_ ? gamma_->value[c] : 1.0f);
      (*dx)[r * C + c] = float(inv_std_[r] * (g - sg / double(C) - h * sgx / double(C)));
    }
  }
}

// ---- Rescaling

Rescaling::Rescaling(std::vector<double> scale, std::vector<double> offset, RescalingArgs args)
    : Layer(args.name.empty() ? unique_name("rescaling") : args.name), scale_(std::move(scale)), offset_(std::move(offset)) {
  if (scale_.empty() || offset_.empty()) throw Error("Rescaling: scale and offset need at least one value");
  for (double v : scale_)
    if (!std::isfinite(v)) throw Error("Rescaling: scale must be finite, got " + std::to_string(v));
  for (double v : offset_)
    if (!std::isfinite(v)) throw Error("Rescaling: offset must be finite, got " + std::to_string(v));
  declare_input_shape(args.input_shape);
}

Shape Rescaling::build_impl(const Shape& in) {
  const std::size_t C = in.empty() ? 1 : in.back();
  for (const auto* v : {&scale_, &offset_})
    if (v->size() != 1 && v->size() != C)
      throw Error(name() + " (Rescaling): expected 1 or " + std::to_string(C) + " (the channels) scale and offset values, got " +
                  std::to_string(v->size()));
  return in;
}

void Rescaling::call_impl(const Tensor& x, Tensor& y, bool) {
  const std::size_t C = input_shape().empty() ? 1 : input_shape().back();
  for (std::size_t i = 0; i < x.size(); ++i) {
    const std::size_t c = i % C;
    y[i] = x[i] * float(scale_[scale_.size() == 1 ? 0 : c]) + float(offset_[offset_.size() == 1 ? 0 : c]);
  }
}

void Rescaling::backward_impl(const Tensor& dz, Tensor* dx) {
  if (!dx) return;
  const std::size_t C = input_shape().empty() ? 1 : input_shape().back();
  for (std::size_t i = 0; i < dz.size(); ++i) (*dx)[i] = dz[i] * float(scale_[scale_.size() == 1 ? 0 : i % C]);
}

// ---- Normalization

Normalization::Normalization(NormalizationArgs args)
    : Layer(args.name.empty() ? unique_name("normalization") : args.name), args_(std::move(args)) {
  if (args_.mean.has_value() != args_.variance.has_value())
    throw Error("Normalization: mean and variance go together (both constants, or neither to adapt)");
  for (const auto* v : {&args_.mean, &args_.variance})
    if (*v) {
      if ((*v)->empty()) throw Error("Normalization: mean and variance need at least one value");
      for (double d : **v)
        if (!std::isfinite(d)) throw Error("Normalization: mean and variance must be finite");
    }
  if (args_.mean && args_.mean->size() != args_.variance->size())  // Keras refuses it too
    throw Error("Normalization: mean and variance must have the same number of values, got " + std::to_string(args_.mean->size()) +
                " and " + std::to_string(args_.variance->size()));
  if (args_.variance)
    for (double d : *args_.variance)
      if (d < 0) throw Error("Normalization: variance must be >= 0, got " + std::to_string(d));
  declare_input_shape(args_.input_shape);
}

Shape Normalization::build_impl(const Shape& in) {
  if (args_.axis != -1 && std::size_t(args_.axis) != in.size())
    throw Error(name() + " (Normalization): axis " + std::to_string(args_.axis) + " is not the last axis of inputs of rank " +
                std::to_string(in.size() + 1) + " (only the last axis is supported)");
  const std::size_t C = in.empty() ? 1 : in.back();
  if (args_.mean) {
    for (const auto* v : {&*args_.mean, &*args_.variance})
      if (v->size() != 1 && v->size() != C)
        throw Error(name() + " (Normalization): expected 1 or " + std::to_string(C) + " (the channels) mean and variance values, got " +
                    std::to_string(v->size()));
    return in;
  }
  add_weight("mean", {C}, false).value.fill(0.0f);
  add_weight("variance", {C}, false).value.fill(1.0f);
  Weight& count = add_weight("count", {}, false);
  count.value.fill(0.0f);
  count.integer = true;
  return in;
}

void Normalization::statistics(std::vector<float>& mean, std::vector<float>& stddev) const {
  const std::size_t C = input_shape().empty() ? 1 : input_shape().back();
  mean.assign(C, 0.0f);
  stddev.assign(C, 1.0f);
  auto ws = weights();
  for (std::size_t c = 0; c < C; ++c) {
    const double m = args_.mean ? (*args_.mean)[args_.mean->size() == 1 ? 0 : c] : double(ws[0]->value[c]);
    const double v = args_.variance ? (*args_.variance)[args_.variance->size() == 1 ? 0 : c] : double(ws[1]->value[c]);
    mean[c] = float(m);
    stddev[c] = std::max(std::sqrt(float(v)), 1e-7f);  // Keras: maximum(sqrt(variance), epsilon)
  }
}

void Normalization::call_impl(const Tensor& x, Tensor& y, bool) {
  std::vector<float> mean, sd;
  statistics(mean, sd);
  const std::size_t C = mean.size();
  for (std::size_t i = 0; i < x.size(); ++i) {
    const std::size_t c = i % C;
    y[i] = args_.invert ? mean[c] + x[i] * sd[c] : (x[i] - mean[c]) / sd[c];
  }
}

void Normalization::backward_impl(const Tensor& dz, Tensor* dx) {
  if (!dx) return;
  std::vector<float> mean, sd;
  statistics(mean, sd);
  const std::size_t C = mean.size();
  for (std::size_t i = 0; i < dz.size(); ++i) (*dx)[i] = args_.invert ? dz[i] * sd[i % C] : dz[i] / sd[i % C];
}

void Normalization::adapt(const Tensor& data) {
  if (!built()) throw Error(name() + " (Normalization): adapt() before build()");
  if (args_.mean) throw Error(name() + " (Normalization): adapt() on a layer given constant mean and variance");
  const std::size_t C = input_shape().empty() ? 1 : input_shape().back();
  if (data.rank() < 1 || data.shape().back() != C || data.size() == 0)
    throw Error(name() + " (Normalization): adapt expects data of shape (N, ..., " + std::to_string(C) + "), got " + data.shape_string());
  std::vector<double> sum(C, 0.0), sq(C, 0.0);
  for (std::size_t i = 0; i < data.size(); ++i) sum[i % C] += data[i];
  const double n = double(data.size() / C);
  for (std::size_t i = 0; i < data.size(); ++i) {
    const double d = data[i] - sum[i % C] / n;
    sq[i % C] += d * d;
  }
  auto ws = weights();
  for (std::size_t c = 0; c < C; ++c) {
    ws[0]->value[c] = float(sum[c] / n);
    ws[1]->value[c] = float(sq[c] / n);
  }
  ws[2]->value[0] = float(n);
}

}  // namespace fourierconv::nn
