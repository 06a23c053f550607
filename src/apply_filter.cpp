// apply_filter (filters.hpp): an image through a frequency response, on a grid that is one
// period of the padding's extension (or, for nearest and constant, the image with margins).
//
// Two paths give the same output (checked by tests/test_filters.cpp):
//   - a built-in response (Filter::is_builtin), real output (or the magnitude of a real
//     output): its spatial kernel h = irfft2(He) is made once per (filter, grid) and kept (the
//     last one),
//     and the grid is filtered by a circular signal::Convolver (signal.hpp) with h, so that the
//     transforms are the library's fastest for that grid (the plane transforms of
//     plane_fft.hpp, or FFTW with threads for one large image), the spectrum multiplied in
//     cache. Sampling alone (two calls of the response per bin, an exp each) was 60% of a
//     1,024^2 call.
//   - a user's callable (filter_custom, named or not), sampled on every call, or the magnitude
//     of a built-in response with an odd part (sampled once and kept): applied by FFTW:
//     y = irfft2(rfft2(x) . He), the odd part's imaginary output alongside for the magnitude.
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <mutex>

#include "fourierconv/array.hpp"
#include "fourierconv/convolve.hpp"
#include "fourierconv/error.hpp"
#include "fourierconv/fft.hpp"
#include "fourierconv/filters.hpp"
#include "fourierconv/signal.hpp"

