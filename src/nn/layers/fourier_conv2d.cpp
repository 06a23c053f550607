#include "fourierconv/nn/layers/fourier_conv2d.hpp"

#include <omp.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <sstream>

#include "fourierconv/error.hpp"
#include "fourierconv/fft.hpp"
#include "fourierconv/nn/layers/pooling.hpp"
#include "fourierconv/nn/summary.hpp"
#include "filter_bank_fft.hpp"
#include "flush_denormals.hpp"
#include "real_pairs.hpp"

namespace fourierconv::nn {

struct FourierConv2D::Plan {
  // Per-thread buffers, made once in build(): grid's padding (rows >= H, columns >= W) is
  // zeroed there and never written, so calls only fill the image part.
  struct Buffers {
    AlignedVector<float> grid, out, out2;  // out, out2: F planes of P x Q
    AlignedVector<Complex> x, t, acc;      // t: F spectra
    AlignedVector<Complex> full, z;        // a full P x Q spectrum and its complex inverse
  };
  std::vector<Buffers> buffers;
  std::size_t H = 0, W = 0, C = 0, F = 0, P = 0, Q = 0, nb = 0;
  std::shared_ptr<const FftPlan> fft;
  std::shared_ptr<const ComplexFftPlan> cfft;  // c2c: the outputs of two filters at once
  std::vector<float> even, odd;  // F x nb each, 1/(P*Q) folded in; odd empty when all responses are even
  // The real-output path on small grids: FFTs vectorized across filters (filter_bank_fft.hpp).
  std::unique_ptr<detail::FilterBankFft> bank;

