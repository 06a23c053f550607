#include "fourierconv/convolve.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "fourierconv/error.hpp"
#include "plane_conv.hpp"

namespace fourierconv {

using detail::Axis;
using detail::PlaneConv;
using detail::Scratch;

// Cost-model constants for one-shot convolve() (FFTW Estimate plans, both cores), fitted to
// the timings of `fourierconv bench` on the development machine (2-core Zen 3, FFTW 3.3.10);
// see BENCHMARKS.md. They need only be right within ~1.5x: away from the crossovers the
// methods differ by far more.
constexpr double kDirectNsPerMac = 0.03;
constexpr double kFftNsPerPoint = 0.35;   // per N*log2(N) of one real transform
constexpr double kProductNsPerBin = 1.0;
constexpr double kCopyNsPerFloat = 1.0;   // padding, the extended input, cropping, the output
constexpr double kFixedNs = 10e3;         // per call: checks, planning lookups, allocation

Mode parse_mode(const std::string& name) {
  if (name == "full") return Mode::Full;
  if (name == "same") return Mode::Same;
  if (name == "valid") return Mode::Valid;
  if (name == "circular") return Mode::Circular;
  throw Error("mode: expected one of full, same, valid, circular; got '" + name + "'");
}

Method parse_method(const std::string& name) {
  if (name == "auto") return Method::Auto;
  if (name == "direct") return Method::Direct;
  if (name == "fft") return Method::Fft;
  if (name == "overlap-add" || name == "oa") return Method::OverlapAdd;
  throw Error("method: expected one of auto, direct, fft, overlap-add; got '" + name + "'");
}

Output parse_output(const std::string& name) {
  if (name == "real") return Output::Real;
  if (name == "magnitude") return Output::Magnitude;
  throw Error("output: expected real or magnitude; got '" + name + "'");
}

std::string to_string(Mode m) {
  switch (m) {
    case Mode::Full: return "full";
    case Mode::Same: return "same";
    case Mode::Valid: return "valid";
    case Mode::Circular: return "circular";
  }
  return "?";
}

std::string to_string(Method m) {
  switch (m) {
    case Method::Auto: return "auto";
    case Method::Direct: return "direct";
    case Method::Fft: return "fft";
    case Method::OverlapAdd: return "overlap-add";
  }
  return "?";
}

std::string to_string(Output o) { return o == Output::Real ? "real" : "magnitude"; }

namespace {

struct Plane {
  std::size_t h, w;
};

Plane as_plane(const Shape& s, const char* what) {
  if (s.size() == 1) return {1, s[0]};
  if (s.size() == 2) return {s[0], s[1]};
  throw Error(std::string("convolve: ") + what + " must have rank 1 or 2, got rank " + std::to_string(s.size()) +
              " (shape " + shape_to_string(s) + ")");
}

void check_pair(const Shape& x, const Shape& k, const char* xname, const char* kname) {
  if (x.size() != k.size())
    throw Error(std::string("convolve: ") + xname + " and " + kname + " must have the same rank, got " +
                shape_to_string(x) + " and " + shape_to_string(k));
  if (shape_size(x) == 0) throw Error(std::string("convolve: ") + xname + " is empty " + shape_to_string(x));
  if (shape_size(k) == 0) throw Error(std::string("convolve: ") + kname + " is empty " + shape_to_string(k));
}

// scipy's rule: in valid mode one array must contain the other on every axis; the larger
// one plays the input. Returns true when x and k must swap.
bool valid_swap_needed(const Plane& x, const Plane& k) {
  bool x_big = x.h >= k.h && x.w >= k.w, k_big = k.h >= x.h && k.w >= x.w;
  if (!x_big && !k_big)
    throw Error("convolve: for mode 'valid' one array must be at least as large as the other on every axis, got " +
                std::to_string(x.h) + "x" + std::to_string(x.w) + " and " + std::to_string(k.h) + "x" +
                std::to_string(k.w));
  return !x_big;
}

double fft_ns(std::size_t P, std::size_t Q) {
  double n = static_cast<double>(P * Q);
  return kFftNsPerPoint * n * std::log2(std::max(n, 2.0));
}

struct Costs {
  double direct, fft, oa;
};

// Costs of `planes` planes with one kernel each (kernel transforms counted once per plane,
// as convolve() does them; Convolver amortizes them away).
Costs plane_costs(const Plane& x, const Plane& k, Mode mode, std::size_t planes) {
  Axis r = detail::make_axis(x.h, k.h, mode), c = detail::make_axis(x.w, k.w, mode);
  double out = static_cast<double>(r.out * c.out);
  double ext = static_cast<double>((r.out + r.k - 1) * (c.out + c.k - 1));
  double direct = out * static_cast<double>(k.h * k.w) * kDirectNsPerMac + (ext + out) * kCopyNsPerFloat + kFixedNs;
  std::size_t P = detail::fft_grid(r), Q = detail::fft_grid(c);
  double bins = static_cast<double>(P * (Q / 2 + 1));
  double fft = 3 * fft_ns(P, Q) + bins * kProductNsPerBin + 2.0 * P * Q * kCopyNsPerFloat + kFixedNs;
  detail::Blocking b = detail::choose_blocking(r, c);
  double tbins = static_cast<double>(b.Lh * (b.Lw / 2 + 1));
  double oa = fft_ns(b.Lh, b.Lw) +
              b.tiles * (2 * fft_ns(b.Lh, b.Lw) + tbins * kProductNsPerBin + 2.0 * b.Lh * b.Lw * kCopyNsPerFloat) +
              ext * kCopyNsPerFloat + kFixedNs;
  double p = static_cast<double>(planes);
  return {direct * p * 1e-3, fft * p * 1e-3, oa * p * 1e-3};
}

std::string dims(const Plane& p) { return std::to_string(p.h) + "x" + std::to_string(p.w); }

MethodChoice pick(const Costs& c, const std::string& problem) {
  MethodChoice m;
  m.direct_us = c.direct;
  m.fft_us = c.fft;
  m.overlap_add_us = c.oa;
  if (c.direct <= c.fft && c.direct <= c.oa) m.method = Method::Direct;
  else if (c.fft <= c.oa) m.method = Method::Fft;
  else m.method = Method::OverlapAdd;
  std::ostringstream os;
  os.precision(3);
  os << to_string(m.method) << " for " << problem << ": estimated direct " << c.direct << " us, fft " << c.fft
     << " us, overlap-add " << c.oa << " us";
  m.reason = os.str();
  return m;
}

Method resolve(Method requested, const MethodChoice& auto_choice) {
  return requested == Method::Auto ? auto_choice.method : requested;
}

void apply_output(Tensor& y, Output output) {
  if (output == Output::Magnitude)
    for (float& v : y) v = std::fabs(v);
}

// Per-thread scratch for an OpenMP team.
std::vector<Scratch> make_scratch() { return std::vector<Scratch>(static_cast<std::size_t>(omp_get_max_threads())); }

// (H, W, C) channels-last -> C contiguous planes of H*W.
void to_planes(const float* x, std::size_t hw, std::size_t C, float* planes) {
  for (std::size_t i = 0; i < hw; ++i)
    for (std::size_t c = 0; c < C; ++c) planes[c * hw + i] = x[i * C + c];
}

void from_planes(const float* planes, std::size_t hw, std::size_t C, float* y) {
  for (std::size_t i = 0; i < hw; ++i)
    for (std::size_t c = 0; c < C; ++c) y[i * C + c] = planes[c * hw + i];
}

}  // namespace

MethodChoice choose_method(const Shape& xs, const Shape& ks, Mode mode, std::size_t planes) {
  check_pair(xs, ks, "x", "kernel");
  Plane x = as_plane(xs, "x"), k = as_plane(ks, "kernel");
  if (mode == Mode::Valid && valid_swap_needed(x, k)) std::swap(x, k);
  std::string problem = dims(k) + " kernel on " + dims(x) + " (" + to_string(mode) + ")";
  return pick(plane_costs(x, k, mode, planes), problem);
}

Shape convolve_output_shape(const Shape& xs, const Shape& ks, Mode mode) {
  check_pair(xs, ks, "x", "kernel");
  Plane x = as_plane(xs, "x"), k = as_plane(ks, "kernel");
  if (mode == Mode::Valid && valid_swap_needed(x, k)) std::swap(x, k);
  Axis r = detail::make_axis(x.h, k.h, mode), c = detail::make_axis(x.w, k.w, mode);
  if (xs.size() == 1) return {c.out};
  return {r.out, c.out};
}

Tensor convolve(const Tensor& x_in, const Tensor& k_in, Mode mode, Method method, Output output,
                MethodChoice* chosen) {
  check_pair(x_in.shape(), k_in.shape(), "x", "kernel");
  Plane xp = as_plane(x_in.shape(), "x"), kp = as_plane(k_in.shape(), "kernel");
  check_finite(x_in, "convolve: x");
  check_finite(k_in, "convolve: kernel");
  const Tensor* x = &x_in;
  const Tensor* k = &k_in;
  if (mode == Mode::Valid && valid_swap_needed(xp, kp)) {
    std::swap(x, k);
    std::swap(xp, kp);
  }
  MethodChoice choice = choose_method(x->shape(), k->shape(), mode);
  Method m = resolve(method, choice);
  if (method != Method::Auto) choice.reason = to_string(m) + " (requested)";
  choice.method = m;
  if (chosen) *chosen = choice;
  PlaneConv pc(xp.h, xp.w, k->data(), kp.h, kp.w, mode, m, FftRigor::Estimate);
  Shape out_shape = x_in.rank() == 1 ? Shape{pc.cols().out} : Shape{pc.rows().out, pc.cols().out};
  Tensor y(out_shape);
  Scratch s;
  pc.run(x->data(), y.data(), s);
  apply_output(y, output);
  return y;
}

Tensor fourier_convolution(const Tensor& image, const Tensor& filter, Output output) {
  return convolve(image, filter, Mode::Circular, Method::Fft, output);
}

Tensor convolve_channels(const Tensor& x, const Tensor& bank, Mode mode, Method method) {
  if (x.rank() != 3)
    throw Error("convolve_channels: x must be (H, W, C), got shape " + x.shape_string());
  if (bank.rank() != 4)
    throw Error("convolve_channels: bank must be (kh, kw, C, F), got shape " + bank.shape_string());
  const std::size_t H = x.dim(0), W = x.dim(1), C = x.dim(2);
  const std::size_t kh = bank.dim(0), kw = bank.dim(1), F = bank.dim(3);
  if (bank.dim(2) != C)
    throw Error("convolve_channels: bank expects " + std::to_string(bank.dim(2)) + " input channels, x has " +
                std::to_string(C));
  if (x.empty() || bank.empty()) throw Error("convolve_channels: empty input " + x.shape_string() + " or bank " + bank.shape_string());
  check_finite(x, "convolve_channels: x");
  check_finite(bank, "convolve_channels: bank");
  if (mode == Mode::Valid && (kh > H || kw > W))
    throw Error("convolve_channels: for mode 'valid' the kernel " + std::to_string(kh) + "x" + std::to_string(kw) +
                " must fit in the input " + std::to_string(H) + "x" + std::to_string(W));
  Axis r = detail::make_axis(H, kh, mode), c = detail::make_axis(W, kw, mode);
  const std::size_t oh = r.out, ow = c.out, hw = H * W, ohw = oh * ow, khw = kh * kw;

  // Kernel planes k[c][f] (kh*kw each) from the (kh, kw, C, F) bank.
  std::vector<float> kp(C * F * khw);
  for (std::size_t i = 0; i < khw; ++i)
    for (std::size_t ci = 0; ci < C; ++ci)
      for (std::size_t f = 0; f < F; ++f) kp[(ci * F + f) * khw + i] = bank[(i * C + ci) * F + f];
  AlignedVector<float> xp(C * hw);
  to_planes(x.data(), hw, C, xp.data());
  AlignedVector<float> yp(F * ohw, 0.0f);

  if (method == Method::Auto) {
    Costs pc = plane_costs({H, W}, {kh, kw}, mode, C * F);
    // FFT with reuse: C forward + F inverse transforms + C*F kernel transforms and products.
    std::size_t P = detail::fft_grid(r), Q = detail::fft_grid(c);
    double bins = static_cast<double>(P * (Q / 2 + 1));
    pc.fft = ((C + F + C * F) * fft_ns(P, Q) + C * F * bins * 2 * kProductNsPerBin) * 1e-3;
    method = pick(pc, "channels").method;
  }

  if (method == Method::Fft) {
    const std::size_t P = detail::fft_grid(r), Q = detail::fft_grid(c);
    auto plan = FftPlan::get({P, Q}, 1, FftRigor::Estimate);
    const std::size_t nb = plan->spectrum_size();
    AlignedVector<Complex> xs(C * nb), ks(C * F * nb);
    const float scale = plan->inverse_scale();
#pragma omp parallel
    {
      AlignedVector<float> grid(P * Q);
#pragma omp for schedule(dynamic)
      for (std::size_t ci = 0; ci < C; ++ci) {
        detail::place_input(xp.data() + ci * hw, H, W, P, Q, grid.data());
        plan->forward(grid.data(), xs.data() + ci * nb);
      }
#pragma omp for schedule(dynamic)
      for (std::size_t i = 0; i < C * F; ++i) {
        detail::place_kernel(kp.data() + i * khw, r, c, P, Q, grid.data());
        plan->forward(grid.data(), ks.data() + i * nb);
        for (std::size_t b = 0; b < nb; ++b) ks[i * nb + b] *= scale;
      }
      AlignedVector<Complex> acc(nb);
#pragma omp for schedule(dynamic)
      for (std::size_t f = 0; f < F; ++f) {
        std::fill(acc.begin(), acc.end(), Complex(0, 0));
        for (std::size_t ci = 0; ci < C; ++ci)
          detail::multiply_accumulate_spectra(acc.data(), xs.data() + ci * nb, ks.data() + (ci * F + f) * nb, nb);
        plan->inverse_unscaled(acc.data(), grid.data());
        detail::crop_output(grid.data(), Q, r, c, yp.data() + f * ohw);
      }
    }
  } else {
#pragma omp parallel
    {
      Scratch s;
      std::vector<float> tmp(ohw);
#pragma omp for schedule(dynamic)
      for (std::size_t f = 0; f < F; ++f) {
        for (std::size_t ci = 0; ci < C; ++ci) {
          PlaneConv pc(H, W, kp.data() + (ci * F + f) * khw, kh, kw, mode, method, FftRigor::Estimate);
          pc.run(xp.data() + ci * hw, tmp.data(), s);
          float* y = yp.data() + f * ohw;
          for (std::size_t i = 0; i < ohw; ++i) y[i] += tmp[i];
        }
      }
    }
  }
  Tensor y({oh, ow, F});
  from_planes(yp.data(), ohw, F, y.data());
  return y;
}

Tensor convolve_depthwise(const Tensor& x, const Tensor& k, Mode mode, Method method) {
  if (x.rank() != 3) throw Error("convolve_depthwise: x must be (H, W, C), got shape " + x.shape_string());
  if (k.rank() != 3) throw Error("convolve_depthwise: kernel must be (kh, kw, C), got shape " + k.shape_string());
  const std::size_t H = x.dim(0), W = x.dim(1), C = x.dim(2), kh = k.dim(0), kw = k.dim(1);
  if (k.dim(2) != C)
    throw Error("convolve_depthwise: kernel has " + std::to_string(k.dim(2)) + " channels, x has " + std::to_string(C));
  if (x.empty() || k.empty()) throw Error("convolve_depthwise: empty input " + x.shape_string() + " or kernel " + k.shape_string());
  check_finite(x, "convolve_depthwise: x");
  check_finite(k, "convolve_depthwise: kernel");
  if (mode == Mode::Valid && (kh > H || kw > W))
    throw Error("convolve_depthwise: for mode 'valid' the kernel " + std::to_string(kh) + "x" + std::to_string(kw) +
                " must fit in the input " + std::to_string(H) + "x" + std::to_string(W));
  if (method == Method::Auto) method = choose_method({H, W}, {kh, kw}, mode, C).method;
  Axis r = detail::make_axis(H, kh, mode), c = detail::make_axis(W, kw, mode);
  const std::size_t hw = H * W, ohw = r.out * c.out, khw = kh * kw;
  AlignedVector<float> xp(C * hw), kp(C * khw), yp(C * ohw);
  to_planes(x.data(), hw, C, xp.data());
  to_planes(k.data(), khw, C, kp.data());
#pragma omp parallel
  {
    Scratch s;
#pragma omp for schedule(dynamic)
    for (std::size_t ci = 0; ci < C; ++ci) {
      PlaneConv pc(H, W, kp.data() + ci * khw, kh, kw, mode, method, FftRigor::Estimate);
      pc.run(xp.data() + ci * hw, yp.data() + ci * ohw, s);
    }
  }
  Tensor y({r.out, c.out, C});
  from_planes(yp.data(), ohw, C, y.data());
  return y;
}

// ---------------------------------------------------------------------------------------
// Convolver

struct Convolver::Impl {
  Shape plane, out_plane;
  Output output;
  std::unique_ptr<PlaneConv> conv;
  mutable std::vector<Scratch> scratch = make_scratch();
};

Convolver::Convolver(const Shape& plane_shape, const Tensor& kernel, Mode mode, Output output)
    : impl_(std::make_unique<Impl>()) {
  check_pair(plane_shape, kernel.shape(), "plane_shape", "kernel");
  Plane xp = as_plane(plane_shape, "plane_shape"), kp = as_plane(kernel.shape(), "kernel");
  check_finite(kernel, "Convolver: kernel");
  if (mode == Mode::Valid && (kp.h > xp.h || kp.w > xp.w))
    throw Error("Convolver: for mode 'valid' the kernel " + dims(kp) + " must fit in the plane " + dims(xp));
  impl_->plane = plane_shape;
  impl_->output = output;
  impl_->conv = std::make_unique<PlaneConv>(xp.h, xp.w, kernel.data(), kp.h, kp.w, mode, Method::Fft, fft_rigor());
  impl_->out_plane = plane_shape.size() == 1 ? Shape{impl_->conv->cols().out}
                                             : Shape{impl_->conv->rows().out, impl_->conv->cols().out};
}

Convolver::~Convolver() = default;
Convolver::Convolver(Convolver&&) noexcept = default;
Convolver& Convolver::operator=(Convolver&&) noexcept = default;

const Shape& Convolver::plane_shape() const { return impl_->plane; }
const Shape& Convolver::output_plane_shape() const { return impl_->out_plane; }
Shape Convolver::grid_shape() const {
  if (impl_->plane.size() == 1) return {impl_->conv->grid_w()};
  return {impl_->conv->grid_h(), impl_->conv->grid_w()};
}

void Convolver::execute(const float* src, float* dst, std::size_t planes) const {
  const std::size_t in = shape_size(impl_->plane), out = shape_size(impl_->out_plane);
  const PlaneConv& pc = *impl_->conv;
  auto run = [&](std::size_t p, Scratch& s) {
    pc.run(src + p * in, dst + p * out, s);
    if (impl_->output == Output::Magnitude)
      for (std::size_t i = 0; i < out; ++i) dst[p * out + i] = std::fabs(dst[p * out + i]);
  };
  if (planes == 1) {
    run(0, impl_->scratch[0]);
    return;
  }
#pragma omp parallel for schedule(static)
  for (std::size_t p = 0; p < planes; ++p) run(p, impl_->scratch[static_cast<std::size_t>(omp_get_thread_num())]);
}

Tensor Convolver::operator()(const Tensor& x) const {
  const Shape& plane = impl_->plane;
  const std::size_t r = plane.size();
  bool ok = x.rank() >= r && std::equal(plane.begin(), plane.end(), x.shape().end() - static_cast<std::ptrdiff_t>(r));
  if (!ok)
    throw Error("Convolver: expected input whose last axes are " + shape_to_string(plane) + ", got shape " +
                x.shape_string());
  check_finite(x, "Convolver: x");
  Shape out(x.shape().begin(), x.shape().end() - static_cast<std::ptrdiff_t>(r));
  const std::size_t planes = shape_size(out);
  out.insert(out.end(), impl_->out_plane.begin(), impl_->out_plane.end());
  Tensor y(out);
  execute(x.data(), y.data(), planes);
  return y;
}

}  // namespace fourierconv
