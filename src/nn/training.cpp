// Model's training loop, Keras's: compile, fit, evaluate, predict, train_on_batch, and the
// parameter counts. The graph they run is in model.cpp.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "fourierconv/error.hpp"
#include "fourierconv/nn/model.hpp"
#include "fourierconv/nn/progress.hpp"

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

namespace {

// Copies rows idx[from, to) of t (N, ...) into out (to - from, ...).
void gather_rows(const Tensor& t, const std::vector<std::size_t>& idx, std::size_t from, std::size_t to, Tensor& out) {
  const std::size_t row = t.dim(0) ? t.size() / t.dim(0) : 0;
  Shape s = t.shape();
  s[0] = to - from;
  out.resize(s);
  for (std::size_t i = from; i < to; ++i) std::memcpy(out.data() + (i - from) * row, t.data() + idx[i] * row, row * sizeof(float));
}

void gather_all(const std::vector<const Tensor*>& xs, const std::vector<std::size_t>& idx, std::size_t from, std::size_t to,
                std::vector<Tensor>& out, std::vector<const Tensor*>& ptrs) {
  out.resize(xs.size());
  ptrs.resize(xs.size());
  for (std::size_t i = 0; i < xs.size(); ++i) {
    gather_rows(*xs[i], idx, from, to, out[i]);
    ptrs[i] = &out[i];
  }
}

std::vector<std::size_t> iota(std::size_t n, std::size_t start = 0) {
  std::vector<std::size_t> v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}

}  // namespace

double Model::train_on_batch(const Tensor& x, const Tensor& y, std::size_t* correct) { return train_on_batch(std::vector<const Tensor*>{&x}, y, correct); }

double Model::train_on_batch(const std::vector<const Tensor*>& xs, const Tensor& y, std::size_t* correct) {
  if (!optimizer_) throw Error(name_ + ": fit before compile: call compile(optimizer, loss) first");
  if (outputs_.size() != 1) throw Error(name_ + ": train_on_batch takes models of one output");
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
  backward(loss_grad_, fused, n);
  for (auto& l : layers_)
    for (Weight* w : l->weights())
      if (w->regularizer.active() && l->weight_trainable(*w)) w->regularizer.add_gradient(w->value.data(), w->grad.data(), w->value.size());
  optimizer_->apply(trainable_weights());
  for (auto& l : layers_)
    for (Weight* w : l->weights())
      if (w->constraint.active() && l->weight_trainable(*w)) w->constraint.apply(w->value);
  return loss;
}

History Model::fit(const Tensor& x, const Tensor& y, FitArgs a) { return fit(std::vector<const Tensor*>{&x}, y, a); }

