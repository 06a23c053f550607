#include "fourierconv/nn/layers/flatten.hpp"

#include <algorithm>

namespace fourierconv::nn {

Flatten::Flatten(FlattenArgs args) : Layer(args.name.empty() ? unique_name("flatten") : args.name) {
  declare_input_shape(args.input_shape);
}

Shape Flatten::build_impl(const Shape& in) { return {shape_size(in)}; }

void Flatten::call_impl(const Tensor& x, Tensor& y, bool) { std::copy(x.begin(), x.end(), y.begin()); }

void Flatten::backward_impl(const Tensor& dz, Tensor* dx) {
  if (dx) std::copy(dz.begin(), dz.end(), dx->begin());
}

}  // namespace fourierconv::nn
