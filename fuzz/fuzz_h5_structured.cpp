// Structurally valid HDF5 files with fuzzed contents: the harness writes, with HDF5's own
// API, a legacy Keras .h5 model or a Keras 3 .weights.h5 whose groups, links, attribute types,
// dataset shapes, element types, storage layouts and values are chosen by the fuzzer, then
// loads it. Raw-byte HDF5 files are fuzz_h5's job; this one reaches the paths behind a valid
// superblock, where fourierconv reads what HDF5 returns.
#include <fuzzer/FuzzedDataProvider.h>
#include <hdf5.h>

#include "fourierconv/nn/models.hpp"
#include "fourierconv/nn/saving.hpp"
#include "fuzz.hpp"

namespace {

// The element types a weight may be stored as.
hid_t pick_type(FuzzedDataProvider& p) {
  switch (p.ConsumeIntegralInRange(0, 7)) {
    case 0: return H5Tcopy(H5T_IEEE_F64BE);
    case 1: return H5Tcopy(H5T_STD_I32LE);
    case 2: return H5Tcopy(H5T_STD_U8LE);
    case 3: {
      hid_t t = H5Tcopy(H5T_C_S1);
      H5Tset_size(t, 4);
      return t;
    }
    case 4: {
      hid_t t = H5Tcreate(H5T_COMPOUND, 8);
      H5Tinsert(t, "re", 0, H5T_IEEE_F32LE);
      H5Tinsert(t, "im", 4, H5T_IEEE_F32LE);
      return t;
    }
    default: return H5Tcopy(H5T_IEEE_F32LE);
  }
}

// A dataset at `path` (parents created), shaped `want` most of the time, else fuzzed; its
// values from the fuzzer, or left to the fill value; contiguous, chunked+deflate or compact.
void make_dataset(FuzzedDataProvider& p, hid_t file, const std::string& path, std::vector<hsize_t> want) {
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  if (p.ConsumeIntegralInRange(0, 9) == 0) {  // something else where the weight should be
    if (p.ConsumeBool()) H5Gclose(H5Gcreate2(file, path.c_str(), lcpl, H5P_DEFAULT, H5P_DEFAULT));
    else if (p.ConsumeBool()) H5Lcreate_soft(p.ConsumeBool() ? path.c_str() : "/nowhere", file, path.c_str(), lcpl, H5P_DEFAULT);
    else H5Lcreate_external("missing-file.h5", "/x", file, path.c_str(), lcpl, H5P_DEFAULT);
    H5Pclose(lcpl);
    return;
  }
  if (p.ConsumeIntegralInRange(0, 3) == 0) {
    want.resize(p.ConsumeIntegralInRange<size_t>(0, 5));
    for (auto& d : want) d = p.ConsumeIntegralInRange<hsize_t>(0, p.ConsumeBool() ? 8 : (hsize_t(1) << 40));
  }
  hid_t space = want.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(int(want.size()), want.data(), nullptr);
  hid_t type = pick_type(p);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  hsize_t n = 1;
  for (auto d : want) n = (d && n > (hsize_t(1) << 40) / d) ? (hsize_t(1) << 40) : n * d;
  const int layout = p.ConsumeIntegralInRange(0, 2);
  if (layout == 1 && !want.empty() && n > 0) {
    std::vector<hsize_t> chunk(want.size());
    for (size_t i = 0; i < want.size(); ++i) chunk[i] = std::max<hsize_t>(1, std::min<hsize_t>(want[i], 4));
    H5Pset_chunk(dcpl, int(chunk.size()), chunk.data());
    H5Pset_deflate(dcpl, 1);
  } else if (layout == 2 && n * H5Tget_size(type) < 60000) {
    H5Pset_layout(dcpl, H5D_COMPACT);
  }
  hid_t ds = H5Dcreate2(file, path.c_str(), type, space, lcpl, dcpl, H5P_DEFAULT);
  if (ds >= 0 && n * H5Tget_size(type) <= 65536 && p.ConsumeBool()) {
    std::vector<unsigned char> bytes = p.ConsumeBytes<unsigned char>(size_t(n * H5Tget_size(type)));
    bytes.resize(size_t(n * H5Tget_size(type)));
    H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data());
  }
  if (ds >= 0) H5Dclose(ds);
  H5Pclose(dcpl);
  H5Tclose(type);
  H5Sclose(space);
  H5Pclose(lcpl);
}

