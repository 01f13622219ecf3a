// Helpers for the pass tests: building small models in code, running one pass, counting ops, and
// comparing the outputs of two models on seeded random inputs with the runtime.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "lib/onnx_export.h"
#include "lib/onnx_import.h"
#include "lib/tensor_compare.h"
#include "passes/pass_manager.h"
#include "runtime/feeds.h"
#include "runtime/session.h"

namespace ortool::testing {

// A model under construction: `b.input(...)`, `b.node(...)`, `b.output(...)`.
class ModelBuilder {
 public:
  explicit ModelBuilder(int64_t opset = 17) : model(std::make_unique<ir::Model>()) {
    model->ir_version = 8;
    model->set_opset("", opset);
  }
  ir::Graph& g() { return *model->graph; }

  ir::Value* input(const std::string& name, std::vector<int64_t> dims, DType t = DType::Float) {
    ir::Value* v = g().add_value(name);
    v->type = Type::tensor(t, shape_from_dims(dims));
    g().add_input(v);
    return v;
  }
  // An input whose dims are symbols where `dims` has -1.
  ir::Value* symbolic_input(const std::string& name, std::vector<int64_t> dims, DType t = DType::Float) {
    ir::Value* v = input(name, {}, t);
    Shape s;
    for (size_t i = 0; i < dims.size(); ++i)
      s.push_back(dims[i] < 0 ? Dim::symbol(name + "_d" + std::to_string(i)) : Dim::known(dims[i]));
    v->type.shape = s;
    return v;
  }
  ir::Value* init(const std::string& name, Tensor t) {
    ir::Value* v = g().add_initializer(name, std::make_shared<const Tensor>(std::move(t)));
    v->type = Type::tensor(v->constant()->dtype(), shape_from_dims(v->constant()->dims()));
    return v;
  }
  // A float32 initializer of uniform values in [lo, hi).
  ir::Value* random_init(const std::string& name, std::vector<int64_t> dims, float lo = -1, float hi = 1) {
    Tensor t(DType::Float, dims);
    std::uniform_real_distribution<float> dist(lo, hi);
    for (int64_t i = 0; i < t.numel(); ++i) t.mutable_data<float>()[i] = dist(rng_);
    return init(name, std::move(t));
  }
  ir::Value* ints(const std::string& name, std::vector<int64_t> values) {
    return init(name, Tensor::from_vector(DType::Int64, {static_cast<int64_t>(values.size())}, values));
  }
  ir::Value* scalar(const std::string& name, float v) { return init(name, Tensor::scalar_f32(v)); }

  // One node with `n_out` outputs named after the node; returns its first output.
  ir::Value* node(const std::string& op, std::vector<ir::Value*> inputs, std::vector<ir::Attribute> attrs = {},
                  size_t n_out = 1) {
    std::vector<std::string> outs;
    std::string base = op + std::to_string(counter_++);
    for (size_t i = 0; i < n_out; ++i) outs.push_back(n_out == 1 ? base : base + "_" + std::to_string(i));
    last = g().add_node(op, "", inputs, outs, base);
    for (auto& a : attrs) last->set_attr(std::move(a));
    return last->output(0);
  }
  void output(ir::Value* v) { g().add_output(v); }

  std::unique_ptr<ir::Model> model;
  ir::Node* last = nullptr;

