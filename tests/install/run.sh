#!/usr/bin/env bash
# Installs the built library into a temporary prefix (cmake --install, component dev) and
# builds tests/install/consumer against it twice: with find_package(fourierconv) and with
# pkg-config. Both programs must run and print "consumer: ok".
#   tests/install/run.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" --component dev >/dev/null
test -f "$tmp/prefix/share/doc/fourierconv/LICENSE"
cmake -S "$here/consumer" -B "$tmp/cmake-build" -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$tmp/cmake-build" >/dev/null
"$tmp/cmake-build/consumer"
pc=$(find "$tmp/prefix" -name fourierconv.pc)
export PKG_CONFIG_PATH=$(dirname "$pc")
libdir=$(pkg-config --variable=libdir fourierconv)
g++ -O1 -o "$tmp/consumer-pc" "$here/consumer/main.cpp" $(pkg-config --cflags --libs fourierconv)
LD_LIBRARY_PATH="$libdir" "$tmp/consumer-pc"
