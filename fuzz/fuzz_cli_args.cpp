// The command line's argument parsing: the input, split at newlines, is an argument list for
// the real option table (tools/fourierconv/app.cpp). The subcommands' actions are replaced
// by no-ops (running them is the other harnesses' job, through the loaders), so what is
// fuzzed is CLI11 with our options, their types, checks and the shared --max-memory.
#include <CLI/CLI.hpp>

#include "../tools/fourierconv/app.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::init();
  std::vector<std::string> args{"fourierconv"};
  std::string cur;
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == '\n') {
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
  CLI::App app{"fuzz"};
  fourierconv::cli::setup_app(app);
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) sub->callback([] {});
  FUZZ_EXPECT_ONLY_ERRORS({
    try {
      app.parse(int(argv.size()), argv.data());
    } catch (const CLI::Error&) {  // usage errors, --help, --version: CLI11's answer
    }
  });
  fourierconv::set_memory_limit(std::size_t(256) << 20);  // --max-memory may have changed it
  return 0;
}
