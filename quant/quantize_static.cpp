// quantize_static: the QDQ rewrite of a planned model (and the QOperator lowering on top of it).
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "lib/onnx_shape_inference.h"
#include "lib/op_id.h"
#include "passes/opset_conversion.h"
#include "passes/pass_util.h"
#include "quant/bias_correction.h"
#include "quant/quantize.h"
#include "quant/quantize_graph.h"
#include "quant/quantize_plan.h"
#include "quant/quantize_qoperator.h"
#include "quant/quantize_report.h"

namespace ortool::quant {

namespace {

Status check_ranges(const StaticPlan& plan, const RangeTable& ranges) {
  for (const ActivationPlan& a : plan.activations) {
    if (a.source != ActivationPlan::Source::Range) continue;
    auto it = ranges.find(a.range_name);
    if (it == ranges.end()) return invalid("no calibrated range for tensor '{}'", a.range_name);
    const TensorRange& r = it->second;
    if (!std::isfinite(r.min) || !std::isfinite(r.max))
      return invalid("range of tensor '{}' is [{}, {}]: not finite", a.range_name, r.min, r.max);
    if (r.min > r.max) return invalid("range of tensor '{}' is [{}, {}]: min above max", a.range_name, r.min, r.max);
  }
  return Status::ok();
}

// Range of a constant's finite values.
TensorRange constant_range(const Tensor& t) {
  TensorRange r;
  const float* d = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i)
    if (std::isfinite(d[i])) {
      r.min = std::min(r.min, static_cast<double>(d[i]));
      r.max = std::max(r.max, static_cast<double>(d[i]));
    }
  return r;
}

class QdqRewriter {
 public:
  QdqRewriter(ir::Model& m, const StaticPlan& plan, const RangeTable& ranges, const QuantizeOptions& o,
              QuantizeReport& report)
      : g_(*m.graph), ed_(g_), plan_(plan), ranges_(ranges), o_(o), report_(report) {}

  void run() {
    compute_params();
    for (const FoldPlan& f : plan_.folds) fold(f);
    emit_weights_and_biases();
    emit_activations();
  }

 private:
  static ir::Node* mut(const ir::Node* n) { return const_cast<ir::Node*>(n); }  // the plan was made on m_

  void compute_params() {
    for (const ActivationPlan& a : plan_.activations) {
      QuantParams p;
      switch (a.source) {
        case ActivationPlan::Source::Range: {
          TensorRange r = ranges_.at(a.range_name);
          if (a.clamp) {
            r.min = std::max(r.min, a.lo);
            r.max = std::min(r.max, a.hi);
          }
          p = activation_params(r, o_.activation_type, o_.symmetric_activations);
          break;
        }
        case ActivationPlan::Source::Fixed:
          p = activation_params(a.fixed, o_.activation_type, o_.symmetric_activations);
          break;
        case ActivationPlan::Source::SameAs: p = act_params_.at(a.same_as); break;
        case ActivationPlan::Source::Constant:
          p = activation_params(constant_range(*float_constant(a.value)), o_.activation_type,
                                o_.symmetric_activations);
          break;
      }
      act_params_[a.value] = p;
    }
    for (const WeightPlan& w : plan_.weights)
      weight_params_.push_back(weight_params(*float_constant(w.node->input(static_cast<size_t>(w.input))),
                                             o_.weight_type, w.axis, o_.reduce_range));
    for (const BiasPlan& b : plan_.biases) {
      const float sx = act_params_.at(b.activation).scale[0];
      QuantizedBias qb = quantize_bias(*float_constant(b.node->input(static_cast<size_t>(b.input))), sx,
                                       weight_params_[b.weight]);
      report_.weight_scales_raised += qb.raised;
      if (qb.raised > 0)
        report_.notes.push_back(fmt::format("{}: weight scale raised on {} channel(s) so the int32 bias fits",
                                            b.node->describe(), qb.raised));
      biases_.push_back(std::move(qb));
    }
  }

  void fold(const FoldPlan& f) {
    ir::Node* act = mut(f.activation);
    std::vector<ir::Value*> extra(act->inputs().begin() + 1, act->inputs().end());
    passes::forward_outputs(g_, act, {act->input(0)});
    for (ir::Value* v : extra) ed_.drop_if_unused(v);
  }

  void emit_weights_and_biases() {
    // One quantized copy, DequantizeLinear and parameters per node, also for a weight two nodes share: runtimes
    // fuse "DQ(weight) -> op" only where the DQ is the node's own, and ONNX Runtime's exact int8 mode on x86
    // (session.x64quantprecision=1) rewrites each DQ's int8 weight and zero point in place and cannot load a
    // model where two nodes hold one (as ONNX Runtime's own quantizer writes them). --share-weights: once.
    std::vector<ir::Value*> original, weight_dq(plan_.weights.size());
    for (const WeightPlan& w : plan_.weights) original.push_back(w.node->input(static_cast<size_t>(w.input)));
    for (size_t i = 0; i < plan_.weights.size(); ++i) {
      const WeightPlan& w = plan_.weights[i];
      ir::Value* v = original[i];
      size_t same = i, seen = i;
      for (size_t j = 0; j < i && seen == i; ++j)
        if (original[j] == v) seen = j;
      for (size_t j = 0; j < i && same == i && o_.share_weights; ++j)
        if (original[j] == v && weight_params_[j] == weight_params_[i]) same = j;
      if (same != i) {
        weight_dq[i] = weight_dq[same];
      } else {
        const QuantParams& p = weight_params_[i];
        ir::Value* q = ed_.add_initializer(v->name() + "_quantized", quantize_tensor(*float_constant(v), p));
        weight_dq[i] = ed_.add_dequantize(q, ed_.add_qparams(v->name(), p), p.axis, v->name());
        ++report_.weights_quantized;
        if (v->is_graph_input() && seen == i) ++baked_inputs_;
      }
      g_.set_input(mut(w.node), static_cast<size_t>(w.input), weight_dq[i]);
      ed_.drop_if_unused(v);
    }
    for (size_t i = 0; i < plan_.biases.size(); ++i) {
      const BiasPlan& b = plan_.biases[i];
      ir::Value* v = b.node->input(static_cast<size_t>(b.input));
      QuantParams p;
      p.type = DType::Int32;
      p.scale = biases_[i].scale;
      p.zero_point.assign(p.scale.size(), 0);
      p.axis = p.scale.size() > 1 ? 0 : -1;
      ir::Value* q = ed_.add_initializer(v->name() + "_quantized", biases_[i].q);
      ir::Value* dq = ed_.add_dequantize(q, ed_.add_qparams(v->name() + "_quantized", p), p.axis, v->name());
      ++report_.biases_quantized;
      if (v->is_graph_input()) ++baked_inputs_;
      g_.set_input(mut(b.node), static_cast<size_t>(b.input), dq);
      ed_.drop_if_unused(v);
    }
    if (baked_inputs_ > 0)
      report_.notes.push_back(fmt::format(
          "{} weight(s) were graph inputs with an initializer; they are stored quantized and are no longer inputs",
          baked_inputs_));
  }

