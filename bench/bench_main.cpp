// Google Benchmark suite (make bench). Per-phase counters where a path has phases; the
// bare-FFTW cases are the limits the planned paths are measured against.
#include <benchmark/benchmark.h>

#include <fftw3.h>

#include <complex>
#include <random>

#include "fourierconv/conv/direct.hpp"
#include "fourierconv/conv/fft.hpp"
#include "fourierconv/fourierconv.hpp"
#include "fourierconv/nn.hpp"
#include "fourierconv/nn/models.hpp"
#include "fourierconv/signal.hpp"
#include "shapes.hpp"

using namespace fourierconv;

namespace {

Tensor random_tensor(Shape s, unsigned seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(-1, 1);
  Tensor t(std::move(s));
  for (auto& v : t) v = d(g);
  return t;
}

// ---- FFT engine --------------------------------------------------------------------------
void BM_FftPlan_r2c_c2r(benchmark::State& st) {
  const std::size_t n = std::size_t(st.range(0));
  auto plan = FftPlan::get({n, n});
  AlignedVector<float> re(n * n, 0.5f), out(n * n);
  AlignedVector<Complex> sp(plan->spectrum_size());
  for (auto _ : st) {
    plan->forward(re.data(), sp.data());
    plan->inverse_unscaled(sp.data(), out.data());
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_FftPlan_r2c_c2r)->Arg(64)->Arg(128)->Arg(256)->Arg(512)->Arg(1024)->Arg(2048)->Unit(benchmark::kMicrosecond);

// ---- The seed's fixed-filter case: Convolver vs bare FFTW (r2c, product, c2r) -------------
void BM_Convolver_circular(benchmark::State& st) {
  const std::size_t n = std::size_t(st.range(0));
  Tensor x = random_tensor({n, n}, 1), y({n, n});
  Convolver conv({n, n}, filter_sinc_kernel(n, 8.0), Mode::Circular);
  for (auto _ : st) {
    conv.execute(x.data(), y.data(), 1);
    benchmark::DoNotOptimize(y.data());
  }
}
BENCHMARK(BM_Convolver_circular)->Arg(64)->Arg(128)->Arg(256)->Arg(512)->Arg(2048)->Unit(benchmark::kMicrosecond);

// The limit: FFTW alone with measured plans on aligned buffers, the input copied in (the
// Convolver reads the caller's unaligned array), the spectrum product, the inverse.
void BM_BareFftw_circular(benchmark::State& st) {
  const int n = int(st.range(0));
  float* in = fftwf_alloc_real(std::size_t(n) * n);
  float* out = fftwf_alloc_real(std::size_t(n) * n);
  fftwf_complex* sp = fftwf_alloc_complex(std::size_t(n) * (n / 2 + 1));
  fftwf_plan f = fftwf_plan_dft_r2c_2d(n, n, in, sp, FFTW_MEASURE);
  fftwf_plan b = fftwf_plan_dft_c2r_2d(n, n, sp, out, FFTW_MEASURE);
  Tensor x = random_tensor({std::size_t(n), std::size_t(n)}, 1);
  std::vector<float> h(std::size_t(n) * (n / 2 + 1), 0.5f);
  for (auto _ : st) {
    std::copy(x.begin(), x.end(), in);
    fftwf_execute(f);
    for (std::size_t i = 0; i < h.size(); ++i) sp[i][0] *= h[i], sp[i][1] *= h[i];
    fftwf_execute(b);
    benchmark::DoNotOptimize(out);
  }
  fftwf_destroy_plan(f);
  fftwf_destroy_plan(b);
  fftwf_free(in);
  fftwf_free(out);
  fftwf_free(sp);
}
BENCHMARK(BM_BareFftw_circular)->Arg(64)->Arg(128)->Arg(256)->Arg(512)->Arg(2048)->Unit(benchmark::kMicrosecond);

// ---- signal::Convolver in float64 and complex128 vs bare FFTW (fftw_, measured plans) -------
// A 9 x 9 kernel, circular on an n x n grid: the unavoidable work is one forward transform,
// the product with the cached spectrum and one inverse. Run with OMP_NUM_THREADS=1 to compare
// with the single-threaded bare case (BENCHMARKS.md).
template <class T>
void BM_SignalConvolver_circular(benchmark::State& st) {
  const std::size_t n = std::size_t(st.range(0));
  const DType t = std::is_same_v<T, double> ? DType::Float64 : DType::Complex128;
  Array x(t, {n, n}), k(t, {9, 9}), y(t, {n, n});
  std::mt19937 g(1);
  std::uniform_real_distribution<double> d(-1, 1);
  for (std::size_t i = 0; i < x.size(); ++i) x.data_as<T>()[i] = T(d(g));
  for (std::size_t i = 0; i < k.size(); ++i) k.data_as<T>()[i] = T(d(g));
  fourierconv::signal::Convolver conv({n, n}, t, k.view(), Mode::Circular, Method::Fft);
  for (auto _ : st) {
    conv.execute_contiguous(x.data(), y.data());
    benchmark::DoNotOptimize(y.data());
  }
}
BENCHMARK_TEMPLATE(BM_SignalConvolver_circular, double)->Arg(128)->Arg(256)->Arg(512)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_SignalConvolver_circular, std::complex<double>)->Arg(128)->Arg(256)->Arg(512)->Unit(benchmark::kMicrosecond);

void BM_BareFftw_circular_f64(benchmark::State& st) {
  const int n = int(st.range(0));
  const std::size_t N = std::size_t(n) * n, bins = std::size_t(n) * (n / 2 + 1);
  double* in = fftw_alloc_real(N);
  double* out = fftw_alloc_real(N);
  fftw_complex* sp = fftw_alloc_complex(bins);
  fftw_plan f = fftw_plan_dft_r2c_2d(n, n, in, sp, FFTW_MEASURE);
  fftw_plan b = fftw_plan_dft_c2r_2d(n, n, sp, out, FFTW_MEASURE);
  std::vector<double> x(N, 0.25);
  std::vector<std::complex<double>> h(bins, {0.5, 0.25});
  for (auto _ : st) {
    std::copy(x.begin(), x.end(), in);
    fftw_execute(f);
    for (std::size_t i = 0; i < bins; ++i) {
      const double re = sp[i][0] * h[i].real() - sp[i][1] * h[i].imag();
      sp[i][1] = sp[i][0] * h[i].imag() + sp[i][1] * h[i].real();
      sp[i][0] = re;
    }
    fftw_execute(b);
    benchmark::DoNotOptimize(out);
  }
  fftw_destroy_plan(f);
  fftw_destroy_plan(b);
  fftw_free(in);
  fftw_free(out);
  fftw_free(sp);
}
BENCHMARK(BM_BareFftw_circular_f64)->Arg(128)->Arg(256)->Arg(512)->Unit(benchmark::kMicrosecond);

void BM_BareFftw_circular_c128(benchmark::State& st) {
  const int n = int(st.range(0));
  const std::size_t N = std::size_t(n) * n;
  fftw_complex* in = fftw_alloc_complex(N);
  fftw_complex* sp = fftw_alloc_complex(N);
  fftw_complex* out = fftw_alloc_complex(N);
  fftw_plan f = fftw_plan_dft_2d(n, n, in, sp, FFTW_FORWARD, FFTW_MEASURE);
  fftw_plan b = fftw_plan_dft_2d(n, n, sp, out, FFTW_BACKWARD, FFTW_MEASURE);
  std::vector<std::complex<double>> x(N, {0.25, 0.5}), h(N, {0.5, 0.25});
  for (auto _ : st) {
    std::copy(x.begin(), x.end(), reinterpret_cast<std::complex<double>*>(in));
    fftw_execute(f);
    for (std::size_t i = 0; i < N; ++i) {
      const double re = sp[i][0] * h[i].real() - sp[i][1] * h[i].imag();
      sp[i][1] = sp[i][0] * h[i].imag() + sp[i][1] * h[i].real();
      sp[i][0] = re;
    }
    fftw_execute(b);
    benchmark::DoNotOptimize(out);
  }
  fftw_destroy_plan(f);
  fftw_destroy_plan(b);
  fftw_free(in);
  fftw_free(out);
  fftw_free(sp);
}
BENCHMARK(BM_BareFftw_circular_c128)->Arg(128)->Arg(256)->Arg(512)->Unit(benchmark::kMicrosecond);

void BM_Convolver_batch_32x16_64(benchmark::State& st) {
  Tensor x = random_tensor({32, 16, 64, 64}, 3), y(x.shape());
  Convolver conv({64, 64}, filter_sinc_kernel(64, 4.0), Mode::Circular);
  for (auto _ : st) {
    conv.execute(x.data(), y.data(), 512);
    benchmark::DoNotOptimize(y.data());
  }
}
BENCHMARK(BM_Convolver_batch_32x16_64)->Unit(benchmark::kMillisecond);

// ---- convolve(method=auto) on the suite's shapes -------------------------------------------
void BM_convolve_auto(benchmark::State& st) {
  const std::size_t n = std::size_t(st.range(0)), k = std::size_t(st.range(1));
  Tensor x = random_tensor({n, n}, 4), kk = random_tensor({k, k}, 5);
  for (auto _ : st) benchmark::DoNotOptimize(convolve(x, kk, Mode::Same, Method::Auto).data());
  st.SetLabel(to_string(choose_method(x.shape(), kk.shape(), Mode::Same).method));
}
BENCHMARK(BM_convolve_auto)
    ->Args({64, 3})->Args({256, 7})->Args({256, 15})->Args({512, 31})->Args({1024, 3})->Args({1024, 31})->Args({2048, 15})
    ->Unit(benchmark::kMicrosecond);

// ---- Conv2D (1, 256, 256, 16) -> 16, same: direct vs fft, k = 3..31 ------------------------
void BM_Conv2D_large(benchmark::State& st) {
  const std::size_t k = std::size_t(st.range(0));
  const bool fft = st.range(1) == 1;
  auto p = conv::Problem::make(1, fcbench::kLargeSide, fcbench::kLargeSide, fcbench::kLargeChannels, fcbench::kLargeChannels,
                               k, k, 1, 1, 1, 1, conv::Padding::Same);
  Tensor x = random_tensor({1, p.h, p.w, p.c}, 6), w = random_tensor({k, k, p.c, p.f}, 7), y({p.oh * p.ow * p.f});
  conv::FftConv f(p);
  // Warm-up outside the timing: the first forward computes the C*F kernel spectra (cached
  // afterwards, as for fixed weights); left in, it inflated the fft medians ~2x at k >= 15.
  if (fft) f.forward(p, x.data(), w.data(), nullptr, y.data());
  for (auto _ : st) {
    if (fft) f.forward(p, x.data(), w.data(), nullptr, y.data());
    else conv::direct_forward(p, x.data(), w.data(), nullptr, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  st.SetLabel(fft ? "fft" : "direct");
}
BENCHMARK(BM_Conv2D_large)
    ->ArgsProduct({{3, 5, 7, 11, 15, 21, 31}, {0, 1}})
    ->Unit(benchmark::kMillisecond);

// ---- A Conv2D training step through the FFT: forward + backward (kernel and input gradient) --
// Args: batch, side, channels in, filters, k. The weights change every step (as in training),
// so the kernel spectra are recomputed each time.
void BM_Conv2D_fft_train_step(benchmark::State& st) {
  const auto n = std::size_t(st.range(0)), s = std::size_t(st.range(1)), c = std::size_t(st.range(2)),
             f = std::size_t(st.range(3)), k = std::size_t(st.range(4));
  auto p = conv::Problem::make(n, s, s, c, f, k, k, 1, 1, 1, 1, conv::Padding::Same);
  Tensor x = random_tensor({n, s, s, c}, 10), w = random_tensor({k, k, c, f}, 11), dy = random_tensor({n, s, s, f}, 12);
  Tensor y({n * s * s * f}), dx({x.size()}), dw({w.size()});
  conv::FftConv conv(p);
  for (auto _ : st) {
    w[0] += 1e-3f;  // a new kernel every step
    conv.forward(p, x.data(), w.data(), nullptr, y.data());
    conv.backward(p, x.data(), w.data(), dy.data(), dx.data(), dw.data(), nullptr);
    benchmark::DoNotOptimize(dx.data());
  }
}
BENCHMARK(BM_Conv2D_fft_train_step)
    ->Args({1, 256, 16, 16, 15})->Args({8, 64, 16, 16, 9})->Args({32, 28, 16, 16, 7})->Args({32, 28, 1, 32, 15})
    ->Unit(benchmark::kMillisecond);

// ---- FourierConv2D on a Fashion-MNIST batch vs bare FFTW doing the same transforms ---------
void BM_FourierConv2D_forward_batch32(benchmark::State& st) {
  nn::FourierConv2D layer(nn::seed_fourier_bank());
  layer.build({28, 28, 1});
  Tensor x = random_tensor({32, 28, 28, 1}, 8);
  for (auto _ : st) benchmark::DoNotOptimize(layer.call(x).data());
}
BENCHMARK(BM_FourierConv2D_forward_batch32)->Unit(benchmark::kMicrosecond);

// 32 images x (1 r2c + 32 products + 32 c2r) of 28x28, measured plans, no layout work.
void BM_BareFftw_fourier_batch32(benchmark::State& st) {
  const int n = 28, F = 32, nb = n * (n / 2 + 1);
  float* in = fftwf_alloc_real(n * n);
  float* out = fftwf_alloc_real(std::size_t(F) * n * n);
  fftwf_complex* x = fftwf_alloc_complex(nb);
  fftwf_complex* t = fftwf_alloc_complex(std::size_t(F) * nb);
  int dims[2] = {n, n};
  fftwf_plan f = fftwf_plan_dft_r2c_2d(n, n, in, x, FFTW_MEASURE);
  fftwf_plan b = fftwf_plan_many_dft_c2r(2, dims, F, t, nullptr, 1, nb, out, nullptr, 1, n * n, FFTW_MEASURE);
  std::vector<float> h(std::size_t(F) * nb, 0.5f);
  Tensor img = random_tensor({32, 28, 28}, 9);
  for (auto _ : st) {
    for (int i = 0; i < 32; ++i) {
      std::copy(img.data() + i * n * n, img.data() + (i + 1) * n * n, in);
      fftwf_execute(f);
      for (int ff = 0; ff < F; ++ff)
        for (int k = 0; k < nb; ++k) {
          t[ff * nb + k][0] = x[k][0] * h[ff * nb + k];
          t[ff * nb + k][1] = x[k][1] * h[ff * nb + k];
        }
      fftwf_execute(b);
      benchmark::DoNotOptimize(out);
    }
  }
  fftwf_destroy_plan(f);
  fftwf_destroy_plan(b);
  fftwf_free(in);
  fftwf_free(out);
  fftwf_free(x);
  fftwf_free(t);
}
BENCHMARK(BM_BareFftw_fourier_batch32)->Unit(benchmark::kMicrosecond);

// ---- The seed models: a training step (batch 32) and inference ------------------------------
void BM_Model_train_step(benchmark::State& st, const char* name) {
  nn::set_random_seed(1);
  nn::Sequential m = nn::make_model(name);
  m.compile("adam", "sparse_categorical_crossentropy");
  Tensor x = random_tensor({32, 28, 28, 1}, 10), y({32});
  for (std::size_t i = 0; i < 32; ++i) y[i] = float(i % 10);
  for (auto _ : st) benchmark::DoNotOptimize(m.train_on_batch(x, y));
}
void BM_Model_predict(benchmark::State& st, const char* name) {
  nn::set_random_seed(1);
  nn::Sequential m = nn::make_model(name);
  const std::size_t n = std::size_t(st.range(0));
  Tensor x = random_tensor({n, 28, 28, 1}, 11);
  for (auto _ : st) benchmark::DoNotOptimize(m.predict(x, n).data());
  st.SetItemsProcessed(std::int64_t(st.iterations()) * std::int64_t(n));
}
BENCHMARK_CAPTURE(BM_Model_train_step, seed_cnn, "seed-cnn")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Model_train_step, seed_fourier, "seed-fourier")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Model_train_step, seed_spectral, "seed-spectral")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Model_predict, seed_cnn, "seed-cnn")->Arg(1)->Arg(256)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Model_predict, seed_fourier, "seed-fourier")->Arg(1)->Arg(256)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Model_predict, seed_spectral, "seed-spectral")->Arg(1)->Arg(256)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
