#!/usr/bin/env bash
# Builds bench/stream_peers/stream_peers.cpp against FFTConvolver (HiFi-LoFi/FFTConvolver, MIT licence) and
# fourierconv's library, then runs it. FFTConvolver is not part of fourierconv and is not
# downloaded here: pass a git checkout (or mirror) of it.
#   bench/stream_peers.sh FFTCONVOLVER_GIT_DIR [ROUNDS]
# FFTConvolver is compiled with -O3 -march=native, SSE and FFTW3 (its fastest configuration on
# this machine; the same FFT library as ours).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
src=$1 rounds=${2:-5}
out="$here/build/peers/fftconvolver"
rm -rf "$out" && mkdir -p "$out"
git --git-dir="$src" archive HEAD 2>/dev/null | tar -x -C "$out" || git -C "$src" archive HEAD | tar -x -C "$out"
g++ -std=c++20 -O3 -march=native -DAUDIOFFT_FFTW3 -DFFTCONVOLVER_USE_SSE -I"$out" -I"$here/include" \
  "$here/bench/stream_peers/stream_peers.cpp" "$out/AudioFFT.cpp" "$out/FFTConvolver.cpp" "$out/TwoStageFFTConvolver.cpp" "$out/Utilities.cpp" \
  -L"$here/build" -Wl,-rpath,"$here/build" -lfourierconv -lfftw3f -o "$out/stream_peers"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), $(nproc) cores; FFTConvolver $(git --git-dir="$src" rev-parse --short HEAD 2>/dev/null || git -C "$src" rev-parse --short HEAD)"
"$out/stream_peers" "$rounds"
