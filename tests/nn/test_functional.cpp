// Functional models (graphs of layers) and the merge layers: files written by real Keras 3
// (tools/keras-reference/make_functional_fixtures.py) load with Keras's predictions and
// summary, a graph built here prints Keras's table (its layer order), one SGD step on a graph
// matches Keras's, gradients through shared layers and merges match finite differences, ours
// round-trip and load in Keras, and broken graphs give clear errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>

#include "fourierconv/io/npy.hpp"
#include "fourierconv/nn.hpp"
#include "fourierconv/nn/layers/merge.hpp"
#include "gradcheck.hpp"
#include "keras_check.hpp"
#include "reference.hpp"

using namespace fourierconv;
using namespace fourierconv::nn;
using fctest::message;
using fctest::random_tensor;
using fctest::read_text;

namespace {

const std::string kDir = std::string(FOURIERCONV_SOURCE_DIR) + "/tests/fixtures/keras/";

// NAME_x.npy or NAME_x0.npy, NAME_x1.npy, ... (several inputs or outputs).
std::vector<Tensor> read_arrays(const std::string& name, const std::string& kind) {
  if (std::filesystem::exists(kDir + name + "_" + kind + ".npy")) return {io::read_npy(kDir + name + "_" + kind + ".npy")};
  std::vector<Tensor> ts;
  for (int i = 0; std::filesystem::exists(kDir + name + "_" + kind + std::to_string(i) + ".npy"); ++i)
    ts.push_back(io::read_npy(kDir + name + "_" + kind + std::to_string(i) + ".npy"));
  return ts;
}

std::vector<const Tensor*> ptrs(const std::vector<Tensor>& ts) {
  std::vector<const Tensor*> p;
  for (auto& t : ts) p.push_back(&t);
  return p;
}

void expect_predicts(Model& m, const std::string& name, const std::string& what) {
  const auto xs = read_arrays(name, "x"), want = read_arrays(name, "pred");
  ASSERT_FALSE(xs.empty());
  const auto got = m.predict(ptrs(xs));
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].shape(), want[i].shape()) << what;
    fctest::expect_close(got[i], fctest::to_double(want[i]), 1e-5, what + " output " + std::to_string(i));
  }
}

// `file` loads as a graph with the predictions and summary Keras gave for model `name`.
void expect_loads_as_keras(const std::string& file, const std::string& name) {
  Model m = load_model(kDir + file);
  EXPECT_FALSE(m.is_sequential());
  expect_predicts(m, name, file);
  EXPECT_EQ(m.summary_text({.line_length = 76}), read_text(kDir + name + "_summary.txt")) << file;
}

// One step of the compiled SGD with rate 1 (the weights' gradients: before - after) against
// central differences of the loss, at every `stride`-th element of every trainable weight.
void expect_step_matches_differences(Model& m, const std::vector<const Tensor*>& xs, const Tensor& y, std::size_t stride) {
  auto loss = [&] { return m.evaluate(xs, y, y.shape()[0], 0).loss; };
  std::vector<std::pair<Weight*, Tensor>> before;
  for (Weight* w : m.trainable_weights()) before.push_back({w, w->value});
  m.train_on_batch(xs, y);
  std::vector<Tensor> grads;
  for (auto& [w, v] : before) {
    grads.push_back(v);
    for (std::size_t i = 0; i < v.size(); ++i) grads.back()[i] = v[i] - w->value[i];
    w->value = v;  // every weight back to the point of the step
  }
  for (std::size_t k = 0; k < before.size(); ++k) {
    Weight* w = before[k].first;
    const Tensor& grad = grads[k];
    for (std::size_t i = 0; i < w->value.size(); i += stride) {
      const float saved = w->value[i];
      w->value[i] = saved + 1e-2f;
      const double up = loss();
      w->value[i] = saved - 1e-2f;
      const double down = loss();
      w->value[i] = saved;
      const double numeric = (up - down) / 2e-2;
      EXPECT_NEAR(grad[i], numeric, 2e-3 + 3e-2 * std::fabs(numeric)) << w->name << "[" << i << "]";
    }
  }
}

class KerasGraphs : public ::testing::TestWithParam<const char*> {};

TEST_P(KerasGraphs, LoadPredictAndSummarizeAsKerasDoes) {
  const std::string name = GetParam();
  for (const std::string& file : {name + ".keras", name + "_legacy.h5"}) expect_loads_as_keras(file, name);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, KerasGraphs,
                         ::testing::Values("functional_graph", "functional_chain", "functional_merges", "functional_shared_shapes"));

