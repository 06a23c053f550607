// Internal: signal::convolve writing into the caller's memory (the float32 Tensor API's path,
// one copy less than returning an Array). dst: the output's elements in C order, of the result
// type; the call must not be one that returns early (0-d or empty inputs).
#pragma once

#include "fourierconv/signal.hpp"

namespace fourierconv::signal::detail {

void convolve_to(const ArrayView& in1, const ArrayView& in2, Mode mode, Method method, MethodChoice* chosen, void* dst);

}  // namespace fourierconv::signal::detail
