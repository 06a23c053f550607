// signal.hpp against the long-double reference on a seeded random table: ranks 1 to 4, every
// element type, every mode and method, convolution along chosen axes with broadcasting, odd,
// prime and even sizes, kernels larger than the input, one-element axes; correlate; the
// convolve2d boundaries; edge cases and errors as scipy has them.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <random>

#include "fourierconv/error.hpp"
#include "fourierconv/fft.hpp"
#include "fourierconv/memory_limit.hpp"
#include "fourierconv/signal.hpp"
#include "signal/choose.hpp"
#include "signal/engine.hpp"
#include "signal/reference_nd.hpp"
#include "simd.hpp"

using namespace fourierconv;
using fctest::cld;
using fctest::NdRef;

namespace {

NdRef random_ref(const Shape& shape, DType t, std::mt19937& g) {
  NdRef r;
  r.shape = shape;
  std::size_t n = 1;
  for (auto d : shape) n *= d;
  std::uniform_real_distribution<double> u(-1, 1);
  for (std::size_t i = 0; i < n; ++i) {
    if (t == DType::Bool) r.v.push_back(g() % 2 ? 1 : 0);
    else if (t == DType::UInt8) r.v.push_back((long double)(g() % 11));
    else if (is_integer(t)) r.v.push_back((long double)(long(g() % 11) - 5));
    else if (is_complex(t)) r.v.push_back(cld(u(g), u(g)));
    else r.v.push_back(u(g));
  }
  return r;
}

Array to_array(const NdRef& r, DType t) {
  Array c(DType::Complex128, r.shape);
  for (std::size_t i = 0; i < r.v.size(); ++i) c.data_as<std::complex<double>>()[i] = std::complex<double>(double(r.v[i].real()), double(r.v[i].imag()));
  return Array::copy_of(c.view(), t);
}

NdRef from_array(const Array& a) {
  NdRef r;
  r.shape = a.shape();
  Array c = Array::copy_of(a.view(), DType::Complex128);
  for (std::size_t i = 0; i < c.size(); ++i) r.v.push_back(cld(c.data_as<std::complex<double>>()[i]));
  return r;
}

// The result type's rounding: values of an integer type wrap as the type does.
NdRef cast_like(NdRef r, DType t) {
  for (auto& v : r.v) {
    if (t == DType::Bool) v = v.real() != 0;
    else if (t == DType::UInt8) v = (long double)(std::uint8_t(std::int64_t(v.real())));
    else if (t == DType::Int8) v = (long double)(std::int8_t(std::int64_t(v.real())));
    else if (t == DType::Int16) v = (long double)(std::int16_t(std::int64_t(v.real())));
  }
  return r;
}

double tolerance(DType compute) {
  switch (compute) {
    case DType::Float32:
    case DType::Complex64: return 2e-6;
    case DType::Float64:
    case DType::Complex128: return 5e-15;
    default: return 0;  // integers: exact
  }
}

void expect_matches(const Array& got, const NdRef& want, DType compute, long double scale, const std::string& what) {
  ASSERT_EQ(got.shape(), Shape(want.shape.begin(), want.shape.end())) << what;
  const NdRef g = from_array(got);
  long double worst = 0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < want.v.size(); ++i) {
    const long double e = std::abs(g.v[i] - want.v[i]);
    if (!(e <= worst)) worst = std::isnan(e) ? INFINITY : e, at = i;
  }
  EXPECT_LE(double(worst), tolerance(compute) * double(scale))
      << what << ": worst error at " << at << ": got " << double(g.v[at].real()) << "+" << double(g.v[at].imag())
      << "i, want " << double(want.v[at].real()) << "+" << double(want.v[at].imag()) << "i";
}

const char* mode_name(Mode m) { return m == Mode::Full ? "full" : m == Mode::Same ? "same" : m == Mode::Valid ? "valid" : "circular"; }

