// Model's training loop, Keras's: compile, fit, evaluate, predict, train_on_batch, and the
// parameter counts. The graph they run is in model.cpp.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "fourierconv/error.hpp"
#include "fourierconv/nn/model.hpp"
#include "fourierconv/nn/progress.hpp"
#include "nn/batching.hpp"

namespace fourierconv::nn {

const Shape& Model::input_shape() const {
  static const Shape none;
  return inputs_.empty() ? none : inputs_[0].shape;
}

Shape Model::output_shape() const {
  if (!built_ || outputs_.empty()) throw Error(name_ + ": the model is not built (give it an input shape)");
  return nodes_[outputs_[0]].shape;
}

std::vector<Shape> Model::input_shapes() const {
  std::vector<Shape> s;
  for (auto& in : inputs_) s.push_back(in.shape);
  return s;
}

std::vector<Shape> Model::output_shapes() const {
  std::vector<Shape> s;
  for (auto o : outputs_) s.push_back(nodes_[o].shape);
  return s;
}

std::vector<std::string> Model::input_names() const {
  std::vector<std::string> s;
  for (auto& in : inputs_) s.push_back(in.name);
  return s;
}

std::vector<std::string> Model::output_names() const {
  std::vector<std::string> s;
  for (auto o : outputs_) s.push_back(nodes_[o].layer ? nodes_[o].layer->name() : inputs_[nodes_[o].input].name);
  return s;
}

Layer& Model::layer(const std::string& name) {
  for (auto& l : layers_)
    if (l->name() == name) return *l;
  throw Error(name_ + ": no layer named '" + name + "'");
}

void Model::compile(std::unique_ptr<Optimizer> optimizer, Loss loss, std::vector<std::string> metrics) {
  if (!optimizer) throw Error(name_ + ".compile: optimizer is null");
  for (auto& m : metrics)
    if (m != "accuracy" && m != "acc") throw Error(name_ + ".compile: unknown metric '" + m + "' (supported: accuracy)");
  optimizer_ = std::move(optimizer);
  loss_ = loss;
  metrics_ = std::move(metrics);
}

void Model::compile(const std::string& optimizer, const std::string& loss, std::vector<std::string> metrics) {
  compile(make_optimizer(optimizer), Loss::parse(loss), std::move(metrics));
}

std::size_t Model::count_params() const {
  std::size_t n = 0;
  for (auto& l : layers_) n += l->count_params();
  return n;
}

std::size_t Model::count_trainable_params() const {
  std::size_t n = 0;
  for (auto& l : layers_) n += l->count_trainable_params();
  return n;
}

std::vector<Weight*> Model::trainable_weights() {
  std::vector<Weight*> w;
  for (auto& l : layers_)
    for (Weight* x : l->weights())
      if (l->weight_trainable(*x)) w.push_back(x);
  return w;
}

std::size_t count_correct(const float* p, const float* y, std::size_t n, std::size_t k, bool sparse) {
  std::size_t correct = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const float* row = p + i * k;
    if (k == 1 && !sparse) {  // binary accuracy, threshold 0.5
      correct += (row[0] > 0.5f) == (y[i] > 0.5f);
      continue;
    }
    std::size_t am = std::size_t(std::max_element(row, row + k) - row);
    std::size_t want = sparse ? std::size_t(y[i]) : std::size_t(std::max_element(y + i * k, y + (i + 1) * k) - (y + i * k));
    correct += am == want;
  }
  return correct;
}

