// The one exception type of fourierconv.
//
// Every public function that receives bad input throws fourierconv::Error with a message
// that names the argument, what was expected and what came, e.g.
//   "convolve: kernel must have rank 1 or 2, got rank 3 (shape (3, 3, 2))".
// The library never aborts on bad input; FC_ASSERT is for internal invariants only and
// compiles away in release builds.
#pragma once

#include <cassert>
#include <stdexcept>
#include <string>

namespace fourierconv {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// An allocation the caller's sizes asked for could not be made (the message names the sizes).
// Python gets it as MemoryError, as numpy raises for the same.
class OutOfMemory : public Error {
 public:
  using Error::Error;
};

}  // namespace fourierconv

#define FC_ASSERT(cond) assert(cond)
