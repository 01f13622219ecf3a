// Shared pieces of the dnnl provider: engine, thread count, and the activations fused as eltwise post-ops.
#include "runtime/dnnl/dnnl_common.h"

#include <string_view>

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

bool avx512_kernels() {
  static const bool on = [] {
    const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
    const auto avx512 = static_cast<unsigned>(dnnl_cpu_isa_avx512_core) & ~static_cast<unsigned>(dnnl_cpu_isa_avx2);
    return (isa & avx512) != 0;
  }();
  return on;
}

int team_for_work(double work) {
  // About 20 microseconds on one core of an AVX-512 Zen 4 (oneDNN's AVX-512 kernels). Where oneDNN has only
  // AVX2 kernels, a quarter of that gave the best 2-thread latencies on a Zen 3 (alternating rounds, median
  // of five: int8 7-bit mobilenet_v2 4.39 -> 3.77 ms, efficientnet_b0 9.19 -> 8.26, shufflenet_v2 3.56 ->
  // 3.05, squeezenet1_1 3.16 -> 2.93; float mobilenet_v2 about 10 -> 9 ms).
  static const double kParallelWork = avx512_kernels() ? double(1 << 20) : double(1 << 18);
  const int team = work < kParallelWork ? 1 : omp_get_max_threads();
  set_threads(team);
  return team;
}

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
  p.before = {&sig};
  p.alg = dnnl::algorithm::eltwise_swish;
  p.alpha = 1.0f;
  return p;
}

// The other input of a two-input node that reads `v`, or null.
const ir::Value* other_input(const ir::Node& n, const ir::Value* v) {
  if (n.num_inputs() != 2) return nullptr;
  if (n.input(0) == v) return n.input(1) == v ? nullptr : n.input(1);
  return n.input(1) == v ? n.input(0) : nullptr;
}

// The free default-domain node that alone reads `x`, with one output, or null.
const ir::Node* sole_reader(const GraphView& view, const ir::Value* x) {
  if (!x || x->uses().size() != 1) return nullptr;
  const ir::Node* n = x->uses()[0].node;
  if (view.is_taken(n) || !ir::is_default_domain(n->domain()) || n->num_outputs() != 1 || !n->output(0)) return nullptr;
  return n;
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

// True when `v` is a float scalar fixed for the session equal to `want` (within float rounding).
bool is_scalar(const GraphView& view, const ir::Value* v, float want) {
  const std::optional<float> c = v ? constant_float_scalar(view, v, 0.0f) : std::nullopt;
  return c && std::fabs(*c - want) <= 1e-6f * std::fabs(want);
}

// n computes x / 6 (Div by 6, or Mul by 1/6).
bool divides_by_six(const GraphView& view, const ir::Node& n, const ir::Value* x) {
  if (ir::is_op(n, "Div")) return n.num_inputs() == 2 && n.input(0) == x && is_scalar(view, n.input(1), 6.0f);
  return ir::is_op(n, "Mul") && is_scalar(view, other_input(n, x), 1.0f / 6.0f);
}

// Hard-swish where `producer` writes v: v * Clip(v + 3, 0, 6) / 6 (the Mul by v before or after the
// division), or v * HardSigmoid(v) with alpha 1/6 and beta 1/2, each value read only by the next.
std::optional<PostOp> fusable_hardswish(const GraphView& view, const ir::Node& producer) {
  const ir::Value* v = producer.output(0);
  std::vector<const ir::Node*> chain;
  const ir::Node* last = nullptr;
  for (const ir::Use& u : v->uses()) {
    const ir::Node* first = u.node;
    if (view.is_taken(first) || first->num_outputs() != 1 || !first->output(0)) continue;
    auto times_v = [&](const ir::Node* m, const ir::Value* x) {
      return m && ir::is_op(*m, "Mul") && other_input(*m, x) == v;
    };
    if (ir::is_op(*first, "HardSigmoid") && first->num_inputs() == 1 &&
        std::fabs(first->attr_float("alpha", 0.2f) - 1.0f / 6.0f) <= 1e-6f && first->attr_float("beta", 0.5f) == 0.5f) {
      const ir::Node* mul = sole_reader(view, first->output(0));
      if (times_v(mul, first->output(0))) {
        chain = {first};
        last = mul;
      }
      break;
    }
    if (!ir::is_op(*first, "Add") || !is_scalar(view, other_input(*first, v), 3.0f)) continue;
    const ir::Node* clip = sole_reader(view, first->output(0));
    if (!clip || !ir::is_op(*clip, "Clip") || clip->input(0) != first->output(0)) break;
    const std::optional<PostOp> bounds = activation_of(view, *clip);
    if (!bounds || bounds->alpha != 0.0f || bounds->beta != 6.0f) break;
    const ir::Node* third = sole_reader(view, clip->output(0));
    if (!third) break;
    const ir::Node* fourth = sole_reader(view, third->output(0));
    if (times_v(third, clip->output(0)) && fourth && divides_by_six(view, *fourth, third->output(0))) {
      chain = {first, clip, third};
      last = fourth;
    } else if (divides_by_six(view, *third, clip->output(0)) && times_v(fourth, third->output(0))) {
      chain = {first, clip, third};
      last = fourth;
    }
    break;
  }
  if (!last) return std::nullopt;
  std::vector<const ir::Node*> group{&producer};
  group.insert(group.end(), chain.begin(), chain.end());
  group.push_back(last);
  if (!view.read_only_by(*v, group)) return std::nullopt;
  for (const ir::Node* n : chain)
    if (!view.read_only_by(*n->output(0), group)) return std::nullopt;
  PostOp p;
  p.node = last;
  p.before = chain;
  p.alg = dnnl::algorithm::eltwise_hardswish;
  return p;
}

}  // namespace

