// Uses the installed library: scipy-style convolution of two small arrays, checked against the
// hand-computed result. Exit 0 on success.
#include <cstdio>
#include <vector>

#include "fourierconv/cpu.hpp"
#include "fourierconv/signal.hpp"

int main() {
  using namespace fourierconv;
  const std::vector<double> a{1, 2, 3}, b{0, 1, 0.5};
  const Array y = signal::convolve(ArrayView::contiguous(DType::Float64, {3}, a.data()),
                                   ArrayView::contiguous(DType::Float64, {3}, b.data()));
  const double want[] = {0, 1, 2.5, 4, 1.5};
  if (y.size() != 5) return 1;
  for (int i = 0; i < 5; ++i)
    if (y.data_as<double>()[i] != want[i]) return 2;
  std::printf("consumer: ok (SIMD %s)\n", cpu_dispatch_level().c_str());
  return 0;
}
