// Tests of runtime/samples: every sample layout (files, test-data subfolders, one test-data folder,
// batch .npy, images, random), laziness, and errors that name the file and the input.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "../lib/io_test_util.h"
#include "lib/graph.h"
#include "lib/image.h"
#include "lib/npy.h"
#include "lib/tensor_proto.h"
#include "lib/value_proto.h"
#include "runtime/samples.h"

namespace fs = std::filesystem;
using namespace ortool;
using namespace ortool::ir;

namespace {

// A graph with the given float inputs (and one output, Identity of the first input).
std::unique_ptr<Model> model_with_inputs(const std::vector<std::pair<std::string, Shape>>& inputs,
                                         DType dtype = DType::Float) {
  auto m = std::make_unique<Model>();
  m->set_opset("", 13);
  Graph& g = *m->graph;
  std::vector<Value*> vs;
  for (const auto& [name, shape] : inputs) {
    Value* v = g.add_value(name);
    v->type = Type::tensor(dtype, shape);
    g.add_input(v);
    vs.push_back(v);
  }
  Node* n = g.add_node("Identity", "", {vs[0]}, {"y"}, "id");
  n->output(0)->type = vs[0]->type;
  g.add_output(n->output(0));
  return m;
}

Shape batch_x3() { return Shape{Dim::symbol("N"), Dim::known(3)}; }

Tensor iota(std::vector<int64_t> dims, float base = 0) {
  Tensor t(DType::Float, std::move(dims));
  for (int64_t i = 0; i < t.numel(); ++i) t.mutable_data<float>()[i] = base + static_cast<float>(i);
  return t;
}

void save(const Tensor& t, const fs::path& p) { REQUIRE(write_npy(t, p).is_ok()); }

std::unique_ptr<rt::SampleSource> open_ok(const Graph& g, const fs::path& p, const rt::SampleOptions& o = {}) {
  auto s = rt::open_samples(g, p, o);
  REQUIRE_MESSAGE(s.is_ok(), s.status().message());
  return std::move(s).value();
}

rt::Sample get_ok(const rt::SampleSource& s, size_t i) {
  auto r = s.get(i);
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  return std::move(r).value();
}

std::string open_error(const Graph& g, const fs::path& p, const rt::SampleOptions& o = {}) {
  auto s = rt::open_samples(g, p, o);
  return s.is_ok() ? std::string("(opened)") : s.status().message();
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

fs::path images() { return fs::path(ORTOOL_SOURCE_DIR) / "testdata" / "images"; }

}  // namespace

TEST_CASE("a folder of .npy and .pb files: one sample per file, in name order, read on get()") {
  auto m = model_with_inputs({{"x", batch_x3()}});
  testing::TempDir tmp;
  save(iota({1, 3}, 10), tmp / "b.npy");
  save(iota({2, 3}, 0), tmp / "a.npy");
  REQUIRE(write_tensor_pb(iota({1, 3}, 20), tmp / "c.pb").is_ok());
  testing::write_bytes(tmp / "README.txt", "ignored");
  testing::write_bytes(tmp / ".hidden.npy", "ignored too");
  auto s = open_ok(*m->graph, tmp.path());
  REQUIRE(s->size() == 3);
  CHECK(has(s->describe(), "3 tensor files"));
  rt::Sample a = get_ok(*s, 0);
  CHECK(a.label == "a.npy");
  CHECK(a.feeds.at("x").tensor.dims() == std::vector<int64_t>{2, 3});
  CHECK(get_ok(*s, 1).feeds.at("x").tensor.data<float>()[0] == 10);
  CHECK(get_ok(*s, 2).feeds.at("x").tensor.data<float>()[2] == 22);
  CHECK(!s->get(3).is_ok());
  // Lazy: a file removed after opening fails only when read, naming it.
  fs::remove(tmp / "b.npy");
  auto gone = s->get(1);
  CHECK(!gone.is_ok());
  CHECK(has(gone.status().message(), "b.npy"));
  CHECK(get_ok(*s, 0).label == "a.npy");
}

TEST_CASE("wrong shape, type or rank in a sample file names the file and the input") {
  auto m = model_with_inputs({{"x", batch_x3()}});
  testing::TempDir tmp;
  save(iota({1, 4}), tmp / "s0.npy");
  Tensor d(DType::Double, {1, 3});
  save(d, tmp / "s1.npy");
  save(iota({3}), tmp / "s2.npy");
  auto s = open_ok(*m->graph, tmp.path());
  std::string e0 = s->get(0).status().message(), e1 = s->get(1).status().message(), e2 = s->get(2).status().message();
  CHECK(has(e0, "s0.npy"));
  CHECK(has(e0, "input 'x'"));
  CHECK(has(e0, "[1,4]"));
  CHECK(has(e1, "s1.npy"));
  CHECK(has(e1, "element type float32, got float64"));
  CHECK(has(e2, "s2.npy"));
  CHECK(has(e2, "rank 1"));
}

TEST_CASE("subfolders in ONNX test-data layout: one sample each, stored outputs on request") {
  auto m = model_with_inputs({{"x", batch_x3()}, {"z", Shape{Dim::known(2)}}});
  testing::TempDir tmp;
  for (int k = 0; k < 2; ++k) {
    fs::path d = tmp / ("test_data_set_" + std::to_string(k));
    fs::create_directory(d);
    REQUIRE(write_value_pb(RValue(iota({1, 3}, static_cast<float>(k))), "x", m->graph->inputs()[0]->type, d / "input_0.pb").is_ok());
    REQUIRE(write_value_pb(RValue(iota({2}, 5)), "z", m->graph->inputs()[1]->type, d / "input_1.pb").is_ok());
    REQUIRE(write_value_pb(RValue(iota({1, 3}, 100)), "y", m->graph->outputs()[0]->type, d / "output_0.pb").is_ok());
  }
  testing::write_bytes(tmp / "model.onnx.txt", "other files beside the sets are skipped");
  auto s = open_ok(*m->graph, tmp.path());
  REQUIRE(s->size() == 2);
  rt::Sample one = get_ok(*s, 1);
  CHECK(one.label == "test_data_set_1");
  CHECK(one.feeds.at("x").tensor.data<float>()[0] == 1);
  CHECK(one.feeds.at("z").tensor.data<float>()[1] == 6);
  CHECK(one.expected.empty());
  rt::SampleOptions with_outputs;
  with_outputs.expected_outputs = true;
  auto e = open_ok(*m->graph, tmp.path(), with_outputs);
  rt::Sample ex = get_ok(*e, 0);
  REQUIRE(ex.expected.size() == 1);
  CHECK(ex.expected[0].tensor.data<float>()[0] == 100);
  // One test-data folder on its own is one sample (inputs and outputs together).
  auto single = open_ok(*m->graph, tmp / "test_data_set_0", with_outputs);
  REQUIRE(single->size() == 1);
  CHECK(get_ok(*single, 0).expected.size() == 1);
  // Stored outputs asked for where there are none: an error naming the folder.
  fs::remove(tmp / "test_data_set_1" / "output_0.pb");
  auto missing = e->get(1);
  CHECK(!missing.is_ok());
  CHECK(has(missing.status().message(), "test_data_set_1"));
  CHECK(has(missing.status().message(), "output_K.pb"));
  // A subfolder missing an input names it and the input.
  fs::remove(tmp / "test_data_set_0" / "input_1.pb");
  auto no_z = s->get(0);
  CHECK(!no_z.is_ok());
  CHECK(has(no_z.status().message(), "test_data_set_0"));
  CHECK(has(no_z.status().message(), "'z'"));
}

TEST_CASE("a batch .npy splits along its first axis, one slice per get()") {
  testing::TempDir tmp;
  save(iota({5, 3}), tmp / "batch.npy");
  SUBCASE("symbolic batch: samples of 1") {
    auto m = model_with_inputs({{"x", batch_x3()}});
    auto s = open_ok(*m->graph, tmp / "batch.npy");
    REQUIRE(s->size() == 5);
    for (size_t i = 0; i < 5; ++i) {
      rt::Sample x = get_ok(*s, i);
      const Tensor& t = x.feeds.at("x").tensor;
      REQUIRE(t.dims() == std::vector<int64_t>{1, 3});
      for (int64_t k = 0; k < 3; ++k) CHECK(t.data<float>()[k] == static_cast<float>(i * 3 + static_cast<size_t>(k)));
      CHECK(x.label == "batch.npy #" + std::to_string(i));
    }
    CHECK(!s->get(5).is_ok());
  }
  SUBCASE("an input without a batch axis: one row per sample") {
    auto m = model_with_inputs({{"x", Shape{Dim::known(3)}}});
    auto s = open_ok(*m->graph, tmp / "batch.npy");
    REQUIRE(s->size() == 5);
    CHECK(get_ok(*s, 4).feeds.at("x").tensor.dims() == std::vector<int64_t>{3});
    CHECK(get_ok(*s, 4).feeds.at("x").tensor.data<float>()[0] == 12);
  }
  SUBCASE("a fixed batch takes slices of its size, and must divide the rows") {
    save(iota({6, 3}), tmp / "six.npy");
    auto m = model_with_inputs({{"x", Shape{Dim::known(2), Dim::known(3)}}});
    auto s = open_ok(*m->graph, tmp / "six.npy");
    REQUIRE(s->size() == 3);
    CHECK(get_ok(*s, 2).feeds.at("x").tensor.data<float>()[0] == 12);
    std::string e = open_error(*m->graph, tmp / "batch.npy");
    CHECK(has(e, "5 rows do not split into batches of 2"));
  }
  SUBCASE("wrong element type, trailing dims, rank: errors at open naming the file and input") {
    auto m = model_with_inputs({{"x", batch_x3()}});
    Tensor d(DType::Double, {4, 3});
    save(d, tmp / "double.npy");
    save(iota({4, 5}), tmp / "wide.npy");
    save(iota({2, 2, 2, 3}), tmp / "rank4.npy");
    save(iota({0, 3}), tmp / "empty.npy");
    for (auto [file, part] : {std::pair{"double.npy", "element type float32, got float64"}, std::pair{"wide.npy", "[1,5]"},
                              std::pair{"rank4.npy", "does not fit input 'x'"}, std::pair{"empty.npy", "no samples"}}) {
      std::string e = open_error(*m->graph, tmp / file);
      INFO(e);
      CHECK(has(e, file));
      CHECK(has(e, part));
    }
    testing::write_bytes(tmp / "junk.npy", "not numpy");
    CHECK(has(open_error(*m->graph, tmp / "junk.npy"), "junk.npy"));
  }
  SUBCASE("models of several inputs cannot take a batch .npy") {
    auto m = model_with_inputs({{"x", batch_x3()}, {"z", batch_x3()}});
    std::string e = open_error(*m->graph, tmp / "batch.npy");
    CHECK(has(e, "batch.npy"));
    CHECK(has(e, "x, z"));
  }
}

TEST_CASE("a folder of images: resized, normalized, laid out as the input wants") {
  testing::TempDir tmp;
  fs::copy_file(images() / "rgb_4x5.png", tmp / "a.png");
  fs::copy_file(images() / "photo_12x16.jpg", tmp / "b.JPG");
  auto ref = read_image(images() / "rgb_4x5.png", 3);
  REQUIRE(ref.is_ok());
  SUBCASE("NCHW from the shape, default scale 1/255") {
    auto m = model_with_inputs({{"img", Shape{Dim::symbol("N"), Dim::known(3), Dim::known(4), Dim::known(5)}}});
    auto s = open_ok(*m->graph, tmp.path());
    REQUIRE(s->size() == 2);
    CHECK(has(s->describe(), "2 images, 4x5 NCHW RGB"));
    rt::Sample a = get_ok(*s, 0);
    const Tensor& t = a.feeds.at("img").tensor;
    REQUIRE(t.dims() == std::vector<int64_t>{1, 3, 4, 5});
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t p = 0; p < 20; ++p)
        CHECK(std::fabs(t.data<float>()[c * 20 + p] - ref->pixels[static_cast<size_t>(p * 3 + c)] / 255.0) < 1e-6);
    CHECK(get_ok(*s, 1).feeds.at("img").tensor.dims() == std::vector<int64_t>{1, 3, 4, 5});  // the JPEG, resized
  }
  SUBCASE("NHWC from the shape, BGR, mean and std") {
    auto m = model_with_inputs({{"img", Shape{Dim::known(1), Dim::known(4), Dim::known(5), Dim::known(3)}}});
    rt::SampleOptions o;
    o.image.channel_order = ChannelOrder::BGR;
    o.image.scale = 1.0;
    o.image.mean = {100, 110, 120};
    o.image.std = {2};
    auto s = open_ok(*m->graph, tmp.path(), o);
    rt::Sample smp = get_ok(*s, 0);
    const Tensor& t = smp.feeds.at("img").tensor;
    REQUIRE(t.dims() == std::vector<int64_t>{1, 4, 5, 3});
    for (int64_t p = 0; p < 20; ++p)
      for (int64_t c = 0; c < 3; ++c)
        CHECK(std::fabs(t.data<float>()[p * 3 + c] -
                        (ref->pixels[static_cast<size_t>(p * 3 + (2 - c))] - o.image.mean[static_cast<size_t>(c)]) / 2.0) <
              1e-5);
  }
  SUBCASE("symbolic height and width take --image-size; uint8 inputs take pixels") {
    auto m = model_with_inputs({{"img", Shape{Dim::symbol("N"), Dim::known(3), Dim::symbol("H"), Dim::symbol("W")}}},
                               DType::UInt8);
    CHECK(has(open_error(*m->graph, tmp.path()), "give the image size"));
    rt::SampleOptions o;
    o.image.height = 8;
    o.image.width = 10;
    auto s = open_ok(*m->graph, tmp.path(), o);
    rt::Sample smp = get_ok(*s, 0);
    const Tensor& t = smp.feeds.at("img").tensor;
    CHECK(t.dtype() == DType::UInt8);
    CHECK(t.dims() == std::vector<int64_t>{1, 3, 8, 10});
    o.image.mean = {0.5};
    CHECK(has(open_error(*m->graph, tmp.path(), o), "uint8"));
  }
  SUBCASE("one gray channel; rank 3 without a batch") {
    auto m = model_with_inputs({{"img", Shape{Dim::known(1), Dim::known(4), Dim::known(5)}}});
    auto s = open_ok(*m->graph, tmp.path());
    rt::Sample smp = get_ok(*s, 0);
    const Tensor& t = smp.feeds.at("img").tensor;
    CHECK(t.dims() == std::vector<int64_t>{1, 4, 5});
  }
  SUBCASE("inputs images cannot feed") {
    auto four = model_with_inputs({{"img", Shape{Dim::known(1), Dim::known(4), Dim::known(8), Dim::known(8)}}});
    CHECK(has(open_error(*four->graph, tmp.path()), "4 channels"));
    auto batch = model_with_inputs({{"img", Shape{Dim::known(2), Dim::known(3), Dim::known(4), Dim::known(5)}}});
    CHECK(has(open_error(*batch->graph, tmp.path()), "a batch of 2"));
    auto ints = model_with_inputs({{"img", Shape{Dim::known(1), Dim::known(3), Dim::known(4), Dim::known(5)}}},
                                  DType::Int64);
    CHECK(has(open_error(*ints->graph, tmp.path()), "float or uint8"));
    auto fixed = model_with_inputs({{"img", Shape{Dim::known(1), Dim::known(3), Dim::known(4), Dim::known(5)}}});
    rt::SampleOptions o;
    o.image.height = 7;
    o.image.width = 7;
    CHECK(has(open_error(*fixed->graph, tmp.path(), o), "do not fit"));
    o = {};
    o.image.mean = {1, 2};
    CHECK(has(open_error(*fixed->graph, tmp.path(), o), "mean has 2 values"));
  }
  SUBCASE("an unreadable image fails when read, naming the file and the input") {
    testing::write_bytes(tmp / "c.png", "not a png");
    auto m = model_with_inputs({{"img", Shape{Dim::known(1), Dim::known(3), Dim::known(4), Dim::known(5)}}});
    auto s = open_ok(*m->graph, tmp.path());
    REQUIRE(s->size() == 3);
    auto bad = s->get(2);
    CHECK(!bad.is_ok());
    CHECK(has(bad.status().message(), "c.png"));
  }
}

