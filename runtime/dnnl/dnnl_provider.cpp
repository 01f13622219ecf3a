// The dnnl execution provider: claims float32 CNN nodes for oneDNN and decides which values between its steps
// are kept in NHWC order.
//
// Conv (+ fused nodes), Gemm/MatMul with constant weights and pools are claimed wherever they
// stand; Add/Mul, Concat, channel shuffle and Slice, Resize, ReduceMean and standalone activations only
// between dnnl steps, where they keep a region NHWC instead of sending it back to NCHW for cpu.
// Softmax, LayerNormalization (also the runtime domain's), MatMul of two computed tensors and the
// recurrent ops are claimed wherever they stand, plain layout. Int8 groups (QDQ Conv/Gemm/MatMul,
// QLinearConv/QLinearMatMul) run as oneDNN int8 primitives (dnnl_int8.cpp); the QuantizeLinear and
// DequantizeLinear left between them and float ops run as plain loops (dnnl_qdq.cpp).
#include "runtime/dnnl/dnnl_provider.h"

#include <unordered_map>
#include <unordered_set>

#include "runtime/dnnl/dnnl_common.h"
#include "runtime/partition.h"

namespace ortool::rt {

namespace {

using dnnl_ep::DnnlClaim;

bool declared_float4(const ir::Value& v) {
  return v.type.is_tensor() && v.type.elem == DType::Float && v.type.shape && v.type.shape->size() == 4;
}

bool declared_8bit4(const ir::Value& v) {
  return v.type.is_tensor() && (v.type.elem == DType::UInt8 || v.type.elem == DType::Int8) && v.type.shape &&
         v.type.shape->size() == 4;
}

// Picks the values stored in NHWC order and writes each claim's Layouts. A value is NHWC when a
// dnnl claim writes it (and can write NHWC), it is 4-D whenever that step succeeds, and its every
// reader is a dnnl claim of this graph reading it where the kernel takes NHWC data of the kind the
// producer writes, float or 8-bit (so no graph output, subgraph, or cpu step ever sees the NHWC order).
void decide_layouts(const GraphView& view, std::vector<DnnlClaim>& claims) {
  std::vector<const ir::Node*> all;
  std::unordered_map<const ir::Node*, size_t> owner;
  std::vector<std::vector<const ir::Value*>> inputs(claims.size());
  std::unordered_map<const ir::Value*, size_t> producer;
  std::unordered_set<const ir::Value*> eight;  // written by 8-bit steps
  for (size_t i = 0; i < claims.size(); ++i) {
    for (const ir::Node* n : claims[i].claim.nodes) {
      all.push_back(n);
      owner.emplace(n, i);
    }
    inputs[i] = group_inputs(claims[i].claim.nodes);
    if (const ir::Value* o = claims[i].claim.nodes.back()->output(0)) {
      producer.emplace(o, i);
      if (claims[i].out_8bit) eight.insert(o);
    }
  }
  // Values known to be 4-D: declared so, or written by a claim that guarantees it. Claims come in
  // graph order, but a group's inputs may be written by a later claim: iterate to a fixpoint.
  std::unordered_set<const ir::Value*> four;
  auto is_float4 = [&](const ir::Value* v) {
    return v && !eight.count(v) && (four.count(v) || declared_float4(*v));
  };
  auto is_8bit4 = [&](const ir::Value* v) {
    return v && (eight.count(v) ? four.count(v) > 0 : declared_8bit4(*v));
  };
  auto ok_8bit = [&](size_t i, size_t k) { return k < claims[i].nhwc_8bit_ok.size() && claims[i].nhwc_8bit_ok[k]; };
  // Claim i can take `v` at input k in NHWC order.
  auto accepts = [&](size_t i, size_t k, const ir::Value* v) {
    return (claims[i].nhwc_ok[k] && is_float4(v)) || (ok_8bit(i, k) && is_8bit4(v));
  };
  auto act_inputs_4d = [&](size_t i) {
    for (size_t k = 0; k < inputs[i].size(); ++k)
      if ((claims[i].nhwc_ok[k] || ok_8bit(i, k)) && !accepts(i, k, inputs[i][k])) return false;
    return true;
  };
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < claims.size(); ++i) {
      const ir::Value* o = claims[i].claim.nodes.back()->output(0);
      if (!o || four.count(o) || !claims[i].out_nhwc_ok) continue;
      if (claims[i].out_float4_always || act_inputs_4d(i)) {
        four.insert(o);
        changed = true;
      }
    }
  }
  std::unordered_set<const ir::Value*> nhwc;
  for (const auto& [v, i] : producer) {
    if (!four.count(v) || !view.read_only_by(*v, all)) continue;
    bool ok = true;
    for (const ir::Use& u : v->uses()) {
      const size_t j = owner.at(u.node);
      if (claims[j].nhwc_needs_all_float4 && !act_inputs_4d(j)) ok = false;
      for (size_t k = 0; k < inputs[j].size(); ++k)
        if (inputs[j][k] == v && !accepts(j, k, v)) ok = false;
    }
    if (ok) nhwc.insert(v);
  }
  // Steps whose output keeps its input's layout: both NHWC or both not (dropping a value from the set
  // is always safe: every kernel takes the plain order).
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < claims.size(); ++i) {
      const ir::Value* o = claims[i].claim.nodes.back()->output(0);
      if (!claims[i].same_layout || !o || inputs[i].empty()) continue;
      const ir::Value* in = inputs[i][0];
      if ((in && nhwc.count(in) > 0) != (nhwc.count(o) > 0)) {
        if (in) nhwc.erase(in);
        nhwc.erase(o);
        changed = true;
      }
    }
  }
  // Values between float convs go in 8-channel blocks where the CPU's conv kernels want them: written
  // by a conv, read only by convs (each where it takes blocks), a multiple of 8 channels. Only convs
  // read or write them, so taking one out of the NHWC set leaves the same-layout steps alone.
  std::unordered_set<const ir::Value*> blocked;
  if (dnnl_ep::convs_prefer_blocked8()) {
    for (const auto& [v, i] : producer) {
      if (!claims[i].out_blocked_ok || claims[i].out_channels <= 0 || claims[i].out_channels % 8 != 0 ||
          !view.read_only_by(*v, all))
        continue;
      bool ok = true;
      for (const ir::Use& u : v->uses()) {
        const size_t j = owner.at(u.node);
        for (size_t k = 0; k < inputs[j].size(); ++k)
          if (inputs[j][k] == v && !(k < claims[j].blocked_ok.size() && claims[j].blocked_ok[k])) ok = false;
      }
      if (ok) {
        blocked.insert(v);
        nhwc.erase(v);
      }
    }
  }
  for (size_t i = 0; i < claims.size(); ++i) {
    dnnl_ep::Layouts& l = *claims[i].layouts;
    l.in_nhwc.assign(inputs[i].size(), false);
    l.in_blocked.assign(inputs[i].size(), false);
    for (size_t k = 0; k < inputs[i].size(); ++k) {
      l.in_nhwc[k] = inputs[i][k] && nhwc.count(inputs[i][k]) > 0;
      l.in_blocked[k] = inputs[i][k] && blocked.count(inputs[i][k]) > 0;
    }
    const ir::Value* o = claims[i].claim.nodes.back()->output(0);
    l.out_nhwc = o && nhwc.count(o) > 0;
    l.out_blocked = o && blocked.count(o) > 0;
  }
}

