// Internal: flush-to-zero (FTZ) and denormals-are-zero (DAZ) for a scope, on x86 (MXCSR bits
// 15 and 6); a no-op elsewhere.
//
// Why: the tails of a fixed frequency response (a gaussian's exp(-r^2) below FLT_MIN) are
// subnormal floats, and so are many products of small spectra with them. Intel cores take a
// microcode assist of ~100+ cycles per such operand or result; FourierConv2D's forward with
// the seed's gabor bank ran 2.7x slower for it on an Intel Xeon (BENCHMARKS.md, fourteenth
// session; the AMD Zen 4 of earlier sessions ran the same forward in 416 us without it). With
// FTZ/DAZ, a subnormal operand (an input, a response sample, an intermediate) reads as 0 and a
// subnormal result is written as 0; a sample dropped so contributes less than FLT_MIN times
// the sum of |x| to an output. DAZ is set only where the CPU has it (MXCSR_MASK, read once
// by FXSAVE: setting an unsupported MXCSR bit faults), as TensorFlow checks it too.
// TensorFlow runs its ops with FTZ/DAZ on for the same reason
// (tensorflow/core/platform/denormal.h, ScopedFlushDenormal), so Keras users see the same.
//
// The MXCSR is per thread: open a guard inside each OpenMP parallel region (every thread of
// the team, the caller included). On exit only the FTZ and DAZ bits are put back, so the
// exception flags that the scope raised stay raised for the caller, as without the guard.
#pragma once

#if defined(__SSE2__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>

#include <cstring>
#define FOURIERCONV_HAS_MXCSR 1
#else
#define FOURIERCONV_HAS_MXCSR 0
#endif

namespace fourierconv::detail {

class ScopedFlushDenormals {
 public:
#if FOURIERCONV_HAS_MXCSR
  static constexpr unsigned kFtz = 0x8000u, kDaz = 0x0040u;  // MXCSR bits 15 and 6
  ScopedFlushDenormals() : bits_(bits()), saved_(_mm_getcsr() & bits_) { _mm_setcsr(_mm_getcsr() | bits_); }
  ~ScopedFlushDenormals() { _mm_setcsr((_mm_getcsr() & ~bits_) | saved_); }

 private:
  // FTZ, and DAZ where MXCSR_MASK (bytes 28-31 of the FXSAVE area; 0 means the default mask
  // 0xFFBF, without DAZ) says the CPU has it.
  static unsigned bits() {
    static const unsigned b = [] {
      alignas(16) unsigned char area[512] = {};
      _fxsave(area);
      unsigned mask = 0;
      std::memcpy(&mask, area + 28, sizeof mask);
      return kFtz | (mask & kDaz);
    }();
    return b;
  }
  unsigned bits_, saved_;
#else
  ScopedFlushDenormals() {}  // user-provided: no unused-variable warning where it does nothing
  ~ScopedFlushDenormals() {}
#endif

 public:
  ScopedFlushDenormals(const ScopedFlushDenormals&) = delete;
  ScopedFlushDenormals& operator=(const ScopedFlushDenormals&) = delete;
};

}  // namespace fourierconv::detail
