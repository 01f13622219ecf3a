// The dnnl provider's 2-D float32 pooling: MaxPool, AveragePool, GlobalAverage/MaxPool, ReduceMean over H, W.
// Windowed pools over an NHWC input run on cpu::pool2d_nhwc where oneDNN has only AVX2 kernels (faster than
// oneDNN's there), the rest on oneDNN.
//
// Graphs often leave the input's type unannotated: then an input that is not float (or not 4-D) at
// run time goes to the cpu provider's kernel instead (never the case for an NHWC input: the provider
// only orders float 4-D tensors so). The input is NCHW or NHWC as the provider decided; the
// primitive writes the input's order and a reorder follows when the output wants the other one.
//
// ceil_mode is expressed to oneDNN as extra right padding (oneDNN wants the output size implied
// by the pads); that is exact for MaxPool, whose padding never wins, and AveragePool is claimed
// only without ceil_mode.
#include <algorithm>
#include <atomic>
#include <memory>
#include <span>
#include <vector>

#include "runtime/cpu/conv.h"
#include "runtime/cpu/pool_nhwc.h"
#include "runtime/cpu/transpose_tiled.h"
#include "runtime/dnnl/dnnl_common.h"

namespace ortool::rt::dnnl_ep {

namespace {

namespace cf = cpu::conv_family;
using md = dnnl::memory::desc;
using tag = dnnl::memory::format_tag;
constexpr auto f32 = dnnl::memory::data_type::f32;

std::atomic<KernelChoice> g_nhwc_pool_mode{KernelChoice::Default};

struct PoolSpec {
  const ir::Node* node = nullptr;
  std::string what;
  cf::WindowAttrs attrs;
  dnnl::algorithm alg = dnnl::algorithm::pooling_max;
  bool global = false;  // the window is the whole H x W
  bool squeeze = false;  // ReduceMean with keepdims 0: the output drops the 1 x 1 dims
  std::shared_ptr<Layouts> layouts = std::make_shared<Layouts>();
};

struct Prepared {
  std::vector<int64_t> src_dims, dst_dims;
  bool empty = false;
  int team = 1;  // team_for_work
  dnnl::pooling_v2_forward prim;
  md src_user, dst_user;
  dnnl::reorder from_dst;  // the primitive's output order into dst_user, through dst_buf; empty when equal
  dnnl::memory dst_buf;
};

Result<cf::Window> window_for(const PoolSpec& s, const std::vector<int64_t>& x) {
  if (s.global) {
    cf::Window w;
    w.in = w.kernel = {x[2], x[3]};
    w.out = w.stride = w.dilation = {1, 1};
    w.pad_begin = w.pad_end = {0, 0};
    return w;
  }
  std::span<const int64_t> in(x.data() + 2, 2);
  return cf::resolve_window(*s.node, s.attrs, in, s.attrs.kernel_shape, cf::WindowKind::Pool);
}

dnnl::pooling_v2_forward::primitive_desc make_pd(const std::vector<int64_t>& x, const std::vector<int64_t>& y,
                                                 const PoolSpec& s, const cf::Window& w) {
  dnnl::memory::dims pr(2);
  for (size_t d = 0; d < 2; ++d)  // right padding that yields exactly w.out windows (ceil_mode)
    pr[d] = (w.out[d] - 1) * w.stride[d] + (w.kernel[d] - 1) * w.dilation[d] + 1 - w.in[d] - w.pad_begin[d];
  md src = act_desc(x, s.layouts->input_nhwc(0)), dst({y[0], y[1], y[2], y[3]}, f32, tag::any);
  dnnl::pooling_v2_forward::desc d(dnnl::prop_kind::forward_inference, s.alg, src, dst, {w.stride[0], w.stride[1]},
                                   {w.kernel[0], w.kernel[1]}, {w.dilation[0] - 1, w.dilation[1] - 1},
                                   {w.pad_begin[0], w.pad_begin[1]}, pr);
  return {d, cpu_engine()};
}

class DnnlPoolKernel final : public Kernel {
 public:
  DnnlPoolKernel(std::shared_ptr<const PoolSpec> spec, const KernelInit& init)
      : spec_(std::move(spec)), stream_(cpu_engine()), fallback_(init) {
    const KernelChoice mode = g_nhwc_pool_mode.load();
    own_nhwc_ = mode == KernelChoice::Own || (mode == KernelChoice::Default && !avx512_kernels());
  }

