#include "fourierconv/nn/layers/dense.hpp"


#include <omp.h>

#include <algorithm>
#include <cstring>

#include "blas.hpp"
#include "simd.hpp"
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

namespace {
// Products below this many multiply-adds stay on one thread (a parallel region costs a few us).
constexpr double kParallelMacs = 1e5;

// y (U) = x (D) . W (D x U), for U <= 16 units (a classifier's head at batch 1): W's rows are
// read in order into register accumulators, four rows in flight. OpenBLAS's sgemv ran this
// shape as D ten-float axpys (11 of the seed CNN's 22 us at batch 1).
FC_MULTIVERSION void gemv_few_units(const float* x, const float* w, std::size_t D, std::size_t U, float* y) {
  using simd::v8;
  v8 lo[4] = {}, hi[4] = {};
  // Rows whose 16 floats from the row's start lie inside W (a row is U floats).
  const std::size_t whole = D * U >= 16 ? (D * U - 16) / U + 1 : 0;
  std::size_t d = 0;
  for (; d + 4 <= whole; d += 4)
    for (std::size_t k = 0; k < 4; ++k) {
      const v8 xv = simd::splat(x[d + k]);
      const float* row = w + (d + k) * U;
      lo[k] = simd::fma(xv, simd::loadu(row), lo[k]);
      hi[k] = simd::fma(xv, simd::loadu(row + 8), hi[k]);
    }
  float acc[16];
  simd::storeu(acc, (lo[0] + lo[1]) + (lo[2] + lo[3]));
  simd::storeu(acc + 8, (hi[0] + hi[1]) + (hi[2] + hi[3]));
  for (; d < D; ++d)
    for (std::size_t u = 0; u < U; ++u) acc[u] += x[d] * w[d * U + u];
  for (std::size_t u = 0; u < U; ++u) y[u] = acc[u];
}

int team_for(double macs) { return macs >= kParallelMacs && !omp_in_parallel() ? omp_get_max_threads() : 1; }

// [begin, end) of n items for thread t of T, in multiples of `align`.
std::pair<std::size_t, std::size_t> share(std::size_t n, int t, int T, std::size_t align = 1) {
  const std::size_t chunk = ((n + std::size_t(T) - 1) / std::size_t(T) + align - 1) / align * align;
  const std::size_t b = std::min(n, std::size_t(t) * chunk);
  return {b, std::min(n, b + chunk)};
}
}  // namespace

void Dense::call_impl(const Tensor& x, Tensor& y, bool) {
  const std::size_t D = input_shape().back(), U = units_, M = x.size() / D;
  auto w = weights();
  const float* bias = args_.use_bias ? w[1]->value.data() : nullptr;
  detail::blas_single_thread();
  if (M <= 4 && U <= 16) {
    for (std::size_t i = 0; i < M; ++i) {
      gemv_few_units(x.data() + i * D, w[0]->value.data(), D, U, y.data() + i * U);
      if (bias)
        for (std::size_t u = 0; u < U; ++u) y[i * U + u] += bias[u];
    }
    return;
  }
  if (M <= 4) {  // a matrix-vector product per row: sgemm's packing costs more than the math here
    for (std::size_t i = 0; i < M; ++i) {
      if (bias) std::memcpy(y.data() + i * U, bias, U * sizeof(float));
      cblas_sgemv(CblasRowMajor, CblasTrans, int(D), int(U), 1.0f, w[0]->value.data(), int(U), x.data() + i * D, 1,
                  bias ? 1.0f : 0.0f, y.data() + i * U, 1);
    }
    return;
  }
  // Rows of the batch split across the team; each thread reads all of the kernel.
  const int T = team_for(double(M) * D * U);
#pragma omp parallel num_threads(T) if (T > 1)
  {
    auto [r0, r1] = share(M, omp_get_thread_num(), T);
    if (r1 > r0) {
      if (bias)
        for (std::size_t i = r0; i < r1; ++i) std::memcpy(y.data() + i * U, bias, U * sizeof(float));
      detail::sgemm(false, false, int(r1 - r0), int(U), int(D), 1.0f, x.data() + r0 * D, int(D), w[0]->value.data(), int(U),
                    bias ? 1.0f : 0.0f, y.data() + r0 * U, int(U));
    }
  }
}

void Dense::backward_impl(const Tensor& dz, Tensor* dx) {
  const std::size_t D = input_shape().back(), U = units_, M = dz.size() / U;
  auto w = weights();
  const float* xd = last_input().data();
  float* dk = w[0]->grad.data();
  // The kernel gradient (D, U) = x^T dz and the input gradient (M, D) = dz W^T, both split
  // over D across the team: each thread owns rows of dW and columns of dx, so nothing is
  // reduced between threads.
  const int T = team_for(2.0 * double(M) * D * U);
#pragma omp parallel num_threads(T) if (T > 1)
  {
    auto [d0, d1] = share(D, omp_get_thread_num(), T, 16);
    if (d1 > d0) {
      detail::sgemm(true, false, int(d1 - d0), int(U), int(M), 1.0f, xd + d0, int(D), dz.data(), int(U), 0.0f, dk + d0 * U,
                    int(U));
      if (dx)
        detail::sgemm(false, true, int(M), int(d1 - d0), int(U), 1.0f, dz.data(), int(U), w[0]->value.data() + d0 * U,
                      int(U), 0.0f, dx->data() + d0, int(D));
    }
  }
  if (args_.use_bias) {
    float* db = w[1]->grad.data();
    std::fill(db, db + U, 0.0f);
    for (std::size_t i = 0; i < M; ++i)
      for (std::size_t u = 0; u < U; ++u) db[u] += dz[i * U + u];
  }
}

}  // namespace fourierconv::nn
