// Runs the command-line tool (the build's fourierconv) for the CLI tests: exit status and the
// output, stdout and stderr together.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace fctest {

struct CliResult {
  int status;  // the exit status; -1 when the tool did not exit normally
  std::string output;
};

// `args` is appended to the tool's path and run by the shell (so it may hold pipes and
// redirections of its own); `env`, if given, goes before it ("NAME=value ...").
inline CliResult run(const std::string& args, const std::string& env = "") {
  std::string cmd = env + (env.empty() ? "" : " ") + std::string(FOURIERCONV_CLI) + " " + args + " 2>&1";
  std::array<char, 4096> buf;
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  while (p && fgets(buf.data(), buf.size(), p)) out += buf.data();
  int st = p ? pclose(p) : -1;
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

}  // namespace fctest
