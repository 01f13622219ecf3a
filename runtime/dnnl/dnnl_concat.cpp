// The dnnl provider's Concat of float 4-D tensors along channels (squeezenet's fire modules): between NHWC
// tensors on cpu::concat_channels_nhwc, otherwise on oneDNN's concat primitive, which reads and writes NCHW or
// NHWC tensors as the provider decided.
//
// Claimed only when every input comes from a dnnl step that always writes a float 4-D tensor; inputs
// that disagree on N, H or W are an error naming the node (the cpu kernel rejects them too).
#include <algorithm>
#include <memory>
#include <unordered_map>

#include "runtime/cpu/concat_nhwc.h"
#include "runtime/cpu/conv.h"
#include "runtime/dnnl/dnnl_common.h"
#include "runtime/partition.h"

namespace ortool::rt::dnnl_ep {

namespace {

struct ConcatSpec {
  const ir::Node* node = nullptr;
  std::string what;
  std::shared_ptr<Layouts> layouts = std::make_shared<Layouts>();
};

struct Prepared {
  std::vector<std::vector<int64_t>> in_dims;
  std::vector<size_t> used;  // the inputs with channels (oneDNN rejects empty sources)
  std::vector<int64_t> dst_dims;
  int team = 1;  // team_for_work
  bool nhwc = false;  // every input and the output NHWC: cpu::concat_channels_nhwc, no primitive
  dnnl::concat prim;
  std::vector<dnnl::memory::desc> src_user;
  dnnl::memory::desc dst_user;
};

class DnnlConcatKernel final : public Kernel {
 public:
  explicit DnnlConcatKernel(std::shared_ptr<const ConcatSpec> spec) : spec_(std::move(spec)), stream_(cpu_engine()) {}

  // The NHWC copy splits through ctx.threads(); a primitive oneDNN runs on one thread runs as well on thread 0
  // of a team.
  TeamUse team_use(KernelContext& ctx) override {
    Result<std::vector<std::vector<int64_t>>> dims = input_dims(ctx);
    if (!dims.is_ok()) return TeamUse::None;  // run reports it
    use_threads(ctx);
    Result<Prepared*> p = prepare(*dims);
    return p.is_ok() && ((*p)->nhwc || (*p)->team == 1) ? TeamUse::Pool : TeamUse::None;
  }

  Status run(KernelContext& ctx) override {
    const ConcatSpec& s = *spec_;
    ASSIGN_OR_RETURN(std::vector<std::vector<int64_t>> dims, input_dims(ctx));
    std::vector<const Tensor*> xs;
    for (size_t i = 0; i < ctx.num_inputs(); ++i) xs.push_back(ctx.input_tensor(i));
    use_threads(ctx);
    ASSIGN_OR_RETURN(Prepared * p, prepare(dims));
    set_threads(p->team);
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::Float, p->dst_dims, KernelContext::Fill::Uninitialized));
    if (p->used.empty() || y->numel() == 0) return Status::ok();
    if (p->nhwc) {
      std::vector<const float*> srcs;
      std::vector<int64_t> channels;
      for (size_t i : p->used) {
        srcs.push_back(xs[i]->data<float>());
        channels.push_back(dims[i][1]);
      }
      const auto& d = p->dst_dims;
      cpu::concat_channels_nhwc(srcs, channels, y->mutable_data<float>(), d[0] * d[2] * d[3], ctx.threads());
      return Status::ok();
    }
    return guarded(s.what, [&]() -> Status {
      const auto& eng = cpu_engine();
      std::unordered_map<int, dnnl::memory> args;
      for (size_t k = 0; k < p->used.size(); ++k)
        args.emplace(DNNL_ARG_MULTIPLE_SRC + static_cast<int>(k),
                     dnnl::memory(p->src_user[k], eng, const_cast<float*>(xs[p->used[k]]->data<float>())));
      args.emplace(DNNL_ARG_DST, dnnl::memory(p->dst_user, eng, y->mutable_data<float>()));
      p->prim.execute(stream_, args);
      stream_.wait();
      return Status::ok();
    });
  }

