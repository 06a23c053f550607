// The scipy.signal functions of signal.hpp: checks and edge cases as scipy has them, the
// element types, the canonical layout, and the engine (engine.hpp) underneath.
#include "fourierconv/signal.hpp"

#include <chrono>
#include <cstring>
#include <cmath>
#include <numeric>

#include "fourierconv/error.hpp"
#include "signal/choose.hpp"
#include "signal/convolve_to.hpp"
#include "signal/engine.hpp"
#include "signal/geometry.hpp"

namespace fourierconv::signal {

using namespace detail;

Boundary parse_boundary(const std::string& name) {
  if (name == "fill" || name == "pad") return Boundary::Fill;
  if (name == "wrap" || name == "circular") return Boundary::Wrap;
  if (name == "symm" || name == "symmetric") return Boundary::Symm;
  throw Error("boundary: expected one of fill, wrap, symm (or pad, circular, symmetric); got '" + name + "'");
}

std::vector<std::int64_t> correlation_lags(std::size_t in1_len, std::size_t in2_len, Mode mode) {
  return detail::correlation_lags(in1_len, in2_len, mode);
}

namespace {

// The view with its axes permuted: axis i of the result is axis perm[i] of v.
ArrayView permuted(const ArrayView& v, const std::vector<std::size_t>& perm) {
  ArrayView p = v;
  for (std::size_t i = 0; i < perm.size(); ++i) p.shape[i] = v.shape[perm[i]], p.strides[i] = v.strides[perm[i]];
  return p;
}

std::vector<std::size_t> canonical_order(const Geometry& g) {
  std::vector<std::size_t> perm = g.batch_axes;
  perm.insert(perm.end(), g.conv_axes.begin(), g.conv_axes.end());
  return perm;
}

Array to_canonical(const ArrayView& v, const Geometry& g, DType to) { return Array::copy_of(permuted(v, canonical_order(g)), to); }

// The canonical output (batch axes, then convolved axes) in the original axis order.
Array from_canonical(Array y, const Geometry& g) {
  const std::vector<std::size_t> perm = canonical_order(g);
  bool identity = true;
  for (std::size_t i = 0; i < perm.size(); ++i) identity = identity && perm[i] == i;
  if (identity) return std::move(y.reshape(g.out_shape));
  const Strides cs = c_strides(y.shape());
  ArrayView v{y.dtype(), g.out_shape, Strides(g.rank), y.data()};
  for (std::size_t i = 0; i < perm.size(); ++i) v.strides[perm[i]] = cs[i];
  return Array::copy_of(v);
}

// A view as an owned array with every axis reversed (or those of `axes`, negative ones counted
// from the end, when given) and, with conj, complex values conjugated (scipy's
// _reverse_and_conj). Axes out of range are left for make_geometry to refuse.
Array reversed(const ArrayView& v, bool conj = false, const std::optional<std::vector<long>>& axes = std::nullopt) {
  ArrayView r = v;
  const unsigned char* base = static_cast<const unsigned char*>(v.data);
  std::ptrdiff_t off = 0;
  std::vector<bool> flip(v.rank(), !axes);
  if (axes)
    for (long a : *axes) {
      const long i = a < 0 ? a + long(v.rank()) : a;
      if (i >= 0 && i < long(v.rank())) flip[std::size_t(i)] = true;
    }
  for (std::size_t i = 0; i < v.rank(); ++i) {
    if (!flip[i]) continue;
    if (v.shape[i] > 0) off += std::ptrdiff_t(v.shape[i] - 1) * v.strides[i];
    r.strides[i] = -v.strides[i];
  }
  r.data = base + off * std::ptrdiff_t(dtype_size(v.dtype));
  Array a = Array::copy_of(r);
  if (!conj) return a;
  if (a.dtype() == DType::Complex64)
    for (std::size_t i = 0; i < a.size(); ++i) a.data_as<std::complex<float>>()[i] = std::conj(a.data_as<std::complex<float>>()[i]);
  if (a.dtype() == DType::Complex128)
    for (std::size_t i = 0; i < a.size(); ++i) a.data_as<std::complex<double>>()[i] = std::conj(a.data_as<std::complex<double>>()[i]);
  return a;
}
Array reversed_conj(const ArrayView& v) { return reversed(v, true); }

// The type the FFT methods compute in: each input as scipy's _freq_domain_conv takes it
// (integers and bool become float64, float32 and complex64 stay), then their result type.
DType fft_compute_type(DType a, DType b) { return result_type(fft_type(a), fft_type(b)); }

bool is_real_integral(DType t) { return is_integer(t) || t == DType::Bool; }

// Two 0-d arrays: their product (conj of in2 for correlate), in the result type.
Array scalar_product(const ArrayView& a, const ArrayView& b, bool conj_b) {
  const DType rt = result_type(a.dtype, b.dtype);
  Array x = Array::copy_of(a, rt), y = Array::copy_of(b, rt), out(rt, {});
  visit_dtype(rt, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T yv = y.data_as<T>()[0];
    if constexpr (std::is_same_v<T, std::complex<float>> || std::is_same_v<T, std::complex<double>>)
      if (conj_b) yv = std::conj(yv);
    if constexpr (std::is_same_v<T, bool>) out.data_as<T>()[0] = x.data_as<T>()[0] && yv;
    else out.data_as<T>()[0] = T(x.data_as<T>()[0] * yv);
  });
  return out;
}

void check_finite_view(const ArrayView& v, const char* what) {
  if (!is_floating(v.dtype)) return;
  Array c = Array::copy_of(v, is_complex(v.dtype) ? DType::Complex128 : DType::Float64);
  const double* p = static_cast<const double*>(c.data());
  const std::size_t n = c.size() * (is_complex(v.dtype) ? 2 : 1);
  for (std::size_t i = 0; i < n; ++i)
    if (!std::isfinite(p[i]))
      throw Error(std::string(what) + " contains " + (std::isnan(p[i]) ? "NaN" : "Inf") + " (check_finite is on)");
}

// scipy's guard for integer inputs: their products must stay exact in float64's mantissa for
// an FFT method to reproduce the exact integer result.
bool integer_products_exact_in_double(const ArrayView& a, const ArrayView& b) {
  auto max_abs = [](const ArrayView& v) {
    Array d = Array::copy_of(v, DType::Float64);
    double m = 0;
    for (std::size_t i = 0; i < d.size(); ++i) m = std::max(m, std::fabs(d.data_as<double>()[i]));
    return m;
  };
  const double bound = max_abs(a) * max_abs(b) * double(std::min(a.size(), b.size()));
  return bound <= 9007199254740991.0;  // 2^53 - 1
}

// An FFT method's output (float32/64, complex) as convolve returns it: scipy's astype to the
// result type, integers rounded first (np.round) and cast through a 64-bit integer, so values
// beyond the type wrap as the direct method's do (the exact result modulo 2^bits).
Array to_result_type(Array Y, DType rt) {
  if (Y.dtype() == rt) return Y;
  if (!is_real_integral(rt)) return Array::copy_of(Y.view(), rt);
  const Array D = Array::copy_of(Y.view(), DType::Float64);
  const double* p = D.data_as<double>();
  Array Z(rt, Y.shape());
  visit_dtype(rt, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_integral_v<T>) {
      T* z = Z.data_as<T>();
      for (std::size_t i = 0; i < D.size(); ++i) {
        const double v = std::nearbyint(p[i]);
        const std::int64_t w = v >= 9.2e18 || v <= -9.2e18 || v != v ? 0 : std::int64_t(v);
        if constexpr (std::is_same_v<T, bool>) z[i] = w != 0;
        else z[i] = static_cast<T>(w);
      }
    }
  });
  return Z;
}

