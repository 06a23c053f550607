// fourierconv filter IN OUT --filter NAME[:ARG,...]     (images: a frequency response)
// fourierconv filter IN OUT --ir IR | --filter SPEC    (signals: .wav, .npy with --ir or --rate,
//                                                       .csv; an impulse response or a designed FIR, audio.cpp)
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
    SignalFilterOptions audio;
  };
  auto o = std::make_shared<Opts>();
  std::string names;
  for (auto& n : filter_names()) names += "\n  " + n;
  sub.add_option("IN", o->in,
                 "input image: .png or .npy, (H, W) or (H, W, C); input signal: .wav, .csv (columns), or .npy (N,) / "
                 "(N, C) with --ir or --rate")
      ->required();
  sub.add_option("OUT", o->out, "output .png or .npy; for signals .wav, .npy or .csv")->required();
  sub.add_option("--filter,-f", o->filter,
                 "images: NAME[:ARG,...], one of:" + names +
                     "\nsignals: a designed FIR (scipy's firwin, hamming) in Hz: lowpass:F[,TAPS] | highpass:F[,TAPS] | "
                     "bandpass:F1,F2[,TAPS] | bandstop:F1,F2[,TAPS] (TAPS default 101)");
  sub.add_option("--ir", o->audio.ir, "signals: the impulse response, .wav or .npy (taps,) / (taps, channels)");
  sub.add_option("--rate", o->audio.rate, "signals: the sample rate in Hz of a .npy or .csv signal");
  sub.add_flag("--resample", o->audio.resample,
               "signals: resample an impulse response recorded at another rate (scipy's resample_poly); without it that is an error");
  sub.add_option("--block", o->audio.block, "signals: the partition block size")->capture_default_str();
  sub.add_option("--encoding", o->audio.encoding, "WAV output: PCM_16 | PCM_24 | PCM_32 | FLOAT (default: the input's)");
  sub.add_option("--padding", o->padding,
                 "as scipy.ndimage's mode: wrap (alias circular) | reflect | mirror | nearest | constant (alias zero)")
      ->capture_default_str();
  sub.add_option("--cval", o->cval, "the value outside the image for --padding constant")->capture_default_str();
  sub.add_option("--output", o->output, "real | magnitude")->capture_default_str();
  sub.add_option("--bit-depth", o->bits, "PNG output bit depth, 8 or 16")->capture_default_str();
  sub.add_option("--scaling", o->scaling, "PNG output: clip to [0,1] or normalize min..max")->capture_default_str();
  sub.callback([o] {
    if (is_signal_file(o->in) || !o->audio.ir.empty() || o->audio.rate != 0 || o->audio.resample) {
      o->audio.in = o->in;
      o->audio.out = o->out;
      o->audio.filter = o->filter;
      return filter_signal(o->audio);
    }
    if (o->filter.empty()) throw fourierconv::Error("--filter: required for images (a .png or .npy input)");
    Filter f;
    try {
      f = make_filter(o->filter);
    } catch (const fourierconv::Error& e) {
      for (const char* fir : {"lowpass:", "highpass:", "bandpass:", "bandstop:"})
        if (o->filter.rfind(fir, 0) == 0)
          throw fourierconv::Error(std::string(e.what()) + " (a designed FIR is for signals: give --rate for a .npy signal)");
      throw;
    }
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
