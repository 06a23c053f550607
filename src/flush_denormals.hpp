// Internal: flush-to-zero (FTZ) and denormals-are-zero (DAZ) for a scope, on x86 (MXCSR bits
// 15 and 6); a no-op elsewhere.
//
// Why: the tails of a fixed frequency response (a gaussian's exp(-r^2) below FLT_MIN) are
// subnormal floats, and so are many products of small spectra with them. Intel cores take a
// microcode assist of ~100+ cycles per such operand or result; FourierConv2D's forward with
// the seed's gabor bank ran 2.7x slower for it on an Intel Xeon (BENCHMARKS.md, fourteenth
// session), while AMD Zen cores hardly slow down. With FTZ/DAZ, a subnormal operand reads as
// 0 and a subnormal result is written as 0: results change by less than FLT_MIN (1.2e-38) in
// absolute value. TensorFlow runs its ops with FTZ/DAZ on for the same reason
// (tensorflow/core/platform/denormal.h, ScopedFlushDenormal), so Keras users see the same.
//
// The MXCSR is per thread: open a guard inside each OpenMP parallel region (every thread of
// the team, the caller included). On exit only the FTZ and DAZ bits are put back, so the
// exception flags that the scope raised stay raised for the caller, as without the guard.
#pragma once

#if defined(__SSE2__) && (defined(__x86_64__) || defined(__i386__))
#include <xmmintrin.h>
#define FOURIERCONV_HAS_MXCSR 1
#else
#define FOURIERCONV_HAS_MXCSR 0
#endif

namespace fourierconv::detail {

class ScopedFlushDenormals {
 public:
#if FOURIERCONV_HAS_MXCSR
  static constexpr unsigned kBits = 0x8040u;  // FTZ (bit 15) | DAZ (bit 6)
  ScopedFlushDenormals() : saved_(_mm_getcsr() & kBits) { _mm_setcsr(_mm_getcsr() | kBits); }
  ~ScopedFlushDenormals() { _mm_setcsr((_mm_getcsr() & ~kBits) | saved_); }

 private:
  unsigned saved_;
#else
  ScopedFlushDenormals() = default;
#endif

 public:
  ScopedFlushDenormals(const ScopedFlushDenormals&) = delete;
  ScopedFlushDenormals& operator=(const ScopedFlushDenormals&) = delete;
};

}  // namespace fourierconv::detail
