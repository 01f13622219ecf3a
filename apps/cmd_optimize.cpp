// `ortool optimize IN -o OUT`: graph optimization (passes/optimize.h does the work), checked
// against the original on seeded random inputs before anything is written.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "apps/cli_util.h"
#include "apps/cli_parse.h"
#include "apps/commands.h"
#include "apps/input_options.h"
#include "apps/input_report.h"
#include "apps/progress.h"
#include "lib/input_shapes.h"
#include "lib/file_util.h"
#include "lib/model_io.h"
#include "lib/onnx_check.h"
#include "lib/onnx_export.h"
#include "passes/equivalence_check.h"
#include "passes/optimize.h"
#include "runtime/feeds.h"

namespace ortool::cli {

namespace {

struct OptimizeArgs {
  std::string input;
  std::string output;
  bool force = false;
  std::string level = "extended";
  std::vector<std::string> passes, disable;
  bool list_passes = false;
  bool verify_each = false;
  std::string print_ir_after;
  std::string fold_max_bytes = "16M";
  uint64_t max_rewrites = 1000000;
  int64_t target_opset = 0;
  std::vector<std::string> shapes;
  int check = 1;
  uint64_t seed = 0;
  double atol = 1e-4, rtol = 1e-3;
  int threads = 1;
  InputOptions limits;  // only --max-memory and --max-loop-iterations, for the check's runs
  bool onnx_check = false;
  bool freeze_inputs = false;
  bool json = false;
};

Result<size_t> parse_size(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  std::string suffix = end ? std::string(end) : std::string();
  uint64_t mul = 1;
  if (suffix == "K" || suffix == "KiB") mul = uint64_t{1} << 10;
  else if (suffix == "M" || suffix == "MiB") mul = uint64_t{1} << 20;
  else if (suffix == "G" || suffix == "GiB") mul = uint64_t{1} << 30;
  else if (!suffix.empty() && suffix != "B") mul = 0;
  if (text.empty() || text[0] == '-' || end == text.c_str() || errno == ERANGE || mul == 0 || v > (UINT64_MAX >> 31))
    return invalid("--fold-max-bytes '{}': expected a size such as 1048576, 512K or 16M", text);
  return static_cast<size_t>(v * mul);
}

uint64_t file_size_or_zero(const std::filesystem::path& p) {
  std::error_code ec;
  auto n = std::filesystem::file_size(p, ec);
  return ec ? 0 : n;
}

nlohmann::json stats_json(const passes::ModelStats& s, uint64_t size) {
  return {{"nodes", s.nodes},
          {"subgraph_nodes", s.subgraph_nodes},
          {"initializers", s.initializers},
          {"opset", s.opset},
          {"size_bytes", size},
          {"op_counts", s.op_counts}};
}

int list_passes(bool json) {
  auto passes = passes::list_passes();
  if (json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& p : passes) j.push_back({{"name", p.name}, {"description", p.description}, {"levels", p.levels}});
    print_json(j);
    return kExitOk;
  }
  size_t w = 0;
  for (const auto& p : passes) w = std::max(w, p.name.size());
  for (const auto& p : passes) {
    std::string levels = p.levels.empty() ? "-" : fmt::format("{}", fmt::join(p.levels, ","));
    fmt::print("{:<{}}  {:<14}  {}\n", p.name, w, levels, p.description);
  }
  return kExitOk;
}

void print_table(const OptimizeArgs& a, const passes::OptimizeReport& r, uint64_t size_before, uint64_t size_after,
                 const passes::CheckReport* check, const std::vector<FedInput>& check_inputs, double check_ms,
                 double total_ms) {
  fmt::print("{} -> {}\n", a.input, a.output.empty() ? "(not written)" : a.output);
  std::string how = a.passes.empty() ? fmt::format("level {}", a.level) : fmt::format("{} passes", r.passes.size());
  fmt::print("{}: {} iteration{}, {} rewrite{}{}\n", how, r.pipeline.iterations, r.pipeline.iterations == 1 ? "" : "s",
             r.pipeline.rewrites, r.pipeline.rewrites == 1 ? "" : "s", r.changed ? "" : " (no change)");
  std::set<std::string> ops;
  for (const auto& [op, n] : r.before.op_counts) ops.insert(op);
  for (const auto& [op, n] : r.after.op_counts) ops.insert(op);
  size_t w = 12;
  for (const std::string& op : ops) w = std::max(w, op.size());
  auto count = [](const std::map<std::string, int64_t>& m, const std::string& k) {
    auto it = m.find(k);
    return it == m.end() ? int64_t{0} : it->second;
  };
  fmt::print("  {:<{}}  {:>10}  {:>10}\n", "op type", w, "before", "after");
  for (const std::string& op : ops) {
    int64_t b = count(r.before.op_counts, op), c = count(r.after.op_counts, op);
    fmt::print("  {:<{}}  {:>10}  {:>10}{}\n", op, w, b, c, b == c ? "" : fmt::format("  ({:+})", c - b));
  }
  fmt::print("  {:<{}}  {:>10}  {:>10}\n", "nodes", w, r.before.nodes, r.after.nodes);
  if (r.before.subgraph_nodes || r.after.subgraph_nodes)
    fmt::print("  {:<{}}  {:>10}  {:>10}\n", "in subgraphs", w, r.before.subgraph_nodes, r.after.subgraph_nodes);
  fmt::print("  {:<{}}  {:>10}  {:>10}\n", "initializers", w, r.before.initializers, r.after.initializers);
  fmt::print("  {:<{}}  {:>10}  {:>10}\n", "size", w, human_bytes(size_before), human_bytes(size_after));
  fmt::print("time: optimize {:.1f} ms, check {:.1f} ms, total {:.1f} ms\n", r.ms, check_ms, total_ms);
  for (const std::string& note : r.notes) fmt::print("note: {}\n", note);
  if (!check) {
    fmt::print("check: off\n");
  } else if (!check->ran) {
    fmt::print("check: skipped: {}\n", check->skipped_reason);
  } else {
    double worst = 0;
    for (const auto& o : check->outputs) worst = std::max(worst, o.stats.max_abs);
    fmt::print("check: {} ({} run{} on random inputs {}, max abs difference {:.3g})\n",
               check->passed ? "passed" : "FAILED", check->runs, check->runs == 1 ? "" : "s", inputs_text(check_inputs),
               worst);
  }
}

int run_optimize(OptimizeArgs& a) {
  using Clock = std::chrono::steady_clock;
  if (a.list_passes) return list_passes(a.json);
  if (a.input.empty()) return report(invalid("no model given (see `ortool optimize --help`)"));
  auto t0 = Clock::now();
  if (!a.output.empty()) {
    if (Status st = check_not_same_file(a.input, a.output, a.force); !st.is_ok()) return report(st);
  }

  passes::OptimizeOptions opts;
  opts.level = a.level;
  opts.passes = a.passes;
  opts.disable = a.disable;
  opts.verify_each = a.verify_each;
  opts.print_ir_after = a.print_ir_after;
  opts.print = [](const std::string& s) {
    std::fputs(s.c_str(), stderr);
    std::fflush(stderr);
  };
  opts.max_rewrites = a.max_rewrites;
  opts.target_opset = a.target_opset;
  {
    auto bytes = parse_size(a.fold_max_bytes);
    if (!bytes.is_ok()) return report(bytes.status());
    opts.fold_max_bytes = *bytes;
  }
  // Options are checked before the model is read.
  if (auto list = passes::resolve_pass_list(opts); !list.is_ok()) return report(list.status());
  rt::SessionOptions limits;
  if (Status st = apply_limit_options(a.limits, limits); !st.is_ok()) return report(st);

  LoadInfo info;
  auto loaded = load_model(a.input, {}, &info);
  if (!loaded.is_ok()) return report(loaded.status());
  std::unique_ptr<ir::Model> model = std::move(loaded).value();
  uint64_t size_before = info.file_bytes;
  for (const auto& f : info.external_files) size_before += file_size_or_zero(f);

  ShapeBindings shapes;
  {
    auto bound = resolve_shape_args(*model->graph, a.shapes);
    if (!bound.is_ok()) return report(bound.status().with_context(a.input));
    shapes = std::move(bound).value();
    opts.input_shapes = shapes.input_shapes;
    opts.dim_bindings = shapes.dim_bindings;
  }
  opts.freeze_inputs = a.freeze_inputs;

  // The reference for the check: the file as it is, loaded a second time (tensors are mapped).
  std::unique_ptr<ir::Model> original;
  if (a.check > 0) {
    auto again = load_model(a.input);
    if (!again.is_ok()) return report(again.status());
    original = std::move(again).value();
  }

  auto result = passes::optimize_model(*model, opts);
  if (!result.is_ok()) return report(result.status().with_context(a.input));
  passes::OptimizeReport& r = *result;

  // Why weights were not folded, where a user would otherwise think the optimizer is broken.
  if (r.initializer_inputs > 0 && r.frozen_inputs == 0) {
    r.notes.push_back(
        model->ir_version >= 4
            ? fmt::format("{} initializers are also graph inputs, so a caller may override them (IR version 4+) and "
                          "they are not folded; --freeze-inputs treats them as constants",
                          r.initializer_inputs)
            : fmt::format("{} initializers are also graph inputs (IR version 3 wants them there), so they are not "
                          "folded; --freeze-inputs treats them as constants (and moves the model to IR version 4)",
                          r.initializer_inputs));
  }

  std::optional<passes::CheckReport> check;
  std::vector<FedInput> check_inputs;
  double check_ms = 0;
  if (a.check > 0) {
    passes::CheckOptions co;
    co.runs = a.check;
    co.seed = a.seed;
    co.tolerance = {a.atol, a.rtol};
    co.input_shapes = opts.input_shapes;
    co.dim_bindings = opts.dim_bindings;
    co.threads = a.threads;
    co.max_memory_bytes = limits.max_memory_bytes;
    co.max_loop_iterations = limits.max_loop_iterations;
    check_inputs = describe_random_inputs(*model->graph, shapes);
    ProgressBar progress("check", static_cast<size_t>(a.check));
    co.on_run = [&progress](int done) { progress.update(static_cast<size_t>(done)); };
    auto c0 = Clock::now();
    auto c = passes::check_equivalence(*original, *model, co);
    check_ms = std::chrono::duration<double, std::milli>(Clock::now() - c0).count();
    progress.finish();
    if (!c.is_ok()) return report(c.status().with_context(a.input));
    check = std::move(c).value();
    std::string hint = defaulted_hint(check_inputs);
    if (!check->ran) {
      print_warning(fmt::format("{}: check skipped: {}{}", a.input, check->skipped_reason,
                                hint.empty() ? "" : " (note: " + hint + ")"));
    } else if (!hint.empty()) {
      print_warning(fmt::format("{}: check: {}", a.input, hint));
    }
    if (check->ran && !check->passed && !hint.empty()) check->failure += " (note: " + hint + ")";
  }
  bool failed = check && check->ran && !check->passed;

  uint64_t size_after = 0;
  if (!a.output.empty() && !failed) {
    SaveOptions save;
    save.input_path = a.input;
    save.force = a.force;
    auto saved = save_model(*model, a.output, save);
    if (!saved.is_ok()) return report(saved.status());
    size_after = saved->model_bytes + saved->data_bytes;
    if (a.onnx_check) {
      OnnxCheckReport ocr;
      if (Status st = onnx_check_model_file(a.output, /*full_check=*/true, &ocr); !st.is_ok()) return report(st);
    }
  } else {
    auto bytes = export_model_proto_bytes(*model);
    size_after = bytes.is_ok() ? bytes->size() : 0;
  }
  double total_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();

  if (a.json) {
    nlohmann::json j;
    j["model"] = a.input;
    j["output"] = a.output.empty() || failed ? nlohmann::json(nullptr) : nlohmann::json(a.output);
    j["level"] = a.passes.empty() ? nlohmann::json(a.level) : nlohmann::json(nullptr);
    j["passes"] = r.passes;
    j["iterations"] = r.pipeline.iterations;
    j["rewrites"] = r.pipeline.rewrites;
    j["converged"] = r.pipeline.converged;
    j["changed"] = r.changed;
    j["before"] = stats_json(r.before, size_before);
    j["after"] = stats_json(r.after, size_after);
    j["time_ms"] = {{"optimize", r.ms}, {"check", check_ms}, {"total", total_ms}};
    j["pass_stats"] = nlohmann::json::array();
    for (const auto& p : r.pipeline.passes)
      j["pass_stats"].push_back({{"name", p.name}, {"runs", p.runs}, {"changes", p.changes}, {"ms", p.ms}});
    j["notes"] = r.notes;
    j["initializer_inputs"] = r.initializer_inputs;
    j["frozen_inputs"] = r.frozen_inputs;
    if (!check) {
      j["check"] = nullptr;
    } else {
      nlohmann::json c = {{"ran", check->ran}, {"passed", check->passed}, {"runs", check->runs},
                           {"inputs", inputs_json(check_inputs)}};
      if (!check->ran) c["skipped_reason"] = check->skipped_reason;
      if (!check->failure.empty()) c["failure"] = check->failure;
      c["outputs"] = nlohmann::json::array();
      for (const auto& o : check->outputs)
        c["outputs"].push_back({{"name", o.name},
                                {"max_abs", o.stats.max_abs},
                                {"max_rel", o.stats.max_rel},
                                {"failed", o.stats.failed},
                                {"count", o.stats.count}});
      j["check"] = c;
    }
    print_json(j);
  } else {
    print_table(a, r, size_before, size_after, check ? &*check : nullptr, check_inputs, check_ms, total_ms);
  }
  if (failed)
    return report(check_failed("{}: the optimized model differs from the original, nothing written: {}", a.input,
                               check->failure));
  if (a.output.empty())
    print_note(fmt::format("nothing written: add -o OUT.onnx to write the optimized model (ortool optimize {} -o OUT.onnx)",
                           a.input));
  return kExitOk;
}

}  // namespace

