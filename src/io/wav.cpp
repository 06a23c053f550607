// WAV through libsndfile (io/wav.hpp). Files are read whole into memory (read_file checks the
// memory limit) and parsed there through libsndfile's virtual I/O, so the same code serves
// files and bytes (and the fuzz harness).
#include "fourierconv/io/wav.hpp"

#include <sndfile.h>

#include <algorithm>
#include <cstring>

#include "fourierconv/error.hpp"
#include "fourierconv/io/file.hpp"
#include "fourierconv/memory_limit.hpp"

namespace fourierconv::io {
namespace {

constexpr int kMaxChannels = 1024;

// A byte vector as a libsndfile file: reads from `bytes`, or writes into it (growing).
struct MemoryFile {
  std::vector<unsigned char>* bytes;
  sf_count_t pos = 0;
};

sf_count_t mem_length(void* user) { return sf_count_t(static_cast<MemoryFile*>(user)->bytes->size()); }
sf_count_t mem_seek(sf_count_t offset, int whence, void* user) {
  auto* f = static_cast<MemoryFile*>(user);
  const sf_count_t size = sf_count_t(f->bytes->size());
  sf_count_t to = whence == SEEK_SET ? offset : whence == SEEK_CUR ? f->pos + offset : size + offset;
  if (to < 0) return -1;
  f->pos = to;
  return to;
}
sf_count_t mem_read(void* dst, sf_count_t n, void* user) {
  auto* f = static_cast<MemoryFile*>(user);
  const sf_count_t size = sf_count_t(f->bytes->size());
  if (n <= 0 || f->pos >= size) return 0;
  const sf_count_t c = std::min(n, size - f->pos);
  std::memcpy(dst, f->bytes->data() + f->pos, std::size_t(c));
  f->pos += c;
  return c;
}
sf_count_t mem_write(const void* src, sf_count_t n, void* user) {
  auto* f = static_cast<MemoryFile*>(user);
  if (n <= 0) return 0;
  const std::size_t end = std::size_t(f->pos + n);
  if (end > f->bytes->size()) f->bytes->resize(end);
  std::memcpy(f->bytes->data() + f->pos, src, std::size_t(n));
  f->pos += n;
  return n;
}
sf_count_t mem_tell(void* user) { return static_cast<MemoryFile*>(user)->pos; }

SF_VIRTUAL_IO memory_io() { return SF_VIRTUAL_IO{mem_length, mem_seek, mem_read, mem_write, mem_tell}; }

struct Closer {
  void operator()(SNDFILE* s) const { sf_close(s); }
};
using Handle = std::unique_ptr<SNDFILE, Closer>;

std::string encoding_name(int subtype) {
  switch (subtype) {
    case SF_FORMAT_PCM_16: return "PCM_16";
    case SF_FORMAT_PCM_24: return "PCM_24";
    case SF_FORMAT_PCM_32: return "PCM_32";
    case SF_FORMAT_FLOAT: return "FLOAT";
    case SF_FORMAT_DOUBLE: return "DOUBLE";
    default: return "";
  }
}

int encoding_code(const std::string& name) {
  if (name == "PCM_16") return SF_FORMAT_PCM_16;
  if (name == "PCM_24") return SF_FORMAT_PCM_24;
  if (name == "PCM_32") return SF_FORMAT_PCM_32;
  if (name == "FLOAT") return SF_FORMAT_FLOAT;
  throw Error("write_wav: encoding: expected PCM_16, PCM_24, PCM_32 or FLOAT, got '" + name + "'");
}

std::string hex(int v) {
  char b[16];
  std::snprintf(b, sizeof b, "%x", v);
  return b;
}

// libsndfile's diagnostics for a header that claims more than the file holds.
bool log_says_truncated(SNDFILE* s) {
  char log[8192] = {};
  sf_command(s, SFC_GET_LOG_INFO, log, sizeof log);
  const std::string text(log);
  for (const char* mark : {"should be", "lies", "truncated", "Truncated", "too big", "beyond"})
    if (text.find(mark) != std::string::npos) return true;
  return false;
}

// The header's checks, shared by whole files and streams.
void check_header(const SF_INFO& info, const std::string& what, std::string* encoding) {
  const int major = info.format & SF_FORMAT_TYPEMASK, subtype = info.format & SF_FORMAT_SUBMASK;
  if (major != SF_FORMAT_WAV && major != SF_FORMAT_WAVEX)
    throw Error(what + ": expected a WAV file, got another container (libsndfile format 0x" + hex(major) + ")");
  *encoding = encoding_name(subtype);
  if (encoding->empty())
    throw Error(what + ": unsupported encoding (libsndfile subtype 0x" + hex(subtype) +
                "); expected PCM of 16, 24 or 32 bits or IEEE float");
  if (info.channels < 1 || info.channels > kMaxChannels)
    throw Error(what + ": expected 1 to " + std::to_string(kMaxChannels) + " channels, got " + std::to_string(info.channels));
  if (info.samplerate <= 0) throw Error(what + ": expected a positive sample rate, got " + std::to_string(info.samplerate));
  if (info.frames < 0) throw Error(what + ": the header declares a negative length");
}

}  // namespace

Audio decode_wav(const std::vector<unsigned char>& bytes, const std::string& what) {
  MemoryFile f{const_cast<std::vector<unsigned char>*>(&bytes)};
  SF_VIRTUAL_IO io = memory_io();
  io.write = nullptr;
  SF_INFO info{};
  Handle s(sf_open_virtual(&io, SFM_READ, &info, &f));
  if (!s) throw Error(what + ": not a WAV file libsndfile can read (" + sf_strerror(nullptr) + ")");
  Audio a;
  check_header(info, what, &a.encoding);
  if (log_says_truncated(s.get()))
    throw Error(what + ": the header declares more audio than the file holds (truncated, or a lying size)");
  const std::size_t frames = std::size_t(info.frames), channels = std::size_t(info.channels);
  check_allocation(checked_nbytes({frames, channels}, 4, what + ": samples"), what + ": samples");
  a.sample_rate = info.samplerate;
  a.samples = Array::uninitialized(DType::Float32, {frames, channels});
  const sf_count_t got = frames ? sf_readf_float(s.get(), a.samples.data_as<float>(), sf_count_t(frames)) : 0;
  if (got != sf_count_t(frames))
    throw Error(what + ": the header declares " + std::to_string(frames) + " frames, the file holds " + std::to_string(got) +
                " (truncated, or a lying size)");
  return a;
}

Audio read_wav(const std::string& path) { return decode_wav(read_file(path, "read_wav"), "read_wav: '" + path + "'"); }


struct WavStreamReader::Impl {
  std::string what, encoding;
  SF_INFO info{};
  Handle s;
  sf_count_t got = 0;
  bool unknown_length = false;
};

WavStreamReader::WavStreamReader(int fd, std::string what) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.what = std::move(what);
  m.s.reset(sf_open_fd(fd, SFM_READ, &m.info, SF_FALSE));
  if (!m.s) throw Error(m.what + ": not a WAV stream libsndfile can read (" + sf_strerror(nullptr) + ")");
  check_header(m.info, m.what, &m.encoding);
  // A data size of 0xFFFFFFFF (or more than 32 bits can say) marks a stream of unknown length.
  const int subtype = m.info.format & SF_FORMAT_SUBMASK;
  const sf_count_t bytes_per_frame = sf_count_t(m.info.channels) * (subtype == SF_FORMAT_PCM_16 ? 2 : subtype == SF_FORMAT_PCM_24 ? 3 : subtype == SF_FORMAT_DOUBLE ? 8 : 4);
  m.unknown_length = m.info.frames * bytes_per_frame >= sf_count_t(0xFFFFFFFFll) - bytes_per_frame;
  // A file (not a pipe) whose header claims more than it holds: libsndfile says so in its log.
  if (!m.unknown_length && log_says_truncated(m.s.get()))
    throw Error(m.what + ": the header declares more audio than the file holds (truncated, or a lying size)");
  if (m.info.frames == 0)
    throw Error(m.what + ": the header declares no audio (a data size of 0, as writers that never fill it in leave it); "
                         "send raw float32 frames instead");
}

