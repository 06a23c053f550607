#include "fourierconv/conv/fft.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "fourierconv/error.hpp"

namespace fourierconv::conv {

bool fft_supports(const Problem& p, std::string* why) {
  std::string reason;
  if (p.sh != 1 || p.sw != 1) reason = "strides other than 1";
  else if (p.dh != 1 || p.dw != 1) reason = "dilation other than 1";
  if (why) *why = reason;
  return reason.empty();
}

std::pair<std::size_t, std::size_t> fft_grid(const Problem& p) {
  return {next_fast_size(p.h + p.pad_top + p.pad_bottom), next_fast_size(p.w + p.pad_left + p.pad_right)};
}

namespace {
constexpr std::size_t kBinBlock = 64;  // bins per block of the channel products (fits L1/L2)

// acc[b] += a[b] * w[b] (conj_w: times conj(w[b])), for b in [0, n).
inline void cmac(Complex* __restrict acc, const Complex* __restrict a, const Complex* __restrict w, std::size_t n,
                 bool conj_w) {
  float* c = reinterpret_cast<float*>(acc);
  const float* x = reinterpret_cast<const float*>(a);
  const float* k = reinterpret_cast<const float*>(w);
  const float sgn = conj_w ? -1.0f : 1.0f;
  for (std::size_t i = 0; i < n; ++i) {
    const float xr = x[2 * i], xi = x[2 * i + 1], kr = k[2 * i], ki = sgn * k[2 * i + 1];
    c[2 * i] += xr * kr - xi * ki;
    c[2 * i + 1] += xr * ki + xi * kr;
  }
}
}  // namespace

struct FftConv::Impl {
  std::size_t P = 0, Q = 0, nb = 0;
  std::shared_ptr<const FftPlan> plan;
  std::vector<float> cached_kernel;  // the kernel whose spectra kspec holds
  AlignedVector<Complex> kspec;      // (C, F, nb), 1/(P*Q) folded in
  AlignedVector<Complex> xspec;      // (N, C, nb) of the last forward
  AlignedVector<Complex> work;       // (N, F, nb) products / output gradients

  void update_kernel(const Problem& p, const float* kernel) {
    const std::size_t K = p.kh * p.kw * p.c * p.f;
    if (cached_kernel.size() == K && std::memcmp(cached_kernel.data(), kernel, K * sizeof(float)) == 0) return;
    cached_kernel.assign(kernel, kernel + K);
    kspec.resize(p.c * p.f * nb);
    const float s = plan->inverse_scale();
#pragma omp parallel
    {
      AlignedVector<float> grid(P * Q);
#pragma omp for schedule(static)
      for (std::size_t cf = 0; cf < p.c * p.f; ++cf) {
        const std::size_t c = cf / p.f, f = cf % p.f;
        std::fill(grid.begin(), grid.end(), 0.0f);
        // Flipped placement: k[u][v] at (-u mod P, -v mod Q) turns convolution into correlation.
        for (std::size_t u = 0; u < p.kh; ++u)
          for (std::size_t v = 0; v < p.kw; ++v)
            grid[((P - u) % P) * Q + (Q - v) % Q] = kernel[((u * p.kw + v) * p.c + c) * p.f + f];
        Complex* out = kspec.data() + cf * nb;
        plan->forward(grid.data(), out);
        for (std::size_t b = 0; b < nb; ++b) out[b] *= s;
      }
    }
  }

