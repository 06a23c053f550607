// The direct convolution's fast paths (register-blocked forward, the small-kernel backward,
// the fused relu, the OpenMP splits) against double loops written from the definition, on a
// seeded random table of problems: odd sizes, strides, dilation, both paddings, channel and
// filter counts on each side of the 8- and 16-wide vectors (the 16-wide kernels run on AVX-512
// CPUs), batches large enough to go parallel.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include <omp.h>

#include "fourierconv/conv/direct.hpp"
#include "reference.hpp"

using namespace fourierconv;
using fctest::random_tensor;

namespace {

struct Grads {
  std::vector<double> dx, dk, db;
};

// y[n,i,j,f] = b[f] + sum_{u,v,c} x[n, i*sh + u*dh - pt, j*sw + v*dw - pl, c] K[u,v,c,f]
std::vector<double> ref_forward(const conv::Problem& p, const Tensor& x, const Tensor& k, const Tensor& b, bool relu) {
  std::vector<double> y(p.n * p.oh * p.ow * p.f);
  for (std::size_t n = 0; n < p.n; ++n)
    for (std::size_t i = 0; i < p.oh; ++i)
      for (std::size_t j = 0; j < p.ow; ++j)
        for (std::size_t f = 0; f < p.f; ++f) {
          double s = b[f];
          for (std::size_t u = 0; u < p.kh; ++u)
            for (std::size_t v = 0; v < p.kw; ++v) {
              const long iy = long(i * p.sh + u * p.dh) - long(p.pad_top), ix = long(j * p.sw + v * p.dw) - long(p.pad_left);
              if (iy < 0 || ix < 0 || iy >= long(p.h) || ix >= long(p.w)) continue;
              for (std::size_t c = 0; c < p.c; ++c)
                s += double(x[((n * p.h + iy) * p.w + ix) * p.c + c]) * k[((u * p.kw + v) * p.c + c) * p.f + f];
            }
          y[((n * p.oh + i) * p.ow + j) * p.f + f] = relu && s < 0 ? 0.0 : s;
        }
  return y;
}

// The adjoint of ref_forward (without the relu) applied to dz.
Grads ref_backward(const conv::Problem& p, const Tensor& x, const Tensor& k, const std::vector<double>& dz) {
  Grads g{std::vector<double>(x.size()), std::vector<double>(k.size()), std::vector<double>(p.f)};
  for (std::size_t n = 0; n < p.n; ++n)
    for (std::size_t i = 0; i < p.oh; ++i)
      for (std::size_t j = 0; j < p.ow; ++j)
        for (std::size_t f = 0; f < p.f; ++f) {
          const double d = dz[((n * p.oh + i) * p.ow + j) * p.f + f];
          g.db[f] += d;
          for (std::size_t u = 0; u < p.kh; ++u)
            for (std::size_t v = 0; v < p.kw; ++v) {
              const long iy = long(i * p.sh + u * p.dh) - long(p.pad_top), ix = long(j * p.sw + v * p.dw) - long(p.pad_left);
              if (iy < 0 || ix < 0 || iy >= long(p.h) || ix >= long(p.w)) continue;
              for (std::size_t c = 0; c < p.c; ++c) {
                const std::size_t xi = ((n * p.h + iy) * p.w + ix) * p.c + c, ki = ((u * p.kw + v) * p.c + c) * p.f + f;
                g.dx[xi] += d * k[ki];
                g.dk[ki] += d * x[xi];
              }
            }
        }
  return g;
}

TEST(DirectConv, RandomProblemsAgainstDoubleLoops) {
  const unsigned seed = 20261130;
  std::mt19937 g(seed);
  SCOPED_TRACE("table seed " + std::to_string(seed));
  auto pick = [&](std::initializer_list<std::size_t> v) { return *(v.begin() + g() % v.size()); };
  for (int t = 0; t < 60; ++t) {
    const std::size_t kh = pick({1, 2, 3, 3, 5}), kw = pick({1, 3, 3, 4}), sh = pick({1, 1, 2}), sw = pick({1, 1, 3});
    const std::size_t dh = pick({1, 1, 2}), dw = pick({1, 1, 1, 2});
    const std::size_t c = pick({1, 1, 2, 3, 8, 9}), f = pick({1, 5, 8, 16, 17, 32, 40, 64, 70, 96});
    const std::size_t n = pick({1, 2, 5}), h = pick({7, 13, 28}), w = pick({6, 11, 26});
    const auto pad = g() % 2 ? conv::Padding::Same : conv::Padding::Valid;
    if (pad == conv::Padding::Valid && ((kh - 1) * dh + 1 > h || (kw - 1) * dw + 1 > w)) continue;
    const conv::Problem p = conv::Problem::make(n, h, w, c, f, kh, kw, sh, sw, dh, dw, pad);
    SCOPED_TRACE("case " + std::to_string(t) + ": " + p.to_string());
    const Tensor x = random_tensor({n, h, w, c}, seed + t), k = random_tensor({kh, kw, c, f}, seed + 100 + t);
    const Tensor b = random_tensor({f}, seed + 200 + t), dy = random_tensor({n, p.oh, p.ow, f}, seed + 300 + t);
    for (bool relu : {false, true}) {
      Tensor y({n, p.oh, p.ow, f}, NAN);
      conv::direct_forward(p, x.data(), k.data(), b.data(), y.data(), relu);
      const auto want = ref_forward(p, x, k, b, relu);
      fctest::expect_close(y, want, 1e-5, relu ? "forward + relu" : "forward");
      // Backward: with relu, the gradient through it is dy where the output is positive.
      std::vector<double> dz(dy.size());
      for (std::size_t i = 0; i < dz.size(); ++i) dz[i] = !relu || y[i] > 0 ? double(dy[i]) : 0.0;
      const Grads r = ref_backward(p, x, k, dz);
      Tensor dx(x.shape(), NAN), dk(k.shape(), NAN), db({f}, NAN);
      conv::direct_backward(p, x.data(), k.data(), dy.data(), dx.data(), dk.data(), db.data(),
                            relu ? y.data() : nullptr);
      fctest::expect_close(dx, r.dx, 1e-5, "dx");
      fctest::expect_close(dk, r.dk, 2e-5, "dkernel");
      fctest::expect_close(db, r.db, 2e-5, "dbias");
      // The kernel gradient alone (the first layer of a model skips dx).
      Tensor dk2(k.shape(), NAN);
      conv::direct_backward(p, x.data(), k.data(), dy.data(), nullptr, dk2.data(), nullptr, relu ? y.data() : nullptr);
      fctest::expect_close(dk2, r.dk, 2e-5, "dkernel without dx");
    }
  }
}

// Many rows, many filters: with 2 threads and at least 8 chunks of 512 rows (3x3 x 96 channels:
// 864 columns), the forward builds each chunk's columns in the thread's own buffer and applies
// the bias and the relu per chunk.
TEST(DirectConv, ChunkedGemmForwardAgainstDoubleLoops) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(2);
  for (auto pad : {conv::Padding::Same, conv::Padding::Valid}) {
    const conv::Problem p = conv::Problem::make(7, 28, 28, 96, 66, 3, 3, 1, 1, 1, 1, pad);
    ASSERT_GE(p.n * p.oh * p.ow, 8u * 512u);
    const Tensor x = random_tensor({7, 28, 28, 96}, 61), k = random_tensor({3, 3, 96, 66}, 62), b = random_tensor({66}, 63);
    const auto want = ref_forward(p, x, k, b, false);
    auto want_relu = want;
    for (auto& v : want_relu) v = v < 0 ? 0.0 : v;
    for (bool relu : {false, true}) {
      Tensor y({7, p.oh, p.ow, 66}, NAN);
      conv::direct_forward(p, x.data(), k.data(), b.data(), y.data(), relu);
      fctest::expect_close(y, relu ? want_relu : want, 2e-5, relu ? "chunked + relu" : "chunked");
    }
  }
  omp_set_num_threads(saved);
}

