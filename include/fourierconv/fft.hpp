// FFT engine: real<->complex transforms on FFTW3 (single precision), planned once and
// executed many times.
//
// Normalization (numpy's "backward", stated once here and used everywhere):
//   forward  X[k] = sum_n x[n] e^{-2 pi i k n / N}       (unscaled)
//   inverse  x[n] = (1/N) sum_k X[k] e^{+2 pi i k n / N}  (scaled by 1/N, N = H*W)
// FftPlan::inverse_unscaled skips the 1/N so callers can fold it into a spectrum they
// multiply by anyway (a fixed filter's spectrum, for instance) and save a pass.
// Half spectrum: a real plane of H x W has H x (W/2+1) complex bins, row-major.
#pragma once

#include <complex>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace fourierconv {

using Complex = std::complex<float>;  // layout-compatible with fftwf_complex

// How hard FFTW's planner works. Estimate plans in microseconds; Measure times candidate
// algorithms (0.07 s for 64x64 to about 1 s for 2048x2048 here) and gives plans up to ~2x
// faster. One-shot helpers (convolve) always use Estimate; planned objects (Convolver, layers)
// use the process default, which is Measure unless FOURIERCONV_FFT_RIGOR=estimate.
enum class FftRigor { Estimate, Measure };
void fft_set_rigor(FftRigor rigor);
FftRigor fft_rigor();

// FFTW wisdom: accumulated plans, so a second run plans instantly. Returns false when the
// file is missing or unreadable (load) or cannot be written (save). The environment variable
// FOURIERCONV_WISDOM names a file loaded before the first plan.
bool fft_load_wisdom(const std::string& path);
bool fft_save_wisdom(const std::string& path);

// Smallest m >= n of the form 2^a 3^b 5^c 7^d (sizes FFTW transforms fastest). n = 0 -> 1.
std::size_t next_fast_size(std::size_t n);
// Every m = 2^a 3^b 5^c 7^d in [lo, hi], ascending (hi at most 2^60; empty when lo > hi).
std::vector<std::size_t> fast_sizes(std::size_t lo, std::size_t hi);
// The size in [n, 2n] with the lowest estimated transform time, for padding that is free to
// grow: m log2 m times a factor for the radices (measured here with FFTW's Estimate plans:
// 270 = 2*3^3*5 cost 2.8x the time of 256 per point, 1029 = 3*7^3 was 5x slower than 1024).
std::size_t fast_padded_size(std::size_t n);
// The per-point cost factor of n's radices in that estimate (1 for a power of two).
double fft_radix_penalty(std::size_t n);

// Whether p has the alignment FftPlan's execute functions need (FFTW's SIMD alignment).
bool fft_aligned(const void* p);

// Real-to-complex / complex-to-real transforms of one shape, batched over `howmany`
// contiguous planes. dims is {n} (1-D) or {h, w} (2-D); a leading 1 in 2-D is planned as 1-D.
// Real planes are h*w floats apart, spectra h*(w/2+1) complex apart.
// Buffers passed to execute functions must be 64-byte aligned (owning Tensor and AlignedVector
// storage is; a Tensor::borrowed view need not be) and must not overlap (plans are out-of-place).
// Thread safety: get() may be called from any thread (planning is serialized);
// forward/inverse are safe to call concurrently on different buffers.
class FftPlan {
 public:
  // Cached: the same (dims, howmany, rigor, threads) returns the same plan.
  // threads > 1 uses FFTW's OpenMP threads inside one transform (pays from about 512x512).
  static std::shared_ptr<const FftPlan> get(const std::vector<std::size_t>& dims, std::size_t howmany = 1,
                                            FftRigor rigor = fft_rigor(), int threads = 1);
  ~FftPlan();
  FftPlan(const FftPlan&) = delete;
  FftPlan& operator=(const FftPlan&) = delete;

  std::size_t height() const { return h_; }
  std::size_t width() const { return w_; }
  std::size_t howmany() const { return howmany_; }
  std::size_t real_size() const { return h_ * w_; }             // floats per plane
  std::size_t spectrum_width() const { return w_ / 2 + 1; }
  std::size_t spectrum_size() const { return h_ * (w_ / 2 + 1); } // complex bins per plane
  float inverse_scale() const { return 1.0f / static_cast<float>(h_ * w_); }

