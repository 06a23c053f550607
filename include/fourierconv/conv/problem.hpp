// A 2-D convolution problem as a CNN layer poses it: cross-correlation (no kernel flip, as
// Keras and PyTorch), channels last.
//   x: (N, H, W, C), kernel: (kh, kw, C, F) (Keras's layout), bias: (F,) -> y: (N, OH, OW, F)
//   y[n,i,j,f] = b[f] + sum_{u,v,c} xpad[n, i*sh + u*dh, j*sw + v*dw, c] * K[u,v,c,f]
// Output sizes (Keras): valid  floor((n - d(k-1) - 1)/s) + 1;  same  ceil(n/s), with
// total padding max(0, (out-1)s + (k-1)d + 1 - n) split top/left = total/2, the odd extra
// pixel bottom/right; causal (Keras's Conv1D only)  ceil(n/s), all d(k-1) padding before
// the first sample, so that output t sees inputs up to t*s only.
#pragma once

#include <cstddef>
#include <string>

namespace fourierconv::conv {

enum class Padding { Valid, Same, Causal };
Padding parse_padding(const std::string& name);  // "valid" | "same" | "causal"
std::string to_string(Padding p);

struct Problem {
  std::size_t n = 1, h = 1, w = 1, c = 1, f = 1;
  std::size_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;
  Padding padding = Padding::Valid;
  // Derived by make():
  std::size_t oh = 1, ow = 1, pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;

  // Throws Error naming the layer when the kernel does not fit a valid-padded input or an
  // argument is zero.
  static Problem make(std::size_t n, std::size_t h, std::size_t w, std::size_t c, std::size_t f, std::size_t kh,
                      std::size_t kw, std::size_t sh, std::size_t sw, std::size_t dh, std::size_t dw, Padding padding,
                      const std::string& who = "Conv2D");
  std::string to_string() const;  // "N=32 28x28x1 -> 26x26x32, k3x3 s1 d1 valid"
  double macs() const { return double(n) * oh * ow * f * kh * kw * c; }
};

}  // namespace fourierconv::conv
