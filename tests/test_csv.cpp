// io/csv.hpp: CSV columns of time series, parsed and written, with their errors.
#include <gtest/gtest.h>

#include <cmath>

#include "fourierconv/error.hpp"
#include "reference.hpp"
#include "fourierconv/io/csv.hpp"

using namespace fourierconv;

namespace {
using fctest::message;
}  // namespace

TEST(Csv, ColumnsWithAndWithoutAHeaderRoundTripExactly) {
  io::CsvSignal a = io::parse_csv("time , value\n0,1.5\n\n1, -2e-3\r\n2,3.4028234e38\n", "t");
  EXPECT_EQ(a.names, (std::vector<std::string>{"time", "value"}));
  ASSERT_EQ(a.signal.samples.shape(), (Shape{3, 2}));
  const float* s = a.signal.samples.data_as<float>();
  EXPECT_EQ(s[1], 1.5f);
  EXPECT_EQ(s[3], -2e-3f);
  EXPECT_EQ(s[5], 3.4028234e38f);
  io::CsvSignal b = io::parse_csv(io::format_csv(a.signal, a.names), "again");
  EXPECT_EQ(b.names, a.names);
  for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(b.signal.samples.data_as<float>()[i], s[i]);
  // A UTF-8 byte-order mark is skipped, not read as a header.
  io::CsvSignal bom = io::parse_csv("\xEF\xBB\xBF" "1,2\n3,4\n", "bom");
  EXPECT_TRUE(bom.names.empty());
  EXPECT_EQ(bom.signal.samples.shape(), (Shape{2, 2}));
  io::CsvSignal plain = io::parse_csv("1\n2\n0.1\n", "p");
  EXPECT_TRUE(plain.names.empty());
  EXPECT_EQ(plain.signal.samples.shape(), (Shape{3, 1}));
  EXPECT_EQ(plain.signal.samples.data_as<float>()[2], 0.1f);
}

TEST(Csv, BadFilesGiveClearErrors) {
  for (const auto& [text_, want] : std::vector<std::pair<std::string, std::string>>{
           {"", "no rows of numbers"},
           {"a,b\n", "no rows of numbers"},
           {"1,2\n3\n", "line 2 has 1 fields, expected 2"},
           {"1,2\n3,x\n", "line 2, column 2: expected a number, got 'x'"},
           {"1,nan\n", "expected a finite float32 value"},
           {"1,1e39\n", "expected a finite float32 value"},
           {"a,b\n1,2\nc,d\n", "line 3, column 1: expected a number"},
           {"1,abc\n2,3\n", "line 1, column 2: expected a number"},   // a typo is no header
           {"1\n0x10\n", "expected a number, got '0x10'"},
           {"1;2\n3;4\n", "(the first line was read as the header)"}}) {
    const std::string text = text_;  // a lambda cannot capture a structured binding (clang 14)
    EXPECT_NE(message([&] { io::parse_csv(text, "'f.csv'"); }).find(want), std::string::npos)
        << text << ": " << message([&] { io::parse_csv(text, "'f.csv'"); });
  }
  io::Audio one;
  one.samples = Array(DType::Float32, {2, 2});
  EXPECT_NE(message([&] { io::format_csv(one, {"a,b", "c"}); }).find("holds a comma"), std::string::npos);
  EXPECT_NE(message([&] { io::format_csv(one, {"a\tb", "c"}); }).find("control character"), std::string::npos);
  EXPECT_NE(message([&] { io::format_csv(one, {"1", "b"}); }).find("would read back as data"), std::string::npos);
  EXPECT_NE(message([&] { io::format_csv(one, {"\xEF\xBB\xBF" "2", "b"}); }).find("byte-order mark"), std::string::npos);
  EXPECT_NE(message([&] { io::format_csv(one, {"a"}); }).find("1 column names for 2 columns"), std::string::npos);
  EXPECT_NE(message([] { io::read_csv("/nonexistent/x.csv"); }).find("x.csv"), std::string::npos);
}
