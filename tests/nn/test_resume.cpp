// A compiled model's optimizer state in .keras files (nn/optimizer_state.hpp), both ways:
// a model trained by real Keras 3.15 with Adam loads compiled with Keras's state, and one more
// step here gives Keras's weights after the same step (fixture `resume`); a model trained here
// and saved, loaded by real Keras, continues with the same step as here.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "fourierconv/io/npy.hpp"
#include "fourierconv/nn.hpp"
#include "reference.hpp"

using namespace fourierconv;
using namespace fourierconv::nn;

namespace {

const std::string kDir = std::string(FOURIERCONV_SOURCE_DIR) + "/tests/fixtures/keras/";

std::vector<float> all_weights(const Model& m) {
  std::vector<float> v;
  for (auto& l : m.layers())
    for (const Weight* w : std::as_const(*l).weights()) v.insert(v.end(), w->value.begin(), w->value.end());
  return v;
}

using fctest::read_text;

TEST(Resume, AKerasTrainedModelContinuesWithKerasOptimizerState) {
  Model m = load_model(kDir + "resume.keras");
  ASSERT_TRUE(m.compiled()) << "compile_config with Adam restores the compiled model";
  EXPECT_EQ(m.optimizer()->name(), "Adam");
  EXPECT_NEAR(m.optimizer()->learning_rate(), 0.01, 1e-7);
  EXPECT_EQ(m.optimizer()->iterations(), 6u);  // 2 epochs of 12 samples in batches of 4
  EXPECT_EQ(m.summary_text({.line_length = 76}), read_text(kDir + "resume_summary.txt")) << "with Keras's Optimizer params line";
  Tensor x = io::read_npy(kDir + "resume_x.npy"), y = io::read_npy(kDir + "resume_y.npy");
  fctest::expect_close(m.predict(x), fctest::to_double(io::read_npy(kDir + "resume_pred.npy")), 1e-5, "resume predictions");
  Tensor x6({6, 6, 5, 1}), y6({6});
  std::copy(x.begin(), x.begin() + long(x6.size()), x6.begin());
  std::copy(y.begin(), y.begin() + 6, y6.begin());
  m.fit(x6, y6, {.batch_size = 6, .epochs = 1, .shuffle = false, .verbose = 0});
  const Tensor want = io::read_npy(kDir + "resume_next.npy");
  const std::vector<float> got = all_weights(m);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 2e-5) << i;
}

TEST(Resume, OurStateSavesAndLoadsExactly) {
  clear_session();
  set_random_seed(17);
  Sequential m;
  m.add(Conv2D(2, {3, 3}, {.use_bias = false, .input_shape = {6, 6, 1}}));  // a bias before BN has gradient 0 up to
  m.add(BatchNormalization());                                              // rounding: Adam would step on noise
  m.add(Flatten());
  m.add(Dense(3, {.activation = "softmax"}));
  m.compile(std::make_unique<Adam>(0.005), Loss::parse("sparse_categorical_crossentropy"), {"accuracy"});
  Tensor x = fctest::random_tensor({8, 6, 6, 1}, 18), y({8});
  for (std::size_t i = 0; i < 8; ++i) y[i] = float(i % 3);
  m.fit(x, y, {.batch_size = 4, .epochs = 2, .shuffle = false, .verbose = 0});
  const std::string path = ::testing::TempDir() + "/fc_resume.keras";
  save_model(m, path);
  Model back = load_model(path);
  ASSERT_TRUE(back.compiled());
  EXPECT_EQ(back.optimizer()->iterations(), 4u);
  // One more step on both: identical, so the moments came back exactly.
  m.fit(x, y, {.batch_size = 8, .epochs = 1, .shuffle = false, .verbose = 0});
  back.fit(x, y, {.batch_size = 8, .epochs = 1, .shuffle = false, .verbose = 0});
  EXPECT_EQ(all_weights(m), all_weights(back));
  // And real Keras continues from our state with the same step as ours.
  const std::string dir = ::testing::TempDir();
  io::write_npy(dir + "/fc_resume_x.npy", x);
  io::write_npy(dir + "/fc_resume_y.npy", y);
  const char* py = std::getenv("FOURIERCONV_TEST_PYTHON");
  const std::string cmd = std::string(py && *py ? py : "python3") + " " + FOURIERCONV_SOURCE_DIR +
                          "/tools/keras-reference/check_resume.py " + path + " " + dir + "/fc_resume_x.npy " + dir +
                          "/fc_resume_y.npy 4 " + dir + "/fc_resume_keras.npy > " + dir + "/fc_resume.log 2>&1";
  const int rc = std::system(cmd.c_str());
  const std::string log = read_text(dir + "/fc_resume.log");
  if (WIFEXITED(rc) && (WEXITSTATUS(rc) == 77 || WEXITSTATUS(rc) == 127)) GTEST_SKIP() << "real Keras is not installed: " << log;
  ASSERT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << log;
  const Tensor keras_next = io::read_npy(dir + "/fc_resume_keras.npy");
  Model ours = load_model(path);
  ours.fit(x, y, {.batch_size = 8, .epochs = 1, .shuffle = false, .verbose = 0});
  const std::vector<float> got = all_weights(ours);
  ASSERT_EQ(got.size(), keras_next.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], keras_next[i], 2e-5) << i;
}

