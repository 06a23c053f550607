#include "fourierconv/array.hpp"
#include "fourierconv/memory_limit.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "fourierconv/error.hpp"

namespace fourierconv {

namespace {

struct Info {
  DType t;
  const char* name;
  std::size_t size;
  int kind;  // 0 bool, 1 signed, 2 unsigned, 3 float, 4 complex
};

constexpr Info kInfo[] = {
    {DType::Bool, "bool", 1, 0},          {DType::Int8, "int8", 1, 1},          {DType::Int16, "int16", 2, 1},
    {DType::Int32, "int32", 4, 1},        {DType::Int64, "int64", 8, 1},        {DType::UInt8, "uint8", 1, 2},
    {DType::UInt16, "uint16", 2, 2},      {DType::UInt32, "uint32", 4, 2},      {DType::UInt64, "uint64", 8, 2},
    {DType::Float32, "float32", 4, 3},    {DType::Float64, "float64", 8, 3},    {DType::Complex64, "complex64", 8, 4},
    {DType::Complex128, "complex128", 16, 4},
};

const Info& info(DType t) { return kInfo[static_cast<int>(t)]; }

}  // namespace

std::string to_string(DType t) { return info(t).name; }

DType parse_dtype(const std::string& name) {
  for (const Info& i : kInfo)
    if (name == i.name) return i.t;
  std::string known;
  for (const Info& i : kInfo) known += std::string(known.empty() ? "" : ", ") + i.name;
  throw Error("dtype: expected one of " + known + "; got '" + name + "'");
}

std::size_t dtype_size(DType t) { return info(t).size; }
bool is_complex(DType t) { return info(t).kind == 4; }
bool is_floating(DType t) { return info(t).kind >= 3; }
bool is_integer(DType t) { return info(t).kind == 1 || info(t).kind == 2; }

DType result_type(DType a, DType b) {
  const Info &x = info(a), &y = info(b);
  if (a == b) return a;
  if (x.kind == 0) return b;
  if (y.kind == 0) return a;
  // Complex: the complex type wide enough for both (a float64 or any 32/64-bit integer with
  // complex64 gives complex128, as numpy).
  auto float_bits = [](const Info& i) -> std::size_t {
    switch (i.kind) {
      case 1:
      case 2: return i.size <= 2 ? 32 : 64;  // the float an integer promotes to with float32
      case 3: return i.size * 8;
      case 4: return i.size * 4;
    }
    return 0;
  };
  if (x.kind == 4 || y.kind == 4) return std::max(float_bits(x), float_bits(y)) > 32 ? DType::Complex128 : DType::Complex64;
  if (x.kind == 3 || y.kind == 3) return std::max(float_bits(x), float_bits(y)) > 32 ? DType::Float64 : DType::Float32;
  // Integers.
  if (x.kind == y.kind) {
    const std::size_t s = std::max(x.size, y.size);
    for (const Info& i : kInfo)
      if (i.kind == x.kind && i.size == s) return i.t;
  }
  const Info& s = x.kind == 1 ? x : y;  // signed
  const Info& u = x.kind == 2 ? x : y;  // unsigned
  if (s.size > u.size) return s.t;
  if (u.size == 8) return DType::Float64;  // no integer holds both int64 and uint64
  for (const Info& i : kInfo)
    if (i.kind == 1 && i.size == 2 * u.size) return i.t;
  return DType::Float64;
}

DType fft_type(DType t) {
  switch (t) {
    case DType::Float32:
    case DType::Complex64:
    case DType::Complex128: return t;
    default: return DType::Float64;
  }
}

Strides c_strides(const Shape& shape) {
  Strides s(shape.size());
  std::ptrdiff_t acc = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    s[i] = acc;
    const std::size_t d = std::max<std::size_t>(shape[i], 1);
    if (d > std::size_t(PTRDIFF_MAX) || __builtin_mul_overflow(acc, std::ptrdiff_t(d), &acc))
      throw OutOfMemory("shape " + shape_to_string(shape) + " has more elements than memory can address");
  }
  return s;
}

bool ArrayView::c_contiguous() const {
  std::ptrdiff_t acc = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    if (shape[i] != 1 && strides[i] != acc) return false;
    if (shape[i] > std::size_t(PTRDIFF_MAX) || __builtin_mul_overflow(acc, std::ptrdiff_t(shape[i]), &acc)) return false;
  }
  return true;
}

