#include "fourierconv/io/npy.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <regex>

#include "fourierconv/error.hpp"
#include "fourierconv/io/file.hpp"

namespace fourierconv::io {
namespace {

constexpr unsigned char kMagic[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr std::size_t kMaxElements = std::size_t(1) << 31;

std::string header_value(const std::string& header, const std::string& key, const std::string& what) {
  // Values are a quoted string, True/False, or a parenthesized tuple.
  std::regex re("['\"]" + key + "['\"]\\s*:\\s*('[^']*'|\"[^\"]*\"|True|False|\\([^)]*\\))");
  std::smatch m;
  if (!std::regex_search(header, m, re)) throw Error(what + ": header has no '" + key + "' entry");
  return m[1].str();
}

}  // namespace

Tensor parse_npy(const std::vector<unsigned char>& b, const std::string& what) {
  if (b.size() < 10 || std::memcmp(b.data(), kMagic, 6) != 0) throw Error(what + ": not a .npy file (bad magic)");
  const int major = b[6];
  std::size_t hlen, hstart;
  if (major == 1) {
    hlen = b[8] | (std::size_t(b[9]) << 8);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (b.size() < 12) throw Error(what + ": truncated header");
    hlen = b[8] | (std::size_t(b[9]) << 8) | (std::size_t(b[10]) << 16) | (std::size_t(b[11]) << 24);
    hstart = 12;
  } else {
    throw Error(what + ": unsupported .npy format version " + std::to_string(major) + " (expected 1, 2 or 3)");
  }
  if (hlen > 1 << 20 || hstart + hlen > b.size()) throw Error(what + ": truncated header");
  std::string header(b.begin() + static_cast<std::ptrdiff_t>(hstart), b.begin() + static_cast<std::ptrdiff_t>(hstart + hlen));
  std::string descr = header_value(header, "descr", what);
  std::string fortran = header_value(header, "fortran_order", what);
  std::string shape_s = header_value(header, "shape", what);
  descr = descr.substr(1, descr.size() - 2);
  if (fortran != "False") throw Error(what + ": Fortran-order arrays are not supported (expected C order)");

  Shape shape;
  {
    std::string inner = shape_s.substr(1, shape_s.size() - 2);
    std::size_t pos = 0;
    while (pos < inner.size()) {
      while (pos < inner.size() && (inner[pos] == ' ' || inner[pos] == ',')) ++pos;
      if (pos >= inner.size()) break;
      std::size_t end = pos;
      while (end < inner.size() && std::isdigit(static_cast<unsigned char>(inner[end]))) ++end;
      if (end == pos || end - pos > 12) throw Error(what + ": bad shape " + shape_s);
      shape.push_back(std::stoull(inner.substr(pos, end - pos)));
      pos = end;
    }
  }
  if (shape.size() > 4) throw Error(what + ": expected rank 0 to 4, got rank " + std::to_string(shape.size()));
  std::size_t n = 1;
  for (auto d : shape) {
    if (d != 0 && n > kMaxElements / d) throw Error(what + ": shape " + shape_s + " is too large");
    n *= d;
  }
  std::size_t itemsize;
  bool big = false;
  if (descr == "<f4" || descr == "=f4") itemsize = 4;
  else if (descr == ">f4") itemsize = 4, big = true;
  else if (descr == "<f8" || descr == "=f8") itemsize = 8;
  else if (descr == ">f8") itemsize = 8, big = true;
  else if (descr == "|u1" || descr == "<u1" || descr == ">u1") itemsize = 1;
  else throw Error(what + ": unsupported dtype '" + descr + "' (expected float32, float64 or uint8)");
  const std::size_t data_start = hstart + hlen;
  if (b.size() - data_start < n * itemsize)
    throw Error(what + ": truncated data: shape " + shape_s + " needs " + std::to_string(n * itemsize) + " bytes, file has " +
                std::to_string(b.size() - data_start));
  Tensor t(shape);
  const unsigned char* p = b.data() + data_start;
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char tmp[8];
    std::memcpy(tmp, p + i * itemsize, itemsize);
    if (big) std::reverse(tmp, tmp + itemsize);
    if (itemsize == 4) {
      float v;
      std::memcpy(&v, tmp, 4);
      t[i] = v;
    } else if (itemsize == 8) {
      double v;
      std::memcpy(&v, tmp, 8);
      t[i] = static_cast<float>(v);
    } else {
      t[i] = tmp[0];
    }
  }
  return t;
}

Tensor read_npy(const std::string& path) { return parse_npy(read_file(path, "read_npy"), "read_npy: '" + path + "'"); }

std::vector<unsigned char> encode_npy(const Tensor& t) {
  static_assert(std::endian::native == std::endian::little, "npy writer assumes a little-endian host");
  std::string shape = "(";
  for (std::size_t i = 0; i < t.rank(); ++i) shape += std::to_string(t.dim(i)) + (t.rank() == 1 ? "," : (i + 1 < t.rank() ? ", " : ""));
  shape += ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  // numpy pads with spaces so that magic + length + header + '\n' is a multiple of 64.
  std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::vector<unsigned char> out(kMagic, kMagic + 6);
  out.push_back(1);
  out.push_back(0);
  out.push_back(static_cast<unsigned char>(header.size() & 0xff));
  out.push_back(static_cast<unsigned char>(header.size() >> 8));
  out.insert(out.end(), header.begin(), header.end());
  const auto* p = reinterpret_cast<const unsigned char*>(t.data());
  out.insert(out.end(), p, p + t.size() * sizeof(float));
  return out;
}

void write_npy(const std::string& path, const Tensor& t) { write_file_atomic(path, encode_npy(t), "write_npy"); }

}  // namespace fourierconv::io
