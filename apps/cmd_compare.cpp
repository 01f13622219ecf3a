// `ortool compare`: run two models (or one against stored outputs) on the same inputs and report errors.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <regex>

#include "apps/cli_util.h"
#include "apps/commands.h"
#include "apps/input_options.h"
#include "apps/run_util.h"
#include "lib/tensor_compare.h"
#include "lib/value_proto.h"

namespace ortool::cli {

namespace fs = std::filesystem;

namespace {

struct CompareArgs {
  std::string model_a, model_b;
  InputOptions in;
  std::string inputs_dir;  // one sample per file or per subfolder
  int random_count = 0;
  std::string expected_dir;
  double atol = 1e-4, rtol = 1e-3;
  double min_cosine = -2, min_sqnr = -1e300;
  bool json = false;
};

// Accumulated metrics of one output over all samples.
struct OutputReport {
  std::string name;
  double max_abs = 0, max_rel = 0, sum_mean_abs = 0, min_cosine = 1, min_sqnr = std::numeric_limits<double>::infinity();
  double sum_top1 = 0;
  int top1_samples = 0;
  int64_t failed = 0, count = 0;
  int samples = 0;
  std::string worst;  // description of the worst failing element
  double worst_excess = -std::numeric_limits<double>::infinity();
  std::string mismatch;
};

void accumulate(OutputReport& r, const CompareStats& s, int sample, const std::vector<int64_t>& dims, const Tolerance& tol) {
  ++r.samples;
  if (!s.mismatch.empty()) {
    if (r.mismatch.empty()) r.mismatch = fmt::format("sample {}: {}", sample, s.mismatch);
    return;
  }
  r.max_abs = std::max(r.max_abs, s.max_abs);
  r.max_rel = std::max(r.max_rel, s.max_rel);
  r.sum_mean_abs += s.mean_abs;
  r.min_cosine = std::min(r.min_cosine, s.cosine);
  r.min_sqnr = std::min(r.min_sqnr, s.sqnr_db);
  if (s.top1_agreement) {
    r.sum_top1 += *s.top1_agreement;
    ++r.top1_samples;
  }
  r.failed += s.failed;
  r.count += s.count;
  if (s.failed > 0 && s.worst_index >= 0) {
    double excess = std::fabs(s.worst_got - s.worst_ref) - (tol.atol + tol.rtol * std::fabs(s.worst_ref));
    if (std::isnan(excess)) excess = std::numeric_limits<double>::infinity();
    if (excess > r.worst_excess) {
      r.worst_excess = excess;
      r.worst = fmt::format("sample {} element {}: expected {:.7g}, got {:.7g}", sample,
                            index_to_string(dims, s.worst_index), s.worst_ref, s.worst_got);
    }
  }
}

// Samples: feeds plus (with --expected-dir) the stored outputs.
struct Sample {
  std::string label;
  rt::Feeds feeds;
  std::vector<RValue> expected;
};

Result<std::vector<Sample>> collect_samples(CompareArgs& a, const ir::Graph& g) {
  std::vector<Sample> samples;
  if (!a.expected_dir.empty()) {
    ASSIGN_OR_RETURN(rt::Feeds f, rt::read_input_dir(g, a.expected_dir));
    Sample s{a.expected_dir, std::move(f), {}};
    static const std::regex kOut(R"(output_(\d+)\.pb)");
    std::vector<std::pair<int, fs::path>> files;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(a.expected_dir, ec)) {
      std::smatch m;
      std::string n = e.path().filename().string();
      if (std::regex_match(n, m, kOut)) files.emplace_back(std::stoi(m[1]), e.path());
    }
    std::sort(files.begin(), files.end());
    if (files.size() != g.outputs().size())
      return invalid("{}: {} output_K.pb files for {} model outputs", a.expected_dir, files.size(), g.outputs().size());
    for (size_t i = 0; i < files.size(); ++i) {
      ASSIGN_OR_RETURN(NamedValue nv, read_value_pb(files[i].second, g.outputs()[i]->type));
      s.expected.push_back(std::move(nv.value));
    }
    samples.push_back(std::move(s));
    return samples;
  }
  if (!a.inputs_dir.empty()) {
    std::vector<fs::path> entries;
    std::error_code ec;
    if (!fs::is_directory(a.inputs_dir, ec)) return invalid("--inputs {}: not a directory", a.inputs_dir);
    for (const auto& e : fs::directory_iterator(a.inputs_dir, ec)) entries.push_back(e.path());
    std::sort(entries.begin(), entries.end());
    std::vector<const ir::Value*> req = rt::required_inputs(g);
    for (const fs::path& p : entries) {
      if (fs::is_directory(p)) {
        ASSIGN_OR_RETURN(rt::Feeds f, rt::read_input_dir(g, p));
        samples.push_back({p.filename().string(), std::move(f), {}});
      } else if (p.extension() == ".npy" || p.extension() == ".pb") {
        if (req.size() != 1)
          return invalid("--inputs {}: one file per sample needs a model with one input ({} here); use subfolders",
                         a.inputs_dir, req.size());
        ASSIGN_OR_RETURN(RValue v, rt::read_input_file(p, *req[0]));
        rt::Feeds f;
        f[req[0]->name()] = std::move(v);
        samples.push_back({p.filename().string(), std::move(f), {}});
      }
    }
    if (samples.empty()) return invalid("--inputs {}: no samples (.npy/.pb files or subfolders)", a.inputs_dir);
    return samples;
  }
  if (a.random_count > 0) {
    for (int i = 0; i < a.random_count; ++i) {
      ASSIGN_OR_RETURN(rt::Feeds f,
                       rt::random_inputs(g, a.in.seed + static_cast<uint64_t>(i), a.in.input_shapes, a.in.dim_bindings));
      samples.push_back({fmt::format("random #{}", i), std::move(f), {}});
    }
    return samples;
  }
  ASSIGN_OR_RETURN(rt::Feeds f, build_feeds(g, a.in));
  samples.push_back({"inputs", std::move(f), {}});
  return samples;
}

std::string fmt_db(double x) { return std::isinf(x) ? std::string("inf") : fmt::format("{:.1f}", x); }

int compare_command(CompareArgs& a) {
  if (a.model_b.empty() == a.expected_dir.empty())
    return report(invalid("give a second model or --expected-dir DIR (not both)"));
  LoadedModel ma, mb;
  {
    auto r = load_for_run(a.model_a, a.in);
    if (!r.is_ok()) return report(r.status());
    ma = std::move(r).value();
  }
  if (Status st = resolve_shapes(*ma.model->graph, a.in); !st.is_ok()) return report(st);
  if (!a.model_b.empty()) {
    auto r = load_for_run(a.model_b, a.in);
    if (!r.is_ok()) return report(r.status());
    mb = std::move(r).value();
    if (mb.session->outputs().size() != ma.session->outputs().size())
      return report(invalid("{} has {} outputs but {} has {}", a.model_a, ma.session->outputs().size(), a.model_b,
                            mb.session->outputs().size()));
  }
  auto samples = collect_samples(a, *ma.model->graph);
  if (!samples.is_ok()) return report(samples.status());
  Tolerance tol{a.atol, a.rtol};
  std::vector<OutputReport> reports(ma.session->outputs().size());
  for (size_t i = 0; i < reports.size(); ++i) reports[i].name = ma.session->outputs()[i]->name();
  double ms_a = 0, ms_b = 0;
  for (size_t si = 0; si < samples->size(); ++si) {
    Sample& s = (*samples)[si];
    double t = 0;
    auto ra = run_once(ma, s.feeds, &t);
    if (!ra.is_ok()) return report(ra.status());
    ms_a += t;
    std::vector<RValue> ref, got;
    if (!a.expected_dir.empty()) {
      ref = std::move(s.expected);
      got = std::move(ra).value();
    } else {
      auto rb = run_once(mb, s.feeds, &t);
      if (!rb.is_ok()) return report(rb.status());
      ms_b += t;
      ref = std::move(ra).value();
      got = std::move(rb).value();
    }
    for (size_t o = 0; o < reports.size(); ++o) {
      const RValue &r = ref[o], &g = got[o];
      if (r.is_tensor() && g.is_tensor()) {
        accumulate(reports[o], compare_tensors(r.tensor, g.tensor, tol), static_cast<int>(si), r.tensor.dims(), tol);
      } else if (r.is_sequence() && g.is_sequence() && r.sequence.size() == g.sequence.size()) {
        for (size_t k = 0; k < r.sequence.size(); ++k)
          accumulate(reports[o], compare_tensors(r.sequence[k], g.sequence[k], tol), static_cast<int>(si),
                     r.sequence[k].dims(), tol);
      } else if (!(r.is_none() && g.is_none())) {
        CompareStats bad;
        bad.mismatch = "value kinds differ (tensor / sequence / none)";
        accumulate(reports[o], bad, static_cast<int>(si), {}, tol);
      }
    }
  }
  // Gates.
  std::string failure;
  for (const OutputReport& r : reports) {
    if (!failure.empty()) break;
    if (!r.mismatch.empty()) failure = fmt::format("output '{}': {}", r.name, r.mismatch);
    else if (r.failed > 0)
      failure = fmt::format("output '{}': {} of {} elements outside atol {:g} + rtol {:g}; worst at {}", r.name, r.failed,
                            r.count, a.atol, a.rtol, r.worst);
    else if (r.min_cosine < a.min_cosine)
      failure = fmt::format("output '{}': cosine similarity {:.6f} below --min-cosine {:g}", r.name, r.min_cosine,
                            a.min_cosine);
    else if (r.min_sqnr < a.min_sqnr)
      failure = fmt::format("output '{}': SQNR {} dB below --min-sqnr {:g}", r.name, fmt_db(r.min_sqnr), a.min_sqnr);
  }
  size_t n = samples->size();
  if (a.json) {
    nlohmann::json j;
    j["model_a"] = a.model_a;
    if (!a.model_b.empty()) j["model_b"] = a.model_b;
    else j["expected_dir"] = a.expected_dir;
    j["samples"] = n;
    j["atol"] = a.atol;
    j["rtol"] = a.rtol;
    j["latency_ms"] = {{"a", ms_a / static_cast<double>(n)}};
    if (!a.model_b.empty()) j["latency_ms"]["b"] = ms_b / static_cast<double>(n);
    j["outputs"] = nlohmann::json::array();
    for (const OutputReport& r : reports) {
      nlohmann::json o{{"name", r.name},
                       {"max_abs_error", r.max_abs},
                       {"max_rel_error", r.max_rel},
                       {"mean_abs_error", r.samples ? r.sum_mean_abs / r.samples : 0},
                       {"cosine", r.min_cosine},
                       {"sqnr_db", std::isinf(r.min_sqnr) ? nlohmann::json(nullptr) : nlohmann::json(r.min_sqnr)},
                       {"failed_elements", r.failed},
                       {"elements", r.count}};
      if (r.top1_samples) o["top1_agreement"] = r.sum_top1 / r.top1_samples;
      if (!r.mismatch.empty()) o["mismatch"] = r.mismatch;
      if (!r.worst.empty()) o["worst"] = r.worst;
      j["outputs"].push_back(o);
    }
    j["passed"] = failure.empty();
    if (!failure.empty()) j["failure"] = failure;
    print_json(j);
  } else {
    fmt::print("{} vs {} on {} sample{}\n", a.model_a, a.model_b.empty() ? a.expected_dir : a.model_b, n,
               n == 1 ? "" : "s");
    fmt::print("  {:<24} {:>11} {:>11} {:>11} {:>10} {:>9} {:>7}\n", "output", "max abs", "max rel", "mean abs",
               "cosine", "SQNR dB", "top-1");
    for (const OutputReport& r : reports) {
      if (!r.mismatch.empty()) {
        fmt::print("  {:<24} {}\n", r.name, r.mismatch);
        continue;
      }
      std::string top1 = r.top1_samples ? fmt::format("{:.1f}%", 100.0 * r.sum_top1 / r.top1_samples) : "-";
      fmt::print("  {:<24} {:>11.3e} {:>11.3e} {:>11.3e} {:>10.6f} {:>9} {:>7}\n", r.name, r.max_abs, r.max_rel,
                 r.samples ? r.sum_mean_abs / r.samples : 0.0, r.min_cosine, fmt_db(r.min_sqnr), top1);
    }
    fmt::print("  latency: {:.2f} ms{}\n", ms_a / static_cast<double>(n),
               a.model_b.empty() ? std::string() : fmt::format(" vs {:.2f} ms", ms_b / static_cast<double>(n)));
    if (failure.empty()) fmt::print("PASS (atol {:g}, rtol {:g})\n", a.atol, a.rtol);
  }
  if (!failure.empty()) return report(check_failed("{}", failure));
  return kExitOk;
}

}  // namespace

