// Eight-float SIMD vectors through GCC/Clang vector extensions, and the runtime choice of
// instruction set for the hot loops that use them.
//
// Nothing installed depends on the build machine's CPU: the library is compiled for baseline
// x86-64, and every hot function is marked FC_MULTIVERSION, which compiles it (and what it
// inlines) also for x86-64-v3 (AVX2 + FMA) and x86-64-v4 (AVX-512), the loader picking the
// best the CPU has (GCC/Clang target_clones, through an IFUNC resolver). A v8 is then one AVX
// register in the v3/v4 clones and two SSE registers in the baseline one. Helpers a hot
// function calls must be inlined into it (FC_INLINE) to run in its clone. -ffp-contract=fast
// (CMakeLists) lets the v3/v4 clones fuse a * b + c into FMA. A build with
// FOURIERCONV_NATIVE=ON (-march=native, for local experiments) compiles one version only.
#pragma once

#include <cstring>

// Clang (the sanitizer, fuzz and ThreadSanitizer builds) compiles one baseline version: its target_clones
// cannot call the always-inline vector helpers across targets.
#if defined(FOURIERCONV_NATIVE_BUILD) || defined(__clang__) || !(defined(__x86_64__) && defined(__GNUC__))
#define FC_MULTIVERSION
#define FC_MULTIVERSION_BELOW_V4
#define FC_TARGET_V4
#ifdef __AVX512F__
#define FC_WIDE_COMPILED 1
#else
#define FC_WIDE_COMPILED 0
#endif
#else
#define FC_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
// Kernels of 16-float vectors run only on x86-64-v4 (wide_vectors below) and those of 8-float
// vectors only below it: each is compiled for the targets that run it, not for all three
// (compiled everywhere, the 16-float kernels split into SSE registers took minutes to compile).
#define FC_MULTIVERSION_BELOW_V4 __attribute__((target_clones("arch=x86-64-v3", "default")))
#define FC_TARGET_V4 __attribute__((target("arch=x86-64-v4")))
#define FC_WIDE_COMPILED 1
#endif
#define FC_INLINE __attribute__((always_inline)) inline

namespace fourierconv::simd {

// Whether kernels written for 16-float vectors may be chosen at run time: in the multiversioned
// build when the CPU runs the x86-64-v4 clones (AVX-512: a 16-float vector is one register
// there, and twice the FMA width of a v8), and in native AVX-512 builds. Elsewhere such a
// vector would be split into two or four registers, so the 8-float kernels stay.
// kWideCompiled: whether such kernels are compiled at all (in the multiversioned build, for
// FC_TARGET_V4 functions; in native AVX-512 builds). Where not, wide_vectors() is false.
#if FC_WIDE_COMPILED
inline constexpr bool kWideCompiled = true;
#else
inline constexpr bool kWideCompiled = false;
#endif
FC_INLINE bool wide_vectors() {
#if defined(__AVX512F__)
  return true;
#elif defined(FOURIERCONV_NATIVE_BUILD) || defined(__clang__) || !(defined(__x86_64__) && defined(__GNUC__))
  return false;
#else
  static const bool wide = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("x86-64-v4") != 0;
  }();
  return wide;
#endif
}

// aligned(32) explicitly: without AVX, GCC caps a vector type's alignment at 16, and the
// baseline and AVX clones of a function must agree on the layout of the memory they share.
// Containers of these types must be AlignedVector (64-byte blocks whatever the type says):
// std::vector<v8> drops the attribute (GCC's -Wignored-attributes, silenced below for the
// AlignedVector uses) and gets 16-byte aligned storage.
typedef float v8 __attribute__((vector_size(32), aligned(32)));
#pragma GCC diagnostic ignored "-Wignored-attributes"
// The same vector at any float alignment (may alias anything): plain vmovups, where memcpy of
// a vector value sometimes went through the stack in 16-byte halves.
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));

