#include "fourierconv/filters.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <numbers>
#include <sstream>
#include <string_view>

#include "fourierconv/error.hpp"
#include "fourierconv/fft.hpp"

namespace fourierconv {
namespace {

constexpr double kPi = std::numbers::pi;
constexpr double kMaxFrequency = 0.7072;  // r never exceeds sqrt(0.5)

double fftfreq(std::size_t i, std::size_t n) {
  std::ptrdiff_t k = static_cast<std::ptrdiff_t>(i);
  if (i >= (n + 1) / 2) k -= static_cast<std::ptrdiff_t>(n);
  return static_cast<double>(k) / static_cast<double>(n);
}

void require(bool ok, const std::string& filter, const std::string& arg, const std::string& expected, double got) {
  if (!ok) {
    std::ostringstream os;
    os << "filter " << filter << ": " << arg << " must be " << expected << ", got " << got;
    throw Error(os.str());
  }
}

// A built-in response: its formula, and its identity (name and exact arguments) carried by the
// callable itself, so that builtin_identity reads it from any Filter holding the callable (a
// Filter's own name and args are the user's to change).
struct BuiltinResponse {
  detail::BuiltinIdentity id;
  std::function<float(float, float)> formula;
  float operator()(float fy, float fx) const { return formula(fy, fx); }
};

Filter named(std::string name, std::vector<double> args, std::function<float(float, float)> formula) {
  Filter f;
  f.name = name;
  f.args = args;
  f.response = BuiltinResponse{{std::move(name), std::move(args)}, std::move(formula)};
  return f;
}

float rad(float fy, float fx) { return std::sqrt(fx * fx + fy * fy); }

}  // namespace

std::string Filter::to_string() const {
  std::ostringstream os;
  os << name;
  // Each argument in the fewest digits that read back as the same double (std::to_chars):
  // 0.05 stays "0.05", 0.0123456789 is no longer cut to 6 digits (saved models store this).
  for (std::size_t i = 0; i < args.size(); ++i) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, args[i]);
    os << (i ? "," : ":") << std::string_view(buf, std::size_t(r.ptr - buf));
  }
  return os.str();
}

Filter filter_gaussian_lowpass(double sigma) {
  require(sigma > 0 && std::isfinite(sigma), "gaussian_lowpass", "sigma", "> 0", sigma);
  float a = static_cast<float>(1.0 / (2 * sigma * sigma));
  return named("gaussian_lowpass", {sigma}, [a](float fy, float fx) { return std::exp(-(fx * fx + fy * fy) * a); });
}

Filter filter_gaussian_highpass(double sigma) {
  require(sigma > 0 && std::isfinite(sigma), "gaussian_highpass", "sigma", "> 0", sigma);
  float a = static_cast<float>(1.0 / (2 * sigma * sigma));
  return named("gaussian_highpass", {sigma},
               [a](float fy, float fx) { return 1.0f - std::exp(-(fx * fx + fy * fy) * a); });
}

Filter filter_ideal_lowpass(double cutoff) {
  require(cutoff > 0 && cutoff <= kMaxFrequency, "ideal_lowpass", "cutoff", "in (0, 0.7071]", cutoff);
  float c = static_cast<float>(cutoff);
  return named("ideal_lowpass", {cutoff}, [c](float fy, float fx) { return rad(fy, fx) <= c ? 1.0f : 0.0f; });
}

Filter filter_ideal_highpass(double cutoff) {
  require(cutoff >= 0 && cutoff < kMaxFrequency, "ideal_highpass", "cutoff", "in [0, 0.7071)", cutoff);
  float c = static_cast<float>(cutoff);
  return named("ideal_highpass", {cutoff}, [c](float fy, float fx) { return rad(fy, fx) > c ? 1.0f : 0.0f; });
}

Filter filter_ideal_bandpass(double low, double high) {
  require(low >= 0 && low < kMaxFrequency, "ideal_bandpass", "low", "in [0, 0.7071)", low);
  require(high > low && high <= kMaxFrequency, "ideal_bandpass", "high", "in (low, 0.7071]", high);
  float l = static_cast<float>(low), h = static_cast<float>(high);
  return named("ideal_bandpass", {low, high}, [l, h](float fy, float fx) {
    float r = rad(fy, fx);
    return (r >= l && r <= h) ? 1.0f : 0.0f;
  });
}

Filter filter_butterworth(double cutoff, int order) {
  require(cutoff > 0 && std::isfinite(cutoff), "butterworth", "cutoff", "> 0", cutoff);
  require(order >= 1 && order <= 64, "butterworth", "order", "an integer in [1, 64]", order);
  float c = static_cast<float>(cutoff);
  return named("butterworth", {cutoff, static_cast<double>(order)}, [c, order](float fy, float fx) {
    return 1.0f / (1.0f + std::pow(rad(fy, fx) / c, 2.0f * static_cast<float>(order)));
  });
}

