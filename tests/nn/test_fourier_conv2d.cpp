// FourierConv2D: numpy fixtures (full complex transforms) for every padding x output,
// finite-difference input gradients, zero parameters, and frozen-by-construction filters.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <numbers>
#include <random>

#include <omp.h>
#if defined(__SSE2__) && defined(__x86_64__)
#include <xmmintrin.h>
#endif

#include "fourierconv/io/npy.hpp"
#include "fourierconv/nn.hpp"
#include "nn/gradcheck.hpp"
#include "reference.hpp"

using namespace fourierconv;
using namespace fourierconv::nn;
using fctest::random_tensor;

namespace {

const std::string kDir = std::string(FOURIERCONV_SOURCE_DIR) + "/tests/fixtures/";

// The bank of tests/fixtures/make_fixtures.py.
std::vector<Filter> fixture_bank() {
  return {filter_gaussian_lowpass(0.15), filter_gabor(0.2, 0.5, 0.05), filter_custom([](float fy, float fx) {
            return std::exp(-(fx * fx + fy * fy) / (2 * 0.2f * 0.2f)) + 0.5f * std::sin(2 * std::numbers::pi_v<float> * fx);
          })};
}

TEST(FourierConv2D, MatchesNumpyForEveryPaddingAndOutput) {
  Tensor x = io::read_npy(kDir + "fourier_x.npy");
  for (const char* padding : {"circular", "same"})
    for (const char* output : {"real", "magnitude"}) {
      FourierConv2D layer(fixture_bank(), {.padding = padding, .output = output});
      layer.build({9, 11, 2});
      Tensor want = io::read_npy(kDir + "fourier_" + padding + "_" + output + ".npy");
      Tensor y(want.shape(), NAN);
      y = layer.call(x);
      ASSERT_EQ(y.shape(), (Shape{2, 9, 11, 6}));
      fctest::expect_close(y, fctest::to_double(want), 1e-5, std::string(padding) + "/" + output);
    }
}

TEST(FourierConv2D, InputGradientsMatchFiniteDifferences) {
  for (const char* padding : {"circular", "same"})
    for (const char* output : {"real", "magnitude"}) {
      FourierConv2D layer(fixture_bank(), {.padding = padding, .output = output, .activation = "tanh"});
      layer.build({5, 6, 2});
      // Magnitude is not differentiable at 0; random inputs stay clear of it.
      fctest::check_layer_gradients(layer, random_tensor({2, 5, 6, 2}, 17), 18, 1e-3, 3e-3, 2e-2, 60);
    }
}

TEST(FourierConv2D, HasNoWeightsAndSaysSoInTheSummary) {
  clear_session();
  Sequential m;
  m.add(FourierConv2D(filter_bank_gabor({0.1, 0.2, 0.3, 0.4}, 8, 0.05), {.activation = "relu", .input_shape = {28, 28, 1}}));
  m.add(MaxPooling2D({2, 2}));
  m.add(Flatten());
  m.add(Dense(10, {.activation = "softmax"}));
  EXPECT_EQ(m.layers()[0]->count_params(), 0u);
  EXPECT_EQ(m.count_params(), 62730u);  // 14*14*32*10 + 10: all of it in the Dense layer
  std::string s = m.summary_text({.line_length = 76, .detail = true});
  EXPECT_NE(s.find("│ fourier_conv2d (FourierConv2D)  │ (None, 28, 28, 32)     │             0 │"), std::string::npos) << s;
  EXPECT_NE(s.find(" Total params: 62,730 (245.04 KB)"), std::string::npos) << s;
  EXPECT_NE(s.find(" Non-trainable params: 0 (0.00 B)"), std::string::npos) << s;
  EXPECT_NE(s.find("fixed filter bank (not trained): 32 response(s)"), std::string::npos) << s;
  EXPECT_NE(s.find("0 weights"), std::string::npos) << s;
}

TEST(FourierConv2D, FiltersStayFixedWhileEarlierLayersTrain) {
  // Conv2D -> FourierConv2D -> ... : the Fourier layer passes gradients back to Conv2D, whose
  // kernel changes; the Fourier layer's response does not (same input, same output).
  clear_session();
  set_random_seed(3);
  Sequential m;
  m.add(Conv2D(2, {3, 3}, {.padding = "same", .input_shape = {12, 12, 1}}));
  m.add(FourierConv2D({filter_gaussian_lowpass(0.1), filter_gaussian_highpass(0.2)}, {.padding = "same"}));
  m.add(Flatten());
  m.add(Dense(3, {.activation = "softmax"}));
  m.compile("adam", "sparse_categorical_crossentropy");
  auto& fourier = m.layer("fourier_conv2d");
  Tensor probe = random_tensor({1, 12, 12, 2}, 9);
  Tensor before = fourier.call(probe);
  Tensor k0 = m.layer("conv2d").weights()[0]->value;
  Tensor x = random_tensor({16, 12, 12, 1}, 10), y({16});
  for (int i = 0; i < 16; ++i) y[i] = float(i % 3);
  m.fit(x, y, {.batch_size = 4, .epochs = 2, .verbose = 0});
  Tensor after = fourier.call(probe);
  for (std::size_t i = 0; i < before.size(); ++i) ASSERT_EQ(before[i], after[i]);
  double moved = 0;
  for (std::size_t i = 0; i < k0.size(); ++i) moved += std::fabs(m.layer("conv2d").weights()[0]->value[i] - k0[i]);
  EXPECT_GT(moved, 1e-3);
  EXPECT_EQ(m.trainable_weights().size(), 4u);  // conv kernel, bias, dense kernel, bias
}

TEST(FourierConv2D, TheSeedsLambdaFilterFunction) {
  // FourierConv2D(lambda x: tf.sin(x)) in C++: any callable of the frequency.
  FourierConv2D layer([](float fy, float fx) { return std::sin(std::sqrt(fx * fx + fy * fy)); });
  layer.build({8, 8, 1});
  Tensor x = random_tensor({1, 8, 8, 1}, 4);
  Tensor y = layer.call(x);
  Tensor want = apply_filter(x.reshaped({8, 8}), filter_custom([](float fy, float fx) {
                               return std::sin(std::sqrt(fx * fx + fy * fy));
                             }));
  fctest::expect_close(y, fctest::to_double(want), 1e-6, "lambda");
}

TEST(FourierConv2D, BadInputGivesClearErrors) {
  EXPECT_THROW(FourierConv2D(std::vector<Filter>{}), Error);
  EXPECT_THROW(FourierConv2D({filter_gaussian_lowpass(0.1)}, {.padding = "valid"}), Error);
  EXPECT_THROW(FourierConv2D({filter_gaussian_lowpass(0.1)}, {.output = "phase"}), Error);
  FourierConv2D nan({filter_custom([](float, float fx) { return fx > 0.2f ? NAN : 1.0f; })});
  try {
    nan.build({8, 8, 1});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not finite"), std::string::npos) << e.what();
  }
  FourierConv2D ok({filter_gaussian_lowpass(0.1)});
  EXPECT_THROW(ok.build({8, 8}), Error);
}

}  // namespace

