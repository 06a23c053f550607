// The 1-D layers (issue 12): Conv1D, MaxPooling1D, AveragePooling1D, the global poolings,
// FourierConv1D and SpectralConv1D, each against an independent double-precision brute force
// of its definition, with finite-difference gradients. Keras parity of their files and
// predictions: tests/nn/test_saving.cpp (fixtures written by real Keras).
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <numbers>

#include "fourierconv/filters.hpp"
#include "fourierconv/nn.hpp"
#include "nn/gradcheck.hpp"
#include "reference.hpp"

using namespace fourierconv;
using namespace fourierconv::nn;
using fctest::random_tensor;

namespace {

using cd = std::complex<double>;
constexpr double kPi = std::numbers::pi;

using fctest::message;

// Keras's Conv1D: y[n,t,f] = b[f] + sum_{u,c} x[n, t*s + u*d - lo, c] K[u,c,f] (zeros outside),
// with lo = 0 (valid), d(k-1) (causal) or Keras's 'same' split.
std::vector<double> conv1d_reference(const Tensor& x, const Tensor& k, const Tensor* b, std::size_t s, std::size_t d,
                                     const std::string& padding, std::size_t* out_len) {
  const long N = long(x.dim(0)), L = long(x.dim(1)), C = long(x.dim(2)), K = long(k.dim(0)), F = long(k.dim(2));
  const long span = long(d) * (K - 1) + 1;
  long OL, lo;
  if (padding == "valid") OL = (L - span) / long(s) + 1, lo = 0;
  else if (padding == "causal") OL = (L + long(s) - 1) / long(s), lo = span - 1;
  else OL = (L + long(s) - 1) / long(s), lo = std::max(0L, (OL - 1) * long(s) + span - L) / 2;
  *out_len = std::size_t(OL);
  std::vector<double> y(std::size_t(N * OL * F));
  for (long n = 0; n < N; ++n)
    for (long t = 0; t < OL; ++t)
      for (long f = 0; f < F; ++f) {
        double acc = b ? (*b)[std::size_t(f)] : 0.0;
        for (long u = 0; u < K; ++u) {
          const long i = t * long(s) + u * long(d) - lo;
          if (i < 0 || i >= L) continue;
          for (long c = 0; c < C; ++c) acc += double(x[std::size_t((n * L + i) * C + c)]) * k[std::size_t((u * C + c) * F + f)];
        }
        y[std::size_t((n * OL + t) * F + f)] = acc;
      }
  return y;
}

}  // namespace

TEST(Conv1D, MatchesTheDefinitionForEveryPaddingStrideDilationAndAlgorithm) {
  struct Case {
    std::size_t L, C, F, k, s, d;
    const char* padding;
  };
  const Case cases[] = {{37, 3, 5, 3, 1, 1, "valid"}, {37, 3, 5, 3, 1, 2, "causal"}, {16, 2, 4, 4, 2, 1, "same"},
                        {13, 1, 3, 5, 3, 1, "causal"}, {29, 4, 2, 7, 1, 1, "same"},  {64, 2, 3, 31, 1, 1, "causal"},
                        {11, 2, 2, 11, 1, 1, "valid"}, {7, 3, 4, 2, 2, 3, "same"}};
  for (const Case& c : cases)
    for (const char* algo : {"direct", "fft", "auto"}) {
      SCOPED_TRACE(std::string(c.padding) + " L=" + std::to_string(c.L) + " k=" + std::to_string(c.k) + " s=" +
                   std::to_string(c.s) + " d=" + std::to_string(c.d) + " " + algo);
      Conv1D conv(c.F, c.k, {.strides = c.s, .padding = c.padding, .dilation_rate = c.d, .algorithm = algo});
      conv.build({c.L, c.C});
      ASSERT_EQ(conv.weights()[0]->value.shape(), (Shape{c.k, c.C, c.F}));  // Keras's layout
      conv.weights()[1]->value = random_tensor({c.F}, 3);
      Tensor x = random_tensor({3, c.L, c.C}, 11);
      std::size_t OL = 0;
      auto want = conv1d_reference(x, conv.weights()[0]->value, &conv.weights()[1]->value, c.s, c.d, c.padding, &OL);
      Tensor y = conv.call(x);
      ASSERT_EQ(y.shape(), (Shape{3, OL, c.F}));
      fctest::expect_close(y, want, 1e-5, "Conv1D");
    }
}

