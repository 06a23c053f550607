// Internal: reading the extended input E of geometry.hpp out of a canonical x item, for any
// element type: a whole E (the direct method) or a tile of it (overlap-save), each element
// x at its source index or the fill value.
#pragma once

#include <algorithm>
#include <cstring>
#include <vector>

#include "signal/geometry.hpp"

namespace fourierconv::signal::detail {

// Per convolved axis, the source index of every E position (-1: the fill value).
struct SourceTables {
  explicit SourceTables(const std::vector<ConvAxis>& axes) {
    for (const ConvAxis& a : axes) {
      std::vector<std::ptrdiff_t> t(a.extended());
      for (std::size_t i = 0; i < t.size(); ++i) t[i] = a.source(i);
      src.push_back(std::move(t));
      n.push_back(a.n);
    }
  }
  std::vector<std::vector<std::ptrdiff_t>> src;
  std::vector<std::size_t> n;  // x's extent per axis
};

// dst (a grid of dims `grid`, row-major) <- E[origin + t] for t < extent per axis (E positions
// past E's end and grid cells past `extent` get zero, not the fill value: they are padding of
// the transform, not of the signal). x: one canonical x item.
template <class T>
void gather_extended(const SourceTables& tab, const T* x, const std::vector<std::size_t>& origin,
                     const std::vector<std::size_t>& extent, const std::vector<std::size_t>& grid, T fill, T* dst) {
  const std::size_t r = grid.size();
  std::vector<std::size_t> xs(r), gs(r);  // strides of x and of the grid
  xs[r - 1] = gs[r - 1] = 1;
  for (std::size_t i = r - 1; i-- > 0;) xs[i] = xs[i + 1] * tab.n[i + 1], gs[i] = gs[i + 1] * grid[i + 1];
  std::size_t rows = 1;
  for (std::size_t i = 0; i + 1 < r; ++i) rows *= grid[i];
  const std::vector<std::ptrdiff_t>& last = tab.src[r - 1];
  const std::size_t L = grid[r - 1], o = origin[r - 1], e = std::min(extent[r - 1], last.size() > o ? last.size() - o : 0);
  std::vector<std::size_t> idx(r, 0);
  for (std::size_t row = 0; row < rows; ++row) {
    T* d = dst + row * L;
    // The source row, or -1 when this row of the grid is padding or the fill value.
    std::ptrdiff_t xrow = 0;
    bool pad = false, filled = false;
    for (std::size_t i = 0; i + 1 < r; ++i) {
      const std::size_t t = origin[i] + idx[i];
      if (idx[i] >= extent[i] || t >= tab.src[i].size()) {
        pad = true;
        break;
      }
      const std::ptrdiff_t s = tab.src[i][t];
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
      std::size_t j = 0;
      while (j < e) {
        const std::ptrdiff_t s = last[o + j];
        if (s < 0) {
          d[j++] = fill;
          continue;
        }
        std::size_t run = 1;  // consecutive sources copy as one block
        while (j + run < e && last[o + j + run] == s + std::ptrdiff_t(run)) ++run;
        std::memcpy(static_cast<void*>(d + j), xr + s, run * sizeof(T));
        j += run;
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