  Result<Prepared*> prepare(const std::vector<int64_t>& x) {
    if (Prepared* hit = cache_.find(x)) return hit;
    const PoolSpec& s = *spec_;
    ASSIGN_OR_RETURN(cf::Window w, window_for(s, x));
    auto p = std::make_unique<Prepared>();
    p->src_dims = x;
    p->dst_dims = {x[0], x[1], w.out[0], w.out[1]};
    for (int64_t d : x) p->empty = p->empty || d == 0;
    for (int64_t d : p->dst_dims) p->empty = p->empty || d == 0;
    p->team = team_for_work(elementwise_work(static_cast<double>(numel_of(x))));
    if (!p->empty) TRY(guarded(s.what, [&]() -> Status {
      auto pd = make_pd(x, p->dst_dims, s, w);
      p->prim = dnnl::pooling_v2_forward(pd);
      p->src_user = act_desc(x, s.layouts->input_nhwc(0));
      p->dst_user = act_desc(p->dst_dims, s.layouts->out_nhwc);
      if (pd.dst_desc() != p->dst_user) {
        p->dst_buf = dnnl::memory(pd.dst_desc(), cpu_engine());
        const auto& eng = cpu_engine();
        p->from_dst = dnnl::reorder(dnnl::reorder::primitive_desc(eng, pd.dst_desc(), eng, p->dst_user));
      }
      return Status::ok();
    }));
    return cache_.add(std::move(p));
  }

  // The NHWC loop splits through ctx.threads(); a primitive oneDNN runs on one thread runs as well on thread 0
  // of a team.
  TeamUse team_use(KernelContext& ctx) override {
    const PoolSpec& s = *spec_;
    const Tensor* x = ctx.input_tensor(0);
    if (!x || x->dtype() != DType::Float || x->rank() != 4) return TeamUse::None;
    const bool nhwc_window = !s.global && s.layouts->input_nhwc(0);
    if (nhwc_window && own_nhwc_) return TeamUse::Pool;
    if (s.global && (x->dims()[2] == 0 || x->dims()[3] == 0)) return TeamUse::None;
    use_threads(ctx);
    Result<Prepared*> p = prepare(x->dims());
    return p.is_ok() && (*p)->team == 1 ? TeamUse::Pool : TeamUse::None;
  }

  Status run(KernelContext& ctx) override {
    const PoolSpec& s = *spec_;
    const Tensor* x = ctx.input_tensor(0);
    // A global pool over an empty window has the reference kernel's answer, not oneDNN's.
    const bool empty_window = x && x->rank() == 4 && s.global && (x->dims()[2] == 0 || x->dims()[3] == 0);
    if (!x || x->dtype() != DType::Float || x->rank() != 4 || empty_window) {
      // The provider ordered NHWC only what it knew to be float 4-D; a lying annotation ends here.
      if (s.layouts->input_nhwc(0) || s.layouts->out_nhwc)
        return invalid("{}: input X is not a float 4-D tensor with a non-empty window, as planned", s.what);
      return fallback_.run(ctx, x ? x->dtype() : DType::Float);
    }
    const bool nhwc_window = !s.global && s.layouts->input_nhwc(0);
    if (nhwc_window && own_nhwc_) return run_nhwc(ctx, *x);
    use_threads(ctx);  // before prepare(): a first-run weight reorder runs on OpenMP too
    Result<Prepared*> prepared = prepare(x->dims());
    // A geometry oneDNN has no NHWC kernel for: the loop, from now on.
    if (nhwc_window && !prepared.is_ok()) {
      own_nhwc_ = true;
      return run_nhwc(ctx, *x);
    }
    ASSIGN_OR_RETURN(Prepared * p, std::move(prepared));
    set_threads(p->team);
    std::vector<int64_t> out_dims = p->dst_dims;
    if (s.squeeze) out_dims.resize(2);  // [N, C, 1, 1] and [N, C] are the same memory
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::Float, out_dims, KernelContext::Fill::Uninitialized));
    if (p->empty) return Status::ok();
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
  // A windowed pool over an NHWC input runs on cpu::pool2d_nhwc where oneDNN has only AVX2 kernels: its AVX2
  // NHWC pooling was 5-20x slower (googlenet's 13 max pools: 6.3 ms of 43). With AVX-512 oneDNN's is the faster
  // one (Zen 5: googlenet's max pools 0.83 -> 0.51 ms, inception_v3's pools 2.0 -> 1.1 ms, squeezenet1_1's
  // 0.30 -> 0.18 ms). Its output goes through an NHWC copy when the provider wants it NCHW (a region's edge).
  Status run_nhwc(KernelContext& ctx, const Tensor& x) {
    const PoolSpec& s = *spec_;
    ASSIGN_OR_RETURN(cf::Window w, window_for(s, x.dims()));
    const int64_t n = x.dims()[0], c = x.dims()[1];
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::Float, {n, c, w.out[0], w.out[1]},
                                                     KernelContext::Fill::Uninitialized));
    if (y->numel() == 0) return Status::ok();
    const cpu::NhwcPool kind = s.alg == dnnl::algorithm::pooling_max ? cpu::NhwcPool::Max
                               : s.alg == dnnl::algorithm::pooling_avg_include_padding
                                   ? cpu::NhwcPool::AverageIncludePad
                                   : cpu::NhwcPool::Average;
    float* out = y->mutable_data<float>();
    if (!s.layouts->out_nhwc) {
      nhwc_out_.resize(static_cast<size_t>(y->numel()));
      out = nhwc_out_.data();
    }
    cpu::pool2d_nhwc(kind, w, x.data<float>(), out, n, c, ctx.threads());
    if (!s.layouts->out_nhwc) {
      const int64_t hw = w.out[0] * w.out[1];
      cpu::transpose_tiled(out, y->mutable_data<float>(), n, hw, c, c * hw, c);
    }
    return Status::ok();
  }

  std::shared_ptr<const PoolSpec> spec_;
  std::vector<float> nhwc_out_;  // run_nhwc's output before it goes NCHW
  bool own_nhwc_ = true;          // windowed NHWC pools on cpu::pool2d_nhwc
  dnnl::stream stream_;
  ShapeCache<Prepared> cache_;
  CpuFallback fallback_;
};

}  // namespace

