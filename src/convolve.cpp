#include "fourierconv/convolve.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "fourierconv/error.hpp"
#include "fourierconv/signal.hpp"
#include "signal/choose.hpp"
#include "signal/convolve_to.hpp"
#include "signal/geometry.hpp"

namespace fourierconv {


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

ArrayView view_of(const Tensor& t) { return ArrayView::contiguous(DType::Float32, t.shape(), t.data()); }

void check_pair(const Shape& x, const Shape& k, const char* xname, const char* kname) {
  if (x.size() != k.size())
    throw Error(std::string("convolve: ") + xname + " and " + kname + " must have the same rank, got " +
                shape_to_string(x) + " and " + shape_to_string(k));
  if (x.empty()) throw Error(std::string("convolve: ") + xname + " must have rank >= 1, got a scalar");
  if (shape_size(x) == 0) throw Error(std::string("convolve: ") + xname + " is empty " + shape_to_string(x));
  if (shape_size(k) == 0) throw Error(std::string("convolve: ") + kname + " is empty " + shape_to_string(k));
}

void apply_output(Tensor& y, Output output) {
  if (output == Output::Magnitude)
    for (float& v : y) v = std::fabs(v);
}

// Geometry of `planes` planes of shape x sharing one kernel k (a leading batch axis).
signal::detail::Geometry planes_geometry(const Shape& x, const Shape& k, Mode mode, std::size_t planes) {
  Shape xs = x, ks = k;
  std::vector<long> axes;
  for (std::size_t i = 0; i < x.size(); ++i) axes.push_back(long(i) + (planes > 1 ? 1 : 0));
  if (planes > 1) xs.insert(xs.begin(), planes), ks.insert(ks.begin(), 1);
  return signal::detail::make_geometry(xs, ks, mode, axes, true, signal::detail::Rules::Convolve);
}

}  // namespace

MethodChoice choose_method(const Shape& xs, const Shape& ks, Mode mode, std::size_t planes) {
  check_pair(xs, ks, "x", "kernel");
  const auto g = planes_geometry(xs, ks, mode, planes);
  return signal::detail::choose_by_model(g, DType::Float32, DType::Float32, true, mode);
}

Shape convolve_output_shape(const Shape& xs, const Shape& ks, Mode mode) {
  check_pair(xs, ks, "x", "kernel");
  return planes_geometry(xs, ks, mode, 1).out_shape;
}

Tensor convolve(const Tensor& x, const Tensor& k, Mode mode, Method method, Output output, MethodChoice* chosen) {
  check_pair(x.shape(), k.shape(), "x", "kernel");
  Tensor y(convolve_output_shape(x.shape(), k.shape(), mode));
  signal::detail::convolve_to(view_of(x), view_of(k), mode, method, chosen, y.data());
  apply_output(y, output);
  return y;
}

Tensor fourier_convolution(const Tensor& image, const Tensor& filter, Output output) {
  return convolve(image, filter, Mode::Circular, Method::Fft, output);
}

Tensor convolve_channels(const Tensor& x, const Tensor& bank, Mode mode, Method method) {
  if (x.rank() != 3) throw Error("convolve_channels: x must be (H, W, C), got shape " + x.shape_string());
  if (bank.rank() != 4) throw Error("convolve_channels: bank must be (kh, kw, C, F), got shape " + bank.shape_string());
  const std::size_t C = x.dim(2), F = bank.dim(3);
  if (bank.dim(2) != C)
    throw Error("convolve_channels: bank expects " + std::to_string(bank.dim(2)) + " input channels, x has " + std::to_string(C));
  if (x.empty() || bank.empty()) throw Error("convolve_channels: empty input " + x.shape_string() + " or bank " + bank.shape_string());
  if (mode == Mode::Valid && (bank.dim(0) > x.dim(0) || bank.dim(1) > x.dim(1)))
    throw Error("convolve_channels: for mode 'valid' the kernel " + std::to_string(bank.dim(0)) + "x" +
                std::to_string(bank.dim(1)) + " must fit in the input " + std::to_string(x.dim(0)) + "x" + std::to_string(x.dim(1)));
  // (H, W, C, 1) with (kh, kw, C, F) along axes 0 and 1: every (c, f) pair, then the sum over c.
  ArrayView xv = ArrayView::contiguous(DType::Float32, {x.dim(0), x.dim(1), C, 1}, x.data());
  signal::ConvolveOptions o;
  o.axes = std::vector<long>{0, 1};
  const Array pairs = signal::convolve(xv, view_of(bank), mode, method, o);
  const std::size_t oh = pairs.shape()[0], ow = pairs.shape()[1];
  Tensor y({oh, ow, F});
  const float* p = pairs.data_as<float>();
  for (std::size_t i = 0; i < oh * ow; ++i)
    for (std::size_t c = 0; c < C; ++c)
      for (std::size_t f = 0; f < F; ++f) y[i * F + f] += p[(i * C + c) * F + f];
  return y;
}

