// Model::fit: Keras's training loop, with checkpoints and exact resume (nn/checkpoint.hpp)
// and data-parallel training over a Communicator (FitArgs::communicator).
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "fourierconv/error.hpp"
#include "fourierconv/nn/checkpoint.hpp"
#include "fourierconv/nn/initializers.hpp"
#include "fourierconv/nn/layers/normalization.hpp"
#include "fourierconv/nn/model.hpp"
#include "fourierconv/nn/progress.hpp"
#include "nn/batching.hpp"
#include "nn/gradient_reducer.hpp"
#include "nn/keras_archive.hpp"

namespace fourierconv::nn {
namespace {

using keras_io::json;

double now_seconds() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

std::string rng_text(const std::mt19937_64& g) {
  std::ostringstream s;
  s << g;
  return s.str();
}

void set_rng(std::mt19937_64& g, const std::string& text, const std::string& what) {
  std::istringstream s(text);
  std::mt19937_64 r;
  s >> r;
  if (s.fail()) throw Error("fit: the checkpoint's state of " + what + " is damaged");
  g = r;
}

// The layers' generators on this rank, by layer name.
std::map<std::string, std::string> layer_rngs(const Model& m) {
  std::map<std::string, std::string> out;
  for (std::size_t i = 0; i < m.layers().size(); ++i)
    if (auto* g = m.layers()[i]->random_generator()) out[std::to_string(i)] = rng_text(*g);
  return out;
}

// Every rank's settings must be rank 0's: "key=value" lines compared in order.
void check_same_settings(Communicator& comm, const std::string& model_name, const std::vector<std::pair<std::string, std::string>>& mine) {
  std::string text;
  for (auto& [k, v] : mine) text += k + "=" + v + "\n";
  const auto all = comm.allgather(text);
  for (int r = 1; r < comm.size(); ++r) {
    if (all[std::size_t(r)] == all[0]) continue;
    std::istringstream a(all[0]), b(all[std::size_t(r)]);
    std::string la, lb;
    while (std::getline(a, la) && std::getline(b, lb))
      if (la != lb) break;
    throw Error(model_name + ".fit: the ranks disagree: rank 0 has " + la + ", rank " + std::to_string(r) + " has " + lb +
                " (every rank must run with the same options and data)");
  }
}

// FNV-1a over 8-byte words (then the last bytes), from h: digests to compare across ranks.
std::uint64_t fnv1a(std::uint64_t h, const void* data, std::size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::size_t i = 0;
  for (; i + 8 <= bytes; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 1099511628211ull;
  }
  for (; i < bytes; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}
constexpr std::uint64_t kFnvStart = 1469598103934665603ull;

std::string hex(std::uint64_t h) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h));
  return text;
}

// A digest of the data's bytes.
std::string digest(const std::vector<const Tensor*>& xs, const Tensor& y) {
  std::uint64_t h = kFnvStart;
  for (const Tensor* x : xs) h = fnv1a(h, x->data(), x->size() * sizeof(float));
  return hex(fnv1a(h, y.data(), y.size() * sizeof(float)));
}

// The architecture (nn/keras_archive.hpp) as a digest; the parameter count for a model that
// has no config (a FourierConv2D built from a C++ callable).
std::string architecture_digest(const Model& m) {
  std::string text;
  try {
    text = keras_io::architecture(m).dump();
  } catch (const Error&) {
    return "unserializable, " + std::to_string(m.count_params()) + " parameters";
  }
  return hex(fnv1a(kFnvStart, text.data(), text.size())) + " (" + std::to_string(m.count_params()) + " parameters)";
}

// The checkpoint folder, created and locked for the run (flock on DIR/checkpoint.lock, released
// when the process ends however it ends): a second run writing the same folder fails at its
// start instead of overwriting the first's checkpoints.
class FolderLock {
 public:
  FolderLock() = default;
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;
  ~FolderLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  // Empty on success, else why not.
  std::string take(const std::string& dir, bool create) {
    std::error_code ec;
    if (create) std::filesystem::create_directories(dir, ec);
    if (ec || (create && !std::filesystem::is_directory(dir)))
      return "cannot create the checkpoint folder '" + dir + "': " + (ec ? ec.message() : "a file of that name exists");
    if (!std::filesystem::is_directory(dir, ec)) return "";  // resuming from nothing: load_checkpoint says so
    const std::string path = (std::filesystem::path(dir) / "checkpoint.lock").string();
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return "cannot write in the checkpoint folder '" + dir + "': " + std::strerror(errno);
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK)
        return "the checkpoint folder '" + dir + "' is in use by another training run (" + path + " is locked)";
      // A file system without flock (NFS without lockd, some FUSE mounts): no lock, no error.
    }
    return "";
  }

 private:
  int fd_ = -1;
};

