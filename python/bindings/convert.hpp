// Conversions between numpy arrays and the C++ library's ArrayView / Array / Tensor. Inputs are
// read in place: an ArrayView borrows the array's memory with its strides (in elements), so
// C-contiguous and strided arrays of a supported type are never copied. A numpy array is read
// through numpy's C API; any other array (torch, JAX, ... and numpy arrays of other types or
// byte orders, whose errors the DLPack path words) through nanobind's DLPack import. Results move
// into numpy without a copy: the Array is kept alive by a capsule that numpy's array owns. The
// C API path costs about 0.5 us less per convolve call than DLPack and numpy.asarray (a tenth
// of a 64 x 64, 3 x 3 convolution from Python: BENCHMARKS.md, twelfth session).
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include "fourierconv/array.hpp"
#include "fourierconv/tensor.hpp"

namespace fourierconv::python {

namespace nb = nanobind;

// Any CPU array, read-only allowed, through DLPack.
using InArray = nb::ndarray<nb::ro, nb::device::cpu>;

// An array argument of a bound function: a numpy array read through numpy's C API, or any other
// CPU array through DLPack (InArray). It holds a reference to the Python object, so the memory
// it views lives as long as it does.
class ArrayArg {
 public:
  // Loads `src`; false when it is no array (nanobind then raises its TypeError).
  bool load(nb::handle src, std::uint8_t flags, nb::detail::cleanup_list* cleanup) noexcept;
  // The view; `arg` names the argument in a type error (arrays of types the library lacks).
  ArrayView view(const char* arg) const;

 private:
  nb::object owner_;  // the numpy array, when read through its C API
  ArrayView numpy_;
  InArray dlpack_;    // otherwise
};

// Imports numpy's C API; the module's initialization calls it once.
void import_numpy();

// The element type of a DLPack dtype; throws nb::type_error naming `arg` for others (the
// Python layer converts float16 and non-native byte orders before calling).
DType dtype_of(const nb::dlpack::dtype& t, const char* arg);

// A view of `a` (no copy). `arg` names the argument in errors.
ArrayView view_of(const InArray& a, const char* arg);
inline ArrayView view_of(const ArrayArg& a, const char* arg) { return a.view(arg); }

// numpy's array owning `result` (moved, not copied).
nb::object to_numpy(Array&& result);

// float32 arrays only: the data copied into a Tensor (`arg` names the argument in errors).
Tensor tensor_of(const ArrayArg& a, const char* arg);
nb::object to_numpy(const Tensor& t);
// A temporary's storage handed to numpy without a copy (an alias is copied).
nb::object to_numpy(Tensor&& t);

}  // namespace fourierconv::python

namespace nanobind::detail {
template <>
struct type_caster<fourierconv::python::ArrayArg> {
  NB_TYPE_CASTER(fourierconv::python::ArrayArg, const_name("numpy.ndarray"))
  bool from_python(handle src, uint8_t flags, cleanup_list* cleanup) noexcept {
    return value.load(src, flags, cleanup);
  }
};
}  // namespace nanobind::detail
