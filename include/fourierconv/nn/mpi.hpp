// MpiCommunicator: the Communicator (nn/communicator.hpp) of the processes that `mpirun`
// starts, over MPI_COMM_WORLD, for data-parallel `fit` (FitArgs::communicator).
//
// Built into libfourierconv_mpi when CMake finds MPI (Debian: openmpi-bin, libopenmpi-dev;
// the option FOURIERCONV_MPI, on by default); the core library never needs MPI.
//
//   fourierconv::nn::MpiCommunicator comm(&argc, &argv);
//   model.fit(x, y, {.batch_size = 32, .communicator = &comm});
//
// One per process. It initializes MPI (MPI_THREAD_MULTIPLE, else MPI_THREAD_SERIALIZED) and
// runs every collective on its own thread, in the order they were started, so that the
// gradient allreduces progress while the backward pass computes (Open MPI has no progress
// thread of its own). Its destructor finalizes MPI.
//
// Faults: when a collective has not finished after `timeout_seconds` (a rank died or hangs;
// infinity or more than 1e9: never), including rank 0's checkpoint writes that others wait for,
// the process prints "rank R: no reply from the other ranks in T s" to stderr and aborts the
// whole job (MPI_Abort), so a job never hangs. Under mpirun, a rank that dies is reported by
// mpirun itself ("process rank R ... exited on signal ..."), which ends the other ranks.
#pragma once

#include <memory>

#include "fourierconv/nn/communicator.hpp"

namespace fourierconv::nn {

class MpiCommunicator : public Communicator {
 public:
  // argc/argv may be null. Error when MPI is already initialized or fails to start.
  MpiCommunicator(int* argc, char*** argv, double timeout_seconds = 300);
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override;
  int size() const override;
  Request start_allreduce_sum(double* data, std::size_t n) override;
  void wait(Request r) override;
  void broadcast(void* data, std::size_t bytes, int root) override;
  std::vector<std::string> allgather(const std::string& mine) override;
  std::vector<Interval> take_intervals() override;
  // Ends the job on every rank, with `message` (when not empty) on this rank's stderr
  // (MPI_Abort).
  [[noreturn]] void abort(const std::string& message, int code = 1);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fourierconv::nn
