// The seed's Example 2 in C++: a random 128x128 image convolved with a fixed sinc filter
// through the convolution theorem (FFT, pointwise product, inverse FFT).
//
//   Python (the seed):                          C++ (fourierconv):
//   image = np.random.rand(128, 128)            Tensor image = random_image(128, 128)
//   filter = sinc kernel, 128 x 128             Tensor filter = filter_sinc_kernel(128, 8.0)
//   result = fourier_convolution(image, filter) Tensor result = fourier_convolution(image, filter, Magnitude)
//
// Writes out/example2_{image,filter,result}.png (or into the folder given as argv[1]).
#include <cstdio>
#include <filesystem>
#include <random>

#include "fourierconv/fourierconv.hpp"

using namespace fourierconv;

int main(int argc, char** argv) {
  const std::string out = argc > 1 ? argv[1] : "out";
  std::filesystem::create_directories(out);

  std::mt19937 rng(42);  // seed printed so the run can be repeated
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  Tensor image({128, 128});
  for (float& v : image) v = uniform(rng);

  Tensor filter = filter_sinc_kernel(128, 8.0);  // np.sinc(grid / 8), separable, centred
  Tensor result = fourier_convolution(image, filter, Output::Magnitude);  // np.abs(ifft2(fft2 . fft2))

  // The same result planned once and reused, as a fixed filter should be.
  Convolver conv({128, 128}, filter, Mode::Circular, Output::Magnitude);
  Tensor again = conv(image);
  double diff = 0;
  for (std::size_t i = 0; i < result.size(); ++i) diff = std::max(diff, double(std::abs(result[i] - again[i])));

  io::write_png(out + "/example2_image.png", image);
  io::write_png(out + "/example2_filter.png", filter, 8, io::PngScaling::Normalize);
  io::write_png(out + "/example2_result.png", result, 8, io::PngScaling::Normalize);
  float lo = *std::min_element(result.begin(), result.end()), hi = *std::max_element(result.begin(), result.end());
  std::printf("seed 42: image %s, filter %s -> result %s, range [%.4f, %.4f]; Convolver agrees to %.2e\n",
              image.shape_string().c_str(), filter.shape_string().c_str(), result.shape_string().c_str(), lo, hi, diff);
  std::printf("wrote %s/example2_image.png, example2_filter.png, example2_result.png\n", out.c_str());
  return 0;
}
