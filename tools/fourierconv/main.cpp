// fourierconv: the command-line tool. The subcommands are listed in app.cpp, each in its own
// file.
#include "app.hpp"

int main(int argc, char** argv) { return fourierconv::cli::run_cli(argc, argv); }
