// Fixed frequency responses H(fy, fx), and applying them to images.
//
// Frequencies are normalized, in cycles per pixel, with numpy's fftfreq convention:
// bin i of an n-point axis has f = i/n for i < (n+1)/2, else (i-n)/n; r = sqrt(fx^2 + fy^2),
// so r lies in [0, 0.7071]. A response means the same thing on any grid size.
//
// The named responses (exact formulas; sigma, cutoffs, frequency and bandwidth are in cycles
// per pixel unless noted):
//   gaussian_lowpass(sigma)         H = exp(-r^2 / (2 sigma^2))
//   gaussian_highpass(sigma)        H = 1 - exp(-r^2 / (2 sigma^2))
//   ideal_lowpass(cutoff)           H = 1 if r <= cutoff else 0
//   ideal_highpass(cutoff)          H = 1 if r >  cutoff else 0
//   ideal_bandpass(low, high)       H = 1 if low <= r <= high else 0
//   butterworth(cutoff, order)      H = 1 / (1 + (r / cutoff)^(2 order))     (lowpass)
//   gaussian_bandpass(f0, sigma)    H = exp(-(r - f0)^2 / (2 sigma^2))        (a ring)
//   laplacian_of_gaussian(sigma)    H = -4 pi^2 r^2 exp(-2 pi^2 s^2 r^2), s = sigma in PIXELS
//                                   (the spectrum of the spatial LoG of a gaussian of std s)
//   gabor(f0, theta, sigma)         H = g(fx - f0 cos t, fy - f0 sin t) + g(fx + f0 cos t, fy + f0 sin t),
//                                   g(a, b) = exp(-(a^2 + b^2) / (2 sigma^2)), theta t in radians
//                                   (two lobes: an even, real spatial filter, a cosine Gabor)
// A user's own response is any callable float(float fy, float fx): the C++ form of the
// seed's filter_func.
//
// Applying a response:  y = Re(ifft2(fft2(x) . H))  on the (optionally padded) grid.
// Real-valued responses are split into their even part He(f) = (H(f) + H(-f))/2, which gives
// the real output through irfft2(rfft2(x) . He) (numpy's irfft2(rfft2(x) * H) for the even
// named filters), and their odd part, which only contributes the imaginary output that the
// magnitude output |ifft2(fft2(x) . H)| needs.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "fourierconv/convolve.hpp"
#include "fourierconv/tensor.hpp"

