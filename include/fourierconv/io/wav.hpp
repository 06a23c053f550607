// WAV audio in and out, through libsndfile (Debian's libsndfile1).
//
// Read: RIFF WAV and WAVE_FORMAT_EXTENSIBLE files holding PCM of 16, 24 or 32 bits or IEEE
// float of 32 or 64 bits, any number of channels (1 ... 1024), any sample rate. Samples come
// back as float32 of shape (frames, channels), interleaved order as in the file; PCM is scaled
// to [-1, 1) as libsndfile does (a 16-bit sample s becomes s / 32768). Refused with an Error
// naming the file: other containers and encodings (8-bit, u-law, a-law, ADPCM, ...), a header
// that declares more data than the file holds (truncated or lying sizes, read from libsndfile's
// own diagnostics), a data size that is not a whole number of frames, and sample counts past the
// memory limit (memory_limit.hpp), checked before the samples are read.
//
// Write: atomically (io/file.hpp), as PCM_16, PCM_24, PCM_32 or FLOAT (32-bit IEEE). PCM
// writing clips to [-1, 1] (libsndfile's SFC_SET_CLIPPING) instead of wrapping.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fourierconv/array.hpp"

namespace fourierconv::io {

struct Audio {
  Array samples;         // float32, (frames, channels)
  int sample_rate = 0;   // frames per second
  std::string encoding;  // how the file stored them: "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"

  std::size_t frames() const { return samples.rank() == 2 ? samples.shape()[0] : 0; }
  std::size_t channels() const { return samples.rank() == 2 ? samples.shape()[1] : 0; }
};

// A WAV stream read as it arrives, from a file descriptor (a pipe: `stream --input wav`): the
// header first, then frames in blocks, converted to float32 as read_wav does, with the same
// encodings and checks. A header may declare an unknown length (a data size of 0xFFFFFFFF, as
// live writers do); otherwise finish() throws when the stream ended before the frames it
// declares (truncated, or a lying size).
class WavStreamReader {
 public:
  WavStreamReader(int fd, std::string what);
  ~WavStreamReader();
  WavStreamReader(const WavStreamReader&) = delete;
  WavStreamReader& operator=(const WavStreamReader&) = delete;
  int sample_rate() const;
  std::size_t channels() const;
  const std::string& encoding() const;
  // Up to max_frames interleaved frames into out (channels() floats each); 0 at the end.
  std::size_t read(float* out, std::size_t max_frames);
  // Throws Error when fewer frames arrived than the header declares.
  void finish() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

Audio read_wav(const std::string& path);
// The same from bytes in memory (`what` names them in errors).
Audio decode_wav(const std::vector<unsigned char>& bytes, const std::string& what);

// encoding: "PCM_16", "PCM_24", "PCM_32" or "FLOAT". samples: float32 (frames, channels), or
// (frames,) for one channel.
void write_wav(const std::string& path, const Audio& audio, const std::string& encoding = "FLOAT");
std::vector<unsigned char> encode_wav(const Audio& audio, const std::string& encoding = "FLOAT");

}  // namespace fourierconv::io