TEST(Signal, RandomTableAgainstLongDoubleReference) {
  const unsigned seed = 777;
  std::mt19937 g(seed);
  SCOPED_TRACE("table seed " + std::to_string(seed));
  const DType types[] = {DType::Float32, DType::Float64, DType::Complex64, DType::Complex128,
                         DType::Int16,   DType::UInt8,   DType::Int64,     DType::Bool};
  const Method methods[] = {Method::Direct, Method::Fft, Method::OverlapAdd, Method::Auto};
  const Mode modes[] = {Mode::Full, Mode::Same, Mode::Valid, Mode::Circular};
  int ran = 0;
  for (int t = 0; t < 400; ++t) {
    const DType t1 = types[g() % 8], t2 = g() % 4 ? t1 : types[g() % 8];
    const DType rt = result_type(t1, t2);
    Method method = methods[g() % 4];
    if ((rt == DType::Bool) && method != Method::Direct) method = Method::Direct;  // FFTs of bools: not scipy's
    const Mode mode = modes[g() % 4];
    const std::size_t rank = 1 + g() % 4;
    // Convolved axes: all (scipy's convolve), or a random subset (ours) with broadcast others.
    const bool subset = rank > 1 && g() % 2;
    std::vector<bool> conv(rank, true);
    std::vector<long> axes;
    if (subset) {
      for (std::size_t a = 0; a < rank; ++a) conv[a] = g() % 2;
      conv[g() % rank] = true;
      for (std::size_t a = 0; a < rank; ++a)
        if (conv[a]) axes.push_back(g() % 2 ? long(a) : long(a) - long(rank));  // negative axes too
    }
    Shape s1, s2;
    const std::size_t big = rank == 1 ? 60 : rank == 2 ? 13 : rank == 3 ? 7 : 4;
    for (std::size_t a = 0; a < rank; ++a) {
      if (conv[a]) {
        s1.push_back(1 + g() % big);
        s2.push_back(1 + g() % (g() % 4 ? std::max<std::size_t>(2, big / 2) : big + 3));  // sometimes larger than in1
      } else {
        const std::size_t n = 1 + g() % 4;
        const int which = int(g() % 3);
        s1.push_back(which == 1 ? 1 : n);
        s2.push_back(which == 2 ? 1 : n);
      }
    }
    std::string what = "case " + std::to_string(t) + ": " + to_string(t1) + shape_to_string(s1) + " * " + to_string(t2) +
                       shape_to_string(s2) + " " + mode_name(mode) + " " + to_string(method) + (subset ? " axes" : "");
    SCOPED_TRACE(what);
    const Array A = to_array(random_ref(s1, t1, g), t1), B = to_array(random_ref(s2, t2, g), t2);
    const NdRef a = from_array(A), b = from_array(B);  // the values as stored in their types
    signal::ConvolveOptions opt;
    if (subset) opt.axes = axes;
    // Valid mode: scipy swaps when in2 contains in1; neither containing the other is an error.
    bool ok1 = true, ok2 = true;
    for (std::size_t i = 0; i < rank; ++i)
      if (conv[i]) ok1 = ok1 && s1[i] >= s2[i], ok2 = ok2 && s2[i] >= s1[i];
    if (mode == Mode::Valid && !ok1 && !ok2) {
      EXPECT_THROW(signal::convolve(A.view(), B.view(), mode, method, opt), Error);
      continue;
    }
    const bool swap = mode == Mode::Valid && !ok1;
    const NdRef want = cast_like(fctest::reference_convolve(swap ? b : a, swap ? a : b, conv, mode_name(mode)), rt);
    MethodChoice chosen;
    const Array y = signal::convolve(A.view(), B.view(), mode, method, opt, &chosen);
    EXPECT_EQ(y.dtype(), rt);
    long double scale = 1;
    std::size_t taps = 1;
    for (std::size_t i = 0; i < rank; ++i)
      if (conv[i]) taps *= std::min(s1[i], s2[i]);
    scale = (long double)(taps) * (is_complex(rt) ? 2 : 1);
    const DType compute = chosen.method == Method::Direct ? rt : fft_type(rt);
    expect_matches(y, want, is_floating(rt) ? compute : rt, scale, what + " -> " + to_string(chosen.method));
    ++ran;
  }
  EXPECT_GT(ran, 300);
}

TEST(Signal, CorrelateAndConvolve2dBoundaries) {
  std::mt19937 g(31);
  for (int t = 0; t < 60; ++t) {
    const DType dt = t % 3 == 0 ? DType::Complex128 : t % 3 == 1 ? DType::Float32 : DType::Int32;
    const Shape s1{1 + g() % 9, 1 + g() % 9}, s2{1 + g() % 5, 1 + g() % 5};
    const Mode mode = t % 3 == 0 ? Mode::Full : t % 3 == 1 ? Mode::Same : Mode::Valid;
    const char* bnames[] = {"fill", "wrap", "symm"};
    const char* bn = bnames[g() % 3];
    SCOPED_TRACE("case " + std::to_string(t) + " " + to_string(dt) + shape_to_string(s1) + shape_to_string(s2) + " " +
                 mode_name(mode) + " " + bn);
    const Array A = to_array(random_ref(s1, dt, g), dt), B = to_array(random_ref(s2, dt, g), dt);
    const NdRef a = from_array(A), b = from_array(B);
    const bool ok1 = s1[0] >= s2[0] && s1[1] >= s2[1], ok2 = s2[0] >= s1[0] && s2[1] >= s1[1];
    if (mode == Mode::Valid && !ok1 && !ok2) {
      EXPECT_THROW(signal::convolve2d(A.view(), B.view(), mode), Error);
      continue;
    }
    const bool swap = mode == Mode::Valid && !ok1;
    const std::complex<double> fill = std::string(bn) == "fill" ? std::complex<double>(t % 2 ? 2.0 : 0.0) : 0.0;
    const long double scale = (long double)(s2[0] * s2[1] + 4) * 2;
    const DType compute = dt;
    // convolve2d: boundaries extend in1.
    const NdRef want = fctest::reference_convolve(swap ? b : a, swap ? a : b, {true, true}, mode_name(mode), bn, cld(fill));
    for (Method m : {Method::Auto}) {
      (void)m;
      expect_matches(signal::convolve2d(A.view(), B.view(), mode, signal::parse_boundary(bn), fill), want, compute, scale,
                     "convolve2d");
    }
    // correlate: convolve with the reversed, conjugated in2.
    NdRef br = b;
    for (std::size_t i = 0; i < b.v.size(); ++i) br.v[i] = std::conj(b.v[b.v.size() - 1 - i]);
    const NdRef wc = fctest::reference_convolve(swap ? br : a, swap ? a : br, {true, true}, mode_name(mode));
    for (Method m : {Method::Direct, Method::Fft})
      expect_matches(signal::correlate(A.view(), B.view(), mode, m), wc, m == Method::Direct ? dt : fft_type(dt), scale,
                     std::string("correlate ") + to_string(m));
  }
}

