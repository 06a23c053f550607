#include "fourierconv/nn/layers/spectral_conv1d.hpp"

#include <omp.h>

#include <random>
#include <sstream>

#include "fourierconv/error.hpp"
#include "fourierconv/nn/initializers.hpp"
#include "fourierconv/nn/summary.hpp"

namespace fourierconv::nn {

struct SpectralConv1D::Plan {
  struct Buffers {
    AlignedVector<float> line;
    AlignedVector<Complex> spec;
  };
  std::vector<Buffers> buffers;  // per thread
  std::size_t L = 0, C = 0, F = 0, M = 0;
  std::shared_ptr<const FftPlan> fft;
  std::vector<float> weight;  // c2r weight of each retained bin: 1 for bins 0 and L/2, else 2
};

SpectralConv1D::SpectralConv1D(std::size_t filters, std::size_t modes, SpectralConv1DArgs args)
    : Layer(args.name.empty() ? unique_name("spectral_conv1d") : args.name),
      filters_(filters),
      modes_(modes),
      args_(std::move(args)) {
  if (filters == 0) throw Error("SpectralConv1D: filters must be >= 1, got 0");
  if (modes == 0) throw Error("SpectralConv1D: modes must be >= 1, got 0");
  activation_ = parse_activation(args_.activation);
  declare_input_shape(args_.input_shape);
}

Shape SpectralConv1D::build_impl(const Shape& in) {
  if (in.size() != 2) throw Error(name() + " (SpectralConv1D): expected input shape (L, C), got " + shape_to_string(in));
  auto p = std::make_shared<Plan>();
  p->L = in[0], p->C = in[1], p->F = filters_, p->M = modes_;
  if (p->M > p->L / 2 + 1)
    throw Error(name() + " (SpectralConv1D): modes " + std::to_string(p->M) + " is larger than the spectrum of a length-" +
                std::to_string(p->L) + " signal: at most " + std::to_string(p->L / 2 + 1));
  p->fft = FftPlan::get({1, p->L}, 1);
  for (std::size_t k = 0; k < p->M; ++k) p->weight.push_back((k == 0 || (p->L % 2 == 0 && k == p->L / 2)) ? 1.0f : 2.0f);
  p->buffers.resize(std::size_t(omp_get_max_threads()));
  for (auto& b : p->buffers) {
    b.line.resize(p->L);
    b.spec.resize(p->L / 2 + 1);
  }
  plan_ = p;
  std::uniform_real_distribution<float> u(0.0f, 1.0f / float(p->C * p->F));
  Weight& wt = add_weight("weights1", {p->C, p->F, p->M, 2});
  for (float& v : wt.value) v = u(global_rng());
  if (args_.use_bias) add_weight("bias", {p->F});
  return {p->L, p->F};
}

void SpectralConv1D::call_impl(const Tensor& x, Tensor& y, bool) {
  Plan& p = *plan_;
  const std::size_t N = x.dim(0), L = p.L, C = p.C, F = p.F, M = p.M;
  auto w = weights();
  const Complex* W = reinterpret_cast<const Complex*>(w[0]->value.data());  // (C, F, M)
  const float* bias = args_.use_bias ? w[1]->value.data() : nullptr;
  const float s = p.fft->inverse_scale();
  xmodes_.resize(N * C * M);
#pragma omp parallel num_threads(int(p.buffers.size())) if (N > 1)
  {
    Plan::Buffers& b = p.buffers[std::size_t(omp_get_thread_num())];
#pragma omp for schedule(static)
    for (std::size_t n = 0; n < N; ++n) {
      for (std::size_t c = 0; c < C; ++c) {
        for (std::size_t t = 0; t < L; ++t) b.line[t] = x[(n * L + t) * C + c];
        p.fft->forward(b.line.data(), b.spec.data());
        std::copy(b.spec.begin(), b.spec.begin() + std::ptrdiff_t(M), xmodes_.begin() + std::ptrdiff_t((n * C + c) * M));
      }
      for (std::size_t f = 0; f < F; ++f) {
        std::fill(b.spec.begin(), b.spec.end(), Complex(0, 0));  // c2r destroys its input
        for (std::size_t c = 0; c < C; ++c) {
          const Complex* xm = xmodes_.data() + (n * C + c) * M;
          const Complex* wm = W + (c * F + f) * M;
          for (std::size_t k = 0; k < M; ++k) b.spec[k] += xm[k] * wm[k];
        }
        for (std::size_t k = 0; k < M; ++k) b.spec[k] *= s;
        p.fft->inverse_unscaled(b.spec.data(), b.line.data());
        const float bf = bias ? bias[f] : 0.0f;
        for (std::size_t t = 0; t < L; ++t) y[(n * L + t) * F + f] = b.line[t] + bf;
      }
    }
  }
  // The activation: Layer::call applies it (this layer does not fuse it).
}

void SpectralConv1D::backward_impl(const Tensor& dz, Tensor* dx) {
  Plan& p = *plan_;
  const std::size_t N = dz.dim(0), L = p.L, C = p.C, F = p.F, M = p.M;
  auto w = weights();
  const Complex* W = reinterpret_cast<const Complex*>(w[0]->value.data());
  Complex* dW = reinterpret_cast<Complex*>(w[0]->grad.data());
  const float s = p.fft->inverse_scale();
  // G_f[k] = dL/dY_f[k] = (w_k / L) rfft(dz_f)[k]   (w_k: the c2r weight of bin k)
  g_.resize(N * F * M);
#pragma omp parallel num_threads(int(p.buffers.size())) if (N * F > 1)
  {
    Plan::Buffers& b = p.buffers[std::size_t(omp_get_thread_num())];
#pragma omp for schedule(static)
    for (std::size_t nf = 0; nf < N * F; ++nf) {
      const std::size_t n = nf / F, f = nf % F;
      for (std::size_t t = 0; t < L; ++t) b.line[t] = dz[(n * L + t) * F + f];
      p.fft->forward(b.line.data(), b.spec.data());
      for (std::size_t k = 0; k < M; ++k) g_[nf * M + k] = b.spec[k] * (p.weight[k] * s);
    }
  }
  // dW_cf[k] = sum_n G_f[k] conj(X_c[k]); db_f = sum dz_f.
#pragma omp parallel for schedule(static) collapse(2) if (C * F > 1)
  for (std::size_t c = 0; c < C; ++c)
    for (std::size_t f = 0; f < F; ++f)
      for (std::size_t k = 0; k < M; ++k) {
        Complex acc(0, 0);
        for (std::size_t n = 0; n < N; ++n) acc += g_[(n * F + f) * M + k] * std::conj(xmodes_[(n * C + c) * M + k]);
        dW[(c * F + f) * M + k] = acc;
      }
  if (args_.use_bias) {
    float* db = w[1]->grad.data();
    std::fill(db, db + F, 0.0f);
    for (std::size_t i = 0; i < dz.size(); ++i) db[i % F] += dz[i];
  }
  if (!dx) return;
  // dX_c[k] = sum_f G_f[k] conj(W_cf[k]); dx_c = c2r(dX_c / w_k) (the adjoint of the rfft).
#pragma omp parallel num_threads(int(p.buffers.size())) if (N * C > 1)
  {
    Plan::Buffers& b = p.buffers[std::size_t(omp_get_thread_num())];
#pragma omp for schedule(static) collapse(2)
    for (std::size_t n = 0; n < N; ++n)
      for (std::size_t c = 0; c < C; ++c) {
        std::fill(b.spec.begin(), b.spec.end(), Complex(0, 0));
        for (std::size_t k = 0; k < M; ++k) {
          Complex acc(0, 0);
          for (std::size_t f = 0; f < F; ++f) acc += g_[(n * F + f) * M + k] * std::conj(W[(c * F + f) * M + k]);
          b.spec[k] = acc / p.weight[k];
        }
        p.fft->inverse_unscaled(b.spec.data(), b.line.data());
        for (std::size_t t = 0; t < L; ++t) (*dx)[(n * L + t) * C + c] = b.line[t];
      }
  }
}

std::vector<std::string> SpectralConv1D::detail() const {
  std::ostringstream os;
  os << "learned Fourier modes (trained): " << modes_ << " complex weights per (input, output) channel pair";
  std::vector<std::string> d{os.str()};
  if (plan_) {
    std::ostringstream s;
    s << "a complex weight counts as 2 parameters (as FNO counts them): " << plan_->C << " x " << plan_->F << " x "
      << plan_->M << " x 2 = " << with_thousands(2 * plan_->C * plan_->F * plan_->M)
      << (args_.use_bias ? " + " + std::to_string(plan_->F) + " bias" : std::string());
    d.push_back(s.str());
  }
  return d;
}

}  // namespace fourierconv::nn
