// Whole-file reading and atomic writing.
#pragma once

#include <string>
#include <vector>

namespace fourierconv::io {

// Reads a whole file. Throws Error("<what>: cannot open '<path>': <reason>").
std::vector<unsigned char> read_file(const std::string& path, const std::string& what);

// Writes `bytes` to `path` atomically: a temporary file in the same folder, flushed, then
// renamed over `path`. On any error the temporary is removed and `path` is untouched.
void write_file_atomic(const std::string& path, const std::vector<unsigned char>& bytes, const std::string& what);

}  // namespace fourierconv::io