// The direct method's several-rows kernel (engine_direct.cpp, rows_block): float32 and float64
// images wide enough for its 64-column blocks, kernels of 3 to 16 rows (3 is its threshold, 6
// where it takes 6 rows) and 1 to 12 columns, row counts that leave a partial block, a 3-D case
// (groups of kernel rows), every mode, and convolve2d's wrap/symm (the rows come from the
// extension rule) and a non-zero fill (the one-row path).
TEST(Signal, DirectRowBlocksAgainstLongDoubleReference) {
  std::mt19937 g(4242);
  const Mode modes[] = {Mode::Full, Mode::Same, Mode::Valid, Mode::Circular};
  for (int t = 0; t < 48; ++t) {
    const DType dt = t % 2 ? DType::Float64 : DType::Float32;
    const bool three = t % 6 == 5;
    Shape s1, s2;
    if (three) s1 = {2 + g() % 3, 6 + g() % 10, 20 + g() % 60}, s2 = {1 + g() % 2, 4 + g() % 4, 1 + g() % 9};
    else s1 = {4 + g() % 30, 16 + g() % 140}, s2 = {3 + g() % 14, 1 + g() % 12};
    const Mode mode = modes[t % 4];
    bool fits = true;
    for (std::size_t i = 0; i < s1.size(); ++i) fits = fits && s1[i] >= s2[i];
    if (!fits) continue;
    SCOPED_TRACE("case " + std::to_string(t) + " " + to_string(dt) + shape_to_string(s1) + shape_to_string(s2) + " " +
                 mode_name(mode));
    const Array A = to_array(random_ref(s1, dt, g), dt), B = to_array(random_ref(s2, dt, g), dt);
    const NdRef a = from_array(A), b = from_array(B);
    std::size_t taps = 1;
    for (auto k : s2) taps *= k;
    const long double scale = (long double)(taps + 4);
    const std::vector<bool> all(s1.size(), true);
    expect_matches(signal::convolve(A.view(), B.view(), mode, Method::Direct),
                   fctest::reference_convolve(a, b, all, mode_name(mode)), dt, scale, "convolve direct");
    if (three || mode == Mode::Circular) continue;
    const char* bn = t % 3 == 0 ? "wrap" : t % 3 == 1 ? "symm" : "fill";
    const double fill = t % 3 == 2 ? 1.5 : 0.0;
    expect_matches(signal::convolve2d(A.view(), B.view(), mode, signal::parse_boundary(bn), fill),
                   fctest::reference_convolve(a, b, all, mode_name(mode), bn, cld(fill)), dt, scale,
                   std::string("convolve2d ") + bn);
  }
}

// correlate along chosen axes reverses the kernel along those axes only: along a batch axis,
// kernel item i meets input item i (it met item n - 1 - i).
TEST(Signal, CorrelateAlongAxesKeepsBatchItemsPaired) {
  Array x(DType::Float64, {2, 5}), k(DType::Float64, {2, 2});
  for (std::size_t i = 0; i < 10; ++i) x.data_as<double>()[i] = double(i * i % 7) - 2;
  const double kv[4] = {1, 3, 10, -2};
  std::copy(kv, kv + 4, k.data_as<double>());
  for (Method m : {Method::Direct, Method::Fft}) {
    signal::ConvolveOptions o;
    o.axes = std::vector<long>{-1};
    const Array y = signal::correlate(x.view(), k.view(), Mode::Full, m, o);
    ASSERT_EQ(y.shape(), Shape({2, 6}));
    for (std::size_t b = 0; b < 2; ++b)
      for (std::size_t t = 0; t < 6; ++t) {  // full: y[t] = sum_u x[t + u - 1] k[u]
        double want = 0;
        for (std::size_t u = 0; u < 2; ++u)
          if (t + u >= 1 && t + u - 1 < 5) want += x.data_as<double>()[b * 5 + t + u - 1] * kv[b * 2 + u];
        EXPECT_NEAR(y.data_as<double>()[b * 6 + t], want, 1e-12) << to_string(m) << " item " << b << " lag " << t;
      }
  }
}

