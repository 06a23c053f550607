// The direct method of engine.hpp, for every element type.
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <memory>

#include "fourierconv/array.hpp"
#include "signal/engine.hpp"
#include "signal/extended.hpp"

namespace fourierconv::signal::detail {

namespace {

// The type sums accumulate in: the element type for floats (as scipy's direct code), 64-bit
// for integers and bool (exact; narrowed at the end modulo 2^bits, the same result as numpy's
// wrap-around arithmetic), complex as two reals.
template <class T>
struct Acc {
  using type = T;
};
template <>
struct Acc<bool> {
  using type = std::uint64_t;
};
template <class T>
  requires(std::is_integral_v<T> && std::is_signed_v<T>)
struct Acc<T> {
  using type = std::int64_t;
};
template <class T>
  requires(std::is_integral_v<T> && std::is_unsigned_v<T> && !std::is_same_v<T, bool>)
struct Acc<T> {
  using type = std::uint64_t;
};

template <class T>
T narrow(typename Acc<T>::type v) {
  if constexpr (std::is_same_v<T, bool>) return v != 0;
  else return static_cast<T>(v);
}

constexpr std::size_t kBlock = 64;  // outputs of a row summed in registers / L1 at once
constexpr double kParallelMacs = 2e5;

// acc[j] += kv * e[j] for j < n (complex written out: std::complex's operator* checks for NaN
// per element and does not vectorize).
template <class T, class A>
inline void axpy(A* __restrict acc, const T kv, const T* __restrict e, std::size_t n) {
  if constexpr (std::is_same_v<T, std::complex<float>> || std::is_same_v<T, std::complex<double>>) {
    using R = typename T::value_type;
    R* a = reinterpret_cast<R*>(acc);
    const R* x = reinterpret_cast<const R*>(e);
    const R kr = kv.real(), ki = kv.imag();
    for (std::size_t j = 0; j < n; ++j) {
      const R xr = x[2 * j], xi = x[2 * j + 1];
      a[2 * j] += kr * xr - ki * xi;
      a[2 * j + 1] += kr * xi + ki * xr;
    }
  } else {
    const A k = A(kv);
    for (std::size_t j = 0; j < n; ++j) acc[j] += k * A(e[j]);
  }
}

}  // namespace

template <class T>
void direct_convolve(const Geometry& g, const T* x, const T* kernel, T* y, T fill) {
  using A = typename Acc<T>::type;
  const std::size_t r = g.axes.size(), B = g.batch_size(), xp = g.x_plane(), kp = g.k_plane(), op = g.out_plane();
  std::vector<std::size_t> ed(r), od(r), kd(r), zero(r, 0);
  for (std::size_t i = 0; i < r; ++i) ed[i] = g.axes[i].extended(), od[i] = g.axes[i].out, kd[i] = g.axes[i].k;
  const std::size_t ep = shape_size(ed), kl = kd[r - 1], ol = od[r - 1];
  std::vector<std::size_t> es(r), osz(r);  // E strides; output rows per leading index
  es[r - 1] = 1;
  for (std::size_t i = r - 1; i-- > 0;) es[i] = es[i + 1] * ed[i + 1];
  const std::size_t out_rows = op / ol, k_rows = kp / kl;
  // E offsets of the kernel's rows (flipped: y[o] = sum_u' kr[u'] E[o + u'], kr[u'] = k[k-1-u']).
  std::vector<std::size_t> krow_off(k_rows);
  {
    std::vector<std::size_t> u(r, 0);
    for (std::size_t q = 0; q < k_rows; ++q) {
      std::size_t o = 0;
      for (std::size_t i = 0; i + 1 < r; ++i) o += u[i] * es[i];
      krow_off[q] = o;
      for (std::size_t i = r - 1; i-- > 0;) {
        if (++u[i] < kd[i]) break;
        u[i] = 0;
      }
    }
  }
  auto row_base = [&](std::size_t row) {  // E offset of output row `row`
    std::size_t o = 0;
    for (std::size_t i = r - 1; i-- > 0;) {
      o += (row % od[i]) * es[i];
      row /= od[i];
    }
    return o;
  };
  SourceTables tab(g.axes);
  const std::size_t T_ = std::size_t(omp_get_max_threads());
  const double macs = double(B) * double(op) * double(kp);
  const bool by_item = B >= 2 * T_;
  const bool par = macs > kParallelMacs;
  // Buffers (not std::vector: vector<bool> has no data()).
  using Buffer = std::unique_ptr<T[]>;
  auto flipped = [&](std::size_t item, T* kr) {
    const T* k = kernel + item * kp;
    for (std::size_t e = 0; e < kp; ++e) kr[kp - 1 - e] = k[e];
  };
  auto rows = [&](const T* E, const T* kr, T* yi, std::size_t r0, std::size_t r1) {
    A acc[kBlock];
    for (std::size_t row = r0; row < r1; ++row) {
      const std::size_t base = row_base(row);
      for (std::size_t j0 = 0; j0 < ol; j0 += kBlock) {
        const std::size_t n = std::min(kBlock, ol - j0);
        std::fill(acc, acc + n, A{});
        for (std::size_t q = 0; q < k_rows; ++q) {
          const T* e = E + base + krow_off[q] + j0;
          const T* kq = kr + q * kl;
          for (std::size_t v = 0; v < kl; ++v) axpy(acc, kq[v], e + v, n);
        }
        T* dst = yi + row * ol + j0;
        for (std::size_t j = 0; j < n; ++j) dst[j] = narrow<T>(acc[j]);
      }
    }
  };
  if (by_item) {
#pragma omp parallel if (par)
    {
      Buffer E(new T[ep]()), kr(new T[kp]());
      std::size_t k_loaded = std::size_t(-1);
#pragma omp for schedule(static)
      for (std::size_t b = 0; b < B; ++b) {
        gather_extended(tab, x + g.x_item(b) * xp, zero, ed, ed, fill, E.get());
        if (g.k_item(b) != k_loaded) flipped(k_loaded = g.k_item(b), kr.get());
        rows(E.get(), kr.get(), y + b * op, 0, out_rows);
      }
    }
    return;
  }
  Buffer E(new T[ep]()), kr(new T[kp]());
  for (std::size_t b = 0; b < B; ++b) {
    gather_extended(tab, x + g.x_item(b) * xp, zero, ed, ed, fill, E.get());
    flipped(g.k_item(b), kr.get());
#pragma omp parallel for schedule(static) if (par && out_rows > 1)
    for (std::size_t row = 0; row < out_rows; ++row) rows(E.get(), kr.get(), y + b * op, row, row + 1);
  }
}

#define FC_DIRECT(T) template void direct_convolve<T>(const Geometry&, const T*, const T*, T*, T);
FC_DIRECT(bool)
FC_DIRECT(std::int8_t)
FC_DIRECT(std::int16_t)
FC_DIRECT(std::int32_t)
FC_DIRECT(std::int64_t)
FC_DIRECT(std::uint8_t)
FC_DIRECT(std::uint16_t)
FC_DIRECT(std::uint32_t)
FC_DIRECT(std::uint64_t)
FC_DIRECT(float)
FC_DIRECT(double)
FC_DIRECT(std::complex<float>)
FC_DIRECT(std::complex<double>)
#undef FC_DIRECT

}  // namespace fourierconv::signal::detail
