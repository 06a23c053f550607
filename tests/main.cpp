// Test main: fast Estimate FFT plans (Measure would spend seconds planning each new size)
// and a printed seed for every random input.
#include <gtest/gtest.h>

#include <cstdio>

#include "fourierconv/fft.hpp"

int main(int argc, char** argv) {
  fourierconv::fft_set_rigor(fourierconv::FftRigor::Estimate);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