// A kernel holding Inf against the zero padding: 0 * Inf is NaN on all four edges, as scipy's
// direct sum (the padding rows were skipped, so the top and bottom edges came out Inf), on the
// several-rows kernel (3 x 3) and the one-row one (2 x 2); convolve2d keeps a NaN of the input
// to the outputs whose windows hold it (it is the direct sum whatever the sizes).
TEST(Signal, NonFiniteValuesStayWhereTheDirectSumPutsThem) {
  for (DType dt : {DType::Float32, DType::Float64})
    for (std::size_t kk : {2, 3}) {
      SCOPED_TRACE(to_string(dt) + " kernel " + std::to_string(kk));
      Array x(DType::Float64, {6, 7}), k(DType::Float64, {kk, kk});
      for (std::size_t i = 0; i < x.size(); ++i) x.data_as<double>()[i] = 1.0;
      for (std::size_t i = 0; i < k.size(); ++i) k.data_as<double>()[i] = i == 0 ? INFINITY : 0.5;
      const Array X = Array::copy_of(x.view(), dt), K = Array::copy_of(k.view(), dt);
      for (int way = 0; way < 2; ++way) {
        const Array y = way ? signal::convolve2d(X.view(), K.view(), Mode::Full)
                            : signal::convolve(X.view(), K.view(), Mode::Full, Method::Direct);
        const Array yd = Array::copy_of(y.view(), DType::Float64);
        const std::size_t rows = 6 + kk - 1, cols = 7 + kk - 1;
        // The Inf tap (k[0][0]) reads E[i][j]: x[i][j] inside, the zero padding outside.
        for (std::size_t i = 0; i < rows; ++i)
          for (std::size_t j = 0; j < cols; ++j) {
            const double v = yd.data_as<double>()[i * cols + j];
            if (i < 6 && j < 7) EXPECT_TRUE(std::isinf(v)) << (way ? "convolve2d " : "convolve ") << i << "," << j << ": " << v;
            else EXPECT_TRUE(std::isnan(v)) << (way ? "convolve2d " : "convolve ") << i << "," << j << ": " << v;
          }
      }
    }
  Array x(DType::Float32, {64, 64}), k(DType::Float32, {31, 31});
  for (std::size_t i = 0; i < x.size(); ++i) x.data_as<float>()[i] = float(i % 13) * 0.1f;
  for (std::size_t i = 0; i < k.size(); ++i) k.data_as<float>()[i] = float(i % 7) * 0.01f + 0.01f;
  x.data_as<float>()[0] = NAN;
  const Array y = signal::convolve2d(x.view(), k.view(), Mode::Full);
  std::size_t nans = 0;
  for (std::size_t i = 0; i < y.size(); ++i) nans += std::isnan(y.data_as<float>()[i]);
  EXPECT_EQ(nans, 31u * 31u);
}