void Model::check_inputs(const std::vector<const Tensor*>& xs, const char* who) const {
  if (!built_)
    throw Error(name_ + "." + who + ": the model is not built (give the first layer an input_shape or add an Input)");
  if (xs.size() != inputs_.size())
    throw Error(name_ + "." + who + ": the model has " + std::to_string(inputs_.size()) + " inputs (" +
                [&] {
                  std::string s;
                  for (auto& in : inputs_) s += (s.empty() ? "" : ", ") + in.name;
                  return s;
                }() +
                "), got " + std::to_string(xs.size()) + " arrays");
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const Shape& want = inputs_[i].shape;
    const Tensor& x = *xs[i];
    const std::string which = xs.size() == 1 ? "x" : "input " + std::to_string(i) + " (" + inputs_[i].name + ")";
    if (x.rank() != want.size() + 1 || !std::equal(want.begin(), want.end(), x.shape().begin() + 1))
      throw Error(name_ + "." + who + ": " + which + " must have shape " + batch_shape_text(want) + ", got " +
                  x.shape_string());
    if (x.dim(0) != xs[0]->dim(0))
      throw Error(name_ + "." + who + ": every input must have the same number of samples, got " + std::to_string(xs[0]->dim(0)) +
                  " and " + std::to_string(x.dim(0)));
  }
}

void Model::check_xy(const std::vector<const Tensor*>& xs, const Tensor& y, const char* who) const {
  check_inputs(xs, who);
  const bool fitting = std::string(who).rfind("fit", 0) == 0;
  if (outputs_.size() != 1)
    throw Error(name_ + "." + who + ": the model has " + std::to_string(outputs_.size()) +
                " outputs; fit and evaluate take models of one output (one loss); predict takes any");
  const Tensor& x = *xs[0];
  if (x.dim(0) == 0)
    throw Error(name_ + "." + who + ": x has no samples (shape " + x.shape_string() + "): the " +
                (fitting ? "training" : "loss and metrics") + " of zero samples " +
                (fitting ? "has nothing to learn from" : "are undefined"));
  if (y.rank() == 0 || y.dim(0) != x.dim(0))
    throw Error(name_ + "." + who + ": x and y must have the same number of samples, got " + std::to_string(x.dim(0)) +
                " and " + (y.rank() ? std::to_string(y.dim(0)) : std::string("a scalar")));
  loss_.check_targets(y, y.dim(0), shape_size(output_shape()));
}


double Model::train_on_batch(const Tensor& x, const Tensor& y, std::size_t* correct) { return train_on_batch(std::vector<const Tensor*>{&x}, y, correct); }

double Model::train_on_batch(const std::vector<const Tensor*>& xs, const Tensor& y, std::size_t* correct) {
  if (!optimizer_) throw Error(name_ + ": fit before compile: call compile(optimizer, loss) first");
  if (outputs_.size() != 1) throw Error(name_ + ": train_on_batch takes models of one output");
  const double loss = forward_backward(xs, y, correct);
  apply_update();
  return loss;
}

double Model::forward_backward(const std::vector<const Tensor*>& xs, const Tensor& y, std::size_t* correct,
                               const std::function<void(Layer&)>& on_ready) {
  const Tensor& p = *forward(xs, true)[0];
  const std::size_t n = xs[0]->dim(0), k = p.size() / n;
  const double loss = loss_.value(p.data(), y.data(), n, k) + regularization_loss(n);
  if (correct) *correct += count_correct(p.data(), y.data(), n, k, loss_.kind() == Loss::Kind::SparseCategoricalCrossentropy);
  loss_grad_.resize(p.shape());
  const Layer* last = nodes_[outputs_[0]].layer;
  const bool fused = last && loss_.is_crossentropy() && !loss_.from_logits() && last->activation() == Activation::Softmax &&
                     !last->activity_regularizer().active();
  if (fused) loss_.softmax_gradient(p.data(), y.data(), n, k, loss_grad_.data());
  else loss_.gradient(p.data(), y.data(), n, k, loss_grad_.data());
  last_loss_ = loss;
  backward(loss_grad_, fused, n, on_ready);
  return loss;
}

void Model::apply_update() {
  for (auto& l : layers_)
    for (Weight* w : l->weights())
      if (w->regularizer.active() && l->weight_trainable(*w)) w->regularizer.add_gradient(w->value.data(), w->grad.data(), w->value.size());
  optimizer_->apply(trainable_weights());
  for (auto& l : layers_)
    for (Weight* w : l->weights())
      if (w->constraint.active() && l->weight_trainable(*w)) w->constraint.apply(w->value);
}

