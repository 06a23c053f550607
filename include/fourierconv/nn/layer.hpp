// Layer: the base of every network layer, Keras-style.
//
// Shapes given to and returned by build() exclude the batch axis: (H, W, C) for images,
// (D,) for vectors. Tensors passed to call() carry the batch first: (N, H, W, C).
// The base class owns the checks (built, input shape), subclasses own the math:
// call() and backward() are non-virtual and forward to call_impl()/backward_impl().
// A layer owns the tensors it returns, reused across calls (no allocation once sizes are
// steady). Like autograd's saved tensors, backward() reads the input of the last call() by
// reference: keep that tensor alive and unchanged until backward() (Model does).
#pragma once

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fourierconv/nn/activations.hpp"
#include "fourierconv/nn/regularizers.hpp"
#include "fourierconv/tensor.hpp"

namespace fourierconv::nn {

// A named weight with its gradient. A frozen layer's weights count as non-trainable.
struct Weight {
  std::string name;  // "kernel", "bias"
  Tensor value, grad;
  bool trainable = true;
  Regularizer regularizer{};  // added to the training loss (regularizers.hpp)
  Constraint constraint{};  // applied after each optimizer step
  bool integer = false;     // an int32 in Keras files (Normalization's count), float32 here
  // Parameters per element: 1 for real weights, 2 for complex weights stored as (re, im)
  // pairs in the last axis (SpectralConv2D); counts follow Keras's rule of one per float.
  std::size_t count() const { return value.size(); }
};

class Layer {
 public:
  explicit Layer(std::string name);
  virtual ~Layer();
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;
  Layer(Layer&&) = default;
  Layer& operator=(Layer&&) = default;

  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }
  virtual std::string class_name() const = 0;

  void build(const Shape& input_shape);
  bool built() const { return built_; }
  const Shape& input_shape() const { return input_shape_; }
  const Shape& output_shape() const { return output_shape_; }

  // x: (N, input_shape...) -> (N, output_shape...). `training` switches dropout on.
  const Tensor& call(const Tensor& x, bool training = false);
  // dy: gradient of the loss w.r.t. the last call's output -> gradient w.r.t. its input.
  // Training (Model::backward) calls it only for layers with trainable weights or with such a
  // layer before them: the others need no gradient and are skipped.
  // Fills the gradients of trainable weights (overwriting). With need_input_grad false the
  // input gradient is skipped (the first layer of a model) and an empty tensor is returned.
  // With through_activation false, dy is already the gradient w.r.t. the pre-activation
  // (the fused softmax + cross-entropy gradient).
  const Tensor& backward(const Tensor& dy, bool need_input_grad = true, bool through_activation = true);

  // Frozen layers keep their weights but report them as non-trainable and get no updates.
  bool trainable() const { return trainable_; }
  void set_trainable(bool t) { trainable_ = t; }
  // Keras's kernel_regularizer / bias_regularizer / ..._constraint, by weight name ("kernel",
  // "bias"): kept for weights built later, set on those that exist. Error for a name the
  // built layer has no weight of.
  void set_regularizer(const std::string& weight, Regularizer r);
  void set_constraint(const std::string& weight, Constraint c);
  const Regularizer& regularizer(const std::string& weight) const;
  const Constraint& constraint(const std::string& weight) const;
  // The output of the last call() (its batch).
  const Tensor& output() const { return y_; }
  // Keras's activity_regularizer: on the layer's output, divided by the batch size.
  void set_activity_regularizer(Regularizer r) { activity_regularizer_ = r; }
  const Regularizer& activity_regularizer() const { return activity_regularizer_; }

  std::vector<Weight*> weights();
  std::vector<const Weight*> weights() const;
  bool weight_trainable(const Weight& w) const { return trainable_ && w.trainable; }
  std::size_t count_params() const;
  std::size_t count_trainable_params() const;

  // The activation applied at the end of call() (Linear if the layer has none).
  Activation activation() const { return activation_; }

