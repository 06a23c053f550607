#include "fourierconv/fft.hpp"

#include <fftw3.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>

#include "fft_planner.hpp"
#include "fourierconv/error.hpp"
#include "fourierconv/tensor.hpp"

namespace fourierconv {

namespace detail {

std::mutex& fftw_planner_mutex() {
  static std::mutex m;
  return m;
}

void fftw_init_once() {
  static bool done = false;
  if (done) return;
  done = true;
  fftwf_init_threads();
  fftw_init_threads();
  if (const char* w = std::getenv("FOURIERCONV_WISDOM")) fftwf_import_wisdom_from_filename(w);
}

}  // namespace detail

namespace {

std::mutex& planner_mutex() { return detail::fftw_planner_mutex(); }

FftRigor initial_rigor() {
  const char* env = std::getenv("FOURIERCONV_FFT_RIGOR");
  if (env && std::strcmp(env, "estimate") == 0) return FftRigor::Estimate;
  return FftRigor::Measure;
}

FftRigor& rigor_setting() {
  static FftRigor r = initial_rigor();
  return r;
}

void init_fftw_once() { detail::fftw_init_once(); }

using Key = std::tuple<std::size_t, std::size_t, std::size_t, int, int>;

}  // namespace

void fft_set_rigor(FftRigor rigor) { rigor_setting() = rigor; }
FftRigor fft_rigor() { return rigor_setting(); }

bool fft_load_wisdom(const std::string& path) {
  std::lock_guard<std::mutex> lock(planner_mutex());
  init_fftw_once();
  return fftwf_import_wisdom_from_filename(path.c_str()) != 0;
}

bool fft_save_wisdom(const std::string& path) {
  std::lock_guard<std::mutex> lock(planner_mutex());
  return fftwf_export_wisdom_to_filename(path.c_str()) != 0;
}

bool fft_aligned(const void* p) { return fftwf_alignment_of(static_cast<float*>(const_cast<void*>(p))) == 0; }

namespace {
// Calls f(m) for every m = 2^a 3^b 5^c 7^d in [lo, hi] (a few hundred below 2^40): direct
// enumeration, where testing every integer was O(n) (30 ms for a 1,000,000-point signal).
template <class F>
void for_each_smooth(std::size_t lo, std::size_t hi, F f) {
  for (std::size_t p7 = 1; p7 <= hi; p7 *= 7)
    for (std::size_t p5 = p7; p5 <= hi; p5 *= 5)
      for (std::size_t p3 = p5; p3 <= hi; p3 *= 3)
        for (std::size_t m = p3; m <= hi; m *= 2)
          if (m >= lo) f(m);
}
}  // namespace

std::size_t next_fast_size(std::size_t n) {
  if (n <= 1) return 1;
  // The search runs to 2n in multiplications that must not overflow.
  if (n > (std::size_t(1) << 60)) throw Error("next_fast_size: n must be at most 2^60, got " + std::to_string(n));
  std::size_t best = std::size_t(-1);
  for_each_smooth(n, 2 * n, [&](std::size_t m) { best = std::min(best, m); });
  return best;
}

std::vector<std::size_t> fast_sizes(std::size_t lo, std::size_t hi) {
  if (hi > (std::size_t(1) << 60)) throw Error("fast_sizes: hi must be at most 2^60, got " + std::to_string(hi));
  std::vector<std::size_t> out;
  for_each_smooth(std::max<std::size_t>(lo, 1), hi, [&](std::size_t m) { out.push_back(m); });
  std::sort(out.begin(), out.end());
  return out;
}

double fft_radix_penalty(std::size_t n) {
  int e[4] = {0, 0, 0, 0}, i = 0;
  for (std::size_t p : {2, 3, 5, 7}) {
    while (n > 1 && n % p == 0) n /= p, ++e[i];
    ++i;
  }
  // Powers of two are FFTW's best case; each factor 3 costs a little, 5 more, 7 most; other
  // primes (Bluestein or generic codelets) far more.
  return (1.0 + 0.12 * e[1] + 0.25 * e[2] + 0.6 * e[3]) * (n > 1 ? 4.0 : 1.0);
}

std::size_t fast_padded_size(std::size_t n) {
  if (n <= 8) return std::max<std::size_t>(n, 1);
  // Kept per thread (the last 256 sizes): the scan below costs microseconds, and one-shot
  // convolutions ask for the same sizes call after call.
  thread_local std::map<std::size_t, std::size_t> kept;
  if (auto it = kept.find(n); it != kept.end()) return it->second;
  std::size_t best = next_fast_size(n);
  double best_cost = INFINITY;
  for_each_smooth(n, 2 * n, [&](std::size_t m) {
    const double cost = double(m) * std::log2(double(m)) * fft_radix_penalty(m);
    if (cost < best_cost || (cost == best_cost && m < best)) best_cost = cost, best = m;
  });
  if (kept.size() >= 256) kept.clear();
  kept.emplace(n, best);
  return best;
}

std::shared_ptr<const FftPlan> FftPlan::get(const std::vector<std::size_t>& dims, std::size_t howmany,
                                            FftRigor rigor, int threads) {
  if (dims.empty() || dims.size() > 2)
    throw Error("FftPlan: expected 1 or 2 dimensions, got " + std::to_string(dims.size()));
  std::size_t h = dims.size() == 2 ? dims[0] : 1, w = dims.back();
  if (h == 0 || w == 0 || howmany == 0)
    throw Error("FftPlan: dimensions and batch must be positive, got " + shape_to_string(dims) + " x " +
                std::to_string(howmany));
  threads = std::max(1, threads);
  static std::map<Key, std::shared_ptr<const FftPlan>> cache;
  std::lock_guard<std::mutex> lock(planner_mutex());
  init_fftw_once();
  Key key{h, w, howmany, static_cast<int>(rigor), threads};
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  std::shared_ptr<const FftPlan> plan(new FftPlan(h, w, howmany, rigor, threads));
  cache.emplace(key, plan);
  return plan;
}

FftPlan::FftPlan(std::size_t h, std::size_t w, std::size_t howmany, FftRigor rigor, int threads)
    : h_(h), w_(w), howmany_(howmany) {
  // Planning with Measure overwrites the buffers, so plan on scratch of the right alignment.
  AlignedVector<float> real(real_size() * howmany);
  AlignedVector<Complex> spec(spectrum_size() * howmany);
  int n[2] = {static_cast<int>(h), static_cast<int>(w)};
  int rank = h == 1 ? 1 : 2;
  int* dims = h == 1 ? n + 1 : n;
  unsigned flags = (rigor == FftRigor::Measure ? FFTW_MEASURE : FFTW_ESTIMATE);
  fftwf_plan_with_nthreads(threads);
  auto* re = real.data();
  auto* cx = reinterpret_cast<fftwf_complex*>(spec.data());
  int hm = static_cast<int>(howmany);
  int rdist = static_cast<int>(real_size()), cdist = static_cast<int>(spectrum_size());
  forward_plan_ = fftwf_plan_many_dft_r2c(rank, dims, hm, re, nullptr, 1, rdist, cx, nullptr, 1, cdist, flags);
  inverse_plan_ = fftwf_plan_many_dft_c2r(rank, dims, hm, cx, nullptr, 1, cdist, re, nullptr, 1, rdist,
                                          flags | FFTW_DESTROY_INPUT);
  fftwf_plan_with_nthreads(1);
  if (!forward_plan_ || !inverse_plan_)
    throw Error("FftPlan: FFTW could not plan a " + std::to_string(h) + "x" + std::to_string(w) + " transform");
}

FftPlan::~FftPlan() {
  std::lock_guard<std::mutex> lock(planner_mutex());
  if (forward_plan_) fftwf_destroy_plan(static_cast<fftwf_plan>(forward_plan_));
  if (inverse_plan_) fftwf_destroy_plan(static_cast<fftwf_plan>(inverse_plan_));
}

void FftPlan::forward(const float* real, Complex* spectrum) const {
  // FFTW runs a plan only on arrays aligned as the planned ones (64-byte aligned here).
  FC_ASSERT(fftwf_alignment_of(const_cast<float*>(real)) == 0);
  FC_ASSERT(fftwf_alignment_of(reinterpret_cast<float*>(spectrum)) == 0);
  // r2c does not modify its input for out-of-place plans without FFTW_DESTROY_INPUT.
  fftwf_execute_dft_r2c(static_cast<fftwf_plan>(forward_plan_), const_cast<float*>(real),
                        reinterpret_cast<fftwf_complex*>(spectrum));
}

void FftPlan::inverse_unscaled(Complex* spectrum, float* real) const {
  FC_ASSERT(fftwf_alignment_of(real) == 0);
  FC_ASSERT(fftwf_alignment_of(reinterpret_cast<float*>(spectrum)) == 0);
  fftwf_execute_dft_c2r(static_cast<fftwf_plan>(inverse_plan_), reinterpret_cast<fftwf_complex*>(spectrum), real);
}

void FftPlan::inverse(Complex* spectrum, float* real) const {
  inverse_unscaled(spectrum, real);
  const float s = inverse_scale();
  const std::size_t n = real_size() * howmany_;
  for (std::size_t i = 0; i < n; ++i) real[i] *= s;
}

std::shared_ptr<const ComplexFftPlan> ComplexFftPlan::get(std::size_t h, std::size_t w, FftRigor rigor) {
  if (h == 0 || w == 0)
    throw Error("ComplexFftPlan: dimensions must be positive, got " + std::to_string(h) + "x" + std::to_string(w));
  static std::map<std::tuple<std::size_t, std::size_t, int>, std::shared_ptr<const ComplexFftPlan>> cache;
  std::lock_guard<std::mutex> lock(planner_mutex());
  init_fftw_once();
  const auto key = std::make_tuple(h, w, static_cast<int>(rigor));
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  std::shared_ptr<const ComplexFftPlan> plan(new ComplexFftPlan(h, w, rigor));
  cache.emplace(key, plan);
  return plan;
}

ComplexFftPlan::ComplexFftPlan(std::size_t h, std::size_t w, FftRigor rigor) : h_(h), w_(w) {
  AlignedVector<Complex> a(h * w), b(h * w);  // Measure overwrites the buffers it plans on
  auto* in = reinterpret_cast<fftwf_complex*>(a.data());
  auto* out = reinterpret_cast<fftwf_complex*>(b.data());
  const unsigned flags = rigor == FftRigor::Measure ? FFTW_MEASURE : FFTW_ESTIMATE;
  const int n0 = static_cast<int>(h), n1 = static_cast<int>(w);
  forward_plan_ = fftwf_plan_dft_2d(n0, n1, in, out, FFTW_FORWARD, flags);
  backward_plan_ = fftwf_plan_dft_2d(n0, n1, in, out, FFTW_BACKWARD, flags);
  if (!forward_plan_ || !backward_plan_)
    throw Error("ComplexFftPlan: FFTW could not plan a " + std::to_string(h) + "x" + std::to_string(w) + " transform");
}

ComplexFftPlan::~ComplexFftPlan() {
  std::lock_guard<std::mutex> lock(planner_mutex());
  if (forward_plan_) fftwf_destroy_plan(static_cast<fftwf_plan>(forward_plan_));
  if (backward_plan_) fftwf_destroy_plan(static_cast<fftwf_plan>(backward_plan_));
}

void ComplexFftPlan::forward(const Complex* in, Complex* out) const {
  FC_ASSERT(fftwf_alignment_of(reinterpret_cast<float*>(const_cast<Complex*>(in))) == 0 &&
            fftwf_alignment_of(reinterpret_cast<float*>(out)) == 0);
  // Out-of-place c2c plans leave their input intact (no FFTW_DESTROY_INPUT).
  fftwf_execute_dft(static_cast<fftwf_plan>(forward_plan_), reinterpret_cast<fftwf_complex*>(const_cast<Complex*>(in)),
                    reinterpret_cast<fftwf_complex*>(out));
}

void ComplexFftPlan::backward_unscaled(const Complex* in, Complex* out) const {
  FC_ASSERT(fftwf_alignment_of(reinterpret_cast<float*>(const_cast<Complex*>(in))) == 0 &&
            fftwf_alignment_of(reinterpret_cast<float*>(out)) == 0);
  fftwf_execute_dft(static_cast<fftwf_plan>(backward_plan_), reinterpret_cast<fftwf_complex*>(const_cast<Complex*>(in)),
                    reinterpret_cast<fftwf_complex*>(out));
}

std::vector<Complex> rfft2(const float* x, std::size_t h, std::size_t w) {
  auto plan = FftPlan::get({h, w}, 1, FftRigor::Estimate);
  AlignedVector<float> in(x, x + h * w);
  AlignedVector<Complex> out(plan->spectrum_size());
  plan->forward(in.data(), out.data());
  return {out.begin(), out.end()};
}

std::vector<float> irfft2(const std::vector<Complex>& spectrum, std::size_t h, std::size_t w) {
  auto plan = FftPlan::get({h, w}, 1, FftRigor::Estimate);
  if (spectrum.size() != plan->spectrum_size())
    throw Error("irfft2: expected " + std::to_string(plan->spectrum_size()) + " bins for " + std::to_string(h) +
                "x" + std::to_string(w) + ", got " + std::to_string(spectrum.size()));
  AlignedVector<Complex> in(spectrum.begin(), spectrum.end());
  AlignedVector<float> out(h * w);
  plan->inverse(in.data(), out.data());
  return {out.begin(), out.end()};
}

}  // namespace fourierconv