TEST(Conv1D, GradientsMatchFiniteDifferences) {
  for (const char* algo : {"direct", "fft"})
    for (const char* padding : {"causal", "same", "valid"}) {
      SCOPED_TRACE(std::string(algo) + " " + padding);
      Conv1D a(3, 4, {.padding = padding, .activation = "tanh", .algorithm = algo});
      a.build({19, 2});
      fctest::check_layer_gradients(a, random_tensor({2, 19, 2}, 5), 21);
    }
  Conv1D strided(3, 3, {.strides = 2, .padding = "causal", .dilation_rate = 2});
  strided.build({15, 2});
  fctest::check_layer_gradients(strided, random_tensor({2, 15, 2}, 6), 22);
}

TEST(Conv1D, BadArgumentsGiveClearErrors) {
  EXPECT_NE(message([] { Conv2D(2, {3, 3}, {.padding = "causal"}); }).find("causal' is for Conv1D only"), std::string::npos);
  EXPECT_NE(message([] { Conv1D(2, 0); }).find("Conv1D: kernel_size must be positive, got 0"), std::string::npos);
  EXPECT_NE(message([] { Conv1D(2, 3, {.padding = "full"}); }).find("expected valid, same or causal"), std::string::npos);
  Conv1D c(2, 3);
  EXPECT_NE(message([&] { c.build({8, 8, 1}); }).find("expected input shape (L, C)"), std::string::npos);
  Conv1D big(2, 9);
  EXPECT_NE(message([&] { big.build({5, 1}); }).find("does not fit"), std::string::npos);
  EXPECT_NE(message([] { MaxPooling1D(2, {.padding = "causal"}); }).find("valid or same"), std::string::npos);
}

TEST(Pooling1D, MatchTheDefinitionAndTheirGradients) {
  Tensor x = random_tensor({2, 11, 3}, 8);
  for (const char* padding : {"valid", "same"})
    for (std::size_t s : {1, 2, 3}) {
      SCOPED_TRACE(std::string(padding) + " s=" + std::to_string(s));
      MaxPooling1D mp(3, {.strides = s, .padding = padding});
      AveragePooling1D ap(3, {.strides = s, .padding = padding});
      mp.build({11, 3});
      ap.build({11, 3});
      const std::size_t OL = mp.output_shape()[0];
      const long lo = padding == std::string("same") ? std::max(0L, long((OL - 1) * s + 3) - 11) / 2 : 0;
      std::vector<double> wmax, wavg;
      for (std::size_t n = 0; n < 2; ++n)
        for (std::size_t t = 0; t < OL; ++t)
          for (std::size_t c = 0; c < 3; ++c) {
            double m = -INFINITY, sum = 0;
            int cnt = 0;
            for (long u = 0; u < 3; ++u) {
              const long i = long(t * s) + u - lo;
              if (i < 0 || i >= 11) continue;
              const double v = x[(n * 11 + std::size_t(i)) * 3 + c];
              m = std::max(m, v), sum += v, ++cnt;
            }
            wmax.push_back(m);
            wavg.push_back(sum / cnt);
          }
      fctest::expect_close(mp.call(x), wmax, 1e-6, "MaxPooling1D");
      fctest::expect_close(ap.call(x), wavg, 1e-6, "AveragePooling1D");
      fctest::check_layer_gradients(ap, x, 3);
      fctest::check_layer_gradients(mp, x, 4);
    }
}

