// Unit tests of the tensor and misc kernel families (shape, data movement, indexing, generators, NMS,
// random, strings, training), against hand-computed values or naive loops written here.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "runtime/session.h"

using namespace ortool;
using rt::RValue;

namespace {

template <typename T>
Tensor mk(DType dt, std::vector<int64_t> dims, const std::vector<T>& v) {
  Tensor t(dt, std::move(dims));
  REQUIRE(static_cast<int64_t>(v.size()) == t.numel());
  for (size_t i = 0; i < v.size(); ++i) t.mutable_data<T>()[i] = v[i];
  return t;
}
Tensor f32(std::vector<int64_t> dims, const std::vector<float>& v) { return mk<float>(DType::Float, std::move(dims), v); }
Tensor i64(std::vector<int64_t> dims, const std::vector<int64_t>& v) { return mk<int64_t>(DType::Int64, std::move(dims), v); }
Tensor i32(std::vector<int64_t> dims, const std::vector<int32_t>& v) { return mk<int32_t>(DType::Int32, std::move(dims), v); }
Tensor boolt(std::vector<int64_t> dims, const std::vector<uint8_t>& v) { return mk<uint8_t>(DType::Bool, std::move(dims), v); }
Tensor strs(std::vector<int64_t> dims, std::vector<std::string> v) {
  Tensor t(DType::String, std::move(dims));
  REQUIRE(static_cast<int64_t>(v.size()) == t.numel());
  t.mutable_strings() = std::move(v);
  return t;
}
// 0, 1, 2, ... as float.
Tensor iota_f(std::vector<int64_t> dims) {
  Tensor t(DType::Float, std::move(dims));
  for (int64_t i = 0; i < t.numel(); ++i) t.mutable_data<float>()[i] = static_cast<float>(i);
  return t;
}

template <typename T>
std::vector<T> vals(const RValue& r) {
  REQUIRE(r.is_tensor());
  REQUIRE(r.tensor.element_size() == sizeof(T));
  return std::vector<T>(r.tensor.data<T>(), r.tensor.data<T>() + r.tensor.numel());
}
std::vector<int64_t> dims_of(const RValue& r) {
  REQUIRE(r.is_tensor());
  return r.tensor.dims();
}

ir::Attribute ai(const std::string& n, int64_t v) { return ir::Attribute::make_int(n, v); }
ir::Attribute af(const std::string& n, float v) { return ir::Attribute::make_float(n, v); }
ir::Attribute as(const std::string& n, const std::string& v) { return ir::Attribute::make_string(n, v); }
ir::Attribute ais(const std::string& n, std::vector<int64_t> v) { return ir::Attribute::make_ints(n, std::move(v)); }

struct Op {
  std::string op;
  int64_t opset = 17;
  std::vector<ir::Attribute> attrs = {};
  size_t outputs = 1;
  std::string domain = "";
};

// Runs one node on the given inputs (None for an omitted optional input).
Result<std::vector<RValue>> run(const Op& op, std::vector<RValue> inputs) {
  static std::vector<std::unique_ptr<ir::Model>> keep;  // nodes must outlive the results' use
  auto m = std::make_unique<ir::Model>();
  m->set_opset(op.domain, op.opset);
  if (!op.domain.empty()) m->set_opset("", 17);
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
  for (size_t i = 0; i < op.outputs; ++i) outs.push_back("out" + std::to_string(i));
  ir::Node* n = m->graph->add_node(op.op, op.domain, ins, outs, "n");
  for (const auto& a : op.attrs) n->set_attr(a);
  auto r = rt::run_node(*n, *m, std::move(inputs));
  keep.push_back(std::move(m));
  return r;
}

RValue ok1(Result<std::vector<RValue>> r, size_t i = 0) {
  if (!r.is_ok()) FAIL(r.status().message());
  REQUIRE(r->size() > i);
  return (*r)[i];
}
std::vector<RValue> okall(Result<std::vector<RValue>> r) {
  if (!r.is_ok()) FAIL(r.status().message());
  return std::move(r).value();
}
void fails(Result<std::vector<RValue>> r, const std::string& needle = "") {
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().message().find("'n'") != std::string::npos);  // names the node
  if (!needle.empty()) CHECK_MESSAGE(r.status().message().find(needle) != std::string::npos, r.status().message());
}

// Row-major coordinates of flat index i in dims.
std::vector<int64_t> coords(int64_t i, const std::vector<int64_t>& dims) {
  std::vector<int64_t> c(dims.size());
  for (size_t d = dims.size(); d-- > 0;) {
    c[d] = i % dims[d];
    i /= dims[d];
  }
  return c;
}
int64_t flat(const std::vector<int64_t>& c, const std::vector<int64_t>& dims) {
  int64_t f = 0;
  for (size_t d = 0; d < dims.size(); ++d) f = f * dims[d] + c[d];
  return f;
}

}  // namespace

// ------------------------------------------------------------------ shape ops

TEST_CASE("tensor ops: Reshape copies 0 dims, infers -1, honours allowzero, and rejects bad shapes") {
  Tensor x = iota_f({2, 3, 4});
  CHECK(dims_of(ok1(run({"Reshape", 13}, {x, i64({3}, {0, -1, 2})}))) == std::vector<int64_t>{2, 6, 2});
  CHECK(dims_of(ok1(run({"Reshape", 13}, {x, i64({2}, {-1, 4})}))) == std::vector<int64_t>{6, 4});
  auto y = ok1(run({"Reshape", 13}, {x, i64({1}, {24})}));
  CHECK(vals<float>(y) == vals<float>(RValue(x)));
  // Reshape-1: shape attribute.
  CHECK(dims_of(ok1(run({"Reshape", 1, {ais("shape", {4, 0, 2})}}, {x}))) == std::vector<int64_t>{4, 3, 2});
  // allowzero: 0 is a real zero dim.
  Tensor empty(DType::Float, {0, 3});
  CHECK(dims_of(ok1(run({"Reshape", 14, {ai("allowzero", 1)}}, {empty, i64({2}, {3, 0})}))) ==
        std::vector<int64_t>{3, 0});
  fails(run({"Reshape", 14, {ai("allowzero", 1)}}, {empty, i64({2}, {0, -1})}), "allowzero");
  fails(run({"Reshape", 13}, {x, i64({2}, {-1, -1})}), "-1");
  fails(run({"Reshape", 13}, {x, i64({2}, {5, 5})}), "cannot reshape");
  fails(run({"Reshape", 13}, {x, i64({2}, {-1, 5})}), "cannot reshape");
  fails(run({"Reshape", 13}, {x, i64({4}, {0, 0, 0, 0})}), "rank");
}

