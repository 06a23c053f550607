#include "fourierconv/nn/saving.hpp"

#include <hdf5.h>
#include <zip.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "fourierconv/error.hpp"
#include "fourierconv/memory_limit.hpp"
#include "fourierconv/io/file.hpp"
#include "nn/json_exact.hpp"
#include "nn/keras_archive.hpp"
#include "nn/keras_layers.hpp"
#include "nn/model_config.hpp"
#include "nn/optimizer_state.hpp"

namespace fourierconv::nn {
namespace {

using namespace keras_io;
constexpr const char* kKerasVersion = "3.15.1";       // the Keras whose layout this writes
constexpr std::size_t kMaxMember = std::size_t(1) << 31;  // largest archive member read

// ---------------------------------------------------------------------------------------
// Config (config.json)


// Keras writes its configs with Python's json module, which spells non-finite floats as the
// bare tokens Infinity, -Infinity and NaN (ReLU(max_value=inf) saves "max_value": Infinity);
// JSON has no such values. Outside strings, +-Infinity becomes +-DBL_MAX (float32 infinity once
// narrowed: the same layer) and NaN the string "NaN" (refused by the type checks that read it).
// JSON nested deeper than this is refused before parsing (nlohmann's parser recurses once per
// level: a 100,000-deep list overflowed the stack). Keras configs nest about 10 levels.
constexpr int kMaxJsonDepth = 256;

std::string keras_json_text(std::string t, const Ctx& c) {
  std::string out;
  out.reserve(t.size());
  bool in_string = false;
  int depth = 0;
  auto delimiter = [&](std::size_t i) { return i >= t.size() || std::strchr(" \t\r\n,:[]{}", t[i]) != nullptr; };
  for (std::size_t i = 0; i < t.size(); ++i) {
    const char ch = t[i];
    if (in_string) {
      out += ch;
      if (ch == '\\' && i + 1 < t.size()) out += t[++i];
      else if (ch == '"') in_string = false;
      continue;
    }
    if (ch == '"') in_string = true;
    if (ch == '[' || ch == '{') {
      if (++depth > kMaxJsonDepth) bad(c, "the config nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    } else if (ch == ']' || ch == '}') {
      --depth;
    }
    const bool starts = i == 0 || delimiter(i - 1);
    auto token = [&](const char* w) { return starts && t.compare(i, std::strlen(w), w) == 0 && delimiter(i + std::strlen(w)); };
    if (token("Infinity")) out += "1.7976931348623157e308", i += 7;
    else if (token("-Infinity")) out += "-1.7976931348623157e308", i += 8;
    else if (token("NaN")) out += "\"NaN\"", i += 2;
    else out += ch;
  }
  return out;
}

// Keras names the weight groups from the object graph: snake_case(ClassName), deduplicated
// in order (dense, dense_1, ...), not from the layers' own names.
std::vector<std::string> weight_paths(const Model& m) {
  std::map<std::string, int> seen;
  std::vector<std::string> paths;
  for (auto& l : m.layers()) {
    std::string base = to_snake_case(l->class_name());
    int k = seen[base]++;
    paths.push_back("layers/" + (k == 0 ? base : base + "_" + std::to_string(k)));
  }
  return paths;
}

// ---------------------------------------------------------------------------------------
// HDF5 in memory (the core driver, no backing file)

struct H5 {
  hid_t id = -1;
  herr_t (*close)(hid_t) = nullptr;
  H5(hid_t i, herr_t (*c)(hid_t)) : id(i), close(c) {}
  ~H5() {
    if (id >= 0 && close) close(id);
  }
  H5(const H5&) = delete;
  H5& operator=(const H5&) = delete;
};

void quiet_hdf5() {
  static bool done = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors become our messages, not stderr dumps
    return true;
  }();
  (void)done;
}

void set_name_attr(hid_t group, const std::string& value) {
  H5 type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.id, value.size() ? value.size() : 1);
  H5Tset_cset(type.id, H5T_CSET_UTF8);
  H5 space(H5Screate(H5S_SCALAR), H5Sclose);
  H5 attr(H5Acreate2(group, "name", type.id, space.id, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (attr.id < 0 || H5Awrite(attr.id, type.id, value.c_str()) < 0) throw Error("save_model: HDF5 could not write an attribute");
}

hid_t make_group(hid_t parent, const std::string& name) {
  hid_t g = H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (g < 0) throw Error("save_model: HDF5 could not create group " + name);
  return g;
}

// with_optimizer: a .keras archive's weights (the optimizer state of a compiled model too);
// save_weights/load_weights handle the layers' weights only.
std::vector<unsigned char> weights_image(const Model& m, bool with_optimizer) {
  quiet_hdf5();
  H5 fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  H5Pset_fapl_core(fapl.id, 1 << 20, 0);
  H5 file(H5Fcreate("fourierconv-weights", H5F_ACC_TRUNC, H5P_DEFAULT, fapl.id), H5Fclose);
  if (file.id < 0) throw Error("save_model: HDF5 could not create the weights file");
  {
    H5 layers(make_group(file.id, "layers"), H5Gclose);
    auto paths = weight_paths(m);
    for (std::size_t i = 0; i < m.layers().size(); ++i) {
      const Layer& l = *m.layers()[i];
      H5 g(make_group(file.id, paths[i]), H5Gclose);
      H5 vars(make_group(g.id, "vars"), H5Gclose);
      set_name_attr(vars.id, l.name());
      auto ws = l.weights();
      for (std::size_t j = 0; j < ws.size(); ++j) {
        std::vector<hsize_t> dims(ws[j]->value.shape().begin(), ws[j]->value.shape().end());
        H5 space(dims.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(int(dims.size()), dims.data(), nullptr), H5Sclose);
        const hid_t file_type = ws[j]->integer ? H5T_STD_I32LE : H5T_IEEE_F32LE;
        H5 ds(H5Dcreate2(vars.id, std::to_string(j).c_str(), file_type, space.id, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
        if (ds.id < 0 || H5Dwrite(ds.id, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, ws[j]->value.data()) < 0)
          throw Error("save_model: HDF5 could not write " + paths[i] + "/vars/" + std::to_string(j));
      }
    }
  }
  {
    H5 vars(make_group(file.id, "vars"), H5Gclose);
    set_name_attr(vars.id, m.name());
  }
  if (!m.is_sequential()) {  // a graph's InputLayers are layers too: empty groups, as Keras writes
    int k = 0;
    for (long i : m.keras_order())
      if (i < 0) {
        H5 g(make_group(file.id, "layers/input_layer" + (k ? "_" + std::to_string(k) : std::string())), H5Gclose);
        H5 vars(make_group(g.id, "vars"), H5Gclose);
        set_name_attr(vars.id, m.inputs()[std::size_t(-1 - i)].name);
        ++k;
      }
  }
  if (with_optimizer) write_optimizer_vars(m, file.id);
  H5Fflush(file.id, H5F_SCOPE_GLOBAL);
  ssize_t size = H5Fget_file_image(file.id, nullptr, 0);
  if (size <= 0) throw Error("save_model: HDF5 could not produce the weights file");
  std::vector<unsigned char> image(static_cast<std::size_t>(size));
  H5Fget_file_image(file.id, image.data(), image.size());
  return image;
}

void read_weights_image(Model& m, const std::vector<unsigned char>& image, const std::string& file, bool with_optimizer) {
  quiet_hdf5();
  Ctx c{file};
  H5 fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  H5Pset_fapl_core(fapl.id, 1 << 20, 0);
  if (H5Pset_file_image(fapl.id, const_cast<unsigned char*>(image.data()), image.size()) < 0) bad(c, "cannot read the weights");
  H5 f(H5Fopen("fourierconv-weights", H5F_ACC_RDONLY, fapl.id), H5Fclose);
  if (f.id < 0) bad(c, "the weights are not a readable HDF5 file");
  auto paths = weight_paths(m);
  // Keras 2.13-2.15 wrote the layers' groups under _layer_checkpoint_dependencies/ where Keras 3
  // writes layers/ (Keras 3's loader makes the same substitution when layers/ lacks a path).
  const bool keras213 = H5Lexists(f.id, "_layer_checkpoint_dependencies", H5P_DEFAULT) > 0;
  for (std::size_t i = 0; i < m.layers().size(); ++i) {
    Layer& l = *m.layers()[i];
    auto ws = l.weights();
    if (keras213 && !ws.empty() &&
        (H5Lexists(f.id, "layers", H5P_DEFAULT) <= 0 || H5Lexists(f.id, paths[i].c_str(), H5P_DEFAULT) <= 0))
      paths[i].replace(0, std::strlen("layers"), "_layer_checkpoint_dependencies");
    const std::string top = paths[i].substr(0, paths[i].find('/'));
    for (std::size_t j = 0; j < ws.size(); ++j) {
      const std::string path = paths[i] + "/vars/" + std::to_string(j);
      if (H5Lexists(f.id, top.c_str(), H5P_DEFAULT) <= 0 || H5Lexists(f.id, paths[i].c_str(), H5P_DEFAULT) <= 0 ||
          H5Lexists(f.id, (paths[i] + "/vars").c_str(), H5P_DEFAULT) <= 0 || H5Lexists(f.id, path.c_str(), H5P_DEFAULT) <= 0)
        bad(c, "the weights have no " + path + " for " + l.name() + " (" + l.class_name() + ")");
      H5 ds(H5Dopen2(f.id, path.c_str(), H5P_DEFAULT), H5Dclose);
      if (ds.id < 0) bad(c, path + " is not a dataset");
      H5 space(H5Dget_space(ds.id), H5Sclose);
      int rank = H5Sget_simple_extent_ndims(space.id);
      const Shape& want = ws[j]->value.shape();
      if (rank != int(want.size())) bad(c, path + ": expected shape " + shape_to_string(want) + ", the file has rank " + std::to_string(rank));
      std::vector<hsize_t> dims(std::size_t(std::max(rank, 0)));
      H5Sget_simple_extent_dims(space.id, dims.data(), nullptr);
      Shape got(dims.begin(), dims.end());
      if (got != want) bad(c, path + ": expected shape " + shape_to_string(want) + " for " + l.name() + ", the file has " + shape_to_string(got));
      H5 type(H5Dget_type(ds.id), H5Tclose);
      if (H5Tget_class(type.id) != H5T_FLOAT && !(ws[j]->integer && H5Tget_class(type.id) == H5T_INTEGER))
        bad(c, path + ": expected " + (ws[j]->integer ? "integer" : "float") + " weights");
      if (H5Dread(ds.id, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, ws[j]->value.data()) < 0) bad(c, path + ": unreadable data");
      check_finite(ws[j]->value, "load_model: '" + file + "': " + path);
    }
  }
  if (with_optimizer) read_optimizer_vars(m, f.id, c);
}

// ---------------------------------------------------------------------------------------
// The zip archive

std::map<std::string, std::vector<unsigned char>> read_zip(const std::string& path, const std::vector<std::string>& extra = {}) {
  std::vector<unsigned char> bytes = io::read_file(path, "load_model");
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &err);
  zip_t* z = src ? zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &err) : nullptr;
  if (!z) {
    std::string msg = zip_error_strerror(&err);
    if (src) zip_source_free(src);
    zip_error_fini(&err);
    throw Error("load_model: '" + path + "' is not a readable .keras archive: " + msg);
  }
  std::map<std::string, std::vector<unsigned char>> members;
  std::vector<std::string> names{"metadata.json", "config.json", "model.weights.h5"};
  names.insert(names.end(), extra.begin(), extra.end());
  for (const std::string& name_s : names) {
    const char* name = name_s.c_str();
    zip_stat_t st;
    if (zip_stat(z, name, 0, &st) != 0) continue;
    if (!(st.valid & ZIP_STAT_SIZE) || st.size > kMaxMember) {
      zip_close(z);
      throw Error("load_model: '" + path + "': member " + name + " is too large or has no size");
    }
    if (st.size > memory_limit()) {  // a zip bomb declares its size: refused before inflating
      zip_discard(z);
      zip_error_fini(&err);
      check_allocation(st.size, "load_model: '" + path + "': member " + name);
    }
    zip_file_t* f = zip_fopen(z, name, 0);
    std::vector<unsigned char> data(st.size);
    zip_int64_t n = f ? zip_fread(f, data.data(), st.size) : -1;
    if (f) zip_fclose(f);
    if (n < 0 || zip_uint64_t(n) != st.size) {
      zip_close(z);
      throw Error("load_model: '" + path + "': member " + name + " is corrupt or truncated");
    }
    // libzip verifies a member's CRC-32 only when a read reaches its end, which reading exactly
    // its size never does: a flipped bit in the weights would load as a wrong weight.
    if ((st.valid & ZIP_STAT_CRC) &&
        crc32_z(crc32_z(0L, Z_NULL, 0), data.data(), data.size()) != uLong(st.crc)) {
      zip_discard(z);
      zip_error_fini(&err);
      throw Error("load_model: '" + path + "': member " + name + " is corrupt (bad CRC-32)");
    }
    members[name] = std::move(data);
  }
  zip_discard(z);
  zip_error_fini(&err);
  return members;
}

void write_zip(const std::string& path, const std::vector<std::pair<std::string, std::vector<unsigned char>>>& members) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  std::remove(tmp.c_str());
  int errorp = 0;
  zip_t* z = zip_open(tmp.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &errorp);
  if (!z) throw Error("save_model: cannot write '" + path + "'");
  for (auto& [name, data] : members) {
    zip_source_t* s = zip_source_buffer(z, data.data(), data.size(), 0);
    zip_int64_t idx = s ? zip_file_add(z, name.c_str(), s, ZIP_FL_ENC_UTF_8) : -1;
    if (idx < 0 || zip_set_file_compression(z, zip_uint64_t(idx), ZIP_CM_STORE, 0) != 0) {
      if (s && idx < 0) zip_source_free(s);
      zip_discard(z);
      std::remove(tmp.c_str());
      throw Error("save_model: cannot add " + name + " to '" + path + "'");
    }
  }
  if (zip_close(z) != 0) {
    zip_discard(z);
    std::remove(tmp.c_str());
    throw Error("save_model: cannot write '" + path + "'");
  }
  io::commit_file(tmp, path, "save_model");  // flushed to disk, then renamed over path
}

std::vector<unsigned char> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// ---------------------------------------------------------------------------------------
// Legacy Keras 2 HDF5 (.h5): the JSON config in the root attribute `model_config`, weights in
// model_weights/<layer name>/<weight name> listed by each group's `weight_names` attribute.

// Reads a string attribute (fixed or variable length, scalar or 1-D) as a list of strings.
std::vector<std::string> read_string_attr(const Ctx& c, hid_t obj, const char* name) {
  if (H5Aexists(obj, name) <= 0) return {};
  H5 attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  H5 type(H5Aget_type(attr.id), H5Tclose);
  H5 space(H5Aget_space(attr.id), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space.id);
  if (n < 0 || n > 1 << 20) bad(c, std::string("attribute ") + name + " is malformed");
  if (H5Tget_class(type.id) != H5T_STRING) {
    if (n == 0) return {};  // Keras writes an empty float array for "no weights"
    bad(c, std::string("attribute ") + name + " is not text");
  }
  std::vector<std::string> out;
  if (H5Tis_variable_str(type.id) > 0) {
    std::vector<char*> ptrs(std::size_t(n), nullptr);
    H5 mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.id, H5T_VARIABLE);
    H5Tset_cset(mem.id, H5Tget_cset(type.id));  // HDF5 does not convert UTF-8 to ASCII (h5py writes str as UTF-8)
    // HDF5 allocates each string; they are freed on every path, a failed read included (it may
    // have converted some before failing: a leak the fuzzer found).
    struct Reclaim {
      hid_t type, space;
      std::vector<char*>& ptrs;
      ~Reclaim() {
        if (!ptrs.empty()) H5Dvlen_reclaim(type, space, H5P_DEFAULT, ptrs.data());
      }
    } reclaim{mem.id, space.id, ptrs};
    if (n > 0 && H5Aread(attr.id, mem.id, ptrs.data()) < 0) bad(c, std::string("attribute ") + name + " is unreadable");
    for (char* p : ptrs) out.emplace_back(p ? p : "");
  } else {
    const std::size_t size = H5Tget_size(type.id);
    if (size == 0 || size > (1u << 24)) bad(c, std::string("attribute ") + name + " has a bad size");
    std::vector<char> buf(size * std::size_t(n) + 1, 0);
    if (n > 0 && H5Aread(attr.id, type.id, buf.data()) < 0) bad(c, std::string("attribute ") + name + " is unreadable");
    for (hssize_t i = 0; i < n; ++i) {
      const char* p = buf.data() + std::size_t(i) * size;
      out.emplace_back(p, strnlen(p, size));
    }
  }
  return out;
}

Model load_legacy_h5(const std::string& path) {
  quiet_hdf5();
  Ctx c{path};
  if (!std::ifstream(path)) bad(c, "cannot open the file");
  H5 f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (f.id < 0) bad(c, "not a readable HDF5 file");
  auto cfg = read_string_attr(c, f.id, "model_config");
  if (cfg.size() != 1) bad(c, "no model_config attribute (a weights-only file? use load_weights)");
  json root;
  const std::string text = keras_json_text(cfg[0], c);
  try {
    root = json::parse(text);
  } catch (const std::exception& e) {
    bad(c, std::string("model_config is not valid JSON: ") + e.what());
  }
  Model m = model_from_config(root, c, std::size_t(std::filesystem::file_size(path)));
  if (H5Lexists(f.id, "model_weights", H5P_DEFAULT) <= 0) bad(c, "no model_weights group");
  H5 mw(H5Gopen2(f.id, "model_weights", H5P_DEFAULT), H5Gclose);
  for (auto& l : m.layers()) {
    auto ws = l->weights();
    if (ws.empty()) continue;
    if (H5Lexists(mw.id, l->name().c_str(), H5P_DEFAULT) <= 0) bad(c, "model_weights has no group for layer " + l->name());
    H5 g(H5Gopen2(mw.id, l->name().c_str(), H5P_DEFAULT), H5Gclose);
    auto names = read_string_attr(c, g.id, "weight_names");
    if (names.size() != ws.size())
      bad(c, l->name() + ": expected " + std::to_string(ws.size()) + " weights, the file lists " + std::to_string(names.size()));
    for (std::size_t j = 0; j < ws.size(); ++j) {
      const std::string& wn = names[j];
      if (wn.empty() || wn[0] == '/' || wn.find("..") != std::string::npos || H5Lexists(g.id, wn.c_str(), H5P_DEFAULT) <= 0)
        bad(c, l->name() + ": weight '" + wn + "' is missing");
      H5 ds(H5Dopen2(g.id, wn.c_str(), H5P_DEFAULT), H5Dclose);
      if (ds.id < 0) bad(c, l->name() + ": weight '" + wn + "' is not a dataset");
      H5 space(H5Dget_space(ds.id), H5Sclose);
      const int rank = H5Sget_simple_extent_ndims(space.id);
      const Shape& want = ws[j]->value.shape();
      std::vector<hsize_t> dims(std::size_t(std::max(rank, 0)));
      if (rank > 0) H5Sget_simple_extent_dims(space.id, dims.data(), nullptr);
      Shape got(dims.begin(), dims.end());
      if (got != want)
        bad(c, l->name() + "/" + wn + ": expected shape " + shape_to_string(want) + ", the file has " + shape_to_string(got));
      H5 type(H5Dget_type(ds.id), H5Tclose);
      if (H5Tget_class(type.id) != H5T_FLOAT && !(ws[j]->integer && H5Tget_class(type.id) == H5T_INTEGER))
        bad(c, l->name() + "/" + wn + ": expected " + (ws[j]->integer ? "integer" : "float") + " weights");
      if (H5Dread(ds.id, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, ws[j]->value.data()) < 0)
        bad(c, l->name() + "/" + wn + ": unreadable data");
      check_finite(ws[j]->value, "load_model: '" + path + "': " + l->name() + "/" + wn);
    }
  }
  return m;
}

}  // namespace

