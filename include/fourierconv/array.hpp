// N-D arrays of every element type scipy.signal accepts, for the scipy-grade convolution API
// (signal.hpp) and .npy files: a dtype, a shape and either owned C-contiguous storage
// (Array) or a strided view of someone else's memory (ArrayView, as numpy and DLPack describe
// arrays: the Python bindings read numpy arrays through it without copying).
//
// Element types and their numpy names: bool, int8/16/32/64, uint8/16/32/64, float32, float64,
// complex64, complex128. The result type of two arrays is numpy's np.result_type for arrays
// (result_type below), as scipy.signal's functions return it.
// Strides are in elements (numpy's byte strides divided by the item size), and may be zero
// (broadcast) or negative (reversed views).
#pragma once

#include <complex>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <type_traits>
#include <string>
#include <vector>

#include "fourierconv/tensor.hpp"

namespace fourierconv {

enum class DType { Bool, Int8, Int16, Int32, Int64, UInt8, UInt16, UInt32, UInt64, Float32, Float64, Complex64, Complex128 };

std::string to_string(DType t);               // numpy's name: "float32", "complex128", ...
DType parse_dtype(const std::string& name);   // the same names; throws Error for others
std::size_t dtype_size(DType t);              // bytes per element
bool is_complex(DType t);
bool is_floating(DType t);                    // float32/64 or complex
bool is_integer(DType t);                     // signed or unsigned integers (not bool)
// numpy's result_type of two arrays (value-independent promotion: int8 with uint8 gives
// int16, int64 with uint64 gives float64, float32 with int16 gives float32, int32 with
// float32 gives float64, real with complex gives the complex of the wider float).
DType result_type(DType a, DType b);
// The floating type FFT methods compute in for an array of type t (scipy's fftconvolve):
// float32 and complex64 stay, other reals (integers, bool, float64) become float64.
DType fft_type(DType t);

// The C++ type of each element type.
template <DType T> struct dtype_traits;
template <> struct dtype_traits<DType::Bool> { using type = bool; };
template <> struct dtype_traits<DType::Int8> { using type = std::int8_t; };
template <> struct dtype_traits<DType::Int16> { using type = std::int16_t; };
template <> struct dtype_traits<DType::Int32> { using type = std::int32_t; };
template <> struct dtype_traits<DType::Int64> { using type = std::int64_t; };
template <> struct dtype_traits<DType::UInt8> { using type = std::uint8_t; };
template <> struct dtype_traits<DType::UInt16> { using type = std::uint16_t; };
template <> struct dtype_traits<DType::UInt32> { using type = std::uint32_t; };
template <> struct dtype_traits<DType::UInt64> { using type = std::uint64_t; };
template <> struct dtype_traits<DType::Float32> { using type = float; };
template <> struct dtype_traits<DType::Float64> { using type = double; };
template <> struct dtype_traits<DType::Complex64> { using type = std::complex<float>; };
template <> struct dtype_traits<DType::Complex128> { using type = std::complex<double>; };
template <class T>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, bool>) return DType::Bool;
  else if constexpr (std::is_same_v<T, std::int8_t>) return DType::Int8;
  else if constexpr (std::is_same_v<T, std::int16_t>) return DType::Int16;
  else if constexpr (std::is_same_v<T, std::int32_t>) return DType::Int32;
  else if constexpr (std::is_same_v<T, std::int64_t>) return DType::Int64;
  else if constexpr (std::is_same_v<T, std::uint8_t>) return DType::UInt8;
  else if constexpr (std::is_same_v<T, std::uint16_t>) return DType::UInt16;
  else if constexpr (std::is_same_v<T, std::uint32_t>) return DType::UInt32;
  else if constexpr (std::is_same_v<T, std::uint64_t>) return DType::UInt64;
  else if constexpr (std::is_same_v<T, float>) return DType::Float32;
  else if constexpr (std::is_same_v<T, double>) return DType::Float64;
  else if constexpr (std::is_same_v<T, std::complex<float>>) return DType::Complex64;
  else return DType::Complex128;
}

