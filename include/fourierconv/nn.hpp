// Umbrella header for the Keras-style network API.
#pragma once

#include "fourierconv/error.hpp"
#include "fourierconv/io/idx.hpp"
#include "fourierconv/nn/initializers.hpp"
#include "fourierconv/nn/layer.hpp"
#include "fourierconv/nn/layers/activation.hpp"
#include "fourierconv/nn/layers/conv2d.hpp"
#include "fourierconv/nn/layers/dense.hpp"
#include "fourierconv/nn/layers/flatten.hpp"
#include "fourierconv/nn/layers/pooling.hpp"
#include "fourierconv/nn/losses.hpp"
#include "fourierconv/nn/optimizers.hpp"
#include "fourierconv/nn/sequential.hpp"
#include "fourierconv/nn/summary.hpp"
#include "fourierconv/nn/layers/fourier_conv2d.hpp"
#include "fourierconv/nn/layers/spectral_conv2d.hpp"
#include "fourierconv/nn/saving.hpp"
