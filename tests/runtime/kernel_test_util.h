// Helpers the kernel tests share: typed tensors from literals, values back out, one-node runs.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "runtime/session.h"

namespace ortool::kernel_test {

template <typename T>
Tensor make(DType dt, std::vector<int64_t> dims, const std::vector<T>& v) {
  Tensor t(dt, std::move(dims));
  REQUIRE(static_cast<int64_t>(v.size()) == t.numel());
  for (size_t i = 0; i < v.size(); ++i) t.mutable_data<T>()[i] = v[i];
  return t;
}
inline Tensor f32(std::vector<int64_t> dims, const std::vector<float>& v) { return make<float>(DType::Float, std::move(dims), v); }
inline Tensor f64(std::vector<int64_t> dims, const std::vector<double>& v) { return make<double>(DType::Double, std::move(dims), v); }
inline Tensor i32(std::vector<int64_t> dims, const std::vector<int32_t>& v) { return make<int32_t>(DType::Int32, std::move(dims), v); }
inline Tensor i64(std::vector<int64_t> dims, const std::vector<int64_t>& v) { return make<int64_t>(DType::Int64, std::move(dims), v); }
inline Tensor u8(std::vector<int64_t> dims, const std::vector<uint8_t>& v) { return make<uint8_t>(DType::UInt8, std::move(dims), v); }
inline Tensor i8(std::vector<int64_t> dims, const std::vector<int8_t>& v) { return make<int8_t>(DType::Int8, std::move(dims), v); }

// The elements of a tensor value as T (the element size must match).
template <typename T>
std::vector<T> values(const RValue& r) {
  REQUIRE(r.is_tensor());
  REQUIRE(r.tensor.element_size() == sizeof(T));
  return std::vector<T>(r.tensor.data<T>(), r.tensor.data<T>() + r.tensor.numel());
}

// n uniform floats in [lo, hi) from a fixed seed.
inline std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -2.0f, float hi = 2.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(gen);
  return v;
}

// Runs one node on `inputs` (None: an omitted optional input) through rt::run_node, the path constant
// folding takes. The node is of the default domain at `opset`, or of `domain` (imported at `opset`).
inline Result<std::vector<RValue>> run1(const std::string& op, int64_t opset, std::vector<RValue> inputs,
                                        size_t outputs = 1, std::vector<ir::Attribute> attrs = {},
                                        const std::string& name = "n", const std::string& domain = "") {
  static std::vector<std::unique_ptr<ir::Model>> keep;  // nodes must outlive the call
  auto m = std::make_unique<ir::Model>();
  m->set_opset("", domain.empty() ? opset : 13);
  if (!domain.empty()) m->set_opset(domain, opset);
  std::vector<ir::Value*> ins;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].is_none()) {
      ins.push_back(nullptr);
      continue;
    }
    ir::Value* v = m->graph->add_value("in" + std::to_string(i));
    m->graph->add_input(v);
    ins.push_back(v);
  }
  std::vector<std::string> outs;
  for (size_t i = 0; i < outputs; ++i) outs.push_back("out" + std::to_string(i));
  ir::Node* n = m->graph->add_node(op, domain, ins, outs, name);
  for (auto& a : attrs) n->set_attr(a);
  for (size_t i = 0; i < outputs; ++i) m->graph->add_output(n->output(i));
  auto r = rt::run_node(*n, *m, std::move(inputs));
  keep.push_back(std::move(m));
  return r;
}

}  // namespace ortool::kernel_test
