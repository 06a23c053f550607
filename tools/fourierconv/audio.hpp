// The command line's audio commands (audio.cpp).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace fourierconv::cli {

struct AudioFilterOptions {
  std::string in, out, ir, encoding;  // encoding: PCM_16 | PCM_24 | PCM_32 | FLOAT; empty: the input's
  std::size_t block = 1024;
};
// filter IN.wav OUT.wav --ir IR: the full convolution of every channel, written as WAV.
void filter_audio(const AudioFilterOptions& o);

void setup_stream(CLI::App& sub);

}  // namespace fourierconv::cli