namespace fourierconv {

using FrequencyResponse = std::function<float(float fy, float fx)>;

// A response with its name and arguments (for printing and saving); name "custom" for a
// callable with no name.
struct Filter {
  std::string name = "custom";
  std::vector<double> args;
  FrequencyResponse response;
  std::string to_string() const;  // "butterworth:0.1,2"
  // Whether the response is a built-in one: made by make_filter or a filter_* function other
  // than filter_custom (or a copy of such a response, wherever it is held). apply_filter keeps
  // the kernels of built-in responses between calls. A user's callable, named or not, is not
  // built-in.
  bool is_builtin() const;
};

Filter filter_gaussian_lowpass(double sigma);
Filter filter_gaussian_highpass(double sigma);
Filter filter_ideal_lowpass(double cutoff);
Filter filter_ideal_highpass(double cutoff);
Filter filter_ideal_bandpass(double low, double high);
Filter filter_butterworth(double cutoff, int order);
Filter filter_gaussian_bandpass(double f0, double sigma);
Filter filter_laplacian_of_gaussian(double sigma_pixels);
Filter filter_gabor(double f0, double theta, double sigma);
Filter filter_custom(FrequencyResponse response, std::string name = "custom");

// A bank of gabor filters: every frequency in `frequencies` at `orientations` angles evenly
// spaced in [0, pi), each with bandwidth sigma: frequencies.size() * orientations filters,
// frequency-major. E.g. 4 radii x 8 orientations = the 32-filter bank of the comparison.
std::vector<Filter> filter_bank_gabor(const std::vector<double>& frequencies, std::size_t orientations, double sigma);

namespace detail {
// A built-in response's identity, carried by its callable (not the Filter's name and args,
// which are the caller's to change): what apply_filter keys its kept kernels by.
struct BuiltinIdentity {
  std::string name;
  std::vector<double> args;
};
// The identity of a built-in response; null for any other callable.
const BuiltinIdentity* builtin_identity(const FrequencyResponse& response);
}  // namespace detail

// Parses "NAME" or "NAME:ARG,ARG,..." (the CLI's --filter). Throws Error for unknown names,
// wrong argument counts and out-of-range arguments, naming the filter and the argument.
Filter make_filter(const std::string& spec);
// The names make_filter knows, for help texts.
std::vector<std::string> filter_names();

// The seed's spatial sinc kernel: k[i][j] = sinc((i - n/2)/width) * sinc((j - n/2)/width),
// sinc(t) = sin(pi t)/(pi t) (np.sinc), n x n; its centre is at (n/2, n/2) as circular mode
// expects.
Tensor filter_sinc_kernel(std::size_t n, double width);

// Samples a response on the half spectrum of a P x Q grid: even[P][Q/2+1] gets He, and
// odd (if not null) gets Ho(f) = (H(f) - H(-f))/2. Returns true if the odd part is nonzero.
// Throws Error if the response gives NaN or Inf anywhere.
bool sample_response(const FrequencyResponse& h, std::size_t P, std::size_t Q, float* even, float* odd);

// How apply_filter extends the image beyond its edges, named as scipy.ndimage names its
// boundary modes (scipy.ndimage.convolve's `mode`, for an input a b c d):
//   wrap      a b c d | a b c d | a b c d   periodic: no padding, the image is one period
//             (the plain convolution theorem). Alias: circular.
//   reflect   d c b a | a b c d | d c b a   half-sample symmetric (numpy.pad's 'symmetric').
//   mirror    d c b | a b c d | c b a       whole-sample symmetric (numpy.pad's 'reflect').
//   nearest   a a a a | a b c d | d d d d   the edge sample repeated (numpy.pad's 'edge').
//   constant  k k k k | a b c d | k k k k   the value cval (numpy.pad's 'constant'). Alias:
//             zero (the name the default cval = 0 had before).
// wrap, reflect and mirror extensions are periodic (periods n, 2n and 2n - 2), so they are
// exact for any response: the transform grid is one period of the extension. nearest and
// constant are not periodic: the image is centred on a grid with a margin of
// m = max(ceil(n/2), 8) samples or more per side (next_fast_size(n + 2m)), which is exact while
// the filter's impulse response is no wider than m on each side (scipy.ndimage, whose kernels
// are finite, has no such bound). Results are checked against scipy.ndimage.convolve (tests/test_filters.cpp).
enum class FilterPadding { Wrap, Reflect, Mirror, Nearest, Constant };
// "wrap" | "circular" | "reflect" | "mirror" | "nearest" | "constant" | "zero"; throws Error
// naming the modes otherwise.
FilterPadding parse_filter_padding(const std::string& name);
const char* to_string(FilterPadding p);

// x: (H, W) or (H, W, C)  ->  dst of the same shape, each channel filtered. cval: the value
// outside the image for FilterPadding::Constant (ignored otherwise). Throws Error for other
// ranks, NaN or Inf in x or cval, and an empty response.
// Speed: a built-in response's spatial kernel on the transform grid (Filter::is_builtin) is
// made on the first call and kept for the next calls with the same response and grid (the
// last one only, shared by every thread: about P x (Q/2 + 1) complex values); those calls run
// the circular Convolver's transforms (src/apply_filter.cpp). The magnitude output of a
// response with an odd part (gabor at an angle on an even grid: the Nyquist row is its own
// mirror) runs FFTW on the kept samples instead. A user's callable is sampled on every call.
Tensor apply_filter(const Tensor& x, const Filter& filter, FilterPadding padding = FilterPadding::Wrap,
                    Output output = Output::Real, float cval = 0.0f);

}  // namespace fourierconv
