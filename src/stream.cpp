// StreamConvolver (stream.hpp): partitioned overlap-save with frequency-domain delay lines,
// non-uniform stages whose work is spread over their period, a direct head for zero latency,
// and crossfaded filter swaps. The plan comes from plan_partitions (stream_plan.cpp).
#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <system_error>
#include <thread>

#include <pthread.h>

#include "fourierconv/error.hpp"
#include "fourierconv/fft.hpp"
#include "fourierconv/memory_limit.hpp"
#include "fourierconv/stream.hpp"
#include "fourierconv/tensor.hpp"
#pragma GCC diagnostic ignored "-Wpsabi"  // simd.hpp's vector helpers (unused here) in the baseline
#include "simd.hpp"                       // FC_MULTIVERSION

namespace fourierconv {
namespace {

// Counts fork()s (pthread_atfork, registered with the first worker): a child has no worker
// threads, so a task its parent's worker was running at the fork is redone by the caller.
std::atomic<unsigned> g_forks{0};
void count_fork() { g_forks.fetch_add(1, std::memory_order_relaxed); }

// One step of a spin-wait (x86's pause: the other hyperthread and the memory bus get the time).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

using Floats = AlignedVector<float>;
using Spectra = AlignedVector<Complex>;

// Spectra are kept split: a slot of `stride` complex values holds the real parts of its
// bins, then (stride floats later) the imaginary parts (SplitFftPlan writes and reads them so),
// so that the products below are plain vector multiply-adds.

// acc += sum_e x[e] * h[e] over the first n bins of split spectra (each: stride reals, then
// stride imaginaries; n a multiple of 16). The bins go in chunks of 256 whose sums stay in L1
// while the terms stream their chunks in, four terms per pass over the chunk (the sums are
// read and written once per four terms: a 16k-tap stream at B = 64, 27 terms, went from 30 to
// 26 ns per sample), each term's chunk a contiguous run for the prefetchers.
FC_MULTIVERSION void multiply_add_many(const float* const* x, const float* const* h, std::size_t terms, float* __restrict acc,
                                       std::size_t n, std::size_t stride) {
  constexpr std::size_t kChunk = 256;
  float* __restrict ai = acc + stride;
  for (std::size_t j0 = 0; j0 < n; j0 += kChunk) {
    const std::size_t j1 = std::min(n, j0 + kChunk);
    std::size_t e = 0;
    for (; e + 4 <= terms; e += 4) {
      const float *__restrict xr0 = x[e], *__restrict xi0 = x[e] + stride, *__restrict hr0 = h[e], *__restrict hi0 = h[e] + stride;
      const float *__restrict xr1 = x[e + 1], *__restrict xi1 = x[e + 1] + stride, *__restrict hr1 = h[e + 1],
                  *__restrict hi1 = h[e + 1] + stride;
      const float *__restrict xr2 = x[e + 2], *__restrict xi2 = x[e + 2] + stride, *__restrict hr2 = h[e + 2],
                  *__restrict hi2 = h[e + 2] + stride;
      const float *__restrict xr3 = x[e + 3], *__restrict xi3 = x[e + 3] + stride, *__restrict hr3 = h[e + 3],
                  *__restrict hi3 = h[e + 3] + stride;
      for (std::size_t j = j0; j < j1; ++j) {
        acc[j] += (xr0[j] * hr0[j] - xi0[j] * hi0[j]) + (xr1[j] * hr1[j] - xi1[j] * hi1[j]) +
                  ((xr2[j] * hr2[j] - xi2[j] * hi2[j]) + (xr3[j] * hr3[j] - xi3[j] * hi3[j]));
        ai[j] += (xr0[j] * hi0[j] + xi0[j] * hr0[j]) + (xr1[j] * hi1[j] + xi1[j] * hr1[j]) +
                 ((xr2[j] * hi2[j] + xi2[j] * hr2[j]) + (xr3[j] * hi3[j] + xi3[j] * hr3[j]));
      }
    }
    for (; e < terms; ++e) {
      const float *__restrict xr = x[e], *__restrict xi = x[e] + stride, *__restrict hr = h[e], *__restrict hi = h[e] + stride;
      for (std::size_t j = j0; j < j1; ++j) {
        acc[j] += xr[j] * hr[j] - xi[j] * hi[j];
        ai[j] += xr[j] * hi[j] + xi[j] * hr[j];
      }
    }
  }
}

// dst[t] += sum_j h[j] x[t + j] for t < c: the direct head over one chunk (h reversed), one
// tap at a time across the chunk so that the inner loop is a vectorized multiply-add.
FC_MULTIVERSION void fir_chunk(const float* h, std::size_t taps, const float* x, float* dst, std::size_t c) {
  for (std::size_t j = 0; j < taps; ++j) {
    const float hj = h[j];
    const float* xj = x + j;
    for (std::size_t t = 0; t < c; ++t) dst[t] += hj * xj[t];
  }
}

// Complex values between consecutive spectra of P + 1 bins: SplitFftPlan(2P)'s stride (its
// split halves are that many floats apart), a multiple of 16 (whole chunks for multiply_add_many).
std::size_t spectrum_stride(std::size_t size) { return (size + 1 + 15) / 16 * 16; }

}  // namespace

// The filter in the form the engine uses: for each stage, the spectra of its partitions
// (count x outputs x inputs spectra of size + 1 bins, spectrum_stride apart, scaled by
// 1 / (2 size)); the direct
// head's taps reversed (outputs x inputs x direct_taps).
struct StreamConvolver::PreparedFilter {
  std::size_t outputs = 0, inputs = 0, taps = 0;
  std::string plan;  // PartitionPlan::describe() and the block: the layout these spectra have
  std::vector<Spectra> stages;
  Floats head;
};

struct StreamConvolver::Impl {
  struct Stage {
    PartitionStage part;                   // offset relative to the engine (after the head)
    std::size_t blocks = 1;                // m = size / B: blocks per period
    std::shared_ptr<const SplitFftPlan> fft;  // real FFT of 2 size, split spectra
    std::vector<Floats> periods[3];        // per input: three periods' samples in rotation
    std::size_t cur = 0;                   // periods[cur] fills from the blocks
    std::size_t lo = 0, hi = 0;            // the period before the last one, and the last one
    std::size_t filled = 0;                // samples in periods[cur]
    Spectra delay_line;                    // count slots x inputs x stride(), split
    std::vector<const float*> xs, hs;      // count x inputs: the terms of one output's sum
    std::size_t newest = 0;                // slot of the newest spectrum
    Spectra acc[2];                        // outputs x stride(), split: the period's sums, for
                                           // the filter and (during a swap) the incoming one
    Floats window;                         // 2 size: FFT input / output
    std::size_t step = 0;                  // block of the period in progress (0 .. m - 1)
    bool running = false;                  // a period has started
    bool incoming = false;                 // this period is computed for the incoming filter too
    // Background stages (runs_on_worker, with options.background): the worker computes a period as one
    // task into `tail` (per filter: outputs x size samples for the ring); `task` moves
    // Idle -> Posted (calling thread) -> Running (worker, or the calling thread at the deadline)
    // -> Done -> Idle (the calling thread, once the tail is in the ring).
    bool background = false;
    struct alignas(64) TaskState {  // a cache line of its own: the worker polls it
      std::atomic<int> state{0};
    };
    std::unique_ptr<TaskState> task_line;
    std::atomic<int>* task = nullptr;  // task_line->state
    const PreparedFilter* task_filter[2] = {nullptr, nullptr};
    Floats tail[2];
    std::size_t stride() const { return spectrum_stride(part.size); }
  };
  enum Task : int { kIdle, kPosted, kRunning, kDone };
  // A swap: Idle -> Parallel (from the boundary that accepts it, both filters are computed, the
  // incoming one into ring[1], for each stage from its next period) -> at crossfade_at the
  // block played next mixes the two exact outputs -> Idle on the new filter.
  enum class Phase { Idle, Parallel, Crossfade };

