// Model's graph: building it (the Functional API), Keras's layer order, and running it
// forward and backward. The training loop is in training.cpp.
#include "fourierconv/nn/model.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "fourierconv/error.hpp"
#include "fourierconv/nn/layers/activation.hpp"
#include "fourierconv/nn/layers/activation_layers.hpp"
#include "fourierconv/nn/layers/conv2d.hpp"
#include "fourierconv/nn/layers/depthwise_conv2d.hpp"
#include "fourierconv/nn/layers/fourier_conv2d.hpp"
#include "fourierconv/nn/layers/merge.hpp"
#include "fourierconv/nn/layers/normalization.hpp"
#include "fourierconv/nn/initializers.hpp"
#include "fourierconv/nn/layers/pooling.hpp"
#include "nn/model_config.hpp"

namespace fourierconv::nn {

// Per-batch state of forward and backward, sized to the graph.
struct Model::Runtime {
  std::size_t nodes = SIZE_MAX;                // the graph size these are for
  std::vector<std::size_t> consumers;          // per node: inbound uses (+1 for a model output)
  std::vector<std::size_t> layer_nodes;        // per node: how many nodes its layer has (shared: > 1)
  std::vector<const Tensor*> out;              // per node: its output for this batch
  std::vector<Tensor> own;                     // per node: a shared layer's output, copied
  std::vector<const Tensor*> outputs;
  std::vector<const Tensor*> g;                // per node: the gradient w.r.t. its output
  std::vector<Tensor> grad;                    // per node: summed gradient (several consumers)
  std::vector<char> pre;                       // per node: g is w.r.t. the pre-activation
  std::vector<char> needs;                     // per node: the gradient w.r.t. its output is needed
  std::map<Layer*, std::vector<Tensor>> grad_sum;  // shared layers' weight gradients
  std::vector<std::size_t> training_order;     // nodes as training runs them (Model::run_order_)
  std::vector<std::vector<Layer*>> done_at;    // per node: the layers whose first node (in training order) it is
  std::vector<std::size_t> inference_order;    // nodes as inference runs them (chains kept together)
  std::map<std::size_t, std::mt19937_64> rng_before;  // per shared node: its layer's generator before training's call
  Tensor activity_grad;
};

Model::Model(std::string name) : name_(name.empty() ? unique_name("functional") : std::move(name)) {}
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

Model::Runtime& Model::rt() {
  if (!rt_) rt_ = std::make_unique<Runtime>();
  Runtime& r = *rt_;
  if (r.nodes != nodes_.size()) {
    const std::size_t n = nodes_.size();
    r = Runtime{};
    r.nodes = n;
    r.consumers.assign(n, 0);
    r.layer_nodes.assign(n, 1);
    std::map<const Layer*, std::size_t> count;
    for (auto& node : nodes_) {
      for (auto j : node.inbound) ++r.consumers[j];
      if (node.layer) ++count[node.layer];
    }
    for (auto o : outputs_) ++r.consumers[o];
    for (std::size_t i = 0; i < n; ++i)
      if (nodes_[i].layer) r.layer_nodes[i] = count[nodes_[i].layer];
    r.training_order = run_order();
    r.done_at.assign(n, {});
    std::map<const Layer*, bool> seen;
    for (std::size_t i : r.training_order)
      if (Layer* L = nodes_[i].layer; L && !seen[L]) {
        seen[L] = true;
        r.done_at[i].push_back(L);
      }
    // Inference runs the nodes in a topological order that keeps chains together (a node's
    // consumer right after it wherever the graph allows: the last node made ready runs next),
    // so that Conv2D + BatchNormalization (+ relu) fuse also where Keras's order puts a branch
    // between them (ResNet's shortcut convolution and its BN). Training runs Keras's order.
    std::vector<std::vector<std::size_t>> users(n);
    std::vector<std::size_t> pending(n), ready;
    for (std::size_t i = 0; i < n; ++i) {
      pending[i] = nodes_[i].inbound.size();
      for (auto j : nodes_[i].inbound) users[j].push_back(i);
    }
    for (std::size_t i = n; i-- > 0;)
      if (!pending[i]) ready.push_back(i);
    while (!ready.empty()) {
      const std::size_t i = ready.back();
      ready.pop_back();
      r.inference_order.push_back(i);
      for (auto u = users[i].rbegin(); u != users[i].rend(); ++u)
        if (--pending[*u] == 0) ready.push_back(*u);
    }
    if (r.inference_order.size() != n) {  // not a DAG (refused when built): the graph's order
      r.inference_order.resize(n);
      for (std::size_t i = 0; i < n; ++i) r.inference_order[i] = i;
    }
    r.out.assign(n, nullptr);
    r.own.resize(n);
    r.g.assign(n, nullptr);
    r.grad.resize(n);
    r.pre.assign(n, 0);
  }
  return r;
}

std::vector<std::size_t> Model::run_order() const {
  if (run_order_.size() == nodes_.size()) return run_order_;
  std::vector<std::size_t> order(nodes_.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  return order;
}

namespace {
// A shared layer's copy for another input shape (Node::runner) computes as the layer would:
// with its weights, trainable flags and random generator, copied in before it runs.
void sync_copy(Layer& layer, Layer& copy) {
  copy.set_trainable(layer.trainable());
  auto src = layer.weights(), dst = copy.weights();
  for (std::size_t k = 0; k < src.size(); ++k) {
    dst[k]->value = src[k]->value;
    dst[k]->trainable = src[k]->trainable;
  }
  if (auto* from = layer.random_generator())
    if (auto* to = copy.random_generator()) *to = *from;
}

// After the copy ran: the state its call moved goes back to the layer (BatchNormalization's
// moving statistics in training, the generator's draws).
void sync_back(Layer& copy, Layer& layer, bool training) {
  auto src = copy.weights(), dst = layer.weights();
  if (training)
    for (std::size_t k = 0; k < src.size(); ++k)
      if (!layer.weight_trainable(*dst[k])) dst[k]->value = src[k]->value;
  if (auto* from = copy.random_generator())
    if (auto* to = layer.random_generator()) *to = *from;
}
}  // namespace

// ---------------------------------------------------------------------------------------
// Building

KerasTensor Model::input(Shape shape, std::string name) {
  if (sequential_) throw Error(name_ + ": a Sequential takes Input through add()");
  if (!outputs_.empty()) throw Error(name_ + ": the model's outputs are set; add inputs before set_outputs");
  if (shape.empty()) throw Error(name_ + ".input: shape must not be empty");
  for (auto d : shape)
    if (d == 0) throw Error(name_ + ".input: shape " + shape_to_string(shape) + " has a zero axis");
  if (name.empty()) name = unique_name("input_layer");
  for (auto& in : inputs_)
    if (in.name == name) throw Error(name_ + ".input: an input named '" + name + "' is already in the model");
  for (auto& l : layers_)
    if (l->name() == name) throw Error(name_ + ".input: a layer named '" + name + "' is already in the model");
  inputs_.push_back({name, shape});
  Node n;
  n.input = inputs_.size() - 1;
  n.shape = std::move(shape);
  nodes_.push_back(std::move(n));
  return {nodes_.size() - 1};
}

const Shape& Model::shape_of(KerasTensor t) const {
  if (t.node >= nodes_.size()) throw Error(name_ + ": a tensor that is not of this model");
  return nodes_[t.node].shape;
}

namespace {
std::string describe(const Layer& l) { return l.name() + " (" + l.class_name() + ")"; }
}  // namespace

// The layer that computes a later node of `layer` on inputs of other shapes than its first:
// one built for them earlier, or a new one with layer's config and weights of the same shapes.
static Layer& shape_copy(const std::string& model, Layer& layer, const std::vector<Model::Node>& nodes,
                         const std::vector<Shape>& shapes, std::vector<std::unique_ptr<Layer>>& copies) {
  auto* merge = dynamic_cast<MergeLayer*>(&layer);
  for (auto& n : nodes)
    if (n.layer == &layer && n.runner) {
      auto* m = dynamic_cast<MergeLayer*>(n.runner);
      if (m ? m->input_shapes() == shapes : n.runner->input_shape() == shapes[0]) return *n.runner;
    }
  const std::string built_for = merge ? std::string("other input shapes") : "inputs of shape " + shape_to_string(layer.input_shape());
  const std::string given = merge ? std::string("these") : shape_to_string(shapes[0]);
  // Building the copy initializes weights that are never used: the draws must not move the
  // generator the model's other layers initialize from.
  const std::mt19937_64 global = global_rng();
  std::unique_ptr<Layer> copy = keras_io::layer_with_config_of(layer);
  if (!copy)
    throw Error(model + ": shared layer " + describe(layer) + " was built for " + built_for + " and cannot be rebuilt for " + given +
                " (its class has no Keras config)");
  if (auto* conv = dynamic_cast<const Conv2D*>(&layer))  // not part of Keras's config
    dynamic_cast<Conv2D&>(*copy).set_algorithm(conv->args().algorithm);
  try {
    if (auto* m = dynamic_cast<MergeLayer*>(copy.get())) m->build(shapes);
    else copy->build(shapes[0]);
  } catch (const Error& e) {
    global_rng() = global;
    throw Error(model + ": cannot apply shared layer " + describe(layer) + " to " + given + ": " + e.what());
  }
  global_rng() = global;
  auto mine = layer.weights(), its = copy->weights();
  for (std::size_t k = 0; k < std::max(mine.size(), its.size()); ++k)
    if (k >= mine.size() || k >= its.size() || mine[k]->value.shape() != its[k]->value.shape())
      throw Error(model + ": shared layer " + describe(layer) + " was built for " + built_for + "; on " + given + " its weight " +
                  (k < mine.size() ? mine[k]->name + " of shape " + shape_to_string(mine[k]->value.shape()) : "list") +
                  " would be " + (k < its.size() ? shape_to_string(its[k]->value.shape()) : "missing"));
  copies.push_back(std::move(copy));
  return *copies.back();
}

// Applies `layer` (owned by this model) to `inputs`: builds it on its first node; a later node
// on inputs of other shapes gets a copy built for them that shares the layer's weights.
static Model::Node make_node(const std::string& model, Layer& layer, const std::vector<Model::Node>& nodes,
                             const std::vector<KerasTensor>& inputs, std::size_t call_index,
                             std::vector<std::unique_ptr<Layer>>& copies) {
  if (inputs.empty()) throw Error(model + ": " + describe(layer) + " applied to no inputs");
  std::vector<Shape> shapes;
  Model::Node n;
  n.layer = &layer;
  n.call_index = call_index;
  for (auto t : inputs) {
    if (t.node >= nodes.size()) throw Error(model + ": " + describe(layer) + " applied to a tensor that is not of this model");
    n.inbound.push_back(t.node);
    shapes.push_back(nodes[t.node].shape);
  }
  Layer* runner = &layer;
  if (auto* merge = dynamic_cast<MergeLayer*>(&layer)) {
    if (!merge->built()) merge->build(shapes);
    else if (merge->input_shapes() != shapes) {
      if (call_index == 0) throw Error(model + ": " + describe(layer) + " was built for other input shapes than these");
      runner = &shape_copy(model, layer, nodes, shapes, copies);
    }
  } else {
    if (shapes.size() != 1)
      throw Error(model + ": " + describe(layer) + " takes one input, got " + std::to_string(shapes.size()) + " (only merge layers take a list)");
    if (!layer.built()) {
      try {
        layer.build(shapes[0]);
      } catch (const Error& e) {
        throw Error(model + ": cannot apply " + describe(layer) + " to a tensor of shape " + shape_to_string(shapes[0]) + ": " + e.what());
      }
    } else if (layer.input_shape() != shapes[0]) {
      if (call_index == 0)
        throw Error(model + ": " + describe(layer) + " was built for inputs of shape " + shape_to_string(layer.input_shape()) +
                    ", got " + shape_to_string(shapes[0]));
      runner = &shape_copy(model, layer, nodes, shapes, copies);
    }
  }
  if (runner != &layer) n.runner = runner;
  n.shape = runner->output_shape();
  return n;
}

KerasTensor Model::add(std::unique_ptr<Layer> layer, const std::vector<KerasTensor>& inputs) {
  if (sequential_) throw Error(name_ + ": a Sequential adds layers with add(layer)");
  if (!layer) throw Error(name_ + ".add: layer is null");
  if (!outputs_.empty()) throw Error(name_ + ": the model's outputs are set; add layers before set_outputs");
  for (auto& l : layers_)
    if (l->name() == layer->name()) throw Error(name_ + ".add: a layer named '" + layer->name() + "' is already in the model");
  for (auto& in : inputs_)
    if (in.name == layer->name()) throw Error(name_ + ".add: an input named '" + layer->name() + "' is already in the model");
  nodes_.push_back(make_node(name_, *layer, nodes_, inputs, 0, shape_copies_));
  layers_.push_back(std::move(layer));
  return {nodes_.size() - 1};
}

KerasTensor Model::apply(const std::string& layer_name, const std::vector<KerasTensor>& inputs) {
  if (!outputs_.empty()) throw Error(name_ + ": the model's outputs are set; apply layers before set_outputs");
  Layer& l = layer(layer_name);
  std::size_t calls = 0;
  for (auto& n : nodes_) calls += n.layer == &l;
  nodes_.push_back(make_node(name_, l, nodes_, inputs, calls, shape_copies_));
  return {nodes_.size() - 1};
}

void Model::set_outputs(const std::vector<KerasTensor>& outputs) {
  if (outputs.empty()) throw Error(name_ + ".set_outputs: a model needs at least one output");
  if (inputs_.empty()) throw Error(name_ + ".set_outputs: the model has no inputs");
  std::vector<char> used(nodes_.size(), 0);
  for (auto t : outputs) {
    if (t.node >= nodes_.size()) throw Error(name_ + ".set_outputs: a tensor that is not of this model");
    used[t.node] = 1;
  }
  for (std::size_t i = nodes_.size(); i-- > 0;)
    if (used[i])
      for (auto j : nodes_[i].inbound) used[j] = 1;
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    if (!used[i] && nodes_[i].layer)
      throw Error(name_ + ".set_outputs: layer " + describe(*nodes_[i].layer) + " (node " + std::to_string(nodes_[i].call_index) +
                  ") leads to no output");
  outputs_.clear();
  for (auto t : outputs) outputs_.push_back(t.node);
  order_layers();
  built_ = true;
  rt_.reset();
}

// keras.src.ops.function.map_graph: operations by decreasing depth from the outputs, ties in
// the order a depth-first walk from the outputs first meets them.
void Model::order_layers() {
  const std::size_t n = nodes_.size();
  auto op_of = [&](std::size_t i) -> long {
    if (!nodes_[i].layer) return -1 - long(nodes_[i].input);
    for (std::size_t k = 0; k < layers_.size(); ++k)
      if (layers_[k].get() == nodes_[i].layer) return long(k);
    return 0;
  };
  std::vector<char> finished(n, 0);
  std::vector<std::size_t> order;  // nodes from inputs to outputs
  std::map<long, std::size_t> op_index;
  std::vector<std::pair<std::size_t, std::size_t>> stack;  // (node, next inbound to visit)
  for (auto o : outputs_) {
    if (finished[o]) continue;
    stack.push_back({o, 0});
    op_index.emplace(op_of(o), op_index.size());
    while (!stack.empty()) {
      auto& [i, k] = stack.back();
      if (k < nodes_[i].inbound.size()) {
        const std::size_t j = nodes_[i].inbound[k++];
        if (!finished[j]) {
          op_index.emplace(op_of(j), op_index.size());
          stack.push_back({j, 0});
        }
        continue;
      }
      if (!finished[i]) finished[i] = 1, order.push_back(i);
      stack.pop_back();
    }
  }
  std::map<std::size_t, long> node_depth;
  std::vector<std::size_t> node_seen;  // insertion order of node_depth (Keras's dict order)
  std::map<long, long> op_depth;
  std::vector<long> op_seen;  // insertion order of op_depth
  for (std::size_t r = order.size(); r-- > 0;) {
    const std::size_t i = order[r];
    auto [at, inserted] = node_depth.emplace(i, 0);
    if (inserted) node_seen.push_back(i);
    long depth = at->second;
    const long op = op_of(i);
    auto it = op_depth.find(op);
    if (it == op_depth.end()) op_seen.push_back(op);
    depth = std::max(depth, it == op_depth.end() ? 0L : it->second);
    op_depth[op] = depth;
    node_depth[i] = depth;
    for (auto j : nodes_[i].inbound) {
      if (!node_depth.count(j)) node_seen.push_back(j);
      node_depth[j] = std::max(depth + 1, node_depth.count(j) ? node_depth[j] : 0L);
    }
  }
  // keras.src.ops.function.Function._run_through_graph runs the nodes by decreasing depth,
  // each depth's in that dict order: training runs them so (the order a shared
  // BatchNormalization's nodes move its statistics in).
  run_order_ = node_seen;
  std::stable_sort(run_order_.begin(), run_order_.end(), [&](std::size_t a, std::size_t b) { return node_depth[a] > node_depth[b]; });
  for (std::size_t i = 0; i < n; ++i)  // inputs no output depends on
    if (!node_depth.count(i)) run_order_.insert(run_order_.begin(), i);
  for (std::size_t k = 0; k < inputs_.size(); ++k)  // inputs no output depends on
    if (!op_depth.count(-1 - long(k))) {
      op_depth[-1 - long(k)] = 0, op_seen.push_back(-1 - long(k));
      op_index[-1 - long(k)] = SIZE_MAX;  // Keras's -1: sorts before every other
      for (std::size_t i = 0; i < n; ++i)
        if (!nodes_[i].layer && nodes_[i].input == k) node_depth[i] = 0;
    }
  std::vector<long> ops = op_seen;
  std::stable_sort(ops.begin(), ops.end(), [&](long a, long b) {
    if (op_depth[a] != op_depth[b]) return op_depth[a] > op_depth[b];
    auto ia = op_index[a] == SIZE_MAX ? -1L : long(op_index[a]), ib = op_index[b] == SIZE_MAX ? -1L : long(op_index[b]);
    return ia < ib;
  });
  // Reorder layers_ to Keras's order; keras_order_ keeps the inputs in their places.
  std::vector<std::unique_ptr<Layer>> sorted;
  keras_order_.clear();
  for (long op : ops) {
    if (op < 0) {
      keras_order_.push_back(op);
      continue;
    }
    keras_order_.push_back(long(sorted.size()));
    sorted.push_back(std::move(layers_[std::size_t(op)]));
  }
  layers_ = std::move(sorted);
  // Keras prints a graph as a Sequential's table when each depth holds one node of one input
  // and no layer is shared.
  std::map<long, std::vector<std::size_t>> by_depth;
  for (auto& [i, d] : node_depth) by_depth[d].push_back(i);
  sequential_like_ = true;
  for (auto& [d, v] : by_depth)
    if (v.size() > 1 || nodes_[v[0]].inbound.size() > 1) sequential_like_ = false;
  for (auto& node : nodes_)
    if (node.call_index > 0) sequential_like_ = false;
}

// ---------------------------------------------------------------------------------------
// Running

// The cap of a layer that is a plain relu (0 <= y <= cap: +inf for relu, 6 for relu6), or NaN.
static float relu_cap(const Layer& l) {
  if (dynamic_cast<const ActivationLayer*>(&l)) {
    if (l.activation() == Activation::Relu) return INFINITY;
    if (l.activation() == Activation::Relu6) return 6.0f;
  }
  if (auto* r = dynamic_cast<const ReLU*>(&l))
    if (r->args().threshold == 0 && r->args().negative_slope == 0)
      return r->args().max_value ? float(*r->args().max_value) : INFINITY;
  return NAN;
}

// The output of `a` then `b` (then a relu capped at `hi`, when hi is not NaN) on x in one
// step, or null where the pair has no fused form. *with_relu: whether the relu was taken.
// `training`: only the pairs whose layers compute the same in training (a convolution and its
// max pooling; not BatchNormalization, which normalizes by the batch's statistics there).
static const Tensor* fused_pair(Layer& a, Layer& b, const Tensor& x, float hi, bool training, bool* with_relu) {
  *with_relu = false;
  if (auto* mp = dynamic_cast<MaxPooling2D*>(&b)) {
    if (auto* c = dynamic_cast<Conv2D*>(&a)) return c->call_max_pooled(x, *mp, training);
    if (auto* f = dynamic_cast<FourierConv2D*>(&a)) return f->call_max_pooled(x, *mp);
    return nullptr;
  }
  if (training) return nullptr;
  if (auto* bn = dynamic_cast<BatchNormalization*>(&b)) {
    if (a.activation() != Activation::Linear) return nullptr;
    std::vector<float> scale, shift;
    const Tensor* y = nullptr;
    if (auto* c = dynamic_cast<Conv2D*>(&a)) {
      bn->inference_affine(scale, shift);
      y = c->call_affine(x, scale, shift, hi);
    } else if (auto* d = dynamic_cast<DepthwiseConv2D*>(&a)) {
      bn->inference_affine(scale, shift);
      y = d->call_affine(x, scale, shift, hi);
    }
    *with_relu = y && hi == hi;
    return y;
  }
  return nullptr;
}

// r.needs: per node, whether the gradient w.r.t. its output is needed, i.e. whether its
// layer or one before it has trainable weights. Backward stops where it is not (seed-fourier's
// fixed FourierConv2D and the pooling after it need none: its training step went from 480 to
// 380 us, below seed-cnn's 430), and training's forward may fuse such layers as inference does.
void Model::mark_needed_gradients() {
  Runtime& r = rt();
  r.needs.assign(nodes_.size(), 0);
  for (std::size_t i : r.training_order) {
    const Layer* L = nodes_[i].layer;
    if (!L) continue;
    bool need = false;
    for (const Weight* w : std::as_const(*L).weights()) need = need || L->weight_trainable(*w);
    for (auto j : nodes_[i].inbound) need = need || r.needs[j];
    r.needs[i] = need;
  }
}

const std::vector<const Tensor*>& Model::forward(const std::vector<const Tensor*>& xs, bool training) {
  Runtime& r = rt();
  const std::size_t n = nodes_.size();
  auto at = [&](std::size_t q) { return training ? r.training_order[q] : r.inference_order[q]; };
  // Whether the node run at position q is a layer that feeds only the node run next.
  auto feeds_only_next = [&](std::size_t q) {
    if (q + 1 >= n) return false;
    const std::size_t j = at(q), k = at(q + 1);
    return nodes_[j].layer && r.consumers[j] == 1 && r.layer_nodes[j] == 1 &&
           !nodes_[j].layer->activity_regularizer().active() && nodes_[k].layer && nodes_[k].inbound.size() == 1 &&
           nodes_[k].inbound[0] == j && r.layer_nodes[k] == 1 && !nodes_[k].layer->activity_regularizer().active();
  };
  if (training) mark_needed_gradients();
  for (std::size_t q = 0; q < n; ++q) {
    const std::size_t i = at(q);
    const Node& node = nodes_[i];
    if (!node.layer) {
      r.out[i] = xs[node.input];
      continue;
    }
    Layer& R = node.runner ? *node.runner : *node.layer;
    if (node.runner) sync_copy(*node.layer, R);
    if (training && r.layer_nodes[i] > 1)  // backward calls the layer again: with the same random draws
      if (std::mt19937_64* gen = R.random_generator()) r.rng_before[i] = *gen;
    if (auto* merge = dynamic_cast<MergeLayer*>(&R)) {
      std::vector<const Tensor*> ins;
      for (auto j : node.inbound) ins.push_back(r.out[j]);
      // Inference fuses an elementwise merge with a relu that follows it (ResNet's Add, relu).
      auto* elementwise = dynamic_cast<ElementwiseMerge*>(merge);
      if (!training && elementwise && feeds_only_next(q)) {
        if (const float cap = relu_cap(*nodes_[at(q + 1)].layer); cap == cap) {
          r.out[i] = nullptr;
          r.out[at(++q)] = &elementwise->call_relu(ins, cap);
          continue;
        }
      }
      r.out[i] = &merge->call(ins, training);
    } else {
      const Tensor& x = *r.out[node.inbound[0]];
      // Inference fuses a layer with the next where it feeds only that one: Conv2D or
      // FourierConv2D + MaxPooling2D (the pair's intermediate is never stored), and Conv2D or
      // DepthwiseConv2D + BatchNormalization (folded into the kernel and bias), with a relu
      // after them. Training fuses the first kind where neither layer needs a gradient.
      if (feeds_only_next(q) && (!training || (!r.needs[i] && !r.needs[at(q + 1)]))) {
        const float hi = feeds_only_next(q + 1) ? relu_cap(*nodes_[at(q + 2)].layer) : NAN;
        bool with_relu = false;
        if (const Tensor* y = fused_pair(*node.layer, *nodes_[at(q + 1)].layer, x, hi, training, &with_relu)) {
          r.out[i] = nullptr;
          if (with_relu) r.out[at(++q)] = nullptr;
          r.out[at(++q)] = y;
          continue;
        }
      }
      r.out[i] = &R.call(x, training);
    }
    if (node.runner) sync_back(R, *node.layer, training);
    if (r.layer_nodes[i] > 1) {  // the layer's next node would overwrite its output
      r.own[i] = *r.out[i];
      r.out[i] = &r.own[i];
    }
  }
  r.outputs.clear();
  for (auto o : outputs_) r.outputs.push_back(r.out[o]);
  return r.outputs;
}

void Model::backward(const Tensor& dy, bool pre_activation, std::size_t batch, const std::function<void(Layer&)>& on_ready) {
  Runtime& r = rt();
  const std::size_t n = nodes_.size();
  std::fill(r.g.begin(), r.g.end(), nullptr);
  std::fill(r.pre.begin(), r.pre.end(), 0);
  r.grad_sum.clear();
  r.g[outputs_[0]] = &dy;
  r.pre[outputs_[0]] = pre_activation;
  mark_needed_gradients();
  // Hands t, a gradient w.r.t. node j's output, to j: by reference when j has one consumer
  // and t outlives j's turn, else summed into j's own buffer.
  auto deliver = [&](std::size_t j, const Tensor& t, bool stable, bool pre) {
    if (!nodes_[j].layer || !r.needs[j]) return;  // a model input, or a node with nothing trainable up to it
    if (r.consumers[j] == 1 && stable) {
      r.g[j] = &t;
      r.pre[j] = pre;
      return;
    }
    if (!r.g[j]) {
      r.grad[j] = t;
    } else {
      if (r.g[j] != &r.grad[j]) r.grad[j] = *r.g[j];
      float* a = r.grad[j].data();
      const float* b = t.data();
      for (std::size_t k = 0, m = t.size(); k < m; ++k) a[k] += b[k];
    }
    r.g[j] = &r.grad[j];
  };
  // After node i, the layers whose first node is i have their final gradients (a shared
  // layer's summed over its nodes): on_ready hears of them in this order.
  auto finish = [&](std::size_t i) {
    for (Layer* L : r.done_at[i]) {
      if (auto it = r.grad_sum.find(L); it != r.grad_sum.end()) {
        auto ws = L->weights();
        for (std::size_t k = 0; k < ws.size(); ++k) ws[k]->grad = it->second[k];
      }
      if (on_ready) on_ready(*L);
    }
  };
  for (std::size_t q = n; q-- > 0;) {
    const std::size_t i = r.training_order[q];
    const Node& node = nodes_[i];
    Layer* L = node.layer;
    if (!L || !r.g[i] || !r.needs[i]) {
      finish(i);
      continue;
    }
    const bool shared = r.layer_nodes[i] > 1;
    Layer& R = node.runner ? *node.runner : *L;  // the layer that computed this node
    auto* merge = dynamic_cast<MergeLayer*>(&R);
    std::vector<const Tensor*> ins;
    for (auto j : node.inbound) ins.push_back(r.out[j]);
    if (shared) {  // restore the layer's state of this node, leaving its non-trainable weights and generator as they are
      std::vector<Tensor> kept;
      for (const Weight* w : R.weights())
        if (!R.weight_trainable(*w)) kept.push_back(w->value);
      std::mt19937_64* gen = R.random_generator();
      std::optional<std::mt19937_64> after;
      if (auto it = r.rng_before.find(i); gen && it != r.rng_before.end()) after = *gen, *gen = it->second;
      if (merge) merge->call(ins, true);
      else R.call(*ins[0], true);
      std::size_t k = 0;
      for (Weight* w : R.weights())
        if (!R.weight_trainable(*w)) w->value = std::move(kept[k++]);
      if (after) *gen = *after;
    }
    const Tensor* g = r.g[i];
    if (const Regularizer& reg = L->activity_regularizer(); reg.active()) {  // d(penalty / n) / d output
      r.activity_grad = *g;
      reg.add_gradient(r.out[i]->data(), r.activity_grad.data(), r.out[i]->size(), 1.0 / double(batch));
      g = &r.activity_grad;
    }
    if (merge) {
      const auto& dxs = merge->backward(*g);
      for (std::size_t k = 0; k < ins.size(); ++k) deliver(node.inbound[k], dxs[k], false, false);
    } else {
      const std::size_t j = node.inbound[0];
      const Layer* prev = nodes_[j].layer;
      // A max pooling after a relu layer applies relu's derivative in its own pass.
      auto* pool = dynamic_cast<MaxPooling2D*>(L);
      if (pool && !shared && prev && r.needs[j] && prev->activation() == Activation::Relu && r.consumers[j] == 1 && r.layer_nodes[j] == 1 &&
          !prev->activity_regularizer().active() && !dynamic_cast<const MergeLayer*>(prev)) {
        deliver(j, pool->backward_through_relu(*g), true, true);
      } else {
        const Tensor& dx = R.backward(*g, /*need_input_grad=*/prev != nullptr && r.needs[j], !r.pre[i]);
        if (prev) deliver(j, dx, !shared, false);
      }
    }
    if (shared) {  // summed over the layer's nodes (its shape copies' included) into grad_sum[L]
      auto& sums = r.grad_sum[L];
      auto ws = R.weights();
      if (sums.empty())
        for (Weight* w : ws) sums.push_back(w->grad);
      else
        for (std::size_t k = 0; k < ws.size(); ++k)
          for (std::size_t e = 0; e < sums[k].size(); ++e) sums[k].data()[e] += ws[k]->grad.data()[e];
    }
    finish(i);
  }
}

}  // namespace fourierconv::nn

namespace fourierconv::nn {

// The regularizers' share of the loss after a forward pass of n samples: every weight's penalty
// plus every activity penalty on the outputs of that pass over n (Keras 3's layer losses).
double Model::regularization_loss(std::size_t n) const {
  double total = 0;
  for (auto& l : layers_)
    for (const Weight* w : std::as_const(*l).weights())  // Keras 3: the trainable weights' penalties
      if (w->regularizer.active() && l->weight_trainable(*w)) total += w->regularizer.penalty(w->value.data(), w->value.size());
  if (rt_ && n)
    for (std::size_t i = 0; i < nodes_.size(); ++i)
      if (const Layer* l = nodes_[i].layer; l && l->activity_regularizer().active() && rt_->out[i])
        total += l->activity_regularizer().penalty(rt_->out[i]->data(), rt_->out[i]->size()) / double(n);
  return total;
}

void Model::build_chain() {
  nodes_.clear();
  Node in;
  in.shape = inputs_.at(0).shape;
  nodes_.push_back(in);
  keras_order_ = {-1};
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    Node n;
    n.layer = layers_[i].get();
    n.inbound = {i};
    n.shape = layers_[i]->output_shape();
    nodes_.push_back(std::move(n));
    keras_order_.push_back(long(i));
  }
  outputs_ = {nodes_.size() - 1};
  run_order_.resize(nodes_.size());
  for (std::size_t i = 0; i < nodes_.size(); ++i) run_order_[i] = i;
  sequential_like_ = true;
  built_ = true;
  rt_.reset();
}

}  // namespace fourierconv::nn