std::string num(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

}  // namespace

std::vector<Layer*> Model::layers_in_backward_order() const {
  // A layer is finished at its first node in training order, which backward meets last.
  const std::vector<std::size_t> run = run_order();
  std::vector<Layer*> first_met;  // the layers by their first node in training order
  for (std::size_t i : run)
    if (Layer* L = nodes_[i].layer; L && std::find(first_met.begin(), first_met.end(), L) == first_met.end()) first_met.push_back(L);
  return {first_met.rbegin(), first_met.rend()};
}

History Model::fit(const Tensor& x, const Tensor& y, FitArgs a) { return fit(std::vector<const Tensor*>{&x}, y, a); }

History Model::fit(const std::vector<const Tensor*>& xs, const Tensor& y, FitArgs a) {
  if (!optimizer_) throw Error(name_ + ".fit: the model is not compiled: call compile(optimizer, loss) first");
  check_xy(xs, y, "fit");
  if (a.batch_size == 0) throw Error(name_ + ".fit: batch_size must be >= 1");
  if (!(a.validation_split >= 0 && a.validation_split < 1))
    throw Error(name_ + ".fit: validation_split must be in [0, 1), got " + std::to_string(a.validation_split));
  if ((a.resume || a.checkpoint_every) && a.checkpoint_dir.empty())
    throw Error(name_ + ".fit: " + (a.resume ? "resume" : "checkpoint_every") + " needs checkpoint_dir");
  Communicator* comm = a.communicator && a.communicator->size() > 1 ? a.communicator : nullptr;
  const std::size_t R = comm ? std::size_t(comm->size()) : 1, rank = comm ? std::size_t(comm->rank()) : 0;
  const int verbose = rank != 0 ? 0 : a.verbose < 0 ? auto_verbose() : a.verbose;
  const std::size_t N = xs[0]->dim(0);
  std::size_t n_train = N;
  std::vector<Tensor> vxs;
  std::vector<const Tensor*> val_x;
  Tensor vy;
  const Tensor* val_y = nullptr;
  if (a.validation_x || a.validation_y) {
    if (!a.validation_x || !a.validation_y) throw Error(name_ + ".fit: validation_x and validation_y go together");
    if (xs.size() != 1) throw Error(name_ + ".fit: validation_x is for models of one input; use validation_split");
    check_xy({a.validation_x}, *a.validation_y, "fit (validation data)");
    val_x = {a.validation_x};
    val_y = a.validation_y;
  } else if (a.validation_split > 0) {
    n_train = std::size_t(std::floor(double(N) * (1.0 - a.validation_split)));
    if (n_train == 0 || n_train == N)
      throw Error(name_ + ".fit: validation_split " + std::to_string(a.validation_split) + " leaves an empty training or validation set of " + std::to_string(N) + " samples");
    auto idx = iota(N - n_train, n_train);
    gather_all(xs, idx, 0, idx.size(), vxs, val_x);
    gather_rows(y, idx, 0, idx.size(), vy);
    val_y = &vy;
  }
  const std::size_t G = a.batch_size * R;  // the global batch
  const std::size_t M = a.micro_batches ? a.micro_batches : R, per_rank = M / R;
  if (M % R != 0)
    throw Error(name_ + ".fit: micro_batches (" + std::to_string(M) + ") must be a multiple of the number of ranks (" + std::to_string(R) + ")");
  if (M > G) throw Error(name_ + ".fit: micro_batches (" + std::to_string(M) + ") must be at most the global batch size (" + std::to_string(G) + ")");
  if (comm) {
    std::vector<std::pair<std::string, std::string>> settings = {
        {"batch_size", std::to_string(a.batch_size)}, {"epochs", std::to_string(a.epochs)},
        {"samples", std::to_string(N)}, {"data", digest(xs, y)}, {"validation_samples", std::to_string(val_y ? val_y->dim(0) : 0)},
        {"validation_split", num(a.validation_split)}, {"shuffle", std::to_string(a.shuffle)},
        {"seed", std::to_string(a.seed)}, {"model", architecture_digest(*this)},
        {"optimizer", optimizer_->name() + " " + num(optimizer_->learning_rate())},
        {"checkpoint_dir", a.checkpoint_dir}, {"checkpoint_every", std::to_string(a.checkpoint_every)},
        {"resume", std::to_string(a.resume)}, {"bucket_bytes", std::to_string(a.bucket_bytes)},
        {"micro_batches", std::to_string(a.micro_batches)}};
    check_same_settings(*comm, name_, settings);
    const std::size_t batches = (n_train + a.batch_size - 1) / a.batch_size;
    if (batches < R)
      throw Error(name_ + ".fit: " + std::to_string(n_train) + " training samples fill " + std::to_string(batches) + " batch" +
                  (batches == 1 ? "" : "es") + " of the per-rank batch size " + std::to_string(a.batch_size) + ", fewer than the " +
                  std::to_string(R) + " ranks: each rank needs at least one (use fewer ranks or a smaller batch size)");
  }
  const bool show_acc = !metrics_.empty();
  const std::string acc_name = show_acc ? metrics_[0] : "accuracy";
  const std::size_t steps = (n_train + G - 1) / G;

  // Where the run starts: from scratch, or from the checkpoint.
  TrainingState st;
  st.global_batch = G;
  st.samples = n_train;
  st.validation_split = a.validation_split;
  st.shuffle = a.shuffle;
  st.seed = a.seed;
  std::mt19937_64 rng(a.seed);
  std::vector<std::size_t> order = iota(n_train);
  std::size_t first_epoch = 0, first_step = 0;
  History hist;
  bool mid_epoch = false;
  st.micro_batches = M;
  FolderLock lock;
  if (!a.checkpoint_dir.empty()) {
    std::string failure = rank == 0 ? lock.take(a.checkpoint_dir, !a.resume) : "";
    if (failure.empty() && rank == 0 && !a.resume && has_checkpoint(a.checkpoint_dir))
      failure = "'" + a.checkpoint_dir + "' already holds the checkpoint of a run: resume it (resume = true, --resume), or remove it to start over";
    if (comm) failure = comm->allgather(failure)[0];
    if (!failure.empty()) throw Error(name_ + ".fit: " + failure);
  }
  if (a.resume) {
    const TrainingState expected = st;
    std::string failure;
    try {
      st = load_checkpoint(*this, a.checkpoint_dir, &expected);  // every state below is checked there
    } catch (const Error& e) {
      failure = e.what();
    }
    if (comm)  // every rank learns of a failure on any (one that cannot see the folder, say)
      for (const std::string& f : comm->allgather(failure))
        if (!f.empty() && failure.empty()) failure = f;
    if (!failure.empty()) throw Error(failure);
    set_rng(rng, st.shuffle_rng, "the shuffle");
    set_rng(global_rng(), st.global_rng, "the global generator");
    // This rank's generators (a run resumed on more ranks than wrote it reuses rank r mod R's).
    const auto& mine = st.layer_rngs[rank % st.layer_rngs.size()];
    for (std::size_t i = 0; i < layers_.size(); ++i)
      if (auto* g = layers_[i]->random_generator()) set_rng(*g, mine.at(std::to_string(i)), layers_[i]->name() + "'s generator");
    order = st.order;
    first_epoch = st.epoch;
    first_step = st.step;
    mid_epoch = st.step > 0;
    hist.history = st.history;
    if (first_epoch >= a.epochs && verbose)
      std::printf("%s.fit: the checkpoint in '%s' has finished %zu epoch%s of %zu asked for: nothing left to train\n", name_.c_str(),
                  a.checkpoint_dir.c_str(), first_epoch, first_epoch == 1 ? "" : "s", a.epochs);
  }
  st.seed = a.seed;
  st.epochs = a.epochs;

  std::unique_ptr<GradientReducer> reducer;
  if (comm) {
    // Rank 0's weights everywhere (Horovod's broadcast_parameters): equal starts stay equal.
    for (auto& l : layers_)
      for (Weight* w : l->weights()) comm->broadcast(w->value.data(), w->value.size() * sizeof(float), 0);
    comm->take_intervals();
  }
  if (comm || M > 1) reducer = std::make_unique<GradientReducer>(comm, layers_in_backward_order(), a.bucket_bytes, 3);
  // BatchNormalization's moving statistics: each micro-batch updates them from the step's
  // starting values, and the step ends with the average of those updates weighted by the
  // micro-batches' shares, summed over the ranks like the gradients. So every rank holds the
  // same statistics, and they do not depend on the number of ranks.
  std::vector<Weight*> moving;
  if (reducer)
    for (auto& l : layers_)
      if (l->trainable() && dynamic_cast<BatchNormalization*>(l.get()))
        for (Weight* w : l->weights())
          if (!l->weight_trainable(*w)) moving.push_back(w);
  std::vector<float> moving_start;
  std::vector<double> moving_sum;
  auto moving_restore = [&] {
    std::size_t k = 0;
    for (Weight* w : moving)
      for (float& v : w->value) v = moving_start[k++];
  };
  auto moving_add = [&](double share) {
    std::size_t k = 0;
    for (Weight* w : moving)
      for (float v : w->value) moving_sum[k++] += double(v) * share;
  };

  auto write_checkpoint = [&] {
    const double t0 = now_seconds();
    st.shuffle_rng = rng_text(rng);
    st.global_rng = rng_text(global_rng());
    st.order = order;
    st.history = hist.history;
    st.layer_rngs.clear();
    if (comm) {
      for (auto& text : comm->allgather(json(layer_rngs(*this)).dump()))
        st.layer_rngs.push_back(json::parse(text).get<std::map<std::string, std::string>>());
    } else {
      st.layer_rngs.push_back(layer_rngs(*this));
    }
    std::string failure;
    if (rank == 0) {
      try {
        save_checkpoint(*this, st, a.checkpoint_dir);
      } catch (const Error& e) {
        failure = e.what();
      }
    }
    if (comm) failure = comm->allgather(failure)[0];  // rank 0's outcome, on every rank
    if (!failure.empty()) throw Error(name_ + ".fit: " + failure);
    hist.checkpoint_seconds += now_seconds() - t0;
  };

  std::vector<Tensor> bxs;
  std::vector<const Tensor*> bx;
  Tensor by;
  std::size_t global_step = first_epoch * steps + first_step;
  for (std::size_t epoch = first_epoch; epoch < a.epochs; ++epoch) {
    if (verbose && a.epochs > 1) std::printf("Epoch %zu/%zu\n", epoch + 1, a.epochs);
    if (!mid_epoch) {
      if (a.shuffle) std::shuffle(order.begin(), order.end(), rng);
      st.loss_sum = 0;
      st.seen = st.correct = 0;
    }
    ProgressBar bar(steps, verbose);
    const auto t0 = std::chrono::steady_clock::now();
    Logs logs;
    for (std::size_t s = mid_epoch ? first_step : 0; s < steps; ++s) {
      const std::size_t from = s * G, to = std::min(n_train, from + G), n = to - from;
      const double c0 = now_seconds();
      double loss_sum = 0, correct = 0;
      if (!reducer) {
        gather_all(xs, order, from, to, bxs, bx);
        gather_rows(y, order, from, to, by);
        std::size_t c = 0;
        loss_sum = forward_backward(bx, by, &c) * double(n);
        correct = double(c);
        apply_update();
        hist.compute_seconds += now_seconds() - c0;
      } else {
        // This rank's micro-batches, in order; the last one's backward pass starts the buckets.
        if (comm) comm->take_intervals();  // the collectives since the last step are not this step's buckets
        reducer->begin();
        moving_start.clear();
        for (Weight* w : moving) moving_start.insert(moving_start.end(), w->value.begin(), w->value.end());
        moving_sum.assign(moving_start.size(), 0.0);
        double* stats = reducer->stats();
        for (std::size_t j = rank * per_rank; j < (rank + 1) * per_rank; ++j) {
          const std::size_t lo = from + n * j / M, hi = from + n * (j + 1) / M;
          const bool last = j + 1 == (rank + 1) * per_rank;
          if (hi == lo) {
            if (last) reducer->last_pass(0.0);
            continue;
          }
          gather_all(xs, order, lo, hi, bxs, bx);
          gather_rows(y, order, lo, hi, by);
          const double share = double(hi - lo) / double(n);
          std::size_t c = 0;
          bool stats_in = false;
          auto add_stats = [&] {  // the loss and metrics are known once backward runs
            stats[0] += last_loss_ * double(hi - lo);
            stats[1] += double(c);
            stats[2] += double(hi - lo);
            stats_in = true;
          };
          if (last) reducer->last_pass(share);
          moving_restore();
          forward_backward(bx, by, &c, [&](Layer& L) {
            if (!last) return;
            if (!stats_in) add_stats();
            reducer->layer_ready(L);
          });
          if (!stats_in) add_stats();
          if (!last) reducer->accumulate(share);
          moving_add(share);
        }
        const double b_end = now_seconds();
        double sums[3];
        reducer->finish(sums);
        const double w_end = now_seconds();
        if (comm) {
          auto ivs = comm->take_intervals();
          ivs.resize(std::min(ivs.size(), reducer->buckets()));  // the gradient buckets alone
          if (!ivs.empty()) hist.overlap_window_seconds += std::max(0.0, b_end - ivs[0].start);
          for (auto& iv : ivs) {
            hist.allreduce_seconds += iv.end - iv.start;
            hist.allreduce_hidden_seconds += std::max(0.0, std::min(iv.end, b_end) - iv.start);
          }
        }
        if (!moving.empty()) {
          if (comm) comm->allreduce_sum(moving_sum.data(), moving_sum.size());
          std::size_t k = 0;
          for (Weight* w : moving)
            for (float& v : w->value) v = float(moving_sum[k++]);
        }
        apply_update();
        hist.wait_seconds += w_end - b_end;
        hist.compute_seconds += (b_end - c0) + (now_seconds() - w_end);
        loss_sum = sums[0];
        correct = sums[1];
      }
      ++hist.steps;
      const double l = loss_sum / double(n);
      if (!std::isfinite(l))
        throw Error(name_ + ".fit: the loss became " + (std::isnan(l) ? std::string("NaN") : std::string("Inf")) + " at epoch " +
                    std::to_string(epoch + 1) + ", step " + std::to_string(s + 1) + "; lower the learning rate or check the data");
      st.loss_sum += loss_sum;
      st.seen += n;
      st.correct += std::size_t(correct);
      logs.clear();
      if (show_acc) logs.push_back({acc_name, double(st.correct) / double(st.seen)});
      logs.push_back({"loss", st.loss_sum / double(st.seen)});
      if (s + 1 < steps) bar.update(s + 1, logs);
      ++global_step;
      if (a.checkpoint_every && global_step % a.checkpoint_every == 0 && s + 1 < steps) {
        st.epoch = epoch;
        st.step = s + 1;
        write_checkpoint();
      }
    }
    mid_epoch = false;
    hist.history["loss"].push_back(st.loss_sum / double(st.seen));
    if (show_acc) hist.history[acc_name].push_back(double(st.correct) / double(st.seen));
    if (val_y) {
      const std::size_t nv = val_y->dim(0), vlo = nv * rank / R, vhi = nv * (rank + 1) / R;
      auto [vloss, vcorrect] = vhi > vlo ? evaluate_sums(val_x, *val_y, vlo, vhi, a.batch_size, 0) : std::pair<double, std::size_t>{0, 0};
      double sums[2] = {vloss, double(vcorrect)};
      if (comm) comm->allreduce_sum(sums, 2);
      const double acc = sums[1] / double(nv), vl = sums[0] / double(nv);
      if (show_acc) logs.push_back({"val_" + acc_name, acc});
      logs.push_back({"val_loss", vl});
      if (show_acc) hist.history["val_" + acc_name].push_back(acc);
      hist.history["val_loss"].push_back(vl);
    }
    bar.update(steps, logs, true);
    hist.epoch_seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (!a.checkpoint_dir.empty()) {  // at each epoch's end, whatever checkpoint_every
      st.epoch = epoch + 1;
      st.step = 0;
      st.loss_sum = 0;
      st.seen = st.correct = 0;
      write_checkpoint();
    }
  }
  return hist;
}

}  // namespace fourierconv::nn