// Padded inputs: small images are copied into a zero border (every pixel runs the blocked
// kernel), large ones, whose border is under 3% of the pixels, keep the per-pixel border loop.
TEST(DirectConv, PaddedLargeAndSmallImagesAgainstDoubleLoops) {
  for (std::size_t h : {9, 140})
    for (std::size_t k : {3, 5})
      for (std::size_t f : {24, 64}) {
        const conv::Problem p = conv::Problem::make(1, h, h + 10, 2, f, k, k, 1, 1, 1, 1, conv::Padding::Same);
        SCOPED_TRACE(p.to_string());
        const Tensor x = random_tensor({1, h, h + 10, 2}, 64), kk = random_tensor({k, k, 2, f}, 65), b = random_tensor({f}, 66);
        Tensor y({1, p.oh, p.ow, f}, NAN);
        conv::direct_forward(p, x.data(), kk.data(), b.data(), y.data(), true);
        fctest::expect_close(y, ref_forward(p, x, kk, b, true), 1e-5, "padded");
      }
}

TEST(DirectConv, ReluPassesNaN) {
  const conv::Problem p = conv::Problem::make(1, 5, 5, 1, 8, 3, 3, 1, 1, 1, 1, conv::Padding::Same);
  Tensor x = random_tensor({1, 5, 5, 1}, 3), k = random_tensor({3, 3, 1, 8}, 4), y({1, 5, 5, 8});
  x[12] = NAN;  // the centre: every output within one pixel of it is NaN
  conv::direct_forward(p, x.data(), k.data(), nullptr, y.data(), true);
  EXPECT_TRUE(std::isnan(y[12 * 8]));
  EXPECT_FALSE(std::isnan(y[0]));
}

}  // namespace
