// fourierconv bench: the scipy-grade convolution cases (issue 9's table). Each case name is
// sig_<shape>_<dtype>; bench/signal_peers.py runs the same shapes with scipy.
#include <complex>
#include <random>

#include <fftw3.h>

#include "bench_cases.hpp"
#include "fourierconv/signal.hpp"

namespace fourierconv::cli {

namespace {

Array random_array(DType t, const Shape& shape, unsigned seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<double> d(-1, 1);
  Array c(DType::Complex128, shape);
  for (std::size_t i = 0; i < c.size(); ++i) c.data_as<std::complex<double>>()[i] = {d(g), d(g)};
  return Array::copy_of(c.view(), t);
}

struct Case {
  const char* name;
  Shape x, k;
  Mode mode;
  std::vector<long> axes;  // empty: all
};

// The shapes of the comparison (bench/signal_peers.py has the same list).
const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      {"1d_1m_k1025", {1000000}, {1025}, Mode::Full, {}},
      {"1d_480k_k65536", {480000}, {65536}, Mode::Full, {}},
      {"2d_64_k3", {64, 64}, {3, 3}, Mode::Same, {}},
      {"2d_256_k7", {256, 256}, {7, 7}, Mode::Same, {}},
      {"2d_256_k15", {256, 256}, {15, 15}, Mode::Same, {}},
      {"2d_512_k31", {512, 512}, {31, 31}, Mode::Same, {}},
      {"2d_1024_k3", {1024, 1024}, {3, 3}, Mode::Same, {}},
      {"2d_1024_k31", {1024, 1024}, {31, 31}, Mode::Same, {}},
      {"2d_2048_k15", {2048, 2048}, {15, 15}, Mode::Same, {}},
      {"batch_64x16384_k257", {64, 16384}, {1, 257}, Mode::Full, {-1}},
      {"3d_128_k9", {128, 128, 128}, {9, 9, 9}, Mode::Same, {}},
  };
  return c;
}

const char* short_name(DType t) { return t == DType::Float32 ? "f32" : t == DType::Float64 ? "f64" : "c128"; }

// The fixed-filter limit: FFTW alone doing a forward transform, the product with a cached
// spectrum and the inverse (double precision; c2c for complex).
template <bool Complex>
double bare_fftw_us(std::size_t n, int reps) {
  const std::size_t N = n * n, bins = Complex ? N : n * (n / 2 + 1);
  double* re = fftw_alloc_real(2 * N);
  fftw_complex* a = fftw_alloc_complex(N);
  fftw_complex* b = fftw_alloc_complex(N);
  fftw_complex* h = fftw_alloc_complex(N);
  for (std::size_t i = 0; i < 2 * N; ++i) re[i] = double(i % 17) / 17;
  for (std::size_t i = 0; i < N; ++i) a[i][0] = h[i][0] = 0.5, a[i][1] = h[i][1] = 0.25;
  fftw_plan f, inv;
  const int ni = int(n);
  if (Complex) {
    f = fftw_plan_dft_2d(ni, ni, a, b, FFTW_FORWARD, FFTW_MEASURE);
    inv = fftw_plan_dft_2d(ni, ni, b, a, FFTW_BACKWARD, FFTW_MEASURE);
  } else {
    f = fftw_plan_dft_r2c_2d(ni, ni, re, b, FFTW_MEASURE);
    inv = fftw_plan_dft_c2r_2d(ni, ni, b, re + N, FFTW_MEASURE);
  }
  for (std::size_t i = 0; i < N; ++i) a[i][0] = 0.5, a[i][1] = 0.25, re[i] = double(i % 17) / 17;
  const double us = median_us([&] {
    fftw_execute(f);
    for (std::size_t i = 0; i < bins; ++i) {
      const double r = b[i][0] * h[i][0] - b[i][1] * h[i][1], im = b[i][0] * h[i][1] + b[i][1] * h[i][0];
      b[i][0] = r, b[i][1] = im;
    }
    fftw_execute(inv);
  }, reps);
  fftw_destroy_plan(f);
  fftw_destroy_plan(inv);
  fftw_free(re), fftw_free(a), fftw_free(b), fftw_free(h);
  return us;
}

}  // namespace

void bench_signal_cases(const Wanted& wanted, std::vector<Row>& rows, int repeats, bool quick) {
  for (const Case& c : cases())
    for (DType t : {DType::Float32, DType::Float64, DType::Complex128}) {
      const std::string name = std::string("sig_") + c.name + "_" + short_name(t);
      if (!wanted({name})) continue;
      const Array x = random_array(t, c.x, 1), k = random_array(t, c.k, 2);
      signal::ConvolveOptions o;
      if (!c.axes.empty()) o.axes = c.axes;
      MethodChoice m;
      signal::convolve(x.view(), k.view(), c.mode, Method::Auto, o, &m);
      const double work = double(x.size()) * std::log2(double(x.size()) + 2);
      const int reps = work > 2e7 ? std::max(3, repeats / 7) : repeats;
      rows.push_back({name, "signal::convolve(auto) -> " + to_string(m.method),
                      median_us([&] { signal::convolve(x.view(), k.view(), c.mode, Method::Auto, o); }, reps)});
      if (quick) break;
    }
  // Fixed filter (Convolver, circular 128 x 128) in float64 and complex128 against bare FFTW.
  for (DType t : {DType::Float64, DType::Complex128}) {
    const std::string name = std::string("sig_convolver_128_") + short_name(t);
    if (!wanted({name, std::string("sig_bare_fftw_128_") + short_name(t)})) continue;
    const Array x = random_array(t, {128, 128}, 3), k = random_array(t, {128, 128}, 4);
    signal::Convolver conv({128, 128}, t, k.view(), Mode::Circular, Method::Fft);
    Array y = Array::uninitialized(t, {128, 128});
    rows.push_back({name, "signal::Convolver circular 128x128, fixed kernel (execute_contiguous)",
                    median_us([&] { conv.execute_contiguous(x.data(), y.data()); }, repeats * 5)});
    rows.push_back({std::string("sig_bare_fftw_128_") + short_name(t), "bare FFTW: forward, product, inverse (the limit)",
                    t == DType::Complex128 ? bare_fftw_us<true>(128, repeats * 5) : bare_fftw_us<false>(128, repeats * 5)});
  }
}

}  // namespace fourierconv::cli