// Calls f(tag) with tag's ::type the C++ element type of t: visit(t, [&](auto tag) {
// using T = typename decltype(tag)::type; ... }).
template <DType D> struct DTypeTag { using type = typename dtype_traits<D>::type; static constexpr DType dtype = D; };
template <class F>
decltype(auto) visit_dtype(DType t, F&& f) {
  switch (t) {
    case DType::Bool: return f(DTypeTag<DType::Bool>{});
    case DType::Int8: return f(DTypeTag<DType::Int8>{});
    case DType::Int16: return f(DTypeTag<DType::Int16>{});
    case DType::Int32: return f(DTypeTag<DType::Int32>{});
    case DType::Int64: return f(DTypeTag<DType::Int64>{});
    case DType::UInt8: return f(DTypeTag<DType::UInt8>{});
    case DType::UInt16: return f(DTypeTag<DType::UInt16>{});
    case DType::UInt32: return f(DTypeTag<DType::UInt32>{});
    case DType::UInt64: return f(DTypeTag<DType::UInt64>{});
    case DType::Float32: return f(DTypeTag<DType::Float32>{});
    case DType::Float64: return f(DTypeTag<DType::Float64>{});
    case DType::Complex64: return f(DTypeTag<DType::Complex64>{});
    case DType::Complex128: break;
  }
  return f(DTypeTag<DType::Complex128>{});
}

using Strides = std::vector<std::ptrdiff_t>;
Strides c_strides(const Shape& shape);  // row-major strides, in elements

// A typed, strided, read-only view: element (i0, i1, ...) at data + sum(i_k * strides[k]).
struct ArrayView {
  DType dtype = DType::Float32;
  Shape shape;
  Strides strides;
  const void* data = nullptr;

  std::size_t size() const { return shape_size(shape); }
  std::size_t rank() const { return shape.size(); }
  bool c_contiguous() const;
  // A view of a C-contiguous buffer.
  static ArrayView contiguous(DType dtype, Shape shape, const void* data);
};

// An owning, C-contiguous, 64-byte aligned N-D array. Copies are deep.
// An Array's deleter: the block's size travels with it (large blocks go back to the memory
// pool, memory_limit.hpp).
struct AlignedFree {
  std::size_t bytes = 0;
  void operator()(unsigned char* p) const noexcept { free_aligned(p, bytes); }
};

class Array {
 public:
  Array() = default;
  Array(DType dtype, Shape shape);  // zero-filled
  // Storage left as it comes from the allocator, for arrays every element of which is written next.
  static Array uninitialized(DType dtype, Shape shape);
  Array(const Array& other);
  Array& operator=(const Array& other);
  Array(Array&&) noexcept = default;
  Array& operator=(Array&&) noexcept = default;
  static Array from_tensor(const Tensor& t);
  // The elements of `v` in C order, as an owned array of v's type, or converted to `to`
  // (numpy's astype with casting='unsafe': complex to real keeps the real part, float to
  // integer truncates toward zero, anything to bool is != 0).
  static Array copy_of(const ArrayView& v);
  static Array copy_of(const ArrayView& v, DType to);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  std::size_t rank() const { return shape_.size(); }
  std::size_t size() const { return shape_size(shape_); }
  std::size_t nbytes() const { return size() * dtype_size(dtype_); }
  void* data() { return bytes_.get(); }
  const void* data() const { return bytes_.get(); }
  template <class T>
  T* data_as() { return reinterpret_cast<T*>(bytes_.get()); }
  template <class T>
  const T* data_as() const { return reinterpret_cast<const T*>(bytes_.get()); }
  ArrayView view() const { return ArrayView::contiguous(dtype_, shape_, bytes_.get()); }
  // Same elements under another shape of the same size.
  Array& reshape(Shape shape);
  // float32 arrays only (throws otherwise): the data as a Tensor.
  Tensor to_tensor() const;

 private:
  void allocate(std::size_t nbytes);  // 64-byte aligned, uninitialized
  DType dtype_ = DType::Float32;
  Shape shape_;
  std::unique_ptr<unsigned char[], AlignedFree> bytes_;
};

// Converts one element (numpy's unsafe cast, as Array::copy_of).
template <class To, class From>
To convert_element(const From& v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (std::is_same_v<To, bool>) {
    return v != From{};
  } else if constexpr (std::is_same_v<To, std::complex<float>> || std::is_same_v<To, std::complex<double>>) {
    using R = typename To::value_type;
    if constexpr (std::is_same_v<From, std::complex<float>> || std::is_same_v<From, std::complex<double>>)
      return To(R(v.real()), R(v.imag()));
    else
      return To(R(v), R(0));
  } else if constexpr (std::is_same_v<From, std::complex<float>> || std::is_same_v<From, std::complex<double>>) {
    return convert_element<To>(v.real());  // numpy: complex to real discards the imaginary part
  } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<From>) {
    // numpy's unsafe cast truncates toward zero; out-of-range values are undefined there,
    // here they saturate (no UB).
    if (!(v == v)) return To(0);
    if (v >= From(std::numeric_limits<To>::max())) return std::numeric_limits<To>::max();
    if (v <= From(std::numeric_limits<To>::lowest())) return std::numeric_limits<To>::lowest();
    return To(v);
  } else {
    return To(v);
  }
}


}  // namespace fourierconv
