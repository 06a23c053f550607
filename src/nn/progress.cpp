#include "fourierconv/nn/progress.hpp"

#include <unistd.h>

#include <cmath>

namespace fourierconv::nn {

int auto_verbose(std::FILE* out) { return isatty(fileno(out)) ? 1 : 2; }

ProgressBar::ProgressBar(std::size_t target, int verbose, std::FILE* out)
    : target_(target), verbose_(verbose), out_(out), start_(std::chrono::steady_clock::now()) {}

std::string ProgressBar::format_value(double v) {
  char b[64];
  std::snprintf(b, sizeof b, std::fabs(v) > 1e-3 ? "%.4f" : "%.4e", v);
  return b;
}

std::string ProgressBar::format_step_time(double t) {
  char b[64];
  if (t >= 1 || t == 0) std::snprintf(b, sizeof b, "%.0fs/step", t);
  else if (t >= 1e-3) std::snprintf(b, sizeof b, "%.0fms/step", t * 1e3);
  else std::snprintf(b, sizeof b, "%.0fus/step", t * 1e6);
  return b;
}

std::string ProgressBar::format_eta(double eta) {
  char b[64];
  long e = long(eta);
  if (eta > 3600) std::snprintf(b, sizeof b, "%ld:%02ld:%02ld", e / 3600, (e % 3600) / 60, e % 60);
  else if (eta > 60) std::snprintf(b, sizeof b, "%ld:%02ld", e / 60, e % 60);
  else std::snprintf(b, sizeof b, "%lds", e);
  return b;
}

void ProgressBar::update(std::size_t current, const Logs& logs, bool finalize) {
  using clock = std::chrono::steady_clock;
  const auto now = clock::now();
  if (!first_step_seen_ && current >= 1) {
    first_step_seen_ = true;
    first_step_done_ = now;
  }
  const bool done = finalize || current >= target_;
  if (verbose_ <= 0) return;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double after_first = std::chrono::duration<double>(now - first_step_done_).count();
  const double per_step = current > 1 ? after_first / double(current - 1) : elapsed;
  std::string metrics;
  for (auto& [k, v] : logs) metrics += " - " + k + ": " + format_value(v);
  const std::string count = std::to_string(target_);
  char head[64];
  std::snprintf(head, sizeof head, "%*zu/%zu", int(count.size()), current, target_);
  if (verbose_ == 2) {
    if (!done) return;
    char t[32];
    std::snprintf(t, sizeof t, "%.0fs", elapsed);
    std::fprintf(out_, "%s - %s - %s%s\n", head, t, format_step_time(per_step).c_str(), metrics.c_str());
    std::fflush(out_);
    return;
  }
  if (!done && current > 1 && std::chrono::duration<double>(now - last_draw_).count() < 0.05) return;
  last_draw_ = now;
  const std::size_t filled = target_ ? std::size_t(20 * current / target_) : 20;
  std::string bar = "\x1b[32m";
  for (std::size_t i = 0; i < filled; ++i) bar += "\u2501";
  bar += "\x1b[37m";
  for (std::size_t i = filled; i < 20; ++i) bar += "\u2501";
  bar += "\x1b[0m";
  char t[32];
  if (done) std::snprintf(t, sizeof t, "%.0fs", elapsed);
  else std::snprintf(t, sizeof t, "%s", format_eta(per_step * double(target_ - current)).c_str());
  std::string line = std::string("\x1b[1m") + head + "\x1b[0m " + bar + " \x1b[1m" + t + "\x1b[0m " +
                     format_step_time(per_step) + metrics;
  std::string erase(prev_width_, '\b');
  std::fprintf(out_, "%s\r%s", erase.c_str(), line.c_str());
  std::size_t visible = std::string(head).size() + 1 + 20 + 1 + std::string(t).size() + 1 + format_step_time(per_step).size() + metrics.size();
  if (visible < prev_width_) std::fprintf(out_, "%s", std::string(prev_width_ - visible, ' ').c_str());
  prev_width_ = visible;
  if (done) std::fprintf(out_, "\n");
  std::fflush(out_);
}

}  // namespace fourierconv::nn
