// Real-time FIR filtering of streams: a fixed filter applied to a signal as it arrives, block by
// block, with bounded latency. The output equals a one-shot convolve(x, h, "full") of the whole
// stream (within float32 rounding), delayed by latency() samples.
//
// Algorithm: partitioned convolution in the frequency domain (overlap-save), as in real-time
// audio convolvers (Gardner, "Efficient convolution without input-output delay", JAES 1995;
// Wefers, "Partitioned convolution algorithms for real-time auralization", 2015):
// - the filter is cut into partitions; a stage is `count` partitions of `size` taps starting
//   at filter tap `offset`, run as uniformly partitioned overlap-save: each `size` new input
//   samples are transformed once (an FFT of 2*size) into a frequency-domain delay line, and the
//   stage's output is the sum over its partitions of (spectrum of the input `k` periods ago) x
//   (spectrum of partition k), transformed back;
// - uniform plan: one stage of block-sized partitions. Its work per sample grows with the
//   filter length (every partition's product, every block);
// - non-uniform plan: short partitions first, then partitions 4x longer, and so on, which do
//   fewer products per sample. A stage of partitions P > B samples long starts late enough in
//   the filter (offset >= 2P - 2B) that its work for one period of P input samples can be spread
//   evenly over the P/B blocks of the next period: the forward FFT in the first, the products
//   in the middle ones, the inverse FFT in the last. No block carries a whole large partition.
// - zero latency (options.zero_latency): the first d <= B taps are computed directly in time
//   per sample, and the rest of the filter runs through partitions in blocks of d with latency
//   d, so out[t] = y[t] (zita-convolver's and JUCE's scheme). d is the cost model's choice
//   (B, or a power of two from 16 below it: the direct head costs 2d flops per sample).
// The plan is chosen by plan_partitions, a pure function of (taps, block, options) using an
// operation-count cost model (flops per output sample).
//
// Real-time safety: process() allocates nothing, takes no lock and makes no system call (tested
// with a counting allocator). Everything is allocated by the constructor and prepare_filter().
// Filter swaps: prepare_filter(h) computes the new filter's spectra (it allocates: call it off
// the audio thread if that matters); swap_filter() is real-time safe. From the next block
// boundary on, both filters are computed (the input spectra are shared; the products and the
// inverse FFTs run twice, so blocks cost up to twice as much) until the new filter's output is
// exact; then one block crossfades linearly from the old filter's exact output to the new
// one's, and the old filter is dropped. Before the crossfade block the output is exactly
// convolve(x, h_old), after it exactly convolve(x, h_new): no click, no transient.
//
// Background (options.background): each stage that runs_on_worker (partitions of P = m B
// samples, m >= 4) has, for each period, its forward FFT, products and inverse FFTs
// done as one task by a worker thread the object owns, posted at the period's first block with
// an atomic store; the result is added to the output at the period's last block, m - 1 blocks
// later. That is the worker's deadline: (m - 1) B samples of real time, at least 3 blocks (4 ms
// at B = 64 and 48 kHz). At the deadline process() runs the task itself if the worker has
// not begun it, or spins until the worker's is done: no lock and no system call on the calling
// thread. The worst block is its own work plus, at most, one task per worker stage (their
// deadlines can fall on the same block), or at the end of a filter swap every task in flight.
// The worker spins for about 0.1 ms after a task, then sleeps in steps growing to 0.5 ms (5 ms
// after 0.1 s without a task: an idle object costs little CPU, and nobody has to wake it), so
// it begins a task within about 0.5 ms plus the system's scheduling delay. The worker allocates
// nothing. The output equals the one-thread object's within float32 rounding (the products are
// summed in other groups) but the plan itself is chosen for two threads (plan_partitions):
// its transition_samples() can differ, a filter prepared by an object without background is
// refused by swap_filter, and the total work can be larger (the busier thread's is smaller).
// reset() joins and restarts the worker (not real-time safe with background). After fork() a
// child's objects run every task on the calling thread (a child has no worker threads).
// The worker inherits the scheduling policy and priority of the thread that constructs the
// object (or calls reset(), which restarts it): in a real-time host, construct it on a real-time
// thread (as zita-convolver runs its workers at real-time priorities), since a worker preempted
// in the middle of a task makes the calling thread wait at that task's deadline.
// This is the split FFTConvolver's two-stage convolver leaves to its user
// (startBackgroundProcessing); here the plan search also balances the two threads.
//
// Memory: the state and two filters' spectra are checked against the memory limit
// (memory_limit.hpp) as one request before anything is allocated. Non-finite input samples
// spread, as in any FFT convolution, over the partitions they enter (up to the filter's length
// after them, and up to one partition before their delayed position), then the output recovers.
//
// Threads: one StreamConvolver is used by one thread at a time (the Python binding adds a lock);
// separate objects are independent. Errors: fourierconv::Error naming the argument (an empty filter, NaN or Inf in
// the filter, a block of 0 or over 65,536, mismatched channel counts).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "fourierconv/array.hpp"