TEST(Resume, DamagedOptimizerStateIsRefused) {
  // resume.keras with optimizer/vars/5 deleted (make_fixtures.py): an error naming the file and
  // the variable, not a model that silently restarts Adam's moments.
  try {
    load_model(kDir + "bad_optimizer_state.keras");
    FAIL() << "a damaged optimizer state was accepted";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("bad_optimizer_state.keras"), std::string::npos) << m;
    EXPECT_NE(m.find("optimizer/vars/5"), std::string::npos) << m;
  }
}

// amsgrad keeps a third slot per weight, after all the (momentum, velocity) pairs in Keras's
// order; it must save and load with each slot at its own weight's shape.
TEST(Resume, AmsgradStateRoundTrips) {
  clear_session();
  set_random_seed(19);
  Sequential m;
  m.add(Dense(5, {.input_shape = {3}}));
  m.add(Dense(2, {.activation = "softmax"}));
  m.compile(std::make_unique<Adam>(0.01, 0.9, 0.999, 1e-7, true), Loss::parse("sparse_categorical_crossentropy"));
  Tensor x = fctest::random_tensor({6, 3}, 20), y({6});
  for (std::size_t i = 0; i < 6; ++i) y[i] = float(i % 2);
  m.fit(x, y, {.batch_size = 3, .epochs = 1, .shuffle = false, .verbose = 0});
  const std::string path = ::testing::TempDir() + "/fc_amsgrad.keras";
  save_model(m, path);
  Model back = load_model(path);
  ASSERT_TRUE(back.compiled());
  m.fit(x, y, {.batch_size = 6, .epochs = 1, .shuffle = false, .verbose = 0});
  back.fit(x, y, {.batch_size = 6, .epochs = 1, .shuffle = false, .verbose = 0});
  EXPECT_EQ(all_weights(m), all_weights(back));
}

// A model compiled on logits is saved without compile settings (Keras would need its loss
// object), so it never resumes with the loss on probabilities.
TEST(Resume, ALossOnLogitsIsNotSavedAsCompiled) {
  clear_session();
  Sequential m;
  m.add(Dense(2, {.input_shape = {3}}));
  m.compile(std::make_unique<Adam>(), Loss::parse("sparse_categorical_crossentropy", true));
  const std::string path = ::testing::TempDir() + "/fc_logits.keras";
  save_model(m, path);
  EXPECT_FALSE(load_model(path).compiled());
}

// Keras files that hold fewer or more optimizer variables than the trainable weights now
// need, as Keras writes them: compiled but never fitted (iteration and learning rate only),
// and fine-tuned (a layer frozen after training keeps its slots). Both load compiled.
TEST(Resume, UnfittedAndFineTunedKerasFilesLoadCompiled) {
  Model un = load_model(kDir + "compiled_unfitted.keras");
  ASSERT_TRUE(un.compiled());
  EXPECT_EQ(un.optimizer()->iterations(), 0u);
  EXPECT_EQ(un.optimizer()->name(), "SGD");
  Model fr = load_model(kDir + "frozen_after_fit.keras");
  ASSERT_TRUE(fr.compiled());
  EXPECT_EQ(fr.optimizer()->iterations(), 2u);
  EXPECT_FALSE(fr.layer("dense").trainable());
}

}  // namespace
