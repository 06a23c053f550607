// Signals on the command line: `filter IN OUT --ir IR | --filter SPEC` (offline, the whole
// file: WAV, .npy or CSV columns) and `stream --ir IR --block B` (standard input to standard
// output as samples arrive), both on StreamConvolver (include/fourierconv/stream.hpp).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <numeric>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "audio.hpp"
#include "common.hpp"
#include "fourierconv/error.hpp"
#include "fourierconv/fir_design.hpp"
#include "fourierconv/io/csv.hpp"
#include "fourierconv/io/npy.hpp"
#include "fourierconv/io/wav.hpp"
#include "fourierconv/stream.hpp"

namespace fourierconv::cli {

namespace {

// A real .npy array of rank 1 or 2 as float32 (frames, channels), every value finite in float32
// and at most 1024 channels (as WAV); errors name `what` and the expected `layout`.
Array real_samples(Array a, const std::string& what, const std::string& layout) {
  const std::string got = to_string(a.dtype()) + " of shape " + shape_to_string(a.shape());
  if (a.dtype() == DType::Complex64 || a.dtype() == DType::Complex128 || (a.rank() != 1 && a.rank() != 2))
    throw Error(what + ": expected real samples of shape " + layout + ", got " + got);
  if (a.rank() == 1) a.reshape({a.shape()[0], 1});
  if (a.shape()[1] > 1024)
    throw Error(what + ": expected at most 1024 channels (the last axis), got " + got +
                (a.shape()[0] < a.shape()[1] ? " (channels first? the layout is " + layout + ")" : std::string()));
  Array f = Array::copy_of(a.view(), DType::Float32);
  const float* v = f.data_as<float>();
  for (std::size_t i = 0; i < f.size(); ++i)
    if (!std::isfinite(v[i]))
      throw Error(what + ": expected finite float32 values, got " + std::to_string(v[i]) + " at frame " +
                  std::to_string(i / f.shape()[1]) + ", channel " + std::to_string(i % f.shape()[1]) +
                  " (NaN or Inf, or beyond float32's range)");
  return f;
}

// An impulse response: a WAV file (its rate is returned), or a .npy of shape (taps,) or
// (taps, channels) (rate 0: unknown). Samples as (taps, channels) float32.
io::Audio read_ir(const std::string& path) {
  if (ends_with(path, ".wav")) return io::read_wav(path);
  if (!ends_with(path, ".npy")) throw Error("--ir: expected a .wav or .npy file, got '" + path + "'");
  io::Audio ir;
  ir.samples = real_samples(read_any_array(path, "--ir"), "--ir", "(taps,) or (taps, channels)");
  return ir;
}

// The filter of channel c: IR channel c, or the only one.
std::vector<float> ir_channel(const io::Audio& ir, std::size_t c) {
  const std::size_t taps = ir.frames(), n = ir.channels();
  if (taps == 0) throw Error("--ir: expected at least one tap, got an empty impulse response");
  std::vector<float> h(taps);
  for (std::size_t t = 0; t < taps; ++t) h[t] = ir.samples.data_as<float>()[t * n + (n == 1 ? 0 : c)];
  return h;
}

std::vector<StreamConvolver> convolvers(const io::Audio& ir, std::size_t channels, const StreamOptions& o) {
  if (ir.channels() != 1 && ir.channels() != channels)
    throw Error("--ir: expected 1 channel or as many as the signal (" + std::to_string(channels) + "), got " +
                std::to_string(ir.channels()));
  std::vector<StreamConvolver> cs;
  for (std::size_t c = 0; c < channels; ++c) cs.emplace_back(ir_channel(ir, c), o);
  return cs;
}

}  // namespace

namespace {

// A time series from a file: WAV (with its rate), .npy (N,) or (N, C), or CSV columns.
struct SignalFile {
  io::Audio signal;
  bool one_d = false;              // a .npy of rank 1: written back as rank 1
  std::vector<std::string> names;  // a CSV header
};

SignalFile read_signal(const std::string& path) {
  SignalFile f;
  if (ends_with(path, ".wav")) {
    f.signal = io::read_wav(path);
  } else if (ends_with(path, ".csv")) {
    io::CsvSignal c = io::read_csv(path);
    f.signal = std::move(c.signal);
    f.names = std::move(c.names);
  } else if (ends_with(path, ".npy")) {
    Array a = read_any_array(path, "IN");
    f.one_d = a.rank() == 1;
    f.signal.samples = real_samples(std::move(a), "IN", "(N,) or (N, channels)");
  } else {
    throw Error("IN: expected a .wav, .npy or .csv signal, got '" + path + "'");
  }
  if (f.signal.frames() == 0) throw Error("IN: '" + path + "' holds no samples");
  if (f.signal.channels() > 1024) throw Error("IN: expected at most 1024 channels, got " + std::to_string(f.signal.channels()));
  return f;
}

void write_signal(const std::string& path, const SignalFile& like, io::Audio y, const std::string& encoding) {
  const float* v = y.samples.data_as<float>();
  std::size_t beyond_one = 0;
  for (std::size_t i = 0; i < y.samples.size(); ++i) {
    if (!std::isfinite(v[i]))
      throw Error("OUT: the result overflows float32 at frame " + std::to_string(i / y.channels()) + " (" + std::to_string(v[i]) +
                  "): scale the signal or the impulse response down; nothing was written");
    beyond_one += std::fabs(v[i]) > 1.0f;
  }
  if (ends_with(path, ".wav")) {
    if (y.sample_rate <= 0) throw Error("OUT: a WAV file needs a sample rate: give --rate");
    const std::string enc = encoding.empty() ? (like.signal.encoding.empty() || like.signal.encoding == "DOUBLE" ? "FLOAT" : like.signal.encoding) : encoding;
    if (enc != "FLOAT" && beyond_one)
      std::fprintf(stderr, "filter: warning: %zu samples beyond [-1, 1] are clipped in the %s output (--encoding FLOAT keeps them)\n",
                   beyond_one, enc.c_str());
    io::write_wav(path, y, enc);
  } else if (ends_with(path, ".csv")) {
    io::write_csv(path, y, like.names.size() == y.channels() ? like.names : std::vector<std::string>{});
  } else if (ends_with(path, ".npy")) {
    if (like.one_d && y.channels() == 1) y.samples.reshape({y.frames()});
    io::write_npy(path, y.samples);
  } else {
    throw Error("OUT: expected a .wav, .npy or .csv file, got '" + path + "'");
  }
}

// Each channel of `ir` resampled from its rate to `rate` (resample_poly).
io::Audio resampled(const io::Audio& ir, int rate) {
  const std::size_t g = std::gcd(std::size_t(rate), std::size_t(ir.sample_rate));
  const std::size_t up = std::size_t(rate) / g, down = std::size_t(ir.sample_rate) / g;
  if (up > 1000 || down > 1000)
    throw Error("--resample: the rates " + std::to_string(ir.sample_rate) + " and " + std::to_string(rate) +
                " Hz have no ratio of integers up to 1000");
  io::Audio out;
  out.sample_rate = rate;
  const std::size_t C = ir.channels();
  std::vector<std::vector<float>> ch;
  for (std::size_t c = 0; c < C; ++c) ch.push_back(resample_poly(ir_channel(ir, c), up, down));
  out.samples = Array(DType::Float32, {ch[0].size(), C});
  for (std::size_t c = 0; c < C; ++c)
    for (std::size_t t = 0; t < ch[c].size(); ++t) out.samples.data_as<float>()[t * C + c] = ch[c][t];
  return out;
}

}  // namespace

// Per-block times of a stream of any length without allocating as it runs: a histogram of
// 0.1 us bins up to 100 ms (the median to 0.1 us), the worst, the count over the deadline and
// the first five late blocks.
class BlockTimes {
 public:
  explicit BlockTimes(double deadline) : deadline_(deadline), bins_(1000000, 0) { first_late_.reserve(5); }
  void add(double seconds) {
    const std::size_t bin = std::min<std::size_t>(bins_.size() - 1, std::size_t(seconds * 1e7));
    ++bins_[bin];
    worst_ = std::max(worst_, seconds);
    if (seconds > deadline_) {
      if (first_late_.size() < first_late_.capacity()) first_late_.emplace_back(count_, seconds);
      ++late_;
    }
    ++count_;
  }
  double median() const {
    std::size_t seen = 0;
    for (std::size_t b = 0; b < bins_.size(); ++b)
      if ((seen += bins_[b]) > count_ / 2) return (double(b) + 0.5) * 1e-7;
    return 0;
  }
  double worst() const { return worst_; }
  std::size_t late() const { return late_; }
  const std::vector<std::pair<std::size_t, double>>& first_late() const { return first_late_; }