TEST_CASE("tensor ops: Flatten, Squeeze, Unsqueeze, Shape and Size") {
  Tensor x = iota_f({2, 3, 4, 5});
  CHECK(dims_of(ok1(run({"Flatten", 13, {ai("axis", 0)}}, {x}))) == std::vector<int64_t>{1, 120});
  CHECK(dims_of(ok1(run({"Flatten", 13, {ai("axis", -1)}}, {x}))) == std::vector<int64_t>{24, 5});
  CHECK(dims_of(ok1(run({"Flatten", 13, {ai("axis", 4)}}, {x}))) == std::vector<int64_t>{120, 1});
  fails(run({"Flatten", 13, {ai("axis", 5)}}, {x}), "axis");

  Tensor s = iota_f({1, 3, 1, 2});
  CHECK(dims_of(ok1(run({"Squeeze", 13}, {s}))) == std::vector<int64_t>{3, 2});
  CHECK(dims_of(ok1(run({"Squeeze", 13}, {s, i64({1}, {-2})}))) == std::vector<int64_t>{1, 3, 2});
  CHECK(dims_of(ok1(run({"Squeeze", 11, {ais("axes", {0})}}, {s}))) == std::vector<int64_t>{3, 1, 2});
  fails(run({"Squeeze", 13}, {s, i64({1}, {1})}), "size 3");
  fails(run({"Squeeze", 13}, {s, i64({1}, {4})}), "out of range");

  Tensor u = iota_f({3, 4});
  CHECK(dims_of(ok1(run({"Unsqueeze", 13}, {u, i64({2}, {3, 0})}))) == std::vector<int64_t>{1, 3, 4, 1});
  CHECK(dims_of(ok1(run({"Unsqueeze", 13}, {u, i64({1}, {-1})}))) == std::vector<int64_t>{3, 4, 1});
  CHECK(dims_of(ok1(run({"Unsqueeze", 11, {ais("axes", {1})}}, {u}))) == std::vector<int64_t>{3, 1, 4});
  fails(run({"Unsqueeze", 13}, {u, i64({2}, {1, 1})}), "repeat");
  fails(run({"Unsqueeze", 13}, {u, i64({1}, {3})}), "out of range");

  CHECK(vals<int64_t>(ok1(run({"Shape", 13}, {x}))) == std::vector<int64_t>{2, 3, 4, 5});
  CHECK(vals<int64_t>(ok1(run({"Shape", 15, {ai("start", 1), ai("end", -1)}}, {x}))) == std::vector<int64_t>{3, 4});
  CHECK(vals<int64_t>(ok1(run({"Shape", 15, {ai("start", -10), ai("end", 10)}}, {x}))) ==
        std::vector<int64_t>{2, 3, 4, 5});
  CHECK(vals<int64_t>(ok1(run({"Shape", 15, {ai("start", 3), ai("end", 1)}}, {x}))).empty());
  auto sz = ok1(run({"Size", 13}, {strs({2, 2}, {"a", "b", "c", "d"})}));
  CHECK(dims_of(sz).empty());
  CHECK(vals<int64_t>(sz) == std::vector<int64_t>{4});
}

TEST_CASE("tensor ops: Transpose matches a naive loop for every permutation of a 4-D tensor") {
  Tensor x = iota_f({2, 3, 4, 5});
  std::vector<int64_t> perm = {0, 1, 2, 3};
  do {
    auto y = ok1(run({"Transpose", 13, {ais("perm", perm)}}, {x}));
    std::vector<int64_t> od(4);
    for (int d = 0; d < 4; ++d) od[d] = x.dims()[perm[d]];
    REQUIRE(dims_of(y) == od);
    auto got = vals<float>(y);
    for (int64_t i = 0; i < y.tensor.numel(); ++i) {
      auto oc = coords(i, od);
      std::vector<int64_t> ic(4);
      for (int d = 0; d < 4; ++d) ic[perm[d]] = oc[d];
      REQUIRE(got[i] == static_cast<float>(flat(ic, x.dims())));
    }
  } while (std::next_permutation(perm.begin(), perm.end()));
  // Default reverses; strings move too.
  auto t = ok1(run({"Transpose", 13}, {strs({2, 3}, {"a", "b", "c", "d", "e", "f"})}));
  CHECK(dims_of(t) == std::vector<int64_t>{3, 2});
  CHECK(t.tensor.strings() == std::vector<std::string>{"a", "d", "b", "e", "c", "f"});
  fails(run({"Transpose", 13, {ais("perm", {0, 0, 1, 2})}}, {x}), "permutation");
  fails(run({"Transpose", 13, {ais("perm", {0, 1})}}, {x}), "perm");
}

TEST_CASE("tensor ops: Concat and Split") {
  Tensor a = iota_f({2, 2}), b = f32({2, 1}, {10, 11}), z(DType::Float, {2, 0});
  auto c = ok1(run({"Concat", 13, {ai("axis", -1)}}, {a, z, b}));
  CHECK(dims_of(c) == std::vector<int64_t>{2, 3});
  CHECK(vals<float>(c) == std::vector<float>{0, 1, 10, 2, 3, 11});
  auto s = ok1(run({"Concat", 13, {ai("axis", 0)}}, {strs({1}, {"x"}), strs({2}, {"y", "z"})}));
  CHECK(s.tensor.strings() == std::vector<std::string>{"x", "y", "z"});
  fails(run({"Concat", 13, {ai("axis", 0)}}, {a, b}), "incompatible");
  fails(run({"Concat", 13, {ai("axis", 2)}}, {a, a}), "axis");
  fails(run({"Concat", 13, {ai("axis", 0)}}, {a, i64({1, 2}, {1, 2})}), "type");

  Tensor x = iota_f({2, 6});
  auto parts = okall(run({"Split", 13, {ai("axis", 1)}, 3}, {x, i64({3}, {1, 2, 3})}));
  CHECK(vals<float>(parts[0]) == std::vector<float>{0, 6});
  CHECK(vals<float>(parts[1]) == std::vector<float>{1, 2, 7, 8});
  CHECK(vals<float>(parts[2]) == std::vector<float>{3, 4, 5, 9, 10, 11});
  auto eq = okall(run({"Split", 11, {ai("axis", 1)}, 2}, {x}));
  CHECK(vals<float>(eq[1]) == std::vector<float>{3, 4, 5, 9, 10, 11});
  auto attr = okall(run({"Split", 11, {ai("axis", -1), ais("split", {4, 2})}, 2}, {x}));
  CHECK(dims_of(attr[0]) == std::vector<int64_t>{2, 4});
  auto uneven = okall(run({"Split", 18, {ai("axis", 1), ai("num_outputs", 4)}, 4}, {x}));
  CHECK(dims_of(uneven[3]) == std::vector<int64_t>{2, 0});
  CHECK(dims_of(uneven[2]) == std::vector<int64_t>{2, 2});
  fails(run({"Split", 13, {ai("axis", 1)}, 4}, {x}), "equal");
  fails(run({"Split", 13, {ai("axis", 1)}, 2}, {x, i64({2}, {1, 2})}), "sums");
}

