// fourierconv._core's convolution functions: the C++ signal API (include/fourierconv/signal.hpp)
// on numpy arrays. Argument checking that scipy does in Python (mode and method names, the
// float16 and byte-order conversions) lives in python/fourierconv/signal.py; here the arrays
// are viewed in place, the GIL is released, and the C++ call runs.
#include <cstring>

#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bindings.hpp"
#include "convert.hpp"
#include "fourierconv/error.hpp"
#include "fourierconv/signal.hpp"

namespace fourierconv::python {

namespace {

using Axes = std::optional<std::vector<long>>;

signal::ConvolveOptions options(const Axes& axes, bool check_finite) {
  signal::ConvolveOptions o;
  o.axes = axes;
  o.check_finite = check_finite;
  o.explain = false;  // the bindings return the chosen method, never its reason
  return o;
}

// Runs f() without the GIL and returns its Array as a numpy array.
template <class F>
nb::object compute(F&& f) {
  Array r;
  {
    nb::gil_scoped_release unlocked;
    r = f();
  }
  return to_numpy(std::move(r));
}

class PyConvolver {
 public:
  PyConvolver(std::vector<std::size_t> shape, const std::string& dtype, const ArrayArg& kernel, const std::string& mode,
              const std::string& method, const Axes& axes, bool check_finite)
      : kernel_(kernel), input_dtype_(parse_dtype(dtype)) {
    const ArrayView k = view_of(kernel, "kernel");
    signal::ConvolveOptions o = signal::planned_options();
    o.axes = axes;
    o.check_finite = check_finite;
    nb::gil_scoped_release unlocked;
    plan_.emplace(Shape(shape.begin(), shape.end()), parse_dtype(dtype), k, parse_mode(mode), parse_method(method), o);
  }

  // y = x (*) kernel. When x is C-contiguous and already canonical the plan runs straight
  // from x's memory into a new array (or into `out`, when given and of the output's shape
  // and type, C-contiguous).
  nb::object call(const ArrayArg& x, std::optional<nb::ndarray<nb::c_contig, nb::device::cpu>> out) const {
    const ArrayView v = view_of(x, "x");
    const signal::Convolver& p = *plan_;
    if (out) {
      const ArrayView o = view_of(nb::ndarray<nb::ro, nb::device::cpu>(*out), "out");
      if (o.dtype != p.output_dtype() || o.shape != p.output_shape())
        throw Error("Convolver: out must be a C-contiguous " + to_string(p.output_dtype()) + " array of shape " +
                    shape_to_string(p.output_shape()) + ", got " + to_string(o.dtype) + " " + shape_to_string(o.shape));
    }
    if (v.shape != p.input_shape())
      throw Error("Convolver: expected an input of shape " + shape_to_string(p.input_shape()) + ", got " +
                  shape_to_string(v.shape));
    if (v.c_contiguous() && v.dtype == input_dtype_) {
      if (out) {
        bool done;
        {
          nb::gil_scoped_release unlocked;
          done = p.execute_contiguous(v.data, out->data());
        }
        if (done) return nb::cast(*out);
      } else {
        Array y = Array::uninitialized(p.output_dtype(), p.output_shape());
        bool done;
        {
          nb::gil_scoped_release unlocked;
          done = p.execute_contiguous(v.data, y.data());
        }
        if (done) return to_numpy(std::move(y));
      }
    }
    Array y;
    {
      nb::gil_scoped_release unlocked;
      y = p(v);
    }
    if (!out) return to_numpy(std::move(y));
    if (y.nbytes()) std::memcpy(out->data(), y.data(), y.nbytes());
    return nb::cast(*out);
  }

  std::vector<std::size_t> input_shape() const { return {plan_->input_shape().begin(), plan_->input_shape().end()}; }
  std::vector<std::size_t> output_shape() const { return {plan_->output_shape().begin(), plan_->output_shape().end()}; }
  std::string output_dtype() const { return to_string(plan_->output_dtype()); }
  std::string method() const { return to_string(plan_->choice().method); }
  std::string reason() const { return plan_->choice().reason; }