History Model::fit(const std::vector<const Tensor*>& xs, const Tensor& y, FitArgs a) {
  if (!optimizer_) throw Error(name_ + ".fit: the model is not compiled: call compile(optimizer, loss) first");
  check_xy(xs, y, "fit");
  if (a.batch_size == 0) throw Error(name_ + ".fit: batch_size must be >= 1");
  if (!(a.validation_split >= 0 && a.validation_split < 1))
    throw Error(name_ + ".fit: validation_split must be in [0, 1), got " + std::to_string(a.validation_split));
  const int verbose = a.verbose < 0 ? auto_verbose() : a.verbose;
  const std::size_t N = xs[0]->dim(0);
  std::size_t n_train = N;
  std::vector<Tensor> vxs;
  std::vector<const Tensor*> val_x;
  Tensor vy;
  const Tensor* val_y = nullptr;
  if (a.validation_x || a.validation_y) {
    if (!a.validation_x || !a.validation_y) throw Error(name_ + ".fit: validation_x and validation_y go together");
    if (xs.size() != 1) throw Error(name_ + ".fit: validation_x is for models of one input; use validation_split");
    check_xy({a.validation_x}, *a.validation_y, "fit (validation data)");
    val_x = {a.validation_x};
    val_y = a.validation_y;
  } else if (a.validation_split > 0) {
    n_train = std::size_t(std::floor(double(N) * (1.0 - a.validation_split)));
    if (n_train == 0 || n_train == N)
      throw Error(name_ + ".fit: validation_split " + std::to_string(a.validation_split) + " leaves an empty training or validation set of " + std::to_string(N) + " samples");
    auto idx = iota(N - n_train, n_train);
    gather_all(xs, idx, 0, idx.size(), vxs, val_x);
    gather_rows(y, idx, 0, idx.size(), vy);
    val_y = &vy;
  }
  const bool show_acc = !metrics_.empty();
  const std::string acc_name = show_acc ? metrics_[0] : "accuracy";
  std::mt19937_64 rng(a.seed);
  std::vector<std::size_t> order = iota(n_train);
  const std::size_t steps = (n_train + a.batch_size - 1) / a.batch_size;
  History hist;
  std::vector<Tensor> bxs;
  std::vector<const Tensor*> bx;
  Tensor by;
  for (std::size_t epoch = 0; epoch < a.epochs; ++epoch) {
    if (verbose && a.epochs > 1) std::printf("Epoch %zu/%zu\n", epoch + 1, a.epochs);
    if (a.shuffle) std::shuffle(order.begin(), order.end(), rng);
    ProgressBar bar(steps, verbose);
    const auto t0 = std::chrono::steady_clock::now();
    double loss_sum = 0;
    std::size_t seen = 0, correct = 0;
    Logs logs;
    for (std::size_t s = 0; s < steps; ++s) {
      const std::size_t from = s * a.batch_size, to = std::min(n_train, from + a.batch_size);
      gather_all(xs, order, from, to, bxs, bx);
      gather_rows(y, order, from, to, by);
      const double l = train_on_batch(bx, by, &correct);
      if (!std::isfinite(l))
        throw Error(name_ + ".fit: the loss became " + (std::isnan(l) ? std::string("NaN") : std::string("Inf")) + " at epoch " +
                    std::to_string(epoch + 1) + ", step " + std::to_string(s + 1) + "; lower the learning rate or check the data");
      loss_sum += l * double(to - from);
      seen += to - from;
      logs.clear();
      if (show_acc) logs.push_back({acc_name, double(correct) / double(seen)});
      logs.push_back({"loss", loss_sum / double(seen)});
      if (s + 1 < steps) bar.update(s + 1, logs);
    }
    hist.history["loss"].push_back(loss_sum / double(seen));
    if (show_acc) hist.history[acc_name].push_back(double(correct) / double(seen));
    if (val_y) {
      Evaluation ev = evaluate(val_x, *val_y, a.batch_size, 0);
      if (show_acc) logs.push_back({"val_" + acc_name, ev.accuracy});
      logs.push_back({"val_loss", ev.loss});
      if (show_acc) hist.history["val_" + acc_name].push_back(ev.accuracy);
      hist.history["val_loss"].push_back(ev.loss);
    }
    bar.update(steps, logs, true);
    hist.epoch_seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return hist;
}

Evaluation Model::evaluate(const Tensor& x, const Tensor& y, std::size_t batch_size, int verbose) {
  return evaluate(std::vector<const Tensor*>{&x}, y, batch_size, verbose);
}

Evaluation Model::evaluate(const std::vector<const Tensor*>& xs, const Tensor& y, std::size_t batch_size, int verbose) {
  check_xy(xs, y, "evaluate");
  if (batch_size == 0) throw Error(name_ + ".evaluate: batch_size must be >= 1");
  if (verbose < 0) verbose = auto_verbose();
  const std::size_t N = xs[0]->dim(0), steps = (N + batch_size - 1) / batch_size;
  const bool sparse = loss_.kind() == Loss::Kind::SparseCategoricalCrossentropy;
  auto all = iota(N);
  std::vector<Tensor> bxs;
  std::vector<const Tensor*> bx;
  Tensor by;
  double loss_sum = 0;
  std::size_t correct = 0;
  ProgressBar bar(steps, verbose);
  Logs logs;
  for (std::size_t s = 0; s < steps; ++s) {
    const std::size_t from = s * batch_size, to = std::min(N, from + batch_size);
    gather_all(xs, all, from, to, bxs, bx);
    gather_rows(y, all, from, to, by);
    const Tensor& p = *forward(bx, false)[0];
    const std::size_t n = to - from, k = p.size() / n;
    loss_sum += (loss_.value(p.data(), by.data(), n, k) + regularization_loss(n)) * double(n);
    correct += count_correct(p.data(), by.data(), n, k, sparse);
    logs = {{"accuracy", double(correct) / double(to)}, {"loss", loss_sum / double(to)}};
    bar.update(s + 1, logs);
  }
  return {loss_sum / double(N), double(correct) / double(N)};
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
