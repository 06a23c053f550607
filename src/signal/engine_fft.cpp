// The FFT and blocked (overlap-save) methods of engine.hpp.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>

#include "fourierconv/error.hpp"
#include "plane_fft.hpp"
#include "signal/engine.hpp"
#include "signal/extended.hpp"
#include "signal/fftw.hpp"
#include "simd.hpp"

namespace fourierconv::signal::detail {

namespace {

template <class T>
struct real_of {
  using type = T;
};
template <class R>
struct real_of<std::complex<R>> {
  using type = R;
};
template <class T>
constexpr bool is_complex_v = !std::is_same_v<T, typename real_of<T>::type>;

// The largest overlap-save tile, in points; one core's L2.
constexpr std::size_t kMaxTilePoints = std::size_t(1) << 18;
constexpr std::size_t kTileSpectrumBytes = std::size_t(320) << 10;
// The per-point cost of a transform past the cap against one within it (measured 3-5x, below).
constexpr double kOverCapPenalty = 3.0;

// y = sub-block of `src` (dims `sd`) at offset `off`, extent `ext`, into `dst` (dims `dd`) at `pos`.
template <class T>
void copy_block(const T* src, const std::vector<std::size_t>& sd, const std::vector<std::size_t>& off, T* dst,
                const std::vector<std::size_t>& dd, const std::vector<std::size_t>& pos, const std::vector<std::size_t>& ext) {
  const std::size_t r = sd.size();
  std::vector<std::size_t> ss(r), ds(r);
  ss[r - 1] = ds[r - 1] = 1;
  for (std::size_t i = r - 1; i-- > 0;) ss[i] = ss[i + 1] * sd[i + 1], ds[i] = ds[i + 1] * dd[i + 1];
  std::size_t rows = 1;
  for (std::size_t i = 0; i + 1 < r; ++i) rows *= ext[i];
  std::vector<std::size_t> idx(r, 0);
  for (std::size_t row = 0; row < rows; ++row) {
    std::size_t so = off[r - 1], dof = pos[r - 1];
    for (std::size_t i = 0; i + 1 < r; ++i) so += (off[i] + idx[i]) * ss[i], dof += (pos[i] + idx[i]) * ds[i];
    std::memcpy(static_cast<void*>(dst + dof), src + so, ext[r - 1] * sizeof(T));
    for (std::size_t i = r - 1; i-- > 0;) {
      if (++idx[i] < ext[i]) break;
      idx[i] = 0;
    }
  }
}

// spec *= kspec, complex, interleaved (written out: std::complex's operator* checks for NaN
// per element and does not vectorize).
template <class R>
FC_INLINE void multiply_impl(std::complex<R>* __restrict spec, const std::complex<R>* __restrict kspec, std::size_t n) {
  R* a = reinterpret_cast<R*>(spec);
  const R* b = reinterpret_cast<const R*>(kspec);
  for (std::size_t i = 0; i < n; ++i) {
    const R ar = a[2 * i], ai = a[2 * i + 1], br = b[2 * i], bi = b[2 * i + 1];
    a[2 * i] = ar * br - ai * bi;
    a[2 * i + 1] = ar * bi + ai * br;
  }
}

// Non-template, so that GCC clones them (simd.hpp).
FC_MULTIVERSION void multiply(std::complex<float>* spec, const std::complex<float>* kspec, std::size_t n) {
  multiply_impl(spec, kspec, n);
}
FC_MULTIVERSION void multiply(std::complex<double>* spec, const std::complex<double>* kspec, std::size_t n) {
  multiply_impl(spec, kspec, n);
}

// body(i) for i in [0, n): shared among OpenMP threads when par, else on the calling thread
// outside any parallel region. (A region of one thread around a transform planned with
// FFTW's own threads makes theirs a nested team, which libgomp creates anew on every call:
// two thread creations per one-shot convolve of a large 1-D grid.)
template <class F>
void for_items(std::size_t n, bool par, F&& body) {
  if (!par || n < 2) {
    for (std::size_t i = 0; i < n; ++i) body(i);
    return;
  }
#pragma omp parallel for schedule(static)
  for (std::size_t i = 0; i < n; ++i) body(i);
}

// The fast sizes from the kernel's to the whole extent's (or kMaxTilePoints): one enumeration
// (a next_fast_size per candidate was 60% of a one-shot 8192-sample convolution's time).
std::vector<std::size_t> tile_candidates(std::size_t k, std::size_t e) {
  const std::size_t lo = next_fast_size(std::max<std::size_t>(k, 2));
  const std::size_t hi = std::max(lo, std::min(next_fast_size(e), next_fast_size(kMaxTilePoints)));
  return fast_sizes(lo, hi);
}

}  // namespace

bool fft_on_x(const Geometry& g, bool zero_fill) {
  if (g.circular) return true;
  for (const ConvAxis& a : g.axes)
    if (a.ext != Extension::Fill) return false;
  return zero_fill;
}

namespace {

bool smooth7(std::size_t n) {
  if (n == 0) return false;
  for (std::size_t p : {2, 3, 5, 7})
    while (n % p == 0) n /= p;
  return n == 1;
}

// The multiple of `step` from n to 2n whose quotient has no prime factor above 7 and whose
// transform is estimated cheapest (as fast_padded_size weighs FFTW's sizes). Kept per thread,
// as fast_padded_size's: the scan is thousands of steps on a 4096^2 image, and the cost model
// and the engine ask for the same sizes on every one-shot call.
std::size_t plane_padded_size(std::size_t n, std::size_t step) {
  thread_local std::map<std::pair<std::size_t, std::size_t>, std::size_t> kept;
  if (auto it = kept.find({n, step}); it != kept.end()) return it->second;
  std::size_t best = 0;
  double best_cost = INFINITY;
  for (std::size_t s = (n + step - 1) / step; s * step < 2 * n + 2 * step; ++s) {
    if (!smooth7(s)) continue;
    const std::size_t m = s * step;
    const double cost = double(m) * std::log2(double(m)) * fft_radix_penalty(m);
    if (cost < best_cost) best_cost = cost, best = m;
  }
  if (kept.size() >= 256) kept.clear();
  kept.emplace(std::pair{n, step}, best);
  return best;
}

// FOURIERCONV_NO_PLANE_FFT (any value): FFTW for every grid, to measure the two side by side.
bool planes_enabled() {
  static const bool on = !std::getenv("FOURIERCONV_NO_PLANE_FFT");
  return on;
}

}  // namespace

bool plane_grid(const std::vector<std::size_t>& grid) {
  return planes_enabled() && grid.size() == 2 && fourierconv::detail::PlaneFft::takes(grid[0], grid[1]) && smooth7(grid[0] / 2) &&
         smooth7(grid[1]) && grid[0] * grid[1] <= (grid[1] <= kPlaneWideCols ? kPlaneMaxPoints : kPlaneMaxPointsWide);
}

std::vector<std::size_t> fft_grid(const Geometry& g, bool zero_fill, bool planes) {
  std::vector<std::size_t> grid, need;
  const bool on_x = fft_on_x(g, zero_fill);
  for (const ConvAxis& a : g.axes) {
    if (g.circular) need.push_back(a.n);
    else if (on_x)  // outputs [start, start + out) of the full convolution must not alias
      need.push_back(std::max(a.n + a.k - 1 - std::size_t(a.start), std::size_t(a.start) + a.out));
    else
      need.push_back(a.extended());
    grid.push_back(g.circular ? need.back() : fast_padded_size(need.back()));
  }
  if (planes && !g.circular && grid.size() == 2) {
    // (At least 8 per axis, the least PlaneFft takes.)
    const std::vector<std::size_t> p{plane_padded_size(std::max<std::size_t>(need[0], 8), 2),
                                     plane_padded_size(std::max<std::size_t>(need[1], 8), 8)};
    if (plane_grid(p)) return p;
  }
  return grid;
}

namespace {

Blocking search_blocking(const Geometry& g, std::size_t spectrum_bytes_per_point, bool planes) {
  // Cost of a choice: tiles * points per tile * (sum of log2 L + 2): a forward and an inverse
  // transform and the product per tile. Per axis the candidates' tile counts and log2 are
  // computed once; the search walks their product, depth first, leaving an axis's larger
  // candidates out once the tile outgrows the cap (candidates ascend, so every later one does
  // too): walking every combination cost 60 us of a one-shot 1024^2 * 31^2 call.
  struct Option {
    std::size_t L;
    double points, log2L, tiles;
  };
  std::vector<std::vector<Option>> cand;
  for (const ConvAxis& a : g.axes) {
    std::vector<Option> o;
    // Float32 planes: tiles of an even number of rows and a multiple of 8 columns, which the
    // plane transforms take (2x FFTW's speed), where the axis has such candidates.
    const std::size_t step = !planes ? 1 : cand.empty() ? 2 : 8;
    auto Ls = tile_candidates(a.k, a.extended());
    if (std::any_of(Ls.begin(), Ls.end(), [&](std::size_t L) { return L % step == 0; }))
      Ls.erase(std::remove_if(Ls.begin(), Ls.end(), [&](std::size_t L) { return L % step != 0; }), Ls.end());
    for (std::size_t L : Ls) {
      const std::size_t b = L - a.k + 1;
      // log2 L weighted by the radices' cost (FFTW's 11907 = 3^5 7^2 took 1.5x a 16384 here)
      o.push_back({L, double(L), std::log2(double(L)) * fft_radix_penalty(L), double((a.out + b - 1) / b)});
    }
    cand.push_back(std::move(o));
  }
  // In one and two axes a tile whose spectrum outgrows ~L2 runs its transforms from memory:
  // measured 3-5x the time per point (complex128 1024x1024 * 31x31: 256x256 tiles 79 ms,
  // 128x128 15 ms; float32's 256x256 tiles, 264 KB of spectrum, were the fastest). In three
  // axes the overlap a small tile wastes costs more than that (128^3 * 9^3: 64^3 tiles of
  // 1 MB beat 40^3 ones), so there the cap is on points only.
  const double cap = cand.size() > 2 ? double(kMaxTilePoints)
                                     : std::min(double(kMaxTilePoints), double(kTileSpectrumBytes) / double(spectrum_bytes_per_point));
  Blocking best;
  double best_cost = INFINITY;
  std::vector<std::size_t> pick(cand.size(), 0);
  // The last axis outermost, and the cost summed in axis order, as the exhaustive walk this
  // replaced: ties resolve to the same tile.
  const std::size_t r = cand.size();
  auto walk = [&](auto&& self, std::size_t depth, double points) -> void {
    if (depth == r) {
      double pts = 1, logs = 2, tiles = 1;
      for (std::size_t j = 0; j < r; ++j) {
        const Option& o = cand[j][pick[j]];
        pts *= o.points, logs += o.log2L, tiles *= o.tiles;
      }
      const double cost = tiles * pts * logs;
      if (cost < best_cost) {
        best_cost = cost;
        best.tile.clear();
        for (std::size_t j = 0; j < r; ++j) best.tile.push_back(cand[j][pick[j]].L);
        best.tiles = std::size_t(tiles);
      }
      return;
    }
    const std::size_t i = r - 1 - depth;
    for (std::size_t c = 0; c < cand[i].size(); ++c) {
      if (points * cand[i][c].points > cap) break;
      pick[i] = c;
      self(self, depth + 1, points * cand[i][c].points);
    }
  };
  walk(walk, 0, 1.0);
  // One tile of the whole extent when no tile fits under the cap, or when the tiles cost more
  // than it would at kOverCapPenalty times the per-point cost (kernels about the input's size
  // in many axes: (3,)*9 with itself took 19,683 tiles of 4^9 points, 55 s against 0.2 s in one).
  std::vector<std::size_t> whole;
  double whole_points = 1, whole_logs = 2;
  for (const ConvAxis& a : g.axes) {
    whole.push_back(next_fast_size(a.extended()));
    whole_points *= double(whole.back()), whole_logs += std::log2(double(whole.back())) * fft_radix_penalty(whole.back());
  }
  if (best.tile.empty() || kOverCapPenalty * whole_points * whole_logs < best_cost) {
    best.tile = whole;
    best.tiles = 1;
  }
  return best;
}

}  // namespace

// The search's result per geometry, kept per thread (the last 64): one-shot calls repeat their
// shapes, and the search took 20 us of a 256^2 * 15^2 call that the direct sum does in 90.
Blocking choose_blocking(const Geometry& g, std::size_t spectrum_bytes_per_point, bool planes) {
  planes = planes && g.axes.size() == 2 && planes_enabled();
  std::vector<std::size_t> key{spectrum_bytes_per_point, planes};
  for (const ConvAxis& a : g.axes) key.insert(key.end(), {a.k, a.extended(), a.out});
  thread_local std::map<std::vector<std::size_t>, Blocking> kept;
  if (auto it = kept.find(key); it != kept.end()) return it->second;
  Blocking b = search_blocking(g, spectrum_bytes_per_point, planes);
  if (kept.size() >= 64) kept.clear();
  kept.emplace(std::move(key), b);
  return b;
}

template <class T>
struct FftConvolver<T>::Impl {
  using R = typename real_of<T>::type;
  using C = std::complex<R>;
  Geometry g;
  bool blocked, on_x;
  T fill;
  std::vector<std::size_t> grid, tile_out, tile_count;  // per axis
  std::size_t tiles = 1, points = 0, bins = 0;
  std::shared_ptr<const FftwPlan<R>> fwd, inv;  // null where `plane` transforms
  // float32 grids that plane_grid takes (up to kPlaneMaxPoints): the tuple-FFT transforms
  // (plane_fft.hpp; 128^2 r2c + c2r 19 us against FFTW's 43 on an AMD Zen 5). Their spectra
  // have their own layout: only transformed, multiplied (product) and scaled here.
  std::shared_ptr<const fourierconv::detail::PlaneFft> plane;
  AlignedVector<C> kspec;  // k_items x bins, 1/points folded in