std::optional<DnnlClaim> claim_pool(const GraphView& view, const ir::Node& node, int threads) {
  // ReduceMean over H and W is a global average pool.
  const bool reduce = node.op_type() == "ReduceMean";
  if (reduce) {
    const std::vector<int64_t> axes = node.attr_ints("axes");
    if (view.opset(node) >= 18 || node.num_inputs() != 1 ||
        !(axes == std::vector<int64_t>{2, 3} || axes == std::vector<int64_t>{-2, -1}))
      return std::nullopt;
  }
  const bool global = reduce || node.op_type() == "GlobalAveragePool" || node.op_type() == "GlobalMaxPool";
  const bool max = node.op_type() == "MaxPool" || node.op_type() == "GlobalMaxPool";
  const ir::Value* x = node.input(0);
  // MaxPool's Indices output is the reference kernel's job.
  if (!x || node.num_inputs() != 1 || !node.output(0) || (node.num_outputs() > 1 && node.output(1)))
    return std::nullopt;
  if (x->type.is_tensor() && ((x->type.elem != DType::Float && x->type.elem != DType::Undefined) ||
                              (x->type.shape && x->type.shape->size() != 4)))
    return std::nullopt;
  auto spec = std::make_shared<PoolSpec>();
  spec->node = &node;
  spec->what = node.describe();
  spec->global = global;
  spec->squeeze = reduce && node.attr_int("keepdims", 1) == 0;
  if (global) {
    spec->alg = max ? dnnl::algorithm::pooling_max : dnnl::algorithm::pooling_avg_exclude_padding;
  } else if (!cf::parse_window_attrs(node, spec->attrs).is_ok() ||
             !cf::check_window_ranks(node, spec->attrs, 2).is_ok() || spec->attrs.kernel_shape.size() != 2) {
    return std::nullopt;
  } else if (max) {
    if (view.opset(node) < 8 && node.num_outputs() > 1) return std::nullopt;
    spec->alg = dnnl::algorithm::pooling_max;
  } else {
    if (spec->attrs.ceil_mode || !spec->attrs.dilations.empty()) return std::nullopt;
    spec->alg = node.attr_int("count_include_pad", 0) != 0 ? dnnl::algorithm::pooling_avg_include_padding
                                                            : dnnl::algorithm::pooling_avg_exclude_padding;
  }
  DnnlClaim dc;
  dc.layouts = spec->layouts;
  dc.nhwc_ok = {true};
  dc.out_nhwc_ok = !spec->squeeze;
  Claim& c = dc.claim;
  c.nodes = {&node};
  c.factory = [spec, threads](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    set_threads(threads);
    std::unique_ptr<Kernel> k;
    TRY(guarded(spec->what, [&]() -> Status {
      k = std::make_unique<DnnlPoolKernel>(spec, init);
      return Status::ok();
    }));
    return k;
  };
  return dc;
}

void set_nhwc_pool_mode(KernelChoice mode) { g_nhwc_pool_mode.store(mode); }

}  // namespace ortool::rt::dnnl_ep
