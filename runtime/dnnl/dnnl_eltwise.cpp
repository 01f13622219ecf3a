// The dnnl provider's standalone activations (Relu, LeakyRelu, Sigmoid, Tanh, Clip, HardSwish, SiLU written as
// Mul(v, Sigmoid(v))) on float 4-D tensors inside an NHWC region, where no producer could fuse them
// (e.g. the producer's output has other readers). oneDNN's eltwise writes the input's order; a
// reorder follows when the output wants the other one.
#include <algorithm>
#include <memory>

#include "runtime/dnnl/dnnl_common.h"
#include "runtime/partition.h"

namespace ortool::rt::dnnl_ep {

namespace {

struct EltwiseSpec {
  std::vector<const ir::Node*> nodes;
  std::string what;
  PostOp op;
  std::shared_ptr<Layouts> layouts = std::make_shared<Layouts>();
};

struct Prepared {
  std::vector<int64_t> dims;
  int team = 1;  // team_for_work
  dnnl::eltwise_forward prim;
  dnnl::memory::desc src_user, dst_user;
  dnnl::reorder from_dst;
  dnnl::memory dst_buf;
  bool in_place = false;  // the source's layout is the destination's
};

class DnnlEltwiseKernel final : public Kernel {
 public:
  explicit DnnlEltwiseKernel(std::shared_ptr<const EltwiseSpec> spec) : spec_(std::move(spec)), stream_(cpu_engine()) {}

  // On one thread (oneDNN's team of 1 for this size) a step runs as well on thread 0 of a team.
  TeamUse team_use(KernelContext& ctx) override {
    const Tensor* x = ctx.input_tensor(0);
    if (!x || x->dtype() != DType::Float || x->rank() != 4) return TeamUse::None;
    use_threads(ctx);
    Result<Prepared*> p = prepare(x->dims());
    return p.is_ok() && (*p)->team == 1 ? TeamUse::Pool : TeamUse::None;
  }

  Status run(KernelContext& ctx) override {
    const EltwiseSpec& s = *spec_;
    const Tensor* x = ctx.input_tensor(0);
    if (!x || x->dtype() != DType::Float || x->rank() != 4)
      return invalid("{}: input is not a float 4-D tensor, as its producing step writes", s.what);
    use_threads(ctx);
    ASSIGN_OR_RETURN(Prepared * p, prepare(x->dims()));
    set_threads(p->team);
    // oneDNN's eltwise runs in place: the input's buffer becomes the output when it dies here and
    // the layouts agree.
    Tensor* y = nullptr;
    if (p->in_place) {
      ASSIGN_OR_RETURN(y, ctx.reuse_input_or_allocate(0, 0, DType::Float, x->dims()));
    } else {
      ASSIGN_OR_RETURN(y, ctx.allocate_output(0, DType::Float, x->dims(), KernelContext::Fill::Uninitialized));
    }
    if (x->numel() == 0) return Status::ok();
    return guarded(s.what, [&]() -> Status {
      const auto& eng = cpu_engine();
      dnnl::memory src(p->src_user, eng, const_cast<float*>(x->data<float>()));
      dnnl::memory dst(p->dst_user, eng, y->mutable_data<float>());
      p->prim.execute(stream_, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, p->dst_buf ? p->dst_buf : dst}});
      if (p->dst_buf) p->from_dst.execute(stream_, p->dst_buf, dst);
      stream_.wait();
      return Status::ok();
    });
  }

 private:
  Result<Prepared*> prepare(const std::vector<int64_t>& d) {
    for (size_t i = 0; i < cache_.size(); ++i) {
      if (cache_[i]->dims != d) continue;
      auto it = cache_.begin() + static_cast<std::ptrdiff_t>(i);
      std::rotate(it, it + 1, cache_.end());
      return cache_.back().get();
    }
    const EltwiseSpec& s = *spec_;
    auto p = std::make_unique<Prepared>();
    p->dims = d;
    p->team = team_for_work(elementwise_work(static_cast<double>(numel_of(d))));
    bool empty = false;
    for (int64_t v : d) empty = empty || v == 0;
    if (!empty) TRY(guarded(s.what, [&]() -> Status {
      const auto& eng = cpu_engine();
      p->src_user = act_desc(d, s.layouts->input_nhwc(0));
      p->dst_user = act_desc(d, s.layouts->out_nhwc);
      dnnl::eltwise_forward::primitive_desc pd(
          dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, s.op.alg, p->src_user, s.op.alpha, s.op.beta),
          eng);
      p->prim = dnnl::eltwise_forward(pd);
      if (pd.dst_desc() != p->dst_user) {
        p->dst_buf = dnnl::memory(pd.dst_desc(), eng);
        p->from_dst = dnnl::reorder(dnnl::reorder::primitive_desc(eng, pd.dst_desc(), eng, p->dst_user));
      }
      p->in_place = !p->dst_buf && p->src_user == p->dst_user;
      return Status::ok();
    }));
    if (cache_.size() >= 4) cache_.erase(cache_.begin());
    cache_.push_back(std::move(p));
    return cache_.back().get();
  }

  std::shared_ptr<const EltwiseSpec> spec_;
  dnnl::stream stream_;
  std::vector<std::unique_ptr<Prepared>> cache_;  // most recent last
};

}  // namespace

std::optional<DnnlClaim> claim_eltwise(const GraphView& view, const ir::Node& node, int threads) {
  std::optional<PostOp> op = node.op_type() == "Sigmoid" ? silu_from(view, node) : std::nullopt;
  if (!op) op = activation_of(view, node);
  if (!op || op->clip_after) return std::nullopt;  // one eltwise step only
  auto spec = std::make_shared<EltwiseSpec>();
  spec->op = *op;
  append_nodes(spec->nodes, *op);
  spec->what = describe_nodes(spec->nodes);
  DnnlClaim dc;
  dc.layouts = spec->layouts;
  const std::vector<const ir::Value*> ins = group_inputs(spec->nodes);
  dc.nhwc_ok.assign(ins.size(), false);
  for (size_t k = 0; k < ins.size(); ++k) dc.nhwc_ok[k] = ins[k] == node.input(0);  // SiLU's Mul reads it too
  dc.out_nhwc_ok = true;
  dc.claim.nodes = spec->nodes;
  dc.claim.factory = [spec, threads](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    set_threads(threads);
    std::unique_ptr<Kernel> k;
    TRY(guarded(spec->what, [&]() -> Status {
      k = std::make_unique<DnnlEltwiseKernel>(spec);
      return Status::ok();
    }));
    return k;
  };
  return dc;
}

}  // namespace ortool::rt::dnnl_ep
