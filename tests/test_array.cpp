// Arrays of every dtype: numpy's result_type table (a fixture written by numpy), .npy files of
// every dtype in C order, Fortran order and big-endian from numpy, byte-identical writing,
// strided views and the unsafe casts.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "fourierconv/array.hpp"
#include "fourierconv/error.hpp"
#include "fourierconv/io/file.hpp"
#include "fourierconv/io/npy.hpp"

using namespace fourierconv;

namespace {

const std::string kDir = std::string(FOURIERCONV_SOURCE_DIR) + "/tests/fixtures/arrays/";
const char* kNames[] = {"bool",   "int8",    "int16",   "int32",     "int64",     "uint8",     "uint16",
                        "uint32", "uint64", "float32", "float64", "complex64", "complex128"};

TEST(Array, ResultTypeIsNumpys) {
  std::ifstream f(kDir + "result_type.txt");
  std::string a, b, want;
  int n = 0;
  while (f >> a >> b >> want) {
    EXPECT_EQ(to_string(result_type(parse_dtype(a), parse_dtype(b))), want) << a << " with " << b;
    ++n;
  }
  EXPECT_EQ(n, 169);
}

// The fixture's values: base = arange(24).reshape(2, 3, 4) * 7 - 40, cast; complex ones add
// i * base[::-1] / 4; bool is base % 3 == 0.
double expected_real(std::size_t i) { return double(long(i) * 7 - 40); }

TEST(Array, ReadsEveryDtypeInEveryLayoutAndWritesWhatNumpyWrites) {
  for (const char* name : kNames) {
    const DType t = parse_dtype(name);
    for (const char* layout : {"c", "f", "be"}) {
      if (dtype_size(t) == 1 && std::string(layout) == "be") continue;
      SCOPED_TRACE(std::string(name) + " " + layout);
      Array a = io::read_npy_array(kDir + name + "_" + layout + ".npy");
      ASSERT_EQ(a.dtype(), t);
      ASSERT_EQ(a.shape(), (Shape{2, 3, 4}));
      Array d = Array::copy_of(a.view(), DType::Complex128);
      const auto* z = d.data_as<std::complex<double>>();
      for (std::size_t i = 0; i < 24; ++i) {
        double re = expected_real(i);
        if (t == DType::Bool) re = (long(i) * 7 - 40) % 3 == 0;
        else if (t == DType::UInt8) re = double(std::uint8_t(std::int64_t(re)));
        else if (t == DType::UInt16) re = double(std::uint16_t(std::int64_t(re)));
        else if (t == DType::UInt32) re = double(std::uint32_t(std::int64_t(re)));
        else if (t == DType::UInt64) re = double(std::uint64_t(std::int64_t(re)));
        EXPECT_EQ(z[i].real(), re) << i;
      }
      if (is_complex(t)) {
        // base[::-1] reverses the first axis: element (i0, r) pairs with (1 - i0, r).
        for (std::size_t i = 0; i < 24; ++i) EXPECT_EQ(z[i].imag(), expected_real((i + 12) % 24) / 4) << i;
      }
      // Written back: byte-identical to numpy's C-order file.
      if (std::string(layout) == "c")
        EXPECT_EQ(io::encode_npy(a), io::read_file(kDir + name + "_c.npy", "fixture"));
    }
  }
}

TEST(Array, StridedViewsAndCasts) {
  // A 3x4 int32 array viewed transposed and reversed, copied into C order as float64.
  Array a(DType::Int32, {3, 4});
  for (int i = 0; i < 12; ++i) a.data_as<std::int32_t>()[i] = i;
  ArrayView t{DType::Int32, {4, 3}, {1, 4}, a.data()};
  Array c = Array::copy_of(t, DType::Float64);
  EXPECT_EQ(c.data_as<double>()[1], 4.0);  // t[0][1] = a[1][0]
  EXPECT_EQ(c.data_as<double>()[3], 1.0);  // t[1][0] = a[0][1]
  const std::int32_t* last = a.data_as<std::int32_t>() + 11;
  ArrayView r{DType::Int32, {12}, {-1}, last};
  EXPECT_EQ(Array::copy_of(r).data_as<std::int32_t>()[0], 11);
  ArrayView b{DType::Int32, {2, 4}, {0, 1}, a.data()};  // a broadcast row
  EXPECT_EQ(Array::copy_of(b).data_as<std::int32_t>()[5], 1);
  // numpy's unsafe casts: float to int truncates, complex to real keeps the real part.
  EXPECT_EQ((convert_element<std::int16_t>(-2.7)), -2);
  EXPECT_EQ((convert_element<float>(std::complex<double>(1.5, 9))), 1.5f);
  EXPECT_EQ((convert_element<bool>(0.25f)), true);
  EXPECT_EQ((convert_element<std::uint8_t>(std::int32_t(300))), 44);
}

TEST(Array, BadInputIsAClearError) {
  EXPECT_THROW(parse_dtype("float16"), Error);
  auto good = io::encode_npy(Array(DType::Int16, {3}));
  auto bad = good;
  std::string h(bad.begin() + 10, bad.begin() + 40);
  bad[10 + h.find("<i2") + 1] = 'm';  // timedelta
  try {
    io::parse_npy_array(bad);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unsupported dtype '<m2'"), std::string::npos) << e.what();
  }
  Array c(DType::Complex64, {2});
  EXPECT_THROW(io::parse_npy(io::encode_npy(c)), Error);  // no silent loss of imaginary parts
}

// all_finite / check_finite: one NaN, Inf or -Inf anywhere (every position of sizes around the
// vector widths, so the vectorized body and the scalar tail both see it) is found; the largest
// finite float, denormals and -0.0 are finite.
TEST(Tensor, AllFiniteFindsEveryNanAndInf) {
  const float bad[] = {std::nanf(""), -std::nanf(""), INFINITY, -INFINITY};
  for (std::size_t n : {1, 3, 4, 7, 8, 15, 16, 17, 31, 33, 64, 65}) {
    Tensor t({n});
    for (std::size_t i = 0; i < n; ++i) t[i] = i % 3 == 0 ? 3.4028235e38f : i % 3 == 1 ? -1e-45f : -0.0f;
    EXPECT_TRUE(all_finite(t)) << n;
    EXPECT_NO_THROW(check_finite(t, "t"));
    for (std::size_t at = 0; at < n; ++at)
      for (float b : bad) {
        const float keep = t[at];
        t[at] = b;
        EXPECT_FALSE(all_finite(t)) << n << " " << at << " " << b;
        try {
          check_finite(t, "t");
          ADD_FAILURE() << "check_finite let " << b << " through at " << at;
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("at flat index " + std::to_string(at)), std::string::npos) << e.what();
        }
        t[at] = keep;
      }
  }
  EXPECT_TRUE(all_finite(Tensor({0})));
}