  // kernel null: the spectra are left to the caller (convolve_once computes them alongside
  // the input's).
  // Overlap-save that would run one tile runs as the whole-grid FFT instead: the same
  // transforms on a grid never larger (a tile spans out + k - 1 per axis, the FFT grid can
  // hold x alone: (3,)*9 with itself is 7^9 points in one tile, 5^9 as one FFT), as scipy's
  // oaconvolve falls back to fftconvolve.
  static bool one_tile(const Geometry& geo) {
    return !std::getenv("FOURIERCONV_OA_TILE") &&
           choose_blocking(geo, is_complex_v<T> ? sizeof(C) : sizeof(C) / 2, std::is_same_v<T, float>).tiles == 1;
  }

  Impl(const Geometry& geo, const T* kernel, bool blk, FftRigor rigor, T f)
      : g(geo), blocked(blk && !one_tile(geo)), on_x(!blocked && fft_on_x(geo, f == T{})), fill(f) {
    const std::size_t r = g.axes.size();
    if (blocked) {
      grid = choose_blocking(g, is_complex_v<T> ? sizeof(C) : sizeof(C) / 2, std::is_same_v<T, float>).tile;
      // FOURIERCONV_OA_TILE=L or L1xL2...: force the tile (for measuring the cost model).
      if (const char* env = std::getenv("FOURIERCONV_OA_TILE")) {
        std::vector<std::size_t> t;
        for (const char* p = env; *p;) {
          char* end = nullptr;
          const unsigned long v = std::strtoul(p, &end, 10);
          if (end == p) break;
          t.push_back(v);
          p = *end ? end + 1 : end;
        }
        if (t.size() == 1) t.assign(r, t[0]);
        bool ok = t.size() == r;
        for (std::size_t i = 0; ok && i < r; ++i) ok = t[i] >= g.axes[i].k;
        if (ok) grid = t;
      }
      for (std::size_t i = 0; i < r; ++i) {
        tile_out.push_back(grid[i] - g.axes[i].k + 1);
        tile_count.push_back((g.axes[i].out + tile_out[i] - 1) / tile_out[i]);
        tiles *= tile_count[i];
      }
    } else {
      grid = fft_grid(g, f == T{}, std::is_same_v<T, float>);
    }
    points = shape_size(grid);
    const bool one_big = !blocked && g.batch_size() == 1 && points >= kThreadedGrid;
    const int threads = one_big ? omp_get_max_threads() : 1;
    if constexpr (std::is_same_v<T, float>)
      if (plane_grid(grid))
        plane = fourierconv::detail::PlaneFft::get(grid[0], grid[1]);
    if (plane) {
      bins = plane->spectrum_size();
    } else if constexpr (is_complex_v<T>) {
      fwd = FftwPlan<R>::get(FftKind::C2CForward, grid, rigor, threads);
      inv = FftwPlan<R>::get(FftKind::C2CBackward, grid, rigor, threads);
    } else {
      fwd = FftwPlan<R>::get(FftKind::R2C, grid, rigor, threads);
      inv = FftwPlan<R>::get(FftKind::C2R, grid, rigor, threads);
    }
    if (!plane) bins = fwd->complex_size();
    kspec.resize(g.k_items() * bins);
    if (kernel) kernel_spectra(kernel);
  }

