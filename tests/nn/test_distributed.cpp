// Data-parallel training under mpirun (FitArgs::communicator, nn/mpi.hpp), through the tool as
// a user runs it: `mpirun --oversubscribe -np N --mca btl self,tcp fourierconv train ...`
// (TCP on loopback), and 2 ranks in two network namespaces joined by a veth pair
// (tests/mpi/netns-run, root only). Skipped where the tool was built without MPI or there is
// no mpirun. Data: the first samples of Fashion-MNIST (the tests of the tool use it too).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cli_run.hpp"
#include "fourierconv/nn.hpp"
#include "reference.hpp"

using namespace fourierconv;
namespace fs = std::filesystem;

namespace {

const std::string kCli = FOURIERCONV_CLI;

bool have_mpi() {
#ifndef FOURIERCONV_CLI_HAS_MPI
  return false;
#else
  return std::system("mpirun --version > /dev/null 2>&1") == 0;
#endif
}

#define REQUIRE_MPI() \
  if (!have_mpi()) GTEST_SKIP() << "the tool has no MPI (libopenmpi-dev) or there is no mpirun"

// Under AddressSanitizer (make test-sanitize) the ranks' leak check is off: Open MPI leaves its
// own allocations at exit, some from components it has unloaded (no module to suppress by
// name). Our code's leaks in the data-parallel path are checked by test_data_parallel.cpp.
std::string no_mpi_leak_check() {
  const char* a = std::getenv("ASAN_OPTIONS");
  return a ? "ASAN_OPTIONS='" + std::string(a) + ":detect_leaks=0' " : "";
}

// mpirun as CI runs it: N ranks on loopback TCP, one OpenMP thread each (2 cores here).
std::string mpirun(int ranks) {
  return no_mpi_leak_check() + "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 "
         "timeout 300 mpirun --oversubscribe -np " + std::to_string(ranks) + " --mca btl self,tcp -x OMP_NUM_THREADS=1 ";
}

// Runs a shell command line; its exit status and output (stdout and stderr).
fctest::CliResult sh(const std::string& cmd) {
  std::string out;
  char buf[4096];
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  while (p && fgets(buf, sizeof buf, p)) out += buf;
  const int st = p ? pclose(p) : -1;
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

fs::path dir_for(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("fourierconv_mpi_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::vector<float> weights_of(const std::string& keras_file) {
  nn::Model m = nn::load_model(keras_file);
  std::vector<float> v;
  for (auto& l : m.layers())
    for (const nn::Weight* w : std::as_const(*l).weights()) v.insert(v.end(), w->value.begin(), w->value.end());
  return v;
}

void expect_same_weights(const std::string& a, const std::string& b, double tol, const std::string& what) {
  const auto wa = weights_of(a), wb = weights_of(b);
  ASSERT_EQ(wa.size(), wb.size()) << what;
  double worst = 0;
  for (std::size_t i = 0; i < wa.size(); ++i) worst = std::max(worst, double(std::abs(wa[i] - wb[i])));
  EXPECT_LE(worst, tol) << what;
}

std::string line_with(const std::string& out, const std::string& start) {
  const auto p = out.find(start);
  return p == std::string::npos ? "" : out.substr(p, out.find('\n', p) - p);
}

// The training options of these tests: 1,200 samples (and 1,200 test samples), one epoch.
const std::string kTrain = " train --limit 1200 --epochs 1 --verbose 2 --seed 3";

TEST(Distributed, OneTwoAndFourRanksEndTheEpochWithTheSameWeights) {
  REQUIRE_MPI();
  const fs::path d = dir_for("determinism");
  // The same global batch (64) and micro-batches (4): 64 x 1, 32 x 2, 16 x 4.
  auto r1 = sh("OMP_NUM_THREADS=1 " + kCli + kTrain + " --batch-size 64 --micro-batches 4 --save " + (d / "r1.keras").string());
  ASSERT_EQ(r1.status, 0) << r1.output;
  auto r2 = sh(mpirun(2) + kCli + kTrain + " --batch-size 32 --micro-batches 4 --save " + (d / "r2.keras").string());
  ASSERT_EQ(r2.status, 0) << r2.output;
  auto r4 = sh(mpirun(4) + kCli + kTrain + " --batch-size 16 --micro-batches 4 --save " + (d / "r4.keras").string());
  ASSERT_EQ(r4.status, 0) << r4.output;
  // The issue asks for 1e-5; the fixed summation order gives equal bits (without micro-batches
  // the plain 1-rank step differs from the 2-rank one by ~1e-7 here, which 0 would catch).
  expect_same_weights((d / "r1.keras").string(), (d / "r2.keras").string(), 0.0, "1 vs 2 ranks");
  expect_same_weights((d / "r1.keras").string(), (d / "r4.keras").string(), 0.0, "1 vs 4 ranks");
  // The reduced losses and metrics: the same epoch line, printed once (rank 0).
  const std::string epoch = line_with(r1.output, "19/19");
  EXPECT_FALSE(epoch.empty()) << r1.output;
  EXPECT_NE(r2.output.find(epoch.substr(epoch.find("accuracy"))), std::string::npos) << r2.output;
  EXPECT_EQ(line_with(r1.output, "test loss").substr(0, 40), line_with(r4.output, "test loss").substr(0, 40)) << r4.output;
  EXPECT_NE(r2.output.find("data-parallel on 2 ranks: global batch 64"), std::string::npos);
  EXPECT_NE(r2.output.find("during the backward pass"), std::string::npos) << "the overlap is measured";
  std::size_t summaries = 0;
  for (auto p = r4.output.find("Total params"); p != std::string::npos; p = r4.output.find("Total params", p + 1)) ++summaries;
  EXPECT_EQ(summaries, 1u) << "rank 0 alone prints";
  fs::remove_all(d);
}

TEST(Distributed, BatchNormalizationStatisticsAreSynchronized) {
  REQUIRE_MPI();
  const fs::path d = dir_for("bn");
  {  // a model with BatchNormalization, from a Keras file
    nn::clear_session();
    nn::set_random_seed(8);
    nn::Sequential m;
    m.add(nn::Conv2D(4, {3, 3}, {.use_bias = false, .input_shape = {28, 28, 1}}));
    m.add(nn::BatchNormalization());
    m.add(nn::ActivationLayer("relu"));
    m.add(nn::MaxPooling2D({2, 2}));
    m.add(nn::Flatten());
    m.add(nn::Dense(10, {.activation = "softmax"}));
    nn::save_model(m, (d / "bn.keras").string());
  }
  const std::string train = " train --model " + (d / "bn.keras").string() + " --limit 600 --epochs 1 --verbose 2 --micro-batches 4";
  auto r1 = sh("OMP_NUM_THREADS=1 " + kCli + train + " --batch-size 64 --save " + (d / "r1.keras").string());
  ASSERT_EQ(r1.status, 0) << r1.output;
  auto r2 = sh(mpirun(2) + kCli + train + " --batch-size 32 --save " + (d / "r2.keras").string());
  ASSERT_EQ(r2.status, 0) << r2.output;
  auto r4 = sh(mpirun(4) + kCli + train + " --batch-size 16 --save " + (d / "r4.keras").string());
  ASSERT_EQ(r4.status, 0) << r4.output;
  // Every weight, the moving mean and variance included: each micro-batch's update of them is
  // averaged over the ranks, so they match the one-process run's.
  expect_same_weights((d / "r1.keras").string(), (d / "r2.keras").string(), 0.0, "1 vs 2 ranks, with BatchNormalization");
  expect_same_weights((d / "r1.keras").string(), (d / "r4.keras").string(), 0.0, "1 vs 4 ranks, with BatchNormalization");
  nn::Model m = nn::load_model((d / "r2.keras").string());
  const nn::Weight* mean = std::as_const(*m.layers()[1]).weights()[2];
  ASSERT_EQ(mean->name, "moving_mean");
  EXPECT_NE(mean->value[0], 0.0f) << "the moving statistics moved";
  fs::remove_all(d);
}

TEST(Distributed, BadInputEndsEveryRankWithAClearErrorAndNoFile) {
  REQUIRE_MPI();
  const fs::path d = dir_for("bad");
  const std::string save = " --save " + (d / "m.keras").string();
  struct Case {
    std::string cmd, want;
  };
  const Case cases[] = {
      // options that differ between ranks (mpirun's MPMD form: one program line per rank)
      {mpirun(1) + kCli + kTrain + " --batch-size 16" + save + " : -np 1 " + kCli + kTrain + " --batch-size 8" + save,
       "rank 0 has batch_size=16, rank 1 has batch_size=8"},
      // more ranks than the data set has batches
      {mpirun(4) + kCli + " train --limit 40 --epochs 1 --batch-size 16" + save, "fill 3 batches of the per-rank batch size 16, fewer than the 4 ranks"},
      // --resume with no checkpoint
      {mpirun(2) + kCli + kTrain + " --resume " + (d / "none").string() + save, "no checkpoint in"},
  };
  for (const Case& c : cases) {
    auto r = sh(c.cmd);
    EXPECT_NE(r.status, 0) << c.cmd << "\n" << r.output;
    EXPECT_NE(r.output.find(c.want), std::string::npos) << c.cmd << "\n" << r.output;
    EXPECT_NE(r.output.find("error: rank 0"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(d / "m.keras")) << c.cmd;
  }
  // a checkpoint of another model
  auto w = sh("OMP_NUM_THREADS=1 " + kCli + " train --limit 300 --epochs 1 --verbose 0 --checkpoint " + (d / "ck").string());
  ASSERT_EQ(w.status, 0) << w.output;
  auto r = sh(mpirun(2) + kCli + " train --model seed-fourier --limit 300 --epochs 2 --resume " + (d / "ck").string() + save);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("is a checkpoint of another model"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("error: rank 1"), std::string::npos) << "every rank says why: " << r.output;
  EXPECT_FALSE(fs::exists(d / "m.keras"));
  fs::remove_all(d);
}

// The process id of rank `rank` of a job whose command line holds `marker`, or 0.
pid_t find_rank(const std::string& marker, int rank) {
  for (auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream cmdline(e.path() / "cmdline"), environ(e.path() / "environ");
    std::string cl((std::istreambuf_iterator<char>(cmdline)), {}), env((std::istreambuf_iterator<char>(environ)), {});
    if (cl.find(marker) == std::string::npos || cl.find("mpirun") != std::string::npos) continue;
    if (env.find(std::string("OMPI_COMM_WORLD_RANK=") + std::to_string(rank) + '\0') != std::string::npos) return pid_t(std::stol(name));
  }
  return 0;
}

// Starts a 2-rank training job writing checkpoints into `ck`, sends `sig` to rank 1 once a
// checkpoint exists, and waits for the job: its exit status, its output, and the seconds it
// took to end after the signal.
struct Signalled {
  int status = -1;
  std::string output;
  double seconds = 0;
};
Signalled run_and_signal(const std::string& opts, const std::string& ck, const std::string& log, int sig) {
  Signalled r;
  const pid_t job = fork();
  if (job < 0) return r;
  if (job == 0) {
    const std::string cmd = mpirun(2) + kCli + opts + " --checkpoint " + ck + " > " + log + " 2>&1";
    execl("/bin/sh", "sh", "-c", cmd.c_str(), (char*)nullptr);
    _exit(127);
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  int status = 0;
  bool ended = false;  // the job may end before its first checkpoint (a timeout under load)
  while (!fs::exists(fs::path(ck) / "checkpoint.keras") && elapsed() < 120 && !(ended = waitpid(job, &status, WNOHANG) == job))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (!ended) std::this_thread::sleep_for(std::chrono::milliseconds(150));  // mid-interval
  const pid_t victim = ended ? 0 : find_rank(ck, 1);
  if (victim > 0) kill(victim, sig);
  const auto t_sig = std::chrono::steady_clock::now();
  if (!ended) waitpid(job, &status, 0);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_sig).count();
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.output = fctest::read_text(log);
  if (victim <= 0) r.output = "rank 1 was not found\n" + r.output;
  return r;
}

TEST(Distributed, AKilledRankEndsTheJobNamingItAndResumeLosesNothing) {
  REQUIRE_MPI();
  const fs::path d = dir_for("kill");
  const std::string opts = " train --limit 12000 --epochs 2 --batch-size 32 --verbose 2 --seed 4 --every 40";
  // The uninterrupted run.
  auto full = sh(mpirun(2) + kCli + opts + " --checkpoint " + (d / "full").string() + " --save " + (d / "full.keras").string());
  ASSERT_EQ(full.status, 0) << full.output;
  // The same run, rank 1 killed (SIGKILL) once a checkpoint exists.
  const std::string ck = (d / "ck").string();
  Signalled k = run_and_signal(opts, ck, (d / "killed.log").string(), SIGKILL);
  EXPECT_NE(k.status, 0) << k.output;
  EXPECT_LT(k.seconds, 30.0) << "the job must end, not hang";
  EXPECT_NE(k.output.find("process rank 1"), std::string::npos) << "mpirun's message names the rank: " << k.output;
  // Resume: the final weights are the uninterrupted run's.
  auto res = sh(mpirun(2) + kCli + opts + " --resume " + ck + " --save " + (d / "resumed.keras").string());
  ASSERT_EQ(res.status, 0) << res.output;
  expect_same_weights((d / "full.keras").string(), (d / "resumed.keras").string(), 0.0, "resumed after a killed rank");
  fs::remove_all(d);
}

TEST(Distributed, AHangingRankIsCaughtByTheTimeout) {
  REQUIRE_MPI();
  const fs::path d = dir_for("hang");
  // Rank 1 stopped (SIGSTOP): alive, silent. Rank 0 gives up after --timeout 2 and aborts the job.
  Signalled h = run_and_signal(" train --limit 12000 --epochs 2 --verbose 0 --every 40 --timeout 2", (d / "ck").string(),
                               (d / "hang.log").string(), SIGSTOP);
  EXPECT_NE(h.status, 0) << h.output;
  EXPECT_LT(h.seconds, 30.0) << h.output;
  EXPECT_NE(h.output.find("rank 0: no reply from the other ranks in 2 s"), std::string::npos) << h.output;
  fs::remove_all(d);
}

TEST(Distributed, TwoRanksInTwoNetworkNamespacesOverAVethPair) {
  REQUIRE_MPI();
  const fs::path d = dir_for("netns");
  const std::string script = std::string(FOURIERCONV_SOURCE_DIR) + "/tests/mpi/netns-run";
  auto r = sh(no_mpi_leak_check() + script + " " + kCli + kTrain + " --batch-size 32 --micro-batches 2 --save " + (d / "net.keras").string());
  if (r.status == 77) GTEST_SKIP() << r.output;
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string bytes = line_with(r.output, "netns-run: veth bytes ");
  ASSERT_FALSE(bytes.empty()) << r.output;
  // The gradients of 19 steps (54,410 doubles each, both ways) crossed the veth pair.
  EXPECT_GT(std::stod(bytes.substr(std::string("netns-run: veth bytes ").size())), 19 * 54410 * 8.0) << r.output;
  auto one = sh("OMP_NUM_THREADS=1 " + kCli + kTrain + " --batch-size 64 --micro-batches 2 --save " + (d / "one.keras").string());
  ASSERT_EQ(one.status, 0) << one.output;
  expect_same_weights((d / "one.keras").string(), (d / "net.keras").string(), 1e-5, "2 ranks across namespaces vs 1");
  fs::remove_all(d);
}

}  // namespace
