// Model: Keras's Functional model, a directed acyclic graph of layers, with the training
// loop (compile, fit, evaluate, predict) and summary() that Sequential shares. Reads like
// the Keras code:
//
//   Model model("resnet_block");                          // keras.Model(inputs, outputs)
//   KerasTensor x = model.input({32, 32, 16});            // keras.Input(shape=(32, 32, 16))
//   KerasTensor h = model.add(Conv2D(16, {3, 3}, {.padding = "same", .activation = "relu"}), x);
//   h = model.add(Conv2D(16, {3, 3}, {.padding = "same"}), h);
//   h = model.add(Add(), {x, h});                         // layers.Add()([x, h])
//   model.set_outputs({model.add(Dense(10, {.activation = "softmax"}),
//                                model.add(GlobalAveragePooling2D(), h))});
//   model.compile("adam", "sparse_categorical_crossentropy");
//   model.fit(x_train, y_train);
//
// A layer added once and applied again with apply() is shared: one set of weights, several
// nodes; in fit, the gradients of its weights are summed over its nodes. Where a tensor feeds
// several layers, the gradients reaching it are summed. Sequential (sequential.hpp) is the
// chain case of the same graph.
//
// Shapes exclude the batch axis. x: (N, input_shape...) float32 per model input; y: (N,)
// integer labels (sparse) or (N, K) targets. fit and evaluate take models of one output (as
// Keras with one loss); predict takes any number of inputs and outputs.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "fourierconv/nn/communicator.hpp"
#include "fourierconv/nn/layer.hpp"
#include "fourierconv/nn/losses.hpp"
#include "fourierconv/nn/optimizers.hpp"

namespace fourierconv::nn {

// keras.Input(shape=...): the model's input shape without the batch axis.
struct Input {
  Shape shape;
  std::string name{};  // "" for Keras's default, input_layer[_k]
};

// A symbolic tensor of a Model under construction (Keras's KerasTensor): the output of the
// graph node `node`. Only valid with the model that returned it.
struct KerasTensor {
  std::size_t node = SIZE_MAX;
};

struct FitArgs {
  std::size_t batch_size = 32;
  std::size_t epochs = 1;
  double validation_split = 0.0;   // the LAST fraction, taken before shuffling (Keras)
  bool shuffle = true;             // a new permutation each epoch
  int verbose = -1;                // -1 auto (1 on a terminal, else 2), 0 silent, 1 bar, 2 a line per epoch
  std::uint64_t seed = 0;          // shuffling seed
  const Tensor* validation_x = nullptr;  // overrides validation_split
  const Tensor* validation_y = nullptr;
  // Checkpoints (nn/checkpoint.hpp): with checkpoint_dir set, DIR/checkpoint.keras is written
  // atomically every checkpoint_every steps (global steps, counted across epochs, as Keras's
  // ModelCheckpoint(save_freq=K) counts batches), or at the end of each epoch when 0.
  std::string checkpoint_dir{};
  std::size_t checkpoint_every = 0;
  // Continue from checkpoint_dir's checkpoint (Error if there is none, or if it is of another
  // model, optimizer, batch size, data set size, validation split or shuffle setting): the
  // weights, optimizer state, epoch, step, sample order, random generators and the epoch's
  // running metrics are restored, so the run ends with the weights (and the history) of an
  // uninterrupted one. `epochs` is the run's total, as in Keras's initial_epoch.
  bool resume = false;
  // Data-parallel training (nn/communicator.hpp; nn/mpi.hpp runs it on MPI): with a
  // communicator of R ranks, each global step takes the next batch_size x R samples of one
  // order that every rank draws alike from `seed`; rank r trains on its part of them (the
  // r-th of R near-equal slices), the gradients are averaged over the global batch by
  // allreduce in buckets of about bucket_bytes, each started as soon as the backward pass has
  // finished its layers, and every rank applies the same update. Losses and metrics are
  // reduced over the ranks; rank 0 alone prints and writes checkpoints. Rank 0's weights are
  // broadcast first, and the ranks' settings are compared (Error on every rank when they
  // differ).
  Communicator* communicator = nullptr;
  std::size_t bucket_bytes = std::size_t(1) << 18;
  // Each global batch cut into this many near-equal micro-batches (0: one per rank), each rank
  // taking the same number of consecutive ones. Each micro-batch's gradient is computed on its
  // own and summed in double in a fixed order, so runs with the same micro_batches end with
  // the same weights (to float rounding) on any number of ranks that divides it: 1, 2 or 4
  // ranks with micro_batches = 4. Dropout's masks and BatchNormalization's batch statistics
  // are per micro-batch (README, "Training on several machines").
  std::size_t micro_batches = 0;
};

struct History {
  std::map<std::string, std::vector<double>> history;  // "loss", "accuracy", "val_loss", ...
  std::vector<double> epoch_seconds;
  // Where the time of the steps went (summed over the run): forward, backward and update;
  // waiting for the gradient allreduce to finish after the backward pass; the allreduces
  // themselves, and the part of them that ran while the backward pass was still running;
  // writing checkpoints. overlap_window_seconds: from the start of each step's first allreduce
  // to the end of its backward pass (the time communication can hide in).
  double compute_seconds = 0, wait_seconds = 0, allreduce_seconds = 0, allreduce_hidden_seconds = 0, checkpoint_seconds = 0;
  double overlap_window_seconds = 0;
  std::size_t steps = 0;
};

struct Evaluation {
  double loss = 0, accuracy = 0;
};

struct SummaryArgs {
  int line_length = 0;    // 0: Keras's rule (76 when not a terminal, up to 88 or 108 on a wide one)
  bool detail = false;    // add each layer's fixed constants and algorithm choices
};

class Model {
 public:
  explicit Model(std::string name = "");
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  virtual ~Model();

