// `ortool compare`: run two models (or one against stored outputs) on the same samples and judge the errors.
// The samples come from runtime/samples.h and the statistics and gates from lib/accuracy.h; this
// file parses options and prints.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "apps/accuracy_print.h"
#include "apps/cli_util.h"
#include "apps/commands.h"
#include "apps/gate_options.h"
#include "apps/html_option.h"
#include "apps/input_options.h"
#include "apps/layerwise_print.h"
#include "apps/progress.h"
#include "apps/run_util.h"
#include "apps/sample_options.h"
#include "lib/accuracy.h"
#include "runtime/samples.h"

namespace ortool::cli {

namespace {

struct CompareArgs {
  std::string model_a, model_b;
  InputOptions in;
  std::string inputs_path;  // a sample folder or a batch .npy
  ImageCliOptions image;
  int random_count = 0;
  std::string expected_dir;
  Gates gates;
  bool json = false;
  bool layerwise = false;
  std::string html;  // --html FILE
};

// The samples the options name; exactly one kind may be given (none: one random sample).
Result<std::unique_ptr<rt::SampleSource>> open_source(CompareArgs& a, const ir::Graph& g) {
  int kinds = !a.expected_dir.empty() + !a.inputs_path.empty() + (a.random_count > 0) +
              (!a.in.inputs.empty() || !a.in.input_dir.empty());
  if (kinds > 1)
    return invalid("give one source of samples: --inputs, --random, --expected-dir, or --input/--input-dir");
  if (!a.expected_dir.empty()) {
    rt::SampleOptions so;
    so.expected_outputs = true;
    return rt::open_samples(g, a.expected_dir, so);
  }
  if (!a.inputs_path.empty()) {
    rt::SampleOptions so;
    ASSIGN_OR_RETURN(so.image, parse_image_options(a.image));
    return rt::open_samples(g, a.inputs_path, so);
  }
  if (!a.in.inputs.empty() || !a.in.input_dir.empty()) {
    ASSIGN_OR_RETURN(rt::Feeds f, build_feeds(g, a.in));
    TRY(rt::check_feeds(g, f, a.in.input_dir.empty() ? "--input" : a.in.input_dir));
    std::vector<rt::Sample> one;
    one.push_back({a.in.input_dir.empty() ? "inputs" : a.in.input_dir, std::move(f), {}});
    return rt::samples_in_memory(std::move(one), "the given inputs");
  }
  return rt::random_samples(g, static_cast<size_t>(std::max(a.random_count, 1)), a.in.seed, a.in.input_shapes,
                            a.in.dim_bindings);
}

// The common JSON head of both forms: which models, which samples, which tolerances.
nlohmann::json json_head(const CompareArgs& a, size_t samples, const std::string& source) {
  nlohmann::json j;
  j["model_a"] = a.model_a;
  if (!a.model_b.empty()) j["model_b"] = a.model_b;
  else j["expected_dir"] = a.expected_dir;
  j["samples"] = samples;
  j["sample_source"] = source;
  j["atol"] = a.gates.tol.atol;
  j["rtol"] = a.gates.tol.rtol;
  return j;
}

// --layerwise: every value both models compute, judged in graph order (runtime/layerwise_compare.h).
int layerwise_command(CompareArgs& a, LoadedModel& ma, LoadedModel& mb, const rt::SampleSource& samples) {
  rt::LayerwiseOptions o;
  o.gates = a.gates;
  o.session_a = ma.session_options;
  o.session_b = mb.session_options;
  o.name_a = a.model_a;
  o.name_b = a.model_b;
  ProgressBar bar("compare", samples.size());
  o.progress = [&bar](size_t done, size_t) { bar.update(done); };
  auto r = rt::compare_layerwise(*ma.model, *mb.model, samples, o);
  bar.finish();
  if (!r.is_ok()) return report(r.status());
  const AccuracyReport& acc = *r->outputs;
  std::vector<OutputVerdict> verdicts = acc.verdicts();
  nlohmann::json j = json_head(a, r->samples, r->sample_source);
  j.update(accuracy_json(acc, verdicts));
  j.update(layerwise_json(*r));
  if (!acc.passed()) j["failure"] = first_failure(verdicts);
  if (!a.html.empty())
    if (Status st = write_html(a.html, "compare", j, a.model_a + " vs " + a.model_b); !st.is_ok()) return report(st);
  if (a.json) {
    print_json(j);
  } else {
    fmt::print("{} vs {} on {}\n", a.model_a, a.model_b, r->sample_source);
    print_accuracy_table(acc);
    print_layerwise(*r);
    print_verdicts(acc, verdicts);
  }
  // The verdict is the outputs' as in plain compare: a divergent intermediate value is information.
  if (!acc.passed()) return report(check_failed("{}", first_failure(verdicts)));
  return kExitOk;
}

int compare_command(CompareArgs& a) {
  if (Status st = validate_gates(a.gates); !st.is_ok()) return report(st);
  if (a.model_b.empty() == a.expected_dir.empty())
    return report(invalid("give a second model or --expected-dir DIR (not both)"));
  if (a.layerwise && a.model_b.empty())
    return report(invalid("--layerwise compares two models' intermediate values: give a second model"));
  auto ma = load_for_run(a.model_a, a.in);
  if (!ma.is_ok()) return report(ma.status());
  // Random samples follow --shape as model A reads it.
  if (Status st = resolve_shapes(*ma->model->graph, a.in); !st.is_ok()) return report(st);
  Result<LoadedModel> mb = LoadedModel{};
  if (!a.model_b.empty()) {
    mb = load_for_run(a.model_b, a.in);
    if (!mb.is_ok()) return report(mb.status());
    if (mb->session->outputs().size() != ma->session->outputs().size())
      return report(invalid("{} has {} outputs but {} has {}", a.model_a, ma->session->outputs().size(), a.model_b,
                            mb->session->outputs().size()));
  }
  auto source = open_source(a, *ma->model->graph);
  if (!source.is_ok()) return report(source.status());
  const rt::SampleSource& samples = **source;
  if (a.layerwise) return layerwise_command(a, *ma, *mb, samples);

  std::vector<std::string> names;
  for (const ir::Value* v : ma->session->outputs()) names.push_back(v->name());
  AccuracyReport acc(names, a.gates);
  double ms_a = 0, ms_b = 0;
  ProgressBar bar("compare", samples.size());
  auto fail = [&bar](const Status& st) {
    bar.finish();  // clear the bar's line before the error line
    return report(st);
  };
  for (size_t i = 0; i < samples.size(); ++i) {
    bar.update(i);
    auto s = samples.get(i);
    if (!s.is_ok()) return fail(s.status());
    // Errors name the sample when there are several.
    auto where = [&](const Status& st) {
      return samples.size() > 1 ? st.with_context(fmt::format("sample {}", s->label)) : st;
    };
    // The first run of each model warms caches and allocators: it is left out of the latency
    // unless it is the only one.
    bool timed = i > 0 || samples.size() == 1;
    double t = 0;
    auto ra = run_once(*ma, s->feeds, &t);
    if (!ra.is_ok()) return fail(where(ra.status()));
    if (timed) ms_a += t;
    std::vector<RValue> ref, got;
    if (!a.expected_dir.empty()) {
      ref = std::move(s->expected);
      got = std::move(ra).value();
    } else {
      auto rb = run_once(*mb, s->feeds, &t);
      if (!rb.is_ok()) return fail(where(rb.status()));
      if (timed) ms_b += t;
      ref = std::move(ra).value();
      got = std::move(rb).value();
    }
    if (Status st = acc.add(ref, got, s->label); !st.is_ok()) return fail(st);
  }
  bar.update(samples.size());
  bar.finish();

  std::vector<OutputVerdict> verdicts = acc.verdicts();
  size_t n = samples.size();
  double per = n > 1 ? 1.0 / static_cast<double>(n - 1) : 1.0;
  nlohmann::json j = json_head(a, n, samples.describe());
  j.update(accuracy_json(acc, verdicts));
  j["latency_ms"] = {{"a", ms_a * per}};
  if (!a.model_b.empty()) j["latency_ms"]["b"] = ms_b * per;
  if (!acc.passed()) j["failure"] = first_failure(verdicts);
  if (!a.html.empty()) {
    std::string subject = a.model_a + " vs " + (a.model_b.empty() ? a.expected_dir : a.model_b);
    if (Status st = write_html(a.html, "compare", j, subject); !st.is_ok()) return report(st);
  }
  if (a.json) {
    print_json(j);
  } else {
    fmt::print("{} vs {} on {}\n", a.model_a, a.model_b.empty() ? a.expected_dir : a.model_b, samples.describe());
    print_accuracy_table(acc);
    fmt::print("  latency: {:.2f} ms{}{}\n", ms_a * per,
               a.model_b.empty() ? std::string() : fmt::format(" vs {:.2f} ms", ms_b * per),
               n > 1 ? " (mean of the runs after the first)" : "");
    print_verdicts(acc, verdicts);
  }
  if (!acc.passed()) return report(check_failed("{}", first_failure(verdicts)));
  return kExitOk;
}

}  // namespace

Command register_compare(CLI::App& parent) {
  auto a = std::make_shared<CompareArgs>();
  CLI::App* app = parent.add_subcommand("compare", "Compare two models' outputs (or one model against stored outputs)");
  app->add_option("model_a", a->model_a, "Reference model (.onnx)")->required();
  app->add_option("model_b", a->model_b, "Model to check against the reference");
  app->add_option("--input", a->in.inputs, "Input tensor NAME=FILE (.npy or .pb); repeatable; one sample")
      ->type_name("NAME=FILE");
  app->add_option("--input-dir", a->in.input_dir, "One sample in ONNX test-data layout (input_K.pb) or NAME.npy files");
  app->add_option("--inputs", a->inputs_path,
                  "Samples: a folder of .npy/.pb files (one per sample), of subfolders in ONNX test-data layout, or "
                  "of PNG/JPEG images; or one .npy whose first axis is the batch")
      ->type_name("PATH");
  app->add_option("--random", a->random_count, "Number of seeded random samples (default 1 when no samples are given)")
      ->check(CLI::Range(1, 1000000));
  app->add_option("--seed", a->in.seed, "Seed of the first random sample (default 0)");
  app->add_option("--shape", a->in.shapes, "Fix an input's shape NAME=d0,d1,... or bind a symbolic dim SYMBOL=n")
      ->type_name("NAME=DIMS");
  app->add_option("--threads", a->in.threads,
                  "Intra-op threads (default 1); at most: fewer when other processes keep the cores busy")
      ->check(CLI::Range(1, 256));
  add_limit_options(*app, a->in);
  add_providers_option(*app, a->in);
  app->add_option("--expected-dir", a->expected_dir,
                  "Compare model_a with stored outputs: an ONNX test-data folder (input_K.pb, output_K.pb) or a "
                  "folder of them");
  add_image_options(*app, a->image);
  CLI::Option* atol =
      app->add_option("--atol", a->gates.tol.atol, "Absolute tolerance (default 1e-4); an element fails only when over both");
  CLI::Option* rtol = app->add_option("--rtol", a->gates.tol.rtol, "Relative tolerance (default 1e-3)");
  add_gate_options(*app, a->gates);
  app->add_flag("--json", a->json, "Print the report as JSON on stdout");
  add_html_option(*app, a->html);
  app->add_flag("--layerwise", a->layerwise,
                "Also compare every intermediate value both models compute (a QDQ model's quantized tensor with its "
                "float source), in graph order, and name the first node whose output fails the gates");
  app->footer(
      "Prints a PASS/FAIL line per output and a final verdict line. Given --min-cosine, --min-sqnr or\n"
      "--max-top1-drop without --atol/--rtol, those gates replace the element tolerance (as for an int8\n"
      "model, whose elements all move a little). Cosine and SQNR are undefined where the reference is all\n"
      "zero and the result is not exactly zero; such outputs are judged by atol.\n"
      "--layerwise judges every value both models compute with the same gates, in model A's graph order, names\n"
      "the first divergent node and the lowest-SQNR values; the exit code stays the outputs' verdict.\n"
      "Exit codes: 0 all gates pass, 1 a gate failed (the worst element is named), 2 bad input.\n"
      "Examples:\n"
      "  ortool compare model.onnx opt.onnx --random 8 --seed 1\n"
      "  ortool compare model.onnx int8.onnx --inputs calib/ --min-cosine 0.99 --json\n"
      "  ortool compare model.onnx int8.onnx --inputs images/ --scale 1/255 --mean 0.485,0.456,0.406 "
      "--std 0.229,0.224,0.225\n"
      "  ortool compare model.onnx --expected-dir test_data_set_0 --atol 1e-4 --rtol 1e-3\n"
      "  ortool compare model.onnx int8.onnx --inputs calib/ --layerwise --min-sqnr 20 --json");
  return {app, [a, atol, rtol] {
            // Whole-output gates asked for, element tolerances not: judge by the gates the user gave.
            const bool whole = a->gates.min_cosine || a->gates.min_sqnr_db || a->gates.max_top1_drop;
            if (whole && !atol->count() && !rtol->count()) {
              a->gates.check_elements = false;
              a->gates.check_elements_if_undefined = true;
            }
            return compare_command(*a);
          }};
}

}  // namespace ortool::cli