// tf.keras 2.x's layout: class "Model", nested-list inbound nodes, batch_input_shape.
TEST(Functional, Keras2ModelConfigLoads) {
  expect_loads_as_keras("functional_graph_keras2_legacy.h5", "functional_graph");
  Model m = load_model(kDir + "functional_graph_keras2_legacy.h5");
  EXPECT_EQ(m.input_names(), (std::vector<std::string>{"img", "vec"}));
  EXPECT_EQ(m.output_names(), (std::vector<std::string>{"cls", "reg"}));
}

// Keras 2.13-2.15's .keras layout: weights under _layer_checkpoint_dependencies/, a Keras 2
// config (Keras 3's loader makes the same substitution of the weights' top group).
TEST(Functional, Keras213ArchiveLayoutLoads) { expect_loads_as_keras("functional_graph_keras213.keras", "functional_graph"); }

// The graph of functional_graph built through the API, in another order of calls than
// Keras's table: the summary must come out in Keras's order (depth from the outputs, then
// traversal order) with its "Connected to" column; with Keras's weights, Keras's predictions.
TEST(Functional, BuiltGraphPrintsKerasTableAndPredictsWithItsWeights) {
  Model m("graph");
  KerasTensor img = m.input({8, 8, 3}, "img");
  KerasTensor vec = m.input({4}, "vec");
  KerasTensor h = m.add(Dense(5, {.activation = "relu", .name = "dense"}), vec);
  KerasTensor c = m.add(Conv2D(4, {3, 3}, {.padding = "same", .activation = "relu", .name = "conv2d"}), img);
  KerasTensor d = m.add(Conv2D(3, {1, 1}, {.name = "conv2d_1"}), c);
  KerasTensor e = m.add(Add("add"), {img, d});
  KerasTensor p = m.add(GlobalAveragePooling2D({.name = "global_average_pooling2d"}), e);
  KerasTensor g = m.apply("dense", {m.add(Dense(4, {.name = "dense_1"}), p)});
  KerasTensor cat = m.add(Concatenate(-1, "concatenate"), {g, h});
  KerasTensor cls = m.add(Dense(3, {.activation = "softmax", .name = "cls"}), cat);
  KerasTensor reg = m.add(Dense(1, {.name = "reg"}), h);
  m.set_outputs({cls, reg});
  Model keras = load_model(kDir + "functional_graph.keras");
  // Our node order differs (the shared Dense's node on vec came first): Keras numbers the
  // nodes by call order, so compare after renaming nothing but checking the table's rows.
  const std::string table = m.summary_text({.line_length = 76});
  const std::string want = read_text(kDir + "functional_graph_summary.txt");
  // dense's nodes here: 0 on vec, 1 on dense_1 (Keras's file: the reverse).
  std::string expected = want;
  auto swap = [&](const std::string& a, const std::string& b) {
    for (std::size_t at = expected.find(a); at != std::string::npos; at = expected.find(a, at + b.size())) expected.replace(at, a.size(), b);
  };
  swap("dense[0][0]", "dense[X][0]");
  swap("dense[1][0]", "dense[0][0]");
  swap("dense[X][0]", "dense[1][0]");
  swap("│ dense_1[0][0],    │", "│ vec[0][0],        │");
  swap("│ vec[0][0]         │", "│ dense_1[0][0]     │");
  EXPECT_EQ(table, expected);
  for (auto& l : m.layers()) {
    auto src = keras.layer(l->name()).weights();
    auto dst = l->weights();
    ASSERT_EQ(src.size(), dst.size()) << l->name();
    for (std::size_t k = 0; k < src.size(); ++k) dst[k]->value = src[k]->value;
  }
  expect_predicts(m, "functional_graph", "built graph");
}