struct Request {
  Rules rules = Rules::Convolve;
  Mode mode = Mode::Full;
  Method method = Method::Auto;
  std::optional<std::vector<long>> axes;
  bool round_integers = true;  // convolve/correlate: an FFT result is rounded back to integers
  Extension ext = Extension::Fill;
  std::complex<double> fill = 0.0;
  FftRigor rigor = FftRigor::Estimate;
  bool same_offset_half_k = false;  // correlate2d's same-mode centring
  bool explain = true;              // ConvolveOptions::explain
  bool calibrate = true;            // ConvolveOptions::calibrate
};

template <class T>
T fill_as(std::complex<double> f) {
  if constexpr (std::is_same_v<T, std::complex<float>> || std::is_same_v<T, std::complex<double>>)
    return T(typename T::value_type(f.real()), typename T::value_type(f.imag()));
  else
    return convert_element<T>(f.real());
}

// No axis left to convolve (fftconvolve's rule broadcast them all): the broadcast product.
Array broadcast_product(const Geometry& g, const ArrayView& x, const ArrayView& k, DType rt) {
  Array X = to_canonical(x, g, rt), K = to_canonical(k, g, rt), Y(rt, g.batch);
  visit_dtype(rt, [&](auto tag) {
    using T = typename decltype(tag)::type;
    for (std::size_t b = 0; b < g.batch_size(); ++b) {
      const T a = X.data_as<T>()[g.x_item(b)], c = K.data_as<T>()[g.k_item(b)];
      if constexpr (std::is_same_v<T, bool>) Y.data_as<T>()[b] = a && c;
      else Y.data_as<T>()[b] = T(a * c);
    }
  });
  return from_canonical(std::move(Y), g);
}

