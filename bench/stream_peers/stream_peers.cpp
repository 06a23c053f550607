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
// ours is faster. STREAM_TAPS=N runs only the filters of N taps.
//
// Two threads: ours with StreamOptions::background (the stages past the first on a worker)
// against FFTConvolver's TwoStage with its tail on a worker thread, through the hooks it
// provides for that (startBackgroundProcessing / waitForBackgroundProcessing); its worker
// spins while waiting (the fastest choice for a run flat out).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
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

void pause() {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#endif
}

// FFTConvolver's two-stage convolver with its tail on a worker thread, as its documentation
// recommends (its default runs the tail inline).
class ThreadedTwoStage : public fftconvolver::TwoStageFFTConvolver {
 public:
  ThreadedTwoStage() : worker_([this] { loop(); }) {}
  ~ThreadedTwoStage() override {
    stop_.store(true);
    worker_.join();
  }

 protected:
  void startBackgroundProcessing() override { posted_.store(true, std::memory_order_release); }
  void waitForBackgroundProcessing() override {
    while (posted_.load(std::memory_order_acquire)) pause();
  }

 private:
  void loop() {
    while (!stop_.load(std::memory_order_relaxed)) {
      if (posted_.load(std::memory_order_acquire)) {
        doBackgroundProcessing();
        posted_.store(false, std::memory_order_release);
      } else {
        pause();
      }
    }
  }
  std::atomic<bool> posted_{false}, stop_{false};
  std::thread worker_;
};

std::string ratio(const std::vector<double>& r) {
  const Stats s = stats(r);
  char b[64];
  std::snprintf(b, sizeof b, "%.2f (%.2f-%.2f)", s.median, s.lo, s.hi);
  return b;
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
              "TwoStage / ours zero-latency | our plan (whole blocks) | ours, 2 threads, ns/sample | TwoStage 2 threads / ours 2 threads | "
              "TwoStage / ours 2 threads |\n");
  std::printf("|---:|---:|---:|---|---|---|---|---:|---|---|\n");
  for (std::size_t taps : {1024, 16384, 131072, 480000, 1048576})
    if (!std::getenv("STREAM_TAPS") || std::to_string(taps) == std::getenv("STREAM_TAPS"))
    for (std::size_t B : {64, 256, 1024}) {
      std::vector<float> h(taps);
      for (auto& v : h) v = d(g) * 0.01f;
      fourierconv::StreamConvolver ours(h, fourierconv::StreamOptions{B, false, fourierconv::PartitionScheme::Auto, true});
      fourierconv::StreamConvolver zero(h, fourierconv::StreamOptions{B, true, fourierconv::PartitionScheme::Auto});
      fourierconv::StreamOptions bg_options{B, false, fourierconv::PartitionScheme::Auto, true};
      bg_options.background = true;
      fourierconv::StreamConvolver bg(h, bg_options);
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
      std::vector<double> r_uni, r_two, r_two_zero, ours_ns, zero_ns, bg_ns, r_bg2, r_bg1;
      for (int r = 0; r < rounds; ++r) {
        const double t_ours = run(ours), t_zero = run(zero);
        ours_ns.push_back(t_ours / double(n) * 1e9);
        zero_ns.push_back(t_zero / double(n) * 1e9);
        if (!slow_uniform) r_uni.push_back(run(uniform) / t_ours);
        double best = 1e300;
        for (auto& c : two) best = std::min(best, run(c));
        r_two.push_back(best / t_ours);
        r_two_zero.push_back(best / t_zero);
        const double t_bg = run(bg);
        double best_bg = 1e300;
        for (std::size_t tail : tails) {  // made for its run only: its worker spins while it lives
          ThreadedTwoStage c;
          c.init(B, tail, h.data(), taps);
          best_bg = std::min(best_bg, run(c));
        }
        bg_ns.push_back(t_bg / double(n) * 1e9);
        r_bg2.push_back(best_bg / t_bg);
        r_bg1.push_back(best / t_bg);
      }
      const Stats o = stats(ours_ns), z = stats(zero_ns), t2 = stats(r_two), t2z = stats(r_two_zero);
      char uni[64] = "not run (> 4096 partitions)";
      if (!r_uni.empty()) {
        const Stats u = stats(r_uni);
        std::snprintf(uni, sizeof uni, "%.2f (%.2f-%.2f)", u.median, u.lo, u.hi);
      }
      std::printf("| %zu | %zu | %.1f / %.1f | %s | %.2f (%.2f-%.2f) | %.2f (%.2f-%.2f) | `%s` | %.1f | %s | %s |\n", taps, B, o.median,
                  z.median, uni, t2.median, t2.lo, t2.hi, t2z.median, t2z.lo, t2z.hi, ours.plan().describe().c_str(),
                  stats(bg_ns).median, ratio(r_bg2).c_str(), ratio(r_bg1).c_str());
      std::fflush(stdout);
    }
}
