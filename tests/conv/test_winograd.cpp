// Winograd F(4x4, 3x3) (src/conv/winograd.cpp) against a double sum written from the definition:
// odd and prime image sizes (partial tiles at the right and bottom), both paddings, channel and
// filter counts on each side of the 8- and 16-wide vectors (the gathered-tile path for C not a
// multiple of the width, the in-place path otherwise; masked stores for F), batches that go
// parallel, a call inside a parallel region, relu and no bias. Then the layer's use of it
// (algorithm="winograd", auto's choice, the NaN rule) and the cost model's choice.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <tuple>
#include <vector>

#include <omp.h>

#include "fourierconv/conv/choose.hpp"
#include "fourierconv/conv/direct.hpp"
#include "fourierconv/conv/winograd.hpp"
#include "fourierconv/error.hpp"
#include "fourierconv/nn/layers/conv2d.hpp"
#include "fourierconv/nn/layers/pooling.hpp"
#include "fourierconv/nn/layers/flatten.hpp"
#include "fourierconv/nn/sequential.hpp"
#include "reference.hpp"
#include "simd.hpp"

using namespace fourierconv;
using fctest::random_tensor;

namespace {

struct Case {
  std::size_t n, h, w, c, f;
  conv::Padding padding;
};

// y in double, and the scale F(4x4, 3x3)'s rounding is relative to: the output's 6 x 6 input tile
// (tiles at multiples of 4 from the padded origin), sum over its cells and channels of |x|
// times the kernel's largest |g| for the filter, plus |bias| (winograd.hpp, Numerics).
void reference(const conv::Problem& p, const Tensor& x, const Tensor& k, const float* b, bool relu, std::vector<double>& y,
               std::vector<double>& scale) {
  y.assign(p.n * p.oh * p.ow * p.f, 0.0);
  scale.assign(y.size(), 0.0);
  std::vector<double> kmax(p.f, 0.0);
  for (std::size_t i = 0; i < k.size(); ++i) kmax[i % p.f] = std::max(kmax[i % p.f], double(std::fabs(k[i])));
  for (std::size_t n = 0; n < p.n; ++n)
    for (std::size_t i = 0; i < p.oh; ++i)
      for (std::size_t j = 0; j < p.ow; ++j) {
        double tile = 0;
        for (long u = 0; u < 6; ++u)
          for (long v = 0; v < 6; ++v) {
            const long iy = long(i / 4 * 4) + u - long(p.pad_top), ix = long(j / 4 * 4) + v - long(p.pad_left);
            if (iy < 0 || ix < 0 || iy >= long(p.h) || ix >= long(p.w)) continue;
            for (std::size_t c = 0; c < p.c; ++c) tile += std::fabs(double(x[((n * p.h + iy) * p.w + ix) * p.c + c]));
          }
        for (std::size_t f = 0; f < p.f; ++f) {
          double s = b ? b[f] : 0.0;
          for (std::size_t u = 0; u < 3; ++u)
            for (std::size_t v = 0; v < 3; ++v) {
              const long iy = long(i + u) - long(p.pad_top), ix = long(j + v) - long(p.pad_left);
              if (iy < 0 || ix < 0 || iy >= long(p.h) || ix >= long(p.w)) continue;
              for (std::size_t c = 0; c < p.c; ++c)
                s += double(x[((n * p.h + iy) * p.w + ix) * p.c + c]) * k[((u * 3 + v) * p.c + c) * p.f + f];
            }
          const std::size_t o = ((n * p.oh + i) * p.ow + j) * p.f + f;
          y[o] = relu && s < 0 ? 0.0 : s;
          scale[o] = tile * kmax[f] + (b ? std::fabs(b[f]) : 0.0);
        }
      }
}

// |got - want| <= 2e-5 * scale, no absolute floor (measured: <= 5e-6 of the scale, on inputs of
// every magnitude below).
void expect_close(const std::vector<float>& got, const std::vector<double>& want, const std::vector<double>& scale,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  std::size_t bad = 0;
  for (std::size_t i = 0; i < got.size() && bad < 5; ++i)
    if (!(std::fabs(double(got[i]) - want[i]) <= 2e-5 * scale[i])) {
      ADD_FAILURE() << what << " at " << i << ": got " << got[i] << ", want " << want[i] << " (scale " << scale[i] << ")";
      ++bad;
    }
}

TEST(Winograd, MatchesTheDefinition) {
  const std::vector<Case> cases = {
      {1, 3, 3, 1, 1, conv::Padding::Valid},    {1, 6, 6, 1, 1, conv::Padding::Valid},
      {1, 7, 5, 1, 1, conv::Padding::Same},     {2, 13, 11, 3, 5, conv::Padding::Same},
      {1, 7, 9, 17, 33, conv::Padding::Valid},  {3, 17, 19, 16, 16, conv::Padding::Same},
      {2, 10, 10, 32, 48, conv::Padding::Same}, {1, 31, 29, 8, 24, conv::Padding::Valid},
      {4, 12, 12, 16, 7, conv::Padding::Same},  {1, 64, 64, 16, 16, conv::Padding::Same},
      {5, 9, 23, 24, 40, conv::Padding::Same},  {1, 5, 5, 64, 1, conv::Padding::Same},
      {1, 1, 1, 1, 33, conv::Padding::Same},    {2, 4, 1, 1, 3, conv::Padding::Same},
  };
  std::mt19937 g(5);
  for (const Case& t : cases)
    for (int variant = 0; variant < 3; ++variant) {
      // 0: bias, 1: relu without bias, 2: inputs spanning 1e-3..1e3 (the scale is the tile's)
      const bool relu = variant == 1, with_bias = variant != 1;
      const auto p = conv::Problem::make(t.n, t.h, t.w, t.c, t.f, 3, 3, 1, 1, 1, 1, t.padding);
      Tensor x = random_tensor({t.n, t.h, t.w, t.c}, unsigned(g()));
      const Tensor k = random_tensor({3, 3, t.c, t.f}, unsigned(g()));
      if (variant == 2)
        for (std::size_t i = 0; i < x.size(); ++i) x[i] *= float(std::pow(10.0, double(i * 7919 % 7) - 3.0));
      const Tensor b = random_tensor({t.f}, unsigned(g()));
      std::vector<float> y(p.n * p.oh * p.ow * p.f, NAN);
      conv::winograd_forward(p, x.data(), k.data(), with_bias ? b.data() : nullptr, y.data(), relu);
      std::vector<double> want, mag;
      reference(p, x, k, with_bias ? b.data() : nullptr, relu, want, mag);
      expect_close(y, want, mag, p.to_string() + (relu ? " relu" : "") + (with_bias ? "" : " no bias") +
                                     (variant == 2 ? " scaled" : ""));
    }
}

// The transformed kernel kept between calls (WinogradKernel) is the current kernel's: reused
// while the kernel is unchanged, transformed again when its values (changed in place, as an
// optimizer step changes them) or its shape change; results bit-identical to an uncached call.
TEST(Winograd, TheKeptKernelFollowsTheKernel) {
  conv::WinogradKernel kept;
  for (auto [c, f] : {std::pair<std::size_t, std::size_t>{16, 24}, {16, 24}, {3, 5}, {16, 24}}) {
    const auto p = conv::Problem::make(2, 11, 9, c, f, 3, 3, 1, 1, 1, 1, conv::Padding::Same);
    const Tensor x = random_tensor({2, 11, 9, c}, 21);
    Tensor k = random_tensor({3, 3, c, f}, 22);
    for (int step = 0; step < 3; ++step) {
      if (step > 0) k[(std::size_t(step) * 7919) % k.size()] += 0.5f;  // one weight changed in place
      std::vector<float> cached(p.n * p.oh * p.ow * f), fresh(cached.size());
      conv::winograd_forward(p, x.data(), k.data(), nullptr, cached.data(), false, &kept);
      conv::winograd_forward(p, x.data(), k.data(), nullptr, fresh.data());
      EXPECT_EQ(cached, fresh) << p.to_string() << " step " << step;
      std::vector<double> want, mag;
      reference(p, x, k, nullptr, false, want, mag);
      expect_close(cached, want, mag, p.to_string() + " kept kernel, step " + std::to_string(step));
    }
  }
  // The layer keeps one: its output follows weights changed between inference calls.
  nn::Conv2D w(16, {3, 3}, {.padding = "same", .algorithm = "winograd"});
  nn::Conv2D d(16, {3, 3}, {.padding = "same", .algorithm = "direct"});
  w.build({12, 12, 16});
  d.build({12, 12, 16});
  const Tensor x = random_tensor({1, 12, 12, 16}, 23);
  for (int step = 0; step < 3; ++step) {
    if (step > 0) w.weights()[0]->value[std::size_t(step) * 101] -= 1.0f;
    for (std::size_t i = 0; i < w.weights().size(); ++i) d.weights()[i]->value = w.weights()[i]->value;
    const Tensor yw = w.call(x, false), yd = d.call(x, false);
    ASSERT_EQ(w.algorithm_used(), "winograd");
    for (std::size_t i = 0; i < yw.size(); ++i) ASSERT_NEAR(yw[i], yd[i], 1e-4) << "step " << step << " output " << i;
  }
}

TEST(Winograd, GivesTheSameInsideAParallelRegion) {
  const auto p = conv::Problem::make(4, 20, 20, 16, 32, 3, 3, 1, 1, 1, 1, conv::Padding::Same);
  const Tensor x = random_tensor({4, 20, 20, 16}, 3), k = random_tensor({3, 3, 16, 32}, 4);
  std::vector<float> team(p.n * p.oh * p.ow * p.f), alone(team.size());
  conv::winograd_forward(p, x.data(), k.data(), nullptr, team.data());
#pragma omp parallel num_threads(2)
  {
#pragma omp single
    conv::winograd_forward(p, x.data(), k.data(), nullptr, alone.data());
  }
  EXPECT_EQ(team, alone);  // the same tiles, blocks and sums: bit for bit
}

TEST(Winograd, RejectsWhatItDoesNotCompute) {
  std::string why;
  EXPECT_FALSE(conv::winograd_supports(conv::Problem::make(1, 9, 9, 1, 1, 5, 5, 1, 1, 1, 1, conv::Padding::Same), &why));
  EXPECT_NE(why.find("5x5"), std::string::npos) << why;
  EXPECT_FALSE(conv::winograd_supports(conv::Problem::make(1, 9, 9, 1, 1, 3, 3, 2, 2, 1, 1, conv::Padding::Same), &why));
  EXPECT_NE(why.find("strides"), std::string::npos) << why;
  const auto dilated = conv::Problem::make(1, 9, 9, 1, 1, 3, 3, 1, 1, 2, 2, conv::Padding::Same);
  EXPECT_FALSE(conv::winograd_supports(dilated, &why));
  EXPECT_NE(why.find("dilation"), std::string::npos) << why;
  std::vector<float> x(81), k(9), y(81);
  EXPECT_THROW(conv::winograd_forward(dilated, x.data(), k.data(), nullptr, y.data()), Error);
}

TEST(Winograd, TheCostModelTakesItForWideForwardPassesOnly) {
  if (std::getenv("FOURIERCONV_NO_WINOGRAD")) GTEST_SKIP() << "FOURIERCONV_NO_WINOGRAD is set";
  const auto p = conv::Problem::make(1, 256, 256, 16, 16, 3, 3, 1, 1, 1, 1, conv::Padding::Same);
  const conv::Choice c = conv::choose(p, conv::Pass::Inference);
  EXPECT_EQ(c.algorithm, conv::Algorithm::Winograd) << c.reason;
  EXPECT_NE(c.reason.find("winograd: estimated"), std::string::npos) << c.reason;
  EXPECT_NE(conv::choose(p, conv::Pass::Backward).algorithm, conv::Algorithm::Winograd);
  EXPECT_TRUE(std::isinf(conv::winograd_cost_us(p, conv::Pass::Backward)));
  // The seed's first layer (one input channel: the transforms outweigh the saved products).
  const auto seed = conv::Problem::make(32, 28, 28, 1, 32, 3, 3, 1, 1, 1, 1, conv::Padding::Valid);
  const conv::Choice sc = conv::choose(seed, conv::Pass::TrainingForward);
  EXPECT_EQ(sc.algorithm, conv::Algorithm::Direct);
  EXPECT_NE(sc.reason.find("not taken: it needs at least 16 channels"), std::string::npos) << sc.reason;
  // A wide layer over a few tiles: the kernel's transform and its reads outweigh them.
  const auto few = conv::Problem::make(1, 14, 14, 256, 256, 3, 3, 1, 1, 1, 1, conv::Padding::Same);
  const conv::Choice fc = conv::choose(few, conv::Pass::Inference);
  EXPECT_NE(fc.algorithm, conv::Algorithm::Winograd);
  EXPECT_NE(fc.reason.find("not taken: not under 0.8x"), std::string::npos) << fc.reason;
  setenv("FOURIERCONV_NO_WINOGRAD", "1", 1);
  const conv::Choice oc = conv::choose(p, conv::Pass::Inference);
  unsetenv("FOURIERCONV_NO_WINOGRAD");
  EXPECT_NE(oc.algorithm, conv::Algorithm::Winograd);
  EXPECT_NE(oc.reason.find("not taken: FOURIERCONV_NO_WINOGRAD is set"), std::string::npos) << oc.reason;
  // A batch of 4 x 4 images: inference keeps the transformed kernel between calls
  // (WinogradKernel), which makes Winograd worth it there (1.4x the direct kernel measured on
  // AVX-512), not in a training step, which transforms the changed weights anew, nor for one
  // image (the kernel's comparison and the fixed costs outweigh its one tile's products).
  const auto small = conv::Problem::make(8, 4, 4, 64, 64, 3, 3, 1, 1, 1, 1, conv::Padding::Same);
  if (simd::wide_vectors()) EXPECT_EQ(conv::choose(small, conv::Pass::Inference).algorithm, conv::Algorithm::Winograd);
  EXPECT_NE(conv::choose(small, conv::Pass::TrainingForward).algorithm, conv::Algorithm::Winograd);
  EXPECT_NE(conv::choose(conv::Problem::make(1, 4, 4, 64, 64, 3, 3, 1, 1, 1, 1, conv::Padding::Same), conv::Pass::Inference)
                .algorithm,
            conv::Algorithm::Winograd);
  // The wide layers the model was fitted on, where Winograd measured 1.5-2.2x the direct kernel
  // (BENCHMARKS.md, section 0), on AVX-512 CPUs (the constants are that build's).
  if (simd::wide_vectors())
    for (auto [n, h, c] : {std::tuple{8, 28, 128}, std::tuple{32, 14, 256}}) {
      const auto q = conv::Problem::make(std::size_t(n), std::size_t(h), std::size_t(h), std::size_t(c), std::size_t(c), 3, 3, 1,
                                         1, 1, 1, conv::Padding::Same);
      EXPECT_EQ(conv::choose(q, conv::Pass::Inference).algorithm, conv::Algorithm::Winograd) << q.to_string();
    }
}

TEST(Winograd, TheLayerRunsItWhenAskedAndKeepsNonFiniteInputsDirect) {
  nn::Conv2D w(24, {3, 3}, {.padding = "same", .activation = "relu", .algorithm = "winograd"});
  nn::Conv2D d(24, {3, 3}, {.padding = "same", .activation = "relu", .algorithm = "direct"});
  w.build({18, 18, 16});
  d.build({18, 18, 16});
  for (std::size_t i = 0; i < w.weights().size(); ++i) d.weights()[i]->value = w.weights()[i]->value;
  Tensor x = random_tensor({2, 18, 18, 16}, 9);
  const Tensor yw = w.call(x, true), yd = d.call(x, true);
  EXPECT_EQ(w.algorithm_used(), "winograd");
  for (std::size_t i = 0; i < yw.size(); ++i) ASSERT_NEAR(yw[i], yd[i], 1e-4) << i;
  // The backward pass is the direct one (choose() never takes Winograd there).
  const Tensor dy = random_tensor(yw.shape(), 10);
  const Tensor dxw = w.backward(dy), dxd = d.backward(dy);
  EXPECT_NE(w.backward_algorithm_used(), "winograd");
  for (std::size_t i = 0; i < dxw.size(); ++i) ASSERT_NEAR(dxw[i], dxd[i], 1e-4) << i;
  // Not a 3x3 kernel: direct, and the reason says why.
  nn::Conv2D five(4, {5, 5}, {.padding = "same", .algorithm = "winograd"});
  five.build({9, 9, 2});
  five.call(random_tensor({1, 9, 9, 2}, 11), false);
  EXPECT_EQ(five.algorithm_used(), "direct");
  EXPECT_NE(five.algorithm_reason().find("5x5"), std::string::npos) << five.algorithm_reason();
  // auto's Winograd choice gives way to direct for a NaN (it would reach the whole tile).
  if (!std::getenv("FOURIERCONV_NO_WINOGRAD")) {
    nn::Conv2D a(16, {3, 3}, {.padding = "same"});
    a.build({256, 256, 16});
    Tensor big = random_tensor({1, 256, 256, 16}, 12);
    a.call(big, false);
    EXPECT_EQ(a.algorithm_used(), "winograd") << a.algorithm_reason();
    big[1000] = NAN;
    a.call(big, false);
    EXPECT_EQ(a.algorithm_used(), "direct");
    EXPECT_NE(a.algorithm_reason().find("NaN"), std::string::npos) << a.algorithm_reason();
  }
  EXPECT_THROW(nn::Conv2D(4, {3, 3}, {.algorithm = "winnograd"}), Error);
}

// measure mode times each algorithm that applies on the call's own input, including the fused
// inference paths (which never set the layer's last input), and skips those that do not apply.
TEST(Winograd, MeasureModeTimesWhatAppliesOnTheCallsInput) {
  nn::Conv2D strided(8, {3, 3}, {.strides = {2, 2}, .padding = "same", .algorithm = "measure"});
  strided.build({16, 16, 4});
  EXPECT_NO_THROW(strided.call(random_tensor({2, 16, 16, 4}, 13), false));
  EXPECT_EQ(strided.algorithm_used(), "direct");
  nn::Sequential m;
  m.add(nn::Conv2D(16, {3, 3}, {.padding = "same", .algorithm = "measure", .input_shape = {12, 12, 16}}));
  m.add(nn::MaxPooling2D({2, 2}));
  m.add(nn::Flatten());
  const Tensor x = random_tensor({3, 12, 12, 16}, 14);
  const Tensor fused = m.predict(x);
  const Tensor* h = &x;
  for (auto& l : m.layers()) h = &l->call(*h, false);
  ASSERT_EQ(fused.shape(), h->shape());
  for (std::size_t i = 0; i < fused.size(); ++i) ASSERT_NEAR(fused[i], (*h)[i], 1e-4) << i;
  // FOURIERCONV_NO_WINOGRAD leaves it out of measure's candidates (a shape no other test measures:
  // the measured choices are cached process-wide).
  if (!std::getenv("FOURIERCONV_NO_WINOGRAD")) {
    setenv("FOURIERCONV_NO_WINOGRAD", "1", 1);
    nn::Conv2D off(16, {3, 3}, {.padding = "same", .algorithm = "measure"});
    off.build({37, 41, 16});
    off.call(random_tensor({1, 37, 41, 16}, 15), false);
    unsetenv("FOURIERCONV_NO_WINOGRAD");
    EXPECT_NE(off.algorithm_used(), "winograd");
    EXPECT_EQ(off.algorithm_reason().find("winograd"), std::string::npos) << off.algorithm_reason();
  }
}

}  // namespace
