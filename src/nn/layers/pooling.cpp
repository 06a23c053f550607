#include "fourierconv/nn/layers/pooling.hpp"

#include <algorithm>
#include <limits>

#include "fourierconv/error.hpp"

namespace fourierconv::nn {

Pooling2D::Pooling2D(std::string name, Size2 pool_size, Pooling2DArgs args, const char* cls)
    : Layer(std::move(name)), pool_(pool_size), strides_(args.strides.value_or(pool_size)), args_(std::move(args)) {
  if (!pool_.first || !pool_.second) throw Error(std::string(cls) + ": pool_size must be positive");
  if (!strides_.first || !strides_.second) throw Error(std::string(cls) + ": strides must be positive");
  padding_ = conv::parse_padding(args_.padding);
  declare_input_shape(args_.input_shape);
}

conv::Problem Pooling2D::problem_for(std::size_t n) const {
  const Shape& s = input_shape();
  return conv::Problem::make(n, s[0], s[1], s[2], s[2], pool_.first, pool_.second, strides_.first, strides_.second, 1, 1,
                             padding_, name() + " (" + class_name() + ")");
}

Shape Pooling2D::build_impl(const Shape& in) {
  if (in.size() != 3) throw Error(name() + " (" + class_name() + "): expected input shape (H, W, C), got " + shape_to_string(in));
  conv::Problem p = conv::Problem::make(1, in[0], in[1], in[2], in[2], pool_.first, pool_.second, strides_.first,
                                        strides_.second, 1, 1, padding_, name() + " (" + class_name() + ")");
  return {p.oh, p.ow, in[2]};
}

MaxPooling2D::MaxPooling2D(Size2 pool_size, Pooling2DArgs args)
    : Pooling2D(args.name.empty() ? unique_name("max_pooling2d") : args.name, pool_size, args, "MaxPooling2D") {}

void MaxPooling2D::call_impl(const Tensor& x, Tensor& y, bool) {
  // Pure max, vectorized over channels; backward finds each maximum again by comparing the
  // input with the output, so the forward pass stores no indices (it is the hot path of
  // inference: 53% of torch's time on the seed model).
  const conv::Problem p = problem_for(x.dim(0));
  const std::size_t C = p.c;
  const float* xd = x.data();
  float* yd = y.data();
#pragma omp parallel for schedule(static) if (y.size() > 262144)
  for (std::size_t n = 0; n < p.n; ++n)
    for (std::size_t oy = 0; oy < p.oh; ++oy)
      for (std::size_t ox = 0; ox < p.ow; ++ox) {
        float* __restrict out = yd + ((n * p.oh + oy) * p.ow + ox) * C;
        bool first = true;  // every window holds at least one real cell (padding < pool size)
        for (std::size_t u = 0; u < p.kh; ++u) {
          const std::ptrdiff_t iy = std::ptrdiff_t(oy * p.sh + u) - std::ptrdiff_t(p.pad_top);
          if (iy < 0 || iy >= std::ptrdiff_t(p.h)) continue;
          for (std::size_t v = 0; v < p.kw; ++v) {
            const std::ptrdiff_t ix = std::ptrdiff_t(ox * p.sw + v) - std::ptrdiff_t(p.pad_left);
            if (ix < 0 || ix >= std::ptrdiff_t(p.w)) continue;
            const float* __restrict in = xd + ((n * p.h + std::size_t(iy)) * p.w + std::size_t(ix)) * C;
            if (first) {
              for (std::size_t c = 0; c < C; ++c) out[c] = in[c];
              first = false;
            } else {
              for (std::size_t c = 0; c < C; ++c) out[c] = (in[c] > out[c] || in[c] != in[c]) ? in[c] : out[c];
            }
          }
        }
      }
}

void MaxPooling2D::backward_impl(const Tensor& dz, Tensor* dx) {
  if (!dx) return;
  const conv::Problem p = problem_for(dz.dim(0));
  const std::size_t C = p.c;
  const float* xd = last_input().data();
  const float* yd = last_output().data();
  float* d = dx->data();
  dx->fill(0.0f);
  // Each output's gradient goes to the first window cell holding its maximum (as an argmax
  // taken in scan order would). Overlapping windows of one image may write the same cell,
  // so parallelize over images only.
#pragma omp parallel for schedule(static) if (dz.size() > 262144)
  for (std::size_t n = 0; n < p.n; ++n)
    for (std::size_t oy = 0; oy < p.oh; ++oy)
      for (std::size_t ox = 0; ox < p.ow; ++ox) {
        const std::size_t o = ((n * p.oh + oy) * p.ow + ox) * C;
        for (std::size_t c = 0; c < C; ++c) {
          bool done = false;
          for (std::size_t u = 0; u < p.kh && !done; ++u) {
            const std::ptrdiff_t iy = std::ptrdiff_t(oy * p.sh + u) - std::ptrdiff_t(p.pad_top);
            if (iy < 0 || iy >= std::ptrdiff_t(p.h)) continue;
            for (std::size_t v = 0; v < p.kw; ++v) {
              const std::ptrdiff_t ix = std::ptrdiff_t(ox * p.sw + v) - std::ptrdiff_t(p.pad_left);
              if (ix < 0 || ix >= std::ptrdiff_t(p.w)) continue;
              const std::size_t i = ((n * p.h + std::size_t(iy)) * p.w + std::size_t(ix)) * C + c;
              if (xd[i] == yd[o + c] || (yd[o + c] != yd[o + c])) {  // NaN: the first cell
                d[i] += dz[o + c];
                done = true;
                break;
              }
            }
          }
        }
      }
}

AveragePooling2D::AveragePooling2D(Size2 pool_size, Pooling2DArgs args)
    : Pooling2D(args.name.empty() ? unique_name("average_pooling2d") : args.name, pool_size, args, "AveragePooling2D") {}

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
