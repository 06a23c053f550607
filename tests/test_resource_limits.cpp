// Files that declare huge sizes, in each format, are refused before allocating (issue 14): a
// small file must not make the process ask for more than the memory limit
// (include/fourierconv/memory_limit.hpp). Each case runs under a 1 MiB limit and checks that
// the error is OutOfMemory naming the limit; the CLI's --max-memory and FOURIERCONV_MAX_MEMORY
// do the same from the command line.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <zip.h>
#include <zlib.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fourierconv/error.hpp"
#include "fourierconv/io/idx.hpp"
#include "fourierconv/io/npy.hpp"
#include "fourierconv/io/png.hpp"
#include "fourierconv/memory_limit.hpp"
#include "fourierconv/nn/saving.hpp"
#include "cli_run.hpp"
#include "reference.hpp"

using namespace fourierconv;
namespace fs = std::filesystem;

namespace {

std::string dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string p = ::testing::TempDir() + "/fc_limits_" + (info ? std::string(info->name()) : std::string("global"));
  fs::create_directories(p);
  return p;
}

void write(const std::string& path, const std::vector<unsigned char>& b) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

// Expects f to throw OutOfMemory whose message mentions the memory limit.
template <class F>
void refused(F f, const std::string& what) {
  try {
    f();
    ADD_FAILURE() << what << ": was not refused";
  } catch (const OutOfMemory& e) {
    EXPECT_NE(std::string(e.what()).find("memory limit"), std::string::npos) << what << ": " << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": refused, but not as OutOfMemory: " << e.what();
  }
}

std::vector<unsigned char> npy_header_only(const std::string& shape) {
  std::string h = "{'descr': '<f8', 'fortran_order': False, 'shape': " + shape + ", }";
  h.append((64 - (10 + h.size() + 1) % 64) % 64, ' ');
  h += '\n';
  std::vector<unsigned char> b = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<unsigned char>(h.size() & 0xff),
                                  static_cast<unsigned char>(h.size() >> 8)};
  b.insert(b.end(), h.begin(), h.end());
  return b;
}

void put32(std::vector<unsigned char>& b, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(v >> s));
}

void png_chunk(std::vector<unsigned char>& b, const char* type, const std::vector<unsigned char>& data) {
  put32(b, std::uint32_t(data.size()));
  std::vector<unsigned char> td(type, type + 4);
  td.insert(td.end(), data.begin(), data.end());
  b.insert(b.end(), td.begin(), td.end());
  put32(b, std::uint32_t(crc32(0, td.data(), uInt(td.size()))));
}

}  // namespace

TEST(ResourceLimits, NpyHeaderDeclaringMoreThanTheLimit) {
  fctest::LimitGuard limit(1 << 20);
  auto b = npy_header_only("(4096, 4096)");  // 128 MiB of float64, in a 128-byte file
  refused([&] { io::parse_npy_array(b, "npy"); }, "npy");
}

TEST(ResourceLimits, PngDeclaringAHugeImage) {
  fctest::LimitGuard limit(1 << 20);
  std::vector<unsigned char> b = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::vector<unsigned char> ihdr;
  put32(ihdr, 30000);  // 30,000 x 30,000 gray: 900 MB of pixels, 3.6 GB as float32
  put32(ihdr, 30000);
  ihdr.insert(ihdr.end(), {8, 0, 0, 0, 0});
  png_chunk(b, "IHDR", ihdr);
  std::vector<unsigned char> raw(30001, 0), z(compressBound(uLong(raw.size())));
  uLongf zn = uLongf(z.size());
  compress(z.data(), &zn, raw.data(), uLong(raw.size()));
  z.resize(zn);
  png_chunk(b, "IDAT", z);
  png_chunk(b, "IEND", {});
  refused([&] { io::decode_png(b, "png"); }, "png");
}

