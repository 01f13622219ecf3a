// `ortool quantize IN -o OUT`: INT8 static (calibrated) or dynamic quantization, proved on samples.
// quant/quantize_pipeline.h does the work (prepare, ranges, quantize, proof, --target-sqnr fallback);
// this file parses options, opens samples and prints.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "apps/accuracy_print.h"
#include "apps/cli_parse.h"
#include "apps/cli_util.h"
#include "apps/commands.h"
#include "apps/gate_options.h"
#include "apps/html_option.h"
#include "apps/input_options.h"
#include "apps/progress.h"
#include "apps/sample_options.h"
#include "lib/file_util.h"
#include "lib/model_io.h"
#include "quant/quantize_pipeline.h"
#include "runtime/provider.h"
#include "runtime/samples.h"

namespace ortool::cli {

namespace {

struct QuantizeArgs {
  std::string input, output;
  bool force = false;
  std::string mode = "static", format = "qdq";
  std::string calib;
  size_t calib_samples = 0;  // 0: all
  std::string method = "minmax";
  double percentile = 99.999;
  bool two_pass = false;
  std::string table;
  bool recalibrate = false;
  bool write_table = false;  // --calibration-table FILE: written when missing (or --recalibrate), else read
  std::string activation_type = "uint8", weight_type = "int8";
  bool per_tensor_weights = false, symmetric_activations = false, reduce_range = false, dynamic_conv = false;
  bool share_weights = false;
  bool equalize = false, bias_correction = false, no_effects = false;
  bool no_speed = false;
  double min_speedup = 0;
  bool min_speedup_given = false;
  std::vector<std::string> op_types, exclude_nodes, exclude_op_types;
  int check = 4;
  bool check_given = false;
  ImageCliOptions image;
  InputOptions in;  // --seed, --shape, --threads, --providers
  Gates gates;
  double target_sqnr = 0;
  bool target_given = false;
  int max_rounds = 8;
  std::string report_path;
  std::string html;  // --html FILE
  bool json = false;
};

DType type_of(const std::string& s) { return s == "int8" ? DType::Int8 : DType::UInt8; }

Result<quant::PipelineOptions> pipeline_options(const QuantizeArgs& a) {
  quant::PipelineOptions o;
  o.mode = a.mode == "dynamic" ? quant::QuantMode::Dynamic : quant::QuantMode::Static;
  o.quantize.format = a.format == "qoperator" ? quant::QuantFormat::QOperator : quant::QuantFormat::QDQ;
  o.quantize.activation_type = type_of(a.activation_type);
  o.quantize.weight_type = type_of(a.weight_type);
  o.quantize.per_channel = !a.per_tensor_weights;
  o.quantize.symmetric_activations = a.symmetric_activations;
  o.quantize.reduce_range = a.reduce_range;
  o.quantize.share_weights = a.share_weights;
  o.quantize.op_types = a.op_types;
  o.quantize.exclude_nodes = a.exclude_nodes;
  o.quantize.exclude_op_types = a.exclude_op_types;
  o.quantize.dynamic_conv = a.dynamic_conv;
  o.quantize.equalize = a.equalize;
  o.quantize.bias_correction = a.bias_correction;
  o.measure_effects = !a.no_effects;
  if (a.dynamic_conv && o.mode != quant::QuantMode::Dynamic) return invalid("--dynamic-conv applies to --mode dynamic");
  if (a.format == "qoperator" && o.mode == quant::QuantMode::Dynamic)
    return invalid("--format applies to --mode static (dynamic writes its own integer ops)");
  ASSIGN_OR_RETURN(o.calib.range.method, quant::parse_calib_method(a.method));
  o.calib.collect.histogram = quant::method_needs_histogram(o.calib.range.method);
  o.calib.range.percentile = a.percentile;
  o.calib.range.symmetric = a.symmetric_activations;
  o.calib.two_pass = a.two_pass;
  if (a.two_pass && !o.calib.collect.histogram) return invalid("--two-pass applies to the histogram methods (entropy, percentile, mse)");
  if (!a.table.empty()) (a.write_table ? o.table_out : o.table_in) = a.table;
  rt::SessionOptions session;
  session.threads = a.in.threads;
  session.spare_busy_cores = true;  // --threads is a ceiling, as in run and bench
  apply_provider_options(a.in, session);
  session.dim_bindings = a.in.dim_bindings;
  TRY(apply_limit_options(a.in, session));
  o.calib.session = session;
  o.proof.session = session;
  if (a.min_speedup_given && a.no_speed) return invalid("--min-speedup needs the latency measurement that --no-speed skips");
  if (!a.no_speed) {
    quant::SpeedOptions speed;
    speed.session = session;
    o.speed = speed;
  }
  o.proof.gates = a.gates;
  o.proof.tensor_sqnr = !a.report_path.empty() || !a.html.empty();
  o.optimize.input_shapes = a.in.input_shapes;
  o.optimize.dim_bindings = a.in.dim_bindings;
  if (a.target_given) o.target_sqnr_db = a.target_sqnr;
  o.max_fallback_rounds = a.max_rounds;
  return o;
}

uint64_t file_bytes(const std::filesystem::path& p) {
  std::error_code ec;
  auto n = std::filesystem::file_size(p, ec);
  return ec ? 0 : n;
}

nlohmann::json db_json(const std::optional<double>& db) {
  if (!db || !std::isfinite(*db)) return nullptr;
  return *db;
}

nlohmann::json outcomes_json(const std::vector<quant::NodeOutcome>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& o : v) a.push_back({{"node", o.node}, {"op_type", o.op_type}, {"detail", o.detail}});
  return a;
}

nlohmann::json equalize_json(const std::optional<quant::EqualizeReport>& e) {
  if (!e) return nullptr;
  nlohmann::json pairs = nlohmann::json::array();
  for (const quant::EqualizedPair& p : e->pairs)
    pairs.push_back({{"first", p.first}, {"second", p.second}, {"through", p.through}, {"channels", p.channels},
                     {"depthwise", p.depthwise}});
  return {{"pairs", pairs}, {"iterations", e->iterations}, {"converged", e->converged},
          {"skipped_clip", e->skipped_clip}, {"balance_before", e->balance_before}, {"balance_after", e->balance_after}};
}

nlohmann::json bias_correction_json(const quant::QuantizeReport& q) {
  nlohmann::json layers = nlohmann::json::array();
  int64_t created = 0;
  for (const quant::BiasCorrection& b : q.bias_corrections) {
    layers.push_back({{"node", b.node}, {"channels", b.channels}, {"max_shift", b.max_shift},
                      {"mean_abs_shift", b.mean_abs_shift}, {"created", b.created}});
    created += b.created;
  }
  return {{"corrected", q.bias_corrections.size()}, {"created", created}, {"layers", layers}};
}

nlohmann::json effects_json(const std::vector<quant::OptionEffect>& effects) {
  nlohmann::json a = nlohmann::json::array();
  for (const quant::OptionEffect& e : effects)
    a.push_back({{"option", e.option}, {"sqnr_without_db", db_json(e.without_db)}, {"sqnr_with_db", db_json(e.with_db)},
                 {"note", e.note.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.note)}});
  return a;
}

