// FFTW's new-array execute on buffers not aligned as the planning ones (found by the Python
// suite: float32 fftconvolve of (3, 50) with (3, 7) along the last axis crashed inside FFTW once
// a 1-D layer had planned transforms of the same size: the kernels' spectra sit 29 bins apart,
// so every other one is misaligned). FftwPlan::execute now goes through aligned copies.
#include <gtest/gtest.h>

#include <complex>
#include <cstring>
#include <random>

#include "fourierconv/fft.hpp"
#include "fourierconv/signal.hpp"
#include "signal/fftw.hpp"

using namespace fourierconv;
using fourierconv::signal::detail::FftKind;
using fourierconv::signal::detail::FftwPlan;

template <class R>
void check_kind(FftKind kind, const std::vector<std::size_t>& dims) {
  auto plan = FftwPlan<R>::get(kind, dims, FftRigor::Estimate, 1);
  const bool real_in = kind == FftKind::R2C, real_out = kind == FftKind::C2R;
  const std::size_t in_n = real_in ? plan->real_size() : 2 * plan->complex_size();
  const std::size_t out_n = real_out ? plan->real_size() : 2 * plan->complex_size();
  std::mt19937 g(3);
  std::uniform_real_distribution<R> d(-1, 1);
  std::vector<R> data(in_n);
  for (R& v : data) v = d(g);
  AlignedVector<R> in_a(in_n + 16), out_a(out_n + 16), in_m(in_n + 16), out_m(out_n + 16);
  std::memcpy(in_a.data(), data.data(), in_n * sizeof(R));
  std::memcpy(in_m.data() + 2, data.data(), in_n * sizeof(R));  // 2 floats or doubles off: misaligned
  plan->execute(in_a.data(), out_a.data());
  plan->execute(in_m.data() + 2, out_m.data() + 2);
  for (std::size_t i = 0; i < out_n; ++i) ASSERT_EQ(out_a[i], out_m[i + 2]) << i;
}

TEST(FftwAlignment, MisalignedBuffersGiveTheAlignedResult) {
  for (std::vector<std::size_t> dims : {std::vector<std::size_t>{56}, {64}, {7, 30}, {5, 4, 9}})
    for (FftKind k : {FftKind::R2C, FftKind::C2R, FftKind::C2CForward, FftKind::C2CBackward}) {
      SCOPED_TRACE(std::to_string(int(k)) + " " + std::to_string(dims.size()));
      check_kind<float>(k, dims);
      check_kind<double>(k, dims);
    }
}

TEST(FftwAlignment, BatchedKernelsWithAnOddBinCountAfterALayerPlannedTheSameSize) {
  for (std::size_t n : {56, 60, 64}) FftPlan::get({1, n}, 1);  // what SpectralConv1D's build does
  Array a(DType::Float32, {3, 50}), b(DType::Float32, {3, 7});
  std::mt19937 g(4);
  std::uniform_real_distribution<float> d(-1, 1);
  for (std::size_t i = 0; i < a.size(); ++i) a.data_as<float>()[i] = d(g);
  for (std::size_t i = 0; i < b.size(); ++i) b.data_as<float>()[i] = d(g);
  Array y = signal::fftconvolve(a.view(), b.view(), Mode::Full, std::vector<long>{-1});
  ASSERT_EQ(y.shape(), (Shape{3, 56}));
  for (std::size_t r = 0; r < 3; ++r)
    for (std::size_t t = 0; t < 56; ++t) {
      double acc = 0;
      for (std::size_t j = 0; j < 7; ++j)
        if (t >= j && t - j < 50) acc += double(a.data_as<float>()[r * 50 + t - j]) * b.data_as<float>()[r * 7 + j];
      ASSERT_NEAR(y.data_as<float>()[r * 56 + t], acc, 1e-5) << r << " " << t;
    }
}
