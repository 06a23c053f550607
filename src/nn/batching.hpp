// Internal: the rows of a batch, gathered from the data set (fit, evaluate, predict).
#pragma once

#include <cstring>
#include <numeric>
#include <vector>

#include "fourierconv/tensor.hpp"

namespace fourierconv::nn {

// Copies rows idx[from, to) of t (N, ...) into out (to - from, ...).
inline void gather_rows(const Tensor& t, const std::vector<std::size_t>& idx, std::size_t from, std::size_t to, Tensor& out) {
  const std::size_t row = t.dim(0) ? t.size() / t.dim(0) : 0;
  Shape s = t.shape();
  s[0] = to - from;
  out.resize(s);
  for (std::size_t i = from; i < to; ++i) std::memcpy(out.data() + (i - from) * row, t.data() + idx[i] * row, row * sizeof(float));
}

// The same for each input of a model; ptrs point at out's tensors.
inline void gather_all(const std::vector<const Tensor*>& xs, const std::vector<std::size_t>& idx, std::size_t from, std::size_t to,
                       std::vector<Tensor>& out, std::vector<const Tensor*>& ptrs) {
  out.resize(xs.size());
  ptrs.resize(xs.size());
  for (std::size_t i = 0; i < xs.size(); ++i) {
    gather_rows(*xs[i], idx, from, to, out[i]);
    ptrs[i] = &out[i];
  }
}

// start, start + 1, ..., start + n - 1.
inline std::vector<std::size_t> iota(std::size_t n, std::size_t start = 0) {
  std::vector<std::size_t> v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}

}  // namespace fourierconv::nn
