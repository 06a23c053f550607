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
};

struct SummaryTotals {
  std::size_t trainable = 0, non_trainable = 0;
  bool has_optimizer = false;
  std::size_t optimizer_params = 0, optimizer_bytes = 0;
};

int summary_line_length();  // Keras's rule above
std::string render_summary(const std::string& model_name, const std::vector<SummaryRow>& rows, const SummaryTotals& totals,
                           int line_length, bool terminal);
// "212.54 KB": bytes scaled by 1024 through B, KB, MB, GB, TB, PB with two decimals.
std::string readable_memory_size(double bytes);
// "54,410"
std::string with_thousands(std::size_t n);

}  // namespace fourierconv::nn
