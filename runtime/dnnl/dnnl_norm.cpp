// The dnnl provider's Softmax and LayerNormalization on oneDNN's softmax and layer-normalization
// primitives, float32, plain (row-major) layout.
//
// Both are viewed as 2-D or 3-D problems: Softmax over one axis as [outer, axis, inner] (opset < 13:
// [outer, inner] flattened at the axis, as that opset defines it); LayerNormalization over the
// trailing dims from `axis` as [outer, inner]. Anything oneDNN does not take (other element types,
// a Scale or B not of the normalized size) runs the cpu provider's kernel.
#include <algorithm>
#include <memory>
#include <unordered_map>

#include "runtime/dnnl/dnnl_common.h"
#include "runtime/partition.h"

namespace ortool::rt::dnnl_ep {

namespace {

using md = dnnl::memory::desc;
using tag = dnnl::memory::format_tag;
constexpr auto f32 = dnnl::memory::data_type::f32;

int64_t product(const std::vector<int64_t>& d, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to; ++i) p *= d[i];
  return p;
}

struct Prepared {
  std::vector<int64_t> key;
  bool empty = false;
  int team = 1;  // team_for_work
  dnnl::primitive prim;
  md data;                       // the oneDNN view of the tensor
  dnnl::memory mean, variance;   // layer norm statistics scratch, when the primitive wants them
};

// Per-shape primitives: shapes rarely vary, a few entries cover a model fed two or three.
class PrimCache {
 public:
  // `key`: the problem's dims, then any flags; `dims`: the problem's dims (empty ones need no primitive).
  template <typename Make>
  Result<Prepared*> get(const std::vector<int64_t>& key, const std::vector<int64_t>& dims, Make&& make) {
    for (size_t i = 0; i < cache_.size(); ++i) {
      if (cache_[i]->key != key) continue;
      auto it = cache_.begin() + static_cast<std::ptrdiff_t>(i);
      std::rotate(it, it + 1, cache_.end());
      return cache_.back().get();
    }
    auto p = std::make_unique<Prepared>();
    p->key = key;
    for (int64_t d : dims) p->empty = p->empty || d == 0;
    p->team = team_for_work(elementwise_work(static_cast<double>(numel_of(dims))));
    if (!p->empty) TRY(make(*p));
    if (cache_.size() >= 4) cache_.erase(cache_.begin());
    cache_.push_back(std::move(p));
    return cache_.back().get();
  }

 private:
  std::vector<std::unique_ptr<Prepared>> cache_;  // most recent last
};

class DnnlSoftmaxKernel final : public Kernel {
 public:
  explicit DnnlSoftmaxKernel(const KernelInit& init)
      : what_(init.node.describe()), opset_(init.opset), stream_(cpu_engine()), fallback_(init) {
    axis_ = init.node.attr_int("axis", opset_ >= 13 ? -1 : 1);
  }

  Status run(KernelContext& ctx) override {
    const Tensor* x = ctx.input_tensor(0);
    if (!x || x->dtype() != DType::Float || x->rank() == 0) return fallback_.run(ctx, x ? x->dtype() : DType::Float);
    const int64_t r = static_cast<int64_t>(x->rank());
    const int64_t axis = axis_ < 0 ? axis_ + r : axis_;
    if (axis < 0 || axis >= r) return invalid("{}: axis {} is out of range for rank {}", what_, axis_, r);
    use_threads(ctx);
    const auto& d = x->dims();
    const size_t ax = static_cast<size_t>(axis);
    // [outer, axis, inner]; opset < 13 normalizes the whole flattened block from the axis on.
    const std::vector<int64_t> v =
        opset_ >= 13 ? std::vector<int64_t>{product(d, 0, ax), d[ax], product(d, ax + 1, d.size())}
                     : std::vector<int64_t>{product(d, 0, ax), product(d, ax, d.size()), 1};
    ASSIGN_OR_RETURN(Prepared * p, cache_.get(v, v, [&](Prepared& q) {
      return guarded(what_, [&]() -> Status {
        q.data = md({v[0], v[1], v[2]}, f32, tag::abc);
        dnnl::softmax_forward::primitive_desc pd(
            dnnl::softmax_forward::desc(dnnl::prop_kind::forward_inference, q.data, 1), cpu_engine());
        q.prim = dnnl::softmax_forward(pd);
        return Status::ok();
      });
    }));
    set_threads(p->team);
    // oneDNN's softmax runs in place: a dying input's buffer becomes the output.
    ASSIGN_OR_RETURN(Tensor * y, ctx.reuse_input_or_allocate(0, 0, DType::Float, d));
    if (p->empty) return Status::ok();
    return guarded(what_, [&]() -> Status {
      const auto& eng = cpu_engine();
      dnnl::memory src(p->data, eng, const_cast<float*>(x->data<float>()));
      dnnl::memory dst(p->data, eng, y->mutable_data<float>());
      p->prim.execute(stream_, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
      stream_.wait();
      return Status::ok();
    });
  }

 private:
  std::string what_;
  int64_t opset_;
  int64_t axis_ = -1;
  dnnl::stream stream_;
  PrimCache cache_;
  CpuFallback fallback_;
};

class DnnlLayerNormKernel final : public Kernel {
 public:
  explicit DnnlLayerNormKernel(const KernelInit& init)
      : what_(init.node.describe()), stream_(cpu_engine()), fallback_(init) {
    axis_ = init.node.attr_int("axis", -1);
    epsilon_ = init.node.attr_float("epsilon", 1e-5f);
  }

