// SpectralConv2D against an independent double-precision DFT implementation of its
// definition, finite-difference gradients (input, both weight blocks, bias), parameter
// counting, resolution independence, and bad modes.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <numbers>
#include <random>

#include "fourierconv/nn.hpp"
#include "nn/gradcheck.hpp"
#include "reference.hpp"

using namespace fourierconv;
using namespace fourierconv::nn;
using fctest::random_tensor;

namespace {

using cd = std::complex<double>;

// y_f = irfft2(Y_f) + b_f with Y_f[k] = sum_c X_c[k] W_cf[k] on the retained modes, written
// with naive DFTs: y[n] = (1/HW) sum_{ky, kx <= W/2} w_kx Re(Y[ky,kx] e^{2 pi i (ky ny/H + kx nx/W)}).
std::vector<double> reference(const Tensor& x, const Tensor& w1, const Tensor& w2, const Tensor& bias, std::size_t F,
                              std::size_t m1, std::size_t m2) {
  const std::size_t N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
  const double pi = std::numbers::pi;
  std::vector<double> y(N * H * W * F);
  for (std::size_t n = 0; n < N; ++n)
    for (std::size_t f = 0; f < F; ++f) {
      std::vector<cd> Y(H * (W / 2 + 1), 0.0);
      for (std::size_t block = 0; block < 2; ++block)
        for (std::size_t r = 0; r < m1; ++r)
          for (std::size_t q = 0; q < m2; ++q) {
            const std::size_t ky = block == 0 ? r : H - m1 + r;
            cd acc = 0;
            for (std::size_t c = 0; c < C; ++c) {
              cd X = 0;
              for (std::size_t a = 0; a < H; ++a)
                for (std::size_t b = 0; b < W; ++b)
                  X += double(x[((n * H + a) * W + b) * C + c]) * std::polar(1.0, -2 * pi * (double(ky * a) / H + double(q * b) / W));
              const Tensor& wt = block == 0 ? w1 : w2;
              const std::size_t o = (((c * F + f) * m1 + r) * m2 + q) * 2;
              acc += X * cd(wt[o], wt[o + 1]);
            }
            Y[ky * (W / 2 + 1) + q] = acc;
          }
      for (std::size_t a = 0; a < H; ++a)
        for (std::size_t b = 0; b < W; ++b) {
          double s = 0;
          for (std::size_t ky = 0; ky < H; ++ky)
            for (std::size_t kx = 0; kx <= W / 2; ++kx) {
              const double wk = (kx == 0 || (W % 2 == 0 && kx == W / 2)) ? 1.0 : 2.0;
              s += wk * (Y[ky * (W / 2 + 1) + kx] * std::polar(1.0, 2 * pi * (double(ky * a) / H + double(kx * b) / W))).real();
            }
          y[((n * H + a) * W + b) * F + f] = s / double(H * W) + bias[f];
        }
    }
  return y;
}

TEST(SpectralConv2D, MatchesDoublePrecisionDefinition) {
  for (auto [H, W] : {std::pair<std::size_t, std::size_t>{8, 6}, {7, 9}, {6, 5}}) {
    set_random_seed(H * 10 + W);
    const std::size_t C = 2, F = 3, m1 = 2, m2 = W / 2 + 1;  // m2 reaches the Nyquist column
    SpectralConv2D layer(F, {m1, m2});
    layer.build({H, W, C});
    layer.weights()[2]->value = random_tensor({F}, 3);
    Tensor x = random_tensor({2, H, W, C}, 4);
    Tensor y = layer.call(x);
    auto want = reference(x, layer.weights()[0]->value, layer.weights()[1]->value, layer.weights()[2]->value, F, m1, m2);
    fctest::expect_close(y, want, 1e-5, std::to_string(H) + "x" + std::to_string(W));
  }
}

TEST(SpectralConv2D, GradientsMatchFiniteDifferences) {
  for (auto [H, W] : {std::pair<std::size_t, std::size_t>{8, 6}, {7, 9}}) {
    set_random_seed(7);
    SpectralConv2D layer(3, {2, 3}, {.activation = "tanh"});
    layer.build({H, W, 2});
    for (auto* w : layer.weights())
      for (float& v : w->value) v *= 20;  // make the mixing strong enough to see
    fctest::check_layer_gradients(layer, random_tensor({2, H, W, 2}, 8), 9, 1e-3, 2e-3, 2e-2, 60);
  }
}

TEST(SpectralConv2D, CountsComplexWeightsAsTwoParameters) {
  clear_session();
  SpectralConv2D layer(32, {8, 8});
  layer.build({28, 28, 1});
  EXPECT_EQ(layer.count_params(), 2u * 1 * 32 * 8 * 8 * 2 + 32);
  EXPECT_EQ(layer.count_trainable_params(), layer.count_params());
  auto d = layer.detail();
  ASSERT_EQ(d.size(), 2u);
  EXPECT_NE(d[1].find("a complex weight counts as 2 parameters"), std::string::npos);
}

TEST(SpectralConv2D, SameWeightsApplyToAnotherResolution) {
  // A band-limited input sampled on 16x16 and on 32x32: the same weights give the same
  // function, sampled on each grid.
  set_random_seed(11);
  SpectralConv2D small(2, {3, 3}, {.use_bias = false});
  small.build({16, 16, 1});
  SpectralConv2D big(2, {3, 3}, {.use_bias = false});
  big.build({32, 32, 1});
  for (std::size_t i = 0; i < 2; ++i) big.weights()[i]->value = small.weights()[i]->value;
  auto signal = [](double u, double v) { return std::cos(2 * std::numbers::pi * (u + 2 * v)) + 0.5 * std::sin(2 * std::numbers::pi * 2 * u); };
  Tensor xs({1, 16, 16, 1}), xb({1, 32, 32, 1});
  for (std::size_t i = 0; i < 16; ++i)
    for (std::size_t j = 0; j < 16; ++j) xs[i * 16 + j] = float(signal(i / 16.0, j / 16.0));
  for (std::size_t i = 0; i < 32; ++i)
    for (std::size_t j = 0; j < 32; ++j) xb[i * 32 + j] = float(signal(i / 32.0, j / 32.0));
  Tensor ys = small.call(xs), yb = big.call(xb);
  for (std::size_t i = 0; i < 16; ++i)
    for (std::size_t j = 0; j < 16; ++j)
      for (std::size_t f = 0; f < 2; ++f) EXPECT_NEAR(ys[(i * 16 + j) * 2 + f], yb[((2 * i) * 32 + 2 * j) * 2 + f], 1e-5);
}

TEST(SpectralConv2D, ModesLargerThanTheSpectrumAreAnError) {
  SpectralConv2D layer(4, {5, 3});
  try {
    layer.build({8, 8, 1});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("larger than the spectrum of a 8x8 input: at most (4, 5)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(SpectralConv2D(4, {3, 6}).build({8, 8, 1}), Error);
  EXPECT_THROW(SpectralConv2D(0, {1, 1}), Error);
  EXPECT_THROW(SpectralConv2D(2, {0, 1}), Error);
}

}  // namespace

namespace {

// Partial filter tuples and plane groups, odd and prime sizes, several channels: the forward
// against the double definition; the input and weight gradients by linearity (with no bias,
// y is linear in x and in the weights, so <y, dy> = <x, dx> = <w, dw>); the bias gradient as
// the sum of dy.
TEST(SpectralConv2D, RandomShapesAgainstDefinitionAndLinearity) {
  const unsigned seed = 99;
  std::mt19937 g(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  auto pick = [&](std::initializer_list<std::size_t> v) { return *(v.begin() + g() % v.size()); };
  for (int t = 0; t < 11; ++t) {
    std::size_t N = pick({1, 3, 9}), C = pick({1, 2, 9}), F = pick({1, 5, 8, 17});
    std::size_t H = pick({6, 11, 28}), W = pick({5, 8, 28});
    if (t == 10) N = 1, C = 2, F = 3, H = 65, W = 66;  // a grid above the tuple FFT's limit: the FFTW path
    const std::size_t m1 = 1 + g() % (H / 2), m2 = 1 + g() % (W / 2 + 1);
    SCOPED_TRACE("case " + std::to_string(t) + ": N " + std::to_string(N) + " " + std::to_string(H) + "x" +
                 std::to_string(W) + "x" + std::to_string(C) + " F " + std::to_string(F) + " modes " +
                 std::to_string(m1) + "x" + std::to_string(m2));
    set_random_seed(seed + t);
    SpectralConv2D layer(F, {m1, m2});
    layer.build({H, W, C});
    auto ws = layer.weights();
    for (int k = 0; k < 2; ++k) ws[k]->value = random_tensor(ws[k]->value.shape(), seed + 10 * t + k);
    const Tensor x = random_tensor({N, H, W, C}, seed + 300 + t);
    const Tensor y = layer.call(x, true);
    auto want = reference(x, ws[0]->value, ws[1]->value, ws[2]->value, F, m1, m2);
    fctest::expect_close(y, want, 2e-5, "forward");
    const Tensor dy = random_tensor(y.shape(), seed + 400 + t);
    const Tensor dx = layer.backward(dy);
    double ydy = 0, scale = 0, xdx = 0, wdw = 0;
    for (std::size_t i = 0; i < y.size(); ++i) ydy += want[i] * dy[i], scale += std::fabs(want[i] * dy[i]);
    for (std::size_t i = 0; i < x.size(); ++i) xdx += double(x[i]) * dx[i];
    for (int k = 0; k < 2; ++k)
      for (std::size_t i = 0; i < ws[k]->value.size(); ++i) wdw += double(ws[k]->value[i]) * ws[k]->grad[i];
    EXPECT_NEAR(xdx, ydy, 2e-5 * scale) << "input gradient";
    EXPECT_NEAR(wdw, ydy, 2e-5 * scale) << "weight gradients";
    for (std::size_t f = 0; f < F; ++f) {
      double s = 0;
      for (std::size_t i = f; i < dy.size(); i += F) s += dy[i];
      EXPECT_NEAR(ws[2]->grad[f], s, 1e-4) << "bias gradient " << f;
    }
  }
}

}  // namespace