 private:
  double deadline_, worst_ = 0;
  std::size_t count_ = 0, late_ = 0;
  std::vector<std::uint32_t> bins_;
  std::vector<std::pair<std::size_t, double>> first_late_;
};

// --realtime: lock memory and ask for SCHED_FIFO; returns what was granted, for the report.
static std::string enter_realtime() {
  std::string got;
  if (::mlockall(MCL_CURRENT | MCL_FUTURE) == 0) got = "memory locked";
  else std::fprintf(stderr, "stream: --realtime: mlockall refused (%s); memory may be paged\n", std::strerror(errno));
  sched_param sp{};
  sp.sched_priority = 70;
  if (::sched_setscheduler(0, SCHED_FIFO, &sp) == 0) got += std::string(got.empty() ? "" : ", ") + "SCHED_FIFO 70";
  else std::fprintf(stderr, "stream: --realtime: SCHED_FIFO refused (%s); normal scheduling\n", std::strerror(errno));
  return got.empty() ? "normal scheduling" : got;
}

bool is_signal_file(const std::string& path) { return ends_with(path, ".wav") || ends_with(path, ".csv"); }

void filter_signal(const SignalFilterOptions& o) {
  SignalFile in = read_signal(o.in);
  io::Audio& x = in.signal;
  if (o.rate < 0) throw Error("--rate: expected a positive sample rate, got " + std::to_string(o.rate));
  if (o.rate && x.sample_rate && o.rate != x.sample_rate)
    throw Error("--rate: " + std::to_string(o.rate) + " Hz differs from the rate of '" + o.in + "', " + std::to_string(x.sample_rate) + " Hz");
  if (!x.sample_rate) x.sample_rate = o.rate;
  if (o.ir.empty() == o.filter.empty()) throw Error("filter: give exactly one of --ir (an impulse response) and --filter (a designed FIR)");
  io::Audio ir;
  std::string what;
  if (!o.filter.empty()) {
    const std::vector<float> h = design_fir(o.filter, double(x.sample_rate));
    ir.sample_rate = x.sample_rate;
    ir.samples = Array(DType::Float32, {h.size(), 1});
    std::copy(h.begin(), h.end(), ir.samples.data_as<float>());
    what = "the FIR " + o.filter + " (firwin, hamming)";
  } else {
    ir = read_ir(o.ir);
    what = o.ir;
  }
  if (ir.sample_rate && x.sample_rate && ir.sample_rate != x.sample_rate) {
    if (!o.resample)
      throw Error("--ir: sample rate " + std::to_string(ir.sample_rate) + " Hz differs from the signal's " +
                  std::to_string(x.sample_rate) + " Hz (give --resample to resample the impulse response)");
    const int from = ir.sample_rate;
    ir = resampled(ir, x.sample_rate);
    what += " (resampled from " + std::to_string(from) + " Hz: " + std::to_string(ir.frames()) + " taps)";
  }
  const std::size_t C = x.channels(), N = x.frames(), taps = ir.frames();
  StreamOptions so{o.block, false, PartitionScheme::Auto};
  std::vector<StreamConvolver> cs = convolvers(ir, C, so);
  // The full convolution, N + taps - 1 frames: the signal, then zeros to flush the tail; the
  // first `latency` output samples are the stream's delay and are dropped.
  const std::size_t latency = cs[0].latency(), total = N + taps - 1;
  io::Audio y;
  y.sample_rate = x.sample_rate;
  y.samples = Array(DType::Float32, {total, C});
  std::vector<float> buf_in(o.block), buf_out(o.block);
  for (std::size_t c = 0; c < C; ++c)
    for (std::size_t t = 0; t < total + latency; t += o.block) {
      const std::size_t n = std::min(o.block, total + latency - t);
      for (std::size_t j = 0; j < n; ++j) buf_in[j] = t + j < N ? x.samples.data_as<float>()[(t + j) * C + c] : 0.0f;
      cs[c].process(buf_in.data(), buf_out.data(), n);
      for (std::size_t j = 0; j < n; ++j)
        if (t + j >= latency) y.samples.data_as<float>()[(t + j - latency) * C + c] = buf_out[j];
    }
  write_signal(o.out, in, std::move(y), o.encoding);
  std::cout << "filtered " << o.in << " (" << N << " frames x " << C << " channels"
            << (x.sample_rate ? ", " + std::to_string(x.sample_rate) + " Hz" : std::string()) << ") with " << what << ", " << taps
            << " taps (" << cs[0].plan().describe() << ") -> " << o.out << " (" << total << " frames)\n";
}

// CPU seconds used so far by all of this process's threads (user and system).
static double process_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

void setup_stream(CLI::App& sub) {
  struct Opts {
    std::string ir;
    std::size_t block = 64, channels = 1;
    int rate = 48000;
    bool zero_latency = false, resample = false, realtime = false, background = false;
    std::string scheme = "auto", input = "auto";
  };
  auto o = std::make_shared<Opts>();
  sub.add_option("--ir", o->ir, "impulse response: .wav, or .npy of shape (taps,) or (taps, channels)")->required();
  sub.add_flag("--background", o->background,
               "run the long partitions on a worker thread per channel (a second core; for long filters and a few "
               "channels); the output is the same");
  sub.add_option("--block", o->block, "samples per block: the latency (1 to 65536)")->capture_default_str();
  sub.add_option("--channels", o->channels, "interleaved float32 channels on standard input")->capture_default_str();
  sub.add_option("--rate", o->rate, "sample rate in Hz (for the deadline and real-time factor; a WAV IR's must match)")
      ->capture_default_str();
  sub.add_flag("--zero-latency", o->zero_latency, "compute the first taps directly: latency 0");
  sub.add_option("--scheme", o->scheme, "auto | uniform | non-uniform")->capture_default_str();
  sub.add_option("--input", o->input,
                 "standard input: raw (interleaved float32 frames), wav (a WAV stream: its rate and channels replace "
                 "--rate and --channels), or auto (wav when standard input is a file starting with a WAV header, else raw)")
      ->capture_default_str();
  sub.add_flag("--resample", o->resample, "resample an impulse response recorded at another rate (resample_poly)");
  sub.add_flag("--realtime", o->realtime,
               "run as audio servers do: memory locked (mlockall) and real-time scheduling (SCHED_FIFO, priority 70); "
               "where the system refuses, say so and go on");
  auto* rate_opt = sub.get_option("--rate");
  auto* channels_opt = sub.get_option("--channels");
  sub.callback([o, rate_opt, channels_opt] {
    if (o->input != "auto" && o->input != "raw" && o->input != "wav")
      throw Error("--input: expected raw, wav or auto, got '" + o->input + "'");
    bool wav = o->input == "wav";
    if (o->input == "auto") {  // a file can be peeked at and rewound; a pipe cannot
      struct stat st {};
      char magic[4] = {};
      if (::fstat(0, &st) == 0 && S_ISREG(st.st_mode) && ::pread(0, magic, 4, 0) == 4)
        wav = std::memcmp(magic, "RIFF", 4) == 0 || std::memcmp(magic, "RIFX", 4) == 0 || std::memcmp(magic, "RF64", 4) == 0;
    }
    std::unique_ptr<io::WavStreamReader> wav_in;
    if (wav) {
      wav_in = std::make_unique<io::WavStreamReader>(0, "stream: standard input");
      if (rate_opt->count() && wav_in->sample_rate() != o->rate)
        throw Error("--rate: " + std::to_string(o->rate) + " Hz differs from the WAV stream's " + std::to_string(wav_in->sample_rate()) + " Hz");
      if (channels_opt->count() && wav_in->channels() != o->channels)
        throw Error("--channels: " + std::to_string(o->channels) + " differs from the WAV stream's " + std::to_string(wav_in->channels()));
      o->rate = wav_in->sample_rate();
      o->channels = wav_in->channels();
    }
    if (o->channels == 0 || o->channels > 1024) throw Error("--channels: expected 1 to 1024, got " + std::to_string(o->channels));
    if (o->rate <= 0) throw Error("--rate: expected a positive sample rate, got " + std::to_string(o->rate));
    io::Audio ir = read_ir(o->ir);
    if (ir.sample_rate && ir.sample_rate != o->rate) {
      if (!o->resample)
        throw Error("--ir: sample rate " + std::to_string(ir.sample_rate) + " Hz differs from the stream's " + std::to_string(o->rate) +
                    " Hz (give --resample to resample the impulse response)");
      ir = resampled(ir, o->rate);
    }
    const std::size_t C = o->channels, B = o->block;
    StreamOptions so{B, o->zero_latency, parse_partition_scheme(o->scheme)};
    so.background = o->background;
    // Real-time scheduling first: the workers inherit it (a worker preempted in the middle of a
    // task would make the block at its deadline wait).
    std::string scheduling = "normal scheduling";
    if (o->realtime) scheduling = enter_realtime();
    std::vector<StreamConvolver> cs = convolvers(ir, C, so);
    std::vector<float> in(B * C), out(B * C), ch_in(B), ch_out(B);
    BlockTimes times(double(B) / o->rate);
    if (o->background) scheduling += "; a worker thread per channel for the long partitions";
    const double cpu0 = process_cpu_seconds();  // every thread's, the workers' included
    std::size_t frames = 0, block_frames = 0;
    double busy = 0, block_time = 0;
    bool first = true;
    for (;;) {
      std::size_t n = 0;
      if (wav_in) {
        n = wav_in->read(in.data(), B);
        if (n == 0) break;
      } else {
        // Whatever has arrived, up to one block: read(2) returns what the pipe holds.
        std::size_t got = 0;
        const std::size_t want = B * C * sizeof(float);
        unsigned char* p = reinterpret_cast<unsigned char*>(in.data());
        while (got < want) {
          const ssize_t r = ::read(0, p + got, want - got);
          if (r < 0) throw Error("stream: cannot read standard input");
          if (r == 0) break;
          got += std::size_t(r);
          if (got % (C * sizeof(float)) == 0) break;  // whole frames: process them now
        }
        if (got == 0) break;
        if (first && got >= 4 && (std::memcmp(p, "RIFF", 4) == 0 || std::memcmp(p, "RF64", 4) == 0))
          throw Error("stream: standard input starts with a WAV header but --input is raw: give --input wav");
        if (got % (C * sizeof(float)))
          throw Error("stream: the input ended mid-frame (" + std::to_string(got % (C * sizeof(float))) + " stray bytes; frames are " +
                      std::to_string(C) + " x float32)");
        n = got / (C * sizeof(float));
      }
      first = false;
      const auto t0 = std::chrono::steady_clock::now();
      for (std::size_t c = 0; c < C; ++c) {
        for (std::size_t j = 0; j < n; ++j) ch_in[j] = in[j * C + c];
        cs[c].process(ch_in.data(), ch_out.data(), n);
        for (std::size_t j = 0; j < n; ++j) out[j * C + c] = ch_out[j];
      }
      const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      // Per block of B: the calls' times summed until B frames have gone through (reads from a
      // pipe may return less than a block; a call that completes a block does its whole work).
      block_time += dt, block_frames += n;
      if (block_frames >= B) {
        times.add(block_time * double(B) / double(block_frames));
        block_time = 0, block_frames = 0;
      }
      busy += dt;
      frames += n;
      if (std::fwrite(out.data(), sizeof(float) * C, n, stdout) != n) throw Error("stream: cannot write standard output");
      std::fflush(stdout);
    }
    if (wav_in) wav_in->finish();
    const double audio = double(frames) / o->rate, deadline = double(B) / o->rate;
    const double median = times.median(), worst = times.worst();
    if (o->background && audio > 0) {  // the block times are the calling thread's alone
      char all[96];
      std::snprintf(all, sizeof all, "; all threads' CPU, the workers' included: %.2f %% of real time",
                    100 * (process_cpu_seconds() - cpu0) / audio);
      scheduling += all;
    }
    const std::size_t late = times.late();
    std::string late_at;  // the first late blocks, for the report
    for (std::size_t i = 0; i < times.first_late().size(); ++i)
      late_at += (i ? ", " : " at block ") + std::to_string(times.first_late()[i].first) + " (" +
                 std::to_string(int(times.first_late()[i].second * 1e6)) + " us)";
    std::fprintf(stderr,
                 "stream: %zu frames x %zu channels through %zu taps (%s)\n"
                 "stream: latency %zu samples (%.3f ms at %d Hz); real-time factor %.4f (%.0fx faster than real time)\n"
                 "stream: per block of %zu: median %.1f us, worst %.1f us, deadline %.1f us, %zu over it%s (%s)\n",
                 frames, C, ir.frames(), cs[0].plan().describe().c_str(), cs[0].latency(), 1e3 * double(cs[0].latency()) / o->rate,
                 o->rate, audio > 0 ? busy / audio : 0.0, busy > 0 ? audio / busy : 0.0, B, median * 1e6, worst * 1e6,
                 deadline * 1e6, late, late_at.c_str(), scheduling.c_str());
  });
}

}  // namespace fourierconv::cli
