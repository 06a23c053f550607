// fourierconv._core's filters: the frequency responses of include/fourierconv/filters.hpp
// sampled on numpy's fftfreq grid, and apply_filter.
#include <cmath>
#include <cstdint>

#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bindings.hpp"
#include "convert.hpp"
#include "fourierconv/fft.hpp"
#include "fourierconv/filters.hpp"

namespace fourierconv::python {

void bind_filters(nb::module_& m) {
  m.def("filter_names", &filter_names);
  m.def("filter_canonical", [](const std::string& spec) { return make_filter(spec).to_string(); }, nb::arg("spec"));
  m.def(
      "filter_response",
      [](const std::string& spec, std::size_t rows, std::size_t cols) {
        const Filter f = make_filter(spec);
        Array r = Array::uninitialized(DType::Float32, {rows, cols});
        float* h = r.data_as<float>();
        // numpy.fft.fftfreq(n): k / n for k < (n + 1) / 2, else (k - n) / n; cycles per sample.
        auto freq = [](std::size_t k, std::size_t n) {
          return float((k < (n + 1) / 2 ? double(k) : double(k) - double(n)) / double(n));
        };
        for (std::size_t i = 0; i < rows; ++i)
          for (std::size_t j = 0; j < cols; ++j) h[i * cols + j] = f.response(freq(i, rows), freq(j, cols));
        return to_numpy(std::move(r));
      },
      nb::arg("spec"), nb::arg("rows"), nb::arg("cols"));
  m.def(
      "apply_filter",
      [](const ArrayArg& x, const std::string& spec, const std::string& padding, const std::string& output, float cval) {
        // x is read in place when it is C-contiguous float32 (the Python side makes it so); the
        // array stays alive with its argument, and apply_filter only reads it.
        const ArrayView v = view_of(x, "x");
        const bool in_place = v.dtype == DType::Float32 && v.c_contiguous() &&
                              reinterpret_cast<std::uintptr_t>(v.data) % alignof(float) == 0;
        Tensor t = in_place ? Tensor::borrowed(static_cast<const float*>(v.data), v.shape) : tensor_of(x, "x");
        const Filter f = make_filter(spec);
        const FilterPadding pd = parse_filter_padding(padding);
        const Output out = parse_output(output);
        Tensor y;
        {
          nb::gil_scoped_release unlocked;
          y = apply_filter(t, f, pd, out, cval);
        }
        return to_numpy(std::move(y));
      },
      nb::arg("x"), nb::arg("spec"), nb::arg("padding"), nb::arg("output"), nb::arg("cval"));
  m.def("next_fast_size", &next_fast_size, nb::arg("n"));
  m.def(
      "sinc_kernel",
      [](std::size_t n, double width) { return to_numpy(filter_sinc_kernel(n, width)); }, nb::arg("n"),
      nb::arg("width"));
}

}  // namespace fourierconv::python
