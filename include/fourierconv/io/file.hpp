// Whole-file reading and atomic writing.
#pragma once

#include <string>
#include <vector>

namespace fourierconv::io {

// Reads a whole file. Throws Error("<what>: cannot open '<path>': <reason>").
std::vector<unsigned char> read_file(const std::string& path, const std::string& what);

// Writes `bytes` to `path` atomically: a temporary file in the same folder, flushed to disk,
// then renamed over `path`. On any error the temporary is removed and `path` is untouched.
void write_file_atomic(const std::string& path, const std::vector<unsigned char>& bytes, const std::string& what);

// Ends an atomic write whose data is complete in `tmp` (a file in `path`'s folder): flushes it
// to disk (fsync), renames it over `path`, then flushes the folder, so that after a crash or a
// power cut `path` holds either the old file or the whole new one. On error the temporary is
// removed and Error("<what>: cannot write '<path>': <reason>") thrown.
void commit_file(const std::string& tmp, const std::string& path, const std::string& what);

}  // namespace fourierconv::io
