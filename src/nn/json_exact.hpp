// Exact conversion of JSON numbers from untrusted Keras configs (saving.cpp).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <type_traits>
#include <vector>

namespace fourierconv::nn {

template <class T>
struct is_vector : std::false_type {};
template <class U, class A>
struct is_vector<std::vector<U, A>> : std::true_type {};

// Whether JSON value v converts to T exactly. nlohmann's get<integer> casts a float or an
// out-of-range integer with static_cast (undefined behaviour for 2e24 -> size_t, a wrap for -5):
// an integer field takes an integer, or an integral float up to 2^53, within T's range.
template <class T>
bool exactly(const nlohmann::ordered_json& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v.is_boolean();
  } else if constexpr (std::is_integral_v<T>) {
    long double x;
    if (v.is_number_unsigned()) x = static_cast<long double>(v.get<std::uint64_t>());
    else if (v.is_number_integer()) x = static_cast<long double>(v.get<std::int64_t>());
    else if (v.is_number_float()) {
      const double d = v.get<double>();
      if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9007199254740992.0) return false;
      x = d;
    } else {
      return false;
    }
    return x >= static_cast<long double>(std::numeric_limits<T>::min()) && x <= static_cast<long double>(std::numeric_limits<T>::max());
  } else if constexpr (std::is_floating_point_v<T>) {
    return v.is_number();
  } else if constexpr (is_vector<T>::value) {
    if (!v.is_array()) return false;
    for (const nlohmann::ordered_json& e : v)
      if (!exactly<typename T::value_type>(e)) return false;
    return true;
  } else {
    return true;  // strings and the rest: nlohmann's own type check below
  }
}

}  // namespace fourierconv::nn
