// Data-parallel fit in one process: ranks as threads over an in-memory Communicator, so the
// gradient buckets, micro-batches, metric sums and BatchNormalization's statistics are checked
// without MPI, and under the sanitizers (ThreadSanitizer too). The MPI side, through the tool
// under mpirun, is tests/nn/test_distributed.cpp.
#include <gtest/gtest.h>

#include <barrier>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "fourierconv/error.hpp"
#include "fourierconv/nn.hpp"
#include "reference.hpp"

using namespace fourierconv;
using namespace fourierconv::nn;

namespace {

// R ranks as threads. Every collective is synchronous: each rank publishes its buffer, the last
// to arrive computes the result (sums in rank order), and all copy it out.
class Group {
 public:
  explicit Group(int ranks) : ranks_(ranks), slots_(static_cast<std::size_t>(ranks)), arrive_(ranks) {}
  int ranks() const { return ranks_; }
  // The collective: `f` runs once, on the last rank to arrive, over every rank's slot.
  template <class F>
  void collective(int rank, void* slot, F f) {
    slots_[std::size_t(rank)] = slot;
    arrive_.arrive_and_wait();
    {
      std::lock_guard lk(mu_);
      if (++count_ == ranks_) {
        f(slots_);
        count_ = 0;
      }
    }
    // A second meeting: nobody leaves (and reuses its slot) before the result is written.
    arrive_.arrive_and_wait();
  }

 private:
  int ranks_;
  std::vector<void*> slots_;
  std::barrier<> arrive_;
  std::mutex mu_;
  int count_ = 0;
};

class ThreadCommunicator : public Communicator {
 public:
  ThreadCommunicator(Group& g, int rank) : g_(g), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return g_.ranks(); }
  Request start_allreduce_sum(double* data, std::size_t n) override {
    struct Buf {
      double* p;
      std::size_t n;
    } mine{data, n};
    std::vector<double> sum;
    g_.collective(rank_, &mine, [&](std::vector<void*>& all) {
      sum.assign(n, 0.0);
      for (void* s : all) {  // rank order
        auto* b = static_cast<Buf*>(s);
        if (b->n != n) throw std::logic_error("allreduce sizes differ across ranks");
        for (std::size_t i = 0; i < n; ++i) sum[i] += b->p[i];
      }
      for (void* s : all) std::memcpy(static_cast<Buf*>(s)->p, sum.data(), n * sizeof(double));
    });
    return ++requests_;
  }
  void wait(Request) override {}
  void broadcast(void* data, std::size_t bytes, int root) override {
    g_.collective(rank_, data, [&](std::vector<void*>& all) {
      for (std::size_t r = 0; r < all.size(); ++r)
        if (int(r) != root) std::memcpy(all[r], all[std::size_t(root)], bytes);
    });
  }
  std::vector<std::string> allgather(const std::string& mine) override {
    std::vector<std::string> out;
    struct Buf {
      const std::string* in;
      std::vector<std::string>* out;
    } b{&mine, &out};
    g_.collective(rank_, &b, [&](std::vector<void*>& all) {
      std::vector<std::string> v;
      for (void* s : all) v.push_back(*static_cast<Buf*>(s)->in);
      for (void* s : all) *static_cast<Buf*>(s)->out = v;
    });
    return out;
  }
  std::vector<Interval> take_intervals() override { return {}; }

 private:
  Group& g_;
  int rank_;
  Request requests_ = 0;
};

Sequential make_model(bool batchnorm) {
  clear_session();
  set_random_seed(21);
  Sequential m;
  m.add(Conv2D(3, {3, 3}, {.use_bias = !batchnorm, .input_shape = {10, 10, 1}}));
  if (batchnorm) m.add(BatchNormalization());
  m.add(ActivationLayer("relu"));
  m.add(Flatten());
  m.add(Dense(8, {.activation = "relu"}));
  m.add(Dense(4, {.activation = "softmax"}));
  m.compile("adam", "sparse_categorical_crossentropy");
  return m;
}

std::vector<float> all_weights(const Model& m) {
  std::vector<float> v;
  for (auto& l : m.layers())
    for (const Weight* w : std::as_const(*l).weights()) v.insert(v.end(), w->value.begin(), w->value.end());
  return v;
}

struct Ranks {
  std::vector<std::vector<float>> weights;  // per rank
  std::vector<History> history;
};

// Trains `ranks` copies of the model, one per thread, on the same data.
Ranks train(int ranks, FitArgs a, bool batchnorm, const Tensor& x, const Tensor& y) {
  std::vector<Sequential> models;
  for (int r = 0; r < ranks; ++r) models.push_back(make_model(batchnorm));  // built in turn: one global generator
  Group g(ranks);
  Ranks run;
  run.weights.resize(std::size_t(ranks));
  run.history.resize(std::size_t(ranks));
  std::vector<std::string> errors(static_cast<std::size_t>(ranks));
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r)
    threads.emplace_back([&, r] {
      ThreadCommunicator comm(g, r);
      FitArgs mine = a;
      mine.communicator = &comm;
      try {
        run.history[std::size_t(r)] = models[std::size_t(r)].fit(x, y, mine);
      } catch (const std::exception& e) {
        errors[std::size_t(r)] = e.what();
      }
      run.weights[std::size_t(r)] = all_weights(models[std::size_t(r)]);
    });
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (!e.empty()) throw Error(e);
  return run;
}