struct Sizes {
  uint64_t before = 0, after = 0;
};

nlohmann::json report_json(const QuantizeArgs& a, const quant::PipelineResult& r, const Sizes& size, bool written) {
  nlohmann::json j;
  j["model"] = a.input;
  j["output"] = written ? nlohmann::json(a.output) : nlohmann::json(nullptr);
  j["mode"] = a.mode;
  j["format"] = a.mode == "static" ? nlohmann::json(a.format) : nlohmann::json(nullptr);
  j["activation_type"] = a.activation_type;
  j["weight_type"] = a.weight_type;
  j["per_channel_weights"] = !a.per_tensor_weights;
  j["optimized"] = r.optimized ? nlohmann::json({{"nodes_before", r.optimized->before.nodes},
                                                  {"nodes_after", r.optimized->after.nodes},
                                                  {"rewrites", r.optimized->pipeline.rewrites}})
                               : nlohmann::json(nullptr);
  j["equalize"] = equalize_json(r.equalized);
  j["bias_correction"] = a.bias_correction ? bias_correction_json(r.quantize) : nlohmann::json(nullptr);
  j["effects"] = effects_json(r.effects);
  if (r.calibration) {
    const quant::CalibResult& c = *r.calibration;
    nlohmann::json jc = {{"tensors", r.calibrated_tensors.size()}, {"samples", c.samples}, {"passes", c.passes},
                         {"from_table", r.ranges_from_table}, {"notes", c.notes}};
    jc["method"] = r.ranges_from_table ? nlohmann::json(nullptr) : nlohmann::json(a.method);
    jc["table"] = a.table.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.table);
    jc["source"] = a.calib.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.calib);
    // The ranges the quantizer used, with the extremes calibration saw (none for ranges from a table).
    nlohmann::json ranges = nlohmann::json::array();
    for (const auto& [name, range] : c.ranges) {
      nlohmann::json jr = {{"tensor", name}, {"min", range.min}, {"max", range.max}};
      auto st = c.stats.find(name);
      jr["observed_min"] = st != c.stats.end() ? nlohmann::json(st->second.min) : nlohmann::json(nullptr);
      jr["observed_max"] = st != c.stats.end() ? nlohmann::json(st->second.max) : nlohmann::json(nullptr);
      ranges.push_back(std::move(jr));
    }
    jc["ranges"] = ranges;
    j["calibration"] = jc;
  } else {
    j["calibration"] = nullptr;
  }
  j["quantized"] = outcomes_json(r.quantize.quantized);
  j["left_float"] = outcomes_json(r.quantize.left_float);
  j["notes"] = r.quantize.notes;
  for (const std::string& n : r.notes) j["notes"].push_back(n);
  j["opset"] = {{"before", r.quantize.opset_before}, {"after", r.quantize.opset_after}};
  j["weights_quantized"] = r.quantize.weights_quantized;
  j["biases_quantized"] = r.quantize.biases_quantized;
  j["size_bytes"] = {{"before", size.before}, {"after", written ? nlohmann::json(size.after) : nlohmann::json(nullptr)}};
  if (r.proof) {
    std::vector<OutputVerdict> verdicts = r.proof->accuracy->verdicts();
    nlohmann::json c = accuracy_json(*r.proof->accuracy, verdicts);
    c["samples"] = r.proof->samples;
    c["sample_source"] = r.proof->sample_source;
    if (!r.proof->accuracy->passed()) c["failure"] = first_failure(verdicts);
    j["proof"] = c;
    nlohmann::json t = nlohmann::json::array();
    for (const quant::TensorSqnr& x : r.proof->tensors)
      t.push_back({{"tensor", x.name}, {"producer", x.producer}, {"op_type", x.op_type}, {"sqnr_db", db_json(x.sqnr_db())},
                   {"exact", x.noise_energy == 0}});
    j["tensors"] = t;  // worst first; empty unless --report, --html or --target-sqnr
  } else {
    j["proof"] = nullptr;
    j["tensors"] = nlohmann::json::array();
  }
  if (r.speed) {
    const quant::SpeedResult& sp = *r.speed;
    j["speed"] = {{"float_ms", sp.float_ms.median}, {"int8_ms", sp.int8_ms.median}, {"speedup", sp.speedup()},
                  {"runs", sp.int8_ms.runs}, {"threads", sp.threads},
                  {"too_spread", sp.float_ms.too_spread || sp.int8_ms.too_spread},
                  {"min_speedup", a.min_speedup_given ? nlohmann::json(a.min_speedup) : nlohmann::json(nullptr)}};
  } else {
    j["speed"] = nullptr;
  }
  if (a.target_given) {
    nlohmann::json rounds = nlohmann::json::array();
    for (const quant::FallbackRound& f : r.fallback)
      rounds.push_back({{"nodes", f.nodes}, {"tensor", f.tensor}, {"damage_db", f.damage_db},
                        {"output_sqnr_db", db_json(f.output_sqnr_db)}});
    j["target_sqnr"] = {{"target_db", a.target_sqnr}, {"reached", r.target_reached},
                        {"initial_sqnr_db", db_json(r.first_output_sqnr_db)}, {"rounds", rounds}};
  }
  return j;
}

