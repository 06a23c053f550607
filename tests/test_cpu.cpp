// The runtime instruction-set choice: the level reported is one the dispatch can pick, and,
// when a harness states what the CPU is (scripts/test-baseline runs the tests on an emulated
// CPU without AVX with FOURIERCONV_EXPECT_CPU_LEVEL=baseline), it is that one.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "fourierconv/cpu.hpp"

TEST(Cpu, DispatchLevelIsKnownAndAsExpected) {
  const std::string level = fourierconv::cpu_dispatch_level();
  EXPECT_TRUE(level == "x86-64-v4" || level == "x86-64-v3" || level == "baseline" || level == "native" ||
              level == "portable")
      << level;
  if (const char* want = std::getenv("FOURIERCONV_EXPECT_CPU_LEVEL")) EXPECT_EQ(level, want);
}
