#include "fourierconv/nn/layers/depthwise_conv2d.hpp"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "blas.hpp"
#include "fourierconv/error.hpp"
#include "simd.hpp"
#include "fourierconv/nn/initializers.hpp"

namespace fourierconv::nn {

DepthwiseConv2D::DepthwiseConv2D(Size2 kernel_size, DepthwiseConv2DArgs args)
    : DepthwiseConv2D(kernel_size, std::move(args), 0, "depthwise_conv2d") {}

DepthwiseConv2D::DepthwiseConv2D(Size2 kernel_size, DepthwiseConv2DArgs args, std::size_t pointwise_filters, const char* prefix)
    : Layer(args.name.empty() ? unique_name(prefix) : args.name), kernel_(kernel_size), args_(std::move(args)),
      filters_(pointwise_filters) {
  const std::string who = prefix == std::string("depthwise_conv2d") ? "DepthwiseConv2D" : "SeparableConv2D";
  if (kernel_.first == 0 || kernel_.second == 0) throw Error(who + ": kernel_size must be positive");
  if (args_.depth_multiplier == 0) throw Error(who + ": depth_multiplier must be >= 1");
  if (args_.padding != "valid" && args_.padding != "same")
    throw Error(who + ": padding must be 'valid' or 'same', got '" + args_.padding + "'");
  activation_ = parse_activation(args_.activation);
  declare_input_shape(args_.input_shape);
}

SeparableConv2D::SeparableConv2D(std::size_t filters, Size2 kernel_size, SeparableConv2DArgs a)
    : DepthwiseConv2D(kernel_size, std::move(a), filters, "separable_conv2d") {
  if (filters == 0) throw Error("SeparableConv2D: filters must be >= 1, got 0");
}

Shape DepthwiseConv2D::build_impl(const Shape& in) {
  if (in.size() != 3) throw Error(name() + " (" + class_name() + "): expected (H, W, C) inputs, got " + shape_to_string(in));
  const std::size_t C = in[2], M = args_.depth_multiplier;
  p_ = conv::Problem::make(1, in[0], in[1], C, C * M, kernel_.first, kernel_.second, args_.strides.first, args_.strides.second,
                           args_.dilation_rate.first, args_.dilation_rate.second, conv::parse_padding(args_.padding),
                           name() + " (" + class_name() + ")");
  Weight& k = add_weight(filters_ ? "depthwise_kernel" : "kernel", {kernel_.first, kernel_.second, C, M});
  initialize(k.value, "glorot_uniform", global_rng());
  if (filters_) initialize(add_weight("pointwise_kernel", {1, 1, C * M, filters_}).value, "glorot_uniform", global_rng());
  if (args_.use_bias) add_weight("bias", {filters_ ? filters_ : C * M}).value.fill(0.0f);
  return {p_.oh, p_.ow, filters_ ? filters_ : C * M};
}

namespace {

// Calls f(at, tap) for each kernel tap (u, v) of output pixel (i, j) of sample s that falls
// inside the input: at is the input pixel's offset (channels last), tap = u KW + v.
template <class F>
FC_INLINE void for_each_tap(const conv::Problem& p, std::size_t s, std::size_t i, std::size_t j, F&& f) {
  for (std::size_t u = 0; u < p.kh; ++u) {
    const long ih = long(i * p.sh + u * p.dh) - long(p.pad_top);
    if (ih < 0 || ih >= long(p.h)) continue;
    for (std::size_t v = 0; v < p.kw; ++v) {
      const long iw = long(j * p.sw + v * p.dw) - long(p.pad_left);
      if (iw < 0 || iw >= long(p.w)) continue;
      f(((s * p.h + std::size_t(ih)) * p.w + std::size_t(iw)) * p.c, u * p.kw + v);
    }
  }
}

// Output rows [row0, row1) of the n OH rows of y (n, OH, OW, C M) = depthwise(x) + bias. The
// channels are the inner loop (channels last): with M = 1 it is one multiply-add per channel,
// which the v3/v4 clones vectorize.
FC_MULTIVERSION void depthwise_rows(const conv::Problem& p, std::size_t M, const float* x, const float* k, const float* bias,
                                    float* y, std::size_t row0, std::size_t row1, float hi) {
  const std::size_t C = p.c, CM = C * M;
  for (std::size_t r = row0; r < row1; ++r) {
    const std::size_t s = r / p.oh, i = r % p.oh;
    for (std::size_t j = 0; j < p.ow; ++j) {
      float* __restrict out = y + (r * p.ow + j) * CM;
      if (bias) std::memcpy(out, bias, CM * sizeof(float));
      else std::fill(out, out + CM, 0.0f);
      for_each_tap(p, s, i, j, [&](std::size_t at, std::size_t tap) {
        const float* __restrict xp = x + at;
        const float* __restrict kp = k + tap * CM;
        if (M == 1) {
          for (std::size_t c = 0; c < C; ++c) out[c] += xp[c] * kp[c];
        } else {
          for (std::size_t c = 0; c < C; ++c)
            for (std::size_t m = 0; m < M; ++m) out[c * M + m] += xp[c] * kp[c * M + m];
        }
      });
      if (hi == hi)  // a fused relu clamped at hi (NaN passes, as Keras's relu)
        for (std::size_t c = 0; c < CM; ++c) out[c] = out[c] < 0 ? 0.0f : (out[c] > hi ? hi : out[c]);
    }
  }
}

}  // namespace

// y (n, OH, OW, C M) = depthwise(x) + bias (bias may be null); rows split over the threads.
void DepthwiseConv2D::depthwise(const float* x, std::size_t n, const float* k, const float* bias, float* y, float hi) const {
  const conv::Problem& p = p_;
  const std::size_t M = args_.depth_multiplier, rows = n * p.oh;
  const double work = double(rows) * double(p.ow) * double(p.f) * double(p.kh * p.kw);
  const int threads = work > 2e5 ? std::max(1, omp_get_max_threads()) : 1;
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const std::size_t t = std::size_t(omp_get_thread_num()), T = std::size_t(omp_get_num_threads());
    depthwise_rows(p, M, x, k, bias, y, rows * t / T, rows * (t + 1) / T, hi);
  }
}