// "Conv 2, Gemm 2, Relu 3": nodes per op type.
std::string op_counts(const std::vector<quant::NodeOutcome>& v) {
  std::map<std::string, int> n;
  for (const auto& o : v) ++n[o.op_type];
  std::vector<std::string> parts;
  for (const auto& [op, c] : n) parts.push_back(fmt::format("{} {}", op, c));
  return fmt::format("{}", fmt::join(parts, ", "));
}

// What --equalize and --bias-correction did, and their measured effect.
void print_accuracy_options(const QuantizeArgs& a, const quant::PipelineResult& r) {
  if (const auto& e = r.equalized) {
    const auto dw = std::count_if(e->pairs.begin(), e->pairs.end(), [](const auto& p) { return p.depthwise; });
    fmt::print("equalize: {} layer pair{} ({} depthwise), {} sweep{}{}, weight range balance {:.3g} -> {:.3g}\n",
               e->pairs.size(), e->pairs.size() == 1 ? "" : "s", dw, e->iterations, e->iterations == 1 ? "" : "s",
               e->converged ? "" : " (not converged)", e->balance_before, e->balance_after);
    if (e->skipped_clip > 0)
      fmt::print("  note: {} pair{} through a Clip with a max (ReLU6) left alone: not scale-equivariant\n",
                 e->skipped_clip, e->skipped_clip == 1 ? "" : "s");
  }
  if (a.bias_correction) {
    double largest = 0;
    int64_t created = 0;
    for (const quant::BiasCorrection& b : r.quantize.bias_corrections) {
      largest = std::max(largest, b.max_shift);
      created += b.created;
    }
    fmt::print("bias correction: {} bias{} corrected ({} created), largest shift {:.3g}\n",
               r.quantize.bias_corrections.size(), r.quantize.bias_corrections.size() == 1 ? "" : "es", created, largest);
  }
  for (const quant::OptionEffect& e : r.effects) {
    if (!e.note.empty()) {
      fmt::print("  --{}: effect {}\n", e.option, e.note);
      continue;
    }
    const bool both = e.without_db && e.with_db && std::isfinite(*e.without_db) && std::isfinite(*e.with_db);
    fmt::print("  --{}: output SQNR {} dB without, {} dB with{}\n", e.option, format_db(e.without_db),
               format_db(e.with_db), both ? fmt::format(" ({:+.2f} dB)", *e.with_db - *e.without_db) : "");
  }
}

