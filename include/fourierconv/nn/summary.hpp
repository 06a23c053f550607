// Keras 3's model.summary() table (keras.md section 1a): rich's HEAVY_HEAD box, columns at
// positions [0.45, 0.80, 1.0] of the line length L, each cell padded by one space.
// L = min(88, terminal columns - 4); when stdout is not a terminal the columns fall back to
// 80 (so L = 76), as Python's shutil.get_terminal_size does; $COLUMNS overrides both.
#pragma once

#include <string>
#include <vector>

namespace fourierconv::nn {

struct SummaryRow {
  std::string name_and_type;  // "conv2d (Conv2D)"
  std::string output_shape;   // "(None, 26, 26, 32)"
  std::size_t params;
  std::string connected_to;   // "conv2d[0][0], add[0][0]" (a graph's fourth column)
};

struct SummaryTotals {
  std::size_t trainable = 0, non_trainable = 0;
  bool has_optimizer = false;
  std::size_t optimizer_params = 0, optimizer_bytes = 0;
};

// Keras's rule above; `widest` is 88 for a chain's table, 108 for a graph's four columns.
int summary_line_length(int widest = 88);
// connected: the four columns of a graph, at positions [0.3, 0.56, 0.74, 1.0], the last
// "Connected to" (Keras's print_summary for a Functional model that is not a chain).
std::string render_summary(const std::string& model_name, const std::vector<SummaryRow>& rows, const SummaryTotals& totals,
                           int line_length, bool terminal, bool connected = false);
// "212.54 KB": bytes scaled by 1024 through B, KB, MB, GB, TB, PB with two decimals.
std::string readable_memory_size(double bytes);
// "54,410"
std::string with_thousands(std::size_t n);

}  // namespace fourierconv::nn