TEST_CASE("tensor ops: Slice matches a naive loop, with negative steps and clamping") {
  Tensor x = iota_f({5, 6, 7});
  struct Case {
    std::vector<int64_t> starts, ends, axes, steps;
  };
  const int64_t big = INT64_MAX, small = INT64_MIN;
  std::vector<Case> cases = {
      {{1, 0}, {4, 6}, {0, 1}, {1, 2}},       {{-1}, {-100}, {2}, {-1}},   {{4, 5}, {0, small}, {0, 1}, {-2, -3}},
      {{0}, {big}, {-1}, {3}},                {{10}, {20}, {1}, {1}},      {{2, 2, 2}, {1, 1, 1}, {0, 1, 2}, {1, 1, 1}},
      {{-3, 1}, {big, -1}, {-3, -2}, {1, 1}}, {{6}, {-big}, {1}, {small}},
  };
  for (const Case& k : cases) {
    auto y = ok1(run({"Slice", 13}, {x, i64({(int64_t)k.starts.size()}, k.starts), i64({(int64_t)k.ends.size()}, k.ends),
                                     i64({(int64_t)k.axes.size()}, k.axes), i64({(int64_t)k.steps.size()}, k.steps)}));
    // Naive: per axis, the list of selected input coordinates, as Python's range over clamped bounds.
    std::vector<std::vector<int64_t>> pick(3);
    for (int d = 0; d < 3; ++d)
      for (int64_t i = 0; i < x.dims()[d]; ++i) pick[d].push_back(i);
    for (size_t j = 0; j < k.axes.size(); ++j) {
      int64_t a = k.axes[j] < 0 ? k.axes[j] + 3 : k.axes[j], n = x.dims()[a];
      int64_t s = k.starts[j], e = k.ends[j], st = std::max(k.steps[j], -INT64_MAX);
      if (s < 0) s += n;
      if (e < 0) e += n;
      pick[a].clear();
      if (st > 0) {
        s = std::clamp<int64_t>(s, 0, n), e = std::clamp<int64_t>(e, 0, n);
        for (int64_t i = s; i < e; i += st) pick[a].push_back(i);
      } else {
        s = std::clamp<int64_t>(s, 0, n - 1), e = std::clamp<int64_t>(e, -1, n - 1);
        for (int64_t i = s; i > e; i += st) {
          pick[a].push_back(i);
          if (i < -st) break;
        }
      }
    }
    std::vector<int64_t> od = {(int64_t)pick[0].size(), (int64_t)pick[1].size(), (int64_t)pick[2].size()};
    REQUIRE(dims_of(y) == od);
    auto got = vals<float>(y);
    for (int64_t i = 0; i < y.tensor.numel(); ++i) {
      auto c = coords(i, od);
      REQUIRE(got[i] == static_cast<float>(flat({pick[0][c[0]], pick[1][c[1]], pick[2][c[2]]}, x.dims())));
    }
  }
  // Slice-1: attributes; default axes.
  auto y1 = ok1(run({"Slice", 1, {ais("starts", {1, 2}), ais("ends", {2, 4})}}, {x}));
  CHECK(dims_of(y1) == std::vector<int64_t>{1, 2, 7});
  CHECK(vals<float>(y1)[0] == 1 * 42 + 2 * 7);
  fails(run({"Slice", 13}, {x, i64({1}, {0}), i64({1}, {1}), i64({1}, {0}), i64({1}, {0})}), "steps");
  fails(run({"Slice", 13}, {x, i64({2}, {0, 0}), i64({2}, {1, 1}), i64({2}, {1, -2})}), "repeat");
  fails(run({"Slice", 13}, {x, i64({1}, {0}), i64({1}, {1}), i64({1}, {3})}), "out of range");
}

// ------------------------------------------------------------------ indexing

TEST_CASE("tensor ops: Gather, GatherElements, GatherND") {
  Tensor x = iota_f({3, 4});
  auto g = ok1(run({"Gather", 13, {ai("axis", 1)}}, {x, i64({2, 2}, {0, -1, 2, 2})}));
  CHECK(dims_of(g) == std::vector<int64_t>{3, 2, 2});
  CHECK(vals<float>(g) == std::vector<float>{0, 3, 2, 2, 4, 7, 6, 6, 8, 11, 10, 10});
  auto g0 = ok1(run({"Gather", 13}, {x, i32({}, {2})}));
  CHECK(vals<float>(g0) == std::vector<float>{8, 9, 10, 11});
  fails(run({"Gather", 13, {ai("axis", 1)}}, {x, i64({1}, {4})}), "out of range");
  fails(run({"Gather", 13, {ai("axis", 0)}}, {x, i64({1}, {-4})}), "out of range");

  auto ge = ok1(run({"GatherElements", 13, {ai("axis", 1)}}, {x, i64({2, 2}, {3, 0, -1, 1})}));
  CHECK(vals<float>(ge) == std::vector<float>{3, 0, 7, 5});
  fails(run({"GatherElements", 13, {ai("axis", 0)}}, {x, i64({1, 1}, {3})}), "out of range");
  fails(run({"GatherElements", 13, {ai("axis", 0)}}, {x, i64({1, 5}, {0, 0, 0, 0, 0})}), "exceeds");

  Tensor d = iota_f({2, 2, 2});
  auto nd = ok1(run({"GatherND", 13}, {d, i64({2, 2}, {0, 1, 1, 0})}));
  CHECK(dims_of(nd) == std::vector<int64_t>{2, 2});
  CHECK(vals<float>(nd) == std::vector<float>{2, 3, 4, 5});
  auto nb = ok1(run({"GatherND", 13, {ai("batch_dims", 1)}}, {d, i64({2, 1}, {1, 0})}));
  CHECK(vals<float>(nb) == std::vector<float>{2, 3, 4, 5});
  auto nb2 = ok1(run({"GatherND", 13, {ai("batch_dims", 1)}}, {d, i64({2, 2}, {1, 1, 0, -1})}));
  CHECK(vals<float>(nb2) == std::vector<float>{3, 5});
  fails(run({"GatherND", 13}, {d, i64({1, 2}, {0, 2})}), "out of range");
  fails(run({"GatherND", 13}, {d, i64({1, 4}, {0, 0, 0, 0})}), "last dim");
}

