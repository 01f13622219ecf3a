// `ortool bench`: latency percentiles, throughput and peak memory of a model on the runtime, with a per-op profile.
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <numeric>
#include <set>

#include "apps/cli_util.h"
#include "apps/cmd_bench_int8.h"
#include "apps/commands.h"
#include "apps/cli_parse.h"
#include "apps/input_options.h"
#include "apps/html_option.h"
#include "apps/input_report.h"
#include "apps/progress.h"
#include "apps/run_util.h"
#include "lib/latency_stats.h"

namespace ortool::cli {

namespace {

struct BenchArgs {
  std::string model;
  InputOptions in;
  int warmup = 5;
  int iters = 50;
  double max_seconds = 0;
  bool profile = false;
  bool no_optimize = false;
  int top = 10;
  bool json = false;
  std::string html;  // --html FILE (turns --profile on: the page charts the time per op type)
};

// Peak resident set of this process image. VmHWM, not getrusage: Linux carries ru_maxrss across
// execve, so a child of a big parent (a Python script) would report the parent's peak.
size_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return static_cast<size_t>(std::strtoull(line.c_str() + 6, nullptr, 10)) * 1024;
  }
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<size_t>(ru.ru_maxrss) * 1024;  // KiB on Linux
}

int bench_command(BenchArgs& a) {
  if (!a.html.empty()) a.profile = true;
  a.in.profile = a.profile;
  a.in.optimize = !a.no_optimize;
  if (a.in.inputs.empty() && a.in.input_dir.empty()) a.in.random = std::max(a.in.random, 1);  // benchmarks default to random data
  LoadedModel m;
  {
    auto loaded = load_for_run(a.model, a.in);
    if (!loaded.is_ok()) return report(loaded.status());
    m = std::move(loaded).value();
  }
  const ir::Graph& g = *m.model->graph;
  // --shape as load_for_run resolved it against the model before optimizing; here a name the model
  // does not have is an error.
  if (!m.shapes.unmatched.empty()) return report(invalid("{}: {}", a.model, m.shapes.unmatched.front()));
  a.in.input_shapes = m.shapes.input_shapes;
  a.in.dim_bindings = m.shapes.dim_bindings;
  // --random N: N input sets, taken in turn by the runs (data-dependent models see varied inputs).
  std::vector<rt::Feeds> sets;
  std::vector<FedInput> fed;
  for (int k = 0; k < std::max(1, a.in.random); ++k) {
    std::set<std::string> random;
    auto feeds = build_feeds(g, a.in, static_cast<uint64_t>(k), &random);
    if (!feeds.is_ok()) return report(feeds.status().with_context(a.model));
    if (k == 0) fed = describe_feeds(g, m.shapes, *feeds, random);
    sets.push_back(std::move(feeds).value());
  }
  auto run = [&](int i, double* ms) { return run_once(m, sets[static_cast<size_t>(i) % sets.size()], ms); };

  {
    ProgressBar warm("warm-up", static_cast<size_t>(a.warmup));
    for (int i = 0; i < a.warmup; ++i) {
      auto r = run(i, nullptr);
      if (!r.is_ok()) return report(with_defaulted_hint(r.status(), fed));
      warm.update(static_cast<size_t>(i) + 1);
    }
  }
  m.session->reset_timings();
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(a.iters));
  {
    ProgressBar prog("bench", static_cast<size_t>(a.iters));
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < a.iters; ++i) {
      double t = 0;
      auto r = run(i, &t);
      if (!r.is_ok()) return report(with_defaulted_hint(r.status(), fed));
      ms.push_back(t);
      prog.update(static_cast<size_t>(i) + 1);
      if (a.max_seconds > 0 &&
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > a.max_seconds)
        break;
    }
  }
  const LatencyStats st = latency_stats(ms);
  // Feeds the session accepted though they differ from the declaration, defaulted shapes, spread.
  std::vector<std::string> warnings = m.session->feed_notes();
  if (std::string hint = defaulted_hint(fed); !hint.empty()) warnings.push_back(hint);
  if (st.too_spread)
    warnings.push_back(fmt::format(
        "the runs are too spread to trust: p90 {:.3f} ms is {:.1f}x the median {:.3f} ms (more than {:.1f}x); another "
        "process may be competing for the cores: measure again on a quiet machine, or with more --warmup and --iters",
        st.p90, st.spread, st.median, kMaxTrustedSpread));
  for (const std::string& w : warnings) print_warning(fmt::format("{}: {}", a.model, w));

  nlohmann::json j;
  j["model"] = a.model;
  j["inputs"] = inputs_json(fed);
  j["input_sets"] = sets.size();
  j["latency_ms"] = {{"min", st.min}, {"median", st.median}, {"p90", st.p90}, {"p99", st.p99}, {"mean", st.mean},
                     {"max", st.max}};
  {
    // The distribution of the runs, for the HTML page's chart (20 bins from the fastest to the slowest).
    LatencyHistogram h = latency_histogram(ms, 20);
    j["latency_histogram"] = {{"bins", h.starts}, {"width_ms", h.width}, {"counts", h.counts}};
  }
  j["spread"] = {{"p90_over_median", st.spread}, {"limit", kMaxTrustedSpread}, {"too_spread", st.too_spread}};
  j["warnings"] = warnings;
  j["iterations"] = ms.size();
  j["warmup"] = a.warmup;
  j["threads"] = a.in.threads;
  j["threads_used"] = m.session->threads_used();
  j["throughput_per_s"] = st.median > 0 ? 1000.0 / st.median : 0.0;
  j["peak_memory_bytes"] = m.session->peak_memory_bytes();
  j["arena_bytes"] = m.session->arena_bytes();
  j["peak_rss_bytes"] = peak_rss_bytes();
  j["providers"] = m.session->providers();
  j["optimized"] = a.in.optimize;

  // Profile: per op type and the slowest nodes, averaged per run.
  std::vector<rt::NodeTiming> nodes = m.session->node_timings();
  struct OpRow {
    double ms = 0;
    int64_t nodes = 0;
  };
  std::map<std::string, OpRow> by_op;
  double total = 0;
  const double runs = static_cast<double>(ms.size());
  for (const auto& t : nodes) {
    OpRow& r = by_op[t.node->op_type()];
    r.ms += t.total_ms / runs;
    ++r.nodes;
    total += t.total_ms / runs;
  }
  std::vector<std::pair<std::string, OpRow>> ops(by_op.begin(), by_op.end());
  std::sort(ops.begin(), ops.end(), [](const auto& x, const auto& y) { return x.second.ms > y.second.ms; });
  std::sort(nodes.begin(), nodes.end(), [](const auto& x, const auto& y) { return x.total_ms > y.total_ms; });
  std::vector<rt::qdq::GroupRow> int8_rows;  // quantized models: what became of their int8 groups
  if (a.profile) {
    nlohmann::json jo = nlohmann::json::array(), jn = nlohmann::json::array();
    for (const auto& [op, r] : ops) jo.push_back({{"op_type", op}, {"nodes", r.nodes}, {"ms", r.ms}});
    for (size_t i = 0; i < nodes.size() && i < static_cast<size_t>(a.top); ++i)
      jn.push_back({{"node", nodes[i].node->describe()}, {"op_type", nodes[i].node->op_type()},
                    {"provider", nodes[i].provider}, {"ms", nodes[i].total_ms / runs}});
    std::map<std::string, OpRow> by_provider;
    for (const auto& t : nodes) {
      by_provider[t.provider].ms += t.total_ms / runs;
      by_provider[t.provider].nodes += static_cast<int64_t>(t.fused_nodes);
    }
    nlohmann::json jp = nlohmann::json::array();
    for (const auto& [provider, r] : by_provider) jp.push_back({{"provider", provider}, {"nodes", r.nodes}, {"ms", r.ms}});
    j["profile"] = {{"ops", jo}, {"slowest_nodes", jn}, {"providers", jp}, {"node_total_ms", total}};
    auto rows = rt::qdq::int8_group_report(*m.model, m.session->providers(), m.session->threads_used(), nodes, runs);
    if (!rows.is_ok()) return report(rows.status());
    int8_rows = std::move(rows).value();
    if (!int8_rows.empty()) j["profile"]["int8_groups"] = int8_groups_json(int8_rows);
  }
  if (!a.html.empty())
    if (Status st = write_html(a.html, "bench", j, a.model); !st.is_ok()) return report(st);
  if (a.json) {
    print_json(j);
    return kExitOk;
  }
  const int used = m.session->threads_used();
  const std::string threads = used == a.in.threads ? fmt::format("{} thread(s)", used)
                                                   : fmt::format("{} of {} threads (other processes keep the cores busy)",
                                                                 used, a.in.threads);
  fmt::print("{}: {} runs after {} warm-up, {}, providers {}{}\n", a.model, ms.size(), a.warmup, threads,
             fmt::join(m.session->providers(), ","), a.in.optimize ? ", graph optimized in memory" : "");
  fmt::print("  inputs       {}{}\n", inputs_text(fed),
             sets.size() > 1 ? fmt::format(", {} random sets in turn", sets.size()) : "");
  fmt::print("  latency ms   min {:.3f}  median {:.3f}  p90 {:.3f}  p99 {:.3f}  mean {:.3f}\n", st.min, st.median, st.p90,
             st.p99, st.mean);
  fmt::print("  spread       p90 is {:.2f}x the median{}\n", st.spread,
             st.too_spread ? fmt::format(": too spread to trust (over {:.1f}x)", kMaxTrustedSpread) : "");
  fmt::print("  throughput   {:.1f} runs/s\n", st.median > 0 ? 1000.0 / st.median : 0.0);
  fmt::print("  peak memory  {} live tensors, {} buffer arena, {} process RSS\n",
             human_bytes(m.session->peak_memory_bytes()), human_bytes(m.session->arena_bytes()),
             human_bytes(peak_rss_bytes()));
  if (a.profile) {
    fmt::print("\n  {:<28} {:>6} {:>10} {:>7}\n", "op type", "nodes", "ms/run", "share");
    for (const auto& [op, r] : ops)
      fmt::print("  {:<28} {:>6} {:>10.3f} {:>6.1f}%\n", op, r.nodes, r.ms, total > 0 ? 100.0 * r.ms / total : 0.0);
    fmt::print("\n  slowest nodes{:>37} {:>10}\n", "provider", "ms/run");
    for (size_t i = 0; i < nodes.size() && i < static_cast<size_t>(a.top); ++i)
      fmt::print("  {:<40.40} {:>9} {:>10.3f}\n", nodes[i].node->describe(), nodes[i].provider,
                 nodes[i].total_ms / runs);
    print_int8_groups(int8_rows, a.top);
  }
  return kExitOk;
}

}  // namespace