namespace fourierconv {
namespace {

// The transform grid along one axis of n samples, and where the image sits on it.
struct PaddedAxis {
  std::size_t size, offset;
};
PaddedAxis padded_axis(FilterPadding p, std::size_t n) {
  switch (p) {
    case FilterPadding::Wrap: return {n, 0};
    case FilterPadding::Reflect: return {2 * n, 0};                       // one period of the extension
    case FilterPadding::Mirror: return {n > 1 ? 2 * n - 2 : 1, 0};        // likewise
    case FilterPadding::Nearest:
    case FilterPadding::Constant: {
      const std::size_t margin = std::max<std::size_t>((n + 1) / 2, 8);  // per side, at least
      const std::size_t P = next_fast_size(n + 2 * margin);
      return {P, (P - n) / 2};
    }
  }
  return {n, 0};
}

// The image sample at grid position t of one axis (the image at [off, off + n)), or -1 for
// the constant value.
std::ptrdiff_t source_index(FilterPadding p, std::ptrdiff_t t, std::size_t off, std::size_t n) {
  const std::ptrdiff_t nn = static_cast<std::ptrdiff_t>(n);
  std::ptrdiff_t i = t - static_cast<std::ptrdiff_t>(off);
  if (i >= 0 && i < nn) return i;
  switch (p) {
    case FilterPadding::Constant: return -1;
    case FilterPadding::Nearest: return i < 0 ? 0 : nn - 1;
    case FilterPadding::Reflect: return 2 * nn - 1 - i;    // t in [n, 2n): d c b a
    case FilterPadding::Mirror: return 2 * nn - 2 - i;     // t in [n, 2n - 2): c b a
    case FilterPadding::Wrap: break;
  }
  return i;
}

// A built-in response on a P x Q grid: a circular Convolver with the kernel h = irfft2(He) (He
// the even part, sampled as sample_response samples it) with its centre, (P/2, Q/2) as
// circular mode takes it, at the origin. Where the response has an odd part (the magnitude
// output needs it; e.g. gabor at an angle on an even grid, whose Nyquist row is its own
// mirror), the sampled parts are kept too, scaled for FftPlan::inverse_unscaled.
struct KeptResponse {
  std::unique_ptr<signal::Convolver> conv;
  bool has_odd = false;
  std::vector<float> even, odd;  // (has_odd only)
};
std::shared_ptr<const KeptResponse> response_convolver(const Filter& filter, std::size_t P, std::size_t Q) {
  auto plan = FftPlan::get({P, Q}, 1, FftRigor::Estimate);
  const std::size_t nb = plan->spectrum_size();
  std::vector<float> even(nb), odd(nb);
  auto kept = std::make_shared<KeptResponse>();
  kept->has_odd = sample_response(filter.response, P, Q, even.data(), odd.data());
  AlignedVector<Complex> spec(nb);
  for (std::size_t b = 0; b < nb; ++b) spec[b] = Complex(even[b], 0.0f);
  AlignedVector<float> h(P * Q);
  plan->inverse(spec.data(), h.data());  // scaled by 1/(P Q): h itself
  Tensor kernel({P, Q});
  for (std::size_t u = 0; u < P; ++u)
    for (std::size_t v = 0; v < Q; ++v) kernel[u * Q + v] = h[((u + P - P / 2) % P) * Q + (v + Q - Q / 2) % Q];
  // FFTW's estimated plans, as apply_filter always used: a measured plan for a grid the plane
  // transforms do not take (an odd or prime size) took 3 to 50 s on the first call.
  signal::ConvolveOptions options;
  options.rigor = FftRigor::Estimate, options.explain = false;
  kept->conv = std::make_unique<signal::Convolver>(Shape{P, Q}, DType::Float32,
                                                   ArrayView::contiguous(DType::Float32, {P, Q}, kernel.data()),
                                                   Mode::Circular, Method::Fft, options);
  if (kept->has_odd) {
    const float scale = plan->inverse_scale();
    for (auto& v : even) v *= scale;
    for (auto& v : odd) v *= scale;
    kept->even = std::move(even), kept->odd = std::move(odd);
  }
  return kept;
}

// The last built-in response's kernel, kept: an image stream filters many images of one size
// through one filter. The key is the response's own identity (detail::builtin_identity: its
// name and exact arguments, carried by the callable) and the grid. (Kept: about P * (Q/2 + 1)
// complex values, 16 MiB for a 2,048^2 grid; twice that with an odd part.) Calls from several
// threads share it: the Convolver's calls are thread-safe.
std::shared_ptr<const KeptResponse> kept_response(const Filter& filter, const detail::BuiltinIdentity& id, std::size_t P,
                                                  std::size_t Q) {
  struct Key {
    std::string name;
    std::vector<double> args;
    std::size_t P = 0, Q = 0;
    bool operator==(const Key&) const = default;
  };
  struct Kept {
    std::mutex mutex;
    Key key;
    std::shared_ptr<const KeptResponse> response;
  };
  // Never destroyed: its FFTW plans must not be freed at exit after FFTW's own statics.
  static Kept* const kept = new Kept;
  Key key{id.name, id.args, P, Q};
  {
    std::lock_guard<std::mutex> lock(kept->mutex);
    if (kept->response && kept->key == key) return kept->response;
  }
  std::shared_ptr<const KeptResponse> made = response_convolver(filter, P, Q);
  std::lock_guard<std::mutex> lock(kept->mutex);
  kept->key = std::move(key), kept->response = made;
  return made;
}

// The grid of channel c: the image with the padding's extension (src_row/src_col: each grid
// row's and column's image index, negative for cval).
void fill_grid(const Tensor& x, std::size_t c, const std::vector<std::ptrdiff_t>& src_row,
               const std::vector<std::ptrdiff_t>& src_col, float cval, float* grid) {
  const std::size_t P = src_row.size(), Q = src_col.size(), W = x.dim(1), C = x.rank() == 3 ? x.dim(2) : 1;
  for (std::size_t i = 0; i < P; ++i) {
    float* g = grid + i * Q;
    if (src_row[i] < 0) {
      std::fill(g, g + Q, cval);
      continue;
    }
    const float* xr = x.data() + static_cast<std::size_t>(src_row[i]) * W * C + c;
    for (std::size_t j = 0; j < Q; ++j) g[j] = src_col[j] < 0 ? cval : xr[static_cast<std::size_t>(src_col[j]) * C];
  }
}

}  // namespace

Tensor apply_filter(const Tensor& x, const Filter& filter, FilterPadding padding, Output output, float cval) {
  if (x.rank() != 2 && x.rank() != 3)
    throw Error("apply_filter: x must be (H, W) or (H, W, C), got shape " + x.shape_string());
  if (x.empty()) return Tensor(x.shape());  // nothing to filter: an empty image, as scipy.ndimage
  check_finite(x, "apply_filter: x");
  if (!std::isfinite(cval)) throw Error("apply_filter: cval must be finite, got " + std::to_string(cval));
  if (!filter.response) throw Error("apply_filter: the filter's response is empty");
  const std::size_t H = x.dim(0), W = x.dim(1), C = x.rank() == 3 ? x.dim(2) : 1;
  const PaddedAxis rows = padded_axis(padding, H), cols = padded_axis(padding, W);
  const std::size_t P = rows.size, Q = cols.size, top = rows.offset, left = cols.offset;
  std::vector<std::ptrdiff_t> src_row(P), src_col(Q);
  for (std::size_t i = 0; i < P; ++i) src_row[i] = source_index(padding, static_cast<std::ptrdiff_t>(i), top, H);
  for (std::size_t j = 0; j < Q; ++j) src_col[j] = source_index(padding, static_cast<std::ptrdiff_t>(j), left, W);
  Tensor y(x.shape());
  auto store = [&](const float* out, std::size_t c, const float* out2) {
    for (std::size_t i = 0; i < H; ++i)
      for (std::size_t j = 0; j < W; ++j) {
        const std::size_t g = (i + top) * Q + j + left;
        float v = out[g];
        if (output == Output::Magnitude) v = out2 ? std::hypot(v, out2[g]) : std::fabs(v);
        y[(i * W + j) * C + c] = v;
      }
  };

  // The odd part matters only to the magnitude output (the real output is He's alone).
  const detail::BuiltinIdentity* id = detail::builtin_identity(filter.response);
  const std::shared_ptr<const KeptResponse> kept = id ? kept_response(filter, *id, P, Q) : nullptr;
  if (kept && !(kept->has_odd && output == Output::Magnitude)) {
    const signal::Convolver& conv = *kept->conv;
    std::atomic<bool> refused{false};  // (a float32 circular plan always runs; checked all the same)
    auto run = [&](const float* in, float* out) {
      if (!conv.execute_contiguous(in, out)) refused = true;
    };
    auto check = [&] {
      if (refused) throw Error("apply_filter: internal error: the kept plan did not take a float32 grid");
    };
    if (C == 1 && P == H && Q == W) {  // wrap: the image is the grid
      run(x.data(), y.data());
      check();
      if (output == Output::Magnitude)
        for (std::size_t i = 0; i < y.size(); ++i) y[i] = std::fabs(y[i]);
      return y;
    }
    // A channel per thread, each with its own grid (one channel: the transforms' own threads).
#pragma omp parallel if (C > 1)
    {
      AlignedVector<float> grid(P * Q), out(P * Q);
#pragma omp for schedule(dynamic)
      for (std::size_t c = 0; c < C; ++c) {
        fill_grid(x, c, src_row, src_col, cval, grid.data());
        run(grid.data(), out.data());
        store(out.data(), c, nullptr);
      }
    }
    check();
    return y;
  }
  // A user's callable (sampled now), or a kept response with an odd part, for the magnitude.
  std::vector<float> even, odd;
  bool has_odd = false, scaled = false;
  if (kept) {
    even = kept->even, odd = kept->odd, has_odd = scaled = true;
  } else {
    even.resize(P * (Q / 2 + 1)), odd.resize(P * (Q / 2 + 1));
    has_odd = sample_response(filter.response, P, Q, even.data(), odd.data()) && output == Output::Magnitude;
  }

  // One channel of 2^17 points or more: both threads inside each transform (FFTW's threads,
  // which pay from about 512 x 512); several channels: a channel per thread.
  const int plan_threads = C == 1 && P * Q >= (std::size_t(1) << 17) ? omp_get_max_threads() : 1;
  auto plan = FftPlan::get({P, Q}, 1, FftRigor::Estimate, plan_threads);
  const std::size_t nb = plan->spectrum_size();
  const float scale = plan->inverse_scale();
  if (!scaled) {
    for (auto& v : even) v *= scale;
    for (auto& v : odd) v *= scale;
  }
#pragma omp parallel if (C > 1)
  {
    AlignedVector<float> grid(P * Q), out(P * Q), out2(has_odd ? P * Q : 0);
    AlignedVector<Complex> spec(nb), spec2(has_odd ? nb : 0);
#pragma omp for schedule(dynamic)
    for (std::size_t c = 0; c < C; ++c) {
      fill_grid(x, c, src_row, src_col, cval, grid.data());
      plan->forward(grid.data(), spec.data());
      if (has_odd) {
        // -i * X * Ho: the imaginary part of ifft2(X . H), as a real signal.
        for (std::size_t b = 0; b < nb; ++b) spec2[b] = Complex(spec[b].imag(), -spec[b].real()) * odd[b];
        plan->inverse_unscaled(spec2.data(), out2.data());
      }
      for (std::size_t b = 0; b < nb; ++b) spec[b] *= even[b];
      plan->inverse_unscaled(spec.data(), out.data());
      store(out.data(), c, has_odd ? out2.data() : nullptr);
    }
  }
  return y;
}

}  // namespace fourierconv
