// The cost model behind method auto (src/signal/choose.cpp, calibrate.cpp): its picks on
// measured crossovers and on issue 15's grid, the rows it counts, and this machine's scales
// (when they are measured, what they multiply, and the pick with and without them).
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstdlib>
#include <thread>
#include <tuple>
#include <vector>

#include "fourierconv/signal.hpp"
#include "signal/choose.hpp"
#include "signal/engine.hpp"
#include "signal/geometry.hpp"
#include "simd.hpp"

using namespace fourierconv;

namespace {

// The cost model's pick on 2 threads (the reference machine's; the model divides each
// method's work by the threads it gets), so that these checks hold wherever the tests run.
Method model_pick(DType t, const Shape& xs, const Shape& ks, Mode mode, int threads = 2) {
  namespace detail = signal::detail;
  const detail::Geometry g = detail::make_geometry(xs, ks, mode, {}, false, detail::Rules::Convolve);
  const DType ft = t == DType::Float32 || t == DType::Complex64 ? t : is_complex(t) ? DType::Complex128 : DType::Float64;
  const detail::Costs c = detail::estimate_costs(g, t, ft, true, threads);
  return c.direct <= c.fft && c.direct <= c.blocked ? Method::Direct : c.fft <= c.blocked ? Method::Fft : Method::OverlapAdd;
}
Method auto_choice(DType t, const Shape& xs, const Shape& ks, Mode mode) { return model_pick(t, xs, ks, mode); }

// The cost model on cases measured on both sides of its crossovers (BENCHMARKS.md): tiny
// problems stay direct (exact, as scipy's tests expect); small kernels on images direct; a
// complex kernel of 7 x 7 on a large image in overlap-save tiles (34 ms direct against 8.6 in
// tiles: a one-grid bound once kept the tiles from being considered); 15 x 15 on 256^2 float32
// in tiles (1.06 ms direct, 0.53 tiled).
TEST(Signal, AutoChoiceOnMeasuredCrossovers) {
  EXPECT_EQ(auto_choice(DType::Complex128, {3}, {2}, Mode::Valid), Method::Direct);
  EXPECT_EQ(auto_choice(DType::Float32, {4, 4, 4}, {3, 3, 3}, Mode::Full), Method::Direct);
  EXPECT_EQ(auto_choice(DType::Float32, {1024, 1024}, {3, 3}, Mode::Same), Method::Direct);
  EXPECT_EQ(auto_choice(DType::Float64, {256, 256}, {7, 7}, Mode::Same), Method::Direct);
  EXPECT_EQ(auto_choice(DType::Complex128, {1024, 1024}, {7, 7}, Mode::Same), Method::OverlapAdd);
  // 256^2 float32 * 15^2: overlap-add 0.53 ms against 0.67 direct on a Zen 3 (8-float vectors);
  // on AVX-512 the several-rows kernel takes 0.23 ms against 0.44-0.72 (one-shot overlap-add).
  EXPECT_EQ(auto_choice(DType::Float32, {256, 256}, {15, 15}, Mode::Same),
            simd::wide_vectors() ? Method::Direct : Method::OverlapAdd);
  EXPECT_EQ(auto_choice(DType::Float32, {512, 512}, {31, 31}, Mode::Same), Method::OverlapAdd);
  EXPECT_EQ(auto_choice(DType::Float32, {1000000}, {1025}, Mode::Full), Method::OverlapAdd);
}

// Issue 15's grid on the reference machine (2 threads, AVX-512; BENCHMARKS.md 0f), where the
// Zen 3 constants picked a method 1.5-4x slower than the fastest: small images with large
// kernels go direct or to one whole-grid FFT, not to tiles; 1-D signals with a few hundred taps
// go to tiles of the cheaper transform, not to the one-row direct sum.
TEST(Signal, AutoChoiceOnIssue15Grid) {
  if (simd::wide_vectors()) {
    // On the plane transforms (plane_grid): 16 us against 23-27 direct (FFTW's grid took 32).
    if (!std::getenv("FOURIERCONV_NO_PLANE_FFT"))
      EXPECT_EQ(model_pick(DType::Float32, {64, 64}, {31, 31}, Mode::Same), Method::Fft);
    EXPECT_EQ(model_pick(DType::Float32, {128, 128}, {31, 31}, Mode::Same), Method::Fft);       // 60 us; direct 76
    EXPECT_EQ(model_pick(DType::Float32, {256, 256}, {15, 15}, Mode::Same), Method::Direct);    // 93 us; tiles 308
  }
  EXPECT_EQ(model_pick(DType::Float32, {128, 128}, {63, 63}, Mode::Same), Method::Fft);         // 140 us; tiles 231
  EXPECT_EQ(model_pick(DType::Float32, {1024, 1024}, {63, 63}, Mode::Same), Method::OverlapAdd);  // 3.6 ms; fft 6.0
  EXPECT_EQ(model_pick(DType::Float32, {100000}, {64}, Mode::Full), Method::OverlapAdd);        // 140 us; direct 340
  EXPECT_EQ(model_pick(DType::Float64, {8192}, {257}, Mode::Full), Method::OverlapAdd);         // 34 us; direct 130
  // One 1-D signal's direct sum runs on one thread however many there are (engine_direct.cpp):
  // more threads must not make the model prefer it.
  EXPECT_EQ(model_pick(DType::Float32, {100000}, {64}, Mode::Full, 16), Method::OverlapAdd);
  EXPECT_EQ(model_pick(DType::Float64, {8192}, {257}, Mode::Full, 16), Method::OverlapAdd);
}

// This machine's scales (calibrate.cpp): each within [1/3, 3], measured once per process (the
// same factors again), and multiplying the work of the estimates they name (not the fixed part
// per call): the direct sum's, the FFTW transforms' (float64; a float32 1-D signal) and the
// plane transforms' (float32 in two axes).
TEST(Signal, CostModelScalesMultiplyTheirEstimates) {
  namespace detail = signal::detail;
  for (DType t : {DType::Float32, DType::Float64}) {
    const signal::CostModelScales s = signal::cost_model_scales(t), again = signal::cost_model_scales(t);
    for (double v : {s.direct, s.fft, s.plane_fft}) {
      EXPECT_GE(v, 1 / detail::kMaxScale) << to_string(t);
      EXPECT_LE(v, detail::kMaxScale) << to_string(t);
    }
    EXPECT_EQ(s.direct, again.direct);
    EXPECT_EQ(s.fft, again.fft);
    EXPECT_EQ(s.plane_fft, again.plane_fft);
  }
  auto costs = [](DType t, const Shape& xs, const Shape& ks, const signal::CostModelScales& s) {
    const detail::Geometry g = detail::make_geometry(xs, ks, Mode::Same, {}, false, detail::Rules::Convolve);
    return detail::estimate_costs(g, t, t, true, 2, s);
  };
  struct Case {
    DType t;
    Shape xs, ks;
    bool planes;  // the whole grid and the tiles on the plane transforms
  };
  for (const Case& c : {Case{DType::Float32, {256, 256}, {41, 41}, true}, Case{DType::Float64, {256, 256}, {41, 41}, false},
                        Case{DType::Float32, {20000}, {501}, false}}) {
    const detail::Costs one = costs(c.t, c.xs, c.ks, {});
    ASSERT_TRUE(std::isfinite(one.fft)) << shape_to_string(c.xs);
    const detail::Costs d = costs(c.t, c.xs, c.ks, {2, 1, 1});
    const detail::Costs f = costs(c.t, c.xs, c.ks, {1, 2, 1});
    const detail::Costs p = costs(c.t, c.xs, c.ks, {1, 1, 2});
    const double df = one.direct_fixed, ff = one.fft_fixed;
    EXPECT_GT(df, 0);
    EXPECT_GT(ff, df);
    EXPECT_DOUBLE_EQ(d.direct - df, 2 * (one.direct - df));
    EXPECT_DOUBLE_EQ(d.fft, one.fft);
    EXPECT_DOUBLE_EQ(d.blocked, one.blocked);
    EXPECT_DOUBLE_EQ(f.direct, one.direct);
    EXPECT_DOUBLE_EQ(f.fft - ff, (c.planes ? 1 : 2) * (one.fft - ff)) << shape_to_string(c.xs);
    EXPECT_DOUBLE_EQ(f.blocked - ff, (c.planes ? 1 : 2) * (one.blocked - ff)) << shape_to_string(c.xs);
    EXPECT_DOUBLE_EQ(p.fft - ff, (c.planes ? 2 : 1) * (one.fft - ff)) << shape_to_string(c.xs);
    EXPECT_DOUBLE_EQ(p.blocked - ff, (c.planes ? 2 : 1) * (one.blocked - ff)) << shape_to_string(c.xs);
  }
}

// When choose_by_model measures the scales: only where some scales in [1/3, 3] could change
// the pick among the estimated methods. Never where the direct sum is under the FFT methods'
// lower bound (they are not estimated; every small filter: a first 3 x 3 call pays nothing) or
// far from a crossover; near one, yes; an overlap-add of one tile is the whole-grid FFT, not a
// second candidate. Against brute force: every scale triple on a grid of [1/3, 3]^3, for the
// shapes whose methods were all estimated and where it says "cannot change".
TEST(Signal, ScalesAreMeasuredOnlyWhereTheyCouldChangeThePick) {
  namespace detail = signal::detail;
  auto geometry = [](const Shape& xs, const Shape& ks, Mode mode) {
    return detail::make_geometry(xs, ks, mode, {}, false, detail::Rules::Convolve);
  };
  auto can_change = [&](DType t, const Shape& xs, const Shape& ks, Mode mode) {
    return detail::scales_can_change_choice(detail::estimate_costs(geometry(xs, ks, mode), t, t, true, 2));
  };
  EXPECT_FALSE(can_change(DType::Float32, {64, 64}, {3, 3}, Mode::Same));
  EXPECT_FALSE(can_change(DType::Float64, {8}, {6}, Mode::Full));
  EXPECT_TRUE(can_change(DType::Float32, {256, 256}, {21, 21}, Mode::Same));
  // (With 8-float vectors, no AVX-512, the direct sum of 1024^2 and up is within 9x of the
  // FFT methods' estimates: measured there.)
  for (std::size_t n : {128, 256, 1024, 2048})
    if (n <= 256 || simd::wide_vectors()) EXPECT_FALSE(can_change(DType::Float32, {n, n}, {3, 3}, Mode::Same)) << n;
  EXPECT_FALSE(can_change(DType::Float32, {512}, {255}, Mode::Full));  // under the bound: fitted pick kept
  const detail::Costs cut = detail::estimate_costs(geometry({512}, {255}, Mode::Full), DType::Float32, DType::Float32, true, 2);
  EXPECT_GT(cut.fft_bound, 0);
  auto pick = [](const detail::Costs& c) { return c.direct <= c.fft && c.direct <= c.blocked ? 0 : c.fft <= c.blocked ? 1 : 2; };
  const double steps[] = {1 / 3.0, 0.5, 1, 2, 3};
  int checked = 0;
  for (DType t : {DType::Float32, DType::Float64, DType::Complex128})
    for (std::size_t n : {16, 64, 200, 512, 2048, 16384, 131072})
      for (std::size_t k : {2, 3, 9, 33, 129, 513})
        for (std::size_t rank : {1, 2}) {
          if (k > n || (rank == 2 && n > 2048)) continue;
          const Shape xs(rank, n), ks(rank, k);
          const detail::Geometry g = geometry(xs, ks, Mode::Same);
          const detail::Costs fitted = detail::estimate_costs(g, t, t, true, 2);
          if (fitted.fft_bound > 0 || detail::scales_can_change_choice(fitted)) continue;
          ++checked;
          for (double a : steps)
            for (double b : steps)
              for (double c : steps)
                EXPECT_EQ(pick(detail::estimate_costs(g, t, t, true, 2, {a, b, c})), pick(fitted))
                    << to_string(t) << " " << shape_to_string(xs) << " * " << shape_to_string(ks) << " scales " << a << " " << b
                    << " " << c;
        }
  EXPECT_GE(checked, 10);
}

// Method auto with the scales picks the cheapest of the scaled estimates; with
// ConvolveOptions::calibrate false, of the fitted ones (model_pick). A shape near the
// crossovers (256^2 * 21^2, where the fitted constants took the whole-grid FFT at 1.6-1.7x
// the direct sum's time on an Intel Xeon and 1.2x overlap-add's on an AMD Zen 4) and one far
// from them.
TEST(Signal, AutoPicksTheCheapestScaledEstimate) {
  namespace detail = signal::detail;
  const int threads = omp_get_max_threads();
  for (const auto& [xs, ks] : std::vector<std::pair<Shape, Shape>>{{{256, 256}, {21, 21}}, {{64, 64}, {3, 3}}})
    for (DType t : {DType::Float32, DType::Float64}) {
      const Array x(t, xs), k(t, ks);
      const MethodChoice scaled = signal::choose_conv_method(x.view(), k.view(), Mode::Same);
      signal::ConvolveOptions fitted_only;
      fitted_only.calibrate = false;
      const MethodChoice fitted = signal::choose_conv_method(x.view(), k.view(), Mode::Same, false, fitted_only);
      EXPECT_EQ(fitted.method, model_pick(t, xs, ks, Mode::Same, threads)) << shape_to_string(ks);
      const detail::Geometry g = detail::make_geometry(xs, ks, Mode::Same, {}, false, detail::Rules::Convolve);
      const detail::Costs c = detail::estimate_costs(g, t, t, true, threads, signal::cost_model_scales(t));
      const Method want = c.direct <= c.fft && c.direct <= c.blocked ? Method::Direct
                          : c.fft <= c.blocked                      ? Method::Fft
                                                                    : Method::OverlapAdd;
      EXPECT_EQ(scaled.method, want) << shape_to_string(ks) << " " << scaled.reason;
      if (ks[0] == 3) EXPECT_EQ(scaled.method, Method::Direct);  // far from any crossover
    }
}

// The direct sum skips rows of the fill value (engine_direct.cpp), so the model counts only the
// kernel taps whose source is in x on the leading axes: reached_share against a brute-force
// count ('same' 64^2 * 63^2 sums 75% of the nominal kernel rows), and the direct estimate lower by
// that share where the extension is symmetric (every row read).
TEST(Signal, DirectEstimateCountsOnlyRowsInsideTheImage) {
  namespace detail = signal::detail;
  for (const auto& [n, k, mode] : std::vector<std::tuple<std::size_t, std::size_t, Mode>>{
           {64, 63, Mode::Same}, {100, 9, Mode::Full}, {37, 20, Mode::Same}, {5, 12, Mode::Full}, {50, 7, Mode::Valid}}) {
    const detail::Geometry g = detail::make_geometry({n, n}, {k, k}, mode, {}, false, detail::Rules::Convolve);
    double reached = 0;
    for (std::size_t o = 0; o < g.axes[0].out; ++o)
      for (std::size_t u = 0; u < g.axes[0].k; ++u) reached += g.axes[0].source(o + u) >= 0;
    const double share = reached / double(g.axes[0].out * g.axes[0].k);
    EXPECT_NEAR(detail::reached_share(g.axes[0]), share, 1e-12) << n << " " << k;
    detail::Geometry symmetric = g;
    symmetric.axes[0].ext = detail::Extension::Symmetric;
    EXPECT_EQ(detail::reached_share(symmetric.axes[0]), 1.0);
    const double fill = detail::estimate_costs(g, DType::Float32, DType::Float32, true, 1).direct;
    const double all = detail::estimate_costs(symmetric, DType::Float32, DType::Float32, true, 1).direct;
    if (share == 1) EXPECT_DOUBLE_EQ(fill, all) << n << " " << k;
    else EXPECT_LT(fill, all) << n << " " << k;
  }
  EXPECT_NEAR(detail::reached_share(detail::make_geometry({64, 64}, {63, 63}, Mode::Same, {}, false,
                                                          detail::Rules::Convolve).axes[0]), 0.754, 0.001);
}

// choose_conv_method (what method="auto" runs) is the model on this process's OpenMP threads.
TEST(Signal, AutoChoiceIsTheModelOnThisProcesssThreads) {
  for (const auto& [xs, ks] : std::vector<std::pair<Shape, Shape>>{{{64, 64}, {31, 31}}, {{1024, 1024}, {31, 31}}, {{8192}, {257}}}) {
    Array x(DType::Float32, xs), k(DType::Float32, ks);
    signal::ConvolveOptions fitted_only;  // (with this machine's scales: AutoPicksTheCheapestScaledEstimate)
    fitted_only.calibrate = false;
    EXPECT_EQ(signal::choose_conv_method(x.view(), k.view(), Mode::Same, false, fitted_only).method,
              model_pick(DType::Float32, xs, ks, Mode::Same, omp_get_max_threads()))
        << shape_to_string(xs);
  }
}

// Method auto's first calls from several threads at once: the scales are measured once
// (std::call_once) and every thread gets the same choice and estimates (ThreadSanitizer runs
// this: tests/sanitize/tsan-tests.txt).
TEST(Signal, ConcurrentFirstCallsGetTheSameScaledChoice) {
  const Array x(DType::Float32, {256, 256}), k(DType::Float32, {21, 21});
  std::vector<MethodChoice> got(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < got.size(); ++t)
    threads.emplace_back([&, t] { got[t] = signal::choose_conv_method(x.view(), k.view(), Mode::Same); });
  for (auto& t : threads) t.join();
  for (const MethodChoice& c : got) {
    EXPECT_EQ(c.reason, got[0].reason);
    EXPECT_NE(c.reason.find("(scaled to this machine)"), std::string::npos) << c.reason;
  }
}

}  // namespace
