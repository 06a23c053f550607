// scipy.signal's convolution functions for every array scipy accepts: N-D, every element type
// of array.hpp, convolution along chosen axes with the others broadcast, with scipy's
// semantics, result types and errors, computed by the direct sum, one FFT of the whole extent,
// or overlap-save blocks (scipy's overlap-add), chosen by a cost model or by timing.
//
//   convolve(in1, in2, mode, method)      scipy.signal.convolve; options.axes: ours (an
//                                         extension), the other axes broadcast as fftconvolve's
//   correlate(in1, in2, mode, method)     scipy.signal.correlate: convolve(in1, reverse(conj(in2)))
//   fftconvolve(in1, in2, mode, axes)     scipy.signal.fftconvolve
//   oaconvolve(in1, in2, mode, axes)      scipy.signal.oaconvolve
//   convolve2d / correlate2d(in1, in2, mode, boundary, fillvalue)
//   choose_conv_method(in1, in2, mode, measure)
//   correlation_lags(in1_len, in2_len, mode)
//
// Modes (per convolved axis, input n, kernel k, after the valid-mode swap): full n + k - 1;
// same n (centred as scipy's _centered: offset (k - 1) / 2); valid n - k + 1, where the inputs
// swap when in2 is at least as large as in1 on every axis, and neither containing the other is
// an error; circular (ours, not scipy's) n, the convolution theorem on in1's grid with the
// kernel's centre k/2 at the origin (convolve.hpp).
//
// Result types (scipy): numpy's result_type of the inputs; the direct method computes in it
// (integers exactly, with numpy's wrap-around; floats in their own precision). The FFT methods
// compute in float32 for float32 and complex64 inputs, in float64 / complex128 otherwise:
// fftconvolve and oaconvolve return that type (float64 for integer inputs), convolve and
// correlate round it back to an integer result type (scipy's convolve(method='fft')).
// Accuracy: |error| <= c * eps(type) * sqrt(log2 N) * max|in1| * max|in2| * min(size), with eps
// 1.2e-7 for float32/complex64 and 2.2e-16 for float64/complex128 (tested: tests/signal).
//
// Edge cases as scipy: two 0-d inputs give their product (0-d); inputs of different rank are
// an error; convolve/correlate of an empty input is an error, fftconvolve/oaconvolve return an
// empty float64 array of shape (0,). Non-finite values flow through as IEEE arithmetic (an FFT
// spreads a NaN over the whole output, as scipy's; the direct method keeps it local), unless
// options.check_finite asks for an error. Every error is a fourierconv::Error naming the
// argument, what was expected and what came.
#pragma once

#include <complex>
#include <cstdint>
#include <optional>
#include <vector>

#include "fourierconv/array.hpp"
#include "fourierconv/convolve.hpp"