// Inference fuses across Keras's node order: in a ResNet conv block the shortcut's Conv2D is
// called between the main branch's Conv2D and its BatchNormalization, yet both pairs fold, and
// the Add and the relu after it run as one pass. The output equals the layers run one by one.
TEST(Functional, InferenceFusesResidualBlocksInAnyNodeOrder) {
  for (const std::string algorithm : {"direct", "fft"}) {
    clear_session();
    Model m("block");
    KerasTensor x = m.input({7, 6, 4}, "x");
    KerasTensor a = m.add(Conv2D(8, {3, 3}, {.padding = "same", .algorithm = algorithm, .name = "conv_a"}), x);
    KerasTensor s = m.add(Conv2D(8, {1, 1}, {.name = "conv_s"}), x);
    a = m.add(BatchNormalization({.name = "bn_a"}), a);
    s = m.add(BatchNormalization({.epsilon = 1e-2, .name = "bn_s"}), s);
    KerasTensor sum = m.add(Add("add"), {a, s});
    KerasTensor out = m.add(ActivationLayer("relu", {.name = "out"}), sum);
    KerasTensor capped = m.add(Subtract("sub"), {out, a});
    capped = m.add(ReLU({.max_value = 0.25, .name = "relu6ish"}), capped);
    m.set_outputs({capped});
    unsigned seed = 70;
    for (const char* bn : {"bn_a", "bn_s"})
      for (Weight* w : m.layer(bn).weights()) w->value = random_tensor(w->value.shape(), ++seed, 0.5, 1.5);
    const Tensor xv = random_tensor({3, 7, 6, 4}, 71);
    const Tensor got = m.predict(xv);
    for (const char* name : {"bn_a", "bn_s", "out", "relu6ish"})
      EXPECT_EQ(m.layer(name).output().size(), 0u) << name << " ran on its own (" << algorithm << ")";
    // One by one: a (kept, it feeds two layers), s, a + s, relu, out - a, capped relu.
    auto run = [&](const char* name, const Tensor& in) { return m.layer(name).call(in, false); };
    const Tensor av = run("bn_a", run("conv_a", xv)), sv = run("bn_s", run("conv_s", xv));
    Tensor want = av;
    for (std::size_t i = 0; i < want.size(); ++i) {
      const float o = std::max(av[i] + sv[i], 0.0f);
      want[i] = std::min(std::max(o - av[i], 0.0f), 0.25f);
    }
    EXPECT_EQ(got.shape(), want.shape());
    fctest::expect_close(got, fctest::to_double(want), 2e-5, algorithm);
  }
  // A merge whose output is also a model output (or feeds two layers) is not fused with the
  // relu after it: the model returns the merge's own values.
  clear_session();
  Model m("kept");
  KerasTensor a = m.input({5}, "a"), b = m.input({5}, "b");
  KerasTensor sum = m.add(Add("add"), {a, b});
  KerasTensor r = m.add(ActivationLayer("relu", {.name = "relu"}), sum);
  m.set_outputs({sum, r});
  const Tensor av = random_tensor({4, 5}, 72), bv = random_tensor({4, 5}, 73);
  const auto outs = m.predict(std::vector<const Tensor*>{&av, &bv});
  ASSERT_EQ(outs.size(), 2u);
  for (std::size_t i = 0; i < av.size(); ++i) {
    EXPECT_FLOAT_EQ(outs[0][i], av[i] + bv[i]);
    EXPECT_FLOAT_EQ(outs[1][i], std::max(av[i] + bv[i], 0.0f));
  }
}

// Maximum and Minimum let a NaN through from any input (numpy's and Keras's maximum), also
// when fused with a relu after them.
TEST(Functional, MaximumAndMinimumPropagateNaNFromEveryInput) {
  for (bool relu : {false, true}) {
    clear_session();
    Model m("nan");
    KerasTensor a = m.input({3}, "a"), b = m.input({3}, "b");
    KerasTensor mx = m.add(Maximum("max"), {a, b}), mn = m.add(Minimum("min"), {a, b});
    if (relu) mx = m.add(ActivationLayer("relu"), mx), mn = m.add(ActivationLayer("relu"), mn);
    m.set_outputs({mx, mn});
    Tensor av({1, 3}), bv({1, 3});
    av[0] = 1.0f, av[1] = NAN, av[2] = 2.0f;
    bv[0] = NAN, bv[1] = 1.0f, bv[2] = 3.0f;
    const auto outs = m.predict(std::vector<const Tensor*>{&av, &bv});
    for (const Tensor& o : outs) {
      EXPECT_TRUE(std::isnan(o[0])) << relu;
      EXPECT_TRUE(std::isnan(o[1])) << relu;
    }
    EXPECT_EQ(outs[0][2], 3.0f);
    EXPECT_EQ(outs[1][2], 2.0f);
  }
}

