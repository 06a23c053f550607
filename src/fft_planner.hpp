// Internal: the one lock around FFTW's planner (single and double precision share it: only
// execution is thread-safe in FFTW) and its one-time setup (threads, wisdom).
#pragma once

#include <mutex>

namespace fourierconv::detail {

std::mutex& fftw_planner_mutex();
// Call with the mutex held: initializes FFTW's threads (both precisions) and loads
// FOURIERCONV_WISDOM once.
void fftw_init_once();

}  // namespace fourierconv::detail
