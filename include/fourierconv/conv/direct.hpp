// The direct algorithm for conv::Problem: im2col + OpenBLAS sgemm, in row blocks so the
// column buffer stays under ~16 MB whatever the problem.
//   forward:  Y (N*OH*OW, F) = cols (N*OH*OW, kh*kw*C) @ K (kh*kw*C, F) + b
//   backward: dK = cols^T @ dY,  db = sum_rows dY,  dcols = dY @ K^T -> col2im -> dx
#pragma once

#include "fourierconv/conv/problem.hpp"

namespace fourierconv::conv {

// x: (N,H,W,C), kernel: (kh,kw,C,F), bias: (F,) or null -> y: (N,OH,OW,F); with relu,
// y = max(y, 0) in the same pass (NaN passes through, as Keras's relu).
void direct_forward(const Problem& p, const float* x, const float* kernel, const float* bias, float* y,
                    bool relu = false);
// dy: (N,OH,OW,F) -> dx (N,H,W,C) if not null, dkernel (kh,kw,C,F) and dbias (F,) if not null
// (all overwritten). With relu_y (the forward's output after a fused relu, (N,OH,OW,F)), the
// gradient used is dy * (relu_y > 0), formed on the fly.
void direct_backward(const Problem& p, const float* x, const float* kernel, const float* dy, float* dx, float* dkernel,
                     float* dbias, const float* relu_y = nullptr);

}  // namespace fourierconv::conv