TEST_CASE("tensor ops: ScatterElements and ScatterND with reductions") {
  Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  auto s = ok1(run({"ScatterElements", 13, {ai("axis", 1)}}, {x, i64({2, 2}, {2, 0, -1, 1}), f32({2, 2}, {10, 20, 30, 40})}));
  CHECK(vals<float>(s) == std::vector<float>{20, 2, 10, 4, 40, 30});
  auto add = ok1(run({"ScatterElements", 16, {ai("axis", 1), as("reduction", "add")}},
                     {x, i64({1, 2}, {1, 1}), f32({1, 2}, {10, 20})}));
  CHECK(vals<float>(add) == std::vector<float>{1, 32, 3, 4, 5, 6});
  auto mul = ok1(run({"ScatterElements", 16, {as("reduction", "mul")}}, {x, i64({1, 2}, {1, 1}), f32({1, 2}, {10, 20})}));
  CHECK(vals<float>(mul) == std::vector<float>{1, 2, 3, 40, 100, 6});
  auto mx = ok1(run({"ScatterElements", 18, {as("reduction", "max")}}, {x, i64({1, 2}, {1, 1}), f32({1, 2}, {0, 20})}));
  CHECK(vals<float>(mx) == std::vector<float>{1, 2, 3, 4, 20, 6});
  auto old = ok1(run({"Scatter", 9}, {x, i64({1, 1}, {1}), f32({1, 1}, {-1})}));
  CHECK(vals<float>(old) == std::vector<float>{1, 2, 3, -1, 5, 6});
  fails(run({"ScatterElements", 13}, {x, i64({1, 1}, {2}), f32({1, 1}, {0})}), "out of range");
  fails(run({"ScatterElements", 16, {as("reduction", "avg")}}, {x, i64({1, 1}, {0}), f32({1, 1}, {0})}), "reduction");

  Tensor d = iota_f({2, 2, 2});
  auto nd = ok1(run({"ScatterND", 13}, {d, i64({1, 1}, {1}), f32({1, 2, 2}, {9, 9, 9, 9})}));
  CHECK(vals<float>(nd) == std::vector<float>{0, 1, 2, 3, 9, 9, 9, 9});
  auto ndadd = ok1(run({"ScatterND", 16, {as("reduction", "add")}}, {d, i64({2, 3}, {0, 0, 1, 0, 0, 1}), f32({2}, {5, 5})}));
  CHECK(vals<float>(ndadd) == std::vector<float>{0, 11, 2, 3, 4, 5, 6, 7});
  fails(run({"ScatterND", 13}, {d, i64({1, 1}, {2}), f32({1, 2, 2}, {9, 9, 9, 9})}), "out of range");
  fails(run({"ScatterND", 13}, {d, i64({1, 1}, {0}), f32({1, 2}, {9, 9})}), "updates");
}

TEST_CASE("tensor ops: Expand and Tile match naive loops") {
  Tensor x = f32({3, 1}, {1, 2, 3});
  auto e = ok1(run({"Expand", 13}, {x, i64({3}, {2, 1, 2})}));
  CHECK(dims_of(e) == std::vector<int64_t>{2, 3, 2});
  CHECK(vals<float>(e) == std::vector<float>{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3});
  CHECK(dims_of(ok1(run({"Expand", 13}, {x, i64({1}, {1})}))) == std::vector<int64_t>{3, 1});
  fails(run({"Expand", 13}, {x, i64({2}, {2, 2})}), "broadcast");

  Tensor t = iota_f({2, 3});
  auto y = ok1(run({"Tile", 13}, {t, i64({2}, {2, 3})}));
  CHECK(dims_of(y) == std::vector<int64_t>{4, 9});
  auto got = vals<float>(y);
  for (int64_t i = 0; i < 36; ++i) {
    auto c = coords(i, {4, 9});
    REQUIRE(got[i] == static_cast<float>((c[0] % 2) * 3 + c[1] % 3));
  }
  CHECK(dims_of(ok1(run({"Tile", 13}, {t, i64({2}, {0, 1})}))) == std::vector<int64_t>{0, 3});
  fails(run({"Tile", 13}, {t, i64({1}, {2})}), "repeats");
  fails(run({"Tile", 13}, {t, i64({2}, {-1, 1})}), "negative");
}