// One SGD step on a graph of every merge layer (with broadcasting), BatchNormalization and a
// residual Add: the weights equal Keras's after its own step (its gradients, summed where a
// tensor feeds several layers).
TEST(Functional, OneSgdStepMatchesKeras) {
  Model m = load_model(kDir + "functional_merges.keras");
  Model want = load_model(kDir + "functional_merges_trained.keras");
  Tensor x = io::read_npy(kDir + "functional_merges_x.npy"), y = io::read_npy(kDir + "functional_merges_y.npy");
  m.compile(std::make_unique<SGD>(0.1), Loss::parse("sparse_categorical_crossentropy"), {});
  m.fit(x, y, {.batch_size = 8, .epochs = 1, .shuffle = false, .verbose = 0});
  for (auto& l : m.layers()) {
    auto a = l->weights(), b = want.layer(l->name()).weights();
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t k = 0; k < a.size(); ++k) fctest::expect_close(a[k]->value, fctest::to_double(b[k]->value), 2e-5, l->name() + "/" + a[k]->name);
  }
}

// A small graph with a shared layer (two nodes), a tensor feeding three layers and every merge:
// the weight gradients of one step (SGD with rate 1: grad = w_before - w_after) match central
// differences of the loss.
TEST(Functional, GradientsThroughSharedLayersAndMergesMatchFiniteDifferences) {
  clear_session();
  set_random_seed(5);
  Model m("g");
  KerasTensor a = m.input({3, 4, 2}, "a");
  KerasTensor b = m.input({3, 4, 2}, "b");
  KerasTensor ca = m.add(Conv2D(2, {2, 2}, {.padding = "same", .activation = "tanh", .name = "shared"}), a);
  KerasTensor cb = m.apply("shared", {b});
  KerasTensor g = m.add(Dense(2, {.activation = "sigmoid", .name = "gate"}), m.add(GlobalAveragePooling2D({.keepdims = true}), ca));
  KerasTensor mul = m.add(Multiply(), {ca, g});
  KerasTensor sub = m.add(Subtract(), {mul, cb});
  KerasTensor avg = m.add(Average(), {ca, cb, sub});
  KerasTensor mx = m.add(Maximum(), {avg, cb});
  KerasTensor mn = m.add(Minimum(), {avg, ca});
  KerasTensor cat = m.add(Concatenate(2), {mx, mn});
  KerasTensor out = m.add(Dense(3, {.activation = "tanh", .name = "head"}), m.add(Flatten(), cat));
  m.set_outputs({out});
  m.compile(std::make_unique<SGD>(1.0), Loss::parse("mse"), {});
  const Tensor xa = random_tensor({4, 3, 4, 2}, 1), xb = random_tensor({4, 3, 4, 2}, 2), y = random_tensor({4, 3}, 3);
  expect_step_matches_differences(m, {&xa, &xb}, y, 3);
}

