// Optimizers with Keras 3's defaults and exact update rules (keras.md section 6).
//   SGD(lr=0.01, momentum=0, nesterov=false): w -= lr g; with momentum m = momentum m - lr g,
//     w += m (nesterov: w += momentum m - lr g).
//   Adam(lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=false), t = iterations+1:
//     alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t); m += (g - m)(1 - beta_1);
//     v += (g^2 - v)(1 - beta_2); w -= m alpha / (sqrt(v) + epsilon)   (amsgrad: v_hat = max)
// Variables counted as Keras counts them for summary(): iteration + learning_rate + slots.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fourierconv/nn/layer.hpp"

namespace fourierconv::nn {

class Optimizer {
 public:
  explicit Optimizer(double learning_rate) : learning_rate_(learning_rate) {}
  virtual ~Optimizer() = default;
  virtual std::string name() const = 0;
  // One step on every weight in `weights` (gradients already filled).
  void apply(const std::vector<Weight*>& weights);
  std::size_t iterations() const { return iterations_; }
  double learning_rate() const { return learning_rate_; }
  bool built() const { return built_; }
  // Floats the optimizer holds for `params` trainable parameters: iteration, learning_rate
  // and the slots (Keras's "Optimizer params").
  virtual std::size_t variable_count(std::size_t params) const = 0;
  // The state in Keras 3's order (its optimizer.variables after iteration and learning_rate):
  // for each weight in `weights` (the model's trainable weights, in order) its slots (SGD with
  // momentum: momentum; Adam: momentum, velocity), then Adam's velocity_hat per weight when
  // amsgrad. Missing slots are created as zeros. For saving and resuming (saving.hpp).
  struct Slot {
    const Weight* weight;          // the weight it belongs to (its shape)
    std::vector<float>* values;
  };
  std::vector<Slot> state(const std::vector<Weight*>& weights);
  void set_iterations(std::size_t n) { iterations_ = n; }
  void set_learning_rate(double lr) { learning_rate_ = lr; }

 protected:
  virtual void update(Weight& w, std::vector<std::vector<float>>& slots) = 0;
  virtual std::size_t slot_count() const = 0;
  // Slots per weight that Keras keeps together with the weight's (the rest follow all weights).
  virtual std::size_t interleaved_slots() const { return slot_count(); }
  double learning_rate_;
  std::size_t iterations_ = 0;

 private:
  bool built_ = false;
  std::map<const Weight*, std::vector<std::vector<float>>> slots_;
};

class SGD : public Optimizer {
 public:
  explicit SGD(double learning_rate = 0.01, double momentum = 0.0, bool nesterov = false);
  std::string name() const override { return "SGD"; }
  std::size_t variable_count(std::size_t params) const override { return 2 + (momentum_ != 0 ? params : 0); }
  double momentum() const { return momentum_; }
  bool nesterov() const { return nesterov_; }

 protected:
  void update(Weight& w, std::vector<std::vector<float>>& slots) override;
  std::size_t slot_count() const override { return momentum_ != 0 ? 1 : 0; }

 private:
  double momentum_;
  bool nesterov_;
};

class Adam : public Optimizer {
 public:
  explicit Adam(double learning_rate = 0.001, double beta_1 = 0.9, double beta_2 = 0.999, double epsilon = 1e-7,
                bool amsgrad = false);
  std::string name() const override { return "Adam"; }
  std::size_t variable_count(std::size_t params) const override { return 2 + (amsgrad_ ? 3 : 2) * params; }
  double beta_1() const { return beta_1_; }
  double beta_2() const { return beta_2_; }
  double epsilon() const { return epsilon_; }
  bool amsgrad() const { return amsgrad_; }

 protected:
  void update(Weight& w, std::vector<std::vector<float>>& slots) override;
  std::size_t slot_count() const override { return amsgrad_ ? 3 : 2; }
  std::size_t interleaved_slots() const override { return 2; }

 private:
  double beta_1_, beta_2_, epsilon_;
  bool amsgrad_;
};

// "adam" | "sgd" with the default arguments and, when > 0, the given learning rate.
std::unique_ptr<Optimizer> make_optimizer(const std::string& name, double learning_rate = 0);

}  // namespace fourierconv::nn