  const std::string& name() const { return name_; }

  // ---- Building a graph (the Functional API)
  // A model input of `shape` (batch excluded). Inputs are the model's inputs in this order.
  KerasTensor input(Shape shape, std::string name = "");
  // Adds `layer` and applies it to `inputs` (one tensor, or a list for a merge layer).
  KerasTensor add(std::unique_ptr<Layer> layer, const std::vector<KerasTensor>& inputs);
  template <class L, class = std::enable_if_t<std::is_base_of_v<Layer, std::decay_t<L>>>>
  KerasTensor add(L&& layer, const std::vector<KerasTensor>& inputs) {
    return add(std::unique_ptr<Layer>(new std::decay_t<L>(std::move(layer))), inputs);
  }
  template <class L, class = std::enable_if_t<std::is_base_of_v<Layer, std::decay_t<L>>>>
  KerasTensor add(L&& layer, KerasTensor input) {
    return add(std::unique_ptr<Layer>(new std::decay_t<L>(std::move(layer))), std::vector<KerasTensor>{input});
  }
  // Applies a layer already in the model again (a shared layer: same weights). The inputs
  // must have the shapes it was built for.
  KerasTensor apply(const std::string& layer_name, const std::vector<KerasTensor>& inputs);
  // Ends construction: the model's outputs, in order. Orders the layers as Keras does (by
  // depth from the outputs, ties in traversal order). Error: an input or layer that no output
  // depends on, a tensor of another model.
  void set_outputs(const std::vector<KerasTensor>& outputs);
  // The output shape of a tensor under construction (batch excluded).
  const Shape& shape_of(KerasTensor t) const;

  bool built() const { return built_; }
  // The first input's shape (Sequential's input shape); inputs() lists them all.
  const Shape& input_shape() const;
  Shape output_shape() const;  // the first output's
  std::vector<Shape> input_shapes() const;
  std::vector<Shape> output_shapes() const;
  std::vector<std::string> input_names() const;
  std::vector<std::string> output_names() const;  // the layers that produce the outputs
  // The layers in Keras's order (model.layers), input layers excluded.
  const std::vector<std::unique_ptr<Layer>>& layers() const { return layers_; }
  Layer& layer(const std::string& name);
  // True for a Sequential: a chain whose summary and config take Keras's Sequential form.
  bool is_sequential() const { return sequential_; }

  void compile(std::unique_ptr<Optimizer> optimizer, Loss loss, std::vector<std::string> metrics = {"accuracy"});
  void compile(const std::string& optimizer, const std::string& loss, std::vector<std::string> metrics = {"accuracy"});
  bool compiled() const { return optimizer_ != nullptr; }
  const Optimizer* optimizer() const { return optimizer_.get(); }
  Optimizer* optimizer() { return optimizer_.get(); }
  const std::vector<std::string>& metrics() const { return metrics_; }
  const Loss& loss() const { return loss_; }

  // One input, one output.
  History fit(const Tensor& x, const Tensor& y, FitArgs args = {});
  Evaluation evaluate(const Tensor& x, const Tensor& y, std::size_t batch_size = 32, int verbose = -1);
  Tensor predict(const Tensor& x, std::size_t batch_size = 32);
  // Several inputs (in the model's input order), one output for fit and evaluate.
  History fit(const std::vector<const Tensor*>& xs, const Tensor& y, FitArgs args = {});
  Evaluation evaluate(const std::vector<const Tensor*>& xs, const Tensor& y, std::size_t batch_size = 32, int verbose = -1);
  // Every output, in the model's output order.
  std::vector<Tensor> predict(const std::vector<const Tensor*>& xs, std::size_t batch_size = 32);

