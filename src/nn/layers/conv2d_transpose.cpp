#include "fourierconv/nn/layers/conv2d_transpose.hpp"

#include <algorithm>
#include <cstring>

#include "blas.hpp"
#include "fourierconv/error.hpp"
#include "fourierconv/nn/initializers.hpp"

namespace fourierconv::nn {

namespace {
// Input positions per matrix product: up to 1,024, with the columns' scratch under 16 MB.
std::size_t block_rows(std::size_t cols) { return std::clamp<std::size_t>((std::size_t(16) << 20) / (4 * cols), 1, 1024); }
}

Conv2DTranspose::Conv2DTranspose(std::size_t filters, Size2 kernel_size, Conv2DTransposeArgs args)
    : Layer(args.name.empty() ? unique_name("conv2d_transpose") : args.name), filters_(filters), kernel_(kernel_size),
      args_(std::move(args)) {
  if (filters == 0) throw Error("Conv2DTranspose: filters must be >= 1, got 0");
  if (kernel_.first == 0 || kernel_.second == 0) throw Error("Conv2DTranspose: kernel_size must be positive");
  if (args_.strides.first == 0 || args_.strides.second == 0 || args_.dilation_rate.first == 0 || args_.dilation_rate.second == 0)
    throw Error("Conv2DTranspose: strides and dilation_rate must be positive");
  if (args_.padding != "valid" && args_.padding != "same")
    throw Error("Conv2DTranspose: padding must be 'valid' or 'same', got '" + args_.padding + "'");
  activation_ = parse_activation(args_.activation);
  declare_input_shape(args_.input_shape);
}

Shape Conv2DTranspose::build_impl(const Shape& in) {
  if (in.size() != 3) throw Error(name() + " (Conv2DTranspose): expected (H, W, C) inputs, got " + shape_to_string(in));
  h_ = in[0], w_ = in[1], c_ = in[2];
  auto extent = [&](std::size_t n, std::size_t k, std::size_t s, std::size_t d, std::size_t& out, std::size_t& pad) {
    const std::size_t ke = (k - 1) * d + 1;
    if (args_.padding == "valid") {
      out = n * s + (ke > s ? ke - s : 0);
      pad = 0;
    } else {
      out = n * s;
      const std::size_t need = (n - 1) * s + ke;
      pad = (need > out ? need - out : 0) / 2;
    }
  };
  extent(h_, kernel_.first, args_.strides.first, args_.dilation_rate.first, oh_, pad_top_);
  extent(w_, kernel_.second, args_.strides.second, args_.dilation_rate.second, ow_, pad_left_);
  initialize(add_weight("kernel", {kernel_.first, kernel_.second, filters_, c_}).value, "glorot_uniform", global_rng());
  if (args_.use_bias) add_weight("bias", {filters_}).value.fill(0.0f);
  return {oh_, ow_, filters_};
}

// f(col, out) for each tap (u, v) of input positions r0 .. r0 + m (over the batch) that reaches
// the output: col indexes the position's F columns of tap (u, v) in cols_, out the output
// pixel's F channels in y.
template <class F>
void Conv2DTranspose::for_each_tap(std::size_t r0, std::size_t m, F f) const {
  const std::size_t HW = h_ * w_, cols = kernel_.first * kernel_.second * filters_;
  for (std::size_t r = 0; r < m; ++r) {
    const std::size_t n = (r0 + r) / HW, i = (r0 + r) % HW / w_, j = (r0 + r) % w_;
    for (std::size_t u = 0; u < kernel_.first; ++u)
      for (std::size_t v = 0; v < kernel_.second; ++v) {
        std::size_t oi, oj;
        if (target(i, j, u, v, oi, oj))
          f(r * cols + (u * kernel_.second + v) * filters_, ((n * oh_ + oi) * ow_ + oj) * filters_);
      }
  }
}

bool Conv2DTranspose::target(std::size_t i, std::size_t j, std::size_t u, std::size_t v, std::size_t& oi, std::size_t& oj) const {
  const long a = long(i * args_.strides.first + u * args_.dilation_rate.first) - long(pad_top_);
  const long b = long(j * args_.strides.second + v * args_.dilation_rate.second) - long(pad_left_);
  if (a < 0 || b < 0 || a >= long(oh_) || b >= long(ow_)) return false;
  oi = std::size_t(a), oj = std::size_t(b);
  return true;
}

// cols (rows, kh kw F) = x rows (rows, C) K^T, K as (kh kw F, C); then each column adds into
// the output position it reaches.
void Conv2DTranspose::call_impl(const Tensor& x, Tensor& y, bool) {
  auto w = weights();
  const std::size_t N = x.dim(0), F = filters_, KK = kernel_.first * kernel_.second, cols = KK * F, HW = h_ * w_;
  if (args_.use_bias)
    for (std::size_t r = 0; r < N * oh_ * ow_; ++r) std::memcpy(y.data() + r * F, w[1]->value.data(), F * sizeof(float));
  else
    y.fill(0.0f);
  const std::size_t B = block_rows(cols);
  for (std::size_t r0 = 0; r0 < N * HW; r0 += B) {
    const std::size_t m = std::min(B, N * HW - r0);
    cols_.resize(m * cols);
    detail::sgemm(false, true, int(m), int(cols), int(c_), 1.0f, x.data() + r0 * c_, int(c_), w[0]->value.data(), int(c_),
                  0.0f, cols_.data(), int(cols));
    for_each_tap(r0, m, [&](std::size_t col, std::size_t out) {
      for (std::size_t f = 0; f < F; ++f) y[out + f] += cols_[col + f];
    });
  }
}

// dcols[(n, i, j), (u, v, f)] = dz at the position (i, j) reached through (u, v) (0 outside);
// dx = dcols K, dK += dcols^T x, db = the sum of dz.
void Conv2DTranspose::backward_impl(const Tensor& dz, Tensor* dx) {
  auto w = weights();
  const Tensor& x = last_input();
  const std::size_t N = x.dim(0), F = filters_, KK = kernel_.first * kernel_.second, cols = KK * F, HW = h_ * w_;
  if (args_.use_bias) {
    w[1]->grad.fill(0.0f);
    for (std::size_t r = 0; r < N * oh_ * ow_; ++r)
      for (std::size_t f = 0; f < F; ++f) w[1]->grad[f] += dz[r * F + f];
  }
  const std::size_t B = block_rows(cols);
  for (std::size_t r0 = 0; r0 < N * HW; r0 += B) {
    const std::size_t m = std::min(B, N * HW - r0);
    cols_.assign(m * cols, 0.0f);
    for_each_tap(r0, m, [&](std::size_t col, std::size_t out) { std::memcpy(cols_.data() + col, dz.data() + out, F * sizeof(float)); });
    detail::sgemm(true, false, int(cols), int(c_), int(m), 1.0f, cols_.data(), int(cols), x.data() + r0 * c_, int(c_),
                  r0 == 0 ? 0.0f : 1.0f, w[0]->grad.data(), int(c_));
    if (dx)
      detail::sgemm(false, false, int(m), int(c_), int(cols), 1.0f, cols_.data(), int(cols), w[0]->value.data(), int(c_),
                    0.0f, dx->data() + r0 * c_, int(c_));
  }
}

}  // namespace fourierconv::nn
