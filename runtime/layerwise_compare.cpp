// compare_layerwise: pairs the values two models share, watches them in both runs, judges each one.
#include "runtime/layerwise_compare.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

namespace ortool::rt {

namespace {

// The per-tensor QuantizeLinear of B that reads `v`, with its constant scalar scale and zero point.
std::optional<LayerPair> quantized_form(const ir::Value& v) {
  for (const ir::Use& u : v.uses()) {
    const ir::Node& q = *u.node;
    if (u.index != 0 || q.op_type() != "QuantizeLinear" || !q.domain().empty() || q.num_inputs() < 2 ||
        q.num_outputs() < 1 || !q.output(0))
      continue;
    const ir::Value* scale = q.input(1);
    const ir::Value* zp = q.num_inputs() > 2 ? q.input(2) : nullptr;
    if (!scale || !scale->is_constant() || scale->constant()->numel() != 1 ||
        scale->constant()->dtype() != DType::Float)
      continue;
    LayerPair p;
    p.tensor_b = q.output(0)->name();
    p.dequantize = true;
    p.scale = scale->constant()->data<float>()[0];
    if (zp) {
      if (!zp->is_constant() || zp->constant()->numel() != 1) continue;
      const Tensor& z = *zp->constant();
      if (z.dtype() == DType::UInt8) p.zero_point = z.data<uint8_t>()[0];
      else if (z.dtype() == DType::Int8) p.zero_point = z.data<int8_t>()[0];
      else continue;  // 16-bit and float8 forms are not read here
    }
    return p;
  }
  return std::nullopt;
}

// Ops a graph optimizer or a quantizer folds into the node before them (Conv+BatchNormalization,
// Gemm+Add, Conv+Relu, a Relu folded into the quantized range), keeping that node's output name.
bool absorbable(const ir::Node& n) {
  static const std::set<std::string, std::less<>> ops = {"BatchNormalization", "Add", "Sub", "Mul", "Div", "Relu",
                                                          "Clip", "LeakyRelu", "Identity", "Dropout"};
  return n.domain().empty() && ops.count(n.op_type()) && n.num_outputs() >= 1 && n.output(0);
}

// The values of A after `va` that B folded into `va`'s producer: the chain of single readers through
// absorbable ops (their other inputs constant) whose outputs B has no value for. B's value named like
// `va` then stands for the chain's last value.
std::vector<const ir::Value*> absorbed_chain(const ir::Value& va, const ir::Graph& b) {
  std::vector<const ir::Value*> chain;
  const ir::Value* v = &va;
  while (chain.size() < 8) {
    if (v->uses().size() != 1 || v->is_graph_output()) break;
    const ir::Node& n = *v->uses()[0].node;
    if (!absorbable(n)) break;
    bool others_constant = true;
    for (size_t i = 0; i < n.num_inputs(); ++i)
      if (const ir::Value* in = n.input(i); in && in != v && !in->is_constant() &&
                                            !(in->producer() && in->producer()->op_type() == "Constant"))
        others_constant = false;
    const ir::Value* out = n.output(0);
    if (!others_constant || b.find_value(out->name())) break;
    chain.push_back(out);
    v = out;
  }
  return chain;
}

bool is_activation(const ir::Value& v) {
  return v.producer() && (v.producer()->op_type() == "Relu" || v.producer()->op_type() == "Clip");
}

// The pairs for A's value `va`: B's value of its name, or B's dequantized 8-bit form of it. Where B
// folded the ops after `va` into its producer (absorbed_chain), B's values stand for A's later values:
// those pairs go to `deferred`, to be placed in graph order when the walk reaches them.
void pairs_for(const ir::Value& va, const ir::Graph& b, std::vector<LayerPair>& out,
               std::map<const ir::Value*, LayerPair>& deferred) {
  if (auto it = deferred.find(&va); it != deferred.end()) {
    out.push_back(std::move(it->second));
    deferred.erase(it);
    return;
  }
  const ir::Value* vb = b.find_value(va.name());
  if (!vb || vb->is_constant()) return;
  std::vector<const ir::Value*> chain = absorbed_chain(va, b);
  auto place = [&](const ir::Value* a_value, LayerPair p) {
    p.tensor_a = a_value->name();
    if (a_value == &va) out.push_back(std::move(p));
    else deferred[a_value] = std::move(p);
  };
  LayerPair plain;
  plain.tensor_b = vb->name();
  if (std::optional<LayerPair> q = quantized_form(*vb)) {
    if (chain.empty()) {
      place(&va, std::move(*q));
    } else if (is_activation(*chain.back())) {
      // A Relu or Clip folded into the quantized range: the 8-bit value stands for its output (the range
      // clips what it would), B's float value for what came before it.
      place(chain.back(), std::move(*q));
      place(chain.size() >= 2 ? chain[chain.size() - 2] : &va, std::move(plain));
    } else {
      place(chain.back(), std::move(*q));
    }
    return;
  }
  // A graph input fed alike to both models is equal by construction: nothing to learn from it.
  if (chain.empty() && va.is_graph_input()) return;
  place(chain.empty() ? &va : chain.back(), std::move(plain));
}

// (q - zero_point) * scale as float32, for an 8-bit tensor.
Tensor dequantize(const Tensor& q, const LayerPair& p) {
  Tensor out(DType::Float, q.dims());
  float* o = out.mutable_data<float>();
  for (int64_t k = 0; k < q.numel(); ++k) {
    int32_t v = q.dtype() == DType::UInt8 ? int32_t{q.data<uint8_t>()[k]} : int32_t{q.data<int8_t>()[k]};
    o[k] = static_cast<float>(v - p.zero_point) * p.scale;
  }
  return out;
}

}  // namespace

Result<std::vector<LayerPair>> match_layer_values(const ir::Graph& a, const ir::Graph& b) {
  std::vector<LayerPair> out;
  // Only values computed from the feeds (activations): weights, Constant nodes and what is computed
  // from them alone are the same on every sample, and a changed weight shows in the node reading it.
  std::set<const ir::Value*> fed;
  std::map<const ir::Value*, LayerPair> deferred;
  for (const ir::Value* v : a.inputs())
    if (!v->is_constant()) {
      fed.insert(v);
      pairs_for(*v, b, out, deferred);
    }
  ASSIGN_OR_RETURN(std::vector<ir::Node*> order, a.topological_order());
  for (const ir::Node* n : order) {
    bool from_feeds = false;
    for (size_t i = 0; i < n->num_inputs(); ++i) from_feeds = from_feeds || (n->input(i) && fed.count(n->input(i)));
    // A node with a subgraph may read the feeds from inside it: count its outputs as activations.
    from_feeds = from_feeds || !n->subgraphs().empty();
    if (!from_feeds) continue;
    for (size_t i = 0; i < n->num_outputs(); ++i)
      if (const ir::Value* v = n->output(i); v && !v->name().empty() && !v->is_constant()) {
        fed.insert(v);
        pairs_for(*v, b, out, deferred);
      }
  }
  return out;
}

std::vector<size_t> LayerwiseResult::lowest_sqnr(size_t n) const {
  std::vector<size_t> idx;
  for (size_t i = 0; i < layers.size(); ++i)
    if (layers[i].accuracy.min_sqnr_db && std::isfinite(*layers[i].accuracy.min_sqnr_db)) idx.push_back(i);
  std::stable_sort(idx.begin(), idx.end(), [this](size_t x, size_t y) {
    return *layers[x].accuracy.min_sqnr_db < *layers[y].accuracy.min_sqnr_db;
  });
  if (idx.size() > n) idx.resize(n);
  return idx;
}

Result<LayerwiseResult> compare_layerwise(const ir::Model& a, const ir::Model& b, const SampleSource& samples,
                                         const LayerwiseOptions& options) {
  LayerwiseResult result;
  ASSIGN_OR_RETURN(std::vector<LayerPair> pairs, match_layer_values(*a.graph, *b.graph));
  std::map<std::string, size_t> by_b;  // B's watched value -> its layer
  for (LayerPair& p : pairs) {
    LayerStats s;
    if (const ir::Node* n = a.graph->find_value(p.tensor_a)->producer()) {
      s.node = n->name.empty() ? n->describe() : n->name;
      s.op_type = n->op_type();
    }
    s.accuracy = OutputAccuracy(p.tensor_a, options.gates.tol);
    s.pair = std::move(p);
    by_b[s.pair.tensor_b] = result.layers.size();
    result.layers.push_back(std::move(s));
  }

  // A's run keeps this sample's values; B's run judges each of its values against A's and drops A's copy.
  std::map<std::string, RValue> kept;
  std::string label;
  SessionOptions so_a = options.session_a, so_b = options.session_b;
  so_a.observe = {};
  so_b.observe = {};
  if (!result.layers.empty()) {
    so_a.observe.select = so_b.observe.select = ObserveOptions::Select::Named;
    for (const LayerStats& s : result.layers) {
      so_a.observe.values.push_back(s.pair.tensor_a);
      so_b.observe.values.push_back(s.pair.tensor_b);
    }
    so_a.observe.callback = [&kept](const ir::Value& v, const RValue& data) {
      kept[v.name()] = data;
      return Status::ok();
    };
    so_b.observe.callback = [&](const ir::Value& v, const RValue& data) {
      auto it = by_b.find(v.name());
      if (it == by_b.end()) return Status::ok();
      LayerStats& s = result.layers[it->second];
      auto ref = kept.find(s.pair.tensor_a);
      if (ref == kept.end()) return Status::ok();  // A did not make it this run (an If branch not taken)
      if (s.pair.dequantize && data.is_tensor() &&
          (data.tensor.dtype() == DType::UInt8 || data.tensor.dtype() == DType::Int8))
        s.accuracy.add(ref->second, RValue(dequantize(data.tensor, s.pair)), label);
      else
        s.accuracy.add(ref->second, data, label);
      kept.erase(ref);
      return Status::ok();
    };
  }
  auto sa = Session::create(a, so_a);
  if (!sa.is_ok()) return sa.status().with_context(options.name_a);
  auto sb = Session::create(b, so_b);
  if (!sb.is_ok()) return sb.status().with_context(options.name_b);
  if ((*sa)->outputs().size() != (*sb)->outputs().size())
    return invalid("{} has {} outputs but {} has {}", options.name_b, (*sb)->outputs().size(), options.name_a,
                   (*sa)->outputs().size());
  std::vector<std::string> names;
  for (const ir::Value* v : (*sa)->outputs()) names.push_back(v->name());
  result.outputs = std::make_unique<AccuracyReport>(names, options.gates);
  result.sample_source = samples.describe();
  for (size_t i = 0; i < samples.size(); ++i) {
    if (options.progress) options.progress(i, samples.size());
    ASSIGN_OR_RETURN(Sample s, samples.get(i));
    label = s.label;
    auto where = [&](const Status& st) {
      return samples.size() > 1 ? st.with_context(fmt::format("sample {}", s.label)) : st;
    };
    kept.clear();
    auto ra = (*sa)->run(s.feeds);
    if (!ra.is_ok()) return where(ra.status().with_context(options.name_a));
    auto rb = (*sb)->run(s.feeds);
    if (!rb.is_ok()) return where(rb.status().with_context(options.name_b));
    TRY(result.outputs->add(*ra, *rb, s.label));
    ++result.samples;
  }
  kept.clear();
  if (options.progress) options.progress(samples.size(), samples.size());
  for (size_t i = 0; i < result.layers.size(); ++i) {
    LayerStats& s = result.layers[i];
    s.verdict = judge(s.accuracy, options.gates);
    if (!s.verdict.passed && !result.first_divergent) result.first_divergent = i;
  }
  return result;
}

}  // namespace ortool::rt