TEST(Signal, EdgeCasesAsScipy) {
  Array s1(DType::Float64, {}), s2(DType::Int32, {});
  s1.data_as<double>()[0] = 2.5;
  s2.data_as<std::int32_t>()[0] = 4;
  Array p = signal::convolve(s1.view(), s2.view());
  EXPECT_EQ(p.rank(), 0u);
  EXPECT_EQ(p.data_as<double>()[0], 10.0);
  Array e(DType::Float32, {0}), k(DType::Float32, {3});
  EXPECT_THROW(signal::convolve(e.view(), k.view()), Error);
  Array f = signal::fftconvolve(e.view(), k.view());
  EXPECT_EQ(f.dtype(), DType::Float64);
  EXPECT_EQ(f.shape(), (Shape{0}));
  EXPECT_EQ(signal::oaconvolve(k.view(), e.view()).shape(), (Shape{0}));
  Array m2(DType::Float32, {2, 2});
  try {
    signal::convolve(m2.view(), k.view());
    ADD_FAILURE();
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("same dimensionality"), std::string::npos) << err.what();
  }
  // NaN flows: the FFT spreads it, the direct sum keeps it local.
  Array x(DType::Float64, {5}), h(DType::Float64, {2});
  for (int i = 0; i < 5; ++i) x.data_as<double>()[i] = i;
  x.data_as<double>()[2] = NAN;
  h.data_as<double>()[0] = h.data_as<double>()[1] = 1;
  Array yd = signal::convolve(x.view(), h.view(), Mode::Full, Method::Direct);
  EXPECT_EQ(yd.data_as<double>()[0], 0.0);
  EXPECT_TRUE(std::isnan(yd.data_as<double>()[2]));
  Array yf = signal::convolve(x.view(), h.view(), Mode::Full, Method::Fft);
  EXPECT_TRUE(std::isnan(yf.data_as<double>()[0]));
  signal::ConvolveOptions strict;
  strict.check_finite = true;
  EXPECT_THROW(signal::convolve(x.view(), h.view(), Mode::Full, Method::Auto, strict), Error);
  // Integers: direct keeps the type, wrapping as numpy; fftconvolve gives float64.
  Array i8(DType::Int8, {2}), j8(DType::Int8, {2});
  i8.data_as<std::int8_t>()[0] = i8.data_as<std::int8_t>()[1] = 100;
  j8.data_as<std::int8_t>()[0] = j8.data_as<std::int8_t>()[1] = 2;
  Array w = signal::convolve(i8.view(), j8.view(), Mode::Full, Method::Direct);
  EXPECT_EQ(w.dtype(), DType::Int8);
  EXPECT_EQ(w.data_as<std::int8_t>()[1], -112);  // 400 wraps, as scipy's [-56, -112, -56]
  EXPECT_EQ(signal::convolve(i8.view(), j8.view(), Mode::Full, Method::Fft).data_as<std::int8_t>()[1], -112);
  EXPECT_EQ(signal::fftconvolve(i8.view(), j8.view()).dtype(), DType::Float64);
  // Axes: repeated, out of range, empty given, incompatible broadcast.
  Array a2(DType::Float64, {4, 5}), b2(DType::Float64, {2, 3});
  EXPECT_THROW(signal::fftconvolve(a2.view(), b2.view(), Mode::Full, std::vector<long>{1, 1}), Error);
  EXPECT_THROW(signal::fftconvolve(a2.view(), b2.view(), Mode::Full, std::vector<long>{2}), Error);
  EXPECT_THROW(signal::fftconvolve(a2.view(), b2.view(), Mode::Full, std::vector<long>{}), Error);
  EXPECT_THROW(signal::fftconvolve(a2.view(), b2.view(), Mode::Full, std::vector<long>{1}), Error);  // 4 vs 2
  // correlation_lags as scipy's.
  EXPECT_EQ(signal::correlation_lags(5, 3, Mode::Same), (std::vector<std::int64_t>{-1, 0, 1, 2, 3}));
  EXPECT_EQ(signal::correlation_lags(3, 5, Mode::Valid), (std::vector<std::int64_t>{-2, -1, 0}));
}

}  // namespace

