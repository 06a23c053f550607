// MpiCommunicator (nn/mpi.hpp): the collectives of data-parallel fit on MPI, run in order on
// one communication thread.
#include "fourierconv/nn/mpi.hpp"

#include <mpi.h>

#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "fourierconv/error.hpp"

namespace fourierconv::nn {
namespace {

double now_seconds() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// MPI counts are ints: large buffers go in pieces.
constexpr std::size_t kPiece = std::size_t(1) << 30;

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw Error(std::string("MPI: ") + what + " failed: " + std::string(text, std::size_t(len)));
}

}  // namespace

struct MpiCommunicator::Impl {
  int rank = 0, size = 1, provided = 0;
  double timeout = 300;
  std::mutex mu;
  std::condition_variable cv_work, cv_done;
  std::deque<std::pair<Request, std::function<void()>>> queue;
  Request next = 1, done = 0;  // requests finish in order: done is the last finished
  std::string failure;         // an MPI error on the thread, rethrown by wait()
  std::vector<Interval> intervals;
  bool stop = false;
  std::thread thread;

  void run() {
    for (;;) {
      std::pair<Request, std::function<void()>> job;
      {
        std::unique_lock lk(mu);
        cv_work.wait(lk, [&] { return stop || !queue.empty(); });
        if (queue.empty()) return;
        job = std::move(queue.front());
        queue.pop_front();
      }
      const double t0 = now_seconds();
      std::string err;
      try {
        job.second();
      } catch (const std::exception& e) {
        err = e.what();
      }
      const double t1 = now_seconds();
      {
        std::lock_guard lk(mu);
        done = job.first;
        if (!err.empty() && failure.empty()) failure = err;
        intervals.push_back({t0, t1});
      }
      cv_done.notify_all();
    }
  }

  Request submit(std::function<void()> f) {
    Request r;
    {
      std::lock_guard lk(mu);
      r = next++;
      queue.emplace_back(r, std::move(f));
    }
    cv_work.notify_one();
    return r;
  }
};

MpiCommunicator::MpiCommunicator(int* argc, char*** argv, double timeout_seconds) : impl_(std::make_unique<Impl>()) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) throw Error("MpiCommunicator: MPI is already initialized in this process (make one communicator)");
  if (!(timeout_seconds > 0)) throw Error("MpiCommunicator: timeout_seconds must be > 0 (or infinity: never), got " + std::to_string(timeout_seconds));
  check(MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &impl_->provided), "MPI_Init_thread");
  if (impl_->provided < MPI_THREAD_SERIALIZED) {
    MPI_Finalize();
    throw Error("MpiCommunicator: this MPI cannot be called from a communication thread (MPI_THREAD_SERIALIZED not provided)");
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &impl_->rank);
  MPI_Comm_size(MPI_COMM_WORLD, &impl_->size);
  impl_->timeout = timeout_seconds;
  impl_->thread = std::thread([p = impl_.get()] { p->run(); });
}

MpiCommunicator::~MpiCommunicator() {
  {
    std::lock_guard lk(impl_->mu);
    impl_->stop = true;
  }
  impl_->cv_work.notify_one();
  if (impl_->thread.joinable()) impl_->thread.join();
  if (impl_->failure.empty()) MPI_Finalize();
}

int MpiCommunicator::rank() const { return impl_->rank; }
int MpiCommunicator::size() const { return impl_->size; }

Communicator::Request MpiCommunicator::start_allreduce_sum(double* data, std::size_t n) {
  return impl_->submit([data, n] {
    for (std::size_t i = 0; i < n; i += kPiece)
      check(MPI_Allreduce(MPI_IN_PLACE, data + i, int(std::min(kPiece, n - i)), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
  });
}

void MpiCommunicator::wait(Request r) {
  std::unique_lock lk(impl_->mu);
  auto ready = [&] { return impl_->done >= r || !impl_->failure.empty(); };
  if (impl_->timeout > 1e9) {  // "never" (inf): a deadline that far would overflow the clock
    impl_->cv_done.wait(lk, ready);
  } else if (!impl_->cv_done.wait_for(lk, std::chrono::duration<double>(impl_->timeout), ready)) {
    lk.unlock();
    char t[64];
    std::snprintf(t, sizeof t, "%g", impl_->timeout);
    abort("fourierconv: rank " + std::to_string(impl_->rank) + ": no reply from the other ranks in " + t +
          " s (a rank died or hangs); ending the job");
  }
  if (!impl_->failure.empty()) throw Error("rank " + std::to_string(impl_->rank) + ": " + impl_->failure);
}

void MpiCommunicator::broadcast(void* data, std::size_t bytes, int root) {
  wait(impl_->submit([data, bytes, root] {
    auto* p = static_cast<char*>(data);
    for (std::size_t i = 0; i < bytes; i += kPiece)
      check(MPI_Bcast(p + i, int(std::min(kPiece, bytes - i)), MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
  }));
}

std::vector<std::string> MpiCommunicator::allgather(const std::string& mine) {
  const int n = impl_->size;
  const std::size_t ranks = std::size_t(n);
  std::vector<std::string> out(ranks);
  if (mine.size() > std::size_t(INT_MAX) / std::size_t(n)) throw Error("MpiCommunicator::allgather: the string is too long");
  wait(impl_->submit([&] {
    long long len = (long long)mine.size();
    std::vector<long long> lens(ranks);
    check(MPI_Allgather(&len, 1, MPI_LONG_LONG, lens.data(), 1, MPI_LONG_LONG, MPI_COMM_WORLD), "MPI_Allgather");
    std::vector<int> counts(ranks), displs(ranks);
    long long total = 0;
    for (int i = 0; i < n; ++i) {
      if (lens[std::size_t(i)] < 0 || total + lens[std::size_t(i)] > INT_MAX) throw Error("MPI_Allgatherv: the strings are too long");
      counts[std::size_t(i)] = int(lens[std::size_t(i)]);
      displs[std::size_t(i)] = int(total);
      total += lens[std::size_t(i)];
    }
    std::string all(std::size_t(total), '\0');
    check(MPI_Allgatherv(mine.data(), int(mine.size()), MPI_CHAR, all.data(), counts.data(), displs.data(), MPI_CHAR, MPI_COMM_WORLD),
          "MPI_Allgatherv");
    for (int i = 0; i < n; ++i) out[std::size_t(i)] = all.substr(std::size_t(displs[std::size_t(i)]), std::size_t(counts[std::size_t(i)]));
  }));
  return out;
}

std::vector<Communicator::Interval> MpiCommunicator::take_intervals() {
  std::lock_guard lk(impl_->mu);
  std::vector<Interval> v;
  v.swap(impl_->intervals);
  return v;
}

void MpiCommunicator::abort(const std::string& message, int code) {
  if (!message.empty()) std::fprintf(stderr, "%s\n", message.c_str());
  std::fflush(stderr);
  if (impl_->provided >= MPI_THREAD_MULTIPLE) MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // the launcher ends the other ranks when one exits without finalizing
}

}  // namespace fourierconv::nn