namespace {

// y = crop(Re(ifft2(fft2(pad(x_c)) . He_f))) in double, by separable DFTs, for one plane.
std::vector<double> reference_plane(const std::vector<double>& x, std::size_t H, std::size_t W, std::size_t P,
                                    std::size_t Q, const Filter& f) {
  using cd = std::complex<double>;
  std::vector<cd> g(P * Q);
  for (std::size_t i = 0; i < H; ++i)
    for (std::size_t j = 0; j < W; ++j) g[i * Q + j] = x[i * W + j];
  auto dft_axis = [&](bool rows, int sign) {
    const std::size_t n = rows ? Q : P, lines = rows ? P : Q;
    std::vector<cd> line(n), out(n);
    for (std::size_t a = 0; a < lines; ++a) {
      for (std::size_t t = 0; t < n; ++t) line[t] = rows ? g[a * Q + t] : g[t * Q + a];
      for (std::size_t k = 0; k < n; ++k) {
        cd s = 0;
        for (std::size_t t = 0; t < n; ++t) s += line[t] * std::polar(1.0, sign * 2 * M_PI * double(t * k % n) / double(n));
        out[k] = s;
      }
      for (std::size_t t = 0; t < n; ++t) (rows ? g[a * Q + t] : g[t * Q + a]) = out[t];
    }
  };
  dft_axis(true, -1);
  dft_axis(false, -1);
  auto freq = [](std::size_t i, std::size_t n) { return double(i < (n + 1) / 2 ? long(i) : long(i) - long(n)) / double(n); };
  for (std::size_t i = 0; i < P; ++i)
    for (std::size_t j = 0; j < Q; ++j) {
      const double he = 0.5 * (f.response(float(freq(i, P)), float(freq(j, Q))) +
                               f.response(float(freq((P - i) % P, P)), float(freq((Q - j) % Q, Q))));
      g[i * Q + j] *= he / double(P * Q);
    }
  dft_axis(false, 1);
  dft_axis(true, 1);
  std::vector<double> y(H * W);
  for (std::size_t i = 0; i < H; ++i)
    for (std::size_t j = 0; j < W; ++j) y[i * W + j] = g[i * Q + j].real();
  return y;
}

// Batches with partial groups of planes, filter counts with partial tuples, odd and prime
// sizes, both paddings: forward against the double reference, and the backward against the
// adjoint identity <layer(x), dy> = <x, backward(dy)> in double.
TEST(FourierConv2D, RealOutputOnRandomShapesAgainstDoubleDft) {
  const unsigned seed = 4242;
  std::mt19937 g(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  auto pick = [&](std::initializer_list<std::size_t> v) { return *(v.begin() + g() % v.size()); };
  for (int t = 0; t < 15; ++t) {
    std::size_t N = pick({1, 3, 9, 17}), C = pick({1, 2, 3}), F = pick({1, 5, 16, 17, 33});
    std::size_t H = pick({5, 8, 13, 28}), W = pick({6, 7, 11, 28});
    const char* padding = g() % 2 ? "same" : "circular";
    if (t == 14) N = 2, C = 1, F = 3, H = 70, W = 69, padding = "circular";  // above the tuple FFT's limit: the FFTW path
    std::vector<Filter> bank;
    for (std::size_t f = 0; f < F; ++f) bank.push_back(filter_gabor(0.05 + 0.3 * double(g() % 100) / 100, double(f), 0.06));
    bank[0] = fixture_bank()[2];  // a response with an odd part (dropped by the real output)
    FourierConv2D layer(bank, {.padding = padding});
    layer.build({H, W, C});
    auto [P, Q] = layer.grid();
    SCOPED_TRACE("case " + std::to_string(t) + ": N " + std::to_string(N) + " " + std::to_string(H) + "x" +
                 std::to_string(W) + "x" + std::to_string(C) + " F " + std::to_string(F) + " " + padding);
    Tensor x = random_tensor({N, H, W, C}, seed + t);
    const Tensor y = layer.call(x);
    std::vector<double> want(y.size());
    for (std::size_t n = 0; n < N; ++n)
      for (std::size_t c = 0; c < C; ++c) {
        std::vector<double> plane(H * W);
        for (std::size_t i = 0; i < H * W; ++i) plane[i] = x[(n * H * W + i) * C + c];
        for (std::size_t f = 0; f < F; ++f) {
          auto r = reference_plane(plane, H, W, P, Q, bank[f]);
          for (std::size_t i = 0; i < H * W; ++i) want[(n * H * W + i) * C * F + c * F + f] = r[i];
        }
      }
    fctest::expect_close(y, want, 2e-6, "forward");
    const Tensor dy = random_tensor(y.shape(), seed + 100 + t);
    const Tensor dx = layer.backward(dy);
    double lhs = 0, rhs = 0, scale = 0;
    for (std::size_t i = 0; i < y.size(); ++i) lhs += want[i] * dy[i], scale += std::fabs(want[i] * dy[i]);
    for (std::size_t i = 0; i < x.size(); ++i) rhs += double(x[i]) * dx[i];
    EXPECT_NEAR(lhs, rhs, 1e-5 * scale) << "adjoint identity";
  }
}

}  // namespace

namespace {

// x -> `a` -> `b` layer by layer (the unfused reference).
const Tensor& two_layers(Layer& a, Layer& b, const Tensor& x, bool training) { return b.call(a.call(x, training), training); }

void expect_same_floats(const Tensor& got, const Tensor& want) {
  ASSERT_EQ(got.shape(), want.shape());
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) EXPECT_TRUE(std::isnan(got[i])) << i;
    else ASSERT_EQ(got[i], want[i]) << i;  // bit for bit: the same transforms, relu and max order
  }
}