namespace {

// Called from inside a user's OpenMP parallel region, each thread's convolution is its own
// (the direct sum's work-sharing loops once bound to the caller's team: each thread computed a
// share of the rows of its own problem, and threads on different shapes could deadlock at a
// barrier; a review's finding). Small direct sums (no team of their own), a larger one, and a
// planned Convolver, on two threads, against the same calls made outside.
TEST(Signal, CallsFromInsideAParallelRegionAreWhole) {
  std::mt19937 gen(5);
  std::uniform_real_distribution<float> d(-1, 1);
  const std::vector<std::pair<Shape, Shape>> cases = {{{64}, {5}}, {{32, 32}, {3, 3}}, {{96, 96}, {7, 7}}};
  for (const auto& [xs, ks] : cases) {
    std::vector<Array> xs_in, want;
    Array k(DType::Float32, ks);
    for (std::size_t i = 0; i < k.size(); ++i) k.data_as<float>()[i] = d(gen);
    for (int t = 0; t < 2; ++t) {
      xs_in.emplace_back(DType::Float32, xs);
      for (std::size_t i = 0; i < xs_in[t].size(); ++i) xs_in[t].data_as<float>()[i] = d(gen);
      want.push_back(signal::convolve(xs_in[t].view(), k.view(), Mode::Same, Method::Direct));
    }
    const signal::Convolver planned(xs, DType::Float32, k.view(), Mode::Same, Method::Direct);
    std::vector<Array> got(2), got_planned(2);
#pragma omp parallel num_threads(2)
    {
      const int t = omp_get_thread_num();
      if (t < 2) {
        got[t] = signal::convolve(xs_in[t].view(), k.view(), Mode::Same, Method::Direct);
        got_planned[t] = planned(xs_in[t].view());
      }
    }
    for (int t = 0; t < 2; ++t) {
      if (got[t].size() == 0) continue;  // (a team of one: thread 1 never ran)
      ASSERT_EQ(std::memcmp(got[t].data(), want[t].data(), want[t].nbytes()), 0) << shape_to_string(xs) << " thread " << t;
      ASSERT_EQ(std::memcmp(got_planned[t].data(), want[t].data(), want[t].nbytes()), 0)
          << shape_to_string(xs) << " thread " << t << " (Convolver)";
    }
  }
  // Threads on different shapes at once (a deadlock before).
  Array a(DType::Float64, {40}), b(DType::Float64, {50, 20}), ka(DType::Float64, {3}), kb(DType::Float64, {3, 3});
  for (Array* v : {&a, &b, &ka, &kb})
    for (std::size_t i = 0; i < v->size(); ++i) v->data_as<double>()[i] = double(i % 7) - 3;
  const Array wa = signal::convolve(a.view(), ka.view(), Mode::Full, Method::Direct);
  const Array wb = signal::convolve(b.view(), kb.view(), Mode::Full, Method::Direct);
  Array ga, gb;
#pragma omp parallel num_threads(2)
  {
    if (omp_get_thread_num() == 0) ga = signal::convolve(a.view(), ka.view(), Mode::Full, Method::Direct);
    else if (omp_get_thread_num() == 1) gb = signal::convolve(b.view(), kb.view(), Mode::Full, Method::Direct);
  }
  EXPECT_EQ(std::memcmp(ga.data(), wa.data(), wa.nbytes()), 0);
  if (gb.size()) EXPECT_EQ(std::memcmp(gb.data(), wb.data(), wb.nbytes()), 0);
}

// A Convolver whose valid mode swaps the inputs (the kernel larger on every axis) is not
// planned and convolves per call, with the method it was asked for (it ran auto).
TEST(Signal, SwappedConvolverRunsTheRequestedMethod) {
  Array x(DType::Float64, {8, 8}), k(DType::Float64, {120, 120});
  for (std::size_t i = 0; i < x.size(); ++i) x.data_as<double>()[i] = std::sin(double(i));
  for (std::size_t i = 0; i < k.size(); ++i) k.data_as<double>()[i] = std::cos(0.37 * double(i));
  for (Method m : {Method::Direct, Method::Fft}) {
    const signal::Convolver c(x.shape(), DType::Float64, k.view(), Mode::Valid, m);
    const Array got = c(x.view()), want = signal::convolve(x.view(), k.view(), Mode::Valid, m);
    ASSERT_EQ(got.shape(), want.shape());
    EXPECT_EQ(std::memcmp(got.data(), want.data(), want.nbytes()), 0) << to_string(m);
  }
}

// One item by one kernel on two threads runs the two forward transforms side by side
// (FftConvolver::convolve_once, from 1,024 grid points in any rank): the fft and 'oa' methods
// (one tile: the same path) against the long-double reference, real and complex, every mode,
// on grids on both sides of the threshold.
TEST(Signal, SideBySideForwardTransformsMatchTheReference) {
  const int threads = omp_get_max_threads();
  omp_set_num_threads(2);
  std::mt19937 g(31);
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{40, 33}, {9, 12}}, {{12, 11, 10}, {5, 4, 3}}, {{20, 20}, {3, 3}}, {{3000}, {257}}, {{64, 64}, {63, 63}}, {{6, 7}, {2, 3}}};
  for (const auto& [xs, ks] : cases)
    for (DType t : {DType::Float64, DType::Complex128, DType::Float32})
      for (Mode mode : {Mode::Full, Mode::Same, Mode::Valid})
        for (Method method : {Method::Fft, Method::OverlapAdd}) {
          const NdRef a = random_ref(xs, t, g), b = random_ref(ks, t, g);
          const NdRef want = fctest::reference_convolve(a, b, std::vector<bool>(xs.size(), true), mode_name(mode));
          const Array y = signal::convolve(to_array(a, t).view(), to_array(b, t).view(), mode, method);
          std::size_t taps = 1;
          for (auto d : ks) taps *= d;
          expect_matches(y, want, t, (long double)(taps) * (is_complex(t) ? 2 : 1) * 4,
                         shape_to_string(xs) + " * " + shape_to_string(ks) + " " + mode_name(mode) + " " + to_string(t));
        }
  omp_set_num_threads(threads);
}

// Overlap-save whose best blocking is one tile runs as the whole-grid FFT (its grid is never
// larger): (3,)^9 with itself in one 7^9 tile took seconds where the 5^9 FFT takes 0.05 s.
TEST(Signal, OneTileOverlapAddRunsAsTheWholeGridFft) {
  namespace detail = signal::detail;
  const Shape s(6, 3);
  const detail::Geometry g = detail::make_geometry(s, s, Mode::Full, {}, false, detail::Rules::Convolve);
  ASSERT_EQ(detail::choose_blocking(g, 8).tiles, 1u);
  std::vector<double> k(729, 1.0);
  const detail::FftConvolver<double> oa(g, k.data(), true, FftRigor::Estimate);
  EXPECT_EQ(oa.grid(), detail::fft_grid(g, true));
  EXPECT_EQ(oa.grid(), std::vector<std::size_t>(6, 5));
  Array x(DType::Float64, s);
  for (std::size_t i = 0; i < 729; ++i) x.data_as<double>()[i] = double(i % 7) - 3;
  const Array yo = signal::convolve(x.view(), x.view(), Mode::Full, Method::OverlapAdd);
  const Array yd = signal::convolve(x.view(), x.view(), Mode::Full, Method::Direct);
  ASSERT_EQ(yo.shape(), yd.shape());
  for (std::size_t i = 0; i < shape_size(yd.shape()); ++i) ASSERT_NEAR(yo.data_as<double>()[i], yd.data_as<double>()[i], 1e-9) << i;
}

