// Pass share_duplicate_constants: initializers with equal type, dims and bytes become one. In a model that
// will be written, int8 weights and zero points of quantized ops (Q/DQ, MatMulInteger, QLinearConv...) stay
// one per node:
// ONNX Runtime's exact int8 mode on x86 (session.x64quantprecision=1) rewrites each of them in place to
// uint8 and fails to load a model where two nodes hold one ("Attempt to replace the existing tensor").
#include <map>
#include <unordered_map>

#include "passes/pass.h"
#include "passes/pass_registry.h"
#include "passes/pass_util.h"

namespace ortool::passes {

namespace {

// An int8 tensor a quantized op reads as a weight or zero point: DequantizeLinear's data or zero point,
// QuantizeLinear's zero point, MatMulInteger's and ConvInteger's B / w and its zero point (dynamic
// quantization), QLinearConv's and QLinearMatMul's weight and its zero point.
bool signed_qdq_operand(const ir::Value* v, const Tensor& t) {
  if (t.dtype() != DType::Int8) return false;
  for (const ir::Use& u : v->uses()) {
    const int i = u.index;
    if ((is_op(u.node, "DequantizeLinear") && (i == 0 || i == 2)) || (is_op(u.node, "QuantizeLinear") && i == 2) ||
        ((is_op(u.node, "MatMulInteger") || is_op(u.node, "ConvInteger")) && (i == 1 || i == 3)) ||
        ((is_op(u.node, "QLinearConv") || is_op(u.node, "QLinearMatMul")) && (i == 3 || i == 5)))
      return true;
  }
  return false;
}

// A cheap fingerprint (FNV-1a over the head, the tail and a strided sample); equal fingerprints
// are compared in full, so collisions cost time, never correctness.
uint64_t fingerprint(std::span<const std::byte> bytes) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](std::byte b) {
    h ^= static_cast<uint64_t>(b);
    h *= 1099511628211ull;
  };
  constexpr size_t kEdge = 4096;
  if (bytes.size() <= 3 * kEdge) {
    for (std::byte b : bytes) mix(b);
    return h;
  }
  for (size_t i = 0; i < kEdge; ++i) mix(bytes[i]);
  for (size_t i = bytes.size() - kEdge; i < bytes.size(); ++i) mix(bytes[i]);
  size_t stride = bytes.size() / kEdge;
  for (size_t i = 0; i < bytes.size(); i += stride) mix(bytes[i]);
  return h;
}

class ShareDuplicateConstants final : public Pass {
 public:
  std::string_view name() const override { return "share_duplicate_constants"; }
  std::string_view description() const override {
    return "Make initializers with the same type, dims and contents one shared initializer";
  }

  Result<bool> run(ir::Model&, ir::Graph& g, const PassContext& ctx) override {
    // Group by (dtype, dims) first so only same-sized candidates are hashed.
    std::map<std::pair<int, std::vector<int64_t>>, std::vector<ir::Value*>> groups;
    for (ir::Value* v : g.initializers()) {
      const Tensor* t = constant_tensor(v);
      if (!t || t->is_string() || v->is_graph_output() || !v->has_uses()) continue;
      if (!ctx.runtime_ops && signed_qdq_operand(v, *t)) continue;
      groups[{static_cast<int>(t->dtype()), t->dims()}].push_back(v);
    }
    bool changed = false;
    for (auto& [key, values] : groups) {
      if (values.size() < 2) continue;
      std::unordered_map<uint64_t, std::vector<ir::Value*>> by_hash;
      for (ir::Value* v : values) {
        std::vector<ir::Value*>& same = by_hash[fingerprint(v->constant()->bytes())];
        ir::Value* keep = nullptr;
        for (ir::Value* k : same)
          if (k->constant()->equals(*v->constant())) {
            keep = k;
            break;
          }
        if (!keep) {
          same.push_back(v);
          continue;
        }
        if (!ctx.allow_rewrite()) return changed;
        g.replace_all_uses(v, keep);
        g.remove_value(v);
        changed = true;
      }
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_share_duplicate_constants() { return std::make_unique<ShareDuplicateConstants>(); }

}  // namespace ortool::passes