Filter filter_gaussian_bandpass(double f0, double sigma) {
  require(f0 >= 0 && f0 <= kMaxFrequency, "gaussian_bandpass", "f0", "in [0, 0.7071]", f0);
  require(sigma > 0 && std::isfinite(sigma), "gaussian_bandpass", "sigma", "> 0", sigma);
  float c = static_cast<float>(f0), a = static_cast<float>(1.0 / (2 * sigma * sigma));
  return named("gaussian_bandpass", {f0, sigma}, [c, a](float fy, float fx) {
    float d = rad(fy, fx) - c;
    return std::exp(-d * d * a);
  });
}

Filter filter_laplacian_of_gaussian(double sigma) {
  require(sigma > 0 && std::isfinite(sigma), "laplacian_of_gaussian", "sigma", "> 0 (pixels)", sigma);
  float s2 = static_cast<float>(2 * kPi * kPi * sigma * sigma), c = static_cast<float>(4 * kPi * kPi);
  return named("laplacian_of_gaussian", {sigma}, [s2, c](float fy, float fx) {
    float r2 = fx * fx + fy * fy;
    return -c * r2 * std::exp(-s2 * r2);
  });
}

Filter filter_gabor(double f0, double theta, double sigma) {
  require(f0 >= 0 && f0 <= kMaxFrequency, "gabor", "frequency", "in [0, 0.7071]", f0);
  require(std::isfinite(theta), "gabor", "theta", "finite (radians)", theta);
  require(sigma > 0 && std::isfinite(sigma), "gabor", "sigma", "> 0", sigma);
  float ux = static_cast<float>(f0 * std::cos(theta)), uy = static_cast<float>(f0 * std::sin(theta));
  float a = static_cast<float>(1.0 / (2 * sigma * sigma));
  return named("gabor", {f0, theta, sigma}, [ux, uy, a](float fy, float fx) {
    float d1 = (fx - ux) * (fx - ux) + (fy - uy) * (fy - uy);
    float d2 = (fx + ux) * (fx + ux) + (fy + uy) * (fy + uy);
    return std::exp(-d1 * a) + std::exp(-d2 * a);
  });
}

std::vector<Filter> filter_bank_gabor(const std::vector<double>& frequencies, std::size_t orientations, double sigma) {
  if (frequencies.empty() || orientations == 0)
    throw Error("filter_bank_gabor: need at least one frequency and one orientation, got " +
                std::to_string(frequencies.size()) + " and " + std::to_string(orientations));
  std::vector<Filter> bank;
  for (double f : frequencies)
    for (std::size_t o = 0; o < orientations; ++o)
      bank.push_back(filter_gabor(f, kPi * double(o) / double(orientations), sigma));
  return bank;
}

Filter filter_custom(FrequencyResponse response, std::string name) {
  if (!response) throw Error("filter_custom: response is empty");
  Filter f;  // (not named(): a user's callable has no built-in identity, whatever its name)
  f.name = std::move(name);
  f.response = std::move(response);
  return f;
}

bool Filter::is_builtin() const { return detail::builtin_identity(response) != nullptr; }

namespace detail {
const BuiltinIdentity* builtin_identity(const FrequencyResponse& response) {
  const auto* b = response.target<BuiltinResponse>();
  return b ? &b->id : nullptr;
}
}  // namespace detail

std::vector<std::string> filter_names() {
  return {"gaussian_lowpass:sigma",     "gaussian_highpass:sigma", "ideal_lowpass:cutoff",
          "ideal_highpass:cutoff",      "ideal_bandpass:low,high", "butterworth:cutoff,order",
          "gaussian_bandpass:f0,sigma", "laplacian_of_gaussian:sigma_pixels", "gabor:f0,theta,sigma"};
}