  // The F half spectra in b.t -> F real planes of P x Q (only their top-left H x W, which is
  // all that is read), two filters per complex transform; an odd last filter through c2r.
  // Destroys b.t.
  void inverse_pairs(Buffers& b, float* out) const {
    const std::size_t PQ = P * Q;
    for (std::size_t f = 0; f < F; f += 2) {
      if (f + 1 == F) {
        float* dst = out + f * PQ;
        if (reinterpret_cast<std::uintptr_t>(dst) % 16 != 0) {
          // FFTW executes a plan only on arrays aligned as the planned ones: P*Q odd puts this
          // plane off alignment, so it goes through the (aligned, >= P*Q floats) c2c buffer.
          float* tmp = reinterpret_cast<float*>(b.z.data());
          fft->inverse_unscaled(b.t.data() + f * nb, tmp);
          std::memcpy(dst, tmp, PQ * sizeof(float));
        } else {
          fft->inverse_unscaled(b.t.data() + f * nb, dst);
        }
        break;
      }
      detail::combine_pair(b.t.data() + f * nb, b.t.data() + (f + 1) * nb, P, Q, b.full.data());
      cfft->backward_unscaled(b.full.data(), b.z.data());
      float* re = out + f * PQ;
      float* im = out + (f + 1) * PQ;
      for (std::size_t i = 0; i < H; ++i)
        for (std::size_t j = 0; j < W; ++j) {
          re[i * Q + j] = b.z[i * Q + j].real();
          im[i * Q + j] = b.z[i * Q + j].imag();
        }
    }
  }
};

FourierConv2D::FourierConv2D(std::vector<Filter> bank, FourierConv2DArgs args)
    : FourierConv2D(std::move(bank), std::move(args), "fourier_conv2d", "FourierConv2D") {}

FourierConv2D::FourierConv2D(std::vector<Filter> bank, FourierConv2DArgs args, const char* name_prefix, const char* cls_)
    : Layer(args.name.empty() ? unique_name(name_prefix) : args.name), bank_(std::move(bank)), args_(std::move(args)) {
  const std::string cls = cls_;
  if (bank_.empty()) throw Error(cls + ": the filter bank is empty (expected at least one response)");
  for (std::size_t i = 0; i < bank_.size(); ++i)
    if (!bank_[i].response) throw Error(cls + ": filter " + std::to_string(i) + " has no response");
  if (args_.padding != "circular" && args_.padding != "same")
    throw Error(cls + ": padding must be circular or same, got '" + args_.padding + "'");
  if (args_.output != "real" && args_.output != "magnitude")
    throw Error(cls + ": output must be real or magnitude, got '" + args_.output + "'");
  same_ = args_.padding == "same";
  magnitude_ = args_.output == "magnitude";
  activation_ = parse_activation(args_.activation);
  declare_input_shape(args_.input_shape);
}

FourierConv2D::FourierConv2D(FrequencyResponse response, FourierConv2DArgs args)
    : FourierConv2D(std::vector<Filter>{filter_custom(std::move(response))}, std::move(args)) {}

std::pair<std::size_t, std::size_t> FourierConv2D::grid() const {
  return plan_ ? std::pair{plan_->P, plan_->Q} : std::pair<std::size_t, std::size_t>{0, 0};
}

std::size_t FourierConv2D::fixed_constants() const { return plan_ ? plan_->even.size() + plan_->odd.size() : 0; }

Shape FourierConv2D::build_impl(const Shape& in) {
  if (in.size() != 3) throw Error(name() + " (FourierConv2D): expected input shape (H, W, C), got " + shape_to_string(in));
  auto p = std::make_shared<Plan>();
  p->H = in[0], p->W = in[1], p->C = in[2], p->F = bank_.size();
  p->P = same_ ? next_fast_size(2 * p->H - 1) : p->H;
  p->Q = same_ ? next_fast_size(2 * p->W - 1) : p->W;
  p->fft = FftPlan::get({p->P, p->Q}, 1);
  p->cfft = ComplexFftPlan::get(p->P, p->Q);
  p->nb = p->fft->spectrum_size();
  p->even.resize(p->F * p->nb);
  std::vector<float> odd(p->F * p->nb);
  bool any_odd = false;
  for (std::size_t f = 0; f < p->F; ++f) {
    try {
      any_odd |= sample_response(bank_[f].response, p->P, p->Q, p->even.data() + f * p->nb, odd.data() + f * p->nb);
    } catch (const Error& e) {
      throw Error(name() + " (" + class_name() + "): filter " + std::to_string(f) + " (" + bank_[f].to_string() + "): " + e.what());
    }
  }
  const float s = p->fft->inverse_scale();
  for (auto& v : p->even) v *= s;
  // The odd part only reaches the output through the imaginary part, i.e. the magnitude.
  if (any_odd && magnitude_) {
    for (auto& v : odd) v *= s;
    p->odd = std::move(odd);
  }
  if (!magnitude_ && detail::FilterBankFft::suits(p->P, p->Q))
    p->bank = std::make_unique<detail::FilterBankFft>(p->H, p->W, p->P, p->Q, p->F, p->even);
  p->buffers.resize(std::size_t(omp_get_max_threads()));
  for (auto& b : p->buffers) {
    b.grid.assign(p->P * p->Q, 0.0f);
    b.out.resize(p->F * p->P * p->Q);
    b.out2.resize(p->odd.empty() ? 0 : p->F * p->P * p->Q);
    b.x.resize(p->nb);
    b.t.resize(p->F * p->nb);
    b.acc.resize(p->nb);
    b.full.resize(p->P * p->Q);
    b.z.resize(p->P * p->Q);
  }
  plan_ = p;
  return {p->H, p->W, p->C * p->F};
}


void FourierConv2D::call_impl(const Tensor& x, Tensor& y, bool) {
  // Per input plane: one rfft2, F products, the inverses two filters at a time (one c2c of
  // the combined spectrum gives filter f as its real part and f+1 as its imaginary part; an
  // odd last filter through c2r) into planes (F, P, Q), then a small transpose into the
  // channels-last output, where the F values of a pixel are contiguous.
  Plan& p = *plan_;
  if (p.bank) {
    const bool relu = activation_ == Activation::Relu;
    p.bank->forward(x.data(), x.dim(0), p.C, y.data(), relu);
    if (!relu) apply_activation(y, p.C * p.F);
    return;
  }
  const std::size_t N = x.dim(0), H = p.H, W = p.W, C = p.C, F = p.F, Q = p.Q, nb = p.nb, CF = C * F, PQ = p.P * Q;
  const bool odd = !p.odd.empty();
  if (magnitude_) {
    re_.resize(y.shape());
    im_.resize(odd ? y.shape() : Shape{0});
  }
  const float* xd = x.data();
  float* yd = y.data();
#pragma omp parallel if (N * C > 1) num_threads(int(p.buffers.size()))
  {
    const detail::ScopedFlushDenormals flush_denormals;  // subnormal response tails: flush_denormals.hpp
    Plan::Buffers& bf = p.buffers[std::size_t(omp_get_thread_num())];
    AlignedVector<float>& grid = bf.grid;
    AlignedVector<float>& out = bf.out;
    AlignedVector<float>& out2 = bf.out2;
    AlignedVector<Complex>& xs = bf.x;
    AlignedVector<Complex>& ts = bf.t;
#pragma omp for schedule(static)
    for (std::size_t plane = 0; plane < N * C; ++plane) {
      const std::size_t n = plane / C, c = plane % C;
      for (std::size_t i = 0; i < H; ++i)  // rows beyond H and columns beyond W stay zero
        for (std::size_t j = 0; j < W; ++j) grid[i * Q + j] = xd[((n * H + i) * W + j) * C + c];
      p.fft->forward(grid.data(), xs.data());
      for (std::size_t f = 0; f < F; ++f) {
        const float* he = p.even.data() + f * nb;
        Complex* t = ts.data() + f * nb;
        for (std::size_t k = 0; k < nb; ++k) t[k] = xs[k] * he[k];
      }
      p.inverse_pairs(bf, out.data());
      if (odd) {
        for (std::size_t f = 0; f < F; ++f) {
          const float* ho = p.odd.data() + f * nb;
          Complex* t = ts.data() + f * nb;
          for (std::size_t k = 0; k < nb; ++k) t[k] = Complex(xs[k].imag(), -xs[k].real()) * ho[k];  // -i X Ho
        }
        p.inverse_pairs(bf, out2.data());
      }
      for (std::size_t i = 0; i < H; ++i)
        for (std::size_t j = 0; j < W; ++j) {
          const std::size_t o = ((n * H + i) * W + j) * CF + c * F, g = i * Q + j;
          if (!magnitude_) {
            for (std::size_t f = 0; f < F; ++f) yd[o + f] = out[f * PQ + g];
            continue;
          }
          for (std::size_t f = 0; f < F; ++f) {
            const float a = out[f * PQ + g];
            re_[o + f] = a;
            if (odd) {
              im_[o + f] = out2[f * PQ + g];
              yd[o + f] = std::hypot(a, im_[o + f]);
            } else {
              yd[o + f] = std::fabs(a);
            }
          }
        }
    }
  }
  apply_activation(y, CF);
}

const Tensor* FourierConv2D::call_max_pooled(const Tensor& x, const MaxPooling2D& pool) {
  if (!pool.fusable_after(*this) || !plan_->bank) return nullptr;
  check_input(x);
  pooled_.resize(pool.batch_output_shape(x.dim(0)));
  plan_->bank->forward(x.data(), x.dim(0), plan_->C, pooled_.data(), activation_ == Activation::Relu,
                       pool.pool_size().first, pool.pool_size().second);
  return &pooled_;
}

void FourierConv2D::backward_impl(const Tensor& dy, Tensor* dx) {
  if (!dx) return;
  const Tensor& dz = activation_gradient(dy);
  Plan& p = *plan_;
  if (p.bank) {
    p.bank->adjoint(dz.data(), dz.dim(0), p.C, dx->data());
    return;
  }
  const std::size_t N = dz.dim(0), H = p.H, W = p.W, C = p.C, F = p.F, Q = p.Q, nb = p.nb, CF = C * F;
  const bool odd = !p.odd.empty();
  const float* g = dz.data();
  float* dxd = dx->data();
  // d|z|/da = a/|z|, d|z|/db = b/|z| (0 where |z| = 0). |z| is recomputed: the layer's
  // stored output has the activation applied.
  auto mag = [&](std::size_t o) { return odd ? std::hypot(re_[o], im_[o]) : std::fabs(re_[o]); };
  auto grad_re = [&](std::size_t o) {
    if (!magnitude_) return g[o];
    const float m = mag(o);
    return m > 0 ? g[o] * re_[o] / m : 0.0f;
  };
#pragma omp parallel num_threads(int(p.buffers.size()))
  {
    const detail::ScopedFlushDenormals flush_denormals;  // subnormal response tails: flush_denormals.hpp
    Plan::Buffers& b = p.buffers[std::size_t(omp_get_thread_num())];
#pragma omp for schedule(static)
    for (std::size_t plane = 0; plane < N * C; ++plane) {
      const std::size_t n = plane / C, c = plane % C;
      std::fill(b.acc.begin(), b.acc.end(), Complex(0, 0));
      for (std::size_t f = 0; f < F; ++f) {
        for (int part = 0; part < (odd ? 2 : 1); ++part) {
          for (std::size_t i = 0; i < H; ++i)
            for (std::size_t j = 0; j < W; ++j) {
              const std::size_t o = ((n * H + i) * W + j) * CF + c * F + f;
              const float m = part == 0 ? 0.0f : mag(o);
              b.grid[i * Q + j] = part == 0 ? grad_re(o) : (m > 0 ? g[o] * im_[o] / m : 0.0f);
            }
          p.fft->forward(b.grid.data(), b.x.data());
          if (part == 0) {
            const float* he = p.even.data() + f * nb;
            for (std::size_t k = 0; k < nb; ++k) b.acc[k] += b.x[k] * he[k];
          } else {  // adjoint of -i Ho is +i Ho
            const float* ho = p.odd.data() + f * nb;
            for (std::size_t k = 0; k < nb; ++k) b.acc[k] += Complex(-b.x[k].imag(), b.x[k].real()) * ho[k];
          }
        }
      }
      p.fft->inverse_unscaled(b.acc.data(), b.out.data());
      for (std::size_t i = 0; i < H; ++i)
        for (std::size_t j = 0; j < W; ++j) dxd[((n * H + i) * W + j) * C + c] = b.out[i * Q + j];
    }
  }
}

std::vector<std::string> FourierConv2D::detail() const {
  std::ostringstream os;
  os << "fixed filter bank (not trained): " << bank_.size() << " response(s)";
  if (!bank_.empty()) os << ", e.g. " << bank_[0].to_string();
  std::vector<std::string> d{os.str()};
  if (plan_) {
    std::ostringstream g;
    g << "spectrum " << plan_->P << "x" << plan_->Q / 2 + 1 << " per filter (" << args_.padding << " padding, grid "
      << plan_->P << "x" << plan_->Q << "): " << with_thousands(fixed_constants())
      << " fixed constants, 0 weights; output " << args_.output;
    d.push_back(g.str());
  }
  return d;
}

FourierConv1D::FourierConv1D(std::vector<Filter> bank, FourierConv2DArgs args)
    : FourierConv2D(std::move(bank), std::move(args), "fourier_conv1d", "FourierConv1D") {}

Shape FourierConv1D::build_impl(const Shape& in) {
  if (in.size() != 2) throw Error(name() + " (FourierConv1D): expected input shape (L, C), got " + shape_to_string(in));
  Shape out = FourierConv2D::build_impl({1, in[0], in[1]});
  return {out[1], out[2]};
}

std::vector<std::string> FourierConv1D::detail() const {
  std::ostringstream os;
  os << "fixed filter bank (not trained): " << bank().size() << " response(s) H(0, f)";
  if (!bank().empty()) os << ", e.g. " << bank()[0].to_string();
  std::vector<std::string> d{os.str()};
  if (built()) {
    const std::size_t Q = grid().second;
    std::ostringstream g;
    g << "spectrum " << Q / 2 + 1 << " bins per filter (" << args().padding << " padding, length " << Q
      << "): " << with_thousands(fixed_constants()) << " fixed constants, 0 weights; output " << args().output;
    d.push_back(g.str());
  }
  return d;
}

}  // namespace fourierconv::nn
