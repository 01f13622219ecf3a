// Fuzz target: load + `ortool optimize` (passes/optimize.h, level extended: folding runs kernels on the
// file's constants) of small models. The result must pass Graph::verify() and export to a model that
// imports again. Inputs over 16 KiB, 64 nodes or 64 KiB of constants are skipped to keep each run short.
#include <cstdio>
#include <cstdlib>

#include "fuzz/fuzz_util.h"
#include "lib/onnx_export.h"
#include "lib/onnx_import.h"
#include "passes/optimize.h"

using namespace ortool;

namespace {

constexpr size_t kMaxInputBytes = 16 << 10;
constexpr size_t kMaxNodes = 64;
constexpr size_t kMaxConstantBytes = 64 << 10;

void count(const ir::Graph& g, size_t& nodes, size_t& bytes) {
  for (const ir::Value* v : g.initializers())
    if (v->constant()) bytes += v->constant()->nbytes();
  for (const ir::Node* n : g.nodes()) {
    ++nodes;
    for (const ir::Attribute& a : n->attributes()) {
      if (a.t) bytes += a.t->nbytes();
      for (const TensorPtr& t : a.tensors)
        if (t) bytes += t->nbytes();
    }
    for (const ir::Graph* sg : n->subgraphs()) count(*sg, nodes, bytes);
  }
}

[[noreturn]] void fail(const char* what, const std::string& message) {
  std::fprintf(stderr, "optimize_model succeeded but %s: %s\n", what, message.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kMaxInputBytes) return 0;
  ImportOptions io;
  io.source_name = "fuzz.onnx";
  auto model = import_model_proto(fuzz::as_view(data, size), io);
  if (!model.is_ok()) return 0;
  ir::Model& m = **model;
  size_t nodes = 0, bytes = 0;
  count(*m.graph, nodes, bytes);
  if (nodes > kMaxNodes || bytes > kMaxConstantBytes) return 0;

  passes::OptimizeOptions o;
  o.fold_max_bytes = 64 << 10;  // folded outputs stay small: a fuzzed Expand must not allocate gigabytes
  o.max_rewrites = 10000;
  o.max_iterations = 8;
  auto report = passes::optimize_model(m, o);
  if (!report.is_ok()) return 0;
  if (Status st = m.graph->verify(); !st.is_ok()) fail("the graph fails verify()", st.message());
  auto exported = export_model_proto_bytes(m);
  if (!exported.is_ok()) return 0;
  ImportOptions again;
  again.source_name = "optimized.onnx";
  auto back = import_model_proto(*exported, again);
  if (!back.is_ok()) fail("its export does not import again", back.status().message());
  return 0;
}
