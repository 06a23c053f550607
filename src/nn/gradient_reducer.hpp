// Internal: the gradient averaging of data-parallel fit (FitArgs::communicator) and of its
// micro-batches (FitArgs::micro_batches).
//
// The trainable weights are grouped into buckets of about `bucket_bytes` (as doubles), in the
// order the backward pass finishes them (the last layers first). During the backward pass of
// a rank's last micro-batch, a bucket's allreduce starts as soon as its last layer is
// finished, while the backward pass of the earlier layers goes on (PyTorch DDP's gradient
// bucketing). Every gradient enters as double, times its micro-batch's share of the global
// batch (n_j / n), so the sum is the gradient of the mean loss over the global batch. The
// order of the sums is fixed: micro-batches in order within a rank, then the ranks by MPI's
// allreduce, in double (README, "Training on several machines").
#pragma once

#include <cstddef>
#include <map>
#include <vector>

#include "fourierconv/nn/communicator.hpp"
#include "fourierconv/nn/layer.hpp"

namespace fourierconv::nn {

class GradientReducer {
 public:
  // comm: null for one process (the sums stay local). `layers_in_ready_order`: every layer, in
  // the order backward finishes them. `stats`: how many doubles travel with the first bucket
  // (the step's loss and metric sums).
  GradientReducer(Communicator* comm, const std::vector<Layer*>& layers_in_ready_order, std::size_t bucket_bytes,
                  std::size_t stats);
  // A new step: the sums are zeroed.
  void begin();
  // A micro-batch's backward pass is done: its gradients, times `share`, join the sums.
  void accumulate(double share);
  // The last micro-batch: its gradients times `share` (0: the rank has none) join the sums
  // bucket by bucket, each then starting its allreduce, as layer_ready reports them final.
  void last_pass(double share);
  void layer_ready(Layer& L);
  // The stats to sum over the ranks (before the first bucket starts).
  double* stats() { return buckets_[0].buffer.data(); }
  // Starts what is not started yet, waits for all, and writes the averaged gradients into the
  // weights and the summed stats into stats_out.
  void finish(double* stats_out);
  std::size_t buckets() const { return buckets_.size(); }

 private:
  struct Bucket {
    std::vector<Weight*> weights;
    std::size_t offset = 0;  // into the buffer: the first bucket's stats come first
    std::vector<double> buffer;
    std::size_t layers = 0, pending = 0;  // layers feeding it; not yet ready this step
    Communicator::Request request = 0;
  };
  void add(Bucket& b, double share);
  void start(Bucket& b);
  Communicator* comm_;
  std::vector<Bucket> buckets_;
  std::map<const Layer*, std::size_t> layer_bucket_;
  std::size_t stats_;
  std::size_t next_ = 0;  // the next bucket to start
  double share_ = 0;
};

}  // namespace fourierconv::nn
