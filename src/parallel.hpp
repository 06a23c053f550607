// Internal: splitting an elementwise pass over the OpenMP team. Passes over fewer than
// kParallelPass elements stay on one thread (a parallel region costs ~5-20 us); above, each
// thread takes one contiguous chunk, a multiple of `grain` elements (a row of channels).
#pragma once

#include <omp.h>

#include <cstddef>

namespace fourierconv::detail {

constexpr std::size_t kParallelPass = std::size_t(1) << 16;

// Calls f(begin, end) on chunks that cover [0, n).
template <class F>
void parallel_chunks(std::size_t n, std::size_t grain, F&& f) {
  const int threads = n >= kParallelPass && !omp_in_parallel() ? omp_get_max_threads() : 1;
  if (threads <= 1) return f(std::size_t(0), n);
#pragma omp parallel num_threads(threads)
  {
    const std::size_t t = std::size_t(omp_get_thread_num()), T = std::size_t(omp_get_num_threads());
    const std::size_t units = (n + grain - 1) / grain;
    const std::size_t b = std::min(n, units * t / T * grain), e = std::min(n, units * (t + 1) / T * grain);
    if (e > b) f(b, e);
  }
}

}  // namespace fourierconv::detail
