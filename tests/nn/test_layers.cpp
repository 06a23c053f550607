// Layers: forward against double-precision loops, backward by finite differences, at odd
// shapes, strides, dilations and both paddings; Glorot limits; activations; dropout.
#include <gtest/gtest.h>

#include <cmath>

#include "fourierconv/nn.hpp"
#include "nn/gradcheck.hpp"
#include "reference.hpp"

using namespace fourierconv;
using namespace fourierconv::nn;
using fctest::random_tensor;

namespace {

// Keras Conv2D by definition, in double: cross-correlation with the TF 'same' split.
std::vector<double> ref_conv2d(const Tensor& x, const Tensor& k, const Tensor* b, std::size_t sh, std::size_t sw,
                               std::size_t dh, std::size_t dw, bool same, std::size_t* oh, std::size_t* ow) {
  const long N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3), KH = k.dim(0), KW = k.dim(1), F = k.dim(3);
  long OH, OW, pt = 0, pl = 0;
  if (same) {
    OH = (H + sh - 1) / sh, OW = (W + sw - 1) / sw;
    pt = std::max(0L, long((OH - 1) * sh + (KH - 1) * dh + 1 - H)) / 2;
    pl = std::max(0L, long((OW - 1) * sw + (KW - 1) * dw + 1 - W)) / 2;
  } else {
    OH = (H - long(dh) * (KH - 1) - 1) / long(sh) + 1, OW = (W - long(dw) * (KW - 1) - 1) / long(sw) + 1;
  }
  *oh = OH, *ow = OW;
  std::vector<double> y(N * OH * OW * F);
  for (long n = 0; n < N; ++n)
    for (long i = 0; i < OH; ++i)
      for (long j = 0; j < OW; ++j)
        for (long f = 0; f < F; ++f) {
          double s = b ? (*b)[f] : 0.0;
          for (long u = 0; u < KH; ++u)
            for (long v = 0; v < KW; ++v)
              for (long c = 0; c < C; ++c) {
                long iy = i * sh + u * dh - pt, ix = j * sw + v * dw - pl;
                if (iy < 0 || ix < 0 || iy >= H || ix >= W) continue;
                s += double(x[((n * H + iy) * W + ix) * C + c]) * k[((u * KW + v) * C + c) * F + f];
              }
          y[((n * OH + i) * OW + j) * F + f] = s;
        }
  return y;
}

struct ConvCase {
  std::size_t n, h, w, c, f, kh, kw, sh, sw, dh, dw;
  const char* padding;
};

class Conv2DCases : public ::testing::TestWithParam<ConvCase> {};

TEST_P(Conv2DCases, ForwardMatchesReferenceAndGradientsMatchFiniteDifferences) {
  const ConvCase c = GetParam();
  const unsigned seed = unsigned(c.h * 100 + c.c * 10 + c.kh + c.sh);
  set_random_seed(seed);
  Conv2D layer(c.f, {c.kh, c.kw},
               {.strides = {c.sh, c.sw}, .padding = c.padding, .dilation_rate = {c.dh, c.dw}, .activation = "linear"});
  layer.build({c.h, c.w, c.c});
  layer.weights()[1]->value = random_tensor({c.f}, seed + 1);
  Tensor x = random_tensor({c.n, c.h, c.w, c.c}, seed + 2);
  std::size_t oh, ow;
  auto want = ref_conv2d(x, layer.weights()[0]->value, &layer.weights()[1]->value, c.sh, c.sw, c.dh, c.dw,
                         std::string(c.padding) == "same", &oh, &ow);
  Tensor y = layer.call(x);
  ASSERT_EQ(y.shape(), (Shape{c.n, oh, ow, c.f}));
  fctest::expect_close(y, want, 1e-5, "Conv2D forward");
  fctest::check_layer_gradients(layer, x, seed);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, Conv2DCases,
    ::testing::Values(ConvCase{2, 7, 6, 1, 4, 3, 3, 1, 1, 1, 1, "valid"},   // small-tap path
                      ConvCase{2, 7, 6, 1, 4, 3, 3, 1, 1, 1, 1, "same"},
                      ConvCase{1, 9, 8, 3, 5, 3, 2, 2, 3, 1, 1, "same"},    // odd strides, even kernel
                      ConvCase{2, 9, 8, 3, 5, 3, 2, 2, 3, 1, 1, "valid"},
                      ConvCase{1, 10, 9, 2, 3, 2, 3, 1, 1, 2, 2, "same"},   // dilation
                      ConvCase{1, 10, 9, 5, 3, 3, 3, 1, 1, 1, 1, "same"},   // im2col path (45 taps)
                      ConvCase{2, 11, 7, 6, 4, 4, 3, 2, 1, 1, 2, "valid"},
                      ConvCase{1, 5, 5, 4, 6, 1, 1, 1, 1, 1, 1, "valid"},   // 1x1: a plain GEMM
                      ConvCase{1, 4, 4, 2, 3, 5, 5, 1, 1, 1, 1, "same"}),   // kernel larger than the input
    [](const auto& info) {
      const ConvCase& c = info.param;
      return std::to_string(c.h) + "x" + std::to_string(c.w) + "x" + std::to_string(c.c) + "_k" + std::to_string(c.kh) +
             "x" + std::to_string(c.kw) + "_s" + std::to_string(c.sh) + std::to_string(c.sw) + "_d" +
             std::to_string(c.dh) + std::to_string(c.dw) + "_" + c.padding;
    });

