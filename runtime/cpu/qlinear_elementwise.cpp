// com.microsoft QLinearAdd, QLinearMul (broadcasting) and QLinearSigmoid, QLinearLeakyRelu: dequantize,
// compute in float, requantize to the output's scale and zero point (QLinearAdd in ONNX Runtime's
// arithmetic: runtime/cpu/qlinear_add.h).
#include <cmath>

#include "runtime/cpu/broadcast.h"
#include "runtime/cpu/qlinear.h"
#include "runtime/cpu/qlinear_add.h"
#include "runtime/qdq_add_group.h"
#include "runtime/thread_pool.h"

namespace ortool::rt::cpu::qlinear {

namespace {

// The outputs of a quantized Add over broadcast rows; `av(in, j)` and `bv(in, j)` give the stored
// values, `put(i, q)` writes one. A side constant over a row (a scalar, or broadcast along the row) is
// folded first, A before B, as ONNX Runtime's kernel does.
template <typename A, typename B, typename Put>
void add_rows(const BroadcastRows& rows, const AddForm& f, bool a_one, bool b_one, A av, B bv, Put put) {
  rows.for_each([&](int64_t o, const int64_t* in, int64_t count) {
    if (a_one || rows.step(0) == 0) {
      const float k = add_fold(f, f.ra, av(in, 0));
      for (int64_t j = 0; j < count; ++j) put(o + j, add_value_folded(f, f.rb, bv(in, j), k));
    } else if (b_one || rows.step(1) == 0) {
      const float k = add_fold(f, f.rb, bv(in, 0));
      for (int64_t j = 0; j < count; ++j) put(o + j, add_value_folded(f, f.ra, av(in, j), k));
    } else {
      for (int64_t j = 0; j < count; ++j) put(o + j, add_value(f, av(in, j), bv(in, j)));
    }
  });
}

// A quantized Add over broadcast rows in the vector loops' arithmetic (the same as add_rows'): a side constant
// over a row (a per-channel value across a plane) folded first, A before B; rows of both sides element by
// element (a bias along the last axis). Split over the session's threads from 64K outputs. The per-element
// loop above took 5-6 ns an element: a text detector's per-channel bias Add 2.6 ms, a transformer's biases
// 0.65 ms a layer.
template <typename RA, typename RB, typename T>
void add_broadcast_rows(KernelContext& ctx, const BroadcastRows& rows, const RA& ra, const RB& rb, T* o, const AddForm& f) {
  const int64_t sa = rows.step(0), sb = rows.step(1);
  auto part = [&](int64_t begin, int64_t end) {
    rows.for_each_in(begin, end, [&](int64_t at, const int64_t* in, int64_t count) {
      if (sa == 0) {
        add_folded_loop(Shifted<RB>{rb, in[1] - at}, f.rb, add_fold(f, f.ra, static_cast<int32_t>(ra(in[0]))), o, at,
                        at + count, f);
      } else if (sb == 0) {
        add_folded_loop(Shifted<RA>{ra, in[0] - at}, f.ra, add_fold(f, f.rb, static_cast<int32_t>(rb(in[1]))), o, at,
                        at + count, f);
      } else {
        add_loop(Shifted<RA>{ra, in[0] - at}, Shifted<RB>{rb, in[1] - at}, o, at, at + count, f);
      }
    });
  };
  const int64_t n = rows.numel();
  constexpr int64_t kChunk = 1 << 15;
  ThreadPool* pool = ctx.threads();
  if (!pool || pool->size() < 2 || n < 2 * kChunk) return part(0, n);
  pool->parallel_for(static_cast<size_t>(n), [&](size_t b, size_t e) { part(static_cast<int64_t>(b), static_cast<int64_t>(e)); },
                     kChunk);
}

// Writes one 8-bit output value.
struct Put8 {
  Tensor* out;
  void operator()(int64_t i, int32_t q) const {
    if (out->dtype() == DType::UInt8) out->mutable_data<uint8_t>()[i] = static_cast<uint8_t>(q);
    else out->mutable_data<int8_t>()[i] = static_cast<int8_t>(q);
  }
};

// Inputs A, A_scale, A_zero_point, B, B_scale, B_zero_point, C_scale, C_zero_point.
template <bool kMul>
Status run_binary(KernelContext& ctx) {
  const ir::Node& n = ctx.node();
  ASSIGN_OR_RETURN(const Tensor* a, q8_input(ctx, 0, "A"));
  ASSIGN_OR_RETURN(const Tensor* b, q8_input(ctx, 3, "B"));
  if (b->dtype() != a->dtype()) return invalid("{}: inputs 'A' and 'B' differ in type", n.describe());
  ASSIGN_OR_RETURN(QParam pa, read_param(ctx, 1, 2, a->dtype(), "A"));
  ASSIGN_OR_RETURN(QParam pb, read_param(ctx, 4, 5, a->dtype(), "B"));
  ASSIGN_OR_RETURN(QParam pc, read_param(ctx, 6, 7, a->dtype(), "C"));
  auto dims = broadcast_shape(a->dims(), b->dims());
  if (!dims) return dims.status().with_context(n.describe());
  if constexpr (!kMul) {
    const bool u8 = a->dtype() == DType::UInt8;
    const AddForm f = add_form(pa.scale, pa.zero_point, pb.scale, pb.zero_point, pc.scale, pc.zero_point, u8);
    BroadcastRows rows(*dims, {a->dims(), b->dims()});
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, a->dtype(), *dims));
    add_rows(
        rows, f, a->numel() == 1, b->numel() == 1,
        [&](const int64_t* in, int64_t j) { return static_cast<int32_t>(a->get_int64(in[0] + j * rows.step(0))); },
        [&](const int64_t* in, int64_t j) { return static_cast<int32_t>(b->get_int64(in[1] + j * rows.step(1))); },
        Put8{out});
    return Status::ok();
  }
  const std::vector<float> av = dequantize(*a, pa), bv = dequantize(*b, pb);
  BroadcastRows rows(*dims, {a->dims(), b->dims()});
  std::vector<float> y(static_cast<size_t>(rows.numel()));
  rows.for_each([&](int64_t o, const int64_t* in, int64_t count) {
    for (int64_t j = 0; j < count; ++j) {
      const float x1 = av[static_cast<size_t>(in[0] + j * rows.step(0))];
      const float x2 = bv[static_cast<size_t>(in[1] + j * rows.step(1))];
      y[static_cast<size_t>(o + j)] = kMul ? x1 * x2 : x1 + x2;
    }
  });
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, a->dtype(), *dims));
  quantize_into(y.data(), pc, *out);
  return Status::ok();
}

