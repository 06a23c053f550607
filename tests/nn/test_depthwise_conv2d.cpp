// DepthwiseConv2D and SeparableConv2D against a direct double-precision evaluation of their
// definitions (depthwise_conv2d.hpp), on odd sizes, strides, dilation and both paddings, and
// their gradients by finite differences. Keras parity: fixture `depthwise` (test_saving.cpp).
#include <gtest/gtest.h>

#include <cmath>

#include "fourierconv/nn.hpp"
#include "nn/gradcheck.hpp"
#include "reference.hpp"

using namespace fourierconv;
using namespace fourierconv::nn;
using fctest::random_tensor;

namespace {

struct Case {
  std::size_t h, w, c, m, kh, kw, sh, sw, dh, dw;
  const char* padding;
  std::size_t filters;  // 0: DepthwiseConv2D
};

// y[n, i, j, q] in double, q over C M (depthwise) then the pointwise product and biases.
std::vector<double> reference(const Case& k, const Tensor& x, const std::vector<const Weight*>& w, const conv::Problem& p) {
  const std::size_t N = x.dim(0), CM = k.c * k.m, F = k.filters ? k.filters : CM;
  std::vector<double> mid(N * p.oh * p.ow * CM, 0.0), y(N * p.oh * p.ow * F, 0.0);
  const Tensor& K = w[0]->value;
  for (std::size_t n = 0; n < N; ++n)
    for (std::size_t i = 0; i < p.oh; ++i)
      for (std::size_t j = 0; j < p.ow; ++j)
        for (std::size_t c = 0; c < k.c; ++c)
          for (std::size_t m = 0; m < k.m; ++m) {
            double s = 0;
            for (std::size_t u = 0; u < k.kh; ++u)
              for (std::size_t v = 0; v < k.kw; ++v) {
                const long ih = long(i * k.sh + u * k.dh) - long(p.pad_top), iw = long(j * k.sw + v * k.dw) - long(p.pad_left);
                if (ih < 0 || iw < 0 || ih >= long(k.h) || iw >= long(k.w)) continue;
                s += double(x[((n * k.h + std::size_t(ih)) * k.w + std::size_t(iw)) * k.c + c]) *
                     K[((u * k.kw + v) * k.c + c) * k.m + m];
              }
            mid[((n * p.oh + i) * p.ow + j) * CM + c * k.m + m] = s;
          }
  const std::size_t rows = N * p.oh * p.ow;
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t f = 0; f < F; ++f) {
      double s = w.back()->name == "bias" ? double(w.back()->value[f]) : 0.0;
      if (!k.filters) s += mid[r * CM + f];
      else
        for (std::size_t q = 0; q < CM; ++q) s += mid[r * CM + q] * w[1]->value[q * F + f];
      y[r * F + f] = s;
    }
  return y;
}

TEST(DepthwiseConv2D, MatchesTheDefinitionAndItsGradients) {
  for (const Case& k : {Case{7, 6, 3, 2, 3, 3, 1, 1, 1, 1, "same", 0}, Case{9, 5, 2, 1, 2, 3, 2, 1, 1, 2, "valid", 0},
                        Case{8, 7, 2, 3, 3, 2, 2, 2, 1, 1, "same", 0}, Case{7, 6, 3, 2, 3, 3, 1, 1, 1, 1, "same", 4},
                        Case{11, 5, 2, 1, 3, 2, 2, 1, 2, 1, "valid", 3}}) {
    SCOPED_TRACE(std::to_string(k.h) + "x" + std::to_string(k.w) + "x" + std::to_string(k.c) + " m" + std::to_string(k.m) + " " +
                 k.padding + " filters " + std::to_string(k.filters));
    std::unique_ptr<DepthwiseConv2D> l;
    if (k.filters)
      l = std::make_unique<SeparableConv2D>(k.filters, Size2{k.kh, k.kw},
                                            SeparableConv2DArgs{.strides = {k.sh, k.sw}, .padding = k.padding, .depth_multiplier = k.m,
                                                                .dilation_rate = {k.dh, k.dw}});
    else
      l = std::make_unique<DepthwiseConv2D>(Size2{k.kh, k.kw}, DepthwiseConv2DArgs{.strides = {k.sh, k.sw}, .padding = k.padding,
                                                                                  .depth_multiplier = k.m, .dilation_rate = {k.dh, k.dw}});
    l->build({k.h, k.w, k.c});
    for (Weight* w : l->weights())
      if (w->name == "bias") w->value = random_tensor(w->value.shape(), 3);
    Tensor x = random_tensor({2, k.h, k.w, k.c}, 4);
    Tensor y = l->call(x);
    const conv::Problem p = conv::Problem::make(1, k.h, k.w, k.c, k.c * k.m, k.kh, k.kw, k.sh, k.sw, k.dh, k.dw,
                                                conv::parse_padding(k.padding));
    auto ws = std::as_const(*l).weights();
    const std::vector<double> want = reference(k, x, ws, p);
    ASSERT_EQ(y.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(y[i], want[i], 1e-5) << i;
    fctest::check_layer_gradients(*l, x, 5);
  }
}

TEST(DepthwiseConv2D, BadArguments) {
  EXPECT_THROW(DepthwiseConv2D({0, 3}), Error);
  EXPECT_THROW(DepthwiseConv2D({3, 3}, {.depth_multiplier = 0}), Error);
  EXPECT_THROW(DepthwiseConv2D({3, 3}, {.padding = "causal"}), Error);
  EXPECT_THROW(SeparableConv2D(0, {3, 3}), Error);
  DepthwiseConv2D big({5, 5});
  EXPECT_THROW(big.build({3, 3, 2}), Error);  // a valid 5x5 kernel does not fit 3x3
}

}  // namespace