  // kspec from the canonical kernel, every kernel item.
  void kernel_spectra(const T* kernel) {
    AlignedVector<T> kgrid(points);
    for (std::size_t item = 0; item < g.k_items(); ++item)
      kernel_spectrum(kernel + item * g.k_plane(), fwd.get(), kgrid.data(), kspec.data() + item * bins);
  }

  // Threads for one plane transform outside a parallel region (kPlaneThreadedPoints).
  int plane_threads() const {
    return points >= kPlaneThreadedPoints && omp_get_max_threads() >= 2 && !omp_in_parallel() ? 2 : 1;
  }
  // The forward transform of a grid (`single`: the FFTW plan to run, where not fwd), the
  // product with a kernel spectrum and the inverse (which may overwrite `spec`), through
  // FFTW or the plane transforms.
  void forward(const T* in, C* spec, const FftwPlan<R>* single = nullptr) const {
    if constexpr (std::is_same_v<T, float>)
      if (plane) {
        const int n = plane_threads();
        const Scratch<float> work(3, plane->work_size(n));
        return plane->forward(in, spec, work.get(), n);
      }
    (single ? single : fwd.get())->execute(in, spec);
  }
  void product(C* spec, const C* k) const {
    if constexpr (std::is_same_v<T, float>)
      if (plane) return fourierconv::detail::PlaneFft::multiply(spec, k, bins);
    multiply(spec, k, bins);
  }
  // grid <- the circular convolution of grid with the kernel spectrum k; spec: bins of work.
  void convolve_grid(T* grid_buf, const C* k, C* spec) const {
    if constexpr (std::is_same_v<T, float>)
      if (plane) return plane_convolve(grid_buf, k, grid_buf, 1);
    fwd->execute(grid_buf, spec);
    multiply(spec, k, bins);
    inv->execute(spec, grid_buf);
  }
  // The plane transforms' forward, product and inverse fused, block by block in cache (no
  // spectrum buffer: their work holds it). out may be in.
  void plane_convolve(const float* in, const std::complex<float>* k, float* out, int threads) const {
    const Scratch<float> work(3, plane->work_size(threads));
    plane->convolve(in, k, out, work.get(), threads);
  }
  void inverse(C* spec, T* out) const {
    if constexpr (std::is_same_v<T, float>)
      if (plane) {
        const int n = plane_threads();
        const Scratch<float> work(3, plane->work_size(n));
        return plane->inverse(spec, out, work.get(), n);
      }
    inv->execute(spec, out);
  }