// Inputs X, X_scale, X_zero_point, Y_scale, Y_zero_point; y = f(x) elementwise.
template <typename F>
Status run_unary(KernelContext& ctx, F f) {
  ASSIGN_OR_RETURN(const Tensor* x, q8_input(ctx, 0, "X"));
  ASSIGN_OR_RETURN(QParam px, read_param(ctx, 1, 2, x->dtype(), "X"));
  ASSIGN_OR_RETURN(QParam py, read_param(ctx, 3, 4, x->dtype(), "Y"));
  std::vector<float> v = dequantize(*x, px);
  for (float& e : v) e = f(e);
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x->dtype(), x->dims()));
  quantize_into(v.data(), py, *out);
  return Status::ok();
}

}  // namespace

Status run_add_group(KernelContext& ctx, const qdq::AddGroup& g, const AddForm& f) {
  const ir::Node& n = ctx.node();
  const Tensor* a = ctx.input_tensor(g.a_input);
  const Tensor* b = ctx.input_tensor(g.b_input);
  // Each operand is its 8-bit tensor (DequantizeLinear in the group) or that node's float output.
  auto fits = [&](const Tensor* t, const ir::Node* dq, const qdq::ActQuant& q) {
    return t && t->dtype() == (dq ? q.type : DType::Float);
  };
  if (!fits(a, g.a_dq, g.a) || !fits(b, g.b_dq, g.b))
    return invalid("{}: an operand of the quantized Add group is not of the type its DequantizeLinear gives",
                   n.describe());
  auto dims = broadcast_shape(a->dims(), b->dims());
  if (!dims) return dims.status().with_context(n.describe());
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, g.y.type, *dims));
  const Dequantized qa(g.a.scale, g.a.zero_point), qb(g.b.scale, g.b.zero_point);
  const int64_t total = out->numel();
  auto typed = [&](auto* o) {
    with_reader(*a, qa, [&](const auto& ra) {
      with_reader(*b, qb, [&](const auto& rb) {
        if (a->dims() == b->dims()) {
          add_loop(ra, rb, o, 0, total, f);
        } else if (a->numel() == 1) {  // a side the same everywhere is folded first, A before B
          add_folded_loop(rb, f.rb, add_fold(f, f.ra, static_cast<int32_t>(ra(0))), o, 0, total, f);
        } else if (b->numel() == 1) {
          add_folded_loop(ra, f.ra, add_fold(f, f.rb, static_cast<int32_t>(rb(0))), o, 0, total, f);
        } else {
          add_broadcast_rows(ctx, BroadcastRows(*dims, {a->dims(), b->dims()}), ra, rb, o, f);
        }
      });
    });
  };
  if (g.y.type == DType::UInt8) typed(out->mutable_data<uint8_t>());
  else typed(out->mutable_data<int8_t>());
  return Status::ok();
}

KernelFactory qdq_add_group_kernel(const qdq::AddGroup& g) {
  const AddForm f = add_form(g.a.scale, g.a.zero_point, g.b.scale, g.b.zero_point, g.y.scale, g.y.zero_point,
                             g.y.type == DType::UInt8);
  return function_kernel([g, f](KernelContext& ctx) { return run_add_group(ctx, g, f); });
}

KernelFactory qlinear_add_kernel() { return function_kernel(run_binary<false>); }
KernelFactory qlinear_mul_kernel() { return function_kernel(run_binary<true>); }

KernelFactory qlinear_sigmoid_kernel() {
  return function_kernel([](KernelContext& ctx) {
    return run_unary(ctx, [](float v) { return 1.0f / (1.0f + std::exp(-v)); });
  });
}

KernelFactory qlinear_leaky_relu_kernel() {
  return [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    const float alpha = init.node.attr_float("alpha", 0.01f);
    return std::unique_ptr<Kernel>(new FunctionKernel([alpha](KernelContext& ctx) {
      return run_unary(ctx, [alpha](float v) { return v >= 0 ? v : v * alpha; });
    }));
  };
}

}  // namespace ortool::rt::cpu::qlinear
