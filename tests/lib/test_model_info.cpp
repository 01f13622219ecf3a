// Tests of lib/model_info, lib/onnx_shape_inference and lib/onnx_check on the models in testdata/.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "lib/model_info.h"
#include "lib/model_io.h"
#include "lib/onnx_check.h"
#include "lib/onnx_shape_inference.h"

namespace fs = std::filesystem;
using namespace ortool;

namespace {

fs::path testdata(const char* name) { return fs::path(ORTOOL_SOURCE_DIR) / "testdata" / name; }

std::unique_ptr<ir::Model> load(const char* name) {
  auto m = load_model(testdata(name));
  INFO(m.status().message());
  REQUIRE(m.is_ok());
  return std::move(m).value();
}

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("ortool_info_test_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("model_info: the small conv net") {
  Result<ModelInfo> r = inspect_model_file(testdata("small_convnet.onnx"));
  REQUIRE(r.is_ok());
  const ModelInfo& info = r.value();
  CHECK(info.producer_name == "ortool-testdata");
  CHECK(info.producer_version == "1");
  CHECK(info.ir_version == 8);
  REQUIRE(info.opsets.size() == 1);
  CHECK(info.opsets[0] == std::pair<std::string, int64_t>("ai.onnx", 13));
  REQUIRE(info.inputs.size() == 1);
  CHECK(info.inputs[0].name == "input");
  CHECK(info.inputs[0].type == "float32[batch,3,32,32]");
  REQUIRE(info.outputs.size() == 1);
  CHECK(info.outputs[0].type == "float32[batch,10]");
  CHECK(info.node_count == 10);
  CHECK(info.op_counts.at("Conv") == 2);
  CHECK(info.op_counts.at("Relu") == 2);
  CHECK(info.op_counts.at("Constant") == 1);
  CHECK(info.op_counts.size() == 8);
  CHECK(info.subgraph_count == 0);
  // w1 8x3x3x3 + b1 8 + w2 (Constant) 16x8x3x3 + w3 16x10 + b3 10
  CHECK(info.parameter_count == 216 + 8 + 1152 + 160 + 10);
  CHECK(info.parameter_bytes == 4 * (216 + 8 + 1152 + 160 + 10));
  // conv1 8x32x32 outputs x 27, conv2 16x16x16 x 72, fc 10 x 16; batch taken as 1
  CHECK(info.macs == 8 * 32 * 32 * 27 + 16 * 16 * 16 * 72 + 10 * 16);
  CHECK(info.macs_nodes == 3);
  CHECK(info.macs_unknown_nodes == 0);
  CHECK(info.macs_symbols == std::vector<std::string>{"batch"});
  CHECK(info.shape_inference == "onnx");
}

TEST_CASE("model_info: subgraphs count for parameters and MACs, not for node_count") {
  Result<ModelInfo> r = inspect_model_file(testdata("if_matmul.onnx"));
  REQUIRE(r.is_ok());
  CHECK(r->node_count == 1);
  CHECK(r->op_counts.at("If") == 1);
  CHECK(r->subgraph_count == 2);
  CHECK(r->parameter_count == 24);
  CHECK(r->parameter_bytes == 96);
  CHECK(r->macs == 2 * 2 * 3 * 4);
  CHECK(r->macs_symbols.empty());
}

TEST_CASE("model_info: without shape inference, MACs of intermediate values are unknown") {
  auto m = load("small_convnet.onnx");
  ModelInfo info = summarize_model(*m);
  // conv1 reads the graph input, but its output type is only known after inference.
  CHECK(info.macs_nodes == 0);
  CHECK(info.macs_unknown_nodes == 3);
}

TEST_CASE("infer_shapes: types written back, value_info order kept and new values appended") {
  auto m = load("small_convnet.onnx");
  ir::Graph& g = *m->graph;
  // Pretend the file annotated 'r2' already: it must stay first.
  ir::Value* r2 = g.find_value("r2");
  REQUIRE(r2);
  g.value_info = {r2};
  ShapeInferenceReport report;
  REQUIRE(infer_shapes(*m, &report).is_ok());
  CHECK(report.ran);
  CHECK(report.note.empty());
  REQUIRE(g.value_info.size() >= 2);
  CHECK(g.value_info[0] == r2);
  CHECK(g.value_info[1]->name() == "c1");
  CHECK(g.find_value("c1")->type.to_string() == "float32[batch,8,32,32]");
  CHECK(g.find_value("p1")->type.to_string() == "float32[batch,8,16,16]");
  CHECK(g.find_value("logits")->type.to_string() == "float32[batch,10]");
  for (const ir::Value* v : g.value_info) {
    CHECK_FALSE(v->is_graph_input());
    CHECK_FALSE(v->is_graph_output());
  }
  CHECK(g.verify().is_ok());
}

TEST_CASE("infer_shapes: a value typed in memory but not listed gets listed, so export writes its type") {
  // A pass that types a new value without listing it left onnx's version converter without ranks.
  auto m = load("small_convnet.onnx");
  ir::Graph& g = *m->graph;
  REQUIRE(infer_shapes(*m).is_ok());
  ir::Value* c1 = g.find_value("c1");
  REQUIRE(c1);
  const Type typed = c1->type;
  g.value_info.clear();
  REQUIRE(infer_shapes(*m).is_ok());
  CHECK(c1->type == typed);
  CHECK(std::find(g.value_info.begin(), g.value_info.end(), c1) != g.value_info.end());
}

TEST_CASE("infer_shapes: subgraph values get types too") {
  auto m = load("if_matmul.onnx");
  REQUIRE(infer_shapes(*m).is_ok());
  ir::Node* if_node = m->graph->nodes().front();
  std::vector<ir::Graph*> subs = if_node->subgraphs();
  REQUIRE(subs.size() == 2);
  for (ir::Graph* sg : subs) {
    ir::Value* w = sg->find_value("then_w") ? sg->find_value("then_w") : sg->find_value("else_w");
    REQUIRE(w);
    CHECK(w->type.to_string() == "float32[4,3]");
  }
}

TEST_CASE("infer_shapes: an opset newer than libonnx knows is skipped, not refused") {
  auto m = load("small_convnet.onnx");
  m->set_opset("", 99);
  ShapeInferenceReport report;
  REQUIRE(infer_shapes(*m, &report).is_ok());
  CHECK_FALSE(report.ran);
  CHECK(report.note.find("opset 99") != std::string::npos);
  CHECK(m->graph->find_value("c1")->type.kind == Type::Kind::None);
  CHECK(opsets_newer_than_onnx(*m).find("ai.onnx opset 99") != std::string::npos);
  CHECK(opset_newer_than_onnx("", 17).empty());
  CHECK(opset_newer_than_onnx("com.example", 500).empty());
}

TEST_CASE("infer_shapes: conv nodes that would crash libonnx's inference skip it (zero strides, weight rank)") {
  // libonnx 1.12 divides by the strides and reads one kernel dim per spatial input axis unchecked
  // (SIGFPE and SIGSEGV found by tests/cli/bad_inputs_matrix.py); the kernels refuse such nodes later.
  for (int variant = 0; variant < 2; ++variant) {
    auto m = load("small_convnet.onnx");
    ir::Graph& g = *m->graph;
    ir::Node* conv = g.find_value("c1")->producer();
    REQUIRE(conv);
    if (variant == 0) {
      conv->set_attr(ir::Attribute::make_ints("strides", {0, 0}));
    } else {
      auto flat = std::make_shared<const Tensor>(DType::Float, std::vector<int64_t>{8, 27});
      g.set_input(conv, 1, g.add_initializer("w_flat", flat));
    }
    ShapeInferenceReport report;
    REQUIRE(infer_shapes(*m, &report).is_ok());
    CHECK_FALSE(report.ran);
    CHECK(report.note.find("'" + conv->name + "'") != std::string::npos);
    CHECK(report.note.find(variant == 0 ? "strides 0" : "rank-2 weight for a rank-4 input") != std::string::npos);
  }
}

TEST_CASE("infer_shapes: a node without a required attribute (or with it of another type) skips libonnx's inference") {
  // Found by fuzz/fuzz_optimize: libonnx 1.12's Scan shape function dereferences num_scan_inputs unchecked
  // (SIGSEGV); the runtime's Scan kernel refuses the node later with a clean error.
  const fs::path file = fs::path(ORTOOL_SOURCE_DIR) / "fuzz" / "corpus" / "optimize" / "regression_scan_without_num_scan_inputs";
  for (int variant = 0; variant < 2; ++variant) {
    auto m = load_model(file);
    REQUIRE_MESSAGE(m.is_ok(), m.status().message());
    ir::Node* scan = (*m)->graph->nodes().front();
    REQUIRE(scan->op_type() == "Scan");
    if (variant == 1) scan->set_attr(ir::Attribute::make_float("num_scan_inputs", 1.0f));
    ShapeInferenceReport report;
    REQUIRE(infer_shapes(**m, &report).is_ok());
    CHECK_FALSE(report.ran);
    CHECK(report.note.find(variant == 0 ? "lacks its required attribute 'num_scan_inputs'"
                                        : "has attribute 'num_scan_inputs' of the wrong type") != std::string::npos);
  }
  // With the attribute, inference runs.
  auto m = load_model(file);
  REQUIRE(m.is_ok());
  (*m)->graph->nodes().front()->set_attr(ir::Attribute::make_int("num_scan_inputs", 1));
  ShapeInferenceReport report;
  CHECK(infer_shapes(**m, &report).is_ok());
  CHECK(report.ran);
}

TEST_CASE("onnx_check: a good model passes, an unknown op is a finding (exit code 1)") {
  TempDir tmp;
  auto m = load("small_convnet.onnx");
  fs::path good = tmp.path / "good.onnx";
  REQUIRE(save_model(*m, good).is_ok());
  OnnxCheckReport report;
  Status st = onnx_check_model_file(good, true, &report);
  INFO(st.message());
  CHECK(st.is_ok());
  CHECK(report.full_check_ran);

  ir::Graph& g = *m->graph;
  ir::Node* n = g.add_node("NoSuchOp", "", {g.find_value("probs")}, {"z"}, "mystery");
  n->output(0)->type = Type::tensor(DType::Float, shape_from_dims({1, 10}));
  g.add_output(n->output(0));
  fs::path bad = tmp.path / "bad.onnx";
  REQUIRE(save_model(*m, bad).is_ok());
  Status finding = onnx_check_model_file(bad, true);
  CHECK(finding.code() == StatusCode::kCheckFailed);
  CHECK(finding.exit_code() == 1);
  CHECK(finding.message().find("bad.onnx") != std::string::npos);
  CHECK(finding.message().find("NoSuchOp") != std::string::npos);

  Status missing = onnx_check_model_file(tmp.path / "missing.onnx", true);
  CHECK(missing.exit_code() == 2);
}

TEST_CASE("onnx_check: external data is found beside the model, wherever the process runs") {
  TempDir tmp;
  auto m = load("small_convnet.onnx");
  SaveOptions opts;
  opts.external_data = true;
  opts.threshold = 16;
  fs::path out = tmp.path / "ext.onnx";
  Result<SaveInfo> saved = save_model(*m, out, opts);
  REQUIRE(saved.is_ok());
  CHECK(saved->used_external_data);
  Status st = onnx_check_model_file(out, true);
  INFO(st.message());
  CHECK(st.is_ok());
}
