// The dnnl provider's MatMulInteger with a constant int8 weight (what `quantize --mode dynamic` writes
// behind each DynamicQuantizeLinear): a u8s8 or s8s8 oneDNN matmul to int32, the activation's zero point
// given at run time. The activation's leading dims are flattened into rows ([T, 1, K] x [K, N] is one
// T x K product). The results are exact integers: where oneDNN's int8 kernels are not (no VNNI), the widened
// GEMM runs them; a per-row zero point or another type at run time goes to the cpu kernel.
// The float tail dynamic quantizers write after it (Cast to float, Mul by the scales, Add of the bias) runs in
// the same step, as ONNX Runtime's MatMulIntegerToFloat does: in the widened GEMM's epilogue, or in one pass after
// oneDNN's matmul; the same float operations in the same order, so the outputs are those of the nodes one by one.
#include <memory>
#include <unordered_map>

#include "runtime/cpu/wide_int8_gemm.h"
#include "runtime/dnnl/dnnl_common.h"
#include "runtime/partition.h"
#include "runtime/session.h"

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

// MatMulInteger -> Cast(to float) -> Mul(by a scale) [-> Add(a constant bias)], each intermediate read by the next
// alone: the step inputs of the scale and the bias (the MatMulInteger's inputs come first).
struct FloatTail {
  const ir::Node* mmi = nullptr;
  const ir::Node* cast = nullptr;
  const ir::Node* mul = nullptr;
  const ir::Node* add = nullptr;  // null: the step ends at the Mul
  size_t scale_input = 0, bias_input = 0;
};

// A float tensor that broadcasts along the output's last axis alone (one value, or a row of the n columns with
// leading 1s, of rank at most the output's): its value for each column, padded with zeros to `padded`; false
// for anything else (the nodes then run one by one).
bool column_values(const Tensor* t, int64_t n, size_t out_rank, size_t padded, std::vector<float>& out) {
  if (!t || t->dtype() != DType::Float || t->rank() > out_rank) return false;
  const bool one = t->numel() == 1, row = t->numel() == n && t->rank() >= 1 && t->dims().back() == n;
  if (!one && !row) return false;
  out.assign(padded, 0.0f);
  const float* v = t->data<float>();
  for (int64_t c = 0; c < n; ++c) out[static_cast<size_t>(c)] = v[one ? 0 : c];
  return true;
}

// The tail's scale and bias per column for this run, or false when they do not broadcast along the last axis.
bool tail_columns(const KernelContext& ctx, const FloatTail& t, int64_t n, size_t out_rank, size_t padded,
                  std::vector<float>& scale, std::vector<float>& bias) {
  if (!column_values(ctx.input_tensor(t.scale_input), n, out_rank, padded, scale)) return false;
  return !t.add || column_values(ctx.input_tensor(t.bias_input), n, out_rank, padded, bias);
}

// The group's nodes one by one on the cpu kernels: inputs the fast path does not take (a per-row zero point, a
// scale that is not per column).
Status run_nodes(KernelContext& ctx, const FloatTail& t, const ir::Model& model) {
  std::vector<RValue> in;
  for (size_t i = 0; i < t.mmi->num_inputs(); ++i) in.push_back(ctx.input(i) ? *ctx.input(i) : RValue());
  ASSIGN_OR_RETURN(std::vector<RValue> v, rt::run_node(*t.mmi, model, std::move(in)));
  const ir::Node* prev = t.mmi;
  for (const ir::Node* n : {t.cast, t.mul, t.add}) {
    if (!n) continue;
    std::vector<RValue> args;
    for (const ir::Value* x : n->inputs()) {
      const RValue* other = ctx.input(n == t.add ? t.bias_input : t.scale_input);
      args.push_back(x == prev->output(0) ? v[0] : other ? *other : RValue());
    }
    ASSIGN_OR_RETURN(v, rt::run_node(*n, model, std::move(args)));
    prev = n;
  }
  return ctx.set_output(0, std::move(v[0]));
}

// The activation's zero point: step input 2 when the MatMulInteger has one (with a tail, a two-input
// MatMulInteger's step input 2 is the scale).
const Tensor* zero_point(const KernelContext& ctx, const std::optional<FloatTail>& tail) {
  return !tail || tail->mmi->num_inputs() > 2 ? ctx.input_tensor(2) : nullptr;
}