class DnnlProvider final : public Provider {
 public:
  explicit DnnlProvider(const ProviderOptions& options) : threads_(options.threads) {}
  std::string name() const override { return "dnnl"; }

  std::vector<Claim> claim(const GraphView& view) const override {
    // The view's taken mask only changes between providers: a copy where this call's own claims
    // are taken too keeps a later claim from fusing a node an earlier one holds (resnet's downsample
    // conv and the block's last conv both reach for the residual Add).
    GraphView local(view);
    // Int8 groups first: their cores read DequantizeLinear outputs, which the float MatMul claim
    // would otherwise take as computed float tensors.
    std::vector<DnnlClaim> made = dnnl_ep::claim_int8(local, threads_);
    // Then quantized Adds written as QDQ, before their DequantizeLinear nodes are claimed alone.
    for (size_t i = 0; i < local.order().size(); ++i) {
      if (local.taken()[i] || !ir::is_op(*local.order()[i], "Add")) continue;
      std::optional<DnnlClaim> c = dnnl_ep::claim_add_group(local, *local.order()[i]);
      if (!c) continue;
      for (const ir::Node* m : c->claim.nodes) local.take(static_cast<size_t>(local.index_of(m)));
      made.push_back(std::move(*c));
    }
    // Outputs of claims made so far that are float 4-D whenever their step succeeds: Add, Mul and
    // Concat are worth oneDNN only between such steps (and then need no fallback).
    std::unordered_set<const ir::Value*> float4;
    auto from_region = [&](const ir::Node& n) {
      for (const ir::Value* v : n.inputs())
        if (!v || !float4.count(v)) return false;
      return n.num_inputs() > 0;
    };
    for (size_t i = 0; i < local.order().size(); ++i) {
      const ir::Node* n = local.order()[i];
      if (local.taken()[i]) continue;
      const bool runtime_domain = n->domain() == kRuntimeDomain;
      if (!runtime_domain && !ir::is_default_domain(n->domain())) continue;
      const std::string& op = n->op_type();
      std::optional<DnnlClaim> c;
      // The runtime domain's LayerNormalization (the fused form bench and the optimizer write) has
      // the opset-17 contract; nothing else of that domain is for oneDNN.
      if (runtime_domain) c = op == "LayerNormalization" ? dnnl_ep::claim_layer_norm(local, *n, threads_) : c;
      else if (op == "Softmax") c = dnnl_ep::claim_softmax(local, *n, threads_);
      else if (op == "LayerNormalization") c = dnnl_ep::claim_layer_norm(local, *n, threads_);
      else if (op == "Conv") c = dnnl_ep::claim_conv(local, *n, threads_);
      else if (op == "ConvTranspose") c = dnnl_ep::claim_deconv(local, *n, threads_);
      else if (op == "Gemm") c = dnnl_ep::claim_gemm(local, *n, threads_);
      else if (op == "LSTM" || op == "GRU" || op == "RNN") c = dnnl_ep::claim_recurrent(local, *n);
      else if (op == "QuantizeLinear" || op == "DequantizeLinear") c = dnnl_ep::claim_qdq(local, *n);
      else if (op == "MatMulInteger") c = dnnl_ep::claim_matmul_integer(local, *n, threads_);
      else if (op == "ConvInteger") c = dnnl_ep::claim_conv_integer(local, *n, threads_);
      else if (op == "MatMul" && !(c = dnnl_ep::claim_gemm(local, *n, threads_)))
        c = dnnl_ep::claim_matmul(local, *n, threads_);
      // A windowed pool only on its steps' outputs: on a plain NCHW tensor oneDNN runs its simple_nchw pooling,
      // 6x slower than the cpu kernel (a dynamic-quantized SqueezeNet's first MaxPool: 18 against 3 ms).
      else if (((op == "MaxPool" || op == "AveragePool" || op == "ReduceMean") && n->num_inputs() == 1 &&
                float4.count(n->input(0))) ||
               op == "GlobalAveragePool" || op == "GlobalMaxPool")
        c = dnnl_ep::claim_pool(local, *n, threads_);
      else if (op == "BatchNormalization" && n->num_inputs() == 5 && float4.count(n->input(0)))
        c = dnnl_ep::claim_batch_norm(local, *n, threads_);
      else if ((op == "Add" || op == "Mul") && from_region(*n)) c = dnnl_ep::claim_binary(local, *n, threads_);
      else if (op == "Concat" && from_region(*n) && !(c = dnnl_ep::claim_shuffle(local, *n)))
        c = dnnl_ep::claim_concat(local, *n, threads_);
      else if (op == "Reshape" && n->num_inputs() > 0 && float4.count(n->input(0)))
        c = dnnl_ep::claim_shuffle(local, *n);
      else if (op == "Slice" && n->num_inputs() > 0 && float4.count(n->input(0)))
        c = dnnl_ep::claim_channel_slice(local, *n);
      else if ((op == "Resize" || op == "Upsample") && n->num_inputs() > 0 && float4.count(n->input(0)))
        c = dnnl_ep::claim_resize(local, *n);
      else if ((op == "Relu" || op == "LeakyRelu" || op == "Sigmoid" || op == "Tanh" || op == "Clip" ||
                op == "HardSwish") &&
               n->num_inputs() > 0 && float4.count(n->input(0)))
        c = dnnl_ep::claim_eltwise(local, *n, threads_);
      if (!c) continue;
      bool clash = false;
      for (const ir::Node* m : c->claim.nodes) clash = clash || local.is_taken(m);
      if (clash) continue;  // the helpers check is_taken; this only guards against a slip
      for (const ir::Node* m : c->claim.nodes) local.take(static_cast<size_t>(local.index_of(m)));
      const std::vector<const ir::Value*> ins = group_inputs(c->claim.nodes);
      bool out4 = c->out_nhwc_ok;
      for (size_t k = 0; k < ins.size() && out4 && !c->out_float4_always; ++k)
        if (c->nhwc_ok[k] && !(ins[k] && (float4.count(ins[k]) || declared_float4(*ins[k])))) out4 = false;
      if (out4 && !c->out_8bit && c->claim.nodes.back()->output(0)) float4.insert(c->claim.nodes.back()->output(0));
      made.push_back(std::move(*c));
    }
    decide_layouts(view, made);
    std::vector<Claim> out;
    out.reserve(made.size());
    for (DnnlClaim& c : made) out.push_back(std::move(c.claim));
    return out;
  }

  // Everything goes through claim(); no single-node registry kernels.
  const KernelRegistry& registry() const override {
    static const KernelRegistry empty;
    return empty;
  }

 private:
  int threads_;
};

}  // namespace

std::unique_ptr<Provider> make_dnnl_provider(const ProviderOptions& options) {
  return std::make_unique<DnnlProvider>(options);
}

}  // namespace ortool::rt