TEST(Conv2D, ReluActivationGradient) {
  set_random_seed(3);
  Conv2D layer(3, {3, 3}, {.activation = "relu"});
  layer.build({6, 6, 2});
  fctest::check_layer_gradients(layer, random_tensor({2, 6, 6, 2}, 4), 5);
}

TEST(Conv2D, BadArgumentsAndInputs) {
  EXPECT_THROW(Conv2D(0, {3, 3}), Error);
  EXPECT_THROW(Conv2D(4, {3, 3}, {.padding = "full"}), Error);
  EXPECT_THROW(Conv2D(4, {3, 3}, {.activation = "mish"}), Error);
  Conv2D c(4, {5, 5});
  EXPECT_THROW(c.build({3, 3, 1}), Error);  // valid: kernel larger than the input
  EXPECT_THROW(c.build({28, 28}), Error);
  Conv2D ok(4, {3, 3});
  ok.build({8, 8, 2});
  try {
    ok.call(Tensor({1, 8, 8, 3}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected input of shape (N, 8, 8, 2), got (1, 8, 8, 3)"), std::string::npos) << e.what();
  }
}

TEST(Pooling, MaxAndAverageMatchDefinitionsWithSamePadding) {
  const std::size_t N = 2, H = 7, W = 5, C = 3;
  Tensor x = random_tensor({N, H, W, C}, 11);
  for (const char* pad : {"valid", "same"}) {
    MaxPooling2D mp({3, 2}, {.strides = Size2{2, 2}, .padding = pad});
    AveragePooling2D ap({3, 2}, {.strides = Size2{2, 2}, .padding = pad});
    mp.build({H, W, C});
    ap.build({H, W, C});
    Tensor ym = mp.call(x), ya = ap.call(x);
    const bool same = std::string(pad) == "same";
    const std::size_t OH = same ? 4 : 3, OW = same ? 3 : 2;
    ASSERT_EQ(ym.shape(), (Shape{N, OH, OW, C}));
    const long pt = same ? (std::max(0L, long((OH - 1) * 2 + 3 - H))) / 2 : 0;
    const long pl = same ? (std::max(0L, long((OW - 1) * 2 + 2 - W))) / 2 : 0;
    for (std::size_t n = 0; n < N; ++n)
      for (std::size_t i = 0; i < OH; ++i)
        for (std::size_t j = 0; j < OW; ++j)
          for (std::size_t c = 0; c < C; ++c) {
            double mx = -INFINITY, sum = 0;
            int count = 0;
            for (long u = 0; u < 3; ++u)
              for (long v = 0; v < 2; ++v) {
                long iy = long(i) * 2 + u - pt, ix = long(j) * 2 + v - pl;
                if (iy < 0 || ix < 0 || iy >= long(H) || ix >= long(W)) continue;
                double val = x[((n * H + iy) * W + ix) * C + c];
                mx = std::max(mx, val), sum += val, ++count;
              }
            const std::size_t o = ((n * OH + i) * OW + j) * C + c;
            EXPECT_FLOAT_EQ(ym[o], float(mx));
            EXPECT_NEAR(ya[o], sum / count, 1e-6);
          }
    fctest::check_layer_gradients(mp, x, 12);
    fctest::check_layer_gradients(ap, x, 13);
  }
  EXPECT_EQ(MaxPooling2D().pool_size(), (Size2{2, 2}));
  EXPECT_EQ(MaxPooling2D({3, 3}).strides(), (Size2{3, 3}));  // strides default to pool_size
}

TEST(Dense, ForwardAndGradients) {
  set_random_seed(21);
  Dense d(4, {.activation = "tanh"});
  d.build({6});
  d.weights()[1]->value = random_tensor({4}, 22);
  Tensor x = random_tensor({3, 6}, 23);
  Tensor y = d.call(x);
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t u = 0; u < 4; ++u) {
      double s = d.weights()[1]->value[u];
      for (std::size_t k = 0; k < 6; ++k) s += double(x[i * 6 + k]) * d.weights()[0]->value[k * 4 + u];
      EXPECT_NEAR(y[i * 4 + u], std::tanh(s), 1e-6);
    }
  fctest::check_layer_gradients(d, x, 24);
  Dense one(5, {.activation = "sigmoid"});  // batch of one takes the matrix-vector path
  one.build({7});
  fctest::check_layer_gradients(one, random_tensor({1, 7}, 25), 26);
}

// Small batches (<= 4 rows) take matrix-vector paths: register accumulators for up to 16
// units (rows of W read past a row's end only inside W), OpenBLAS's sgemv above.
TEST(Dense, SmallBatchPathsMatchTheDefinition) {
  for (std::size_t units : {1, 3, 8, 10, 16, 17, 40})
    for (std::size_t in : {1, 2, 5, 13, 100})
      for (std::size_t rows : {1, 4, 5}) {
        SCOPED_TRACE("units " + std::to_string(units) + " in " + std::to_string(in) + " rows " + std::to_string(rows));
        Dense d(units);
        d.build({in});
        d.weights()[1]->value = random_tensor({units}, 40 + unsigned(units));
        const Tensor x = random_tensor({rows, in}, 50 + unsigned(in));
        const Tensor& y = d.call(x);
        for (std::size_t i = 0; i < rows; ++i)
          for (std::size_t u = 0; u < units; ++u) {
            double s = d.weights()[1]->value[u];
            for (std::size_t k = 0; k < in; ++k) s += double(x[i * in + k]) * d.weights()[0]->value[k * units + u];
            ASSERT_NEAR(y[i * units + u], s, 1e-5 * (1 + std::sqrt(double(in))));
          }
      }
}

TEST(Dense, SoftmaxGradient) {
  Dense d(5, {.activation = "softmax"});
  d.build({4});
  fctest::check_layer_gradients(d, random_tensor({3, 4}, 31), 32);
}

TEST(Flatten, ChannelsLastOrder) {
  Flatten f;
  f.build({2, 3, 4});
  Tensor x = random_tensor({2, 2, 3, 4}, 41);
  Tensor y = f.call(x);
  ASSERT_EQ(y.shape(), (Shape{2, 24}));
  EXPECT_EQ(y[1 * 24 + (1 * 3 + 2) * 4 + 3], x.at({1, 1, 2, 3}));  // (h*W + w)*C + c
  fctest::check_layer_gradients(f, x, 42);
}

// Each activation against its definition in double (Keras 3's, activations.hpp) and its
// derivative by finite differences, on inputs spread over [-4, 4] (both branches of elu, selu,
// relu6, hard_sigmoid), with Dense and Conv2D carrying them too (the fused path).
double activation_reference(const std::string& a, double v) {
  if (a == "relu") return std::max(0.0, v);
  if (a == "relu6") return std::min(std::max(0.0, v), 6.0);
  if (a == "sigmoid") return 1 / (1 + std::exp(-v));
  if (a == "tanh") return std::tanh(v);
  if (a == "elu") return v > 0 ? v : std::expm1(v);
  if (a == "selu") return 1.0507009873554804934 * (v > 0 ? v : 1.6732632423543772848 * std::expm1(v));
  if (a == "gelu") return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
  if (a == "silu" || a == "swish") return v / (1 + std::exp(-v));
  if (a == "softplus") return std::log1p(std::exp(v));
  if (a == "softsign") return v / (1 + std::fabs(v));
  if (a == "hard_sigmoid") return std::min(std::max(v + 3, 0.0), 6.0) / 6;
  if (a == "exponential") return std::exp(v);
  return v;
}

TEST(Activation, EveryActivationAndItsGradient) {
  for (const char* a : {"linear", "relu", "sigmoid", "tanh", "softmax", "elu", "selu", "gelu", "silu", "swish", "softplus",
                        "softsign", "hard_sigmoid", "exponential", "relu6"}) {
    SCOPED_TRACE(a);
    ActivationLayer l(a);
    l.build({3, 5});
    Tensor x = random_tensor({2, 3, 5}, 51);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = x[i] * 4.0f + (i % 2 ? 0.37f : -0.41f);  // away from the kinks
    Tensor y = l.call(x);
    for (std::size_t r = 0; r < 6; ++r) {
      double m = -INFINITY, s = 0;
      for (std::size_t j = 0; j < 5; ++j) m = std::max(m, double(x[r * 5 + j]));
      for (std::size_t j = 0; j < 5; ++j) s += std::exp(x[r * 5 + j] - m);
      for (std::size_t j = 0; j < 5; ++j) {
        const double v = x[r * 5 + j];
        const double want = std::string(a) == "softmax" ? std::exp(v - m) / s : activation_reference(a, v);
        EXPECT_NEAR(y[r * 5 + j], want, 1e-6 * std::max(1.0, std::fabs(want))) << a << " at " << v;
      }
    }
    // Kinks (relu6 at 0 and 6, hard_sigmoid at -3 and 3) stay 0.37 or more away from every x.
    fctest::check_layer_gradients(l, x, 52, 1e-3, 3e-3, 2e-2, 30);
  }
  EXPECT_THROW(ActivationLayer("mish"), Error);
  try {
    ActivationLayer("geLU");
    FAIL() << "a misspelled activation was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gelu"), std::string::npos) << "the error lists the known names: " << e.what();
  }
}

