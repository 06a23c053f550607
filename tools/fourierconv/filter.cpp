// fourierconv filter IN OUT --filter NAME[:ARG,...]     (images: a frequency response)
// fourierconv filter IN.wav OUT.wav --ir IR            (audio: an impulse response, audio.cpp)
#include <iostream>

#include "audio.hpp"
#include "common.hpp"
#include "fourierconv/error.hpp"
#include "fourierconv/filters.hpp"

namespace fourierconv::cli {

void setup_filter(CLI::App& sub) {
  struct Opts {
    std::string in, out, filter, padding = "wrap", output = "real", scaling = "clip";
    int bits = 8;
    float cval = 0.0f;
    AudioFilterOptions audio;
  };
  auto o = std::make_shared<Opts>();
  std::string names;
  for (auto& n : filter_names()) names += "\n  " + n;
  sub.add_option("IN", o->in, "input .png or .npy, (H, W) or (H, W, C); or a .wav (with --ir)")->required();
  sub.add_option("OUT", o->out, "output .png or .npy; .wav for audio")->required();
  sub.add_option("--filter,-f", o->filter, "images: NAME[:ARG,...], one of:" + names);
  sub.add_option("--ir", o->audio.ir, "audio: the impulse response, .wav or .npy (taps,) / (taps, channels)");
  sub.add_option("--block", o->audio.block, "audio: the partition block size")->capture_default_str();
  sub.add_option("--encoding", o->audio.encoding, "audio output: PCM_16 | PCM_24 | PCM_32 | FLOAT (default: the input's)");
  sub.add_option("--padding", o->padding,
                 "as scipy.ndimage's mode: wrap (alias circular) | reflect | mirror | nearest | constant (alias zero)")
      ->capture_default_str();
  sub.add_option("--cval", o->cval, "the value outside the image for --padding constant")->capture_default_str();
  sub.add_option("--output", o->output, "real | magnitude")->capture_default_str();
  sub.add_option("--bit-depth", o->bits, "PNG output bit depth, 8 or 16")->capture_default_str();
  sub.add_option("--scaling", o->scaling, "PNG output: clip to [0,1] or normalize min..max")->capture_default_str();
  sub.callback([o] {
    if (ends_with(o->in, ".wav")) {
      if (o->audio.ir.empty())
        throw fourierconv::Error("--ir: audio needs an impulse response (--filter designs are for images)");
      if (!ends_with(o->out, ".wav")) throw fourierconv::Error("OUT: expected a .wav file for audio, got '" + o->out + "'");
      o->audio.in = o->in;
      o->audio.out = o->out;
      return filter_audio(o->audio);
    }
    if (o->filter.empty()) throw fourierconv::Error("--filter: required for images (a .png or .npy input)");
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
