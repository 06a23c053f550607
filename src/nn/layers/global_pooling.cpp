// GlobalAveragePooling1D/2D and GlobalMaxPooling1D/2D (Keras): the mean or maximum of each
// channel over all cells. See nn/layers/pooling.hpp.
#include <limits>

#include "fourierconv/error.hpp"
#include "fourierconv/nn/layers/pooling.hpp"

namespace fourierconv::nn {

namespace {
std::string prefix(GlobalPooling::Kind kind, std::size_t rank) {
  return std::string(kind == GlobalPooling::Kind::Average ? "global_average_pooling" : "global_max_pooling") +
         std::to_string(rank) + "d";
}
}  // namespace

GlobalPooling::GlobalPooling(Kind kind, std::size_t rank, GlobalPoolingArgs args)
    : Layer(args.name.empty() ? unique_name(prefix(kind, rank)) : args.name), kind_(kind), rank_(rank), args_(std::move(args)) {
  if (rank != 1 && rank != 2) throw Error("GlobalPooling: rank must be 1 or 2, got " + std::to_string(rank));
  declare_input_shape(args_.input_shape);
}

std::string GlobalPooling::class_name() const {
  return std::string(kind_ == Kind::Average ? "GlobalAveragePooling" : "GlobalMaxPooling") + std::to_string(rank_) + "D";
}

Shape GlobalPooling::build_impl(const Shape& in) {
  if (in.size() != rank_ + 1)
    throw Error(name() + " (" + class_name() + "): expected input shape " + (rank_ == 1 ? "(L, C)" : "(H, W, C)") +
                ", got " + shape_to_string(in));
  Shape out(args_.keepdims ? rank_ : 0, 1);
  out.push_back(in.back());
  return out;
}

void GlobalPooling::call_impl(const Tensor& x, Tensor& y, bool) {
  const std::size_t N = x.dim(0), C = input_shape().back(), cells = N ? x.size() / N / C : 0;
  if (kind_ == Kind::Max) argmax_.assign(N * C, 0);
  for (std::size_t n = 0; n < N; ++n) {
    const float* xn = x.data() + n * cells * C;
    float* yn = y.data() + n * C;
    if (kind_ == Kind::Average) {
      std::fill(yn, yn + C, 0.0f);
      for (std::size_t i = 0; i < cells; ++i)
        for (std::size_t c = 0; c < C; ++c) yn[c] += xn[i * C + c];
      for (std::size_t c = 0; c < C; ++c) yn[c] /= float(cells);
    } else {
      std::size_t* am = argmax_.data() + n * C;
      std::copy(xn, xn + C, yn);
      for (std::size_t i = 1; i < cells; ++i)
        for (std::size_t c = 0; c < C; ++c) {
          const float v = xn[i * C + c];
          if ((v > yn[c] || v != v) && yn[c] == yn[c]) yn[c] = v, am[c] = i;  // the first NaN wins
        }
    }
  }
}

void GlobalPooling::backward_impl(const Tensor& dz, Tensor* dx) {
  if (!dx) return;
  const std::size_t N = dz.dim(0), C = input_shape().back(), cells = N ? dx->size() / N / C : 0;
  for (std::size_t n = 0; n < N; ++n) {
    float* d = dx->data() + n * cells * C;
    const float* g = dz.data() + n * C;
    if (kind_ == Kind::Average) {
      for (std::size_t i = 0; i < cells; ++i)
        for (std::size_t c = 0; c < C; ++c) d[i * C + c] = g[c] / float(cells);
    } else {
      std::fill(d, d + cells * C, 0.0f);
      for (std::size_t c = 0; c < C; ++c) d[argmax_[n * C + c] * C + c] = g[c];
    }
  }
}

}  // namespace fourierconv::nn
