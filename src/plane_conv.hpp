// Internal: single-plane convolution machinery shared by convolve(), convolve_channels(),
// convolve_depthwise() and Convolver. Not installed; see convolve.hpp for the semantics.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "fourierconv/convolve.hpp"
#include "fourierconv/fft.hpp"
#include "fourierconv/tensor.hpp"

namespace fourierconv::detail {

// One axis of a plane convolution (after any valid-mode swap, so n >= k for valid).
struct Axis {
  std::size_t n = 1, k = 1, out = 1;
  // Linear modes: index of output 0 in the full convolution. Circular: the kernel centre k/2.
  std::ptrdiff_t start = 0;
  bool circular = false;
};
Axis make_axis(std::size_t n, std::size_t k, Mode mode);

// Per-thread buffers, grown on demand and reused across calls.
struct Scratch {
  AlignedVector<float> real, out, ext;
  AlignedVector<Complex> spec;
};

// The "extended input" E of a plane: E[t] = x(start - (k-1) + t) on each axis, with x zero
// outside (linear modes) or periodic (circular). Then for every mode and method
//   y[i] = sum_u k[u] E[i + k-1-u],   E: (oh+kh-1) x (ow+kw-1)
// which the direct and blocked methods compute without bounds checks.
void build_extended(const float* x, const Axis& r, const Axis& c, float* e);
void direct_from_extended(const float* e, const float* k, const Axis& r, const Axis& c, float* y);

// Whole-plane FFT grid for one axis: the smallest fast size that holds the output without
// wrap-around (n for circular, where the grid is the input grid).
std::size_t fft_grid(const Axis& a);
// Kernel placed on a P x Q grid (its centre at the origin for circular), as a real grid.
void place_kernel(const float* k, const Axis& r, const Axis& c, std::size_t P, std::size_t Q, float* grid);
// Copies x (h x w) into the top-left of a P x Q grid and zeroes the rest.
void place_input(const float* x, std::size_t h, std::size_t w, std::size_t P, std::size_t Q, float* grid);
// y[i][j] = grid[i + off_r][j + off_c] (off = start for linear modes, 0 for circular).
void crop_output(const float* grid, std::size_t Q, const Axis& r, const Axis& c, float* y);
// Multiplies spec by kspec element-wise, n bins.
void multiply_spectra(Complex* spec, const Complex* kspec, std::size_t n);
// acc += a * b (conj_b: a * conj(b)) element-wise over n bins. Inline: it is the inner loop
// of every channel sum in frequency space.
inline void multiply_accumulate_spectra(Complex* __restrict acc, const Complex* __restrict a, const Complex* __restrict b,
                                        std::size_t n, bool conj_b = false) {
  float* c = reinterpret_cast<float*>(acc);
  const float* x = reinterpret_cast<const float*>(a);
  const float* k = reinterpret_cast<const float*>(b);
  const float sgn = conj_b ? -1.0f : 1.0f;
  for (std::size_t i = 0; i < n; ++i) {
    const float xr = x[2 * i], xi = x[2 * i + 1], kr = k[2 * i], ki = sgn * k[2 * i + 1];
    c[2 * i] += xr * kr - xi * ki;
    c[2 * i + 1] += xr * ki + xi * kr;
  }
}

// Blocked FFT convolution (overlap-save on E, equivalent to overlap-add): tile grid sizes.
struct Blocking {
  std::size_t Lh = 1, Lw = 1;  // FFT tile size
  std::size_t tiles = 1;
};
Blocking choose_blocking(const Axis& r, const Axis& c);

// A single kernel, planned for one plane shape, mode and concrete method.
class PlaneConv {
 public:
  PlaneConv(std::size_t h, std::size_t w, const float* k, std::size_t kh, std::size_t kw, Mode mode, Method method,
            FftRigor rigor);
  const Axis& rows() const { return r_; }
  const Axis& cols() const { return c_; }
  std::size_t grid_h() const { return P_; }
  std::size_t grid_w() const { return Q_; }
  // x: h*w contiguous, y: oh*ow contiguous.
  void run(const float* x, float* y, Scratch& s) const;

 private:
  Axis r_, c_;
  Method method_;
  std::vector<float> kernel_;           // direct
  std::size_t P_ = 0, Q_ = 0;           // fft grid or blocked tile
  std::shared_ptr<const FftPlan> plan_;
  AlignedVector<Complex> kspec_;        // kernel spectrum with the 1/(P*Q) folded in
};

}  // namespace fourierconv::detail
