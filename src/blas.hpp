// Internal: BLAS threading policy. OpenBLAS runs single-threaded and fourierconv splits large
// products across its own OpenMP team: OpenBLAS's pthreads and an OpenMP team spin against
// each other on 2 cores (measured: the seed CNN's epoch went from 9 s to 25 s, a 256x256x16
// 3x3 convolution from 13 to 22 ms, with both active).
#pragma once

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <vector>

namespace fourierconv::detail {

inline void blas_single_thread() {
  static const bool done = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)done;
}

// src/sgemm_avx512.cpp: C (m x n) = A (m x k) B (k x n), plus C where accumulate, row-major, A
// stored transposed (k x m) where ta, B (n x k) where tb; on one thread. Available where the CPU runs AVX-512
// (simd::wide_vectors()) unless FOURIERCONV_SGEMM=openblas.
bool sgemm_wide_available();
void sgemm_wide(bool ta, bool tb, int m, int n, int k, const float* a, int lda, const float* b, int ldb, bool accumulate,
                float* c, int ldc);
// Fewer rows than this stay with OpenBLAS: packing B costs as much as the product there.
constexpr int kWideMinRows = 8;
// Fewer columns than this too: the kernel's 32-column strips would run mostly masked lanes.
constexpr int kWideMinColumns = 16;

// Products below this many flops run on one thread (a parallel region costs ~5-20 us).
constexpr double kParallelFlops = 4e6;

// C (m x n) = alpha A (m x k) B (k x n) + beta C, row-major, A optionally transposed
// (stored k x m), B optionally transposed (stored n x k).
inline void sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
                  float beta, float* c, int ldc) {
  if (alpha == 1.0f && (beta == 0.0f || beta == 1.0f) && m >= kWideMinRows && n >= kWideMinColumns && sgemm_wide_available())
    return sgemm_wide(ta, tb, m, n, k, a, lda, b, ldb, beta == 1.0f, c, ldc);
  blas_single_thread();
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b,
              ldb, beta, c, ldc);
}

// The same, with the rows of C split across the OpenMP team when the product is large.
inline void sgemm_rows(bool tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
                       float beta, float* c, int ldc) {
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const bool by_columns = 4 * m < n && n >= 32 * threads;
  if (threads <= 1 || 2.0 * m * n * k < kParallelFlops || (m < 2 * threads && !by_columns))
    return sgemm(false, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  blas_single_thread();
  // Few rows and many columns (late layers of a network at batch 1: 49 x 4608 times
  // 4608 x 512): split the columns, so that each thread packs only its share of B rather than
  // all of it.
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    if (by_columns) {
      const int chunk = ((n + threads - 1) / threads + 15) / 16 * 16;  // whole 16-float panels
      const int c0 = std::min(n, t * chunk), c1 = std::min(n, c0 + chunk);
      if (c1 > c0)
        sgemm(false, tb, m, c1 - c0, k, alpha, a, lda, tb ? b + std::size_t(c0) * ldb : b + c0, ldb, beta, c + c0, ldc);
    } else {
      const int chunk = (m + threads - 1) / threads;
      const int r0 = std::min(m, t * chunk), r1 = std::min(m, r0 + chunk);
      if (r1 > r0)
        sgemm(false, tb, r1 - r0, n, k, alpha, a + std::size_t(r0) * lda, lda, b, ldb, beta, c + std::size_t(r0) * ldc, ldc);
    }
  }
}

// C (m x n) = alpha A^T B + beta C with A stored (r x m) and B (r x n): the reduction over
// r is split across the team, each thread summing into its own buffer.
inline void sgemm_tn_reduce(int m, int n, int r, float alpha, const float* a, int lda, const float* b, int ldb, float beta,
                            float* c, int ldc) {
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (threads <= 1 || 2.0 * m * n * r < kParallelFlops || r < 2 * threads)
    return sgemm(true, false, m, n, r, alpha, a, lda, b, ldb, beta, c, ldc);
  blas_single_thread();
  static thread_local std::vector<float> part;  // reused: no allocation once sizes are steady
  const std::size_t mn = std::size_t(m) * n;
  part.assign(std::size_t(threads) * mn, 0.0f);
  float* const parts = part.data();  // the calling thread's buffer: workers must not name `part`
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), chunk = (r + threads - 1) / threads;
    const int r0 = std::min(r, t * chunk), r1 = std::min(r, r0 + chunk);
    if (r1 > r0)
      sgemm(true, false, m, n, r1 - r0, alpha, a + std::size_t(r0) * lda, lda, b + std::size_t(r0) * ldb, ldb, 0.0f,
            parts + std::size_t(t) * mn, n);
  }
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      float s = beta == 0.0f ? 0.0f : beta * c[std::size_t(i) * ldc + j];
      for (int t = 0; t < threads; ++t) s += part[std::size_t(t) * mn + std::size_t(i) * n + j];
      c[std::size_t(i) * ldc + j] = s;
    }
}

}  // namespace fourierconv::detail