  // One optimizer step on a batch; returns the batch's mean loss (and adds correct
  // predictions to *correct when not null).
  double train_on_batch(const Tensor& x, const Tensor& y, std::size_t* correct = nullptr);
  double train_on_batch(const std::vector<const Tensor*>& xs, const Tensor& y, std::size_t* correct = nullptr);

  std::string summary_text(SummaryArgs args = {}) const;
  void summary(SummaryArgs args = {}) const;  // prints to stdout

  std::size_t count_params() const;
  std::size_t count_trainable_params() const;
  std::vector<Weight*> trainable_weights();

  // The graph, for saving and the summary. A node is one application of a layer (or a model
  // input: layer == nullptr); nodes are in creation order, which is an execution order.
  struct Node {
    Layer* layer = nullptr;
    // The layer that computes this node: `layer`, or for a shared layer applied to inputs of
    // another shape than its first node's, a copy built for that shape (owned by the model)
    // that uses `layer`'s weights (Keras builds shape-agnostic layers; ours plan per shape).
    Layer* runner = nullptr;
    std::size_t input = 0;                // the model input it is, when layer is null
    std::vector<std::size_t> inbound;     // the nodes whose outputs it takes, in order
    std::size_t call_index = 0;           // Keras's node_index: the layer's k-th node
    Shape shape;                          // output shape, batch excluded
  };
  struct InputSpec {
    std::string name;
    Shape shape;
  };
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<InputSpec>& inputs() const { return inputs_; }
  const std::vector<std::size_t>& outputs() const { return outputs_; }
  // Keras's model.layers order with the input layers in place: >= 0 is layers()[i], < 0 is
  // inputs()[-1 - i].
  const std::vector<long>& keras_order() const { return keras_order_; }

 protected:
  std::vector<std::unique_ptr<Layer>> layers_;
  std::vector<std::unique_ptr<Layer>> shape_copies_;  // Node::runner of shared layers' other-shape nodes
  std::vector<InputSpec> inputs_;
  std::vector<Node> nodes_;
  std::vector<std::size_t> outputs_;
  std::vector<long> keras_order_;
  std::vector<std::size_t> run_order_;  // nodes as training runs them: Keras's order (order_layers)
  std::string name_;
  bool built_ = false, sequential_ = false;
  bool sequential_like_ = true;  // Keras's summary test for a graph (see order_layers)
  // Sequential: rebuilds the chain of nodes over layers_ from inputs_[0].
  void build_chain();

 private:
  struct Runtime;
  std::unique_ptr<Runtime> rt_;
  Runtime& rt();
  // Runs the graph on a batch; returns the outputs' tensors.
  const std::vector<const Tensor*>& forward(const std::vector<const Tensor*>& xs, bool training);
  // Backpropagates dy (w.r.t. the single output; already w.r.t. its pre-activation when
  // `pre_activation`) and leaves the trainable weights' gradients. on_ready, when given, is
  // called for each layer as soon as its weights' gradients are final (the data-parallel fit
  // starts their allreduce then), last layers first.
  void backward(const Tensor& dy, bool pre_activation, std::size_t n, const std::function<void(Layer&)>& on_ready = {});
  // Marks the nodes whose output gradient backward needs (their layer or one before it has
  // trainable weights).
  void mark_needed_gradients();
  // train_on_batch's halves: the forward and backward pass (returns the batch's mean loss,
  // penalties included), then the regularizers' gradients, the optimizer step, the constraints.
  double forward_backward(const std::vector<const Tensor*>& xs, const Tensor& y, std::size_t* correct,
                          const std::function<void(Layer&)>& on_ready = {});
  void apply_update();
  // evaluate's loss and correct predictions summed over samples [from, to).
  std::pair<double, std::size_t> evaluate_sums(const std::vector<const Tensor*>& xs, const Tensor& y, std::size_t from,
                                               std::size_t to, std::size_t batch_size, int verbose);
  // The nodes in the order training runs them (backward: the reverse).
  std::vector<std::size_t> run_order() const;
  // The layers in the order backward finishes their gradients (GradientReducer's buckets).
  std::vector<Layer*> layers_in_backward_order() const;
  void check_inputs(const std::vector<const Tensor*>& xs, const char* who) const;
  void check_xy(const std::vector<const Tensor*>& xs, const Tensor& y, const char* who) const;
  void order_layers();
  double regularization_loss(std::size_t n) const;

  std::unique_ptr<Optimizer> optimizer_;
  Loss loss_;
  std::vector<std::string> metrics_;
  Tensor loss_grad_;
  double last_loss_ = 0;  // forward_backward's batch loss, known before its backward pass
};

// The number of x[i] rows predicted as y[i] (argmax; labels or one-hot rows).
std::size_t count_correct(const float* y_pred, const float* y_true, std::size_t n, std::size_t k, bool sparse);

}  // namespace fourierconv::nn
