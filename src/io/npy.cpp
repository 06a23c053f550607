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

// The header: a Python dict literal, as numpy.lib.format writes and reads it (numpy reads it
// with ast.literal_eval and requires exactly the keys descr, fortran_order and shape). Parsed
// strictly: string keys and values without escapes, True/False, a tuple of decimal integers
// ("(4,)", "()", "(2, 3)"; "(4)" is an int, not a tuple), whitespace anywhere between tokens,
// an optional trailing comma. Anything else, a duplicate key (Python would keep the last one,
// a file that means one thing to numpy and another to a lenient reader), a comment, a missing
// or an extra key is refused, so a header is never read differently from numpy.
struct Header {
  std::string descr;
  bool fortran_order = false;
  Shape shape;
  std::string shape_text;
};

Header parse_header(const std::string& h, const std::string& what) {
  std::size_t i = 0;
  auto fail = [&](const std::string& why) -> Header {
    throw Error(what + ": bad header (" + why + " at byte " + std::to_string(i) + "): " + h.substr(0, 120));
  };
  auto space = [&] {
    while (i < h.size() && std::isspace(static_cast<unsigned char>(h[i]))) ++i;
  };
  auto eat = [&](char c) {
    space();
    if (i < h.size() && h[i] == c) return ++i, true;
    return false;
  };
  auto string = [&](std::string& out) {
    space();
    if (i >= h.size() || (h[i] != '\'' && h[i] != '"')) return false;
    const char q = h[i];
    const std::size_t end = h.find(q, i + 1);
    if (end == std::string::npos) return false;
    out = h.substr(i + 1, end - i - 1);
    if (out.find('\\') != std::string::npos) return false;
    i = end + 1;
    return true;
  };
  Header r;
  bool have[3] = {false, false, false};
  if (!eat('{')) return fail("expected '{'");
  for (;;) {
    if (eat('}')) break;
    std::string key;
    if (!string(key)) return fail("expected a quoted key");
    if (!eat(':')) return fail("expected ':'");
    space();
    if (key == "descr") {
      if (have[0] || !string(r.descr)) return fail(have[0] ? "duplicate key 'descr'" : "expected a quoted descr");
      have[0] = true;
    } else if (key == "fortran_order") {
      if (have[1]) return fail("duplicate key 'fortran_order'");
      if (h.compare(i, 4, "True") == 0) r.fortran_order = true, i += 4;
      else if (h.compare(i, 5, "False") == 0) r.fortran_order = false, i += 5;
      else return fail("fortran_order must be True or False");
      have[1] = true;
    } else if (key == "shape") {
      if (have[2]) return fail("duplicate key 'shape'");
      const std::size_t start = i;
      if (!eat('(')) return fail("expected a tuple for shape");
      bool comma = false;
      while (!eat(')')) {
        space();
        std::size_t end = i;
        while (end < h.size() && std::isdigit(static_cast<unsigned char>(h[end]))) ++end;
        if (end == i || end - i > 12) return fail("expected a dimension");
        r.shape.push_back(std::stoull(h.substr(i, end - i)));
        i = end;
        comma = eat(',');
        if (!comma && !eat(')')) return fail("expected ',' or ')' in shape");
        if (!comma) break;
      }
      if (r.shape.size() == 1 && !comma) return fail("shape (n) is not a tuple; numpy writes (n,)");
      r.shape_text = h.substr(start, i - start);
      while (!r.shape_text.empty() && std::isspace(static_cast<unsigned char>(r.shape_text.front()))) r.shape_text.erase(0, 1);
      have[2] = true;
    } else {
      return fail("unexpected key '" + key + "' (numpy allows only descr, fortran_order and shape)");
    }
    if (eat('}')) break;
    if (!eat(',')) return fail("expected ',' or '}'");
  }
  space();
  if (i != h.size()) return fail("text after the dict");
  for (int k = 0; k < 3; ++k)
    if (!have[k]) throw Error(what + ": header has no '" + std::string(k == 0 ? "descr" : k == 1 ? "fortran_order" : "shape") + "' entry");
  return r;
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
  const Header hd = parse_header(header, what);
  const std::string& descr = hd.descr;
  const bool fortran_order = hd.fortran_order;
  const Shape& shape = hd.shape;
  const std::string& shape_s = hd.shape_text;
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