FC_INLINE v8 load(const float* p) { return *reinterpret_cast<const v8*>(p); }  // 32-byte aligned p
FC_INLINE void store(float* p, v8 v) { *reinterpret_cast<v8*>(p) = v; }
FC_INLINE v8 loadu(const float* p) { return *reinterpret_cast<const v8u*>(p); }
FC_INLINE void storeu(float* p, v8 v) { *reinterpret_cast<v8u*>(p) = v; }
// x in every lane, as one vbroadcastss in the AVX clones and in native builds. Written as a
// vector plus a scalar on purpose (GCC 12): the initializer v8{x, x, ...} is lowered for the
// baseline target before it is inlined, so the AVX clones got eight vinsertps, and the
// element-by-element loop became a chain of inserts even in native builds (the tuple FFTs ran
// at 0.6x native speed). The lanes hold x + 0: x itself, except that -0.0 becomes +0.0.
FC_INLINE v8 splat(float x) { return v8{} + x; }

// a*b + c and c - a*b: one FMA instruction in the clones whose CPU has it (contracted under
// -ffp-contract=fast), a multiply and an add in the baseline clone.
FC_INLINE v8 fma(v8 a, v8 b, v8 c) { return a * b + c; }
FC_INLINE v8 fnma(v8 a, v8 b, v8 c) { return c - a * b; }

// max(a, b) where a NaN in either wins, as Keras's max pooling gives (TensorFlow's max pooling
// propagates NaN): b when b > a or b is NaN, else a (so a NaN a stays).
FC_INLINE float max_nan(float a, float b) { return (b > a || b != b) ? b : a; }
FC_INLINE v8 max_nan(v8 a, v8 b) { return (b > a || b != b) ? b : a; }

// In-register transpose of an 8 x 8 block: r[i][j] -> r[j][i] (unpack, shuffle, lane swap).
FC_INLINE void transpose8x8(v8 r[8]) {
  v8 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
    t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = __builtin_shufflevector(t[i], t[i + 2], 0, 1, 8, 9, 4, 5, 12, 13);
    u[i + 1] = __builtin_shufflevector(t[i], t[i + 2], 2, 3, 10, 11, 6, 7, 14, 15);
    u[i + 2] = __builtin_shufflevector(t[i + 1], t[i + 3], 0, 1, 8, 9, 4, 5, 12, 13);
    u[i + 3] = __builtin_shufflevector(t[i + 1], t[i + 3], 2, 3, 10, 11, 6, 7, 14, 15);
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = __builtin_shufflevector(u[i], u[i + 4], 0, 1, 2, 3, 8, 9, 10, 11);
    r[i + 4] = __builtin_shufflevector(u[i], u[i + 4], 4, 5, 6, 7, 12, 13, 14, 15);
  }
}

// Four pairs of floats (complex numbers, or two adjacent channels) as the 64-bit lanes of one
// register; loads and stores go through float pointers.
typedef double v4d __attribute__((vector_size(32), aligned(32)));
FC_INLINE v4d loadu_pairs(const float* p) {
  v4d v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
FC_INLINE void storeu_pairs(float* p, v4d v) { std::memcpy(p, &v, sizeof v); }

// In-register transpose of a 4 x 4 block of pairs: r[i][j] -> r[j][i].
FC_INLINE void transpose4x4(v4d r[4]) {
  const v4d t0 = __builtin_shufflevector(r[0], r[1], 0, 4, 2, 6), t1 = __builtin_shufflevector(r[0], r[1], 1, 5, 3, 7);
  const v4d t2 = __builtin_shufflevector(r[2], r[3], 0, 4, 2, 6), t3 = __builtin_shufflevector(r[2], r[3], 1, 5, 3, 7);
  r[0] = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);
  r[1] = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);
  r[2] = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
  r[3] = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
}

// Complex helpers on four interleaved complex numbers (re, im, re, im, ...).
FC_INLINE v8 reverse_complex(v8 z) { return __builtin_shufflevector(z, z, 6, 7, 4, 5, 2, 3, 0, 1); }
FC_INLINE v8 conj(v8 z) { return z * v8{1, -1, 1, -1, 1, -1, 1, -1}; }
FC_INLINE v8 times_i(v8 z) { return __builtin_shufflevector(z, z, 1, 0, 3, 2, 5, 4, 7, 6) * v8{-1, 1, -1, 1, -1, 1, -1, 1}; }
FC_INLINE v8 times_minus_i(v8 z) { return __builtin_shufflevector(z, z, 1, 0, 3, 2, 5, 4, 7, 6) * v8{1, -1, 1, -1, 1, -1, 1, -1}; }

}  // namespace fourierconv::simd