MethodChoice decide(const Geometry& g, const ArrayView& x, const ArrayView& k, DType rt, const Request& q,
                    bool with_reason = true) {
  MethodChoice m;
  if (q.method != Method::Auto) {
    m.method = q.method;
    m.reason = to_string(q.method) + " (requested)";
    return m;
  }
  if (rt == DType::Bool || (is_integer(rt) && !integer_products_exact_in_double(x, k))) {
    m.method = Method::Direct;
    m.reason = std::string("direct: ") + (rt == DType::Bool ? "bool inputs" : "integer products beyond float64's exact range") +
               " (scipy's rule)";
    return m;
  }
  return choose_by_model(g, rt, fft_compute_type(x.dtype, k.dtype), q.fill == 0.0, q.mode, with_reason, q.calibrate);
}

// An input in the canonical layout and a given type: the caller's memory when it already is
// (no copy), else a converted copy.
struct CanonicalInput {
  Array owned;
  const void* data = nullptr;
};
CanonicalInput canonical_input(const ArrayView& v, const Geometry& g, DType to) {
  const std::vector<std::size_t> order = canonical_order(g);
  bool identity = true;
  for (std::size_t i = 0; i < order.size(); ++i) identity = identity && order[i] == i;
  if (identity && v.dtype == to && v.c_contiguous()) return {Array(), v.data};
  CanonicalInput c{to_canonical(v, g, to), nullptr};
  c.data = c.owned.data();
  return c;
}

bool natural_order(const Geometry& g) {
  const std::vector<std::size_t> order = canonical_order(g);
  for (std::size_t i = 0; i < order.size(); ++i)
    if (order[i] != i) return false;
  return true;
}

