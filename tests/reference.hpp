// Naive double-precision references for the tests: written from the definitions, sharing no
// code with the library.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <sstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "fourierconv/error.hpp"
#include "fourierconv/memory_limit.hpp"
#include "fourierconv/tensor.hpp"

namespace fctest {

// A text file's contents, trailing blank lines reduced to one newline (summary fixtures).
inline std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string s = ss.str();
  while (s.size() >= 2 && s[s.size() - 1] == '\n' && s[s.size() - 2] == '\n') s.pop_back();
  return s;
}

// The message of the fourierconv::Error that f throws, or "no error".
inline std::string message(const std::function<void()>& f) {
  try {
    f();
  } catch (const fourierconv::Error& e) {
    return e.what();
  }
  return "no error";
}

using fourierconv::Shape;
using fourierconv::Tensor;

inline Tensor random_tensor(const Shape& s, unsigned seed, float lo = -1, float hi = 1) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  Tensor t(s);
  for (auto& v : t) v = d(g);
  return t;
}

// True 2-D convolution of x (h x w) with k (kh x kw), in double, for mode
// "full" | "same" | "valid" | "circular" (see convolve.hpp for the definitions).
inline std::vector<double> ref_convolve(const std::vector<double>& x, long h, long w, const std::vector<double>& k,
                                        long kh, long kw, const std::string& mode, long* oh, long* ow) {
  if (mode == "valid" && !(h >= kh && w >= kw)) {
    // scipy swaps so the larger array is the input.
    return ref_convolve(k, kh, kw, x, h, w, mode, oh, ow);
  }
  std::vector<double> out;
  if (mode == "circular") {
    *oh = h;
    *ow = w;
    out.assign(h * w, 0.0);
    for (long i = 0; i < h; ++i)
      for (long j = 0; j < w; ++j) {
        double s = 0;
        for (long u = 0; u < kh; ++u)
          for (long v = 0; v < kw; ++v) {
            long si = ((i - u + kh / 2) % h + h) % h, sj = ((j - v + kw / 2) % w + w) % w;
            s += k[u * kw + v] * x[si * w + sj];
          }
        out[i * w + j] = s;
      }
    return out;
  }
  long fh = h + kh - 1, fw = w + kw - 1;
  std::vector<double> full(fh * fw, 0.0);
  for (long i = 0; i < h; ++i)
    for (long j = 0; j < w; ++j)
      for (long u = 0; u < kh; ++u)
        for (long v = 0; v < kw; ++v) full[(i + u) * fw + (j + v)] += x[i * w + j] * k[u * kw + v];
  long sr = 0, sc = 0;
  if (mode == "full") {
    *oh = fh, *ow = fw;
  } else if (mode == "same") {
    *oh = h, *ow = w, sr = (kh - 1) / 2, sc = (kw - 1) / 2;
  } else {
    *oh = h - kh + 1, *ow = w - kw + 1, sr = kh - 1, sc = kw - 1;
  }
  out.assign(*oh * *ow, 0.0);
  for (long i = 0; i < *oh; ++i)
    for (long j = 0; j < *ow; ++j) out[i * *ow + j] = full[(i + sr) * fw + (j + sc)];
  return out;
}

inline std::vector<double> to_double(const Tensor& t) { return {t.begin(), t.end()}; }

inline double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

// Asserts |got - want| <= tol * max(1, max|want|) everywhere (NaN fails).
inline void expect_close(const Tensor& got, const std::vector<double>& want, double tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double scale = std::max(1.0, max_abs(want)), worst = 0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    double e = std::fabs(double(got[i]) - want[i]);
    if (!(e <= worst)) {
      worst = std::isnan(e) ? std::numeric_limits<double>::infinity() : e;
      at = i;
    }
  }
  EXPECT_LE(worst, tol * scale) << what << ": worst error at flat index " << at << " got " << got[at] << " want "
                                << want[at];
}

// Sets the memory limit for a scope and restores the previous one at its end.
struct LimitGuard {
  std::size_t saved = fourierconv::memory_limit();
  explicit LimitGuard(std::size_t bytes) { fourierconv::set_memory_limit(bytes); }
  ~LimitGuard() { fourierconv::set_memory_limit(saved); }
};

}  // namespace fctest