Command register_bench(CLI::App& parent) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* app = parent.add_subcommand("bench", "Measure latency, throughput and peak memory of a model");
  app->add_option("model", args->model, "Model file (.onnx)")->required();
  add_input_options(*app, args->in);
  app->add_option("--warmup", args->warmup, "Untimed runs first (default 5)")->check(integer_in(0, 100000));
  app->add_option("--iters", args->iters, "Timed runs (default 50)")->check(integer_in(1, 10000000));
  app->add_option("--max-seconds", args->max_seconds, "Stop timing after this many seconds (default: no limit)")
      ->check(number_in(0, 1e6));
  app->add_flag("--profile", args->profile,
                "Time every node: table per op type and the slowest nodes; on a quantized model also the int8 groups "
                "run as one step and the int8 ops that fell back, with the reason");
  app->add_flag("--no-optimize", args->no_optimize,
                "Run the graph as it is (default: optimize it in memory first, as ONNX Runtime does)");
  app->add_option("--top", args->top, "Slowest nodes to list with --profile (default 10)")->check(integer_in(1, 100000));
  app->add_flag("--json", args->json, "Print the results as JSON on stdout");
  add_html_option(*app, args->html);
  app->footer(
      "Inputs default to seeded random data (--random); latency is the wall time of one Session::run.\n"
      "The input shapes used are printed; symbolic dims no --shape binds are set to 1, with a warning.\n"
      "A warning (and \"too_spread\" in --json) says when the p90 is over 1.5x the median: runs that spread are\n"
      "not to be trusted.\n"
      "The graph is optimized in memory first (the passes of `ortool optimize`), unless --no-optimize.\n"
      "--html turns --profile on: the page charts the run times, the time per op type and provider, the slowest nodes.\n"
      "Examples:\n"
      "  ortool bench model.onnx\n"
      "  ortool bench model.onnx --threads 2 --iters 200 --shape batch=1 --json\n"
      "  ortool bench model.onnx --profile --top 20\n"
      "  ortool bench model.onnx --html bench.html");
  return {app, [args] { return bench_command(*args); }};
}

}  // namespace ortool::cli
