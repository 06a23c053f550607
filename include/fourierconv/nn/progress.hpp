// Keras 3's progress output (keras.md section 7).
//   verbose 1 (a terminal): "1875/1875 ━━━━━━━━━━━━━━━━━━━━ 3s 1ms/step - accuracy: 0.8812 - loss: 0.3391",
//     redrawn in place with the ETA while running;
//   verbose 2 (not a terminal): one line at the end, "1875/1875 - 3s - 1ms/step - accuracy: ...".
// Values print as {:.4f} when |v| > 1e-3, else {:.4e}; per-step time as s, ms or us.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace fourierconv::nn {

using Logs = std::vector<std::pair<std::string, double>>;  // shown in this order

class ProgressBar {
 public:
  ProgressBar(std::size_t target, int verbose, std::FILE* out = stdout);
  // After step `current` (1-based) with the running metrics.
  void update(std::size_t current, const Logs& logs, bool finalize = false);

  static std::string format_value(double v);
  static std::string format_step_time(double seconds_per_step);
  static std::string format_eta(double seconds);

 private:
  std::size_t target_;
  int verbose_;
  std::FILE* out_;
  std::size_t prev_width_ = 0;
  std::chrono::steady_clock::time_point start_, first_step_done_, last_draw_;
  bool first_step_seen_ = false;
};

// 1 on a terminal, 2 otherwise (the "auto" verbosity).
int auto_verbose(std::FILE* out = stdout);

}  // namespace fourierconv::nn
