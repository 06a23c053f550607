// fourierconv bench [--json] [--repeats N] [--calibrate]
// In-process timings (median of repeats, after one warm-up) of the convolution paths on a
// few standard shapes. The Google Benchmark suite (make bench) is the thorough version.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <iomanip>
#include <iostream>
#include <random>
#include <sstream>
#include <vector>

#include "common.hpp"
#include "fourierconv/convolve.hpp"
#include "fourierconv/fft.hpp"
#include "fourierconv/filters.hpp"

namespace fourierconv::cli {
namespace {

double median_us(const std::function<void()>& f, int repeats) {
  f();  // warm-up: plans, caches, page faults
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    auto a = std::chrono::steady_clock::now();
    f();
    auto b = std::chrono::steady_clock::now();
    t.push_back(std::chrono::duration<double, std::micro>(b - a).count());
  }
  std::nth_element(t.begin(), t.begin() + static_cast<std::ptrdiff_t>(t.size() / 2), t.end());
  return t[t.size() / 2];
}

Tensor random_tensor(Shape s, unsigned seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(-1, 1);
  Tensor t(std::move(s));
  for (auto& v : t) v = d(g);
  return t;
}

struct Row {
  std::string name, detail;
  double us;
};

void calibrate(int repeats) {
  // Direct: ns per multiply-add of a 7x7 kernel on 256x256.
  Tensor x = random_tensor({256, 256}, 1), k = random_tensor({7, 7}, 2);
  double d = median_us([&] { convolve(x, k, Mode::Same, Method::Direct); }, repeats);
  double macs = 256.0 * 256 * 49;
  // FFT: one real 2-D transform pair of 256x256, Estimate plans.
  auto plan = FftPlan::get({256, 256}, 1, FftRigor::Estimate);
  AlignedVector<float> re(256 * 256);
  AlignedVector<Complex> sp(plan->spectrum_size());
  double f = median_us([&] { plan->forward(re.data(), sp.data()); }, repeats);
  double n = 256.0 * 256;
  std::cout << "kDirectNsPerMac = " << d * 1e3 / macs << "\n";
  std::cout << "kFftNsPerPoint  = " << f * 1e3 / (n * std::log2(n)) << "\n";
}

}  // namespace

void setup_bench(CLI::App& sub) {
  struct Opts {
    bool json = false, calibrate = false;
    int repeats = 21;
  };
  auto o = std::make_shared<Opts>();
  sub.add_flag("--json", o->json, "print JSON instead of a table");
  sub.add_option("--repeats", o->repeats, "timed repeats per case (median reported)")->capture_default_str();
  sub.add_flag("--calibrate", o->calibrate, "measure the constants of convolve's auto cost model");
  sub.callback([o] {
    const int reps = std::max(1, o->repeats);
    if (o->calibrate) return calibrate(reps);
    std::vector<Row> rows;
    {
      // The seed case: 128x128 image, fixed 128x128 sinc kernel, circular; planned once.
      Tensor x = random_tensor({128, 128}, 1);
      Convolver conv({128, 128}, filter_sinc_kernel(128, 8.0), Mode::Circular);
      Tensor y({128, 128});
      rows.push_back({"convolver_seed_sinc_128", "Convolver circular 128x128, fixed 128x128 kernel",
                      median_us([&] { conv.execute(x.data(), y.data(), 1); }, reps)});
      auto plan = FftPlan::get({128, 128});
      AlignedVector<float> re(128 * 128), out(128 * 128);
      AlignedVector<Complex> sp(plan->spectrum_size()), h(plan->spectrum_size(), Complex(0.5f, 0.1f));
      rows.push_back({"bare_fftw_128", "FftPlan r2c + product + c2r, 128x128 (the limit)", median_us([&] {
                        std::copy(x.begin(), x.end(), re.begin());
                        plan->forward(re.data(), sp.data());
                        for (std::size_t i = 0; i < sp.size(); ++i) sp[i] *= h[i];
                        plan->inverse_unscaled(sp.data(), out.data());
                      }, reps)});
    }
    {
      Tensor x = random_tensor({32, 16, 64, 64}, 3);
      Convolver conv({64, 64}, filter_sinc_kernel(9, 2.0), Mode::Circular);
      Tensor y(x.shape());
      rows.push_back({"convolver_batch_32x16_64", "Convolver circular, 512 planes of 64x64",
                      median_us([&] { conv.execute(x.data(), y.data(), 512); }, std::max(3, reps / 3))});
    }
    struct Case {
      const char* name;
      std::size_t n, k;
      Mode mode;
    };
    for (Case c : {Case{"convolve_auto_3x3_on_64", 64, 3, Mode::Same}, Case{"convolve_auto_15x15_on_256", 256, 15, Mode::Same},
                   Case{"convolve_auto_31x31_on_1024", 1024, 31, Mode::Same},
                   Case{"convolve_auto_128_on_128_full", 128, 128, Mode::Full}}) {
      Tensor x = random_tensor({c.n, c.n}, 4), k = random_tensor({c.k, c.k}, 5);
      MethodChoice ch = choose_method(x.shape(), k.shape(), c.mode);
      rows.push_back({c.name, "convolve(" + to_string(c.mode) + ", auto) -> " + to_string(ch.method),
                      median_us([&] { convolve(x, k, c.mode, Method::Auto); }, c.n >= 1024 ? std::max(3, reps / 4) : reps)});
    }
    if (o->json) {
      std::cout << "[\n";
      for (std::size_t i = 0; i < rows.size(); ++i)
        std::cout << "  {\"name\": \"" << rows[i].name << "\", \"detail\": \"" << rows[i].detail
                  << "\", \"median_us\": " << rows[i].us << "}" << (i + 1 < rows.size() ? "," : "") << "\n";
      std::cout << "]\n";
      return;
    }
    std::cout << std::left << std::setw(32) << "case" << std::right << std::setw(12) << "median us" << "  detail\n";
    for (auto& r : rows)
      std::cout << std::left << std::setw(32) << r.name << std::right << std::setw(12) << std::fixed << std::setprecision(1)
                << r.us << "  " << r.detail << "\n";
  });
}

}  // namespace fourierconv::cli
