// Conv2D through the FFT: agrees with direct and with the double-precision reference on a
// table of shapes (odd sizes, k from 1 to 31, several channel counts, both paddings), has
// finite-difference-checked gradients, falls back for strides; conv::choose is unit-tested.
#include <gtest/gtest.h>

#include <cstdlib>

#include <cmath>
#include <random>

#include "fourierconv/conv/choose.hpp"
#include "fourierconv/conv/direct.hpp"
#include "fourierconv/conv/fft.hpp"
#include "fourierconv/nn.hpp"
#include "nn/gradcheck.hpp"
#include "reference.hpp"

using namespace fourierconv;
using namespace fourierconv::nn;
using fctest::random_tensor;

namespace {

struct Case {
  std::size_t n, h, w, c, f, k;
  conv::Padding padding;
};

// The same double loop as test_layers' reference, kept local: y = xcorr(x, K) (no bias).
std::vector<double> reference(const conv::Problem& p, const Tensor& x, const Tensor& k) {
  std::vector<double> y(p.n * p.oh * p.ow * p.f, 0.0);
  for (std::size_t n = 0; n < p.n; ++n)
    for (std::size_t i = 0; i < p.oh; ++i)
      for (std::size_t j = 0; j < p.ow; ++j)
        for (std::size_t u = 0; u < p.kh; ++u)
          for (std::size_t v = 0; v < p.kw; ++v) {
            long iy = long(i + u) - long(p.pad_top), ix = long(j + v) - long(p.pad_left);
            if (iy < 0 || ix < 0 || iy >= long(p.h) || ix >= long(p.w)) continue;
            for (std::size_t c = 0; c < p.c; ++c) {
              const double xv = x[((n * p.h + iy) * p.w + ix) * p.c + c];
              for (std::size_t f = 0; f < p.f; ++f)
                y[((n * p.oh + i) * p.ow + j) * p.f + f] += xv * k[((u * p.kw + v) * p.c + c) * p.f + f];
            }
          }
  return y;
}

class FftConvTable : public ::testing::TestWithParam<Case> {};

TEST_P(FftConvTable, AgreesWithDirectAndReference) {
  const Case c = GetParam();
  conv::Problem p = conv::Problem::make(c.n, c.h, c.w, c.c, c.f, c.k, c.k, 1, 1, 1, 1, c.padding);
  const unsigned seed = unsigned(c.h * 31 + c.k * 7 + c.c);
  SCOPED_TRACE("seed " + std::to_string(seed) + " " + p.to_string());
  Tensor x = random_tensor({c.n, c.h, c.w, c.c}, seed), k = random_tensor({c.k, c.k, c.c, c.f}, seed + 1);
  Tensor yd({p.n * p.oh * p.ow * p.f}, NAN), yf({p.n * p.oh * p.ow * p.f}, NAN);
  conv::direct_forward(p, x.data(), k.data(), nullptr, yd.data());
  conv::FftConv fft(p);
  fft.forward(p, x.data(), k.data(), nullptr, yf.data());
  auto want = reference(p, x, k);
  fctest::expect_close(yf, want, 2e-5, "fft forward");
  fctest::expect_close(yd, want, 2e-5, "direct forward");
  // Backward: both algorithms against each other.
  Tensor g = random_tensor({p.n * p.oh * p.ow * p.f}, seed + 2);
  Tensor dxd({x.size()}, NAN), dxf({x.size()}, NAN), dkd({k.size()}, NAN), dkf({k.size()}, NAN), dbd({c.f}), dbf({c.f});
  conv::direct_backward(p, x.data(), k.data(), g.data(), dxd.data(), dkd.data(), dbd.data());
  fft.backward(p, x.data(), k.data(), g.data(), dxf.data(), dkf.data(), dbf.data());
  fctest::expect_close(dxf, fctest::to_double(dxd), 2e-5, "dx");
  fctest::expect_close(dkf, fctest::to_double(dkd), 2e-5, "dkernel");
  fctest::expect_close(dbf, fctest::to_double(dbd), 1e-5, "dbias");
}

std::vector<Case> table() {
  std::vector<Case> t;
  for (std::size_t k : {1, 2, 3, 5, 8, 11, 15, 21, 31})
    for (conv::Padding pad : {conv::Padding::Same, conv::Padding::Valid}) {
      const std::size_t h = 33, w = 37;  // odd, not fast sizes
      if (pad == conv::Padding::Valid && k > 31) continue;
      t.push_back({2, h, w, std::size_t(k % 2 ? 3 : 1), std::size_t(k < 10 ? 4 : 2), k, pad});
    }
  t.push_back({1, 7, 5, 2, 3, 7, conv::Padding::Same});   // kernel larger than a side
  t.push_back({3, 28, 28, 1, 32, 3, conv::Padding::Valid});  // the seed layer
  t.push_back({1, 31, 29, 16, 16, 15, conv::Padding::Same});  // many channels
  // Channel counts that take the 8 x 8 transposes with remainders, on several tiles.
  t.push_back({2, 70, 53, 8, 24, 9, conv::Padding::Same});
  t.push_back({1, 67, 64, 24, 8, 13, conv::Padding::Valid});
  return t;
}

INSTANTIATE_TEST_SUITE_P(Shapes, FftConvTable, ::testing::ValuesIn(table()), [](const auto& info) {
  const Case& c = info.param;
  return std::to_string(c.h) + "x" + std::to_string(c.w) + "x" + std::to_string(c.c) + "_f" + std::to_string(c.f) + "_k" +
         std::to_string(c.k) + "_" + conv::to_string(c.padding);
});

TEST(Conv2DFft, LayerGradientsMatchFiniteDifferences) {
  for (const char* pad : {"same", "valid"}) {
    set_random_seed(5);
    Conv2D layer(3, {4, 5}, {.padding = pad, .activation = "tanh", .algorithm = "fft"});
    layer.build({9, 8, 2});
    fctest::check_layer_gradients(layer, random_tensor({2, 9, 8, 2}, 6), 7);
    EXPECT_EQ(layer.algorithm_used(), "fft");
    EXPECT_EQ(layer.backward_algorithm_used(), "fft");
  }
}

TEST(Conv2DFft, StridesFallBackToDirectAndSaySo) {
  Conv2D layer(2, {3, 3}, {.strides = {2, 2}, .algorithm = "fft"});
  layer.build({8, 8, 1});
  layer.call(random_tensor({1, 8, 8, 1}, 1));
  EXPECT_EQ(layer.algorithm_used(), "direct");
  EXPECT_NE(layer.algorithm_reason().find("strides"), std::string::npos) << layer.algorithm_reason();
  EXPECT_THROW(conv::FftConv(conv::Problem::make(1, 8, 8, 1, 1, 3, 3, 1, 1, 2, 2, conv::Padding::Same)), Error);
}

TEST(Conv2DFft, MeasureModePicksAndCaches) {
  Conv2D layer(4, {15, 15}, {.padding = "same", .algorithm = "measure"});
  layer.build({40, 40, 4});
  Tensor x = random_tensor({2, 40, 40, 4}, 3);
  Tensor a = layer.call(x);
  EXPECT_NE(layer.algorithm_reason().find("measured"), std::string::npos) << layer.algorithm_reason();
  Tensor b = layer.call(x);
  EXPECT_EQ(layer.algorithm_reason().find("measured:"), std::string::npos);  // cached: no timings this time
  fctest::expect_close(b, fctest::to_double(a), 1e-5, "same result");
}

// An FFT spreads a NaN or Inf pixel over its whole plane; where auto picked the FFT, an input
// holding one runs direct for that call, so NaN stays in the windows that hold it (as Keras).
TEST(Conv2DFft, NonFiniteInputsTakeTheDirectAlgorithm) {
  set_random_seed(5);
  Conv2D auto_conv(3, {15, 15}, {.padding = "same", .input_shape = {48, 48, 2}});
  Conv2D direct(3, {15, 15}, {.padding = "same", .algorithm = "direct", .input_shape = {48, 48, 2}});
  auto_conv.build({48, 48, 2});
  direct.build({48, 48, 2});
  for (std::size_t k = 0; k < 2; ++k) direct.weights()[k]->value = auto_conv.weights()[k]->value;
  Tensor x = random_tensor({2, 48, 48, 2}, 6);
  auto_conv.call(x);
  ASSERT_EQ(auto_conv.algorithm_used(), "fft") << auto_conv.algorithm_reason();
  x[(0 * 48 + 5) * 48 * 2 + 7 * 2] = NAN;
  x[((1 * 48 + 30) * 48 + 20) * 2 + 1] = INFINITY;
  const Tensor got = auto_conv.call(x);
  EXPECT_EQ(auto_conv.algorithm_used(), "direct");
  EXPECT_NE(auto_conv.algorithm_reason().find("NaN or Inf"), std::string::npos) << auto_conv.algorithm_reason();
  const Tensor& want = direct.call(x);
  std::size_t nonfinite = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(std::isfinite(got[i]), std::isfinite(want[i])) << i;
    if (!std::isfinite(want[i])) {
      ++nonfinite;
      EXPECT_EQ(std::isnan(got[i]), std::isnan(want[i])) << i;
    } else {
      EXPECT_NEAR(got[i], want[i], 1e-4) << i;
    }
  }
  EXPECT_GT(nonfinite, 0u);
  EXPECT_LT(nonfinite, got.size() / 4);  // confined to the windows around the two pixels
}

