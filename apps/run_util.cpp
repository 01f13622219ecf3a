// Shared model loading and one-shot execution for the runtime subcommands.
#include "apps/run_util.h"

#include <chrono>

#include "lib/function_inline.h"
#include "lib/model_io.h"
#include "lib/onnx_shape_inference.h"
#include "passes/optimize.h"
#include "runtime/provider.h"

namespace ortool::cli {

Result<LoadedModel> load_for_run(const std::string& path, const InputOptions& o) {
  LoadedModel m;
  m.path = path;
  ASSIGN_OR_RETURN(m.model, load_model(path));
  // Function calls (model-local, or standard ops defined by a function) without a kernel run as their bodies.
  auto has_kernel = [](const ir::Node& n, int64_t opset) {
    return rt::cpu_registry().find(n.domain(), n.op_type(), opset, DType::Undefined) != nullptr;
  };
  TRY(expand_functions(*m.model, has_kernel).with_context(path));
  // --shape is parsed against this model before anything uses it: the in-memory optimizer and the
  // session's input checks must see the bindings (callers may not have resolved them yet, and the
  // second model of `compare` may name its dims differently, so names it lacks are left to the caller).
  {
    auto resolved = resolve_shape_args(*m.model->graph, o.shapes, /*allow_unknown=*/true);
    if (!resolved.is_ok()) return resolved.status().with_context(path);
    m.shapes = std::move(resolved).value();
  }
  const ShapeBindings& shapes = m.shapes;
  if (o.optimize) {
    // What ONNX Runtime does at session creation: the same graph rewrites `ortool optimize` makes.
    passes::OptimizeOptions opt;
    opt.input_shapes = shapes.input_shapes;
    opt.dim_bindings = shapes.dim_bindings;
    opt.runtime_ops = true;  // the graph stays in memory: ortool-domain fusions are fine
    auto r = passes::optimize_model(*m.model, opt);
    if (!r.is_ok()) return r.status().with_context(path + ": optimizing before the run");
  } else {
    // Every value typed, as ONNX Runtime's session does: providers claim by static shapes (the int8
    // groups need them), so a file without value_info would otherwise run on the reference kernels.
    // A model onnx cannot infer still runs, with the types it declares.
    (void)infer_shapes(*m.model);
  }
  rt::SessionOptions so;
  so.threads = o.threads;
  so.spare_busy_cores = true;  // --threads is a ceiling: see rt::team_for_load
  so.dim_bindings = shapes.dim_bindings;
  apply_provider_options(o, so);
  so.profile = o.profile;
  TRY(apply_limit_options(o, so));
  m.session_options = so;
  auto s = rt::Session::create(*m.model, so);
  if (!s.is_ok()) return s.status().with_context(path);
  m.session = std::move(s).value();
  return m;
}

Result<std::vector<RValue>> run_once(LoadedModel& m, const rt::Feeds& feeds, double* ms) {
  auto t0 = std::chrono::steady_clock::now();
  auto r = m.session->run(feeds);
  auto t1 = std::chrono::steady_clock::now();
  if (ms) *ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
  if (!r.is_ok()) return r.status().with_context(m.path);
  return r;
}

}  // namespace ortool::cli
