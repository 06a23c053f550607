#include "signal/fftw.hpp"

#include <fftw3.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>

#include "fft_planner.hpp"
#include "fourierconv/error.hpp"
#include "fourierconv/tensor.hpp"

namespace fourierconv::signal::detail {
namespace {

template <class R>
struct Api;

template <>
struct Api<float> {
  using Complex = fftwf_complex;
  static void* r2c(int rank, const int* n, float* in, Complex* out, unsigned f) { return fftwf_plan_dft_r2c(rank, n, in, out, f); }
  static void* c2r(int rank, const int* n, Complex* in, float* out, unsigned f) { return fftwf_plan_dft_c2r(rank, n, in, out, f); }
  static void* c2c(int rank, const int* n, Complex* in, Complex* out, int sign, unsigned f) {
    return fftwf_plan_dft(rank, n, in, out, sign, f);
  }
  static void exec_r2c(void* p, float* in, Complex* out) { fftwf_execute_dft_r2c(static_cast<fftwf_plan>(p), in, out); }
  static void exec_c2r(void* p, Complex* in, float* out) { fftwf_execute_dft_c2r(static_cast<fftwf_plan>(p), in, out); }
  static void exec_c2c(void* p, Complex* in, Complex* out) { fftwf_execute_dft(static_cast<fftwf_plan>(p), in, out); }
  static void destroy(void* p) { fftwf_destroy_plan(static_cast<fftwf_plan>(p)); }
  static void threads(int n) { fftwf_plan_with_nthreads(n); }
};

template <>
struct Api<double> {
  using Complex = fftw_complex;
  static void* r2c(int rank, const int* n, double* in, Complex* out, unsigned f) { return fftw_plan_dft_r2c(rank, n, in, out, f); }
  static void* c2r(int rank, const int* n, Complex* in, double* out, unsigned f) { return fftw_plan_dft_c2r(rank, n, in, out, f); }
  static void* c2c(int rank, const int* n, Complex* in, Complex* out, int sign, unsigned f) {
    return fftw_plan_dft(rank, n, in, out, sign, f);
  }
  static void exec_r2c(void* p, double* in, Complex* out) { fftw_execute_dft_r2c(static_cast<fftw_plan>(p), in, out); }
  static void exec_c2r(void* p, Complex* in, double* out) { fftw_execute_dft_c2r(static_cast<fftw_plan>(p), in, out); }
  static void exec_c2c(void* p, Complex* in, Complex* out) { fftw_execute_dft(static_cast<fftw_plan>(p), in, out); }
  static void destroy(void* p) { fftw_destroy_plan(static_cast<fftw_plan>(p)); }
  static void threads(int n) { fftw_plan_with_nthreads(n); }
};

}  // namespace

template <class R>
std::shared_ptr<const FftwPlan<R>> FftwPlan<R>::get(FftKind kind, const std::vector<std::size_t>& dims, FftRigor rigor,
                                                    int threads) {
  if (dims.empty()) throw Error("FftwPlan: a transform needs at least one axis");
  for (auto d : dims)
    if (d == 0 || d > (std::size_t(1) << 31)) throw Error("FftwPlan: axis lengths must be in [1, 2^31], got " + shape_to_string(dims));
  using Key = std::tuple<int, std::vector<std::size_t>, int, int>;
  static std::map<Key, std::shared_ptr<const FftwPlan>> cache;
  std::lock_guard<std::mutex> lock(fourierconv::detail::fftw_planner_mutex());
  fourierconv::detail::fftw_init_once();
  const Key key{int(kind), dims, int(rigor), threads};
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  std::shared_ptr<const FftwPlan> plan(new FftwPlan(kind, dims, rigor, threads));
  cache.emplace(key, plan);
  return plan;
}

template <class R>
FftwPlan<R>::FftwPlan(FftKind kind, const std::vector<std::size_t>& dims, FftRigor rigor, int threads) : kind_(kind) {
  using A = Api<R>;
  using C = typename A::Complex;
  std::vector<int> n(dims.begin(), dims.end());
  real_ = shape_size(dims);
  cplx_ = kind == FftKind::R2C || kind == FftKind::C2R ? real_ / dims.back() * (dims.back() / 2 + 1) : real_;
  // Measure overwrites the buffers it plans on: plan on scratch of the right alignment.
  AlignedVector<R> re(std::max<std::size_t>(real_, 2 * cplx_));
  AlignedVector<std::complex<R>> cx(std::max(cplx_, real_));
  const unsigned flags = rigor == FftRigor::Measure ? FFTW_MEASURE : FFTW_ESTIMATE;
  A::threads(threads);
  auto* c1 = reinterpret_cast<C*>(cx.data());
  auto* c2 = reinterpret_cast<C*>(re.data());  // a second complex buffer for out-of-place c2c
  const int rank = int(n.size());
  switch (kind) {
    case FftKind::R2C: plan_ = A::r2c(rank, n.data(), re.data(), c1, flags); break;
    case FftKind::C2R: plan_ = A::c2r(rank, n.data(), c1, re.data(), flags | FFTW_DESTROY_INPUT); break;
    case FftKind::C2CForward: plan_ = A::c2c(rank, n.data(), c1, c2, FFTW_FORWARD, flags); break;
    case FftKind::C2CBackward: plan_ = A::c2c(rank, n.data(), c1, c2, FFTW_BACKWARD, flags); break;
  }
  A::threads(1);
  if (!plan_) throw Error("FftwPlan: FFTW could not plan a " + shape_to_string(dims) + " transform");
}

template <class R>
FftwPlan<R>::~FftwPlan() {
  std::lock_guard<std::mutex> lock(fourierconv::detail::fftw_planner_mutex());
  if (plan_) Api<R>::destroy(plan_);
}

template <class R>
void FftwPlan<R>::execute(const void* in, void* out) const {
  using A = Api<R>;
  using C = typename A::Complex;
  // FFTW's new-array execute needs buffers aligned as the planning ones (64 bytes here): its
  // SIMD codelets may assume it, and whether they are chosen depends on the planner's history
  // (found: a batch of kernels whose spectra sit an odd number of bins apart crashed once an
  // earlier plan of the same size had been made). A misaligned call goes through aligned copies.
  auto misaligned = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 64 != 0; };
  if (misaligned(in) || misaligned(out)) {
    const bool real_in = kind_ == FftKind::R2C, real_out = kind_ == FftKind::C2R;
    const std::size_t in_bytes = (real_in ? real_ : cplx_) * (real_in ? sizeof(R) : sizeof(C));
    const std::size_t out_bytes = (real_out ? real_ : cplx_) * (real_out ? sizeof(R) : sizeof(C));
    AlignedVector<std::complex<R>> a((in_bytes + sizeof(C) - 1) / sizeof(C)), b((out_bytes + sizeof(C) - 1) / sizeof(C));
    std::memcpy(a.data(), in, in_bytes);
    execute(a.data(), b.data());
    std::memcpy(out, b.data(), out_bytes);
    return;
  }
  void* i = const_cast<void*>(in);
  switch (kind_) {
    case FftKind::R2C: A::exec_r2c(plan_, static_cast<R*>(i), static_cast<C*>(out)); break;
    case FftKind::C2R: A::exec_c2r(plan_, static_cast<C*>(i), static_cast<R*>(out)); break;
    default: A::exec_c2c(plan_, static_cast<C*>(i), static_cast<C*>(out)); break;
  }
}

template class FftwPlan<float>;
template class FftwPlan<double>;

}  // namespace fourierconv::signal::detail
