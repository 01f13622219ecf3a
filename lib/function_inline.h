// Function expansion: calls of model-local functions and of ONNX ops whose schema defines a function body are
// replaced, in place, by the body's nodes wherever no kernel runs the node itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "lib/graph.h"
#include "lib/status.h"

namespace ortool {

// True when the runtime has a kernel for `node` at `opset` (the opset its domain imports); such nodes
// are left alone.
using HasKernelFn = std::function<bool(const ir::Node& node, int64_t opset)>;

struct ExpandOptions {
  // Function calls nested deeper than this (a function body calling a function ...) are refused.
  int max_depth = 32;
  // Also expand standard ops through the function bodies of their libonnx schemas.
  bool schema_functions = true;
};

struct ExpandReport {
  size_t calls_expanded = 0;  // call nodes replaced by a body, nested calls included
};

// Expands, in the main graph and every subgraph, each node without a kernel that calls
//  (a) a model-local function (ModelProto.functions entry with the node's domain and op type), or
//  (b) a standard op whose libonnx schema has a function body (context-dependent bodies included).
// Formal inputs and outputs map to the call's values (an omitted optional input stays omitted), body
// values get fresh names, attribute references take the call's attribute (or the function's default,
// else the attribute is dropped), and the function's opset imports are merged into the model's: a
// domain the model lacks is added; a different version is accepted only when libonnx shows every
// op of the body to be the same at both versions. Bodies calling functions are expanded in turn; a
// recursive call, a too deep nesting or a malformed body is an error naming the call node and the
// function. On error the model may be partly expanded.
Status expand_functions(ir::Model& model, const HasKernelFn& has_kernel, const ExpandOptions& options = {},
                        ExpandReport* report = nullptr);

}  // namespace ortool