namespace {

// Conv2DTranspose is the adjoint of Conv2D (conv2d_transpose.hpp): with the same kernel and no
// bias, <T x, y> = <x, Conv y> for every x and y, which pins down its output size, padding,
// strides and dilation against the Conv2D that the library tests on its own.
TEST(Conv2DTranspose, IsTheAdjointOfConv2DAndItsGradientsMatch) {
  struct T {
    std::size_t h, w, c, f, kh, kw, sh, sw, dh, dw;
    const char* padding;
  };
  for (const T& t : {T{5, 4, 3, 2, 3, 3, 2, 2, 1, 1, "same"}, T{4, 5, 2, 3, 2, 3, 1, 2, 1, 1, "valid"},
                     T{3, 4, 2, 2, 2, 2, 3, 3, 1, 1, "valid"}, T{4, 3, 1, 2, 3, 2, 1, 1, 2, 1, "same"},
                     T{5, 5, 2, 1, 3, 3, 2, 1, 1, 2, "valid"}, T{3, 3, 2, 2, 4, 1, 3, 1, 1, 1, "same"}}) {
    SCOPED_TRACE(std::to_string(t.h) + "x" + std::to_string(t.w) + " k" + std::to_string(t.kh) + "x" + std::to_string(t.kw) +
                 " s" + std::to_string(t.sh) + "x" + std::to_string(t.sw) + " d" + std::to_string(t.dh) + "x" +
                 std::to_string(t.dw) + " " + t.padding);
    Conv2DTranspose tr(t.f, {t.kh, t.kw}, {.strides = {t.sh, t.sw}, .padding = t.padding, .dilation_rate = {t.dh, t.dw}, .use_bias = false});
    tr.build({t.h, t.w, t.c});
    const Shape out = tr.output_shape();
    Conv2D conv(t.c, {t.kh, t.kw}, {.strides = {t.sh, t.sw}, .padding = t.padding, .dilation_rate = {t.dh, t.dw}, .use_bias = false,
                                    .algorithm = "direct"});
    conv.build(out);
    ASSERT_EQ(conv.output_shape(), (Shape{t.h, t.w, t.c})) << "the forward Conv2D of the output gives the input's shape";
    conv.weights()[0]->value = tr.weights()[0]->value.reshaped({t.kh, t.kw, t.f, t.c});  // (kh, kw, C_conv = F, F_conv = C)
    Tensor x = random_tensor({2, t.h, t.w, t.c}, 21), y = random_tensor({2, out[0], out[1], out[2]}, 22);
    Tensor tx = tr.call(x), cy = conv.call(y);
    double a = 0, b = 0;
    for (std::size_t i = 0; i < tx.size(); ++i) a += double(tx[i]) * y[i];
    for (std::size_t i = 0; i < x.size(); ++i) b += double(x[i]) * cy[i];
    EXPECT_NEAR(a, b, 1e-4 * (std::fabs(a) + 1));
    Conv2DTranspose with_bias(t.f, {t.kh, t.kw}, {.strides = {t.sh, t.sw}, .padding = t.padding, .dilation_rate = {t.dh, t.dw}});
    with_bias.build({t.h, t.w, t.c});
    with_bias.weights()[1]->value = random_tensor({t.f}, 23);
    fctest::check_layer_gradients(with_bias, x, 24);
  }
  EXPECT_THROW(Conv2DTranspose(0, {3, 3}), Error);
  EXPECT_THROW(Conv2DTranspose(2, {3, 3}, {.padding = "causal"}), Error);
}

}  // namespace