TEST(GlobalPooling, AverageAndMaxOverEveryAxisButChannelsWithKeepdims) {
  for (std::size_t rank : {1, 2})
    for (bool keep : {false, true}) {
      SCOPED_TRACE("rank " + std::to_string(rank) + (keep ? " keepdims" : ""));
      const Shape in = rank == 1 ? Shape{7, 3} : Shape{4, 5, 3};
      GlobalPooling avg(GlobalPooling::Kind::Average, rank, {.keepdims = keep});
      GlobalPooling mx(GlobalPooling::Kind::Max, rank, {.keepdims = keep});
      avg.build(in);
      mx.build(in);
      Shape want_shape = keep ? Shape(rank, 1) : Shape{};
      want_shape.push_back(3);
      EXPECT_EQ(avg.output_shape(), want_shape);
      EXPECT_EQ(avg.class_name(), "GlobalAveragePooling" + std::to_string(rank) + "D");
      EXPECT_EQ(mx.class_name(), "GlobalMaxPooling" + std::to_string(rank) + "D");
      Shape xs{2};
      xs.insert(xs.end(), in.begin(), in.end());
      Tensor x = random_tensor(xs, 12);
      const std::size_t cells = x.size() / 2 / 3;
      std::vector<double> wa, wm;
      for (std::size_t n = 0; n < 2; ++n)
        for (std::size_t c = 0; c < 3; ++c) {
          double s = 0, m = -INFINITY;
          for (std::size_t i = 0; i < cells; ++i) s += x[(n * cells + i) * 3 + c], m = std::max<double>(m, x[(n * cells + i) * 3 + c]);
          wa.push_back(s / double(cells));
          wm.push_back(m);
        }
      fctest::expect_close(avg.call(x), wa, 1e-6, "GlobalAveragePooling");
      fctest::expect_close(mx.call(x), wm, 0, "GlobalMaxPooling");
      fctest::check_layer_gradients(avg, x, 13);
      fctest::check_layer_gradients(mx, x, 14);
    }
  GlobalAveragePooling1D g;
  EXPECT_NE(message([&] { g.build({4, 4, 2}); }).find("expected input shape (L, C)"), std::string::npos);
}

namespace {
// y = Re(ifft(fft(xpad) . H(0, f))) per filter and channel (output c*F + f), cropped to L,
// by naive DFTs in double; Q = L (circular) or next_fast_size(2L - 1) (same).
std::vector<double> fourier1d_reference(const Tensor& x, const std::vector<Filter>& bank, bool same, bool magnitude) {
  const std::size_t N = x.dim(0), L = x.dim(1), C = x.dim(2), F = bank.size();
  const std::size_t Q = same ? next_fast_size(2 * L - 1) : L;
  std::vector<double> y(N * L * C * F);
  for (std::size_t n = 0; n < N; ++n)
    for (std::size_t c = 0; c < C; ++c) {
      std::vector<cd> X(Q);
      for (std::size_t k = 0; k < Q; ++k)
        for (std::size_t t = 0; t < L; ++t) X[k] += double(x[(n * L + t) * C + c]) * std::polar(1.0, -2 * kPi * double(k * t) / double(Q));
      for (std::size_t f = 0; f < F; ++f)
        for (std::size_t t = 0; t < L; ++t) {
          cd s = 0;
          for (std::size_t k = 0; k < Q; ++k) {
            const double fr = k < (Q + 1) / 2 ? double(k) / double(Q) : (double(k) - double(Q)) / double(Q);
            s += X[k] * double(bank[f].response(0.0f, float(fr))) * std::polar(1.0, 2 * kPi * double(k * t) / double(Q));
          }
          s /= double(Q);
          y[((n * L + t) * C + c) * F + f] = magnitude ? std::abs(s) : s.real();
        }
    }
  return y;
}
}  // namespace