namespace fourierconv::signal {

// convolve2d's boundary rules: fill (pad with fillvalue), wrap (periodic), symm (mirror with the
// edge repeated: d c b a | a b c d | d c b a). scipy's names; also "pad", "circular", "symmetric".
enum class Boundary { Fill, Wrap, Symm };
Boundary parse_boundary(const std::string& name);

struct ConvolveOptions {
  std::optional<std::vector<long>> axes;  // default: every axis; negative counts from the end
  bool check_finite = false;              // throw on NaN or Inf instead of IEEE arithmetic
  FftRigor rigor = FftRigor::Estimate;    // FFTW planning for this call (one-shot: estimate)
  // With `chosen`: also write its `reason` (formatting it costs ~0.5 us, a tenth of a 64^2 * 3^2
  // call); false leaves the reason empty and gives the method and the estimates only.
  bool explain = true;
  // Method auto's cost model (src/signal/choose.cpp) with this machine's scale factors
  // (cost_model_scales, measured once per process: near a crossover two processes on one
  // machine can choose differently, and their results differ in the last bits); false: the
  // constants fitted on the reference machine alone, a choice that depends on no timing (only
  // on the shapes, the types, the thread count and the CPU's vector width).
  // FOURIERCONV_COST_MODEL=fitted (exactly, lower case) makes every call's false.
  bool calibrate = true;
};
// Options for planned objects: FFTW's measured plans, unless FOURIERCONV_FFT_RIGOR=estimate.
inline ConvolveOptions planned_options() {
  ConvolveOptions o;
  o.rigor = fft_rigor();
  return o;
}

Array convolve(const ArrayView& in1, const ArrayView& in2, Mode mode = Mode::Full, Method method = Method::Auto,
               const ConvolveOptions& options = {}, MethodChoice* chosen = nullptr);
Array correlate(const ArrayView& in1, const ArrayView& in2, Mode mode = Mode::Full, Method method = Method::Auto,
                const ConvolveOptions& options = {}, MethodChoice* chosen = nullptr);
Array fftconvolve(const ArrayView& in1, const ArrayView& in2, Mode mode = Mode::Full,
                  const std::optional<std::vector<long>>& axes = std::nullopt);
Array oaconvolve(const ArrayView& in1, const ArrayView& in2, Mode mode = Mode::Full,
                 const std::optional<std::vector<long>>& axes = std::nullopt);
// 2-D inputs only, by the direct method (as scipy's: NaN and Inf stay where their windows
// reach). fillvalue must be representable in the result type (a complex fillvalue with a real
// result is an error, as scipy's "could not cast fillvalue").
Array convolve2d(const ArrayView& in1, const ArrayView& in2, Mode mode = Mode::Full, Boundary boundary = Boundary::Fill,
                 std::complex<double> fillvalue = 0.0);
// scipy's correlate2d: the correlation (convolve2d with reverse(conj(in2))), with two of
// scipy's behaviours kept for drop-in parity: mode "same" crops the full correlation at k / 2
// (correlate crops at (k - 1) / 2: they differ for even kernel sizes), and when valid mode
// swaps the inputs the result is correlate2d(in2, in1) reversed, which for complex inputs is
// the conjugate of correlate's answer.
Array correlate2d(const ArrayView& in1, const ArrayView& in2, Mode mode = Mode::Full, Boundary boundary = Boundary::Fill,
                  std::complex<double> fillvalue = 0.0);

// The method convolve(auto) would use, and why. measure: times each candidate on these inputs
// (as scipy's measure=True; the estimates become the measured times) instead of the model.
// Like scipy: integer inputs whose products could exceed float64's 53-bit mantissa and bool
// inputs go direct.
MethodChoice choose_conv_method(const ArrayView& in1, const ArrayView& in2, Mode mode = Mode::Full,
                                bool measure = false, const ConvolveOptions& options = {});

// The auto cost model's scale factors on this machine: the work (all but a fixed part per
// call) of its estimates for the direct sum, the FFTW transforms and the plane transforms
// (float32 in two axes) is multiplied by them. Each is a time measured here on one thread (the
// best of 8 runs of a fixed problem: 128^2 with 11^2 direct; 128^2 with 33^2 by FFT, float64
// on FFTW and float32 on the plane transforms; for float32 also a 1-D signal of 16,384 with
// 1,025 taps by FFT, on FFTW) over the model's estimate of it, clamped to [1/3, 3].
// `precision`: Float32 or Complex64 gives the single-precision factors, any other type the
// double ones. The first call in a process measures (on an Intel Xeon about 8 ms for float32
// and 5 for float64, most of it FFTW's planning of these sizes); later calls return the same
// factors. Should the measurement fail (out of memory under set_memory_limit), the call gets
// all 1 and a later call measures again. Method auto calls this itself, only where some scales
// in [1/3, 3] could change its pick among the methods it estimated: never where the direct sum
// is under every FFT method's lower bound (small kernels: a 3 x 3 filter never pays for it; the
// reason then says "fft methods not estimated") or far from a crossover. The estimates in a
// MethodChoice are the scaled ones where its reason ends "(scaled to this machine)". All 1
// when FOURIERCONV_COST_MODEL=fitted (exactly; read once, at the first method-auto call).
struct CostModelScales {
  double direct = 1, fft = 1, plane_fft = 1;
};
CostModelScales cost_model_scales(DType precision);

// scipy.signal.correlation_lags: the lag of each index of a 1-D correlate(in1, in2, mode).
std::vector<std::int64_t> correlation_lags(std::size_t in1_len, std::size_t in2_len, Mode mode = Mode::Full);

// A fixed kernel planned once for inputs of one shape and type: convolve(x, kernel, mode,
// method, axes) for many x, the method chosen once and, for the FFT methods, the kernel's
// spectra computed once (FFTW plans measured unless options.rigor says estimate). The plan
// reuse scipy users ask for. Calls are thread-safe (each uses its own buffers).
class Convolver {
 public:
  Convolver(const Shape& in1_shape, DType in1_dtype, const ArrayView& kernel, Mode mode = Mode::Full,
            Method method = Method::Auto, const ConvolveOptions& options = planned_options());
  ~Convolver();
  Convolver(Convolver&&) noexcept;
  Convolver& operator=(Convolver&&) noexcept;

  // x must have in1_shape (any dtype: it is converted as convolve would). Returns the result
  // of convolve(x, kernel, mode, method, options).
  Array operator()(const ArrayView& x) const;
  const Shape& input_shape() const;
  const Shape& output_shape() const;
  DType output_dtype() const;
  const MethodChoice& choice() const;  // the method planned, and why
  // The FFT size per convolved axis (whole extent, or the overlap-save tile); empty for direct.
  std::vector<std::size_t> grid() const;
  // The zero-copy path for callers whose data is already laid out as the plan computes: C-order
  // inputs of the compute type (the result type, or float32/64 or complex for FFT methods)
  // whose batch axes come before the convolved ones. x: in1_shape, y: output_shape elements.
  // Returns false, doing nothing, when the plan does not fit that description.
  bool execute_contiguous(const void* x, void* y) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace fourierconv::signal