 private:
  // The inputs' dims: float 4-D tensors, equal but for the channels.
  Result<std::vector<std::vector<int64_t>>> input_dims(KernelContext& ctx) const {
    const ConcatSpec& s = *spec_;
    std::vector<std::vector<int64_t>> dims;
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      const Tensor* t = ctx.input_tensor(i);
      if (!t || t->dtype() != DType::Float || t->rank() != 4)
        return invalid("{}: input {} is not a float 4-D tensor, as its producing step writes", s.what, i);
      const auto& d = t->dims();
      if (!dims.empty() && (d[0] != dims[0][0] || d[2] != dims[0][2] || d[3] != dims[0][3]))
        return invalid("{}: input {} has shape {}, input 0 {}: only the channel dim may differ", s.what, i,
                       cpu::conv_family::dims_string(d), cpu::conv_family::dims_string(dims[0]));
      dims.push_back(d);
    }
    if (dims.empty()) return invalid("{}: no inputs", s.what);
    return dims;
  }

  Result<Prepared*> prepare(const std::vector<std::vector<int64_t>>& dims) {
    for (size_t i = 0; i < cache_.size(); ++i) {
      if (cache_[i]->in_dims != dims) continue;
      auto it = cache_.begin() + static_cast<std::ptrdiff_t>(i);
      std::rotate(it, it + 1, cache_.end());
      return cache_.back().get();
    }
    const ConcatSpec& s = *spec_;
    const Layouts& l = *s.layouts;
    auto p = std::make_unique<Prepared>();
    p->in_dims = dims;
    p->dst_dims = dims[0];
    p->dst_dims[1] = 0;
    for (size_t i = 0; i < dims.size(); ++i) {
      p->dst_dims[1] += dims[i][1];
      if (dims[i][1] > 0) p->used.push_back(i);
    }
    int64_t numel = 1;
    for (int64_t d : p->dst_dims) numel *= d;
    if (numel == 0) p->used.clear();
    p->team = team_for_work(elementwise_work(static_cast<double>(numel)));
    p->nhwc = l.out_nhwc;
    for (size_t i : p->used) p->nhwc = p->nhwc && l.input_nhwc(i);
    if (!p->used.empty() && !p->nhwc) TRY(guarded(s.what, [&]() -> Status {
      for (size_t i : p->used) p->src_user.push_back(act_desc(dims[i], l.input_nhwc(i)));
      p->dst_user = act_desc(p->dst_dims, l.out_nhwc);
      p->prim = dnnl::concat(dnnl::concat::primitive_desc(p->dst_user, 1, p->src_user, cpu_engine()));
      return Status::ok();
    }));
    if (cache_.size() >= 4) cache_.erase(cache_.begin());
    cache_.push_back(std::move(p));
    return cache_.back().get();
  }

  std::shared_ptr<const ConcatSpec> spec_;
  dnnl::stream stream_;
  std::vector<std::unique_ptr<Prepared>> cache_;  // most recent last
};

}  // namespace

std::optional<DnnlClaim> claim_concat(const GraphView& view, const ir::Node& node, int threads) {
  (void)view;
  const int64_t axis = node.attr_int("axis", 1);
  if ((axis != 1 && axis != -3) || node.num_inputs() == 0 || node.num_outputs() != 1 || !node.output(0))
    return std::nullopt;
  for (const ir::Value* v : node.inputs())
    if (!v) return std::nullopt;
  auto spec = std::make_shared<ConcatSpec>();
  spec->node = &node;
  spec->what = node.describe();
  DnnlClaim dc;
  dc.layouts = spec->layouts;
  dc.nhwc_ok.assign(node.num_inputs(), true);
  dc.out_nhwc_ok = true;
  dc.nhwc_needs_all_float4 = true;
  dc.claim.nodes = {&node};
  dc.claim.factory = [spec, threads](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    set_threads(threads);
    std::unique_ptr<Kernel> k;
    TRY(guarded(spec->what, [&]() -> Status {
      k = std::make_unique<DnnlConcatKernel>(spec);
      return Status::ok();
    }));
    return k;
  };
  return dc;
}

}  // namespace ortool::rt::dnnl_ep
