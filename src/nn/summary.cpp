#include "fourierconv/nn/summary.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "fourierconv/nn/model.hpp"

namespace fourierconv::nn {
namespace {

// Python's round(): half to even.
long py_round(double x) {
  double r = std::round(x);
  if (std::fabs(x - std::trunc(x)) == 0.5) r = 2.0 * std::round(x / 2.0);
  return long(r);
}

// rich's ratio_reduce with equal ratios: takes `total` columns off the widths.
std::vector<long> ratio_reduce(long total, const std::vector<long>& values) {
  long total_ratio = long(values.size()), remaining = total;
  std::vector<long> out;
  for (long v : values) {
    long d = std::min(v, py_round(double(remaining) / double(total_ratio)));
    out.push_back(v - d);
    remaining -= d;
    --total_ratio;
  }
  return out;
}

// Counts code points (the table's text is ASCII except the box characters).
std::size_t display_width(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Word wrap as rich does for a column of overflow "ellipsis" (its default): break at spaces;
// a word longer than the width takes a line of its own, cut to width - 1 characters and "…".
std::vector<std::string> wrap(const std::string& text, std::size_t width) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string word, line;
  while (in >> word) {
    if (word.size() > width) {
      if (!line.empty()) lines.push_back(line);
      lines.push_back(word.substr(0, width ? width - 1 : 0) + "\u2026");
      line.clear();
      continue;
    }
    if (line.empty()) line = word;
    else if (line.size() + 1 + word.size() <= width) line += " " + word;
    else {
      lines.push_back(line);
      line = word;
    }
  }
  if (!line.empty() || lines.empty()) lines.push_back(line);
  return lines;
}

std::string repeat(const std::string& s, std::size_t n) {
  std::string r;
  for (std::size_t i = 0; i < n; ++i) r += s;
  return r;
}

std::string pad(const std::string& s, std::size_t width, bool right) {
  std::size_t w = display_width(s);
  std::string fill(w < width ? width - w : 0, ' ');
  return right ? fill + s : s + fill;
}

}  // namespace

int summary_line_length(int widest) {
  int cols = 0;
  if (const char* c = std::getenv("COLUMNS")) cols = std::atoi(c);
  if (cols <= 0) {
    struct winsize ws{};
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) cols = ws.ws_col;
  }
  if (cols <= 0) cols = 80;
  return std::min(widest, cols - 4);
}

std::string with_thousands(std::size_t n) {
  std::string s = std::to_string(n), out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

std::string readable_memory_size(double bytes) {
  static const char* units[] = {"B", "KB", "MB", "GB", "TB", "PB"};
  char b[64];
  for (const char* u : units) {
    if (bytes / 1024 < 1) {
      std::snprintf(b, sizeof b, "%.2f %s", bytes, u);
      return b;
    }
    bytes /= 1024;
  }
  std::snprintf(b, sizeof b, "%.2f PB", bytes);
  return b;
}

std::string render_summary(const std::string& model_name, const std::vector<SummaryRow>& rows, const SummaryTotals& t,
                           int L, bool terminal, bool connected) {
  const std::vector<double> positions = connected ? std::vector<double>{0.3, 0.56, 0.74, 1.0} : std::vector<double>{0.45, 0.80, 1.0};
  std::vector<long> requested;
  long prev = 0;
  for (double p : positions) {
    long e = long(p * L);
    requested.push_back(e - prev);
    prev = e;
  }
  long total = 0;
  for (long r : requested) total += r;
  const long excess = total + long(requested.size()) + 1 - L;  // borders: ncols + 1
  std::vector<long> cell = excess > 0 ? ratio_reduce(excess, requested) : requested;
  std::vector<std::size_t> content;
  for (long c : cell) content.push_back(std::size_t(std::max(1L, c - 2)));

  auto rule = [&](const char* left, const char* fill, const char* mid, const char* right) {
    std::string s = left;
    for (std::size_t i = 0; i < cell.size(); ++i) s += repeat(fill, std::size_t(cell[i])) + (i + 1 < cell.size() ? mid : right);
    return s + "\n";
  };
  auto row = [&](const std::vector<std::string>& cells, const char* bar, bool header) {
    std::vector<std::vector<std::string>> wrapped;
    std::size_t height = 1;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      wrapped.push_back(wrap(cells[i], content[i]));
      height = std::max(height, wrapped.back().size());
    }
    std::string s;
    for (std::size_t h = 0; h < height; ++h) {
      s += bar;
      for (std::size_t i = 0; i < cells.size(); ++i) {
        std::string text = h < wrapped[i].size() ? wrapped[i][h] : "";
        std::string padded = pad(text, content[i], i == 2);
        if (header && terminal && !text.empty()) padded = "\x1b[1m" + padded + "\x1b[0m";
        s += " " + padded + " " + bar;
      }
      s += "\n";
    }
    return s;
  };

  std::string out = terminal ? "\x1b[1mModel: \"" + model_name + "\"\x1b[0m\n" : "Model: \"" + model_name + "\"\n";
  out += rule("\u250f", "\u2501", "\u2533", "\u2513");
  std::vector<std::string> header{"Layer (type)", "Output Shape", "Param #"};
  if (connected) header.push_back("Connected to");
  out += row(header, "\u2503", true);
  out += rule("\u2521", "\u2501", "\u2547", "\u2529");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::vector<std::string> cells{rows[i].name_and_type, rows[i].output_shape, with_thousands(rows[i].params)};
    if (connected) cells.push_back(rows[i].connected_to);
    out += row(cells, "\u2502", false);
    if (i + 1 < rows.size()) out += rule("\u251c", "\u2500", "\u253c", "\u2524");
  }
  out += rule("\u2514", "\u2500", "\u2534", "\u2518");
  const std::size_t params = t.trainable + t.non_trainable;
  const std::size_t total_params = params + (t.has_optimizer ? t.optimizer_params : 0);
  const double total_bytes = double(params) * 4 + (t.has_optimizer ? double(t.optimizer_bytes) : 0);
  out += " Total params: " + with_thousands(total_params) + " (" + readable_memory_size(total_bytes) + ")\n";
  out += " Trainable params: " + with_thousands(t.trainable) + " (" + readable_memory_size(double(t.trainable) * 4) + ")\n";
  out += " Non-trainable params: " + with_thousands(t.non_trainable) + " (" + readable_memory_size(double(t.non_trainable) * 4) + ")\n";
  if (t.has_optimizer)
    out += " Optimizer params: " + with_thousands(t.optimizer_params) + " (" + readable_memory_size(double(t.optimizer_bytes)) + ")\n";
  return out;
}