TEST(ResourceLimits, GzipBombIdx) {
  fctest::LimitGuard limit(1 << 20);
  const std::string path = dir() + "/bomb-idx1-ubyte.gz";
  gzFile g = gzopen(path.c_str(), "wb9");
  std::vector<unsigned char> head = {0, 0, 8, 1};
  put32(head, 8u << 20);
  gzwrite(g, head.data(), unsigned(head.size()));
  std::vector<unsigned char> zeros(1 << 20, 0);
  for (int i = 0; i < 8; ++i) gzwrite(g, zeros.data(), unsigned(zeros.size()));  // 8 MiB in ~8 KB
  gzclose(g);
  EXPECT_LT(fs::file_size(path), 64u << 10);
  refused([&] { io::read_idx(path); }, "idx.gz");
}

TEST(ResourceLimits, KerasArchiveMemberDeclaringMoreThanTheLimit) {
  fctest::LimitGuard limit(1 << 20);
  const std::string path = dir() + "/bomb.keras";
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  ASSERT_NE(z, nullptr);
  static const std::string config = R"({"class_name": "Sequential", "config": {"layers": []}})";
  static std::vector<unsigned char> weights(4u << 20, 0);  // 4 MiB of zeros, deflated to a few KB
  zip_file_add(z, "config.json", zip_source_buffer(z, config.data(), config.size(), 0), ZIP_FL_OVERWRITE);
  zip_file_add(z, "model.weights.h5", zip_source_buffer(z, weights.data(), weights.size(), 0), ZIP_FL_OVERWRITE);
  ASSERT_EQ(zip_close(z), 0);
  EXPECT_LT(fs::file_size(path), 64u << 10);
  refused([&] { nn::load_model(path); }, ".keras");
}

TEST(ResourceLimits, ConfigDeclaringMoreParametersThanTheLimit) {
  fctest::LimitGuard limit(1 << 20);
  const std::string json = R"({"class_name": "Sequential", "config": {"name": "s", "layers": [
      {"class_name": "InputLayer", "config": {"batch_shape": [null, 4096]}},
      {"class_name": "Dense", "config": {"name": "dense", "units": 4096}}]}})";  // 64 MiB of weights
  try {
    nn::model_from_json(json);
    ADD_FAILURE() << "model_from_json built 16.8 M parameters under a 1 MiB limit";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("memory limit"), std::string::npos) << e.what();
  }
}

TEST(ResourceLimits, FileLargerThanTheLimit) {
  const std::string path = dir() + "/big.npy";
  std::vector<unsigned char> b = npy_header_only("(262144,)");  // 2 MiB of float64, really there
  b.resize(b.size() + (2u << 20), 0);
  write(path, b);
  fctest::LimitGuard limit(1 << 20);
  refused([&] { io::read_npy_array(path); }, "read_file");
}

TEST(ResourceLimits, CommandLineOptionAndEnvironmentVariable) {
  const std::string path = dir() + "/big.npy";
  std::vector<unsigned char> b = npy_header_only("(512, 512)");  // 2 MiB of float64
  b.resize(b.size() + (2u << 20), 0);
  write(path, b);
  auto run = [](const std::string& args, std::string* out) {
    const fctest::CliResult r = fctest::run(args);
    *out += r.output;
    return r.status;
  };
  const std::string out_path = dir() + "/out.npy";
  std::string out;
  EXPECT_EQ(run("--max-memory 1M convolve " + path + " " + path + " " + out_path, &out), 1) << out;
  EXPECT_NE(out.find("memory limit"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(out_path));
  out.clear();
  EXPECT_EQ(run("convolve " + path + " " + path + " " + out_path + " --max-memory 512K", &out), 1) << out;
  EXPECT_NE(out.find("memory limit"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(run("--max-memory lots summary --model seed-cnn", &out), 1) << out;
  EXPECT_NE(out.find("--max-memory"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(run("summary --model seed-cnn", &out), 0) << out;  // no limit given: the available memory
  out.clear();
  EXPECT_EQ(::setenv("FOURIERCONV_MAX_MEMORY", "1M", 1), 0);
  const int st = run("convolve " + path + " " + path + " " + out_path, &out);
  ::unsetenv("FOURIERCONV_MAX_MEMORY");
  EXPECT_EQ(st, 1) << out;
  EXPECT_NE(out.find("memory limit"), std::string::npos) << out;
}