void append_nodes(std::vector<const ir::Node*>& group, const PostOp& p) {
  group.insert(group.end(), p.before.begin(), p.before.end());
  group.push_back(p.node);
}

dnnl::memory::desc act_desc(const std::vector<int64_t>& d, bool nhwc) {
  return dnnl::memory::desc(dnnl::memory::dims(d.begin(), d.end()), dnnl::memory::data_type::f32,
                            nhwc ? dnnl::memory::format_tag::nhwc : dnnl::memory::format_tag::nchw);
}

dnnl::memory::desc act_desc(const std::vector<int64_t>& d, bool nhwc, bool blocked) {
  if (!blocked) return act_desc(d, nhwc);
  return dnnl::memory::desc(dnnl::memory::dims(d.begin(), d.end()), dnnl::memory::data_type::f32,
                            dnnl::memory::format_tag::nChw8c);
}

bool is_reference_impl(const dnnl::primitive_desc_base& pd) {
  return std::string_view(pd.impl_info_str()).substr(0, 3) == "ref";
}

bool convs_prefer_blocked8() {
  static const bool prefer = [] {
    using md = dnnl::memory::desc;
    using tag = dnnl::memory::format_tag;
    constexpr auto f32 = dnnl::memory::data_type::f32;
    try {
      const dnnl::memory::dims x{1, 64, 28, 28}, w{64, 64, 3, 3};
      dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                        md(x, f32, tag::any), md(w, f32, tag::any), md(x, f32, tag::any), {1, 1},
                                        {1, 1}, {1, 1});
      dnnl::convolution_forward::primitive_desc pd(d, cpu_engine());
      return pd.src_desc() == md(x, f32, tag::nChw8c);
    } catch (const dnnl::error&) {
      return false;
    }
  }();
  return prefer;
}

std::optional<PostOp> fusable_activation(const GraphView& view, const ir::Node& producer) {
  const ir::Value* v = producer.output(0);
  if (v && v->uses().size() == 2) {
    std::optional<PostOp> p = fusable_silu(view, producer);
    return p ? p : fusable_hardswish(view, producer);
  }
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
  } else if (op == "HardSwish" && c->num_inputs() == 1) {
    p.alg = dnnl::algorithm::eltwise_hardswish;
  } else if (op == "HardSigmoid" && c->num_inputs() == 1) {
    // max(0, min(1, alpha x + beta)): oneDNN 2.6 has no hardsigmoid; linear, then clip.
    p.alg = dnnl::algorithm::eltwise_linear;
    p.alpha = c->attr_float("alpha", 0.2f);
    p.beta = c->attr_float("beta", 0.5f);
    if (!std::isfinite(p.alpha) || !std::isfinite(p.beta)) return std::nullopt;
    p.clip_after = std::pair<float, float>{0.0f, 1.0f};
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
  if (p && p->clip_after)
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, p->clip_after->first, p->clip_after->second);
  return ops;
}

}  // namespace ortool::rt::dnnl_ep