// Shared layers applied to inputs of other shapes than their first node's (Keras's layers are
// shape-agnostic): a Conv2D and a Dense on a 6x5 and a 4x7 image. Predictions equal a graph of
// separate layers holding the same weights, the weights' gradients (summed over both nodes)
// match central differences, and the file round-trips and loads in Keras.
TEST(Functional, SharedLayerOnInputsOfOtherShapes) {
  clear_session();
  set_random_seed(6);
  auto graph = [](bool shared) {
    Model m(shared ? "shared" : "separate");
    KerasTensor a = m.input({6, 5, 2}, "wide"), b = m.input({4, 7, 2}, "tall");
    KerasTensor ca = m.add(Conv2D(3, {3, 3}, {.padding = "same", .activation = "tanh", .name = "conv"}), a);
    KerasTensor cb = shared ? m.apply("conv", {b}) : m.add(Conv2D(3, {3, 3}, {.padding = "same", .activation = "tanh", .name = "conv_b"}), b);
    KerasTensor da = m.add(Dense(2, {.activation = "tanh", .name = "dense"}), ca);
    KerasTensor db = shared ? m.apply("dense", {cb}) : m.add(Dense(2, {.activation = "tanh", .name = "dense_b"}), cb);
    KerasTensor cat = m.add(Concatenate(), {m.add(GlobalAveragePooling2D(), da), m.add(GlobalAveragePooling2D(), db)});
    m.set_outputs({m.add(Dense(3, {.activation = "tanh", .name = "head"}), cat)});
    return m;
  };
  Model m = graph(true), ref = graph(false);
  EXPECT_EQ(m.count_params(), ref.count_params() - 3 * 3 * 2 * 3 - 3 - 3 * 2 - 2);
  for (const char* name : {"conv", "dense", "head"}) {
    auto w = m.layer(name).weights();
    for (const std::string& into : {std::string(name), std::string(name) + "_b"})
      if (into != "head_b")
        for (std::size_t k = 0; k < w.size(); ++k) ref.layer(into).weights()[k]->value = w[k]->value;
  }
  const Tensor xa = random_tensor({4, 6, 5, 2}, 1), xb = random_tensor({4, 4, 7, 2}, 2), y = random_tensor({4, 3}, 3);
  fctest::expect_close(m.predict({&xa, &xb})[0], fctest::to_double(ref.predict({&xa, &xb})[0]), 1e-6, "shared vs separate");
  EXPECT_NE(m.summary_text({.line_length = 100}).find("(None, 4, 7, 2)"), std::string::npos);  // dense's last node

  m.compile(std::make_unique<SGD>(1.0), Loss::parse("mse"), {});
  expect_step_matches_differences(m, {&xa, &xb}, y, 2);

  const std::string path = ::testing::TempDir() + "/fc_shared_shapes.keras";
  save_model(m, path);
  Model back = load_model(path);
  fctest::expect_close(back.predict({&xa, &xb})[0], fctest::to_double(m.predict({&xa, &xb})[0]), 1e-6, "round trip");
  fctest::expect_keras_predicts_as_we_do(back, {xa, xb}, "fc_shared_shapes");
}

// A shared BatchNormalization on two shapes, one training step with learning rate ~0: its
// moving statistics move once per node, with each node's batch statistics, in the order Keras
// runs the nodes (keras.src.ops.function: by depth, then as its map_graph first meets them:
// here node 1, on b, before node 0; checked against Keras 3.15), and not again when backward
// recomputes a shared node.
TEST(Functional, SharedBatchNormalizationMovesOncePerNode) {
  clear_session();
  set_random_seed(7);
  Model m("bn");
  KerasTensor a = m.input({3, 4, 2}, "a"), b = m.input({5, 2, 2}, "b");
  KerasTensor na = m.add(BatchNormalization({.momentum = 0.5, .name = "bn"}), a);
  KerasTensor nb = m.apply("bn", {b});
  KerasTensor cat = m.add(Concatenate(), {m.add(GlobalAveragePooling2D(), na), m.add(GlobalAveragePooling2D(), nb)});
  m.set_outputs({m.add(Dense(1, {.name = "head"}), cat)});
  m.compile(std::make_unique<SGD>(1e-30), Loss::parse("mse"), {});
  const Tensor xa = random_tensor({6, 3, 4, 2}, 4), xb = random_tensor({6, 5, 2, 2}, 5), y = random_tensor({6, 1}, 6);
  auto channel_mean = [](const Tensor& x, std::size_t c) {
    double s = 0;
    for (std::size_t i = c; i < x.size(); i += 2) s += x[i];
    return s / double(x.size() / 2);
  };
  m.train_on_batch({&xa, &xb}, y);
  const Tensor& mean = m.layer("bn").weights()[2]->value;  // gamma, beta, moving_mean, moving_variance
  ASSERT_EQ(m.layer("bn").weights()[2]->name, "moving_mean");
  for (std::size_t c = 0; c < 2; ++c) {
    const double want = 0.5 * (0.5 * 0.0 + 0.5 * channel_mean(xb, c)) + 0.5 * channel_mean(xa, c);
    EXPECT_NEAR(mean[c], want, 1e-5) << "channel " << c;
  }
  // Frozen after the copy for the other shape was made: both nodes normalize with the moving
  // statistics and leave them alone (Keras's frozen BatchNormalization), the copy included.
  const Tensor frozen = mean;
  m.layer("bn").set_trainable(false);
  m.train_on_batch({&xa, &xb}, y);
  for (std::size_t c = 0; c < 2; ++c) EXPECT_EQ(m.layer("bn").weights()[2]->value[c], frozen[c]) << "channel " << c;
}

