// Conversions between numpy arrays (nanobind ndarrays, read through DLPack) and the C++
// library's ArrayView / Array / Tensor. Inputs are read in place: an ArrayView borrows the
// array's memory with its strides (in elements), so C-contiguous and strided arrays of a
// supported type are never copied. Results move into numpy without a copy: the Array is kept
// alive by a capsule that numpy's array owns.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include "fourierconv/array.hpp"
#include "fourierconv/tensor.hpp"

namespace fourierconv::python {

namespace nb = nanobind;

// Any CPU array, read-only allowed.
using InArray = nb::ndarray<nb::ro, nb::device::cpu>;

// The element type of a DLPack dtype; throws nb::type_error naming `arg` for others (the
// Python layer converts float16 and non-native byte orders before calling).
DType dtype_of(const nb::dlpack::dtype& t, const char* arg);
nb::dlpack::dtype dlpack_dtype(DType t);

// A view of `a` (no copy). `arg` names the argument in errors.
ArrayView view_of(const InArray& a, const char* arg);

// numpy's array owning `result` (moved, not copied).
nb::object to_numpy(Array&& result);

// float32 arrays only: the data copied into a Tensor (`arg` names the argument in errors).
Tensor tensor_of(const InArray& a, const char* arg);
nb::object to_numpy(const Tensor& t);
// A temporary's storage handed to numpy without a copy (an alias is copied).
nb::object to_numpy(Tensor&& t);

}  // namespace fourierconv::python
