// MaxPooling2D's vectorized and parallel paths against a double-precision reference written
// from the definition, on a seeded random table: pools and strides that tile, overlap and
// leave gaps, both paddings, channel counts on each side of the 8-wide vectors, ties and NaN.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "fourierconv/nn.hpp"
#include "reference.hpp"

using namespace fourierconv;
using namespace fourierconv::nn;
using fctest::random_tensor;

namespace {

// One pooling against the definition (double precision), forward and backward. Few distinct
// values, so windows hold ties; with `nan`, one NaN.
void check_against_definition(std::size_t ph, std::size_t pw, std::size_t sh, std::size_t sw, std::size_t n, std::size_t h,
                              std::size_t w, std::size_t c, const char* pad, unsigned seed, bool nan) {
  MaxPooling2D mp({ph, pw}, {.strides = Size2{sh, sw}, .padding = pad});
  mp.build({h, w, c});
  const std::size_t oh = mp.output_shape()[0], ow = mp.output_shape()[1];
  SCOPED_TRACE("pool " + std::to_string(ph) + "x" + std::to_string(pw) + " strides " + std::to_string(sh) + "x" +
               std::to_string(sw) + " " + pad + " x " + std::to_string(n) + "x" + std::to_string(h) + "x" +
               std::to_string(w) + "x" + std::to_string(c) + (nan ? " with a NaN" : ""));
  Tensor x = random_tensor({n, h, w, c}, seed);
  for (auto& v : x) v = std::round(v * 3.0f);
  if (nan) x[(seed * 2654435761u) % x.size()] = NAN;
  const Tensor dy = random_tensor({n, oh, ow, c}, seed + 50);
  const long total_h = std::max(0L, long((oh - 1) * sh + ph) - long(h)), total_w = std::max(0L, long((ow - 1) * sw + pw) - long(w));
  const long pt = std::string(pad) == "same" ? total_h / 2 : 0, pl = std::string(pad) == "same" ? total_w / 2 : 0;
  std::vector<double> want(dy.size()), dx_want(x.size(), 0.0);
  for (std::size_t b = 0; b < n; ++b)
    for (std::size_t i = 0; i < oh; ++i)
      for (std::size_t j = 0; j < ow; ++j)
        for (std::size_t ch = 0; ch < c; ++ch) {
          double m = -INFINITY;
          long arg = -1;
          for (std::size_t u = 0; u < ph; ++u)
            for (std::size_t v = 0; v < pw; ++v) {
              const long iy = long(i * sh + u) - pt, ix = long(j * sw + v) - pl;
              if (iy < 0 || ix < 0 || iy >= long(h) || ix >= long(w)) continue;
              const long xi = long(((b * h + iy) * w + ix) * c + ch);
              const double val = x[std::size_t(xi)];
              if (std::isnan(m)) continue;       // the first NaN wins and stays
              if (std::isnan(val) || arg < 0 || val > m) m = val, arg = xi;
            }
          const std::size_t o = ((b * oh + i) * ow + j) * c + ch;
          want[o] = m;
          dx_want[std::size_t(arg)] += dy[o];
        }
  const Tensor& y = mp.call(x, true);
  ASSERT_EQ(y.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(y[i])) << "output " << i;
    } else {
      ASSERT_EQ(double(y[i]), want[i]) << "output " << i;
    }
  }
  Tensor dy_copy = dy;
  const Tensor& dx = mp.backward(dy_copy);
  fctest::expect_close(dx, dx_want, 1e-6, "dx");
}

TEST(MaxPooling2D, RandomShapesAgainstTheDefinition) {
  const unsigned seed = 7031;
  std::mt19937 g(seed);
  SCOPED_TRACE("table seed " + std::to_string(seed));
  auto pick = [&](std::initializer_list<std::size_t> v) { return *(v.begin() + g() % v.size()); };
  for (int t = 0; t < 50; ++t) {
    const std::size_t ph = pick({1, 2, 2, 3}), pw = pick({1, 2, 2, 3}), sh = pick({1, 2, 2, 3}), sw = pick({1, 2, 2, 4});
    const std::size_t n = pick({1, 3, 40}), h = pick({5, 8, 13, 26}), w = pick({4, 9, 26}), c = pick({1, 3, 8, 12, 32});
    const char* pad = g() % 3 ? "valid" : "same";
    if (std::string(pad) == "valid" && (ph > h || pw > w)) continue;
    SCOPED_TRACE("case " + std::to_string(t));
    check_against_definition(ph, pw, sh, sw, n, h, w, c, pad, seed + unsigned(t), t % 5 == 0);
  }
}