// The convolution of in1 and in2 as q asks. With dst (room for the output in C order, of the
// result type the call returns), the result is written there when the layout allows and
// copied there otherwise; the returned array is then empty.
Array run(const ArrayView& in1, const ArrayView& in2, const Request& q, MethodChoice* chosen, void* dst = nullptr) {
  const bool explicit_axes = q.axes.has_value();
  const Geometry g = make_geometry(in1.shape, in2.shape, q.mode, explicit_axes ? *q.axes : std::vector<long>{}, explicit_axes,
                                   q.rules, q.ext, q.same_offset_half_k);
  const ArrayView& x = g.swapped ? in2 : in1;
  const ArrayView& k = g.swapped ? in1 : in2;
  const DType rt = result_type(in1.dtype, in2.dtype);
  auto deliver = [&](Array y) {
    if (!dst) return y;
    std::memcpy(dst, y.data(), y.nbytes());
    return Array();
  };
  if (g.axes.empty()) {
    if (chosen) *chosen = MethodChoice{Method::Direct, "no axis to convolve: the broadcast product", 0, 0, 0};
    return deliver(broadcast_product(g, x, k, rt));
  }
  MethodChoice m = decide(g, x, k, rt, q, chosen != nullptr && q.explain);
  if (chosen) *chosen = m;
  const bool direct = m.method == Method::Direct;
  const DType ct = direct ? rt : fft_compute_type(x.dtype, k.dtype);
  const DType out_type = direct || !q.round_integers ? ct : rt;
  const CanonicalInput X = canonical_input(x, g, ct), K = canonical_input(k, g, ct);
  // Write straight into dst when it is laid out as the computation's output.
  const bool in_place = dst && natural_order(g) && out_type == ct;
  Array Y = in_place ? Array() : Array::uninitialized(ct, g.out_canonical());
  void* ydata = in_place ? dst : Y.data();
  if (direct) {
    visit_dtype(rt, [&](auto tag) {
      using T = typename decltype(tag)::type;
      direct_convolve<T>(g, static_cast<const T*>(X.data), static_cast<const T*>(K.data), static_cast<T*>(ydata),
                         fill_as<T>(q.fill));
    });
  } else {
    const bool blocked = m.method == Method::OverlapAdd;
    auto go = [&](auto* tp) {
      using T = std::remove_pointer_t<decltype(tp)>;
      FftConvolver<T>::convolve_once(g, static_cast<const T*>(K.data), static_cast<const T*>(X.data), static_cast<T*>(ydata),
                                     blocked, q.rigor, fill_as<T>(q.fill));
    };
    switch (ct) {
      case DType::Float32: go(static_cast<float*>(nullptr)); break;
      case DType::Float64: go(static_cast<double*>(nullptr)); break;
      case DType::Complex64: go(static_cast<std::complex<float>*>(nullptr)); break;
      default: go(static_cast<std::complex<double>*>(nullptr)); break;
    }
  }
  if (in_place) return Array();
  if (!direct && q.round_integers) Y = to_result_type(std::move(Y), rt);
  return deliver(from_canonical(std::move(Y), g));
}

// Checks common to every function: ranks and emptiness. Returns false when the caller must
// return `early` instead of convolving.
bool prologue(const ArrayView& in1, const ArrayView& in2, bool empty_ok, bool conj_b, Array* early, const char* who) {
  if (in1.rank() == 0 && in2.rank() == 0) {
    *early = scalar_product(in1, in2, conj_b);
    return false;
  }
  if (in1.rank() != in2.rank())
    throw Error(std::string(who) + ": in1 and in2 should have the same dimensionality, got shapes " +
                shape_to_string(in1.shape) + " and " + shape_to_string(in2.shape));
  if (in1.size() == 0 || in2.size() == 0) {
    if (!empty_ok)
      throw Error(std::string(who) + ": in1 and in2 must not be empty, got shapes " + shape_to_string(in1.shape) + " and " +
                  shape_to_string(in2.shape));
    *early = Array(DType::Float64, {0});  // scipy returns np.asarray([])
    return false;
  }
  return true;
}

}  // namespace

