// The layers without kernels (activation layers, reshaping, LayerNormalization, Rescaling,
// the training-only layers, the augmentation layers): outputs against their definitions,
// gradients by finite differences, bad arguments. Keras parity: fixture more_layers
// (test_saving.cpp), written by real Keras 3.15.
#include <gtest/gtest.h>

#include <cmath>

#include "fourierconv/nn.hpp"
#include "nn/gradcheck.hpp"
#include "reference.hpp"

using namespace fourierconv;
using namespace fourierconv::nn;
using fctest::random_tensor;

namespace {

// x spread over [-3, 3] and kept 0.05 away from the kinks at -3 .. 3 in steps of 0.1 (ReLU's
// threshold 0.2 and max_value 1.5, 0 for the others), so that central differences see no kink.
Tensor away_from_kinks(Shape s, unsigned seed) {
  Tensor x = random_tensor(s, seed);
  for (float& v : x) {
    v *= 3.0f;
    const float k = std::round(v * 10.0f) / 10.0f;
    if (std::fabs(v - k) < 0.03f) v = k + 0.05f;
  }
  return x;
}

// Softmax along an inner axis (Keras's axis=1 and -2 on (N, 3, 4, 2)): every slice along it
// sums to 1 and equals exp / sum computed in double; gradients by finite differences.
TEST(ActivationLayers, SoftmaxAlongAnyAxisOfTheSample) {
  Tensor x = away_from_kinks({2, 3, 4, 2}, 3);
  for (int axis : {1, 2, -2, 3, -1}) {
    SCOPED_TRACE("axis " + std::to_string(axis));
    Softmax s({.axis = axis});
    s.build({3, 4, 2});
    const std::size_t a = axis > 0 ? std::size_t(axis) : std::size_t(4 + axis);  // with the batch axis
    const std::size_t dims[4] = {2, 3, 4, 2};
    std::size_t stride = 1;
    for (std::size_t d = a + 1; d < 4; ++d) stride *= dims[d];
    Tensor y = s.call(x);
    for (std::size_t i = 0; i < x.size(); ++i) {
      const std::size_t k = i / stride % dims[a], first = i - k * stride;
      double sum = 0;
      for (std::size_t j = 0; j < dims[a]; ++j) sum += std::exp(double(x[first + j * stride]));
      EXPECT_NEAR(y[i], std::exp(double(x[i])) / sum, 1e-6) << i;
    }
    fctest::check_layer_gradients(s, x, 4, 1e-3);
  }
  EXPECT_THROW(Softmax({.axis = 0}), Error);
  Softmax far({.axis = 4});
  EXPECT_THROW(far.build({3, 4, 2}), Error);
}

TEST(ActivationLayers, MatchTheirDefinitionsAndGradients) {
  Tensor x = away_from_kinks({2, 3, 4}, 1);
  ReLU relu({.max_value = 1.5, .negative_slope = 0.1, .threshold = 0.2});
  LeakyReLU leaky({.negative_slope = 0.2});
  ELU elu({.alpha = 0.5});
  Softmax softmax;
  struct Case {
    Layer* l;
    double (*f)(double);
  };
  for (Case c : {Case{&relu, [](double v) { return std::min(v > 0.2 ? v : 0.0, 1.5) - 0.1 * std::max(0.2 - v, 0.0); }},
                 Case{&leaky, [](double v) { return v >= 0 ? v : 0.2 * v; }},
                 Case{&elu, [](double v) { return v > 0 ? v : 0.5 * std::expm1(v); }}, Case{&softmax, nullptr}}) {
    SCOPED_TRACE(c.l->class_name());
    c.l->build({3, 4});
    Tensor y = c.l->call(x);
    for (std::size_t i = 0; i < x.size(); ++i) {
      double want;
      if (c.f) {
        want = c.f(x[i]);
      } else {
        double s = 0;
        for (std::size_t j = i / 4 * 4; j < i / 4 * 4 + 4; ++j) s += std::exp(double(x[j]));
        want = std::exp(double(x[i])) / s;
      }
      EXPECT_NEAR(y[i], want, 1e-6) << i;
    }
    fctest::check_layer_gradients(*c.l, x, 2, 1e-3);
  }
  EXPECT_THROW(ReLU({.negative_slope = -1}), Error);
  EXPECT_THROW(ReLU({.max_value = -1.0}), Error);
  EXPECT_THROW(ReLU({.threshold = -0.5}), Error);
  ReLU odd({.max_value = 1.0, .negative_slope = 0.5, .threshold = 2.0});  // threshold above max_value, as Keras allows
  odd.build({3});
  Tensor xo({1, 3});
  xo[0] = 1.5f, xo[1] = 2.0f, xo[2] = 2.5f;
  Tensor yo = odd.call(xo);
  EXPECT_FLOAT_EQ(yo[0], -0.25f);  // 0 - 0.5 (2 - 1.5)
  EXPECT_FLOAT_EQ(yo[1], 0.0f);    // x == threshold: 0 (Keras's strict greater)
  EXPECT_FLOAT_EQ(yo[2], 1.0f);    // min(2.5, max_value)
  // Infinities: relu(-inf) = 0 (0 * inf once made it NaN); a negative slope keeps -inf.
  ReLU plain, leaky_inf({.negative_slope = 0.5});
  plain.build({2});
  leaky_inf.build({2});
  Tensor xi({1, 2});
  xi[0] = -INFINITY, xi[1] = INFINITY;
  const Tensor& yp = plain.call(xi);
  EXPECT_EQ(yp[0], 0.0f);
  EXPECT_EQ(yp[1], INFINITY);
  EXPECT_EQ(leaky_inf.call(xi)[0], -INFINITY);
}

TEST(ActivationLayers, PReLULearnsOneAlphaPerUnsharedPosition) {
  PReLU p({.shared_axes = {1, 2}});
  p.build({3, 4, 2});
  ASSERT_EQ(p.weights()[0]->value.shape(), (Shape{1, 1, 2}));
  p.weights()[0]->value[0] = 0.25f;
  p.weights()[0]->value[1] = -0.5f;
  Tensor x = away_from_kinks({2, 3, 4, 2}, 3);
  Tensor y = p.call(x);
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(y[i], x[i] >= 0 ? x[i] : (i % 2 ? -0.5f : 0.25f) * x[i], 1e-7);
  fctest::check_layer_gradients(p, x, 4, 1e-3);
  PReLU bad({.shared_axes = {4}});
  EXPECT_THROW(bad.build({3, 4, 2}), Error);
}

TEST(Reshaping, ReshapePermutePadCropMoveTheRightValues) {
  Tensor x = random_tensor({2, 3, 4, 2}, 5);
  Reshape r({-1, 4});
  r.build({3, 4, 2});
  EXPECT_EQ(r.output_shape(), (Shape{6, 4}));
  Tensor y = r.call(x);
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_EQ(y[i], x[i]);
  Reshape wrong({5, -1});
  EXPECT_THROW(wrong.build({3, 4, 2}), Error);
  EXPECT_THROW(Reshape({-1, -1}), Error);

  Permute p({2, 1, 3});
  p.build({3, 4, 2});
  EXPECT_EQ(p.output_shape(), (Shape{4, 3, 2}));
  y = p.call(x);
  for (std::size_t n = 0; n < 2; ++n)
    for (std::size_t h = 0; h < 3; ++h)
      for (std::size_t w = 0; w < 4; ++w)
        for (std::size_t c = 0; c < 2; ++c) EXPECT_EQ(y[((n * 4 + w) * 3 + h) * 2 + c], x[((n * 3 + h) * 4 + w) * 2 + c]);
  fctest::check_layer_gradients(p, x, 6);
  EXPECT_THROW(Permute({1, 1, 2}), Error);

  ZeroPadding2D pad({1, 2, 0, 3});
  pad.build({3, 4, 2});
  EXPECT_EQ(pad.output_shape(), (Shape{6, 7, 2}));
  Tensor z = pad.call(x);
  Cropping2D crop({1, 2, 0, 3});
  crop.build({6, 7, 2});
  Tensor back = crop.call(z);  // cropping what was padded gives the input back
  ASSERT_EQ(back.shape(), x.shape());
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_EQ(back[i], x[i]);
  double sum = 0;
  for (float v : z) sum += v;
  double want = 0;
  for (float v : x) want += v;
  EXPECT_NEAR(sum, want, 1e-4);  // the rest is zeros
  fctest::check_layer_gradients(pad, x, 7);
  fctest::check_layer_gradients(crop, z, 8);
  Cropping2D too_much({2, 2, 0, 0});
  EXPECT_THROW(too_much.build({4, 4, 1}), Error);
  // Large enough for the row-parallel copy; every element is its source or a zero.
  ZeroPadding2D big_pad({2, 1, 3, 0});
  big_pad.build({60, 70, 9});
  const Tensor xb = random_tensor({2, 60, 70, 9}, 9, 1.0, 2.0);
  const Tensor& zb = big_pad.call(xb);
  ASSERT_EQ(zb.shape(), (Shape{2, 63, 73, 9}));
  for (std::size_t n = 0; n < 2; ++n)
    for (std::size_t r = 0; r < 63; ++r)
      for (std::size_t q = 0; q < 73; ++q)
        for (std::size_t c = 0; c < 9; ++c) {
          const bool in = r >= 2 && r < 62 && q >= 3;
          const float want = in ? xb[((n * 60 + r - 2) * 70 + q - 3) * 9 + c] : 0.0f;
          ASSERT_EQ(zb[((n * 63 + r) * 73 + q) * 9 + c], want) << n << " " << r << " " << q << " " << c;
        }
}

TEST(Reshaping, UpSampling2DNearestAndBilinear) {
  Tensor x = random_tensor({1, 3, 2, 1}, 9);
  UpSampling2D near({2, 3});
  near.build({3, 2, 1});
  Tensor y = near.call(x);
  ASSERT_EQ(y.shape(), (Shape{1, 6, 6, 1}));
  for (std::size_t r = 0; r < 6; ++r)
    for (std::size_t q = 0; q < 6; ++q) EXPECT_EQ(y[r * 6 + q], x[(r / 2) * 2 + q / 3]);
  fctest::check_layer_gradients(near, x, 10);
  // Bilinear with half-pixel centres along one axis: output o samples input (o + 0.5) / 2 - 0.5,
  // clamped to the edges, so the values of [a, b, c] become a, a, .75a+.25b, .25a+.75b, ...
  UpSampling2D bil({2, 1}, {.interpolation = "bilinear"});
  bil.build({3, 2, 1});
  y = bil.call(x);
  ASSERT_EQ(y.shape(), (Shape{1, 6, 2, 1}));
  for (std::size_t q = 0; q < 2; ++q) {
    const double a = x[q], b = x[2 + q], c = x[4 + q];
    const double want[6] = {a, 0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b, 0.75 * b + 0.25 * c, 0.25 * b + 0.75 * c, c};
    for (std::size_t r = 0; r < 6; ++r) EXPECT_NEAR(y[r * 2 + q], want[r], 1e-6) << r;
  }
  fctest::check_layer_gradients(bil, x, 11);
  EXPECT_THROW(UpSampling2D({2, 2}, {.interpolation = "bicubic"}), Error);
}

TEST(Normalization, LayerNormalizationPerSampleAndItsGradients) {
  LayerNormalization ln({.epsilon = 0.01});
  ln.build({3, 5});
  for (std::size_t c = 0; c < 5; ++c) ln.weights()[0]->value[c] = 0.5f + 0.1f * float(c), ln.weights()[1]->value[c] = 0.2f * float(c);
  Tensor x = random_tensor({2, 3, 5}, 12);
  Tensor y = ln.call(x);
  for (std::size_t r = 0; r < 6; ++r) {
    double m = 0, v = 0;
    for (std::size_t c = 0; c < 5; ++c) m += x[r * 5 + c] / 5.0;
    for (std::size_t c = 0; c < 5; ++c) v += std::pow(x[r * 5 + c] - m, 2) / 5.0;
    for (std::size_t c = 0; c < 5; ++c)
      EXPECT_NEAR(y[r * 5 + c], (0.5 + 0.1 * c) * (x[r * 5 + c] - m) / std::sqrt(v + 0.01) + 0.2 * c, 1e-5);
  }
  fctest::check_layer_gradients(ln, x, 13, 1e-2);
  Rescaling rs({2.0, 3.0}, {1.0});
  rs.build({4, 2});
  Tensor xs = random_tensor({1, 4, 2}, 14);
  Tensor ys = rs.call(xs);
  for (std::size_t i = 0; i < xs.size(); ++i) EXPECT_NEAR(ys[i], xs[i] * (i % 2 ? 3.0f : 2.0f) + 1.0f, 1e-6);
  fctest::check_layer_gradients(rs, xs, 15);
  Rescaling three({1.0, 2.0, 3.0});
  EXPECT_THROW(three.build({4, 2}), Error);
}

TEST(TrainingOnlyLayers, SpatialDropoutDropsWholeChannelsAndNoiseIsAdditive) {
  SpatialDropout2D d(0.5, {.seed = 3});
  d.build({4, 5, 6});
  Tensor x({8, 4, 5, 6}, 1.0f);
  Tensor y = d.call(x, false);
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_EQ(y[i], 1.0f);
  y = d.call(x, true);
  std::size_t dropped = 0;
  for (std::size_t n = 0; n < 8; ++n)
    for (std::size_t c = 0; c < 6; ++c) {
      const float first = y[(n * 20) * 6 + c];
      EXPECT_TRUE(first == 0.0f || first == 2.0f);
      dropped += first == 0.0f;
      for (std::size_t p = 0; p < 20; ++p) EXPECT_EQ(y[(n * 20 + p) * 6 + c], first) << "a channel is dropped whole";
    }
  EXPECT_GT(dropped, 8u);
  EXPECT_LT(dropped, 40u);
  GaussianNoise g(0.5, {.seed = 4});
  g.build({1000});
  Tensor z({4, 1000}, 2.0f);
  Tensor gz = g.call(z, true);
  double m = 0, v = 0;
  for (float e : gz) m += (e - 2.0) / 4000.0;
  for (float e : gz) v += std::pow(e - 2.0 - m, 2) / 4000.0;
  EXPECT_NEAR(m, 0.0, 0.05);
  EXPECT_NEAR(std::sqrt(v), 0.5, 0.05);
  Tensor same = g.call(z, false);
  for (float e : same) EXPECT_EQ(e, 2.0f);
  EXPECT_THROW(SpatialDropout2D(1.0), Error);
  EXPECT_THROW(GaussianNoise(-1.0), Error);
}

TEST(TrainingOnlyLayers, AugmentationIsTheIdentityAtInferenceAndRefusesTraining) {
  Augmentation a("RandomRotation");
  EXPECT_EQ(a.name().rfind("random_rotation", 0), 0u) << a.name();
  a.build({4, 4, 3});
  Tensor x = random_tensor({2, 4, 4, 3}, 16);
  Tensor y = a.call(x, false);
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_EQ(y[i], x[i]);
  try {
    a.call(x, true);
    FAIL() << "training through an augmentation layer was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("RandomRotation"), std::string::npos) << e.what();
  }
}

// A small config cannot make a layer allocate per-element tables at load time (files from
// strangers): Permute of a (2^24, 256) input loads at once (it keeps no index); UpSampling2D's
// taps for 2^22 x 1,024 rows are refused before allocating.
TEST(Reshaping, HugeIndexesFromAConfigAreRefused) {
  const std::string cfg = R"({"class_name": "Sequential", "config": {"name": "s", "layers": [
    {"class_name": "InputLayer", "config": {"batch_shape": [null, 16777216, 256], "name": "in"}},
    {"class_name": "Permute", "config": {"name": "p", "dims": [2, 1]}}]}})";
  EXPECT_EQ(model_from_json(cfg).output_shape(), (Shape{256, 16777216}));
  const std::string up = R"({"class_name": "Sequential", "config": {"name": "s", "layers": [
    {"class_name": "InputLayer", "config": {"batch_shape": [null, 4194304, 1, 1], "name": "in"}},
    {"class_name": "UpSampling2D", "config": {"name": "u", "size": [1024, 1]}}]}})";
  EXPECT_THROW(model_from_json(up), Error);
}

}  // namespace