  // Transforms the N*C input planes (padded, at the grid's top-left) into xspec.
  void transform_input(const Problem& p, const float* x) {
    xspec.resize(p.n * p.c * nb);
#pragma omp parallel
    {
      AlignedVector<float> grid(P * Q, 0.0f);
#pragma omp for schedule(static)
      for (std::size_t nc = 0; nc < p.n * p.c; ++nc) {
        const std::size_t n = nc / p.c, c = nc % p.c;
        std::fill(grid.begin(), grid.end(), 0.0f);
        for (std::size_t i = 0; i < p.h; ++i) {
          float* row = grid.data() + (i + p.pad_top) * Q + p.pad_left;
          const float* src = x + ((n * p.h + i) * p.w) * p.c + c;
          for (std::size_t j = 0; j < p.w; ++j) row[j] = src[j * p.c];
        }
        plan->forward(grid.data(), xspec.data() + nc * nb);
      }
    }
  }
};

FftConv::FftConv(const Problem& p, FftRigor rigor) : impl_(std::make_unique<Impl>()) {
  std::string why;
  if (!fft_supports(p, &why)) throw Error("FftConv: the FFT algorithm does not support " + why + " (" + p.to_string() + ")");
  auto [P, Q] = fft_grid(p);
  impl_->P = P, impl_->Q = Q;
  impl_->plan = FftPlan::get({P, Q}, 1, rigor);
  impl_->nb = impl_->plan->spectrum_size();
}

FftConv::~FftConv() = default;
FftConv::FftConv(FftConv&&) noexcept = default;
FftConv& FftConv::operator=(FftConv&&) noexcept = default;

void FftConv::forward(const Problem& p, const float* x, const float* kernel, const float* bias, float* y) {
  Impl& m = *impl_;
  const std::size_t nb = m.nb, N = p.n, C = p.c, F = p.f, Q = m.Q;
  m.update_kernel(p, kernel);
  m.transform_input(p, x);
  m.work.assign(N * F * nb, Complex(0, 0));
  // Y[n,f] = sum_c X[n,c] K[c,f], blocked over bins.
#pragma omp parallel for schedule(static)
  for (std::size_t b0 = 0; b0 < nb; b0 += kBinBlock) {
    const std::size_t len = std::min(kBinBlock, nb - b0);
    for (std::size_t n = 0; n < N; ++n)
      for (std::size_t f = 0; f < F; ++f) {
        Complex* acc = m.work.data() + (n * F + f) * nb + b0;
        for (std::size_t c = 0; c < C; ++c)
          cmac(acc, m.xspec.data() + (n * C + c) * nb + b0, m.kspec.data() + (c * F + f) * nb + b0, len, false);
      }
  }
#pragma omp parallel
  {
    AlignedVector<float> grid(m.P * Q);
    AlignedVector<Complex> spec(nb);
#pragma omp for schedule(static)
    for (std::size_t nf = 0; nf < N * F; ++nf) {
      const std::size_t n = nf / F, f = nf % F;
      std::copy(m.work.data() + nf * nb, m.work.data() + (nf + 1) * nb, spec.data());
      m.plan->inverse_unscaled(spec.data(), grid.data());
      const float b = bias ? bias[f] : 0.0f;
      for (std::size_t i = 0; i < p.oh; ++i) {
        const float* row = grid.data() + i * Q;
        float* dst = y + ((n * p.oh + i) * p.ow) * F + f;
        for (std::size_t j = 0; j < p.ow; ++j) dst[j * F] = row[j] + b;
      }
    }
  }
}

void FftConv::invalidate_input() { impl_->xspec.clear(); }

void FftConv::backward(const Problem& p, const float* x, const float* kernel, const float* dy, float* dx, float* dkernel,
                       float* dbias) {
  Impl& m = *impl_;
  const std::size_t nb = m.nb, N = p.n, C = p.c, F = p.f, P = m.P, Q = m.Q;
  if (m.xspec.size() != N * C * nb) m.transform_input(p, x);
  m.update_kernel(p, kernel);
  if (dbias) {
    std::fill(dbias, dbias + F, 0.0f);
    for (std::size_t i = 0; i < N * p.oh * p.ow; ++i)
      for (std::size_t f = 0; f < F; ++f) dbias[f] += dy[i * F + f];
  }
  // G[n,f] = rfft2(dy[n,...,f] embedded at the grid's top-left).
  m.work.resize(N * F * nb);
#pragma omp parallel
  {
    AlignedVector<float> grid(P * Q, 0.0f);
#pragma omp for schedule(static)
    for (std::size_t nf = 0; nf < N * F; ++nf) {
      const std::size_t n = nf / F, f = nf % F;
      std::fill(grid.begin(), grid.end(), 0.0f);
      for (std::size_t i = 0; i < p.oh; ++i)
        for (std::size_t j = 0; j < p.ow; ++j) grid[i * Q + j] = dy[((n * p.oh + i) * p.ow + j) * F + f];
      m.plan->forward(grid.data(), m.work.data() + nf * nb);
    }
  }
  if (dkernel) {
    // dKc[c,f] = (1/PQ) irfft2_unscaled(sum_n G[n,f] conj(X[n,c])); dk[u][v] = dKc[-u][-v].
    AlignedVector<Complex> acc(C * F * nb, Complex(0, 0));
#pragma omp parallel for schedule(static)
    for (std::size_t b0 = 0; b0 < nb; b0 += kBinBlock) {
      const std::size_t len = std::min(kBinBlock, nb - b0);
      for (std::size_t c = 0; c < C; ++c)
        for (std::size_t f = 0; f < F; ++f)
          for (std::size_t n = 0; n < N; ++n)
            cmac(acc.data() + (c * F + f) * nb + b0, m.work.data() + (n * F + f) * nb + b0, m.xspec.data() + (n * C + c) * nb + b0,
                 len, true);
    }
    const float s = m.plan->inverse_scale();
#pragma omp parallel
    {
      AlignedVector<float> grid(P * Q);
#pragma omp for schedule(static)
      for (std::size_t cf = 0; cf < C * F; ++cf) {
        const std::size_t c = cf / F, f = cf % F;
        m.plan->inverse_unscaled(acc.data() + cf * nb, grid.data());
        for (std::size_t u = 0; u < p.kh; ++u)
          for (std::size_t v = 0; v < p.kw; ++v)
            dkernel[((u * p.kw + v) * C + c) * F + f] = grid[((P - u) % P) * Q + (Q - v) % Q] * s;
      }
    }
  }
  if (dx) {
    // dX[n,c] = sum_f G[n,f] conj(Kc[c,f]) (the 1/PQ is in Kc); dx = the H x W window at (pt, pl).
    AlignedVector<Complex> acc(N * C * nb, Complex(0, 0));
#pragma omp parallel for schedule(static)
    for (std::size_t b0 = 0; b0 < nb; b0 += kBinBlock) {
      const std::size_t len = std::min(kBinBlock, nb - b0);
      for (std::size_t n = 0; n < N; ++n)
        for (std::size_t c = 0; c < C; ++c)
          for (std::size_t f = 0; f < F; ++f)
            cmac(acc.data() + (n * C + c) * nb + b0, m.work.data() + (n * F + f) * nb + b0, m.kspec.data() + (c * F + f) * nb + b0,
                 len, true);
    }
#pragma omp parallel
    {
      AlignedVector<float> grid(P * Q);
#pragma omp for schedule(static)
      for (std::size_t nc = 0; nc < N * C; ++nc) {
        const std::size_t n = nc / C, c = nc % C;
        m.plan->inverse_unscaled(acc.data() + nc * nb, grid.data());
        for (std::size_t i = 0; i < p.h; ++i)
          for (std::size_t j = 0; j < p.w; ++j) dx[((n * p.h + i) * p.w + j) * C + c] = grid[(i + p.pad_top) * Q + j + p.pad_left];
      }
    }
  }
}

}  // namespace fourierconv::conv
