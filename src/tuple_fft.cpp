#include "tuple_fft.hpp"

#include <algorithm>
#include <cmath>

#include "fourierconv/error.hpp"

namespace fourierconv::detail {
namespace {

using simd::fma;
using simd::fnma;
using simd::splat;

FC_INLINE CVec add(CVec a, CVec b) { return {a.re + b.re, a.im + b.im}; }
FC_INLINE CVec sub(CVec a, CVec b) { return {a.re - b.re, a.im - b.im}; }
// (a.re + i a.im) * (wr + i wi)
FC_INLINE CVec mul(CVec a, v8 wr, v8 wi) { return {fnma(a.im, wi, a.re * wr), fma(a.im, wr, a.re * wi)}; }
// i^Sign * a for Sign = -1 (forward) or +1 (inverse): +i a = (-a.im, a.re), -i a = (a.im, -a.re)
template <bool Inverse>
FC_INLINE CVec rot(CVec a) {
  return Inverse ? CVec{-a.im, a.re} : CVec{a.im, -a.re};
}

// The factors 2 as 8s first (a radix-8 stage does the work of three radix-2 stages in one pass
// over the data, with fewer twiddle products), then 4s and at most one 2 (8 x 2 as 4 x 4), then
// the odd primes 3, 5, 7, ...: 128 = 8 4 4, 64 = 8 8 (were 4 4 4 2 and 4 4 4: the plane
// convolution of a 128^2 plane, old and new side by side: 27-34 -> 25-27 us).
std::vector<std::size_t> radices(std::size_t n) {
  std::vector<std::size_t> r;
  std::size_t twos = 0;
  while (n % 2 == 0) n /= 2, ++twos;
  std::size_t eights = twos / 3, rest = twos % 3;
  if (rest == 1 && eights > 0) --eights, rest = 4;
  r.insert(r.end(), eights, 8);
  if (rest == 4) r.insert(r.end(), {4, 4});
  else if (rest == 2) r.push_back(4);
  else if (rest == 1) r.push_back(2);
  for (std::size_t p = 3; n > 1; p += 2)
    while (n % p == 0) r.push_back(p), n /= p;
  return r;
}

template <bool Inverse>
FC_INLINE void dft2(CVec* a) {
  const CVec t = a[0];
  a[0] = add(t, a[1]);
  a[1] = sub(t, a[1]);
}

template <bool Inverse>
FC_INLINE void dft4(CVec* a) {
  const CVec s02 = add(a[0], a[2]), d02 = sub(a[0], a[2]);
  const CVec s13 = add(a[1], a[3]), d13 = rot<Inverse>(sub(a[1], a[3]));
  a[0] = add(s02, s13);
  a[2] = sub(s02, s13);
  a[1] = add(d02, d13);
  a[3] = sub(d02, d13);
}

// Radix 8 as two radix-4 DFTs of the even and odd inputs: X[u] = E[u] + w8^u O[u],
// X[u + 4] = E[u] - w8^u O[u], w8 = exp(-+ i pi / 4) = (1 -+ i) / sqrt 2.
template <bool Inverse>
FC_INLINE void dft8(CVec* a) {
  CVec e[4] = {a[0], a[2], a[4], a[6]}, o[4] = {a[1], a[3], a[5], a[7]};
  dft4<Inverse>(e);
  dft4<Inverse>(o);
  const v8 h = splat(0.70710678118654752f);
  if (Inverse) {  // (x + iy)(1 + i) = (x - y) + i(x + y); (x + iy)(-1 + i) = -(x + y) + i(x - y)
    o[1] = CVec{h * (o[1].re - o[1].im), h * (o[1].re + o[1].im)};
    o[3] = CVec{-h * (o[3].re + o[3].im), h * (o[3].re - o[3].im)};
  } else {  // (x + iy)(1 - i) = (x + y) + i(y - x); (x + iy)(-1 - i) = (y - x) - i(x + y)
    o[1] = CVec{h * (o[1].re + o[1].im), h * (o[1].im - o[1].re)};
    o[3] = CVec{h * (o[3].im - o[3].re), -h * (o[3].re + o[3].im)};
  }
  o[2] = rot<Inverse>(o[2]);
  for (int u = 0; u < 4; ++u) {
    a[u] = add(e[u], o[u]);
    a[u + 4] = sub(e[u], o[u]);
  }
}

// Odd radix R with compile-time tables: A_u = a0 + sum_t (S_t cos(2 pi t u / R)
// + sign i D_t sin(2 pi t u / R)), S_t = a_t + a_{R-t}, D_t = a_t - a_{R-t}.
template <std::size_t R, bool Inverse>
FC_INLINE void dft_odd(CVec* a, const float* c, const float* sn) {
  constexpr std::size_t H = (R - 1) / 2;
  CVec S[H], D[H];
  for (std::size_t t = 1; t <= H; ++t) {
    S[t - 1] = add(a[t], a[R - t]);
    D[t - 1] = sub(a[t], a[R - t]);
  }
  const CVec a0 = a[0];
  CVec sum = a0;
  for (std::size_t t = 0; t < H; ++t) sum = add(sum, S[t]);
  a[0] = sum;
  for (std::size_t u = 1; u <= H; ++u) {
    CVec re = a0, im{v8{}, v8{}};
    for (std::size_t t = 1; t <= H; ++t) {
      const std::size_t j = (t * u) % R;
      const v8 cs = splat(c[j]), ss = splat(sn[j]);
      re.re = fma(S[t - 1].re, cs, re.re);
      re.im = fma(S[t - 1].im, cs, re.im);
      im.re = fma(D[t - 1].re, ss, im.re);
      im.im = fma(D[t - 1].im, ss, im.im);
    }
    const CVec ri = rot<Inverse>(im);  // sign * i * sum D sin
    a[u] = add(re, ri);
    a[R - u] = sub(re, ri);
  }
}

// Any odd radix at run time (primes above 7).
template <bool Inverse>
FC_INLINE void dft_generic(CVec* a, std::size_t R, const float* c, const float* sn, CVec* tmp) {
  const std::size_t H = (R - 1) / 2;
  for (std::size_t u = 0; u < R; ++u) tmp[u] = a[u];
  CVec sum = tmp[0];
  for (std::size_t t = 1; t < R; ++t) sum = add(sum, tmp[t]);
  a[0] = sum;
  for (std::size_t u = 1; u <= H; ++u) {
    CVec re = tmp[0], im{v8{}, v8{}};
    for (std::size_t t = 1; t <= H; ++t) {
      const std::size_t j = (t * u) % R;
      const CVec S = add(tmp[t], tmp[R - t]), D = sub(tmp[t], tmp[R - t]);
      const v8 cs = splat(c[j]), ss = splat(sn[j]);
      re.re = fma(S.re, cs, re.re);
      re.im = fma(S.im, cs, re.im);
      im.re = fma(D.re, ss, im.re);
      im.im = fma(D.im, ss, im.im);
    }
    const CVec ri = rot<Inverse>(im);
    a[u] = add(re, ri);
    a[R - u] = sub(re, ri);
  }
}

}  // namespace

TupleFft::TupleFft(std::size_t n) : n_(n) {
  if (n == 0) throw Error("TupleFft: length must be >= 1");
  std::size_t m = n, s = 1;
  for (std::size_t r : radices(n)) {
    const std::size_t len = m;  // this stage's transform length
    m /= r;
    Stage st{r, m, s, {}, {}, {}, {}};
    st.tw_re.resize(m * (r - 1));
    st.tw_im.resize(m * (r - 1));
    for (std::size_t p = 0; p < m; ++p)
      for (std::size_t u = 1; u < r; ++u) {
        const double a = -2.0 * M_PI * double(p * u % len) / double(len);
        st.tw_re[p * (r - 1) + u - 1] = splat(float(std::cos(a)));
        st.tw_im[p * (r - 1) + u - 1] = splat(float(std::sin(a)));
      }
    st.c.resize(r);
    st.sn.resize(r);
    for (std::size_t j = 0; j < r; ++j) {
      st.c[j] = float(std::cos(2.0 * M_PI * double(j) / double(r)));
      st.sn[j] = float(std::sin(2.0 * M_PI * double(j) / double(r)));
    }
    stages_.push_back(std::move(st));
    s *= r;
  }
}


namespace {

// One stage of radix R (compile time, so the butterfly's R values stay in registers):
// input t of butterfly (p, q, b) at src[((q + s p) + t s m) sts + b sbs], output u at
// dst[((q + s r p) + u s) dts + b dbs].
template <std::size_t R, bool Inverse>
FC_INLINE void stage(const CVec* src, std::size_t sts, std::size_t sbs, CVec* dst, std::size_t dts, std::size_t dbs,
           std::size_t count, std::size_t m, std::size_t s, const v8* tw_re, const v8* tw_im, const float* c,
           const float* sn) {
  const std::size_t in_step = s * m * sts, out_step = s * dts;
  for (std::size_t p = 0; p < m; ++p) {
    v8 wr[R > 1 ? R - 1 : 1], wi[R > 1 ? R - 1 : 1];
    for (std::size_t u = 1; u < R; ++u) {
      wr[u - 1] = tw_re[p * (R - 1) + u - 1];
      wi[u - 1] = Inverse ? -tw_im[p * (R - 1) + u - 1] : tw_im[p * (R - 1) + u - 1];
    }
    for (std::size_t q = 0; q < s; ++q) {
      const CVec* in = src + (q + s * p) * sts;
      CVec* out = dst + (q + s * R * p) * dts;
      for (std::size_t b = 0; b < count; ++b, in += sbs, out += dbs) {
        CVec a[R];
        for (std::size_t t = 0; t < R; ++t) a[t] = in[t * in_step];
        if constexpr (R == 2) dft2<Inverse>(a);
        else if constexpr (R == 4) dft4<Inverse>(a);
        else if constexpr (R == 8) dft8<Inverse>(a);
        else dft_odd<R, Inverse>(a, c, sn);
        out[0] = a[0];
        if (p == 0) {
          for (std::size_t u = 1; u < R; ++u) out[u * out_step] = a[u];
        } else {
          for (std::size_t u = 1; u < R; ++u) out[u * out_step] = mul(a[u], wr[u - 1], wi[u - 1]);
        }
      }
    }
  }
}

// Any odd radix at run time (primes above 7).
template <bool Inverse>
FC_INLINE void stage_generic(const CVec* src, std::size_t sts, std::size_t sbs, CVec* dst, std::size_t dts, std::size_t dbs,
                   std::size_t count, std::size_t r, std::size_t m, std::size_t s, const v8* tw_re, const v8* tw_im,
                   const float* c, const float* sn) {
  AlignedVector<CVec> a(2 * r);
  const std::size_t in_step = s * m * sts, out_step = s * dts;
  for (std::size_t p = 0; p < m; ++p)
    for (std::size_t q = 0; q < s; ++q)
      for (std::size_t b = 0; b < count; ++b) {
        const CVec* in = src + (q + s * p) * sts + b * sbs;
        CVec* out = dst + (q + s * r * p) * dts + b * dbs;
        for (std::size_t t = 0; t < r; ++t) a[t] = in[t * in_step];
        dft_generic<Inverse>(a.data(), r, c, sn, a.data() + r);
        out[0] = a[0];
        for (std::size_t u = 1; u < r; ++u) {
          const v8 wi = Inverse ? -tw_im[p * (r - 1) + u - 1] : tw_im[p * (r - 1) + u - 1];
          out[u * out_step] = p == 0 ? a[u] : mul(a[u], tw_re[p * (r - 1) + u - 1], wi);
        }
      }
}

}  // namespace

template <bool Inverse>
FC_INLINE void TupleFft::run(CVec* data, std::size_t ts, std::size_t bs, std::size_t count, CVec* work) const {
  if (stages_.empty()) return;  // length 1
  // Ping-pong between data (strides ts, bs) and work (compact: t * count + b).
  CVec* src = data;
  std::size_t sts = ts, sbs = bs;
  CVec* dst = work;
  std::size_t dts = count, dbs = 1;
  for (const Stage& st : stages_) {
    const v8* twr = st.tw_re.data();
    const v8* twi = st.tw_im.data();
    switch (st.r) {
      case 2: stage<2, Inverse>(src, sts, sbs, dst, dts, dbs, count, st.m, st.s, twr, twi, nullptr, nullptr); break;
      case 3: stage<3, Inverse>(src, sts, sbs, dst, dts, dbs, count, st.m, st.s, twr, twi, st.c.data(), st.sn.data()); break;
      case 4: stage<4, Inverse>(src, sts, sbs, dst, dts, dbs, count, st.m, st.s, twr, twi, nullptr, nullptr); break;
      case 5: stage<5, Inverse>(src, sts, sbs, dst, dts, dbs, count, st.m, st.s, twr, twi, st.c.data(), st.sn.data()); break;
      case 8: stage<8, Inverse>(src, sts, sbs, dst, dts, dbs, count, st.m, st.s, twr, twi, nullptr, nullptr); break;
      case 7: stage<7, Inverse>(src, sts, sbs, dst, dts, dbs, count, st.m, st.s, twr, twi, st.c.data(), st.sn.data()); break;
      default:
        stage_generic<Inverse>(src, sts, sbs, dst, dts, dbs, count, st.r, st.m, st.s, twr, twi, st.c.data(), st.sn.data());
    }
    std::swap(src, dst);
    std::swap(sts, dts);
    std::swap(sbs, dbs);
  }
  if (src != data)
    for (std::size_t t = 0; t < n_; ++t)
      for (std::size_t b = 0; b < count; ++b) data[t * ts + b * bs] = src[t * sts + b * sbs];
}

// Multiversioned entry points, one per direction and layout: GCC clones non-template
// functions only, and a row (one contiguous sequence) compiled apart from the strided column
// case lets the constants propagate (the b loop vanishes), as -march=native builds got by
// cloning run's constant-propagated variants.
// Columns: adjacent transforms (bs = 1), ts apart.
FC_MULTIVERSION void TupleFft::run_column_forward(CVec* data, std::size_t ts, std::size_t count, CVec* work) const {
  run<false>(data, ts, 1, count, work);
}
FC_MULTIVERSION void TupleFft::run_column_inverse(CVec* data, std::size_t ts, std::size_t count, CVec* work) const {
  run<true>(data, ts, 1, count, work);
}
// Any other layout (no caller today; kept so transform() honours its whole contract).
void TupleFft::run_strided(CVec* data, std::size_t ts, std::size_t bs, std::size_t count, bool inverse, CVec* work) const {
  if (inverse) run<true>(data, ts, bs, count, work);
  else run<false>(data, ts, bs, count, work);
}
FC_MULTIVERSION void TupleFft::run_row_forward(CVec* data, CVec* work) const { run<false>(data, 1, 0, 1, work); }
FC_MULTIVERSION void TupleFft::run_row_inverse(CVec* data, CVec* work) const { run<true>(data, 1, 0, 1, work); }

void TupleFft::transform(CVec* data, std::size_t ts, std::size_t bs, std::size_t count, bool inverse, CVec* work) const {
  if (count == 1 && ts == 1) return inverse ? run_row_inverse(data, work) : run_row_forward(data, work);
  if (bs != 1) return run_strided(data, ts, bs, count, inverse, work);
  if (inverse) run_column_inverse(data, ts, count, work);
  else run_column_forward(data, ts, count, work);
}

TupleFft2D::TupleFft2D(std::size_t rows, std::size_t cols) : row_fft(cols), col_fft(rows), P(rows), Q(cols) {}

std::size_t TupleFft2D::work_size() const { return std::max(Q, P * TupleFft::kColumnChunk); }

void TupleFft2D::row_pass(CVec* grid, std::size_t r0, std::size_t r1, bool inverse, CVec* work) const {
  for (std::size_t i = r0; i < r1; ++i) row_fft.transform(grid + i * Q, 1, 0, 1, inverse, work);
}

void TupleFft2D::column_pass(CVec* grid, std::size_t c0, std::size_t c1, bool inverse, CVec* work) const {
  for (std::size_t c = c0; c < c1; c += TupleFft::kColumnChunk)
    col_fft.transform(grid + c, Q, 1, std::min(TupleFft::kColumnChunk, c1 - c), inverse, work);
}

void TupleFft2D::forward(CVec* grid, CVec* work) const {
  row_pass(grid, 0, P, false, work);
  column_pass(grid, 0, Q, false, work);
}

void TupleFft2D::inverse(CVec* grid, CVec* work) const {
  column_pass(grid, 0, Q, true, work);
  row_pass(grid, 0, P, true, work);
}

}  // namespace fourierconv::detail