// A shape copy keeps the settings Keras's config does not hold (Conv2D's algorithm), and
// making one draws nothing from the generator the other layers initialize from.
TEST(Functional, ShapeCopiesKeepTheLayersSettingsAndDrawNothing) {
  auto build = [](bool other_shape) {
    clear_session();
    set_random_seed(8);
    Model m("copies");
    KerasTensor a = m.input({8, 8, 2}, "a"), b = m.input(other_shape ? Shape{9, 7, 2} : Shape{8, 8, 2}, "b");
    KerasTensor ca = m.add(Conv2D(2, {3, 3}, {.padding = "same", .algorithm = "fft", .name = "conv"}), a);
    KerasTensor cb = m.apply("conv", {b});
    KerasTensor cat = m.add(Concatenate(), {m.add(GlobalAveragePooling2D(), ca), m.add(GlobalAveragePooling2D(), cb)});
    m.set_outputs({m.add(Dense(2, {.name = "head"}), cat)});
    return m;
  };
  Model same = build(false), other = build(true);
  const Layer* copy = nullptr;
  for (auto& n : other.nodes())
    if (n.runner) copy = n.runner;
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(dynamic_cast<const Conv2D&>(*copy).args().algorithm, "fft");
  // The head was initialized after the copy was made: the same draws as without a copy.
  fctest::expect_close(other.layer("head").weights()[0]->value, fctest::to_double(same.layer("head").weights()[0]->value), 0,
                       "head kernel");
}

// The merge layers' input gradients against central differences of sum(y * r).
TEST(Functional, MergeLayerInputGradientsMatchFiniteDifferences) {
  std::vector<std::function<std::unique_ptr<MergeLayer>()>> makers = {
      [] { return std::make_unique<Add>(); },      [] { return std::make_unique<Subtract>(); },
      [] { return std::make_unique<Multiply>(); }, [] { return std::make_unique<Average>(); },
      [] { return std::make_unique<Maximum>(); },  [] { return std::make_unique<Minimum>(); },
      [] { return std::make_unique<Concatenate>(1); }};
  for (auto& make : makers) {
    auto layer = make();
    const bool two = layer->class_name() == "Subtract";
    const bool cat = layer->class_name() == "Concatenate";
    std::vector<Shape> shapes = {{3, 4}, cat ? Shape{2, 4} : Shape{1, 4}};
    if (!two) shapes.push_back(cat ? Shape{1, 4} : Shape{3, 1});
    layer->build(shapes);
    std::vector<Tensor> xs;
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      Shape s{2};
      s.insert(s.end(), shapes[i].begin(), shapes[i].end());
      xs.push_back(random_tensor(s, unsigned(10 + i)));
      // Values on a grid of 0.05 offset by 0.01 per input: no two inputs within 0.01, so
      // the differences never cross a tie of Maximum or Minimum.
      for (auto& v : xs.back()) v = std::round(v * 20.0f) / 20.0f + 0.01f * float(i);
    }
    const Tensor y = layer->call(ptrs(xs));
    const Tensor r = random_tensor(y.shape(), 99);
    const std::vector<Tensor> dxs = layer->backward(r);
    for (std::size_t i = 0; i < xs.size(); ++i)
      for (std::size_t e = 0; e < xs[i].size(); ++e) {
        const float saved = xs[i][e];
        xs[i][e] = saved + 1e-3f;
        const double up = fctest::projected(layer->call(ptrs(xs)), r);
        xs[i][e] = saved - 1e-3f;
        const double down = fctest::projected(layer->call(ptrs(xs)), r);
        xs[i][e] = saved;
        EXPECT_NEAR(dxs[i][e], (up - down) / 2e-3, 2e-3) << layer->class_name() << " input " << i << " [" << e << "]";
      }
  }
}

TEST(Functional, SaveLoadRoundTripAndKerasLoadsIt) {
  Model m = load_model(kDir + "functional_graph.keras");
  const std::string path = ::testing::TempDir() + "/fc_graph.keras";
  save_model(m, path);
  Model back = load_model(path);
  expect_predicts(back, "functional_graph", "round trip");
  EXPECT_EQ(back.summary_text({.line_length = 76}), read_text(kDir + "functional_graph_summary.txt"));
  fctest::expect_keras_predicts_as_we_do(back, read_arrays("functional_graph", "x"), "fc_graph");
}

// A config whose layer list is not in graph order (Keras loads it by the graph, and names the
// weight groups in its own order): the same predictions and table as the original.
TEST(Functional, ConfigLayerOrderDoesNotMatter) { expect_loads_as_keras("functional_graph_shuffled.keras", "functional_graph"); }

