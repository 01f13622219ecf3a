// The dnnl provider's MatMulInteger with a constant int8 weight (what `quantize --mode dynamic` writes
// behind each DynamicQuantizeLinear): a u8s8 or s8s8 oneDNN matmul to int32, the activation's zero point
// given at run time. The activation's leading dims are flattened into rows ([T, 1, K] x [K, N] is one
// T x K product). The results are exact integers: where oneDNN's int8 kernels are not (no VNNI), the widened
// GEMM runs them; a per-row zero point or another type at run time goes to the cpu kernel.
#include <memory>
#include <unordered_map>

#include "runtime/cpu/wide_int8_gemm.h"
#include "runtime/dnnl/dnnl_common.h"
#include "runtime/partition.h"

namespace ortool::rt::dnnl_ep {

namespace {

using md = dnnl::memory::desc;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

// Whether the activation `a` (and its zero point `az`, optional) are what the kernels run: the claimed 8-bit type,
// [..., K] rows, one zero point; else the cpu kernel runs the node.
bool fits(const Tensor* a, const Tensor* az, DType a_type, int64_t k) {
  return a && a->dtype() == a_type && a->rank() >= 2 && a->dims().back() == k &&
         (!az || (az->numel() == 1 && az->dtype() == a_type));
}

struct Prepared {
  std::vector<int64_t> src_dims, dst_dims;
  int team = 1;
  dnnl::primitive prim;
  dnnl::memory weights, src_zp;
  md src, dst;
};

class MatMulIntegerKernel final : public Kernel {
 public:
  MatMulIntegerKernel(const KernelInit& init, TensorPtr w, DType a_type)
      : w_(std::move(w)), a_type_(a_type), what_(init.node.describe()), fallback_(init), stream_(cpu_engine()) {}

  Status run(KernelContext& ctx) override {
    const Tensor* a = ctx.input_tensor(0);
    const Tensor* az = ctx.input_tensor(2);
    const int64_t k = w_->dims()[0];
    if (!fits(a, az, a_type_, k)) return fallback_.run(ctx, a ? a->dtype() : a_type_);
    use_threads(ctx);
    ASSIGN_OR_RETURN(Prepared * p, prepare(a->dims()));
    set_threads(p->team);
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::Int32, p->dst_dims));
    if (a->numel() == 0 || y->numel() == 0) return Status::ok();
    return guarded(what_, [&]() -> Status {
      std::unordered_map<int, dnnl::memory> args{
          {DNNL_ARG_SRC, dnnl::memory(p->src, cpu_engine(), const_cast<void*>(a->raw()))},
          {DNNL_ARG_WEIGHTS, p->weights},
          {DNNL_ARG_DST, dnnl::memory(p->dst, cpu_engine(), y->raw_mutable())}};
      *static_cast<int32_t*>(p->src_zp.get_data_handle()) = az ? static_cast<int32_t>(az->get_int64(0)) : 0;
      args.emplace(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, p->src_zp);
      p->prim.execute(stream_, args);
      stream_.wait();
      return Status::ok();
    });
  }

 private:
  Result<Prepared*> prepare(const std::vector<int64_t>& x) {
    if (Prepared* hit = cache_.find(x)) return hit;
    auto p = std::make_unique<Prepared>();
    p->src_dims = x;
    const int64_t k = w_->dims()[0], n = w_->dims()[1], rows = numel_of(x) / k;
    p->dst_dims = x;
    p->dst_dims.back() = n;
    p->team = team_for_work(static_cast<double>(rows) * static_cast<double>(k) * static_cast<double>(n) / 4);
    if (rows > 0 && n > 0) TRY(guarded(what_, [&]() -> Status {
      const auto& eng = cpu_engine();
      p->src = md({rows, k}, a_type_ == DType::Int8 ? dt::s8 : dt::u8, tag::ab);
      p->dst = md({rows, n}, dt::s32, tag::ab);
      dnnl::primitive_attr attr;
      attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
      dnnl::matmul::primitive_desc pd({p->src, md({k, n}, dt::s8, tag::any), p->dst}, attr, eng);
      p->prim = dnnl::matmul(pd);
      dnnl::memory user({{k, n}, dt::s8, tag::ab}, eng, const_cast<void*>(w_->raw()));
      p->weights = dnnl::memory(pd.weights_desc(), eng);
      dnnl::reorder(user, p->weights).execute(stream_, user, p->weights);
      stream_.wait();
      p->src_zp = dnnl::memory({{1}, dt::s32, tag::x}, eng);
      return Status::ok();
    }));
    return cache_.add(std::move(p));
  }

