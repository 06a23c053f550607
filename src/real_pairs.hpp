// Two real 2-D signals through one complex FFT: z = a + i b. FFTW's c2c of a plane costs
// 1.1-1.4 times one r2c of it for the sizes the library uses, against 2 for two r2c (and the
// same for the inverse), so paired transforms save up to ~45% (bench/history_first_machine.md, section 4).
// Spectra are h x w (full) or h x (w/2 + 1) half spectra (fft.hpp's layout), interleaved.
#pragma once

#include <cstddef>

#include "fourierconv/fft.hpp"

namespace fourierconv::detail {

// The full spectrum Z of z = a + i b -> the half spectra of a and b, DOUBLED:
// 2A(k) = Z(k) + conj Z(-k), 2B(k) = (Z(k) - conj Z(-k)) / i (the caller folds the 1/2 into a
// factor it applies anyway).
void separate_pair(const Complex* Z, std::size_t h, std::size_t w, Complex* A2, Complex* B2);

// The half spectra A and B of two real signals (B may be null: zero) -> the full spectrum of
// a + i b, W(k) = A(k) + i B(k), the other half from A(-k) = conj A(k), B(-k) = conj B(k).
void combine_pair(const Complex* A, const Complex* B, std::size_t h, std::size_t w, Complex* W);

}  // namespace fourierconv::detail