  // One kernel item's spectrum, 1/points folded in: the kernel at the grid's origin (circular:
  // its centre, k/2, there, a kernel larger than the grid aliasing onto it). kgrid: `points`
  // of work space.
  void kernel_spectrum(const T* k, const FftwPlan<R>* plan, T* kgrid, C* out) const {
    const std::size_t r = g.axes.size(), kp = g.k_plane();
    std::vector<std::size_t> kdims;
    for (const ConvAxis& a : g.axes) kdims.push_back(a.k);
    std::vector<std::size_t> gs(r);
    gs[r - 1] = 1;
    for (std::size_t i = r - 1; i-- > 0;) gs[i] = gs[i + 1] * grid[i + 1];
    std::fill(kgrid, kgrid + points, T{});
    std::vector<std::size_t> u(r, 0);
    for (std::size_t e = 0; e < kp; ++e) {
      std::size_t o = 0;
      for (std::size_t i = 0; i < r; ++i) {
        const std::size_t shift = g.circular && on_x ? std::size_t(g.axes[i].start) % grid[i] : 0;
        o += ((u[i] + grid[i] - shift) % grid[i]) * gs[i];
      }
      kgrid[o] += k[e];
      for (std::size_t i = r; i-- > 0;) {
        if (++u[i] < kdims[i]) break;
        u[i] = 0;
      }
    }
    forward(kgrid, out, plan);
    const R scale = R(1) / R(points);
    for (std::size_t b = 0; b < bins; ++b) out[b] *= scale;
  }