TEST(Activation, LayersThatFuseTheirActivationKeepThePreactivationForGeluAndSilu) {
  for (const char* a : {"gelu", "silu", "elu"}) {
    SCOPED_TRACE(a);
    Dense d(4, {.activation = a});
    d.build({6});
    fctest::check_layer_gradients(d, random_tensor({3, 6}, 61), 62);
    Conv2D c(3, {2, 2}, {.activation = a});
    c.build({5, 4, 2});
    fctest::check_layer_gradients(c, random_tensor({2, 5, 4, 2}, 63), 64);
  }
}

TEST(Dropout, IdentityAtInferenceScaledMaskInTraining) {
  Dropout d(0.5, {.seed = 7});
  d.build({1000});
  Tensor x({1, 1000}, 1.0f);
  Tensor yi = d.call(x, false);
  for (float v : yi) EXPECT_EQ(v, 1.0f);
  Tensor yt = d.call(x, true);
  std::size_t zeros = 0;
  for (float v : yt) {
    EXPECT_TRUE(v == 0.0f || v == 2.0f);
    zeros += v == 0.0f;
  }
  EXPECT_GT(zeros, 400u);
  EXPECT_LT(zeros, 600u);
  Tensor g = d.backward(Tensor({1, 1000}, 1.0f));
  for (std::size_t i = 0; i < 1000; ++i) EXPECT_EQ(g[i], yt[i]);
  EXPECT_THROW(Dropout(1.0), Error);
}