Array convolve(const ArrayView& in1, const ArrayView& in2, Mode mode, Method method, const ConvolveOptions& o,
               MethodChoice* chosen) {
  Array early;
  if (!prologue(in1, in2, false, false, &early, "convolve")) return early;
  if (o.check_finite) check_finite_view(in1, "convolve: in1"), check_finite_view(in2, "convolve: in2");
  Request q;
  q.mode = mode, q.method = method, q.axes = o.axes, q.rigor = o.rigor, q.explain = o.explain, q.calibrate = o.calibrate;
  return run(in1, in2, q, chosen);
}

void detail::convolve_to(const ArrayView& in1, const ArrayView& in2, Mode mode, Method method, MethodChoice* chosen,
                         void* dst) {
  Request q;
  q.mode = mode, q.method = method;
  run(in1, in2, q, chosen, dst);
}

Array correlate(const ArrayView& in1, const ArrayView& in2, Mode mode, Method method, const ConvolveOptions& o,
                MethodChoice* chosen) {
  Array early;
  if (!prologue(in1, in2, false, true, &early, "correlate")) return early;
  if (mode == Mode::Circular) throw Error("correlate: mode must be full, same or valid, got circular");
  if (o.check_finite) check_finite_view(in1, "correlate: in1"), check_finite_view(in2, "correlate: in2");
  // Reversed along the correlated axes only: along the others kernel item i meets input item i.
  const Array k = reversed(in2, true, o.axes);
  Request q;
  q.mode = mode, q.method = method, q.axes = o.axes, q.rigor = o.rigor, q.explain = o.explain, q.calibrate = o.calibrate;
  return run(in1, k.view(), q, chosen);
}

Array fftconvolve(const ArrayView& in1, const ArrayView& in2, Mode mode, const std::optional<std::vector<long>>& axes) {
  Array early;
  if (!prologue(in1, in2, true, false, &early, "fftconvolve")) return early;
  if (mode == Mode::Circular) throw Error("fftconvolve: acceptable mode flags are 'valid', 'same', or 'full', got circular");
  Request q;
  q.rules = Rules::FreqDomain, q.mode = mode, q.method = Method::Fft, q.axes = axes, q.round_integers = false;
  return run(in1, in2, q, nullptr);
}

Array oaconvolve(const ArrayView& in1, const ArrayView& in2, Mode mode, const std::optional<std::vector<long>>& axes) {
  Array early;
  if (!prologue(in1, in2, true, false, &early, "oaconvolve")) return early;
  if (mode == Mode::Circular) throw Error("oaconvolve: acceptable mode flags are 'valid', 'same', or 'full', got circular");
  Request q;
  q.rules = Rules::FreqDomain, q.mode = mode, q.method = Method::OverlapAdd, q.axes = axes, q.round_integers = false;
  return run(in1, in2, q, nullptr);
}

namespace {

Request request_2d(const ArrayView& in1, const ArrayView& in2, Mode mode, Boundary boundary, std::complex<double> fill,
                   const char* who) {
  if (in1.rank() != 2 || in2.rank() != 2) throw Error(std::string(who) + " inputs must both be 2-D arrays, got shapes " +
                                                      shape_to_string(in1.shape) + " and " + shape_to_string(in2.shape));
  if (mode == Mode::Circular) throw Error(std::string(who) + ": mode must be full, same or valid, got circular");
  if (in2.size() == 0) throw Error(std::string(who) + ": in2 must not be empty, got shape " + shape_to_string(in2.shape));
  if (in1.size() == 0 && boundary != Boundary::Fill)
    throw Error(std::string(who) + ": boundary " + (boundary == Boundary::Wrap ? "wrap" : "symm") +
                " needs a non-empty in1, got shape " + shape_to_string(in1.shape));
  const DType rt = result_type(in1.dtype, in2.dtype);
  if (fill.imag() != 0 && !is_complex(rt))
    throw Error(std::string(who) + ": could not cast `fillvalue` directly to the output type " + to_string(rt) +
                " (its imaginary part is " + std::to_string(fill.imag()) + ")");
  Request q;
  q.mode = mode;
  // The direct sum, as scipy's convolve2d: its exact NaN/Inf extent and precision at every
  // output (an FFT spreads one NaN over a whole tile and leaves float32 corners ~1e-5 off).
  q.method = Method::Direct;
  q.ext = boundary == Boundary::Fill ? Extension::Fill : boundary == Boundary::Wrap ? Extension::Periodic : Extension::Symmetric;
  q.fill = boundary == Boundary::Fill ? fill : 0.0;
  return q;
}

}  // namespace

