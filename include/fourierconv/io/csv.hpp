// Time series as CSV columns: one row per sample, one column per channel, as numpy.savetxt
// with delimiter ',' and pandas' to_csv(index=False) write them.
//   read_csv: an optional header row (its fields are not all numbers) names the columns; every
//   other non-empty row holds the same number of decimal numbers (what strtod reads, spaces
//   around them allowed). Returns float32 samples (rows, columns); sample_rate 0 (unknown).
//   Errors (fourierconv::Error) name the file, the line and the field: a row of another
//   length, a field that is not a number, NaN or Inf, no data rows.
//   write_csv: the same layout, written atomically, floats with 9 significant digits (exact
//   float32 round trip), the header when `names` is not empty.
#pragma once

#include <string>
#include <vector>

#include "fourierconv/io/wav.hpp"

namespace fourierconv::io {

struct CsvSignal {
  Audio signal;                    // samples (rows, columns), sample_rate 0
  std::vector<std::string> names;  // the header's column names, or empty
};

CsvSignal read_csv(const std::string& path);
CsvSignal parse_csv(const std::string& text, const std::string& what);
// The text write_csv writes. Column names may not hold ',', '\n' or '\r', nor be empty or a
// number (they would not read back as a header): Error.
std::string format_csv(const Audio& signal, const std::vector<std::string>& names = {});
void write_csv(const std::string& path, const Audio& signal, const std::vector<std::string>& names = {});

}  // namespace fourierconv::io
