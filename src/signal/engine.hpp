// Internal: the convolution engine on canonical arrays (geometry.hpp), for every element type.
//
//   FftConvolver<T>, T in {float, double, complex<float>, complex<double>}: the FFT method
//   (one transform of the whole convolved extent per item) and the blocked method (overlap-save
//   tiles of E, scipy's overlap-add in effect), with the kernel's spectra computed once at
//   construction (the planned Convolver reuses them). Real types use r2c/c2r, complex c2c.
//   direct_convolve<T>: the direct sum, for every element type (integers exactly, in their own
//   wrap-around arithmetic as numpy's; bool as logical or of ands).
// Both compute y = sum_u k[u] E[i + k - 1 - u] over the convolved axes for every output batch
// item (x and kernel items chosen by the broadcasting of geometry.hpp).
#pragma once

#include <algorithm>
#include <complex>
#include <memory>
#include <vector>

#include "fourierconv/array.hpp"
#include "fourierconv/fft.hpp"
#include "fourierconv/tensor.hpp"
#include "signal/geometry.hpp"

namespace fourierconv::signal::detail {

// Work buffers of the engines. Up to kKeptScratchBytes they are per thread and kept across
// calls (a complex 128 x 128 grid is 256 KB: allocating it per call cost page faults and
// zeroing that doubled the seed case's time); larger ones (a whole 2048^2 grid is 17 MB) are
// allocated per call and go back to the memory pool (memory_limit.hpp), which keeps them for
// the next call up to its limit (a quarter of the memory limit; set_memory_pool_limit and
// empty_memory_pool release them), as it keeps the tensors' blocks. `slot` (0-3)
// tells the buffers of one call apart; no engine call runs inside another on one thread.
constexpr std::size_t kKeptScratchBytes = std::size_t(4) << 20;

// The engines' parallel regions (the cost model, choose.cpp, divides their work by the threads):
// a direct sum of more multiply-adds than this shares its rows among threads (float32 on two
// threads against one: 96^2 * 3^2, 83k, 4.7 against 5.7 us; 128^2 * 3^2 7.0 against 8.0;
// 64^2 * 3^2, 37k, 3.3 against 3.6, too close to pay for the wake-up's risk on a loaded CPU);
constexpr double kParallelMacs = 6e4;
// FFT items or overlap-save tiles of more points than this in total share themselves among
// threads (at 1 << 15, a 8192-sample float64 signal with 257 taps ran its 5 overlap-add tiles
// of 2048 on one thread: 35 us, against 23-27 us on two);
constexpr double kParallelPoints = 1 << 13;
// a single grid this large uses FFTW's own threads.
constexpr std::size_t kThreadedGrid = std::size_t(1) << 18;
// A single grid on the plane transforms (plane_grid) shares its column chunks and row blocks
// between two threads from this many points (float32 on an AMD Zen 5: 160^2 35 -> 30 us,
// 192^2 49 -> 39, 256^2 105 -> 63; 128^2 19-25 either way, the fork and barriers eat the gain).
constexpr std::size_t kPlaneThreadedPoints = 20000;
// The largest grid the plane transforms take (beyond, FFTW's threads). 4096^2: on an AMD Zen 4
// the plane transforms ran a circular 4096^2 Convolver in 47-78 ms against FFTW's measured,
// threaded plans' 92-103 (FFTW spent a third in its copies, fftwf_cpy2d), and method 'fft' on
// 2048^2 with 63^2 and 3000^2 with 31^2 in 31-35 and 58-65 ms against 52-78 and 109-133; the
// limit was 2048^2 before.
constexpr std::size_t kPlaneMaxPoints = std::size_t(1) << 24;
// Rows wider than this keep the old limit, 2048^2 points: the plane transforms' work grows with
// the row length (about 128 bytes per column and thread), and an 8 x 2^21 grid took 773 MB
// there against FFTW's 400 for the same speed (a review's finding).
constexpr std::size_t kPlaneWideCols = 8192;
constexpr std::size_t kPlaneMaxPointsWide = std::size_t(1) << 22;
// One-shot FFT convolution of one item by one kernel (FftConvolver::convolve_once) on 2+
// threads: the input's and the kernel's forward transforms run side by side, one per thread,
// on grids of kSideBySidePoints or more (float32 'same': 64^2 * 63^2 on 96^2, 127 -> 79 us;
// 256^2 * 63^2 452 -> 310; 32^2 * 15^2 29 -> 17; a 24^2 grid 3.5 -> 4.8, the wake-up costs
// more than a transform) except N-D grids from kThreadedGrid, whose transforms each run on
// FFTW's threads (1024^2 * 127^2: 7.8 ms, against 8.4 side by side).
constexpr std::size_t kSideBySidePoints = 1024;
inline bool side_by_side_forwards(std::size_t points, std::size_t rank) {
  return points >= kSideBySidePoints && (points < kThreadedGrid || rank == 1);
}

// Work memory of n elements: up to kKeptScratchBytes, a buffer kept per thread and slot
// (no allocation or page faults per call); larger, allocated for the call. Two Scratch objects
// alive at once on one thread need different slots: 0 the grid, 1 a spectrum, 2 the one-shot
// path's spectrum, 3 the plane transforms' work.
template <class U>
class Scratch {
 public:
  Scratch(int slot, std::size_t n) {
    const std::size_t bytes = std::max<std::size_t>(n * sizeof(U), 64);
    if (bytes <= kKeptScratchBytes) {
      thread_local AlignedVector<unsigned char> kept[4];
      auto& b = kept[slot];
      if (b.size() < bytes) b.resize(bytes);
      p_ = reinterpret_cast<U*>(b.data());
    } else {
      owned_ = std::unique_ptr<unsigned char, Free>(AlignedAllocator<unsigned char>().allocate(bytes), Free{bytes});
      p_ = reinterpret_cast<U*>(owned_.get());
    }
  }
  U* get() const { return p_; }

