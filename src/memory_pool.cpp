// The memory pool: large freed buffers kept for reuse (declared in memory_limit.hpp).
//
// glibc returns every block past its mmap threshold (at most 32 MiB) to the kernel when it is
// freed, so a network's activations were fresh mappings on every call: the kernel zeroed each
// page on first touch, a third of ResNet50's batch-32 inference (perf: clear_page_erms under
// the page faults of the output's memset). Blocks are pooled by size class, eight classes per
// octave (a block is at most 12.5% larger than asked), so a size freed by one call is found
// again by the next.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>

#include "fourierconv/memory_limit.hpp"

// Under AddressSanitizer a pooled block, and the slack past what its user asked for, are
// poisoned: a use after free or an overrun into the slack is reported as without the pool.
#if defined(__SANITIZE_ADDRESS__)
#define FOURIERCONV_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FOURIERCONV_ASAN 1
#endif
#endif
#ifdef FOURIERCONV_ASAN
#include <sanitizer/asan_interface.h>
#define FOURIERCONV_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define FOURIERCONV_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define FOURIERCONV_POISON(p, n) ((void)(p), (void)(n))
#define FOURIERCONV_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace fourierconv {
namespace {

constexpr std::size_t kAlignment = 64;
constexpr std::size_t kUnset = SIZE_MAX;

struct Cached {
  void* p;
  std::uint64_t freed;  // the order in which blocks were freed: the oldest leaves first
};

struct Pool {
  std::mutex mutex;
  std::multimap<std::size_t, Cached> blocks;  // size class -> free blocks of that class
  std::size_t bytes = 0;
  std::uint64_t clock = 0;
};

Pool& pool() {
  static Pool* p = new Pool;  // never destroyed: buffers may be freed during static destruction
  return *p;
}

std::atomic<std::size_t> g_pool_limit{kUnset};

// The block size for a request: 64-byte multiples below kPooledBlockBytes; above, rounded up
// to one of eight classes per octave (2^e, 2^e * 9/8, ..., 2^e * 15/8).
std::size_t block_size(std::size_t bytes) {
  if (bytes < kPooledBlockBytes) return std::max<std::size_t>(kAlignment, (bytes + kAlignment - 1) / kAlignment * kAlignment);
  const int e = 63 - __builtin_clzll(bytes);
  const std::size_t step = std::size_t(1) << (e - 3);
  if (bytes > SIZE_MAX - step) throw std::bad_alloc();
  return (bytes + step - 1) / step * step;
}

// Moves blocks out of the pool (lock held) until it holds at most `limit` bytes: the blocks
// freed longest ago leave first. They are released by the caller after the lock is dropped.
void evict_past(Pool& pl, std::size_t limit, std::multimap<std::size_t, Cached>& evicted) {
  while (pl.bytes > limit && !pl.blocks.empty()) {
    auto oldest = std::min_element(pl.blocks.begin(), pl.blocks.end(),
                                   [](const auto& a, const auto& b) { return a.second.freed < b.second.freed; });
    pl.bytes -= oldest->first;
    evicted.insert(pl.blocks.extract(oldest));
  }
}

void release_all(std::multimap<std::size_t, Cached>& blocks) {
  for (auto& [size, c] : blocks) {
    FOURIERCONV_UNPOISON(c.p, size);
    std::free(c.p);
  }
  blocks.clear();
}

}  // namespace

std::size_t memory_pool_limit() {
  const std::size_t set = g_pool_limit.load(std::memory_order_relaxed);
  return set == kUnset ? memory_limit() / 4 : set;
}

void set_memory_pool_limit(std::size_t bytes) {
  g_pool_limit.store(bytes, std::memory_order_relaxed);
  Pool& pl = pool();
  std::multimap<std::size_t, Cached> evicted;
  {
    std::lock_guard<std::mutex> lock(pl.mutex);
    evict_past(pl, bytes, evicted);
  }
  release_all(evicted);
}

void reset_memory_pool_limit() { g_pool_limit.store(kUnset, std::memory_order_relaxed); }

std::size_t memory_pool_bytes() {
  Pool& pl = pool();
  std::lock_guard<std::mutex> lock(pl.mutex);
  return pl.bytes;
}

void empty_memory_pool() {
  Pool& pl = pool();
  std::multimap<std::size_t, Cached> all;
  {
    std::lock_guard<std::mutex> lock(pl.mutex);
    all.swap(pl.blocks);
    pl.bytes = 0;
  }
  release_all(all);
}

void* allocate_aligned(std::size_t bytes) {
  const std::size_t size = block_size(bytes);
  void* p = nullptr;
  if (size >= kPooledBlockBytes) {
    Pool& pl = pool();
    std::lock_guard<std::mutex> lock(pl.mutex);
    auto [first, last] = pl.blocks.equal_range(size);
    if (first != last) {  // the block of this class freed last: the likeliest still in cache
      const auto it = std::prev(last);
      p = it->second.p;
      pl.blocks.erase(it);
      pl.bytes -= size;
      FOURIERCONV_UNPOISON(p, size);
    }
  }
  if (!p) {
    p = std::aligned_alloc(kAlignment, size);
    if (!p) throw std::bad_alloc();
    advise_huge_pages(p, size);
  }
  FOURIERCONV_POISON(static_cast<char*>(p) + bytes, size - bytes);
  return p;
}

void free_aligned(void* p, std::size_t bytes) noexcept {
  if (!p) return;
  std::size_t size = 0, limit = 0;
  try {
    size = block_size(bytes);
    limit = memory_pool_limit();  // may parse FOURIERCONV_MAX_MEMORY, which may be malformed
  } catch (...) {
  }
  if (size < kPooledBlockBytes || size > limit) return std::free(p);
  Pool& pl = pool();
  std::multimap<std::size_t, Cached> evicted;
  bool pooled = false;
  {
    std::lock_guard<std::mutex> lock(pl.mutex);
    // Read again under the lock: a set_memory_pool_limit(0) that emptied the pool keeps it empty.
    if (const std::size_t now = g_pool_limit.load(std::memory_order_relaxed); now != kUnset) limit = now;
    if (size <= limit) {
      evict_past(pl, limit - size, evicted);  // room for this block
      try {
        pl.blocks.emplace(size, Cached{p, ++pl.clock});
        pl.bytes += size;
        FOURIERCONV_POISON(p, size);
        pooled = true;
      } catch (...) {  // no memory for the map's node: the block goes back instead
      }
    }
  }
  if (!pooled) std::free(p);
  release_all(evicted);
}

}  // namespace fourierconv
