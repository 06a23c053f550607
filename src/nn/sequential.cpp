#include "fourierconv/nn/sequential.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "fourierconv/error.hpp"
#include "fourierconv/nn/layers/conv2d.hpp"
#include "fourierconv/nn/layers/pooling.hpp"
#include "fourierconv/nn/progress.hpp"

namespace fourierconv::nn {

Sequential::Sequential(std::string name) : name_(name.empty() ? unique_name("sequential") : std::move(name)) {}
Sequential::Sequential(Sequential&&) noexcept = default;
Sequential& Sequential::operator=(Sequential&&) noexcept = default;
Sequential::~Sequential() = default;

void Sequential::add(Input input) {
  if (!layers_.empty()) throw Error(name_ + ": Input must come before the first layer");
  if (input.shape.empty()) throw Error(name_ + ": Input shape must not be empty");
  input_shape_ = input.shape;
}

Layer& Sequential::add(std::unique_ptr<Layer> layer) {
  if (!layer) throw Error(name_ + ".add: layer is null");
  for (auto& l : layers_)
    if (l->name() == layer->name()) throw Error(name_ + ".add: a layer named '" + layer->name() + "' is already in the model");
  if (layers_.empty() && input_shape_.empty() && !layer->declared_input_shape().empty())
    input_shape_ = layer->declared_input_shape();
  if (!input_shape_.empty()) {
    const Shape in = layers_.empty() ? input_shape_ : layers_.back()->output_shape();
    try {
      layer->build(in);
    } catch (const Error& e) {
      throw Error(name_ + ".add: cannot add " + layer->name() + " (" + layer->class_name() + ") after " +
                  (layers_.empty() ? std::string("the input") : layers_.back()->name()) + " with output shape " +
                  shape_to_string(in) + ": " + e.what());
    }
    built_ = true;
  }
  layers_.push_back(std::move(layer));
  return *layers_.back();
}

void Sequential::build(const Shape& input_shape) {
  if (layers_.empty()) throw Error(name_ + ".build: the model has no layers");
  input_shape_ = input_shape;
  Shape s = input_shape;
  for (auto& l : layers_) {
    l->build(s);
    s = l->output_shape();
  }
  built_ = true;
}

Shape Sequential::output_shape() const {
  if (!built_ || layers_.empty()) throw Error(name_ + ": the model is not built (give it an input shape)");
  return layers_.back()->output_shape();
}

Layer& Sequential::layer(const std::string& name) {
  for (auto& l : layers_)
    if (l->name() == name) return *l;
  throw Error(name_ + ": no layer named '" + name + "'");
}

void Sequential::compile(std::unique_ptr<Optimizer> optimizer, Loss loss, std::vector<std::string> metrics) {
  if (!optimizer) throw Error(name_ + ".compile: optimizer is null");
  for (auto& m : metrics)
    if (m != "accuracy" && m != "acc") throw Error(name_ + ".compile: unknown metric '" + m + "' (supported: accuracy)");
  optimizer_ = std::move(optimizer);
  loss_ = loss;
  metrics_ = std::move(metrics);
}

void Sequential::compile(const std::string& optimizer, const std::string& loss, std::vector<std::string> metrics) {
  compile(make_optimizer(optimizer), Loss::parse(loss), std::move(metrics));
}

std::size_t Sequential::count_params() const {
  std::size_t n = 0;
  for (auto& l : layers_) n += l->count_params();
  return n;
}

std::size_t Sequential::count_trainable_params() const {
  std::size_t n = 0;
  for (auto& l : layers_) n += l->count_trainable_params();
  return n;
}

std::vector<Weight*> Sequential::trainable_weights() {
  std::vector<Weight*> w;
  for (auto& l : layers_)
    for (Weight* x : l->weights())
      if (l->weight_trainable(*x)) w.push_back(x);
  return w;
}

const Tensor& Sequential::forward(const Tensor& x, bool training) {
  const Tensor* h = &x;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    // Inference fuses Conv2D + MaxPooling2D (the pair's intermediate is never stored).
    if (!training && i + 1 < layers_.size() && !layers_[i]->activity_regularizer().active())
      if (auto* c = dynamic_cast<Conv2D*>(layers_[i].get()))
        if (auto* mp = dynamic_cast<MaxPooling2D*>(layers_[i + 1].get()))
          if (const Tensor* y = c->call_max_pooled(*h, *mp)) {
            h = y;
            ++i;
            continue;
          }
    h = &layers_[i]->call(*h, training);
  }
  return *h;
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

void Sequential::check_xy(const Tensor& x, const Tensor& y, const char* who) const {
  if (!built_) throw Error(name_ + "." + who + ": the model is not built (give the first layer an input_shape or add an Input)");
  Shape want{0};
  want.insert(want.end(), input_shape_.begin(), input_shape_.end());
  if (x.rank() != want.size() || !std::equal(input_shape_.begin(), input_shape_.end(), x.shape().begin() + 1)) {
    std::string w = shape_to_string(want);
    w.replace(1, 1, "N");
    throw Error(name_ + "." + who + ": x must have shape " + w + ", got " + x.shape_string());
  }
  if (x.dim(0) == 0)
    throw Error(name_ + "." + who + ": x has no samples (shape " + x.shape_string() + "): the " +
                (std::string(who) == "fit" ? "training" : "loss and metrics") + " of zero samples " +
                (std::string(who) == "fit" ? "has nothing to learn from" : "are undefined"));
  if (y.rank() == 0 || y.dim(0) != x.dim(0))
    throw Error(name_ + "." + who + ": x and y must have the same number of samples, got " + std::to_string(x.dim(0)) +
                " and " + (y.rank() ? std::to_string(y.dim(0)) : std::string("a scalar")));
  loss_.check_targets(y, y.dim(0), shape_size(output_shape()));
}

namespace {

// Copies rows idx[from, to) of t (N, ...) into out (to - from, ...).
void gather_rows(const Tensor& t, const std::vector<std::size_t>& idx, std::size_t from, std::size_t to, Tensor& out) {
  const std::size_t row = t.size() / t.dim(0);
  Shape s = t.shape();
  s[0] = to - from;
  out.resize(s);
  for (std::size_t i = from; i < to; ++i) std::memcpy(out.data() + (i - from) * row, t.data() + idx[i] * row, row * sizeof(float));
}

std::vector<std::size_t> iota(std::size_t n, std::size_t start = 0) {
  std::vector<std::size_t> v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}

}  // namespace

double Sequential::train_on_batch(const Tensor& x, const Tensor& y, std::size_t* correct) {
  if (!optimizer_) throw Error(name_ + ": fit before compile: call compile(optimizer, loss) first");
  const Tensor& p = forward(x, true);
  const std::size_t n = x.dim(0), k = p.size() / n;
  const double loss = loss_.value(p.data(), y.data(), n, k) + regularization_loss(n);
  if (correct) *correct += count_correct(p.data(), y.data(), n, k, loss_.kind() == Loss::Kind::SparseCategoricalCrossentropy);
  grad_.resize(p.shape());
  const bool fused = loss_.is_crossentropy() && !loss_.from_logits() && layers_.back()->activation() == Activation::Softmax &&
                     !layers_.back()->activity_regularizer().active();
  if (fused) loss_.softmax_gradient(p.data(), y.data(), n, k, grad_.data());
  else loss_.gradient(p.data(), y.data(), n, k, grad_.data());
  const Tensor* g = &grad_;
  bool through_activation = !fused;  // false: g is already the gradient w.r.t. the pre-activation
  for (std::size_t i = layers_.size(); i-- > 0;) {
    // A max pooling after a relu layer applies relu's derivative in its own pass (not when
    // that layer's output has an activity penalty, whose gradient is w.r.t. that output).
    auto* pool = dynamic_cast<MaxPooling2D*>(layers_[i].get());
    if (pool && i > 0 && layers_[i - 1]->activation() == Activation::Relu && !layers_[i - 1]->activity_regularizer().active()) {
      g = &pool->backward_through_relu(*g);
      through_activation = false;
      continue;
    }
    if (const Regularizer& r = layers_[i]->activity_regularizer(); r.active()) {  // d(penalty / n) / d output
      activity_grad_ = *g;
      const Tensor& out = layers_[i]->output();
      r.add_gradient(out.data(), activity_grad_.data(), out.size(), 1.0 / double(n));
      g = &activity_grad_;
    }
    g = &layers_[i]->backward(*g, /*need_input_grad=*/i > 0, through_activation);
    through_activation = true;
  }
  for (auto& l : layers_)
    for (Weight* w : l->weights())
      if (w->regularizer.active() && l->weight_trainable(*w)) w->regularizer.add_gradient(w->value.data(), w->grad.data(), w->value.size());
  optimizer_->apply(trainable_weights());
  for (auto& l : layers_)
    for (Weight* w : l->weights())
      if (w->constraint.active() && l->weight_trainable(*w)) w->constraint.apply(w->value);
  return loss;
}

// The regularizers' share of the loss after a forward pass of n samples: every weight's penalty
// plus every activity penalty on the outputs of that pass over n (Keras 3's layer losses).
double Sequential::regularization_loss(std::size_t n) const {
  double total = 0;
  for (auto& l : layers_) {
    for (const Weight* w : std::as_const(*l).weights())  // Keras 3: the trainable weights' penalties
      if (w->regularizer.active() && l->weight_trainable(*w)) total += w->regularizer.penalty(w->value.data(), w->value.size());
    if (const Regularizer& r = l->activity_regularizer(); r.active() && n)
      total += r.penalty(l->output().data(), l->output().size()) / double(n);
  }
  return total;
}

History Sequential::fit(const Tensor& x, const Tensor& y, FitArgs a) {
  if (!optimizer_) throw Error(name_ + ".fit: the model is not compiled: call compile(optimizer, loss) first");
  check_xy(x, y, "fit");
  if (a.batch_size == 0) throw Error(name_ + ".fit: batch_size must be >= 1");
  if (!(a.validation_split >= 0 && a.validation_split < 1))
    throw Error(name_ + ".fit: validation_split must be in [0, 1), got " + std::to_string(a.validation_split));
  const int verbose = a.verbose < 0 ? auto_verbose() : a.verbose;
  const std::size_t N = x.dim(0);
  std::size_t n_train = N;
  Tensor vx, vy;
  const Tensor* val_x = nullptr;
  const Tensor* val_y = nullptr;
  if (a.validation_x || a.validation_y) {
    if (!a.validation_x || !a.validation_y) throw Error(name_ + ".fit: validation_x and validation_y go together");
    check_xy(*a.validation_x, *a.validation_y, "fit (validation data)");
    val_x = a.validation_x;
    val_y = a.validation_y;
  } else if (a.validation_split > 0) {
    n_train = std::size_t(std::floor(double(N) * (1.0 - a.validation_split)));
    if (n_train == 0 || n_train == N)
      throw Error(name_ + ".fit: validation_split " + std::to_string(a.validation_split) + " leaves an empty training or validation set of " + std::to_string(N) + " samples");
    auto idx = iota(N - n_train, n_train);
    gather_rows(x, idx, 0, idx.size(), vx);
    gather_rows(y, idx, 0, idx.size(), vy);
    val_x = &vx;
    val_y = &vy;
  }
  const bool show_acc = !metrics_.empty();
  const std::string acc_name = show_acc ? metrics_[0] : "accuracy";
  std::mt19937_64 rng(a.seed);
  std::vector<std::size_t> order = iota(n_train);
  const std::size_t steps = (n_train + a.batch_size - 1) / a.batch_size;
  History hist;
  Tensor bx, by;
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
      gather_rows(x, order, from, to, bx);
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
    if (val_x) {
      Evaluation ev = evaluate(*val_x, *val_y, a.batch_size, 0);
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

Evaluation Sequential::evaluate(const Tensor& x, const Tensor& y, std::size_t batch_size, int verbose) {
  check_xy(x, y, "evaluate");
  if (batch_size == 0) throw Error(name_ + ".evaluate: batch_size must be >= 1");
  if (verbose < 0) verbose = auto_verbose();
  const std::size_t N = x.dim(0), steps = (N + batch_size - 1) / batch_size;
  const bool sparse = loss_.kind() == Loss::Kind::SparseCategoricalCrossentropy;
  auto all = iota(N);
  Tensor bx, by;
  double loss_sum = 0;
  std::size_t correct = 0;
  ProgressBar bar(steps, verbose);
  Logs logs;
  for (std::size_t s = 0; s < steps; ++s) {
    const std::size_t from = s * batch_size, to = std::min(N, from + batch_size);
    gather_rows(x, all, from, to, bx);
    gather_rows(y, all, from, to, by);
    const Tensor& p = forward(bx, false);
    const std::size_t n = to - from, k = p.size() / n;
    loss_sum += (loss_.value(p.data(), by.data(), n, k) + regularization_loss(n)) * double(n);
    correct += count_correct(p.data(), by.data(), n, k, sparse);
    logs = {{"accuracy", double(correct) / double(to)}, {"loss", loss_sum / double(to)}};
    bar.update(s + 1, logs);
  }
  return {loss_sum / double(N), double(correct) / double(N)};
}

Tensor Sequential::predict(const Tensor& x, std::size_t batch_size) {
  if (!built_) throw Error(name_ + ".predict: the model is not built");
  Shape want{0};
  want.insert(want.end(), input_shape_.begin(), input_shape_.end());
  if (x.rank() != want.size() || !std::equal(input_shape_.begin(), input_shape_.end(), x.shape().begin() + 1)) {
    std::string w = shape_to_string(want);
    w.replace(1, 1, "N");
    throw Error(name_ + ".predict: x must have shape " + w + ", got " + x.shape_string());
  }
  if (batch_size == 0) throw Error(name_ + ".predict: batch_size must be >= 1");
  const std::size_t N = x.dim(0);
  Shape os{N};
  for (auto d : output_shape()) os.push_back(d);
  Tensor out(os);
  if (N == 0) return out;  // no samples, no predictions: (0, outputs...), as Keras and PyTorch
  const std::size_t row = out.size() / N;
  auto all = iota(N);
  Tensor bx;
  for (std::size_t from = 0; from < N; from += batch_size) {
    const std::size_t to = std::min(N, from + batch_size);
    const Tensor* in = &x;
    if (!(from == 0 && to == N)) {
      gather_rows(x, all, from, to, bx);
      in = &bx;
    }
    const Tensor& p = forward(*in, false);
    std::memcpy(out.data() + from * row, p.data(), p.size() * sizeof(float));
  }
  return out;
}

void Sequential::summary(SummaryArgs args) const { std::fputs(summary_text(args).c_str(), stdout); }

}  // namespace fourierconv::nn