Filter make_filter(const std::string& spec) {
  std::string name = spec, rest;
  if (auto colon = spec.find(':'); colon != std::string::npos) {
    name = spec.substr(0, colon);
    rest = spec.substr(colon + 1);
  }
  std::vector<double> a;
  std::stringstream ss(rest);
  for (std::string item; std::getline(ss, item, ',');) {
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size())
      throw Error("filter " + name + ": argument " + std::to_string(a.size() + 1) + " must be a number, got '" + item + "'");
    a.push_back(v);
  }
  struct Entry {
    std::size_t nargs;
    std::function<Filter(const std::vector<double>&)> make;
  };
  static const std::map<std::string, Entry> table = {
      {"gaussian_lowpass", {1, [](auto& v) { return filter_gaussian_lowpass(v[0]); }}},
      {"gaussian_highpass", {1, [](auto& v) { return filter_gaussian_highpass(v[0]); }}},
      {"ideal_lowpass", {1, [](auto& v) { return filter_ideal_lowpass(v[0]); }}},
      {"ideal_highpass", {1, [](auto& v) { return filter_ideal_highpass(v[0]); }}},
      {"ideal_bandpass", {2, [](auto& v) { return filter_ideal_bandpass(v[0], v[1]); }}},
      {"butterworth", {2, [](auto& v) {
         require(v[1] == std::floor(v[1]), "butterworth", "order", "an integer", v[1]);
         return filter_butterworth(v[0], static_cast<int>(std::max(-1.0, std::min(v[1], 1e6))));
       }}},
      {"gaussian_bandpass", {2, [](auto& v) { return filter_gaussian_bandpass(v[0], v[1]); }}},
      {"laplacian_of_gaussian", {1, [](auto& v) { return filter_laplacian_of_gaussian(v[0]); }}},
      {"gabor", {3, [](auto& v) { return filter_gabor(v[0], v[1], v[2]); }}},
  };
  auto it = table.find(name);
  if (it == table.end()) {
    std::string known;
    for (auto& n : filter_names()) known += (known.empty() ? "" : ", ") + n;
    throw Error("filter: unknown name '" + name + "'; known filters: " + known);
  }
  if (a.size() != it->second.nargs)
    throw Error("filter " + name + ": expected " + std::to_string(it->second.nargs) + " argument(s), got " +
                std::to_string(a.size()));
  return it->second.make(a);
}

Tensor filter_sinc_kernel(std::size_t n, double width) {
  if (n == 0) throw Error("filter_sinc_kernel: n must be >= 1, got 0");
  if (!(width > 0) || !std::isfinite(width)) throw Error("filter_sinc_kernel: width must be > 0, got " + std::to_string(width));
  std::vector<double> s(n);
  for (std::size_t i = 0; i < n; ++i) {
    double t = (static_cast<double>(i) - static_cast<double>(n / 2)) / width;
    s[i] = t == 0 ? 1.0 : std::sin(kPi * t) / (kPi * t);
  }
  Tensor k({n, n});
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) k[i * n + j] = static_cast<float>(s[i] * s[j]);
  return k;
}

bool sample_response(const FrequencyResponse& h, std::size_t P, std::size_t Q, float* even, float* odd) {
  if (!h) throw Error("sample_response: the response is empty");
  const std::size_t Qh = Q / 2 + 1;
  bool has_odd = false;
  for (std::size_t i = 0; i < P; ++i) {
    const std::size_t mi = (P - i) % P;  // mirror bin -f
    const float fy = static_cast<float>(fftfreq(i, P)), mfy = static_cast<float>(fftfreq(mi, P));
    for (std::size_t j = 0; j < Qh; ++j) {
      const std::size_t mj = (Q - j) % Q;
      const float fx = static_cast<float>(fftfreq(j, Q)), mfx = static_cast<float>(fftfreq(mj, Q));
      const float a = h(fy, fx), b = h(mfy, mfx);
      if (!std::isfinite(a) || !std::isfinite(b)) {
        std::ostringstream os;
        os << "filter response is not finite at (fy, fx) = (" << (std::isfinite(a) ? mfy : fy) << ", "
           << (std::isfinite(a) ? mfx : fx) << "): got " << (std::isfinite(a) ? b : a);
        throw Error(os.str());
      }
      even[i * Qh + j] = 0.5f * (a + b);
      const float o = 0.5f * (a - b);
      if (odd) odd[i * Qh + j] = o;
      if (o != 0.0f) has_odd = true;
    }
  }
  return has_odd;
}

FilterPadding parse_filter_padding(const std::string& name) {
  if (name == "wrap" || name == "circular") return FilterPadding::Wrap;
  if (name == "reflect") return FilterPadding::Reflect;
  if (name == "mirror") return FilterPadding::Mirror;
  if (name == "nearest") return FilterPadding::Nearest;
  if (name == "constant" || name == "zero") return FilterPadding::Constant;
  throw Error("padding: expected one of wrap (or circular), reflect, mirror, nearest, constant (or zero) as scipy.ndimage "
              "names them; got '" + name + "'");
}

const char* to_string(FilterPadding p) {
  switch (p) {
    case FilterPadding::Wrap: return "wrap";
    case FilterPadding::Reflect: return "reflect";
    case FilterPadding::Mirror: return "mirror";
    case FilterPadding::Nearest: return "nearest";
    case FilterPadding::Constant: return "constant";
  }
  return "?";
}

}  // namespace fourierconv
