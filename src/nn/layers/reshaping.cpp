#include "fourierconv/nn/layers/reshaping.hpp"


#include <algorithm>
#include <cmath>
#include <cstring>
#include <omp.h>

#include "fourierconv/error.hpp"
#include "fourierconv/memory_limit.hpp"

namespace fourierconv::nn {

namespace {
void need_image(const Layer& l, const Shape& in) {
  if (in.size() != 3)
    throw Error(l.name() + " (" + l.class_name() + "): expected (H, W, C) inputs, got " + shape_to_string(in));
}
}  // namespace

// ---- Reshape

Reshape::Reshape(std::vector<long long> target, ReshapeArgs args)
    : Layer(args.name.empty() ? unique_name("reshape") : args.name), target_(std::move(target)) {
  if (target_.empty()) throw Error("Reshape: target_shape must have at least one axis");
  if (std::count(target_.begin(), target_.end(), -1) > 1) throw Error("Reshape: at most one -1 in target_shape");
  for (long long t : target_)
    if (t == 0 || t < -1) throw Error("Reshape: target_shape entries must be positive or -1, got " + std::to_string(t));
  declare_input_shape(args.input_shape);
}

Shape Reshape::build_impl(const Shape& in) {
  const std::size_t n = shape_size(in);
  std::size_t known = 1;
  for (long long t : target_)
    if (t > 0) known *= std::size_t(t);
  Shape out;
  for (long long t : target_) out.push_back(t > 0 ? std::size_t(t) : (known ? n / known : 0));
  if (shape_size(out) != n || (known && n % known))
    throw Error(name() + " (Reshape): cannot reshape " + shape_to_string(in) + " (" + std::to_string(n) +
                " values) to target_shape " + shape_to_string(out));
  return out;
}

void Reshape::call_impl(const Tensor& x, Tensor& y, bool) { std::copy(x.begin(), x.end(), y.begin()); }
void Reshape::backward_impl(const Tensor& dz, Tensor* dx) {
  if (dx) std::copy(dz.begin(), dz.end(), dx->begin());
}

// ---- Permute

Permute::Permute(std::vector<std::size_t> dims, PermuteArgs args)
    : Layer(args.name.empty() ? unique_name("permute") : args.name), dims_(std::move(dims)) {
  std::vector<std::size_t> sorted = dims_;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i)
    if (sorted[i] != i + 1) throw Error("Permute: dims must be a permutation of 1 .. " + std::to_string(dims_.size()));
  declare_input_shape(args.input_shape);
}

