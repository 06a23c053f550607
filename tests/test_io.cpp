// .npy and PNG: round trips, numpy-written files, and corrupt input.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>

#include "fourierconv/error.hpp"
#include "fourierconv/io/file.hpp"
#include "fourierconv/io/npy.hpp"
#include "fourierconv/io/png.hpp"
#include "reference.hpp"

using namespace fourierconv;

namespace {

const std::string kDir = std::string(FOURIERCONV_SOURCE_DIR) + "/tests/fixtures/";
std::string tmp(const std::string& name) { return ::testing::TempDir() + "/" + name; }

TEST(Npy, ReadsNumpyFiles) {
  Tensor a = io::read_npy(kDir + "npy_float32.npy");
  ASSERT_EQ(a.shape(), (Shape{3, 4}));
  for (int i = 0; i < 12; ++i) EXPECT_FLOAT_EQ(a[i], float(i) / 7);
  Tensor b = io::read_npy(kDir + "npy_float64.npy");
  ASSERT_EQ(b.shape(), (Shape{2, 5}));
  EXPECT_FLOAT_EQ(b[0], -1);
  EXPECT_FLOAT_EQ(b[9], 1);
  Tensor c = io::read_npy(kDir + "npy_uint8.npy");
  ASSERT_EQ(c.shape(), (Shape{1, 2, 3}));
  EXPECT_FLOAT_EQ(c[5], 5);
}

TEST(Npy, WritesExactlyWhatNumpyWrites) {
  // numpy.save of np.arange(12, dtype=float32).reshape(3, 4) / 7 gives this file byte for byte.
  Tensor a = io::read_npy(kDir + "npy_float32.npy");
  auto ours = io::encode_npy(a);
  auto theirs = io::read_file(kDir + "npy_float32.npy", "test");
  EXPECT_EQ(ours, theirs);
  for (Shape s : {Shape{5}, Shape{2, 3, 4}, Shape{}, Shape{1, 1, 1, 1}}) {
    Tensor t = fctest::random_tensor(s, 3);
    io::write_npy(tmp("rt.npy"), t);
    Tensor u = io::read_npy(tmp("rt.npy"));
    EXPECT_EQ(u.shape(), t.shape());
    for (std::size_t i = 0; i < t.size(); ++i) EXPECT_EQ(u[i], t[i]);
    EXPECT_EQ(io::encode_npy(t).size() % 64, (t.size() * 4) % 64);  // header padded to 64
  }
}

TEST(Npy, CorruptFilesGiveClearErrors) {
  auto good = io::encode_npy(fctest::random_tensor({4, 4}, 1));
  auto expect_error = [](std::vector<unsigned char> b, const std::string& needle) {
    try {
      io::parse_npy(b);
      ADD_FAILURE() << "no error for " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error({}, "bad magic");
  expect_error({good.begin(), good.begin() + 40}, "truncated");
  expect_error({good.begin(), good.end() - 1}, "truncated data");
  auto d = good;
  std::string h(d.begin() + 10, d.begin() + 74);
  auto pos = h.find("<f4");
  d[10 + pos + 1] = 'c';  // '<c4': complex
  expect_error(d, "unsupported dtype");
  auto f = good;
  pos = h.find("False");
  std::copy_n("Nope ", 5, f.begin() + 10 + pos);
  expect_error(f, "fortran_order");
  auto big = good;
  pos = h.find("(4, 4)");
  std::copy_n("(9,99)", 6, big.begin() + 10 + pos);
  expect_error(big, "truncated");
  EXPECT_THROW(io::read_npy(tmp("does-not-exist.npy")), Error);
}

// Headers as any writer may spell the dict (numpy.lib.format reads them with
// ast.literal_eval): keys in any order, double quotes, spaces around ':', no trailing comma.
TEST(Npy, HeaderSpellings) {
  auto file = [](const std::string& dict) {
    std::string h = dict;
    while ((10 + h.size() + 1) % 64) h += ' ';
    h += '\n';
    std::vector<unsigned char> b = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                    static_cast<unsigned char>(h.size() & 0xff), static_cast<unsigned char>(h.size() >> 8)};
    b.insert(b.end(), h.begin(), h.end());
    for (float v : {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f}) {
      unsigned char bytes[4];
      std::memcpy(bytes, &v, 4);
      b.insert(b.end(), bytes, bytes + 4);
    }
    return b;
  };
  for (const std::string dict : {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                                 "{\"shape\" : (2,3), \"descr\" : \"<f4\", \"fortran_order\" : False}",
                                 "{'fortran_order':False,'shape':(2, 3),'descr':'<f4'}"}) {
    Tensor t = io::parse_npy(file(dict));
    ASSERT_EQ(t.shape(), (Shape{2, 3})) << dict;
    EXPECT_EQ(t[5], 6.0f) << dict;
  }
  // Fortran order: the same six numbers, column-major.
  Tensor f = io::parse_npy(file("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }"));
  EXPECT_EQ(f[1], 3.0f);  // f[0][1] is the third number stored
  // A key spelled inside another value is not the key; a key without a value is missing.
  EXPECT_THROW(io::parse_npy(file("{'descr': 'shape', 'fortran_order': False}")), Error);
  EXPECT_THROW(io::parse_npy(file("{'descr': '<f4', 'fortran_order': False, 'shape': }")), Error);
  EXPECT_THROW(io::parse_npy(file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3}")), Error);
  // What numpy reads differently (a duplicate key: the last wins there; a comment) or refuses
  // (another key, (6) which is an int, empty dimensions) is refused, never read another way.
  for (const std::string bad : {"{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'descr': '<i4'}",
                                "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'shape': (1,)}",
                                "{ # 'descr': '<i4',\n'descr': '<f4', 'fortran_order': False, 'shape': (6,)}",
                                "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'extra': 1}",
                                "{'descr': '<f4', 'fortran_order': False, 'shape': (6)}",
                                "{'descr': '<f4', 'fortran_order': False, 'shape': (6,,)}",
                                "{'descr': '<f4', 'fortran_order': False, 'shape': (, 6)}",
                                "{\"descr': '<f4', 'fortran_order': False, 'shape': (6,)}"}) {
    EXPECT_THROW(io::parse_npy(file(bad)), Error) << bad;
  }
  EXPECT_EQ(io::parse_npy(file("{'descr': '<f4', 'fortran_order': False, 'shape': (), }")).size(), 1u);  // 0-d
}

TEST(Png, RoundTripsEveryChannelCountAndDepth) {
  for (std::size_t c : {1, 2, 3, 4})
    for (int bits : {8, 16}) {
      Tensor t = fctest::random_tensor({5, 7, c}, unsigned(c * 10 + bits), 0, 1);
      io::write_png(tmp("rt.png"), t, bits);
      Tensor u = io::read_png(tmp("rt.png"));
      ASSERT_EQ(u.shape(), t.shape());
      double q = bits == 8 ? 0.5 / 255 : 0.5 / 65535;
      for (std::size_t i = 0; i < t.size(); ++i) EXPECT_NEAR(u[i], t[i], q + 1e-7);
    }
}

TEST(Png, ScalingClipAndNormalize) {
  Tensor t({1, 3}, {-1.0f, 0.5f, 3.0f});
  Tensor clip = io::decode_png(io::encode_png(t, 8, io::PngScaling::Clip));
  EXPECT_FLOAT_EQ(clip[0], 0);
  EXPECT_FLOAT_EQ(clip[2], 1);
  Tensor norm = io::decode_png(io::encode_png(t, 16, io::PngScaling::Normalize));
  EXPECT_NEAR(norm[1], 0.375, 1e-4);
}

TEST(Png, CorruptFilesGiveClearErrors) {
  auto good = io::encode_png(fctest::random_tensor({20, 20}, 1, 0, 1));
  EXPECT_THROW(io::decode_png({}), Error);
  EXPECT_THROW(io::decode_png({good.begin(), good.begin() + good.size() / 2}), Error);
  auto bad = good;
  for (std::size_t i = 40; i < bad.size() - 20; i += 7) bad[i] ^= 0x5a;
  EXPECT_THROW(io::decode_png(bad), Error);
  EXPECT_THROW(io::read_png(tmp("nope.png")), Error);
  EXPECT_THROW(io::encode_png(Tensor({2, 2, 5})), Error);
  EXPECT_THROW(io::encode_png(Tensor({2, 2}), 12), Error);
}

TEST(File, AtomicWriteLeavesNoPartialFile) {
  EXPECT_THROW(io::write_file_atomic("/nonexistent-dir/x.npy", {1, 2, 3}, "test"), Error);
  std::string p = tmp("keep.bin");
  io::write_file_atomic(p, {1, 2, 3}, "test");
  EXPECT_EQ(io::read_file(p, "test"), (std::vector<unsigned char>{1, 2, 3}));
}

}  // namespace
