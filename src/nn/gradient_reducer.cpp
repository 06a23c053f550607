#include "nn/gradient_reducer.hpp"

#include <algorithm>

namespace fourierconv::nn {

GradientReducer::GradientReducer(Communicator* comm, const std::vector<Layer*>& layers, std::size_t bucket_bytes, std::size_t stats)
    : comm_(comm), stats_(stats) {
  buckets_.emplace_back();
  buckets_[0].offset = stats;
  std::size_t bytes = 0;
  for (Layer* L : layers) {
    std::vector<Weight*> ws;
    for (Weight* w : L->weights())
      if (L->weight_trainable(*w)) ws.push_back(w);
    if (ws.empty()) continue;
    if (bytes >= bucket_bytes) {  // this layer opens a new bucket
      buckets_.emplace_back();
      bytes = 0;
    }
    Bucket& b = buckets_.back();
    for (Weight* w : ws) {
      b.weights.push_back(w);
      bytes += w->value.size() * sizeof(double);
    }
    ++b.layers;
    layer_bucket_[L] = buckets_.size() - 1;
  }
  for (Bucket& b : buckets_) {
    std::size_t n = b.offset;
    for (Weight* w : b.weights) n += w->value.size();
    b.buffer.assign(n, 0.0);
  }
}

void GradientReducer::begin() {
  next_ = 0;
  share_ = 0;
  for (Bucket& b : buckets_) {
    std::fill(b.buffer.begin(), b.buffer.end(), 0.0);
    b.pending = b.layers;
  }
}

void GradientReducer::add(Bucket& b, double share) {
  if (share == 0) return;
  double* out = b.buffer.data() + b.offset;
  for (Weight* w : b.weights) {
    const std::size_t n = w->value.size();
    if (w->grad.size() == n) {
      const float* g = w->grad.data();
      for (std::size_t i = 0; i < n; ++i) out[i] += double(g[i]) * share;
    }
    out += n;
  }
}

void GradientReducer::accumulate(double share) {
  for (Bucket& b : buckets_) add(b, share);
}

void GradientReducer::last_pass(double share) { share_ = share; }

void GradientReducer::start(Bucket& b) {
  add(b, share_);
  if (comm_) b.request = comm_->start_allreduce_sum(b.buffer.data(), b.buffer.size());
}

void GradientReducer::layer_ready(Layer& L) {
  auto it = layer_bucket_.find(&L);
  if (it == layer_bucket_.end()) return;
  --buckets_[it->second].pending;
  // Started strictly in order, so that every rank issues the same sequence of collectives.
  while (next_ < buckets_.size() && buckets_[next_].pending == 0) start(buckets_[next_++]);
}

void GradientReducer::finish(double* stats_out) {
  while (next_ < buckets_.size()) start(buckets_[next_++]);
  for (Bucket& b : buckets_) {
    if (comm_) comm_->wait(b.request);
    const double* in = b.buffer.data() + b.offset;
    for (Weight* w : b.weights) {
      const std::size_t n = w->value.size();
      if (w->grad.size() != n) w->grad.resize(w->value.shape());
      float* g = w->grad.data();
      for (std::size_t i = 0; i < n; ++i) g[i] = float(in[i]);
      in += n;
    }
  }
  std::copy(buckets_[0].buffer.begin(), buckets_[0].buffer.begin() + std::ptrdiff_t(stats_), stats_out);
}

}  // namespace fourierconv::nn