// out[r * n + c] = float(sums[r * n + c]) * scale[c] (+ bias[c]): the tail after oneDNN's int32 matmul.
void apply_tail(const int32_t* sums, int64_t rows, int64_t n, const std::vector<float>& scale, const std::vector<float>* bias,
                float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* s = sums + r * n;
    float* o = out + r * n;
    for (int64_t c = 0; c < n; ++c) o[c] = static_cast<float>(s[c]) * scale[static_cast<size_t>(c)];
    if (bias)
      for (int64_t c = 0; c < n; ++c) o[c] = o[c] + (*bias)[static_cast<size_t>(c)];
  }
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
  MatMulIntegerKernel(const KernelInit& init, TensorPtr w, DType a_type, std::optional<FloatTail> tail)
      : w_(std::move(w)), a_type_(a_type), tail_(std::move(tail)), model_(init.model), what_(init.node.describe()),
        fallback_(init), stream_(cpu_engine()) {}

  Status run(KernelContext& ctx) override {
    const Tensor* a = ctx.input_tensor(0);
    const Tensor* az = zero_point(ctx, tail_);
    const int64_t k = w_->dims()[0], n = w_->dims()[1];
    if (!fits(a, az, a_type_, k)) return tail_ ? run_nodes(ctx, *tail_, model_) : fallback_.run(ctx, a ? a->dtype() : a_type_);
    if (tail_ && !tail_columns(ctx, *tail_, n, a->dims().size(), static_cast<size_t>(n), scale_, bias_))
      return run_nodes(ctx, *tail_, model_);
    use_threads(ctx);
    ASSIGN_OR_RETURN(Prepared * p, prepare(a->dims()));
    set_threads(p->team);
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, tail_ ? DType::Float : DType::Int32, p->dst_dims));
    if (a->numel() == 0 || y->numel() == 0) return Status::ok();
    void* sums = y->raw_mutable();
    if (tail_) {
      sums_.resize(static_cast<size_t>(y->numel()));
      sums = sums_.data();
    }
    TRY(guarded(what_, [&]() -> Status {
      std::unordered_map<int, dnnl::memory> args{
          {DNNL_ARG_SRC, dnnl::memory(p->src, cpu_engine(), const_cast<void*>(a->raw()))},
          {DNNL_ARG_WEIGHTS, p->weights},
          {DNNL_ARG_DST, dnnl::memory(p->dst, cpu_engine(), sums)}};
      *static_cast<int32_t*>(p->src_zp.get_data_handle()) = az ? static_cast<int32_t>(az->get_int64(0)) : 0;
      args.emplace(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, p->src_zp);
      p->prim.execute(stream_, args);
      stream_.wait();
      return Status::ok();
    }));
    if (tail_) apply_tail(sums_.data(), y->numel() / n, n, scale_, tail_->add ? &bias_ : nullptr, y->mutable_data<float>());
    return Status::ok();
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
  std::optional<FloatTail> tail_;
  const ir::Model& model_;
  std::string what_;
  CpuFallback fallback_;
  dnnl::stream stream_;
  ShapeCache<Prepared> cache_;
  std::vector<int32_t> sums_;        // with a tail: oneDNN's int32 output
  std::vector<float> scale_, bias_;  // with a tail: per column, this run
};

// Where oneDNN's int8 kernels are not exact (no VNNI): the widened GEMM to int32 (runtime/cpu/wide_int8_gemm.h).
class WideMatMulIntegerKernel final : public Kernel {
 public:
  WideMatMulIntegerKernel(const KernelInit& init, const TensorPtr& w, DType a_type, std::optional<FloatTail> tail)
      : a_type_(a_type), tail_(std::move(tail)), model_(init.model), fallback_(init) {
    const int64_t k = w->dims()[0], n = w->dims()[1];
    const int8_t* d = w->data<int8_t>();
    packed_ = wide8::pack_weights(n, k, [&](int64_t col, int64_t i) { return int32_t{d[i * n + col]}; });
    sums_.output = tail_ ? wide8::Requant::Output::Floats : wide8::Requant::Output::Sums;
    sums_.float_bias = tail_ && tail_->add;
    sums_.scale.assign(static_cast<size_t>(packed_.panels() * wide8::kPanel), 0.0f);
    sums_.bias = sums_.scale;
  }