TEST_CASE("tensor ops: Pad modes against a naive loop, negative pads, attribute form") {
  Tensor x = iota_f({3, 4});
  auto naive = [&](const std::vector<int64_t>& pads, const std::string& mode, float value) {
    std::vector<int64_t> od = {3 + pads[0] + pads[2], 4 + pads[1] + pads[3]};
    std::vector<float> out;
    for (int64_t i = 0; i < od[0] * od[1]; ++i) {
      auto c = coords(i, od);
      // Negative pads crop first; the other modes then see only what is left (ONNX's reference).
      const int64_t f0 = std::max<int64_t>(0, -pads[0]), f1 = std::max<int64_t>(0, -pads[1]);
      const int64_t n0 = 3 + std::min<int64_t>(0, pads[0]) + std::min<int64_t>(0, pads[2]);
      const int64_t n1 = 4 + std::min<int64_t>(0, pads[1]) + std::min<int64_t>(0, pads[3]);
      int64_t r = c[0] - std::max<int64_t>(0, pads[0]), q = c[1] - std::max<int64_t>(0, pads[1]);
      auto fix = [&](int64_t v, int64_t n) {
        if (mode == "edge") return std::clamp<int64_t>(v, 0, n - 1);
        while (v < 0 || v >= n) v = v < 0 ? -v : 2 * (n - 1) - v;  // reflect
        return v;
      };
      if (mode == "constant") {
        out.push_back(r >= 0 && r < n0 && q >= 0 && q < n1 ? static_cast<float>((r + f0) * 4 + q + f1) : value);
      } else {
        out.push_back(static_cast<float>((fix(r, n0) + f0) * 4 + fix(q, n1) + f1));
      }
    }
    return std::make_pair(od, out);
  };
  for (std::string mode : {"constant", "reflect", "edge"}) {
    for (std::vector<int64_t> pads : {std::vector<int64_t>{1, 2, 0, 3}, {0, 0, 0, 0}, {-1, 1, 2, -2}, {2, 5, 3, 4}}) {
      CAPTURE(mode);
      auto [od, want] = naive(pads, mode, 7.5f);
      auto y = ok1(run({"Pad", 13, {as("mode", mode)}}, {x, i64({4}, pads), f32({}, {7.5f})}));
      REQUIRE(dims_of(y) == od);
      CHECK(vals<float>(y) == want);
      auto y2 = ok1(run({"Pad", 2, {as("mode", mode), ais("pads", pads), af("value", 7.5f)}}, {x}));
      CHECK(vals<float>(y2) == want);
    }
  }
  // Pad-18 axes; wrap at 19; integer types; omitted value is zero.
  auto ax = ok1(run({"Pad", 18}, {x, i64({2}, {1, 0}), RValue(), i64({1}, {-1})}));
  CHECK(dims_of(ax) == std::vector<int64_t>{3, 5});
  CHECK(vals<float>(ax)[0] == 0.0f);
  auto wrap = ok1(run({"Pad", 19, {as("mode", "wrap")}}, {f32({3}, {1, 2, 3}), i64({2}, {2, 1})}));
  CHECK(vals<float>(wrap) == std::vector<float>{2, 3, 1, 2, 3, 1});
  auto ints = ok1(run({"Pad", 13}, {i32({2}, {4, 5}), i64({2}, {1, 1}), i32({}, {-1})}));
  CHECK(vals<int32_t>(ints) == std::vector<int32_t>{-1, 4, 5, -1});
  fails(run({"Pad", 13}, {x, i64({2}, {1, 1})}), "pads");
  fails(run({"Pad", 13}, {x, i64({4}, {-2, 0, -2, 0})}), "below zero");
  fails(run({"Pad", 13, {as("mode", "mirror")}}, {x, i64({4}, {0, 0, 0, 0})}), "mode");
  fails(run({"Pad", 13, {as("mode", "reflect")}}, {Tensor(DType::Float, {0, 2}), i64({4}, {1, 0, 0, 0})}), "empty");

  auto cc = ok1(run({"CenterCropPad", 18}, {iota_f({4, 3}), i64({2}, {2, 5})}));
  CHECK(dims_of(cc) == std::vector<int64_t>{2, 5});
  CHECK(vals<float>(cc) == std::vector<float>{0, 3, 4, 5, 0, 0, 6, 7, 8, 0});
}

// ------------------------------------------------------------------ generators

TEST_CASE("tensor ops: Constant, ConstantOfShape, Range, EyeLike") {
  ir::Attribute vi = ais("value_ints", {1, 2, 3});
  CHECK(vals<int64_t>(ok1(run({"Constant", 13, {vi}}, {}))) == std::vector<int64_t>{1, 2, 3});
  auto cf = ok1(run({"Constant", 13, {af("value_float", 2.5f)}}, {}));
  CHECK(dims_of(cf).empty());
  CHECK(vals<float>(cf) == std::vector<float>{2.5f});
  ir::Attribute vs;
  vs.name = "value_strings";
  vs.type = ir::AttrType::Strings;
  vs.strings = {"a", "b"};
  CHECK(ok1(run({"Constant", 13, {vs}}, {})).tensor.strings() == std::vector<std::string>{"a", "b"});
  ir::Attribute sparse;
  sparse.name = "sparse_value";
  sparse.type = ir::AttrType::SparseTensor;
  fails(run({"Constant", 13, {sparse}}, {}), "sparse");
  fails(run({"Constant", 13, {af("value_float", 1), ai("value_int", 1)}}, {}), "exactly one");

  auto c0 = ok1(run({"ConstantOfShape", 13}, {i64({2}, {2, 3})}));
  CHECK(c0.tensor.dtype() == DType::Float);
  CHECK(vals<float>(c0) == std::vector<float>(6, 0.0f));
  auto c7 = ok1(run({"ConstantOfShape", 13, {ir::Attribute::make_tensor("value", std::make_shared<Tensor>(i32({1}, {7})))}},
                    {i64({1}, {3})}));
  CHECK(vals<int32_t>(c7) == std::vector<int32_t>{7, 7, 7});
  CHECK(dims_of(ok1(run({"ConstantOfShape", 13}, {i64({0}, {})}))).empty());
  fails(run({"ConstantOfShape", 13}, {i64({2}, {2, -1})}), "shape");

  CHECK(vals<float>(ok1(run({"Range", 13}, {f32({}, {1}), f32({}, {2.1f}), f32({}, {0.5f})}))) ==
        std::vector<float>{1, 1.5f, 2});
  CHECK(vals<int32_t>(ok1(run({"Range", 13}, {i32({}, {10}), i32({}, {4}), i32({}, {-3})}))) ==
        std::vector<int32_t>{10, 7});
  CHECK(vals<int64_t>(ok1(run({"Range", 13}, {i64({}, {0}), i64({}, {-5}), i64({}, {1})}))).empty());
  fails(run({"Range", 13}, {i64({}, {0}), i64({}, {5}), i64({}, {0})}), "delta");

  auto eye = ok1(run({"EyeLike", 13, {ai("k", -1), ai("dtype", 11)}}, {i32({3, 3}, {0, 0, 0, 0, 0, 0, 0, 0, 0})}));
  CHECK(eye.tensor.dtype() == DType::Double);
  CHECK(vals<double>(eye) == std::vector<double>{0, 0, 0, 1, 0, 0, 0, 1, 0});
  fails(run({"EyeLike", 13}, {f32({2}, {0, 0})}), "2-D");
}

