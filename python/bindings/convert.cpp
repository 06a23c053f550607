#include "convert.hpp"

#include <cstring>
#include <string>

#include "fourierconv/error.hpp"

namespace fourierconv::python {

using nb::dlpack::dtype_code;

DType dtype_of(const nb::dlpack::dtype& t, const char* arg) {
  const auto code = static_cast<dtype_code>(t.code);
  if (t.lanes == 1) {
    switch (code) {
      case dtype_code::Bool:
        if (t.bits == 8) return DType::Bool;
        break;
      case dtype_code::Int:
        if (t.bits == 8) return DType::Int8;
        if (t.bits == 16) return DType::Int16;
        if (t.bits == 32) return DType::Int32;
        if (t.bits == 64) return DType::Int64;
        break;
      case dtype_code::UInt:
        if (t.bits == 8) return DType::UInt8;
        if (t.bits == 16) return DType::UInt16;
        if (t.bits == 32) return DType::UInt32;
        if (t.bits == 64) return DType::UInt64;
        break;
      case dtype_code::Float:
        if (t.bits == 32) return DType::Float32;
        if (t.bits == 64) return DType::Float64;
        break;
      case dtype_code::Complex:
        if (t.bits == 64) return DType::Complex64;
        if (t.bits == 128) return DType::Complex128;
        break;
      default:
        break;
    }
  }
  throw nb::type_error((std::string(arg) + ": expected an array of bool, int8..int64, uint8..uint64, float32, float64, "
                        "complex64 or complex128, got DLPack type code " + std::to_string(int(t.code)) + " with " +
                        std::to_string(int(t.bits)) + " bits")
                           .c_str());
}

nb::dlpack::dtype dlpack_dtype(DType t) {
  switch (t) {
    case DType::Bool: return nb::dtype<bool>();
    case DType::Int8: return nb::dtype<std::int8_t>();
    case DType::Int16: return nb::dtype<std::int16_t>();
    case DType::Int32: return nb::dtype<std::int32_t>();
    case DType::Int64: return nb::dtype<std::int64_t>();
    case DType::UInt8: return nb::dtype<std::uint8_t>();
    case DType::UInt16: return nb::dtype<std::uint16_t>();
    case DType::UInt32: return nb::dtype<std::uint32_t>();
    case DType::UInt64: return nb::dtype<std::uint64_t>();
    case DType::Float32: return nb::dtype<float>();
    case DType::Float64: return nb::dtype<double>();
    case DType::Complex64: return nb::dtype<std::complex<float>>();
    case DType::Complex128: break;
  }
  return nb::dtype<std::complex<double>>();
}

ArrayView view_of(const InArray& a, const char* arg) {
  ArrayView v;
  v.dtype = dtype_of(a.dtype(), arg);
  v.shape.resize(a.ndim());
  v.strides.resize(a.ndim());
  for (std::size_t i = 0; i < a.ndim(); ++i) {
    v.shape[i] = a.shape(i);
    v.strides[i] = static_cast<std::ptrdiff_t>(a.stride(i));
  }
  v.data = a.data();
  return v;
}

nb::object to_numpy(Array&& result) {
  auto* owned = new Array(std::move(result));
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<Array*>(p); });
  const DType t = owned->dtype();
  std::vector<std::size_t> shape(owned->shape().begin(), owned->shape().end());
  // numpy wants a non-null pointer even for zero elements.
  alignas(64) static unsigned char empty[64];
  void* data = owned->size() ? owned->data() : static_cast<void*>(empty);
  return nb::ndarray<nb::numpy>(data, shape.size(), shape.data(), owner, nullptr, dlpack_dtype(t)).cast();
}

Tensor tensor_of(const InArray& a, const char* arg) {
  const ArrayView v = view_of(a, arg);
  if (v.dtype != DType::Float32)
    throw nb::type_error((std::string(arg) + ": expected a float32 array, got " + to_string(v.dtype)).c_str());
  Tensor t(Shape(v.shape.begin(), v.shape.end()));
  if (!t.size()) return t;
  if (v.c_contiguous()) {  // one copy, not two (a 512^2 apply_filter spent ~5% in the other)
    std::memcpy(t.data(), v.data, t.size() * sizeof(float));
    return t;
  }
  Array c = Array::copy_of(v);
  std::memcpy(t.data(), c.data(), c.size() * sizeof(float));
  return t;
}

nb::object to_numpy(const Tensor& t) { return to_numpy(Array::from_tensor(t)); }

nb::object to_numpy(Tensor&& t) {
  if (t.is_alias() || t.empty()) return to_numpy(Array::from_tensor(t));
  auto* owned = new Tensor(std::move(t));
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<Tensor*>(p); });
  std::vector<std::size_t> shape(owned->shape().begin(), owned->shape().end());
  return nb::ndarray<nb::numpy>(owned->data(), shape.size(), shape.data(), owner, nullptr, dlpack_dtype(DType::Float32)).cast();
}

}  // namespace fourierconv::python