Array convolve2d(const ArrayView& in1, const ArrayView& in2, Mode mode, Boundary boundary, std::complex<double> fillvalue) {
  const Request q = request_2d(in1, in2, mode, boundary, fillvalue, "convolve2d");
  return run(in1, in2, q, nullptr);
}

Array correlate2d(const ArrayView& in1, const ArrayView& in2, Mode mode, Boundary boundary, std::complex<double> fillvalue) {
  Request q = request_2d(in1, in2, mode, boundary, fillvalue, "correlate2d");
  q.same_offset_half_k = true;  // scipy's correlate2d: full correlation cropped at k / 2
  const bool swap = mode == Mode::Valid && !(in1.shape[0] >= in2.shape[0] && in1.shape[1] >= in2.shape[1]) &&
                    in2.shape[0] >= in1.shape[0] && in2.shape[1] >= in1.shape[1];
  if (!swap) {
    const Array k = reversed_conj(in2);
    return run(in1, k.view(), q, nullptr);
  }
  // scipy: correlate2d(in2, in1) reversed (see signal.hpp).
  const Array k = reversed_conj(in1);
  const Array y = run(in2, k.view(), q, nullptr);
  return reversed(y.view());
}

MethodChoice choose_conv_method(const ArrayView& in1, const ArrayView& in2, Mode mode, bool measure, const ConvolveOptions& o) {
  Array early;
  if (!prologue(in1, in2, false, false, &early, "choose_conv_method"))
    return MethodChoice{Method::Direct, "0-d inputs: a product", 0, 0, 0};
  Request q;
  q.mode = mode, q.axes = o.axes, q.rigor = o.rigor, q.calibrate = o.calibrate;
  const bool explicit_axes = o.axes.has_value();
  const Geometry g = make_geometry(in1.shape, in2.shape, mode, explicit_axes ? *o.axes : std::vector<long>{}, explicit_axes,
                                   Rules::Convolve);
  const DType rt = result_type(in1.dtype, in2.dtype);
  MethodChoice m = decide(g, g.swapped ? in2 : in1, g.swapped ? in1 : in2, rt, q);
  if (!measure) return m;
  // Time each candidate (scipy's _timeit_fast: repeat until 5 ms, keep the best).
  auto time_it = [&](Method method) {
    ConvolveOptions oo = o;
    double best = INFINITY, total = 0;
    for (int rep = 0; rep < 50 && (rep < 3 || total < 5e-3); ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      convolve(in1, in2, mode, method, oo);
      const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best = std::min(best, t);
      total += t;
    }
    return best * 1e6;
  };
  MethodChoice r;
  r.direct_us = time_it(Method::Direct);
  const bool fft_ok = !(rt == DType::Bool || (is_integer(rt) && !integer_products_exact_in_double(in1, in2)));
  r.fft_us = fft_ok ? time_it(Method::Fft) : INFINITY;
  r.overlap_add_us = fft_ok ? time_it(Method::OverlapAdd) : INFINITY;
  r.method = r.direct_us <= r.fft_us && r.direct_us <= r.overlap_add_us ? Method::Direct
             : r.fft_us <= r.overlap_add_us                              ? Method::Fft
                                                                         : Method::OverlapAdd;
  r.reason = to_string(r.method) + " (measured: direct " + std::to_string(r.direct_us) + " us, fft " +
             std::to_string(r.fft_us) + " us, overlap-add " + std::to_string(r.overlap_add_us) + " us)";
  return r;
}

