// This machine's FP32 FMA peak, the yardstick of BENCHMARKS.md's "share of peak" columns:
// 12 independent multiply-add chains per thread (enough to cover the FMA latency on every
// x86 core we met), in 256-bit (AVX2 + FMA) and, where the CPU has it, 512-bit (AVX-512)
// vectors. Counter GFLOP/s = 2 flops per lane per FMA, over all threads. Zen 4 runs 512-bit
// FMAs as two 256-bit halves (both widths give the same peak); Zen 5 and Intel's AVX-512
// cores with two 512-bit FMA units double it.
#include <benchmark/benchmark.h>
#include <omp.h>

namespace {

constexpr long kIters = 1 << 22;
constexpr int kChains = 12;  // + 2 constants: fits AVX2's 16 registers

// Inlined into the target functions below, so that it is compiled for their instruction sets.
template <class V>
__attribute__((always_inline)) inline float chains(float seed) {
  V acc[kChains];
  const V m = V{} + 0.9999999f, b = V{} + 1e-7f;
  for (int i = 0; i < kChains; ++i) acc[i] = V{} + seed * float(i);
  for (long it = 0; it < kIters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = acc[i] * m + b;
  }
  float s = 0;
  for (int i = 0; i < kChains; ++i) s += acc[i][0];
  return s;
}

typedef float v8f __attribute__((vector_size(32)));
typedef float v16f __attribute__((vector_size(64)));

__attribute__((target("avx2,fma"))) float chains256(float seed) { return chains<v8f>(seed); }
__attribute__((target("avx512f"))) float chains512(float seed) { return chains<v16f>(seed); }

void BM_FmaPeak(benchmark::State& st) {
  const int threads = int(st.range(0)), width = int(st.range(1));
  if (width == 512 ? !__builtin_cpu_supports("avx512f") : !__builtin_cpu_supports("fma")) {
    st.SkipWithError(width == 512 ? "no AVX-512 on this CPU" : "no FMA on this CPU");
    return;
  }
  float sink = 0;
  for (auto _ : st) {
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += width == 512 ? chains512(1e-3f) : chains256(1e-3f);
  }
  benchmark::DoNotOptimize(sink);
  const double flops = double(kIters) * kChains * (width / 32) * 2 * threads;
  st.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9 * double(st.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_FmaPeak)->ArgsProduct({{1, 2}, {256, 512}})->ArgNames({"threads", "bits"})->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