ArrayView ArrayView::contiguous(DType dtype, Shape shape, const void* data) {
  ArrayView v;
  v.dtype = dtype;
  v.strides = c_strides(shape);
  v.shape = std::move(shape);
  v.data = data;
  return v;
}

void Array::allocate(std::size_t nbytes) {
  const std::size_t rounded = std::max<std::size_t>(64, (nbytes + 63) / 64 * 64);
  void* p = nullptr;
  try {
    p = allocate_aligned(rounded);  // memory_limit.hpp: from the memory pool where it can
  } catch (const std::bad_alloc&) {
    throw OutOfMemory("Array: cannot allocate " + std::to_string(nbytes) + " bytes for a " + to_string(dtype_) + " array of shape " + shape_to_string(shape_));
  }
  bytes_ = std::unique_ptr<unsigned char[], AlignedFree>(static_cast<unsigned char*>(p), AlignedFree{rounded});
}

Array Array::uninitialized(DType dtype, Shape shape) {
  Array a;
  a.dtype_ = dtype;
  a.shape_ = std::move(shape);
  a.allocate(checked_nbytes(a.shape_, dtype_size(dtype), std::string("Array (") + to_string(dtype) + ")"));
  return a;
}

Array::Array(DType dtype, Shape shape) : Array(uninitialized(dtype, std::move(shape))) {
  if (nbytes()) std::memset(data(), 0, nbytes());
}

Array::Array(const Array& o) : dtype_(o.dtype_), shape_(o.shape_) {
  allocate(o.nbytes());
  if (o.nbytes()) std::memcpy(data(), o.data(), o.nbytes());
}

Array& Array::operator=(const Array& o) {
  if (this == &o) return *this;
  Array c(o);
  return *this = std::move(c);
}

Array Array::from_tensor(const Tensor& t) {
  Array a = uninitialized(DType::Float32, t.shape());
  if (t.size()) std::memcpy(a.data(), t.data(), t.size() * sizeof(float));
  return a;
}

namespace {

// Calls f(dst_index, src_offset) for every element of v in C order.
template <class F>
void for_each_offset(const ArrayView& v, F f) {
  const std::size_t n = v.size(), r = v.rank();
  if (n == 0) return;
  if (r == 0) {
    f(std::size_t(0), std::ptrdiff_t(0));
    return;
  }
  std::vector<std::size_t> idx(r, 0);
  std::ptrdiff_t off = 0;
  const std::size_t inner = v.shape[r - 1];
  const std::ptrdiff_t is = v.strides[r - 1];
  for (std::size_t i = 0; i < n; i += inner) {
    for (std::size_t j = 0; j < inner; ++j) f(i + j, off + std::ptrdiff_t(j) * is);
    for (std::size_t a = r - 1; a-- > 0;) {  // odometer over the outer axes
      off += v.strides[a];
      if (++idx[a] < v.shape[a]) break;
      off -= v.strides[a] * std::ptrdiff_t(v.shape[a]);
      idx[a] = 0;
    }
  }
}

}  // namespace

Array Array::copy_of(const ArrayView& v) { return copy_of(v, v.dtype); }

Array Array::copy_of(const ArrayView& v, DType to) {
  Array out = uninitialized(to, v.shape);
  if (v.size() == 0) return out;
  if (to == v.dtype && v.c_contiguous()) {
    std::memcpy(out.data(), v.data, out.nbytes());
    return out;
  }
  visit_dtype(v.dtype, [&](auto from_tag) {
    using From = typename decltype(from_tag)::type;
    visit_dtype(to, [&](auto to_tag) {
      using To = typename decltype(to_tag)::type;
      const From* src = static_cast<const From*>(v.data);
      To* dst = out.data_as<To>();
      for_each_offset(v, [&](std::size_t i, std::ptrdiff_t off) { dst[i] = convert_element<To>(src[off]); });
    });
  });
  return out;
}

Array& Array::reshape(Shape shape) {
  if (shape_size(shape) != size())
    throw Error("Array::reshape: cannot reshape " + shape_to_string(shape_) + " to " + shape_to_string(shape));
  shape_ = std::move(shape);
  return *this;
}

Tensor Array::to_tensor() const {
  if (dtype_ != DType::Float32) throw Error("Array::to_tensor: expected a float32 array, got " + to_string(dtype_));
  Tensor t(shape_);
  if (size()) std::memcpy(t.data(), data(), nbytes());
  return t;
}

}  // namespace fourierconv