  Status run(KernelContext& ctx) override {
    const Tensor* x = ctx.input_tensor(0);
    const Tensor* scale = ctx.input_tensor(1);
    const Tensor* bias = ctx.input_tensor(2);
    auto is_float = [](const Tensor* t) { return t && t->dtype() == DType::Float; };
    if (!is_float(x) || !is_float(scale) || (bias && !is_float(bias)) || x->rank() == 0)
      return fallback_.run(ctx, x ? x->dtype() : DType::Float);
    const int64_t r = static_cast<int64_t>(x->rank());
    const int64_t axis = axis_ < 0 ? axis_ + r : axis_;
    if (axis < 0 || axis >= r) return fallback_.run(ctx, DType::Float);  // the cpu kernel words the error
    const auto& d = x->dims();
    const size_t ax = static_cast<size_t>(axis);
    const std::vector<int64_t> v{product(d, 0, ax), product(d, ax, d.size())};
    // Scale and B broadcast to the normalized dims in general; oneDNN takes one value per element.
    if (scale->numel() != v[1] || (bias && bias->numel() != v[1])) return fallback_.run(ctx, DType::Float);
    use_threads(ctx);
    const bool with_bias = bias != nullptr;
    const std::vector<int64_t> key{v[0], v[1], with_bias ? 1 : 0};
    ASSIGN_OR_RETURN(Prepared * p, cache_.get(key, v, [&](Prepared& q) {
      return guarded(what_, [&]() -> Status {
        q.data = md({v[0], v[1]}, f32, tag::ab);
        auto flags = dnnl::normalization_flags::use_scale;
        if (with_bias) flags = flags | dnnl::normalization_flags::use_shift;
        dnnl::layer_normalization_forward::primitive_desc pd(
            dnnl::layer_normalization_forward::desc(dnnl::prop_kind::forward_inference, q.data, epsilon_, flags),
            cpu_engine());
        q.prim = dnnl::layer_normalization_forward(pd);
        if (pd.mean_desc().get_size() > 0) q.mean = dnnl::memory(pd.mean_desc(), cpu_engine());
        if (pd.variance_desc().get_size() > 0) q.variance = dnnl::memory(pd.variance_desc(), cpu_engine());
        return Status::ok();
      });
    }));
    set_threads(p->team);
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::Float, d, KernelContext::Fill::Uninitialized));
    if (p->empty) return Status::ok();
    return guarded(what_, [&]() -> Status {
      const auto& eng = cpu_engine();
      const md vec({v[1]}, f32, tag::a);
      std::unordered_map<int, dnnl::memory> args{
          {DNNL_ARG_SRC, dnnl::memory(p->data, eng, const_cast<float*>(x->data<float>()))},
          {DNNL_ARG_DST, dnnl::memory(p->data, eng, y->mutable_data<float>())},
          {DNNL_ARG_SCALE, dnnl::memory(vec, eng, const_cast<float*>(scale->data<float>()))}};
      if (bias) args.emplace(DNNL_ARG_SHIFT, dnnl::memory(vec, eng, const_cast<float*>(bias->data<float>())));
      if (p->mean) args.emplace(DNNL_ARG_MEAN, p->mean);
      if (p->variance) args.emplace(DNNL_ARG_VARIANCE, p->variance);
      p->prim.execute(stream_, args);
      stream_.wait();
      return Status::ok();
    });
  }

 private:
  std::string what_;
  int64_t axis_ = -1;
  float epsilon_ = 1e-5f;
  dnnl::stream stream_;
  PrimCache cache_;
  CpuFallback fallback_;
};

bool float_or_unknown(const ir::Value* v) {
  return v && (!v->type.is_tensor() || v->type.elem == DType::Float || v->type.elem == DType::Undefined);
}

template <typename K>
std::optional<DnnlClaim> single_node_claim(const ir::Node& node, int threads) {
  DnnlClaim dc;
  const ir::Node* group[] = {&node};
  dc.nhwc_ok.assign(group_inputs(group).size(), false);
  dc.claim.nodes = {&node};
  const std::string what = node.describe();
  dc.claim.factory = [threads, what](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    set_threads(threads);
    std::unique_ptr<Kernel> k;
    TRY(guarded(what, [&]() -> Status {
      k = std::make_unique<K>(init);
      return Status::ok();
    }));
    return k;
  };
  return dc;
}

}  // namespace

std::optional<DnnlClaim> claim_softmax(const GraphView&, const ir::Node& node, int threads) {
  if (node.num_inputs() != 1 || !float_or_unknown(node.input(0)) || node.num_outputs() != 1 || !node.output(0))
    return std::nullopt;
  return single_node_claim<DnnlSoftmaxKernel>(node, threads);
}

std::optional<DnnlClaim> claim_layer_norm(const GraphView& view, const ir::Node& node, int threads) {
  if (node.num_inputs() < 2 || !float_or_unknown(node.input(0)) || !node.input(1) || !node.output(0))
    return std::nullopt;
  // Mean and InvStdDev are not computed here: a node whose statistics are read (or watched) stays on cpu.
  for (size_t i = 1; i < node.num_outputs(); ++i)
    if (const ir::Value* o = node.output(i); o && view.is_read(*o)) return std::nullopt;
  if (node.attr_int("stash_type", 1) != 1) return std::nullopt;  // statistics in another precision: the cpu kernel's business
  return single_node_claim<DnnlLayerNormKernel>(node, threads);
}

}  // namespace ortool::rt::dnnl_ep
