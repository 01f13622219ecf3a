// Fuzz target: sample folders (runtime/samples.h) as compare, quantize and prune read them: .npy/.pb
// files, ONNX test-data subfolders, PNG/JPEG images and batch .npy files, for one of a few fixed models.
// The input packs the folder's files (fuzz_util.h); its preamble picks the model and the options.
#include <memory>
#include <string>

#include "fuzz/fuzz_util.h"
#include "lib/graph.h"
#include "runtime/samples.h"

using namespace ortool;

namespace {

namespace fs = std::filesystem;

Type seq_of_float() {
  Type t;
  t.kind = Type::Kind::Sequence;
  t.inner = std::make_shared<Type>(Type::tensor(DType::Float));
  return t;
}

Type optional_int64() {
  Type t;
  t.kind = Type::Kind::Optional;
  t.inner = std::make_shared<Type>(Type::tensor(DType::Int64, Shape{Dim::symbol("n")}));
  return t;
}

// A model with these inputs and one Identity output per input (their stored outputs have these types too).
std::unique_ptr<ir::Model> model(const std::vector<std::pair<std::string, Type>>& inputs) {
  auto m = std::make_unique<ir::Model>();
  m->set_opset("", 17);
  ir::Graph& g = *m->graph;
  for (const auto& [name, type] : inputs) {
    ir::Value* v = g.add_value(name);
    v->type = type;
    g.add_input(v);
    ir::Node* n = g.add_node("Identity", "", {v}, {name + "_out"}, name + "_id");
    n->output(0)->type = type;
    g.add_output(n->output(0));
  }
  return m;
}

const std::vector<std::unique_ptr<ir::Model>>& models() {
  static const auto* all = [] {
    auto* v = new std::vector<std::unique_ptr<ir::Model>>();
    v->push_back(model({{"x", Type::tensor(DType::Float, Shape{Dim::known(1), Dim::known(3)})}}));
    v->push_back(model({{"x", Type::tensor(DType::Float, Shape{Dim::symbol("N"), Dim::known(3)})}}));
    v->push_back(model({{"a", Type::tensor(DType::Float, Shape{Dim::known(2)})},
                        {"b", Type::tensor(DType::Int64, Shape{Dim::symbol("n")})}}));
    v->push_back(model({{"img", Type::tensor(DType::Float, Shape{Dim::known(1), Dim::known(3), Dim::known(8),
                                                                 Dim::known(8)})}}));
    v->push_back(model({{"img", Type::tensor(DType::UInt8, Shape{Dim::symbol("N"), Dim::known(6), Dim::known(5),
                                                                 Dim::known(1)})}}));
    v->push_back(model({{"s", seq_of_float()}, {"o", optional_int64()}}));
    v->push_back(model({{"x", Type::tensor(DType::Bool)}}));
    return v;
  }();
  return *all;
}

void read_all(const ir::Graph& g, const fs::path& path, const rt::SampleOptions& o) {
  auto source = rt::open_samples(g, path, o);
  if (!source.is_ok()) return;
  (void)(*source)->describe();
  // A bounded number of samples: a batch .npy may hold millions of rows of nothing.
  const size_t n = std::min<size_t>((*source)->size(), 16);
  for (size_t i = 0; i < n; ++i) (void)(*source)->get(i);
  (void)(*source)->get((*source)->size());  // one past the end: an error, not a crash
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Packed packed = fuzz::unpack(fuzz::as_view(data, size));
  auto byte = [&](size_t i) { return i < packed.preamble.size() ? static_cast<uint8_t>(packed.preamble[i]) : 0; };
  const ir::Graph& g = *models()[byte(0) % models().size()]->graph;
  rt::SampleOptions o;
  const uint8_t flags = byte(1);
  o.expected_outputs = flags & 1;
  if (flags & 2) o.image.layout = (flags & 4) ? ImageLayout::NHWC : ImageLayout::NCHW;
  if (flags & 8) o.image.channel_order = ChannelOrder::BGR;
  if (flags & 16) o.image.scale = 1.0 / 127.5;
  if (flags & 32) o.image.mean = {0.5, 0.25, 0.125};
  if (flags & 64) o.image.std = {0.25};
  if (flags & 128) o.image.height = o.image.width = 4;

  static fuzz::ScratchDir scratch(fuzz::temp_dir("samples"));
  const fs::path& dir = scratch.path();
  scratch.clear();
  scratch.write(packed.files);
  read_all(g, dir, o);
  // Batch .npy files are read as files too, and so is each subfolder (one test-data sample).
  for (const fuzz::PackedFile& f : packed.files) {
    fs::path p = dir / f.name;
    if (p.extension() == ".npy" && f.name.find('/') == std::string::npos) read_all(g, p, o);
  }
  for (const fs::path& sub : scratch.subfolders()) read_all(g, sub, o);
  return 0;
}
