// fourierconv filter IN OUT --filter NAME[:ARG,...]
#include <iostream>

#include "common.hpp"
#include "fourierconv/error.hpp"
#include "fourierconv/filters.hpp"

namespace fourierconv::cli {

void setup_filter(CLI::App& sub) {
  struct Opts {
    std::string in, out, filter, padding = "wrap", output = "real", scaling = "clip";
    int bits = 8;
    float cval = 0.0f;
  };
  auto o = std::make_shared<Opts>();
  std::string names;
  for (auto& n : filter_names()) names += "\n  " + n;
  sub.add_option("IN", o->in, "input .png or .npy, (H, W) or (H, W, C)")->required();
  sub.add_option("OUT", o->out, "output .png or .npy")->required();
  sub.add_option("--filter,-f", o->filter, "NAME[:ARG,...], one of:" + names)->required();
  sub.add_option("--padding", o->padding,
                 "as scipy.ndimage's mode: wrap (alias circular) | reflect | mirror | nearest | constant (alias zero)")
      ->capture_default_str();
  sub.add_option("--cval", o->cval, "the value outside the image for --padding constant")->capture_default_str();
  sub.add_option("--output", o->output, "real | magnitude")->capture_default_str();
  sub.add_option("--bit-depth", o->bits, "PNG output bit depth, 8 or 16")->capture_default_str();
  sub.add_option("--scaling", o->scaling, "PNG output: clip to [0,1] or normalize min..max")->capture_default_str();
  sub.callback([o] {
    Filter f = make_filter(o->filter);
    FilterPadding padding = parse_filter_padding(o->padding);
    Output output = parse_output(o->output);
    Tensor x = read_array(o->in, "input");
    if (x.rank() != 2 && x.rank() != 3)
      throw fourierconv::Error("input: expected an image (H, W) or (H, W, C), got shape " + x.shape_string());
    Tensor y = apply_filter(x, f, padding, output, o->cval);
    write_array(o->out, y, o->bits, o->scaling);
    std::cout << "filtered " << o->in << " " << x.shape_string() << " with " << f.to_string() << " -> " << o->out << "\n";
  });
}

}  // namespace fourierconv::cli
