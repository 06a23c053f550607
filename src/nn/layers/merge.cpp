#include "fourierconv/nn/layers/merge.hpp"

#include <algorithm>
#include <cstring>

#include "fourierconv/error.hpp"
#include "parallel.hpp"
#include "simd.hpp"

namespace fourierconv::nn {
namespace {

std::string shapes_text(const std::vector<Shape>& shapes) {
  std::string s;
  for (auto& sh : shapes) s += (s.empty() ? "" : ", ") + shape_to_string(sh);
  return "[" + s + "]";
}

// For output element p of one sample (shape `out`), the element of an input of shape `in`
// that broadcasting reads (axes of size 1 repeat). Empty when the shapes are equal.
std::vector<std::size_t> broadcast_map(const Shape& in, const Shape& out) {
  if (in == out) return {};
  const std::size_t r = out.size(), n = shape_size(out);
  std::vector<std::size_t> in_stride(r), map(n);
  std::size_t s = 1;
  for (std::size_t a = r; a-- > 0;) {
    in_stride[a] = in[a] == 1 ? 0 : s;
    s *= in[a];
  }
  std::vector<std::size_t> idx(r, 0);
  std::size_t off = 0;
  for (std::size_t p = 0; p < n; ++p) {
    map[p] = off;
    for (std::size_t a = r; a-- > 0;) {  // odometer
      off += in_stride[a];
      if (++idx[a] < out[a]) break;
      off -= in_stride[a] * out[a];
      idx[a] = 0;
    }
  }
  return map;
}

}  // namespace

Shape MergeLayer::build_impl(const Shape&) {
  throw Error(what() + ": takes a list of inputs; use it in a Model graph (model.add(layer, {a, b}))");
}
void MergeLayer::call_impl(const Tensor&, Tensor&, bool) { build_impl({}); }
void MergeLayer::backward_impl(const Tensor&, Tensor*) { build_impl({}); }

void MergeLayer::build(const std::vector<Shape>& shapes) {
  if (shapes.empty()) throw Error(what() + ": a merge layer takes at least one input, got none");
  for (auto& s : shapes)
    for (auto d : s)
      if (d == 0) throw Error(what() + ": input shapes " + shapes_text(shapes) + " have a zero axis");
  Shape out = merge_shape(shapes);
  input_shapes_ = shapes;
  set_built(shapes[0], out);
}

const Tensor& MergeLayer::call(const std::vector<const Tensor*>& xs, bool) {
  if (!built()) throw Error(what() + ": call() before build()");
  if (xs.size() != input_shapes_.size())
    throw Error(what() + ": expected " + std::to_string(input_shapes_.size()) + " inputs, got " + std::to_string(xs.size()));
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = *xs[i];
    const Shape& s = input_shapes_[i];
    if (x.rank() != s.size() + 1 || !std::equal(s.begin(), s.end(), x.shape().begin() + 1) || x.dim(0) != xs[0]->dim(0))
      throw Error(what() + ": input " + std::to_string(i) + " must have shape " + batch_shape_text(s) + " with the batch of input 0, got " +
                  x.shape_string());
  }
  Shape ys{xs[0]->dim(0)};
  ys.insert(ys.end(), output_shape().begin(), output_shape().end());
  y_.resize(ys);
  xs_ = xs;
  if (ys[0]) merge(xs, y_);
  return y_;
}

const std::vector<Tensor>& MergeLayer::backward(const Tensor& dy) {
  if (xs_.empty()) throw Error(what() + ": backward() before call()");
  if (dy.shape() != y_.shape())
    throw Error(what() + ": backward expected a gradient of shape " + y_.shape_string() + ", got " + dy.shape_string());
  dxs_.resize(xs_.size());
  for (std::size_t i = 0; i < xs_.size(); ++i) {
    dxs_[i].resize(xs_[i]->shape());
    dxs_[i].fill(0.0f);
  }
  if (dy.dim(0)) merge_backward(xs_, dy, dxs_);
  return dxs_;
}

// ---------------------------------------------------------------------------------------

ElementwiseMerge::ElementwiseMerge(Op op, std::string name)
    : MergeLayer(name), op_(op) {
  if (this->name().empty()) set_name(unique_name(to_snake_case(class_name())));
}

std::string ElementwiseMerge::class_name() const {
  switch (op_) {
    case Op::Add: return "Add";
    case Op::Subtract: return "Subtract";
    case Op::Multiply: return "Multiply";
    case Op::Average: return "Average";
    case Op::Maximum: return "Maximum";
    case Op::Minimum: return "Minimum";
  }
  return "Add";
}