Shape Permute::build_impl(const Shape& in) {
  if (in.size() != dims_.size())
    throw Error(name() + " (Permute): dims has " + std::to_string(dims_.size()) + " axes, the input " + shape_to_string(in));
  Shape out(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = in[dims_[i] - 1];
  return out;
}

namespace {
// f(o, i) for each element o of a batch of permuted samples (shaped `out`) and the index i of
// its source in the input (shaped `in`), by an odometer over the output's coordinates: no
// per-element table (an input shape read from a file may be huge).
template <class F>
void for_each_source(const Shape& in, const Shape& out, const std::vector<std::size_t>& dims, std::size_t total, F f) {
  const std::size_t r = in.size();
  std::vector<std::size_t> in_stride(r, 1), step(r), coord(r, 0);
  for (std::size_t d = r - 1; d-- > 0;) in_stride[d] = in_stride[d + 1] * in[d + 1];
  for (std::size_t d = 0; d < r; ++d) step[d] = in_stride[dims[d] - 1];  // output axis d moves input axis dims[d] - 1
  const std::size_t sample = shape_size(in);
  std::size_t src = 0;
  for (std::size_t o = 0; o < total; ++o) {
    f(o, (o / std::max<std::size_t>(sample, 1)) * sample + src);
    for (std::size_t d = r; d-- > 0;) {
      if (++coord[d] < out[d]) {
        src += step[d];
        break;
      }
      src -= (out[d] - 1) * step[d];
      coord[d] = 0;
    }
  }
}
}  // namespace

void Permute::call_impl(const Tensor& x, Tensor& y, bool) {
  for_each_source(input_shape(), output_shape(), dims_, x.size(), [&](std::size_t o, std::size_t i) { y[o] = x[i]; });
}

void Permute::backward_impl(const Tensor& dz, Tensor* dx) {
  if (dx) for_each_source(input_shape(), output_shape(), dims_, dz.size(), [&](std::size_t o, std::size_t i) { (*dx)[i] = dz[o]; });
}

// ---- ZeroPadding2D and Cropping2D: one copies the input into the middle of the output, the
// other the middle of the input to the output.

namespace {
// big (N, H, W, C) and small (N, h, w, C) with small at (top, left) of big: copy one into the
// other, row by row on the team; into big, only its margins are zeroed besides (one pass over
// memory, not two).
void window_copy(const Tensor& from, Tensor& to, const Shape& big, const Shape& small, std::size_t top, std::size_t left,
                 bool big_to_small) {
  const std::size_t N = from.dim(0), H = big[0], W = big[1], C = big[2], h = small[0], w = small[1];
  const float* src = from.data();
  float* dst = to.data();
#pragma omp parallel for schedule(static) if (N * H * W * C >= (std::size_t(1) << 16) && !omp_in_parallel())
  for (std::size_t nr = 0; nr < N * H; ++nr) {
    const std::size_t n = nr / H, R = nr % H;  // row R of big
    const bool inside = R >= top && R < top + h;
    if (big_to_small) {
      if (inside) std::memcpy(dst + (n * h + R - top) * w * C, src + (nr * W + left) * C, w * C * sizeof(float));
      continue;
    }
    float* brow = dst + nr * W * C;
    if (!inside) {
      std::fill(brow, brow + W * C, 0.0f);
      continue;
    }
    std::fill(brow, brow + left * C, 0.0f);
    std::memcpy(brow + left * C, src + (n * h + R - top) * w * C, w * C * sizeof(float));
    std::fill(brow + (left + w) * C, brow + W * C, 0.0f);
  }
}
}  // namespace

Margins2DLayer::Margins2DLayer(Margins2 m, bool pad, const std::string& prefix, Margins2Args args)
    : Layer(args.name.empty() ? unique_name(prefix) : args.name), m_(m), pad_(pad) {
  declare_input_shape(args.input_shape);
}

Shape Margins2DLayer::build_impl(const Shape& in) {
  need_image(*this, in);
  if (pad_) return {in[0] + m_.top + m_.bottom, in[1] + m_.left + m_.right, in[2]};
  if (m_.top + m_.bottom >= in[0] || m_.left + m_.right >= in[1])
    throw Error(name() + " (Cropping2D): cropping ((" + std::to_string(m_.top) + ", " + std::to_string(m_.bottom) + "), (" +
                std::to_string(m_.left) + ", " + std::to_string(m_.right) + ")) leaves nothing of " + shape_to_string(in));
  return {in[0] - m_.top - m_.bottom, in[1] - m_.left - m_.right, in[2]};
}

// Padding copies the input into the middle of the output; cropping the middle of the input
// to the output; the gradients go the other way.
void Margins2DLayer::call_impl(const Tensor& x, Tensor& y, bool) {
  const Shape& big = pad_ ? output_shape() : input_shape();
  const Shape& small = pad_ ? input_shape() : output_shape();
  window_copy(x, y, big, small, m_.top, m_.left, !pad_);
}

void Margins2DLayer::backward_impl(const Tensor& dz, Tensor* dx) {
  if (!dx) return;
  const Shape& big = pad_ ? output_shape() : input_shape();
  const Shape& small = pad_ ? input_shape() : output_shape();
  window_copy(dz, *dx, big, small, m_.top, m_.left, pad_);
}

// ---- UpSampling2D

UpSampling2D::UpSampling2D(Size2 size, UpSampling2DArgs args)
    : Layer(args.name.empty() ? unique_name("up_sampling2d") : args.name), size_(size), args_(std::move(args)) {
  if (size_.first == 0 || size_.second == 0) throw Error("UpSampling2D: size must be positive");
  if (args_.interpolation != "nearest" && args_.interpolation != "bilinear")
    throw Error("UpSampling2D: interpolation must be 'nearest' or 'bilinear', got '" + args_.interpolation + "'");
  declare_input_shape(args_.input_shape);
}

Shape UpSampling2D::build_impl(const Shape& in) {
  need_image(*this, in);
  auto taps = [&](std::size_t n, std::size_t s) {
    std::vector<Tap> t(n * s);
    for (std::size_t o = 0; o < n * s; ++o) {
      if (args_.interpolation == "nearest") {
        t[o] = {o / s, o / s, 0.0f};
        continue;
      }
      const double src = std::clamp((double(o) + 0.5) / double(s) - 0.5, 0.0, double(n - 1));
      const std::size_t i0 = std::size_t(src), i1 = std::min(i0 + 1, n - 1);
      t[o] = {i0, i1, float(src - double(i0))};
    }
    return t;
  };
  check_allocation((in[0] * size_.first + in[1] * size_.second) * sizeof(Tap), name() + " (UpSampling2D): its taps");
  rows_ = taps(in[0], size_.first);
  cols_ = taps(in[1], size_.second);
  return {in[0] * size_.first, in[1] * size_.second, in[2]};
}

void UpSampling2D::call_impl(const Tensor& x, Tensor& y, bool) {
  const Shape& in = input_shape();
  const std::size_t N = x.dim(0), H = in[0], W = in[1], C = in[2], OH = rows_.size(), OW = cols_.size();
  for (std::size_t n = 0; n < N; ++n)
    for (std::size_t r = 0; r < OH; ++r)
      for (std::size_t q = 0; q < OW; ++q) {
        const Tap &a = rows_[r], &b = cols_[q];
        const float* p00 = x.data() + ((n * H + a.i0) * W + b.i0) * C;
        const float* p01 = x.data() + ((n * H + a.i0) * W + b.i1) * C;
        const float* p10 = x.data() + ((n * H + a.i1) * W + b.i0) * C;
        const float* p11 = x.data() + ((n * H + a.i1) * W + b.i1) * C;
        float* o = y.data() + ((n * OH + r) * OW + q) * C;
        for (std::size_t c = 0; c < C; ++c)
          o[c] = (1 - a.w1) * ((1 - b.w1) * p00[c] + b.w1 * p01[c]) + a.w1 * ((1 - b.w1) * p10[c] + b.w1 * p11[c]);
      }
}

void UpSampling2D::backward_impl(const Tensor& dz, Tensor* dx) {
  if (!dx) return;
  const Shape& in = input_shape();
  const std::size_t N = dz.dim(0), H = in[0], W = in[1], C = in[2], OH = rows_.size(), OW = cols_.size();
  std::fill(dx->begin(), dx->end(), 0.0f);
  for (std::size_t n = 0; n < N; ++n)
    for (std::size_t r = 0; r < OH; ++r)
      for (std::size_t q = 0; q < OW; ++q) {
        const Tap &a = rows_[r], &b = cols_[q];
        const float* g = dz.data() + ((n * OH + r) * OW + q) * C;
        const float w00 = (1 - a.w1) * (1 - b.w1), w01 = (1 - a.w1) * b.w1, w10 = a.w1 * (1 - b.w1), w11 = a.w1 * b.w1;
        float* d00 = dx->data() + ((n * H + a.i0) * W + b.i0) * C;
        float* d01 = dx->data() + ((n * H + a.i0) * W + b.i1) * C;
        float* d10 = dx->data() + ((n * H + a.i1) * W + b.i0) * C;
        float* d11 = dx->data() + ((n * H + a.i1) * W + b.i1) * C;
        for (std::size_t c = 0; c < C; ++c) {
          d00[c] += w00 * g[c];
          d01[c] += w01 * g[c];
          d10[c] += w10 * g[c];
          d11[c] += w11 * g[c];
        }
      }
}

}  // namespace fourierconv::nn