  PartitionPlan plan;
  std::size_t B = 0, nin = 0, nout = 0, taps = 0;
  Filter filter;
  Filter incoming;     // the filter being swapped in
  Filter pending;      // swap_filter's, accepted at a boundary
  Filter retired[2];   // for swap_filter to hand back
  Phase phase = Phase::Idle;
  std::size_t crossfade_at = 0;  // the boundary whose block is the crossfade
  std::size_t quiet_from = 0;    // ring[1] holds no stale sums from this boundary on
  std::vector<Stage> stages;
  std::size_t ring_size = 0;                    // a power of two
  std::vector<Floats> ring[2];                  // per output: sums for future output samples
  std::vector<Floats> in_block, out_block;      // per channel, B samples
  std::vector<Floats> history;                  // per input: the last D - 1 inputs, then a chunk
  Floats head_out, head_new;                    // B: one output's head over one chunk
  Floats ramp;                                  // B: crossfade weights (j + 1) / B
  bool whole_blocks = false;                    // StreamOptions::whole_blocks
  bool background = false;                      // StreamOptions::background
  std::thread worker;                           // runs background stages' tasks
  struct Polled {
    std::atomic<int>* task;
    Stage* stage;
    std::size_t index;
  };
  std::vector<Polled> polled;  // the background stages, shortest first
  std::atomic<bool> stop_worker{false};
  unsigned worker_forks = 0;  // g_forks when the worker started: another value, this is a child
  std::size_t fill = 0;                         // samples in the current block
  std::size_t time = 0;                         // samples consumed at the last boundary

