#include "fourierconv/io/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "fourierconv/error.hpp"
#include "fourierconv/memory_limit.hpp"

namespace fourierconv::io {

std::vector<unsigned char> read_file(const std::string& path, const std::string& what) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw Error(what + ": cannot open '" + path + "': " + std::strerror(errno));
  std::vector<unsigned char> data;
  // A regular file's size is known before reading; a pipe's is checked as it grows.
  struct stat st;
  if (::fstat(::fileno(f), &st) == 0 && S_ISREG(st.st_mode) && std::size_t(st.st_size) > memory_limit()) {
    std::fclose(f);
    check_allocation(std::size_t(st.st_size), what + ": reading '" + path + "'");
  }
  unsigned char buf[1 << 16];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    if (data.size() + n > memory_limit()) {
      std::fclose(f);
      check_allocation(data.size() + n, what + ": reading '" + path + "'");
    }
    data.insert(data.end(), buf, buf + n);
  }
  bool err = std::ferror(f);
  std::fclose(f);
  if (err) throw Error(what + ": error reading '" + path + "'");
  return data;
}

void write_file_atomic(const std::string& path, const std::vector<unsigned char>& bytes, const std::string& what) {
  std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw Error(what + ": cannot write '" + path + "': " + std::strerror(errno));
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  ok = (std::fflush(f) == 0) && ok;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    int e = errno;
    std::remove(tmp.c_str());
    throw Error(what + ": cannot write '" + path + "': " + std::strerror(e));
  }
  commit_file(tmp, path, what);
}

void commit_file(const std::string& tmp, const std::string& path, const std::string& what) {
  int e = 0;
  const int fd = ::open(tmp.c_str(), O_RDONLY);
  if (fd < 0 || ::fsync(fd) != 0) e = errno;
  if (fd >= 0) ::close(fd);
  if (e == 0 && std::rename(tmp.c_str(), path.c_str()) != 0) e = errno;
  if (e != 0) {
    std::remove(tmp.c_str());
    throw Error(what + ": cannot write '" + path + "': " + std::strerror(e));
  }
  // The rename is durable once the folder's entry is on disk (best effort: some file systems
  // cannot fsync a folder, and the file is already in place).
  const std::string::size_type slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace fourierconv::io