TEST(Choose, PicksDirectForSmallKernelsAndFftForLargeOnes) {
  using conv::Padding;
  auto pick = [](std::size_t n, std::size_t h, std::size_t c, std::size_t f, std::size_t k, conv::Pass pass) {
    return conv::choose(conv::Problem::make(n, h, h, c, f, k, k, 1, 1, 1, 1, Padding::Same), pass).algorithm;
  };
  using conv::Algorithm;
  using conv::Pass;
  // 3x3 on 256^2 x 16 -> 16 goes to Winograd (tests/conv/test_winograd.cpp) unless turned off.
  EXPECT_EQ(pick(1, 256, 16, 16, 3, Pass::Inference),
            std::getenv("FOURIERCONV_NO_WINOGRAD") ? Algorithm::Direct : Algorithm::Winograd);
  EXPECT_NE(pick(1, 256, 16, 16, 3, Pass::Backward), Algorithm::Winograd);
  // k = 5 is the crossover on the development machine (both within noise of each other).
  EXPECT_EQ(pick(1, 256, 16, 16, 7, Pass::Inference), Algorithm::Fft);
  EXPECT_EQ(pick(1, 256, 16, 16, 15, Pass::Inference), Algorithm::Fft);
  EXPECT_EQ(pick(1, 256, 16, 16, 31, Pass::Inference), Algorithm::Fft);
  EXPECT_EQ(pick(32, 28, 1, 32, 3, Pass::TrainingForward), Algorithm::Direct);  // the seed layer
  EXPECT_EQ(pick(32, 28, 1, 32, 15, Pass::TrainingForward), Algorithm::Fft);
  auto strided = conv::choose(conv::Problem::make(1, 256, 256, 16, 16, 31, 31, 2, 2, 1, 1, Padding::Same), Pass::Inference);
  EXPECT_EQ(strided.algorithm, Algorithm::Direct);
  EXPECT_NE(strided.reason.find("strides"), std::string::npos);
  auto c = conv::choose(conv::Problem::make(1, 64, 64, 4, 4, 3, 3, 1, 1, 1, 1, Padding::Same), Pass::Inference);
  EXPECT_LT(c.direct_us, c.fft_us);
  EXPECT_NE(c.reason.find("estimated direct"), std::string::npos);
  // An FFT choice names its tiling.
  auto big = conv::choose(conv::Problem::make(1, 256, 256, 16, 16, 15, 15, 1, 1, 1, 1, Padding::Same), Pass::Inference);
  const conv::FftTiling t = conv::fft_tiling(conv::Problem::make(1, 256, 256, 16, 16, 15, 15, 1, 1, 1, 1, Padding::Same));
  EXPECT_NE(big.reason.find(std::to_string(t.lh) + "x" + std::to_string(t.lw) + " tiles"), std::string::npos) << big.reason;
}

}  // namespace