// ConvolveOptions::explain = false: the same choice and result, without the reason's text.
TEST(Signal, ExplainFalseLeavesTheReasonEmpty) {
  Array x(DType::Float32, {64, 64}), k(DType::Float32, {31, 31});
  for (std::size_t i = 0; i < x.size(); ++i) x.data_as<float>()[i] = float(i % 13) - 6;
  for (std::size_t i = 0; i < k.size(); ++i) k.data_as<float>()[i] = float(i % 7) - 3;
  MethodChoice with, without;
  signal::ConvolveOptions quiet;
  quiet.explain = false;
  const Array a = signal::convolve(x.view(), k.view(), Mode::Same, Method::Auto, {}, &with);
  const Array b = signal::convolve(x.view(), k.view(), Mode::Same, Method::Auto, quiet, &without);
  EXPECT_FALSE(with.reason.empty());
  EXPECT_TRUE(without.reason.empty());
  EXPECT_EQ(with.method, without.method);
  EXPECT_EQ(with.direct_us, without.direct_us);
  ASSERT_EQ(a.nbytes(), b.nbytes());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.nbytes()), 0);
}

// The overlap-save tile search (a pruned depth-first walk) finds the cheapest tile under its
// cap: the minimum of an exhaustive walk over every fast size per axis, on random geometries of
// 1 to 3 axes (the cost as engine_fft.cpp states it: tiles * points * (2 + sum of log2 L
// weighted by the radices), the spectrum within 320 KiB in 1 and 2 axes, 2^18 points always;
// or the whole extent in one tile).
TEST(Signal, TileSearchFindsTheCheapestTile) {
  namespace detail = signal::detail;
  std::mt19937 rng(7);
  for (int it = 0; it < 300; ++it) {
    const std::size_t r = 1 + rng() % 3;
    Shape xs, ks;
    for (std::size_t i = 0; i < r; ++i) {
      const std::size_t n = 1 + rng() % (r == 3 ? 150 : r == 2 ? 2000 : 300000);
      xs.push_back(n), ks.push_back(1 + rng() % std::min<std::size_t>(n, r == 3 ? 30 : r == 2 ? 150 : 20000));
    }
    const detail::Geometry g = detail::make_geometry(xs, ks, Mode(rng() % 3), {}, false, detail::Rules::Convolve);
    const std::size_t spb = std::size_t(4) << (rng() % 3);
    const double cap = r > 2 ? double(1 << 18) : std::min(double(1 << 18), double(320 << 10) / double(spb));
    auto cost_of = [&](const std::vector<std::size_t>& tile) {
      double points = 1, logs = 2, tiles = 1;
      for (std::size_t i = 0; i < r; ++i) {
        const detail::ConvAxis& a = g.axes[i];
        const std::size_t b = tile[i] - a.k + 1;
        points *= double(tile[i]), logs += std::log2(double(tile[i])) * fft_radix_penalty(tile[i]);
        tiles *= double((a.out + b - 1) / b);
      }
      return points > cap ? INFINITY : tiles * points * logs;
    };
    std::vector<std::vector<std::size_t>> cand;
    for (const detail::ConvAxis& a : g.axes)
      cand.push_back(fast_sizes(next_fast_size(std::max<std::size_t>(a.k, 2)),
                                std::max(next_fast_size(std::max<std::size_t>(a.k, 2)), std::min(next_fast_size(a.extended()), std::size_t(1) << 18))));
    double best = INFINITY;
    std::vector<std::size_t> pick(r, 0), tile(r);
    while (true) {
      for (std::size_t i = 0; i < r; ++i) tile[i] = cand[i][pick[i]];
      best = std::min(best, cost_of(tile));
      std::size_t i = 0;
      for (; i < r; ++i) {
        if (++pick[i] < cand[i].size()) break;
        pick[i] = 0;
      }
      if (i == r) break;
    }
    const detail::Blocking b = detail::choose_blocking(g, spb);
    // Or one tile of the whole extent, when none fits under the cap or it costs less than the
    // tiles at 3x the per-point cost.
    std::vector<std::size_t> whole;
    double whole_cost = 2, whole_points = 1;
    for (const detail::ConvAxis& a : g.axes) {
      whole.push_back(next_fast_size(a.extended()));
      whole_points *= double(whole.back()), whole_cost += std::log2(double(whole.back())) * fft_radix_penalty(whole.back());
    }
    whole_cost *= 3 * whole_points;
    if (std::isinf(best) || whole_cost < best) {
      EXPECT_EQ(b.tile, whole) << shape_to_string(xs) << " * " << shape_to_string(ks);
      EXPECT_EQ(b.tiles, 1u);
    } else {
      EXPECT_EQ(cost_of(b.tile), best) << shape_to_string(xs) << " * " << shape_to_string(ks);
    }
  }
}

}  // namespace