TEST_CASE("folders with no samples, mixed kinds, or loose files for stored outputs are errors") {
  auto m = model_with_inputs({{"x", batch_x3()}});
  testing::TempDir tmp;
  fs::create_directory(tmp / "empty");
  testing::write_bytes(tmp / "empty" / "notes.txt", "no samples here");
  CHECK(has(open_error(*m->graph, tmp / "empty"), "no samples"));
  fs::create_directory(tmp / "mixed");
  save(iota({1, 3}), tmp / "mixed" / "a.npy");
  fs::copy_file(images() / "rgb_4x5.png", tmp / "mixed" / "b.png");
  CHECK(has(open_error(*m->graph, tmp / "mixed"), "mixes tensor files and images"));
  fs::create_directory(tmp / "loose");
  save(iota({1, 3}), tmp / "loose" / "a.npy");
  rt::SampleOptions o;
  o.expected_outputs = true;
  CHECK(has(open_error(*m->graph, tmp / "loose", o), "test-data folders"));
  CHECK(has(open_error(*m->graph, tmp / "nowhere"), "no such file"));
  testing::write_bytes(tmp / "x.txt", "a file");
  CHECK(has(open_error(*m->graph, tmp / "x.txt"), ".npy whose first axis is the batch"));
  auto two = model_with_inputs({{"x", batch_x3()}, {"z", batch_x3()}});
  CHECK(has(open_error(*two->graph, tmp / "loose"), "use one subfolder per sample"));
}

