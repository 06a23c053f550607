// Internal: the real 2-D FFT of one float32 plane on the tuple FFTs (tuple_fft.hpp), for the
// FFT convolution of single planes (the seed case: a 128 x 128 image by a fixed filter).
//
// Why: Debian's FFTW (3.3.10) has SSE2 and AVX codelets only, no FMA, no AVX2 or AVX-512;
// its r2c + c2r of a 128^2 plane took 42 us on an AMD Zen 5, 27 GFLOP/s. Here every butterfly
// works on 8 transforms at once, with no shuffles inside the transforms:
//   forward  1. axis 0, real -> half spectrum: rows 2t and 2t+1 are the real and imaginary
//              parts of a complex sequence of length P/2 (lanes: 8 adjacent columns), its
//              FFT, then the split into the P/2 + 1 bins of the real transform (the standard
//              "two for one" real FFT: Numerical Recipes, 3rd ed., section 12.3.2).
//           2. axis 1, complex: blocks of 8 bins of axis 0 are transposed 8 x 8 so that their
//              lanes are those 8 bins, and each block runs a tuple FFT of length Q.
//   inverse  the same steps reversed: unnormalized both ways, as FFTW's r2c and c2r (a forward
//            and an inverse multiply the plane by P Q).
// The spectrum's layout is private to this class: ceil((P/2 + 1) / 8) blocks, each Q split
// complex vectors (CVec: 8 real parts, 8 imaginary parts) indexed by the axis-1 frequency,
// whose lanes are 8 consecutive axis-0 frequencies (lanes past P/2 hold zeros). Spectra are
// only multiplied elementwise (multiply below) and transformed back by the same PlaneFft.
#pragma once

#include <complex>
#include <cstddef>
#include <memory>

#include "tuple_fft.hpp"

namespace fourierconv::detail {

class PlaneFft {
 public:
  // The grids this class transforms: P even, Q a multiple of 8, both at least 8.
  static bool takes(std::size_t P, std::size_t Q);
  PlaneFft(std::size_t P, std::size_t Q);  // throws Error where !takes(P, Q)
  // One shared, immutable PlaneFft per grid (its tables made once), as FftPlan::get.
  static std::shared_ptr<const PlaneFft> get(std::size_t P, std::size_t Q);

  std::size_t rows() const { return P_; }
  std::size_t cols() const { return Q_; }
  // Complex values (std::complex<float> units) of a spectrum in this class's layout.
  std::size_t spectrum_size() const { return blocks_ * Q_ * kLanes; }
  // Floats of work space that forward, inverse and convolve need on `threads` threads
  // (64-byte aligned).
  std::size_t work_size(int threads = 1) const;

  // threads > 1: the column chunks and the row blocks are shared among that many OpenMP
  // threads (a parallel region; call it outside one).
  // x: P x Q row-major floats (any alignment) -> spec (spectrum_size(), 64-byte aligned).
  void forward(const float* x, std::complex<float>* spec, float* work, int threads = 1) const;
  // spec -> y: P x Q floats (any alignment; may be x's buffer). spec is overwritten.
  void inverse(std::complex<float>* spec, float* y, float* work, int threads = 1) const;
  // y = inverse(forward(x) * kspec): the circular convolution of x with the kernel whose
  // spectrum is kspec (scaled as the caller wants), block by block in cache. y may equal x.
  void convolve(const float* x, const std::complex<float>* kspec, float* y, float* work, int threads = 1) const;
  // spec *= kspec, both spectra of this layout, n = spectrum_size().
  static void multiply(std::complex<float>* spec, const std::complex<float>* kspec, std::size_t n);

 private:
  // Column chunks [j0, j1) of the axis-0 pass, in groups of `group` chunks.
  void columns_forward(const float* x, CVec* g, CVec* work, std::size_t j0, std::size_t j1, std::size_t group) const;
  void columns_inverse(CVec* g, float* y, CVec* work, std::size_t j0, std::size_t j1, std::size_t group) const;
  // The three passes (columns, row blocks, columns) on thread t of n; the row blocks run
  // `each(b, blk, tw)`.
  template <class Rows>
  void passes(const float* x, float* y, float* work, int threads, bool forward_columns, bool inverse_columns, Rows&& each) const;
  void rows_to_block(const CVec* g, std::size_t b, CVec* blk) const;
  void block_to_rows(const CVec* blk, std::size_t b, CVec* g) const;
  std::size_t P_, Q_, M_, C_;  // M_ = P/2; C_ = Q/8 column chunks
  // The work grid's row stride in CVecs (64 bytes each): C_ rounded up to odd. The axis-0 pass
  // walks a column at this stride; a multiple of 4 KB (Q a multiple of 512) put every element
  // of a column in one cache set (Intel Xeon, 1024^2: 3.3 ns per point against 1000^2's 2.6).
  std::size_t S_;
  std::size_t blocks_;
  TupleFft half_, row_;                 // lengths P/2 (axis 0, paired rows) and Q (axis 1)
  AlignedVector<float> wr_, wi_;        // w^k = exp(-2 pi i k / P), k <= P/4
};

}  // namespace fourierconv::detail