namespace fourierconv {

// One stage of a partition plan: `count` partitions of `size` taps, covering filter taps
// [offset, offset + count * size), each transformed with a real FFT of 2 * size.
struct PartitionStage {
  std::size_t size = 0;
  std::size_t count = 0;
  std::size_t offset = 0;
};

enum class PartitionScheme { Auto, Uniform, NonUniform };
PartitionScheme parse_partition_scheme(const std::string& name);  // "auto", "uniform", "non-uniform"

struct StreamOptions {
  std::size_t block = 64;      // B: samples per block, 1 ... 65,536; the latency unless zero_latency
  bool zero_latency = false;   // compute the first B taps directly: latency 0
  PartitionScheme scheme = PartitionScheme::Auto;
  // The caller promises whole blocks: every process() call brings a multiple of B samples (an
  // audio callback of B frames). Each call's output is then its own input filtered (latency
  // 0, as FFTConvolver's for block-aligned calls), with no direct head. A call of another
  // length is an error. Not with zero_latency.
  bool whole_blocks = false;
  // Run the stages of partitions of 4 blocks and more on a worker thread that this object owns
  // (FFTConvolver's "background processing", made real): see "Background" above. The shorter
  // stages and the direct head stay on the calling thread. Off by default: the worker takes a
  // second core.
  bool background = false;
};

// How a filter of `taps` taps is cut. block: the engine's block (options.block, or d with
// zero_latency); direct_taps: taps computed directly in time (min(d, taps) with zero_latency,
// else 0); stages: in filter order, contiguous, covering [direct_taps, taps).
struct PartitionPlan {
  std::size_t taps = 0;
  std::size_t block = 0;
  std::size_t direct_taps = 0;
  std::vector<PartitionStage> stages;
  // Estimated floating-point operations per output sample per (input, output) channel pair:
  // 2 FFTs of 2P per P samples (5 * 2P * log2(2P) / P each, the usual FFT flop count) plus
  // 8 flops per complex multiply-add, (P + 1) per partition per P samples, plus 2 flops per
  // direct tap, plus a fixed 2,000 per block boundary.
  double flops_per_sample = 0;
  // Largest number of flops one block can carry (the worst-case block), by the same model.
  double flops_worst_block = 0;
  std::string describe() const;  // "direct 64 + 64x16 @0 + 256x12 @1024 ..."
};

// The plan a StreamConvolver of these options uses for a filter of `taps` taps. Pure: the same
// arguments always give the same plan. Uniform: one stage of B-tap partitions. Non-uniform:
// partitions grow by a factor of 2, 4 or 8 per stage (with background also 16, 32 or 64), each
// stage but the last as short as the next one's offset rule allows (offset >= 2P - 2B, so its
// work spreads over a period), up to
// min(65,536, 256 B) taps (one FFT of a partition lands whole on one block: this bounds the
// worst block); of these, the plan of least flops_per_sample. Auto: the cheaper of uniform and
// non-uniform.
PartitionPlan plan_partitions(std::size_t taps, const StreamOptions& options);
// The cost model alone (fills flops_per_sample and flops_worst_block of `plan`).
void estimate_cost(PartitionPlan& plan);
// With options.background, whether a stage runs on the worker: partitions of at least 4 blocks
// (3 blocks from a task's posting to its deadline; a task due the next block would mostly be
// taken back by the caller). The others stay on the calling thread. With a worker the plan search
// minimizes the busier thread's flops per sample, among more plans (larger steps between
// stages: a long first stage on the caller, fewer FFTs on the worker).
bool runs_on_worker(const PartitionStage& stage, std::size_t block);

class StreamConvolver {
 public:
  // A single-channel filter of h.size() >= 1 taps.
  explicit StreamConvolver(const std::vector<float>& h, const StreamOptions& options = {});
  // A filter matrix: `filters` float32 or float64 of shape (taps,) (one channel in and out) or
  // (outputs, inputs, taps): output o = sum over i of convolve(input i, filters[o, i]).
  explicit StreamConvolver(const Array& filters, const StreamOptions& options = {});
  ~StreamConvolver();
  StreamConvolver(StreamConvolver&&) noexcept;
  StreamConvolver& operator=(StreamConvolver&&) noexcept;

  std::size_t inputs() const;
  std::size_t outputs() const;
  std::size_t taps() const;
  std::size_t block() const;  // the engine's block: options.block, or d with zero_latency
  // Samples between an input sample and the output that first contains it: B, or 0 (with
  // zero_latency or whole_blocks).
  std::size_t latency() const;
  const PartitionPlan& plan() const;

  // One channel in and out: in[0..n) -> out[0..n). Any n, including 0; in and out may alias.
  void process(const float* in, float* out, std::size_t n);
  // in[i][0..n) for each input, out[o][0..n) for each output. Output buffers must not alias
  // input buffers of other channels.
  void process(const float* const* in, float* const* out, std::size_t n);
  // Back to silence (as if newly made); keeps the filter.
  void reset();

  // A filter prepared for swap_filter: the same shape (outputs, inputs, taps) as the current
  // one, so the plan and the state carry over. swap_filter refuses one prepared by an object of
  // another plan (another block, scheme, latency mode or background setting).
  struct PreparedFilter;
  struct FilterDeleter {
    void operator()(PreparedFilter* f) const noexcept;
  };
  using Filter = std::unique_ptr<PreparedFilter, FilterDeleter>;
  Filter prepare_filter(const Array& filters) const;
  Filter prepare_filter(const std::vector<float>& h) const;
  // Real-time safe. The crossfade covers output samples [b, b + B) ([b - B, b) with
  // whole_blocks): b = a + transition_samples(), where a is the first multiple of B greater
  // than the number of samples processed before the call (later while an earlier swap settles, which takes a few times the
  // longest partition after its crossfade). Returns a filter retired by an earlier swap (or a
  // pending swap this one replaced), else null, for the caller to free off the audio thread;
  // while two retired filters wait to be collected, a new swap waits too. swap_filter(nullptr)
  // only collects.
  Filter swap_filter(Filter next);
  // Samples from a swap's acceptance to its crossfade: B plus the offset of the last stage (until
  // then some of the new filter's sums would miss input from before the swap).
  std::size_t transition_samples() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fourierconv
