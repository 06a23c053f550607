// The auto cost model's per-machine scale factors (signal.hpp, cost_model_scales): the model's
// constants (choose.cpp) were fitted on one machine, and on another its estimates run off by
// a factor per kind of work (on an AMD Zen 4, whose AVX-512 is two 256-bit halves, the direct
// sum's estimates ran 1.5-1.9x below the measured times: BENCHMARKS.md, twelfth session).
// Each factor is the time of a fixed problem measured here over the model's estimate of it.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "fourierconv/signal.hpp"
#include "signal/choose.hpp"
#include "signal/geometry.hpp"

namespace fourierconv::signal {

namespace {

// Runs on one thread (the model is per core) and restores the caller's thread count.
class OneThread {
 public:
  OneThread() : saved_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~OneThread() { omp_set_num_threads(saved_); }
  OneThread(const OneThread&) = delete;
  OneThread& operator=(const OneThread&) = delete;

 private:
  int saved_;
};

Array filled(DType t, const Shape& shape) {
  Array a(DType::Float64, shape);
  double* p = a.data_as<double>();
  for (std::size_t i = 0; i < a.size(); ++i) p[i] = double(int(i * 2654435761u % 2001) - 1000) * 1e-3;  // in [-1, 1]
  return Array::copy_of(a.view(), t);
}

// The measured time of convolve(x, k, mode, method) over the model's one-thread estimate of it
// (with the fitted constants), clamped to the factors' range; 1 where either is not finite.
// The best of 8 runs after two that plan the transforms and warm the buffers: the noise of
// a shared machine only adds time.
double scale_of(DType t, const Shape& xs, const Shape& ks, Mode mode, Method method) {
  const Array x = filled(t, xs), k = filled(t, ks);
  const detail::Geometry g = detail::make_geometry(xs, ks, mode, {}, false, detail::Rules::Convolve);
  const detail::Costs c = detail::estimate_costs(g, t, t, true, 1);
  const double estimate = method == Method::Direct ? c.direct : c.fft;
  ConvolveOptions o;
  o.calibrate = false;
  double best = INFINITY;
  for (int rep = 0; rep < 10; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    convolve(x.view(), k.view(), mode, method, o);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (rep >= 2) best = std::min(best, s);
  }
  const double r = best / estimate;
  if (!std::isfinite(r) || r <= 0) return 1;
  return std::clamp(r, 1 / detail::kMaxScale, detail::kMaxScale);
}

CostModelScales measure(bool single) {
  CostModelScales s;
  OneThread one;
  const DType t = single ? DType::Float32 : DType::Float64;
  s.direct = scale_of(t, {128, 128}, {11, 11}, Mode::Same, Method::Direct);
  if (single) {
    s.plane_fft = scale_of(t, {128, 128}, {33, 33}, Mode::Same, Method::Fft);  // a 160^2 plane grid
    s.fft = scale_of(t, {16384}, {1025}, Mode::Full, Method::Fft);            // FFTW's float r2c
  } else {
    s.fft = scale_of(t, {128, 128}, {33, 33}, Mode::Same, Method::Fft);
  }
  return s;
}

}  // namespace

CostModelScales cost_model_scales(DType precision) {
  if (detail::cost_model_fitted_only()) return {};
  const bool single = precision == DType::Float32 || precision == DType::Complex64;
  static std::once_flag once[2];
  static CostModelScales scales[2];
  try {
    std::call_once(once[single], [&] { scales[single] = measure(single); });
  } catch (...) {
    // Out of memory (FOURIERCONV_MAX_MEMORY, set_memory_limit): the fitted constants for this
    // call; a failed call_once leaves the flag unset, so a later call measures again.
    return {};
  }
  return scales[single];
}

namespace detail {

bool cost_model_fitted_only() {
  static const bool fitted = [] {
    const char* env = std::getenv("FOURIERCONV_COST_MODEL");
    return env && std::strcmp(env, "fitted") == 0;
  }();
  return fitted;
}

}  // namespace detail

}  // namespace fourierconv::signal
