// The fourierconv command line: the table of subcommands (each lives in its own file) and the
// options every subcommand shares. main.cpp runs it; fuzz/fuzz_cli_args.cpp parses fuzzed
// argument lists with the same table.
#include "app.hpp"

#include <iostream>

#include "common.hpp"
#include "fourierconv/cpu.hpp"
#include "fourierconv/error.hpp"
#include "fourierconv/memory_limit.hpp"

namespace fourierconv::cli {
void setup_filter(CLI::App&);
void setup_convolve(CLI::App&);
void setup_correlate(CLI::App&);
void setup_bench(CLI::App&);
void setup_summary(CLI::App&);
void setup_train(CLI::App&);
void setup_compare(CLI::App&);
void setup_evaluate(CLI::App&);
void setup_predict(CLI::App&);
void setup_stream(CLI::App&);

void setup_app(CLI::App& app) {
  static const Command commands[] = {
      {"filter", "Apply a fixed frequency response to a PNG or .npy image, or an impulse response to a WAV file", setup_filter},
      {"stream", "Filter raw float32 samples from standard input to standard output as they arrive", setup_stream},
      {"convolve", "Convolve arrays of any dtype and rank, or an image, with a kernel (scipy.signal.convolve)", setup_convolve},
      {"correlate", "Cross-correlate arrays of any dtype and rank (scipy.signal.correlate)", setup_correlate},
      {"bench", "Time the convolution paths in-process (median of repeats)", setup_bench},
      {"summary", "Print a model's Keras-style summary", setup_summary},
      {"train", "Train a model on Fashion-MNIST (or any MNIST-format data) and evaluate it", setup_train},
      {"evaluate", "Evaluate a .keras model on the test split of an MNIST-format data set", setup_evaluate},
      {"predict", "Print a .keras model's top classes for a PNG image or .npy array", setup_predict},
      {"compare", "The main job: seed CNN vs fixed Fourier bank vs learned spectral layer vs large-kernel direct/FFT",
       setup_compare},
  };
  app.require_subcommand(1);
  app.fallthrough();  // the shared options also after the subcommand
  // --version: the release, and the instruction set the hot loops run at on this CPU.
  app.set_version_flag("--version", std::string("fourierconv ") + FOURIERCONV_VERSION + " (SIMD: " +
                                        fourierconv::cpu_dispatch_level() + ")");
  // Before any subcommand runs (option callbacks run while parsing, subcommands after).
  app.add_option_function<std::string>(
         "--max-memory",
         [](const std::string& s) { set_memory_limit(parse_memory_size(s, "--max-memory")); },
         "refuse any array larger than SIZE bytes (K/M/G/T suffixes; default: FOURIERCONV_MAX_MEMORY, else the available memory)")
      ->type_name("SIZE");
  for (const auto& c : commands) c.setup(*app.add_subcommand(c.name, c.help));
}

int run_cli(int argc, char** argv) {
  CLI::App app{"fourierconv: Fourier-domain convolution for signal processing and neural networks"};
  setup_app(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const fourierconv::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}

}  // namespace fourierconv::cli