  // real[howmany][h][w] -> spectrum[howmany][h][w/2+1]; `real` is not modified.
  void forward(const float* real, Complex* spectrum) const;
  // spectrum -> real, scaled by 1/(h*w). Destroys `spectrum` (FFTW's c2r does).
  void inverse(Complex* spectrum, float* real) const;
  // Same without the 1/(h*w) scale.
  void inverse_unscaled(Complex* spectrum, float* real) const;

 private:
  FftPlan(std::size_t h, std::size_t w, std::size_t howmany, FftRigor rigor, int threads);
  std::size_t h_, w_, howmany_;
  void* forward_plan_ = nullptr;  // fftwf_plan
  void* inverse_plan_ = nullptr;
};

// Complex-to-complex 2-D transforms of h x w complex planes (row-major), out of place, both
// directions unscaled (numpy's fft2 and h*w times its ifft2). Same caching, alignment and
// thread-safety rules as FftPlan. The FFT convolution uses them to transform two real planes at
// once (z = a + i b), which FFTW does ~30% faster than two r2c transforms of tile sizes.
class ComplexFftPlan {
 public:
  static std::shared_ptr<const ComplexFftPlan> get(std::size_t h, std::size_t w, FftRigor rigor = fft_rigor());
  ~ComplexFftPlan();
  ComplexFftPlan(const ComplexFftPlan&) = delete;
  ComplexFftPlan& operator=(const ComplexFftPlan&) = delete;

  std::size_t height() const { return h_; }
  std::size_t width() const { return w_; }
  // out[k] = sum_n in[n] e^{-2 pi i k.n / (h, w)}; `in` is not modified.
  void forward(const Complex* in, Complex* out) const;
  // out[n] = sum_k in[k] e^{+2 pi i k.n / (h, w)} (no 1/(h*w)); `in` is not modified.
  void backward_unscaled(const Complex* in, Complex* out) const;

 private:
  ComplexFftPlan(std::size_t h, std::size_t w, FftRigor rigor);
  std::size_t h_, w_;
  void* forward_plan_ = nullptr;  // fftwf_plan
  void* backward_plan_ = nullptr;
};

// Real 1-D transforms of n points whose half spectrum (n/2 + 1 bins) is kept split: the real
// parts, then stride() floats later the imaginary parts, so that products of many such spectra
// are plain vector multiply-adds with no interleaving pass (StreamConvolver's delay lines).
// stride() = bins rounded up to 16, so both halves stay 64-byte aligned. Even n runs a complex
// FFT of n/2 points and one vectorized unpacking pass (2.6-4x faster than FFTW's real
// transforms here: src/split_fft.cpp); odd n uses FFTW's guru split real transforms.
// Same caching, alignment (64 bytes) and thread-safety rules as FftPlan.
class SplitFftPlan {
 public:
  static std::shared_ptr<const SplitFftPlan> get(std::size_t n, FftRigor rigor = fft_rigor());
  ~SplitFftPlan();
  SplitFftPlan(const SplitFftPlan&) = delete;
  SplitFftPlan& operator=(const SplitFftPlan&) = delete;
  std::size_t size() const { return n_; }
  std::size_t bins() const { return n_ / 2 + 1; }
  std::size_t stride() const { return (bins() + 15) / 16 * 16; }
  // spectrum[k] + i spectrum[stride() + k] = sum_t real[t] e^{-2 pi i k t / n}, k < bins();
  // destroys `real` (even n: it is the transform's scratch); spectrum[bins(), stride()) and
  // its imaginary twin are set to zero. Both arrays 64-byte aligned.
  void forward(float* real, float* spectrum) const;
  // real[t] = the inverse of the full (Hermitian) spectrum, unscaled (n times numpy's irfft).
  // May destroy the spectrum's bins.
  void inverse_unscaled(float* spectrum, float* real) const;

 private:
  SplitFftPlan(std::size_t n, FftRigor rigor);
  std::size_t n_;
  void* forward_plan_ = nullptr;  // fftwf_plan: even n, a complex FFT of n / 2 points
  void* inverse_plan_ = nullptr;
  std::vector<float> cos_, sin_;  // even n: W^k = cos_[k] + i sin_[k], W = e^{-2 pi i / n}, k < n / 2
};

// numpy-like one-shot transforms of a whole (h, w) float array (Estimate plans, no alignment
// needed): rfft2 gives h*(w/2+1) bins, unscaled; irfft2 inverts it, scaled by 1/(h*w).
std::vector<Complex> rfft2(const float* x, std::size_t h, std::size_t w);
std::vector<float> irfft2(const std::vector<Complex>& spectrum, std::size_t h, std::size_t w);

}  // namespace fourierconv
