// Internal: the cost model behind method "auto" (a pure function of the geometry, the
// compute type and the thread count), and the measured choice.
#pragma once

#include "fourierconv/array.hpp"
#include "fourierconv/convolve.hpp"
#include "fourierconv/signal.hpp"
#include "signal/geometry.hpp"

namespace fourierconv::signal::detail {

// Estimated seconds of each method for this problem computed in `compute` (the direct method
// in the result type; FFT methods in float32/complex64 or float64/complex128, see signal.hpp),
// on `threads` OpenMP threads (choose_by_model passes omp_get_max_threads()).
struct Costs {
  double direct = 0, fft = 0, blocked = 0;
  // Where the direct sum costs less than every FFT method's lower bound, fft and blocked are
  // infinite (not estimated) and this is that bound; else 0.
  double fft_bound = 0;
  // The parts of direct and of fft/blocked that the scales do not multiply (per call).
  double direct_fixed = 0, fft_fixed = 0;
};
// `scales` multiplies the work (all but the fixed part per call) of the direct sum, the FFTW
// transforms and the plane transforms (cost_model_scales, calibrate.cpp); the default is the
// fitted constants alone.
Costs estimate_costs(const Geometry& g, DType direct_type, DType fft_type, bool zero_fill, int threads,
                     const CostModelScales& scales = {});
// The share of axis a's kernel taps, over all its outputs, whose source is in x (1 for the
// periodic and symmetric extensions): the direct sum skips rows of the fill value, so the model
// counts only these on the leading axes.
double reached_share(const ConvAxis& a);
// The cheapest of the three with its reason ("fft for kernel 15x15 on 512x512 (same):
// estimated direct 900 us, fft 210 us, overlap-add 260 us").
// with_reason false leaves the reason empty (it costs a few microseconds of formatting).
// calibrate: with this machine's scales where the fitted estimates leave the choice close
// (ConvolveOptions::calibrate).
MethodChoice choose_by_model(const Geometry& g, DType direct_type, DType fft_type, bool zero_fill, Mode mode,
                             bool with_reason = true, bool calibrate = true);
// Whether some scales within [1 / kMaxScale, kMaxScale] could make another method the
// cheapest of these fitted estimates (choose_by_model measures them only then); false where
// the FFT methods were not estimated (fft_bound).
bool scales_can_change_choice(const Costs& fitted);
// FOURIERCONV_COST_MODEL=fitted: no scales measured or used (calibrate.cpp).
bool cost_model_fitted_only();
// The range of each scale: [1 / kMaxScale, kMaxScale].
constexpr double kMaxScale = 3;

}  // namespace fourierconv::signal::detail
