// Regularizers and constraints (regularizers.hpp) against Keras: a model with every kind,
// written by real Keras 3.15 (fixture `regularized`), gives Keras's loss (the penalties
// included) and, after one SGD step on one batch, Keras's weights (the penalties' gradients
// and the constraints' projections included). Plus the definitions one by one.
#include <gtest/gtest.h>

#include <cmath>

#include "fourierconv/nn.hpp"
#include "fourierconv/io/npy.hpp"
#include "reference.hpp"

using namespace fourierconv;
using namespace fourierconv::nn;

namespace {

const std::string kDir = std::string(FOURIERCONV_SOURCE_DIR) + "/tests/fixtures/keras/";

TEST(Regularizers, PenaltyAndGradientAreKerasDefinitions) {
  const float w[4] = {-2.0f, 0.5f, 0.0f, 3.0f};
  Regularizer r{0.1, 0.01};
  EXPECT_NEAR(r.penalty(w, 4), 0.1 * 5.5 + 0.01 * (4 + 0.25 + 9), 1e-9);
  float g[4] = {1, 1, 1, 1};
  r.add_gradient(w, g, 4, 2.0);
  const double want[4] = {1 - 0.2 - 0.08, 1 + 0.2 + 0.02, 1, 1 + 0.2 + 0.12};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(g[i], want[i], 1e-6) << i;
}

TEST(Regularizers, ConstraintsProjectAsKerasDoes) {
  Tensor w({2, 3});
  const float v[6] = {3, 4, 0, -1, 0, 2};  // columns (axis 0 norms): 3.16, 4, 2
  std::copy(v, v + 6, w.begin());
  Constraint max{.kind = Constraint::Kind::MaxNorm, .max_value = 2.0};
  Tensor a = w;
  max.apply(a);
  const double n0 = std::sqrt(10.0);
  EXPECT_NEAR(a[0], 3 * 2 / (1e-7 + n0), 1e-5);
  EXPECT_NEAR(a[1], 4 * 2 / (1e-7 + 4.0), 1e-5);
  EXPECT_NEAR(a[5], 2 * 2 / (1e-7 + 2.0), 1e-5);  // at the limit: unchanged
  Constraint unit{.kind = Constraint::Kind::UnitNorm, .axis = {-1}};  // rows: norms 5, sqrt 5
  Tensor b = w;
  unit.apply(b);
  EXPECT_NEAR(b[0], 0.6, 1e-5);
  EXPECT_NEAR(b[5], 2 / std::sqrt(5.0), 1e-5);
  Constraint nonneg{.kind = Constraint::Kind::NonNeg};
  Tensor c = w;
  nonneg.apply(c);
  EXPECT_EQ(c[3], 0.0f);
  EXPECT_EQ(c[0], 3.0f);
  Constraint bad_axis{.kind = Constraint::Kind::MaxNorm, .axis = {2}};
  EXPECT_THROW(bad_axis.apply(c), Error);
}

TEST(Regularizers, KerasLossAndOneSgdStepWithEveryPenaltyAndConstraint) {
  for (const char* file : {"regularized.keras", "regularized_legacy.h5"}) {
    SCOPED_TRACE(file);
    Model m = load_model(kDir + file);
    EXPECT_NEAR(m.layer("conv2d").regularizer("kernel").l2, 0.01, 1e-12);
    EXPECT_EQ(m.layer("dense_1").constraint("kernel").kind, Constraint::Kind::MinMaxNorm);
    Tensor x = io::read_npy(kDir + "regularized_x.npy"), y = io::read_npy(kDir + "regularized_y.npy");
    m.compile(std::make_unique<SGD>(0.1), Loss::parse("sparse_categorical_crossentropy"));
    const Evaluation ev = m.evaluate(x, y, 6, 0);
    EXPECT_NEAR(ev.loss, io::read_npy(kDir + "regularized_eval.npy")[0], 2e-5) << "Keras's evaluate loss";
    m.fit(x, y, {.batch_size = 6, .epochs = 1, .shuffle = false, .verbose = 0});
    Tensor want = io::read_npy(kDir + "regularized_trained.npy");
    std::size_t k = 0;
    for (auto& l : m.layers())
      for (const Weight* w : std::as_const(*l).weights())
        for (float v : w->value) {
          ASSERT_LT(k, want.size());
          EXPECT_NEAR(v, want[k], 2e-5) << l->name() << "/" << w->name;
          ++k;
        }
    EXPECT_EQ(k, want.size());
  }
}

TEST(Regularizers, SavedBackWithTheModel) {
  Model m = load_model(kDir + "regularized.keras");
  const std::string path = ::testing::TempDir() + "/fc_regularized.keras";
  save_model(m, path);
  Model back = load_model(path);
  EXPECT_NEAR(back.layer("conv2d").activity_regularizer().l1, 1e-4, 1e-12);
  EXPECT_NEAR(back.layer("conv2d").constraint("kernel").max_value, 0.6, 1e-12);
  EXPECT_EQ(back.layer("conv2d").constraint("kernel").axis, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(back.layer("dense_1").constraint("bias").kind, Constraint::Kind::NonNeg);
}

// A frozen layer's penalties are not in the loss (Keras 3 sums the trainable weights'), and
// hostile constraint configs are refused by name.
TEST(Regularizers, FrozenLayersAddNoPenaltyAndBadConstraintsAreRefused) {
  auto model = [](bool frozen) {
    clear_session();
    set_random_seed(3);
    Sequential m;
    m.add(Dense(4, {.input_shape = {3}}));
    m.add(Dense(2, {.activation = "softmax"}));
    m.layer("dense").set_regularizer("kernel", {0, 5.0});
    m.layer("dense").set_trainable(!frozen);
    m.compile("sgd", "sparse_categorical_crossentropy");
    return m;
  };
  Tensor x = fctest::random_tensor({4, 3}, 1), y({4});
  Sequential a = model(false), b = model(true);
  const Weight& k = *a.layer("dense").weights()[0];
  const double penalty = 5.0 * [&] { double q = 0; for (float v : k.value) q += double(v) * v; return q; }();
  EXPECT_NEAR(a.evaluate(x, y, 4, 0).loss - b.evaluate(x, y, 4, 0).loss, penalty, 1e-4);
  auto json_with = [](const std::string& constraint) {
    return R"({"class_name": "Sequential", "config": {"name": "s", "layers": [
      {"class_name": "InputLayer", "config": {"batch_shape": [null, 3], "name": "in"}},
      {"class_name": "Dense", "config": {"name": "d", "units": 2, "kernel_constraint": )" + constraint + "}}]}}";
  };
  for (const char* bad : {R"({"class_name": "MaxNorm", "config": {"max_value": -1}})",
                          R"({"class_name": "MinMaxNorm", "config": {"min_value": 2, "max_value": 1}})",
                          R"({"class_name": "UnitNorm", "config": {"axis": 4294967295}})",
                          R"({"class_name": "UnitNorm", "config": {"axis": 5}})", R"({"class_name": "Orthogonal"})"}) {
    SCOPED_TRACE(bad);
    try {
      model_from_json(json_with(bad));
      FAIL() << "accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("d"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
