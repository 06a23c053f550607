#include "fourierconv/io/idx.hpp"

#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "fourierconv/error.hpp"
#include "fourierconv/memory_limit.hpp"

namespace fourierconv::io {
namespace {

constexpr std::size_t kMaxBytes = std::size_t(1) << 31;

std::vector<unsigned char> read_maybe_gzip(const std::string& path) {
  if (!std::filesystem::exists(path)) throw Error("read_idx: cannot open '" + path + "': no such file");
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw Error("read_idx: cannot open '" + path + "'");
  std::vector<unsigned char> data;
  unsigned char buf[1 << 16];
  for (;;) {
    int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      int err;
      std::string msg = gzerror(f, &err);
      gzclose(f);
      throw Error("read_idx: '" + path + "': gzip error: " + msg);
    }
    if (n == 0) break;
    if (data.size() + std::size_t(n) > memory_limit()) {  // a gzip bomb stops here
      gzclose(f);
      check_allocation(data.size() + std::size_t(n), "read_idx: '" + path + "' decompressed");
    }
    data.insert(data.end(), buf, buf + n);
    if (data.size() > kMaxBytes) {
      gzclose(f);
      throw Error("read_idx: '" + path + "' is larger than 2 GiB");
    }
  }
  int err = Z_OK;
  const char* msg = gzerror(f, &err);
  std::string m = msg ? msg : "";
  gzclose(f);
  if (err != Z_OK && err != Z_STREAM_END) throw Error("read_idx: '" + path + "': gzip error: " + m);
  return data;
}

}  // namespace

Tensor read_idx(const std::string& path) {
  std::vector<unsigned char> b = read_maybe_gzip(path);
  if (b.size() < 4 || b[0] != 0 || b[1] != 0)
    throw Error("read_idx: '" + path + "' is not an IDX file (bad magic number)");
  if (b[2] != 0x08)
    throw Error("read_idx: '" + path + "': unsupported IDX data type 0x" + std::to_string(int(b[2])) + " (expected 0x08, unsigned bytes)");
  const std::size_t rank = b[3];
  if (rank < 1 || rank > 4) throw Error("read_idx: '" + path + "': expected 1 to 4 dimensions, got " + std::to_string(rank));
  if (b.size() < 4 + 4 * rank) throw Error("read_idx: '" + path + "': truncated header");
  Shape shape;
  std::size_t n = 1;
  for (std::size_t i = 0; i < rank; ++i) {
    const unsigned char* p = b.data() + 4 + 4 * i;
    std::size_t d = (std::size_t(p[0]) << 24) | (std::size_t(p[1]) << 16) | (std::size_t(p[2]) << 8) | p[3];
    if (d != 0 && n > kMaxBytes / d) throw Error("read_idx: '" + path + "': dimensions are too large");
    n *= d;
    shape.push_back(d);
  }
  const std::size_t start = 4 + 4 * rank;
  if (b.size() - start < n)
    throw Error("read_idx: '" + path + "' is truncated: the header " + shape_to_string(shape) + " needs " + std::to_string(n) +
                " bytes of data, the file has " + std::to_string(b.size() - start));
  Tensor t(shape);
  for (std::size_t i = 0; i < n; ++i) t[i] = b[start + i];
  return t;
}

std::string default_fashion_mnist_dir() {
  if (const char* env = std::getenv("FASHION_MNIST_DIR"); env && *env) return env;
  return "/usr/share/datasets/fashion-mnist";
}

Dataset load_mnist_format(const std::string& dir, std::size_t limit) {
  auto find = [&](const std::string& stem) {
    for (std::string name : {stem + ".gz", stem}) {
      std::string p = dir + "/" + name;
      if (std::filesystem::exists(p)) return p;
    }
    throw Error("dataset: '" + dir + "' has no " + stem + "[.gz] (expected an MNIST-format directory)");
  };
  auto images = [&](const std::string& stem) {
    std::string p = find(stem);
    Tensor t = read_idx(p);
    if (t.rank() != 3) throw Error("dataset: '" + p + "' should hold images (N, H, W), got shape " + t.shape_string());
    std::size_t n = limit ? std::min(limit, t.dim(0)) : t.dim(0);
    Tensor x({n, t.dim(1), t.dim(2), 1});
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = t[i] / 255.0f;
    return x;
  };
  auto labels = [&](const std::string& stem, std::size_t n_images) {
    std::string p = find(stem);
    Tensor t = read_idx(p);
    if (t.rank() != 1) throw Error("dataset: '" + p + "' should hold labels (N,), got shape " + t.shape_string());
    std::size_t n = limit ? std::min(limit, t.dim(0)) : t.dim(0);
    if (n != n_images)
      throw Error("dataset: '" + p + "' has " + std::to_string(n) + " labels for " + std::to_string(n_images) + " images");
    Tensor y({n});
    std::copy(t.begin(), t.begin() + static_cast<std::ptrdiff_t>(n), y.begin());
    return y;
  };
  Dataset d;
  d.x_train = images("train-images-idx3-ubyte");
  d.y_train = labels("train-labels-idx1-ubyte", d.x_train.dim(0));
  d.x_test = images("t10k-images-idx3-ubyte");
  d.y_test = labels("t10k-labels-idx1-ubyte", d.x_test.dim(0));
  return d;
}

const char* fashion_mnist_class_name(std::size_t label) {
  static const char* names[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return label < 10 ? names[label] : "?";
}

}  // namespace fourierconv::io