  Status run(KernelContext& ctx) override {
    const Tensor* a = ctx.input_tensor(0);
    const Tensor* az = zero_point(ctx, tail_);
    const int64_t k = packed_.k;
    if (!fits(a, az, a_type_, k)) return tail_ ? run_nodes(ctx, *tail_, model_) : fallback_.run(ctx, a ? a->dtype() : a_type_);
    if (tail_ && !tail_columns(ctx, *tail_, packed_.n, a->dims().size(), sums_.scale.size(), sums_.scale, sums_.bias))
      return run_nodes(ctx, *tail_, model_);
    std::vector<int64_t> yd = a->dims();
    yd.back() = packed_.n;
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, tail_ ? DType::Float : DType::Int32, yd));
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
  std::optional<FloatTail> tail_;
  const ir::Model& model_;
  CpuFallback fallback_;
  wide8::PackedWeights packed_;
  wide8::Requant sums_;  // the int32 sums, or with a tail their floats (scale and bias set on every run)
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
  // The reduction: [K, N] for MatMulInteger, C/group x kH x kW of [M, C/group, kH, kW] for ConvInteger.
  const int64_t k = rank == 2 ? o.w->dims()[0] : o.w->dims()[1] * o.w->dims()[2] * o.w->dims()[3];
  if (o.wide && k > wide8::kMaxReduction) return std::nullopt;  // 32-bit sums could overflow
  return o;
}

namespace {

// Whether `v` may be a per-column operand of an output with n columns: a float tensor whose declared dims, where
// known, are one value or [..., n] with leading 1s (run time checks the tensor itself).
bool may_be_columns(const ir::Value* v, int64_t n) {
  if (!v->type.is_tensor() || (v->type.elem != DType::Float && v->type.elem != DType::Undefined)) return false;
  if (!v->type.shape) return true;
  const std::optional<std::vector<int64_t>> d = static_dims(*v->type.shape);
  if (!d) return true;
  const int64_t count = numel_of(*d);
  return count == 1 || (count == n && d->back() == n);
}

// The float tail after `mmi` (see FloatTail), or nullopt.
std::optional<FloatTail> float_tail(const GraphView& view, const ir::Node& mmi, int64_t n) {
  FloatTail t;
  t.mmi = &mmi;
  t.cast = sole_reader(view, mmi.output(0));
  if (!t.cast || !ir::is_op(*t.cast, "Cast") || t.cast->num_inputs() != 1 ||
      t.cast->attr_int("to", 0) != static_cast<int64_t>(DType::Float))
    return std::nullopt;
  t.mul = sole_reader(view, t.cast->output(0));
  const ir::Value* scale = t.mul && ir::is_op(*t.mul, "Mul") ? other_input(*t.mul, t.cast->output(0)) : nullptr;
  if (!scale || !may_be_columns(scale, n)) return std::nullopt;
  t.scale_input = mmi.num_inputs();
  std::vector<const ir::Node*> group{&mmi, t.cast, t.mul};
  if (!view.read_only_by(*mmi.output(0), group) || !view.read_only_by(*t.cast->output(0), group)) return std::nullopt;
  // A bias fixed for the session joins (a residual Add of a computed tensor would not broadcast per column).
  const ir::Node* add = sole_reader(view, t.mul->output(0));
  const ir::Value* bias = add && ir::is_op(*add, "Add") ? other_input(*add, t.mul->output(0)) : nullptr;
  const TensorPtr b = bias ? fixed_tensor(view, bias) : nullptr;
  group.push_back(add);
  if (b && b->dtype() == DType::Float && (b->numel() == 1 || (b->numel() == n && b->dims().back() == n)) &&
      view.read_only_by(*t.mul->output(0), group)) {
    t.add = add;
    t.bias_input = t.scale_input + 1;
  }
  return t;
}

}  // namespace

std::optional<DnnlClaim> claim_matmul_integer(const GraphView& view, const ir::Node& node, int threads) {
  std::optional<IntegerOperands> ops = integer_operands(view, node, 2);
  if (!ops) return std::nullopt;
  const TensorPtr w = ops->w;
  const DType a_type = ops->x_type;
  const bool wide = ops->wide;
  std::optional<FloatTail> tail = float_tail(view, node, w->dims()[1]);
  DnnlClaim dc;
  dc.claim.nodes = {&node};
  if (tail) {
    dc.claim.nodes.insert(dc.claim.nodes.end(), {tail->cast, tail->mul});
    if (tail->add) dc.claim.nodes.push_back(tail->add);
  }
  const size_t inputs = group_inputs(dc.claim.nodes).size();
  dc.nhwc_ok.assign(inputs, false);
  dc.nhwc_8bit_ok.assign(inputs, false);
  dc.claim.factory = [w, a_type, threads, wide, tail](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    if (wide) return std::unique_ptr<Kernel>(std::make_unique<WideMatMulIntegerKernel>(init, w, a_type, tail));
    set_threads(threads);
    return std::unique_ptr<Kernel>(std::make_unique<MatMulIntegerKernel>(init, w, a_type, tail));
  };
  return dc;
}

}  // namespace ortool::rt::dnnl_ep
