#include "fourierconv/nn/initializers.hpp"

#include <cmath>

#include "fourierconv/error.hpp"

namespace fourierconv::nn {

std::mt19937_64& global_rng() {
  static std::mt19937_64 rng(1337);
  return rng;
}

void set_random_seed(std::uint64_t seed) { global_rng().seed(seed); }

double glorot_limit(const Shape& s) {
  double fan_in, fan_out;
  if (s.size() < 2) {
    fan_in = fan_out = s.empty() ? 1.0 : static_cast<double>(s[0]);
  } else {
    double rf = 1;
    for (std::size_t i = 0; i + 2 < s.size(); ++i) rf *= static_cast<double>(s[i]);
    fan_in = static_cast<double>(s[s.size() - 2]) * rf;
    fan_out = static_cast<double>(s.back()) * rf;
  }
  return std::sqrt(3.0 / std::max(1.0, (fan_in + fan_out) / 2.0));
}

void glorot_uniform(Tensor& w, std::mt19937_64& rng) {
  const double l = glorot_limit(w.shape());
  std::uniform_real_distribution<double> d(-l, l);
  for (float& v : w) v = static_cast<float>(d(rng));
}

void initialize(Tensor& w, const std::string& initializer, std::mt19937_64& rng) {
  if (initializer == "glorot_uniform") return glorot_uniform(w, rng);
  if (initializer == "zeros") return w.fill(0.0f);
  if (initializer == "ones") return w.fill(1.0f);
  throw Error("initializer: expected glorot_uniform, zeros or ones; got '" + initializer + "'");
}

}  // namespace fourierconv::nn
