#include "fourierconv/nn/layers/dense.hpp"


#include <cstring>

#include "blas.hpp"
#include "fourierconv/error.hpp"
#include "fourierconv/nn/initializers.hpp"

namespace fourierconv::nn {

Dense::Dense(std::size_t units, DenseArgs args)
    : Layer(args.name.empty() ? unique_name("dense") : args.name), units_(units), args_(std::move(args)) {
  if (units == 0) throw Error("Dense: units must be >= 1, got 0");
  activation_ = parse_activation(args_.activation);
  declare_input_shape(args_.input_shape);
}

Shape Dense::build_impl(const Shape& in) {
  if (in.empty()) throw Error(name() + " (Dense): expected an input with at least one axis");
  Weight& k = add_weight("kernel", {in.back(), units_});
  initialize(k.value, args_.kernel_initializer, global_rng());
  if (args_.use_bias) {
    Weight& b = add_weight("bias", {units_});
    initialize(b.value, args_.bias_initializer, global_rng());
  }
  Shape out = in;
  out.back() = units_;
  return out;
}

void Dense::call_impl(const Tensor& x, Tensor& y, bool) {
  const std::size_t D = input_shape().back(), U = units_, M = x.size() / D;
  auto w = weights();
  if (args_.use_bias)
    for (std::size_t i = 0; i < M; ++i) std::memcpy(y.data() + i * U, w[1]->value.data(), U * sizeof(float));
  if (M <= 4) {  // a matrix-vector product per row: sgemm's packing costs more than the math here
    detail::blas_single_thread();
    for (std::size_t i = 0; i < M; ++i)
      cblas_sgemv(CblasRowMajor, CblasTrans, int(D), int(U), 1.0f, w[0]->value.data(), int(U), x.data() + i * D, 1,
                  args_.use_bias ? 1.0f : 0.0f, y.data() + i * U, 1);
    return;
  }
  detail::sgemm_rows(false, int(M), int(U), int(D), 1.0f, x.data(), int(D), w[0]->value.data(), int(U),
                     args_.use_bias ? 1.0f : 0.0f, y.data(), int(U));
}

void Dense::backward_impl(const Tensor& dz, Tensor* dx) {
  const std::size_t D = input_shape().back(), U = units_, M = dz.size() / U;
  auto w = weights();
  detail::sgemm_tn_reduce(int(D), int(U), int(M), 1.0f, last_input().data(), int(D), dz.data(), int(U), 0.0f,
                          w[0]->grad.data(), int(U));
  if (args_.use_bias) {
    float* db = w[1]->grad.data();
    std::fill(db, db + U, 0.0f);
    for (std::size_t i = 0; i < M; ++i)
      for (std::size_t u = 0; u < U; ++u) db[u] += dz[i * U + u];
  }
  if (dx)
    detail::sgemm_rows(true, int(M), int(D), int(U), 1.0f, dz.data(), int(U), w[0]->value.data(), int(U), 0.0f,
                       dx->data(), int(D));
}

}  // namespace fourierconv::nn