struct Data {
  Tensor x = fctest::random_tensor({150, 10, 10, 1}, 31), y{Shape{150}};
  Data() {
    for (std::size_t i = 0; i < 150; ++i) y[i] = float((i * 5 + i / 7) % 4);
  }
};

TEST(DataParallel, OneTwoAndFourRanksGiveTheSameWeightsWithMicroBatches) {
  Data d;
  for (bool bn : {false, true}) {
    FitArgs a{.batch_size = 16, .epochs = 2, .validation_split = 0.2, .verbose = 0, .seed = 4};
    a.micro_batches = 4;
    const Ranks one = train(1, a, bn, d.x, d.y);
    a.batch_size = 8;
    const Ranks two = train(2, a, bn, d.x, d.y);
    a.batch_size = 4;
    const Ranks four = train(4, a, bn, d.x, d.y);
    EXPECT_NE(one.weights[0], all_weights(make_model(bn))) << "it trained";
    for (auto& w : two.weights) EXPECT_EQ(w, one.weights[0]) << "2 ranks, batchnorm " << bn;
    for (auto& w : four.weights) EXPECT_EQ(w, one.weights[0]) << "4 ranks, batchnorm " << bn;
    // The reduced loss, accuracy and validation figures: every rank reports the global ones (the
    // validation loss is summed per batch of each rank's slice in float: to rounding).
    for (auto& h : four.history) {
      EXPECT_EQ(h.history.at("loss"), one.history[0].history.at("loss"));
      EXPECT_EQ(h.history.at("accuracy"), one.history[0].history.at("accuracy"));
      EXPECT_NEAR(h.history.at("val_loss")[1], one.history[0].history.at("val_loss")[1], 1e-6);
      EXPECT_EQ(h.history.at("val_accuracy"), one.history[0].history.at("val_accuracy"));
    }
  }
}

TEST(DataParallel, TwoRanksTakeTheStepOfTheirGlobalBatch) {
  // Without micro-batches: 2 ranks of batch 8 against 1 process of batch 16, the plain step (the
  // float sums inside the layers differ in rounding only). 120 training samples: 7.5 global
  // batches, the last one split 4 + 4 between the ranks.
  Data d;
  FitArgs a{.batch_size = 16, .epochs = 1, .validation_split = 0.2, .verbose = 0, .seed = 4};
  Sequential plain = make_model(false);
  History hp = plain.fit(d.x, d.y, a);
  a.batch_size = 8;
  const Ranks two = train(2, a, false, d.x, d.y);
  const auto want = all_weights(plain);
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(two.weights[0][i], want[i], 2e-5) << i;
  EXPECT_EQ(two.weights[0], two.weights[1]) << "the ranks hold the same model";
  EXPECT_NEAR(two.history[1].history.at("loss")[0], hp.history.at("loss")[0], 1e-5);
}

TEST(DataParallel, SmallBucketsAndRanksWithoutSamplesInTheLastBatch) {
  // 1-byte buckets (one layer each) and a last global batch of 2 samples on 4 ranks: two ranks
  // have nothing to train on there and still take part in every allreduce.
  Data d;
  Tensor x({98, 10, 10, 1}), y({98});
  std::copy(d.x.begin(), d.x.begin() + long(x.size()), x.begin());
  std::copy(d.y.begin(), d.y.begin() + 98, y.begin());
  FitArgs a{.batch_size = 24, .epochs = 1, .verbose = 0, .seed = 4};
  a.micro_batches = 4;
  a.bucket_bytes = 1;
  const Ranks one = train(1, a, true, x, y);
  a.batch_size = 6;
  const Ranks four = train(4, a, true, x, y);
  for (auto& w : four.weights) EXPECT_EQ(w, one.weights[0]);
}

TEST(DataParallel, RanksThatDisagreeAllFailNamingTheSetting) {
  Data d;
  std::vector<Sequential> models;
  for (int r = 0; r < 2; ++r) models.push_back(make_model(false));
  Group g(2);
  std::vector<std::string> errors(2);
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r)
    threads.emplace_back([&, r] {
      ThreadCommunicator comm(g, r);
      FitArgs a{.batch_size = 8, .epochs = 1, .verbose = 0, .seed = std::uint64_t(r == 0 ? 4 : 5)};
      a.communicator = &comm;
      try {
        models[std::size_t(r)].fit(d.x, d.y, a);
      } catch (const Error& e) {
        errors[std::size_t(r)] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  for (auto& e : errors) EXPECT_NE(e.find("rank 0 has seed=4, rank 1 has seed=5"), std::string::npos) << e;
}

}  // namespace