  // One whole-extent item: x item -> grid -> spectrum; returns nothing, fills spec.
  void place(const T* xi, T* grid_buf) const {
    const std::size_t r = g.axes.size();
    std::vector<std::size_t> zero(r, 0), ext(r);
    if (on_x) {
      // x at the origin, zeros elsewhere.
      std::vector<std::size_t> nd;
      for (const ConvAxis& a : g.axes) nd.push_back(a.n);
      std::fill(grid_buf, grid_buf + points, T{});
      copy_block(xi, nd, zero, grid_buf, grid, zero, nd);
    } else {
      for (std::size_t i = 0; i < r; ++i) ext[i] = g.axes[i].extended();
      gather_extended(g.axes, xi, zero, ext, grid, fill, grid_buf);
    }
  }

  // Result grid -> output item.
  void crop(const T* res, T* yi) const {
    const std::size_t r = g.axes.size();
    std::vector<std::size_t> off(r), zero(r, 0), od;
    for (std::size_t i = 0; i < r; ++i) {
      const ConvAxis& a = g.axes[i];
      off[i] = g.circular ? 0 : on_x ? std::size_t(a.start) : a.k - 1;
      od.push_back(a.out);
    }
    copy_block(res, grid, off, yi, od, zero, od);
  }

  void run(const T* x, T* y) const {
    if (blocked) return run_blocked(x, y);
    const std::size_t B = g.batch_size(), xp = g.x_plane(), op = g.out_plane();
    const bool x_shared = g.x_items() < B;  // x broadcast: transform each x item once
    AlignedVector<C> xspec;
    const bool par = B > 1 && double(B) * double(points) > kParallelPoints;
    if (x_shared) {
      xspec.resize(g.x_items() * bins);
      for_items(g.x_items(), par, [&](std::size_t i) {
        const Scratch<T> gb(0, points);
        place(x + i * xp, gb.get());
        forward(gb.get(), xspec.data() + i * bins);
      });
    }
    // Circular on the input grid (the seed's case): the transforms read x and write y in place
    // when they have FFTW's alignment (Array and Tensor storage does): two copies saved.
    const bool same_grid = on_x && g.circular;
    auto aligned = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 64 == 0; };
    // Per item: the grid buffer takes the input, then (the forward transform done with it) the
    // inverse's output: one real grid and one spectrum besides the output (peak memory on a
    // 2048^2 float32 image: kernel spectrum + grid + spectrum + output).
    for_items(B, par, [&](std::size_t b) {
      const T* xi = x + g.x_item(b) * xp;
      T* yi = y + b * op;
      if constexpr (std::is_same_v<T, float>)
        if (plane && !x_shared) {
          const int n = par ? 1 : plane_threads();
          const C* k = kspec.data() + g.k_item(b) * bins;
          if (same_grid) return plane_convolve(xi, k, yi, n);
          const Scratch<T> gbuf(0, points);
          place(xi, gbuf.get());
          plane_convolve(gbuf.get(), k, gbuf.get(), n);
          return crop(gbuf.get(), yi);
        }
      const Scratch<T> gbuf(0, points);
      const Scratch<C> sbuf(1, bins);
      T* gb = gbuf.get();
      C* spec = sbuf.get();
      if (x_shared) {
        std::copy(xspec.begin() + std::ptrdiff_t(g.x_item(b) * bins), xspec.begin() + std::ptrdiff_t((g.x_item(b) + 1) * bins),
                  spec);
      } else if (same_grid && (plane || aligned(xi))) {
        forward(xi, spec);  // r2c and out-of-place c2c leave their input intact
      } else {
        place(xi, gb);
        forward(gb, spec);
      }
      product(spec, kspec.data() + g.k_item(b) * bins);
      if (same_grid && (plane || aligned(yi))) {
        inverse(spec, yi);
      } else {
        inverse(spec, gb);
        crop(gb, yi);
      }
    });
  }

