// Cross-layer equalization: find layer pairs joined by scale-equivariant ops, balance their channel ranges.
#include "quant/equalize.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "lib/op_id.h"
#include "passes/pass_util.h"
#include "quant/quantize_graph.h"
#include "quant/quantize_report.h"
#include "quant/weight_layout.h"

namespace ortool::quant {

namespace {

// The constant weight of a layer and its layout, when `n` is a layer equalization handles.
struct LayerWeight {
  Tensor w;  // shares the constant's buffer
  WeightLayout layout;
  bool conv_family() const { return layout.kind == WeightLayout::Kind::Conv; }  // channels on axis 1, not last
};
std::optional<LayerWeight> layer_weight(const ir::Node& n) {
  const Tensor* w = passes::constant_tensor(n.input(1));
  if (!w || w->dtype() != DType::Float || w->empty() || !n.input(0)) return std::nullopt;
  // Gemm with transA reads its features along axis 0 of A, not the channels a layer before made.
  if (ir::is_op(n, "Gemm") && n.attr_int("transA", 0) != 0) return std::nullopt;
  std::optional<WeightLayout> l = weight_layout(n, *w);
  if (!l) return std::nullopt;
  return LayerWeight{*w, *l};
}

// The bias of a layer whose outputs are scaled: null when absent, unset when it cannot be scaled per
// channel (not a constant, or a Gemm C that is not one value per output channel).
std::optional<const Tensor*> layer_bias(const ir::Node& n, int64_t channels) {
  if (ir::is_op(n, "MatMul") || !n.has_input(2)) return static_cast<const Tensor*>(nullptr);
  const Tensor* b = passes::constant_tensor(n.input(2));
  if (!b || b->dtype() != DType::Float || b->numel() != channels || b->dims().empty() || b->dims().back() != channels)
    return std::nullopt;
  return b;
}

// Whether f(x / s) == f(x) / s per channel for s > 0: `clip_max` is set when a Clip fails only by its max.
bool homogeneous(const ir::Node& n, const ir::Model& m, bool conv_family, bool& clip_max) {
  clip_max = false;
  if (!n.input(0) || !n.output(0)) return false;
  if (ir::is_op_any(n, {"Relu", "LeakyRelu", "PRelu"})) return true;
  if (ir::is_op_any(n, {"MaxPool", "AveragePool"}))
    return conv_family && !n.output(1);  // MaxPool's indices are not scaled
  if (!ir::is_op(n, "Clip")) return false;
  const double inf = std::numeric_limits<double>::infinity();
  double lo = -inf, hi = inf;
  if (ir::node_opset(m, n) < 11) {
    if (n.has_attr("min")) lo = n.attr_float("min", 0);
    if (n.has_attr("max")) hi = n.attr_float("max", 0);
  } else {
    for (size_t i : {1u, 2u}) {
      if (!n.has_input(i)) continue;
      std::optional<double> v = passes::constant_scalar(n.input(i));
      if (!v) return false;
      (i == 1 ? lo : hi) = *v;
    }
  }
  const bool lo_ok = lo == 0 || lo == -inf;
  clip_max = lo_ok && hi != inf;
  return lo_ok && hi == inf;
}

struct LayerState {
  ir::Node* node = nullptr;
  LayerWeight weight;
  std::vector<double> out_factor, in_factor;  // cumulative scales applied so far