 private:
  ArrayArg kernel_;  // keeps the kernel's memory alive as long as the plan may read it
  DType input_dtype_;
  std::optional<signal::Convolver> plan_;
};

}  // namespace

void bind_signal(nb::module_& m) {
  m.def(
      "convolve",
      [](const ArrayArg& a, const ArrayArg& b, const std::string& mode, const std::string& method, const Axes& axes,
         bool check_finite) {
        const ArrayView x = view_of(a, "in1"), k = view_of(b, "in2");
        const Mode md = parse_mode(mode);
        const Method me = parse_method(method);
        MethodChoice chosen;
        nb::object y = compute([&] { return signal::convolve(x, k, md, me, options(axes, check_finite), &chosen); });
        return nb::make_tuple(y, to_string(chosen.method));
      },
      nb::arg("in1"), nb::arg("in2"), nb::arg("mode"), nb::arg("method"), nb::arg("axes").none(),
      nb::arg("check_finite"));
  m.def(
      "correlate",
      [](const ArrayArg& a, const ArrayArg& b, const std::string& mode, const std::string& method, const Axes& axes,
         bool check_finite) {
        const ArrayView x = view_of(a, "in1"), k = view_of(b, "in2");
        const Mode md = parse_mode(mode);
        const Method me = parse_method(method);
        MethodChoice chosen;
        nb::object y = compute([&] { return signal::correlate(x, k, md, me, options(axes, check_finite), &chosen); });
        return nb::make_tuple(y, to_string(chosen.method));
      },
      nb::arg("in1"), nb::arg("in2"), nb::arg("mode"), nb::arg("method"), nb::arg("axes").none(),
      nb::arg("check_finite"));
  m.def(
      "fftconvolve",
      [](const ArrayArg& a, const ArrayArg& b, const std::string& mode, const Axes& axes) {
        const ArrayView x = view_of(a, "in1"), k = view_of(b, "in2");
        const Mode md = parse_mode(mode);
        return compute([&] { return signal::fftconvolve(x, k, md, axes); });
      },
      nb::arg("in1"), nb::arg("in2"), nb::arg("mode"), nb::arg("axes").none());
  m.def(
      "oaconvolve",
      [](const ArrayArg& a, const ArrayArg& b, const std::string& mode, const Axes& axes) {
        const ArrayView x = view_of(a, "in1"), k = view_of(b, "in2");
        const Mode md = parse_mode(mode);
        return compute([&] { return signal::oaconvolve(x, k, md, axes); });
      },
      nb::arg("in1"), nb::arg("in2"), nb::arg("mode"), nb::arg("axes").none());
  auto conv2d = [](bool correlate) {
    return [correlate](const ArrayArg& a, const ArrayArg& b, const std::string& mode, const std::string& boundary,
                       double fill_re, double fill_im) {
      const ArrayView x = view_of(a, "in1"), k = view_of(b, "in2");
      const Mode md = parse_mode(mode);
      const signal::Boundary bd = signal::parse_boundary(boundary);
      const std::complex<double> fill(fill_re, fill_im);
      return compute([&] {
        return correlate ? signal::correlate2d(x, k, md, bd, fill) : signal::convolve2d(x, k, md, bd, fill);
      });
    };
  };
  m.def("convolve2d", conv2d(false), nb::arg("in1"), nb::arg("in2"), nb::arg("mode"), nb::arg("boundary"),
        nb::arg("fill_re"), nb::arg("fill_im"));
  m.def("correlate2d", conv2d(true), nb::arg("in1"), nb::arg("in2"), nb::arg("mode"), nb::arg("boundary"),
        nb::arg("fill_re"), nb::arg("fill_im"));
  m.def(
      "choose_conv_method",
      [](const ArrayArg& a, const ArrayArg& b, const std::string& mode, bool measure) {
        const ArrayView x = view_of(a, "in1"), k = view_of(b, "in2");
        const Mode md = parse_mode(mode);
        MethodChoice c;
        {
          nb::gil_scoped_release unlocked;
          c = signal::choose_conv_method(x, k, md, measure);
        }
        return std::make_pair(to_string(c.method), c.reason);
      },
      nb::arg("in1"), nb::arg("in2"), nb::arg("mode"), nb::arg("measure"));
  m.def(
      "correlation_lags",
      [](std::size_t n1, std::size_t n2, const std::string& mode) {
        std::vector<std::int64_t> lags = signal::correlation_lags(n1, n2, parse_mode(mode));
        Array r = Array::uninitialized(DType::Int64, {lags.size()});
        if (!lags.empty()) std::memcpy(r.data(), lags.data(), lags.size() * sizeof(std::int64_t));
        return to_numpy(std::move(r));
      },
      nb::arg("in1_len"), nb::arg("in2_len"), nb::arg("mode"));

  nb::class_<PyConvolver>(m, "Convolver")
      .def(nb::init<std::vector<std::size_t>, const std::string&, const ArrayArg&, const std::string&, const std::string&,
                    const Axes&, bool>(),
           nb::arg("shape"), nb::arg("dtype"), nb::arg("kernel"), nb::arg("mode"), nb::arg("method"),
           nb::arg("axes").none(), nb::arg("check_finite"))
      .def("__call__", &PyConvolver::call, nb::arg("x"), nb::arg("out").none() = nb::none())
      .def_prop_ro("input_shape", &PyConvolver::input_shape)
      .def_prop_ro("output_shape", &PyConvolver::output_shape)
      .def_prop_ro("output_dtype", &PyConvolver::output_dtype)
      .def_prop_ro("method", &PyConvolver::method)
      .def_prop_ro("reason", &PyConvolver::reason);
}

}  // namespace fourierconv::python
