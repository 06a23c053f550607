// Internal: small complex FFTs vectorized across transforms ("tuple FFTs", as NNPACK calls
// them): every element is a SIMD vector whose kLanes lanes belong to kLanes independent
// transforms, so each butterfly does kLanes transforms' work with no shuffles. For the small
// planes of the Fourier layers (28 x 28, 56 x 56) FFTW's one-transform-at-a-time codelets run
// far below this CPU's peak; these run on whole vectors.
//
// Data is split complex: a CVec holds the real parts of kLanes values and their imaginary
// parts. Transforms are unnormalized in both directions (forward sign -1, inverse +1), as
// FFTW's. Lengths may have any factors: radices 2, 3, 4, 5, 7, 8 are hand-written, any other
// prime runs through a generic odd-radix kernel (O(p^2) per butterfly).
//
// Algorithm: Stockham's self-sorting decimation-in-frequency mixed-radix FFT (no bit
// reversal): a stage of radix r on length n = r m maps
//   y[q + s (r p + u)] = w_n^(p u) sum_t x[q + s (p + t m)] w_r^(t u),   p < m, q < s,
// then recurses on length m with s *= r, ping-ponging between the data and a work buffer.
#pragma once

#include <cstddef>
#include <vector>

#include "fourierconv/tensor.hpp"
#include "simd.hpp"

namespace fourierconv::detail {

constexpr std::size_t kLanes = 8;
using simd::v8;

struct CVec {
  v8 re, im;
};

class TupleFft {
 public:
  explicit TupleFft(std::size_t n);
  std::size_t size() const { return n_; }

  // Transforms `count` sequences: element t of sequence b at data[t * ts + b * bs]
  // (t < n, b < count). work: at least n * count CVecs (any contents). In place.
  void transform(CVec* data, std::size_t ts, std::size_t bs, std::size_t count, bool inverse, CVec* work) const;

  // Columns transformed together by TupleFft2D's column pass (their elements are adjacent).
  static constexpr std::size_t kColumnChunk = 8;

 private:
  struct Stage {
    std::size_t r, m, s;
    AlignedVector<v8> tw_re, tw_im;  // (m) x (r - 1) forward twiddles w_n^(p u), u >= 1, broadcast
    std::vector<float> c, sn;      // generic odd radix: cos / sin(2 pi j / r), j < r
  };
  template <bool Inverse>
  void run(CVec* data, std::size_t ts, std::size_t bs, std::size_t count, CVec* work) const;
  void run_column_forward(CVec* data, std::size_t ts, std::size_t count, CVec* work) const;
  void run_column_inverse(CVec* data, std::size_t ts, std::size_t count, CVec* work) const;
  void run_strided(CVec* data, std::size_t ts, std::size_t bs, std::size_t count, bool inverse, CVec* work) const;
  void run_row_forward(CVec* data, CVec* work) const;
  void run_row_inverse(CVec* data, CVec* work) const;
  std::size_t n_;
  std::vector<Stage> stages_;
};

// The 2-D transform of a P x Q row-major grid of CVecs (rows of length Q), as a row pass and a
// column pass that callers may also run on part of the grid (pruned transforms: only the
// rows or columns that hold data, or whose results are read).
struct TupleFft2D {
  TupleFft2D(std::size_t rows, std::size_t cols);
  // The transforms along each row (length cols) for rows in [r0, r1).
  void row_pass(CVec* grid, std::size_t r0, std::size_t r1, bool inverse, CVec* work) const;
  // The transforms along each column (length rows) for columns in [c0, c1).
  void column_pass(CVec* grid, std::size_t c0, std::size_t c1, bool inverse, CVec* work) const;
  // Both passes on the whole grid (rows first for the forward, columns first for the inverse).
  void forward(CVec* grid, CVec* work) const;
  void inverse(CVec* grid, CVec* work) const;
  std::size_t work_size() const;  // CVecs of work the passes need
  TupleFft row_fft, col_fft;      // lengths cols and rows
  std::size_t P, Q;
};

using CVecBuffer = AlignedVector<CVec>;

}  // namespace fourierconv::detail
