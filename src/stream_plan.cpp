// plan_partitions: how a streaming filter is cut into partitions (stream.hpp), by an
// operation-count cost model. Pure functions, unit-tested in tests/test_stream.cpp.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "fourierconv/error.hpp"
#include "fourierconv/stream.hpp"

namespace fourierconv {
namespace {

constexpr std::size_t kMaxBlock = 65536;
constexpr std::size_t kMaxPartition = 65536;
// Partitions are at most 256 blocks long: the forward or inverse FFT of one such partition
// (2P points) lands whole on one block, so this bounds the worst block's work to about
// 5 * 512 B log2(512 B) flops, in proportion to the block's deadline (up to the log). Measured
// here at B = 64 with 480,000 taps: the worst block 648 us with 65,536-tap partitions against
// a deadline of 1,333 us; 256 B = 16,384 keeps it near 150 us (BENCHMARKS.md, streams).
constexpr std::size_t kMaxPartitionBlocks = 256;
// The fixed cost of a block boundary (bookkeeping, calls, the FFT plans' own overhead), in
// flops: an estimate (about 0.4 us at the ~5 GFLOP/s these loops reach), which keeps the
// zero-latency choice away from tiny blocks; bench/stream_peers.sh checks the choices.
constexpr double kBlockOverhead = 2000;

// Flops of one real FFT of n points (half the usual 5 n log2 n of a complex one).
double real_fft_flops(std::size_t n) { return 2.5 * double(n) * std::log2(double(n)); }
// Flops of the products of one period of a stage: 8 per complex multiply-add.
double product_flops(const PartitionStage& s) { return 8.0 * double(s.count) * double(s.size + 1); }
// A stage's flops per output sample: its two FFTs and its products, once per period.
double stage_flops_per_sample(const PartitionStage& s) {
  return (2 * real_fft_flops(2 * s.size) + product_flops(s)) / double(s.size);
}

// What the plan search minimizes. One thread: flops per sample. With a background worker
// (stream.hpp): the busier of the two threads, the caller (the direct head, the stages that
// stay with it, the boundaries) or the worker (the stages that runs_on_worker).
double score(const PartitionPlan& plan, bool background) {
  if (!background) return plan.flops_per_sample;
  double worker = 0;
  for (const PartitionStage& s : plan.stages)
    if (runs_on_worker(s, plan.block)) worker += stage_flops_per_sample(s);
  return std::max(plan.flops_per_sample - worker, worker);
}

std::size_t ceil_div(std::size_t a, std::size_t b) { return (a + b - 1) / b; }

// A non-uniform plan for `taps` taps handled by partitions (after any direct head): sizes
// B, B f, B f^2 ... for `depth` stages; each stage but the last is as short as the next
// stage's offset rule allows (offset >= 2P - 2B, relative to the start of the partitions).
PartitionPlan non_uniform(std::size_t taps, std::size_t block, std::size_t head, std::size_t factor, std::size_t depth) {
  const std::size_t largest = std::max(block, std::min(kMaxPartition, kMaxPartitionBlocks * block));
  PartitionPlan plan;
  plan.taps = taps;
  plan.block = block;
  plan.direct_taps = head;
  const std::size_t rest = taps - head;
  std::size_t covered = 0, size = block;
  for (std::size_t d = 0; d < depth && covered < rest; ++d) {
    PartitionStage s{size, 0, head + covered};
    const std::size_t next = size * factor;
    if (d + 1 == depth || next > largest) {
      s.count = ceil_div(rest - covered, size);
    } else {
      const std::size_t need = 2 * next - 2 * block;  // the next stage's offset
      s.count = std::max<std::size_t>(1, need > covered ? ceil_div(need - covered, size) : 1);
      s.count = std::min(s.count, ceil_div(rest - covered, size));
    }
    covered += s.count * size;
    plan.stages.push_back(s);
    if (next > largest) break;
    size = next;
  }
  estimate_cost(plan);
  return plan;
}

// The plan for partitions in blocks of B after a direct head of `head` taps.
PartitionPlan plan_at(std::size_t taps, std::size_t B, std::size_t head, PartitionScheme scheme, bool background);

}  // namespace

bool runs_on_worker(const PartitionStage& stage, std::size_t block) {
  return stage.size >= 4 * block;
}

PartitionScheme parse_partition_scheme(const std::string& name) {
  if (name == "auto") return PartitionScheme::Auto;
  if (name == "uniform") return PartitionScheme::Uniform;
  if (name == "non-uniform" || name == "nonuniform") return PartitionScheme::NonUniform;
  throw Error("partition scheme: expected auto, uniform or non-uniform, got '" + name + "'");
}

void estimate_cost(PartitionPlan& plan) {
  const double B = double(plan.block);
  double per_sample = 2.0 * double(plan.direct_taps) + kBlockOverhead / B;
  double worst = 2.0 * double(plan.direct_taps) * B;
  for (const PartitionStage& s : plan.stages) {
    const double fft = real_fft_flops(2 * s.size), products = product_flops(s);
    per_sample += stage_flops_per_sample(s);
    const std::size_t m = s.size / plan.block;  // blocks per period: the work is spread over them
    if (m <= 1) worst += 2 * fft + products;
    else if (m == 2) worst += fft + products / 2;
    else worst += std::max(fft, products / double(m - 2));
  }
  plan.flops_per_sample = per_sample;
  plan.flops_worst_block = worst;
}

PartitionPlan plan_partitions(std::size_t taps, const StreamOptions& options) {
  const std::size_t B = options.block;
  if (taps == 0) throw Error("filter: expected at least 1 tap, got 0");
  if (B == 0 || B > kMaxBlock)
    throw Error("block: expected 1 to " + std::to_string(kMaxBlock) + " samples, got " + std::to_string(B));
  if (options.zero_latency && options.whole_blocks)
    throw Error("stream options: zero_latency and whole_blocks exclude each other (whole blocks already have latency 0)");
  if (options.zero_latency) {
    // Zero latency: a direct head of d taps, then partitions run in blocks of d. Any d <= B
    // gives out[t] = y[t]; the head costs 2d flops per sample, so the cheapest d is usually
    // far below B. Candidates: B and the powers of two from 16 below it.
    PartitionPlan best;
    bool have = false;
    std::vector<std::size_t> ds{B};
    for (std::size_t d = 16; d < B; d *= 2) ds.push_back(d);
    for (std::size_t d : ds) {
      PartitionPlan p = plan_at(taps, d, std::min(d, taps), options.scheme, options.background);
      if (!have || score(p, options.background) < score(best, options.background)) best = p, have = true;
    }
    return best;
  }
  return plan_at(taps, B, 0, options.scheme, options.background);
}

namespace {
PartitionPlan plan_at(std::size_t taps, std::size_t B, std::size_t head, PartitionScheme scheme, bool background) {
  PartitionPlan uniform;
  uniform.taps = taps;
  uniform.block = B;
  uniform.direct_taps = head;
  if (taps > head) uniform.stages.push_back({B, ceil_div(taps - head, B), head});
  estimate_cost(uniform);
  if (scheme == PartitionScheme::Uniform || taps <= head + B) return uniform;

  // With a worker, larger steps too: a long first stage on the caller against fewer, longer
  // stages (fewer FFTs) on the worker balances the two threads.
  std::vector<std::size_t> factors{2, 4, 8};
  if (background) factors.insert(factors.end(), {16, 32, 64});
  PartitionPlan best;
  bool have = false;
  for (std::size_t factor : factors)
    for (std::size_t depth = 2; depth <= 12; ++depth) {
      PartitionPlan p = non_uniform(taps, B, head, factor, depth);
      if (!have || score(p, background) < score(best, background)) best = p, have = true;
      if (p.stages.size() < depth) break;  // the filter ended (or sizes capped) before this depth
    }
  if (scheme == PartitionScheme::NonUniform) return best;
  return score(best, background) < score(uniform, background) ? best : uniform;
}
}  // namespace

std::string PartitionPlan::describe() const {
  std::ostringstream o;
  const char* sep = "";
  if (direct_taps) o << "direct " << direct_taps, sep = " + ";
  for (const PartitionStage& s : stages) o << sep << s.count << "x" << s.size << " @" << s.offset, sep = " + ";
  return o.str();
}

}  // namespace fourierconv