namespace {

// Overlap-save tiles (forced with FOURIERCONV_FFT_TILE or given explicitly) give the same
// forward as whole planes: partial edge tiles, both paddings, a kernel nearly as large as the
// tile, non-square tiles, and groups that split the tiles of one image.
TEST(Conv2DFft, TiledForwardMatchesWholePlane) {
  for (auto [k, pad] : std::vector<std::pair<std::size_t, conv::Padding>>{
           {3, conv::Padding::Same}, {11, conv::Padding::Same}, {15, conv::Padding::Valid}, {31, conv::Padding::Same}}) {
    const std::size_t F = k == 11 ? 16 : 5;  // 16: the register-blocked channel product's full blocks
    auto p = conv::Problem::make(2, 45, 38, 3, F, k, k, 1, 1, 1, 1, pad);
    Tensor x = random_tensor({2, 45, 38, 3}, unsigned(k)), w = random_tensor({k, k, 3, F}, unsigned(k) + 1),
           b = random_tensor({F}, 3);
    ::setenv("FOURIERCONV_FFT_TILE", "0", 1);
    conv::FftConv whole(p);
    ::setenv("FOURIERCONV_FFT_TILE", "32", 1);
    conv::FftConv tiled(p);
    ::unsetenv("FOURIERCONV_FFT_TILE");
    Tensor yw({p.n * p.oh * p.ow * p.f}, NAN), yt({p.n * p.oh * p.ow * p.f}, NAN);
    whole.forward(p, x.data(), w.data(), b.data(), yw.data());
    tiled.forward(p, x.data(), w.data(), b.data(), yt.data());
    fctest::expect_close(yt, fctest::to_double(yw), 2e-5, "tiled k=" + std::to_string(k));
    // Non-square tiles, three tiles per group (groups straddle images).
    conv::FftTiling t = conv::fft_tiling(p, k + 7, k + 12);
    t.group = 3;
    conv::FftConv odd(p, t);
    Tensor yo({yt.size()}, NAN);
    odd.forward(p, x.data(), w.data(), b.data(), yo.data());
    fctest::expect_close(yo, fctest::to_double(yw), 2e-5, "tiles " + std::to_string(k + 7) + "x" + std::to_string(k + 12));
    // A backward after a tiled forward transforms the whole planes itself.
    Tensor g = random_tensor({yt.size()}, 4), dx1({x.size()}), dx2({x.size()}), dk1({w.size()}), dk2({w.size()});
    whole.backward(p, x.data(), w.data(), g.data(), dx1.data(), dk1.data(), nullptr);
    tiled.backward(p, x.data(), w.data(), g.data(), dx2.data(), dk2.data(), nullptr);
    fctest::expect_close(dx2, fctest::to_double(dx1), 2e-5, "dx after tiled forward");
    fctest::expect_close(dk2, fctest::to_double(dk1), 2e-5, "dk after tiled forward");
  }
}

TEST(Conv2DFft, TilingCoversTheOutputAndRejectsBadTiles) {
  for (std::size_t k : {1, 3, 7, 15, 31, 40}) {
    auto p = conv::Problem::make(3, 97, 61, 4, 8, k, k, 1, 1, 1, 1, conv::Padding::Same);
    const conv::FftTiling t = conv::fft_tiling(p);
    EXPECT_GE(t.lh, p.kh);
    EXPECT_GE(t.lw, p.kw);
    EXPECT_GE(t.th * (t.lh - p.kh + 1), p.oh) << "k=" << k;
    EXPECT_GE(t.tw * (t.lw - p.kw + 1), p.ow) << "k=" << k;
    EXPECT_GE(t.group, 1u);
    EXPECT_LE(t.group, p.n * t.tiles());
  }
  auto p = conv::Problem::make(1, 64, 64, 2, 2, 15, 15, 1, 1, 1, 1, conv::Padding::Same);
  EXPECT_THROW(conv::fft_tiling(p, 8, 64), Error);  // smaller than the kernel
  conv::FftTiling t = conv::fft_tiling(p, 32, 32);
  t.th = 1;  // no longer covers the 64 output rows
  EXPECT_THROW(conv::FftConv(p, t), Error);
}

}  // namespace

