// The direct algorithm for conv::Problem. The forward runs a register-blocked kernel over the
// input (up to 64 filters, or any filter count when kh*kw*C <= 32; padded inputs are copied into
// a zero border first; 16-float registers on AVX-512 CPUs), else im2col + OpenBLAS sgemm: with
// many rows each thread builds and multiplies 512-row column chunks in its own buffer, else in
// row blocks whose column buffer stays under ~16 MB whatever the problem.
//   forward:  Y (N*OH*OW, F) = cols (N*OH*OW, kh*kw*C) @ K (kh*kw*C, F) + b
//   backward: dK = cols^T @ dY,  db = sum_rows dY,  dcols = dY @ K^T -> col2im -> dx
#pragma once

#include "fourierconv/conv/problem.hpp"

namespace fourierconv::conv {

// x: (N,H,W,C), kernel: (kh,kw,C,F), bias: (F,) or null -> y: (N,OH,OW,F); with relu,
// y = max(y, 0) in the same pass (NaN passes through, as Keras's relu).
void direct_forward(const Problem& p, const float* x, const float* kernel, const float* bias, float* y,
                    bool relu = false);
// Whether direct_forward takes the register-blocked kernel for p (else im2col + sgemm).
bool direct_forward_is_blocked(const Problem& p);
// Whether that kernel runs in 16-float (AVX-512) registers for p on this CPU.
bool direct_forward_is_wide(const Problem& p);
// The forward (with the fused relu) followed by max pooling over ph x pw windows with strides
// (ph, pw) and valid padding, in one pass that never stores the convolution's output (the
// inference path of Conv2D + MaxPooling2D): y: (N, OH / ph, OW / pw, F), NaN winning as in
// MaxPooling2D. Returns false, doing nothing, when the problem is not one for the
// register-blocked kernel (many filters with a large kernel) or the pool does not fit.
bool direct_forward_max_pool(const Problem& p, std::size_t ph, std::size_t pw, const float* x, const float* kernel,
                             const float* bias, bool relu, float* y);
// dy: (N,OH,OW,F) -> dx (N,H,W,C) if not null, dkernel (kh,kw,C,F) and dbias (F,) if not null
// (all overwritten). With relu_y (the forward's output after a fused relu, (N,OH,OW,F)), the
// gradient used is dy * (relu_y > 0), formed on the fly.
void direct_backward(const Problem& p, const float* x, const float* kernel, const float* dy, float* dx, float* dkernel,
                     float* dbias, const float* relu_y = nullptr);

}  // namespace fourierconv::conv