// An input no output depends on makes Keras print the graph's table (its depth 0 holds two
// nodes), as here.
TEST(Functional, UnconnectedInputGivesTheGraphTable) {
  Model m("u");
  KerasTensor a = m.input({3}, "a");
  m.input({2}, "b");
  m.set_outputs({m.add(Dense(2, {.name = "d"}), a)});
  const std::string t = m.summary_text({.line_length = 76});
  EXPECT_NE(t.find("Connected to"), std::string::npos) << t;
  EXPECT_NE(t.find("b (InputLayer)"), std::string::npos) << t;
}

TEST(Functional, BrokenGraphsGiveClearErrors) {
  const std::string empty = message([&] { load_model(kDir + "bad_functional_empty_name.keras"); });
  EXPECT_NE(empty.find("empty name"), std::string::npos) << empty;
  std::string deep = R"({"class_name": "Functional", "config": {"layers": )" + std::string(100000, '[') + std::string(100000, ']') + "}}";
  EXPECT_NE(message([&] { model_from_json(deep); }).find("nests deeper than 256"), std::string::npos);
  const std::string dict = message([&] {
    model_from_json(R"({"class_name": "Functional", "config": {"name": "d", "layers": [
      {"class_name": "InputLayer", "name": "a", "config": {"name": "a", "batch_shape": [null, 3]}, "inbound_nodes": []}],
      "input_layers": {"a": ["a", 0, 0]}, "output_layers": [["a", 0, 0]]}})");
  });
  EXPECT_NE(dict.find("is a dict"), std::string::npos) << dict;
  EXPECT_NE(message([&] { load_model(kDir + "bad_functional_missing.keras"); }).find("'conv2d_9', which is not in the config"), std::string::npos);
  EXPECT_NE(message([&] { load_model(kDir + "bad_functional_cycle.keras"); }).find("cycle"), std::string::npos);
  const std::string shapes = message([&] { load_model(kDir + "bad_functional_shapes.keras"); });
  EXPECT_NE(shapes.find("add (Add)"), std::string::npos) << shapes;
  EXPECT_NE(shapes.find("(8, 8, 3), (8, 8, 4)"), std::string::npos) << shapes;
  EXPECT_NE(shapes.find("bad_functional_shapes.keras"), std::string::npos) << shapes;

  Model m("m");
  KerasTensor x = m.input({4, 4, 2});
  KerasTensor y = m.add(Dense(3, {.name = "d"}), x);
  EXPECT_NE(message([&] { m.add(Add(), {x, y}); }).find("do not match"), std::string::npos);
  EXPECT_NE(message([&] { m.add(Dense(2), {x, y}); }).find("takes one input, got 2"), std::string::npos);
  EXPECT_NE(message([&] { m.add(Dense(2, {.name = "d"}), x); }).find("already in the model"), std::string::npos);
  const std::string other = message([&] { m.apply("d", {y}); });  // a Dense on 3 features, not 2
  EXPECT_NE(other.find("d (Dense) was built for inputs of shape (4, 4, 2); on (4, 4, 3) its weight kernel of shape (2, 3) would be (3, 3)"),
            std::string::npos) << other;
  KerasTensor z = m.add(Dense(2), y);
  (void)z;
  EXPECT_NE(message([&] { m.set_outputs({y}); }).find("leads to no output"), std::string::npos);
  Sequential s;
  s.add(Input{{3}});
  EXPECT_NE(message([&] { s.add(Add()); }).find("takes a list of inputs"), std::string::npos);

  Model two("two");
  KerasTensor i = two.input({3});
  two.set_outputs({two.add(Dense(2), i), two.add(Dense(1), i)});
  two.compile("sgd", "mse", {});
  const Tensor xs = random_tensor({2, 3}, 1), ys = random_tensor({2, 2}, 2);
  EXPECT_NE(message([&] { two.fit(xs, ys, {.verbose = 0}); }).find("2 outputs"), std::string::npos);
  EXPECT_NE(message([&] { two.predict(xs); }).find("use the list form"), std::string::npos);
  EXPECT_EQ(two.predict({&xs}).size(), 2u);
  EXPECT_NE(message([&] { two.predict({&xs, &xs}); }).find("has 1 inputs"), std::string::npos);
}

}  // namespace
