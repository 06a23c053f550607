#include "fourierconv/nn/layers/conv2d.hpp"

#include "fourierconv/conv/direct.hpp"
#include "fourierconv/error.hpp"
#include "fourierconv/nn/initializers.hpp"

namespace fourierconv::nn {

struct Conv2D::FftState {};

Conv2D::Conv2D(std::size_t filters, Size2 kernel_size, Conv2DArgs args)
    : Layer(args.name.empty() ? unique_name("conv2d") : args.name),
      filters_(filters),
      kernel_size_(kernel_size),
      args_(std::move(args)) {
  if (filters == 0) throw Error("Conv2D: filters must be >= 1, got 0");
  if (kernel_size.first == 0 || kernel_size.second == 0)
    throw Error("Conv2D: kernel_size must be positive, got (" + std::to_string(kernel_size.first) + ", " +
                std::to_string(kernel_size.second) + ")");
  if (args_.strides.first == 0 || args_.strides.second == 0) throw Error("Conv2D: strides must be positive");
  if (args_.dilation_rate.first == 0 || args_.dilation_rate.second == 0) throw Error("Conv2D: dilation_rate must be positive");
  padding_ = conv::parse_padding(args_.padding);
  activation_ = parse_activation(args_.activation);
  if (args_.algorithm != "auto" && args_.algorithm != "direct" && args_.algorithm != "fft")
    throw Error("Conv2D: algorithm must be auto, direct or fft; got '" + args_.algorithm + "'");
  declare_input_shape(args_.input_shape);
}

conv::Problem Conv2D::problem_for(std::size_t n) const {
  const Shape& s = input_shape();
  return conv::Problem::make(n, s[0], s[1], s[2], filters_, kernel_size_.first, kernel_size_.second, args_.strides.first,
                             args_.strides.second, args_.dilation_rate.first, args_.dilation_rate.second, padding_,
                             name() + " (Conv2D)");
}

Shape Conv2D::build_impl(const Shape& in) {
  if (in.size() != 3) throw Error(name() + " (Conv2D): expected input shape (H, W, C), got " + shape_to_string(in));
  const std::size_t C = in[2];
  conv::Problem p = conv::Problem::make(1, in[0], in[1], C, filters_, kernel_size_.first, kernel_size_.second,
                                        args_.strides.first, args_.strides.second, args_.dilation_rate.first,
                                        args_.dilation_rate.second, padding_, name() + " (Conv2D)");
  Weight& k = add_weight("kernel", {kernel_size_.first, kernel_size_.second, C, filters_});
  initialize(k.value, args_.kernel_initializer, global_rng());
  if (args_.use_bias) {
    Weight& b = add_weight("bias", {filters_});
    initialize(b.value, args_.bias_initializer, global_rng());
  }
  algorithm_used_ = "direct";
  algorithm_reason_ = "im2col + sgemm";
  return {p.oh, p.ow, filters_};
}

void Conv2D::call_impl(const Tensor& x, Tensor& y, bool) {
  conv::Problem p = problem_for(x.dim(0));
  auto w = weights();
  conv::direct_forward(p, x.data(), w[0]->value.data(), args_.use_bias ? w[1]->value.data() : nullptr, y.data());
}

void Conv2D::backward_impl(const Tensor& dz, Tensor* dx) {
  conv::Problem p = problem_for(dz.dim(0));
  auto w = weights();
  conv::direct_backward(p, last_input().data(), w[0]->value.data(), dz.data(), dx ? dx->data() : nullptr, w[0]->grad.data(),
                        args_.use_bias ? w[1]->grad.data() : nullptr);
}

std::vector<std::string> Conv2D::detail() const {
  return {"algorithm: " + algorithm_used_ + " (" + algorithm_reason_ + ")"};
}

}  // namespace fourierconv::nn