namespace {
std::string shape_text(const Shape& s) {
  std::string t = "(None";
  for (auto d : s) t += ", " + std::to_string(d);
  return t + ")";
}
}  // namespace

std::string Model::summary_text(SummaryArgs args) const {
  std::vector<SummaryRow> rows;
  SummaryTotals t;
  // A graph Keras does not print as a chain gets the "Connected to" column (keras.md 1a).
  const bool connected = !sequential_ && !sequential_like_;
  auto source = [&](std::size_t j) {
    const Node& n = nodes_[j];
    return (n.layer ? n.layer->name() : inputs_[n.input].name) + "[" + std::to_string(n.call_index) + "][0]";
  };
  for (long k : keras_order_) {
    if (k < 0) {
      if (sequential_) continue;  // a Sequential's summary omits its InputLayer
      const InputSpec& in = inputs_[std::size_t(-1 - k)];
      rows.push_back({in.name + " (InputLayer)", shape_text(in.shape), 0, "-"});
      continue;
    }
    const Layer& l = *layers_[std::size_t(k)];
    std::string links, shape = l.built() ? shape_text(l.output_shape()) : "?";
    std::size_t last_call = 0;
    for (auto& n : nodes_) {
      if (n.layer != &l) continue;
      if (n.call_index >= last_call) last_call = n.call_index, shape = shape_text(n.shape);
    }
    for (std::size_t call = 0; call <= last_call; ++call)
      for (auto& n : nodes_)
        if (n.layer == &l && n.call_index == call)
          for (auto j : n.inbound) links += (links.empty() ? "" : ", ") + source(j);
    rows.push_back({l.name() + " (" + l.class_name() + ")", shape, l.count_params(), links.empty() ? "-" : links});
    t.trainable += l.count_trainable_params();
    t.non_trainable += l.count_params() - l.count_trainable_params();
  }
  if (keras_order_.empty())  // a Sequential not built yet
    for (auto& l : layers_) {
      rows.push_back({l->name() + " (" + l->class_name() + ")", "?", l->count_params(), "-"});
      t.trainable += l->count_trainable_params();
      t.non_trainable += l->count_params() - l->count_trainable_params();
    }
  if (optimizer_ && optimizer_->built()) {
    t.has_optimizer = true;
    t.optimizer_params = optimizer_->variable_count(t.trainable);
    t.optimizer_bytes = t.optimizer_params * 4;  // int32 iteration, float32 rest (Keras on JAX/torch)
  }
  const bool terminal = isatty(STDOUT_FILENO);
  const int L = args.line_length > 0 ? args.line_length : summary_line_length(connected ? 108 : 88);
  std::string out = render_summary(name_, rows, t, L, terminal, connected);
  if (args.detail) {
    out += " Layer details:\n";
    for (auto& l : layers_) {
      std::string trainable = l->count_params() == 0 ? "no weights"
                              : l->count_trainable_params() == l->count_params() ? "trainable"
                              : l->count_trainable_params() == 0 ? "frozen (non-trainable)"
                                                                  : "partly trainable";
      out += "  " + l->name() + " (" + l->class_name() + "): " + with_thousands(l->count_params()) + " params, " + trainable + "\n";
      for (auto& d : l->detail()) out += "    " + d + "\n";
    }
  }
  return out;
}

}  // namespace fourierconv::nn
