// StreamConvolver (stream.hpp): one iteration = one block of B samples through a filter of N
// taps. Counters: ns per sample (the mean), the median and the worst block in microseconds,
// and the real-time headroom at 48 kHz (the block's deadline B / 48000 s over the mean time).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

#include "fourierconv/stream.hpp"

using namespace fourierconv;

namespace {

void run_stream(benchmark::State& st, std::size_t taps, const StreamOptions& options) {
  const std::size_t B = options.block;
  std::mt19937 g(1);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> h(taps), x(48000), y(B);
  for (auto& v : h) v = d(g) * 0.01f;
  for (auto& v : x) v = d(g);
  StreamConvolver c(h, options);
  // Warm up past the longest period so that every stage is running.
  const std::size_t warm = 2 * (c.plan().stages.empty() ? B : c.plan().stages.back().offset + 2 * c.plan().stages.back().size);
  for (std::size_t t = 0; t < warm; t += B) c.process(x.data() + (t % (x.size() - B)), y.data(), B);
  std::vector<double> times;
  times.reserve(1 << 20);
  std::size_t at = 0;
  for (auto _ : st) {
    const auto t0 = std::chrono::steady_clock::now();
    c.process(x.data() + at, y.data(), B);
    const auto t1 = std::chrono::steady_clock::now();
    if (times.size() < times.capacity()) times.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    at = (at + B) % (x.size() - B);
    benchmark::DoNotOptimize(y.data());
  }
  if (times.empty()) return;
  double mean = 0;
  for (double t : times) mean += t;
  mean /= double(times.size());
  std::vector<double> sorted = times;
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  st.counters["ns_per_sample"] = mean * 1e3 / double(B);
  st.counters["median_us"] = sorted[sorted.size() / 2];
  st.counters["worst_us"] = *std::max_element(times.begin(), times.end());
  st.counters["headroom_48k"] = (double(B) / 48000.0 * 1e6) / mean;
  st.SetItemsProcessed(std::int64_t(st.iterations()) * std::int64_t(B));
  st.SetLabel(c.plan().describe().substr(0, 60));
}

void BM_Stream(benchmark::State& st) {
  const auto scheme = st.range(2) == 0 ? PartitionScheme::Uniform : PartitionScheme::NonUniform;
  run_stream(st, std::size_t(st.range(0)), StreamOptions{std::size_t(st.range(1)), false, scheme});
}

// The same with StreamOptions::background: the long partitions on a worker thread (the
// worker's time is not in these per-block times; the caller's waits for it are).
void BM_StreamWorker(benchmark::State& st) {
  StreamOptions o{std::size_t(st.range(1))};
  o.background = true;
  run_stream(st, std::size_t(st.range(0)), o);
}

void stream_args(benchmark::internal::Benchmark* b) {
  for (long taps : {1024, 16384, 131072, 480000, 1048576})
    for (long B : {64, 256, 1024})
      for (long scheme : {0, 1}) {
        if (scheme == 0 && taps > 131072 && B < 1024) continue;  // uniform: thousands of partitions per block
        b->Args({taps, B, scheme});
      }
}
BENCHMARK(BM_Stream)->Apply(stream_args)->ArgNames({"taps", "B", "nonuniform"})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_StreamWorker)
    ->ArgsProduct({{131072, 480000, 1048576}, {64, 1024}})
    ->ArgNames({"taps", "B"})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
