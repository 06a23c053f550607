// Shape tables shared by the benchmarks, named after the workloads they come from.
#pragma once

#include <cstddef>

namespace fcbench {

struct Plane {
  const char* name;
  std::size_t h, w, kh, kw;
};

// seed_sinc_128: the seed's Example 2 (128x128 image, 128x128 sinc kernel, circular).
constexpr Plane kSeedSinc128{"seed_sinc_128", 128, 128, 128, 128};
// fashion_mnist_seed_cnn: the seed model's first layer (N=32, 28x28x1 -> 32, 3x3).
constexpr std::size_t kSeedBatch = 32, kSeedSide = 28, kSeedFilters = 32;
// large_kernel: (1, 256, 256, 16) -> 16, 'same', k = 3..31 (the PyTorch comparison in PEERS.md).
constexpr std::size_t kLargeSide = 256, kLargeChannels = 16;

}  // namespace fcbench
