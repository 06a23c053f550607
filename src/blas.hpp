// Internal: OpenBLAS threading policy. OpenBLAS's own threads spin against the OpenMP team
// on small products (the seed CNN's epoch went from 9 s to 25 s with them on), so a product
// uses them only when it is large enough to pay: above kBlasThreadedFlops.
#pragma once

#include <cblas.h>
#include <omp.h>

namespace fourierconv::detail {

constexpr double kBlasThreadedFlops = 2e8;

inline void blas_threads_for(double flops) {
  static thread_local int current = -1;
  const int want = flops >= kBlasThreadedFlops && !omp_in_parallel() ? omp_get_max_threads() : 1;
  if (want != current) {
    openblas_set_num_threads(want);
    current = want;
  }
}

// sgemm, row-major, with the threading policy applied.
inline void sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
                  float beta, float* c, int ldc) {
  blas_threads_for(2.0 * m * n * k);
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b,
              ldb, beta, c, ldc);
}

}  // namespace fourierconv::detail
