// What providers share when they claim nodes: values fixed for the session, static shapes, messages, cpu fallback.
#include "runtime/claim_util.h"

#include "lib/op_id.h"
#include "runtime/provider.h"

namespace ortool::rt {

TensorPtr fixed_tensor(const GraphView& view, const ir::Value* v) {
  for (int hops = 0; v && hops < 8; ++hops) {
    if (view.is_session_constant(v)) return v->constant();
    const ir::Node* p = v->producer();
    if (!p) return nullptr;
    if (ir::is_op(*p, "Constant")) {
      const ir::Attribute* a = p->attr("value");
      return a && a->type == ir::AttrType::Tensor && p->attributes().size() == 1 ? a->t : nullptr;
    }
    if (!ir::is_op(*p, "Identity") || p->num_inputs() != 1) return nullptr;
    v = p->input(0);
  }
  return nullptr;
}

std::vector<int64_t> static_dims(const ir::Value& v) {
  if (!v.type.is_tensor() || !v.type.shape) return {};
  std::vector<int64_t> d;
  for (const Dim& x : *v.type.shape) {
    if (!x.is_known() || x.value <= 0) return {};
    d.push_back(x.value);
  }
  return d;
}

std::optional<float> constant_float_scalar(const GraphView& view, const ir::Value* v, float absent) {
  if (!v) return absent;
  const TensorPtr fixed = fixed_tensor(view, v);
  if (!fixed || fixed->dtype() != DType::Float || fixed->numel() != 1) return std::nullopt;
  return fixed->data<float>()[0];
}

std::string describe_nodes(const std::vector<const ir::Node*>& nodes) {
  std::string s;
  for (const ir::Node* n : nodes) s += (s.empty() ? "" : " + ") + n->describe();
  return s;
}

Status CpuFallback::run(KernelContext& ctx, DType type) {
  if (!kernel_ || type_ != type) {
    const KernelDef* def = cpu_registry().find(node_.domain(), node_.op_type(), opset_, type);
    if (!def)
      return unsupported("{}: no kernel for element type {} at opset {}", node_.describe(), dtype_name(type), opset_);
    ASSIGN_OR_RETURN(kernel_, def->factory(KernelInit{node_, opset_, model_}));
    type_ = type;
  }
  return kernel_->run(ctx);
}

}  // namespace ortool::rt
