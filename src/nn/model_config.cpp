// A model's Keras config, both ways (model_config.hpp).
#include "nn/model_config.hpp"

#include <map>
#include <new>
#include <stdexcept>

#include "fourierconv/error.hpp"
#include "fourierconv/memory_limit.hpp"
#include "fourierconv/nn/layers/merge.hpp"
#include "fourierconv/nn/sequential.hpp"

namespace fourierconv::nn {

namespace keras_io {
namespace {

json layer_entry(const Layer& l) {
  for (const LayerType& t : layer_types()) {
    json cfg;
    if (t.class_name != l.class_name() || !t.to_config(l, cfg)) continue;
    json entry = {{"module", t.module}, {"class_name", t.class_name}, {"config", cfg}};
    if (t.registered_name.empty()) entry["registered_name"] = nullptr;
    else entry["registered_name"] = t.registered_name;
    if (auto* merge = dynamic_cast<const MergeLayer*>(&l)) {
      json shapes = json::array();
      for (auto& s : merge->input_shapes()) shapes.push_back(batch_shape(s));
      entry["build_config"] = {{"input_shape", shapes}};
    } else {
      entry["build_config"] = {{"input_shape", batch_shape(l.input_shape())}};
    }
    return entry;
  }
  throw Error("save_model: layer " + l.name() + " (" + l.class_name() + ") cannot be saved");
}

json input_layer_entry(const std::string& name, const Shape& shape) {
  return {{"module", "keras.layers"}, {"class_name", "InputLayer"},
          {"config", {{"batch_shape", batch_shape(shape)}, {"dtype", "float32"}, {"sparse", false}, {"ragged", false}, {"name", name},
                      {"optional", false}}},
          {"registered_name", nullptr}};
}

json sequential_config(const Model& m) {
  json layers = json::array();
  layers.push_back(input_layer_entry(m.inputs()[0].name, m.input_shape()));
  for (auto& l : m.layers()) layers.push_back(layer_entry(*l));
  return {{"module", "keras"}, {"class_name", "Sequential"},
          {"config", {{"name", m.name()}, {"trainable", true}, {"dtype", dtype_policy()}, {"layers", layers},
                      {"build_input_shape", batch_shape(m.input_shape())}}},
          {"registered_name", nullptr}, {"build_config", {{"input_shape", batch_shape(m.input_shape())}}}};
}

// Keras 3's Functional config: each layer with its inbound nodes, each node's arguments as
// __keras_tensor__ records whose keras_history is [layer, node index, tensor index].
json functional_config(const Model& m) {
  const auto& nodes = m.nodes();
  auto source_name = [&](std::size_t j) { return nodes[j].layer ? nodes[j].layer->name() : m.inputs()[nodes[j].input].name; };
  auto tensor = [&](std::size_t j) {
    return json{{"class_name", "__keras_tensor__"},
                {"config", {{"shape", batch_shape(nodes[j].shape)}, {"dtype", "float32"},
                            {"keras_history", json::array({source_name(j), nodes[j].call_index, 0})}}}};
  };
  json layers = json::array();
  for (long k : m.keras_order()) {
    if (k < 0) {
      const auto& in = m.inputs()[std::size_t(-1 - k)];
      json e = input_layer_entry(in.name, in.shape);
      e["name"] = in.name;
      e["inbound_nodes"] = json::array();
      layers.push_back(e);
      continue;
    }
    const Layer& l = *m.layers()[std::size_t(k)];
    json e = layer_entry(l);
    e["name"] = l.name();
    std::vector<const Model::Node*> mine;
    for (auto& n : nodes)
      if (n.layer == &l) mine.push_back(&n);
    std::sort(mine.begin(), mine.end(), [](auto* a, auto* b) { return a->call_index < b->call_index; });
    json inbound = json::array();
    for (auto* n : mine) {
      json arg;
      if (dynamic_cast<const MergeLayer*>(&l)) {
        arg = json::array();
        for (auto j : n->inbound) arg.push_back(tensor(j));
      } else {
        arg = tensor(n->inbound[0]);
      }
      inbound.push_back({{"args", json::array({arg})}, {"kwargs", json::object()}});
    }
    e["inbound_nodes"] = inbound;
    layers.push_back(e);
  }
  auto refs = [&](const std::vector<std::size_t>& ids) {
    json r = json::array();
    for (auto j : ids) r.push_back(json::array({source_name(j), nodes[j].call_index, 0}));
    return r;
  };
  std::vector<std::size_t> input_nodes;
  for (std::size_t k = 0; k < m.inputs().size(); ++k)
    for (std::size_t j = 0; j < nodes.size(); ++j)
      if (!nodes[j].layer && nodes[j].input == k) input_nodes.push_back(j);
  return {{"module", "keras.src.models.functional"}, {"class_name", "Functional"},
          {"config", {{"name", m.name()}, {"trainable", true}, {"layers", layers}, {"input_layers", refs(input_nodes)},
                      {"output_layers", refs(m.outputs())}}},
          {"registered_name", "Functional"}, {"build_config", {{"input_shape", nullptr}}}};
}

// A layer from its config entry (class looked up in keras_layers.hpp's table).
std::unique_ptr<Layer> layer_from_entry(const Ctx& c, const json& entry, const std::string& name) {
  const std::string cls = entry.at("class_name").get<std::string>();
  const json& lc = entry.at("config");
  const LayerType* type = nullptr;
  for (const LayerType& t : layer_types())
    if (t.class_name == cls) type = &t;
  if (!type) bad(c, "layer '" + name + "' has unsupported class " + cls);
  std::unique_ptr<Layer> layer = type->from_config(c, lc, name);
  if (lc.contains("trainable") && lc.at("trainable").is_boolean()) layer->set_trainable(lc.at("trainable").get<bool>());
  return layer;
}

}  // namespace

std::unique_ptr<Layer> layer_with_config_of(const Layer& l) {
  json entry;
  try {
    entry = layer_entry(l);
  } catch (const Error&) {
    return nullptr;
  }
  return layer_from_entry(Ctx{"", "Model"}, entry, l.name());
}

namespace {

void check_entry(const Ctx& c, const json& entry) {
  if (!entry.is_object() || !entry.contains("class_name") || !entry.at("class_name").is_string() || !entry.contains("config") ||
      !entry.at("config").is_object())
    bad(c, "a layer entry is malformed: " + entry.dump().substr(0, 200));
}

std::string entry_name(const json& entry) {
  const json& lc = entry.at("config");
  if (lc.contains("name") && lc.at("name").is_string()) return lc.at("name").get<std::string>();
  if (entry.contains("name") && entry.at("name").is_string()) return entry.at("name").get<std::string>();
  return entry.at("class_name").get<std::string>();
}

// An InputLayer's shape after the batch (Keras 3's batch_shape, Keras 2's batch_input_shape).
Shape input_layer_shape(const Ctx& c, const json& lc) {
  const char* key = lc.contains("batch_shape") ? "batch_shape" : "batch_input_shape";
  if (!lc.contains(key) || !lc.at(key).is_array() || lc.at(key).size() < 2) bad(c, "InputLayer has no batch_shape");
  Shape input;
  for (std::size_t i = 1; i < lc.at(key).size(); ++i) {
    const json& d = lc.at(key)[i];
    if (!d.is_number_unsigned() || d.get<std::size_t>() == 0 || d.get<std::size_t>() > kMaxDim)
      bad(c, "InputLayer batch_shape must hold positive sizes after the batch, got " + lc.at(key).dump());
    input.push_back(d.get<std::size_t>());
  }
  return input;
}

// Refuses a model whose parameters so far (`planned`) exceed what the weights can hold.
void check_planned(const Ctx& c, std::size_t planned, const std::string& name, std::size_t weight_bytes) {
  if (weight_bytes == kNoWeightsFile) {
    if (planned > memory_limit() / sizeof(float))
      bad(c, "the config declares " + std::to_string(planned) + " parameters by layer " + name + ", more than the memory limit of " +
                 std::to_string(memory_limit()) + " bytes holds");
  } else if (planned > (weight_bytes + (std::size_t(1) << 20)) / sizeof(float))
    bad(c, "the config declares " + std::to_string(planned) + " parameters by layer " + name + ", but the weights hold only " +
               std::to_string(weight_bytes) + " bytes");
}

Model sequential_from_config(const json& root, const Ctx& c, std::size_t weight_bytes) {
  const json& given = root.contains("config") ? root.at("config") : json();
  // Keras 2.0 and 2.1 wrote a Sequential's config as the bare list of its layers.
  const json cfg = given.is_array() ? json{{"name", "sequential"}, {"layers", given}} : given;
  if (!cfg.is_object() || !cfg.contains("layers") || !cfg.at("layers").is_array()) bad(c, "config has no layer list");
  Sequential m(cfg.contains("name") && cfg.at("name").is_string() ? cfg.at("name").get<std::string>() : "sequential");
  Shape input;
  for (const json& entry : cfg.at("layers")) {
    check_entry(c, entry);
    const json& lc = entry.at("config");
    const std::string name = entry_name(entry);
    if (entry.at("class_name") == "InputLayer") {
      input = input_layer_shape(c, lc);
      m.add(Input{input, name});
      continue;
    }
    std::unique_ptr<Layer> layer = layer_from_entry(c, entry, name);
    if (dynamic_cast<const MergeLayer*>(layer.get())) bad(c, "layer '" + name + "' (" + layer->class_name() + ") takes a list of inputs; a Sequential cannot hold it");
    if (input.empty() && m.layers().empty()) {
      const json* shape = nullptr;
      if (lc.contains("batch_input_shape") && lc.at("batch_input_shape").is_array()) shape = &lc.at("batch_input_shape");
      else if (cfg.contains("build_input_shape") && cfg.at("build_input_shape").is_array()) shape = &cfg.at("build_input_shape");
      else if (entry.contains("build_config") && entry.at("build_config").contains("input_shape")) shape = &entry.at("build_config").at("input_shape");
      if (!shape) bad(c, "the model has no input shape");
      for (std::size_t i = 1; i < shape->size(); ++i) {
        if (!(*shape)[i].is_number_unsigned() || (*shape)[i].get<std::size_t>() == 0) bad(c, "bad input shape " + shape->dump());
        input.push_back((*shape)[i].get<std::size_t>());
      }
      m.add(Input{input});
    }
    const Shape& in = m.layers().empty() ? input : m.layers().back()->output_shape();
    check_planned(c, m.count_params() + planned_params(*layer, in), name, weight_bytes);
    try {
      m.add(std::move(layer));
    } catch (const Error& e) {
      bad(c, e.what());
    }
  }
  if (m.layers().empty()) bad(c, "the model has no layers");
  return m;
}

// One reference to a tensor: Keras 3's {"class_name": "__keras_tensor__", "config":
// {"keras_history": [layer, node, tensor]}} or Keras 2's [layer, node, tensor, kwargs].
struct TensorRef {
  std::string layer;
  std::size_t node = 0;
};

TensorRef tensor_ref(const Ctx& c, const json& t, const std::string& who) {
  const json* h = &t;
  if (t.is_object()) {
    if (!t.contains("config") || !t.at("config").is_object() || !t.at("config").contains("keras_history"))
      bad(c, "layer '" + who + "': an inbound argument is not a tensor (only layers applied to tensors are supported): " + t.dump().substr(0, 200));
    h = &t.at("config").at("keras_history");
  }
  if (!h->is_array() || h->size() < 3 || !(*h)[0].is_string() || !(*h)[1].is_number_unsigned() || !(*h)[2].is_number_unsigned())
    bad(c, "layer '" + who + "': malformed inbound tensor " + h->dump().substr(0, 200));
  if ((*h)[2].get<std::size_t>() != 0)
    bad(c, "layer '" + who + "': takes output " + (*h)[2].dump() + " of " + (*h)[0].get<std::string>() + "; every supported layer has one output");
  return {(*h)[0].get<std::string>(), (*h)[1].get<std::size_t>()};
}

// A node's input tensors in either format.
std::vector<TensorRef> node_inputs(const Ctx& c, const json& node, const std::string& who) {
  std::vector<TensorRef> refs;
  if (node.is_object()) {  // Keras 3: {"args": [tensor | [tensors]], "kwargs": {}}
    if (!node.contains("args") || !node.at("args").is_array() || node.at("args").empty())
      bad(c, "layer '" + who + "': an inbound node has no args");
    const json& a0 = node.at("args")[0];
    if (a0.is_array())
      for (const json& t : a0) refs.push_back(tensor_ref(c, t, who));
    else
      refs.push_back(tensor_ref(c, a0, who));
    for (std::size_t i = 1; i < node.at("args").size(); ++i)
      if (node.at("args")[i].is_object() && node.at("args")[i].value("class_name", "") == "__keras_tensor__")
        bad(c, "layer '" + who + "': called with more than one tensor argument, which is not supported");
  } else if (node.is_array()) {  // Keras 2: [[layer, node, tensor, kwargs], ...]
    for (const json& t : node) refs.push_back(tensor_ref(c, t, who));
  } else {
    bad(c, "layer '" + who + "': malformed inbound node " + node.dump().substr(0, 200));
  }
  if (refs.empty()) bad(c, "layer '" + who + "': an inbound node has no input tensors");
  return refs;
}

Model functional_from_config(const json& root, const Ctx& c, std::size_t weight_bytes) {
  const json& cfg = root.contains("config") ? root.at("config") : json();
  if (!cfg.is_object() || !cfg.contains("layers") || !cfg.at("layers").is_array()) bad(c, "config has no layer list");
  Model m(cfg.contains("name") && cfg.at("name").is_string() ? cfg.at("name").get<std::string>() : "functional");
  // Keras 3 writes a single input or output as one [name, node, tensor], Keras 2 as a list.
  auto ref_list = [&](const char* key) {
    if (cfg.contains(key) && cfg.at(key).is_object())
      bad(c, std::string(key) + " is a dict (named inputs or outputs), which is not supported: only lists");
    if (!cfg.contains(key) || !cfg.at(key).is_array() || cfg.at(key).empty()) bad(c, std::string("config has no ") + key);
    const json& v = cfg.at(key);
    std::vector<TensorRef> refs;
    if (v[0].is_string()) refs.push_back(tensor_ref(c, v, key));
    else
      for (const json& r : v) refs.push_back(tensor_ref(c, r, key));
    return refs;
  };
  struct Pending {
    const json* entry;
    std::string name;
    std::unique_ptr<Layer> layer;
    std::vector<std::vector<TensorRef>> nodes;
    std::size_t done = 0;
  };
  std::vector<Pending> pending;
  std::map<std::string, const json*> input_entries;
  std::vector<std::string> order;
  for (const json& entry : cfg.at("layers")) {
    check_entry(c, entry);
    const std::string name = entry_name(entry);
    if (name.empty()) bad(c, "a " + entry.at("class_name").get<std::string>() + " layer has an empty name (graph configs refer to layers by name)");
    for (auto& o : order)
      if (o == name) bad(c, "two layers are named '" + name + "'");
    order.push_back(name);
    if (entry.at("class_name") == "InputLayer") {
      input_entries[name] = &entry;
      continue;
    }
    Pending p{&entry, name, layer_from_entry(c, entry, name), {}, 0};
    const json nodes = entry.contains("inbound_nodes") ? entry.at("inbound_nodes") : json::array();
    if (!nodes.is_array() || nodes.empty()) bad(c, "layer '" + name + "' has no inbound nodes (it is not connected)");
    if (nodes.size() > 4096) bad(c, "layer '" + name + "' has " + std::to_string(nodes.size()) + " inbound nodes");
    for (const json& node : nodes) p.nodes.push_back(node_inputs(c, node, name));
    pending.push_back(std::move(p));
  }
  std::map<std::pair<std::string, std::size_t>, KerasTensor> made;  // (layer, node index) -> tensor
  for (const TensorRef& r : ref_list("input_layers")) {
    auto it = input_entries.find(r.layer);
    if (it == input_entries.end()) bad(c, "input_layers names '" + r.layer + "', which is not an InputLayer of the config");
    if (r.node != 0 || made.count({r.layer, 0})) bad(c, "input_layers lists '" + r.layer + "' wrongly");
    made[{r.layer, 0}] = m.input(input_layer_shape(c, it->second->at("config")), r.layer);
  }
  std::map<std::string, bool> known;
  for (auto& n : order) known[n] = true;
  for (auto& p : pending)
    for (auto& node : p.nodes)
      for (auto& r : node) {
        if (!known.count(r.layer)) bad(c, "layer '" + p.name + "' takes its input from '" + r.layer + "', which is not in the config");
        if (input_entries.count(r.layer) && !made.count({r.layer, r.node}))
          bad(c, "layer '" + p.name + "' takes its input from InputLayer '" + r.layer + "', which input_layers does not list");
      }
  // Keras's from_config: process the layers in order, deferring a node until its inputs
  // exist; no progress in a whole pass means a cycle or a reference to a missing node.
  std::size_t remaining = 0;
  for (auto& p : pending) remaining += p.nodes.size();
  std::size_t planned = 0;
  while (remaining) {
    bool progress = false;
    for (auto& p : pending) {
      while (p.done < p.nodes.size()) {
        std::vector<KerasTensor> ins;
        for (auto& r : p.nodes[p.done]) {
          auto it = made.find({r.layer, r.node});
          if (it == made.end()) break;
          ins.push_back(it->second);
        }
        if (ins.size() != p.nodes[p.done].size()) break;
        if (p.done == 0 && !dynamic_cast<const MergeLayer*>(p.layer.get())) {
          if (ins.size() != 1)
            bad(c, "layer '" + p.name + "' (" + p.layer->class_name() + ") takes one input, its node lists " + std::to_string(ins.size()));
          planned += planned_params(*p.layer, m.shape_of(ins[0]));
          check_planned(c, planned, p.name, weight_bytes);
        }
        KerasTensor t;
        try {
          t = p.done == 0 ? m.add(std::move(p.layer), ins) : m.apply(p.name, ins);
        } catch (const Error& e) {
          bad(c, e.what());
        }
        made[{p.name, p.done}] = t;
        ++p.done;
        --remaining;
        progress = true;
      }
    }
    if (!progress) {
      for (auto& p : pending)
        if (p.done < p.nodes.size())
          bad(c, "layer '" + p.name + "' node " + std::to_string(p.done) + " waits on inputs that never come: the graph has a cycle or names a node that does not exist");
    }
  }
  std::vector<KerasTensor> outs;
  for (const TensorRef& r : ref_list("output_layers")) {
    auto it = made.find({r.layer, r.node});
    if (it == made.end()) bad(c, "output_layers names '" + r.layer + "' node " + std::to_string(r.node) + ", which the config does not make");
    outs.push_back(it->second);
  }
  try {
    m.set_outputs(outs);
  } catch (const Error& e) {
    bad(c, e.what());
  }
  return m;
}

Model model_from_config_unbounded(const json& root, const Ctx& c, std::size_t weight_bytes) {
  const std::string cls = root.is_object() && root.contains("class_name") && root.at("class_name").is_string()
                              ? root.at("class_name").get<std::string>() : "";
  if (cls == "Sequential") return sequential_from_config(root, c, weight_bytes);
  if (cls == "Functional" || cls == "Model") return functional_from_config(root, c, weight_bytes);
  bad(c, "only Sequential and Functional (Model) models are supported, got class_name " +
             (root.is_object() && root.contains("class_name") ? root.at("class_name").dump() : std::string("(none)")));
}

}  // namespace

json model_to_config(const Model& m) { return m.is_sequential() ? sequential_config(m) : functional_config(m); }

// Builds the model, turning allocation failures and JSON type errors into errors.
Model model_from_config(const json& root, const Ctx& c, std::size_t weight_bytes) {
  try {
    return model_from_config_unbounded(root, c, weight_bytes);
  } catch (const std::bad_alloc&) {
    bad(c, "the config asks for more memory than is available");
  } catch (const std::length_error&) {
    bad(c, "the config asks for impossibly large layers");
  } catch (const json::exception& e) {
    // A value of the wrong JSON type anywhere in a layer's config (a kind the fuzzer found:
    // nlohmann's type_error escaped as a crash).
    bad(c, std::string("malformed config: ") + e.what());
  }
}

}  // namespace keras_io
}  // namespace fourierconv::nn
