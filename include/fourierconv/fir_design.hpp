// FIR filter design and polyphase resampling, as scipy.signal has them (scipy's semantics,
// our code): firwin's windowed-sinc design and resample_poly's rational-rate resampling.
//
//   firwin(numtaps, cutoffs, pass_zero, window, scale): the window method. cutoffs are band
//   edges as fractions of the Nyquist frequency, strictly increasing in (0, 1). The passbands
//   are [0, c0], [c1, c2], ... when pass_zero (lowpass, bandstop), else [c0, c1], ... (highpass,
//   bandpass); a passband reaching 1 (Nyquist) needs an odd numtaps (an even symmetric
//   filter is zero at Nyquist). h[n] = w[n] * sum_bands (b sinc(b m) - a sinc(a m)),
//   m = n - (numtaps - 1)/2, sinc(x) = sin(pi x)/(pi x). With scale, h is normalized so that
//   its gain is exactly 1 at 0 (a passband at 0), at Nyquist (a passband ending there), or at
//   the centre of the first passband -- scipy.signal.firwin's rule.
//   Windows: "hamming" (firwin's default), "hann", "blackman", "boxcar", "kaiser:BETA"
//   (symmetric, as scipy.signal.get_window(..., fftbins=False)).
//
//   resample_poly(x, up, down): x upsampled by `up`, filtered by the Kaiser (beta 5) lowpass
//   firwin(20 max(up, down) + 1, 1 / max(up, down)) scaled by up, and downsampled by `down`,
//   with scipy.signal.resample_poly's alignment and length ceil(len(x) up / down) (up, down
//   reduced by their gcd first). Zeros are assumed outside x (padtype 'constant').
//
// Errors (fourierconv::Error) name the argument: numtaps 0, cutoffs out of (0, 1) or not
// increasing, an even numtaps with a passband at Nyquist, an unknown window, up or down 0.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace fourierconv {

std::vector<double> firwin(std::size_t numtaps, const std::vector<double>& cutoffs, bool pass_zero = true,
                           const std::string& window = "hamming", bool scale = true);

// The named symmetric window of n points (see above).
std::vector<double> window_function(const std::string& window, std::size_t n);

std::vector<float> resample_poly(const std::vector<float>& x, std::size_t up, std::size_t down);

// A designed FIR from a spec, in Hz at sample rate `rate` (the CLI's `filter --filter` for audio):
//   lowpass:F[,TAPS]  highpass:F[,TAPS]  bandpass:F1,F2[,TAPS]  bandstop:F1,F2[,TAPS]
// TAPS defaults to 101 (it must be odd for highpass and bandstop); the window is hamming.
// Throws Error naming the spec and what was expected.
std::vector<float> design_fir(const std::string& spec, double rate);

}  // namespace fourierconv