  void emit_activations() {
    std::unordered_map<const ir::Value*, QParamValues> values;
    for (const ActivationPlan& a : plan_.activations) {
      ir::Value* v = const_cast<ir::Value*>(a.value);
      const QuantParams& p = act_params_.at(a.value);
      if (a.source == ActivationPlan::Source::Constant) {
        ir::Value* q = ed_.add_initializer(v->name() + "_quantized", quantize_tensor(*float_constant(v), p));
        values[a.value] = ed_.add_qparams(v->name(), p);  // a pass-through op reading it shares them
        ir::Value* dq = ed_.add_dequantize(q, values[a.value], -1, v->name());
        for (const ir::Use& u : a.uses) g_.set_input(u.node, static_cast<size_t>(u.index), dq);
        ed_.drop_if_unused(v);
        continue;
      }
      QParamValues qp = a.source == ActivationPlan::Source::SameAs ? values.at(a.same_as)
                                                                   : ed_.add_qparams(v->name(), p);
      values[a.value] = qp;
      ed_.insert_qdq(v, qp);
    }
  }

  ir::Graph& g_;
  GraphEditor ed_;
  const StaticPlan& plan_;
  const RangeTable& ranges_;
  const QuantizeOptions& o_;
  QuantizeReport& report_;
  std::unordered_map<const ir::Value*, QuantParams> act_params_;
  std::vector<QuantParams> weight_params_;
  std::vector<QuantizedBias> biases_;
  int64_t baked_inputs_ = 0;
};

}  // namespace

Result<QuantizeReport> quantize_static(ir::Model& model, const RangeTable& ranges, const QuantizeOptions& options,
                                       const ChannelMeans* means) {
  TRY(validate_options(model, options, QuantMode::Static));
  if (options.bias_correction && !means)
    return invalid("bias correction needs the per-channel means of the layers' inputs (from calibration)");
  QuantizeOptions o = options;
  ASSIGN_OR_RETURN(StaticPlan plan, plan_static(model, o));
  TRY(check_ranges(plan, ranges));
  QuantizeReport report;
  report.opset_before = passes::onnx_opset(model);
  // QuantizeLinear exists from opset 10; per-axis scales from 13. Raise the opset, never lower it.
  const int64_t need = plan.per_channel ? 13 : 10;
  if (report.opset_before < need) {
    // onnx's version converter needs ranks (Softmax 12 -> 13): give it the inferred types first.
    (void)infer_shapes(model);
    Status st = passes::convert_opset(model, need);
    if (!st.is_ok() && plan.per_channel && report.opset_before >= 10) {
      o.per_channel = false;
      report.notes.push_back(fmt::format("weights quantized per tensor: per-channel needs opset 13 and {}",
                                         st.message()));
    } else if (!st.is_ok()) {
      return st.with_context("quantize");
    } else {
      report.notes.push_back(fmt::format("opset raised from {} to {} ({})", report.opset_before, need,
                                         plan.per_channel ? "per-channel weights" : "QuantizeLinear"));
    }
    ASSIGN_OR_RETURN(plan, plan_static(model, o));
    TRY(check_ranges(plan, ranges));
  }
  if (o.bias_correction) {
    // The float biases absorb the weights' rounding; planned again so created biases are quantized too.
    ASSIGN_OR_RETURN(report.bias_corrections, correct_biases(model, plan, *means, o, report.notes));
    ASSIGN_OR_RETURN(plan, plan_static(model, o));
  }
  report.opset_after = passes::onnx_opset(model);
  if (report.opset_after >= 13 && model.ir_version < 7) model.ir_version = 7;
  if (report.opset_after >= 10 && model.ir_version < 5) model.ir_version = 5;
  fill_report_nodes(plan, report);

  QdqRewriter(model, plan, ranges, o, report).run();
  if (o.bias_correction && report.weight_scales_raised > 0)
    report.notes.push_back("bias correction used the weight scales from before the raise for int32 biases");
  if (o.format == QuantFormat::QOperator) TRY(lower_to_qoperator(model, report));
  TRY(model.graph->sort_topologically());
  TRY(model.graph->verify().with_context("quantize: internal error, the rewritten graph is invalid"));
  if (report.quantized.empty()) report.notes.push_back("nothing was quantized");
  return report;
}

}  // namespace ortool::quant
