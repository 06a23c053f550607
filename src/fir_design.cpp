#include "fourierconv/fir_design.hpp"

#include <cmath>
#include <numbers>
#include <numeric>
#include <sstream>

#include "fourierconv/error.hpp"

namespace fourierconv {

namespace {
constexpr double kPi = std::numbers::pi;

double sinc(double x) { return x == 0 ? 1.0 : std::sin(kPi * x) / (kPi * x); }

std::string join(const std::vector<double>& v) {
  std::ostringstream os;
  for (std::size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  return os.str();
}
}  // namespace

std::vector<double> window_function(const std::string& window, std::size_t n) {
  std::vector<double> w(n, 1.0);
  if (n == 1) return w;
  const double M = double(n - 1);
  auto cosine_sum = [&](std::initializer_list<double> a) {
    for (std::size_t i = 0; i < n; ++i) {
      double s = 0, sign = 1;
      std::size_t k = 0;
      for (double ak : a) s += sign * ak * std::cos(2 * kPi * double(k++) * double(i) / M), sign = -sign;
      w[i] = s;
    }
  };
  if (window == "hamming") cosine_sum({0.54, 0.46});
  else if (window == "hann") cosine_sum({0.5, 0.5});
  else if (window == "blackman") cosine_sum({0.42, 0.5, 0.08});
  else if (window == "boxcar") {
  } else if (window.rfind("kaiser:", 0) == 0) {
    double beta = 0;
    try {
      std::size_t used = 0;
      beta = std::stod(window.substr(7), &used);
      if (used != window.size() - 7 || !std::isfinite(beta) || beta < 0) throw Error("");
    } catch (...) {
      throw Error("window: expected kaiser:BETA with a finite BETA >= 0, got '" + window + "'");
    }
    const double i0b = std::cyl_bessel_i(0.0, beta);
    for (std::size_t i = 0; i < n; ++i) {
      const double r = 2.0 * double(i) / M - 1.0;
      w[i] = std::cyl_bessel_i(0.0, beta * std::sqrt(std::max(0.0, 1 - r * r))) / i0b;
    }
  } else {
    throw Error("window: expected hamming, hann, blackman, boxcar or kaiser:BETA; got '" + window + "'");
  }
  return w;
}

std::vector<double> firwin(std::size_t numtaps, const std::vector<double>& cutoffs, bool pass_zero, const std::string& window,
                           bool scale) {
  if (numtaps == 0) throw Error("firwin: numtaps must be >= 1, got 0");
  if (cutoffs.empty()) throw Error("firwin: at least one cutoff is needed");
  for (std::size_t i = 0; i < cutoffs.size(); ++i) {
    if (!(cutoffs[i] > 0 && cutoffs[i] < 1))
      throw Error("firwin: cutoffs must lie strictly between 0 and 1 (the Nyquist frequency), got [" + join(cutoffs) + "]");
    if (i && !(cutoffs[i] > cutoffs[i - 1])) throw Error("firwin: cutoffs must be strictly increasing, got [" + join(cutoffs) + "]");
  }
  // Band edges: [0?] cutoffs [1?]; pairs of them are the passbands.
  std::vector<double> edges;
  if (pass_zero) edges.push_back(0.0);
  edges.insert(edges.end(), cutoffs.begin(), cutoffs.end());
  const bool pass_nyquist = edges.size() % 2 == 1;
  if (pass_nyquist) edges.push_back(1.0);
  if (pass_nyquist && numtaps % 2 == 0)
    throw Error("firwin: a filter with a passband at the Nyquist frequency needs an odd numtaps, got " + std::to_string(numtaps));
  const double alpha = 0.5 * double(numtaps - 1);
  std::vector<double> h(numtaps, 0.0);
  for (std::size_t b = 0; b + 1 < edges.size(); b += 2)
    for (std::size_t n = 0; n < numtaps; ++n) {
      const double m = double(n) - alpha;
      h[n] += edges[b + 1] * sinc(edges[b + 1] * m) - edges[b] * sinc(edges[b] * m);
    }
  const std::vector<double> w = window_function(window, numtaps);
  for (std::size_t n = 0; n < numtaps; ++n) h[n] *= w[n];
  if (scale) {
    const double left = edges[0], right = edges[1];
    const double f = left == 0 ? 0.0 : right == 1 ? 1.0 : 0.5 * (left + right);
    double s = 0;
    for (std::size_t n = 0; n < numtaps; ++n) s += h[n] * std::cos(kPi * (double(n) - alpha) * f);
    for (double& v : h) v /= s;
  }
  return h;
}

std::vector<float> resample_poly(const std::vector<float>& x, std::size_t up, std::size_t down) {
  if (up == 0 || down == 0) throw Error("resample_poly: up and down must be >= 1, got " + std::to_string(up) + " and " + std::to_string(down));
  const std::size_t g = std::gcd(up, down);
  up /= g, down /= g;
  if (up == 1 && down == 1) return x;
  const std::size_t max_rate = std::max(up, down), half = 10 * max_rate;
  std::vector<double> h = firwin(2 * half + 1, {1.0 / double(max_rate)}, true, "kaiser:5.0");
  for (double& v : h) v *= double(up);
  // scipy's alignment: h is preceded by `pre` zeros so that output 0 lands on input 0 after
  // dropping the first `drop` samples of upfirdn's output.
  const std::size_t pre = down - half % down, drop = (half + pre) / down;
  const std::size_t n_out = (x.size() * up + down - 1) / down;
  std::vector<float> y(n_out);
  const long H = long(h.size()), P = long(pre);
  for (std::size_t k = 0; k < n_out; ++k) {
    // y[k] = sum_i x[i] hp[(k + drop) down - i up], hp = h delayed by pre.
    const long pos = long(k + drop) * long(down);
    double acc = 0;
    long i_hi = std::min(long(x.size()) - 1, (pos - P) / long(up));
    for (long i = i_hi; i >= 0; --i) {
      const long j = pos - i * long(up) - P;
      if (j >= H) break;
      if (j >= 0) acc += double(x[std::size_t(i)]) * h[std::size_t(j)];
    }
    y[k] = float(acc);
  }
  return y;
}

std::vector<float> design_fir(const std::string& spec, double rate) {
  auto fail = [&](const std::string& why) -> Error {
    return Error("--filter: '" + spec + "': " + why +
                 " (expected lowpass:F[,TAPS], highpass:F[,TAPS], bandpass:F1,F2[,TAPS] or bandstop:F1,F2[,TAPS], F in Hz)");
  };
  if (!(rate > 0)) throw fail("the sample rate is unknown");
  const std::size_t colon = spec.find(':');
  if (colon == std::string::npos) throw fail("no ':'");
  const std::string kind = spec.substr(0, colon);
  std::vector<double> v;
  std::stringstream ss(spec.substr(colon + 1));
  for (std::string item; std::getline(ss, item, ',');) {
    std::size_t used = 0;
    double d = 0;
    try {
      d = std::stod(item, &used);
    } catch (...) {
      throw fail("'" + item + "' is not a number");
    }
    if (used != item.size() || !std::isfinite(d)) throw fail("'" + item + "' is not a finite number");
    v.push_back(d);
  }
  const std::size_t edges = (kind == "lowpass" || kind == "highpass") ? 1 : (kind == "bandpass" || kind == "bandstop") ? 2 : 0;
  if (!edges) throw fail("unknown kind '" + kind + "'");
  if (v.size() != edges && v.size() != edges + 1) throw fail(edges == 1 ? "expected 1 frequency and an optional tap count" : "expected 2 frequencies and an optional tap count");
  std::size_t taps = 101;
  if (v.size() == edges + 1) {
    if (!(v.back() >= 1 && v.back() <= 1e6 && v.back() == std::floor(v.back()))) throw fail("the tap count must be an integer from 1 to 1e6");
    taps = std::size_t(v.back());
  }
  std::vector<double> cut;
  for (std::size_t i = 0; i < edges; ++i) {
    if (!(v[i] > 0 && v[i] < rate / 2)) throw fail("frequencies must lie between 0 and the Nyquist frequency " + std::to_string(rate / 2) + " Hz");
    cut.push_back(v[i] / (rate / 2));
  }
  std::vector<double> h;
  try {
    h = firwin(taps, cut, kind == "lowpass" || kind == "bandstop");
  } catch (const Error& e) {
    throw fail(e.what());
  }
  return {h.begin(), h.end()};
}

}  // namespace fourierconv
