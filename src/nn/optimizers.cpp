#include "fourierconv/nn/optimizers.hpp"

#include <algorithm>
#include <cmath>

#include "fourierconv/error.hpp"
#include "simd.hpp"

namespace fourierconv::nn {

namespace {
// Weights with more elements than this are updated by the whole team.
constexpr std::size_t kParallelUpdate = 32768;
}  // namespace

namespace {
// A weight's slots, (re)made as zeros when missing or of another size (a Weight rebuilt at the
// address of an old one must not inherit its slots).
std::vector<std::vector<float>>& slots_of(std::map<const Weight*, std::vector<std::vector<float>>>& all, const Weight* w,
                                          std::size_t count) {
  auto& slots = all[w];
  bool fresh = slots.size() == count;
  for (auto& s : slots) fresh = fresh && s.size() == w->value.size();
  if (!fresh) slots.assign(count, std::vector<float>(w->value.size(), 0.0f));
  return slots;
}
}  // namespace

void Optimizer::apply(const std::vector<Weight*>& weights) {
  built_ = true;
  for (Weight* w : weights) update(*w, slots_of(slots_, w, slot_count()));
  ++iterations_;
}


std::vector<Optimizer::Slot> Optimizer::state(const std::vector<Weight*>& weights) {
  std::vector<Slot> out;
  for (Weight* w : weights) slots_of(slots_, w, slot_count());
  const std::size_t k = interleaved_slots();
  for (Weight* w : weights)
    for (std::size_t i = 0; i < k; ++i) out.push_back({w, &slots_[w][i]});
  for (std::size_t i = k; i < slot_count(); ++i)
    for (Weight* w : weights) out.push_back({w, &slots_[w][i]});
  built_ = true;
  return out;
}

SGD::SGD(double learning_rate, double momentum, bool nesterov)
    : Optimizer(learning_rate), momentum_(momentum), nesterov_(nesterov) {
  if (!(learning_rate > 0)) throw Error("SGD: learning_rate must be > 0, got " + std::to_string(learning_rate));
  if (!(momentum >= 0 && momentum <= 1)) throw Error("SGD: momentum must be in [0, 1], got " + std::to_string(momentum));
}

namespace {

// The update loops, multiversioned (simd.hpp): element-wise and vectorized (-fno-math-errno
// makes sqrt one instruction); large weights are split across the team.
FC_MULTIVERSION void sgd_step(float* __restrict v, const float* __restrict g, float* __restrict m, std::size_t n, float lr,
                              float mu, bool nesterov) {
  if (!m) {
#pragma omp parallel for schedule(static) if (n > kParallelUpdate)
    for (std::size_t i = 0; i < n; ++i) v[i] -= lr * g[i];
    return;
  }
#pragma omp parallel for schedule(static) if (n > kParallelUpdate)
  for (std::size_t i = 0; i < n; ++i) {
    m[i] = mu * m[i] - lr * g[i];
    v[i] += nesterov ? mu * m[i] - lr * g[i] : m[i];
  }
}

FC_MULTIVERSION void adam_step(float* __restrict v, const float* __restrict g, float* __restrict m, float* __restrict s,
                               float* __restrict vh, std::size_t n, float alpha, float b1, float b2, float eps) {
  if (vh) {
#pragma omp parallel for schedule(static) if (n > kParallelUpdate)
    for (std::size_t i = 0; i < n; ++i) {
      m[i] += (g[i] - m[i]) * b1;
      s[i] += (g[i] * g[i] - s[i]) * b2;
      vh[i] = std::max(vh[i], s[i]);
      v[i] -= m[i] * alpha / (std::sqrt(vh[i]) + eps);
    }
    return;
  }
#pragma omp parallel for schedule(static) if (n > kParallelUpdate)
  for (std::size_t i = 0; i < n; ++i) {
    m[i] += (g[i] - m[i]) * b1;
    s[i] += (g[i] * g[i] - s[i]) * b2;
    v[i] -= m[i] * alpha / (std::sqrt(s[i]) + eps);
  }
}

}  // namespace

void SGD::update(Weight& w, std::vector<std::vector<float>>& slots) {
  sgd_step(w.value.data(), w.grad.data(), slots.empty() ? nullptr : slots[0].data(), w.value.size(), float(learning_rate_),
           float(momentum_), nesterov_);
}

Adam::Adam(double learning_rate, double beta_1, double beta_2, double epsilon, bool amsgrad)
    : Optimizer(learning_rate), beta_1_(beta_1), beta_2_(beta_2), epsilon_(epsilon), amsgrad_(amsgrad) {
  if (!(learning_rate > 0)) throw Error("Adam: learning_rate must be > 0, got " + std::to_string(learning_rate));
  if (!(beta_1 >= 0 && beta_1 < 1) || !(beta_2 >= 0 && beta_2 < 1)) throw Error("Adam: beta_1 and beta_2 must be in [0, 1)");
}

void Adam::update(Weight& w, std::vector<std::vector<float>>& slots) {
  const double t = double(iterations_ + 1);
  const float alpha = float(learning_rate_ * std::sqrt(1 - std::pow(beta_2_, t)) / (1 - std::pow(beta_1_, t)));
  adam_step(w.value.data(), w.grad.data(), slots[0].data(), slots[1].data(), amsgrad_ ? slots[2].data() : nullptr,
            w.value.size(), alpha, float(1 - beta_1_), float(1 - beta_2_), float(epsilon_));
}

std::unique_ptr<Optimizer> make_optimizer(const std::string& name, double lr) {
  if (name == "adam") return lr > 0 ? std::make_unique<Adam>(lr) : std::make_unique<Adam>();
  if (name == "sgd") return lr > 0 ? std::make_unique<SGD>(lr) : std::make_unique<SGD>();
  throw Error("optimizer: expected adam or sgd; got '" + name + "'");
}

}  // namespace fourierconv::nn
