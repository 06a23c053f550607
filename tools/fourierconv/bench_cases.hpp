// fourierconv bench: the shared pieces of its case files.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace fourierconv::cli {

struct Row {
  std::string name, detail;
  double us;
};
// Median of `repeats` timed calls after one warm-up, in microseconds.
double median_us(const std::function<void()>& f, int repeats);
// Whether a group of cases runs (the --filter text occurs in one of its names).
using Wanted = std::function<bool(std::initializer_list<std::string>)>;
// The scipy-grade convolution cases (bench/signal_peers.py compares them with scipy).
void bench_signal_cases(const Wanted& wanted, std::vector<Row>& rows, int repeats, bool quick);

}  // namespace fourierconv::cli
