// Tensor: a shape and 64-byte aligned float32 storage, row-major.
//
// Conventions (hold everywhere in fourierconv):
//   - images are channels last: (N, H, W, C), or (H, W, C) for a single image;
//   - Keras weight layouts: Conv2D kernel (kh, kw, in, out), Dense kernel (in, out).
// A Tensor owns its data; copies are deep. An empty shape () is a scalar with one element.
// The exceptions are aliases: alias_of, a tensor that shares another's storage under a new
// shape, as numpy's reshape returns a view (Flatten and Reshape use it so that they copy
// nothing), and borrowed, a read-only view of the caller's memory (below). An alias is valid
// while its source lives and is not resized; writing through it writes the source; copying it
// gives an owning tensor; resizing it makes it owning. A borrowed tensor's data has the
// caller's alignment, not necessarily 64 bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <new>
#include <string>
#include <vector>

namespace fourierconv {

using Shape = std::vector<std::size_t>;

// "(2, 3, 4)"; "(5,)" for rank 1 as numpy prints it.
std::string shape_to_string(const Shape& shape);
std::size_t shape_size(const Shape& shape);

// Declared in memory_limit.hpp: the memory limit, and OutOfMemory past it.
std::size_t memory_limit();
void check_allocation(std::size_t bytes, const std::string& what);
void* allocate_aligned(std::size_t bytes);
void free_aligned(void* p, std::size_t bytes) noexcept;

// Allocator giving 64-byte aligned blocks (cache line, AVX-512 width, FFTW's SIMD needs);
// large ones come from and go back to the memory pool.
template <class T>
struct AlignedAllocator {
  using value_type = T;
  static constexpr std::size_t kAlignment = 64;
  AlignedAllocator() noexcept = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    if (n > (SIZE_MAX - kAlignment) / sizeof(T)) throw std::bad_alloc();
    if (n * sizeof(T) > memory_limit()) check_allocation(n * sizeof(T), "a working buffer");  // memory_limit.hpp
    return static_cast<T*>(allocate_aligned(n * sizeof(T)));  // memory_limit.hpp: the memory pool
  }
  void deallocate(T* p, std::size_t n) noexcept { free_aligned(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const AlignedAllocator<U>&) const noexcept { return true; }
};

template <class T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(Shape shape, float value = 0.0f);
  Tensor(Shape shape, std::initializer_list<float> values);
  Tensor(const Tensor& other);
  Tensor(Tensor&& other) noexcept;
  Tensor& operator=(const Tensor& other);
  Tensor& operator=(Tensor&& other) noexcept;
  ~Tensor() = default;

  // Makes this tensor an alias of src's storage with `shape` (same number of elements).
  void alias_of(const Tensor& src, Shape shape);
  bool is_alias() const { return size_ != 0 && storage_.empty(); }
  // A read-only alias of float32 memory that the caller owns and keeps alive and unchanged
  // while the tensor is used (the Python binding hands a numpy array to apply_filter this way:
  // the copy was ~15% of a 256^2 call). Never write through it (data() and operator[] would
  // write the caller's memory, which may be read-only). Its data need only float alignment,
  // not the 64 bytes of an owning tensor: give it only to functions documented to read any
  // alignment (apply_filter), not to FFT plans' execute functions (fft.hpp). data may be null
  // only for an empty shape; throws Error otherwise.
  static Tensor borrowed(const float* data, Shape shape);

  const Shape& shape() const { return shape_; }
  std::size_t rank() const { return shape_.size(); }
  std::size_t dim(std::size_t i) const { return shape_.at(i); }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  float* data() { return ptr_; }
  const float* data() const { return ptr_; }
  float& operator[](std::size_t i) { return ptr_[i]; }
  float operator[](std::size_t i) const { return ptr_[i]; }
  float* begin() { return ptr_; }
  float* end() { return ptr_ + size_; }
  const float* begin() const { return ptr_; }
  const float* end() const { return ptr_ + size_; }

  // Element access by full index, row-major.
  float& at(std::initializer_list<std::size_t> index);
  float at(std::initializer_list<std::size_t> index) const;

  // Same data, new shape with the same number of elements (throws otherwise).
  Tensor& reshape(Shape shape);
  Tensor reshaped(Shape shape) const;
  void fill(float value);
  // Resizes to `shape`; contents are unspecified afterwards (no reallocation when it fits).
  void resize(Shape shape);

  std::string shape_string() const { return shape_to_string(shape_); }

 private:
  std::size_t offset(std::initializer_list<std::size_t> index) const;
  Shape shape_;
  AlignedVector<float> storage_;  // empty for an alias
  float* ptr_ = nullptr;
  std::size_t size_ = 0;
};

// Whether every element is finite (no NaN, no Inf); one vectorized pass.
bool all_finite(const Tensor& t);
// Throws Error naming `what` when any element is NaN or Inf ("x contains NaN at index 12").
void check_finite(const Tensor& t, const std::string& what);

}  // namespace fourierconv