TEST(Signal, DirectSumUnderAMemoryLimitSmallerThanItsPaddedRows) {
  // The several-rows kernel copies the input's rows padded to out + k - 1 columns where that
  // fits; a copy larger than the memory limit (which bounds one array) must fall back to the
  // gathered borders, not raise: here x is 62.5 KiB, the output 360 KiB, the padded rows 656 KiB.
  Array x(DType::Float64, {2000, 4}), k(DType::Float64, {3, 20});
  std::mt19937 gen(7);
  std::uniform_real_distribution<double> u(-1, 1);
  for (std::size_t i = 0; i < x.size(); ++i) x.data_as<double>()[i] = u(gen);
  for (std::size_t i = 0; i < k.size(); ++i) k.data_as<double>()[i] = u(gen);
  const Array unlimited = signal::convolve(x.view(), k.view(), Mode::Full, Method::Direct);
  set_memory_limit(500 << 10);
  Array limited;
  EXPECT_NO_THROW(limited = signal::convolve(x.view(), k.view(), Mode::Full, Method::Direct));
  set_memory_limit(0);
  ASSERT_EQ(limited.shape(), unlimited.shape());
  for (std::size_t i = 0; i < limited.size(); ++i)
    ASSERT_NEAR(limited.data_as<double>()[i], unlimited.data_as<double>()[i], 1e-12) << i;
}

// Float32 grids in two axes run on the plane transforms (plane_grid, engine.hpp) instead of
// FFTW: every path of the FFT engine against the long-double reference: one item (forward,
// product and inverse fused), a batch, x broadcast against several kernels (x transformed
// once), overlap-save tiles, the one-shot side-by-side forwards, circular on the input's own
// grid (taken: 24 x 40; not taken, odd or not a multiple of 8: FFTW), the planned Convolver;
// prime extents padded to the sizes the plane transforms take.
TEST(Signal, PlaneTransformsMatchTheReferenceOnEveryPath) {
  std::mt19937 g(77);
  struct Case {
    Shape x, k;
    Mode mode;
    Method method;
    std::vector<long> axes;
  };
  const std::vector<Case> cases = {
      {{37, 53}, {5, 7}, Mode::Same, Method::Fft, {}},           {{64, 64}, {31, 31}, Mode::Full, Method::Fft, {}},
      {{3, 20, 24}, {3, 5, 5}, Mode::Same, Method::Fft, {1, 2}}, {{1, 20, 24}, {4, 5, 5}, Mode::Valid, Method::Fft, {1, 2}},
      {{300, 260}, {9, 9}, Mode::Same, Method::OverlapAdd, {}},  {{2, 97, 61}, {1, 3, 3}, Mode::Full, Method::OverlapAdd, {1, 2}},
      {{24, 40}, {24, 40}, Mode::Circular, Method::Fft, {}},     {{24, 40}, {5, 3}, Mode::Circular, Method::Fft, {}},
      {{25, 40}, {5, 3}, Mode::Circular, Method::Fft, {}},       {{24, 36}, {5, 3}, Mode::Circular, Method::Fft, {}},
      {{128, 128}, {128, 128}, Mode::Circular, Method::Fft, {}}, {{16, 8}, {17, 9}, Mode::Full, Method::Fft, {}},
  };
  for (const Case& c : cases) {
    const NdRef a = random_ref(c.x, DType::Float32, g), b = random_ref(c.k, DType::Float32, g);
    std::vector<bool> conv(c.x.size(), c.axes.empty());
    for (long ax : c.axes) conv[std::size_t(ax)] = true;
    const NdRef want = fctest::reference_convolve(a, b, conv, mode_name(c.mode));
    signal::ConvolveOptions opt;
    if (!c.axes.empty()) opt.axes = c.axes;
    const std::string what = shape_to_string(c.x) + " * " + shape_to_string(c.k) + " " + mode_name(c.mode) + " " + to_string(c.method);
    const Array xa = to_array(a, DType::Float32), ka = to_array(b, DType::Float32);
    std::size_t taps = 1;
    for (std::size_t i = 0; i < c.k.size(); ++i) taps *= conv[i] ? c.k[i] : 1;
    expect_matches(signal::convolve(xa.view(), ka.view(), c.mode, c.method, opt), want, DType::Float32, (long double)(taps) * 4, what);
    const signal::Convolver planned(c.x, DType::Float32, ka.view(), c.mode, c.method, opt);
    expect_matches(planned(xa.view()), want, DType::Float32, (long double)(taps) * 4, what + " (Convolver)");
  }
}