  Filter prepare(const float* h, std::size_t nout_, std::size_t nin_, std::size_t taps_) const;
  std::string plan_key() const { return std::to_string(plan.block) + "/" + plan.describe(); }
  std::string key;  // plan_key(), kept so that swap_filter compares without allocating
  std::size_t state_bytes() const;
  void build();
  std::size_t transition() const;
  void boundary();
  void swap_phase();
  void transform_input(Stage& s);
  void products(Stage& s, int which, const PreparedFilter& f, std::size_t index, std::size_t k0, std::size_t k1);
  void inverse_to_ring(Stage& s, int which, std::size_t start);
  void add_to_ring(int which, std::size_t o, std::size_t at, const float* v, std::size_t n);
  void head(const PreparedFilter& f, std::size_t o, std::size_t c, float* dst) const;
  void process(const float* const* in, float* const* out, std::size_t n);
  void begin_period(Stage& s);
  void run_task(Stage& s, std::size_t index);
  bool claim_and_run(std::atomic<int>& task, Stage& s, std::size_t index);
  void finish_task(Stage& s, std::size_t index);
  void start_worker();
  void end_worker();
  void work();
  ~Impl() { end_worker(); }
};

StreamConvolver::Filter StreamConvolver::Impl::prepare(const float* h, std::size_t nout_,
                                                                                std::size_t nin_, std::size_t taps_) const {
  for (std::size_t i = 0; i < nout_ * nin_ * taps_; ++i)
    if (!std::isfinite(h[i]))
      throw Error("filter: expected finite values, got " + std::to_string(h[i]) + " at index " + std::to_string(i));
  Filter f(new PreparedFilter);
  f->outputs = nout_;
  f->inputs = nin_;
  f->taps = taps_;
  f->plan = plan_key();
  const std::size_t D = plan.direct_taps;
  f->head.assign(nout_ * nin_ * D, 0.0f);
  for (std::size_t p = 0; p < nout_ * nin_; ++p)
    for (std::size_t j = 0; j < D; ++j) f->head[p * D + j] = h[p * taps_ + (D - 1 - j)];
  for (const PartitionStage& s : plan.stages) {
    auto fft = SplitFftPlan::get(2 * s.size);
    const std::size_t stride = spectrum_stride(s.size);
    Spectra spec(s.count * nout_ * nin_ * stride);  // forward() zeroes the padding bins
    Floats buf(2 * s.size);
    const float scale = 1.0f / float(2 * s.size);
    for (std::size_t k = 0; k < s.count; ++k)
      for (std::size_t p = 0; p < nout_ * nin_; ++p) {
        std::fill(buf.begin(), buf.end(), 0.0f);
        const std::size_t start = s.offset + k * s.size;
        const std::size_t n = std::min(s.size, taps_ - std::min(taps_, start));
        for (std::size_t j = 0; j < n; ++j) buf[j] = h[p * taps_ + start + j] * scale;
        float* slot = reinterpret_cast<float*>(spec.data() + (k * nout_ * nin_ + p) * stride);
        fft->forward(buf.data(), slot);
      }
    f->stages.push_back(std::move(spec));
  }
  return f;
}

// The bytes the state and two filters' spectra take (a swap holds two), checked against the
// memory limit as one request before anything is allocated.
std::size_t StreamConvolver::Impl::state_bytes() const {
  long double bytes = 0;
  for (const PartitionStage& p : plan.stages) {
    const long double spectrum = 8.0L * spectrum_stride(p.size);
    bytes += spectrum * p.count * nin;                   // delay line
    bytes += 2 * spectrum * p.count * nin * nout;        // two filters' spectra
    bytes += 4.0L * p.size * (3 * nin + 2 + 2 * nout) + 3 * spectrum * nout;  // periods, window, tails, sums
    bytes += 4.0L * (p.offset + 2 * p.size + 2 * plan.block) * 2 * nout;  // the rings, at most
  }
  bytes += 4.0L * plan.direct_taps * nin * nout * 2;
  return bytes > 1e19L ? SIZE_MAX : std::size_t(bytes);
}

void StreamConvolver::Impl::build() {
  B = plan.block;
  const std::size_t D = plan.direct_taps;
  std::size_t reach = 2 * B;
  stages.clear();
  for (const PartitionStage& p : plan.stages) {
    Stage s;
    s.part = p;
    s.part.offset = p.offset - D;  // the engine filters h[D:] with latency B
    s.blocks = p.size / B;
    s.fft = SplitFftPlan::get(2 * p.size);
    FC_ASSERT(s.fft->stride() == s.stride());
    for (auto& q : s.periods) q.assign(nin, Floats(p.size, 0.0f));
    s.background = background && runs_on_worker(p, B);
    if (s.background) {
      s.task_line = std::make_unique<Stage::TaskState>();
      s.task = &s.task_line->state;
      for (auto& t : s.tail) t.assign(nout * p.size, 0.0f);
    }
    s.delay_line.assign(p.count * nin * s.stride(), Complex(0));
    for (auto& a : s.acc) a.assign(nout * s.stride(), Complex(0));
    s.xs.assign(p.count * nin, nullptr);
    s.hs.assign(p.count * nin, nullptr);
    s.window.assign(2 * p.size, 0.0f);
    reach = std::max(reach, s.part.offset + 2 * p.size + 2 * B);
    stages.push_back(std::move(s));
  }
  ring_size = std::bit_ceil(reach);
  for (auto& r : ring) r.assign(nout, Floats(ring_size, 0.0f));
  in_block.assign(nin, Floats(B, 0.0f));
  out_block.assign(nout, Floats(B, 0.0f));
  history.assign(nin, Floats(D ? D - 1 + B : 0, 0.0f));
  head_out.assign(B, 0.0f);
  head_new.assign(B, 0.0f);
  ramp.resize(B);
  for (std::size_t j = 0; j < B; ++j) ramp[j] = float(j + 1) / float(B);
  fill = 0;
  time = 0;
  phase = Phase::Idle;
  quiet_from = 0;
}

// From the boundary that accepts a swap to its crossfade boundary: the incoming filter's sums
// are exact for engine output samples from (accept + largest stage offset) on.
// (From the plan, which never changes, not from `stages`, which reset() rebuilds: another
// thread may ask while one resets.)
std::size_t StreamConvolver::Impl::transition() const {
  std::size_t s_max = 0;
  for (const PartitionStage& p : plan.stages) s_max = std::max(s_max, p.offset - plan.direct_taps);
  return plan.stages.empty() ? 0 : s_max + plan.block;
}

void StreamConvolver::Impl::add_to_ring(int which, std::size_t o, std::size_t at, const float* v, std::size_t n) {
  float* r = ring[which][o].data();
  const std::size_t mask = ring_size - 1;
  std::size_t pos = at & mask;
  while (n) {
    const std::size_t c = std::min(n, ring_size - pos);
    for (std::size_t j = 0; j < c; ++j) r[pos + j] += v[j];
    v += c;
    n -= c;
    pos = (pos + c) & mask;
  }
}

// The period's input is complete: its window is [periods[lo] | periods[hi]], and the next
// period fills the third buffer (so that a worker can still read these two).
void StreamConvolver::Impl::begin_period(Stage& s) {
  s.lo = (s.cur + 2) % 3;
  s.hi = s.cur;
  s.cur = (s.cur + 1) % 3;
  s.filled = 0;
  s.newest = (s.newest + 1) % s.part.count;
}

// The period's window -> the newest delay-line slot.
void StreamConvolver::Impl::transform_input(Stage& s) {
  const std::size_t P = s.part.size;
  for (std::size_t i = 0; i < nin; ++i) {
    std::memcpy(s.window.data(), s.periods[s.lo][i].data(), P * sizeof(float));
    std::memcpy(s.window.data() + P, s.periods[s.hi][i].data(), P * sizeof(float));
    float* slot = reinterpret_cast<float*>(s.delay_line.data() + (s.newest * nin + i) * s.stride());
    s.fft->forward(s.window.data(), slot);
  }
}

// A background stage's whole period: the forward FFT, the products over every partition and
// the inverse FFTs into `tail`, for the filter (and the incoming one). Runs on the worker, or on
// the calling thread when the worker has not begun it by the deadline.
void StreamConvolver::Impl::run_task(Stage& s, std::size_t index) {
  const std::size_t P = s.part.size;
  transform_input(s);
  for (int which = 0; which < (s.incoming ? 2 : 1); ++which) {
    std::fill(s.acc[which].begin(), s.acc[which].end(), Complex(0));
    products(s, which, *s.task_filter[which], index, 0, s.part.count);
    for (std::size_t o = 0; o < nout; ++o) {
      s.fft->inverse_unscaled(reinterpret_cast<float*>(s.acc[which].data() + o * s.stride()), s.window.data());
      std::memcpy(s.tail[which].data() + o * P, s.window.data() + P, P * sizeof(float));
    }
  }
}

// Runs stage s's task if it is posted and nobody has claimed it (worker and caller race for it
// with one exchange); true when this thread ran it. A plain load first: a failed exchange would
// take the cache line from the other core.
bool StreamConvolver::Impl::claim_and_run(std::atomic<int>& task, Stage& s, std::size_t index) {
  int expected = kPosted;
  if (task.load(std::memory_order_relaxed) != kPosted ||
      !task.compare_exchange_strong(expected, kRunning, std::memory_order_acquire))
    return false;
  run_task(s, index);
  task.store(kDone, std::memory_order_release);
  return true;
}

// The calling thread needs a background stage's task done: takes it if the worker has not
// begun it, else spins until the worker's store of Done (no lock, no system call).
void StreamConvolver::Impl::finish_task(Stage& s, std::size_t index) {
  if (claim_and_run(*s.task, s, index)) return;
  while (s.task->load(std::memory_order_acquire) == kRunning) {
    if (g_forks.load(std::memory_order_relaxed) != worker_forks) {  // a forked child: no worker
      run_task(s, index);                                             // (the whole task, again)
      s.task->store(kDone, std::memory_order_relaxed);
      return;
    }
    cpu_relax();
  }
}

// The worker: takes posted tasks, shortest stages first (their deadlines come soonest); spins
// about 0.1 ms after its last task, then sleeps in steps doubling from 20 us to 0.5 ms, and
// after 0.1 s without a task (a paused stream) in steps of 5 ms: an idle object costs little
// CPU, and the caller never has to wake the worker (no system call in process()). The first
// tasks after a pause may be taken back by the caller.
void StreamConvolver::Impl::work() {
  using Clock = std::chrono::steady_clock;
  using std::chrono::microseconds;
  auto last = Clock::now();
  auto nap = microseconds(20);
  while (!stop_worker.load(std::memory_order_acquire)) {
    bool did = false;
    for (const Polled& p : polled)  // (not the stages themselves: their lines are the calling thread's)
      if (claim_and_run(*p.task, *p.stage, p.index)) {
        did = true;
        break;  // look again from the shortest stage
      }
    const auto idle = Clock::now() - last;
    if (did) {
      last = Clock::now();
      nap = microseconds(20);
    } else if (idle < microseconds(100)) {
      cpu_relax();
    } else {
      std::this_thread::sleep_for(idle > std::chrono::milliseconds(100) ? microseconds(5000) : nap);
      nap = std::min(2 * nap, microseconds(500));
    }
  }
}

void StreamConvolver::Impl::start_worker() {
  polled.clear();
  for (std::size_t si = 0; si < stages.size(); ++si)
    if (stages[si].background) polled.push_back({stages[si].task, &stages[si], si});
  if (polled.empty()) return;
  static std::once_flag registered;
  std::call_once(registered, [] { ::pthread_atfork(nullptr, nullptr, count_fork); });
  worker_forks = g_forks.load(std::memory_order_relaxed);
  stop_worker.store(false);
  try {
    worker = std::thread([this] { work(); });
  } catch (const std::system_error& e) {
    throw Error(std::string("StreamConvolver: background: could not start the worker thread: ") + e.what());
  }
}

void StreamConvolver::Impl::end_worker() {
  if (!worker.joinable()) return;
  if (g_forks.load(std::memory_order_relaxed) != worker_forks) {  // a forked child: the thread is not here
    worker.detach();
    return;
  }
  stop_worker.store(true, std::memory_order_release);
  worker.join();
}

// acc[which] += sum over partitions [k0, k1) of (input spectrum k periods ago) x (partition k).
void StreamConvolver::Impl::products(Stage& s, int which, const PreparedFilter& f, std::size_t index, std::size_t k0,
                                     std::size_t k1) {
  const std::size_t K = s.part.count, stride = s.stride();
  const Spectra& H = f.stages[index];
  for (std::size_t o = 0; o < nout; ++o) {
    std::size_t terms = 0;
    for (std::size_t k = k0; k < k1; ++k) {
      const std::size_t slot = (s.newest + K - k) % K;
      for (std::size_t i = 0; i < nin; ++i, ++terms) {
        s.xs[terms] = reinterpret_cast<const float*>(s.delay_line.data() + (slot * nin + i) * stride);
        s.hs[terms] = reinterpret_cast<const float*>(H.data() + ((k * nout + o) * nin + i) * stride);
      }
    }
    if (terms)
      multiply_add_many(s.xs.data(), s.hs.data(), terms, reinterpret_cast<float*>(s.acc[which].data() + o * stride),
                        stride, stride);  // whole slots: the padding bins are zero
  }
}

// acc[which] -> time; its last `size` samples are added to output samples [start, start + size).
void StreamConvolver::Impl::inverse_to_ring(Stage& s, int which, std::size_t start) {
  const std::size_t P = s.part.size;
  for (std::size_t o = 0; o < nout; ++o) {
    float* sum = reinterpret_cast<float*>(s.acc[which].data() + o * s.stride());
    s.fft->inverse_unscaled(sum, s.window.data());  // the sums are refilled next period
    add_to_ring(which, o, start, s.window.data() + P, P);
  }
}

// A swap's phase changes, at the start of a boundary.
void StreamConvolver::Impl::swap_phase() {
  if (phase == Phase::Crossfade) {  // the crossfade block has been played: the new filter alone
    Filter old = std::move(filter);
    filter = std::move(incoming);
    for (auto& r : retired)
      if (!r) { r = std::move(old); break; }
    std::swap(ring[0], ring[1]);  // ring[1] now holds the old filter's sums in flight: stale
    for (std::size_t si = 0; si < stages.size(); ++si) {
      Stage& s = stages[si];
      if (s.background && s.task->load(std::memory_order_relaxed) != kIdle) finish_task(s, si);  // done with the old filter
      std::swap(s.acc[0], s.acc[1]);
      std::swap(s.tail[0], s.tail[1]);
      s.incoming = false;
    }
    quiet_from = time + ring_size;  // by then emission has cleared every stale sum
    phase = Phase::Idle;
  }
  // Accept a pending swap when the last one has settled and a retired slot is free (so that the
  // old filter can be handed back without freeing it here).
  if (phase == Phase::Idle && pending && time >= quiet_from && (!retired[0] || !retired[1])) {
    incoming = std::move(pending);
    crossfade_at = time + transition();
    phase = Phase::Parallel;
  }
}

// At a block boundary (B new input samples in in_block): feed the stages, do this block's
// share of their work, and move output samples [time - B, time) from the ring to out_block.
//
// A stage's period begins when its `size` input samples are complete: the forward FFT; then
// the products over its partitions, spread over the period's m blocks (one block: all; two:
// half each; m >= 3: blocks 1 .. m - 2); in block m - 1 the inverse FFT, whose last `size`
// samples are the stage's contribution to output samples [T - size + offset, T + offset) for
// the period that began at T. The plan's offset >= 2 size - 2 B makes that in time.
void StreamConvolver::Impl::boundary() {
  time += B;
  swap_phase();
  for (std::size_t si = 0; si < stages.size(); ++si) {
    Stage& s = stages[si];
    for (std::size_t i = 0; i < nin; ++i) std::memcpy(s.periods[s.cur][i].data() + s.filled, in_block[i].data(), B * sizeof(float));
    s.filled += B;
    const std::size_t m = s.blocks, K = s.part.count;
    if (s.filled == s.part.size) {
      begin_period(s);
      s.running = true;
      s.step = 0;
      s.incoming = phase == Phase::Parallel;
      if (s.background) {
        s.task_filter[0] = filter.get();
        s.task_filter[1] = s.incoming ? incoming.get() : nullptr;
        s.task->store(kPosted, std::memory_order_release);
      } else {
        transform_input(s);
        std::fill(s.acc[0].begin(), s.acc[0].end(), Complex(0));
        if (s.incoming) std::fill(s.acc[1].begin(), s.acc[1].end(), Complex(0));
      }
    } else if (!s.running) {
      continue;
    }
    if (s.background) {  // the task's deadline: its tail goes into the rings
      if (s.step + 1 == m) {
        finish_task(s, si);
        const std::size_t start = time - s.step * B - s.part.size + s.part.offset;
        for (int which = 0; which < (s.incoming ? 2 : 1); ++which)
          for (std::size_t o = 0; o < nout; ++o) add_to_ring(which, o, start, s.tail[which].data() + o * s.part.size, s.part.size);
        s.task->store(kIdle, std::memory_order_relaxed);
      }
      s.step = (s.step + 1) % m;
      continue;
    }
    std::size_t k0 = 0, k1 = 0;
    if (m == 1) k1 = K;
    else if (m == 2) k0 = s.step == 0 ? 0 : K / 2, k1 = s.step == 0 ? K / 2 : K;
    else if (s.step >= 1 && s.step + 1 < m) k0 = K * (s.step - 1) / (m - 2), k1 = K * s.step / (m - 2);
    products(s, 0, *filter, si, k0, k1);
    if (s.incoming) products(s, 1, *incoming, si, k0, k1);
    if (s.step + 1 == m) {
      const std::size_t start = time - s.step * B - s.part.size + s.part.offset;
      inverse_to_ring(s, 0, start);
      if (s.incoming) inverse_to_ring(s, 1, start);
    }
    s.step = (s.step + 1) % m;
  }
  // Output samples [time - B, time): from the filter's sums, or during the crossfade block
  // (1 - ramp) of them and ramp of the incoming filter's. Both rings are cleared behind.
  const bool mix = phase == Phase::Parallel && time == crossfade_at;
  if (mix) phase = Phase::Crossfade;
  const std::size_t mask = ring_size - 1;
  for (std::size_t o = 0; o < nout; ++o) {
    float *r0 = ring[0][o].data(), *r1 = ring[1][o].data(), *y = out_block[o].data();
    for (std::size_t j = 0; j < B;) {  // in at most two runs: the ring wraps at most once
      const std::size_t pos = (time - B + j) & mask, c = std::min(B - j, ring_size - pos);
      if (mix)
        for (std::size_t t = 0; t < c; ++t) y[j + t] = (1.0f - ramp[j + t]) * r0[pos + t] + ramp[j + t] * r1[pos + t];
      else
        std::memcpy(y + j, r0 + pos, c * sizeof(float));
      std::memset(r0 + pos, 0, c * sizeof(float));
      std::memset(r1 + pos, 0, c * sizeof(float));
      j += c;
    }
  }
}

// The direct head's output for output o over the chunk of c samples now in `history`.
void StreamConvolver::Impl::head(const PreparedFilter& f, std::size_t o, std::size_t c, float* dst) const {
  const std::size_t D = plan.direct_taps;
  std::fill(dst, dst + c, 0.0f);
  for (std::size_t i = 0; i < nin; ++i) fir_chunk(f.head.data() + (o * nin + i) * D, D, history[i].data(), dst, c);
}

void StreamConvolver::Impl::process(const float* const* in, float* const* out, std::size_t n) {
  const std::size_t D = plan.direct_taps;
  if (whole_blocks) {  // each block is filtered and given back in the same call
    if (n % B) throw Error("process: whole_blocks: expected a multiple of the block (" + std::to_string(B) + "), got " + std::to_string(n));
    for (std::size_t done = 0; done < n; done += B) {
      for (std::size_t i = 0; i < nin; ++i) std::memcpy(in_block[i].data(), in[i] + done, B * sizeof(float));
      boundary();
      for (std::size_t o = 0; o < nout; ++o) std::memcpy(out[o] + done, out_block[o].data(), B * sizeof(float));
    }
    return;
  }
  std::size_t done = 0;
  while (done < n) {
    const std::size_t c = std::min(n - done, B - fill);
    for (std::size_t i = 0; i < nin; ++i) {
      std::memcpy(in_block[i].data() + fill, in[i] + done, c * sizeof(float));
      if (D) std::memcpy(history[i].data() + D - 1, in[i] + done, c * sizeof(float));
    }
    for (std::size_t o = 0; o < nout; ++o) {
      float* y = out[o] + done;
      const float* late = out_block[o].data() + fill;
      if (!D) {
        std::memcpy(y, late, c * sizeof(float));
        continue;
      }
      head(*filter, o, c, head_out.data());
      if (phase == Phase::Crossfade) {  // (1 - ramp) old + ramp new, as the late part
        head(*incoming, o, c, head_new.data());
        for (std::size_t t = 0; t < c; ++t)
          head_out[t] = (1.0f - ramp[fill + t]) * head_out[t] + ramp[fill + t] * head_new[t];
      }
      for (std::size_t t = 0; t < c; ++t) y[t] = late[t] + head_out[t];
    }
    if (D > 1)
      for (std::size_t i = 0; i < nin; ++i) std::memmove(history[i].data(), history[i].data() + c, (D - 1) * sizeof(float));
    fill += c;
    done += c;
    if (fill == B) {
      boundary();
      fill = 0;
    }
  }
}

namespace {

// A filter argument as (outputs, inputs, taps) float32 values.
struct FilterMatrix {
  std::vector<float> values;
  std::size_t outputs = 1, inputs = 1, taps = 0;
};

FilterMatrix filter_matrix(const Array& a) {
  FilterMatrix m;
  if (a.rank() == 1) {
    m.taps = a.shape()[0];
  } else if (a.rank() == 3) {
    m.outputs = a.shape()[0], m.inputs = a.shape()[1], m.taps = a.shape()[2];
  } else {
    throw Error("filters: expected shape (taps,) or (outputs, inputs, taps), got " + shape_to_string(a.shape()));
  }
  if (m.taps == 0 || m.outputs == 0 || m.inputs == 0)
    throw Error("filters: expected at least one tap, input and output, got shape " + shape_to_string(a.shape()));
  if (a.dtype() != DType::Float32 && a.dtype() != DType::Float64)
    throw Error("filters: expected float32 or float64, got " + to_string(a.dtype()));
  if (a.dtype() == DType::Float64)
    for (std::size_t i = 0; i < a.size(); ++i) {
      const double v = a.data_as<double>()[i];
      if (std::isfinite(v) && std::fabs(v) > double(std::numeric_limits<float>::max()))
        throw Error("filters: expected values within float32's range, got " + std::to_string(v) + " at index " + std::to_string(i));
    }
  Array c = Array::copy_of(a.view(), DType::Float32);
  m.values.assign(c.data_as<float>(), c.data_as<float>() + c.size());
  return m;
}

Array vector_array(const std::vector<float>& h) {
  Array a(DType::Float32, {h.size()});
  if (!h.empty()) std::memcpy(a.data(), h.data(), h.size() * sizeof(float));
  return a;
}

}  // namespace

StreamConvolver::StreamConvolver(const std::vector<float>& h, const StreamOptions& options)
    : StreamConvolver(vector_array(h), options) {}

StreamConvolver::StreamConvolver(const Array& filters, const StreamOptions& options) : impl_(std::make_unique<Impl>()) {
  FilterMatrix m = filter_matrix(filters);
  Impl& s = *impl_;
  s.plan = plan_partitions(m.taps, options);
  s.whole_blocks = options.whole_blocks;
  s.background = options.background;
  s.nin = m.inputs;
  s.nout = m.outputs;
  s.taps = m.taps;
  s.key = s.plan_key();
  check_allocation(s.state_bytes(), "StreamConvolver: the partitions' state for " + std::to_string(m.taps) + " taps (" +
                                        s.plan.describe().substr(0, 80) + ")");
  s.filter = s.prepare(m.values.data(), m.outputs, m.inputs, m.taps);
  s.build();
  s.start_worker();
}

void StreamConvolver::FilterDeleter::operator()(PreparedFilter* f) const noexcept { delete f; }

StreamConvolver::~StreamConvolver() = default;
StreamConvolver::StreamConvolver(StreamConvolver&&) noexcept = default;
StreamConvolver& StreamConvolver::operator=(StreamConvolver&&) noexcept = default;

std::size_t StreamConvolver::inputs() const { return impl_->nin; }
std::size_t StreamConvolver::outputs() const { return impl_->nout; }
std::size_t StreamConvolver::taps() const { return impl_->taps; }
std::size_t StreamConvolver::block() const { return impl_->B; }
std::size_t StreamConvolver::latency() const { return impl_->plan.direct_taps || impl_->whole_blocks ? 0 : impl_->B; }
const PartitionPlan& StreamConvolver::plan() const { return impl_->plan; }

void StreamConvolver::process(const float* in, float* out, std::size_t n) {
  if (impl_->nin != 1 || impl_->nout != 1)
    throw Error("process: this filter has " + std::to_string(impl_->nin) + " inputs and " + std::to_string(impl_->nout) +
                " outputs; pass one buffer per channel");
  impl_->process(&in, &out, n);
}

void StreamConvolver::process(const float* const* in, float* const* out, std::size_t n) { impl_->process(in, out, n); }

void StreamConvolver::reset() {
  Impl& s = *impl_;
  s.end_worker();  // the worker may be reading the filters, and build() replaces its stages
  if (s.incoming) s.filter = std::move(s.incoming);  // a swap under way ends on the new filter
  if (s.pending) s.filter = std::move(s.pending);    // a swap not yet accepted too
  s.build();
  s.start_worker();
}

StreamConvolver::Filter StreamConvolver::prepare_filter(const Array& filters) const {
  FilterMatrix m = filter_matrix(filters);
  if (m.outputs != impl_->nout || m.inputs != impl_->nin || m.taps != impl_->taps)
    throw Error("prepare_filter: expected the current filter's shape (" + std::to_string(impl_->nout) + ", " +
                std::to_string(impl_->nin) + ", " + std::to_string(impl_->taps) + "), got (" + std::to_string(m.outputs) +
                ", " + std::to_string(m.inputs) + ", " + std::to_string(m.taps) + ")");
  return impl_->prepare(m.values.data(), m.outputs, m.inputs, m.taps);
}

StreamConvolver::Filter StreamConvolver::prepare_filter(const std::vector<float>& h) const {
  return prepare_filter(vector_array(h));
}

StreamConvolver::Filter StreamConvolver::swap_filter(Filter next) {
  Impl& s = *impl_;
  if (next && (next->outputs != s.nout || next->inputs != s.nin || next->taps != s.taps || next->plan != s.key))
    throw Error("swap_filter: the filter was prepared by a StreamConvolver of another shape or plan (" + next->plan +
                "; this one: " + s.key + "); prepare it with this object's prepare_filter");
  Filter back;
  for (auto& r : s.retired)
    if (r) { back = std::move(r); break; }
  if (s.pending) {  // replaced before it was accepted: hand it back too (or keep it retired)
    if (!back) back = std::move(s.pending);
    else for (auto& r : s.retired) if (!r) { r = std::move(s.pending); break; }
  }
  s.pending = std::move(next);
  return back;
}

std::size_t StreamConvolver::transition_samples() const { return impl_->transition(); }

}  // namespace fourierconv
