#include "convert.hpp"

#include <cstring>
#include <new>
#include <string>

// numpy's C API (the headers of the numpy that builds the module: pyproject.toml's build
// requirements), for the numpy versions the package supports at run time.
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#define NPY_TARGET_VERSION NPY_1_23_API_VERSION
#include <numpy/arrayobject.h>

#include "fourierconv/error.hpp"

namespace fourierconv::python {

void import_numpy() {
  if (PyArray_ImportNumPyAPI() < 0) throw nb::python_error();
}

namespace {

// The library's type of a numpy element type: by kind and size, so the platform's C type names
// (long, long long) do not matter. False for the others (float16, long double, datetimes, ...).
bool dtype_of_numpy(const PyArray_Descr* d, DType& t) {
  const auto size = PyDataType_ELSIZE(d);
  switch (d->kind) {
    case 'b':
      if (size == 1) return t = DType::Bool, true;
      break;
    case 'i':
      if (size == 1) return t = DType::Int8, true;
      if (size == 2) return t = DType::Int16, true;
      if (size == 4) return t = DType::Int32, true;
      if (size == 8) return t = DType::Int64, true;
      break;
    case 'u':
      if (size == 1) return t = DType::UInt8, true;
      if (size == 2) return t = DType::UInt16, true;
      if (size == 4) return t = DType::UInt32, true;
      if (size == 8) return t = DType::UInt64, true;
      break;
    case 'f':
      if (size == 4) return t = DType::Float32, true;
      if (size == 8) return t = DType::Float64, true;
      break;
    case 'c':
      if (size == 8) return t = DType::Complex64, true;
      if (size == 16) return t = DType::Complex128, true;
      break;
    default:
      break;
  }
  return false;
}

int numpy_type(DType t) {
  switch (t) {
    case DType::Bool: return NPY_BOOL;
    case DType::Int8: return NPY_INT8;
    case DType::Int16: return NPY_INT16;
    case DType::Int32: return NPY_INT32;
    case DType::Int64: return NPY_INT64;
    case DType::UInt8: return NPY_UINT8;
    case DType::UInt16: return NPY_UINT16;
    case DType::UInt32: return NPY_UINT32;
    case DType::UInt64: return NPY_UINT64;
    case DType::Float32: return NPY_FLOAT32;
    case DType::Float64: return NPY_FLOAT64;
    case DType::Complex64: return NPY_COMPLEX64;
    case DType::Complex128: break;
  }
  return NPY_COMPLEX128;
}

// A view of a numpy array read through the C API: aligned, native byte order, a supported type,
// strides whole multiples of the item size. False for any other (the DLPack path takes those).
bool numpy_view(PyObject* o, ArrayView& v) {
  if (!PyArray_Check(o)) return false;
  auto* a = reinterpret_cast<PyArrayObject*>(o);
  const PyArray_Descr* d = PyArray_DESCR(a);
  // (numpy's own numeric types only: a user-defined dtype of the same kind and size is not one.)
  if (PyArray_TYPE(a) < 0 || PyArray_TYPE(a) > NPY_CLONGDOUBLE || !PyArray_ISALIGNED(a) || !PyArray_ISNOTSWAPPED(a) ||
      PyDataType_HASFIELDS(d) || PyDataType_HASSUBARRAY(d) || !dtype_of_numpy(d, v.dtype))
    return false;
  const int nd = PyArray_NDIM(a);
  const npy_intp item = PyArray_ITEMSIZE(a);
  const npy_intp* dims = PyArray_DIMS(a);
  const npy_intp* strides = PyArray_STRIDES(a);
  v.shape.resize(static_cast<std::size_t>(nd));
  v.strides.resize(static_cast<std::size_t>(nd));
  for (int i = 0; i < nd; ++i) {
    if (strides[i] % item) return false;
    v.shape[i] = static_cast<std::size_t>(dims[i]);
    v.strides[i] = static_cast<std::ptrdiff_t>(strides[i] / item);
  }
  v.data = PyArray_DATA(a);
  return true;
}

}  // namespace

bool ArrayArg::load(nb::handle src, std::uint8_t flags, nb::detail::cleanup_list* cleanup) noexcept {
  owner_.reset();
  try {
    if (numpy_view(src.ptr(), numpy_)) {
      owner_ = nb::borrow(src);
      return true;
    }
  } catch (const std::bad_alloc&) {  // (the view's two small vectors): the DLPack path raises
  }
  nb::detail::make_caster<InArray> c;
  if (!c.from_python(src, flags, cleanup)) return false;
  dlpack_ = std::move(c.value);
  return true;
}

ArrayView ArrayArg::view(const char* arg) const { return owner_ ? numpy_ : view_of(dlpack_, arg); }

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

namespace {

// A writeable C-contiguous numpy array of `shape` and `type` over `data`, which `owner` keeps
// alive (numpy's base object). (A capsule has no buffer to ask: once made read-only, such an
// array cannot be made writeable again, as numpy refuses for any base without a writable buffer.)
nb::object numpy_array(DType type, const Shape& shape, void* data, nb::capsule owner) {
  std::vector<npy_intp> dims(shape.begin(), shape.end());
  // numpy wants a non-null pointer even for zero elements.
  alignas(64) static unsigned char empty[64];
  if (!shape_size(shape)) data = empty;
  PyObject* a = PyArray_New(&PyArray_Type, static_cast<int>(dims.size()), dims.data(), numpy_type(type), nullptr, data,
                            0, NPY_ARRAY_CARRAY, nullptr);
  if (!a) throw nb::python_error();
  nb::object array = nb::steal(a);
  if (PyArray_SetBaseObject(reinterpret_cast<PyArrayObject*>(a), owner.release().ptr()) < 0) throw nb::python_error();
  return array;
}

}  // namespace

nb::object to_numpy(Array&& result) {
  auto* owned = new Array(std::move(result));
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<Array*>(p); });
  return numpy_array(owned->dtype(), owned->shape(), owned->data(), std::move(owner));
}

Tensor tensor_of(const ArrayArg& a, const char* arg) {
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
  return numpy_array(DType::Float32, owned->shape(), owned->data(), std::move(owner));
}

}  // namespace fourierconv::python
