// fourierconv train --model NAME [--epochs N] [--batch-size N] [--optimizer adam|sgd] [--lr X]
//                   [--validation-split F] [--seed N] [--data DIR] [--limit N] [--save FILE]
//                   [--checkpoint DIR [--every K]] [--resume DIR] [--timeout S] [--bucket-bytes B]
//                   [--micro-batches M]
// Under `mpirun -np N` (a build with MPI): data-parallel, --batch-size per rank (the global
// batch is N times it), rank 0 prints and writes the files.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <cstdio>
#include <numeric>
#include <thread>

#include "common.hpp"
#include "fourierconv/error.hpp"
#include "fourierconv/io/idx.hpp"
#include "fourierconv/nn/initializers.hpp"
#include "fourierconv/nn/models.hpp"
#include "fourierconv/nn/saving.hpp"
#ifdef FOURIERCONV_HAVE_MPI
#include "fourierconv/nn/mpi.hpp"
#endif

namespace fourierconv::cli {
namespace {

// The communicator of an mpirun job of several ranks, else null (one process).
std::unique_ptr<nn::Communicator> open_communicator(double timeout) {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"})
    if (const char* s = std::getenv(v); s && std::atoi(s) > 1) {
#ifdef FOURIERCONV_HAVE_MPI
      return std::make_unique<nn::MpiCommunicator>(nullptr, nullptr, timeout);
#else
      (void)timeout;
      throw Error("train: started by mpirun with " + std::string(s) + " ranks, but this fourierconv was built without MPI (install libopenmpi-dev and rebuild)");
#endif
    }
  return nullptr;
}

}  // namespace

void setup_train(CLI::App& sub) {
  struct Opts {
    std::string model = "seed-cnn", optimizer = "adam", data = io::default_fashion_mnist_dir(), save, checkpoint, resume;
    std::size_t epochs = 5, batch_size = 32, limit = 0, every = 0, bucket_bytes = std::size_t(1) << 18, micro_batches = 0;
    double lr = 0, validation_split = 0, timeout = 300;
    std::uint64_t seed = 42;
    int verbose = -1;
  };
  auto o = std::make_shared<Opts>();
  sub.add_option("--model,-m", o->model, "model name (see `fourierconv summary --help`), or a .keras / .h5 file to train further")
      ->capture_default_str();
  sub.add_option("--epochs", o->epochs, "training epochs (the run's total, also when resuming)")->capture_default_str();
  sub.add_option("--batch-size", o->batch_size, "batch size (per rank under mpirun: the global batch is ranks x this)")
      ->capture_default_str();
  CLI::Option* optimizer_given = sub.add_option("--optimizer", o->optimizer, "adam | sgd (Keras defaults)")->capture_default_str();
  CLI::Option* lr_given = sub.add_option("--lr", o->lr, "learning rate (default: the optimizer's, 0.001 for adam, 0.01 for sgd)");
  sub.add_option("--validation-split", o->validation_split, "fraction of the training set held out (the last part)")
      ->capture_default_str();
  sub.add_option("--seed", o->seed, "seed for weights and shuffling")->capture_default_str();
  sub.add_option("--data", o->data, "MNIST-format directory (train-images-idx3-ubyte.gz, ...)")->capture_default_str();
  sub.add_option("--limit", o->limit, "use only the first N training and test samples (0: all)")->capture_default_str();
  sub.add_option("--save", o->save, "write the trained model to this .keras file (Keras 3 format)");
  sub.add_option("--checkpoint", o->checkpoint, "write DIR/checkpoint.keras atomically during training (model, optimizer state, progress)");
  sub.add_option("--every", o->every, "with --checkpoint: also every K steps (0: at the end of each epoch only)")
      ->check(CLI::Range(std::size_t(0), std::size_t(1) << 40))
      ->capture_default_str();
  sub.add_option("--resume", o->resume, "continue the run whose checkpoint is in DIR (and keep checkpointing there)");
  sub.add_option("--timeout", o->timeout, "under mpirun: end the job when the other ranks give no reply for S seconds (inf: never)")
      ->capture_default_str();
  sub.add_option("--bucket-bytes", o->bucket_bytes, "under mpirun: gradient allreduce bucket size in bytes")
      ->check(CLI::Range(std::size_t(0), std::size_t(1) << 40))
      ->capture_default_str();
  sub.add_option("--micro-batches", o->micro_batches,
                 "cut each global batch into M micro-batches summed in a fixed order: the same weights on any number of ranks "
                 "dividing M (0: one per rank)")
      ->check(CLI::Range(std::size_t(0), std::size_t(1) << 40))
      ->capture_default_str();
  sub.add_option("--verbose", o->verbose, "0 silent, 1 progress bar, 2 a line per epoch (default: 1 on a terminal, else 2)");
  sub.callback([o, optimizer_given, lr_given, app = &sub] {
    if (!o->save.empty() && !ends_with(o->save, ".keras"))
      throw fourierconv::Error("--save: expected a file name ending in .keras, got '" + o->save + "'");
    for (auto [name, value] : {std::pair{"--checkpoint", &o->checkpoint}, std::pair{"--resume", &o->resume}})
      if (app->count(name) && value->empty()) throw fourierconv::Error(std::string(name) + ": expected a folder, got an empty name");
    if (!o->resume.empty() && !o->checkpoint.empty() &&
        std::filesystem::weakly_canonical(o->resume) != std::filesystem::weakly_canonical(o->checkpoint))
      throw fourierconv::Error("--resume " + o->resume + " and --checkpoint " + o->checkpoint +
                               ": a resumed run keeps checkpointing into the folder it resumes from; give one of them");
    if (o->every && o->checkpoint.empty() && o->resume.empty()) throw fourierconv::Error("--every: needs --checkpoint DIR");
    if (!(o->timeout > 0)) throw fourierconv::Error("--timeout: expected seconds > 0 (or inf), got " + std::to_string(o->timeout));
    if (!o->save.empty()) {  // refused now rather than after the training
      const std::filesystem::path parent = std::filesystem::absolute(o->save).parent_path();
      if (!std::filesystem::is_directory(parent) || ::access(parent.c_str(), W_OK) != 0)
        throw fourierconv::Error("--save: cannot write in the folder '" + parent.string() + "'");
    }
    std::unique_ptr<nn::Communicator> comm = open_communicator(o->timeout);
    const bool root = !comm || comm->rank() == 0;
    try {
      io::Dataset d = io::load_mnist_format(o->data, o->limit);
      nn::set_random_seed(o->seed);
      const bool file = ends_with(o->model, ".keras") || ends_with(o->model, ".h5");
      nn::Model m = file ? nn::load_model(o->model) : nn::make_model(o->model, {d.x_train.dim(1), d.x_train.dim(2), 1});
      if (file) {  // a Keras file: the data fed as predict and evaluate feed it
        if (m.inputs().size() != 1 || m.outputs().size() != 1)
          throw Error("--model " + o->model + ": train takes models of one input and one output");
        d.x_train = adapt_to_model_input(std::move(d.x_train), m.input_shape(), "--data (its training images)");
        d.x_test = adapt_to_model_input(std::move(d.x_test), m.input_shape(), "--data (its test images)");
      }
      // A compiled file keeps its optimizer and state unless --optimizer or --lr is given.
      if (!m.compiled() || optimizer_given->count() || lr_given->count())
        m.compile(nn::make_optimizer(o->optimizer, o->lr), nn::Loss::parse("sparse_categorical_crossentropy"), {"accuracy"});
      if (root) m.summary();
      if (comm && root) std::printf("data-parallel on %d ranks: global batch %zu\n", comm->size(), o->batch_size * std::size_t(comm->size()));
      nn::History h = m.fit(d.x_train, d.y_train,
                            {.batch_size = o->batch_size, .epochs = o->epochs, .validation_split = o->validation_split,
                             .verbose = o->verbose, .seed = o->seed,
                             .checkpoint_dir = o->resume.empty() ? o->checkpoint : o->resume, .checkpoint_every = o->every,
                             .resume = !o->resume.empty(), .communicator = comm.get(), .bucket_bytes = o->bucket_bytes,
                             .micro_batches = o->micro_batches});
      if (!root) return;
      nn::Evaluation ev = m.evaluate(d.x_test, d.y_test, o->batch_size, o->verbose);
      const double total = std::accumulate(h.epoch_seconds.begin(), h.epoch_seconds.end(), 0.0);
      std::printf("test loss: %.4f - test accuracy: %.4f - %.2f s/epoch over %zu epoch(s)\n", ev.loss, ev.accuracy,
                  h.epoch_seconds.empty() ? 0.0 : total / double(h.epoch_seconds.size()), h.epoch_seconds.size());
      if (comm && h.steps)
        std::printf("per step: compute %.3f ms, allreduce %.3f ms (%.0f%% of it during the backward pass, in a window of "
                    "%.3f ms), waiting %.3f ms\n",
                    1e3 * h.compute_seconds / double(h.steps), 1e3 * h.allreduce_seconds / double(h.steps),
                    h.allreduce_seconds > 0 ? 100.0 * h.allreduce_hidden_seconds / h.allreduce_seconds : 0.0,
                    1e3 * h.overlap_window_seconds / double(h.steps), 1e3 * h.wait_seconds / double(h.steps));
      if (!o->checkpoint.empty() || !o->resume.empty())
        std::printf("checkpoints: %.3f s in all (%.2f%% of the training time)\n", h.checkpoint_seconds,
                    total > 0 ? 100.0 * h.checkpoint_seconds / total : 0.0);
      if (!o->save.empty()) {
        nn::save_model(m, o->save);
        std::printf("saved %s\n", o->save.c_str());
      }
    } catch (const std::exception& e) {
      if (!comm) throw;
      // The other ranks may be inside a collective: end the job rather than hang. A moment
      // first, so that ranks that met the same error print it too.
      std::fprintf(stderr, "error: rank %d: %s\n", comm->rank(), e.what());
      std::fflush(stderr);
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
#ifdef FOURIERCONV_HAVE_MPI
      static_cast<nn::MpiCommunicator*>(comm.get())->abort("", 1);
#endif
    }
  });
}

}  // namespace fourierconv::cli
