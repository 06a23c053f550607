#include "fourierconv/nn/layers/pooling.hpp"

#include <algorithm>
#include <limits>

#include "fourierconv/error.hpp"
#include "simd.hpp"

namespace fourierconv::nn {

Pooling2D::Pooling2D(std::string name, Size2 pool_size, Pooling2DArgs args, const char* cls)
    : Layer(std::move(name)), pool_(pool_size), strides_(args.strides.value_or(pool_size)), args_(std::move(args)) {
  if (!pool_.first || !pool_.second) throw Error(std::string(cls) + ": pool_size must be positive");
  if (!strides_.first || !strides_.second) throw Error(std::string(cls) + ": strides must be positive");
  padding_ = conv::parse_padding(args_.padding);
  if (padding_ == conv::Padding::Causal) throw Error(std::string(cls) + ": padding must be valid or same, got 'causal'");
  declare_input_shape(args_.input_shape);
}

conv::Problem Pooling2D::problem_for(std::size_t n) const {
  const Shape& s = grid_;
  return conv::Problem::make(n, s[0], s[1], s[2], s[2], pool_.first, pool_.second, strides_.first, strides_.second, 1, 1,
                             padding_, name() + " (" + class_name() + ")");
}

Shape Pooling2D::build_impl(const Shape& in) {
  if (in.size() != 3) throw Error(name() + " (" + class_name() + "): expected input shape (H, W, C), got " + shape_to_string(in));
  grid_ = in;
  conv::Problem p = problem_for(1);
  return {p.oh, p.ow, in[2]};
}

Shape Pooling2D::build_1d(const Shape& in) {
  if (in.size() != 2) throw Error(name() + " (" + class_name() + "): expected input shape (L, C), got " + shape_to_string(in));
  grid_ = {1, in[0], in[1]};
  conv::Problem p = problem_for(1);
  return {p.ow, in[1]};
}

MaxPooling2D::MaxPooling2D(Size2 pool_size, Pooling2DArgs args)
    : MaxPooling2D(args.name.empty() ? unique_name("max_pooling2d") : args.name, pool_size, args, "MaxPooling2D") {}
MaxPooling2D::MaxPooling2D(std::string name, Size2 pool_size, Pooling2DArgs args, const char* cls)
    : Pooling2D(std::move(name), pool_size, std::move(args), cls) {}

namespace {
Pooling2DArgs grid_args(const Pooling1DArgs& a) {
  std::optional<Size2> s;
  if (a.strides) s = Size2{1, *a.strides};
  return {.strides = s, .padding = a.padding, .input_shape = a.input_shape, .name = a.name};
}
}  // namespace

MaxPooling1D::MaxPooling1D(std::size_t pool_size, Pooling1DArgs a)
    : MaxPooling2D(a.name.empty() ? unique_name("max_pooling1d") : a.name, {1, pool_size}, grid_args(a), "MaxPooling1D") {}
AveragePooling1D::AveragePooling1D(std::size_t pool_size, Pooling1DArgs a)
    : AveragePooling2D(a.name.empty() ? unique_name("average_pooling1d") : a.name, {1, pool_size}, grid_args(a),
                       "AveragePooling1D") {}

namespace {

using simd::v8;

// The real (unpadded) cells of output pixel (n, oy, ox)'s window, in scan order, as flat
// offsets of their channel 0; returns how many.
FC_INLINE std::size_t window_cells(const conv::Problem& p, std::size_t n, std::size_t oy, std::size_t ox, std::size_t* cells) {
  std::size_t k = 0;
  for (std::size_t u = 0; u < p.kh; ++u) {
    const std::ptrdiff_t iy = std::ptrdiff_t(oy * p.sh + u) - std::ptrdiff_t(p.pad_top);
    if (iy < 0 || iy >= std::ptrdiff_t(p.h)) continue;
    for (std::size_t v = 0; v < p.kw; ++v) {
      const std::ptrdiff_t ix = std::ptrdiff_t(ox * p.sw + v) - std::ptrdiff_t(p.pad_left);
      if (ix < 0 || ix >= std::ptrdiff_t(p.w)) continue;
      cells[k++] = ((n * p.h + std::size_t(iy)) * p.w + std::size_t(ix)) * p.c;
    }
  }
  return k;
}

using simd::max_nan;  // NaN wins, as in Keras

// Windows that never overlap (strides >= pool size on both axes): every input cell has at
// most one window, so the backward pass can write each cell once instead of accumulating.
bool windows_disjoint(const conv::Problem& p) { return p.sh >= p.kh && p.sw >= p.kw; }

// Elements per thread below which a pass stays on one thread.
constexpr std::size_t kParallelElements = 32768;

// 2 x 2 windows at stride 2 wholly inside the image (Keras's default MaxPooling2D, the seed
// models'), channels a multiple of 8: the four cells are fixed offsets, with no cell list per
// window (the generic loop spent most of its time building those: 2.7x the time on the seed
// CNN's 32 x 26 x 26 x 32 forward).
bool pool_2x2(const conv::Problem& p) {
  return p.kh == 2 && p.kw == 2 && p.sh == 2 && p.sw == 2 && p.pad_top == 0 && p.pad_left == 0 && p.c % 8 == 0 &&
         2 * p.oh <= p.h && 2 * p.ow <= p.w;
}

}  // namespace

namespace {
FC_MULTIVERSION void max_pool_forward(const conv::Problem& p, const float* xd, std::size_t xsize, float* yd) {
  // Pure max, vectorized over channels; backward finds each maximum again by comparing the
  // input with the output, so the forward pass stores no indices (it is the hot path of
  // inference: 53% of torch's time on the seed model).
  const std::size_t C = p.c, Cv = C / 8 * 8;
  if (pool_2x2(p)) {
#pragma omp parallel for schedule(static) collapse(2) if (xsize > 2 * kParallelElements)
    for (std::size_t n = 0; n < p.n; ++n)
      for (std::size_t oy = 0; oy < p.oh; ++oy) {
        const float* r0 = xd + (n * p.h + 2 * oy) * p.w * C;
        const float* r1 = r0 + p.w * C;
        float* __restrict out = yd + (n * p.oh + oy) * p.ow * C;
        for (std::size_t ox = 0; ox < p.ow; ++ox)
          for (std::size_t c = 0; c < C; c += 8) {
            const float* a = r0 + 2 * ox * C + c;
            const float* b = r1 + 2 * ox * C + c;
            // The generic loop's scan order: (0, 0), (0, 1), (1, 0), (1, 1).
            const v8 m = max_nan(max_nan(max_nan(simd::loadu(a), simd::loadu(a + C)), simd::loadu(b)), simd::loadu(b + C));
            simd::storeu(out + ox * C + c, m);
          }
      }
    return;
  }
#pragma omp parallel for schedule(static) collapse(2) if (xsize > 2 * kParallelElements)
  for (std::size_t n = 0; n < p.n; ++n)
    for (std::size_t oy = 0; oy < p.oh; ++oy) {
      std::size_t cells[64];
      std::vector<std::size_t> big;
      std::size_t* cl = p.kh * p.kw <= 64 ? cells : (big.resize(p.kh * p.kw), big.data());
      for (std::size_t ox = 0; ox < p.ow; ++ox) {
        float* __restrict out = yd + ((n * p.oh + oy) * p.ow + ox) * C;
        const std::size_t k = window_cells(p, n, oy, ox, cl);  // >= 1: padding < pool size
        std::size_t c = 0;
        for (; c < Cv; c += 8) {
          v8 m = simd::loadu(xd + cl[0] + c);
          for (std::size_t i = 1; i < k; ++i) m = max_nan(m, simd::loadu(xd + cl[i] + c));
          simd::storeu(out + c, m);
        }
        for (; c < C; ++c) {
          float m = xd[cl[0] + c];
          for (std::size_t i = 1; i < k; ++i) m = max_nan(m, xd[cl[i] + c]);
          out[c] = m;
        }
      }
    }
}
}  // namespace

bool MaxPooling2D::fusable_after(const Layer& producer) const {
  return producer.built() && built() && input_shape() == producer.output_shape() &&
         (producer.activation() == Activation::Relu || producer.activation() == Activation::Linear) &&
         padding() == "valid" && strides() == pool_size();
}

Shape MaxPooling2D::batch_output_shape(std::size_t n) const {
  Shape s{n};
  s.insert(s.end(), output_shape().begin(), output_shape().end());
  return s;
}

void MaxPooling2D::call_impl(const Tensor& x, Tensor& y, bool) {
  max_pool_forward(problem_for(x.dim(0)), x.data(), x.size(), y.data());
}

const Tensor& MaxPooling2D::backward_through_relu(const Tensor& dy) {
  through_relu_ = true;
  try {
    const Tensor& dx = backward(dy);
    through_relu_ = false;
    return dx;
  } catch (...) {
    through_relu_ = false;
    throw;
  }
}

namespace {
// Eight channels of one output's gradient (at g; its value at y) to the first of the k window
// cells (offsets cl from x and d) that holds the maximum, or the first NaN for a NaN output
// (as an argmax taken in scan order); with relu, only where y > 0. Other cells get 0 (`add`:
// nothing, for overlapping windows accumulating into a zeroed d).
FC_INLINE void route_max8(const float* x, const float* y, const float* g, float* d, const std::size_t* cl, std::size_t k,
                          bool relu, bool add) {
  typedef int v8i __attribute__((vector_size(32), aligned(32)));
  const v8 yv = simd::loadu(y);
  v8 gv = simd::loadu(g);
  if (relu) gv = yv > 0 ? gv : v8{};
  const v8i ynan = yv != yv;
  v8i done = v8i{};
  for (std::size_t i = 0; i < k; ++i) {
    const v8 xv = simd::loadu(x + cl[i]);
    const v8i hit = ((xv == yv) | (ynan & (xv != xv))) & ~done;
    done |= hit;
    const v8 contrib = hit ? gv : v8{};
    float* dst = d + cl[i];
    simd::storeu(dst, add ? simd::loadu(dst) + contrib : contrib);
  }
}

FC_MULTIVERSION void max_pool_backward(const conv::Problem& p, const float* xd, const float* yd, const float* g, float* d,
                                       std::size_t dsize, bool relu) {
  // Each output's gradient goes to the first window cell holding its maximum (as an argmax
  // taken in scan order would); a NaN output's to the first NaN cell, which produced it.
  const std::size_t C = p.c, Cv = C / 8 * 8;
  const bool disjoint = windows_disjoint(p);
  // Disjoint windows write their cells (hit or 0); only cells outside every window need a
  // zero first. Overlapping windows accumulate into a zeroed dx, one image per thread.
  const bool tiled = disjoint && p.sh == p.kh && p.sw == p.kw;
  if (!tiled) {
#pragma omp parallel for schedule(static) if (dsize > 2 * kParallelElements)
    for (std::size_t n = 0; n < p.n; ++n) std::fill(d + n * p.h * p.w * C, d + (n + 1) * p.h * p.w * C, 0.0f);
  } else if (p.oh * p.kh < p.h + p.pad_top || p.ow * p.kw < p.w + p.pad_left) {
    // valid padding leaves the last rows / columns outside every window
    for (std::size_t n = 0; n < p.n; ++n)
      for (std::size_t iy = 0; iy < p.h; ++iy) {
        const bool row_out = iy + p.pad_top >= p.oh * p.kh;
        float* r = d + ((n * p.h + iy) * p.w) * C;
        if (row_out) std::fill(r, r + p.w * C, 0.0f);
        else if (p.ow * p.kw < p.w + p.pad_left) std::fill(r + (p.ow * p.kw - p.pad_left) * C, r + p.w * C, 0.0f);
      }
  }
  auto window = [&](std::size_t n, std::size_t oy, std::size_t ox, std::size_t* cl) {
    const std::size_t o = ((n * p.oh + oy) * p.ow + ox) * C;
    const std::size_t k = window_cells(p, n, oy, ox, cl);
    std::size_t c = 0;
    for (; c < Cv; c += 8) route_max8(xd + c, yd + o + c, g + o + c, d + c, cl, k, relu, !disjoint);
    for (; c < C; ++c) {
      bool done = false;
      const float yv = yd[o + c];
      for (std::size_t i = 0; i < k; ++i) {
        const float xv = xd[cl[i] + c];
        const bool hit = !done && (xv == yv || (yv != yv && xv != xv));
        done |= hit;
        float& dst = d[cl[i] + c];
        dst = (disjoint ? 0.0f : dst) + (hit && (!relu || yv > 0) ? g[o + c] : 0.0f);
      }
    }
  };
  if (pool_2x2(p)) {
    // As `window`, with the four cells at fixed offsets.
#pragma omp parallel for schedule(static) collapse(2) if (dsize > 2 * kParallelElements)
    for (std::size_t n = 0; n < p.n; ++n)
      for (std::size_t oy = 0; oy < p.oh; ++oy) {
        const std::size_t r0 = (n * p.h + 2 * oy) * p.w * C, row = p.w * C;
        for (std::size_t ox = 0; ox < p.ow; ++ox) {
          const std::size_t o = ((n * p.oh + oy) * p.ow + ox) * C, x0 = r0 + 2 * ox * C;
          const std::size_t cl[4] = {x0, x0 + C, x0 + row, x0 + row + C};
          for (std::size_t c = 0; c < C; c += 8) route_max8(xd + c, yd + o + c, g + o + c, d + c, cl, 4, relu, false);
        }
      }
  } else if (disjoint) {
#pragma omp parallel for schedule(static) collapse(2) if (dsize > 2 * kParallelElements)
    for (std::size_t n = 0; n < p.n; ++n)
      for (std::size_t oy = 0; oy < p.oh; ++oy) {
        std::size_t cells[64];
        std::vector<std::size_t> big;
        std::size_t* cl = p.kh * p.kw <= 64 ? cells : (big.resize(p.kh * p.kw), big.data());
        for (std::size_t ox = 0; ox < p.ow; ++ox) window(n, oy, ox, cl);
      }
  } else {
#pragma omp parallel for schedule(static) if (dsize > 2 * kParallelElements)
    for (std::size_t n = 0; n < p.n; ++n) {
      std::vector<std::size_t> cl(p.kh * p.kw);
      for (std::size_t oy = 0; oy < p.oh; ++oy)
        for (std::size_t ox = 0; ox < p.ow; ++ox) window(n, oy, ox, cl.data());
    }
  }
}
}  // namespace

void MaxPooling2D::backward_impl(const Tensor& dz, Tensor* dx) {
  if (!dx) return;
  // Each output's gradient goes to the first window cell holding its maximum (as an argmax
  // taken in scan order would); a NaN output's to the first NaN cell, which produced it.
  max_pool_backward(problem_for(dz.dim(0)), last_input().data(), last_output().data(), dz.data(), dx->data(), dx->size(),
                    through_relu_);
}

AveragePooling2D::AveragePooling2D(Size2 pool_size, Pooling2DArgs args)
    : AveragePooling2D(args.name.empty() ? unique_name("average_pooling2d") : args.name, pool_size, args, "AveragePooling2D") {}
AveragePooling2D::AveragePooling2D(std::string name, Size2 pool_size, Pooling2DArgs args, const char* cls)
    : Pooling2D(std::move(name), pool_size, std::move(args), cls) {}

namespace {
// Calls f(input_flat_base, output_flat_base, count) for every (output cell, real input cell).
template <class F>
void for_each_window(const conv::Problem& p, F f) {
  for (std::size_t n = 0; n < p.n; ++n)
    for (std::size_t oy = 0; oy < p.oh; ++oy)
      for (std::size_t ox = 0; ox < p.ow; ++ox) {
        std::size_t y0 = oy * p.sh, x0 = ox * p.sw;
        std::size_t ylo = y0 >= p.pad_top ? y0 - p.pad_top : 0, xlo = x0 >= p.pad_left ? x0 - p.pad_left : 0;
        std::size_t yhi = std::min(p.h, y0 + p.kh - p.pad_top), xhi = std::min(p.w, x0 + p.kw - p.pad_left);
        const float count = float((yhi > ylo ? yhi - ylo : 0) * (xhi > xlo ? xhi - xlo : 0));
        const std::size_t ob = ((n * p.oh + oy) * p.ow + ox) * p.c;
        for (std::size_t iy = ylo; iy < yhi; ++iy)
          for (std::size_t ix = xlo; ix < xhi; ++ix) f(((n * p.h + iy) * p.w + ix) * p.c, ob, count);
      }
}
}  // namespace

void AveragePooling2D::call_impl(const Tensor& x, Tensor& y, bool) {
  const conv::Problem p = problem_for(x.dim(0));
  y.fill(0.0f);
  for_each_window(p, [&](std::size_t ib, std::size_t ob, float count) {
    for (std::size_t c = 0; c < p.c; ++c) y[ob + c] += x[ib + c] / count;
  });
}

void AveragePooling2D::backward_impl(const Tensor& dz, Tensor* dx) {
  if (!dx) return;
  const conv::Problem p = problem_for(dz.dim(0));
  dx->fill(0.0f);
  for_each_window(p, [&](std::size_t ib, std::size_t ob, float count) {
    for (std::size_t c = 0; c < p.c; ++c) (*dx)[ib + c] += dz[ob + c] / count;
  });
}

}  // namespace fourierconv::nn
