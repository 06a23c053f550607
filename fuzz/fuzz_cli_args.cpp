// The command line's argument parsing: the input, split at newlines, is an argument list for
// the real tool (tools/fourierconv/app.cpp), subcommands and all. The subcommands run for
// real: their file arguments are strings the fuzzer invents (no such files), the data set
// directory is set to one that does not exist, so each run ends at its first file. `bench`
// is left out (it times things by design). Output goes to stdout, which fuzz/run silences;
// standard input is /dev/null, so `stream` sees an empty stream.
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "../tools/fourierconv/app.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::init();
  std::vector<std::string> args{"fourierconv"};
  std::string cur;
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == '\n' || data[i] == '\0') {  // argv strings end at NUL, as in a real argv
      args.push_back(cur);
      cur.clear();
    } else {
      cur += char(data[i]);
    }
  }
  if (!cur.empty()) args.push_back(cur);
  if (args.size() > 64) return 0;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  for (auto& a : args)
    if (a == "bench") return 0;
  static bool env = [] {
    const int null = ::open("/dev/null", O_RDONLY);
    if (null < 0 || ::dup2(null, 0) < 0) std::abort();
    ::close(null);
    return ::setenv("FASHION_MNIST_DIR", "/nonexistent/fourierconv-fuzz", 1) == 0;
  }();
  (void)env;
  CLI::App app{"fuzz"};
  fourierconv::cli::setup_app(app);
  FUZZ_EXPECT_ONLY_ERRORS({
    try {
      app.parse(int(argv.size()), argv.data());
    } catch (const CLI::Error&) {  // usage errors, --help, --version: CLI11's answer
    }
  });
  fourierconv::set_memory_limit(std::size_t(256) << 20);  // --max-memory may have changed it
  return 0;
}