namespace {

// Seeded random shapes (odd and prime sizes, kernels larger than the image under same padding,
// one-pixel sides, any channel counts), each with the tiling the model picks and with forced
// small tiles, against the direct algorithm; and both gradients.
TEST(Conv2DFft, RandomShapesAgreeWithDirect) {
  std::mt19937 g(2026);
  auto uni = [&](std::size_t lo, std::size_t hi) { return std::uniform_int_distribution<std::size_t>(lo, hi)(g); };
  for (int i = 0; i < 40; ++i) {
    const std::size_t n = uni(1, 3), h = uni(1, 70), w = uni(1, 70), c = uni(1, 20), f = uni(1, 20);
    const bool same = uni(0, 1) == 1;
    const std::size_t kh = same ? uni(1, 19) : uni(1, h), kw = same ? uni(1, 19) : uni(1, w);
    auto p = conv::Problem::make(n, h, w, c, f, kh, kw, 1, 1, 1, 1, same ? conv::Padding::Same : conv::Padding::Valid);
    SCOPED_TRACE(p.to_string());
    Tensor x = random_tensor({n, h, w, c}, unsigned(i)), k = random_tensor({kh, kw, c, f}, unsigned(i) + 100),
           b = random_tensor({f}, unsigned(i) + 200);
    Tensor yd({p.n * p.oh * p.ow * p.f}, NAN), ya({yd.size()}, NAN), yt({yd.size()}, NAN);
    conv::direct_forward(p, x.data(), k.data(), b.data(), yd.data());
    conv::FftConv chosen(p);
    chosen.forward(p, x.data(), k.data(), b.data(), ya.data());
    conv::FftTiling t = conv::fft_tiling(p, kh + uni(0, 9), kw + uni(0, 9));
    t.group = uni(1, 4);
    conv::FftConv small(p, t);
    small.forward(p, x.data(), k.data(), b.data(), yt.data());
    fctest::expect_close(ya, fctest::to_double(yd), 2e-5, "fft (model's tiling) vs direct");
    fctest::expect_close(yt, fctest::to_double(yd), 2e-5, "fft (small tiles) vs direct");
    // Backward: the input gradient through its own tiled forward, the kernel gradient on whole planes.
    Tensor dy = random_tensor({yd.size()}, unsigned(i) + 300);
    Tensor dxd({x.size()}, NAN), dxf({x.size()}, NAN), dkd({k.size()}, NAN), dkf({k.size()}, NAN);
    conv::direct_backward(p, x.data(), k.data(), dy.data(), dxd.data(), dkd.data(), nullptr);
    chosen.backward(p, x.data(), k.data(), dy.data(), dxf.data(), dkf.data(), nullptr);
    fctest::expect_close(dxf, fctest::to_double(dxd), 2e-5, "fft dx vs direct");
    fctest::expect_close(dkf, fctest::to_double(dkd), 2e-5, "fft dkernel vs direct");
  }
}

}  // namespace