// FourierConv2D + MaxPooling2D in one pass (call_max_pooled, and Model's inference and frozen
// training paths) against the two layers: both paddings, pools that leave rows over, channel and
// filter counts off the 16-filter tuples, a NaN, and tanh (not fused).
TEST(FourierConv2D, FusedWithMaxPoolingEqualsTheTwoLayers) {
  struct Case {
    const char* padding;
    const char* activation;
    std::size_t filters, pool, h, w, c;
  };
  for (const Case& cs : {Case{"circular", "relu", 32, 2, 28, 28, 1}, Case{"same", "linear", 5, 3, 13, 11, 2},
                         Case{"circular", "relu", 17, 2, 9, 7, 3}, Case{"same", "tanh", 8, 2, 8, 8, 1},
                         Case{"circular", "linear", 3, 4, 12, 10, 2}}) {
    SCOPED_TRACE(std::string(cs.padding) + " " + cs.activation + " F" + std::to_string(cs.filters) + " pool " +
                 std::to_string(cs.pool));
    std::vector<Filter> bank;
    for (std::size_t f = 0; f < cs.filters; ++f) bank.push_back(filter_gabor(0.05 + 0.4 * double(f) / cs.filters, 0.3 * f, 0.06));
    const Shape in{cs.h, cs.w, cs.c};
    Tensor x = random_tensor({5, cs.h, cs.w, cs.c}, 23);
    x[11] = NAN;

    FourierConv2D layer(bank, {.padding = cs.padding, .activation = cs.activation});
    MaxPooling2D pool({cs.pool, cs.pool});
    layer.build(in);
    pool.build(layer.output_shape());
    const Tensor want = two_layers(layer, pool, x, false);
    const Tensor* fused = layer.call_max_pooled(x, pool);
    EXPECT_EQ(fused != nullptr, std::string(cs.activation) != "tanh");
    if (fused) expect_same_floats(*fused, want);

    // Through a model: inference, and training (the bank has no weights, so neither layer
    // needs a gradient and training fuses them too; the loss must be the unfused one's).
    set_random_seed(4);
    Sequential m;
    m.add(FourierConv2D(bank, {.padding = cs.padding, .activation = cs.activation, .input_shape = in}));
    m.add(MaxPooling2D({cs.pool, cs.pool}));
    m.add(Flatten());
    m.add(Dense(3));
    m.compile("sgd", "mse");
    const Tensor* h = &x;
    for (auto& l : m.layers()) h = &l->call(*h, false);
    expect_same_floats(m.predict(x), *h);
    Tensor y = random_tensor({5, 3}, 24);
    x[11] = 0.5f;  // a NaN would make the loss NaN whatever the path
    h = &x;
    for (auto& l : m.layers()) h = &l->call(*h, true);
    EXPECT_DOUBLE_EQ(m.train_on_batch(x, y), Loss::parse("mse").value(h->data(), y.data(), 5, 3));
  }
}

