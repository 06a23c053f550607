// Training checkpoints (nn/checkpoint.hpp): the state member, fourierconv_checkpoint.json, of
// a checkpoint of a fixed small model (Conv2D, Dropout, Dense; Adam), given as the fuzzed
// bytes; load_checkpoint then resumes the model from it. When the bytes parse as a JSON object,
// its "model" and "optimizer" entries are set to the model's own, so that the mutations reach
// the state itself (the sample order, the step, the history, the generators) rather than stop
// at "a checkpoint of another model". FOURIERCONV_FUZZ_WRITE_SEED=PATH writes a valid state
// member to PATH (the committed seeds, fuzz/seeds/checkpoint_state/, were made from it);
// FOURIERCONV_FUZZ_VERBOSE prints whether each input loads, and why not.
#include <filesystem>
#include <fstream>

#include "fourierconv/nn.hpp"
#include "fourierconv/nn/checkpoint.hpp"
#include "fuzz.hpp"
#include "nn/keras_archive.hpp"

namespace {

using namespace fourierconv;
using namespace fourierconv::nn;
using keras_io::json;

struct Fixture {
  nn::Sequential model;
  keras_io::ArchiveMembers members;  // the archive without the state member
  std::string optimizer;             // the state's "optimizer" entry
  std::string dir;
};

Fixture& fixture() {
  static Fixture f = [] {
    Fixture x;
    nn::clear_session();
    nn::set_random_seed(1);
    x.model.add(nn::Conv2D(2, {3, 3}, {.activation = "relu", .input_shape = {5, 5, 1}}));
    x.model.add(nn::Dropout(0.5));
    x.model.add(nn::Flatten());
    x.model.add(nn::Dense(3, {.activation = "softmax"}));
    x.model.compile("adam", "sparse_categorical_crossentropy");
    const char* t = std::getenv("TMPDIR");
    x.dir = std::string(t && *t ? t : "/tmp") + "/fourierconv-fuzz-ckpt-" + std::to_string(::getpid());
    std::filesystem::remove_all(x.dir);
    Tensor xs({10, 5, 5, 1}, 0.25f), ys({10});
    for (std::size_t i = 0; i < 10; ++i) ys[i] = float(i % 3), xs[i * 25 + i] = 1.0f;
    x.model.fit(xs, ys, {.batch_size = 4, .epochs = 1, .verbose = 0, .seed = 2, .checkpoint_dir = x.dir, .checkpoint_every = 2});
    const std::string file = x.dir + "/" + nn::kCheckpointFile;
    auto all = keras_io::read_archive(file, {"fourierconv_checkpoint.json"});
    const auto& state = all.at("fourierconv_checkpoint.json");
    x.optimizer = json::parse(state.begin(), state.end()).at("optimizer").get<std::string>();
    if (const char* seed = std::getenv("FOURIERCONV_FUZZ_WRITE_SEED"))
      std::ofstream(seed, std::ios::binary).write(reinterpret_cast<const char*>(state.data()), std::streamsize(state.size()));
    for (auto& [name, bytes] : all)
      if (name != "fourierconv_checkpoint.json") x.members.emplace_back(name, bytes);
    std::filesystem::remove(x.dir + "/checkpoint.lock");
    return x;
  }();
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::init();
  Fixture& f = fixture();
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    json j = json::parse(text);
    if (j.is_object()) {
      j["model"] = keras_io::architecture(f.model);
      j["optimizer"] = f.optimizer;
      text = j.dump();
    }
  } catch (const json::exception&) {
    // not JSON: load_checkpoint must say so
  }
  keras_io::ArchiveMembers members = f.members;
  members.emplace_back("fourierconv_checkpoint.json", std::vector<unsigned char>(text.begin(), text.end()));
  keras_io::write_archive(f.dir + "/" + nn::kCheckpointFile, members);
  static const bool verbose = std::getenv("FOURIERCONV_FUZZ_VERBOSE") != nullptr;  // says why an input is refused
  FUZZ_EXPECT_ONLY_ERRORS({
    try {
      nn::TrainingState st = nn::load_checkpoint(f.model, f.dir);
      if (verbose) std::fprintf(stderr, "loaded: epoch %zu, step %zu\n", st.epoch, st.step);
    } catch (const Error& e) {
      if (verbose) std::fprintf(stderr, "refused: %s\n", e.what());
      throw;
    }
  });
  return 0;
}
