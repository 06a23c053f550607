// Which instruction-set level the library's hot loops run at on this CPU.
//
// The library is compiled for baseline x86-64; its hot loops are also compiled for
// x86-64-v3 (AVX2 + FMA) and x86-64-v4 (AVX-512), and the best the CPU supports is chosen
// when the library is loaded (GCC/Clang function multi-versioning; src/simd.hpp). FFTW
// chooses its own SIMD code the same way.
#pragma once

#include <string>

namespace fourierconv {

// "x86-64-v4", "x86-64-v3" or "baseline": the clone the loader picked on this CPU, by the
// same test the dispatch uses. "native" in a FOURIERCONV_NATIVE build (one version, compiled
// for the build machine), "portable" on other architectures.
std::string cpu_dispatch_level();

}  // namespace fourierconv
