#include "fourierconv/cpu.hpp"

namespace fourierconv {

std::string cpu_dispatch_level() {
#if defined(FOURIERCONV_NATIVE_BUILD)
  return "native";
#elif defined(__clang__)
  return "baseline";  // clang builds compile one baseline version (src/simd.hpp)
#elif defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("x86-64-v4")) return "x86-64-v4";
  if (__builtin_cpu_supports("x86-64-v3")) return "x86-64-v3";
  return "baseline";
#else
  return "portable";
#endif
}

}  // namespace fourierconv
