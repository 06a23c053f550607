// Streams against FFTConvolver (HiFi-LoFi, MIT), uniform and two-stage, side by side in one run,
// alternating rounds (bench/stream_peers.sh builds this against a checkout of FFTConvolver
// outside the project; none of its code is in fourierconv).
//
// Equal latency: FFTConvolver returns, in each call of B samples, the output for those same
// samples. Ours matches it two ways: whole_blocks (calls of whole blocks, each call's output
// its own input filtered: FFTConvolver's semantics for block-aligned calls, which these are),
// and zero_latency (latency 0 for any call length: a direct head, then partitions). Throughput:
// a 10-second signal at 48 kHz in calls of B samples. Prints, per (taps, B), the median over
// rounds of the per-round ratio peer time / our time (whole blocks), with min-max; > 1 means
// ours is faster.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "FFTConvolver.h"
#include "TwoStageFFTConvolver.h"
#include "fourierconv/stream.hpp"

namespace {

double seconds(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Stats {
  double median, lo, hi;
};
Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front(), v.back()};
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 5;
  const std::size_t n = 480000;
  std::mt19937 g(1);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> x(n), y(n);
  for (auto& v : x) v = d(g);
  std::printf("| taps | B | ours, ns/sample (whole blocks / zero latency) | FFTConvolver uniform / ours | TwoStage (best tail) / ours | "
              "TwoStage / ours zero-latency | our plan (whole blocks) |\n");
  std::printf("|---:|---:|---:|---|---|---|---|\n");
  for (std::size_t taps : {1024, 16384, 131072, 480000, 1048576})
    for (std::size_t B : {64, 256, 1024}) {
      std::vector<float> h(taps);
      for (auto& v : h) v = d(g) * 0.01f;
      fourierconv::StreamConvolver ours(h, fourierconv::StreamOptions{B, false, fourierconv::PartitionScheme::Auto, true});
      fourierconv::StreamConvolver zero(h, fourierconv::StreamOptions{B, true, fourierconv::PartitionScheme::Auto});
      fftconvolver::FFTConvolver uniform;
      uniform.init(B, h.data(), taps);
      std::vector<std::size_t> tails;
      for (std::size_t t : {16 * B, 64 * B})
        if (t <= 65536 && t < taps) tails.push_back(t);
      if (tails.empty()) tails.push_back(std::max<std::size_t>(2 * B, 1024));
      std::vector<fftconvolver::TwoStageFFTConvolver> two(tails.size());
      for (std::size_t i = 0; i < tails.size(); ++i) two[i].init(B, tails[i], h.data(), taps);
      auto run = [&](auto& c) {
        return seconds([&] {
          for (std::size_t t = 0; t + B <= n; t += B) c.process(x.data() + t, y.data() + t, B);
        });
      };
      const bool slow_uniform = taps / B > 4096;  // thousands of partitions per block: minutes
      std::vector<double> r_uni, r_two, r_two_zero, ours_ns, zero_ns;
      for (int r = 0; r < rounds; ++r) {
        const double t_ours = run(ours), t_zero = run(zero);
        ours_ns.push_back(t_ours / double(n) * 1e9);
        zero_ns.push_back(t_zero / double(n) * 1e9);
        if (!slow_uniform) r_uni.push_back(run(uniform) / t_ours);
        double best = 1e300;
        for (auto& c : two) best = std::min(best, run(c));
        r_two.push_back(best / t_ours);
        r_two_zero.push_back(best / t_zero);
      }
      const Stats o = stats(ours_ns), z = stats(zero_ns), t2 = stats(r_two), t2z = stats(r_two_zero);
      char uni[64] = "not run (> 4096 partitions)";
      if (!r_uni.empty()) {
        const Stats u = stats(r_uni);
        std::snprintf(uni, sizeof uni, "%.2f (%.2f-%.2f)", u.median, u.lo, u.hi);
      }
      std::printf("| %zu | %zu | %.1f / %.1f | %s | %.2f (%.2f-%.2f) | %.2f (%.2f-%.2f) | `%s` |\n", taps, B, o.median, z.median, uni,
                  t2.median, t2.lo, t2.hi, t2z.median, t2z.lo, t2z.hi, ours.plan().describe().c_str());
      std::fflush(stdout);
    }
}
