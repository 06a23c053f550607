// Umbrella header: everything a user of fourierconv needs.
#pragma once

#include "fourierconv/convolve.hpp"
#include "fourierconv/cpu.hpp"
#include "fourierconv/error.hpp"
#include "fourierconv/fft.hpp"
#include "fourierconv/filters.hpp"
#include "fourierconv/io/npy.hpp"
#include "fourierconv/io/png.hpp"
#include "fourierconv/tensor.hpp"
