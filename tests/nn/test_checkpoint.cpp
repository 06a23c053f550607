// Training checkpoints (nn/checkpoint.hpp) and exact resume through fit (FitArgs), one
// process: a run stopped after any checkpoint and resumed ends with the uninterrupted run's
// weights, bit for bit; a checkpoint being written when the process dies never replaces the
// previous good one; wrong checkpoints are refused by name. Micro-batches (FitArgs) are
// checked against the plain step. The MPI side is tests/nn/test_distributed.cpp.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <filesystem>
#include <fstream>
#include <thread>

#include "fourierconv/error.hpp"
#include "fourierconv/nn.hpp"
#include "fourierconv/nn/checkpoint.hpp"
#include "keras_check.hpp"
#include "nn/keras_archive.hpp"
#include "reference.hpp"

using namespace fourierconv;
using namespace fourierconv::nn;
namespace fs = std::filesystem;

namespace {

std::vector<float> all_weights(const Model& m) {
  std::vector<float> v;
  for (auto& l : m.layers())
    for (const Weight* w : std::as_const(*l).weights()) v.insert(v.end(), w->value.begin(), w->value.end());
  return v;
}

// A small model with a generator of its own (Dropout) and an optimizer with state.
Sequential make_net(const std::string& optimizer = "adam") {
  clear_session();
  set_random_seed(5);
  Sequential m;
  m.add(Conv2D(3, {3, 3}, {.activation = "relu", .input_shape = {8, 8, 1}}));
  m.add(Dropout(0.25));
  m.add(Flatten());
  m.add(Dense(4, {.activation = "softmax"}));
  m.compile(optimizer, "sparse_categorical_crossentropy");
  return m;
}

struct Data {
  Tensor x = fctest::random_tensor({90, 8, 8, 1}, 3), y{Shape{90}};
  Data() {
    for (std::size_t i = 0; i < 90; ++i) y[i] = float((i * 7) % 4);
  }
};

fs::path fresh_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("fourierconv_ckpt_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}

FitArgs args(std::size_t epochs) { return {.batch_size = 8, .epochs = epochs, .validation_split = 0.1, .verbose = 0, .seed = 9}; }

// The same, checkpointing into dir.
FitArgs args(std::size_t epochs, const fs::path& dir, std::size_t every = 0) {
  FitArgs a = args(epochs);
  a.checkpoint_dir = dir.string();
  a.checkpoint_every = every;
  return a;
}

TEST(Checkpoint, ResumeMidEpochAndAtEpochEndsGivesTheUninterruptedWeightsExactly) {
  Data d;
  Sequential full = make_net();
  History hf = full.fit(d.x, d.y, args(3));
  const auto want = all_weights(full);
  // 81 training samples: 11 steps per epoch; checkpoints every 4 steps land mid-epoch.
  for (std::size_t stop_epochs : {1u, 2u}) {
    for (std::size_t every : {0u, 4u}) {
      const fs::path dir = fresh_dir("resume");
      Sequential a = make_net();
      a.fit(d.x, d.y, args(stop_epochs, dir, every));  // "dies" after its last checkpoint
      ASSERT_TRUE(has_checkpoint(dir.string()));
      Sequential b = make_net();  // a fresh model: the checkpoint brings weights and generators
      FitArgs fb = args(3, dir, every);
      fb.resume = true;
      History hb = b.fit(d.x, d.y, fb);
      EXPECT_EQ(all_weights(b), want) << "stopped after " << stop_epochs << " epoch(s), every " << every;
      EXPECT_EQ(hb.history.at("loss"), hf.history.at("loss")) << "the history continues too";
      EXPECT_EQ(hb.history.at("val_loss"), hf.history.at("val_loss"));
      EXPECT_EQ(b.optimizer()->iterations(), full.optimizer()->iterations());
      fs::remove_all(dir);
    }
  }
}

TEST(Checkpoint, ResumingAFinishedRunChangesNothing) {
  Data d;
  const fs::path dir = fresh_dir("finished");
  Sequential a = make_net();
  FitArgs fa = args(2, dir);
  a.fit(d.x, d.y, fa);
  Sequential b = make_net();
  fa.resume = true;
  b.fit(d.x, d.y, fa);
  EXPECT_EQ(all_weights(b), all_weights(a));
  fs::remove_all(dir);
}

TEST(Checkpoint, TheFileIsAKerasArchiveWithTheOptimizerState) {
  Data d;
  const fs::path dir = fresh_dir("keras");
  Sequential a = make_net();
  a.fit(d.x, d.y, args(1, dir));
  Model m = load_model((dir / kCheckpointFile).string());  // our own loader reads it as a model
  ASSERT_TRUE(m.compiled());
  EXPECT_EQ(m.optimizer()->iterations(), a.optimizer()->iterations());
  EXPECT_EQ(all_weights(m), all_weights(a));
  // Real Keras loads it too (the extra member is ignored), with its optimizer's step count.
  const std::string log = (dir / "keras.log").string();
  const std::string cmd = fctest::keras_python() + " -c \"import sys\ntry:\n import keras\nexcept ImportError:\n sys.exit(77)\n" +
                          "m = keras.models.load_model('" + (dir / kCheckpointFile).string() +
                          "')\nprint('iterations', int(m.optimizer.iterations.numpy()))\" > " + log + " 2>&1";
  const int rc = std::system(cmd.c_str());
  const std::string out = fctest::read_text(log);
  if (WIFEXITED(rc) && (WEXITSTATUS(rc) == 77 || WEXITSTATUS(rc) == 127)) GTEST_SKIP() << "real Keras is not installed: " << out;
  EXPECT_NE(out.find("iterations " + std::to_string(a.optimizer()->iterations())), std::string::npos) << out;
  fs::remove_all(dir);
}

TEST(Checkpoint, WrongCheckpointsAreRefusedByName) {
  Data d;
  const fs::path dir = fresh_dir("wrong");
  auto expect_error = [&](Model& m, FitArgs fa, const std::string& want) {
    try {
      m.fit(d.x, d.y, fa);
      ADD_FAILURE() << "no error; expected: " << want;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    }
  };
  Sequential a = make_net();
  FitArgs fa = args(1, dir);
  fa.resume = true;
  expect_error(a, fa, "no checkpoint in");
  fa.resume = false;
  a.fit(d.x, d.y, fa);
  fa.resume = true;
  {  // another architecture
    clear_session();
    Sequential b;
    b.add(Conv2D(5, {3, 3}, {.activation = "relu", .input_shape = {8, 8, 1}}));
    b.add(Flatten());
    b.add(Dense(4, {.activation = "softmax"}));
    b.compile("adam", "sparse_categorical_crossentropy");
    expect_error(b, fa, "is a checkpoint of another model");
  }
  {  // another optimizer
    Sequential b = make_net("sgd");
    expect_error(b, fa, "was written with Adam");
  }
  {  // another batch size, validation split
    Sequential b = make_net();
    FitArgs fb = fa;
    fb.batch_size = 16;
    expect_error(b, fb, "global batch of 8");
    fb = fa;
    fb.validation_split = 0.2;
    expect_error(b, fb, "validation_split 0.1, this run has 0.2");
  }
  {  // a fresh run into a folder holding a checkpoint, and --resume given the file
    Sequential b = make_net();
    expect_error(b, args(1, dir), "already holds the checkpoint of a run");
    FitArgs fb = fa;
    fb.checkpoint_dir = (dir / kCheckpointFile).string();
    expect_error(b, fb, "is a file: give the folder");
  }
  {  // a plain .keras file where the checkpoint should be
    save_model(a, (dir / kCheckpointFile).string());
    Sequential b = make_net();
    expect_error(b, fa, "is not a fourierconv checkpoint");
  }
  {  // a damaged one
    std::FILE* f = std::fopen((dir / kCheckpointFile).c_str(), "wb");
    std::fputs("PK\x03\x04 not really", f);
    std::fclose(f);
    Sequential b = make_net();
    expect_error(b, fa, "is not a readable .keras archive");
  }
  {  // options that need a folder
    Sequential b = make_net();
    FitArgs fb = args(1);
    fb.checkpoint_every = 3;
    expect_error(b, fb, "checkpoint_every needs checkpoint_dir");
  }
  fs::remove_all(dir);
}

TEST(Checkpoint, ARefusedResumeLeavesTheModelAsItWas) {
  Data d;
  const fs::path dir = fresh_dir("refused");
  Sequential a = make_net();
  a.fit(d.x, d.y, args(1, dir, 4));
  Sequential b = make_net();
  b.fit(d.x, d.y, args(1));  // a model with a history of its own
  const auto before = all_weights(b);
  const auto iterations = b.optimizer()->iterations();
  FitArgs fb = args(2, dir);
  fb.batch_size = 16;  // another global batch: refused
  fb.resume = true;
  EXPECT_THROW(b.fit(d.x, d.y, fb), Error);
  EXPECT_EQ(all_weights(b), before);
  EXPECT_EQ(b.optimizer()->iterations(), iterations);
  fs::remove_all(dir);
}

TEST(Checkpoint, DamagedOptimizerStateLeavesTheOptimizerAsItWas) {
  Data d;
  const fs::path dir = fresh_dir("badslot");
  Sequential a = make_net();
  a.fit(d.x, d.y, args(1, dir));
  Sequential c = make_net();
  const TrainingState st = load_checkpoint(c, dir.string());
  auto slots = a.optimizer()->state(a.trainable_weights());
  (*slots[3].values)[0] = std::numeric_limits<float>::quiet_NaN();  // a damaged moment
  save_checkpoint(a, st, dir.string());
  Sequential b = make_net();
  b.fit(d.x, d.y, args(2));  // another state than the file's: 22 steps against 11
  const auto weights = all_weights(b);
  const auto iterations = b.optimizer()->iterations();
  ASSERT_NE(iterations, a.optimizer()->iterations());
  std::vector<std::vector<float>> before;
  for (auto& sl : b.optimizer()->state(b.trainable_weights())) before.push_back(*sl.values);
  FitArgs fb = args(2, dir);
  fb.resume = true;
  EXPECT_THROW(b.fit(d.x, d.y, fb), Error);
  EXPECT_EQ(all_weights(b), weights);
  EXPECT_EQ(b.optimizer()->iterations(), iterations);
  auto after = b.optimizer()->state(b.trainable_weights());
  for (std::size_t i = 0; i < after.size(); ++i) EXPECT_EQ(*after[i].values, before[i]) << "slot " << i;
  fs::remove_all(dir);
}

TEST(Checkpoint, TheFolderIsLockedForOneRunAndDeadWritersTemporariesGo) {
  Data d;
  const fs::path dir = fresh_dir("lock");
  fs::create_directories(dir);
  {
    const int fd = ::open((dir / "checkpoint.lock").c_str(), O_RDWR | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);  // another run holds the folder
    Sequential a = make_net();
    try {
      a.fit(d.x, d.y, args(1, dir));
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("is in use by another training run"), std::string::npos) << e.what();
    }
    ::close(fd);  // released: the next run may go
  }
  const pid_t dead = fork();  // a process id that no longer runs
  if (dead == 0) _exit(0);
  waitpid(dead, nullptr, 0);
  const fs::path stale = dir / (std::string(kCheckpointFile) + ".tmp-" + std::to_string(dead));
  std::ofstream(stale) << "half a checkpoint";
  Sequential a = make_net();
  a.fit(d.x, d.y, args(1, dir));
  EXPECT_TRUE(has_checkpoint(dir.string()));
  EXPECT_FALSE(fs::exists(stale)) << "a dead writer's temporary is removed";
  fs::remove_all(dir);
}

// A checkpoint whose state member was edited: each damage refused by name.
TEST(Checkpoint, ADamagedStateIsRefused) {
  Data d;
  const fs::path dir = fresh_dir("damaged");
  Sequential a = make_net();
  FitArgs fa = args(1, dir, 4);
  a.fit(d.x, d.y, fa);
  const std::string file = (dir / kCheckpointFile).string();
  auto members = keras_io::read_archive(file, {"fourierconv_checkpoint.json"});
  const auto& b = members.at("fourierconv_checkpoint.json");
  const keras_io::json good = keras_io::json::parse(b.begin(), b.end());
  auto expect_refused = [&](const std::function<void(keras_io::json&)>& damage, const std::string& want) {
    keras_io::json j = good;
    damage(j);
    keras_io::ArchiveMembers out;
    for (auto& [name, bytes] : members)
      if (name != "fourierconv_checkpoint.json") out.emplace_back(name, bytes);
    const std::string text = j.dump();
    out.emplace_back("fourierconv_checkpoint.json", std::vector<unsigned char>(text.begin(), text.end()));
    keras_io::write_archive(file, out);
    Sequential m = make_net();
    FitArgs fb = fa;
    fb.resume = true;
    fb.epochs = 2;
    try {
      m.fit(d.x, d.y, fb);
      ADD_FAILURE() << "no error; expected: " << want;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    }
  };
  expect_refused([](auto& j) { j["version"] = 1; }, "format version 1");
  expect_refused([](auto& j) { j["format"] = 1; }, "is not a fourierconv checkpoint");
  expect_refused([](auto& j) { j["model"]["config"]["layers"][1] = 1; }, "is a checkpoint of another model: layer 1 is 1 there");
  expect_refused(
      [](auto& j) {
        keras_io::json deep = 0;
        for (int i = 0; i < 1000; ++i) deep = keras_io::json::array({deep});
        j["global_batch"] = deep;
      },
      "nests deeper than 64 levels");
  expect_refused([](auto& j) { j["history"]["val_loss"] = {1.0, 2.0}; }, "the history of 'val_loss' must list at most 1 epochs");
  expect_refused([](auto& j) { j["format"] = "other"; }, "is not a fourierconv checkpoint");
  expect_refused([](auto& j) { j["order"][1] = j["order"][0]; }, "twice");
  expect_refused([](auto& j) { j["order"][0] = 100000; }, "names sample 100000");
  expect_refused([](auto& j) { j["order"].erase(0); }, "must be a list of 81 sample indices, it has 80 entries");
  expect_refused([](auto& j) { j["step"] = 99; }, "step 99 is beyond the epoch's 11 steps");
  expect_refused([](auto& j) { j["seen"] = 3; }, "running sums do not match");
  expect_refused([](auto& j) { j["step"] = "four"; }, "'step' must be an unsigned integer");
  expect_refused([](auto& j) { j["epoch"] = -1; }, "'epoch' must be an unsigned integer");
  expect_refused([](auto& j) { j["epoch"] = 1.5; }, "'epoch' must be an unsigned integer");
  expect_refused([](auto& j) { j["epoch"] = 1e30; }, "'epoch' must be an unsigned integer");
  expect_refused([](auto& j) { j["epoch"] = 50; }, "epoch 50 is beyond the run's 1");
  expect_refused([](auto& j) { j["loss_sum"] = -1e308; }, "running sums do not match");
  expect_refused([](auto& j) { j["history"]["loss"] = {1.0, 2.0}; }, "the history of 'loss' must list 1 epochs");
  expect_refused([](auto& j) { j["shuffle_rng"] = "not a generator"; }, "the shuffle's generator state is damaged");
  expect_refused([](auto& j) { j["global_rng"] = j["global_rng"].template get<std::string>() + " 7"; }, "the global generator state is damaged");
  expect_refused(
      [](auto& j) {
        std::string t = j["shuffle_rng"].template get<std::string>();
        j["shuffle_rng"] = t.substr(0, t.rfind(' ')) + " 99999";
      },
      "the shuffle's generator state is damaged");
  expect_refused([](auto& j) { j["layer_rngs"][0].erase("1"); }, "rank 0 has no generator state for layer 1 (dropout");
  expect_refused([](auto& j) { j["layer_rngs"] = keras_io::json::array(); }, "layer_rngs lists no rank");
  expect_refused([](auto& j) { j["micro_batches"] = 2; }, "micro_batches 2, this run has 1");
  expect_refused([](auto& j) { j.erase("epoch"); }, "has no 'epoch'");
  expect_refused([](auto& j) { j["global_batch"] = 0; }, "global batch size is 0");
  fs::remove_all(dir);
}

// A process killed at random moments while it writes checkpoints in a loop: each time, the
// checkpoint in the folder is whole (loads, with the weights written). Goes on until three kills
// have landed inside a write (a temporary file left behind).
TEST(Checkpoint, AProcessKilledWhileWritingLeavesTheLastGoodCheckpoint) {
  const fs::path dir = fresh_dir("kill");
  Sequential m = make_net();
  Data d;
  m.fit(d.x, d.y, args(1));
  TrainingState st;
  st.global_batch = 8;
  st.samples = 4;
  st.epochs = 1;
  st.order = {0, 1, 2, 3};
  std::ostringstream g;
  g << std::mt19937_64(3);
  st.shuffle_rng = st.global_rng = g.str();
  st.layer_rngs = {{{"1", g.str()}}};
  const auto t0 = std::chrono::steady_clock::now();
  save_checkpoint(m, st, dir.string());
  // Kill delays spread over a few writes' time (a sanitizer build writes several times slower).
  const long write_us = std::max(1000L, long(std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count()));
  int mid_write = 0;
  int round = 0;
  for (; round < 300 && mid_write < 3; ++round) {  // until three kills landed inside a write
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      for (;;) save_checkpoint(m, st, dir.string());  // until killed
    }
    std::this_thread::sleep_for(std::chrono::microseconds(write_us * (10 + round % 29) / 10));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    bool temp = false;  // the kill landed inside a write: its temporary file is left
    for (auto& e : fs::directory_iterator(dir)) {
      if (e.path().filename() == kCheckpointFile) continue;
      temp = true;
      fs::remove(e.path());
    }
    mid_write += temp;
    Sequential b = make_net();
    TrainingState got;
    ASSERT_NO_THROW(got = load_checkpoint(b, dir.string())) << "round " << round;
    EXPECT_EQ(all_weights(b), all_weights(m));
    EXPECT_EQ(got.order, st.order);
  }
  EXPECT_GT(mid_write, 0) << "no kill landed inside a write: the test proved nothing";
  std::printf("kills inside a write: %d of %d\n", mid_write, round);
  fs::remove_all(dir);
}