TEST_CASE("tensor ops: window generators and MelWeightMatrix") {
  auto hann = vals<float>(ok1(run({"HannWindow", 17}, {i64({}, {4})})));
  REQUIRE(hann.size() == 4);
  CHECK(hann[0] == doctest::Approx(0).epsilon(1e-6));
  CHECK(hann[1] == doctest::Approx(0.5));
  CHECK(hann[2] == doctest::Approx(1));
  auto sym = vals<double>(ok1(run({"HannWindow", 17, {ai("periodic", 0), ai("output_datatype", 11)}}, {i32({}, {3})})));
  CHECK(sym[1] == doctest::Approx(1));
  CHECK(std::fabs(sym[2]) < 1e-12);
  auto ham = vals<float>(ok1(run({"HammingWindow", 17}, {i64({}, {2})})));
  CHECK(ham[0] == doctest::Approx(25.0 / 46.0 - 21.0 / 46.0));
  CHECK(ham[1] == doctest::Approx(1));
  auto bl = vals<float>(ok1(run({"BlackmanWindow", 17}, {i64({}, {4})})));
  CHECK(bl[2] == doctest::Approx(0.42 + 0.5 + 0.08));
  fails(run({"HannWindow", 17}, {i64({}, {-1})}), "negative");

  auto mel = ok1(run({"MelWeightMatrix", 17}, {i64({}, {4}), i64({}, {32}), i64({}, {8000}), f32({}, {0}), f32({}, {4000})}));
  CHECK(dims_of(mel) == std::vector<int64_t>{17, 4});
  auto w = vals<float>(mel);
  for (int64_t m = 0; m < 4; ++m) {  // every filter is a triangle peaking at exactly 1
    float peak = 0;
    for (int64_t j = 0; j < 17; ++j) peak = std::max(peak, w[j * 4 + m]);
    CHECK(peak == 1.0f);
  }
  fails(run({"MelWeightMatrix", 17}, {i64({}, {4}), i64({}, {32}), i64({}, {8000}), f32({}, {0}), f32({}, {20000})}),
        "outside");
}

TEST_CASE("tensor ops: NonZero, Compress, OneHot, Trilu, ReverseSequence") {
  auto nz = ok1(run({"NonZero", 13}, {f32({2, 3}, {0, 1, 0, 2, 0, 3})}));
  CHECK(dims_of(nz) == std::vector<int64_t>{2, 3});
  CHECK(vals<int64_t>(nz) == std::vector<int64_t>{0, 1, 1, 1, 0, 2});
  CHECK(dims_of(ok1(run({"NonZero", 13}, {strs({2}, {"", "x"})}))) == std::vector<int64_t>{1, 1});

  Tensor x = iota_f({3, 2});
  CHECK(vals<float>(ok1(run({"Compress", 11, {ai("axis", 0)}}, {x, boolt({3}, {0, 1, 1})}))) ==
        std::vector<float>{2, 3, 4, 5});
  CHECK(vals<float>(ok1(run({"Compress", 11}, {x, boolt({5}, {1, 0, 0, 0, 1})}))) == std::vector<float>{0, 4});
  CHECK(vals<float>(ok1(run({"Compress", 11, {ai("axis", -1)}}, {x, boolt({1}, {1})}))) == std::vector<float>{0, 2, 4});
  fails(run({"Compress", 11, {ai("axis", 1)}}, {x, boolt({3}, {0, 0, 1})}), "beyond");

  auto oh = ok1(run({"OneHot", 11, {ai("axis", 0)}}, {i64({3}, {0, -1, 7}), f32({}, {3}), f32({2}, {-1, 5})}));
  CHECK(dims_of(oh) == std::vector<int64_t>{3, 3});
  CHECK(vals<float>(oh) == std::vector<float>{5, -1, -1, -1, -1, -1, -1, 5, -1});
  auto oh2 = ok1(run({"OneHot", 11}, {f32({2}, {1.7f, 0}), i64({}, {2}), i32({2}, {0, 1})}));
  CHECK(vals<int32_t>(oh2) == std::vector<int32_t>{0, 1, 1, 0});
  fails(run({"OneHot", 11}, {i64({1}, {0}), i64({}, {2}), i32({3}, {0, 1, 2})}), "values");

  Tensor m = iota_f({2, 3, 4});
  for (int upper = 0; upper < 2; ++upper) {
    for (int64_t k : {-4, -1, 0, 2, 5}) {
      auto y = vals<float>(ok1(run({"Trilu", 14, {ai("upper", upper)}}, {m, i64({}, {k})})));
      for (int64_t i = 0; i < 24; ++i) {
        auto c = coords(i, {2, 3, 4});
        bool keep = upper ? c[2] - c[1] >= k : c[2] - c[1] <= k;
        REQUIRE(y[i] == (keep ? static_cast<float>(i) : 0.0f));
      }
    }
  }
  fails(run({"Trilu", 14}, {f32({2}, {1, 2})}), "rank");

  Tensor s = iota_f({4, 2, 1});  // time-major: [time, batch, 1]
  auto rs = ok1(run({"ReverseSequence", 13, {ai("time_axis", 0), ai("batch_axis", 1)}}, {s, i64({2}, {3, 1})}));
  CHECK(vals<float>(rs) == std::vector<float>{4, 1, 2, 3, 0, 5, 6, 7});
  fails(run({"ReverseSequence", 13}, {s, i64({2}, {5, 1})}), "sequence_lens");
}

TEST_CASE("tensor ops: Unique sorted and unsorted, with and without axis") {
  auto u = okall(run({"Unique", 11, {ai("sorted", 0)}, 4}, {f32({6}, {2, 1, 1, 3, 4, 3})}));
  CHECK(vals<float>(u[0]) == std::vector<float>{2, 1, 3, 4});
  CHECK(vals<int64_t>(u[1]) == std::vector<int64_t>{0, 1, 3, 4});
  CHECK(vals<int64_t>(u[2]) == std::vector<int64_t>{0, 1, 1, 2, 3, 2});
  CHECK(vals<int64_t>(u[3]) == std::vector<int64_t>{1, 2, 2, 1});
  auto s = okall(run({"Unique", 11, {}, 4}, {f32({6}, {2, 1, 1, 3, 4, 3})}));
  CHECK(vals<float>(s[0]) == std::vector<float>{1, 2, 3, 4});
  CHECK(vals<int64_t>(s[1]) == std::vector<int64_t>{1, 0, 3, 4});
  CHECK(vals<int64_t>(s[2]) == std::vector<int64_t>{1, 0, 0, 2, 3, 2});
  auto a = okall(run({"Unique", 11, {ai("axis", 0)}, 4}, {f32({3, 2}, {1, 0, 0, 1, 1, 0})}));
  CHECK(dims_of(a[0]) == std::vector<int64_t>{2, 2});
  CHECK(vals<float>(a[0]) == std::vector<float>{0, 1, 1, 0});
  CHECK(vals<int64_t>(a[2]) == std::vector<int64_t>{1, 0, 1});
  CHECK(vals<int64_t>(a[3]) == std::vector<int64_t>{1, 2});
  auto st = okall(run({"Unique", 11, {}, 1}, {strs({3}, {"b", "a", "b"})}));
  CHECK(st[0].tensor.strings() == std::vector<std::string>{"a", "b"});
}

// ------------------------------------------------------------------ misc family

