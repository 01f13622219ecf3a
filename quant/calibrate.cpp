// Calibration driver: samples -> session runs -> collectors -> ranges, in memory that does not grow with samples.
#include "quant/calibrate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <set>

#include "quant/calib_mean.h"

namespace ortool::quant {

namespace {

// Runs the model on one sample and hands each watched value's tensor to a sink, through the
// session's observer: each value right after the step that makes it, before its buffer is reused, so
// a run holds no more than it would unwatched (plus what fusions around watched values cost).
class Watcher {
 public:
  using Sink = std::function<Status(size_t, const Tensor&)>;

  static Result<std::unique_ptr<Watcher>> create(const ir::Model& model, const std::vector<std::string>& names,
                                                 const rt::SessionOptions& options) {
    auto w = std::unique_ptr<Watcher>(new Watcher());
    for (size_t k = 0; k < names.size(); ++k) w->index_[model.graph->find_value(names[k])] = k;
    rt::SessionOptions so = options;
    so.observe.select = rt::ObserveOptions::Select::Named;
    so.observe.values = names;
    Watcher* self = w.get();
    so.observe.callback = [self](const ir::Value& value, const RValue& data) { return self->observe(value, data); };
    ASSIGN_OR_RETURN(w->session_, rt::Session::create(model, so));
    return w;
  }

  Status run(const rt::Sample& sample, const Sink& sink) {
    sink_ = &sink;
    auto outputs = session_->run(sample.feeds);
    sink_ = nullptr;
    if (!outputs.is_ok()) return outputs.status().with_context(sample.label);
    return Status::ok();
  }

 private:
  Watcher() = default;

  Status observe(const ir::Value& value, const RValue& data) {
    auto it = index_.find(&value);
    if (it == index_.end() || sink_ == nullptr) return Status::ok();
    if (!data.is_tensor()) return invalid("tensor '{}' is not a tensor", value.name());
    return (*sink_)(it->second, data.tensor);
  }