  TensorPtr w_;
  DType a_type_;
  std::string what_;
  CpuFallback fallback_;
  dnnl::stream stream_;
  ShapeCache<Prepared> cache_;
};

// Where oneDNN's int8 kernels are not exact (no VNNI): the widened GEMM to int32 (runtime/cpu/wide_int8_gemm.h).
class WideMatMulIntegerKernel final : public Kernel {
 public:
  WideMatMulIntegerKernel(const KernelInit& init, const TensorPtr& w, DType a_type) : a_type_(a_type), fallback_(init) {
    const int64_t k = w->dims()[0], n = w->dims()[1];
    const int8_t* d = w->data<int8_t>();
    packed_ = wide8::pack_weights(n, k, [&](int64_t col, int64_t i) { return int32_t{d[i * n + col]}; });
    sums_.raw = true;
    sums_.scale.assign(static_cast<size_t>(packed_.panels() * wide8::kPanel), 0.0f);
    sums_.bias = sums_.scale;
  }

  Status run(KernelContext& ctx) override {
    const Tensor* a = ctx.input_tensor(0);
    const Tensor* az = ctx.input_tensor(2);
    const int64_t k = packed_.k;
    if (!fits(a, az, a_type_, k)) return fallback_.run(ctx, a ? a->dtype() : a_type_);
    std::vector<int64_t> yd = a->dims();
    yd.back() = packed_.n;
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::Int32, yd));
    if (a->numel() == 0 || y->numel() == 0) return Status::ok();
    const auto* x = static_cast<const uint8_t*>(a->raw());
    const bool is_signed = a_type_ == DType::Int8;
    const int32_t zp = az ? static_cast<int32_t>(az->get_int64(0)) : 0;
    wide8::WideJob job;
    job.rows = a->numel() / k;
    job.w = &packed_;
    job.q = &sums_;
    job.out = static_cast<uint8_t*>(y->raw_mutable());
    job.out_stride = packed_.n;
    job.fill = [=](int64_t r0, int64_t r1, int16_t* rows, int64_t stride) {
      for (int64_t r = r0; r < r1; ++r) wide8::widen(x + r * k, is_signed, zp, k, stride, rows + (r - r0) * stride);
    };
    wide8::run_jobs(std::span<const wide8::WideJob>(&job, 1), ctx.threads());
    return Status::ok();
  }

 private:
  DType a_type_;
  CpuFallback fallback_;
  wide8::PackedWeights packed_;
  wide8::Requant sums_;
};

}  // namespace

std::optional<IntegerOperands> integer_operands(const GraphView& view, const ir::Node& node, size_t rank) {
  if (node.num_inputs() < 2 || node.num_inputs() > 4 || node.num_outputs() != 1 || !node.input(0) || !node.input(1))
    return std::nullopt;
  IntegerOperands o;
  o.w = fixed_tensor(view, node.input(1));
  if (!o.w || o.w->dtype() != DType::Int8 || o.w->rank() != rank) return std::nullopt;
  if (node.num_inputs() > 3 && node.input(3)) {  // the weight's zero point: zeros only
    TensorPtr wz = fixed_tensor(view, node.input(3));
    if (!wz) return std::nullopt;
    for (int64_t i = 0; i < wz->numel(); ++i)
      if (wz->get_int64(i) != 0) return std::nullopt;
  }
  const ir::Value* x = node.input(0);
  if (!x->type.is_tensor() || (x->type.elem != DType::UInt8 && x->type.elem != DType::Int8)) return std::nullopt;
  o.x_type = x->type.elem;
  o.wide = widened_int8_forced() || !int8_exact_for(*o.w, o.x_type);
  if (o.wide && o.w->dims()[0] > wide8::kMaxReduction) return std::nullopt;  // 32-bit sums could overflow
  return o;
}

std::optional<DnnlClaim> claim_matmul_integer(const GraphView& view, const ir::Node& node, int threads) {
  std::optional<IntegerOperands> ops = integer_operands(view, node, 2);
  if (!ops) return std::nullopt;
  const TensorPtr w = ops->w;
  const DType a_type = ops->x_type;
  const bool wide = ops->wide;
  DnnlClaim dc;
  dc.claim.nodes = {&node};
  dc.nhwc_ok.assign(node.num_inputs(), false);
  dc.nhwc_8bit_ok.assign(node.num_inputs(), false);
  dc.claim.factory = [w, a_type, threads, wide](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    if (wide) return std::unique_ptr<Kernel>(std::make_unique<WideMatMulIntegerKernel>(init, w, a_type));
    set_threads(threads);
    return std::unique_ptr<Kernel>(std::make_unique<MatMulIntegerKernel>(init, w, a_type));
  };
  return dc;
}

}  // namespace ortool::rt::dnnl_ep