Command register_compare(CLI::App& parent) {
  auto a = std::make_shared<CompareArgs>();
  CLI::App* app = parent.add_subcommand("compare", "Compare two models' outputs (or one model against stored outputs)");
  app->add_option("model_a", a->model_a, "Reference model (.onnx)")->required();
  app->add_option("model_b", a->model_b, "Model to check against the reference");
  app->add_option("--input", a->in.inputs, "Input tensor NAME=FILE (.npy or .pb); repeatable");
  app->add_option("--input-dir", a->in.input_dir, "One sample in ONNX test-data layout (input_K.pb)");
  app->add_option("--inputs", a->inputs_dir, "Folder of samples: one file per sample, or one subfolder per sample");
  app->add_option("--random", a->random_count, "Number of seeded random samples")->check(CLI::Range(1, 1000000));
  app->add_option("--seed", a->in.seed, "Seed of the first random sample (default 0)");
  app->add_option("--shape", a->in.shapes, "Fix an input's shape NAME=d0,d1,... or bind a symbolic dim SYMBOL=n");
  app->add_option("--threads", a->in.threads, "Intra-op threads (default 1)")->check(CLI::Range(1, 256));
  app->add_option("--max-memory", a->in.max_memory, "Fail cleanly when live tensors would exceed this (e.g. 2G)");
  add_providers_option(*app, a->in);
  app->add_option("--expected-dir", a->expected_dir, "Compare model_a with output_K.pb stored beside input_K.pb here");
  app->add_option("--atol", a->atol, "Absolute tolerance (default 1e-4); an element fails only when over both");
  app->add_option("--rtol", a->rtol, "Relative tolerance (default 1e-3)");
  app->add_option("--min-cosine", a->min_cosine, "Fail when any output's cosine similarity is below this");
  app->add_option("--min-sqnr", a->min_sqnr, "Fail when any output's SQNR (dB) is below this");
  app->add_flag("--json", a->json, "Print the report as JSON on stdout");
  app->footer(
      "Exit codes: 0 all gates pass, 1 a gate failed (the worst element is named), 2 bad input.\n"
      "Examples:\n"
      "  ortool compare model.onnx opt.onnx --random 8 --seed 1\n"
      "  ortool compare model.onnx int8.onnx --inputs calib/ --min-cosine 0.99 --json\n"
      "  ortool compare model.onnx --expected-dir test_data_set_0 --atol 1e-4 --rtol 1e-3");
  return {app, [a] {
            if (a->random_count == 0 && a->in.inputs.empty() && a->in.input_dir.empty() && a->inputs_dir.empty() &&
                a->expected_dir.empty())
              a->random_count = 1;
            return compare_command(*a);
          }};
}

}  // namespace ortool::cli