  // Max |w| per output (or input) channel of the weight as currently scaled.
  std::vector<double> ranges(bool output) const {
    const Tensor& w = weight.w;
    std::vector<double> r(static_cast<size_t>(output ? out_channels(w, weight.layout) : in_channels(w, weight.layout)), 0.0);
    const float* d = w.data<float>();
    for_each_weight(w, weight.layout, [&](int64_t i, int64_t o, int64_t in) {
      const double v = std::fabs(d[i] * out_factor[static_cast<size_t>(o)] * in_factor[static_cast<size_t>(in)]);
      double& slot = r[static_cast<size_t>(output ? o : in)];
      slot = std::max(slot, v);
    });
    return r;
  }
};

struct Pair {
  size_t first = 0, second = 0;  // LayerState indices
  std::vector<std::string> through;
};

// The paper's objective for one pair (its eq. 9, divided by the channel count): the mean over channels
// of (r1_i / max r1) x (r2_i / max r2), each factor the share of a per-tensor scale channel i uses.
// 1 when every channel has the same ranges; equalization maximizes it.
double pair_precision(const std::vector<double>& r1, const std::vector<double>& r2) {
  const double m1 = *std::max_element(r1.begin(), r1.end()), m2 = *std::max_element(r2.begin(), r2.end());
  if (!(m1 > 0) || !(m2 > 0)) return 1.0;
  double sum = 0;
  for (size_t i = 0; i < r1.size(); ++i) sum += r1[i] / m1 * (r2[i] / m2);
  return sum / static_cast<double>(r1.size());
}

class Equalizer {
 public:
  Equalizer(ir::Model& m, const EqualizeOptions& o) : m_(m), o_(o) {}

  Result<EqualizeReport> run() {
    ASSIGN_OR_RETURN(std::vector<ir::Node*> order, m_.graph->topological_order());
    for (ir::Node* n : order) find_pair(n);
    if (pairs_.empty()) return report_;
    report_.balance_before = mean_balance();
    report_.converged = false;
    for (int it = 0; it < o_.max_iterations && !report_.converged; ++it) {
      double worst = 0;
      for (const Pair& p : pairs_) worst = std::max(worst, sweep(p));
      report_.iterations = it + 1;
      report_.converged = worst <= o_.tolerance;
    }
    report_.balance_after = mean_balance();
    write_back();
    for (const Pair& p : pairs_) {
      const LayerState& a = layers_[p.first];
      const LayerState& b = layers_[p.second];
      auto dw = [](const LayerState& l) {
        return l.weight.layout.kind == WeightLayout::Kind::Conv && l.weight.layout.group > 1 &&
               l.weight.layout.group == in_channels(l.weight.w, l.weight.layout);
      };
      report_.pairs.push_back({node_label(*a.node), node_label(*b.node), fmt::format("{}", fmt::join(p.through, ", ")),
                               static_cast<int64_t>(a.out_factor.size()), dw(a) || dw(b)});
    }
    return report_;
  }

 private:
  size_t state_of(ir::Node* n, LayerWeight w) {
    auto it = index_.find(n);
    if (it != index_.end()) return it->second;
    LayerState s;
    s.node = n;
    s.out_factor.assign(static_cast<size_t>(out_channels(w.w, w.layout)), 1.0);
    s.in_factor.assign(static_cast<size_t>(in_channels(w.w, w.layout)), 1.0);
    s.weight = std::move(w);
    layers_.push_back(std::move(s));
    return index_[n] = layers_.size() - 1;
  }

  // Registers the pair starting at `n`, if there is one.
  void find_pair(ir::Node* n) {
    std::optional<LayerWeight> first = layer_weight(*n);
    if (!first) return;
    const int64_t channels = out_channels(first->w, first->layout);
    if (!layer_bias(*n, channels)) return;
    const bool conv = first->conv_family();
    std::vector<std::string> through;
    const ir::Value* v = n->output(0);
    for (int hop = 0; hop <= 3; ++hop) {
      ir::Node* c = passes::single_consumer(v);
      if (!c || c->input(0) != v) return;
      if (std::optional<LayerWeight> second = layer_weight(*c)) {
        if (second->conv_family() != conv || in_channels(second->w, second->layout) != channels) return;
        Pair p;
        p.first = state_of(n, std::move(*first));
        p.second = state_of(c, std::move(*second));
        p.through = std::move(through);
        pairs_.push_back(std::move(p));
        return;
      }
      bool clip_max = false;
      if (hop == 3 || !homogeneous(*c, m_, conv, clip_max)) {
        if (clip_max) {
          const ir::Node* next = passes::single_consumer(c->output(0));
          if (next && layer_weight(*next)) ++report_.skipped_clip;
        }
        return;
      }
      through.push_back(c->op_type());
      v = c->output(0);
    }
  }

