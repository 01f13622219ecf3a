// Tests for external tensor data: saving and loading, and every unsafe location or range refused.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "lib/external_data.h"
#include "lib/model_io.h"
#include "lib/onnx_import.h"
#include "tests/lib/io_test_util.h"

using namespace ortool;
using ortool::testing::TempDir;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The small test model with initializer "w" (float[4]) stored externally as described by `entries`.
onnx::ModelProto external_model(const std::vector<std::pair<std::string, std::string>>& entries) {
  onnx::ModelProto m = ortool::testing::small_model_proto();
  auto* w = m.mutable_graph()->mutable_initializer(0);
  w->clear_float_data();
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  for (const auto& [k, v] : entries) {
    auto* kv = w->add_external_data();
    kv->set_key(k);
    kv->set_value(v);
  }
  return m;
}

std::string floats_bytes(std::vector<float> v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

// Writes model.onnx with those entries into `dir` and loads it.
Status load_with(const TempDir& dir, const std::vector<std::pair<std::string, std::string>>& entries) {
  ortool::testing::write_bytes(dir / "model.onnx", external_model(entries).SerializeAsString());
  return load_model(dir / "model.onnx").status();
}

// A model with a few initializers of different sizes, built by importing a proto.
std::unique_ptr<ir::Model> model_with_weights() {
  onnx::ModelProto mp = ortool::testing::small_model_proto();
  auto* g = mp.mutable_graph();
  for (int i = 0; i < 3; ++i) {
    auto* t = g->add_initializer();
    t->set_name("big" + std::to_string(i));
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->add_dims(1000 * (i + 1));
    std::vector<float> v(static_cast<size_t>(1000 * (i + 1)));
    for (size_t k = 0; k < v.size(); ++k) v[k] = static_cast<float>(k) * 0.5f + static_cast<float>(i);
    t->set_raw_data(floats_bytes(v));
  }
  auto* s = g->add_initializer();
  s->set_name("strings");
  s->set_data_type(onnx::TensorProto::STRING);
  s->add_dims(2);
  s->add_string_data("a");
  s->add_string_data("b");
  auto* e = g->add_initializer();
  e->set_name("empty");
  e->set_data_type(onnx::TensorProto::FLOAT);
  e->add_dims(0);
  ImportOptions o;
  auto m = import_model_proto(mp.SerializeAsString(), o);
  REQUIRE(m.is_ok());
  return std::move(*m);
}

void check_same_initializers(const ir::Model& a, const ir::Model& b) {
  REQUIRE(a.graph->initializers().size() == b.graph->initializers().size());
  for (size_t i = 0; i < a.graph->initializers().size(); ++i) {
    const ir::Value* va = a.graph->initializers()[i];
    const ir::Value* vb = b.graph->initializers()[i];
    CHECK(va->name() == vb->name());
    CHECK(va->constant()->equals(*vb->constant()));
  }
}

}  // namespace

TEST_CASE("external data: save with threshold 0 and load back equal") {
  TempDir dir;
  auto m = model_with_weights();
  SaveOptions o;
  o.external_data = true;
  o.threshold = 0;
  auto info = save_model(*m, dir / "m.onnx", o);
  REQUIRE_MESSAGE(info.is_ok(), info.status().message());
  CHECK(info->used_external_data);
  CHECK(info->external_tensors == 4);  // w and big0..2; strings and empty stay inline
  CHECK(info->data_path == dir / "m.onnx.data");
  CHECK(fs::file_size(dir / "m.onnx.data") == info->data_bytes);
  CHECK(fs::file_size(dir / "m.onnx") < 2000);

  LoadInfo li;
  auto back = load_model(dir / "m.onnx", {}, &li);
  REQUIRE_MESSAGE(back.is_ok(), back.status().message());
  check_same_initializers(*m, **back);
  REQUIRE(li.external_files.size() == 1);
  CHECK(li.external_files[0].filename() == "m.onnx.data");

  // A custom location in a subfolder, and a threshold that keeps small tensors inline.
  fs::create_directory(dir / "weights");
  o.location = "weights/w.bin";
  o.threshold = 4096;
  info = save_model(*m, dir / "m2.onnx", o);
  REQUIRE(info.is_ok());
  CHECK(info->external_tensors == 2);  // big1 (8000 bytes) and big2 (12000 bytes)
  back = load_model(dir / "m2.onnx");
  REQUIRE(back.is_ok());
  check_same_initializers(*m, **back);

  // Saving a loaded (memory-mapped) model over itself works: the old data stays mapped.
  SaveOptions inline_opts;
  inline_opts.force = true;
  REQUIRE(save_model(**back, dir / "m2.onnx", inline_opts).is_ok());
  auto again = load_model(dir / "m2.onnx");
  REQUIRE(again.is_ok());
  check_same_initializers(*m, **again);
}

