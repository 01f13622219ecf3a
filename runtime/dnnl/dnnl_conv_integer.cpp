// The dnnl provider's ConvInteger with a constant int8 weight (what `quantize --mode dynamic --dynamic-conv`
// writes behind each DynamicQuantizeLinear): a 2-D u8s8 or s8s8 oneDNN convolution to int32, groups, strides,
// dilations and pads included, the activation's zero point given at run time (padding then reads it, as
// ConvInteger's does). Exact integer results: where oneDNN's int8 kernels are not (no VNNI), the widened
// convolution (dnnl_wide_conv.h) runs it; anything the claim cannot see at session creation (another type, a
// zero point per channel) runs the cpu kernel.
#include <array>
#include <memory>
#include <unordered_map>

#include "runtime/cpu/conv.h"
#include "runtime/cpu/transpose_tiled.h"
#include "runtime/dnnl/dnnl_common.h"
#include "runtime/dnnl/dnnl_wide_conv.h"
#include "runtime/partition.h"

namespace ortool::rt::dnnl_ep {

namespace {

namespace cf = cpu::conv_family;
using md = dnnl::memory::desc;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

struct Prepared {
  std::vector<int64_t> src_dims, dst_dims;
  int team = 1;
  dnnl::primitive prim;
  dnnl::memory weights, src_zp;
  md src_user, dst_user, src_prim, dst_prim;
};

class ConvIntegerKernel final : public Kernel {
 public:
  ConvIntegerKernel(const KernelInit& init, TensorPtr w, DType x_type, cf::WindowAttrs attrs, int64_t group)
      : w_(std::move(w)), x_type_(x_type), attrs_(std::move(attrs)), group_(group), node_(init.node),
        what_(init.node.describe()), fallback_(init), stream_(cpu_engine()) {}

  Status run(KernelContext& ctx) override {
    const Tensor* x = ctx.input_tensor(0);
    const Tensor* xz = ctx.input_tensor(2);
    if (!x || x->dtype() != x_type_ || x->rank() != 4 || x->dims()[1] != w_->dims()[1] * group_ ||
        (xz && (xz->numel() != 1 || xz->dtype() != x_type_)))
      return fallback_.run(ctx, x ? x->dtype() : x_type_);
    use_threads(ctx);
    ASSIGN_OR_RETURN(Prepared * p, prepare(x->dims()));
    set_threads(p->team);
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::Int32, p->dst_dims));
    if (x->numel() == 0 || y->numel() == 0) return Status::ok();
    return guarded(what_, [&]() -> Status {
      dnnl::memory src(p->src_user, cpu_engine(), const_cast<void*>(x->raw()));
      dnnl::memory dst(p->dst_user, cpu_engine(), y->raw_mutable());
      dnnl::memory s = src, d = dst;
      if (p->src_prim != p->src_user) {
        s = dnnl::memory(p->src_prim, cpu_engine());
        dnnl::reorder(src, s).execute(stream_, src, s);
      }
      if (p->dst_prim != p->dst_user) d = dnnl::memory(p->dst_prim, cpu_engine());
      *static_cast<int32_t*>(p->src_zp.get_data_handle()) = xz ? static_cast<int32_t>(xz->get_int64(0)) : 0;
      p->prim.execute(stream_, {{DNNL_ARG_SRC, s},
                                {DNNL_ARG_WEIGHTS, p->weights},
                                {DNNL_ARG_DST, d},
                                {DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, p->src_zp}});
      if (d != dst) dnnl::reorder(d, dst).execute(stream_, d, dst);
      stream_.wait();
      return Status::ok();
    });
  }

 private:
  Result<Prepared*> prepare(const std::vector<int64_t>& x) {
    if (Prepared* hit = cache_.find(x)) return hit;
    auto p = std::make_unique<Prepared>();
    p->src_dims = x;
    const auto& wd = w_->dims();
    std::span<const int64_t> kernel(wd.data() + 2, 2), in_spatial(x.data() + 2, 2);
    ASSIGN_OR_RETURN(cf::Window win, cf::resolve_window(node_, attrs_, in_spatial, kernel, cf::WindowKind::Conv));
    p->dst_dims = {x[0], wd[0], win.out[0], win.out[1]};
    p->team = team_for_work(static_cast<double>(numel_of(p->dst_dims)) * static_cast<double>(wd[1] * wd[2] * wd[3]) / 4);
    if (numel_of(x) > 0 && numel_of(p->dst_dims) > 0) TRY(guarded(what_, [&]() -> Status {
      const auto& eng = cpu_engine();
      const dt xt = x_type_ == DType::Int8 ? dt::s8 : dt::u8;
      const dnnl::memory::dims src_d(x.begin(), x.end()), dst_d(p->dst_dims.begin(), p->dst_dims.end());
      dnnl::memory::dims w_d = group_ == 1 ? dnnl::memory::dims(wd.begin(), wd.end())
                                           : dnnl::memory::dims{group_, wd[0] / group_, wd[1], wd[2], wd[3]};
      const dnnl::memory::dims strides(win.stride.begin(), win.stride.end());
      dnnl::memory::dims dil(win.dilation.begin(), win.dilation.end());
      for (auto& v : dil) v -= 1;  // oneDNN counts dilation from 0
      const dnnl::memory::dims pad_l(win.pad_begin.begin(), win.pad_begin.end()),
          pad_r(win.pad_end.begin(), win.pad_end.end());
      dnnl::primitive_attr attr;
      attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
      dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                           md(src_d, xt, tag::any), md(w_d, dt::s8, tag::any),
                                           md(dst_d, dt::s32, tag::any), strides, dil, pad_l, pad_r);
      dnnl::convolution_forward::primitive_desc pd(desc, attr, eng);
      p->prim = dnnl::convolution_forward(pd);
      p->src_user = md(src_d, xt, tag::nchw);
      p->dst_user = md(dst_d, dt::s32, tag::nchw);
      p->src_prim = pd.src_desc();
      p->dst_prim = pd.dst_desc();
      dnnl::memory user({w_d, dt::s8, group_ == 1 ? tag::oihw : tag::goihw}, eng, const_cast<void*>(w_->raw()));
      p->weights = dnnl::memory(pd.weights_desc(), eng);
      dnnl::reorder(user, p->weights).execute(stream_, user, p->weights);
      stream_.wait();
      p->src_zp = dnnl::memory({{1}, dt::s32, tag::x}, eng);
      return Status::ok();
    }));
    return cache_.add(std::move(p));
  }

  TensorPtr w_;
  DType x_type_;
  cf::WindowAttrs attrs_;
  int64_t group_;
  const ir::Node& node_;
  std::string what_;
  CpuFallback fallback_;
  dnnl::stream stream_;
  ShapeCache<Prepared> cache_;
};