void print_text(const QuantizeArgs& a, const quant::PipelineResult& r, const Sizes& size, bool written) {
  std::string how = a.mode == "static"
                        ? fmt::format("static {}, {} activations, {} {} weights", a.format == "qdq" ? "QDQ" : "QOperator",
                                      a.activation_type, a.weight_type, a.per_tensor_weights ? "per-tensor" : "per-channel")
                        : fmt::format("dynamic, {} {} weights", a.weight_type, a.per_tensor_weights ? "per-tensor" : "per-channel");
  fmt::print("{} -> {} ({})\n", a.input, written ? a.output : "(not written)", how);
  if (r.optimized)
    fmt::print("optimize: {} -> {} nodes{}\n", r.optimized->before.nodes, r.optimized->after.nodes,
               r.baked_inputs ? fmt::format(" ({} initializer inputs baked)", r.baked_inputs) : "");
  if (r.calibration) {
    const quant::CalibResult& c = *r.calibration;
    if (r.ranges_from_table)
      fmt::print("ranges: {} tensors from {}\n", r.calibrated_tensors.size(), a.table);
    else
      fmt::print("calibration: {} tensors on {} sample{} of {}, method {}{}\n", r.calibrated_tensors.size(), c.samples,
                 c.samples == 1 ? "" : "s", a.calib, a.method, c.passes > 1 ? ", two passes" : "");
    if (a.write_table) fmt::print("  table written: {}\n", a.table);
    for (const std::string& n : c.notes) fmt::print("  note: {}\n", n);
  }
  print_accuracy_options(a, r);
  fmt::print("quantized: {} node{} ({})\n", r.quantize.quantized.size(), r.quantize.quantized.size() == 1 ? "" : "s",
             op_counts(r.quantize.quantized));
  // Left float, grouped by reason.
  std::map<std::string, std::vector<std::string>> why;
  for (const auto& o : r.quantize.left_float) why[o.detail].push_back(fmt::format("{} ({})", o.node, o.op_type));
  fmt::print("left float: {} node{}\n", r.quantize.left_float.size(), r.quantize.left_float.size() == 1 ? "" : "s");
  for (const auto& [reason, nodes] : why) {
    std::string list;
    for (size_t i = 0; i < nodes.size() && i < 3; ++i) list += (i ? ", " : "") + nodes[i];
    if (nodes.size() > 3) list += fmt::format(" and {} more", nodes.size() - 3);
    fmt::print("  {:>4} {}: {}\n", nodes.size(), reason, list);
  }
  for (const std::string& n : r.quantize.notes) fmt::print("note: {}\n", n);
  for (const std::string& n : r.notes) fmt::print("note: {}\n", n);
  if (written)
    fmt::print("size: {} -> {} ({:.2f}x)\n", human_bytes(size.before), human_bytes(size.after),
               size.before ? static_cast<double>(size.after) / static_cast<double>(size.before) : 0.0);
  if (a.target_given) {
    fmt::print("target SQNR {:g} dB: output SQNR {} dB before fallback, {}\n", a.target_sqnr,
               format_db(r.first_output_sqnr_db),
               r.target_reached ? (r.fallback.empty() ? "reached without fallback" : "reached")
                                : fmt::format("NOT reached after {} round{}", r.fallback.size(), r.fallback.size() == 1 ? "" : "s"));
    for (size_t i = 0; i < r.fallback.size(); ++i) {
      const quant::FallbackRound& f = r.fallback[i];
      fmt::print("  round {}: {} back to float (damage {:.1f} dB at '{}'): output SQNR {} dB\n", i + 1,
                 fmt::join(f.nodes, ", "), f.damage_db, f.tensor, format_db(f.output_sqnr_db));
    }
  }
  if (r.speed) {
    const quant::SpeedResult& sp = *r.speed;
    fmt::print("speed: float {:.3f} ms, int8 {:.3f} ms on ortool's runtime (median of {} alternating runs, {} thread{}): "
               "int8 {:.2f}x {}\n",
               sp.float_ms.median, sp.int8_ms.median, sp.int8_ms.runs, sp.threads, sp.threads == 1 ? "" : "s",
               sp.speedup() >= 1 ? sp.speedup() : 1 / sp.speedup(), sp.speedup() >= 1 ? "faster" : "SLOWER");
  }
  if (!r.proof) {
    fmt::print("proof: off (--check 0)\n");
    return;
  }
  fmt::print("proof: quantized vs float on {}\n", r.proof->sample_source);
  print_accuracy_table(*r.proof->accuracy);
  if (!r.proof->tensors.empty()) {
    const size_t n = std::min<size_t>(5, r.proof->tensors.size());
    fmt::print("  worst activations ({} of {} measured; all in the report):\n", n, r.proof->tensors.size());
    size_t w = 8;
    for (size_t i = 0; i < n; ++i) w = std::max(w, std::min<size_t>(r.proof->tensors[i].name.size(), 60));
    for (size_t i = 0; i < n; ++i) {
      const quant::TensorSqnr& t = r.proof->tensors[i];
      fmt::print("    {:<{}} {:>7} dB  {}{}\n", t.name, w, format_db(t.sqnr_db()), t.op_type,
                 t.producer.empty() ? "" : " " + t.producer);
    }
  }
  print_verdicts(*r.proof->accuracy, r.proof->accuracy->verdicts());
}