  std::unique_ptr<rt::Session> session_;
  std::map<const ir::Value*, size_t> index_;  // watched value -> collector
  const Sink* sink_ = nullptr;                // set during run()
};

// Refuses names that are not float values computed (or fed) in the main graph.
Status check_tensors(const ir::Model& model, const std::vector<std::string>& tensors,
                     const std::map<std::string, int64_t>& means) {
  if (tensors.empty() && means.empty()) return invalid("calibrate: no tensors to calibrate");
  std::set<std::string> seen;
  std::vector<std::string> all = tensors;
  for (const auto& [name, axis] : means) all.push_back(name);
  for (size_t i = 0; i < all.size(); ++i) {
    const std::string& name = all[i];
    if (!seen.insert(name).second && i < tensors.size()) return invalid("calibrate: tensor '{}' is listed twice", name);
    const ir::Value* v = model.graph->find_value(name);
    if (v == nullptr) return invalid("calibrate: the model has no value named '{}'", name);
    if (v->is_constant())
      return invalid("calibrate: '{}' is a constant; its range comes from its values, not from calibration", name);
    if (v->producer() == nullptr && !v->is_graph_input())
      return invalid("calibrate: value '{}' is neither a graph input nor a node output", name);
    if (v->type.is_tensor() && v->type.elem != DType::Undefined && !dtype_is_float(v->type.elem))
      return invalid("calibrate: '{}' is {}, not a float tensor", name, dtype_name(v->type.elem));
  }
  return Status::ok();
}

// The per-channel mean collectors of a calibration, by index into the watched names.
using MeanCollectors = std::map<size_t, ChannelMeanCollector>;

// Runs every sample once, feeding each tensor's collectors (ranges: the first collectors.size() watched
// names; means: `means`, null when this pass takes none).
Status run_pass(Watcher& watcher, const rt::SampleSource& samples, size_t n, const std::vector<std::string>& names,
                std::vector<TensorCollector>& collectors, MeanCollectors* means, int pass, int passes,
                const CalibProgressFn& progress) {
  for (size_t i = 0; i < n; ++i) {
    Status st = [&]() -> Status {
      ASSIGN_OR_RETURN(rt::Sample sample, samples.get(i));
      if (sample.label.empty()) sample.label = fmt::format("sample {}", i);
      return watcher.run(sample, [&](size_t k, const Tensor& t) -> Status {
        if (k < collectors.size()) TRY(collectors[k].add(t).with_context(fmt::format("tensor '{}'", names[k])));
        if (means)
          if (auto it = means->find(k); it != means->end())
            TRY(it->second.add(t).with_context(fmt::format("tensor '{}'", names[k])));
        return Status::ok();
      });
    }();
    TRY(st);
    if (progress) progress({i + 1, n, pass, passes});
  }
  return Status::ok();
}

std::string describe_nonfinite(const TensorCollector& c) {
  std::string what;
  if (c.nan_count() > 0) what += fmt::format("{} NaN", c.nan_count());
  if (c.inf_count() > 0) what += fmt::format("{}{} Inf", what.empty() ? "" : " and ", c.inf_count());
  return what;
}

}  // namespace

Status check_calib_options(const CalibOptions& options) {
  TRY(check_range_options(options.range));
  TRY(check_collect_options(options.collect));
  return Status::ok();
}

std::string describe_method(const CalibOptions& options) {
  const RangeOptions& r = options.range;
  std::string d(calib_method_name(r.method));
  if (r.method == CalibMethod::Percentile) d += fmt::format(" {}", r.percentile);
  if (r.method == CalibMethod::MinMax && options.collect.moving_average)
    d += fmt::format(" moving-average {}", options.collect.averaging_constant);
  if (r.symmetric) d += " symmetric";
  if (options.two_pass && method_needs_histogram(r.method)) d += " two-pass";
  return d;
}

CalibrationTable calibration_table(const CalibResult& result, const CalibOptions& options) {
  return CalibrationTable{describe_method(options), static_cast<int64_t>(result.samples), result.ranges};
}

Result<CalibResult> result_from_table(const std::filesystem::path& path, const std::vector<std::string>& tensors) {
  ASSIGN_OR_RETURN(CalibrationTable table, read_calibration_table(path));
  TRY(check_table_covers(table, tensors, path.string()));
  CalibResult result;
  result.samples = static_cast<size_t>(table.samples);
  result.ranges = std::move(table.ranges);
  result.notes.push_back(fmt::format("ranges read from {} ({}{} samples); calibration skipped", path.string(),
                                     table.method.empty() ? "" : table.method + ", ", table.samples));
  return result;
}

Result<CalibResult> calibrate(const ir::Model& model, const std::vector<std::string>& tensors,
                              const rt::SampleSource& samples, const CalibOptions& options,
                              const CalibProgressFn& progress) {
  TRY(check_calib_options(options));
  TRY(check_tensors(model, tensors, options.channel_means));
  const size_t n = samples.size();  // --calib-samples N: rt::first_samples
  if (n == 0) return invalid("{}: no samples to calibrate on", samples.describe());

  const bool needs_histogram = method_needs_histogram(options.range.method);
  const int passes = options.two_pass && needs_histogram ? 2 : 1;
  // Watched: the tensors to range, then those only averaged.
  std::vector<std::string> watched = tensors;
  MeanCollectors means;
  for (const auto& [name, axis] : options.channel_means) {
    auto it = std::find(tensors.begin(), tensors.end(), name);
    const size_t k = static_cast<size_t>(it - tensors.begin());
    if (it == tensors.end()) watched.push_back(name);
    means.emplace(it == tensors.end() ? watched.size() - 1 : k, ChannelMeanCollector(axis));
  }
  ASSIGN_OR_RETURN(auto watcher, Watcher::create(model, watched, options.session));

  CollectOptions collect = options.collect;
  collect.histogram = needs_histogram && passes == 1;
  std::vector<TensorCollector> collectors(tensors.size(), TensorCollector(collect));
  TRY(run_pass(*watcher, samples, n, watched, collectors, &means, 1, passes, progress));
  if (passes == 2) {
    // Second pass: histograms over the whole range found by the first, so none of them ever doubles.
    collect.histogram = true;
    std::vector<TensorCollector> second(tensors.size(), TensorCollector(collect));
    for (size_t k = 0; k < tensors.size(); ++k)
      if (collectors[k].has_values())
        second[k].preset_histogram_limit(std::max(std::fabs(collectors[k].min()), std::fabs(collectors[k].max())));
    collectors = std::move(second);
    TRY(run_pass(*watcher, samples, n, watched, collectors, nullptr, 2, passes, progress));
  }

  CalibResult result;
  result.samples = n;
  result.passes = passes;
  for (const auto& [k, c] : means) {
    result.means[watched[k]] = c.means();
    result.collector_bytes += c.bytes();
  }
  for (size_t k = 0; k < tensors.size(); ++k) {
    const TensorCollector& c = collectors[k];
    const std::string& name = tensors[k];
    result.collector_bytes += c.bytes();
    TensorCalibStats& s = result.stats[name];
    s.values = c.finite_count();
    s.nan = c.nan_count();
    s.inf = c.inf_count();
    if (c.has_values()) {
      s.min = c.min();
      s.max = c.max();
    }
    if (!c.has_values()) {
      result.notes.push_back(fmt::format("tensor '{}': no finite value in {} samples ({}); left out of the ranges",
                                         name, n, c.nan_count() + c.inf_count() > 0 ? describe_nonfinite(c) : "empty"));
      continue;
    }
    if (c.nan_count() + c.inf_count() > 0)
      result.notes.push_back(fmt::format("tensor '{}': skipped {} (in {} of {} samples); its range covers the finite values",
                                         name, describe_nonfinite(c), c.samples_with_nonfinite(), n));
    if (c.min() == c.max())
      result.notes.push_back(fmt::format("tensor '{}' is constant: every value is {} (range 0)", name, c.min()));
    auto r = compute_range(c, options.range);
    if (!r.is_ok()) return r.status().with_context(fmt::format("tensor '{}'", name));
    result.ranges[name] = *r;
  }
  return result;
}

}  // namespace ortool::quant