// The int32 sums of the widened convolution (NHWC), transposed to ConvInteger's NCHW.
class WideConvIntegerKernel final : public Kernel {
 public:
  WideConvIntegerKernel(const KernelInit& init, const TensorPtr& w, DType x_type, cf::WindowAttrs attrs, int64_t group)
      : x_type_(x_type), attrs_(std::move(attrs)), group_(group), cg_(w->dims()[1]), kernel_{w->dims()[2], w->dims()[3]},
        node_(init.node), fallback_(init), conv_(*w, group, [&](int64_t) {
          wide8::Requant q;
          q.output = wide8::Requant::Output::Sums;
          const int64_t mg = w->dims()[0] / group;
          q.scale.assign(static_cast<size_t>((mg + wide8::kPanel - 1) / wide8::kPanel * wide8::kPanel), 0.0f);
          q.bias = q.scale;
          return q;
        }) {}

  Status run(KernelContext& ctx) override {
    const Tensor* x = ctx.input_tensor(0);
    const Tensor* xz = ctx.input_tensor(2);
    if (!x || x->dtype() != x_type_ || x->rank() != 4 || x->dims()[1] != cg_ * group_ ||
        (xz && (xz->numel() != 1 || xz->dtype() != x_type_)))
      return fallback_.run(ctx, x ? x->dtype() : x_type_);
    const std::vector<int64_t>& xd = x->dims();
    ASSIGN_OR_RETURN(cf::Window win, cf::resolve_window(node_, attrs_, std::span<const int64_t>(xd.data() + 2, 2),
                                                          kernel_, cf::WindowKind::Conv));
    const int64_t m = conv_.out_channels(), hw = win.out[0] * win.out[1];
    const std::vector<int64_t> yd{xd[0], m, win.out[0], win.out[1]};
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::Int32, yd));
    if (x->numel() == 0 || y->numel() == 0) return Status::ok();
    sums_.resize(static_cast<size_t>(y->numel()));
    conv_.run(static_cast<const uint8_t*>(x->raw()), xd, true, x_type_ == DType::Int8,
              xz ? static_cast<int32_t>(xz->get_int64(0)) : 0, win, reinterpret_cast<uint8_t*>(sums_.data()), ctx.threads());
    cpu::transpose_tiled(sums_.data(), y->mutable_data<int32_t>(), xd[0], hw, m, hw * m, m);
    return Status::ok();
  }

 private:
  DType x_type_;
  cf::WindowAttrs attrs_;
  int64_t group_, cg_;
  std::array<int64_t, 2> kernel_;
  const ir::Node& node_;
  CpuFallback fallback_;
  WideConv conv_;
  std::vector<int32_t> sums_;  // [N, oH, oW, M]
};

}  // namespace

std::optional<DnnlClaim> claim_conv_integer(const GraphView& view, const ir::Node& node, int threads) {
  std::optional<IntegerOperands> ops = integer_operands(view, node, 4);
  if (!ops) return std::nullopt;
  const TensorPtr w = ops->w;
  cf::WindowAttrs attrs;
  if (!cf::parse_window_attrs(node, attrs).is_ok() || !cf::check_window_ranks(node, attrs, 2).is_ok()) return std::nullopt;
  const int64_t group = node.attr_int("group", 1);
  if (group <= 0 || w->dims()[0] % group != 0) return std::nullopt;
  const DType x_type = ops->x_type;
  DnnlClaim dc;
  dc.claim.nodes = {&node};
  dc.nhwc_ok.assign(node.num_inputs(), false);
  dc.nhwc_8bit_ok.assign(node.num_inputs(), false);
  const bool wide = ops->wide;
  dc.claim.factory = [w, x_type, attrs, group, threads, wide](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    if (wide) return std::unique_ptr<Kernel>(std::make_unique<WideConvIntegerKernel>(init, w, x_type, attrs, group));
    set_threads(threads);
    return std::unique_ptr<Kernel>(std::make_unique<ConvIntegerKernel>(init, w, x_type, attrs, group));
  };
  return dc;
}

}  // namespace ortool::rt::dnnl_ep