 private:
  std::mt19937 rng_{1234};
  int counter_ = 0;
};

// An If node on `cond` whose branches read `v` (then: Neg(v), else: Abs(v)); returns its output.
inline ir::Value* if_reading(ModelBuilder& b, ir::Value* cond, ir::Value* v) {
  auto branch = [&](const std::string& op) {
    auto sg = std::make_shared<ir::Graph>(&b.g(), nullptr);
    ir::Node* n = sg->add_node(op, "", {v}, {op + "_out"});
    sg->add_output(n->output(0));
    return sg;
  };
  ir::Value* y = b.node("If", {cond});
  for (const auto& [name, op] : {std::pair<const char*, const char*>{"then_branch", "Neg"}, {"else_branch", "Abs"}}) {
    ir::Attribute a;
    a.name = name;
    a.type = ir::AttrType::Graph;
    a.g = branch(op);
    a.g->set_parent(&b.g(), b.last);
    b.last->set_attr(a);
  }
  return y;
}

inline ir::Attribute ints_attr(const std::string& name, std::vector<int64_t> v) {
  return ir::Attribute::make_ints(name, std::move(v));
}
inline ir::Attribute int_attr(const std::string& name, int64_t v) { return ir::Attribute::make_int(name, v); }
inline ir::Attribute float_attr(const std::string& name, float v) { return ir::Attribute::make_float(name, v); }

// A deep copy through export and import.
inline std::unique_ptr<ir::Model> clone_model(const ir::Model& m) {
  auto bytes = export_model_proto_bytes(m);
  REQUIRE_MESSAGE(bytes.is_ok(), bytes.status().message());
  auto copy = import_model_proto(*bytes, {});
  REQUIRE_MESSAGE(copy.is_ok(), copy.status().message());
  return std::move(copy).value();
}

// Nodes of this op type in the graph (subgraphs not included).
inline int count_ops(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (const ir::Node* node : g.nodes()) n += node->op_type() == op;
  return n;
}

// Runs the named passes once each (or to a fixpoint) with verification after every pass.
inline passes::PipelineReport run_passes(ir::Model& m, const std::vector<std::string>& names, bool fixpoint = false,
                                         size_t fold_max_bytes = size_t{16} << 20, bool runtime_ops = false) {
  passes::PassManagerOptions o;
  o.verify_each = true;
  o.max_iterations = fixpoint ? 16 : 1;
  passes::PassManager pm(o);
  for (const std::string& n : names) REQUIRE(pm.add(n).is_ok());
  passes::PassContext ctx;
  ctx.fold_max_bytes = fold_max_bytes;
  ctx.runtime_ops = runtime_ops;
  auto r = pm.run(m, ctx);
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  REQUIRE_MESSAGE(m.graph->verify().is_ok(), m.graph->verify().message());
  return *r;
}

// Runs both models on seeded random inputs and checks every output agrees within the tolerance.
inline void check_same_outputs(const ir::Model& want_model, const ir::Model& got_model, int seeds = 2,
                               Tolerance tol = {1e-5, 1e-4}) {
  auto a = rt::Session::create(want_model);
  REQUIRE_MESSAGE(a.is_ok(), a.status().message());
  auto b = rt::Session::create(got_model);
  REQUIRE_MESSAGE(b.is_ok(), b.status().message());
  for (int s = 0; s < seeds; ++s) {
    auto feeds = rt::random_inputs(*want_model.graph, 100 + s, {}, {});
    REQUIRE_MESSAGE(feeds.is_ok(), feeds.status().message());
    auto want = (*a)->run(*feeds);
    REQUIRE_MESSAGE(want.is_ok(), want.status().message());
    auto got = (*b)->run(*feeds);
    REQUIRE_MESSAGE(got.is_ok(), got.status().message());
    REQUIRE(want->size() == got->size());
    for (size_t i = 0; i < want->size(); ++i) {
      REQUIRE((*want)[i].is_tensor());
      REQUIRE((*got)[i].is_tensor());
      CompareStats st = compare_tensors((*want)[i].tensor, (*got)[i].tensor, tol);
      CHECK_MESSAGE(st.mismatch.empty(), st.mismatch);
      CHECK_MESSAGE(st.failed == 0, "output ", i, ": ", st.failed, " elements differ, max abs ", st.max_abs);
    }
  }
}

// Runs `names` on a copy of `m`, checks the outputs still agree, and returns the optimized copy. `runtime_ops`:
// as for a graph that stays in memory (PassContext::runtime_ops), else as for one that will be written.
inline std::unique_ptr<ir::Model> optimize_and_compare(const ir::Model& m, const std::vector<std::string>& names,
                                                       bool fixpoint = false, Tolerance tol = {1e-5, 1e-4},
                                                       bool runtime_ops = false) {
  auto before = clone_model(m);
  auto after = clone_model(m);
  run_passes(*after, names, fixpoint, size_t{16} << 20, runtime_ops);
  check_same_outputs(*before, *after, 2, tol);
  return after;
}

}  // namespace ortool::testing