// Keras's default pool (2 x 2, stride 2) with channels a multiple of 8 has a path of its own:
// even and odd sizes (an odd last row or column lies outside every window under 'valid' and
// makes a padded window under 'same', which the generic path takes), batches that go parallel.
TEST(MaxPooling2D, TwoByTwoPathAgainstTheDefinition) {
  unsigned seed = 7200;
  for (const char* pad : {"valid", "same"})
    for (std::size_t c : {8, 16, 24, 32})
      for (auto [h, w] : {std::pair<std::size_t, std::size_t>{26, 26}, {8, 9}, {7, 6}, {2, 2}, {5, 3}})
        for (std::size_t n : {1, 40}) {
          ++seed;
          check_against_definition(2, 2, 2, 2, n, h, w, c, pad, seed, seed % 3 == 0);
        }
}

}  // namespace

namespace {

// Sequential's inference fuses Conv2D + MaxPooling2D; the result must be the two layers'
// exactly (the same convolution rows, the same max), including NaN and leftover rows.
TEST(MaxPooling2D, FusedWithConv2DAtInferenceEqualsTheTwoLayers) {
  struct Case {
    const char* padding;
    const char* activation;
    std::size_t k, f, pool, h, w, c;
  };
  for (const Case& cs : {Case{"valid", "relu", 3, 32, 2, 28, 28, 1}, Case{"same", "linear", 5, 17, 3, 13, 11, 2},
                         Case{"valid", "relu", 1, 8, 2, 9, 7, 3}, Case{"same", "tanh", 3, 8, 2, 8, 8, 1},
                         Case{"same", "relu", 3, 64, 2, 10, 9, 3}, Case{"same", "linear", 3, 40, 3, 7, 12, 5}}) {
    SCOPED_TRACE(std::string(cs.padding) + " " + cs.activation + " k" + std::to_string(cs.k) + " pool " + std::to_string(cs.pool));
    set_random_seed(3);
    Sequential m;
    m.add(Conv2D(cs.f, {cs.k, cs.k}, {.padding = cs.padding, .activation = cs.activation, .input_shape = {cs.h, cs.w, cs.c}}));
    m.add(MaxPooling2D({cs.pool, cs.pool}));
    m.add(Flatten());
    Tensor x = random_tensor({5, cs.h, cs.w, cs.c}, 21);
    x[7] = NAN;
    const Tensor fused = m.predict(x);
    const auto& conv = dynamic_cast<const Conv2D&>(*m.layers()[0]);
    EXPECT_EQ(conv.algorithm_reason().find("fused") != std::string::npos, std::string(cs.activation) != "tanh");
    const Tensor* h = &x;
    for (auto& l : m.layers()) h = &l->call(*h, false);
    ASSERT_EQ(fused.shape(), h->shape());
    for (std::size_t i = 0; i < fused.size(); ++i) {
      if (std::isnan((*h)[i])) EXPECT_TRUE(std::isnan(fused[i])) << i;
      else ASSERT_EQ(fused[i], (*h)[i]) << i;
    }
  }
}

// Training fuses Conv2D + MaxPooling2D where neither needs a gradient (a frozen convolution
// at the bottom): the loss must be the two layers'. And not where the convolution trains: its
// weights still get their gradients (tests below and in test_sequential.cpp).
TEST(MaxPooling2D, FusedWithAFrozenConv2DInTrainingGivesTheSameLoss) {
  set_random_seed(6);
  Sequential m;
  m.add(Conv2D(16, {3, 3}, {.activation = "relu", .input_shape = {11, 12, 2}}));
  m.add(MaxPooling2D({2, 2}));
  m.add(Flatten());
  m.add(Dense(3));
  m.compile("sgd", "mse");
  m.layers()[0]->set_trainable(false);
  Tensor x = random_tensor({4, 11, 12, 2}, 33), y = random_tensor({4, 3}, 34);
  const Tensor* h = &x;
  for (auto& l : m.layers()) h = &l->call(*h, true);
  const double want = Loss::parse("mse").value(h->data(), y.data(), 4, 3);
  const Tensor kernel = m.layers()[0]->weights()[0]->value;
  EXPECT_DOUBLE_EQ(m.train_on_batch(x, y), want);
  const auto& conv = dynamic_cast<const Conv2D&>(*m.layers()[0]);
  EXPECT_NE(conv.algorithm_reason().find("fused"), std::string::npos) << conv.algorithm_reason();
  fctest::expect_close(m.layers()[0]->weights()[0]->value, fctest::to_double(kernel), 0.0, "frozen kernel");
  // Trainable again: the pair runs unfused, and the kernel moves.
  m.layers()[0]->set_trainable(true);
  m.train_on_batch(x, y);
  EXPECT_EQ(conv.algorithm_reason().find("fused"), std::string::npos) << conv.algorithm_reason();
  EXPECT_NE(m.layers()[0]->weights()[0]->value[0], kernel[0]);
}

// With algorithm "measure", inference and a training forward are timed apart and may pick
// differently (here Winograd often wins the training forward and direct the inference): the
// fused pair in training must follow the training forward's choice (a reviewer found it
// following inference's, and the loss changed).
TEST(MaxPooling2D, FusedInTrainingFollowsTheTrainingForwardsAlgorithm) {
  set_random_seed(7);
  Conv2D conv(16, {3, 3}, {.activation = "relu", .algorithm = "measure"});
  MaxPooling2D pool({2, 2});
  conv.build({18, 18, 16});
  pool.build(conv.output_shape());
  Tensor x = random_tensor({4, 18, 18, 16}, 35);
  conv.call(x, false);
  const std::string inference = conv.algorithm_used();
  const Tensor want = pool.call(conv.call(x, true), true);
  const std::string training = conv.algorithm_used();
  SCOPED_TRACE("inference " + inference + ", training " + training);
  const Tensor* fused = conv.call_max_pooled(x, pool, true);
  EXPECT_EQ(fused != nullptr, training == "direct");
  if (fused) {
    ASSERT_EQ(fused->shape(), want.shape());
    for (std::size_t i = 0; i < want.size(); ++i) ASSERT_EQ((*fused)[i], want[i]) << i;
  }
}

}  // namespace

