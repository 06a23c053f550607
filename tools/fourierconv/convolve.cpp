// fourierconv convolve IN KERNEL OUT [--mode] [--method] [--verbose]
#include <iostream>

#include "common.hpp"
#include "fourierconv/convolve.hpp"
#include "fourierconv/error.hpp"

namespace fourierconv::cli {

void setup_convolve(CLI::App& sub) {
  struct Opts {
    std::string in, kernel, out, mode = "full", method = "auto", output = "real", scaling = "normalize";
    int bits = 8;
    bool verbose = false;
  };
  auto o = std::make_shared<Opts>();
  sub.add_option("IN", o->in, "input .npy (1-D or 2-D, or (H, W, C)) or .png")->required();
  sub.add_option("KERNEL", o->kernel, "kernel .npy (1-D or 2-D) or gray .png")->required();
  sub.add_option("OUT", o->out, "output .npy or .png")->required();
  sub.add_option("--mode", o->mode, "full | same | valid | circular")->capture_default_str();
  sub.add_option("--method", o->method, "auto | direct | fft | overlap-add")->capture_default_str();
  sub.add_option("--output", o->output, "real | magnitude")->capture_default_str();
  sub.add_option("--bit-depth", o->bits, "PNG output bit depth, 8 or 16")->capture_default_str();
  sub.add_option("--scaling", o->scaling, "PNG output: normalize min..max or clip to [0,1]")->capture_default_str();
  sub.add_flag("--verbose,-v", o->verbose, "say which method ran and why");
  sub.callback([o] {
    Mode mode = parse_mode(o->mode);
    Method method = parse_method(o->method);
    Output output = parse_output(o->output);
    Tensor x = read_array(o->in, "input");
    Tensor k = read_array(o->kernel, "kernel");
    if (k.rank() == 3) {
      if (k.dim(2) != 1) throw fourierconv::Error("kernel: expected a 1-D or 2-D array or a gray image, got shape " + k.shape_string());
      k.reshape({k.dim(0), k.dim(1)});
    }
    MethodChoice choice;
    Tensor y;
    if (x.rank() == 3) {  // an image: each channel with the same kernel
      if (k.rank() != 2) throw fourierconv::Error("kernel: an image input needs a 2-D kernel, got shape " + k.shape_string());
      const std::size_t H = x.dim(0), W = x.dim(1), C = x.dim(2);
      for (std::size_t c = 0; c < C; ++c) {
        Tensor plane({H, W});
        for (std::size_t i = 0; i < H * W; ++i) plane[i] = x[i * C + c];
        Tensor out = convolve(plane, k, mode, method, output, &choice);
        if (c == 0) y = Tensor({out.dim(0), out.dim(1), C});
        for (std::size_t i = 0; i < out.size(); ++i) y[i * C + c] = out[i];
      }
    } else {
      y = convolve(x, k, mode, method, output, &choice);
    }
    if (o->verbose) std::cout << "method: " << choice.reason << "\n";
    write_array(o->out, y, o->bits, o->scaling);
    std::cout << "convolved " << x.shape_string() << " with " << k.shape_string() << " (" << o->mode << ") -> "
              << y.shape_string() << " " << o->out << "\n";
  });
}

}  // namespace fourierconv::cli
