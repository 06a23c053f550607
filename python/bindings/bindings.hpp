// The parts of fourierconv._core, each bound in its own file.
#pragma once

#include <nanobind/nanobind.h>

namespace fourierconv::python {

void bind_signal(nanobind::module_& m);   // signal.cpp: convolve, correlate, ..., Convolver
void bind_filters(nanobind::module_& m);  // filters.cpp: frequency responses, apply_filter
void bind_models(nanobind::module_& m);   // models.cpp: Model (load, build, fit, predict, save)
void bind_stream(nanobind::module_& m);   // stream.cpp: StreamConvolver

}  // namespace fourierconv::python
