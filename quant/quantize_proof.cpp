// prove_quantized: output accuracy of the quantized model against the float one, and per-tensor SQNR.
#include "quant/quantize_proof.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string_view>

#include <fmt/format.h>

namespace ortool::quant {

namespace {

constexpr std::string_view kQSuffix = "_QuantizeLinear_Output";

// Scalar scale and zero point of a per-tensor quantized activation.
struct Dequant {
  float scale = 1;
  int32_t zero_point = 0;
};

std::optional<Dequant> constant_params(const ir::Value* scale, const ir::Value* zp) {
  if (!scale || !scale->is_constant() || scale->constant()->numel() != 1 || scale->constant()->dtype() != DType::Float)
    return std::nullopt;
  Dequant d;
  d.scale = scale->constant()->data<float>()[0];
  if (zp) {
    if (!zp->is_constant() || zp->constant()->numel() != 1) return std::nullopt;
    const Tensor& z = *zp->constant();
    if (z.dtype() == DType::UInt8) d.zero_point = z.data<uint8_t>()[0];
    else if (z.dtype() == DType::Int8) d.zero_point = z.data<int8_t>()[0];
    else return std::nullopt;
  }
  return d;
}

// Where the QOperator ops that make an 8-bit output keep its scale and zero point (input positions).
std::optional<std::pair<size_t, size_t>> output_param_slots(const ir::Node& n) {
  static const std::map<std::string, std::pair<size_t, size_t>> slots = {
      {"QLinearConv", {6, 7}},      {"QLinearMatMul", {6, 7}},          {"QGemm", {7, 8}},
      {"QLinearAdd", {6, 7}},       {"QLinearMul", {6, 7}},             {"QLinearSigmoid", {3, 4}},
      {"QLinearLeakyRelu", {3, 4}}, {"QLinearGlobalAveragePool", {3, 4}}, {"QLinearSoftmax", {3, 4}},
      {"QLinearAveragePool", {3, 4}}, {"QLinearConcat", {0, 1}}};
  auto it = slots.find(n.op_type());
  if (it == slots.end()) return std::nullopt;
  return it->second;
}

// The scale and zero point of the 8-bit value `v`; `depth` bounds the walk through pass-through ops.
std::optional<Dequant> find_params(const ir::Value* v, int depth = 0) {
  if (depth > 16) return std::nullopt;
  for (const ir::Use& u : v->uses())
    if (u.index == 0 && u.node->op_type() == "DequantizeLinear" && u.node->domain().empty() && u.node->num_inputs() >= 2)
      if (auto d = constant_params(u.node->input(1), u.node->num_inputs() > 2 ? u.node->input(2) : nullptr)) return d;
  const ir::Node* p = v->producer();
  if (!p) return std::nullopt;
  if (p->op_type() == "QuantizeLinear" && p->num_inputs() >= 2)
    return constant_params(p->input(1), p->num_inputs() > 2 ? p->input(2) : nullptr);
  if (auto slots = output_param_slots(*p)) {
    if (p->num_inputs() <= slots->first) return std::nullopt;
    return constant_params(p->input(slots->first), p->num_inputs() > slots->second ? p->input(slots->second) : nullptr);
  }
  // A pass-through op run on the 8-bit tensor (Reshape, MaxPool, ...) keeps its input's parameters.
  if (p->num_inputs() >= 1 && p->input(0) && p->input(0)->type.is_tensor() && p->input(0)->type.elem == v->type.elem)
    return find_params(p->input(0), depth + 1);
  return std::nullopt;
}

// A Relu or Clip folded into its producer's range: the 8-bit value of `fv` stands for the activation's
// output (negative values clipped), so that is its float counterpart. Folded means the activation is
// `fv`'s only reader and its output has no quantized value of its own.
std::optional<std::string> folded_activation(const ir::Value* fv, const ir::Graph& q) {
  if (fv->uses().size() != 1 || fv->is_graph_output()) return std::nullopt;
  const ir::Node* act = fv->uses()[0].node;
  if ((act->op_type() != "Relu" && act->op_type() != "Clip") || act->num_outputs() != 1 || !act->output(0))
    return std::nullopt;
  const std::string& out = act->output(0)->name();
  if (q.find_value(out + std::string(kQSuffix))) return std::nullopt;
  return out;
}

struct Watched {
  std::string float_name, quant_name;
  Dequant params;
  size_t index = 0;  // into ProofResult::tensors
};

// The quantized activations of `q` that have a float counterpart in `f`.
std::vector<Watched> match_tensors(const ir::Graph& f, const ir::Graph& q) {
  std::vector<Watched> out;
  for (const ir::Value* v : q.values()) {
    const std::string& name = v->name();
    if (v->is_constant() || name.size() <= kQSuffix.size() || !name.ends_with(kQSuffix)) continue;
    if (!v->type.is_tensor() || (v->type.elem != DType::UInt8 && v->type.elem != DType::Int8)) continue;
    if (!v->producer() && !v->is_graph_input()) continue;
    const std::string base = name.substr(0, name.size() - kQSuffix.size());
    const ir::Value* fv = f.find_value(base);
    if (!fv || fv->is_constant()) continue;
    auto params = find_params(v);
    if (!params) continue;
    out.push_back({folded_activation(fv, q).value_or(base), name, *params, 0});
  }
  std::sort(out.begin(), out.end(), [](const Watched& a, const Watched& b) { return a.float_name < b.float_name; });
  return out;
}

}  // namespace

std::optional<double> TensorSqnr::sqnr_db() const {
  if (noise_energy == 0) return std::numeric_limits<double>::infinity();
  if (ref_energy == 0) return std::nullopt;
  return 10.0 * std::log10(ref_energy / noise_energy);
}

std::optional<double> ProofResult::worst_output_sqnr_db() const {
  std::optional<double> worst;
  if (!accuracy) return worst;
  for (const OutputAccuracy& o : accuracy->outputs())
    if (o.min_sqnr_db && (!worst || *o.min_sqnr_db < *worst)) worst = o.min_sqnr_db;
  return worst;
}

Result<ProofResult> prove_quantized(const ir::Model& float_model, const ir::Model& quantized,
                                    const rt::SampleSource& samples, const ProofOptions& options) {
  ProofResult result;
  std::vector<Watched> watched;
  if (options.tensor_sqnr) watched = match_tensors(*float_model.graph, *quantized.graph);
  for (size_t i = 0; i < watched.size(); ++i) {
    watched[i].index = i;
    TensorSqnr t;
    t.name = watched[i].float_name;
    if (const ir::Node* p = float_model.graph->find_value(t.name)->producer()) {
      t.producer = p->name.empty() ? p->describe() : p->name;
      t.op_type = p->op_type();
    }
    result.tensors.push_back(std::move(t));
  }

  // The float run keeps this sample's watched values; the quantized run compares against them as it goes.
  std::map<std::string, RValue> float_values;
  std::map<std::string, const Watched*> by_quant_name;
  rt::SessionOptions fo = options.session, qo = options.session;
  if (!watched.empty()) {
    fo.observe.select = rt::ObserveOptions::Select::Named;
    qo.observe.select = rt::ObserveOptions::Select::Named;
    fo.observe.values.clear();
    qo.observe.values.clear();
    for (const Watched& w : watched) {
      fo.observe.values.push_back(w.float_name);
      qo.observe.values.push_back(w.quant_name);
      by_quant_name[w.quant_name] = &w;
    }
    fo.observe.callback = [&float_values](const ir::Value& v, const RValue& data) {
      float_values[v.name()] = data;
      return Status::ok();
    };
    qo.observe.callback = [&](const ir::Value& v, const RValue& data) {
      auto it = by_quant_name.find(v.name());
      if (it == by_quant_name.end() || !data.is_tensor()) return Status::ok();
      const Watched& w = *it->second;
      auto f = float_values.find(w.float_name);
      if (f == float_values.end() || !f->second.is_tensor()) return Status::ok();
      const Tensor& ref = f->second.tensor;
      const Tensor& q = data.tensor;
      if (ref.dtype() != DType::Float || ref.numel() != q.numel()) return Status::ok();
      const float* r = ref.data<float>();
      double sig = 0, noise = 0;
      for (int64_t k = 0; k < q.numel(); ++k) {
        int32_t qi = q.dtype() == DType::UInt8 ? int32_t{q.data<uint8_t>()[k]} : int32_t{q.data<int8_t>()[k]};
        double deq = static_cast<double>(qi - w.params.zero_point) * w.params.scale;
        if (!std::isfinite(r[k])) continue;
        sig += double{r[k]} * r[k];
        noise += (r[k] - deq) * (r[k] - deq);
      }
      TensorSqnr& t = result.tensors[w.index];
      t.ref_energy += sig;
      t.noise_energy += noise;
      ++t.samples;
      return Status::ok();
    };
  }
  ASSIGN_OR_RETURN(auto fs, rt::Session::create(float_model, fo));
  auto qs_made = rt::Session::create(quantized, qo);
  if (!qs_made.is_ok()) return qs_made.status().with_context("the quantized model");
  auto& qs = *qs_made;
  if (fs->outputs().size() != qs->outputs().size())
    return internal_error("the quantized model has {} outputs, the float model {}", qs->outputs().size(),
                          fs->outputs().size());
  std::vector<std::string> names;
  for (const ir::Value* v : fs->outputs()) names.push_back(v->name());
  Gates gates = options.gates;
  gates.check_elements = false;
  result.accuracy = std::make_unique<AccuracyReport>(names, gates);
  result.sample_source = samples.describe();
  for (size_t i = 0; i < samples.size(); ++i) {
    if (options.progress) options.progress(i, samples.size());
    ASSIGN_OR_RETURN(rt::Sample s, samples.get(i));
    auto where = [&](const Status& st) { return st.with_context(fmt::format("sample {}", s.label)); };
    float_values.clear();
    auto a = fs->run(s.feeds);
    if (!a.is_ok()) return where(a.status().with_context("the float model"));
    auto b = qs->run(s.feeds);
    if (!b.is_ok()) return where(b.status().with_context("the quantized model"));
    TRY(result.accuracy->add(*a, *b, s.label));
    for (const OutputAccuracy& out : result.accuracy->outputs())
      if (!out.mismatch.empty())
        return internal_error("output '{}' of the quantized model differs in shape or type from the float model's: {} "
                              "(a quantizer bug)",
                              out.name, out.mismatch);
    ++result.samples;
  }
  float_values.clear();
  if (options.progress) options.progress(samples.size(), samples.size());
  // Worst first; undefined values last.
  std::stable_sort(result.tensors.begin(), result.tensors.end(), [](const TensorSqnr& a, const TensorSqnr& b) {
    auto x = a.sqnr_db(), y = b.sqnr_db();
    if (x.has_value() != y.has_value()) return x.has_value();
    return x && *x < *y;
  });
  return result;
}

}  // namespace ortool::quant