 private:
  // The block goes back with its size, so the memory pool keeps it for the next call (with a
  // size of 0 it went back to the kernel: every large call's work then came from fresh pages,
  // which the kernel zeroed on first touch: 4096^2 apply_filter 105-115 -> 94-106 ms on an
  // Intel Xeon, BENCHMARKS.md, fourteenth session).
  struct Free {
    std::size_t bytes = 0;
    void operator()(unsigned char* p) const noexcept { AlignedAllocator<unsigned char>().deallocate(p, bytes); }
  };
  std::unique_ptr<unsigned char, Free> owned_;
  U* p_ = nullptr;
};

template <class T>
class FftConvolver {
 public:
  // kernel: the canonical kernel (k_batch + k per axis), C-contiguous. fill: E's fill value.
  FftConvolver(const Geometry& g, const T* kernel, bool blocked, FftRigor rigor, T fill = T{});
  ~FftConvolver();
  FftConvolver(FftConvolver&&) noexcept;
  // x: canonical x (x_batch + n per axis); y: canonical output (batch + out per axis).
  void run(const T* x, T* y) const;
  // FftConvolver(g, kernel, blocked, rigor, fill).run(x, y), for a one-shot call: one item
  // by one kernel transforms both at once, on one core each (side_by_side_forwards).
  static void convolve_once(const Geometry& g, const T* kernel, const T* x, T* y, bool blocked, FftRigor rigor, T fill = T{});
  const std::vector<std::size_t>& grid() const;  // transform size per convolved axis
  std::size_t tiles() const;                      // per item (1: the whole-extent FFT)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

template <class T>
void direct_convolve(const Geometry& g, const T* x, const T* kernel, T* y, T fill = T{});
// The share of the outputs that direct_convolve computes with its several-rows kernel
// (interior columns of whole row groups, on 16-float vectors where simd::wide_vectors(), else
// 8-float; 0 where that kernel does not run) for element type t and a zero or other fill: the
// cost model's direct rate.
double direct_rows_share(const Geometry& g, DType t, bool zero_fill);

// The FFT tile per convolved axis that minimizes the blocked method's estimated cost, with the
// number of tiles per item. A pure function (choose.cpp's cost model uses it too).
struct Blocking {
  std::vector<std::size_t> tile;  // L per axis (>= k)
  std::size_t tiles = 1;
};
// spectrum_bytes_per_point: bytes of spectrum per grid point (complex types: the complex size;
// real ones: half of it, r2c keeping half the bins).
// planes: float32 in two axes, whose tiles are kept to sizes plane_grid takes.
Blocking choose_blocking(const Geometry& g, std::size_t spectrum_bytes_per_point, bool planes = false);
// The whole-extent grid of the FFT method (fast sizes), per convolved axis; planes (float32
// in two axes): sizes that plane_grid takes where they stay within kPlaneMaxPoints.
std::vector<std::size_t> fft_grid(const Geometry& g, bool zero_fill, bool planes = false);
// Whether a float32 grid runs on the tuple-FFT plane transforms (plane_fft.hpp) rather than
// FFTW: two axes, an even number of rows and a multiple of 8 columns with no prime factor
// above 7 in P/2 and Q (the tuple FFT's fast radices), at most kPlaneMaxPoints points
// (larger grids run on FFTW's threads). On an AMD Zen 5 r2c + c2r 1.8-2.3x faster than
// Debian's FFTW from 32^2 to 1024^2.
bool plane_grid(const std::vector<std::size_t>& grid);
// Whether the FFT method transforms x itself (linear modes with a zero fill, or circular)
// rather than the extended input E.
bool fft_on_x(const Geometry& g, bool zero_fill);

}  // namespace fourierconv::signal::detail
