// Finite-difference gradient checks for layers (Caffe's GradientChecker, in float32 with a
// double-precision loss): loss = sum(y * R) for a fixed random R, so dL/dy = R.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "fourierconv/nn/layer.hpp"
#include "reference.hpp"

namespace fctest {

inline double projected(const fourierconv::Tensor& y, const fourierconv::Tensor& r) {
  double s = 0;
  for (std::size_t i = 0; i < y.size(); ++i) s += double(y[i]) * double(r[i]);
  return s;
}

// Checks dL/dx and dL/dw of every weight at up to `samples` random coordinates each.
// Central differences with step h; passes when |analytic - numeric| <= atol + rtol*|numeric|.
inline void check_layer_gradients(fourierconv::nn::Layer& layer, fourierconv::Tensor x, unsigned seed,
                                  double h = 1e-3, double atol = 3e-3, double rtol = 2e-2, std::size_t samples = 40) {
  using fourierconv::Tensor;
  SCOPED_TRACE(layer.name() + " seed " + std::to_string(seed));
  Tensor y = layer.call(x, true);
  Tensor r = random_tensor(y.shape(), seed + 7);
  Tensor dx = layer.backward(r, true);
  std::vector<Tensor> wgrads;
  for (auto* w : layer.weights()) wgrads.push_back(w->grad);
  std::mt19937 g(seed);
  auto loss_at = [&]() { return projected(layer.call(x, true), r); };
  auto check = [&](float& v, double analytic, const std::string& what, std::size_t i) {
    const float saved = v;
    v = saved + float(h);
    const double up = loss_at();
    v = saved - float(h);
    const double down = loss_at();
    v = saved;
    const double numeric = (up - down) / (2 * h);
    EXPECT_LE(std::fabs(analytic - numeric), atol + rtol * std::fabs(numeric))
        << what << "[" << i << "]: analytic " << analytic << " numeric " << numeric;
  };
  for (std::size_t s = 0; s < std::min(samples, x.size()); ++s) {
    std::size_t i = samples >= x.size() ? s : g() % x.size();
    check(x[i], dx[i], "dx", i);
  }
  auto ws = layer.weights();
  for (std::size_t k = 0; k < ws.size(); ++k)
    for (std::size_t s = 0; s < std::min(samples, ws[k]->value.size()); ++s) {
      std::size_t i = samples >= ws[k]->value.size() ? s : g() % ws[k]->value.size();
      check(ws[k]->value[i], wgrads[k][i], "d" + ws[k]->name, i);
    }
}

}  // namespace fctest