Evaluation Model::evaluate(const Tensor& x, const Tensor& y, std::size_t batch_size, int verbose) {
  return evaluate(std::vector<const Tensor*>{&x}, y, batch_size, verbose);
}

Evaluation Model::evaluate(const std::vector<const Tensor*>& xs, const Tensor& y, std::size_t batch_size, int verbose) {
  check_xy(xs, y, "evaluate");
  if (batch_size == 0) throw Error(name_ + ".evaluate: batch_size must be >= 1");
  if (verbose < 0) verbose = auto_verbose();
  const std::size_t N = xs[0]->dim(0);
  auto [loss_sum, correct] = evaluate_sums(xs, y, 0, N, batch_size, verbose);
  return {loss_sum / double(N), double(correct) / double(N)};
}

std::pair<double, std::size_t> Model::evaluate_sums(const std::vector<const Tensor*>& xs, const Tensor& y, std::size_t from,
                                                    std::size_t to, std::size_t batch_size, int verbose) {
  const std::size_t steps = (to - from + batch_size - 1) / batch_size;
  const bool sparse = loss_.kind() == Loss::Kind::SparseCategoricalCrossentropy;
  auto all = iota(xs[0]->dim(0));
  std::vector<Tensor> bxs;
  std::vector<const Tensor*> bx;
  Tensor by;
  double loss_sum = 0;
  std::size_t correct = 0;
  ProgressBar bar(steps, verbose);
  Logs logs;
  for (std::size_t s = 0; s < steps; ++s) {
    const std::size_t lo = from + s * batch_size, hi = std::min(to, lo + batch_size);
    gather_all(xs, all, lo, hi, bxs, bx);
    gather_rows(y, all, lo, hi, by);
    const Tensor& p = *forward(bx, false)[0];
    const std::size_t n = hi - lo, k = p.size() / n;
    loss_sum += (loss_.value(p.data(), by.data(), n, k) + regularization_loss(n)) * double(n);
    correct += count_correct(p.data(), by.data(), n, k, sparse);
    logs = {{"accuracy", double(correct) / double(hi - from)}, {"loss", loss_sum / double(hi - from)}};
    bar.update(s + 1, logs);
  }
  return {loss_sum, correct};
}

Tensor Model::predict(const Tensor& x, std::size_t batch_size) {
  if (built_ && outputs_.size() != 1)
    throw Error(name_ + ".predict: the model has " + std::to_string(outputs_.size()) + " outputs; use the list form, predict({&x, ...})");
  return std::move(predict(std::vector<const Tensor*>{&x}, batch_size)[0]);
}

std::vector<Tensor> Model::predict(const std::vector<const Tensor*>& xs, std::size_t batch_size) {
  check_inputs(xs, "predict");
  if (batch_size == 0) throw Error(name_ + ".predict: batch_size must be >= 1");
  const std::size_t N = xs[0]->dim(0);
  std::vector<Tensor> outs;
  for (auto o : outputs_) {
    Shape os{N};
    for (auto d : nodes_[o].shape) os.push_back(d);
    outs.emplace_back(os);
  }
  if (N == 0) return outs;  // no samples, no predictions: (0, outputs...), as Keras and PyTorch
  auto all = iota(N);
  std::vector<Tensor> bxs;
  std::vector<const Tensor*> bx;
  for (std::size_t from = 0; from < N; from += batch_size) {
    const std::size_t to = std::min(N, from + batch_size);
    const std::vector<const Tensor*>* in = &xs;
    if (!(from == 0 && to == N)) {
      gather_all(xs, all, from, to, bxs, bx);
      in = &bx;
    }
    const auto& ps = forward(*in, false);
    for (std::size_t k = 0; k < outs.size(); ++k) {
      const std::size_t row = outs[k].size() / N;
      std::memcpy(outs[k].data() + from * row, ps[k]->data(), ps[k]->size() * sizeof(float));
    }
  }
  return outs;
}

void Model::summary(SummaryArgs args) const { std::fputs(summary_text(args).c_str(), stdout); }

}  // namespace fourierconv::nn
