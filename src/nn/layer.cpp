#include "fourierconv/nn/layer.hpp"

#include <algorithm>
#include <map>
#include <new>
#include <stdexcept>
#include <mutex>
#include <regex>

#include "fourierconv/error.hpp"
#include "parallel.hpp"

namespace fourierconv::nn {

Layer::Layer(std::string name) : name_(std::move(name)) {}
Layer::~Layer() = default;

void Layer::build(const Shape& input_shape) {
  for (auto d : input_shape)
    if (d == 0) throw Error(name_ + " (" + class_name() + "): input shape " + shape_to_string(input_shape) + " has a zero axis");
  weights_.clear();
  try {
    output_shape_ = build_impl(input_shape);
  } catch (const std::bad_alloc&) {
    throw OutOfMemory(name_ + " (" + class_name() + "): building for input shape " + shape_to_string(input_shape) +
                      " needs more memory than is available");
  } catch (const std::length_error&) {
    throw OutOfMemory(name_ + " (" + class_name() + "): input shape " + shape_to_string(input_shape) + " is too large to build for");
  }
  input_shape_ = input_shape;
  built_ = true;
}

void Layer::check_input(const Tensor& x) const {
  if (!built_) throw Error(name_ + " (" + class_name() + "): call() before build()");
  bool ok = x.rank() == input_shape_.size() + 1 && std::equal(input_shape_.begin(), input_shape_.end(), x.shape().begin() + 1);
  if (!ok) {
    Shape want{0};
    want.insert(want.end(), input_shape_.begin(), input_shape_.end());
    std::string w = shape_to_string(want);
    w.replace(1, 1, "N");
    throw Error(name_ + " (" + class_name() + "): expected input of shape " + w + ", got " + x.shape_string());
  }
}

const Tensor& Layer::call(const Tensor& x, bool training) {
  check_input(x);
  Shape ys{x.dim(0)};
  ys.insert(ys.end(), output_shape_.begin(), output_shape_.end());
  last_input_ = &x;
  if (aliases_input()) {
    y_.alias_of(x, std::move(ys));
    return y_;
  }
  y_.resize(ys);
  if (x.dim(0) == 0) return y_;  // an empty batch gives an empty batch, as in Keras and PyTorch
  call_impl(x, y_, training);
  if (!fuses_activation()) apply_activation(y_, output_shape_.empty() ? 1 : output_shape_.back());
  return y_;
}

void Layer::apply_activation(Tensor& y, std::size_t last) {
  if (needs_preactivation(activation_)) z_ = y;
  // Whole rows of `last` values per thread (softmax normalizes along them).
  detail::parallel_chunks(y.size(), std::max<std::size_t>(last, 1),
                          [&](std::size_t b, std::size_t e) { activation_forward(activation_, y.data() + b, e - b, last); });
}

const Tensor& Layer::backward(const Tensor& dy, bool need_input_grad, bool through_activation) {
  if (!last_input_) throw Error(name_ + " (" + class_name() + "): backward() before call()");
  if (dy.shape() != y_.shape())
    throw Error(name_ + " (" + class_name() + "): backward expected a gradient of shape " + y_.shape_string() + ", got " +
                dy.shape_string());
  if (aliases_input()) {
    Shape xs{dy.dim(0)};
    xs.insert(xs.end(), input_shape_.begin(), input_shape_.end());
    if (need_input_grad) dx_.alias_of(dy, std::move(xs));
    else dx_.resize({0});
    return dx_;
  }
  backward_activation_ = through_activation ? activation_ : Activation::Linear;
  const Tensor* dz = fuses_activation() ? &dy : &activation_gradient(dy);
  if (need_input_grad) {
    Shape xs{dy.dim(0)};
    xs.insert(xs.end(), input_shape_.begin(), input_shape_.end());
    dx_.resize(xs);
  } else {
    dx_.resize({0});
  }
  if (dy.dim(0) == 0) {  // the gradient of a sum over no samples is zero
    for (Weight* w : weights()) {
      w->grad.resize(w->value.shape());
      w->grad.fill(0.0f);
    }
    return dx_;
  }
  backward_impl(*dz, need_input_grad ? &dx_ : nullptr);
  return dx_;
}

const Tensor& Layer::activation_gradient(const Tensor& dy) {
  if (backward_activation_ == Activation::Linear) return dy;
  dz_.resize(dy.shape());
  const bool with_z = needs_preactivation(backward_activation_) && z_.size() == y_.size();
  if (needs_preactivation(backward_activation_) && !with_z)
    throw Error(name_ + " (" + class_name() + "): backward of " + to_string(backward_activation_) +
                " needs the pre-activation of the last call(), which this layer did not keep");
  activation_backward(backward_activation_, y_.data(), with_z ? z_.data() : nullptr, dy.data(), dz_.data(), dy.size(),
                      output_shape_.back());
  return dz_;
}

std::vector<Weight*> Layer::weights() {
  std::vector<Weight*> w;
  for (auto& p : weights_) w.push_back(p.get());
  return w;
}

std::vector<const Weight*> Layer::weights() const {
  std::vector<const Weight*> w;
  for (auto& p : weights_) w.push_back(p.get());
  return w;
}

std::size_t Layer::count_params() const {
  std::size_t n = 0;
  for (auto& w : weights_) n += w->count();
  return n;
}

std::size_t Layer::count_trainable_params() const {
  std::size_t n = 0;
  for (auto& w : weights_)
    if (weight_trainable(*w)) n += w->count();
  return n;
}

Weight& Layer::add_weight(std::string name, Shape shape, bool trainable) {
  auto w = std::make_unique<Weight>();
  w->name = std::move(name);
  w->value = Tensor(shape);
  w->grad = Tensor(shape);
  w->trainable = trainable;
  if (auto it = regularizers_.find(w->name); it != regularizers_.end()) w->regularizer = it->second;
  if (auto it = constraints_.find(w->name); it != constraints_.end()) {
    it->second.check(w->value.shape(), name_ + " (" + class_name() + "), weight " + w->name);
    w->constraint = it->second;
  }
  weights_.push_back(std::move(w));
  return *weights_.back();
}

namespace {
template <class T>
void set_on(std::map<std::string, T>& kept, std::vector<std::unique_ptr<Weight>>& ws, bool built, const std::string& layer,
            const std::string& weight, T v, T Weight::*field) {
  kept[weight] = v;
  bool found = false;
  for (auto& w : ws)
    if (w->name == weight) w.get()->*field = v, found = true;
  if (built && !found) throw Error(layer + ": has no weight named '" + weight + "'");
}
}  // namespace

void Layer::set_regularizer(const std::string& weight, Regularizer r) {
  set_on(regularizers_, weights_, built_, name_, weight, r, &Weight::regularizer);
}
void Layer::set_constraint(const std::string& weight, Constraint c) {
  for (auto& w : weights_)
    if (w->name == weight) c.check(w->value.shape(), name_ + " (" + class_name() + "), weight " + weight);
  set_on(constraints_, weights_, built_, name_, weight, c, &Weight::constraint);
}
const Regularizer& Layer::regularizer(const std::string& weight) const {
  static const Regularizer none;
  auto it = regularizers_.find(weight);
  return it == regularizers_.end() ? none : it->second;
}
const Constraint& Layer::constraint(const std::string& weight) const {
  static const Constraint none;
  auto it = constraints_.find(weight);
  return it == constraints_.end() ? none : it->second;
}

namespace {
std::mutex names_mutex;
std::map<std::string, int>& name_counts() {
  static std::map<std::string, int> m;
  return m;
}
}  // namespace

std::string unique_name(const std::string& prefix) {
  std::lock_guard<std::mutex> lock(names_mutex);
  int n = name_counts()[prefix]++;
  return n == 0 ? prefix : prefix + "_" + std::to_string(n);
}

void clear_session() {
  std::lock_guard<std::mutex> lock(names_mutex);
  name_counts().clear();
}

std::string to_snake_case(const std::string& class_name) {
  std::string s = std::regex_replace(class_name, std::regex("(.)([A-Z][a-z]+)"), "$1_$2");
  s = std::regex_replace(s, std::regex("([a-z])([A-Z])"), "$1_$2");
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace fourierconv::nn