Command register_optimize(CLI::App& parent) {
  auto args = std::make_shared<OptimizeArgs>();
  CLI::App* app = parent.add_subcommand(
      "optimize", "Optimize a model's graph (folding, elimination, fusion), checked against the original");
  app->add_option("model", args->input, "ONNX model to read");
  app->add_option("-o,--output", args->output, "Optimized model to write (atomically; never the input without --force)");
  app->add_flag("--force", args->force, "Allow the output to be the input file");
  app->add_option("--level", args->level, "Pass pipeline: basic or extended (default extended)")
      ->check(one_of({"basic", "extended"}));
  app->add_option("--passes", args->passes, "Run exactly these passes, in this order (comma-separated)")
      ->delimiter(',')
      ->type_name("A,B,...");
  app->add_option("--disable", args->disable, "Leave these passes out (comma-separated)")->delimiter(',')->type_name("A,B,...");
  app->add_flag("--list-passes", args->list_passes, "List the passes (name, levels, description) and exit");
  app->add_flag("--verify-each", args->verify_each, "Verify the IR after every pass (debugging)");
  app->add_option("--print-ir-after", args->print_ir_after, "Print the IR to stderr after this pass (or 'all')")
      ->type_name("NAME|all");
  app->add_option("--fold-max-bytes", args->fold_max_bytes,
                  "Constant folding leaves results larger than this alone (default 16M)")
      ->type_name("BYTES");
  app->add_option("--max-rewrites", args->max_rewrites, "Stop after this many rewrites (bisecting optimizer bugs)")
      ->check(integer_in(0));
  app->add_option("--target-opset", args->target_opset,
                  "Convert to this ai.onnx opset first (onnx's version converter, up to 17), e.g. so that "
                  "LayerNormalization fusion applies")
      ->check(integer_in(1, 1000));
  add_shape_option(*app, args->shapes);
  app->add_flag("--freeze-inputs", args->freeze_inputs,
                "Treat initializers that are also graph inputs as constants (drop them from the inputs), so they "
                "fold; old exporters list every weight as an input");
  app->add_option("--check", args->check,
                  "Compare original and optimized on N seeded random inputs; 0 disables (default 1)")
      ->check(integer_in(0, 1000));
  app->add_option("--seed", args->seed, "First seed for --check (default 0)")->check(integer_in(0));
  app->add_option("--atol", args->atol, "Absolute tolerance of the check (default 1e-4)")->check(number_in(0));
  app->add_option("--rtol", args->rtol,
                  "Relative tolerance of the check (default 1e-3), per element and per output (SQNR of -20 log10(rtol) dB)")
      ->check(number_in(0));
  add_threads_option(*app, args->threads);
  add_limit_options(*app, args->limits);
  app->add_flag("--onnx-check", args->onnx_check, "Run the onnx checker on the written model");
  app->add_flag("--json", args->json, "Print the report as JSON on stdout");
  app->footer(
      "Examples:\n"
      "  ortool optimize model.onnx -o opt.onnx\n"
      "  ortool optimize model.onnx -o opt.onnx --level basic --check 3 --json\n"
      "  ortool optimize model.onnx -o opt.onnx --shape input=1,3,224,224 --target-opset 17\n"
      "  ortool optimize old_pytorch_export.onnx -o opt.onnx --freeze-inputs\n"
      "  ortool optimize model.onnx -o opt.onnx --passes constant_folding,eliminate_dead_code --verify-each\n"
      "  ortool optimize --list-passes");
  return {app, [args] { return run_optimize(*args); }};
}

}  // namespace ortool::cli