TEST_CASE("external data: saving twice does not grow the data file") {
  TempDir dir;
  auto m = model_with_weights();
  SaveOptions o;
  o.external_data = true;
  o.threshold = 0;
  REQUIRE(save_model(*m, dir / "m.onnx", o).is_ok());
  auto size1 = fs::file_size(dir / "m.onnx.data");
  auto loaded = load_model(dir / "m.onnx");
  REQUIRE(loaded.is_ok());
  o.force = true;
  REQUIRE(save_model(**loaded, dir / "m.onnx", o).is_ok());
  CHECK(fs::file_size(dir / "m.onnx.data") == size1);
  REQUIRE(save_model(*m, dir / "m.onnx", o).is_ok());
  CHECK(fs::file_size(dir / "m.onnx.data") == size1);
  auto back = load_model(dir / "m.onnx");
  REQUIRE(back.is_ok());
  check_same_initializers(*m, **back);
}

TEST_CASE("external data: models over the single-file limit switch to external data, or fail if forced inline") {
  TempDir dir;
  auto m = model_with_weights();
  SaveOptions o;
  auto info = save_model_with_limit(*m, dir / "m.onnx", o, 16 * 1024);
  REQUIRE_MESSAGE(info.is_ok(), info.status().message());
  CHECK(info->switched_to_external);
  CHECK(info->used_external_data);
  CHECK(fs::exists(dir / "m.onnx.data"));
  auto back = load_model(dir / "m.onnx");
  REQUIRE(back.is_ok());
  check_same_initializers(*m, **back);

  o.force_internal = true;
  auto st = save_model_with_limit(*m, dir / "m3.onnx", o, 16 * 1024).status();
  CHECK(!st.is_ok());
  CHECK(contains(st.message(), "2 GiB"));
  CHECK(!fs::exists(dir / "m3.onnx"));

  // Small enough: stays inline.
  info = save_model_with_limit(*m, dir / "m4.onnx", SaveOptions{}, 1 << 20);
  REQUIRE(info.is_ok());
  CHECK(!info->used_external_data);
  CHECK(!fs::exists(dir / "m4.onnx.data"));
}

TEST_CASE("external data: valid layouts load, including odd offsets and symlinks inside the folder") {
  TempDir dir;
  std::string data = "X" + floats_bytes({1, 2, 3, 4}) + floats_bytes({5, 6, 7, 8});
  ortool::testing::write_bytes(dir / "w.bin", data);
  REQUIRE(load_with(dir, {{"location", "w.bin"}, {"offset", "17"}, {"length", "16"}}).is_ok());
  // Offset 1 is misaligned for float: loaded through a copy, same values.
  ortool::testing::write_bytes(dir / "model.onnx",
                               external_model({{"location", "w.bin"}, {"offset", "1"}, {"length", "16"}}).SerializeAsString());
  auto m = load_model(dir / "model.onnx");
  REQUIRE(m.is_ok());
  const Tensor& w = *(*m)->graph->find_value("w")->constant();
  CHECK(w.data<float>()[0] == 1.f);
  CHECK(w.data<float>()[3] == 4.f);
  // No length: the tensor's size is read from the offset, as ONNX Runtime does.
  CHECK(load_with(dir, {{"location", "w.bin"}, {"offset", "17"}}).is_ok());
  CHECK(load_with(dir, {{"location", "./w.bin"}, {"offset", "1"}, {"checksum", "ignored"}}).is_ok());
  // A symlink that stays inside the folder is fine.
  fs::create_directory(dir / "sub");
  fs::create_symlink("../w.bin", dir / "sub" / "link.bin");
  CHECK(load_with(dir, {{"location", "sub/link.bin"}, {"offset", "1"}}).is_ok());
}