  void run_blocked(const T* x, T* y) const {
    const std::size_t B = g.batch_size(), xp = g.x_plane(), op = g.out_plane(), r = g.axes.size();
    std::vector<std::size_t> od;
    for (const ConvAxis& a : g.axes) od.push_back(a.out);
    const std::size_t items = B * tiles;
#pragma omp parallel if (items > 1 && double(items) * double(points) > kParallelPoints)
    {
      const Scratch<T> gbuf(0, points);
      const Scratch<C> sbuf(1, bins);
      T* gb = gbuf.get();
      C* spec = sbuf.get();
      std::vector<std::size_t> origin(r), pos(r), ext(r), off(r);
#pragma omp for schedule(dynamic)
      for (std::size_t it = 0; it < items; ++it) {
        const std::size_t b = it / tiles;
        std::size_t t = it % tiles;
        for (std::size_t i = r; i-- > 0;) {
          const std::size_t ti = t % tile_count[i];
          t /= tile_count[i];
          origin[i] = pos[i] = ti * tile_out[i];
          ext[i] = std::min(tile_out[i], g.axes[i].out - pos[i]);
          off[i] = g.axes[i].k - 1;
        }
        gather_extended(g.axes, x + g.x_item(b) * xp, origin, grid, grid, fill, gb);
        convolve_grid(gb, kspec.data() + g.k_item(b) * bins, spec);
        copy_block(gb, grid, off, y + b * op, od, pos, ext);
      }
    }
  }
};

