// The memory pool (include/fourierconv/memory_limit.hpp): large freed blocks are reused by the
// next request of their size class, the pool never holds more than its limit (the blocks freed
// longest ago leave first), a limit of 0 turns it off, and Tensors and Arrays go through it.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

#include "fourierconv/array.hpp"
#include "fourierconv/filters.hpp"
#include "fourierconv/memory_limit.hpp"
#include "fourierconv/tensor.hpp"

using namespace fourierconv;

namespace {

constexpr std::size_t kMiB = std::size_t(1) << 20;

struct PoolReset {
  PoolReset() {
    set_memory_pool_limit(64 * kMiB);
    empty_memory_pool();
  }
  ~PoolReset() {
    reset_memory_pool_limit();
    empty_memory_pool();
  }
};

TEST(MemoryPool, AFreedLargeBlockServesTheNextRequestOfItsClass) {
  PoolReset reset;
  const std::size_t asked = 8 * kMiB + 100 * 1024;  // class 9 MiB (8 MiB .. 9 MiB, 1 MiB steps)
  void* p = allocate_aligned(asked);
  std::memset(p, 1, asked);
  free_aligned(p, asked);
  EXPECT_EQ(memory_pool_bytes(), 9 * kMiB);
  // Another request in the same class gets the same block back.
  void* q = allocate_aligned(8 * kMiB + 500 * 1024);
  EXPECT_EQ(q, p);
  EXPECT_EQ(memory_pool_bytes(), 0u);
  free_aligned(q, 8 * kMiB + 500 * 1024);
  // Another class gets a new block; the pooled one stays.
  void* r = allocate_aligned(12 * kMiB);
  EXPECT_NE(r, p);
  EXPECT_EQ(memory_pool_bytes(), 9 * kMiB);
  free_aligned(r, 12 * kMiB);
}

// The FFT engines' large work buffers (above the 4 MiB kept per thread: the plane transforms'
// work for a 1024^2 grid is ~5 MB) go back to the pool with their size, so the next call finds
// them; given back with no size, they went to the kernel, and every call's work was fresh pages.
TEST(MemoryPool, TheFftEnginesWorkBuffersComeBackToThePool) {
  PoolReset reset;
  Tensor x({1024, 1024}, 0.5f);
  const Filter f = make_filter("gaussian_lowpass:0.05");
  (void)apply_filter(x, f);  // the first call makes and keeps the response's kernel
  empty_memory_pool();
  const Tensor y = apply_filter(x, f);  // y alive: what the pool holds is the call's work
  EXPECT_GE(memory_pool_bytes(), 4 * kMiB);
  set_memory_pool_limit(0);
  empty_memory_pool();
  const Tensor y2 = apply_filter(x, f);
  EXPECT_EQ(memory_pool_bytes(), 0u);
  EXPECT_EQ(std::memcmp(y.data(), y2.data(), y.size() * sizeof(float)), 0);
}

TEST(MemoryPool, SmallBlocksAreNotPooled) {
  PoolReset reset;
  void* p = allocate_aligned(kPooledBlockBytes - 64);
  free_aligned(p, kPooledBlockBytes - 64);
  EXPECT_EQ(memory_pool_bytes(), 0u);
}

TEST(MemoryPool, TheLimitEvictsTheOldestBlocksAndZeroTurnsPoolingOff) {
  PoolReset reset;
  set_memory_pool_limit(20 * kMiB);
  std::vector<void*> blocks;
  for (int i = 0; i < 3; ++i) blocks.push_back(allocate_aligned(8 * kMiB));
  for (void* b : blocks) free_aligned(b, 8 * kMiB);
  EXPECT_EQ(memory_pool_bytes(), 16 * kMiB);  // two of the three fit under 20 MiB
  // The first freed left: the next two requests get the second and third blocks.
  void* x = allocate_aligned(8 * kMiB);
  void* y = allocate_aligned(8 * kMiB);
  EXPECT_TRUE((x == blocks[1] && y == blocks[2]) || (x == blocks[2] && y == blocks[1]));
  free_aligned(x, 8 * kMiB);
  free_aligned(y, 8 * kMiB);
  set_memory_pool_limit(10 * kMiB);  // lowering the limit frees at once
  EXPECT_EQ(memory_pool_bytes(), 8 * kMiB);
  set_memory_pool_limit(0);
  EXPECT_EQ(memory_pool_bytes(), 0u);
  void* z = allocate_aligned(8 * kMiB);
  free_aligned(z, 8 * kMiB);
  EXPECT_EQ(memory_pool_bytes(), 0u);
}

TEST(MemoryPool, TensorsAndArraysReuseTheirBlocks) {
  PoolReset reset;
  const float* first;
  {
    Tensor t({1024, 1024, 3});
    first = t.data();
  }
  EXPECT_GE(memory_pool_bytes(), 12 * kMiB);
  Tensor again({1024, 1024, 3});
  EXPECT_EQ(again.data(), first);
  for (float v : again) ASSERT_EQ(v, 0.0f);  // a new Tensor is zero, pooled block or not
  {
    Array a(DType::Float64, {1024, 1024});
    first = static_cast<const float*>(a.data());
  }
  Array b(DType::Float64, {1024, 1024});
  EXPECT_EQ(static_cast<const float*>(b.data()), first);
  for (std::size_t i = 0; i < b.size(); ++i) ASSERT_EQ(b.data_as<double>()[i], 0.0);
}

TEST(MemoryPool, ThreadsAllocatingAndFreeingTogether) {
  PoolReset reset;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t] {
      for (int i = 0; i < 200; ++i) {
        const std::size_t bytes = (2 + (t + i) % 5) * kMiB;
        auto* p = static_cast<unsigned char*>(allocate_aligned(bytes));
        p[0] = p[bytes - 1] = static_cast<unsigned char>(i);
        free_aligned(p, bytes);
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_LE(memory_pool_bytes(), 64 * kMiB);
}

}  // namespace

// Of several pooled blocks of a class, the one freed last comes back first (the likeliest
// still in cache); under AddressSanitizer, a write into a block's slack past the bytes asked
// for is reported as an overrun would be without the pool.
TEST(MemoryPool, TheBlockFreedLastComesBackFirstAndItsSlackIsGuarded) {
  PoolReset reset;
  const std::size_t asked = 4 * kMiB + 1000;  // class 4.5 MiB
  void* a = allocate_aligned(asked);
  void* b = allocate_aligned(asked);
  free_aligned(a, asked);
  free_aligned(b, asked);
  void* again = allocate_aligned(asked);
  EXPECT_EQ(again, b);
#if defined(__SANITIZE_ADDRESS__)
  EXPECT_DEATH(static_cast<volatile char*>(again)[asked + 64] = 1, "use-after-poison");
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  EXPECT_DEATH(static_cast<volatile char*>(again)[asked + 64] = 1, "use-after-poison");
#endif
#endif
  free_aligned(again, asked);
}
