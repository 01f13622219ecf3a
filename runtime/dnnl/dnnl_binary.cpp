// The dnnl provider's Add and Mul of float 4-D tensors (same shape, or the second broadcast, e.g. a
// squeeze-excite scale [N, C, 1, 1]) on oneDNN's binary primitive, with a fused activation.
//
// Claimed only when both operands come from dnnl steps that always write float 4-D tensors, so
// the operands may be NHWC (see Layouts). A pair of shapes oneDNN cannot broadcast (both operands
// broadcast) runs the cpu provider's kernel when everything is NCHW and no activation is fused, and
// is an error otherwise (no dnnl step writes such pairs in the models seen so far).
#include <algorithm>
#include <memory>

#include "runtime/cpu/conv.h"
#include "runtime/dnnl/dnnl_common.h"
#include "runtime/partition.h"

namespace ortool::rt::dnnl_ep {

namespace {

using md = dnnl::memory::desc;
using tag = dnnl::memory::format_tag;

struct BinarySpec {
  std::vector<const ir::Node*> nodes;  // the Add or Mul, then the fused activation's nodes
  std::string what;
  dnnl::algorithm alg = dnnl::algorithm::binary_add;
  std::optional<PostOp> post;
  std::shared_ptr<Layouts> layouts = std::make_shared<Layouts>();
};

struct Prepared {
  std::vector<int64_t> a_dims, b_dims;
  bool swap = false;  // the first operand is the broadcast one: oneDNN takes it as src1
  bool empty = false;
  int team = 1;  // team_for_work
  std::vector<int64_t> dst_dims;
  dnnl::binary prim;
  md src0_user, src1_user, dst_user;
  dnnl::reorder from_dst;
  dnnl::memory dst_buf;
  bool in_place = false;  // src0 may serve as the destination (same layout, no reorder after)
};

// True when `small` broadcasts to `big` (every dim equal or 1).
bool broadcasts_to(const std::vector<int64_t>& small, const std::vector<int64_t>& big) {
  for (size_t i = 0; i < big.size(); ++i)
    if (small[i] != big[i] && small[i] != 1) return false;
  return true;
}

class DnnlBinaryKernel final : public Kernel {
 public:
  DnnlBinaryKernel(std::shared_ptr<const BinarySpec> spec, const KernelInit& init)
      : spec_(std::move(spec)), stream_(cpu_engine()),
        fallback_(KernelInit{*spec_->nodes.front(), init.opset, init.model}) {}

  // On one thread (oneDNN's team of 1 for this size) a step runs as well on thread 0 of a team.
  TeamUse team_use(KernelContext& ctx) override {
    const Tensor* a = ctx.input_tensor(0);
    const Tensor* b = ctx.input_tensor(1);
    if (!a || !b || a->dtype() != DType::Float || b->dtype() != DType::Float || a->rank() != 4 || b->rank() != 4 ||
        !(broadcasts_to(b->dims(), a->dims()) || broadcasts_to(a->dims(), b->dims())))
      return TeamUse::None;
    use_threads(ctx);
    Result<Prepared*> p = prepare(a->dims(), b->dims());
    return p.is_ok() && (*p)->team == 1 ? TeamUse::Pool : TeamUse::None;
  }

  Status run(KernelContext& ctx) override {
    const BinarySpec& s = *spec_;
    const Layouts& l = *s.layouts;
    const Tensor* a = ctx.input_tensor(0);
    const Tensor* b = ctx.input_tensor(1);
    if (!a || !b || a->dtype() != DType::Float || b->dtype() != DType::Float || a->rank() != 4 || b->rank() != 4)
      return invalid("{}: both inputs must be float 4-D tensors, as the producing steps write", s.what);
    const bool fits = broadcasts_to(b->dims(), a->dims()) || broadcasts_to(a->dims(), b->dims());
    if (!fits) {
      if (l.input_nhwc(0) || l.input_nhwc(1) || l.out_nhwc || s.post)
        return unsupported("{}: inputs of shapes {} and {} do not broadcast one onto the other", s.what,
                           cpu::conv_family::dims_string(a->dims()), cpu::conv_family::dims_string(b->dims()));
      return fallback_.run(ctx, DType::Float);
    }
    use_threads(ctx);
    ASSIGN_OR_RETURN(Prepared * p, prepare(a->dims(), b->dims()));
    set_threads(p->team);
    // oneDNN's binary allows dst == src0 (not src1): the full-shape operand's buffer becomes the
    // output when it dies here, in the destination's layout, and is not also the other operand.
    Tensor* y = nullptr;
    if (p->in_place && a->data<float>() != b->data<float>()) {
      ASSIGN_OR_RETURN(y, ctx.reuse_input_or_allocate(p->swap ? 1 : 0, 0, DType::Float, p->dst_dims));
    } else {
      ASSIGN_OR_RETURN(y, ctx.allocate_output(0, DType::Float, p->dst_dims, KernelContext::Fill::Uninitialized));
    }
    if (p->empty) return Status::ok();
    return guarded(s.what, [&]() -> Status {
      const Tensor* s0 = p->swap ? b : a;
      const Tensor* s1 = p->swap ? a : b;
      const auto& eng = cpu_engine();
      dnnl::memory m0(p->src0_user, eng, const_cast<float*>(s0->data<float>()));
      dnnl::memory m1(p->src1_user, eng, const_cast<float*>(s1->data<float>()));
      dnnl::memory dst(p->dst_user, eng, y->mutable_data<float>());
      p->prim.execute(stream_,
                      {{DNNL_ARG_SRC_0, m0}, {DNNL_ARG_SRC_1, m1}, {DNNL_ARG_DST, p->dst_buf ? p->dst_buf : dst}});
      if (p->dst_buf) p->from_dst.execute(stream_, p->dst_buf, dst);
      stream_.wait();
      return Status::ok();
    });
  }

