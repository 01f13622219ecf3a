// Checking that an optimized model computes what the original did, on seeded random inputs.
#include "passes/equivalence_check.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>

#include "lib/function_inline.h"
#include "lib/model_clone.h"
#include "runtime/feeds.h"
#include "runtime/provider.h"
#include "runtime/session.h"

namespace ortool::passes {

namespace {

double elapsed_ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// A session for `m` as `ortool run` makes one: where the model calls functions that have no kernel
// (model-local functions, ops defined by a function body), a copy (`expanded`) runs their bodies.
Result<std::unique_ptr<rt::Session>> create_session(const ir::Model& m, const rt::SessionOptions& so,
                                                    std::unique_ptr<ir::Model>& expanded) {
  auto s = rt::Session::create(m, so);
  if (s.is_ok()) return s;
  auto copy = clone_model(m);
  if (!copy.is_ok()) return s;
  expanded = std::move(copy).value();
  auto has_kernel = [](const ir::Node& n, int64_t opset) {
    return rt::cpu_registry().find(n.domain(), n.op_type(), opset, DType::Undefined) != nullptr;
  };
  ExpandReport expand;
  if (!expand_functions(*expanded, has_kernel, {}, &expand).is_ok() || expand.calls_expanded == 0) return s;
  return rt::Session::create(*expanded, so);
}

// The whole-output gate (see check_equivalence): an SQNR below -20 log10(rtol). SQNR is undefined
// where the reference is all zero and the output is not: atol alone judges that.
bool below_relative_gate(const CompareStats& s, double rtol) {
  if (rtol <= 0 || !s.mismatch.empty() || !s.sqnr_db) return false;
  return *s.sqnr_db < -20 * std::log10(rtol);
}

// Keeps the worse of two comparisons of the same output.
void keep_worst(CompareStats& acc, const CompareStats& s, bool first) {
  if (first || !s.mismatch.empty() || s.failed > acc.failed || (s.failed == acc.failed && s.max_abs > acc.max_abs))
    acc = s;
}

}  // namespace

Result<CheckReport> check_equivalence(const ir::Model& original, const ir::Model& optimized, const CheckOptions& o) {
  CheckReport report;
  rt::SessionOptions so;
  so.threads = o.threads;
  so.dim_bindings = o.dim_bindings;
  so.max_memory_bytes = o.max_memory_bytes;
  so.max_loop_iterations = o.max_loop_iterations;
  std::unique_ptr<ir::Model> original_expanded, optimized_expanded;
  auto before = create_session(original, so, original_expanded);
  // A model the runtime refuses as broken (a quantization scale of 0, a node against its schema) or too
  // large for the limits is an answer, not a reason to skip; one it cannot run (an op without a kernel,
  // a model meant for another runtime) only skips the check.
  if (!before.is_ok() && (before.status().code() == StatusCode::kInvalid ||
                          before.status().code() == StatusCode::kResourceLimit))
    return before.status().with_context("the check's session for the original model (--check 0 skips it)");
  if (!before.is_ok()) {
    report.skipped_reason = fmt::format("the original model cannot run here: {}", before.status().message());
    return report;
  }
  auto after = create_session(optimized, so, optimized_expanded);
  if (!after.is_ok() && after.status().code() == StatusCode::kResourceLimit)
    return after.status().with_context("the check's session for the optimized model (--check 0 skips it)");
  if (!after.is_ok()) {
    report.ran = true;
    report.passed = false;
    report.failure = fmt::format("the optimized model cannot run: {}", after.status().message());
    return report;
  }
  const ir::Graph& g = *optimized.graph;
  for (int r = 0; r < o.runs; ++r) {
    auto feeds = rt::random_inputs(g, o.seed + static_cast<uint64_t>(r), o.input_shapes, o.dim_bindings);
    if (!feeds.is_ok()) {
      report.skipped_reason = fmt::format("no random inputs for the model: {}", feeds.status().message());
      return report;
    }
    auto t0 = std::chrono::steady_clock::now();
    auto want = (*before)->run(*feeds);
    report.original_ms = elapsed_ms(t0);
    // A limit the user set is an answer, not a reason to skip: the check cannot run within it.
    if (!want.is_ok() && want.status().code() == StatusCode::kResourceLimit)
      return want.status().with_context("the check's run of the original model (--check 0 skips it)");
    if (!want.is_ok()) {
      report.skipped_reason = fmt::format("the original model fails on random inputs: {}", want.status().message());
      return report;
    }
    t0 = std::chrono::steady_clock::now();
    auto got = (*after)->run(*feeds);
    report.optimized_ms = elapsed_ms(t0);
    report.ran = true;
    report.runs = r + 1;
    if (!got.is_ok()) {
      report.passed = false;
      report.failure = fmt::format("the optimized model fails where the original runs: {}", got.status().message());
      return report;
    }
    if (want->size() != got->size()) {
      report.passed = false;
      report.failure = fmt::format("{} outputs instead of {}", got->size(), want->size());
      return report;
    }
    report.outputs.resize(want->size());
    for (size_t i = 0; i < want->size(); ++i) {
      OutputCheck& oc = report.outputs[i];
      oc.name = original.graph->outputs()[i]->name();
      const RValue &a = (*want)[i], &b = (*got)[i];
      CompareStats s;
      if (a.kind != b.kind) {
        s.mismatch = "different kinds of value";
      } else if (a.is_tensor()) {
        s = compare_tensors(a.tensor, b.tensor, o.tolerance);
      } else if (a.is_sequence()) {
        if (a.sequence.size() != b.sequence.size()) s.mismatch = "sequences of different lengths";
        for (size_t k = 0; k < a.sequence.size() && s.mismatch.empty(); ++k) {
          CompareStats e = compare_tensors(a.sequence[k], b.sequence[k], o.tolerance);
          keep_worst(s, e, k == 0);
        }
      }
      keep_worst(oc.stats, s, r == 0);
      bool low_sqnr = below_relative_gate(s, o.tolerance.rtol);
      if (report.passed && (!s.mismatch.empty() || s.failed > 0 || low_sqnr)) {
        report.passed = false;
        if (!s.mismatch.empty())
          report.failure = fmt::format("output '{}' (seed {}): {}", oc.name, o.seed + r, s.mismatch);
        else if (s.failed == 0)
          report.failure = fmt::format(
              "output '{}' (seed {}): SQNR {:.1f} dB, below the {:.0f} dB that rtol {} asks of the whole output "
              "(every element is within atol {} / rtol; max abs difference {:.3g})",
              oc.name, o.seed + r, *s.sqnr_db, -20 * std::log10(o.tolerance.rtol), o.tolerance.rtol, o.tolerance.atol,
              s.max_abs);
        else
          report.failure = fmt::format(
              "output '{}' (seed {}): {} of {} elements differ beyond atol {} / rtol {}; worst at {}: {} instead of {}",
              oc.name, o.seed + r, s.failed, s.count, o.tolerance.atol, o.tolerance.rtol,
              a.is_tensor() ? index_to_string(a.tensor.dims(), s.worst_index) : std::to_string(s.worst_index),
              s.worst_got, s.worst_ref);
      }
    }
    if (!report.passed) return report;
    if (o.on_run) o.on_run(r + 1);
  }
  return report;
}

}  // namespace ortool::passes
