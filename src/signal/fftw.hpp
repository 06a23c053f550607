// Internal: FFTW plans for float and double (fftwf_ / fftw_), real-to-complex, complex-to-real
// and complex-to-complex, of one contiguous N-D grid, planned once and executed on any
// buffers of that layout (FFTW's new-array execute), cached like FftPlan (fft.hpp), with the
// same planner lock and rigor setting. Unnormalized both ways.
//
// A batch of grids runs as a loop of executes of one plan, each item's transform, product and
// inverse staying in cache: measured faster here than one plan_many over the batch (PEERS.md:
// 8.7 ms against 17 ms for 512 planes of 64x64).
#pragma once

#include <complex>
#include <memory>
#include <vector>

#include "fourierconv/fft.hpp"

namespace fourierconv::signal::detail {

enum class FftKind { R2C, C2R, C2CForward, C2CBackward };

template <class R>  // float or double
class FftwPlan {
 public:
  // dims: the grid (row-major); for R2C/C2R the last axis is halved on the complex side
  // (dims.back() / 2 + 1). threads > 1: FFTW's OpenMP threads inside one transform.
  static std::shared_ptr<const FftwPlan> get(FftKind kind, const std::vector<std::size_t>& dims, FftRigor rigor,
                                             int threads = 1);
  ~FftwPlan();
  FftwPlan(const FftwPlan&) = delete;
  FftwPlan& operator=(const FftwPlan&) = delete;
  // in/out: not overlapping; C2R destroys `in`. Buffers not 64-byte aligned (AlignedVector
  // storage is) are transformed through aligned copies, as FFTW's new-array execute requires.
  void execute(const void* in, void* out) const;
  std::size_t real_size() const { return real_; }     // points of the grid
  std::size_t complex_size() const { return cplx_; }  // complex bins (halved last axis for R2C/C2R)

 private:
  FftwPlan(FftKind kind, const std::vector<std::size_t>& dims, FftRigor rigor, int threads);
  FftKind kind_;
  std::size_t real_, cplx_;
  void* plan_ = nullptr;
};

extern template class FftwPlan<float>;
extern template class FftwPlan<double>;

}  // namespace fourierconv::signal::detail
