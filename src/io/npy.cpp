#include "fourierconv/io/npy.hpp"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstring>
#include <limits>

#include "fourierconv/error.hpp"
#include "fourierconv/memory_limit.hpp"
#include "fourierconv/io/file.hpp"

namespace fourierconv::io {
namespace {

constexpr unsigned char kMagic[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr std::size_t kMaxElements = std::size_t(1) << 40;

// The value of `key` in the header's Python dict literal: a quoted string, True/False or a
// parenthesized tuple, as numpy writes them (numpy.lib.format). A scan, not a regex: the header
// is untrusted and std::regex is slow (and recursive) on long inputs.
std::string header_value(const std::string& header, const std::string& key, const std::string& what) {
  auto is_quote = [](char c) { return c == '\'' || c == '"'; };
  auto skip_space = [&](std::size_t i) {
    while (i < header.size() && std::isspace(static_cast<unsigned char>(header[i]))) ++i;
    return i;
  };
  for (std::size_t at = header.find(key); at != std::string::npos; at = header.find(key, at + 1)) {
    const std::size_t after = at + key.size();
    if (at == 0 || !is_quote(header[at - 1]) || after >= header.size() || !is_quote(header[after])) continue;
    std::size_t i = skip_space(after + 1);
    if (i >= header.size() || header[i] != ':') continue;
    i = skip_space(i + 1);
    if (i >= header.size()) continue;
    std::size_t end = std::string::npos;
    if (is_quote(header[i])) {
      const std::size_t close = header.find(header[i], i + 1);
      if (close != std::string::npos) end = close + 1;
    } else if (header[i] == '(') {
      const std::size_t close = header.find(')', i + 1);
      if (close != std::string::npos) end = close + 1;
    } else if (header.compare(i, 4, "True") == 0) {
      end = i + 4;
    } else if (header.compare(i, 5, "False") == 0) {
      end = i + 5;
    }
    if (end != std::string::npos) return header.substr(i, end - i);
  }
  throw Error(what + ": header has no '" + key + "' entry");
}

}  // namespace

namespace {

struct Descr {
  DType dtype;
  bool big_endian;
};

// numpy's dtype.str for the types an Array holds: byte order, kind, item size.
Descr parse_descr(const std::string& descr, const std::string& what) {
  if (descr.size() < 3) throw Error(what + ": unsupported dtype '" + descr + "'");
  const char order = descr[0];
  if (order != '<' && order != '>' && order != '|' && order != '=')
    throw Error(what + ": unsupported dtype '" + descr + "' (expected a byte order <, >, | or =)");
  const std::string ks = descr.substr(1);
  static const std::pair<const char*, DType> table[] = {
      {"b1", DType::Bool},    {"i1", DType::Int8},     {"i2", DType::Int16},     {"i4", DType::Int32},
      {"i8", DType::Int64},   {"u1", DType::UInt8},    {"u2", DType::UInt16},    {"u4", DType::UInt32},
      {"u8", DType::UInt64},  {"f4", DType::Float32},  {"f8", DType::Float64},   {"c8", DType::Complex64},
      {"c16", DType::Complex128}};
  for (auto& [k, t] : table)
    if (ks == k) return {t, order == '>'};
  throw Error(what + ": unsupported dtype '" + descr +
              "' (expected bool, int8..int64, uint8..uint64, float32, float64, complex64 or complex128)");
}

std::string descr_of(DType t) {
  switch (t) {
    case DType::Bool: return "|b1";
    case DType::Int8: return "|i1";
    case DType::UInt8: return "|u1";
    case DType::Int16: return "<i2";
    case DType::Int32: return "<i4";
    case DType::Int64: return "<i8";
    case DType::UInt16: return "<u2";
    case DType::UInt32: return "<u4";
    case DType::UInt64: return "<u8";
    case DType::Float32: return "<f4";
    case DType::Float64: return "<f8";
    case DType::Complex64: return "<c8";
    case DType::Complex128: return "<c16";
  }
  return "?";
}

}  // namespace

Array parse_npy_array(const std::vector<unsigned char>& b, const std::string& what) {
  static_assert(std::endian::native == std::endian::little, "npy reader assumes a little-endian host");
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
  if (fortran != "False" && fortran != "True") throw Error(what + ": fortran_order must be True or False, got " + fortran);
  const bool fortran_order = fortran == "True";

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
  if (shape.size() > 32) throw Error(what + ": expected rank 0 to 32, got rank " + std::to_string(shape.size()));
  const Descr d = parse_descr(descr, what);
  const std::size_t itemsize = dtype_size(d.dtype);
  std::size_t n = 1;
  for (auto dim : shape) {
    if (dim != 0 && n > kMaxElements / dim) throw Error(what + ": shape " + shape_s + " is too large");
    n *= dim;
  }
  const std::size_t data_start = hstart + hlen;
  check_allocation(n * itemsize, what + ": shape " + shape_s + " of " + to_string(d.dtype));
  if (b.size() - data_start < n * itemsize)
    throw Error(what + ": truncated data: shape " + shape_s + " of " + to_string(d.dtype) + " needs " +
                std::to_string(n * itemsize) + " bytes, file has " + std::to_string(b.size() - data_start));
  Array a(d.dtype, shape);
  unsigned char* dst = static_cast<unsigned char*>(a.data());
  std::memcpy(dst, b.data() + data_start, n * itemsize);
  if (d.big_endian && itemsize > 1) {
    // complex numbers swap each of their two parts
    const std::size_t part = is_complex(d.dtype) ? itemsize / 2 : itemsize;
    for (std::size_t i = 0; i < n * itemsize; i += part) std::reverse(dst + i, dst + i + part);
  }
  if (d.dtype == DType::Bool)
    for (std::size_t i = 0; i < n; ++i) dst[i] = dst[i] != 0;  // any nonzero byte is True
  if (fortran_order && shape.size() > 1) {
    // Column-major data: view it with reversed strides and copy into C order.
    Strides st(shape.size());
    std::ptrdiff_t acc = 1;
    for (std::size_t i = 0; i < shape.size(); ++i) st[i] = acc, acc *= std::ptrdiff_t(shape[i]);
    ArrayView v{d.dtype, shape, st, a.data()};
    return Array::copy_of(v);
  }
  return a;
}

Tensor parse_npy(const std::vector<unsigned char>& b, const std::string& what) {
  Array a = parse_npy_array(b, what);
  if (is_complex(a.dtype()))
    throw Error(what + ": expected a real array, got " + to_string(a.dtype()) + " (the float32 readers drop nothing silently)");
  if (a.rank() > 4) throw Error(what + ": expected rank 0 to 4, got rank " + std::to_string(a.rank()));
  return Array::copy_of(a.view(), DType::Float32).to_tensor();
}

Array read_npy_array(const std::string& path) {
  return parse_npy_array(read_file(path, "read_npy"), "read_npy: '" + path + "'");
}

Tensor read_npy(const std::string& path) { return parse_npy(read_file(path, "read_npy"), "read_npy: '" + path + "'"); }

std::vector<unsigned char> encode_npy(const Array& a) {
  static_assert(std::endian::native == std::endian::little, "npy writer assumes a little-endian host");
  std::string shape = "(";
  for (std::size_t i = 0; i < a.rank(); ++i)
    shape += std::to_string(a.shape()[i]) + (a.rank() == 1 ? "," : (i + 1 < a.rank() ? ", " : ""));
  shape += ")";
  std::string header = "{'descr': '" + descr_of(a.dtype()) + "', 'fortran_order': False, 'shape': " + shape + ", }";
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
  const auto* p = static_cast<const unsigned char*>(a.data());
  out.insert(out.end(), p, p + a.nbytes());
  return out;
}

std::vector<unsigned char> encode_npy(const Tensor& t) { return encode_npy(Array::from_tensor(t)); }

void write_npy(const std::string& path, const Tensor& t) { write_file_atomic(path, encode_npy(t), "write_npy"); }
void write_npy(const std::string& path, const Array& a) { write_file_atomic(path, encode_npy(a), "write_npy"); }

}  // namespace fourierconv::io
