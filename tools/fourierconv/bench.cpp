// fourierconv bench [--json] [--repeats N] [--calibrate [--quick]]
// In-process timings (median of repeats, after one warm-up) of the convolution paths on a
// few standard shapes. The Google Benchmark suite (make bench) is the thorough version.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <iomanip>
#include <iostream>
#include <random>
#include <sstream>
#include <vector>

#include "bench_cases.hpp"
#include "common.hpp"
#include "fourierconv/convolve.hpp"
#include "fourierconv/signal.hpp"
#include "fourierconv/fft.hpp"
#include "fourierconv/conv/choose.hpp"
#include "fourierconv/conv/winograd.hpp"
#include "fourierconv/conv/direct.hpp"
#include "fourierconv/conv/fft.hpp"
#include "fourierconv/filters.hpp"
#include "fourierconv/nn/layers/fourier_conv2d.hpp"
#include "fourierconv/nn/models.hpp"
#include "fourierconv/nn/layers/spectral_conv2d.hpp"
#include "fourierconv/nn/sequential.hpp"
#include "fourierconv/nn/initializers.hpp"

namespace fourierconv::cli {

double median_us(const std::function<void()>& f, int repeats) {
  for (int w = 0; w < 3; ++w) f();  // warm-up: plans, caches, page faults, the OpenMP team
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

namespace {

Tensor random_tensor(Shape s, unsigned seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(-1, 1);
  Tensor t(std::move(s));
  for (auto& v : t) v = d(g);
  return t;
}

// The one-shot cost model (src/signal/choose.cpp) against the clock on issue 15's grid
// (float32 images of 64^2 to 4096^2, 'same', square kernels of 3 to 63, the grid's sizes and
// the odd ones between): every method timed in alternated rounds (each round's order rotated;
// a call repeated to at least 2 ms), the median per method, and method auto's pick with this
// machine's scales (cost_model_scales) and with the fitted constants alone, each as its time
// over the fastest's. quick: images to 512^2.
void calibrate(int rounds, bool quick) {
  for (DType t : {DType::Float32, DType::Float64}) {
    const signal::CostModelScales s = signal::cost_model_scales(t);
    std::cout << "cost model scales, " << to_string(t) << ": direct " << s.direct << ", fft " << s.fft
              << ", plane fft " << s.plane_fft << "\n";
  }
  std::cout << omp_get_max_threads() << " threads, float32 'same', " << rounds
            << " rounds; us measured (estimated with the scales)\n";
  const std::size_t sizes[] = {64, 128, 256, 512, 1024, 2048, 4096};
  const std::size_t kernels[] = {3, 5, 7, 9, 11, 15, 21, 31, 41, 63};
  const Method methods[] = {Method::Direct, Method::Fft, Method::OverlapAdd};
  {  // The OpenMP team's first parallel regions: on a 2-vCPU VM they took ~5 ms each for the
     // first tens of milliseconds of a process (the new thread not yet running).
    const Tensor x = random_tensor({64, 64}, 1), k = random_tensor({5, 5}, 2);
    const auto a = std::chrono::steady_clock::now();
    while (std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count() < 0.2)
      signal::convolve(ArrayView::contiguous(DType::Float32, {64, 64}, x.data()),
                       ArrayView::contiguous(DType::Float32, {5, 5}, k.data()), Mode::Same, Method::Direct);
  }
  int shapes = 0, ok_scaled = 0, ok_fitted = 0;
  double worst_scaled = 1, worst_fitted = 1;
  for (std::size_t n : sizes) {
    if (quick && n > 512) break;
    const Tensor x = random_tensor({n, n}, 1);
    const ArrayView xv = ArrayView::contiguous(DType::Float32, {n, n}, x.data());
    for (std::size_t m : kernels) {
      if (m > n) continue;
      const Tensor k = random_tensor({m, m}, 2);
      const ArrayView kv = ArrayView::contiguous(DType::Float32, {m, m}, k.data());
      const MethodChoice scaled = signal::choose_conv_method(xv, kv, Mode::Same);
      signal::ConvolveOptions fitted_only;
      fitted_only.calibrate = false;
      const MethodChoice fitted = signal::choose_conv_method(xv, kv, Mode::Same, false, fitted_only);
      std::vector<double> times[3];
      for (Method me : methods) signal::convolve(xv, kv, Mode::Same, me);  // plans, buffers
      for (int r = 0; r < rounds; ++r)
        for (int j = 0; j < 3; ++j) {
          const int i = (j + r) % 3;
          int calls = 0;
          const auto a = std::chrono::steady_clock::now();
          double us = 0;
          do {
            signal::convolve(xv, kv, Mode::Same, methods[i]);
            ++calls;
            us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - a).count();
          } while (us < 2000);
          times[i].push_back(us / calls);
        }
      double med[3];
      for (int i = 0; i < 3; ++i) {
        std::sort(times[i].begin(), times[i].end());
        med[i] = times[i][times[i].size() / 2];
      }
      const double best = *std::min_element(med, med + 3);
      auto ratio = [&](Method me) { return med[me == Method::Direct ? 0 : me == Method::Fft ? 1 : 2] / best; };
      const double rs = ratio(scaled.method), rf = ratio(fitted.method);
      ++shapes, ok_scaled += rs <= 1.2, ok_fitted += rf <= 1.2;
      worst_scaled = std::max(worst_scaled, rs), worst_fitted = std::max(worst_fitted, rf);
      const double est[] = {scaled.direct_us, scaled.fft_us, scaled.overlap_add_us};
      std::cout << n << "^2 * " << m << "^2:";
      for (int i = 0; i < 3; ++i)
        std::cout << " " << to_string(methods[i]) << " " << std::setprecision(4) << med[i] << " (" << est[i] << ")";
      std::cout << "; auto " << to_string(scaled.method) << " " << std::setprecision(3) << rs << "x, fitted "
                << to_string(fitted.method) << " " << rf << "x" << std::endl;
    }
  }
  std::cout << "within 1.2x of the fastest: with the scales " << ok_scaled << "/" << shapes << " (worst " << worst_scaled
            << "x), fitted constants " << ok_fitted << "/" << shapes << " (worst " << worst_fitted << "x)\n";
}

}  // namespace

void setup_bench(CLI::App& sub) {
  struct Opts {
    bool json = false, calibrate = false, quick = false;
    int repeats = 21;
    std::string filter;
  };
  auto o = std::make_shared<Opts>();
  sub.add_flag("--json", o->json, "print JSON instead of a table");
  CLI::Option* repeats =
      sub.add_option("--repeats", o->repeats, "timed repeats per case (median reported); with --calibrate: rounds, default 5 (median per method)")
          ->capture_default_str();
  sub.add_flag("--calibrate", o->calibrate, "time every method of convolve (float32 'same', images 64^2..4096^2, kernels 3..63) beside method auto's picks with and without this machine's scales, as each pick's time over the fastest (--quick: images to 512^2; --filter does not apply)");
  sub.add_flag("--quick", o->quick, "one case per group (a smoke run)");
  sub.add_option("--filter", o->filter, "only the groups of cases whose names contain this text (e.g. conv2d_256x16)");
  sub.callback([o, repeats] {
    const int reps = std::max(1, o->repeats);
    if (o->calibrate) return calibrate(repeats->count() ? reps : 5, o->quick);
    std::vector<Row> rows;
    auto quick = o->quick;
    // A group runs when the filter is empty or occurs in one of its case names.
    auto wanted = [&](std::initializer_list<std::string> names) {
      if (o->filter.empty()) return true;
      for (const auto& n : names)
        if (n.find(o->filter) != std::string::npos) return true;
      return false;
    };
    // The seed's fixed filter: circular n x n, planned once, vs FFTW alone doing r2c, product, c2r.
    for (std::size_t n : {64, 128, 256, 512}) {
      if (!wanted({"circular_" + std::to_string(n), "bare_fftw_" + std::to_string(n)})) continue;
      Tensor x = random_tensor({n, n}, 1), y({n, n});
      Convolver conv({n, n}, filter_sinc_kernel(n, 8.0), Mode::Circular);
      rows.push_back({"circular_" + std::to_string(n), "Convolver circular, fixed n x n sinc kernel",
                      median_us([&] { conv.execute(x.data(), y.data(), 1); }, reps)});
      auto plan = FftPlan::get({n, n});
      AlignedVector<float> re(n * n), out(n * n);
      AlignedVector<Complex> sp(plan->spectrum_size()), h(plan->spectrum_size(), Complex(0.5f, 0.1f));
      rows.push_back({"bare_fftw_" + std::to_string(n), "FftPlan r2c + product + c2r (the limit)", median_us([&] {
                        std::copy(x.begin(), x.end(), re.begin());
                        plan->forward(re.data(), sp.data());
                        for (std::size_t i = 0; i < sp.size(); ++i) sp[i] *= h[i];
                        plan->inverse_unscaled(sp.data(), out.data());
                      }, reps)});
      if (quick) break;
    }
    if (wanted({"batch_32x16_64"})) {
      Tensor x = random_tensor({32, 16, 64, 64}, 3);
      Convolver conv({64, 64}, filter_sinc_kernel(64, 4.0), Mode::Circular);
      Tensor y(x.shape());
      rows.push_back({"batch_32x16_64", "Convolver circular, 512 planes of 64x64",
                      median_us([&] { conv.execute(x.data(), y.data(), 512); }, std::max(3, reps / 3))});
    }
    // convolve(same, auto) on the suite's shapes (compare: scipy fftconvolve / oaconvolve).
    for (auto [n, k] : std::vector<std::pair<std::size_t, std::size_t>>{
             {64, 3}, {256, 7}, {256, 15}, {512, 31}, {1024, 3}, {1024, 31}, {2048, 15}}) {
      if (!wanted({"convolve_" + std::to_string(n) + "_k" + std::to_string(k)})) continue;
      Tensor x = random_tensor({n, n}, 4), kk = random_tensor({k, k}, 5);
      MethodChoice ch = choose_method(x.shape(), kk.shape(), Mode::Same);
      rows.push_back({"convolve_" + std::to_string(n) + "_k" + std::to_string(k), "convolve(same, auto) -> " + to_string(ch.method),
                      median_us([&] { convolve(x, kk, Mode::Same, Method::Auto); }, n >= 1024 ? std::max(3, reps / 4) : reps)});
      if (quick) break;
    }
    // Conv2D (1, 256, 256, 16) -> 16, same: forward, weights fixed (compare: torch conv2d).
    for (std::size_t k : {3, 5, 7, 11, 15, 21, 31}) {
      const std::string ks = "conv2d_256x16_k" + std::to_string(k);
      if (!wanted({ks + "_direct", ks + "_fft", ks + "_winograd", ks + "_auto"})) continue;
      auto p = conv::Problem::make(1, 256, 256, 16, 16, k, k, 1, 1, 1, 1, conv::Padding::Same);
      Tensor x = random_tensor({1, 256, 256, 16}, 6), w = random_tensor({k, k, 16, 16}, 7), y({p.oh * p.ow * p.f});
      conv::FftConv f(p);
      const int r = k >= 21 ? 3 : std::max(3, reps / 3);
      double td = median_us([&] { conv::direct_forward(p, x.data(), w.data(), nullptr, y.data()); }, r);
      double tf = median_us([&] { f.forward(p, x.data(), w.data(), nullptr, y.data()); }, r);
      const double tw = conv::winograd_supports(p)
                            ? median_us([&] { conv::winograd_forward(p, x.data(), w.data(), nullptr, y.data()); }, r)
                            : NAN;
      conv::Choice ch = conv::choose(p, conv::Pass::Inference);
      rows.push_back({ks + "_direct", "Conv2D forward, direct", td});
      rows.push_back({ks + "_fft", "Conv2D forward, fft", tf});
      if (conv::winograd_supports(p)) rows.push_back({ks + "_winograd", "Conv2D forward, Winograd F(4x4, 3x3)", tw});
      rows.push_back({ks + "_auto", "Conv2D forward, auto -> " + conv::to_string(ch.algorithm),
                      ch.algorithm == conv::Algorithm::Fft ? tf : ch.algorithm == conv::Algorithm::Winograd ? tw : td});
      if (quick) break;
    }
    // One image through wide 3x3 layers at inference, the transformed Winograd kernel kept
    // between calls as a Conv2D layer keeps it (compare: the direct kernel).
    for (auto [h, c] : std::vector<std::pair<std::size_t, std::size_t>>{{56, 64}, {28, 128}, {14, 256}}) {
      const std::string ks = "conv2d_1x" + std::to_string(h) + "x" + std::to_string(c) + "_k3";
      if (!wanted({ks + "_direct", ks + "_winograd", ks + "_auto"})) continue;
      auto p = conv::Problem::make(1, h, h, c, c, 3, 3, 1, 1, 1, 1, conv::Padding::Same);
      Tensor x = random_tensor({1, h, h, c}, 6), w = random_tensor({3, 3, c, c}, 7), y({p.oh * p.ow * p.f});
      conv::WinogradKernel kept;
      const double td = median_us([&] { conv::direct_forward(p, x.data(), w.data(), nullptr, y.data()); }, reps);
      const double tw = median_us([&] { conv::winograd_forward(p, x.data(), w.data(), nullptr, y.data(), false, &kept); }, reps);
      const conv::Choice ch = conv::choose(p, conv::Pass::Inference);
      rows.push_back({ks + "_direct", "Conv2D forward, one image, direct", td});
      rows.push_back({ks + "_winograd", "Conv2D forward, one image, Winograd (kernel kept)", tw});
      rows.push_back({ks + "_auto", "Conv2D forward, one image, auto -> " + conv::to_string(ch.algorithm),
                      ch.algorithm == conv::Algorithm::Winograd ? tw : td});
      if (quick) break;
    }
    if (wanted({"fourier_conv2d_batch32"})) {
      nn::FourierConv2D layer(nn::seed_fourier_bank());
      layer.build({28, 28, 1});
      Tensor x = random_tensor({32, 28, 28, 1}, 8);
      rows.push_back({"fourier_conv2d_batch32", "FourierConv2D forward, 32 gabor filters, batch of 32 28x28",
                      median_us([&] { layer.call(x); }, reps)});
    }
    // The network targets (bench/nn_peers.py compares them with torch and ONNX Runtime).
    for (const char* model : {"seed-cnn", "seed-fourier", "seed-spectral"})
      for (std::size_t b : {1, 256}) {
        const std::string name = std::string("nn_predict_") + model + "_b" + std::to_string(b);
        if (!wanted({name})) continue;
        nn::set_random_seed(1);
        nn::Sequential m = nn::make_model(model);
        Tensor x = random_tensor({b, 28, 28, 1}, 12);
        rows.push_back({name, std::string(model) + " predict, batch " + std::to_string(b),
                        median_us([&] { m.predict(x, b); }, b == 1 ? reps * 10 : reps)});
      }
    for (const char* model : {"seed-cnn", "seed-fourier", "seed-spectral"}) {
      const std::string name = std::string("nn_train_step_") + model;
      if (!wanted({name})) continue;
      nn::set_random_seed(1);
      nn::Sequential m = nn::make_model(model);
      m.compile("adam", "sparse_categorical_crossentropy");
      Tensor x = random_tensor({32, 28, 28, 1}, 13), y({32});
      for (std::size_t i = 0; i < 32; ++i) y[i] = float(i % 10);
      rows.push_back({name, std::string(model) + " train_on_batch, batch 32, Adam",
                      median_us([&] { m.train_on_batch(x, y); }, reps)});
    }
    if (wanted({"nn_layer_fourier_forward", "nn_layer_fourier_backward"})) {
      nn::FourierConv2D layer(nn::seed_fourier_bank());
      layer.build({28, 28, 1});
      Tensor x = random_tensor({32, 28, 28, 1}, 14), dy = random_tensor({32, 28, 28, 32}, 15);
      rows.push_back({"nn_layer_fourier_forward", "FourierConv2D forward, 32 gabor filters, batch of 32 28x28",
                      median_us([&] { layer.call(x); }, reps)});
      rows.push_back({"nn_layer_fourier_backward", "FourierConv2D backward (input gradient), same shapes",
                      median_us([&] { layer.backward(dy); }, reps)});
    }
    if (wanted({"nn_layer_spectral_forward", "nn_layer_spectral_backward"})) {
      nn::set_random_seed(1);
      nn::SpectralConv2D layer(32, {8, 8});
      layer.build({28, 28, 1});
      Tensor x = random_tensor({32, 28, 28, 1}, 16), dy = random_tensor({32, 28, 28, 32}, 17);
      rows.push_back({"nn_layer_spectral_forward", "SpectralConv2D(32, 8x8 modes) forward, batch of 32 28x28",
                      median_us([&] { layer.call(x, true); }, reps)});
      rows.push_back({"nn_layer_spectral_backward", "SpectralConv2D backward (weights and input gradients)",
                      median_us([&] { layer.backward(dy); }, reps)});
    }
    bench_signal_cases(wanted, rows, reps, quick);
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
