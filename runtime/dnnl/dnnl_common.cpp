// Shared pieces of the dnnl provider: engine, thread count, and the activations fused as eltwise post-ops.
#include "runtime/dnnl/dnnl_common.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/thread_pool.h"

namespace ortool::rt::dnnl_ep {

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

void set_threads(int n) {
  // Debian's oneDNN runs its primitives on OpenMP; the team size is a per-calling-thread setting,
  // so setting it before each primitive keeps sessions with different --threads apart.
  n = std::max(1, n);
  if (omp_get_max_threads() != n) omp_set_num_threads(n);
}

void use_threads(const KernelContext& ctx) { set_threads(ctx.threads() ? ctx.threads()->size() : 1); }

std::optional<PostOp> silu_from(const GraphView& view, const ir::Node& sig) {
  if (!ir::is_op(sig, "Sigmoid") || view.is_taken(&sig) || sig.num_inputs() != 1 ||
      !sig.input(0) || sig.num_outputs() != 1 || !sig.output(0))
    return std::nullopt;
  const ir::Value* v = sig.input(0);
  const ir::Value* s = sig.output(0);
  if (s->uses().size() != 1) return std::nullopt;
  const ir::Node* mul = s->uses()[0].node;
  if (!ir::is_op(*mul, "Mul") || view.is_taken(mul) || mul->num_inputs() != 2 ||
      mul->num_outputs() != 1 || !mul->output(0) || mul->input(1 - s->uses()[0].index) != v)
    return std::nullopt;
  const ir::Node* group[] = {&sig, mul};
  if (!view.read_only_by(*s, group)) return std::nullopt;
  PostOp p;
  p.node = mul;
  p.sigmoid = &sig;
  p.alg = dnnl::algorithm::eltwise_swish;
  p.alpha = 1.0f;
  return p;
}

namespace {

// SiLU where `producer` writes v: Sigmoid(v) and Mul(v, Sigmoid(v)) as v's only two readers.
std::optional<PostOp> fusable_silu(const GraphView& view, const ir::Node& producer) {
  const ir::Value* v = producer.output(0);
  const ir::Node* sig = nullptr;
  for (const ir::Use& u : v->uses())
    if (ir::is_op(*u.node, "Sigmoid") && u.index == 0) sig = u.node;
  std::optional<PostOp> p = sig ? silu_from(view, *sig) : std::nullopt;
  const ir::Node* group[] = {&producer, sig, p ? p->node : nullptr};
  if (!p || !view.read_only_by(*v, group)) return std::nullopt;
  return p;
}

}  // namespace

void append_nodes(std::vector<const ir::Node*>& group, const PostOp& p) {
  if (p.sigmoid) group.push_back(p.sigmoid);
  group.push_back(p.node);
}

dnnl::memory::desc act_desc(const std::vector<int64_t>& d, bool nhwc) {
  return dnnl::memory::desc(dnnl::memory::dims(d.begin(), d.end()), dnnl::memory::data_type::f32,
                            nhwc ? dnnl::memory::format_tag::nhwc : dnnl::memory::format_tag::nchw);
}

std::optional<PostOp> fusable_activation(const GraphView& view, const ir::Node& producer) {
  const ir::Value* v = producer.output(0);
  if (v && v->uses().size() == 2) return fusable_silu(view, producer);
  if (!v || v->uses().size() != 1 || v->uses()[0].index != 0) return std::nullopt;
  const ir::Node* c = v->uses()[0].node;
  if (view.is_taken(c) || !ir::is_default_domain(c->domain())) return std::nullopt;
  if (c->num_outputs() != 1 || !c->output(0)) return std::nullopt;
  const ir::Node* group[] = {&producer, c};
  if (!view.read_only_by(*v, group)) return std::nullopt;
  return activation_of(view, *c);
}

std::optional<PostOp> activation_of(const GraphView& view, const ir::Node& node) {
  const ir::Node* c = &node;
  if (view.is_taken(c) || !ir::is_default_domain(c->domain()) || c->num_outputs() != 1 || !c->output(0) || !c->input(0))
    return std::nullopt;
  PostOp p;
  p.node = c;
  const std::string& op = c->op_type();
  if (op == "Relu" && c->num_inputs() == 1) {
    p.alg = dnnl::algorithm::eltwise_relu;
  } else if (op == "LeakyRelu" && c->num_inputs() == 1) {
    p.alg = dnnl::algorithm::eltwise_relu;  // oneDNN's relu takes the negative slope as alpha
    p.alpha = c->attr_float("alpha", 0.01f);
    if (!std::isfinite(p.alpha)) return std::nullopt;
  } else if (op == "Sigmoid" && c->num_inputs() == 1) {
    p.alg = dnnl::algorithm::eltwise_logistic;
  } else if (op == "Tanh" && c->num_inputs() == 1) {
    p.alg = dnnl::algorithm::eltwise_tanh;
  } else if (op == "Clip") {
    constexpr float inf = std::numeric_limits<float>::infinity();
    std::optional<float> lo, hi;
    if (view.opset(*c) < 11) {
      if (c->num_inputs() != 1) return std::nullopt;
      lo = c->attr_float("min", -inf);
      hi = c->attr_float("max", inf);
    } else {
      if (c->num_inputs() > 3) return std::nullopt;
      lo = constant_float_scalar(view, c->input(1), -inf);
      hi = constant_float_scalar(view, c->input(2), inf);
    }
    // Crossed or NaN bounds have ONNX-specific answers: leave them to the reference kernel.
    if (!lo || !hi || std::isnan(*lo) || std::isnan(*hi) || *lo > *hi) return std::nullopt;
    p.alg = dnnl::algorithm::eltwise_clip;
    p.alpha = *lo;
    p.beta = *hi;
  } else {
    return std::nullopt;
  }
  return p;
}

dnnl::post_ops make_post_ops(const std::optional<PostOp>& p, bool sum) {
  dnnl::post_ops ops;
  if (sum) ops.append_sum(1.0f);
  if (p) ops.append_eltwise(1.0f, p->alg, p->alpha, p->beta);
  return ops;
}

}  // namespace ortool::rt::dnnl_ep
