// The memory limit: the most bytes one array may ask for.
//
// Files and arguments come from strangers: a 40-byte .npy header, a PNG's IHDR, a gzip
// stream or a model config can declare sizes that would make the process allocate terabytes.
// Every Tensor and Array (and every loader, before it reads a byte of data) asks
// check_allocation() first, so such a request is refused with OutOfMemory, naming the sizes
// and the limit, before anything is allocated; Python receives MemoryError, as numpy raises.
//
// The limit is, in order of precedence:
//   set_memory_limit(bytes)            (the CLI's --max-memory, fourierconv.set_memory_limit)
//   FOURIERCONV_MAX_MEMORY=SIZE        environment variable, read once at first use
//   the memory available when first asked (MemAvailable in /proc/meminfo, else the physical
//   memory, as sysconf reports it)
// SIZE is a byte count with an optional K, M, G or T suffix (powers of 1024): "512M", "4G".
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "fourierconv/tensor.hpp"

namespace fourierconv {

// The current limit in bytes (never 0).
std::size_t memory_limit();

// Sets the limit; 0 restores the default (environment variable, else available memory).
void set_memory_limit(std::size_t bytes);

// "4G" -> 4 GiB. Throws Error naming `what` on anything but digits with an optional K/M/G/T
// suffix, on 0 (unless allow_zero), and on sizes past 2^63 bytes.
std::size_t parse_memory_size(const std::string& text, const std::string& what, bool allow_zero = false);

// Throws OutOfMemory, naming `what`, the bytes asked for and the limit, when bytes exceeds
// memory_limit().
void check_allocation(std::size_t bytes, const std::string& what);
// bytes_per_element times the elements of `shape`, saturating at SIZE_MAX (no wrap-around for
// shapes read from files).
std::size_t saturating_bytes(const std::vector<std::size_t>& shape, std::size_t bytes_per_element);

// The bytes an array of `shape` with `itemsize`-byte elements holds; throws OutOfMemory
// naming `what` and the shape when the count overflows size_t or exceeds the limit.
std::size_t checked_nbytes(const Shape& shape, std::size_t itemsize, const std::string& what);

// Asks the kernel to back [p, p + bytes) with transparent huge pages (madvise MADV_HUGEPAGE on
// its 2 MiB-aligned interior) when bytes >= kHugePageAdviceBytes; a no-op elsewhere, and where
// the kernel declines. Fresh large buffers (an output, a work grid) otherwise take a page fault
// per 4 KiB on first touch: 16,384 for a 64 MiB image, which cost more than a 3x3 filter over
// it. numpy advises its own arrays from the same size (numpy/_core/src/multiarray/alloc.c).
constexpr std::size_t kHugePageAdviceBytes = std::size_t(4) << 20;
void advise_huge_pages(void* p, std::size_t bytes) noexcept;

// The memory pool (src/memory_pool.cpp). Freed buffers of kPooledBlockBytes and more are kept
// for reuse instead of going back to the kernel: glibc unmaps large blocks when they are freed,
// so every call of a network or a large filter met fresh pages, which the kernel zeroes on
// first touch (a third of ResNet50's batch-32 inference). Blocks are kept by size class (eight
// per octave), up to memory_pool_limit() bytes in all; past it, the blocks freed longest ago
// go back first. As ONNX Runtime's arena and PyTorch's CUDA caching allocator keep theirs;
// empty_memory_pool() is torch.cuda.empty_cache()'s counterpart. Thread-safe.
constexpr std::size_t kPooledBlockBytes = std::size_t(1) << 20;
// 64-byte aligned storage of at least `bytes` (its contents unspecified), from the pool where a
// block of its class is free; throws std::bad_alloc. Give it back with free_aligned(p, bytes),
// the same `bytes`.
void* allocate_aligned(std::size_t bytes);
void free_aligned(void* p, std::size_t bytes) noexcept;
// The bytes the pool holds now, free for reuse (not counting blocks in use).
std::size_t memory_pool_bytes();
// The most bytes the pool keeps: set_memory_pool_limit's value, else a quarter of
// memory_limit(). 0 turns pooling off. Lowering it frees the oldest blocks past it at once.
std::size_t memory_pool_limit();
void set_memory_pool_limit(std::size_t bytes);
void reset_memory_pool_limit();  // back to a quarter of memory_limit()
// Returns every pooled block to the system.
void empty_memory_pool();

}  // namespace fourierconv
