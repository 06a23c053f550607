#include "signal/geometry.hpp"

#include <algorithm>

#include "fourierconv/error.hpp"

namespace fourierconv::signal::detail {

std::ptrdiff_t ConvAxis::extended_source(std::ptrdiff_t i) const {
  const std::ptrdiff_t nn = std::ptrdiff_t(n);
  switch (ext) {
    case Extension::Fill: return -1;
    case Extension::Periodic: return ((i % nn) + nn) % nn;
    case Extension::Symmetric: {
      // Mirror with the edge repeated, period 2n: indices -1, -2, ... map to 0, 1, ...
      const std::ptrdiff_t p = 2 * nn;
      std::ptrdiff_t m = ((i % p) + p) % p;
      return m < nn ? m : p - 1 - m;
    }
  }
  return -1;
}

std::size_t checked_product(const Shape& s, const std::string& what) {
  std::size_t n = 1;
  for (auto d : s) {
    if (d != 0 && n > (std::size_t(1) << 62) / d)
      throw Error(what + ": the shape " + shape_to_string(s) + " has more elements than can be addressed");
    n *= d;
  }
  return n;
}

namespace {

Shape concat(const Shape& a, const std::vector<ConvAxis>& axes, std::size_t ConvAxis::*field) {
  Shape s = a;
  for (const ConvAxis& c : axes) s.push_back(c.*field);
  return s;
}

}  // namespace

Shape Geometry::x_canonical() const { return concat(x_batch, axes, &ConvAxis::n); }
Shape Geometry::k_canonical() const { return concat(k_batch, axes, &ConvAxis::k); }
Shape Geometry::out_canonical() const { return concat(batch, axes, &ConvAxis::out); }
std::size_t Geometry::x_plane() const {
  std::size_t p = 1;
  for (auto& a : axes) p *= a.n;
  return p;
}
std::size_t Geometry::k_plane() const {
  std::size_t p = 1;
  for (auto& a : axes) p *= a.k;
  return p;
}
std::size_t Geometry::out_plane() const {
  std::size_t p = 1;
  for (auto& a : axes) p *= a.out;
  return p;
}

namespace {
// The flat item of `in_batch` (sizes equal to the output's, or 1) for output batch item b.
std::size_t broadcast_item(std::size_t b, const Shape& batch, const Shape& offset, const Shape& in_batch) {
  std::size_t flat = 0, stride = 1;
  for (std::size_t i = batch.size(); i-- > 0;) {
    const std::size_t idx = b % batch[i];
    b /= batch[i];
    if (in_batch[i] != 1) flat += (idx + offset[i]) * stride;
    stride *= in_batch[i];
  }
  return flat;
}
}  // namespace

std::size_t Geometry::x_item(std::size_t b) const { return broadcast_item(b, batch, batch_offset, x_batch); }
std::size_t Geometry::k_item(std::size_t b) const { return broadcast_item(b, batch, batch_offset, k_batch); }

std::string Geometry::describe() const {
  auto dims = [&](std::size_t ConvAxis::*f) {
    std::string s;
    for (std::size_t i = 0; i < axes.size(); ++i) s += (i ? "x" : "") + std::to_string(axes[i].*f);
    return s;
  };
  std::string d = "kernel " + dims(&ConvAxis::k) + " on " + dims(&ConvAxis::n);
  if (batch_size() > 1) d += ", batch " + std::to_string(batch_size());
  return d;
}

Geometry make_geometry(const Shape& s1_in, const Shape& s2_in, Mode mode, const std::vector<long>& axes_in,
                       bool explicit_axes, Rules rules, Extension ext, bool same_offset_half_k) {
  if (s1_in.size() != s2_in.size())
    throw Error("in1 and in2 should have the same dimensionality, got shapes " + shape_to_string(s1_in) + " and " +
                shape_to_string(s2_in));
  const std::size_t rank = s1_in.size();
  if (rank == 0) throw Error("convolve: 0-d inputs have no axis to convolve");
  checked_product(s1_in, "in1");
  checked_product(s2_in, "in2");
  std::vector<bool> conv(rank, !explicit_axes);
  if (explicit_axes) {
    if (axes_in.empty()) throw Error("when provided, axes cannot be empty");
    for (long a : axes_in) {
      const long r = long(rank);
      if (a < -r || a >= r)
        throw Error("axes exceeds dimensionality of input: axis " + std::to_string(a) + " for arrays of rank " + std::to_string(rank));
      const std::size_t u = std::size_t(a < 0 ? a + r : a);
      if (conv[u]) throw Error("all axes must be unique, got axis " + std::to_string(u) + " twice");
      conv[u] = true;
    }
  }
  if (rules == Rules::FreqDomain)
    for (std::size_t a = 0; a < rank; ++a)
      if (s1_in[a] == 1 || s2_in[a] == 1) conv[a] = false;  // scipy broadcasts these instead
  for (std::size_t a = 0; a < rank; ++a)
    if (!conv[a] && !(s1_in[a] == s2_in[a] || s1_in[a] == 1 || s2_in[a] == 1))
      throw Error("incompatible shapes for in1 and in2: " + shape_to_string(s1_in) + " and " + shape_to_string(s2_in) +
                  " (axis " + std::to_string(a) + " is not convolved: its sizes must be equal, or one of them 1)");
  Shape s1 = s1_in, s2 = s2_in;
  Geometry g;
  g.rank = rank;
  g.circular = mode == Mode::Circular;
  if (mode == Mode::Valid) {
    bool ok1 = true, ok2 = true;
    for (std::size_t a = 0; a < rank; ++a)
      if (conv[a]) ok1 = ok1 && s1[a] >= s2[a], ok2 = ok2 && s2[a] >= s1[a];
    if (!ok1 && !ok2)
      throw Error("For 'valid' mode, one must be at least as large as the other in every dimension (got shapes " +
                  shape_to_string(s1) + " and " + shape_to_string(s2) + ")");
    if (!ok1) std::swap(s1, s2), g.swapped = true;
  }
  // (Reserved: growing these one element at a time was a dozen allocations per call, a tenth
  // of a 64 x 64 3 x 3 convolution's instructions.)
  const std::size_t n_conv = std::size_t(std::count(conv.begin(), conv.end(), true));
  g.conv_axes.reserve(n_conv), g.axes.reserve(n_conv);
  for (Shape* v : {&g.batch_axes, &g.x_batch, &g.k_batch, &g.batch, &g.batch_offset}) v->reserve(rank - n_conv);
  for (std::size_t a = 0; a < rank; ++a) {
    if (conv[a]) {
      g.conv_axes.push_back(a);
      ConvAxis c;
      c.n = s1[a];
      c.k = s2[a];
      c.ext = mode == Mode::Circular ? Extension::Periodic : ext;
      switch (mode) {
        case Mode::Full: c.out = c.n + c.k - 1, c.start = 0; break;
        case Mode::Same: c.out = c.n, c.start = std::ptrdiff_t(same_offset_half_k ? c.k / 2 : (c.k - 1) / 2); break;
        case Mode::Valid: c.out = c.n - c.k + 1, c.start = std::ptrdiff_t(c.k - 1); break;
        case Mode::Circular: c.out = c.n, c.start = std::ptrdiff_t(c.k / 2); break;
      }
      g.axes.push_back(c);
      continue;
    }
    g.batch_axes.push_back(a);
    g.x_batch.push_back(s1[a]);
    g.k_batch.push_back(s2[a]);
    const std::size_t full = std::max(s1[a], s2[a]);
    // scipy's _centered(ret, s1) in same mode trims broadcast axes to in1's size too.
    const std::size_t out = rules == Rules::FreqDomain && mode == Mode::Same ? s1_in[a] : full;
    g.batch.push_back(out);
    g.batch_offset.push_back((full - out) / 2);
  }
  g.out_shape.assign(rank, 0);
  for (std::size_t i = 0; i < g.batch_axes.size(); ++i) g.out_shape[g.batch_axes[i]] = g.batch[i];
  for (std::size_t i = 0; i < g.conv_axes.size(); ++i) g.out_shape[g.conv_axes[i]] = g.axes[i].out;
  checked_product(g.out_shape, "the output");
  return g;
}

std::vector<std::int64_t> correlation_lags(std::size_t in1_len, std::size_t in2_len, Mode mode) {
  const auto n1 = std::int64_t(in1_len), n2 = std::int64_t(in2_len);
  std::vector<std::int64_t> lags;
  switch (mode) {
    case Mode::Full:
      for (std::int64_t l = -n2 + 1; l < n1; ++l) lags.push_back(l);
      return lags;
    case Mode::Same: {
      std::vector<std::int64_t> full;
      for (std::int64_t l = -n2 + 1; l < n1; ++l) full.push_back(l);
      const std::int64_t mid = std::int64_t(full.size()) / 2, bound = n1 / 2;
      const std::int64_t lo = mid - bound, hi = mid + bound + (n1 % 2);
      for (std::int64_t i = std::max<std::int64_t>(lo, 0); i < std::min<std::int64_t>(hi, std::int64_t(full.size())); ++i)
        lags.push_back(full[std::size_t(i)]);
      return lags;
    }
    case Mode::Valid: {
      const std::int64_t bound = n1 - n2;
      if (bound >= 0)
        for (std::int64_t l = 0; l <= bound; ++l) lags.push_back(l);
      else
        for (std::int64_t l = bound; l <= 0; ++l) lags.push_back(l);
      return lags;
    }
    case Mode::Circular: break;
  }
  throw Error("correlation_lags: mode must be full, same or valid, got circular");
}

}  // namespace fourierconv::signal::detail