// Large tensors are checked in chunks on the team's threads (from 2^16 elements): a NaN or Inf
// at either end of every chunk a thread can get, and at odd places, is found.
TEST(Tensor, AllFiniteFindsNanAndInfInLargeTensors) {
  for (std::size_t n : {std::size_t(1) << 16, (std::size_t(1) << 17) + 3, std::size_t(1000003)}) {
    Tensor t({n}, -1e-45f);
    EXPECT_TRUE(all_finite(t)) << n;
    std::vector<std::size_t> at = {0, 1, n / 2 - 1, n / 2, n / 2 + 1, n / 3, n - 5, n - 4, n - 1};
    // Every chunk edge of the smaller sizes (the threads' split falls on one of them), every
    // 97th of the largest (each check reads 4 MB).
    const std::size_t step = n > 200000 ? 97 * 1024 : 1024;
    for (std::size_t chunk = 1024; chunk < n; chunk += step) at.insert(at.end(), {chunk - 1, chunk});
    for (std::size_t i : at)
      for (float b : {std::nanf(""), INFINITY, -INFINITY}) {
        t[i] = b;
        ASSERT_FALSE(all_finite(t)) << n << " " << i << " " << b;
        t[i] = 3.4028235e38f;
      }
    EXPECT_TRUE(all_finite(t)) << n;
  }
}

}  // namespace

namespace {
// Tensor::borrowed reads the caller's memory in place; a copy of it owns its data.
TEST(Tensor, BorrowedReadsTheCallersMemoryInPlace) {
  std::vector<float> mem = {1, 2, 3, 4, 5, 6};
  const Tensor t = Tensor::borrowed(mem.data(), {2, 3});
  EXPECT_EQ(t.data(), mem.data());
  EXPECT_TRUE(t.is_alias());
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  mem[4] = 50;
  EXPECT_EQ(t[4], 50.0f);
  Tensor copy = t;
  EXPECT_NE(copy.data(), mem.data());
  EXPECT_FALSE(copy.is_alias());
  mem[4] = 5;
  EXPECT_EQ(copy[4], 50.0f);
  EXPECT_TRUE(Tensor::borrowed(nullptr, {0, 3}).empty());
  EXPECT_THROW(Tensor::borrowed(nullptr, {2}), Error);
}
}  // namespace
