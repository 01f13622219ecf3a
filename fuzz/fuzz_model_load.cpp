// Fuzz target: ONNX model bytes -> IR (subgraphs, sparse initializers, attributes), then what `info`,
// `convert` and `run` do next: the summary, function expansion and export, whose result must import again.
// Expansion takes no op to have a kernel, so every model-local function and every standard op with a
// schema function is expanded (more than `run` expands, which keeps ops it has kernels for).
#include <cstdio>
#include <cstdlib>

#include "fuzz/fuzz_util.h"
#include "lib/function_inline.h"
#include "lib/model_info.h"
#include "lib/onnx_export.h"
#include "lib/onnx_import.h"

using namespace ortool;

namespace {

// An exported model that does not import again is a lossy export: report it as a crash.
void check_reimports(const ir::Model& m, const char* stage) {
  auto bytes = export_model_proto_bytes(m);
  if (!bytes.is_ok()) return;  // e.g. a model the import accepted but export refuses: an error, fine
  ImportOptions o;
  o.source_name = "exported.onnx";
  auto again = import_model_proto(*bytes, o);
  if (!again.is_ok()) {
    std::fprintf(stderr, "export after %s does not import again: %s\n", stage, again.status().message().c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ImportOptions o;
  o.source_name = "fuzz.onnx";
  auto model = import_model_proto(fuzz::as_view(data, size), o);
  if (!model.is_ok()) return 0;
  ir::Model& m = **model;
  (void)summarize_model(m);
  check_reimports(m, "import");
  auto no_kernel = [](const ir::Node&, int64_t) { return false; };
  if (!expand_functions(m, no_kernel).is_ok()) return 0;
  if (!m.graph->verify().is_ok()) {
    std::fprintf(stderr, "expand_functions succeeded but left a graph that fails verify()\n");
    std::abort();
  }
  check_reimports(m, "function expansion");
  return 0;
}