namespace keras_io {

ArchiveMembers archive_members(const Model& model) {
  json root = model_to_config(model);
  if (json cc = compile_config(model); !cc.is_null()) root["compile_config"] = cc;  // with the optimizer state
  const std::string config = root.dump();
  char date[64];
  std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d@%H:%M:%S", std::localtime(&now));
  json meta = {{"keras_version", kKerasVersion}, {"date_saved", date}};
  return {{"metadata.json", bytes_of(meta.dump())}, {"config.json", bytes_of(config)}, {"model.weights.h5", weights_image(model, true)}};
}

void write_archive(const std::string& path, const ArchiveMembers& members) { write_zip(path, members); }

std::map<std::string, std::vector<unsigned char>> read_archive(const std::string& path, const std::vector<std::string>& extra) {
  return read_zip(path, extra);
}

json parse_config(const std::vector<unsigned char>& bytes, const Ctx& c) {
  const std::string text = keras_json_text(std::string(bytes.begin(), bytes.end()), c);
  try {
    return json::parse(text);
  } catch (const std::exception& e) {
    bad(c, std::string("config.json is not valid JSON: ") + e.what());
  }
}

void read_archive_weights(Model& m, const std::vector<unsigned char>& image, const std::string& path) {
  read_weights_image(m, image, path, true);
}

}  // namespace keras_io