void DepthwiseConv2D::depthwise_backward(const float* x, const float* dy, std::size_t n, const float* k, float* dk, float* db,
                                         float* dx) const {
  const conv::Problem& p = p_;
  const std::size_t C = p.c, M = args_.depth_multiplier, CM = C * M;
  std::fill(dk, dk + p.kh * p.kw * CM, 0.0f);
  if (db) std::fill(db, db + CM, 0.0f);
  if (dx) std::fill(dx, dx + n * p.h * p.w * C, 0.0f);
  for (std::size_t s = 0; s < n; ++s)
    for (std::size_t i = 0; i < p.oh; ++i)
      for (std::size_t j = 0; j < p.ow; ++j) {
        const float* g = dy + ((s * p.oh + i) * p.ow + j) * CM;
        if (db)
          for (std::size_t q = 0; q < CM; ++q) db[q] += g[q];
        for_each_tap(p, s, i, j, [&](std::size_t at, std::size_t tap) {
            const float* kp = k + tap * CM;
            float* dkp = dk + tap * CM;
            for (std::size_t c = 0; c < C; ++c)
              for (std::size_t m = 0; m < M; ++m) {
                dkp[c * M + m] += x[at + c] * g[c * M + m];
                if (dx) dx[at + c] += kp[c * M + m] * g[c * M + m];
              }
        });
      }
}

void DepthwiseConv2D::call_impl(const Tensor& x, Tensor& y, bool) {
  auto w = weights();
  const std::size_t N = x.dim(0), CM = p_.f;
  if (!filters_) {
    depthwise(x.data(), N, w[0]->value.data(), args_.use_bias ? w[1]->value.data() : nullptr, y.data());
    return;
  }
  mid_.resize({N, p_.oh, p_.ow, CM});
  depthwise(x.data(), N, w[0]->value.data(), nullptr, mid_.data());
  const std::size_t rows = N * p_.oh * p_.ow;
  if (args_.use_bias)
    for (std::size_t r = 0; r < rows; ++r) std::memcpy(y.data() + r * filters_, w[2]->value.data(), filters_ * sizeof(float));
  detail::sgemm_rows(false, int(rows), int(filters_), int(CM), 1.0f, mid_.data(), int(CM), w[1]->value.data(), int(filters_),
                     args_.use_bias ? 1.0f : 0.0f, y.data(), int(filters_));
}

const Tensor* DepthwiseConv2D::call_affine(const Tensor& x, const std::vector<float>& scale, const std::vector<float>& shift, float hi) {
  const std::size_t CM = p_.f;
  if (!built() || filters_ || activation_ != Activation::Linear || scale.size() != CM || shift.size() != CM) return nullptr;
  check_input(x);
  auto w = weights();
  const Tensor& k = w[0]->value;  // (KH, KW, C, M): output channel c M + m is the last two axes' flat index
  folded_kernel_.resize(k.shape());
  for (std::size_t i = 0; i < k.size(); i += CM)
    for (std::size_t c = 0; c < CM; ++c) folded_kernel_[i + c] = k[i + c] * scale[c];
  folded_bias_.resize({CM});
  for (std::size_t c = 0; c < CM; ++c) folded_bias_[c] = (args_.use_bias ? w[1]->value[c] * scale[c] : 0.0f) + shift[c];
  Shape ys{x.dim(0)};
  ys.insert(ys.end(), output_shape().begin(), output_shape().end());
  folded_out_.resize(ys);
  if (x.dim(0)) depthwise(x.data(), x.dim(0), folded_kernel_.data(), folded_bias_.data(), folded_out_.data(), hi);
  return &folded_out_;
}

void DepthwiseConv2D::backward_impl(const Tensor& dz, Tensor* dx) {
  auto w = weights();
  const Tensor& x = last_input();
  const std::size_t N = x.dim(0), CM = p_.f;
  if (!filters_) {
    depthwise_backward(x.data(), dz.data(), N, w[0]->value.data(), w[0]->grad.data(), args_.use_bias ? w[1]->grad.data() : nullptr,
                       dx ? dx->data() : nullptr);
    return;
  }
  const std::size_t rows = N * p_.oh * p_.ow;
  // pointwise: dP = mid^T dz, db = sum dz, dmid = dz P^T
  detail::sgemm_tn_reduce(int(CM), int(filters_), int(rows), 1.0f, mid_.data(), int(CM), dz.data(), int(filters_), 0.0f,
                          w[1]->grad.data(), int(filters_));
  if (args_.use_bias) {
    w[2]->grad.fill(0.0f);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t f = 0; f < filters_; ++f) w[2]->grad[f] += dz[r * filters_ + f];
  }
  dmid_.resize(mid_.shape());
  detail::sgemm_rows(true, int(rows), int(CM), int(filters_), 1.0f, dz.data(), int(filters_), w[1]->value.data(),
                     int(filters_), 0.0f, dmid_.data(), int(CM));
  depthwise_backward(x.data(), dmid_.data(), N, w[0]->value.data(), w[0]->grad.data(), nullptr, dx ? dx->data() : nullptr);
}

}  // namespace fourierconv::nn