TEST_CASE("random samples are seeded per sample, first_samples takes a prefix") {
  auto m = model_with_inputs({{"x", batch_x3()}});
  auto s = rt::random_samples(*m->graph, 4, 7, {}, {{"N", 2}});
  REQUIRE(s->size() == 4);
  rt::Sample a = get_ok(*s, 1), b = get_ok(*s, 1), c = get_ok(*s, 2);
  CHECK(a.label == "random #1");
  CHECK(a.feeds.at("x").tensor.dims() == std::vector<int64_t>{2, 3});
  CHECK(a.feeds.at("x").tensor.equals(b.feeds.at("x").tensor));
  CHECK(!a.feeds.at("x").tensor.equals(c.feeds.at("x").tensor));
  auto direct = rt::random_inputs(*m->graph, 8, {}, {{"N", 2}});
  REQUIRE(direct.is_ok());
  CHECK(a.feeds.at("x").tensor.equals(direct->at("x").tensor));
  auto first = rt::first_samples(std::move(s), 2);
  CHECK(first->size() == 2);
  CHECK(!first->get(2).is_ok());
  CHECK(has(first->describe(), "the first 2 of 4 random samples"));
  CHECK(rt::first_samples(rt::random_samples(*m->graph, 3, 0, {}, {}), 10)->size() == 3);
}

TEST_CASE("check_feeds names unknown, missing and mistyped inputs with the label") {
  auto m = model_with_inputs({{"x", batch_x3()}});
  rt::Feeds ok{{"x", RValue(iota({2, 3}))}};
  CHECK(rt::check_feeds(*m->graph, ok, "here").is_ok());
  rt::Feeds unknown{{"x", RValue(iota({2, 3}))}, {"w", RValue(iota({1}))}};
  CHECK(has(rt::check_feeds(*m->graph, unknown, "here").message(), "here: the model has no input named 'w'"));
  CHECK(has(rt::check_feeds(*m->graph, {}, "here").message(), "here: input 'x'"));
  rt::Feeds wrong{{"x", RValue(iota({2, 4}))}};
  CHECK(has(rt::check_feeds(*m->graph, wrong, "here").message(), "dim 1 differs"));
}