// ---------------------------------------------------------------------------------------
// Convolver

struct Convolver::Impl {
  Shape in_shape;
  DType in_dtype, k_dtype, out_dtype, compute;
  Mode mode;
  Method method = Method::Auto;  // as requested (the swapped case runs it per call)
  ConvolveOptions options;
  Geometry g;
  MethodChoice choice;
  Array kernel;                        // the caller's kernel (owned), for the swapped case
  Array K;                             // the canonical kernel in the compute type (direct)
  std::shared_ptr<void> fft;           // FftConvolver<T> of the compute type
  std::vector<std::size_t> grid;
};

Convolver::Convolver(const Shape& in1_shape, DType in1_dtype, const ArrayView& kernel, Mode mode, Method method,
                     const ConvolveOptions& options)
    : impl_(std::make_unique<Impl>()) {
  Impl& p = *impl_;
  p.in_shape = in1_shape;
  p.in_dtype = in1_dtype;
  p.k_dtype = kernel.dtype;
  p.mode = mode;
  p.method = method;
  p.options = options;
  p.kernel = Array::copy_of(kernel);
  if (in1_shape.size() != kernel.rank())
    throw Error("Convolver: the input shape " + shape_to_string(in1_shape) + " and the kernel " +
                shape_to_string(kernel.shape) + " should have the same dimensionality");
  checked_product(in1_shape, "Convolver");
  if (shape_size(in1_shape) == 0 || kernel.size() == 0 || in1_shape.empty())
    throw Error("Convolver: the input shape " + shape_to_string(in1_shape) + " and the kernel " +
                shape_to_string(kernel.shape) + " must be non-empty and of rank >= 1");
  if (options.check_finite) check_finite_view(kernel, "Convolver: kernel");
  const bool explicit_axes = options.axes.has_value();
  p.g = make_geometry(in1_shape, kernel.shape, mode, explicit_axes ? *options.axes : std::vector<long>{}, explicit_axes,
                      Rules::Convolve);
  const DType rt = result_type(in1_dtype, kernel.dtype);
  p.out_dtype = rt;
  if (p.g.swapped || p.g.axes.empty()) {  // nothing to plan: each call is a one-shot convolve
    p.choice = MethodChoice{Method::Direct, "not planned: " + std::string(p.g.swapped ? "valid mode swaps the inputs" : "no axis to convolve"),
                            0, 0, 0};
    return;
  }
  Request q;
  q.mode = mode, q.method = method, q.axes = options.axes, q.rigor = options.rigor;
  if (method == Method::Auto && !(rt == DType::Bool || is_integer(rt))) {
    p.choice = choose_by_model(p.g, rt, fft_compute_type(in1_dtype, kernel.dtype), true, mode, true, options.calibrate);
  } else {
    // Integer inputs: the exactness guard needs the values of x; plan direct unless told.
    p.choice = method == Method::Auto ? MethodChoice{Method::Direct, "direct: integer or bool inputs (exact sums)", 0, 0, 0}
                                      : MethodChoice{method, to_string(method) + " (requested)", 0, 0, 0};
  }
  if (p.choice.method == Method::Direct) {
    p.compute = rt;
    p.K = to_canonical(kernel, p.g, rt);
    return;
  }
  p.compute = fft_compute_type(in1_dtype, kernel.dtype);
  p.K = to_canonical(kernel, p.g, p.compute);
  const bool blocked = p.choice.method == Method::OverlapAdd;
  auto make = [&](auto* tp) {
    using T = std::remove_pointer_t<decltype(tp)>;
    auto c = std::make_shared<FftConvolver<T>>(p.g, p.K.data_as<T>(), blocked, options.rigor);
    p.grid = c->grid();
    p.fft = c;
  };
  switch (p.compute) {
    case DType::Float32: make(static_cast<float*>(nullptr)); break;
    case DType::Float64: make(static_cast<double*>(nullptr)); break;
    case DType::Complex64: make(static_cast<std::complex<float>*>(nullptr)); break;
    default: make(static_cast<std::complex<double>*>(nullptr)); break;
  }
}