TEST(Checkpoint, MicroBatchesGiveTheStepOfTheWholeBatch) {
  Data d;
  auto make = [] {  // no Dropout: its masks are drawn per micro-batch
    clear_session();
    set_random_seed(5);
    Sequential m;
    m.add(Conv2D(3, {3, 3}, {.activation = "relu", .input_shape = {8, 8, 1}}));
    m.add(Flatten());
    m.add(Dense(4, {.activation = "softmax"}));
    m.compile("sgd", "sparse_categorical_crossentropy");
    return m;
  };
  FitArgs fa = args(1);
  fa.validation_split = 0;
  fa.shuffle = false;
  Sequential a = make(), b = make();
  History ha = a.fit(d.x, d.y, fa);
  fa.micro_batches = 4;  // 90 samples in batches of 8: the last batch of 2 has two empty micro-batches
  History hb = b.fit(d.x, d.y, fa);
  const auto wa = all_weights(a), wb = all_weights(b);
  ASSERT_EQ(wa.size(), wb.size());
  for (std::size_t i = 0; i < wa.size(); ++i) EXPECT_NEAR(wa[i], wb[i], 1e-5) << i;
  EXPECT_NEAR(ha.history.at("loss")[0], hb.history.at("loss")[0], 1e-6);
  EXPECT_EQ(ha.history.at("accuracy")[0], hb.history.at("accuracy")[0]);
  fa.micro_batches = 9;
  EXPECT_THROW(b.fit(d.x, d.y, fa), Error) << "more micro-batches than samples in a batch";
}

}  // namespace