TEST(FourierConv1D, MatchesTheDftDefinitionWithNoParametersAndGradientsFlow) {
  const std::vector<Filter> bank{make_filter("gaussian_lowpass:0.1"), make_filter("ideal_bandpass:0.1,0.3"),
                                 make_filter("gabor:0.2,0,0.05")};
  for (const char* padding : {"circular", "same"})
    for (const char* output : {"real", "magnitude"})
      for (std::size_t L : {1, 2, 17, 32}) {
        SCOPED_TRACE(std::string(padding) + " " + output + " L=" + std::to_string(L));
        FourierConv1D layer(bank, {.padding = padding, .output = output});
        layer.build({L, 2});
        EXPECT_EQ(layer.output_shape(), (Shape{L, 6}));
        EXPECT_EQ(layer.count_params(), 0u);
        Tensor x = random_tensor({2, L, 2}, unsigned(L));
        fctest::expect_close(layer.call(x), fourier1d_reference(x, bank, padding == std::string("same"), output == std::string("magnitude")),
                             1e-5, "FourierConv1D");
        if (L > 2) fctest::check_layer_gradients(layer, x, 31);
      }
  clear_session();
  Sequential m;
  m.add(Input{{32, 1}});
  m.add(FourierConv1D(bank));
  const std::string s = m.summary_text({.line_length = 76, .detail = true});
  EXPECT_NE(s.find("fourier_conv1d (FourierConv1D)"), std::string::npos) << s;
  EXPECT_NE(s.find("17 bins per filter"), std::string::npos) << s;
  EXPECT_NE(s.find("0 weights"), std::string::npos) << s;
  EXPECT_NE(s.find("Trainable params: 0"), std::string::npos) << s;
}

namespace {
// y_f = irfft(sum_c rfft(x_c)[k] W_cf[k] for k < M, L) + b_f by naive DFTs in double.
std::vector<double> spectral1d_reference(const Tensor& x, const Tensor& w, const Tensor& b, std::size_t F, std::size_t M) {
  const std::size_t N = x.dim(0), L = x.dim(1), C = x.dim(2);
  std::vector<double> y(N * L * F);
  for (std::size_t n = 0; n < N; ++n)
    for (std::size_t f = 0; f < F; ++f) {
      std::vector<cd> Y(M);
      for (std::size_t k = 0; k < M; ++k)
        for (std::size_t c = 0; c < C; ++c) {
          cd X = 0;
          for (std::size_t t = 0; t < L; ++t) X += double(x[(n * L + t) * C + c]) * std::polar(1.0, -2 * kPi * double(k * t) / double(L));
          const std::size_t o = ((c * F + f) * M + k) * 2;
          Y[k] += X * cd(w[o], w[o + 1]);
        }
      for (std::size_t t = 0; t < L; ++t) {
        double s = 0;
        for (std::size_t k = 0; k < M; ++k) {
          const double wk = (k == 0 || (L % 2 == 0 && k == L / 2)) ? 1.0 : 2.0;
          s += wk * (Y[k] * std::polar(1.0, 2 * kPi * double(k * t) / double(L))).real();
        }
        y[(n * L + t) * F + f] = s / double(L) + b[f];
      }
    }
  return y;
}
}  // namespace

