// Internal: reading the extended input E of geometry.hpp out of a canonical x item, for any
// element type: a whole E or a tile of it (overlap-save), each element x at its source index
// or the fill value.
#pragma once

#include <algorithm>
#include <cstring>
#include <vector>

#include "signal/geometry.hpp"

namespace fourierconv::signal::detail {

// dst (a grid of dims `grid`, row-major) <- E[origin + t] for t < extent per axis (E positions
// past E's end and grid cells past `extent` get zero, not the fill value: they are padding of
// the transform, not of the signal). x: one canonical x item. On the last axis the positions
// whose source is inside x (an interval: E[t] = x[t + start - (k - 1)] there) are copied as one
// block; only the few outside it are looked up.
template <class T>
void gather_extended(const std::vector<ConvAxis>& axes, const T* x, const std::vector<std::size_t>& origin,
                     const std::vector<std::size_t>& extent, const std::vector<std::size_t>& grid, T fill, T* dst) {
  const std::size_t r = grid.size();
  std::size_t xs[16], rows = 1;  // x's strides (rank <= 16 convolved axes)
  xs[r - 1] = 1;
  for (std::size_t i = r - 1; i-- > 0;) xs[i] = xs[i + 1] * axes[i + 1].n;
  for (std::size_t i = 0; i + 1 < r; ++i) rows *= grid[i];
  const ConvAxis& last = axes[r - 1];
  const std::size_t L = grid[r - 1], o = origin[r - 1];
  const std::size_t e = o < last.extended() ? std::min(extent[r - 1], last.extended() - o) : 0;
  // Interior of the last axis, in tile coordinates: [j_lo, j_hi).
  const std::ptrdiff_t shift = last.start - std::ptrdiff_t(last.k - 1);
  const std::ptrdiff_t lo = std::max<std::ptrdiff_t>(-shift, 0) - std::ptrdiff_t(o);
  const std::ptrdiff_t hi = std::ptrdiff_t(last.n) - shift - std::ptrdiff_t(o);
  const std::size_t j_lo = std::size_t(std::clamp<std::ptrdiff_t>(lo, 0, std::ptrdiff_t(e)));
  const std::size_t j_hi = std::size_t(std::clamp<std::ptrdiff_t>(hi, std::ptrdiff_t(j_lo), std::ptrdiff_t(e)));
  std::size_t idx[16] = {};
  for (std::size_t row = 0; row < rows; ++row) {
    T* d = dst + row * L;
    // The source row, or padding, or the fill value.
    std::ptrdiff_t xrow = 0;
    bool pad = false, filled = false;
    for (std::size_t i = 0; i + 1 < r; ++i) {
      const std::size_t t = origin[i] + idx[i];
      if (idx[i] >= extent[i] || t >= axes[i].extended()) {
        pad = true;
        break;
      }
      const std::ptrdiff_t s = axes[i].source(t);
      if (s < 0) filled = true;
      else xrow += s * std::ptrdiff_t(xs[i]);
    }
    if (pad) {
      std::fill(d, d + L, T{});
    } else if (filled) {
      std::fill(d, d + e, fill);
      std::fill(d + e, d + L, T{});
    } else {
      const T* xr = x + xrow;
      for (std::size_t j = 0; j < j_lo; ++j) {
        const std::ptrdiff_t s = last.source(o + j);
        d[j] = s < 0 ? fill : xr[s];
      }
      if (j_hi > j_lo) std::memcpy(static_cast<void*>(d + j_lo), xr + std::ptrdiff_t(o + j_lo) + shift, (j_hi - j_lo) * sizeof(T));
      for (std::size_t j = j_hi; j < e; ++j) {
        const std::ptrdiff_t s = last.source(o + j);
        d[j] = s < 0 ? fill : xr[s];
      }
      std::fill(d + e, d + L, T{});
    }
    for (std::size_t i = r - 1; i-- > 0;) {  // odometer over the leading grid axes
      if (++idx[i] < grid[i]) break;
      idx[i] = 0;
    }
  }
}

}  // namespace fourierconv::signal::detail
