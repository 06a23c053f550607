// WAV through libsndfile (io/wav.hpp): fixtures written by scipy.io.wavfile and Python's wave
// module (tests/fixtures/wav/make_wav_fixtures.py), round trips, and damaged files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "fourierconv/error.hpp"
#include "fourierconv/io/file.hpp"
#include "fourierconv/io/npy.hpp"
#include "fourierconv/io/wav.hpp"
#include "reference.hpp"

using namespace fourierconv;

namespace {

std::string fixture(const std::string& name) { return std::string(FOURIERCONV_SOURCE_DIR) + "/tests/fixtures/wav/" + name; }

void refused(const std::vector<unsigned char>& bytes, const std::string& needle) {
  try {
    io::decode_wav(bytes, "test");
    ADD_FAILURE() << "no error; expected one saying " << needle;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// The offset of a RIFF chunk's size field, found by its id.
std::size_t chunk_size_at(const std::vector<unsigned char>& b, const char* id) {
  for (std::size_t i = 12; i + 8 <= b.size();) {
    std::uint32_t n;
    std::memcpy(&n, b.data() + i + 4, 4);
    if (std::memcmp(b.data() + i, id, 4) == 0) return i + 4;
    i += 8 + n + (n & 1);
  }
  return 0;
}

}  // namespace

TEST(Wav, ReadsWhatOtherWritersWrite) {
  for (const auto& [name, encoding, rate] : std::vector<std::tuple<std::string, std::string, int>>{
           {"pcm16_stereo", "PCM_16", 44100}, {"pcm24_stereo", "PCM_24", 44100}, {"pcm32_stereo", "PCM_32", 44100},
           {"float_mono", "FLOAT", 48000}}) {
    io::Audio a = io::read_wav(fixture(name + ".wav"));
    Array want = io::read_npy_array(fixture(name + ".npy"));
    ASSERT_EQ(a.samples.shape(), want.shape()) << name;
    EXPECT_EQ(a.encoding, encoding) << name;
    EXPECT_EQ(a.sample_rate, rate) << name;
    const float* got = a.samples.data_as<float>();
    const float* w = want.data_as<float>();
    for (std::size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], w[i], 1e-7) << name << " sample " << i;
  }
}

TEST(Wav, RoundTripsEveryEncodingAndChannelCount) {
  for (std::size_t channels : {1, 2, 5})
    for (const std::string enc : {"PCM_16", "PCM_24", "PCM_32", "FLOAT"}) {
      io::Audio a;
      a.sample_rate = 22050;
      a.samples = Array(DType::Float32, {300, channels});
      Tensor r = fctest::random_tensor({300 * channels}, unsigned(channels), -0.99f, 0.99f);
      std::memcpy(a.samples.data(), r.data(), r.size() * sizeof(float));
      const std::string path = ::testing::TempDir() + "/rt.wav";
      io::write_wav(path, a, enc);
      io::Audio b = io::read_wav(path);
      ASSERT_EQ(b.samples.shape(), a.samples.shape());
      EXPECT_EQ(b.encoding, enc);
      EXPECT_EQ(b.sample_rate, 22050);
      const double tol = enc == "PCM_16" ? 1.0 / 32768 : enc == "PCM_24" ? 1.0 / 8388608 : 1e-7;
      for (std::size_t i = 0; i < r.size(); ++i) ASSERT_NEAR(b.samples.data_as<float>()[i], r[i], tol) << enc << " " << i;
    }
  // PCM clips instead of wrapping.
  io::Audio loud;
  loud.sample_rate = 8000;
  loud.samples = Array(DType::Float32, {2, 1});
  loud.samples.data_as<float>()[0] = 3.0f;
  loud.samples.data_as<float>()[1] = -3.0f;
  io::Audio back = io::decode_wav(io::encode_wav(loud, "PCM_16"), "clip");
  EXPECT_GT(back.samples.data_as<float>()[0], 0.99f);
  EXPECT_LT(back.samples.data_as<float>()[1], -0.99f);
}

TEST(Wav, DamagedAndUnsupportedFilesGiveClearErrors) {
  const std::vector<unsigned char> good = io::read_file(fixture("pcm16_stereo.wav"), "test");
  refused({}, "not a WAV file");
  refused({good.begin(), good.begin() + 20}, "not a WAV file");
  refused(io::read_file(fixture("pcm8_mono.wav"), "test"), "unsupported encoding");
  refused(io::encode_npy(fctest::random_tensor({4}, 1)), "not a WAV file");
  // Truncated: the header still declares all the frames.
  refused({good.begin(), good.end() - 41}, "holds");
  // A data chunk that claims more than there is.
  auto lying = good;
  const std::size_t at = chunk_size_at(lying, "data");
  ASSERT_GT(at, 0u);
  const std::uint32_t big = 1u << 30;
  std::memcpy(lying.data() + at, &big, 4);
  refused(lying, "holds");
  // Zero channels.
  auto none = good;
  const std::size_t fmt = chunk_size_at(none, "fmt ");
  none[fmt + 6] = 0, none[fmt + 7] = 0;
  refused(none, "WAV");
  // Bad arguments to the writer.
  io::Audio a;
  a.sample_rate = 0;
  a.samples = Array(DType::Float32, {4, 1});
  EXPECT_THROW(io::encode_wav(a), Error);
  a.sample_rate = 8000;
  EXPECT_THROW(io::encode_wav(a, "PCM_12"), Error);
  a.samples = Array(DType::Float64, {4, 1});
  EXPECT_THROW(io::encode_wav(a), Error);
  EXPECT_THROW(io::read_wav(fixture("does-not-exist.wav")), Error);
}

TEST(Wav, DeclaredSizesPastTheMemoryLimitAreRefusedBeforeReading) {
  io::Audio a;
  a.sample_rate = 8000;
  a.samples = Array(DType::Float32, {100000, 2});  // 800 kB of samples
  const auto bytes = io::encode_wav(a, "PCM_16");
  fctest::LimitGuard limit(256 << 10);
  try {
    io::decode_wav(bytes, "big");
    ADD_FAILURE() << "read 800 kB of samples under a 256 kB limit";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("memory limit"), std::string::npos) << e.what();
  }
}