Tensor convolve_depthwise(const Tensor& x, const Tensor& k, Mode mode, Method method) {
  if (x.rank() != 3) throw Error("convolve_depthwise: x must be (H, W, C), got shape " + x.shape_string());
  if (k.rank() != 3) throw Error("convolve_depthwise: kernel must be (kh, kw, C), got shape " + k.shape_string());
  if (k.dim(2) != x.dim(2))
    throw Error("convolve_depthwise: kernel has " + std::to_string(k.dim(2)) + " channels, x has " + std::to_string(x.dim(2)));
  if (x.empty() || k.empty()) throw Error("convolve_depthwise: empty input " + x.shape_string() + " or kernel " + k.shape_string());
  if (mode == Mode::Valid && (k.dim(0) > x.dim(0) || k.dim(1) > x.dim(1)))
    throw Error("convolve_depthwise: for mode 'valid' the kernel " + std::to_string(k.dim(0)) + "x" + std::to_string(k.dim(1)) +
                " must fit in the input " + std::to_string(x.dim(0)) + "x" + std::to_string(x.dim(1)));
  signal::ConvolveOptions o;
  o.axes = std::vector<long>{0, 1};
  return signal::convolve(view_of(x), view_of(k), mode, method, o).to_tensor();
}

// ---------------------------------------------------------------------------------------
// Convolver: a signal::Convolver planned for one plane, run on each plane of a batch.

struct Convolver::Impl {
  Shape plane, out_plane;
  Output output;
  std::unique_ptr<signal::Convolver> conv;
};

Convolver::Convolver(const Shape& plane_shape, const Tensor& kernel, Mode mode, Output output)
    : impl_(std::make_unique<Impl>()) {
  check_pair(plane_shape, kernel.shape(), "plane_shape", "kernel");
  if (mode == Mode::Valid)
    for (std::size_t i = 0; i < plane_shape.size(); ++i)
      if (kernel.dim(i) > plane_shape[i])
        throw Error("Convolver: for mode 'valid' the kernel " + kernel.shape_string() + " must fit in the plane " +
                    shape_to_string(plane_shape));
  impl_->plane = plane_shape;
  impl_->output = output;
  impl_->conv = std::make_unique<signal::Convolver>(plane_shape, DType::Float32, view_of(kernel), mode, Method::Fft);
  impl_->out_plane = impl_->conv->output_shape();
}

Convolver::~Convolver() = default;
Convolver::Convolver(Convolver&&) noexcept = default;
Convolver& Convolver::operator=(Convolver&&) noexcept = default;

const Shape& Convolver::plane_shape() const { return impl_->plane; }
const Shape& Convolver::output_plane_shape() const { return impl_->out_plane; }
Shape Convolver::grid_shape() const {
  const auto g = impl_->conv->grid();
  return Shape(g.begin(), g.end());
}

void Convolver::execute(const float* src, float* dst, std::size_t planes) const {
  const std::size_t in = shape_size(impl_->plane), out = shape_size(impl_->out_plane);
  const signal::Convolver& c = *impl_->conv;
  auto run = [&](std::size_t p) {
    c.execute_contiguous(src + p * in, dst + p * out);
    if (impl_->output == Output::Magnitude)
      for (std::size_t i = 0; i < out; ++i) dst[p * out + i] = std::fabs(dst[p * out + i]);
  };
  if (planes == 1) return run(0);
#pragma omp parallel for schedule(static)
  for (std::size_t p = 0; p < planes; ++p) run(p);
}

Tensor Convolver::operator()(const Tensor& x) const {
  const Shape& plane = impl_->plane;
  const std::size_t r = plane.size();
  bool ok = x.rank() >= r && std::equal(plane.begin(), plane.end(), x.shape().end() - static_cast<std::ptrdiff_t>(r));
  if (!ok)
    throw Error("Convolver: expected input whose last axes are " + shape_to_string(plane) + ", got shape " +
                x.shape_string());
  Shape out(x.shape().begin(), x.shape().end() - static_cast<std::ptrdiff_t>(r));
  const std::size_t planes = shape_size(out);
  out.insert(out.end(), impl_->out_plane.begin(), impl_->out_plane.end());
  Tensor y(out);
  if (planes) execute(x.data(), y.data(), planes);
  return y;
}

}  // namespace fourierconv