TEST_CASE("misc ops: NonMaxSuppression selects by score and IoU per batch and class") {
  Tensor boxes = f32({1, 4, 4}, {0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 0, 10, 1, 11, 1, 1, 0, 0});
  Tensor scores = f32({1, 1, 4}, {0.9f, 0.8f, 0.7f, 0.95f});
  auto y = ok1(run({"NonMaxSuppression", 11}, {boxes, scores, i64({1}, {10}), f32({1}, {0.5f}), f32({1}, {0.0f})}));
  // Box 3 is box 0 flipped: it wins (0.95), suppresses 0 and 1; box 2 is far away.
  CHECK(dims_of(y) == std::vector<int64_t>{2, 3});
  CHECK(vals<int64_t>(y) == std::vector<int64_t>{0, 0, 3, 0, 0, 2});
  auto lim = ok1(run({"NonMaxSuppression", 11}, {boxes, scores, i64({1}, {1}), f32({1}, {0.5f})}));
  CHECK(vals<int64_t>(lim) == std::vector<int64_t>{0, 0, 3});
  auto none = ok1(run({"NonMaxSuppression", 11}, {boxes, scores}));
  CHECK(dims_of(none) == std::vector<int64_t>{0, 3});
  auto center = ok1(run({"NonMaxSuppression", 11, {ai("center_point_box", 1)}},
                        {f32({1, 2, 4}, {0.5f, 0.5f, 1, 1, 0.5f, 0.6f, 1, 1}), f32({1, 1, 2}, {0.5f, 0.6f}),
                         i64({1}, {5}), f32({1}, {0.5f})}));
  CHECK(vals<int64_t>(center) == std::vector<int64_t>{0, 0, 1});
  fails(run({"NonMaxSuppression", 11}, {boxes, f32({1, 1, 3}, {1, 2, 3})}), "scores");
}

TEST_CASE("misc ops: random generators give the right shape and type, reproducibly per seed") {
  Op normal{"RandomNormal", 13, {ais("shape", {2, 3}), af("seed", 1.0f), af("mean", 10), af("scale", 0.1f)}};
  auto a = ok1(run(normal, {}));
  auto b = ok1(run(normal, {}));
  CHECK(dims_of(a) == std::vector<int64_t>{2, 3});
  CHECK(vals<float>(a) == vals<float>(b));
  for (float v : vals<float>(a)) CHECK(std::fabs(v - 10) < 1);
  auto u = ok1(run({"RandomUniformLike", 13, {af("low", 2), af("high", 3), ai("dtype", 11)}}, {iota_f({100})}));
  CHECK(u.tensor.dtype() == DType::Double);
  for (double v : vals<double>(u)) CHECK((v >= 2 && v < 3));
  auto ber = ok1(run({"Bernoulli", 15}, {f32({4}, {0, 1, 0, 1})}));
  CHECK(vals<float>(ber) == std::vector<float>{0, 1, 0, 1});
  auto mn = ok1(run({"Multinomial", 13, {ai("sample_size", 5)}}, {f32({2, 3}, {-100, 0, -100, 0, -100, -100})}));
  CHECK(mn.tensor.dtype() == DType::Int32);
  CHECK(vals<int32_t>(mn) == std::vector<int32_t>{1, 1, 1, 1, 1, 0, 0, 0, 0, 0});
  fails(run({"RandomNormal", 13, {ais("shape", {2, -3})}}, {}), "shape");
}

TEST_CASE("misc ops: StringNormalizer and TfIdfVectorizer") {
  ir::Attribute stop;
  stop.name = "stopwords";
  stop.type = ir::AttrType::Strings;
  stop.strings = {"monday"};
  auto y = ok1(run({"StringNormalizer", 13, {stop, as("case_change_action", "UPPER")}},
                   {strs({1, 4}, {"Monday", "tuesday", "ÉtÉ", "x"})}));
  CHECK(dims_of(y) == std::vector<int64_t>{1, 3});
  CHECK(y.tensor.strings() == std::vector<std::string>{"TUESDAY", "ÉTÉ", "X"});
  auto cs = ok1(run({"StringNormalizer", 13, {stop, ai("is_case_sensitive", 1)}}, {strs({2}, {"Monday", "monday"})}));
  CHECK(cs.tensor.strings() == std::vector<std::string>{"Monday"});
  auto empty = ok1(run({"StringNormalizer", 13, {stop}}, {strs({1}, {"MONDAY"})}));
  CHECK(empty.tensor.strings() == std::vector<std::string>{""});
  fails(run({"StringNormalizer", 13}, {f32({1}, {1})}), "string");

  // Pool: unigrams {2, 3}, bigrams {(4,5), (5,6)}.
  Op tfidf{"TfIdfVectorizer", 13,
           {ai("min_gram_length", 1), ai("max_gram_length", 2), ai("max_skip_count", 1), as("mode", "TF"),
            ais("ngram_counts", {0, 2}), ais("ngram_indexes", {0, 1, 2, 3}), ais("pool_int64s", {2, 3, 4, 5, 5, 6})}};
  auto t = ok1(run(tfidf, {i32({2, 4}, {2, 4, 5, 6, 4, 2, 5, 3})}));
  CHECK(dims_of(t) == std::vector<int64_t>{2, 4});
  // Row 0: unigram 2 once; (4,5) adjacent; (5,6) adjacent; (4,6) skip 1 is not in the pool.
  // Row 1: 2 and 3 once; (4,5) with one skip.
  CHECK(vals<float>(t) == std::vector<float>{1, 0, 1, 1, 1, 1, 1, 0});
}

