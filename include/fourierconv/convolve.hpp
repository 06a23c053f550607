// The float32 Tensor face of signal.hpp (scipy.signal's convolution for every dtype and rank):
// convolve, fourier_convolution, the channel helpers and the planned Convolver, on the same
// engine. Non-finite values flow through as IEEE arithmetic, as scipy's.
//
// convolve() is TRUE convolution (the kernel is flipped), exactly as scipy.signal.convolve:
//   full:  y[i] = sum_u k[u] x[i-u],                  len n+k-1
//   same:  full cropped to len n, starting at (k-1)/2 (scipy's centring)
//   valid: full cropped to len n-k+1, starting at k-1; when the kernel is at least as large
//          as the input on every axis the two are swapped (convolution commutes), as scipy
//          does; when neither contains the other it is an error
//   circular: the convolution theorem on the input grid, y = ifft(fft(x) . fft(k on the
//          grid)), with the kernel's centre (kh/2, kw/2) at the grid origin so that a centred
//          delta is the identity: y[i] = sum_u k[u] x[(i - u + k/2) mod n]. A kernel larger
//          than the input wraps around (aliases) onto the grid.
//          The seed's fourier_convolution puts the kernel's corner at the origin instead, so
//          its output is our circular output shifted by (kh/2, kw/2) (np.roll).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fourierconv/fft.hpp"
#include "fourierconv/tensor.hpp"

namespace fourierconv {

enum class Mode { Full, Same, Valid, Circular };
enum class Method { Auto, Direct, Fft, OverlapAdd };
// Real: the (real) result. Magnitude: its absolute value, the seed's np.abs(ifft2(...)).
enum class Output { Real, Magnitude };

Mode parse_mode(const std::string& name);        // "full" | "same" | "valid" | "circular"
Method parse_method(const std::string& name);    // "auto" | "direct" | "fft" | "overlap-add"
Output parse_output(const std::string& name);    // "real" | "magnitude"
std::string to_string(Mode mode);
std::string to_string(Method method);
std::string to_string(Output output);

// The method auto picks, and why: a pure function of the problem (no convolution runs).
struct MethodChoice {
  Method method = Method::Direct;
  std::string reason;
  double direct_us = 0, fft_us = 0, overlap_add_us = 0;  // cost-model estimates
};

// Cost model for one plane (x: (h, w) or (n,), k likewise), for `planes` planes sharing one
// kernel: signal::convolve's (src/signal/choose.cpp), float32, on omp_get_max_threads()
// threads. Its constants were measured on the reference machine (BENCHMARKS.md 0f): per core
// a direct multiply-add, a transform's N log2 N and a spectrum bin, and per call and per tile
// a fixed part, scaled to this machine near the crossovers (signal::cost_model_scales); the
// estimates are in `direct_us`, `fft_us` and `overlap_add_us`.
MethodChoice choose_method(const Shape& x, const Shape& k, Mode mode, std::size_t planes = 1);

// Output shape of convolve(x, k, mode) (after any valid-mode swap). Throws on bad shapes.
Shape convolve_output_shape(const Shape& x, const Shape& k, Mode mode);

// dst: rank of x; (n+k-1) full, n same/circular, n-k+1 valid, per axis.
// Any rank (every axis convolved). Throws Error on empty arrays, a rank mismatch, or a
// valid-mode pair where neither array contains the other.
Tensor convolve(const Tensor& x, const Tensor& k, Mode mode = Mode::Full, Method method = Method::Auto,
                Output output = Output::Real, MethodChoice* chosen = nullptr);

// The seed's fourier_convolution(image, filter): the convolution theorem on the image's own
// grid, y = ifft2(fft2(image) . fft2(filter)), i.e. convolve(image, filter, circular, fft).
// The filter may be any size (a larger one wraps around); its centre is at (kh/2, kw/2).
// Pass Output::Magnitude for the seed's np.abs(...) of the inverse transform.
Tensor fourier_convolution(const Tensor& image, const Tensor& filter, Output output = Output::Real);

// Multi-channel bank, as a CNN layer does it (true convolution per pair, summed over C):
//   x: (H, W, C), bank: (kh, kw, C, F)  ->  dst (H', W', F),  dst[..., f] = sum_c conv(x[..., c], bank[..., c, f])
// With the fft method each input plane is transformed once and the channel sum happens in
// frequency space.
Tensor convolve_channels(const Tensor& x, const Tensor& bank, Mode mode = Mode::Same, Method method = Method::Auto);

// Depthwise: x (H, W, C), k (kh, kw, C) -> dst (H', W', C), dst[..., c] = conv(x[..., c], k[..., c]).
Tensor convolve_depthwise(const Tensor& x, const Tensor& k, Mode mode = Mode::Same, Method method = Method::Auto);

// A fixed kernel, planned once for an input plane shape and mode, executed many times: the
// kernel spectrum is computed at construction, so each plane costs one forward transform,
// one product and one inverse transform (the fixed-filter case of the seed).
// Input to operator(): (..., h, w) with the planned (h, w) as the last axes (or (..., n) for
// 1-D); leading axes are a batch of planes, run in parallel with OpenMP.
// Calls are thread-safe: several threads may run one Convolver at once (each thread uses its
// own buffers: the engine's per-thread scratch, signal.hpp's Convolver).
class Convolver {
 public:
  Convolver(const Shape& plane_shape, const Tensor& kernel, Mode mode, Output output = Output::Real);
  ~Convolver();
  Convolver(Convolver&&) noexcept;
  Convolver& operator=(Convolver&&) noexcept;

  const Shape& plane_shape() const;
  const Shape& output_plane_shape() const;
  // FFT grid actually used, e.g. (128, 128) for the seed case, (135, 135) padded for `same`.
  Shape grid_shape() const;

  Tensor operator()(const Tensor& x) const;
  // src: planes * h * w floats, dst: planes * oh * ow floats (any alignment).
  void execute(const float* src, float* dst, std::size_t planes) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fourierconv
