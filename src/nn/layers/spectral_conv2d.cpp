#include "fourierconv/nn/layers/spectral_conv2d.hpp"

#include <omp.h>

#include <sstream>

#include "fourierconv/error.hpp"
#include "fourierconv/fft.hpp"
#include "fourierconv/nn/initializers.hpp"
#include "fourierconv/nn/summary.hpp"
#include "simd.hpp"
#include "tuple_fft.hpp"

namespace fourierconv::nn {

namespace {
// Grids up to this many points run through the tuple FFT (a grid of CVecs stays in L2).
constexpr std::size_t kTupleMaxPoints = 4096;
}  // namespace

struct SpectralConv2D::Plan {
  // Per-thread buffers, made once in build().
  struct Buffers {
    AlignedVector<float> grid;
    AlignedVector<Complex> spec, ys, acc;
  };
  std::vector<Buffers> buffers;
  std::vector<Complex> g;  // backward: dL/dY on the retained modes, (N, F, M)
  std::size_t H = 0, W = 0, C = 0, F = 0, m1 = 0, m2 = 0, M = 0, nb = 0, Wh = 0;
  std::shared_ptr<const FftPlan> fft;
  std::vector<std::size_t> bins;  // half-spectrum bin of each retained mode (block 1 then block 2)
  std::vector<float> weight;      // c2r weight of each retained mode: 1 for columns 0 and W/2, else 2