  // One equalization step of a pair; returns the largest |s - 1|.
  double sweep(const Pair& p) {
    LayerState& a = layers_[p.first];
    LayerState& b = layers_[p.second];
    const std::vector<double> r1 = a.ranges(true), r2 = b.ranges(false);
    double worst = 0;
    for (size_t i = 0; i < r1.size(); ++i) {
      if (!(r1[i] > 0) || !(r2[i] > 0)) continue;  // a dead channel on either side: nothing to balance
      const double s = std::clamp(std::sqrt(r1[i] / r2[i]), 1.0 / o_.max_scale, o_.max_scale);
      a.out_factor[i] /= s;
      b.in_factor[i] *= s;
      worst = std::max(worst, std::fabs(s - 1.0));
    }
    return worst;
  }

  double mean_balance() const {
    double log_sum = 0;
    for (const Pair& p : pairs_)
      log_sum += std::log(std::max(pair_precision(layers_[p.first].ranges(true), layers_[p.second].ranges(false)), 1e-300));
    return std::exp(log_sum / static_cast<double>(pairs_.size()));
  }

  void write_back() {
    ir::Graph& g = *m_.graph;
    auto moved = [](const std::vector<double>& f) {
      return std::any_of(f.begin(), f.end(), [](double x) { return x != 1.0; });
    };
    for (LayerState& l : layers_) {
      if (!moved(l.out_factor) && !moved(l.in_factor)) continue;
      const Tensor& w0 = l.weight.w;
      Tensor w(DType::Float, w0.dims());
      const float* src = w0.data<float>();
      float* dst = w.mutable_data<float>();
      for_each_weight(w0, l.weight.layout, [&](int64_t i, int64_t o, int64_t in) {
        dst[i] = static_cast<float>(src[i] * l.out_factor[static_cast<size_t>(o)] * l.in_factor[static_cast<size_t>(in)]);
      });
      std::optional<const Tensor*> bias = layer_bias(*l.node, static_cast<int64_t>(l.out_factor.size()));
      if (bias && *bias && moved(l.out_factor)) {
        Tensor b(DType::Float, (*bias)->dims());
        for (int64_t i = 0; i < b.numel(); ++i)
          b.mutable_data<float>()[i] = static_cast<float>((*bias)->data<float>()[i] * l.out_factor[static_cast<size_t>(i)]);
        replace_constant_input(g, l.node, 2, std::move(b));
      }
      replace_constant_input(g, l.node, 1, std::move(w));
    }
  }

  ir::Model& m_;
  const EqualizeOptions& o_;
  std::vector<LayerState> layers_;
  std::map<ir::Node*, size_t> index_;
  std::vector<Pair> pairs_;
  EqualizeReport report_;
};

}  // namespace

Result<EqualizeReport> equalize(ir::Model& model, const EqualizeOptions& options) {
  if (!(options.tolerance > 0) || options.max_iterations < 1 || !(options.max_scale >= 1))
    return invalid("equalize: tolerance must be positive, iterations at least 1, max scale at least 1");
  return Equalizer(model, options).run();
}

std::vector<double> weight_channel_ranges(const ir::Node& layer, bool output) {
  std::optional<LayerWeight> w = layer_weight(layer);
  if (!w) return {};
  LayerState s;
  s.out_factor.assign(static_cast<size_t>(out_channels(w->w, w->layout)), 1.0);
  s.in_factor.assign(static_cast<size_t>(in_channels(w->w, w->layout)), 1.0);
  s.weight = std::move(*w);
  return s.ranges(output);
}

}  // namespace ortool::quant