// One call, one item, one kernel: the two forward transforms (kernel and input) run side by
// side, one per core on single-threaded plans (side_by_side_forwards, engine.hpp: grids of
// 1,024 points and more, but N-D grids from kThreadedGrid, which thread well), and the inverse
// alone, on FFTW's threads on a large grid, which scale poorly on a 1-D transform (589,824
// float32 points: 2.7 ms on one thread, 2.0 on two).
template <class T>
void FftConvolver<T>::convolve_once(const Geometry& g, const T* kernel, const T* x, T* y, bool blocked, FftRigor rigor,
                                    T fill) {
  using Impl = typename FftConvolver<T>::Impl;
  using R = typename Impl::R;
  using C = typename Impl::C;
  Impl im(g, nullptr, blocked, rigor, fill);  // (overlap-save of one tile is the whole grid here)
  const bool one = !im.blocked && g.batch_size() == 1 && g.x_items() == 1 && g.k_items() == 1 && omp_get_max_threads() >= 2;
  if (!one || !side_by_side_forwards(im.points, g.axes.size())) {
    im.kernel_spectra(kernel);
    return im.run(x, y);
  }
  const auto single = im.plane ? nullptr : FftwPlan<R>::get(is_complex_v<T> ? FftKind::C2CForward : FftKind::R2C, im.grid, rigor, 1);
  const Scratch<T> kgrid(0, im.points), xgrid(1, im.points);
  const Scratch<C> spec(2, im.bins);
#pragma omp parallel sections num_threads(2)
  {
#pragma omp section
    im.kernel_spectrum(kernel, single.get(), kgrid.get(), im.kspec.data());
#pragma omp section
    {
      im.place(x, xgrid.get());
      im.forward(xgrid.get(), spec.get(), single.get());
    }
  }
  im.product(spec.get(), im.kspec.data());
  im.inverse(spec.get(), xgrid.get());
  im.crop(xgrid.get(), y);
}

template <class T>
FftConvolver<T>::FftConvolver(const Geometry& g, const T* kernel, bool blocked, FftRigor rigor, T fill)
    : impl_(std::make_unique<Impl>(g, kernel, blocked, rigor, fill)) {}
template <class T>
FftConvolver<T>::~FftConvolver() = default;
template <class T>
FftConvolver<T>::FftConvolver(FftConvolver&&) noexcept = default;
template <class T>
void FftConvolver<T>::run(const T* x, T* y) const {
  impl_->run(x, y);
}
template <class T>
const std::vector<std::size_t>& FftConvolver<T>::grid() const {
  return impl_->grid;
}
template <class T>
std::size_t FftConvolver<T>::tiles() const {
  return impl_->tiles;
}

template class FftConvolver<float>;
template class FftConvolver<double>;
template class FftConvolver<std::complex<float>>;
template class FftConvolver<std::complex<double>>;

}  // namespace fourierconv::signal::detail
