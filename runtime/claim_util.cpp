// What providers ask of a graph when they claim nodes: values fixed for the session, static shapes.
#include "runtime/claim_util.h"

#include "runtime/provider.h"

namespace ortool::rt {

TensorPtr fixed_tensor(const ir::Value* v) {
  for (int hops = 0; v && hops < 8; ++hops) {
    if (GraphView::is_session_constant(v)) return v->constant();
    const ir::Node* p = v->producer();
    if (!p || !(p->domain().empty() || p->domain() == "ai.onnx")) return nullptr;
    if (p->op_type() == "Constant") {
      const ir::Attribute* a = p->attr("value");
      return a && a->type == ir::AttrType::Tensor && p->attributes().size() == 1 ? a->t : nullptr;
    }
    if (p->op_type() != "Identity" || p->num_inputs() != 1) return nullptr;
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

}  // namespace ortool::rt
