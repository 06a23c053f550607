// StreamConvolver (stream.hpp) against a direct convolution in double, over random block-size
// sequences; the partition planner's rules; real-time safety with a counting allocator; swaps.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <random>

#include <sys/wait.h>
#include <unistd.h>

#include "fourierconv/error.hpp"
#include "fourierconv/stream.hpp"
#include "reference.hpp"

using namespace fourierconv;

// ---- A counting allocator: every allocation made by any thread while `counting` is set (the
// stream's background worker included). ----
// operator new is replaced here; malloc-family calls from the library's own code (the aligned
// buffers) are counted through the linker's --wrap (CMakeLists.txt, the tests' link options).
namespace {
std::atomic<bool> counting{false};
std::atomic<std::size_t> allocations{0};
void note() {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

extern "C" {
void* __real_malloc(std::size_t);
void* __real_calloc(std::size_t, std::size_t);
void* __real_realloc(void*, std::size_t);
void* __real_aligned_alloc(std::size_t, std::size_t);
int __real_posix_memalign(void**, std::size_t, std::size_t);
void* __wrap_malloc(std::size_t n) { return note(), __real_malloc(n); }
void* __wrap_calloc(std::size_t a, std::size_t b) { return note(), __real_calloc(a, b); }
void* __wrap_realloc(void* p, std::size_t n) { return note(), __real_realloc(p, n); }
void* __wrap_aligned_alloc(std::size_t a, std::size_t n) { return note(), __real_aligned_alloc(a, n); }
int __wrap_posix_memalign(void** p, std::size_t a, std::size_t n) { return note(), __real_posix_memalign(p, a, n); }
}

// Clang's sanitizer runtimes are linked statically and define operator new themselves (the
// ThreadSanitizer build): there the replacement is left out and the allocation test skipped.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define FC_RUNTIME_OWNS_NEW 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define FC_RUNTIME_OWNS_NEW 1
#endif

#ifndef FC_RUNTIME_OWNS_NEW
// The replacements pair malloc with free; GCC cannot see that they replace the global ones.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  note();
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, std::align_val_t a) {
  note();
  const std::size_t al = static_cast<std::size_t>(a);
  if (void* p = std::aligned_alloc(al, ((n ? n : 1) + al - 1) / al * al)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) { return operator new(n, a); }
// The nothrow forms too (std::stable_sort's temporary buffer uses one): left to the runtime,
// they allocate with its new and are freed here, a mismatch AddressSanitizer reports.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  note();
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  note();
  const std::size_t al = static_cast<std::size_t>(a);
  return std::aligned_alloc(al, ((n ? n : 1) + al - 1) / al * al);
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t& t) noexcept { return operator new(n, a, t); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop
#endif

namespace {

std::vector<float> random_signal(std::size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

// y = x * h, "full", in double, for output samples [0, n).
std::vector<double> direct(const std::vector<float>& x, const std::vector<float>& h, std::size_t n) {
  std::vector<double> y(n, 0.0);
  for (std::size_t t = 0; t < n; ++t) {
    double acc = 0;
    for (std::size_t j = 0; j < h.size() && j <= t; ++j)
      if (t - j < x.size()) acc += double(h[j]) * double(x[t - j]);
    y[t] = acc;
  }
  return y;
}

// Runs the stream through in random call sizes (1 .. 3B, with some zero-length calls).
std::vector<float> stream(StreamConvolver& c, const std::vector<float>& x, unsigned seed) {
  std::mt19937 g(seed);
  std::uniform_int_distribution<std::size_t> len(0, 3 * c.block());
  std::vector<float> y(x.size());
  for (std::size_t t = 0; t < x.size();) {
    const std::size_t n = std::min(len(g), x.size() - t);
    c.process(x.data() + t, y.data() + t, n);
    t += n;
  }
  return y;
}

// Float32 rounding of a sum of `taps` products, each up to max|h| max|x| = 1: a bound.
double tolerance(std::size_t taps) { return 2e-6 * std::sqrt(double(taps)) * std::log2(double(taps) + 2) + 1e-6; }

void expect_matches(const std::vector<float>& got, const std::vector<double>& want, std::size_t latency, double tol,
                    const std::string& what) {
  double worst = 0;
  std::size_t at = 0;
  for (std::size_t t = 0; t < got.size(); ++t) {
    const double w = t >= latency ? want[t - latency] : 0.0;
    if (std::abs(got[t] - w) > worst) worst = std::abs(got[t] - w), at = t;
  }
  EXPECT_LE(worst, tol) << what << ": worst error at sample " << at;
}

}  // namespace

TEST(StreamPlan, StagesCoverTheFilterAndMeetTheirDeadlines) {
  for (std::size_t B : {1, 16, 64, 1024})
    for (std::size_t taps : {1, 2, 63, 64, 65, 1000, 16384, 131072, 1000000})
      for (int mode = 0; mode < 3; ++mode)
        for (auto scheme : {PartitionScheme::Auto, PartitionScheme::Uniform, PartitionScheme::NonUniform}) {
          if (B == 1 && taps > 16384) continue;  // a million partitions of one tap: a valid but slow plan
          const bool zero = mode == 1;
          StreamOptions o{B, zero, scheme};
          o.background = mode == 2;
          PartitionPlan p = plan_partitions(taps, o);
          SCOPED_TRACE(p.describe());
          const std::size_t b = p.block;  // zero latency: the cost model's d <= B
          if (zero) {
            EXPECT_LE(b, B);
          } else {
            EXPECT_EQ(b, B);
          }
          EXPECT_EQ(p.direct_taps, zero ? std::min(b, taps) : 0);
          std::size_t at = p.direct_taps;
          for (const PartitionStage& s : p.stages) {
            EXPECT_EQ(s.offset, at);
            EXPECT_EQ(s.size % b, 0u);
            EXPECT_GE(s.count, 1u);
            EXPECT_LE(s.size, std::max<std::size_t>(b, std::min<std::size_t>(65536, 256 * b)));
            // A stage of P > b spreads its work over a period: it must start 2P - 2b in.
            EXPECT_GE(s.offset - p.direct_taps + 2 * b, 2 * s.size);
            at += s.count * s.size;
          }
          EXPECT_GE(at, taps);
          if (!p.stages.empty()) {
            EXPECT_LT(at - p.stages.back().size, taps);  // no empty partition
          }
          EXPECT_EQ(p.describe(), plan_partitions(taps, o).describe());      // pure
          if (scheme == PartitionScheme::Uniform) {
            EXPECT_LE(p.stages.size(), 1u);
          }
        }
}

TEST(StreamPlan, NonUniformIsCheaperForLongFiltersAndAutoPicksTheCheaper) {
  StreamOptions uni{64, false, PartitionScheme::Uniform}, non{64, false, PartitionScheme::NonUniform},
      aut{64, false, PartitionScheme::Auto};
  const PartitionPlan u = plan_partitions(131072, uni), n = plan_partitions(131072, non), a = plan_partitions(131072, aut);
  EXPECT_GT(u.flops_per_sample, 4 * n.flops_per_sample) << u.describe() << " vs " << n.describe();
  EXPECT_EQ(a.describe(), n.describe());
  // A short filter: one partition; nothing to gain from larger ones.
  EXPECT_EQ(plan_partitions(50, aut).stages.size(), 1u);
}

TEST(StreamPlan, WithAWorkerTheBusierThreadDoesLessThanOneThreadAlone) {
  // The worker takes the stages of 4 blocks and more; the search balances the two threads, so
  // the busier one's flops per sample never exceed the one-thread plan's (which it could pick).
  EXPECT_FALSE(runs_on_worker({64, 3, 0}, 64));
  EXPECT_FALSE(runs_on_worker({192, 3, 0}, 64));
  EXPECT_TRUE(runs_on_worker({256, 3, 0}, 64));
  for (std::size_t B : {16, 64, 256, 1024})
    for (std::size_t taps : {1000, 16384, 131072, 480000, 1048576}) {
      StreamOptions one{B}, two{B};
      two.background = true;
      const PartitionPlan p1 = plan_partitions(taps, one), p2 = plan_partitions(taps, two);
      PartitionPlan only_caller = p2, only_worker = p2;
      only_caller.stages.clear();
      only_worker.stages.clear();
      only_worker.block = B;
      for (const PartitionStage& st : p2.stages) (runs_on_worker(st, B) ? only_worker : only_caller).stages.push_back(st);
      estimate_cost(only_caller);
      estimate_cost(only_worker);
      // (only_worker's estimate includes a block overhead that belongs to the caller.)
      const double busier = std::max(only_caller.flops_per_sample, only_worker.flops_per_sample - 2000.0 / double(B));
      EXPECT_LE(busier, p1.flops_per_sample * (1 + 1e-12)) << taps << " taps, B " << B << ": " << p2.describe();
      if (taps >= 131072 && taps <= 480000 && B >= 64) {  // long filters: the worker takes a real share (at B = 16
        // the partitions stop at 256 B = 4,096 and their products swamp the worker)
        EXPECT_LT(busier, 0.75 * p1.flops_per_sample) << taps << " taps, B " << B << ": " << p2.describe();
      }
    }
}

TEST(StreamPlan, BadArgumentsAreRefused) {
  EXPECT_THROW(plan_partitions(0, {}), Error);
  EXPECT_THROW(plan_partitions(10, StreamOptions{0}), Error);
  EXPECT_THROW(plan_partitions(10, StreamOptions{65537}), Error);
  EXPECT_THROW(parse_partition_scheme("fast"), Error);
  EXPECT_EQ(parse_partition_scheme("non-uniform"), PartitionScheme::NonUniform);
}

TEST(StreamConvolver, MatchesOneShotConvolutionOverRandomBlockSequences) {
  unsigned seed = 1;
  for (std::size_t taps : {1, 5, 64, 65, 300, 3000, 9000})
    for (std::size_t B : {1, 7, 16, 64})
      for (bool zero : {false, true})
        for (auto scheme : {PartitionScheme::Uniform, PartitionScheme::NonUniform}) {
          if (B == 1 && taps > 300) continue;
          const std::vector<float> h = random_signal(taps, ++seed), x = random_signal(taps + 4 * B + 500, ++seed);
          StreamConvolver c(h, StreamOptions{B, zero, scheme});
          const std::string what = "taps " + std::to_string(taps) + " B " + std::to_string(B) + (zero ? " zero-latency " : " ") +
                                   c.plan().describe();
          EXPECT_EQ(c.latency(), zero ? 0u : B);
          expect_matches(stream(c, x, seed), direct(x, h, x.size()), c.latency(), tolerance(taps), what);
        }
}

TEST(StreamConvolver, LongFilterNonUniformAcrossManyStages) {
  // 40,000 taps at B = 32: stages of 32, 128, 512, 2048 ... each spreading its work.
  const std::vector<float> h = random_signal(40000, 7), x = random_signal(44000, 8);
  StreamConvolver c(h, StreamOptions{32, false, PartitionScheme::NonUniform});
  ASSERT_GE(c.plan().stages.size(), 3u) << c.plan().describe();
  expect_matches(stream(c, x, 9), direct(x, h, x.size()), 32, tolerance(40000), c.plan().describe());
}

TEST(StreamConvolver, WholeBlocksGiveEachCallItsOwnOutput) {
  // Calls of whole blocks (an audio callback): latency 0 without a direct head.
  for (auto scheme : {PartitionScheme::Uniform, PartitionScheme::NonUniform}) {
    const std::size_t B = 32;
    const std::vector<float> h = random_signal(5000, 80), x = random_signal(12 * 1024, 81);
    StreamConvolver c(h, StreamOptions{B, false, scheme, true});
    EXPECT_EQ(c.latency(), 0u);
    EXPECT_EQ(c.plan().direct_taps, 0u);
    std::vector<float> y(x.size());
    std::mt19937 g(3);
    for (std::size_t t = 0; t < x.size();) {
      const std::size_t n = std::min<std::size_t>(B * (g() % 5), x.size() - t);  // 0 .. 4 blocks
      c.process(x.data() + t, y.data() + t, n);
      t += n;
    }
    expect_matches(y, direct(x, h, x.size()), 0, tolerance(5000), c.plan().describe());
    std::vector<float> z(B + 1);
    EXPECT_THROW(c.process(z.data(), z.data(), B + 1), Error);
  }
  EXPECT_THROW(StreamConvolver(std::vector<float>{1, 2}, StreamOptions{16, true, PartitionScheme::Auto, true}), Error);
}

TEST(StreamConvolver, FilterMatrixSumsItsInputs) {
  // 3 outputs x 2 inputs: output o = sum_i x_i * h[o][i].
  const std::size_t taps = 700, n = 2500, B = 32;
  Array f(DType::Float64, {3, 2, taps});
  std::vector<std::vector<float>> h(6);
  for (std::size_t p = 0; p < 6; ++p) {
    h[p] = random_signal(taps, 20 + unsigned(p));
    for (std::size_t j = 0; j < taps; ++j) f.data_as<double>()[p * taps + j] = h[p][j];
  }
  const std::vector<float> x0 = random_signal(n, 30), x1 = random_signal(n, 31);
  for (bool zero : {false, true}) {
    StreamConvolver c(f, StreamOptions{B, zero, PartitionScheme::Auto});
    EXPECT_EQ(c.inputs(), 2u);
    EXPECT_EQ(c.outputs(), 3u);
    std::vector<std::vector<float>> y(3, std::vector<float>(n));
    for (std::size_t t = 0; t < n; t += 45) {
      const std::size_t m = std::min<std::size_t>(45, n - t);
      const float* in[2] = {x0.data() + t, x1.data() + t};
      float* out[3] = {y[0].data() + t, y[1].data() + t, y[2].data() + t};
      c.process(in, out, m);
    }
    for (std::size_t o = 0; o < 3; ++o) {
      std::vector<double> want = direct(x0, h[o * 2], n), w1 = direct(x1, h[o * 2 + 1], n);
      for (std::size_t t = 0; t < n; ++t) want[t] += w1[t];
      expect_matches(y[o], want, c.latency(), 2 * tolerance(taps), "output " + std::to_string(o));
    }
    EXPECT_THROW(c.process(x0.data(), y[0].data(), 4), Error);  // one buffer for a 2-in, 3-out filter
  }
}

TEST(StreamConvolver, InPlaceAndResetAndZeroLengthCalls) {
  const std::vector<float> h = random_signal(500, 40), x = random_signal(3000, 41);
  StreamConvolver c(h, StreamOptions{64});
  std::vector<float> y = x;
  c.process(y.data(), y.data(), 0);
  for (std::size_t t = 0; t < y.size(); t += 100) c.process(y.data() + t, y.data() + t, 100);  // in place
  expect_matches(y, direct(x, h, x.size()), 64, tolerance(500), "in place");
  c.reset();
  expect_matches(stream(c, x, 3), direct(x, h, x.size()), 64, tolerance(500), "after reset");
}

TEST(StreamConvolver, ProcessAllocatesNothing) {
#ifdef FC_RUNTIME_OWNS_NEW
  GTEST_SKIP() << "this build's sanitizer runtime owns operator new";
#endif
  for (int mode = 0; mode < 3; ++mode) {
    const bool zero = mode == 1, background = mode == 2;
    const std::vector<float> h = random_signal(20000, 50), x = random_signal(30000, 51);
    StreamOptions options{64, zero, PartitionScheme::NonUniform};
    options.background = background;
    StreamConvolver c(h, options);
    auto next = c.prepare_filter(random_signal(20000, 52));
    std::vector<float> y(x.size());
    std::mt19937 g(5);
    std::uniform_int_distribution<std::size_t> len(0, 200);
    allocations = 0;
    counting = true;
    for (std::size_t t = 0; t < x.size();) {
      const std::size_t n = std::min(len(g), x.size() - t);
      c.process(x.data() + t, y.data() + t, n);
      if (t > 10000 && next) c.swap_filter(std::move(next));  // the swap too
      t += n;
    }
    counting = false;
    EXPECT_EQ(allocations, 0u) << (zero ? "zero latency" : background ? "background" : "latency B");
  }
  // The counter works: a vector's growth is seen.
  counting = true;
  std::vector<int> v(1000);
  counting = false;
  EXPECT_GT(allocations, 0u);
}

TEST(StreamConvolver, SwapIsExactlyOldThenCrossfadeThenExactlyNew) {
  for (int mode = 0; mode < 3; ++mode) {
    const bool zero = mode == 1;
    const std::size_t taps = 6000, B = 64, n = 40000, swap_at = 10000;
    std::size_t cf = 0;  // the crossfade block's first output sample
    std::size_t b = B;   // the engine's block (zero latency: the cost model's d)
    const std::vector<float> h0 = random_signal(taps, 60), h1 = random_signal(taps, 61), x = random_signal(n, 62);
    StreamOptions o{B, zero, PartitionScheme::NonUniform};
    o.background = mode == 2;
    SCOPED_TRACE(mode == 2 ? "background" : zero ? "zero latency" : "latency B");
    StreamConvolver c(h0, o), fresh0(h0, o), fresh1(h1, o);
    std::vector<float> y(n), y0(n), y1(n);
    fresh0.process(x.data(), y0.data(), n);
    fresh1.process(x.data(), y1.data(), n);
    c.process(x.data(), y.data(), swap_at);
    EXPECT_EQ(c.swap_filter(c.prepare_filter(h1)), nullptr);
    b = c.block();
    cf = (swap_at / b + 1) * b + c.transition_samples();
    c.process(x.data() + swap_at, y.data() + swap_at, n - swap_at);
    // Before the crossfade block: the old filter's output exactly.
    for (std::size_t t = 0; t < cf; ++t) ASSERT_EQ(y[t], y0[t]) << t;
    // The crossfade block: between the two filters' outputs, sample by sample (a linear ramp).
    for (std::size_t t = cf; t < cf + b; ++t) {
      const double w = double(t - cf + 1) / b;
      EXPECT_NEAR(y[t], (1 - w) * y0[t] + w * y1[t], 1e-3) << "crossfade sample " << t - cf;
    }
    // After it: exactly the new filter's output.
    ASSERT_LT(cf + b, n);
    for (std::size_t t = cf + b; t < n; ++t) ASSERT_NEAR(y[t], y1[t], 1e-4) << "sample " << t;
    // The retired filter comes back on the next swap, to be freed off the audio thread.
    EXPECT_NE(c.swap_filter(nullptr), nullptr);
  }
}

TEST(StreamConvolver, BackgroundWorkerGivesTheSameStream) {
  // The stages past the first on a worker thread: the output matches the direct convolution and
  // the single-threaded stream (the products are summed in other groups: float32 rounding),
  // whatever the call sizes, for channels, zero latency, whole blocks and after reset. Calls
  // far faster than real time make the calling thread take over tasks the worker has not begun
  // and wait for ones it has: both paths run.
  unsigned seed = 100;
  for (std::size_t taps : {200, 5000, 20000}) {
    const std::vector<float> h = random_signal(taps, ++seed), x = random_signal((taps + 6000) / 64 * 64, ++seed);
    const std::vector<double> want = direct(x, h, x.size());
    for (std::size_t B : {16, 64})
      for (int mode = 0; mode < 3; ++mode) {
        const bool zero = mode == 1, whole = mode == 2;
        StreamOptions o{B, zero, PartitionScheme::NonUniform, whole};
        StreamConvolver plain(h, o);
        o.background = true;
        StreamConvolver c(h, o);
        const std::string what = "taps " + std::to_string(taps) + " B " + std::to_string(B) + " mode " +
                                 std::to_string(mode) + " " + c.plan().describe();
        std::vector<float> y(x.size()), y_plain(x.size());
        for (int pass = 0; pass < 2; ++pass) {  // the second after reset()
          std::mt19937 g(seed + pass);
          for (std::size_t t = 0; t < x.size();) {
            const std::size_t n = std::min<std::size_t>(whole ? B * (g() % 4) : g() % (3 * B + 1), x.size() - t);
            c.process(x.data() + t, y.data() + t, n);
            plain.process(x.data() + t, y_plain.data() + t, n);
            t += n;
          }
          expect_matches(y, want, c.latency(), tolerance(taps), what);
          double worst = 0;
          for (std::size_t t = 0; t < x.size(); ++t) worst = std::max(worst, double(std::abs(y[t] - y_plain[t])));
          EXPECT_LE(worst, tolerance(taps)) << what;
          c.reset();
          plain.reset();
          std::fill(y.begin(), y.end(), 0.0f);
          std::fill(y_plain.begin(), y_plain.end(), 0.0f);
        }
      }
  }
  // A filter matrix (2 inputs, 3 outputs) with a long tail.
  const std::size_t taps = 9000, n = 20000;
  Array f(DType::Float32, {3, 2, taps});
  const std::vector<float> hv = random_signal(6 * taps, 110);
  std::memcpy(f.data(), hv.data(), hv.size() * sizeof(float));
  StreamOptions o{32, false, PartitionScheme::NonUniform};
  StreamConvolver plain(f, o);
  o.background = true;
  StreamConvolver c(f, o);
  const std::vector<float> x0 = random_signal(n, 111), x1 = random_signal(n, 112);
  std::vector<std::vector<float>> y(3, std::vector<float>(n)), yp = y;
  for (std::size_t t = 0; t < n; t += 50) {
    const std::size_t m = std::min<std::size_t>(50, n - t);
    const float* in[2] = {x0.data() + t, x1.data() + t};
    float* out[3] = {y[0].data() + t, y[1].data() + t, y[2].data() + t};
    float* outp[3] = {yp[0].data() + t, yp[1].data() + t, yp[2].data() + t};
    c.process(in, out, m);
    plain.process(in, outp, m);
  }
  for (std::size_t ch = 0; ch < 3; ++ch)
    for (std::size_t t = 0; t < n; ++t) ASSERT_NEAR(y[ch][t], yp[ch][t], 2 * tolerance(taps)) << "output " << ch << " sample " << t;
  // Objects with workers are destroyed and moved while tasks may be in flight.
  for (int k = 0; k < 20; ++k) {
    StreamConvolver a(random_signal(3000, 120 + k), o), b(random_signal(3000, 140 + k), o);
    std::vector<float> z(1000);
    a.process(x0.data(), z.data(), 1000);
    b = std::move(a);
    b.process(x0.data(), z.data(), 500);
  }
}

TEST(StreamConvolver, BackgroundObjectsCarryOnInAForkedChild) {
#ifdef FC_RUNTIME_OWNS_NEW
  GTEST_SKIP() << "fork() under a sanitizer runtime";
#endif
  // A child has no worker: a task the parent's worker was running at the fork is redone by the
  // caller (it used to spin forever). Forks at many points, some inside a task.
  const std::vector<float> h = random_signal(60000, 130), x = random_signal(120000, 131);
  StreamOptions o{64};
  StreamConvolver plain(h, o);
  std::vector<float> want(x.size());
  plain.process(x.data(), want.data(), x.size());
  o.background = true;
  for (int k = 0; k < 12; ++k) {
    StreamConvolver c(h, o);
    std::vector<float> y(x.size());
    // Right after the block that posts the longest stage's task (the worker is then inside it),
    // or at other points.
    const std::size_t P = c.plan().stages.back().size;
    const std::size_t at = k % 2 ? P * (1 + std::size_t(k) / 2) : 20000 + 6400 * std::size_t(k);
    c.process(x.data(), y.data(), at);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::alarm(30);  // a hang ends the child with SIGALRM
      c.process(x.data() + at, y.data() + at, x.size() - at);
      double worst = 0;
      for (std::size_t t = 0; t < x.size(); ++t) worst = std::max(worst, double(std::abs(y[t] - want[t])));
      ::_exit(worst <= tolerance(60000) ? 0 : 3);
    }
    c.process(x.data() + at, y.data() + at, x.size() - at);  // the parent too
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "fork at sample " << at << ": child " << (WIFSIGNALED(status) ? "killed by signal " + std::to_string(WTERMSIG(status)) : "exit " + std::to_string(WEXITSTATUS(status)));
  }
}

TEST(StreamConvolver, BadInputIsRefusedWithClearErrors) {
  auto refused = [](auto f, const std::string& needle) {
    try {
      f();
      ADD_FAILURE() << "no error: " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  refused([] { StreamConvolver c(std::vector<float>{}); }, "filter");
  refused([] { StreamConvolver c(std::vector<float>{1, NAN, 2}); }, "finite");
  refused([] { StreamConvolver c(std::vector<float>{1, INFINITY}); }, "finite");
  refused([] { StreamConvolver c(std::vector<float>{1, 2}, StreamOptions{0}); }, "block");
  refused([] { StreamConvolver c(Array(DType::Float32, {2, 3})); }, "(outputs, inputs, taps)");
  refused([] { StreamConvolver c(Array(DType::Int32, {3})); }, "float32 or float64");
  StreamConvolver c(std::vector<float>{1, 2, 3});
  refused([&] { c.prepare_filter(std::vector<float>{1, 2}); }, "shape");
  refused([&] { c.prepare_filter(std::vector<float>{1, NAN, 2}); }, "finite");
  // A filter prepared by a convolver of another plan has another layout: refused.
  const std::vector<float> h = random_signal(5000, 70);
  StreamConvolver a(h, StreamOptions{64}), b(h, StreamOptions{1024});
  refused([&] { a.swap_filter(b.prepare_filter(h)); }, "another shape or plan");
  // float64 taps beyond float32's range are named as such, not as Inf.
  Array big(DType::Float64, {3});
  big.data_as<double>()[1] = 1e300;
  refused([&] { StreamConvolver x(big); }, "float32's range");
  // The whole state is checked against the memory limit before anything is allocated.
  fctest::LimitGuard limit(std::size_t(1) << 20);
  refused([] { StreamConvolver x(std::vector<float>(1 << 20, 0.1f), StreamOptions{1, false, PartitionScheme::Uniform}); },
          "memory limit");
}
