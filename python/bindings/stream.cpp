// fourierconv._core's StreamConvolver (include/fourierconv/stream.hpp): a stateful FIR filter
// for streams. Each call takes the next samples of every input channel; the GIL is released
// while they are filtered.
#include <cstring>
#include <mutex>

#include <nanobind/stl/string.h>

#include "bindings.hpp"
#include "convert.hpp"
#include "fourierconv/error.hpp"
#include "fourierconv/stream.hpp"

namespace fourierconv::python {

namespace {

class PyStreamConvolver {
 public:
  PyStreamConvolver(const ArrayArg& filters, std::size_t block, bool zero_latency, const std::string& scheme, bool whole_blocks,
                    bool background)
      : c_(Array::copy_of(view_of(filters, "h")), options(block, zero_latency, scheme, whole_blocks, background)),
        one_channel_(view_of(filters, "h").rank() == 1) {}

  static StreamOptions options(std::size_t block, bool zero_latency, const std::string& scheme, bool whole_blocks, bool background) {
    StreamOptions o{block, zero_latency, parse_partition_scheme(scheme), whole_blocks};
    o.background = background;
    return o;
  }

  // x: float32 of shape (n,) for a single-channel filter, else (inputs, n); converted from
  // other real types. Returns float32 (n,) or (outputs, n).
  nb::object process(const ArrayArg& x) {
    const ArrayView v = view_of(x, "x");
    const std::size_t rank = one_channel_ ? 1 : 2;
    if (v.rank() != rank || (rank == 2 && v.shape[0] != c_.inputs()))
      throw Error("process: expected x of shape " + std::string(rank == 1 ? "(n,)" : "(" + std::to_string(c_.inputs()) + ", n)") +
                  ", got " + shape_to_string(v.shape));
    if (v.dtype == DType::Complex64 || v.dtype == DType::Complex128)
      throw Error("process: expected real samples, got " + to_string(v.dtype));
    Array in = Array::copy_of(v, DType::Float32);
    const std::size_t n = v.shape.back();
    Array out = Array::uninitialized(DType::Float32, rank == 1 ? Shape{n} : Shape{c_.outputs(), n});
    std::vector<const float*> ip(c_.inputs());
    std::vector<float*> op(c_.outputs());
    for (std::size_t i = 0; i < ip.size(); ++i) ip[i] = in.data_as<float>() + i * n;
    for (std::size_t o = 0; o < op.size(); ++o) op[o] = out.data_as<float>() + o * n;
    {
      nb::gil_scoped_release unlocked;
      std::lock_guard<std::mutex> lock(mutex_);
      c_.process(ip.data(), op.data(), n);
    }
    return to_numpy(std::move(out));
  }

  void set_filter(const ArrayArg& filters) {
    Array f = Array::copy_of(view_of(filters, "h"));
    StreamConvolver::Filter next, back;
    {
      nb::gil_scoped_release unlocked;
      next = c_.prepare_filter(f);  // reads only the plan, which never changes
      std::lock_guard<std::mutex> lock(mutex_);
      back = c_.swap_filter(std::move(next));
    }  // `back` (an older filter) is freed here, outside the lock
  }

  void reset() {
    nb::gil_scoped_release unlocked;
    std::lock_guard<std::mutex> lock(mutex_);
    c_.reset();
  }

  StreamConvolver c_;
  bool one_channel_;
  std::mutex mutex_;
};

}  // namespace

void bind_stream(nb::module_& m) {
  nb::class_<PyStreamConvolver>(m, "StreamConvolver")
      .def(nb::init<const ArrayArg&, std::size_t, bool, const std::string&, bool, bool>(), nb::arg("h"), nb::arg("block"),
           nb::arg("zero_latency"), nb::arg("scheme"), nb::arg("whole_blocks"), nb::arg("background"))
      .def("process", &PyStreamConvolver::process, nb::arg("x"))
      .def("reset", &PyStreamConvolver::reset)
      .def("set_filter", &PyStreamConvolver::set_filter, nb::arg("h"))
      .def_prop_ro("latency", [](const PyStreamConvolver& s) { return s.c_.latency(); })
      .def_prop_ro("block", [](const PyStreamConvolver& s) { return s.c_.block(); })
      .def_prop_ro("taps", [](const PyStreamConvolver& s) { return s.c_.taps(); })
      .def_prop_ro("inputs", [](const PyStreamConvolver& s) { return s.c_.inputs(); })
      .def_prop_ro("outputs", [](const PyStreamConvolver& s) { return s.c_.outputs(); })
      .def_prop_ro("transition_samples", [](const PyStreamConvolver& s) { return s.c_.transition_samples(); })
      .def_prop_ro("plan", [](const PyStreamConvolver& s) { return s.c_.plan().describe(); });
}

}  // namespace fourierconv::python
