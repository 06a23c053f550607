#include "fourierconv/memory_limit.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <mutex>

#include "fourierconv/error.hpp"

namespace fourierconv {
namespace {

constexpr std::size_t kMaxLimit = std::size_t(1) << 63;

std::atomic<std::size_t> g_limit{0};  // 0: not yet known
std::once_flag g_default_once;
std::size_t g_default = 0;

// MemAvailable from /proc/meminfo (kB), else the physical memory.
std::size_t available_memory() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  std::size_t kb = 0;
  std::string unit;
  while (f >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && page > 0) return std::size_t(pages) * std::size_t(page);
  return kMaxLimit;
}

std::size_t default_limit() {
  std::call_once(g_default_once, [] {
    if (const char* env = std::getenv("FOURIERCONV_MAX_MEMORY"); env && *env)
      g_default = parse_memory_size(env, "FOURIERCONV_MAX_MEMORY");
    else
      g_default = available_memory();
  });
  return g_default;
}

std::string human(std::size_t bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = double(bytes);
  int u = 0;
  while (v >= 1024 && u < 6) v /= 1024, ++u;
  char buf[64];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

}  // namespace

std::size_t memory_limit() {
  std::size_t v = g_limit.load(std::memory_order_relaxed);
  return v ? v : default_limit();
}

void set_memory_limit(std::size_t bytes) {
  if (bytes > kMaxLimit) throw Error("set_memory_limit: expected at most 2^63 bytes, got " + std::to_string(bytes));
  g_limit.store(bytes, std::memory_order_relaxed);
}

std::size_t parse_memory_size(const std::string& text, const std::string& what, bool allow_zero) {
  const std::string bad = what + ": expected a size in bytes with an optional K, M, G or T suffix (e.g. 4G), got '" + text + "'";
  std::size_t i = 0;
  std::size_t value = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    const std::size_t d = std::size_t(text[i] - '0');
    if (value > (kMaxLimit - d) / 10) throw Error(what + ": '" + text + "' is more than 2^63 bytes");
    value = value * 10 + d;
    ++i;
  }
  if (i == 0) throw Error(bad);
  int shift = 0;
  if (i < text.size()) {
    switch (std::toupper(static_cast<unsigned char>(text[i]))) {
      case 'K': shift = 10; break;
      case 'M': shift = 20; break;
      case 'G': shift = 30; break;
      case 'T': shift = 40; break;
      default: throw Error(bad);
    }
    ++i;
    if (i < text.size() && (text[i] == 'B' || text[i] == 'b')) ++i;  // "4GB"
  }
  if (i != text.size()) throw Error(bad);
  if (value > (kMaxLimit >> shift)) throw Error(what + ": '" + text + "' is more than 2^63 bytes");
  value <<= shift;
  if (value == 0 && !allow_zero) throw Error(what + ": the memory limit must be positive, got '" + text + "'");
  return value;
}

void check_allocation(std::size_t bytes, const std::string& what) {
  const std::size_t limit = memory_limit();
  if (bytes > limit)
    throw OutOfMemory(what + ": needs " + human(bytes) + " (" + std::to_string(bytes) + " bytes), more than the memory limit of " +
                      human(limit) + " (FOURIERCONV_MAX_MEMORY or --max-memory change it)");
}

void advise_huge_pages(void* p, std::size_t bytes) noexcept {
#ifdef MADV_HUGEPAGE
  if (bytes < kHugePageAdviceBytes) return;
  constexpr std::uintptr_t kHuge = std::uintptr_t(2) << 20;
  const std::uintptr_t lo = (reinterpret_cast<std::uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const std::uintptr_t hi = (reinterpret_cast<std::uintptr_t>(p) + bytes) & ~(kHuge - 1);
  if (hi > lo) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);  // advice only: errors ignored
#else
  (void)p, (void)bytes;
#endif
}

std::size_t checked_nbytes(const Shape& shape, std::size_t itemsize, const std::string& what) {
  std::size_t n = itemsize;
  bool overflow = false;
  for (auto d : shape) {
    if (d == 0) return 0;
    if (n > std::numeric_limits<std::size_t>::max() / d) overflow = true;
    else n *= d;
  }
  if (overflow)
    throw OutOfMemory(what + ": shape " + shape_to_string(shape) + " has more elements than memory can address");
  // The message only when it is needed: formatting it on every allocation cost a small
  // convolution a tenth of its time (64^2 * 3^2: 0.5 of 5 us).
  if (n > memory_limit()) check_allocation(n, what + " of shape " + shape_to_string(shape));
  return n;
}

std::size_t saturating_bytes(const std::vector<std::size_t>& shape, std::size_t bytes_per_element) {
  long double n = (long double)bytes_per_element;
  for (std::size_t d : shape) n *= (long double)d;
  return n >= (long double)SIZE_MAX ? SIZE_MAX : std::size_t(n);
}

}  // namespace fourierconv