TEST_CASE("external data: unsafe locations are refused (BAD_INPUTS 16-18)") {
  TempDir root;
  fs::path dir = root / "model";
  fs::path outside = root / "outside";
  fs::create_directory(dir);
  fs::create_directory(outside);
  std::string data = floats_bytes({1, 2, 3, 4});
  ortool::testing::write_bytes(outside / "secret.bin", data);
  ortool::testing::write_bytes(dir / "w.bin", data);
  fs::create_symlink(outside / "secret.bin", dir / "link_out.bin");
  fs::create_symlink(outside, dir / "linked_folder");
  fs::create_symlink("/dev/zero", dir / "zero.bin");
  fs::create_symlink("/proc/self/mem", dir / "mem.bin");
  fs::create_directory(dir / "adir");
  REQUIRE(::mkfifo((dir / "fifo.bin").c_str(), 0600) == 0);
  fs::create_hard_link(outside / "secret.bin", dir / "hard.bin");

  auto load = [&](const std::string& location) {
    ortool::testing::write_bytes(dir / "model.onnx", external_model({{"location", location}}).SerializeAsString());
    return load_model(dir / "model.onnx").status();
  };
  REQUIRE(load("w.bin").is_ok());

  struct Case {
    std::string location;
    std::string expect;
  };
  std::vector<Case> cases = {
      {"../outside/secret.bin", "contains '..'"},
      {"a/../../outside/secret.bin", "contains '..'"},
      {"..\\outside\\secret.bin", "contains '..'"},
      {(outside / "secret.bin").string(), "absolute path"},
      {"/etc/passwd", "absolute path"},
      {"/dev/zero", "absolute path"},
      {"/proc/self/mem", "absolute path"},
      {"", "location is empty"},
      {".", "model folder itself"},
      {"./", "model folder itself"},
      {"adir", "not a regular file (a directory)"},
      {std::string("w.bin\0../../x", 13), "NUL"},
      {"link_out.bin", "outside the model folder"},
      {"linked_folder/secret.bin", "outside the model folder"},
      {"zero.bin", "outside the model folder"},
      {"mem.bin", "outside the model folder"},
      {"fifo.bin", "not a regular file (a FIFO)"},
      {"hard.bin", "hard link"},
      {"missing.bin", "not found"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.location);
    Status st = load(c.location);
    REQUIRE(!st.is_ok());
    CHECK(contains(st.message(), "tensor 'w'"));
    CHECK(contains(st.message(), c.expect));
    CHECK(contains(st.message(), "model.onnx"));
  }
}

TEST_CASE("external data: bad offsets, lengths and keys are refused (BAD_INPUTS 19)") {
  TempDir dir;
  ortool::testing::write_bytes(dir / "w.bin", floats_bytes({1, 2, 3, 4, 5}));  // 20 bytes
  struct Case {
    std::vector<std::pair<std::string, std::string>> entries;
    std::string expect;
  };
  std::vector<Case> cases = {
      {{{"location", "w.bin"}, {"offset", "-1"}}, "negative"},
      {{{"location", "w.bin"}, {"length", "-16"}}, "negative"},
      {{{"location", "w.bin"}, {"offset", "21"}}, "past the end"},
      {{{"location", "w.bin"}, {"offset", "8"}}, "past the end"},
      {{{"location", "w.bin"}, {"offset", "8"}, {"length", "16"}}, "past the end"},
      {{{"location", "w.bin"}, {"offset", "99999999999999999999"}}, "too large"},
      {{{"location", "w.bin"}, {"offset", "9223372036854775807"}}, "past the end"},
      {{{"location", "w.bin"}, {"length", "12"}}, "does not match"},
      {{{"location", "w.bin"}, {"length", "20"}}, "does not match"},
      {{{"location", "w.bin"}, {"offset", "0x10"}}, "not a number"},
      {{{"location", "w.bin"}, {"offset", ""}}, "empty"},
      {{{"location", "w.bin"}, {"basepath", "/etc"}}, "unknown external data key 'basepath'"},
      {{{"location", "w.bin"}, {"location", "w.bin"}}, "given twice"},
      {{{"offset", "0"}}, "no 'location'"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.expect);
    Status st = load_with(dir, c.entries);
    REQUIRE(!st.is_ok());
    CHECK(contains(st.message(), "tensor 'w'"));
    CHECK(contains(st.message(), c.expect));
  }
  CHECK(load_with(dir, {{"location", "w.bin"}, {"offset", "4"}, {"length", "16"}}).is_ok());
}

TEST_CASE("external data: save refuses unsafe locations") {
  TempDir dir;
  auto m = model_with_weights();
  SaveOptions o;
  o.external_data = true;
  for (const char* loc : {"../x.data", "/tmp/x.data", "m.onnx"}) {
    CAPTURE(loc);
    o.location = loc;
    CHECK(!save_model(*m, dir / "m.onnx", o).is_ok());
  }
  CHECK(!fs::exists(dir / "m.onnx"));
}