// FourierConv1D + MaxPooling1D: the same fused pass on 1 x L planes.
TEST(FourierConv1D, FusedWithMaxPooling1DEqualsTheTwoLayers) {
  for (const char* padding : {"same", "circular"}) {
    SCOPED_TRACE(padding);
    FourierConv1D layer({filter_gaussian_lowpass(0.1), filter_gaussian_bandpass(0.2, 0.05), filter_gaussian_highpass(0.3)},
                        {.padding = padding, .activation = "relu"});
    MaxPooling1D pool(3);
    layer.build({50, 2});
    pool.build(layer.output_shape());
    Tensor x = random_tensor({4, 50, 2}, 25);
    const Tensor want = two_layers(layer, pool, x, false);
    const Tensor* fused = layer.call_max_pooled(x, pool);
    ASSERT_NE(fused, nullptr);
    expect_same_floats(*fused, want);
  }
}

}  // namespace

#if defined(__SSE2__) && defined(__x86_64__)
// The layer computes with flush-to-zero and denormals-are-zero on (src/flush_denormals.hpp:
// subnormal response tails cost Intel cores ~100 cycles each), as TensorFlow runs its ops, and
// gives the caller's threads back their own floating-point mode.
TEST(FourierConv2D, FlushesSubnormalsAndLeavesTheCallersModeAsItWas) {
  constexpr unsigned kFtzDaz = 0x8040u;
  const unsigned before = _mm_getcsr();
  std::vector<unsigned> workers_before(std::size_t(omp_get_max_threads()), 0);
#pragma omp parallel
  workers_before[std::size_t(omp_get_thread_num())] = _mm_getcsr() & kFtzDaz;
  // A response of 1e-39 (subnormal) everywhere: without the flush, y = 1e-39 * x.
  const float tiny = 1e-39f;
  ASSERT_GT(tiny, 0.0f);
  for (const char* output : {"real", "magnitude"})  // the tuple-FFT bank and the FFTW path
    for (const bool caller_flushes : {false, true}) {
      _mm_setcsr(caller_flushes ? (before | kFtzDaz) : (before & ~kFtzDaz));
      FourierConv2D layer([tiny](float, float) { return tiny; }, {.output = output});
      layer.build({8, 8, 1});
      Tensor x({3, 8, 8, 1}, 1.0f);
      Tensor y = layer.call(x);
      Tensor dx = layer.backward(Tensor(y.shape(), 1.0f));
      const std::string where = std::string(output) + (caller_flushes ? ", caller with FTZ/DAZ" : ", caller without");
      for (std::size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], 0.0f) << where << " at " << i;
      for (std::size_t i = 0; i < dx.size(); ++i) ASSERT_EQ(dx[i], 0.0f) << where << " at " << i;
      EXPECT_EQ(_mm_getcsr() & kFtzDaz, caller_flushes ? kFtzDaz : 0u) << where;
    }
  _mm_setcsr(before);
  std::vector<unsigned> workers_after(workers_before.size(), 1);
#pragma omp parallel
  workers_after[std::size_t(omp_get_thread_num())] = _mm_getcsr() & kFtzDaz;
  EXPECT_EQ(workers_after, workers_before);
  // A normal response is untouched: 1e-30 is a normal float.
  FourierConv2D layer([](float, float) { return 1e-30f; });
  layer.build({8, 8, 1});
  Tensor y = layer.call(Tensor({1, 8, 8, 1}, 1.0f));
  for (std::size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], 1e-30f, 1e-36f) << i;
}
#endif