// A string attribute (fixed or variable length, or a list of them); sometimes an integer
// attribute where a string belongs.
void make_string_attr(FuzzedDataProvider& p, hid_t obj, const char* name, const std::vector<std::string>& values) {
  hid_t space;
  const hsize_t n = values.size();
  space = (n == 1 && p.ConsumeBool()) ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr);
  const int kind = p.ConsumeIntegralInRange(0, 5);
  if (kind == 0) {
    hid_t a = H5Acreate2(obj, name, H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT);
    std::vector<int> zeros(n ? n : 1);
    H5Awrite(a, H5T_NATIVE_INT, zeros.data());
    H5Aclose(a);
  } else if (kind == 1) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    std::vector<const char*> ptrs;
    for (auto& v : values) ptrs.push_back(v.c_str());
    hid_t a = H5Acreate2(obj, name, t, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, t, ptrs.data());
    H5Aclose(a);
    H5Tclose(t);
  } else {
    size_t len = 1;
    for (auto& v : values) len = std::max(len, v.size());
    if (kind == 2) len = p.ConsumeIntegralInRange<size_t>(1, len);  // truncated strings
    std::vector<char> buf(len * (n ? n : 1), '\0');
    for (size_t i = 0; i < values.size(); ++i) values[i].copy(buf.data() + i * len, std::min(len, values[i].size()));
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, len);
    hid_t a = H5Acreate2(obj, name, t, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, t, buf.data());
    H5Aclose(a);
    H5Tclose(t);
  }
  H5Sclose(space);
}

const char* const kConfigs[] = {
    R"({"class_name":"Sequential","config":{"name":"s","layers":[{"class_name":"InputLayer","config":{"batch_input_shape":[null,%A,%B,1]}},)"
    R"({"class_name":"Conv2D","config":{"name":"conv2d","filters":%C,"kernel_size":[%D,%D],"activation":"relu"}},)"
    R"({"class_name":"Flatten","config":{"name":"flatten"}},{"class_name":"Dense","config":{"name":"dense","units":%E}}]}})",
    R"({"class_name":"Sequential","config":{"name":"s","layers":[{"class_name":"Dense","config":{"name":"dense","units":%C,"batch_input_shape":[null,%A]}}]}})",
};

std::string fill(FuzzedDataProvider& p, std::string s) {
  for (const char* key : {"%A", "%B", "%C", "%D", "%E"}) {
    const std::string v = std::to_string(p.ConsumeIntegralInRange<int>(p.ConsumeBool() ? -2 : 0, p.ConsumeBool() ? 6 : 100000));
    for (size_t at; (at = s.find(key)) != std::string::npos;) s.replace(at, 2, v);
  }
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::init();
  using namespace fourierconv;
  static bool quiet = [] { return H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr) >= 0; }();
  (void)quiet;
  FuzzedDataProvider p(data, size);
  const bool legacy = p.ConsumeBool();
  const std::string path = fuzz::write_temp(nullptr, 0, legacy ? ".h5" : ".weights.h5");
  hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (file < 0) std::abort();
  if (legacy) {
    const int which = p.ConsumeIntegralInRange(0, 1);
    std::string config = fill(p, kConfigs[which]);
    if (p.ConsumeIntegralInRange(0, 7) == 0) config = p.ConsumeRandomLengthString(256);
    make_string_attr(p, file, "model_config", {config});
    const char* layers[] = {"conv2d", "dense"};
    for (const char* layer : layers) {
      if (p.ConsumeIntegralInRange(0, 15) == 0) continue;
      std::vector<std::string> names = {std::string(layer) + "/kernel:0", std::string(layer) + "/bias:0"};
      if (p.ConsumeIntegralInRange(0, 7) == 0) names.push_back(p.ConsumeRandomLengthString(16));
      if (p.ConsumeIntegralInRange(0, 7) == 0) names[0] = p.PickValueInArray({"", "/", "..", "../x", "/model_weights"});
      hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
      H5Pset_create_intermediate_group(lcpl, 1);
      hid_t g = H5Gcreate2(file, (std::string("model_weights/") + layer).c_str(), lcpl, H5P_DEFAULT, H5P_DEFAULT);
      H5Pclose(lcpl);
      if (g < 0) continue;
      make_string_attr(p, g, "weight_names", names);
      H5Gclose(g);
      for (auto& n : names)
        if (!n.empty() && n[0] != '/' && n.find("..") == std::string::npos)
          make_dataset(p, file, std::string("model_weights/") + layer + "/" + n, {hsize_t(p.ConsumeIntegralInRange(1, 4))});
    }
  } else {
    // The seed CNN's weights: conv2d (3, 3, 1, 32) and (32,), dense (5408, 10) and (10,).
    const std::pair<const char*, std::vector<hsize_t>> vars[] = {
        {"layers/conv2d/vars/0", {3, 3, 1, 32}}, {"layers/conv2d/vars/1", {32}},
        {"layers/dense/vars/0", {5408, 10}},     {"layers/dense/vars/1", {10}}};
    for (auto& [name, shape] : vars)
      if (p.ConsumeIntegralInRange(0, 15) != 0) make_dataset(p, file, name, shape);
  }
  H5Fclose(file);
  if (legacy) {
    FUZZ_EXPECT_ONLY_ERRORS(nn::load_model(path));
  } else {
    static nn::Sequential model = nn::make_model("seed-cnn");
    FUZZ_EXPECT_ONLY_ERRORS(nn::load_weights(model, path));
  }
  return 0;
}