  // Small grids: FFTs vectorized across planes or filters (tuple_fft.hpp), pruned to the
  // retained modes. T8 = ceil(F / 8) filter tuples.
  std::unique_ptr<detail::TupleFft2D> tfft;
  std::vector<std::size_t> cells;   // full-grid index (row * W + column) of each retained mode
  std::vector<std::size_t> mirror;  // full-grid index of -k for each retained mode
  std::size_t mirror_col0 = 0;      // mirrored columns are [mirror_col0, W) (none when W)
  std::size_t T8 = 0;
  struct TupleBuffers {
    detail::CVecBuffer grid, work, acc;
  };
  std::vector<TupleBuffers> tbuf;  // per thread
  detail::CVecBuffer xm;           // input modes, (ceil(N*C/8), M), lanes = planes (n, c)
  detail::CVecBuffer wp, dwp;      // weights / their gradients packed (C, T8, M), lanes = filters
  detail::CVecBuffer gm;           // backward: dL/dY on the modes, (N, T8, M), lanes = filters
  detail::CVecBuffer dxm;          // backward: dL/dX on the modes, (ceil(N*C/8), M), lanes = planes
};

SpectralConv2D::SpectralConv2D(std::size_t filters, Size2 modes, SpectralConv2DArgs args)
    : Layer(args.name.empty() ? unique_name("spectral_conv2d") : args.name),
      filters_(filters),
      modes_(modes),
      args_(std::move(args)) {
  if (filters == 0) throw Error("SpectralConv2D: filters must be >= 1, got 0");
  if (modes.first == 0 || modes.second == 0)
    throw Error("SpectralConv2D: modes must be positive, got (" + std::to_string(modes.first) + ", " +
                std::to_string(modes.second) + ")");
  activation_ = parse_activation(args_.activation);
  declare_input_shape(args_.input_shape);
}

Shape SpectralConv2D::build_impl(const Shape& in) {
  if (in.size() != 3) throw Error(name() + " (SpectralConv2D): expected input shape (H, W, C), got " + shape_to_string(in));
  auto p = std::make_shared<Plan>();
  p->H = in[0], p->W = in[1], p->C = in[2], p->F = filters_, p->m1 = modes_.first, p->m2 = modes_.second;
  p->Wh = p->W / 2 + 1;
  if (2 * p->m1 > p->H || p->m2 > p->Wh)
    throw Error(name() + " (SpectralConv2D): modes (" + std::to_string(p->m1) + ", " + std::to_string(p->m2) +
                ") are larger than the spectrum of a " + std::to_string(p->H) + "x" + std::to_string(p->W) +
                " input: at most (" + std::to_string(p->H / 2) + ", " + std::to_string(p->Wh) + ")");
  p->fft = FftPlan::get({p->H, p->W}, 1);
  p->nb = p->fft->spectrum_size();
  p->M = 2 * p->m1 * p->m2;
  for (std::size_t block = 0; block < 2; ++block)
    for (std::size_t r = 0; r < p->m1; ++r)
      for (std::size_t c = 0; c < p->m2; ++c) {
        const std::size_t row = block == 0 ? r : p->H - p->m1 + r;
        p->bins.push_back(row * p->Wh + c);
        p->weight.push_back((c == 0 || (p->W % 2 == 0 && c == p->W / 2)) ? 1.0f : 2.0f);
      }
  if (p->H * p->W <= kTupleMaxPoints) {
    p->tfft = std::make_unique<detail::TupleFft2D>(p->H, p->W);
    for (std::size_t m = 0; m < p->M; ++m) {
      const std::size_t r = p->bins[m] / p->Wh, c = p->bins[m] % p->Wh;
      p->cells.push_back(r * p->W + c);
      p->mirror.push_back(((p->H - r) % p->H) * p->W + (p->W - c) % p->W);
    }
    // Columns W - c for c in [1, m2), beyond the retained [0, m2).
    p->mirror_col0 = std::max(p->m2, p->W + 1 - std::min(p->m2, p->W));
    p->T8 = (p->F + detail::kLanes - 1) / detail::kLanes;
    p->tbuf.resize(std::size_t(omp_get_max_threads()));
    for (auto& b : p->tbuf) {
      b.grid.resize(p->H * p->W);
      b.work.resize(p->tfft->work_size());
      b.acc.resize(p->M);
    }
  }
  p->buffers.resize(std::size_t(omp_get_max_threads()));
  for (auto& b : p->buffers) {
    b.grid.resize(p->H * p->W);
    b.spec.resize(p->nb);
    b.ys.resize(p->nb);
    b.acc.resize(p->M);
  }
  plan_ = p;
  const float scale = 1.0f / float(p->C * p->F);
  std::uniform_real_distribution<float> u(0.0f, scale);
  for (const char* w : {"weights1", "weights2"}) {
    Weight& wt = add_weight(w, {p->C, p->F, p->m1, p->m2, 2});
    for (float& v : wt.value) v = u(global_rng());
  }
  if (args_.use_bias) add_weight("bias", {p->F});
  return {p->H, p->W, p->F};
}

namespace {
// The complex weight of (c, f, mode): mode < m1*m2 is in weights1, the rest in weights2.
inline Complex* weight_at(std::vector<Weight*>& w, std::size_t c, std::size_t f, std::size_t F, std::size_t mode,
                          std::size_t half, bool grad) {
  Weight* t = mode < half ? w[0] : w[1];
  float* base = (grad ? t->grad : t->value).data();
  return reinterpret_cast<Complex*>(base) + (c * F + f) * half + (mode % half);
}
}  // namespace

namespace {

using detail::CVec;
using detail::kLanes;
using detail::v8;
using simd::splat;


FC_INLINE float hsum(v8 v) {
  typedef float v4 __attribute__((vector_size(16), aligned(16)));
  v4 a = __builtin_shufflevector(v, v, 0, 1, 2, 3) + __builtin_shufflevector(v, v, 4, 5, 6, 7);
  a += __builtin_shufflevector(a, a, 2, 3, 0, 1);
  a += __builtin_shufflevector(a, a, 1, 0, 3, 2);
  return a[0];
}

// acc += a * b and acc += a * conj(b) on split complex vectors.
FC_INLINE void cmac(CVec& acc, v8 ar, v8 ai, const CVec& b) {
  acc.re = simd::fnma(ai, b.im, simd::fma(ar, b.re, acc.re));
  acc.im = simd::fma(ai, b.re, simd::fma(ar, b.im, acc.im));
}
FC_INLINE void cmac_conj(CVec& acc, const CVec& a, v8 br, v8 bi) {
  acc.re = simd::fma(a.im, bi, simd::fma(a.re, br, acc.re));
  acc.im = simd::fnma(a.re, bi, simd::fma(a.im, br, acc.im));
}

}  // namespace

// The forward on a small grid: the modes of 8 input planes per transform (rows, then only the
// retained columns), the channel mixing per mode with 8 filters per vector, and one inverse
// per 8 filters (only the retained columns, then every row), stored channels-last.
FC_MULTIVERSION void SpectralConv2D::call_tuple(const Tensor& x, Tensor& y) {
  Plan& p = *plan_;
  const std::size_t N = x.dim(0), H = p.H, W = p.W, C = p.C, F = p.F, M = p.M, T8 = p.T8, HW = H * W;
  const std::size_t planes = N * C, groups = (planes + kLanes - 1) / kLanes;
  auto w = weights();
  const float* bias = args_.use_bias ? w[2]->value.data() : nullptr;
  const bool relu = activation_ == Activation::Relu;
  p.xm.resize(groups * M);
  p.wp.resize(C * T8 * M);
  for (std::size_t c = 0; c < C; ++c)
    for (std::size_t t = 0; t < T8; ++t)
      for (std::size_t m = 0; m < M; ++m) {
        CVec& v = p.wp[(c * T8 + t) * M + m];
        for (std::size_t l = 0; l < kLanes; ++l) {
          const std::size_t f = t * kLanes + l;
          const Complex z = f < F ? *weight_at(w, c, f, F, m, M / 2, false) : Complex(0, 0);
          v.re[l] = z.real();
          v.im[l] = z.imag();
        }
      }
  const std::size_t T16 = (T8 + 1) / 2, items = N * T16;
#pragma omp parallel num_threads(int(p.tbuf.size())) if (planes * T8 > 1)
  {
    Plan::TupleBuffers& b = p.tbuf[std::size_t(omp_get_thread_num())];
    CVec* grid = b.grid.data();
    CVec* work = b.work.data();
#pragma omp for schedule(static)
    for (std::size_t g = 0; g < groups; ++g) {
      std::fill(grid, grid + HW, CVec{v8{}, v8{}});
      for (std::size_t l = 0; l < kLanes && g * kLanes + l < planes; ++l) {
        const std::size_t pl = g * kLanes + l;
        const float* src = x.data() + (pl / C) * HW * C + pl % C;
        for (std::size_t i = 0; i < HW; ++i) grid[i].re[l] = src[i * C];
      }
      p.tfft->row_pass(grid, 0, H, false, work);
      p.tfft->column_pass(grid, 0, p.m2, false, work);
      for (std::size_t m = 0; m < M; ++m) p.xm[g * M + m] = grid[p.cells[m]];
    }
    // Per image and 16 filters: the modes of filter f0 + l (Y_a) and f0 + 8 + l (Y_b), weighted
    // as irfft2 weighs them; y_f = Re(ifft2(Yhat_f)) = ifft2(Herm(Yhat_f)), so the two real
    // outputs come out of one inverse of Z = Herm(Yhat_a) + i Herm(Yhat_b), whose columns are
    // the retained ones and their mirrors.
#pragma omp for schedule(static)
    for (std::size_t it = 0; it < items; ++it) {
      const std::size_t n = it / T16, t16 = it % T16;
      std::fill(grid, grid + HW, CVec{v8{}, v8{}});
      for (std::size_t m = 0; m < M; ++m) {
        CVec ya{v8{}, v8{}}, yb{v8{}, v8{}};
        for (std::size_t c = 0; c < C; ++c) {
          const std::size_t pl = n * C + c;
          const CVec& xv = p.xm[(pl / kLanes) * M + m];
          const v8 xr = splat(xv.re[pl % kLanes]), xi = splat(xv.im[pl % kLanes]);
          cmac(ya, xr, xi, p.wp[(c * T8 + 2 * t16) * M + m]);
          if (2 * t16 + 1 < T8) cmac(yb, xr, xi, p.wp[(c * T8 + 2 * t16 + 1) * M + m]);
        }
        const v8 s = splat(0.5f * p.weight[m] / float(HW));  // Herm's 1/2, irfft2's weight and normalization
        ya = {ya.re * s, ya.im * s};
        yb = {yb.re * s, yb.im * s};
        CVec& z = grid[p.cells[m]];        // Yhat_a + i Yhat_b
        z.re += ya.re - yb.im;
        z.im += ya.im + yb.re;
        CVec& zm = grid[p.mirror[m]];      // conj(Yhat_a) + i conj(Yhat_b) at -k
        zm.re += ya.re + yb.im;
        zm.im += yb.re - ya.im;
      }
      p.tfft->column_pass(grid, 0, p.m2, true, work);
      if (p.mirror_col0 < W) p.tfft->column_pass(grid, p.mirror_col0, W, true, work);
      p.tfft->row_pass(grid, 0, H, true, work);
      for (std::size_t half = 0; half < 2; ++half) {
        const std::size_t f0 = (2 * t16 + half) * kLanes;
        if (f0 >= F) break;
        v8 bv{};
        for (std::size_t l = 0; l < kLanes && f0 + l < F; ++l) bv[l] = bias ? bias[f0 + l] : 0.0f;
        float* dst = y.data() + n * HW * F + f0;
        for (std::size_t i = 0; i < HW; ++i) {
          v8 v = (half ? grid[i].im : grid[i].re) + bv;
          if (relu) v = v < 0 ? v8{} : v;
          if (f0 + kLanes <= F) {
            simd::storeu(dst + i * F, v);
          } else {
            for (std::size_t l = 0; f0 + l < F; ++l) dst[i * F + l] = v[l];
          }
        }
      }
    }
  }
  if (!relu) apply_activation(y, F);
}

// The backward on a small grid: dL/dY on the modes from 8 filters per transform, the weight
// gradients per mode, and the input gradient through one inverse per 8 planes.
FC_MULTIVERSION void SpectralConv2D::backward_tuple(const Tensor& dz, Tensor* dx) {
  Plan& p = *plan_;
  const std::size_t N = dz.dim(0), H = p.H, W = p.W, C = p.C, F = p.F, M = p.M, T8 = p.T8, HW = H * W;
  const std::size_t planes = N * C, groups = (planes + kLanes - 1) / kLanes;
  auto w = weights();
  p.gm.resize(N * T8 * M);
  p.dwp.resize(C * T8 * M);
  const int threads = int(p.tbuf.size());
  const std::size_t T16 = (T8 + 1) / 2;
  AlignedVector<v8> dbias(std::size_t(threads) * T8, v8{});  // not std::vector: it drops v8's alignment
#pragma omp parallel num_threads(threads) if (N * T8 > 1)
  {
    const std::size_t tid = std::size_t(omp_get_thread_num());
    Plan::TupleBuffers& b = p.tbuf[tid];
    CVec* grid = b.grid.data();
    CVec* work = b.work.data();
    // G = (w_k / HW) fft2(dz_f) on the modes, 16 filters per transform (Z = fft2(dz_a + i dz_b):
    // G_a = (Z + conj Z(-k)) / 2, G_b = (Z - conj Z(-k)) / 2i, so the column pass covers the
    // retained columns and their mirrors); the bias gradient on the way.
#pragma omp for schedule(static)
    for (std::size_t it = 0; it < N * T16; ++it) {
      const std::size_t n = it / T16, t16 = it % T16;
      for (std::size_t half = 0; half < 2; ++half) {
        const std::size_t t = 2 * t16 + half, f0 = t * kLanes;
        const float* src = dz.data() + n * HW * F + f0;
        v8 db{};
        for (std::size_t i = 0; i < HW; ++i) {
          v8 v{};
          if (f0 + kLanes <= F) v = simd::loadu(src + i * F);
          else
            for (std::size_t l = 0; f0 + l < F; ++l) v[l] = src[i * F + l];
          (half ? grid[i].im : grid[i].re) = v;
          db += v;
        }
        if (t < T8) dbias[tid * T8 + t] += db;
      }
      p.tfft->row_pass(grid, 0, H, false, work);
      p.tfft->column_pass(grid, 0, p.m2, false, work);
      if (p.mirror_col0 < W) p.tfft->column_pass(grid, p.mirror_col0, W, false, work);
      for (std::size_t m = 0; m < M; ++m) {
        const v8 s = splat(0.5f * p.weight[m] / float(HW));
        const CVec z = grid[p.cells[m]], zm = grid[p.mirror[m]];
        p.gm[(n * T8 + 2 * t16) * M + m] = {(z.re + zm.re) * s, (z.im - zm.im) * s};
        if (2 * t16 + 1 < T8) p.gm[(n * T8 + 2 * t16 + 1) * M + m] = {(z.im + zm.im) * s, (zm.re - z.re) * s};
      }
    }
    // dW_cf[k] = sum_n G_f[k] conj(X_c[k]), 8 filters per vector.
#pragma omp for schedule(static) collapse(2)
    for (std::size_t c = 0; c < C; ++c)
      for (std::size_t t = 0; t < T8; ++t)
        for (std::size_t m = 0; m < M; ++m) {
          CVec acc{v8{}, v8{}};
          for (std::size_t n = 0; n < N; ++n) {
            const std::size_t pl = n * C + c;
            const CVec& xv = p.xm[(pl / kLanes) * M + m];
            cmac_conj(acc, p.gm[(n * T8 + t) * M + m], splat(xv.re[pl % kLanes]), splat(xv.im[pl % kLanes]));
          }
          p.dwp[(c * T8 + t) * M + m] = acc;
        }
    if (dx) {
      // dX_c[k] = sum_f G_f[k] conj(W_cf[k]); dx_c = Re(ifft2_unnormalized(dX_c on the modes)).
#pragma omp for schedule(static)
      for (std::size_t g = 0; g < groups; ++g) {
        std::fill(grid, grid + HW, CVec{v8{}, v8{}});
        for (std::size_t l = 0; l < kLanes && g * kLanes + l < planes; ++l) {
          const std::size_t pl = g * kLanes + l, n = pl / C, c = pl % C;
          for (std::size_t m = 0; m < M; ++m) {
            CVec acc{v8{}, v8{}};
            for (std::size_t t = 0; t < T8; ++t) {
              const CVec& wv = p.wp[(c * T8 + t) * M + m];
              cmac_conj(acc, p.gm[(n * T8 + t) * M + m], wv.re, wv.im);
            }
            grid[p.cells[m]].re[l] = hsum(acc.re);
            grid[p.cells[m]].im[l] = hsum(acc.im);
          }
        }
        p.tfft->column_pass(grid, 0, p.m2, true, work);
        p.tfft->row_pass(grid, 0, H, true, work);
        for (std::size_t l = 0; l < kLanes && g * kLanes + l < planes; ++l) {
          const std::size_t pl = g * kLanes + l;
          float* d = dx->data() + (pl / C) * HW * C + pl % C;
          for (std::size_t i = 0; i < HW; ++i) d[i * C] = grid[i].re[l];
        }
      }
    }
  }
  for (std::size_t c = 0; c < C; ++c)
    for (std::size_t f = 0; f < F; ++f)
      for (std::size_t m = 0; m < M; ++m) {
        const CVec& v = p.dwp[(c * T8 + f / kLanes) * M + m];
        *weight_at(w, c, f, F, m, M / 2, true) = Complex(v.re[f % kLanes], v.im[f % kLanes]);
      }
  if (args_.use_bias) {
    float* db = w[2]->grad.data();
    for (std::size_t f = 0; f < F; ++f) {
      float s = 0;
      for (int t = 0; t < threads; ++t) s += dbias[std::size_t(t) * T8 + f / kLanes][f % kLanes];
      db[f] = s;
    }
  }
}

void SpectralConv2D::call_impl(const Tensor& x, Tensor& y, bool) {
  Plan& p = *plan_;
  if (p.tfft) return call_tuple(x, y);
  const std::size_t N = x.dim(0), H = p.H, W = p.W, C = p.C, F = p.F, M = p.M, half = M / 2;
  auto w = weights();
  xmodes_.resize(N * C * M);
  const float s = p.fft->inverse_scale();
  const float* bias = args_.use_bias ? w[2]->value.data() : nullptr;
#pragma omp parallel num_threads(int(p.buffers.size()))
  {
    Plan::Buffers& b = p.buffers[std::size_t(omp_get_thread_num())];
    AlignedVector<float>& grid = b.grid;
    AlignedVector<Complex>& spec = b.spec;
    AlignedVector<Complex>& ys = b.ys;
    AlignedVector<Complex>& acc = b.acc;
#pragma omp for schedule(static)
    for (std::size_t n = 0; n < N; ++n) {
      for (std::size_t c = 0; c < C; ++c) {
        for (std::size_t i = 0; i < H * W; ++i) grid[i] = x[(n * H * W + i) * C + c];
        p.fft->forward(grid.data(), spec.data());
        for (std::size_t m = 0; m < M; ++m) xmodes_[(n * C + c) * M + m] = spec[p.bins[m]];
      }
      for (std::size_t f = 0; f < F; ++f) {
        std::fill(acc.begin(), acc.end(), Complex(0, 0));
        for (std::size_t c = 0; c < C; ++c) {
          const Complex* xm = xmodes_.data() + (n * C + c) * M;
          const Complex* w1 = weight_at(w, c, f, F, 0, half, false);
          const Complex* w2 = weight_at(w, c, f, F, half, half, false);
          for (std::size_t m = 0; m < half; ++m) acc[m] += xm[m] * w1[m];
          for (std::size_t m = half; m < M; ++m) acc[m] += xm[m] * w2[m - half];
        }
        std::fill(ys.begin(), ys.end(), Complex(0, 0));  // c2r destroys its input
        for (std::size_t m = 0; m < M; ++m) ys[p.bins[m]] = acc[m] * s;
        p.fft->inverse_unscaled(ys.data(), grid.data());
        const float b = bias ? bias[f] : 0.0f;
        for (std::size_t i = 0; i < H * W; ++i) y[(n * H * W + i) * F + f] = grid[i] + b;
      }
    }
  }
  apply_activation(y, F);
}

void SpectralConv2D::backward_impl(const Tensor& dy, Tensor* dx) {
  const Tensor& dz = activation_gradient(dy);
  Plan& p = *plan_;
  if (p.tfft) return backward_tuple(dz, dx);
  const std::size_t N = dz.dim(0), H = p.H, W = p.W, C = p.C, F = p.F, M = p.M, half = M / 2;
  auto w = weights();
  const float s = p.fft->inverse_scale();
  // G_f[k] = dL/dY_f[k] = (w_k / (H W)) rfft2(dz_f)[k]   (w_k: the c2r weight of the bin)
  std::vector<Complex>& g = p.g;
  g.resize(N * F * M);
#pragma omp parallel num_threads(int(p.buffers.size()))
  {
    AlignedVector<float>& grid = p.buffers[std::size_t(omp_get_thread_num())].grid;
    AlignedVector<Complex>& spec = p.buffers[std::size_t(omp_get_thread_num())].spec;
#pragma omp for schedule(static)
    for (std::size_t nf = 0; nf < N * F; ++nf) {
      const std::size_t n = nf / F, f = nf % F;
      for (std::size_t i = 0; i < H * W; ++i) grid[i] = dz[(n * H * W + i) * F + f];
      p.fft->forward(grid.data(), spec.data());
      for (std::size_t m = 0; m < M; ++m) g[nf * M + m] = spec[p.bins[m]] * (p.weight[m] * s);
    }
  }
  // dW_cf[k] = sum_n G_f[k] conj(X_c[k]); db_f = sum dz_f.
  for (Weight* t : {w[0], w[1]}) t->grad.fill(0.0f);
#pragma omp parallel for schedule(static) collapse(2)
  for (std::size_t c = 0; c < C; ++c)
    for (std::size_t f = 0; f < F; ++f)
      for (std::size_t m = 0; m < M; ++m) {
        Complex acc(0, 0);
        for (std::size_t n = 0; n < N; ++n) acc += g[(n * F + f) * M + m] * std::conj(xmodes_[(n * C + c) * M + m]);
        *weight_at(w, c, f, F, m, half, true) = acc;
      }
  if (args_.use_bias) {
    float* db = w[2]->grad.data();
    std::fill(db, db + F, 0.0f);
    for (std::size_t i = 0; i < dz.size(); ++i) db[i % F] += dz[i];
  }
  if (!dx) return;
  // dX_c[k] = sum_f G_f[k] conj(W_cf[k]); dx_c = sum_k Re(dX_c[k] e^{+i theta_k n}) = c2r(dX_c / w_k).
#pragma omp parallel num_threads(int(p.buffers.size()))
  {
    AlignedVector<float>& grid = p.buffers[std::size_t(omp_get_thread_num())].grid;
    AlignedVector<Complex>& spec = p.buffers[std::size_t(omp_get_thread_num())].spec;
#pragma omp for schedule(static) collapse(2)
    for (std::size_t n = 0; n < N; ++n)
      for (std::size_t c = 0; c < C; ++c) {
        std::fill(spec.begin(), spec.end(), Complex(0, 0));
        for (std::size_t m = 0; m < M; ++m) {
          Complex acc(0, 0);
          for (std::size_t f = 0; f < F; ++f)
            acc += g[(n * F + f) * M + m] * std::conj(*weight_at(w, c, f, F, m, half, false));
          spec[p.bins[m]] = acc / p.weight[m];
        }
        p.fft->inverse_unscaled(spec.data(), grid.data());
        for (std::size_t i = 0; i < H * W; ++i) (*dx)[(n * H * W + i) * C + c] = grid[i];
      }
  }
}

std::vector<std::string> SpectralConv2D::detail() const {
  std::ostringstream os;
  os << "learned Fourier modes (trained): 2 blocks of " << modes_.first << "x" << modes_.second << " complex weights per "
     << "(input, output) channel pair";
  std::vector<std::string> d{os.str()};
  if (plan_) {
    std::ostringstream s;
    s << "a complex weight counts as 2 parameters: 2 x " << plan_->C << " x " << plan_->F << " x " << plan_->m1 << " x "
      << plan_->m2 << " x 2 = " << with_thousands(4 * plan_->C * plan_->F * plan_->m1 * plan_->m2)
      << (args_.use_bias ? " + " + std::to_string(plan_->F) + " bias" : std::string());
    d.push_back(s.str());
  }
  return d;
}

}  // namespace fourierconv::nn