Shape ElementwiseMerge::merge_shape(const std::vector<Shape>& shapes) const {
  if (op_ == Op::Subtract && shapes.size() != 2)
    throw Error(what() + ": Subtract takes exactly 2 inputs, got " + std::to_string(shapes.size()));
  Shape out = shapes[0];
  for (auto& s : shapes) {
    if (s.size() != out.size())
      throw Error(what() + ": inputs must have the same rank, got shapes " + shapes_text(shapes));
    for (std::size_t a = 0; a < s.size(); ++a) {
      if (s[a] == out[a] || s[a] == 1) continue;
      if (out[a] != 1) throw Error(what() + ": input shapes " + shapes_text(shapes) + " do not match (nor broadcast) on axis " + std::to_string(a + 1));
      out[a] = s[a];
    }
  }
  return out;
}

namespace {
// y = the op over inputs of y's own shape (no broadcasting), then clamped to [0, cap] unless cap
// is NaN; vectorized in the v3/v4 clones. Elements [b, e) of the flat arrays, in pieces that stay
// in L1 while every input is added in (a whole thread's share went to memory once per input).
FC_MULTIVERSION void merge_same_shape(ElementwiseMerge::Op op, const std::vector<const Tensor*>& xs, float cap,
                                      float* __restrict out, std::size_t b, std::size_t e) {
  using Op = ElementwiseMerge::Op;
  constexpr std::size_t kPiece = 2048;
  for (std::size_t p = b; p < e; p += kPiece) {
    const std::size_t n = std::min(kPiece, e - p);
    float* __restrict y = out + p;
    std::memcpy(y, xs[0]->data() + p, n * sizeof(float));
    for (std::size_t i = 1; i < xs.size(); ++i) {
      const float* __restrict x = xs[i]->data() + p;
      switch (op) {
        case Op::Add: case Op::Average: for (std::size_t e = 0; e < n; ++e) y[e] += x[e]; break;
        case Op::Subtract: for (std::size_t e = 0; e < n; ++e) y[e] -= x[e]; break;
        case Op::Multiply: for (std::size_t e = 0; e < n; ++e) y[e] *= x[e]; break;
        // NaN from any input wins, as numpy's and Keras's maximum (std::max kept the first).
        case Op::Maximum: for (std::size_t e = 0; e < n; ++e) y[e] = (x[e] > y[e] || x[e] != x[e]) ? x[e] : y[e]; break;
        case Op::Minimum: for (std::size_t e = 0; e < n; ++e) y[e] = (x[e] < y[e] || x[e] != x[e]) ? x[e] : y[e]; break;
      }
    }
    if (op == Op::Average) {  // the sum over the count, as the general path and Keras compute it
      const float k = float(xs.size());
      for (std::size_t e = 0; e < n; ++e) y[e] /= k;
    }
    if (cap == cap)  // the relu as ActivationLayer computes it (NaN stays NaN)
      for (std::size_t e = 0; e < n; ++e) y[e] = y[e] < 0.0f ? 0.0f : std::min(y[e], cap);
  }
}
}  // namespace

void ElementwiseMerge::merge(const std::vector<const Tensor*>& xs, Tensor& y) {
  const std::size_t N = y.dim(0), P = y.size() / N, k = xs.size();
  bool same = true;
  for (auto& s : input_shapes()) same = same && s == output_shape();
  if (same)
    return detail::parallel_chunks(y.size(), 16,
                                   [&](std::size_t b, std::size_t e) { merge_same_shape(op_, xs, relu_cap_, y.data(), b, e); });
  std::vector<std::vector<std::size_t>> maps(k);
  std::vector<std::size_t> sizes(k);
  for (std::size_t i = 0; i < k; ++i) maps[i] = broadcast_map(input_shapes()[i], output_shape()), sizes[i] = xs[i]->size() / N;
  auto at = [&](std::size_t i, std::size_t n, std::size_t p) {
    return xs[i]->data()[n * sizes[i] + (maps[i].empty() ? p : maps[i][p])];
  };
  float* out = y.data();
  for (std::size_t n = 0; n < N; ++n)
    for (std::size_t p = 0; p < P; ++p) {
      float v = at(0, n, p);
      for (std::size_t i = 1; i < k; ++i) {
        const float x = at(i, n, p);
        switch (op_) {
          case Op::Add: case Op::Average: v += x; break;
          case Op::Subtract: v -= x; break;
          case Op::Multiply: v *= x; break;
          case Op::Maximum: v = (x > v || x != x) ? x : v; break;
          case Op::Minimum: v = (x < v || x != x) ? x : v; break;
        }
      }
      if (op_ == Op::Average) v /= float(k);
      if (relu_cap_ == relu_cap_) v = v < 0.0f ? 0.0f : std::min(v, relu_cap_);
      out[n * P + p] = v;
    }
}

