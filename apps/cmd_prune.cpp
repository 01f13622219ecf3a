// `ortool prune IN -o OUT --ratio R`: dependency-aware channel pruning (prune/ does the work), then a
// check of the result against the original on samples and a report of what was removed.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>

#include "apps/accuracy_print.h"
#include "apps/cli_util.h"
#include "apps/commands.h"
#include "apps/gate_options.h"
#include "apps/html_option.h"
#include "apps/input_options.h"
#include "apps/progress.h"
#include "apps/sample_options.h"
#include "lib/file_util.h"
#include "lib/model_io.h"
#include "prune/prune_check.h"
#include "prune/prune_model.h"
#include "runtime/samples.h"

namespace ortool::cli {

namespace {

struct PruneArgs {
  std::string input, output;
  bool force = false;
  double ratio = 0;
  bool ratio_given = false;
  std::optional<double> target_macs;  // --target-macs
  bool sensitivity = false;
  bool no_recover = false;
  std::string criterion = "l2", scope = "local";
  std::vector<std::string> layers;   // NAME=R
  std::vector<std::string> exclude;
  int64_t round_to = 1, min_channels = 1;
  int check = 4;
  bool check_given = false;           // --check given: with --calib, the first N samples
  std::string calib;
  ImageCliOptions image;
  InputOptions in;                   // --seed, --shape, --threads, --providers
  Gates gates;
  std::string report_path;
  std::string html;  // --html FILE
  bool json = false;
};

Result<prune::PlanOptions> plan_options(const PruneArgs& a) {
  prune::PlanOptions o;
  o.ratio = a.ratio;
  ASSIGN_OR_RETURN(o.criterion, prune::parse_criterion(a.criterion));
  o.scope = a.scope == "global" ? prune::Scope::kGlobal : prune::Scope::kLocal;
  for (const std::string& spec : a.layers) {
    auto eq = spec.rfind('=');
    if (eq == std::string::npos || eq == 0) return invalid("--layer {}: expected NAME=RATIO", spec);
    char* end = nullptr;
    const std::string num = spec.substr(eq + 1);
    double r = std::strtod(num.c_str(), &end);
    if (num.empty() || *end != '\0') return invalid("--layer {}: '{}' is not a number", spec, num);
    o.layer_ratios[spec.substr(0, eq)] = r;
  }
  if (o.criterion == prune::Criterion::kActivation && a.calib.empty())
    return invalid("--criterion activation ranks channels by their outputs on samples: give --calib PATH");
  o.exclude = a.exclude;
  o.round_to = a.round_to;
  o.min_channels = a.min_channels;
  if (a.target_macs && a.ratio_given) return invalid("--ratio and --target-macs: give one of them");
  if (!a.target_macs && !a.ratio_given && !a.sensitivity)
    return invalid("no ratio given: --ratio R, --target-macs F or --sensitivity");
  prune::PlanOptions checked = o;
  if (!a.ratio_given) checked.ratio = 0.5;  // not used
  TRY(prune::validate_plan_options(checked));
  return o;
}

uint64_t file_bytes(const std::filesystem::path& p) {
  std::error_code ec;
  auto n = std::filesystem::file_size(p, ec);
  return ec ? 0 : n;
}

struct Figures {
  prune::ModelFigures model;
  uint64_t file_bytes = 0;
  double latency_ms = 0;  // 0: not measured
};

nlohmann::json figures_json(const Figures& f) {
  nlohmann::json j = {{"parameters", f.model.parameters},
                      {"parameter_bytes", f.model.parameter_bytes},
                      {"macs", f.model.macs},
                      {"macs_unknown_nodes", f.model.macs_unknown_nodes},
                      {"file_bytes", f.file_bytes > 0 ? nlohmann::json(f.file_bytes) : nlohmann::json(nullptr)}};
  j["latency_ms"] = f.latency_ms > 0 ? nlohmann::json(f.latency_ms) : nlohmann::json(nullptr);
  return j;
}

nlohmann::json db_json(const std::optional<double>& db) {
  if (!db) return nullptr;
  if (std::isinf(*db)) return *db > 0 ? "inf" : "-inf";
  return *db;
}

nlohmann::json figures_json(const prune::OutputFigures& f) {
  return {{"sqnr_db", db_json(f.sqnr_db)},
          {"cosine", f.cosine ? nlohmann::json(*f.cosine) : nlohmann::json(nullptr)},
          {"top1_agreement", f.top1 ? nlohmann::json(*f.top1) : nlohmann::json(nullptr)}};
}

nlohmann::json sensitivity_json(const prune::Sensitivity& s) {
  nlohmann::json j = {{"macs", s.macs}, {"ratios", s.ratios}, {"groups", nlohmann::json::array()}};
  for (const prune::GroupSweep& g : s.groups) {
    nlohmann::json jg = {{"id", g.group}, {"layers", g.layers}, {"channels", g.units}, {"points", nlohmann::json::array()}};
    for (const prune::SweepPoint& p : g.points) {
      nlohmann::json jp = figures_json(p.figures);
      jp["ratio"] = p.ratio;
      jp["removed"] = p.removed;
      jp["macs"] = p.macs;
      jg["points"].push_back(jp);
    }
    j["groups"].push_back(jg);
  }
  return j;
}

void add_recovery_json(nlohmann::json& j, const prune::PruneReport& r, const PruneArgs& a) {
  if (r.sensitivity) j["sensitivity"] = sensitivity_json(*r.sensitivity);
  if (r.target) {
    nlohmann::json ratios = nlohmann::json::object();
    for (const auto& [g, ratio] : r.target->group_ratios) ratios[std::to_string(g)] = ratio;
    j["target_macs"] = {{"target", *a.target_macs}, {"macs", r.target->macs}, {"group_ratios", ratios}};
  }
  if (r.recovery.empty()) {
    j["recovery"] = nullptr;
    return;
  }
  nlohmann::json steps = nlohmann::json::array();
  for (const prune::RecoveryStep& st : r.recovery) {
    nlohmann::json js = figures_json(st.figures);
    js["step"] = st.step;
    js["reverted"] = st.reverted;
    steps.push_back(js);
  }
  nlohmann::json refits = nlohmann::json::array();
  for (const prune::LayerRefit& l : r.refits) {
    nlohmann::json jl = {{"layer", l.layer}, {"op_type", l.op_type}, {"inputs", l.inputs}, {"rows", l.rows},
                         {"judged_rows", l.judged}, {"mse_before", l.mse_before}, {"mse_after", l.mse_after}};
    jl["skipped"] = l.skipped.empty() ? nlohmann::json(nullptr) : nlohmann::json(l.skipped);
    refits.push_back(jl);
  }
  j["recovery"] = {{"steps", steps}, {"bn_recalibrated", r.bn_recalibrated}, {"refits", refits}};
}

std::string figures_text(const prune::OutputFigures& f) {
  return fmt::format("SQNR {:>6} dB (all samples)  top-1 agreement {}", format_db(f.sqnr_db),
                     f.top1 ? fmt::format("{:.1f}%", 100.0 * *f.top1) : std::string("-"));
}

void print_sensitivity(const prune::Sensitivity& s) {
  fmt::print("sensitivity (each group pruned alone; SQNR dB / top-1 agreement %):\n");
  fmt::print("  {:>5} {:<24} {:>5}", "group", "layers", "chan");
  for (double r : s.ratios) fmt::print(" {:>11}", fmt::format("{:g}", r));
  fmt::print("\n");
  for (const prune::GroupSweep& g : s.groups) {
    std::string layers = g.layers.empty() ? "" : g.layers.front() + (g.layers.size() > 1 ? fmt::format(" +{}", g.layers.size() - 1) : "");
    if (layers.size() > 24) layers = layers.substr(0, 21) + "...";
    fmt::print("  {:>5} {:<24} {:>5}", g.group, layers, g.units);
    for (double r : s.ratios) {
      const prune::SweepPoint* p = nullptr;
      for (const prune::SweepPoint& q : g.points)
        if (q.ratio == r) p = &q;
      std::string cell = "-";
      if (p)
        cell = fmt::format("{}/{}", format_db(p->figures.sqnr_db),
                           p->figures.top1 ? fmt::format("{:.0f}", 100.0 * *p->figures.top1) : "-");
      fmt::print(" {:>11}", cell);
    }
    fmt::print("\n");
  }
}

void print_recovery(const prune::PruneReport& r, const PruneArgs& a) {
  if (r.target) {
    std::string ratios;
    for (const auto& [g, ratio] : r.target->group_ratios) ratios += fmt::format("{}group {}: {:g}", ratios.empty() ? "" : ", ", g, ratio);
    fmt::print("target MACs {:g}: {} of {} ({})\n", *a.target_macs, human_count(r.target->macs),
               human_count(r.sensitivity ? r.sensitivity->macs : 0), ratios);
  }
  if (r.recovery.empty()) return;
  fmt::print("recovery on the calibration samples ({} BatchNormalization re-estimated, {} of {} layers refit):\n",
             r.bn_recalibrated, std::count_if(r.refits.begin(), r.refits.end(), [](const auto& l) { return l.skipped.empty(); }),
             r.refits.size());
  for (const prune::RecoveryStep& st : r.recovery)
    fmt::print("  {:<16} {}{}\n", st.step, figures_text(st.figures),
               st.reverted ? "  (undone: it lowered the output SQNR)" : "");
  for (const prune::LayerRefit& l : r.refits) {
    if (l.skipped.empty())
      fmt::print("  refit {} ({}): {} inputs, {} rows, output MSE {:.4g} -> {:.4g} on {} unseen rows\n", l.layer, l.op_type,
                 l.inputs, l.rows, l.mse_before, l.mse_after, l.judged);
    else
      fmt::print("  refit {} ({}): kept its weights: {}\n", l.layer, l.op_type, l.skipped);
  }
}

nlohmann::json report_json(const PruneArgs& a, const prune::PruneReport& r, const Figures& before, const Figures& after,
                           const prune::CheckResult* check, const std::string& sample_source, bool written) {
  nlohmann::json j;
  j["model"] = a.input;
  j["output"] = written ? nlohmann::json(a.output) : nlohmann::json(nullptr);
  j["ratio"] = a.ratio_given ? nlohmann::json(a.ratio) : nlohmann::json(nullptr);
  j["criterion"] = a.criterion;
  j["scope"] = a.scope;
  j["round_to"] = a.round_to;
  j["min_channels"] = a.min_channels;
  j["before"] = figures_json(before);
  j["after"] = figures_json(after);
  j["groups"] = nlohmann::json::array();
  j["left_whole"] = nlohmann::json::array();
  for (const prune::GroupReport& g : r.groups) {
    nlohmann::json jg = {{"id", g.id},           {"layers", g.layers},        {"channels", g.units},
                         {"kept", g.units - g.removed}, {"ratio", g.ratio},  {"pinned_channels", g.pinned_units},
                         {"pin_reasons", g.pin_reasons}};
    jg["left_whole"] = g.left_whole.empty() ? nlohmann::json(nullptr) : nlohmann::json(g.left_whole);
    j["groups"].push_back(jg);
    if (!g.left_whole.empty())
      j["left_whole"].push_back({{"group", g.id}, {"layers", g.layers}, {"channels", g.units}, {"reason", g.left_whole}});
  }
  j["layers"] = nlohmann::json::array();
  for (const prune::LayerReport& l : r.layers)
    j["layers"].push_back({{"name", l.name}, {"op_type", l.op_type}, {"group", l.group}, {"channels", l.channels},
                           {"kept", l.kept}});
  j["notes"] = r.notes;
  add_recovery_json(j, r, a);
  if (check) {
    std::vector<OutputVerdict> verdicts = check->accuracy->verdicts();
    nlohmann::json c = accuracy_json(*check->accuracy, verdicts);
    c["samples"] = check->accuracy->samples();
    c["sample_source"] = sample_source;
    if (!check->accuracy->passed()) c["failure"] = first_failure(verdicts);
    j["check"] = c;
  } else {
    j["check"] = nullptr;
  }
  return j;
}

std::string change(double before, double after) {
  if (before <= 0 || after <= 0) return "";
  return fmt::format("{:+.1f}%", 100.0 * (after - before) / before);
}

std::string layer_list(const std::vector<std::string>& layers, size_t max = 3) {
  std::string s;
  for (size_t i = 0; i < layers.size() && i < max; ++i) s += (i ? ", " : "") + layers[i];
  if (layers.size() > max) s += fmt::format(" and {} more", layers.size() - max);
  return s;
}

void print_text(const PruneArgs& a, const prune::PruneReport& r, const Figures& before, const Figures& after,
                const prune::CheckResult* check, const std::string& sample_source, bool written) {
  if (r.sensitivity) print_sensitivity(*r.sensitivity);
  fmt::print("{} -> {} ({}, criterion {}, scope {})\n", a.input, written ? a.output : "(not written)",
             a.target_macs ? fmt::format("target MACs {:g}", *a.target_macs) : fmt::format("ratio {:g}", a.ratio),
             a.criterion, a.target_macs ? "local" : a.scope);  // the target sets a ratio per group
  fmt::print("  {:<12} {:>12} {:>12} {:>9}\n", "", "before", "after", "change");
  auto row = [](const char* what, const std::string& b, const std::string& c, const std::string& ch) {
    fmt::print("  {:<12} {:>12} {:>12} {:>9}\n", what, b, c, ch);
  };
  const auto& bm = before.model;
  const auto& am = after.model;
  row("parameters", human_count(static_cast<uint64_t>(bm.parameters)), human_count(static_cast<uint64_t>(am.parameters)),
      change(static_cast<double>(bm.parameters), static_cast<double>(am.parameters)));
  row("MACs", human_count(bm.macs), human_count(am.macs), change(static_cast<double>(bm.macs), static_cast<double>(am.macs)));
  if (written)
    row("file size", human_bytes(before.file_bytes), human_bytes(after.file_bytes),
        change(static_cast<double>(before.file_bytes), static_cast<double>(after.file_bytes)));
  if (before.latency_ms > 0)
    row("latency", fmt::format("{:.2f} ms", before.latency_ms), fmt::format("{:.2f} ms", after.latency_ms),
        change(before.latency_ms, after.latency_ms));
  size_t pruned = 0, whole = 0;
  for (const prune::GroupReport& g : r.groups) (g.left_whole.empty() ? pruned : whole)++;
  fmt::print("groups: {} pruned, {} left whole\n", pruned, whole);
  for (const prune::GroupReport& g : r.groups) {
    if (!g.left_whole.empty()) continue;
    fmt::print("  group {:>3}: {:>5} -> {:<5} {}{}\n", g.id, g.units, g.units - g.removed, layer_list(g.layers),
               g.pinned_units ? fmt::format(" ({} kept: {})", g.pinned_units, g.pin_reasons.front()) : "");
  }
  for (const prune::GroupReport& g : r.groups)
    if (!g.left_whole.empty())
      fmt::print("  group {:>3}: {:>5} kept whole, {}: {}\n", g.id, g.units, layer_list(g.layers), g.left_whole);
  fmt::print("layers (channels kept):\n");
  size_t w = 8;
  for (const prune::LayerReport& l : r.layers) w = std::max(w, std::min<size_t>(l.name.size(), 60));
  for (const prune::LayerReport& l : r.layers)
    fmt::print("  {:<{}} {:<14} {:>5} -> {}\n", l.name, w, l.op_type, l.channels, l.kept);
  for (const std::string& n : r.notes) fmt::print("note: {}\n", n);
  print_recovery(r, a);
  if (!check) {
    fmt::print("check: off\n");
    return;
  }
  fmt::print("check: pruned vs original on {}\n", sample_source);
  print_accuracy_table(*check->accuracy);
  print_verdicts(*check->accuracy, check->accuracy->verdicts());
}

int prune_command(PruneArgs& a) {
  if (Status st = validate_gates(a.gates); !st.is_ok()) return report(st);
  auto plan = plan_options(a);
  if (!plan.is_ok()) return report(plan.status());
  const bool sweep_only = a.sensitivity && !a.ratio_given && !a.target_macs;
  if (a.output.empty() && !sweep_only) return report(invalid("no output given: -o OUT.onnx"));
  if (!a.output.empty())
    if (Status st = check_not_same_file(a.input, a.output, a.force); !st.is_ok()) return report(st);

  LoadInfo info;
  auto loaded = load_model(a.input, {}, &info);
  if (!loaded.is_ok()) return report(loaded.status());
  std::unique_ptr<ir::Model> model = std::move(loaded).value();
  Figures before, after;
  before.file_bytes = info.file_bytes;
  for (const auto& f : info.external_files) before.file_bytes += file_bytes(f);
  if (Status st = resolve_shapes(*model->graph, a.in); !st.is_ok()) return report(st);
  prune::PruneOptions po;
  po.plan = *plan;
  po.prepare.input_shapes = a.in.input_shapes;
  po.prepare.dim_bindings = a.in.dim_bindings;

  // The reference: the original prepared as the pruned model is, BatchNormalization folded, so
  // that latency and parameters compare like with like. Tensors are mapped, so loading twice is cheap.
  auto ref_loaded = load_model(a.input);
  if (!ref_loaded.is_ok()) return report(ref_loaded.status());
  std::unique_ptr<ir::Model> reference = std::move(ref_loaded).value();
  if (auto prep = prune::prepare_model(*reference, po.prepare, /*fold_norms=*/true); !prep.is_ok())
    return report(prep.status().with_context(a.input));

  // Samples: --calib (recovery, the activation criterion, the sweep and the check; with --check N
  // the check takes its first N), else seeded random ones for the check and the sweep.
  std::unique_ptr<rt::SampleSource> samples, first_n;
  if (!a.calib.empty()) {
    rt::SampleOptions so;
    auto image = parse_image_options(a.image);
    if (!image.is_ok()) return report(image.status());
    so.image = *image;
    auto opened = rt::open_samples(*reference->graph, a.calib, so);
    if (!opened.is_ok()) return report(opened.status());
    samples = std::move(opened).value();
    if (a.check_given && a.check > 0) {
      auto again = rt::open_samples(*reference->graph, a.calib, so);  // files are read lazily: cheap
      if (!again.is_ok()) return report(again.status());
      first_n = rt::first_samples(std::move(again).value(), static_cast<size_t>(a.check));
    }
  } else if (a.check > 0 || a.sensitivity || a.target_macs) {
    // The sweep needs samples even with --check 0.
    samples = rt::random_samples(*reference->graph, static_cast<size_t>(a.check > 0 ? a.check : 4), a.in.seed,
                                 a.in.input_shapes, a.in.dim_bindings);
  }
  rt::SessionOptions session;
  session.threads = a.in.threads;
  session.spare_busy_cores = true;  // --threads is a ceiling, as in run and bench
  apply_provider_options(a.in, session);
  session.dim_bindings = a.in.dim_bindings;
  if (Status st = apply_limit_options(a.in, session); !st.is_ok()) return report(st);

  if (!a.calib.empty()) po.samples = samples.get();
  po.recover = !a.calib.empty() && !a.no_recover;
  po.sensitivity = a.sensitivity;
  po.target_macs = a.target_macs;
  po.sweep_samples = samples.get();
  po.session = session;
  // One bar per stage (activations, sweep, bn, refit).
  std::unique_ptr<ProgressBar> bar;
  std::string bar_stage;
  po.progress = [&](std::string_view stage, size_t done, size_t total) {
    if (!bar || bar_stage != stage) {
      if (bar) bar->finish();
      bar_stage = std::string(stage);
      bar = std::make_unique<ProgressBar>(bar_stage, total);
    }
    bar->update(done);
  };
  if (sweep_only) {
    auto swept = prune::sweep_model(*model, po);
    if (bar) bar->finish();
    if (!swept.is_ok()) return report(swept.status().with_context(a.input));
    if (!a.report_path.empty() || a.json || !a.html.empty()) {
      nlohmann::json j = {{"model", a.input}, {"criterion", a.criterion}, {"sample_source", samples->describe()},
                          {"sensitivity", sensitivity_json(*swept)}};
      if (!a.report_path.empty())
        if (Status st = write_file_atomic(a.report_path, j.dump(2) + "\n"); !st.is_ok()) return report(st);
      if (!a.html.empty())
        if (Status st = write_html(a.html, "prune", j, a.input); !st.is_ok()) return report(st);
      if (a.json) {
        print_json(j);
        return kExitOk;
      }
    }
    fmt::print("{}: {} MACs, samples: {}\n", a.input, human_count(swept->macs), samples->describe());
    print_sensitivity(*swept);
    return kExitOk;
  }
  auto pruned = prune::prune_model(*model, po);
  if (bar) bar->finish();
  if (!pruned.is_ok()) return report(pruned.status().with_context(a.input));
  before.model = prune::model_figures(*reference);
  after.model = prune::model_figures(*model);

  std::optional<prune::CheckResult> check;
  std::string source_text;
  const rt::SampleSource* check_samples = first_n ? first_n.get() : samples.get();
  if (check_samples && a.check > 0) {
    source_text = check_samples->describe();
    prune::CheckOptions co;
    co.gates = a.gates;
    co.session = session;
    ProgressBar bar("check", check_samples->size());
    co.progress = [&bar](size_t done, size_t) { bar.update(done); };
    auto c = prune::check_pruned(*reference, *model, *check_samples, co);
    bar.finish();
    if (!c.is_ok()) return report(c.status().with_context(a.input));
    check = std::move(c).value();
    before.latency_ms = check->reference_ms;
    after.latency_ms = check->pruned_ms;
  }
  const bool passed = !check || check->accuracy->passed();

  if (passed) {
    SaveOptions save;
    save.input_path = a.input;
    save.force = a.force;
    auto saved = save_model(*model, a.output, save);
    if (!saved.is_ok()) return report(saved.status());
    after.file_bytes = saved->model_bytes + saved->data_bytes;
  }
  nlohmann::json j = report_json(a, *pruned, before, after, check ? &*check : nullptr, source_text, passed);
  if (!a.report_path.empty()) {
    if (Status st = write_file_atomic(a.report_path, j.dump(2) + "\n"); !st.is_ok()) return report(st);
  }
  if (!a.html.empty())
    if (Status st = write_html(a.html, "prune", j, a.input); !st.is_ok()) return report(st);
  if (a.json) print_json(j);
  else print_text(a, *pruned, before, after, check ? &*check : nullptr, source_text, passed);
  if (!passed)
    return report(check_failed("{}: the pruned model fails a gate, nothing written: {}", a.input,
                               first_failure(check->accuracy->verdicts())));
  return kExitOk;
}

}  // namespace

Command register_prune(CLI::App& parent) {
  auto a = std::make_shared<PruneArgs>();
  CLI::App* app = parent.add_subcommand(
      "prune", "Remove the least important channels (dependency-aware), then check the result against the original");
  app->add_option("model", a->input, "ONNX model to prune")->required();
  app->add_option("-o,--output", a->output, "Pruned model to write (atomically; never the input without --force)");
  app->add_flag("--force", a->force, "Allow the output to be the input file");
  CLI::Option* ratio = app->add_option("--ratio", a->ratio,
                                       "Fraction of channels to remove, above 0 and below 1 (per group, or overall "
                                       "with --scope global)");
  app->add_option("--target-macs", a->target_macs,
                  "Instead of --ratio: keep this fraction of the original MACs, with per-group ratios chosen from "
                  "the sensitivity sweep for the least damage")
      ->type_name("F");
  app->add_flag("--sensitivity", a->sensitivity,
                "Prune each group alone at ratios 0.1 to 0.7 and report output SQNR and top-1 agreement per group "
                "and ratio (on the --calib samples, else the --check random ones); alone, nothing is written");
  app->add_flag("--no-recover", a->no_recover,
                "With --calib: skip recovery (BatchNormalization statistics re-estimated, least-squares refit of the "
                "layers after pruned channels)");
  app->add_option("--criterion", a->criterion,
                  "How channels are ranked: l1 or l2 (weight magnitude summed over every layer of a group), "
                  "bn-scale (|gamma| of BatchNormalization) or activation (mean |output| of each channel over the "
                  "--calib samples); default l2")
      ->check(CLI::IsMember({"l1", "l2", "bn-scale", "activation"}));
  app->add_option("--scope", a->scope, "local: every group loses the ratio; global: the least important channels anywhere (default local)")
      ->check(CLI::IsMember({"local", "global"}));
  app->add_option("--layer", a->layers, "Prune the group of layer NAME at ratio R instead (0 keeps it); repeatable")
      ->type_name("NAME=R");
  app->add_option("--exclude", a->exclude, "Leave the groups of these layers whole (comma-separated, repeatable)")
      ->delimiter(',')
      ->type_name("NAMES");
  app->add_option("--round-to", a->round_to, "Keep channel counts at multiples of N where a group has that many (default 1)");
  app->add_option("--min-channels", a->min_channels, "Every layer keeps at least N channels (default 1)");
  CLI::Option* check = app->add_option("--check", a->check,
                                       "Check on N seeded random samples (with --calib: its first N); 0 disables the "
                                       "check (default 4)")
                           ->check(CLI::Range(0, 1000000));
  app->add_option("--calib", a->calib,
                  "Samples for recovery, the activation criterion, the sweep and the check: a folder of .npy/.pb files, of test-data "
                  "subfolders or of images, or one batch .npy")
      ->type_name("PATH");
  add_image_options(*app, a->image);
  app->add_option("--seed", a->in.seed, "Seed of the first random sample (default 0)");
  app->add_option("--shape", a->in.shapes,
                  "Fix an input's shape NAME=d0,d1,... or bind a symbolic dim SYMBOL=n (as optimize --shape, the "
                  "written model keeps them fixed)")
      ->type_name("NAME=DIMS");
  add_threads_option(*app, a->in.threads);
  add_limit_options(*app, a->in);
  add_providers_option(*app, a->in);
  add_gate_options(*app, a->gates, " (exit 1, nothing written)");
  app->add_option("--report", a->report_path, "Also write the JSON report to this file")->type_name("FILE.json");
  app->add_flag("--json", a->json, "Print the report as JSON on stdout");
  add_html_option(*app, a->html);
  app->footer(
      "Channels coupled through residual adds, concatenations, depthwise and grouped convolutions, channel\n"
      "shuffles and flattening into Gemm are pruned together; a group whose coupling cannot be proven is\n"
      "kept whole and named in the report. Graph inputs and outputs keep their shapes. The result is\n"
      "optimized (BatchNormalization folded) and checked against the original: output shapes must match,\n"
      "and the gates, when given, decide whether it is written (exit 1 when one fails).\n"
      "With --calib the pruned model is recovered without retraining: BatchNormalization statistics behind\n"
      "the changed layers are re-estimated, and each layer that lost input channels is refit by least\n"
      "squares to the original's outputs; each step is measured and reported (--no-recover skips it).\n"
      "Examples:\n"
      "  ortool prune model.onnx -o pruned.onnx --ratio 0.3\n"
      "  ortool prune model.onnx -o pruned.onnx --ratio 0.5 --scope global --criterion bn-scale --round-to 8\n"
      "  ortool prune model.onnx -o pruned.onnx --ratio 0.3 --exclude conv1 --layer layer4.conv2=0.5 --json\n"
      "  ortool prune model.onnx -o pruned.onnx --ratio 0.3 --calib images/ --max-top1-drop 5 --report prune.json\n"
      "  ortool prune model.onnx -o pruned.onnx --ratio 0.3 --criterion activation --calib calib/\n"
      "  ortool prune model.onnx --sensitivity --calib calib/\n"
      "  ortool prune model.onnx -o pruned.onnx --target-macs 0.7 --calib calib/ --report prune.json");
  return {app, [a, check, ratio] {
            a->check_given = check->count() > 0;
            a->ratio_given = ratio->count() > 0;
            return prune_command(*a);
          }};
}

}  // namespace ortool::cli
