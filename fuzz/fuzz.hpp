// Shared pieces of the fuzz harnesses (fuzz/README.md).
//
// Each harness defines LLVMFuzzerTestOneInput. Built with clang's -fsanitize=fuzzer it is a
// libFuzzer target (make fuzz, make fuzz-smoke); built with replay.cpp it is a plain program
// that runs the harness on the files it is given, which is how the committed seeds and every
// finding run as regression tests in `make test` and under the sanitizers.
//
// The oracle: bad input may only raise fourierconv::Error. Any other exception, a crash, a
// sanitizer report, a leak or a hang is a finding.
#pragma once

#include <hdf5.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fourierconv/error.hpp"
#include "fourierconv/memory_limit.hpp"

namespace fuzz {

// Every harness runs under a 256 MiB memory limit: a declared size past it must be refused
// before allocating (libFuzzer's own -rss_limit_mb is 2 GiB).
inline void init() {
  static bool done = [] {
    fourierconv::set_memory_limit(std::size_t(256) << 20);
    return true;
  }();
  (void)done;
}

// Writes the bytes to a file in this process's scratch directory, named with `suffix` (the
// loaders choose the format by the file name); the same path each call.
inline std::string write_temp(const uint8_t* data, size_t size, const std::string& suffix) {
  static const std::string dir = [] {
    const char* t = std::getenv("TMPDIR");
    std::string d = std::string(t && *t ? t : "/tmp") + "/fourierconv-fuzz-" + std::to_string(::getpid());
    ::mkdir(d.c_str(), 0700);
    return d;
  }();
  const std::string path = dir + "/input" + suffix;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

// After every input no HDF5 identifier may be left open that was not open before it: each file,
// group, dataset, attribute, committed type (H5Fget_obj_count), dataspace and property list
// (H5Inmembers) fourierconv opened is closed again on every path, error paths included.
struct Hdf5Ids {
  ssize_t objects = 0;
  hsize_t spaces = 0, plists = 0;
  static Hdf5Ids now() {
    Hdf5Ids c;
    c.objects = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
    H5Inmembers(H5I_DATASPACE, &c.spaces);
    H5Inmembers(H5I_GENPROP_LST, &c.plists);
    return c;
  }
};
inline void expect_hdf5_closed(const Hdf5Ids& before) {
  const Hdf5Ids after = Hdf5Ids::now();
  if (after.objects > before.objects || after.spaces > before.spaces || after.plists > before.plists) {
    std::fprintf(stderr, "fuzz: HDF5 identifiers left open after the input: objects %zd -> %zd, dataspaces %llu -> %llu, property lists %llu -> %llu\n",
                 before.objects, after.objects, (unsigned long long)before.spaces, (unsigned long long)after.spaces,
                 (unsigned long long)before.plists, (unsigned long long)after.plists);
    std::abort();
  }
}

// With FUZZ_PRINT_ERRORS set, the error a harness caught goes to stderr: fuzz/triage reads it
// to tell a failed HDF5 read (whose partial results libhdf5 leaks) from a successful one.
inline void print_error(const fourierconv::Error& e) {
  static const bool on = std::getenv("FUZZ_PRINT_ERRORS") != nullptr;
  if (on) std::fprintf(stderr, "fuzz: caught fourierconv::Error: %s\n", e.what());
}

}  // namespace fuzz

// Runs `body`; a fourierconv::Error is the expected answer to bad input and is swallowed,
// anything else propagates (libFuzzer reports an uncaught exception as a crash). Then no
// HDF5 identifier may be open.
#define FUZZ_EXPECT_ONLY_ERRORS(body)                       \
  do {                                                      \
    const fuzz::Hdf5Ids hdf5_before = fuzz::Hdf5Ids::now(); \
    try {                                                   \
      body;                                                 \
    } catch (const fourierconv::Error& e) {                 \
      fuzz::print_error(e);                                 \
    }                                                       \
    fuzz::expect_hdf5_closed(hdf5_before);                  \
  } while (0)