// Below this output SQNR a run without gates gets a warning (8-bit models are usually 25-45 dB from float).
constexpr double kLowSqnrDb = 15.0;

int quantize_command(QuantizeArgs& a) {
  if (a.output.empty()) return report(invalid("no output given: -o OUT.onnx"));
  if (Status st = check_not_same_file(a.input, a.output, a.force); !st.is_ok()) return report(st);
  // --calibration-table FILE: read when it exists (calibration skipped), else calibrated and written.
  if (a.recalibrate && a.table.empty()) return report(invalid("--recalibrate applies to --calibration-table FILE"));
  a.write_table = !a.table.empty() && (a.recalibrate || !std::filesystem::exists(a.table));
  if (a.write_table && a.calib.empty() && a.mode == "static")
    return report(invalid("--calibration-table {}: no such file; give --calib PATH to calibrate and write it", a.table));

  LoadInfo info;
  auto loaded = load_model(a.input, {}, &info);
  if (!loaded.is_ok()) return report(loaded.status());
  std::unique_ptr<ir::Model> model = std::move(loaded).value();
  Sizes size;
  size.before = info.file_bytes;
  for (const auto& f : info.external_files) size.before += file_bytes(f);
  if (Status st = resolve_shapes(*model->graph, a.in); !st.is_ok()) return report(st);
  auto options = pipeline_options(a);
  if (!options.is_ok()) return report(options.status());
  if (Status st = quant::check_pipeline_options(*model, *options); !st.is_ok()) return report(st.with_context(a.input));

  // Samples are read against the file's own graph (a second load: tensors are mapped), since the
  // model being quantized changes under them.
  auto ref_loaded = load_model(a.input);
  if (!ref_loaded.is_ok()) return report(ref_loaded.status());
  std::unique_ptr<ir::Model> reference = std::move(ref_loaded).value();
  std::unique_ptr<rt::SampleSource> calib, check;
  if (!a.calib.empty()) {
    rt::SampleOptions so;
    auto image = parse_image_options(a.image);
    if (!image.is_ok()) return report(image.status());
    so.image = *image;
    auto opened = rt::open_samples(*reference->graph, a.calib, so);
    if (!opened.is_ok()) return report(opened.status());
    calib = std::move(opened).value();
    if (calib->size() == 0) return report(invalid("--calib {}: no samples", a.calib));
    if (a.calib_samples > 0) calib = rt::first_samples(std::move(calib), a.calib_samples);
    // The proof runs on the calibration samples, or on the first --check N of them.
    if (a.check > 0) {
      auto again = rt::open_samples(*reference->graph, a.calib, so);
      if (!again.is_ok()) return report(again.status());
      size_t n = a.calib_samples > 0 ? a.calib_samples : (*again)->size();
      if (a.check_given) n = static_cast<size_t>(a.check);
      check = rt::first_samples(std::move(again).value(), n);
    }
  } else if (a.check > 0) {
    check = rt::random_samples(*reference->graph, static_cast<size_t>(a.check), a.in.seed, a.in.input_shapes,
                               a.in.dim_bindings);
  }

  std::unique_ptr<ProgressBar> calib_bar, check_bar;
  if (calib && options->mode == quant::QuantMode::Static && options->table_in.empty())
    calib_bar = std::make_unique<ProgressBar>("calibrate", calib->size() * (options->calib.two_pass ? 2 : 1));
  options->calib_progress = [&calib_bar](const quant::CalibProgress& p) {
    if (calib_bar) calib_bar->update((static_cast<size_t>(p.pass) - 1) * p.total + p.done);
  };
  auto new_check_bar = [&](const std::string& what) {
    if (calib_bar) calib_bar->finish();
    check_bar = check ? std::make_unique<ProgressBar>(what, check->size()) : nullptr;
  };
  options->proof.progress = [&](size_t done, size_t) {
    if (!check_bar) new_check_bar("check");
    check_bar->update(done);
  };
  options->on_fallback_round = [&](int trial) { new_check_bar(fmt::format("fallback trial {}", trial)); };
  auto result = quant::quantize_model(*model, calib.get(), check.get(), *options);
  if (check_bar) check_bar->finish();
  if (calib_bar) calib_bar->finish();
  if (!result.is_ok()) return report(result.status().with_context(a.input));
  const quant::PipelineResult& r = *result;
  const bool accurate = !r.proof || r.proof->accuracy->passed();
  const bool fast_enough = !a.min_speedup_given || (r.speed && r.speed->speedup() >= a.min_speedup);
  const bool passed = accurate && fast_enough;

  // A failed gate writes nothing, as compare, optimize and prune: CI never picks up a model that failed.
  if (passed) {
    SaveOptions save;
    save.input_path = a.input;
    save.force = a.force;
    auto saved = save_model(*model, a.output, save);
    if (!saved.is_ok()) return report(saved.status());
    size.after = saved->model_bytes + saved->data_bytes;
  }
  nlohmann::json j = report_json(a, r, size, passed);
  if (!a.report_path.empty()) {
    if (Status st = write_file_atomic(a.report_path, j.dump(2) + "\n"); !st.is_ok()) return report(st);
  }
  if (!a.html.empty())
    if (Status st = write_html(a.html, "quantize", j, a.input); !st.is_ok()) return report(st);
  if (a.json) print_json(j);
  else print_text(a, r, size, passed);
  if (passed && r.speed && r.speed->speedup() < 1)
    print_warning(fmt::format("{}: the int8 model is not faster than the float one on ortool's runtime ({:.3f} vs "
                              "{:.3f} ms); `ortool bench --profile` shows where its time goes; --min-speedup X fails "
                              "such a run{}",
                              a.input, r.speed->int8_ms.median, r.speed->float_ms.median,
                              rt::dnnl_int8_needs_reduce_range() && !a.reduce_range && a.mode != "dynamic"
                                  ? "; this CPU has no VNNI: with --reduce-range (7-bit weights) oneDNN's own int8 "
                                    "kernels run the groups, about 20% faster than the widened 8-bit ones here"
                                  : ""));
  if (!accurate)
    return report(check_failed("{}: the quantized model fails a gate, nothing written: {}", a.input,
                               first_failure(r.proof->accuracy->verdicts())));
  if (!fast_enough)
    return report(check_failed("{}: the int8 model runs {:.2f}x as fast as the float one ({:.3f} vs {:.3f} ms), below "
                               "--min-speedup {:g}; nothing written",
                               a.input, r.speed->speedup(), r.speed->int8_ms.median, r.speed->float_ms.median,
                               a.min_speedup));
  // Without gates a run passes whatever the numbers; one far from the float model still deserves a word
  // (a ViT whose quantized LayerNorm divided by zero passed at 0.4 dB).
  if (r.proof && !a.target_given && !r.proof->accuracy->gates().min_sqnr_db && !r.proof->accuracy->gates().min_cosine &&
      !r.proof->accuracy->gates().max_top1_drop && r.proof->worst_output_sqnr_db() &&
      *r.proof->worst_output_sqnr_db() < kLowSqnrDb)
    print_warning(fmt::format("{}: the int8 model is far from the float one (output SQNR {} dB, below {:g}): `ortool "
                              "compare {} {} --layerwise` shows where it departs; --target-sqnr N leaves the worst "
                              "nodes float until the output reaches N dB, --exclude-nodes names them by hand, "
                              "--min-sqnr N gates the run{}",
                              a.input, format_db(r.proof->worst_output_sqnr_db()), kLowSqnrDb, a.input, a.output,
                              a.calib.empty() ? " (proved on random inputs, which may be far from the data the model "
                                                "sees: give --calib for a proof on real samples)"
                                              : ""));
  if (a.target_given && !r.target_reached)
    print_warning(fmt::format("{}: --target-sqnr {:g} dB not reached (output SQNR {} dB after {} rounds); written "
                              "anyway, gate it with --min-sqnr",
                              a.input, a.target_sqnr, format_db(r.proof->worst_output_sqnr_db()), r.fallback.size()));
  return kExitOk;
}

}  // namespace

