// Op identity: the one place that says which op a node is (domain normalized once, opset-aware).
//
// Passes, the kernel registry and the providers ask these instead of comparing strings themselves, so
// "" and "ai.onnx" are the same domain everywhere and an op's opset range is checked the same way.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string_view>

#include "lib/graph.h"

namespace ortool::ir {

// "" and "ai.onnx" both name the default ONNX domain.
inline bool is_default_domain(std::string_view domain) { return domain.empty() || domain == "ai.onnx"; }
// The domain as the IR compares it: "" for the default ONNX domain, the name otherwise.
inline std::string_view canonical_domain(std::string_view domain) {
  return is_default_domain(domain) ? std::string_view() : domain;
}
inline bool same_domain(std::string_view a, std::string_view b) { return canonical_domain(a) == canonical_domain(b); }

// True when `n` is `op_type` of the default ONNX domain.
inline bool is_op(const Node& n, std::string_view op_type) {
  return n.op_type() == op_type && is_default_domain(n.domain());
}
// True when `n` is `op_type` of `domain` ("" or "ai.onnx" for the default domain).
inline bool is_op(const Node& n, std::string_view domain, std::string_view op_type) {
  return n.op_type() == op_type && same_domain(n.domain(), domain);
}
// True when `n` is one of `op_types`, all of the default ONNX domain.
inline bool is_op_any(const Node& n, std::initializer_list<std::string_view> op_types) {
  if (!is_default_domain(n.domain())) return false;
  for (std::string_view t : op_types)
    if (n.op_type() == t) return true;
  return false;
}

// The opset the model imports for the node's domain (the default domain counts as 1 when unlisted).
inline int64_t node_opset(const Model& m, const Node& n) {
  const int64_t v = m.opset(n.domain());
  return v == 0 && is_default_domain(n.domain()) ? 1 : v;
}
// True when `n` is `op_type` of the default domain at an opset in [since, until].
inline bool is_op(const Node& n, const Model& m, std::string_view op_type, int64_t since,
                  int64_t until = std::numeric_limits<int64_t>::max()) {
  if (!is_op(n, op_type)) return false;
  const int64_t v = node_opset(m, n);
  return v >= since && v <= until;
}

}  // namespace ortool::ir
