// recalibrate_bn: per-channel mean and variance of each affected BatchNormalization's input.
#include "prune/recalibrate_bn.h"

#include <fmt/format.h>

#include <set>

#include "passes/pass_util.h"
#include "passes/weight_math.h"
#include "prune/graph_builder.h"

namespace ortool::prune {

namespace {

// The BatchNormalization nodes whose input depends on a changed node, in graph order.
Result<std::vector<ir::Node*>> affected_norms(const ir::Graph& g, const std::vector<const ir::Node*>& changed) {
  ASSIGN_OR_RETURN(std::vector<ir::Node*> order, g.topological_order());
  std::set<const ir::Node*> dirty(changed.begin(), changed.end());
  std::vector<ir::Node*> norms;
  for (ir::Node* n : order) {
    bool reads_dirty = false;
    for (const ir::Value* v : n->inputs())
      if (v && v->producer() && dirty.count(v->producer())) reads_dirty = true;
    if (!reads_dirty) continue;
    dirty.insert(n);
    const Tensor* mean = n->num_inputs() == 5 ? passes::constant_tensor(n->input(3)) : nullptr;
    const Tensor* var = n->num_inputs() == 5 ? passes::constant_tensor(n->input(4)) : nullptr;
    if (n->op_type() == "BatchNormalization" && n->domain().empty() && mean && var && mean->dtype() == DType::Float &&
        var->dtype() == DType::Float && n->attr_int("training_mode", 0) == 0)
      norms.push_back(n);
  }
  return norms;
}

}  // namespace

Result<int64_t> recalibrate_bn(ir::Model& model, const std::vector<const ir::Node*>& changed,
                               const rt::SampleSource& samples, rt::SessionOptions session,
                               const std::function<void(size_t, size_t)>& progress) {
  ir::Graph& g = *model.graph;
  ASSIGN_OR_RETURN(std::vector<ir::Node*> norms, affected_norms(g, changed));
  const size_t total = norms.size() * samples.size();
  for (size_t k = 0; k < norms.size(); ++k) {
    ir::Node* bn = norms[k];
    const int64_t channels = passes::constant_tensor(bn->input(3))->numel();
    std::vector<double> sum(static_cast<size_t>(channels), 0.0), sumsq(sum);
    double count = 0;  // values per channel, over all samples
    const std::string x = bn->input(0)->name();
    session.observe = {};
    session.observe.values = {x};
    session.observe.callback = [&](const ir::Value&, const RValue& data) -> Status {
      const Tensor& t = data.tensor;
      if (!data.is_tensor() || t.dtype() != DType::Float || t.rank() < 2 || t.dims()[1] != channels)
        return internal_error("{}: input '{}' is not a float tensor of {} channels at run time", bn->describe(), x, channels);
      int64_t inner = 1;
      for (size_t i = 2; i < t.rank(); ++i) inner *= t.dims()[i];
      const float* p = t.data<float>();
      for (int64_t n = 0; n < t.dims()[0]; ++n)
        for (int64_t c = 0; c < channels; ++c) {
          double s = 0, s2 = 0;
          const float* row = p + (n * channels + c) * inner;
          for (int64_t i = 0; i < inner; ++i) {
            s += row[i];
            s2 += static_cast<double>(row[i]) * row[i];
          }
          sum[static_cast<size_t>(c)] += s;
          sumsq[static_cast<size_t>(c)] += s2;
        }
      count += static_cast<double>(t.dims()[0] * inner);
      return Status::ok();
    };
    ASSIGN_OR_RETURN(auto s, rt::Session::create(model, session));
    for (size_t i = 0; i < samples.size(); ++i) {
      if (progress) progress(k * samples.size() + i, total);
      ASSIGN_OR_RETURN(rt::Sample sample, samples.get(i));
      auto r = s->run(sample.feeds);
      if (!r.is_ok()) return r.status().with_context(fmt::format("re-estimating {}, sample {}", bn->describe(), sample.label));
    }
    if (count <= 0) continue;
    std::vector<double> mean(sum.size()), var(sum.size());
    for (size_t c = 0; c < sum.size(); ++c) {
      mean[c] = sum[c] / count;
      var[c] = std::max(0.0, sumsq[c] / count - mean[c] * mean[c]);
    }
    set_constant_input(g, bn, 3, passes::float_tensor({channels}, mean));
    set_constant_input(g, bn, 4, passes::float_tensor({channels}, var));
  }
  if (progress) progress(total, total);
  return static_cast<int64_t>(norms.size());
}

}  // namespace ortool::prune