Command register_quantize(CLI::App& parent) {
  auto a = std::make_shared<QuantizeArgs>();
  CLI::App* app = parent.add_subcommand(
      "quantize", "INT8 quantization, static (calibrated on samples) or dynamic, proved against the float model");
  app->add_option("model", a->input, "Float ONNX model to quantize")->required();
  app->add_option("-o,--output", a->output, "Quantized model to write (atomically; never the input without --force)");
  app->add_flag("--force", a->force, "Allow the output to be the input file");
  app->add_option("--mode", a->mode,
                  "static: activations quantized with calibrated ranges (needs --calib or a table); dynamic: "
                  "MatMul/Gemm weights int8, activations quantized at run time (default static)")
      ->check(one_of({"static", "dynamic"}));
  app->add_option("--calib", a->calib,
                  "Samples to calibrate on and to prove with: a folder of .npy/.pb files (one per sample), of "
                  "test-data subfolders or of PNG/JPEG images, or one .npy whose first axis is the batch")
      ->type_name("PATH");
  app->add_option("--calib-samples", a->calib_samples, "Use the first N samples of --calib (default all)")
      ->check(integer_in(1));
  app->add_option("--method", a->method,
                  "Range method: minmax, entropy (KL divergence, TensorRT's), percentile or mse (default minmax)")
      ->check(one_of({"minmax", "entropy", "percentile", "mse"}));
  app->add_option("--percentile", a->percentile, "--method percentile: the percentile kept (default 99.999)")
      ->check(number_in(0, 100));
  app->add_flag("--two-pass", a->two_pass,
                "Histogram methods: a min/max pass first, so the histogram range is fixed (every sample runs twice)");
  app->add_option("--calibration-table", a->table,
                  "Tensor ranges as JSON: read when the file exists (calibration skipped; ranges may be edited by "
                  "hand), else calibrated on --calib and written")
      ->type_name("FILE.json");
  app->add_flag("--recalibrate", a->recalibrate, "Calibrate on --calib and overwrite an existing --calibration-table");
  app->add_option("--format", a->format,
                  "Static output form: qdq (QuantizeLinear/DequantizeLinear pairs) or qoperator (QLinearConv, "
                  "QLinearMatMul, com.microsoft QLinear ops) (default qdq)")
      ->check(one_of({"qdq", "qoperator"}));
  app->add_option("--activation-type", a->activation_type, "uint8 or int8 activations (static; default uint8)")
      ->check(one_of({"uint8", "int8"}));
  app->add_option("--weight-type", a->weight_type, "int8 (symmetric) or uint8 weights (default int8)")
      ->check(one_of({"int8", "uint8"}));
  app->add_flag("--per-tensor-weights", a->per_tensor_weights, "One weight scale per tensor instead of per output channel");
  app->add_flag("--symmetric-activations", a->symmetric_activations, "Activation zero point at the middle of the range");
  app->add_flag("--reduce-range", a->reduce_range, "7-bit weights (ONNX Runtime's reduce_range): on x86 CPUs without VNNI oneDNN's int8 kernels, faster, and ONNX "
                 "Runtime's default ones are exact only with them");
  app->add_flag("--share-weights", a->share_weights, "Store a float weight several nodes read once (default: one quantized copy per node, "
                 "which ONNX Runtime's exact int8 mode on x86, session.x64quantprecision=1, needs)");
  app->add_option("--op-types", a->op_types, "Quantize only these op types (comma-separated; default every supported one)")
      ->delimiter(',')
      ->type_name("A,B");
  app->add_option("--exclude-nodes", a->exclude_nodes, "Leave these nodes float (comma-separated names)")
      ->delimiter(',')
      ->type_name("A,B");
  app->add_option("--exclude-op-types", a->exclude_op_types, "Leave these op types float (comma-separated)")
      ->delimiter(',')
      ->type_name("A,B");
  app->add_flag("--dynamic-conv", a->dynamic_conv, "--mode dynamic: also Conv (ConvInteger, in the form ONNX Runtime runs)");
  app->add_flag("--equalize", a->equalize,
                "Cross-layer equalization before calibration: balance the channel ranges of Conv/Gemm pairs joined "
                "directly or by Relu-like ops (depthwise too; not through ReLU6); the float function is unchanged");
  app->add_flag("--bias-correction", a->bias_correction,
                "Static: correct each Conv/Gemm/MatMul bias for the mean output shift of its weight rounding, from "
                "the per-channel input means seen in calibration (needs --calib)");
  app->add_flag("--no-effects", a->no_effects,
                "Do not measure --equalize/--bias-correction (each costs one more quantization and proof of the "
                "model without the option)");
  CLI::Option* check = app->add_option("--check", a->check,
                                       "Prove on N samples: the first N of --calib (default: all of them), or N "
                                       "seeded random samples without --calib (default 4); 0 disables the proof")
                           ->check(integer_in(0, 1000000));
  add_image_options(*app, a->image);
  app->add_option("--seed", a->in.seed, "Seed of the first random sample (default 0)");
  add_shape_option(*app, a->in.shapes);
  add_threads_option(*app, a->in.threads);
  add_limit_options(*app, a->in);
  add_providers_option(*app, a->in);
  add_gate_options(*app, a->gates, " (exit 1, nothing written)");
  CLI::Option* target = app->add_option("--target-sqnr", a->target_sqnr,
                                        "Static: put the most harmful layers back to float, one per round, until every output's "
                                        "SQNR (worst sample) reaches this many dB");
  CLI::Option* speedup =
      app->add_option("--min-speedup", a->min_speedup,
                      "Fail (exit 1, nothing written) when the int8 model is not this many times faster than the "
                      "optimized float model on ortool's runtime (e.g. 1.2)")
          ->check(number_in(0.01, 1000))
          ->type_name("X");
  app->add_flag("--no-speed", a->no_speed, "Skip the float against int8 latency measurement (about 2x 3 s at most)");
  app->add_option("--max-fallback-rounds", a->max_rounds, "Rounds --target-sqnr may take (default 8)")->check(integer_in(0, 10000));
  app->add_option("--report", a->report_path,
                  "Write the JSON report to this file, with the SQNR of every quantized activation against its float "
                  "counterpart, worst first")
      ->type_name("FILE.json");
  app->add_flag("--json", a->json, "Print the report as JSON on stdout");
  add_html_option(*app, a->html);
  app->footer(
      "The model goes through `optimize` first (BatchNormalization folded, constants folded). Defaults:\n"
      "uint8 asymmetric activations per tensor, int8 symmetric weights per output channel, int32 biases,\n"
      "Relu/Clip folded into the range. Calibration keeps running min/max and fixed-size histograms, so\n"
      "memory does not grow with the number of samples. The result is proved against the float model on\n"
      "the calibration samples (or --check N): per output SQNR, cosine and top-1 agreement. A failed gate\n"
      "(--min-sqnr, --min-cosine, --max-top1-drop) exits 1 and writes nothing; bad input exits 2.\n"
      "Then the optimized float model and the int8 result run in turn on ortool's runtime (same providers\n"
      "and threads) and both latencies are printed, with a warning when int8 is not faster (--min-speedup X\n"
      "fails such a run, --no-speed skips it).\n"
      "--equalize and --bias-correction are each measured: the model is also quantized and proved without\n"
      "the option, and the output SQNR with and without it is printed (docs/quantization.md has figures;\n"
      "--no-effects skips this).\n"
      "Examples:\n"
      "  ortool quantize model.onnx -o int8.onnx --calib calib/\n"
      "  ortool quantize model.onnx -o int8.onnx --calib images/ --image-size 224 --mean 0.485,0.456,0.406 \\\n"
      "      --std 0.229,0.224,0.225 --method entropy --calib-samples 500\n"
      "  ortool quantize model.onnx -o int8.onnx --mode dynamic\n"
      "  ortool quantize model.onnx -o int8.onnx --calib batch.npy --target-sqnr 30 --report quant.json\n"
      "CI recipe (calibrate once and keep the table; every run quantizes from it and gates on held-out data):\n"
      "  ortool quantize model.onnx -o int8.onnx --calib calib/ --method percentile --calibration-table ranges.json\n"
      "  ortool quantize model.onnx -o int8.onnx --calibration-table ranges.json --calib holdout/ \\\n"
      "      --min-sqnr 25 --max-top1-drop 1 --report quant.json || exit 1   # exit 1: a gate failed, nothing written");
  return {app, [a, check, target, speedup] {
            a->check_given = check->count() > 0;
            a->min_speedup_given = speedup->count() > 0;
            a->target_given = target->count() > 0;
            return quantize_command(*a);
          }};
}

}  // namespace ortool::cli