const Tensor& ElementwiseMerge::call_relu(const std::vector<const Tensor*>& xs, float cap) {
  relu_cap_ = cap;
  try {
    const Tensor& y = call(xs, false);
    relu_cap_ = NAN;
    return y;
  } catch (...) {
    relu_cap_ = NAN;
    throw;
  }
}

void ElementwiseMerge::merge_backward(const std::vector<const Tensor*>& xs, const Tensor& dy, std::vector<Tensor>& dxs) {
  const std::size_t N = dy.dim(0), P = dy.size() / N, k = xs.size();
  std::vector<std::vector<std::size_t>> maps(k);
  std::vector<std::size_t> sizes(k);
  for (std::size_t i = 0; i < k; ++i) maps[i] = broadcast_map(input_shapes()[i], output_shape()), sizes[i] = xs[i]->size() / N;
  auto idx = [&](std::size_t i, std::size_t n, std::size_t p) { return n * sizes[i] + (maps[i].empty() ? p : maps[i][p]); };
  std::vector<float> x(k);
  for (std::size_t n = 0; n < N; ++n)
    for (std::size_t p = 0; p < P; ++p) {
      const float g = dy.data()[n * P + p];
      for (std::size_t i = 0; i < k; ++i) x[i] = xs[i]->data()[idx(i, n, p)];
      std::size_t winner = 0;
      if (op_ == Op::Maximum || op_ == Op::Minimum)
        for (std::size_t i = 1; i < k; ++i)
          if (op_ == Op::Maximum ? x[i] > x[winner] : x[i] < x[winner]) winner = i;
      for (std::size_t i = 0; i < k; ++i) {
        float d = 0;
        switch (op_) {
          case Op::Add: d = g; break;
          case Op::Average: d = g / float(k); break;
          case Op::Subtract: d = i == 0 ? g : -g; break;
          case Op::Multiply: {
            d = g;
            for (std::size_t j = 0; j < k; ++j)
              if (j != i) d *= x[j];
            break;
          }
          case Op::Maximum: case Op::Minimum: d = i == winner ? g : 0.0f; break;
        }
        dxs[i].data()[idx(i, n, p)] += d;
      }
    }
}

// ---------------------------------------------------------------------------------------

Concatenate::Concatenate(int axis, std::string name)
    : MergeLayer(name.empty() ? unique_name("concatenate") : std::move(name)), axis_(axis) {}

std::size_t Concatenate::axis_of(std::size_t rank) const {
  const long full = long(rank) + 1;  // Keras counts the batch axis
  const long a = axis_ < 0 ? full + axis_ : axis_;
  if (a <= 0 || a >= full)
    throw Error(what() + ": axis " + std::to_string(axis_) + " is out of range for inputs of rank " + std::to_string(full) +
                " (batch included; the batch axis 0 cannot be concatenated)");
  return std::size_t(a - 1);
}

Shape Concatenate::merge_shape(const std::vector<Shape>& shapes) const {
  const std::size_t r = shapes[0].size(), a = axis_of(r);
  Shape out = shapes[0];
  out[a] = 0;
  for (auto& s : shapes) {
    bool ok = s.size() == r;
    for (std::size_t i = 0; ok && i < r; ++i) ok = i == a || s[i] == shapes[0][i];
    if (!ok)
      throw Error(what() + ": inputs must match except on the concatenation axis " + std::to_string(axis_) + ", got shapes " +
                  shapes_text(shapes));
    out[a] += s[a];
  }
  return out;
}

void Concatenate::merge(const std::vector<const Tensor*>& xs, Tensor& y) {
  const Shape& out = output_shape();
  const std::size_t a = axis_of(out.size()), N = y.dim(0);
  std::size_t outer = N, inner = 1;
  for (std::size_t i = 0; i < a; ++i) outer *= out[i];
  for (std::size_t i = a + 1; i < out.size(); ++i) inner *= out[i];
  float* dst = y.data();
  for (std::size_t o = 0; o < outer; ++o)
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const std::size_t block = input_shapes()[i][a] * inner;
      std::memcpy(dst, xs[i]->data() + o * block, block * sizeof(float));
      dst += block;
    }
}

void Concatenate::merge_backward(const std::vector<const Tensor*>& xs, const Tensor& dy, std::vector<Tensor>& dxs) {
  const Shape& out = output_shape();
  const std::size_t a = axis_of(out.size()), N = dy.dim(0);
  std::size_t outer = N, inner = 1;
  for (std::size_t i = 0; i < a; ++i) outer *= out[i];
  for (std::size_t i = a + 1; i < out.size(); ++i) inner *= out[i];
  const float* src = dy.data();
  for (std::size_t o = 0; o < outer; ++o)
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const std::size_t block = input_shapes()[i][a] * inner;
      std::memcpy(dxs[i].data() + o * block, src, block * sizeof(float));
      src += block;
    }
}

}  // namespace fourierconv::nn