TEST(Initializers, GlorotUniformLimits) {
  EXPECT_NEAR(glorot_limit({3, 3, 1, 32}), std::sqrt(6.0 / 297), 1e-12);  // 0.14213
  EXPECT_NEAR(glorot_limit({5408, 10}), std::sqrt(6.0 / 5418), 1e-12);
  set_random_seed(1);
  Conv2D c(32, {3, 3});
  c.build({28, 28, 1});
  const Tensor& k = c.weights()[0]->value;
  float lo = *std::min_element(k.begin(), k.end()), hi = *std::max_element(k.begin(), k.end());
  EXPECT_GE(lo, -0.14214f);
  EXPECT_LE(hi, 0.14214f);
  EXPECT_LT(lo, -0.13f);  // 288 draws reach near both ends
  EXPECT_GT(hi, 0.13f);
  for (float b : c.weights()[1]->value) EXPECT_EQ(b, 0.0f);
}

TEST(Naming, KerasDefaultNames) {
  clear_session();
  EXPECT_EQ(Conv2D(1, {1, 1}).name(), "conv2d");
  EXPECT_EQ(Conv2D(1, {1, 1}).name(), "conv2d_1");
  EXPECT_EQ(MaxPooling2D().name(), "max_pooling2d");
  EXPECT_EQ(Dense(1).name(), "dense");
  EXPECT_EQ(Dense(1, {.name = "head"}).name(), "head");
  EXPECT_EQ(Dense(1).name(), "dense_1");
  clear_session();
  EXPECT_EQ(Conv2D(1, {1, 1}).name(), "conv2d");
  EXPECT_EQ(to_snake_case("FourierConv2D"), "fourier_conv2d");
  EXPECT_EQ(to_snake_case("AveragePooling2D"), "average_pooling2d");
}

}  // namespace
