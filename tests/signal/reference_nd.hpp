// An N-D convolution reference in long double (complex), written from scipy's definitions and
// sharing no code with the library: per convolved axis the full convolution index f = o + s
// with s the mode's offset, summed over kernel taps u with input index f - u, extended by the
// boundary rule; batch axes broadcast (equal sizes, or 1).
#pragma once

#include <complex>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace fctest {

using cld = std::complex<long double>;

struct NdRef {
  std::vector<std::size_t> shape;
  std::vector<cld> v;  // C order
};

// mode: "full" | "same" | "valid" | "circular"; boundary: "fill" | "wrap" | "symm" (convolve2d's);
// conv[a]: whether axis a is convolved. Valid mode must already be swapped by the caller if
// needed (in1 >= in2 on the convolved axes).
inline NdRef reference_convolve(const NdRef& x, const NdRef& k, const std::vector<bool>& conv, const std::string& mode,
                                const std::string& boundary = "fill", cld fill = 0) {
  const std::size_t r = x.shape.size();
  NdRef y;
  std::vector<long> start(r, 0);
  for (std::size_t a = 0; a < r; ++a) {
    const long n = long(x.shape[a]), m = long(k.shape[a]);
    if (!conv[a]) {
      y.shape.push_back(std::max(x.shape[a], k.shape[a]));
      continue;
    }
    long out = 0;
    if (mode == "full") out = n + m - 1, start[a] = 0;
    else if (mode == "same") out = n, start[a] = (m - 1) / 2;
    else if (mode == "valid") out = n - m + 1, start[a] = m - 1;
    else out = n, start[a] = m / 2;  // circular
    y.shape.push_back(std::size_t(out));
  }
  std::size_t total = 1;
  for (auto d : y.shape) total *= d;
  y.v.assign(total, 0);
  auto strides = [](const std::vector<std::size_t>& s) {
    std::vector<std::size_t> st(s.size(), 1);
    for (std::size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
    return st;
  };
  const auto xs = strides(x.shape), ks = strides(k.shape);
  std::size_t ktotal = 1;
  for (auto d : k.shape) ktotal *= d;
  std::vector<std::size_t> o(r, 0);
  for (std::size_t flat = 0; flat < total; ++flat) {
    std::size_t t = flat;
    for (std::size_t a = r; a-- > 0;) o[a] = t % y.shape[a], t /= y.shape[a];
    cld s = 0;
    for (std::size_t kf = 0; kf < ktotal; ++kf) {
      std::size_t kt = kf, koff = 0, xoff = 0;
      bool skip = false, use_fill = false;
      for (std::size_t a = r; a-- > 0;) {
        const std::size_t u = kt % k.shape[a];
        kt /= k.shape[a];
        if (!conv[a]) {  // broadcast: the kernel's index on this axis follows the output's
          const std::size_t ku = k.shape[a] == 1 ? 0 : o[a], xu = x.shape[a] == 1 ? 0 : o[a];
          if (u != ku) skip = true;
          koff += u * ks[a];
          xoff += xu * xs[a];
          continue;
        }
        koff += u * ks[a];
        const long n = long(x.shape[a]);
        long i = long(o[a]) + start[a] - long(u);
        if (mode == "circular" || boundary == "wrap") {
          i = ((i % n) + n) % n;
        } else if (i < 0 || i >= n) {
          if (boundary == "symm") {
            const long p = 2 * n;
            long mm = ((i % p) + p) % p;
            i = mm < n ? mm : p - 1 - mm;
          } else {
            use_fill = true;
            continue;
          }
        }
        xoff += std::size_t(i) * xs[a];
      }
      if (skip) continue;
      s += k.v[koff] * (use_fill ? fill : x.v[xoff]);
    }
    y.v[flat] = s;
  }
  return y;
}

}  // namespace fctest