WavStreamReader::~WavStreamReader() = default;
int WavStreamReader::sample_rate() const { return impl_->info.samplerate; }
std::size_t WavStreamReader::channels() const { return std::size_t(impl_->info.channels); }
const std::string& WavStreamReader::encoding() const { return impl_->encoding; }

std::size_t WavStreamReader::read(float* out, std::size_t max_frames) {
  const sf_count_t n = sf_readf_float(impl_->s.get(), out, sf_count_t(max_frames));
  if (n < 0) throw Error(impl_->what + ": cannot read the WAV stream");
  impl_->got += n;
  return std::size_t(n);
}

void WavStreamReader::finish() const {
  const Impl& m = *impl_;
  if (!m.unknown_length && m.got != m.info.frames)
    throw Error(m.what + ": the header declares " + std::to_string(m.info.frames) + " frames, the stream held " +
                std::to_string(m.got) + " (truncated, or a lying size)");
}

std::vector<unsigned char> encode_wav(const Audio& audio, const std::string& encoding) {
  const Array& x = audio.samples;
  if (x.dtype() != DType::Float32 || (x.rank() != 1 && x.rank() != 2))
    throw Error("write_wav: samples: expected float32 of shape (frames, channels) or (frames,), got " + to_string(x.dtype()) +
                " of rank " + std::to_string(x.rank()));
  const std::size_t frames = x.shape()[0], channels = x.rank() == 2 ? x.shape()[1] : 1;
  if (channels < 1 || channels > std::size_t(kMaxChannels))
    throw Error("write_wav: expected 1 to " + std::to_string(kMaxChannels) + " channels, got " + std::to_string(channels));
  if (audio.sample_rate <= 0) throw Error("write_wav: sample_rate: expected a positive rate, got " + std::to_string(audio.sample_rate));
  const int sub = encoding_code(encoding);
  std::vector<unsigned char> bytes;
  MemoryFile f{&bytes};
  SF_VIRTUAL_IO io = memory_io();
  SF_INFO info{};
  info.samplerate = audio.sample_rate;
  info.channels = int(channels);
  info.format = SF_FORMAT_WAV | sub;
  Handle s(sf_open_virtual(&io, SFM_WRITE, &info, &f));
  if (!s) throw Error(std::string("write_wav: libsndfile cannot write this format: ") + sf_strerror(nullptr));
  sf_command(s.get(), SFC_SET_CLIPPING, nullptr, SF_TRUE);
  if (frames && sf_writef_float(s.get(), x.data_as<float>(), sf_count_t(frames)) != sf_count_t(frames))
    throw Error(std::string("write_wav: libsndfile failed writing: ") + sf_strerror(s.get()));
  s.reset();  // finishes the header
  return bytes;
}

void write_wav(const std::string& path, const Audio& audio, const std::string& encoding) {
  write_file_atomic(path, encode_wav(audio, encoding), "write_wav");
}

}  // namespace fourierconv::io