void save_weights(const Model& model, const std::string& path) {
  if (!ends_with(path, ".weights.h5")) throw Error("save_weights: the file name must end in .weights.h5, got '" + path + "'");
  if (!model.built()) throw Error("save_weights: the model is not built");
  io::write_file_atomic(path, weights_image(model, false), "save_weights");
}

void load_weights(Model& model, const std::string& path) {
  if (!model.built()) throw Error("load_weights: the model is not built");
  read_weights_image(model, io::read_file(path, "load_weights"), path, false);
}

void save_model(const Model& model, const std::string& path) {
  if (!ends_with(path, ".keras")) throw Error("save_model: the file name must end in .keras, got '" + path + "'");
  if (!model.built()) throw Error("save_model: the model is not built (give it an input shape)");
  write_zip(path, keras_io::archive_members(model));
}

Model model_from_json(const std::string& json_text) {
  Ctx c{"", "model_from_json"};
  json root;
  const std::string text = keras_json_text(json_text, c);
  try {
    root = json::parse(text);
  } catch (const std::exception& e) {
    bad(c, std::string("not valid JSON: ") + e.what());
  }
  return model_from_config(root, c, kNoWeightsFile);
}

Model load_model(const std::string& path) {
  Ctx c{path};
  if (ends_with(path, ".h5") && !ends_with(path, ".weights.h5")) return load_legacy_h5(path);
  if (!ends_with(path, ".keras"))
    throw Error("load_model: expected a .keras file or a legacy Keras .h5 model file, got '" + path + "'");
  auto members = read_zip(path);
  for (const char* need : {"config.json", "model.weights.h5"})
    if (!members.count(need)) bad(c, std::string("the archive has no ") + need);
  const json root = parse_config(members.at("config.json"), c);
  Model m = model_from_config(root, c, members.at("model.weights.h5").size());
  compile_from_config(m, root);  // the optimizer state is read with the weights
  read_weights_image(m, members.at("model.weights.h5"), path, true);
  return m;
}

}  // namespace fourierconv::nn