TEST_CASE("misc ops: Adagrad, Adam and Momentum follow the update formulas") {
  const std::string dom = "ai.onnx.preview.training";
  Tensor r = f32({}, {0.1f}), t = i64({}, {1});
  Tensor x = f32({2}, {1, 2}), g = f32({2}, {0.5f, -1}), v = f32({2}, {0.2f, 0.1f}), h = f32({2}, {1, 4});
  auto ada = okall(run({"Adagrad", 1, {af("decay_factor", 0.5f), af("epsilon", 1e-6f)}, 2, dom}, {r, t, x, g, h}));
  for (int i = 0; i < 2; ++i) {
    double lr = 0.1 / 1.5, gi = vals<float>(RValue(g))[i], hn = vals<float>(RValue(h))[i] + gi * gi;
    CHECK(vals<float>(ada[1])[i] == doctest::Approx(hn));
    CHECK(vals<float>(ada[0])[i] == doctest::Approx(vals<float>(RValue(x))[i] - lr * gi / (std::sqrt(hn) + 1e-6)));
  }
  auto mom = okall(run({"Momentum", 1, {af("alpha", 0.9f), af("beta", 0.5f), af("norm_coefficient", 0.0f), as("mode", "standard")}, 2, dom},
                       {r, t, x, g, v}));
  for (int i = 0; i < 2; ++i) {
    double vn = 0.9 * vals<float>(RValue(v))[i] + 0.5 * vals<float>(RValue(g))[i];
    CHECK(vals<float>(mom[1])[i] == doctest::Approx(vn));
    CHECK(vals<float>(mom[0])[i] == doctest::Approx(vals<float>(RValue(x))[i] - 0.1 * vn));
  }
  auto adam = okall(run({"Adam", 1, {af("alpha", 0.9f), af("beta", 0.99f), af("epsilon", 1e-6f)}, 3, dom}, {r, t, x, g, v, h}));
  for (int i = 0; i < 2; ++i) {
    double gi = vals<float>(RValue(g))[i];
    double vn = 0.9 * vals<float>(RValue(v))[i] + 0.1 * gi;
    double hn = 0.99 * vals<float>(RValue(h))[i] + 0.01 * gi * gi;
    double lr = 0.1 * std::sqrt(1 - 0.99) / (1 - 0.9);
    CHECK(vals<float>(adam[1])[i] == doctest::Approx(vn).epsilon(1e-5));
    CHECK(vals<float>(adam[2])[i] == doctest::Approx(hn).epsilon(1e-5));
    CHECK(vals<float>(adam[0])[i] == doctest::Approx(vals<float>(RValue(x))[i] - lr * vn / (std::sqrt(hn) + 1e-6)).epsilon(1e-5));
  }
  fails(run({"Momentum", 1, {af("alpha", 0.9f), af("beta", 0.5f), af("norm_coefficient", 0.0f), as("mode", "heavy")}, 2,
            dom}, {r, t, x, g, v}), "mode");
  fails(run({"Momentum", 1, {as("mode", "standard")}, 2, dom}, {r, t, x, g, v}), "attribute 'alpha' is required");
  fails(run({"Adam", 1, {}, 3, dom}, {r, t, x, g, v}), "groups");
}

TEST_CASE("tensor ops: an empty input with huge other dims needs no per-axis tables (Slice, Reduce*)") {
  // [0, 2^40, 2^40] holds no element; tables as long as its other dims ran out of memory
  // ("out of memory", no node named) before the output was even checked.
  const int64_t h = int64_t{1} << 40;
  const Tensor empty(DType::Float, {0, h, h});
  auto sliced = ok1(run({"Slice", 13}, {empty, i64({1}, {0}), i64({1}, {5}), i64({1}, {1})}));
  CHECK(dims_of(sliced) == std::vector<int64_t>{0, 5, h});
  auto summed = ok1(run({"ReduceSum", 13, {ai("keepdims", 0)}}, {empty, i64({1}, {1})}));
  CHECK(dims_of(summed) == std::vector<int64_t>{0, h});
  // Reducing the empty axis leaves [1, 2^40, 2^40] to write: refused, the node named.
  fails(run({"ReduceSum", 13}, {empty, i64({1}, {0})}), "element count overflows int64");
  // A non-empty output over an empty reduced axis holds the reduction of nothing.
  auto max = ok1(run({"ReduceMax", 18, {ai("keepdims", 0)}}, {Tensor(DType::Float, {3, 0}), i64({1}, {1})}));
  CHECK(vals<float>(max) == std::vector<float>(3, -INFINITY));
  auto sum = ok1(run({"ReduceSum", 13, {ai("keepdims", 0)}}, {Tensor(DType::Float, {2, 0, 2}), i64({1}, {1})}));
  CHECK(vals<float>(sum) == std::vector<float>(4, 0.0f));
}

TEST_CASE("tensor ops: nodes that break their schema are refused before a kernel reads defaults") {
  // Kernels read attributes with defaults: Concat without axis, or pads given as a float, ran with
  // values the model never gave (ONNX Runtime refuses both at load).
  const Tensor x = f32({1, 2}, {1, 2});
  fails(run({"Concat", 13}, {x, x}), "attribute 'axis' is required");
  fails(run({"Softmax", 13, {af("axis", 1.5f)}}, {x}), "attribute 'axis' must be int, not float");
  fails(run({"Relu", 14, {}, 2}, {x}), "Relu at opset 14 has 1 to 1 outputs, the node has 2");
  fails(run({"Add", 14}, {x}), "Add at opset 14 takes 2 to 2 inputs, the node has 1");
  // Ops libonnx does not know, and opsets newer than it knows, are left to the kernels.
  CHECK(dims_of(ok1(run({"Concat", 13, {ai("axis", 1)}}, {x, x}))) == std::vector<int64_t>{1, 4});
  CHECK(dims_of(ok1(run({"Softmax", 13}, {x}))) == std::vector<int64_t>{1, 2});
}

TEST_CASE("tensor ops: axis kernels on empty tensors with huge other dims (CumSum, ArgMax, TopK, Lp/LayerNorm)") {
  // outer/inner products of [0, 2^40, 2^40] overflowed int64 (UB) and [2^40, 0, 2^40] looped 2^80 times
  // over nothing: found by the dims-product audit (issue 16).
  const int64_t h = int64_t{1} << 40;
  const Tensor lead(DType::Float, {0, h, h}), mid(DType::Float, {h, 0, h});
  for (const Tensor* x : {&lead, &mid}) {
    for (int64_t axis : {0, 1, 2}) {
      CHECK(dims_of(ok1(run({"CumSum", 14}, {*x, i64({}, {axis})}))) == x->dims());
      CHECK(dims_of(ok1(run({"LpNormalization", 1, {ai("axis", axis)}}, {*x}))) == x->dims());
      CHECK(dims_of(ok1(run({"LayerNormalization", 17, {ai("axis", axis)}}, {*x, f32({1}, {1})}))) == x->dims());
    }
  }
  CHECK(dims_of(ok1(run({"TopK", 11, {ai("axis", 1)}, 2}, {mid, i64({1}, {0})}))) == mid.dims());
  CHECK(dims_of(ok1(run({"ArgMax", 13, {ai("axis", 2)}}, {lead}))) == std::vector<int64_t>{0, h, 1});
  // The arg of an empty axis does not exist for the [2^40, 1, 2^40] outputs it would fill.
  fails(run({"ArgMax", 13, {ai("axis", 1)}}, {mid}), "axis 1 of size 0");
}