  // The input shape given to the layer's constructor (Keras's input_shape=...), or empty.
  // A Sequential whose first layer declares one builds itself with it.
  const Shape& declared_input_shape() const { return declared_input_shape_; }
  void declare_input_shape(Shape s) { declared_input_shape_ = std::move(s); }

  // Extra lines for summary(detail): fixed constants, algorithm choices.
  virtual std::vector<std::string> detail() const { return {}; }

  // The generator the layer draws from in training (Dropout's masks, GaussianNoise's noise),
  // or null when it draws none; checkpoints save and restore its state.
  virtual std::mt19937_64* random_generator() { return nullptr; }

 protected:
  virtual Shape build_impl(const Shape& input_shape) = 0;  // returns the output shape
  virtual void call_impl(const Tensor& x, Tensor& y, bool training) = 0;
  // dz: gradient w.r.t. the pre-activation output; dx: to fill when need_dx.
  virtual void backward_impl(const Tensor& dz, Tensor* dx) = 0;
  // A layer that fuses its activation into its own loops returns true: call_impl then applies
  // the activation itself, and backward_impl receives dy (the gradient w.r.t. the activated
  // output) and must apply backward_activation()'s derivative itself (activation_gradient()
  // does it as a separate pass). Saves one or two passes over the output.
  virtual bool fuses_activation() const { return false; }
  // A layer whose output is its input under another shape (Flatten, Reshape) returns true:
  // call() then returns an alias of x (Tensor::alias_of) and backward() an alias of dy, and
  // call_impl/backward_impl are not called. Such a layer has no activation.
  virtual bool aliases_input() const { return false; }
  // The activation whose derivative backward_impl still has to apply (Linear when the caller
  // passed the gradient w.r.t. the pre-activation already, as the fused softmax + CE does).
  Activation backward_activation() const { return backward_activation_; }
  // dz from dy through backward_activation(), as a separate pass (dy itself when Linear).
  const Tensor& activation_gradient(const Tensor& dy);
  // Applies activation_ to y in place (rows of `last` values for softmax), first keeping the
  // pre-activation when the derivative needs it (gelu, silu). call() does it; a layer that
  // fuses its activation calls it for the activations it does not fuse.
  void apply_activation(Tensor& y, std::size_t last);

  Weight& add_weight(std::string name, Shape shape, bool trainable = true);
  // For layers built another way than build(Shape) (the merge layers, several inputs).
  void set_built(Shape input_shape, Shape output_shape) {
    input_shape_ = std::move(input_shape);
    output_shape_ = std::move(output_shape);
    built_ = true;
  }
  // Throws the error call() gives for an input of the wrong shape (or before build()).
  void check_input(const Tensor& x) const;
  // The input and output of the last call() (valid in backward_impl).
  const Tensor& last_input() const { return *last_input_; }
  const Tensor& last_output() const { return y_; }
  Activation activation_ = Activation::Linear;

 private:
  std::string name_;
  bool built_ = false, trainable_ = true;
  Shape input_shape_, output_shape_, declared_input_shape_;
  std::vector<std::unique_ptr<Weight>> weights_;
  Tensor y_, dz_, dx_;
  Tensor z_;  // the pre-activation, for needs_preactivation(activation_)
  const Tensor* last_input_ = nullptr;
  Activation backward_activation_ = Activation::Linear;
  std::map<std::string, Regularizer> regularizers_;
  std::map<std::string, Constraint> constraints_;
  Regularizer activity_regularizer_;
};

// "(N, 28, 28, 1)": a shape with the batch axis first, for messages.
inline std::string batch_shape_text(const Shape& s) {
  std::string t = "(N";
  for (auto d : s) t += ", " + std::to_string(d);
  return t + ")";
}

// Keras's default names: the first "conv2d", then "conv2d_1", ... per prefix, process-wide.
std::string unique_name(const std::string& prefix);
// Resets the name counters (keras.backend.clear_session()).
void clear_session();
// "Conv2D" -> "conv2d", "MaxPooling2D" -> "max_pooling2d", "FourierConv2D" -> "fourier_conv2d".
std::string to_snake_case(const std::string& class_name);

}  // namespace fourierconv::nn