namespace {

// Training applies relu's derivative inside MaxPooling2D's backward; the gradients must be
// those of the plain layer-by-layer backward (relu as its own pass).
TEST(MaxPooling2D, ReluFusedIntoTheTrainingBackwardGivesTheSameGradients) {
  for (const char* model : {"conv", "fourier"}) {
    SCOPED_TRACE(model);
    set_random_seed(5);
    Sequential m;
    if (std::string(model) == "conv") m.add(Conv2D(8, {3, 3}, {.activation = "relu", .input_shape = {10, 9, 2}}));
    else m.add(SpectralConv2D(8, {2, 3}, {.activation = "relu", .input_shape = {10, 9, 2}}));
    m.add(MaxPooling2D({2, 2}));
    m.add(Flatten());
    m.add(Dense(3));
    m.compile("sgd", "mse");
    Tensor x = random_tensor({4, 10, 9, 2}, 31), y = random_tensor({4, 3}, 32);
    m.train_on_batch(x, y);  // fills the gradients (then updates the weights)
    std::vector<Tensor> fused;
    for (auto* w : m.layers()[0]->weights()) fused.push_back(w->grad);
    // The same step by hand on the updated weights is a different point; undo by recomputing
    // both at the new weights: first the fused path again, without the update...
    std::vector<Tensor> saved;
    for (auto* w : m.trainable_weights()) saved.push_back(w->value);
    m.train_on_batch(x, y);
    fused.clear();
    for (auto* w : m.layers()[0]->weights()) fused.push_back(w->grad);
    auto tw = m.trainable_weights();
    for (std::size_t i = 0; i < tw.size(); ++i) tw[i]->value = saved[i];
    // ... then by hand: forward, the mse gradient, every layer's backward with its activation.
    const Tensor* h = &x;
    for (auto& l : m.layers()) h = &l->call(*h, true);
    Tensor g(h->shape());
    Loss::parse("mse").gradient(h->data(), y.data(), 4, 3, g.data());
    const Tensor* gp = &g;
    for (std::size_t i = m.layers().size(); i-- > 0;) gp = &m.layers()[i]->backward(*gp, i > 0, true);
    auto ws = m.layers()[0]->weights();
    for (std::size_t k = 0; k < ws.size(); ++k) fctest::expect_close(fused[k], fctest::to_double(ws[k]->grad), 1e-6, ws[k]->name);
  }
}

}  // namespace
