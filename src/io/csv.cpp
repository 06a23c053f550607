#include "fourierconv/io/csv.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "fourierconv/error.hpp"
#include "fourierconv/io/file.hpp"

namespace fourierconv::io {

namespace {

std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> f;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = line.find(',', start);
    f.push_back(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return f;
}

std::string trim(const std::string& s) {
  const std::size_t a = s.find_first_not_of(" \t\r"), b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

// For messages: bytes outside printable ASCII as \xNN.
std::string printable(const std::string& s) {
  std::string o;
  for (unsigned char c : s) {
    if (c >= 32 && c < 127) {
      o += char(c);
    } else {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02X", c);
      o += b;
    }
  }
  return o;
}

// The field as a decimal number (what strtod reads, hexadecimal excluded), or false.
bool number(const std::string& field, double* v) {
  const std::string t = trim(field);
  if (t.empty()) return false;
  if (t.find_first_of("xX") != std::string::npos) return false;  // hexadecimal (0x10), which strtod would take
  char* end = nullptr;
  *v = std::strtod(t.c_str(), &end);
  return end == t.c_str() + t.size();
}

}  // namespace

CsvSignal parse_csv(const std::string& text, const std::string& what) {
  CsvSignal out;
  std::vector<float> data;
  std::size_t columns = 0, rows = 0, lineno = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    ++lineno;
    if (trim(line).empty()) continue;
    if (lineno == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // a UTF-8 byte-order mark
    const std::vector<std::string> fields = split_fields(line);
    std::vector<double> values(fields.size());
    bool any_number = false;
    for (std::size_t i = 0; i < fields.size(); ++i) any_number |= number(fields[i], &values[i]);
    if (columns == 0 && !any_number && rows == 0) {  // the header: no field is a number
      for (auto& f : fields) out.names.push_back(trim(f));
      columns = fields.size();
      continue;
    }
    if (columns == 0) columns = fields.size();
    const std::string header_note = out.names.empty() ? "" : " (the first line was read as the header)";
    if (fields.size() != columns)
      throw Error("read_csv: " + what + ": line " + std::to_string(lineno) + " has " + std::to_string(fields.size()) +
                  " fields, expected " + std::to_string(columns) + header_note);
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (!number(fields[i], &values[i]))
        throw Error("read_csv: " + what + ": line " + std::to_string(lineno) + ", column " + std::to_string(i + 1) +
                    ": expected a number, got '" + printable(trim(fields[i]).substr(0, 40)) + "'" + header_note);
      if (!std::isfinite(float(values[i])))  // rounds to a finite float32
        throw Error("read_csv: " + what + ": line " + std::to_string(lineno) + ", column " + std::to_string(i + 1) +
                    ": expected a finite float32 value, got '" + trim(fields[i]) + "'");
      data.push_back(float(values[i]));
    }
    ++rows;
  }
  if (rows == 0) throw Error("read_csv: " + what + ": no rows of numbers");
  out.signal.samples = Array(DType::Float32, {rows, columns});
  std::copy(data.begin(), data.end(), out.signal.samples.data_as<float>());
  return out;
}

CsvSignal read_csv(const std::string& path) {
  const std::vector<unsigned char> bytes = read_file(path, "read_csv");
  return parse_csv(std::string(bytes.begin(), bytes.end()), "'" + path + "'");
}

std::string format_csv(const Audio& signal, const std::vector<std::string>& names) {
  const std::size_t rows = signal.frames(), columns = signal.channels();
  if (!names.empty() && names.size() != columns)
    throw Error("write_csv: " + std::to_string(names.size()) + " column names for " + std::to_string(columns) + " columns");
  std::string text;
  for (std::size_t c = 0; c < names.size(); ++c) {
    double v;
    const std::string& n = names[c];
    const bool control = std::any_of(n.begin(), n.end(), [](unsigned char ch) { return ch < 32 || ch == 127; });
    if (n.empty() || n != trim(n) || control || n.find(',') != std::string::npos || n.rfind("\xEF\xBB\xBF", 0) == 0)
      throw Error("write_csv: column name '" + printable(n) +
                  "' is empty, padded, starts with a byte-order mark, or holds a comma or a control character");
    if (number(n, &v)) throw Error("write_csv: column name '" + n + "' is a number: the header would read back as data");
    text += (c ? "," : "") + n;
  }
  if (!names.empty()) text += "\n";
  char buf[32];
  const float* s = signal.samples.data_as<float>();
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < columns; ++c) {
      std::snprintf(buf, sizeof buf, "%.9g", double(s[r * columns + c]));
      text += (c ? "," : "");
      text += buf;
    }
    text += "\n";
  }
  return text;
}

void write_csv(const std::string& path, const Audio& signal, const std::vector<std::string>& names) {
  const std::string text = format_csv(signal, names);
  write_file_atomic(path, std::vector<unsigned char>(text.begin(), text.end()), "write_csv");
}

}  // namespace fourierconv::io
