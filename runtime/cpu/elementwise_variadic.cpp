// Kernels over several broadcast operands: the variadic Sum Mean Max Min, and the 3-way Where.
#include <cmath>

#include "runtime/cpu/elementwise.h"

namespace ortool::rt::cpu::elementwise {
namespace {

enum class Var { Sum, Mean, Max, Min };

template <Var op, typename C>
inline C combine(C a, C b) {
  if constexpr (op == Var::Sum || op == Var::Mean) {
    if constexpr (std::is_integral_v<C>) return static_cast<C>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
    else return a + b;
  } else {
    if constexpr (std::is_floating_point_v<C>) {
      if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<C>::quiet_NaN();  // as numpy's maximum
    }
    if constexpr (op == Var::Max) return a < b ? b : a;
    else return b < a ? b : a;
  }
}

template <Var op>
class VariadicKernel final : public Kernel {
 public:
  explicit VariadicKernel(const KernelInit&) {}
  Status run(KernelContext& ctx) override {
    const ir::Node& node = ctx.node();
    std::vector<const Tensor*> ins;
    std::vector<std::vector<int64_t>> shapes;
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      ASSIGN_OR_RETURN(const Tensor* t, required_tensor(ctx, i));
      if (!ins.empty() && t->dtype() != ins[0]->dtype())
        return invalid("{}: input {} has element type {} but input 0 has {}", node.describe(), i,
                       dtype_name(t->dtype()), dtype_name(ins[0]->dtype()));
      ins.push_back(t);
      shapes.push_back(t->dims());
    }
    if (ins.empty()) return invalid("{}: needs at least one input", node.describe());
    auto od = broadcast_shapes(shapes);
    if (!od) return od.status().with_context(node.describe());
    const std::vector<int64_t>& out_dims = *od;

    Status st = Status::ok();
    bool ok_type = false;
    dispatch_numeric(ins[0]->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      constexpr bool allowed = (op == Var::Sum || op == Var::Mean) ? is_floating_v<T> || (std::is_integral_v<T> && !std::is_same_v<T, bool>)
                                                                   : !std::is_same_v<T, bool>;
      if constexpr (allowed) {
        ok_type = true;
        using C = Compute<T>;
        auto r = ctx.allocate_output(0, ins[0]->dtype(), out_dims);
        if (!r) {
          st = r.status();
          return;
        }
        Tensor* out = *r;
        const int64_t n = out->numel();
        // Accumulate in the compute type (float for 16-bit floats), then store once.
        std::vector<C> acc(static_cast<size_t>(n));
        {
          BroadcastRows rows(out_dims, {ins[0]->dims()});
          const T* in = ins[0]->data<T>();
          rows.for_each([&](int64_t o, const int64_t* off, int64_t cnt) {
            for (int64_t j = 0; j < cnt; ++j) acc[static_cast<size_t>(o + j)] = load(in[off[0] + j * rows.step(0)]);
          });
        }
        for (size_t k = 1; k < ins.size(); ++k) {
          BroadcastRows rows(out_dims, {out_dims, ins[k]->dims()});
          binary_loop(ctx, rows, acc.data(), ins[k]->data<T>(), acc.data(),
                      [](C a, T b) { return combine<op, C>(a, load(b)); });
        }
        T* po = out->mutable_data<T>();
        const C count = static_cast<C>(ins.size());
        for (int64_t i = 0; i < n; ++i) {
          C v = acc[static_cast<size_t>(i)];
          if constexpr (op == Var::Mean) v = v / count;
          po[i] = store<T>(v);
        }
      }
    });
    if (!ok_type)
      return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(ins[0]->dtype()));
    return st;
  }
};

// Where(condition, X, Y): X where condition is true, Y elsewhere; all three broadcast together.
class WhereKernel final : public Kernel {
 public:
  explicit WhereKernel(const KernelInit&) {}
  Status run(KernelContext& ctx) override {
    const ir::Node& node = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* c, required_tensor(ctx, 0));
    ASSIGN_OR_RETURN(const Tensor* x, required_tensor(ctx, 1));
    ASSIGN_OR_RETURN(const Tensor* y, required_tensor(ctx, 2));
    if (c->dtype() != DType::Bool)
      return invalid("{}: condition must be bool, got {}", node.describe(), dtype_name(c->dtype()));
    if (x->dtype() != y->dtype())
      return invalid("{}: X and Y have different element types {} and {}", node.describe(), dtype_name(x->dtype()),
                     dtype_name(y->dtype()));
    auto od = broadcast_shapes({c->dims(), x->dims(), y->dims()});
    if (!od) return od.status().with_context(node.describe());
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x->dtype(), *od));
    BroadcastRows rows(*od, {c->dims(), x->dims(), y->dims()});
    const bool* pc = c->data<bool>();
    const int64_t sc = rows.step(0), sx = rows.step(1), sy = rows.step(2);
    if (x->is_string()) {
      const auto& xs = x->strings();
      const auto& ys = y->strings();
      auto& os = out->mutable_strings();
      rows.for_each([&](int64_t o, const int64_t* in, int64_t n) {
        for (int64_t j = 0; j < n; ++j)
          os[static_cast<size_t>(o + j)] = pc[in[0] + j * sc] ? xs[static_cast<size_t>(in[1] + j * sx)]
                                                              : ys[static_cast<size_t>(in[2] + j * sy)];
      });
      return Status::ok();
    }
    bool ok = dispatch_by_size(x->element_size(), [&](auto tag) {
      using E = typename decltype(tag)::type;
      const E* px = static_cast<const E*>(x->raw());
      const E* py = static_cast<const E*>(y->raw());
      E* po = static_cast<E*>(out->raw_mutable());
      parallel_elements(ctx, rows.numel(), [&](int64_t b, int64_t e) {
        rows.for_each_in(b, e, [&](int64_t o, const int64_t* in, int64_t n) {
          const bool* cc = pc + in[0];
          const E* xx = px + in[1];
          const E* yy = py + in[2];
          for (int64_t j = 0; j < n; ++j) po[o + j] = cc[j * sc] ? xx[j * sx] : yy[j * sy];
        });
      });
    });
    if (!ok) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
    return Status::ok();
  }
};

}  // namespace

void register_variadic_kernels(KernelRegistry& r) {
  r.add(KernelDef{"", "Sum", 1, INT32_MAX, numeric_types(), 0, factory_of<VariadicKernel<Var::Sum>>()});
  r.add(KernelDef{"", "Mean", 1, INT32_MAX, numeric_types(), 0, factory_of<VariadicKernel<Var::Mean>>()});
  r.add(KernelDef{"", "Max", 1, INT32_MAX, numeric_types(), 0, factory_of<VariadicKernel<Var::Max>>()});
  r.add(KernelDef{"", "Min", 1, INT32_MAX, numeric_types(), 0, factory_of<VariadicKernel<Var::Min>>()});
  r.add(KernelDef{"", "Where", 9, INT32_MAX, all_tensor_types(), 1, factory_of<WhereKernel>()});
}

}  // namespace ortool::rt::cpu::elementwise
