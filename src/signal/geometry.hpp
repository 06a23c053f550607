// Internal: the geometry of an N-D convolution problem, a pure function of the shapes, the
// axes and the mode (scipy.signal's rules), shared by every method and element type.
//
// Canonical layout: the engine works on C-contiguous arrays whose axes are the batch axes (the
// axes not convolved, in their original order) followed by the convolved axes (in their
// original order). signal.cpp transposes into and out of it when the caller's layout differs.
//
// On each convolved axis, after scipy's valid-mode swap (so n >= k there):
//   full:  out = n + k - 1, start = 0
//   same:  out = n,         start = (k - 1) / 2   (scipy's _centered)
//   valid: out = n - k + 1, start = k - 1
//   circular (ours): out = n, start = k / 2, the input periodic (a centred delta is the identity)
// and every method computes, with E the "extended input" E[t] = x(start - (k - 1) + t):
//   y[i] = sum_u k[u] E[i + k - 1 - u]
// E is x outside its range extended by a rule: zeros (or convolve2d's fillvalue), periodic
// (circular, convolve2d's wrap) or symmetric (convolve2d's symm: d c b a | a b c d | d c b a).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fourierconv/convolve.hpp"
#include "fourierconv/tensor.hpp"

namespace fourierconv::signal::detail {

enum class Extension { Fill, Periodic, Symmetric };

struct ConvAxis {
  std::size_t n = 1, k = 1, out = 1;
  std::ptrdiff_t start = 0;
  Extension ext = Extension::Fill;
  // Index into x of E's t-th element, or -1 where E holds the fill value. (Inline: the direct
  // method tabulates it per call, and out of line it cost a small image a tenth of its time.)
  std::ptrdiff_t source(std::size_t t) const {
    const std::ptrdiff_t i = start - std::ptrdiff_t(k - 1) + std::ptrdiff_t(t);
    return i >= 0 && i < std::ptrdiff_t(n) ? i : extended_source(i);
  }
  std::ptrdiff_t extended_source(std::ptrdiff_t i) const;  // x index i outside [0, n): the extension rule
  std::size_t extended() const { return out + k - 1; }  // E's length
};

// Which of scipy's rules: true N-D convolution over the axes (convolve, correlate,
// convolve2d), or fftconvolve/oaconvolve's, where an axis on which either input has size 1 is
// not convolved but broadcast, and mode "same" centres every axis on in1's size (so a batch axis
// broadcast from in1's 1 keeps 1 item, the middle one, as scipy's _centered does).
enum class Rules { Convolve, FreqDomain };

struct Geometry {
  std::size_t rank = 0;
  std::vector<std::size_t> conv_axes;   // original axis numbers, ascending
  std::vector<std::size_t> batch_axes;  // the others, ascending
  // Canonical shapes: x = x_batch + x_conv, kernel = k_batch + k_conv, output = batch + out.
  Shape x_batch, k_batch, batch;        // per batch axis: the sizes are equal, or one is 1
  Shape batch_offset;                   // output batch index + offset = broadcast index (same mode)
  std::vector<ConvAxis> axes;           // per convolved axis
  bool swapped = false;                 // valid mode swapped in1 and in2
  bool circular = false;                // mode circular (ours)
  Shape out_shape;                      // the output in the original axis order

  std::size_t batch_size() const { return shape_size(batch); }
  std::size_t x_items() const { return shape_size(x_batch); }
  std::size_t k_items() const { return shape_size(k_batch); }
  Shape x_canonical() const;            // x_batch + n per axis
  Shape k_canonical() const;            // k_batch + k per axis
  Shape out_canonical() const;          // batch + out per axis
  std::size_t x_plane() const;          // elements of one x item (product of n)
  std::size_t k_plane() const;
  std::size_t out_plane() const;
  // Flat x / kernel item of output batch item b (broadcast axes pinned to 0).
  std::size_t x_item(std::size_t b) const;
  std::size_t k_item(std::size_t b) const;
  std::string describe() const;         // "kernel 15x15 on 512x512 (same), batch 4"
};

// `axes` empty: every axis. Negative axes count from the end. Throws Error (scipy's messages)
// for repeated or out-of-range axes, an empty axis list given explicitly (`explicit_axes`),
// shapes that do not broadcast on the other axes, and a valid mode where neither input
// contains the other on the convolved axes. Inputs must have the same rank >= 1 and no zero
// sizes (callers handle 0-d and empty arrays as scipy does).
// same_offset_half_k: mode "same" starts at k / 2 instead of (k - 1) / 2 (scipy's correlate2d
// centres its same output so, unlike correlate; the two differ for even kernel sizes).
Geometry make_geometry(const Shape& s1, const Shape& s2, Mode mode, const std::vector<long>& axes, bool explicit_axes,
                       Rules rules, Extension ext = Extension::Fill, bool same_offset_half_k = false);

// scipy.signal.correlation_lags: the lag of each output index of correlate(in1, in2, mode)
// for 1-D inputs of these lengths.
std::vector<std::int64_t> correlation_lags(std::size_t in1_len, std::size_t in2_len, Mode mode);

// Multiplies sizes, throwing Error naming `what` when the product overflows size_t.
std::size_t checked_product(const Shape& s, const std::string& what);

}  // namespace fourierconv::signal::detail
