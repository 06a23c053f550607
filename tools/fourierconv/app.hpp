// The fourierconv command line as a CLI11 app (tools/fourierconv/app.cpp).
#pragma once

#include <CLI/CLI.hpp>

namespace fourierconv::cli {

// Adds every subcommand and the shared options (--version, --max-memory) to `app`.
void setup_app(CLI::App& app);

// Parses argv and runs the chosen subcommand: 0 on success, 1 on a fourierconv::Error (the
// message printed as "error: ..."), 2 on any other failure, CLI11's code on a usage error.
int run_cli(int argc, char** argv);

}  // namespace fourierconv::cli
