// The command line's signal commands (audio.cpp): `filter` on time series and `stream`.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace fourierconv::cli {

struct SignalFilterOptions {
  std::string in, out;        // .wav, .npy ((N,) or (N, C)) or .csv (columns)
  std::string ir, filter;     // an impulse response file, or a designed FIR (fir_design.hpp's spec, in Hz)
  std::string encoding;       // WAV output: PCM_16 | PCM_24 | PCM_32 | FLOAT; empty: the input's
  std::size_t block = 1024;
  int rate = 0;               // the signal's sample rate when the file has none (.npy, .csv)
  bool resample = false;      // resample an impulse response recorded at another rate
};
// filter IN OUT --ir IR | --filter SPEC: the full convolution of every channel (N + taps - 1
// samples), written in OUT's format.
void filter_signal(const SignalFilterOptions& o);
// True when `filter`'s IN is a time series (.wav, .csv, or .npy with --ir / --rate).
bool is_signal_file(const std::string& path);

void setup_stream(CLI::App& sub);

}  // namespace fourierconv::cli