TEST(SpectralConv1D, MatchesTheDftDefinitionCountsAsFnoAndItsGradients) {
  struct Case {
    std::size_t L, C, F, M;
  };
  for (Case c : {Case{16, 3, 4, 5}, Case{16, 2, 2, 9}, Case{15, 2, 3, 8}, Case{7, 1, 1, 1}, Case{1, 2, 2, 1}}) {
    SCOPED_TRACE("L=" + std::to_string(c.L) + " M=" + std::to_string(c.M));
    SpectralConv1D layer(c.F, c.M);
    layer.build({c.L, c.C});
    EXPECT_EQ(layer.count_params(), 2 * c.C * c.F * c.M + c.F);  // FNO's count_params: complex = 2
    auto w = layer.weights();
    ASSERT_EQ(w[0]->value.shape(), (Shape{c.C, c.F, c.M, 2}));
    w[0]->value = random_tensor(w[0]->value.shape(), 41);
    w[1]->value = random_tensor({c.F}, 42);
    Tensor x = random_tensor({2, c.L, c.C}, 43);
    fctest::expect_close(layer.call(x), spectral1d_reference(x, w[0]->value, w[1]->value, c.F, c.M), 1e-5, "SpectralConv1D");
    fctest::check_layer_gradients(layer, x, 44);
    // With an activation: applied once, and its derivative in the gradients.
    SpectralConv1D act(c.F, c.M, {.activation = "tanh"});
    act.build({c.L, c.C});
    act.weights()[0]->value = w[0]->value;
    act.weights()[1]->value = w[1]->value;
    std::vector<double> want = spectral1d_reference(x, w[0]->value, w[1]->value, c.F, c.M);
    for (double& v : want) v = std::tanh(v);
    fctest::expect_close(act.call(x), want, 1e-5, "SpectralConv1D tanh");
    fctest::check_layer_gradients(act, x, 45);
  }
  SpectralConv1D big(2, 10);
  EXPECT_NE(message([&] { big.build({16, 1}); }).find("modes 10 is larger than the spectrum of a length-16 signal: at most 9"),
            std::string::npos);
  EXPECT_NE(message([] { SpectralConv1D(2, 0); }).find("modes must be >= 1"), std::string::npos);
}

TEST(Layers1D, ASignalModelTrainsSavesAndLoadsWithTheSamePredictions) {
  clear_session();
  set_random_seed(12);
  Sequential m;
  m.add(Conv1D(6, 5, {.padding = "causal", .activation = "relu", .input_shape = {48, 1}}));
  m.add(MaxPooling1D(2));
  m.add(FourierConv1D({make_filter("gaussian_lowpass:0.15"), make_filter("gaussian_highpass:0.15")}, {.padding = "same"}));
  m.add(SpectralConv1D(4, 6, {.activation = "tanh"}));
  m.add(AveragePooling1D(2));
  m.add(Conv1D(4, 3, {.padding = "same", .dilation_rate = 2, .activation = "relu"}));
  m.add(GlobalMaxPooling1D());
  m.add(Dense(2, {.activation = "softmax"}));
  m.compile(std::make_unique<Adam>(0.01), Loss::parse("sparse_categorical_crossentropy"), {"accuracy"});
  // Two classes: a slow sine or a fast one, with noise.
  const std::size_t N = 64;
  Tensor x({N, 48, 1}), y({N});
  std::mt19937 g(3);
  std::normal_distribution<float> noise(0, 0.3f);
  for (std::size_t n = 0; n < N; ++n) {
    y[n] = float(n % 2);
    const double f = n % 2 ? 0.3 : 0.05, phase = double(g() % 100) / 10;
    for (std::size_t t = 0; t < 48; ++t) x[n * 48 + t] = float(std::sin(2 * kPi * f * double(t) + phase)) + noise(g);
  }
  const double before = m.evaluate(x, y, 32, 0).loss;
  m.fit(x, y, {.batch_size = 16, .epochs = 15, .verbose = 0});
  const auto after = m.evaluate(x, y, 32, 0);
  EXPECT_LT(after.loss, before * 0.5);
  EXPECT_GT(after.accuracy, 0.9);
  const std::string path = ::testing::TempDir() + "/fc_signal_model.keras";
  save_model(m, path);
  Model back = load_model(path);
  Tensor a = m.predict(x), b = back.predict(x);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]);
  // The same table (the trained model also lists its optimizer's parameters, as Keras does).
  const std::string table = m.summary_text({.line_length = 76});
  EXPECT_EQ(back.summary_text({.line_length = 76}).substr(0, table.find(" Total params")), table.substr(0, table.find(" Total params")));
}