 private:
  Result<Prepared*> prepare(const std::vector<int64_t>& ad, const std::vector<int64_t>& bd) {
    for (size_t i = 0; i < cache_.size(); ++i) {
      if (cache_[i]->a_dims != ad || cache_[i]->b_dims != bd) continue;
      auto it = cache_.begin() + static_cast<std::ptrdiff_t>(i);
      std::rotate(it, it + 1, cache_.end());
      return cache_.back().get();
    }
    const BinarySpec& s = *spec_;
    const Layouts& l = *s.layouts;
    auto p = std::make_unique<Prepared>();
    p->a_dims = ad;
    p->b_dims = bd;
    p->swap = !broadcasts_to(bd, ad);
    p->dst_dims = p->swap ? bd : ad;
    for (int64_t d : p->dst_dims) p->empty = p->empty || d == 0;
    p->team = team_for_work(elementwise_work(static_cast<double>(numel_of(p->dst_dims))));
    if (!p->empty) TRY(guarded(s.what, [&]() -> Status {
      const auto& eng = cpu_engine();
      p->src0_user = act_desc(p->swap ? bd : ad, l.input_nhwc(p->swap ? 1 : 0));
      p->src1_user = act_desc(p->swap ? ad : bd, l.input_nhwc(p->swap ? 0 : 1));
      p->dst_user = act_desc(p->dst_dims, l.out_nhwc);
      const auto& d = p->dst_dims;
      md dst_any({d[0], d[1], d[2], d[3]}, dnnl::memory::data_type::f32, tag::any);
      dnnl::primitive_attr attr;
      attr.set_post_ops(make_post_ops(s.post));
      dnnl::binary::primitive_desc pd(dnnl::binary::desc(s.alg, p->src0_user, p->src1_user, dst_any), attr, eng);
      p->prim = dnnl::binary(pd);
      if (pd.dst_desc() != p->dst_user) {
        p->dst_buf = dnnl::memory(pd.dst_desc(), eng);
        p->from_dst = dnnl::reorder(dnnl::reorder::primitive_desc(eng, pd.dst_desc(), eng, p->dst_user));
      }
      p->in_place = !p->dst_buf && p->src0_user == p->dst_user;
      return Status::ok();
    }));
    if (cache_.size() >= 4) cache_.erase(cache_.begin());
    cache_.push_back(std::move(p));
    return cache_.back().get();
  }

  std::shared_ptr<const BinarySpec> spec_;
  dnnl::stream stream_;
  std::vector<std::unique_ptr<Prepared>> cache_;  // most recent last
  CpuFallback fallback_;
};

}  // namespace

std::optional<DnnlClaim> claim_binary(const GraphView& view, const ir::Node& node, int threads) {
  if (node.num_inputs() != 2 || !node.input(0) || !node.input(1) || node.num_outputs() != 1 || !node.output(0))
    return std::nullopt;
  auto spec = std::make_shared<BinarySpec>();
  spec->alg = node.op_type() == "Add" ? dnnl::algorithm::binary_add : dnnl::algorithm::binary_mul;
  spec->nodes = {&node};
  spec->post = fusable_activation(view, node);
  if (spec->post) append_nodes(spec->nodes, *spec->post);
  spec->what = describe_nodes(spec->nodes);
  DnnlClaim dc;
  dc.layouts = spec->layouts;
  dc.nhwc_ok.assign(group_inputs(spec->nodes).size(), false);
  dc.nhwc_ok[0] = dc.nhwc_ok[1] = true;
  dc.out_nhwc_ok = true;
  dc.nhwc_needs_all_float4 = true;
  Claim& c = dc.claim;
  c.nodes = spec->nodes;
  c.factory = [spec, threads](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    set_threads(threads);
    std::unique_ptr<Kernel> k;
    TRY(guarded(spec->what, [&]() -> Status {
      k = std::make_unique<DnnlBinaryKernel>(spec, init);
      return Status::ok();
    }));
    return k;
  };
  return dc;
}

}  // namespace ortool::rt::dnnl_ep
