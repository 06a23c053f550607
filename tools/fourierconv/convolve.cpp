// fourierconv convolve|correlate IN KERNEL OUT [--mode] [--method] [--axes] [--boundary]
//   [--fillvalue] [--check-finite] [--output] [--verbose]
// scipy.signal's convolve / correlate (and convolve2d / correlate2d when --boundary or
// --fillvalue is given) on .npy arrays of every dtype, or PNG images (each channel).
#include <complex>
#include <iostream>
#include <sstream>

#include "common.hpp"
#include "fourierconv/error.hpp"
#include "fourierconv/signal.hpp"

namespace fourierconv::cli {
namespace {

std::vector<long> parse_axes(const std::string& s) {
  std::vector<long> axes;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) {
    std::size_t used = 0;
    long v = 0;
    try {
      v = std::stol(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size()) throw Error("--axes: expected comma-separated integers like 0,1 or -1, got '" + s + "'");
    axes.push_back(v);
  }
  if (axes.empty()) throw Error("--axes: expected at least one axis, got '" + s + "'");
  return axes;
}

std::complex<double> parse_fill(const std::string& s) {
  std::istringstream is(s);
  double re = 0, im = 0;
  char j = 0;
  if (!(is >> re)) throw Error("--fillvalue: expected a number such as 0, 2.5 or 1+2j, got '" + s + "'");
  if (is >> im >> j) {
    if (j != 'j') throw Error("--fillvalue: expected a number such as 0, 2.5 or 1+2j, got '" + s + "'");
  }
  return {re, im};
}

Array magnitude(const Array& y) {
  Array c = Array::copy_of(y.view(), DType::Complex128), out(DType::Float64, y.shape());
  for (std::size_t i = 0; i < c.size(); ++i) out.data_as<double>()[i] = std::abs(c.data_as<std::complex<double>>()[i]);
  return y.dtype() == DType::Float32 || y.dtype() == DType::Complex64 ? Array::copy_of(out.view(), DType::Float32) : out;
}

void setup(CLI::App& sub, bool correlate) {
  struct Opts {
    std::string in, kernel, out, mode = "full", method = "auto", output = "real", scaling = "normalize", axes, boundary;
    std::string fill;
    int bits = 8;
    bool verbose = false, check_finite = false;
  };
  auto o = std::make_shared<Opts>();
  sub.add_option("IN", o->in, "input .npy (any dtype, any rank) or .png (each channel)")->required();
  sub.add_option("KERNEL", o->kernel, "kernel .npy or gray .png, same rank as IN (a 2-D kernel applies to every channel of an image)")->required();
  sub.add_option("OUT", o->out, "output .npy (the result's dtype) or .png")->required();
  sub.add_option("--mode", o->mode, "full | same | valid | circular (circular: convolve only)")->capture_default_str();
  sub.add_option("--method", o->method, "auto | direct | fft | overlap-add")->capture_default_str();
  sub.add_option("--axes", o->axes, "axes to convolve along, e.g. 1 or 0,1 or -1 (default all); the others broadcast");
  sub.add_option("--boundary", o->boundary, "2-D inputs: fill | wrap | symm, as scipy's convolve2d/correlate2d");
  sub.add_option("--fillvalue", o->fill, "2-D inputs: the value beyond the edges with --boundary fill (default 0)");
  sub.add_flag("--check-finite", o->check_finite, "refuse NaN or Inf inputs (default: IEEE arithmetic, as scipy)");
  sub.add_option("--output", o->output, "real | magnitude")->capture_default_str();
  sub.add_option("--bit-depth", o->bits, "PNG output bit depth, 8 or 16")->capture_default_str();
  sub.add_option("--scaling", o->scaling, "PNG output: normalize min..max or clip to [0,1]")->capture_default_str();
  sub.add_flag("--verbose,-v", o->verbose, "say which method ran and why");
  sub.callback([o, correlate] {
    const Mode mode = parse_mode(o->mode);
    const Method method = parse_method(o->method);
    const Output output = parse_output(o->output);
    Array x = read_any_array(o->in, "input");
    Array k = read_any_array(o->kernel, "kernel");
    const bool png = ends_with(o->in, ".png");
    signal::ConvolveOptions opt;
    opt.check_finite = o->check_finite;
    if (!o->axes.empty()) opt.axes = parse_axes(o->axes);
    // An image (H, W, C) with a 2-D kernel: every channel, as convolution along axes 0 and 1.
    if (x.rank() == 3 && k.rank() == 2) {
      if (!png && o->axes.empty())
        throw Error("kernel: a 2-D kernel for a 3-D input needs --axes (e.g. --axes 0,1 to filter each channel), got shapes " +
                    shape_to_string(x.shape()) + " and " + shape_to_string(k.shape()));
      k.reshape({k.shape()[0], k.shape()[1], 1});
      if (o->axes.empty()) opt.axes = std::vector<long>{0, 1};
    }
    if (k.rank() == 3 && x.rank() == 2 && k.shape()[2] == 1) k.reshape({k.shape()[0], k.shape()[1]});  // a gray PNG kernel
    MethodChoice choice;
    Array y;
    if (!o->boundary.empty() || !o->fill.empty()) {
      if (!o->axes.empty()) throw Error("--boundary/--fillvalue (scipy's convolve2d) take 2-D inputs and no --axes");
      const auto boundary = signal::parse_boundary(o->boundary.empty() ? "fill" : o->boundary);
      const auto fill = o->fill.empty() ? std::complex<double>(0) : parse_fill(o->fill);
      y = correlate ? signal::correlate2d(x.view(), k.view(), mode, boundary, fill)
                    : signal::convolve2d(x.view(), k.view(), mode, boundary, fill);
      choice.reason = "convolve2d (boundary " + (o->boundary.empty() ? std::string("fill") : o->boundary) + ")";
    } else {
      y = correlate ? signal::correlate(x.view(), k.view(), mode, method, opt, &choice)
                    : signal::convolve(x.view(), k.view(), mode, method, opt, &choice);
    }
    if (output == Output::Magnitude) y = magnitude(y);
    if (o->verbose) std::cout << "method: " << choice.reason << "\n";
    write_any_array(o->out, y, o->bits, o->scaling);
    std::cout << (correlate ? "correlated " : "convolved ") << to_string(x.dtype()) << shape_to_string(x.shape()) << " with "
              << to_string(k.dtype()) << shape_to_string(k.shape()) << " (" << o->mode << ") -> " << to_string(y.dtype())
              << shape_to_string(y.shape()) << " " << o->out << "\n";
  });
}

}  // namespace

void setup_convolve(CLI::App& sub) { setup(sub, false); }
void setup_correlate(CLI::App& sub) { setup(sub, true); }

}  // namespace fourierconv::cli
