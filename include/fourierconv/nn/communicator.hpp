// Communicator: what data-parallel training needs from a group of processes (ranks), as an
// interface, so that the library itself does not depend on MPI. The MPI implementation is
// nn/mpi.hpp (built when Open MPI is found: the CMake option FOURIERCONV_MPI).
//
// Every rank calls the same collectives in the same order (MPI's rule). The sums are of
// doubles and every rank receives the same bits, so ranks that start equal stay equal.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace fourierconv::nn {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;

  // A collective started in the background; wait() blocks until it is done (then the data is
  // the result). The buffer must stay alive and untouched until then.
  using Request = std::size_t;
  // Sums data[0, n) element-wise over the ranks, in place.
  virtual Request start_allreduce_sum(double* data, std::size_t n) = 0;
  virtual void wait(Request r) = 0;
  void allreduce_sum(double* data, std::size_t n) { wait(start_allreduce_sum(data, n)); }
  // Rank `root`'s bytes to every rank (blocking).
  virtual void broadcast(void* data, std::size_t bytes, int root) = 0;
  // Every rank's string, in rank order, on every rank (blocking).
  virtual std::vector<std::string> allgather(const std::string& mine) = 0;
  // When each background collective finished since the last call ran: [start, end) in
  // seconds of std::chrono::steady_clock, in the order they ran. For measuring how much of
  // the communication overlapped the computation (FitArgs, History).
  struct Interval {
    double start = 0, end = 0;
  };
  virtual std::vector<Interval> take_intervals() = 0;
};

}  // namespace fourierconv::nn