Convolver::~Convolver() = default;
Convolver::Convolver(Convolver&&) noexcept = default;
Convolver& Convolver::operator=(Convolver&&) noexcept = default;
const Shape& Convolver::input_shape() const { return impl_->in_shape; }
const Shape& Convolver::output_shape() const { return impl_->g.out_shape; }
DType Convolver::output_dtype() const { return impl_->out_dtype; }
const MethodChoice& Convolver::choice() const { return impl_->choice; }
std::vector<std::size_t> Convolver::grid() const { return impl_->grid; }

bool Convolver::execute_contiguous(const void* x, void* y) const {
  const Impl& p = *impl_;
  if (p.g.swapped || p.g.axes.empty() || p.in_dtype != p.compute || p.out_dtype != p.compute) return false;
  if (!natural_order(p.g)) return false;
  if (p.options.check_finite) check_finite_view(ArrayView{p.in_dtype, p.in_shape, c_strides(p.in_shape), x}, "Convolver: x");
  if (p.choice.method == Method::Direct) {
    visit_dtype(p.compute, [&](auto tag) {
      using T = typename decltype(tag)::type;
      direct_convolve<T>(p.g, static_cast<const T*>(x), p.K.data_as<T>(), static_cast<T*>(y));
    });
    return true;
  }
  auto go = [&](auto* tp) {
    using T = std::remove_pointer_t<decltype(tp)>;
    static_cast<const FftConvolver<T>*>(p.fft.get())->run(static_cast<const T*>(x), static_cast<T*>(y));
  };
  switch (p.compute) {
    case DType::Float32: go(static_cast<float*>(nullptr)); break;
    case DType::Float64: go(static_cast<double*>(nullptr)); break;
    case DType::Complex64: go(static_cast<std::complex<float>*>(nullptr)); break;
    default: go(static_cast<std::complex<double>*>(nullptr)); break;
  }
  return true;
}

Array Convolver::operator()(const ArrayView& x) const {
  const Impl& p = *impl_;
  if (x.shape != p.in_shape)
    throw Error("Convolver: expected an input of shape " + shape_to_string(p.in_shape) + ", got " + shape_to_string(x.shape));
  if (p.options.check_finite) check_finite_view(x, "Convolver: x");
  if (p.g.swapped || p.g.axes.empty())
    return convolve(x, p.kernel.view(), p.mode, p.method, p.options);  // (it ran auto: a review's finding)
  const DType rt = result_type(x.dtype, p.k_dtype);
  if (p.choice.method == Method::Direct) {
    Array X = to_canonical(x, p.g, p.compute), Y(p.compute, p.g.out_canonical());
    visit_dtype(p.compute, [&](auto tag) {
      using T = typename decltype(tag)::type;
      direct_convolve<T>(p.g, X.data_as<T>(), p.K.data_as<T>(), Y.data_as<T>());
    });
    return to_result_type(from_canonical(std::move(Y), p.g), rt);
  }
  Array X = to_canonical(x, p.g, p.compute), Y(p.compute, p.g.out_canonical());
  auto go = [&](auto* tp) {
    using T = std::remove_pointer_t<decltype(tp)>;
    static_cast<const FftConvolver<T>*>(p.fft.get())->run(X.data_as<T>(), Y.data_as<T>());
  };
  switch (p.compute) {
    case DType::Float32: go(static_cast<float*>(nullptr)); break;
    case DType::Float64: go(static_cast<double*>(nullptr)); break;
    case DType::Complex64: go(static_cast<std::complex<float>*>(nullptr)); break;
    default: go(static_cast<std::complex<double>*>(nullptr)); break;
  }
  return to_result_type(from_canonical(std::move(Y), p.g), rt);
}

}  // namespace fourierconv::signal
