// Real Keras loading our files: saves a model, has Keras (tools/keras-reference/check_load.py)
// load it and predict, and expects Keras's predictions to be ours within 1e-5.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "fourierconv/io/npy.hpp"
#include "fourierconv/nn/model.hpp"
#include "fourierconv/nn/saving.hpp"
#include "reference.hpp"

namespace fctest {

// The Python that runs real Keras for the parity checks: $FOURIERCONV_TEST_PYTHON (make test
// sets build/venv's, which has keras and the fourierconv package), else python3. The checks
// skip, saying why, where it has no keras.
inline std::string keras_python() {
  const char* p = std::getenv("FOURIERCONV_TEST_PYTHON");
  return p && *p ? p : "python3";
}

// xs: one array per model input. Use inside a TEST (it may GTEST_SKIP).
inline void expect_keras_predicts_as_we_do(const fourierconv::nn::Model& m_, const std::vector<fourierconv::Tensor>& xs,
                                           const std::string& tag) {
  using namespace fourierconv;
  auto& m = const_cast<nn::Model&>(m_);
  const std::string dir = ::testing::TempDir() + "/" + tag;
  nn::save_model(m, dir + ".keras");
  std::vector<const Tensor*> ptrs;
  std::string x_list, pred_list;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    io::write_npy(dir + "_x" + std::to_string(i) + ".npy", xs[i]);
    x_list += (i ? "," : "") + dir + "_x" + std::to_string(i) + ".npy";
    ptrs.push_back(&xs[i]);
  }
  const auto preds = m.predict(ptrs);
  for (std::size_t i = 0; i < preds.size(); ++i) {
    io::write_npy(dir + "_pred" + std::to_string(i) + ".npy", preds[i]);
    pred_list += (i ? "," : "") + dir + "_pred" + std::to_string(i) + ".npy";
  }
  const std::string cmd = keras_python() + " " + std::string(FOURIERCONV_SOURCE_DIR) + "/tools/keras-reference/check_load.py " + dir +
                          ".keras " + x_list + " " + pred_list + " > " + dir + ".log 2>&1";
  const int rc = std::system(cmd.c_str());
  const std::string log = read_text(dir + ".log");
  if (WIFEXITED(rc) && (WEXITSTATUS(rc) == 77 || WEXITSTATUS(rc) == 127)) GTEST_SKIP() << "real Keras is not installed: " << log;
  EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << log;
}

inline void expect_keras_predicts_as_we_do(const fourierconv::nn::Model& m, const fourierconv::Tensor& x, const std::string& tag) {
  expect_keras_predicts_as_we_do(m, std::vector<fourierconv::Tensor>{x}, tag);
}

}  // namespace fctest
